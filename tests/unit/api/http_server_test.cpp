// The HTTP server over a real socket on 127.0.0.1 (port 0) against FakeNode. The client runs on
// the same io_context as the server, stepped by run_until with a deadline, so nothing sleeps
// and every test is bounded.
#include "api/http_server.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <regex>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "../config/tls_test_files.hpp"
#include "api/tls_context.hpp"
#include "fake_node.hpp"

namespace pollux::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;
using namespace std::chrono_literals;

// One client connection; requests are asynchronous so the test decides when the server runs.
class Client {
 public:
  Client(asio::io_context& io, std::uint16_t port) : stream_(io) {
    stream_.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
  }

  void start(http::verb method, const std::string& target, std::string body = {},
             bool keep_alive = true) {
    done = false;
    error = {};
    req_ = {method, target, 11};
    req_.set(http::field::host, "127.0.0.1");
    req_.keep_alive(keep_alive);
    if (!body.empty() || method == http::verb::post) {
      req_.set(http::field::content_type, "application/json");
      req_.body() = std::move(body);
      req_.prepare_payload();
    }
    stream_.expires_after(5s);
    http::async_write(stream_, req_, [this](beast::error_code ec, std::size_t) {
      if (ec) {
        finish(ec);
        return;
      }
      read();
    });
  }

  // Sends raw bytes and reads one response (for malformed requests).
  void start_raw(std::string bytes) {
    done = false;
    raw_ = std::move(bytes);
    stream_.expires_after(5s);
    asio::async_write(stream_, asio::buffer(raw_), [this](beast::error_code ec, std::size_t) {
      if (ec) {
        finish(ec);
        return;
      }
      read();
    });
  }

  // Waits for the server to close the connection (EOF or reset).
  void start_wait_close() {
    done = false;
    stream_.expires_after(5s);
    stream_.async_read_some(asio::buffer(scratch_), [this](beast::error_code ec, std::size_t) {
      finish(ec ? ec : beast::error_code(asio::error::message_size));
    });
  }

  json body_json() const { return json::parse(response.body()); }

  bool done = false;
  beast::error_code error;
  http::response<http::string_body> response;

 private:
  void read() {
    response = {};
    parser_.emplace();
    parser_->body_limit(16 << 20);
    parser_->skip(req_.method() == http::verb::head);  // a HEAD answer has headers only
    http::async_read(stream_, buffer_, *parser_, [this](beast::error_code ec, std::size_t) {
      if (!ec) response = parser_->release();
      finish(ec);
    });
  }
  void finish(beast::error_code ec) {
    error = ec;
    done = true;
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::string raw_;
  char scratch_[256];
};

class HttpServerTest : public ::testing::Test {
 protected:
  void start_server(HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(io_, node_, "127.0.0.1:0", options);
    server_->start();
    ASSERT_NE(server_->port(), 0);
  }
  void SetUp() override { start_server(); }

  template <class Done>
  bool run_until(Done done, std::chrono::milliseconds limit = 5000ms) {
    return testing::run_io_until(io_, done, limit);
  }

  std::unique_ptr<Client> client() { return std::make_unique<Client>(io_, server_->port()); }

  http::response<http::string_body> call(http::verb method, const std::string& target,
                                         std::string body = {}) {
    auto c = client();
    c->start(method, target, std::move(body));
    EXPECT_TRUE(run_until([&] { return c->done; })) << target << " timed out";
    EXPECT_FALSE(c->error) << target << ": " << c->error.message();
    return c->response;
  }
  http::response<http::string_body> get(const std::string& target) {
    return call(http::verb::get, target);
  }
  http::response<http::string_body> post(const std::string& target, std::string body = {}) {
    return call(http::verb::post, target, std::move(body));
  }
  static json body(const http::response<http::string_body>& r) { return json::parse(r.body()); }
  static std::string error_of(const http::response<http::string_body>& r) {
    return body(r).at("error").get<std::string>();
  }

  asio::io_context io_;
  testing::FakeNode node_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, Health) {
  const auto r = get("/api/v1/health");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r[http::field::content_type], "application/json");
  EXPECT_EQ(body(r), json::parse(R"({"status":"ok","node":"pollux-a","role":"independent",
                                     "activity":"active"})"));
}

TEST_F(HttpServerTest, DevicesListAndOne) {
  auto r = get("/api/v1/devices");
  ASSERT_EQ(r.result_int(), 200);
  ASSERT_EQ(body(r).size(), 2u);
  EXPECT_EQ(body(r)[0].at("id"), "WELL_01");
  r = get("/api/v1/devices/TANK_02");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(body(r).at("unit"), 5);
  EXPECT_TRUE(body(r).at("last_good_line").is_null());
  r = get("/api/v1/devices/NOPE");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_EQ(error_of(r), "unknown device NOPE");
}

// The overview's listing: the same devices, with only what a tile shows.
TEST_F(HttpServerTest, DevicesSummaryView) {
  const json full = body(get("/api/v1/devices"));
  const auto r = get("/api/v1/devices?view=summary");
  ASSERT_EQ(r.result_int(), 200);
  const json summary = body(r);
  ASSERT_EQ(summary.size(), full.size());
  for (std::size_t i = 0; i < full.size(); ++i) {
    json want;
    for (const char* key : {"id", "enabled", "active_line", "primary_failed_over", "comm"})
      want[key] = full[i].at(key);
    EXPECT_EQ(summary[i], want);
  }
  const auto bad = get("/api/v1/devices?view=tiles");
  EXPECT_EQ(bad.result_int(), 400);
  EXPECT_EQ(error_of(bad), "view must be summary, not 'tiles'");
}

TEST_F(HttpServerTest, PercentEncodedIdsAndTrailingSlash) {
  EXPECT_EQ(get("/api/v1/devices/WELL%5F01").result_int(), 200);
  EXPECT_EQ(get("/api/v1/devices/").result_int(), 200);
  EXPECT_EQ(get("/api/v1/devices/WELL%ZZ").result_int(), 400);
}

TEST_F(HttpServerTest, Points) {
  auto r = get("/api/v1/points");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(body(r).size(), 3u);
  r = get("/api/v1/points?device=WELL_01");
  ASSERT_EQ(r.result_int(), 200);
  ASSERT_EQ(body(r).size(), 2u);
  EXPECT_EQ(body(r)[0].at("value"), 12.5);
  r = get("/api/v1/points?device=TANK_02");
  EXPECT_TRUE(body(r)[0].at("value").is_null());
  EXPECT_EQ(body(r)[0].at("quality"), "bad");
  r = get("/api/v1/points?device=NOPE");
  EXPECT_EQ(r.result_int(), 404);
}

TEST_F(HttpServerTest, ChannelsAndEnableDisable) {
  auto r = get("/api/v1/channels");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(body(r)[0].at("stats").at("messages"), 45);
  r = post("/api/v1/channels/COM1/disable");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(body(r).at("enabled"), false);
  EXPECT_EQ(body(r).at("status"), "disabled");
  r = post("/api/v1/channels/COM1/enable");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(body(r).at("status"), "ok");
  EXPECT_EQ(post("/api/v1/channels/NOPE/enable").result_int(), 404);
  EXPECT_EQ(post("/api/v1/channels/COM1/explode").result_int(), 404);
  node_.set_standby();
  r = post("/api/v1/channels/COM1/disable");
  EXPECT_EQ(r.result_int(), 409);
  EXPECT_EQ(error_of(r), "node is standby");
}

TEST_F(HttpServerTest, EventsSince) {
  auto r = get("/api/v1/events");
  ASSERT_EQ(r.result_int(), 200);
  ASSERT_EQ(body(r).size(), 2u);
  EXPECT_EQ(body(r)[0].at("seq"), 1);
  r = get("/api/v1/events?since=1");
  ASSERT_EQ(body(r).size(), 1u);
  EXPECT_EQ(body(r)[0].at("reason"), "primary_recovered");
  EXPECT_EQ(get("/api/v1/events?since=2").body(), "[]");
  EXPECT_EQ(get("/api/v1/events?since=abc").result_int(), 400);
  EXPECT_EQ(get("/api/v1/events?since=-1").result_int(), 400);
}

TEST_F(HttpServerTest, SelectLine) {
  auto r = post("/api/v1/devices/WELL_01/line", R"({"line":2})");
  ASSERT_EQ(r.result_int(), 200) << r.body();
  EXPECT_EQ(body(r).at("active_line"), 2);
  EXPECT_EQ(body(r).at("active_channel"), "NET1");
  r = post("/api/v1/devices/WELL_01/line", R"({"line":3})");
  EXPECT_EQ(r.result_int(), 409);
  EXPECT_EQ(error_of(r), "line 3 is not usable");
  EXPECT_EQ(post("/api/v1/devices/NOPE/line", R"({"line":1})").result_int(), 404);
}

TEST_F(HttpServerTest, SelectLineBadRequestsNeverReachTheNode) {
  node_.calls.clear();
  for (const char* bad : {R"({"line":7})", R"({"line":0})", R"({"line":"2"})", R"({"line":1.5})",
                          R"({})", R"({"line":)", "", "[1]"}) {
    const auto r = post("/api/v1/devices/WELL_01/line", bad);
    EXPECT_EQ(r.result_int(), 400) << bad;
    EXPECT_TRUE(body(r).contains("error")) << bad;
  }
  EXPECT_TRUE(node_.calls.empty());
}

TEST_F(HttpServerTest, StandbyRefusesOperatorCommands) {
  node_.set_standby();
  auto r = post("/api/v1/devices/WELL_01/line", R"({"line":2})");
  EXPECT_EQ(r.result_int(), 409);
  EXPECT_EQ(error_of(r), "node is standby");
  EXPECT_EQ(post("/api/v1/devices/WELL_01/poll").result_int(), 409);
  // GETs still answer on a standby node.
  EXPECT_EQ(body(get("/api/v1/health")).at("activity"), "standby");
}

TEST_F(HttpServerTest, PollAccepted) {
  auto r = post("/api/v1/devices/WELL_01/poll");
  EXPECT_EQ(r.result_int(), 202);
  EXPECT_EQ(node_.calls.back(), "poll WELL_01");
  EXPECT_EQ(post("/api/v1/devices/NOPE/poll").result_int(), 404);
}

TEST_F(HttpServerTest, WriteCompletesLaterThroughTheIoContext) {
  for (const auto& [outcome, status] :
       std::vector<std::pair<Outcome, int>>{{Outcome::success(), 200},
                                            {Outcome::failure(502, "exception 2"), 502},
                                            {Outcome::failure(504, "no answer"), 504}}) {
    node_.pending_writes.clear();
    auto c = client();
    c->start(http::verb::post, "/api/v1/devices/WELL_01/write",
             R"({"point":"SETPOINT","value":42})");
    ASSERT_TRUE(run_until([&] { return !node_.pending_writes.empty(); }));
    const auto& pending = node_.pending_writes.front();
    EXPECT_EQ(pending.point, "SETPOINT");
    EXPECT_EQ(std::get<std::int64_t>(pending.value), 42);
    // Nothing is answered while the device has not confirmed.
    run_until([] { return false; }, 50ms);
    EXPECT_FALSE(c->done);
    asio::post(io_, [&, outcome = outcome] { node_.pending_writes.front().done(outcome); });
    ASSERT_TRUE(run_until([&] { return c->done; }));
    ASSERT_FALSE(c->error) << c->error.message();
    EXPECT_EQ(c->response.result_int(), status);
    if (status == 200) {
      EXPECT_EQ(c->body_json(), json::parse(R"({"ok":true})"));
    } else {
      EXPECT_EQ(c->body_json().at("error"), outcome.error);
    }
  }
}

// 2,000 devices x 8 points (about 1 MB of JSON) are listed in slices: a request on another
// connection is answered while the listing is still being built, and the listing is whole.
TEST_F(HttpServerTest, AllPointsAreListedInSlicesWhileOtherRequestsAreServed) {
  node_.add_devices(2000, 8);
  auto lister = client();
  lister->start(http::verb::get, "/api/v1/points");
  ASSERT_TRUE(run_until([&] { return node_.points_calls > 0; }));
  auto other = client();
  other->start(http::verb::get, "/api/v1/health");
  ASSERT_TRUE(run_until([&] { return other->done; }));
  EXPECT_EQ(other->response.result_int(), 200);
  EXPECT_FALSE(lister->done);
  EXPECT_LT(node_.points_calls, 2002u);
  ASSERT_TRUE(run_until([&] { return lister->done; }));
  ASSERT_EQ(lister->response.result_int(), 200);
  const json all = lister->body_json();
  ASSERT_EQ(all.size(), 3u + 2000 * 8);
  EXPECT_EQ(all[0].at("name"), "PRESSURE");  // config order: the fake's own devices first
  EXPECT_EQ(all[3].at("device"), "BIG_0");
  EXPECT_EQ(all.back().at("device"), "BIG_1999");
  EXPECT_EQ(all.back().at("name"), "P7");
  EXPECT_EQ(all.back().at("value"), 199907);
}

// A reload between two slices removes a device: it is left out, and the rest is listed.
TEST_F(HttpServerTest, ADeviceRemovedWhileListingIsLeftOut) {
  node_.add_devices(2000, 8);
  node_.on_points = [&](const std::string& device) {
    if (device == "BIG_1000") node_.remove_device("BIG_1500");
  };
  auto points = get("/api/v1/points");
  ASSERT_EQ(points.result_int(), 200);
  const json all = body(points);
  EXPECT_EQ(all.size(), 3u + 1999 * 8);
  for (const auto& p : all)
    ASSERT_NE(p.at("device"), "BIG_1500");
  node_.on_points = nullptr;
  const json devices = body(get("/api/v1/devices"));
  EXPECT_EQ(devices.size(), 2u + 1999);
  EXPECT_EQ(devices[2].at("id"), "BIG_0");
}

// A listing goes out chunked, and the connection stays in step for the next request; an
// HTTP/1.0 client, which knows no chunks, gets the same listing with a Content-Length.
TEST_F(HttpServerTest, ListingsAreChunkedOnHttp11AndWholeOnHttp10) {
  node_.add_devices(500, 8);
  auto c = client();
  c->start(http::verb::get, "/api/v1/points");
  ASSERT_TRUE(run_until([&] { return c->done; }));
  ASSERT_FALSE(c->error) << c->error.message();
  EXPECT_TRUE(c->response.chunked());
  EXPECT_EQ(c->response[http::field::content_type], "application/json");
  const json chunked = c->body_json();
  EXPECT_EQ(chunked.size(), 3u + 500 * 8);
  c->start(http::verb::get, "/api/v1/health");
  ASSERT_TRUE(run_until([&] { return c->done; }));
  EXPECT_EQ(c->body_json().at("status"), "ok");

  auto old = client();
  old->start_raw("GET /api/v1/points HTTP/1.0\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return old->done; }));
  ASSERT_FALSE(old->error) << old->error.message();
  EXPECT_FALSE(old->response.chunked());
  EXPECT_EQ(old->response[http::field::content_length],
            std::to_string(old->response.body().size()));
  EXPECT_EQ(old->body_json(), chunked);
}

TEST_F(HttpServerTest, MetricsGoOutAPartPerChunkAndAnEmptyPartDoesNotEndTheBody) {
  node_.metrics_parts = {"# TYPE a gauge\na 1\n", "", "# TYPE b gauge\nb 2\n", ""};
  const std::string whole = "# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n";
  auto c = client();
  c->start(http::verb::get, "/metrics");
  ASSERT_TRUE(run_until([&] { return c->done; }));
  ASSERT_FALSE(c->error) << c->error.message();
  EXPECT_TRUE(c->response.chunked());
  // The server's own families follow the node's.
  EXPECT_TRUE(c->response.body().starts_with(whole + "# HELP pollux_api_connections "))
      << c->response.body();
  c->start(http::verb::get, "/api/v1/health");  // the connection is still in step
  ASSERT_TRUE(run_until([&] { return c->done; }));
  EXPECT_EQ(c->body_json().at("status"), "ok");

  auto old = client();
  old->start_raw("GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return old->done; }));
  ASSERT_FALSE(old->error) << old->error.message();
  EXPECT_FALSE(old->response.chunked());
  EXPECT_TRUE(old->response.body().starts_with(whole + "# HELP pollux_api_connections "));
  EXPECT_EQ(old->response[http::field::content_length],
            std::to_string(old->response.body().size()));
}

TEST_F(HttpServerTest, SlowWriteDoesNotBlockOtherRequests) {
  auto writer = client();
  writer->start(http::verb::post, "/api/v1/devices/WELL_01/write",
                R"({"point":"SETPOINT","value":1.5})");
  ASSERT_TRUE(run_until([&] { return !node_.pending_writes.empty(); }));
  EXPECT_EQ(std::get<double>(node_.pending_writes.front().value), 1.5);
  // Other connections are served while the write waits.
  EXPECT_EQ(get("/api/v1/health").result_int(), 200);
  EXPECT_EQ(get("/api/v1/devices").result_int(), 200);
  EXPECT_FALSE(writer->done);
  node_.pending_writes.front().done(Outcome::failure(504, "no answer from WELL_01"));
  ASSERT_TRUE(run_until([&] { return writer->done; }));
  EXPECT_EQ(writer->response.result_int(), 504);
  // A second completion from a confused node must not produce a second answer.
  node_.pending_writes.front().done(Outcome::success());
  // The same connection is usable afterwards (keep-alive), and answers the next request only.
  writer->start(http::verb::get, "/api/v1/devices/NOPE");
  ASSERT_TRUE(run_until([&] { return writer->done; }));
  EXPECT_EQ(writer->response.result_int(), 404);
}

// A reload is answered once the node has read and applied the file; other connections are
// served meanwhile.
TEST_F(HttpServerTest, ReloadIsAnsweredWhenTheNodeIsDoneAndOthersAreServedMeanwhile) {
  node_.hold_reload = true;
  auto reloader = client();
  reloader->start(http::verb::post, "/api/v1/config/reload");
  ASSERT_TRUE(run_until([&] { return !node_.held_reloads.empty(); }));
  EXPECT_EQ(get("/api/v1/health").result_int(), 200);
  EXPECT_FALSE(reloader->done);
  node_.held_reloads.front()({Outcome::success(), "v3-abc", {}});
  ASSERT_TRUE(run_until([&] { return reloader->done; }));
  EXPECT_EQ(reloader->response.result_int(), 200);
  EXPECT_EQ(reloader->body_json().at("version"), "v3-abc");
}

TEST_F(HttpServerTest, WriteImmediateErrorsAndBadBodies) {
  auto r = post("/api/v1/devices/WELL_01/write", R"({"point":"READ_ONLY","value":1})");
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_EQ(error_of(r), "point READ_ONLY is not writable");
  EXPECT_EQ(post("/api/v1/devices/NOPE/write", R"({"point":"P","value":1})").result_int(), 404);
  node_.calls.clear();
  for (const char* bad : {R"({"point":"P"})", R"({"value":1})", R"({"point":"P","value":null})",
                          "not json", R"({"point":"P","value":[1]})"}) {
    EXPECT_EQ(post("/api/v1/devices/WELL_01/write", bad).result_int(), 400) << bad;
  }
  EXPECT_TRUE(node_.calls.empty());
  node_.auto_complete_write = Outcome::success();
  r = post("/api/v1/devices/WELL_01/write", R"({"point":"MODE","value":"AUTO"})");
  EXPECT_EQ(r.result_int(), 200);
}

TEST_F(HttpServerTest, ConfigReload) {
  auto r = post("/api/v1/config/reload");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(body(r), json::parse(R"({"version":"v2-def"})"));
  node_.reload_result = {Outcome::failure(400, "invalid configuration"),
                         "",
                         {"pollux.yaml:4:3: error: unknown key 'x'"}};
  r = post("/api/v1/config/reload");
  ASSERT_EQ(r.result_int(), 400);
  EXPECT_EQ(body(r).at("errors")[0], "pollux.yaml:4:3: error: unknown key 'x'");
  EXPECT_EQ(error_of(r), "invalid configuration");
  node_.reload_result = {Outcome::failure(403, "config reload is not allowed on a backup"), "", {}};
  r = post("/api/v1/config/reload");
  EXPECT_EQ(r.result_int(), 403);
  EXPECT_EQ(error_of(r), "config reload is not allowed on a backup");
}

TEST_F(HttpServerTest, Redundancy) {
  auto r = get("/api/v1/redundancy");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(body(r).at("config_version"), "v1-abc");
  EXPECT_EQ(body(r).at("peer").at("activity"), "unknown");
  r = post("/api/v1/redundancy/force-failover");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(body(r).at("mode"), "independent");
  node_.force_failover_result = Outcome::failure(409, "no connected peer");
  r = post("/api/v1/redundancy/force-failover");
  EXPECT_EQ(r.result_int(), 409);
  EXPECT_EQ(error_of(r), "no connected peer");
  EXPECT_EQ(post("/api/v1/redundancy/recover").result_int(), 200);
  EXPECT_EQ(node_.calls.back(), "recover");
}

TEST_F(HttpServerTest, NorthboundIs404WithoutTheSectionAndTheSessionWithIt) {
  auto r = get("/api/v1/northbound");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_NE(error_of(r).find("northbound"), std::string::npos);
  api::NorthboundView v;
  v.connected = true;
  v.broker = "tcp://127.0.0.1:1883";
  v.edge_node = "Plant1/FE1";
  v.bd_seq = 4;
  v.seq = 255;
  v.held = 12;
  v.published = 900;
  v.state = "live";
  node_.northbound_view = v;
  r = get("/api/v1/northbound");
  ASSERT_EQ(r.result_int(), 200);
  // northbound.md: exactly these keys with these types (our additions besides).
  const json b = body(r);
  EXPECT_EQ(b.at("connected"), true);
  EXPECT_EQ(b.at("broker"), "tcp://127.0.0.1:1883");
  EXPECT_EQ(b.at("edge_node"), "Plant1/FE1");
  EXPECT_EQ(b.at("bd_seq"), 4);
  EXPECT_EQ(b.at("seq"), 255);
  EXPECT_EQ(b.at("held"), 12);
  EXPECT_EQ(b.at("published"), 900);
  EXPECT_EQ(b.at("last_error"), "");
  EXPECT_EQ(b.at("state"), "live");
}

TEST_F(HttpServerTest, MetricsPassThrough) {
  const auto r = get("/metrics");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_TRUE(r[http::field::content_type].starts_with("text/plain; version=0.0.4"));
  EXPECT_TRUE(r.body().starts_with(node_.metrics_text())) << r.body();
  EXPECT_NE(r.body().find("pollux_api_auth_failures_total{reason=\"unauthenticated\"} 0\n"),
            std::string::npos)
      << r.body();
  // spec/security.md's limits at work, after the node's families.
  for (const char* family :
       {"pollux_api_connections 1\n", "pollux_api_connections_refused_total 0\n",
        "pollux_api_header_timeouts_total 0\n", "pollux_api_bodies_too_large_total 0\n",
        "pollux_api_tls_handshake_failures_total 0\n"})
    EXPECT_NE(r.body().find(family), std::string::npos) << family;
}

// The page and every file it loads come from the node itself (issue 23: no CDN): each file the
// document or a module names is served, with its type, and none names another origin. The
// policy header keeps the browser from loading anything else.
TEST_F(HttpServerTest, StatusPageAndItsFilesComeFromTheNode) {
  const auto r = get("/");
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(r[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(r.body().find("<title>Pollux</title>"), std::string::npos);
  EXPECT_EQ(r[http::field::cache_control], "no-cache");
  EXPECT_EQ(r["Content-Security-Policy"].substr(0, 19), "default-src 'self';");
  EXPECT_EQ(get("/index.html").body(), r.body());

  std::vector<std::string> files;
  const std::regex names(R"re((?:/ui/|\./)([a-z_]+\.(?:js|css)))re");
  std::vector<std::string> to_read = {r.body()};
  while (!to_read.empty()) {
    const std::string text = std::move(to_read.back());
    to_read.pop_back();
    for (std::sregex_iterator m(text.begin(), text.end(), names), end; m != end; ++m) {
      const std::string name = (*m)[1];
      if (std::find(files.begin(), files.end(), name) != files.end()) continue;
      files.push_back(name);
      const auto f = get("/ui/" + name);
      ASSERT_EQ(f.result_int(), 200) << name;
      EXPECT_EQ(f[http::field::content_type], name.ends_with(".js")
                                                  ? "text/javascript; charset=utf-8"
                                                  : "text/css; charset=utf-8")
          << name;
      to_read.push_back(f.body());
    }
    EXPECT_EQ(text.find("https://"), std::string::npos);
    // The only http:// URI is SVG's namespace name, which is never fetched.
    std::string rest = std::regex_replace(text, std::regex("http://www\\.w3\\.org/2000/svg"), "");
    EXPECT_EQ(rest.find("http://"), std::string::npos);
  }
  for (const char* name :
       {"pollux.css", "app.js", "api.js", "stream.js", "overview.js", "detail.js"})
    EXPECT_NE(std::find(files.begin(), files.end(), name), files.end()) << name;
  EXPECT_EQ(get("/ui/nothing.js").result_int(), 404);
  EXPECT_EQ(get("/ui/").result_int(), 404);
}

TEST_F(HttpServerTest, HeadAnswersHeadersOnly) {
  auto c = client();
  c->start(http::verb::head, "/api/v1/devices");
  ASSERT_TRUE(run_until([&] { return c->done; }));
  ASSERT_FALSE(c->error) << c->error.message();
  EXPECT_EQ(c->response.result_int(), 200);
  EXPECT_EQ(c->response[http::field::content_length],
            std::to_string(get("/api/v1/devices").body().size()));
  EXPECT_TRUE(c->response.body().empty());
  // The connection stays in step: the next answer is read correctly.
  c->start(http::verb::get, "/api/v1/health");
  ASSERT_TRUE(run_until([&] { return c->done; }));
  EXPECT_EQ(c->body_json().at("status"), "ok");
}

TEST_F(HttpServerTest, UnknownPaths) {
  auto r = get("/api/v1/nothing");
  EXPECT_EQ(r.result_int(), 404);
  EXPECT_TRUE(body(r).contains("error"));
  EXPECT_EQ(get("/api/v2/health").result_int(), 404);
  EXPECT_EQ(get("/api").result_int(), 404);
  EXPECT_EQ(get("/api/v1/devices/WELL_01/lines").result_int(), 404);
  EXPECT_EQ(get("/favicon.ico").result_int(), 404);
}

TEST_F(HttpServerTest, WrongMethod405WithAllow) {
  auto r = get("/api/v1/devices/WELL_01/line");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(r[http::field::allow], "POST");
  EXPECT_TRUE(body(r).contains("error"));
  r = post("/api/v1/health");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(r[http::field::allow], "GET, HEAD");
  EXPECT_EQ(call(http::verb::delete_, "/api/v1/devices").result_int(), 405);
  EXPECT_EQ(call(http::verb::put, "/api/v1/config/reload").result_int(), 405);
  EXPECT_EQ(post("/metrics").result_int(), 405);
}

TEST_F(HttpServerTest, OversizedBodyIsCounted) {
  auto c = client();
  c->start(http::verb::post, "/api/v1/devices/WELL_01/write", std::string(65537, ' '));
  ASSERT_TRUE(run_until([&] { return c->done; }));
  EXPECT_EQ(c->response.result_int(), 413);
  EXPECT_EQ(server_->stats().bodies_too_large, 1u);
  const auto metrics = get("/metrics").body();
  EXPECT_NE(metrics.find("pollux_api_bodies_too_large_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("pollux_api_connections_refused_total 0\n"), std::string::npos);
}

TEST_F(HttpServerTest, OversizedBody413) {
  auto c = client();
  c->start(http::verb::post, "/api/v1/devices/WELL_01/write", std::string(100 * 1024, 'x'));
  ASSERT_TRUE(run_until([&] { return c->done; }));
  ASSERT_FALSE(c->error) << c->error.message();
  EXPECT_EQ(c->response.result_int(), 413);
  EXPECT_TRUE(c->body_json().contains("error"));
  EXPECT_TRUE(node_.calls.empty());
}

TEST_F(HttpServerTest, ExpectContinueGetsTheGoAhead) {
  auto c = client();
  const std::string body = R"({"line":2})";
  c->start_raw(
      "POST /api/v1/devices/WELL_01/line HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Content-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return c->done; }));
  ASSERT_FALSE(c->error) << c->error.message();
  EXPECT_EQ(c->response.result_int(), 100);
  c->start_raw(body);
  ASSERT_TRUE(run_until([&] { return c->done; }));
  ASSERT_FALSE(c->error) << c->error.message();
  EXPECT_EQ(c->response.result_int(), 200);
  EXPECT_EQ(c->body_json().at("active_line"), 2);
}

TEST_F(HttpServerTest, ExpectContinueWithOversizedBodyIsRefusedAtOnce) {
  auto c = client();
  c->start_raw(
      "POST /api/v1/devices/WELL_01/write HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
      "Content-Length: 1000000\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return c->done; }));
  ASSERT_FALSE(c->error) << c->error.message();
  EXPECT_EQ(c->response.result_int(), 413);
}

TEST_F(HttpServerTest, OversizedHeader431) {
  auto c = client();
  c->start_raw("GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(16 * 1024, 'a') +
               "\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return c->done; }));
  ASSERT_FALSE(c->error) << c->error.message();
  EXPECT_EQ(c->response.result_int(), 431);
}

TEST_F(HttpServerTest, MalformedRequest400) {
  auto c = client();
  c->start_raw("THIS IS NOT HTTP\r\n\r\n");
  ASSERT_TRUE(run_until([&] { return c->done; }));
  ASSERT_FALSE(c->error) << c->error.message();
  EXPECT_EQ(c->response.result_int(), 400);
  // The server is still alive.
  EXPECT_EQ(get("/api/v1/health").result_int(), 200);
}

TEST_F(HttpServerTest, NodeExceptionBecomes500) {
  node_.throw_in_health = true;
  const auto r = get("/api/v1/health");
  EXPECT_EQ(r.result_int(), 500);
  EXPECT_EQ(error_of(r), "internal error: health exploded");
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  auto c = client();
  for (int i = 0; i < 5; ++i) {
    c->start(http::verb::get, "/api/v1/health");
    ASSERT_TRUE(run_until([&] { return c->done; }));
    ASSERT_FALSE(c->error) << c->error.message();
    EXPECT_EQ(c->response.result_int(), 200);
    EXPECT_TRUE(c->response.keep_alive());
  }
  EXPECT_EQ(server_->connections(), 1u);
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  auto c = client();
  c->start(http::verb::get, "/api/v1/health", {}, /*keep_alive=*/false);
  ASSERT_TRUE(run_until([&] { return c->done; }));
  EXPECT_FALSE(c->response.keep_alive());
  c->start_wait_close();
  ASSERT_TRUE(run_until([&] { return c->done; }));
  EXPECT_TRUE(c->error == asio::error::eof || c->error == asio::error::connection_reset)
      << c->error.message();
}

TEST_F(HttpServerTest, StopClosesConnections) {
  auto c = client();
  c->start(http::verb::get, "/api/v1/health");
  ASSERT_TRUE(run_until([&] { return c->done; }));
  server_->stop();
  c->start_wait_close();
  ASSERT_TRUE(run_until([&] { return c->done; }));
  EXPECT_NE(c->error, asio::error::message_size);
  ASSERT_TRUE(run_until([&] { return server_->connections() == 0; }));
}

TEST_F(HttpServerTest, BusyAndMalformedListenAddresses) {
  HttpServer busy(io_, node_, "127.0.0.1:" + std::to_string(server_->port()));
  EXPECT_THROW(busy.start(), std::system_error);
  HttpServer no_port(io_, node_, "127.0.0.1");
  EXPECT_THROW(no_port.start(), std::invalid_argument);
  HttpServer bad_port(io_, node_, "127.0.0.1:99999");
  EXPECT_THROW(bad_port.start(), std::invalid_argument);
  HttpServer not_local(io_, node_, "192.0.2.1:0");
  EXPECT_THROW(not_local.start(), std::system_error);
}

class HttpServerLimitsTest : public HttpServerTest {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.idle_timeout = 200ms;
    options.header_timeout = 300ms;
    options.max_connections = 2;
    start_server(options);
  }
};

TEST_F(HttpServerLimitsTest, IdleConnectionIsClosed) {
  auto c = client();
  c->start_wait_close();
  ASSERT_TRUE(run_until([&] { return c->done; }, 3000ms));
  EXPECT_NE(c->error, asio::error::message_size);
  EXPECT_NE(c->error, beast::error::timeout) << "the server should have closed first";
}

// spec/security.md: a connection over the limit is accepted and closed at once, unanswered.
TEST_F(HttpServerLimitsTest, ConnectionOverTheCapIsClosedAtOnce) {
  auto a = client();
  auto b = client();
  for (auto* c : {a.get(), b.get()}) {
    c->start(http::verb::get, "/api/v1/health");
    ASSERT_TRUE(run_until([&] { return c->done; }));
    EXPECT_EQ(c->response.result_int(), 200);
  }
  auto third = client();
  third->start_wait_close();
  ASSERT_TRUE(run_until([&] { return third->done; }, 250ms)) << "not closed at once";
  EXPECT_TRUE(third->error == asio::error::eof || third->error == asio::error::connection_reset)
      << third->error.message();
  EXPECT_EQ(server_->stats().connections_refused, 1u);
  EXPECT_EQ(server_->connections(), 2u);
  // Once a slot frees up, new clients are served again.
  a.reset();
  ASSERT_TRUE(run_until([&] { return server_->connections() < 2; }));
  EXPECT_EQ(get("/api/v1/health").result_int(), 200);
}

// spec/security.md: headers not complete by the deadline are answered 408, then closed.
TEST_F(HttpServerLimitsTest, SlowHeadersAnswered408AndClosed) {
  auto c = client();
  const auto started = std::chrono::steady_clock::now();
  c->start_raw("GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  ASSERT_TRUE(run_until([&] { return c->done; }));
  ASSERT_FALSE(c->error) << c->error.message();
  EXPECT_EQ(c->response.result_int(), 408);
  EXPECT_FALSE(c->response.keep_alive());
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
  c->start_wait_close();
  ASSERT_TRUE(run_until([&] { return c->done; }));
  EXPECT_NE(c->error, asio::error::message_size);
  EXPECT_EQ(server_->stats().header_timeouts, 1u);
}

// The deadline runs again from the end of each answer on a keep-alive connection: a client
// that asks every 200 ms (under the 300 ms deadline) is served for longer than one deadline.
TEST_F(HttpServerLimitsTest, HeaderDeadlineRestartsAfterEachAnswer) {
  auto c = client();
  for (int i = 0; i < 4; ++i) {
    c->start(http::verb::get, "/api/v1/health");
    ASSERT_TRUE(run_until([&] { return c->done; }));
    ASSERT_FALSE(c->error) << i << ": " << c->error.message();
    EXPECT_EQ(c->response.result_int(), 200);
    asio::steady_timer pause(io_, 150ms);
    bool paused = false;
    pause.async_wait([&](beast::error_code) { paused = true; });
    ASSERT_TRUE(run_until([&] { return paused; }));
  }
  EXPECT_EQ(server_->stats().header_timeouts, 0u);
}

// HTTPS (spec/security.md): with a TLS context the server speaks TLS only.
class HttpsServerTest : public HttpServerTest {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.tls = make_server_tls_context(files_.cert(), files_.key());
    start_server(options);
  }

  // One GET over TLS with a client trusting `ca_pem`; the status, or 0 with `error` set.
  int tls_get(const std::string& target, const char* ca_pem, beast::error_code& error) {
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.add_certificate_authority(asio::buffer(std::string(ca_pem)));
    ctx.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io_, ctx);
    stream.set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
    stream.next_layer().connect(tcp::endpoint(asio::ip::address_v4::loopback(), server_->port()));
    stream.next_layer().expires_after(5s);
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::response<http::string_body> res;
    beast::flat_buffer buffer;
    bool done = false;
    stream.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code ec) {
      if (ec) {
        error = ec;
        done = true;
        return;
      }
      http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
        if (ec) {
          error = ec;
          done = true;
          return;
        }
        http::async_read(stream, buffer, res, [&](beast::error_code ec, std::size_t) {
          error = ec;
          done = true;
        });
      });
    });
    EXPECT_TRUE(run_until([&] { return done; }));
    return error ? 0 : res.result_int();
  }

  pollux::testing::TlsFiles files_;
};

TEST_F(HttpsServerTest, TrustingClientIsServed) {
  beast::error_code ec;
  EXPECT_EQ(tls_get("/api/v1/health", pollux::testing::kTestCertPem, ec), 200) << ec.message();
}

TEST_F(HttpsServerTest, PlainHttpIsClosedUnanswered) {
  auto c = client();
  c->start(http::verb::get, "/api/v1/health");
  ASSERT_TRUE(run_until([&] { return c->done; }));
  EXPECT_TRUE(c->error) << "answered " << c->response.result_int();
  ASSERT_TRUE(run_until([&] { return server_->connections() == 0; }));
  EXPECT_EQ(server_->stats().tls_handshake_failures, 1u);
}

TEST_F(HttpsServerTest, NewConnectionsTakeASwappedContext) {
  // After set_tls(nullptr) the server speaks plain HTTP to new connections; back to TLS after.
  server_->set_tls(nullptr);
  EXPECT_EQ(get("/api/v1/health").result_int(), 200);
  server_->set_tls(make_server_tls_context(files_.cert(), files_.key()));
  beast::error_code ec;
  EXPECT_EQ(tls_get("/api/v1/health", pollux::testing::kTestCertPem, ec), 200) << ec.message();
}

TEST(TlsContext, ErrorsNameTheFile) {
  pollux::testing::TlsFiles f;
  EXPECT_NO_THROW(make_server_tls_context(f.cert(), f.key()));
  try {
    make_server_tls_context(f.cert(), f.other_key());
    ADD_FAILURE() << "a key of another pair was taken";
  } catch (const TlsError& e) {
    EXPECT_NE(std::string(e.what()).find(f.other_key()), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_server_tls_context(f.garbage(), f.key()), TlsError);
}

}  // namespace
}  // namespace pollux::api
