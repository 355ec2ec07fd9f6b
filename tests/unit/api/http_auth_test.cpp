// The HTTP server's bearer tokens, roles and audit trail (spec/security.md) over a real socket
// on 127.0.0.1 against FakeNode. As in http_server_test.cpp the client shares the server's
// io_context, stepped by run_until with a deadline: nothing sleeps and every test is bounded.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "api/http_server.hpp"
#include "fake_node.hpp"

namespace pollux::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;
using namespace std::chrono_literals;
using Response = http::response<http::string_body>;

const std::string kViewerToken = "viewer-token-0123456789";
const std::string kOperatorToken = "operator-token-0123456789";
const std::string kAdminToken = "admin-token-0123456789";

// One request on its own connection, written as raw bytes so any header can be sent.
class Exchange {
 public:
  Exchange(asio::io_context& io, std::uint16_t port, std::string raw)
      : stream_(io), raw_(std::move(raw)) {
    stream_.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
    stream_.expires_after(5s);
    asio::async_write(stream_, asio::buffer(raw_), [this](beast::error_code ec, std::size_t) {
      if (ec) return finish(ec);
      parser_.body_limit(16 << 20);
      parser_.skip(raw_.starts_with("HEAD "));  // a HEAD answer has headers only
      http::async_read(stream_, buffer_, parser_, [this](beast::error_code rec, std::size_t) {
        if (!rec) response = parser_.release();
        finish(rec);
      });
    });
  }
  bool done = false;
  beast::error_code error;
  Response response;

 private:
  void finish(beast::error_code ec) {
    error = ec;
    done = true;
  }
  beast::tcp_stream stream_;
  std::string raw_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
};

class HttpAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<HttpServer>(io_, node_, "127.0.0.1:0");
    server_->start();
    server_->set_tokens({{"dashboards", kViewerToken, Role::viewer},
                         {"scada-host", kOperatorToken, Role::operator_},
                         {"engineer", kAdminToken, Role::admin}});
  }

  template <class Done>
  bool run_until(Done done, std::chrono::milliseconds limit = 5000ms) {
    return testing::run_io_until(io_, done, limit);
  }

  std::unique_ptr<Exchange> start(const std::string& token, std::string_view method,
                                  const std::string& target, const std::string& body = {}) {
    std::string raw = std::string(method) + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!token.empty()) raw += "Authorization: Bearer " + token + "\r\n";
    if (method == "POST")
      raw += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
             "\r\n";
    raw += "\r\n" + body;
    return std::make_unique<Exchange>(io_, server_->port(), std::move(raw));
  }

  Response call(const std::string& token, std::string_view method, const std::string& target,
                const std::string& body = {}) {
    auto x = start(token, method, target, body);
    EXPECT_TRUE(run_until([&] { return x->done; })) << target << " timed out";
    EXPECT_FALSE(x->error) << target << ": " << x->error.message();
    return x->response;
  }

  json audit(const std::string& since = "0") {
    const Response r = call(kAdminToken, "GET", "/api/v1/audit?since=" + since);
    EXPECT_EQ(r.result_int(), 200) << r.body();
    return json::parse(r.body());
  }

  asio::io_context io_;
  testing::FakeNode node_;
  std::unique_ptr<HttpServer> server_;
};

struct Route {
  const char* method;
  const char* target;
  Role need;
  const char* body;
};

// Every row of the route table, and a path that is in none.
const std::vector<Route> kRoutes = {
    {"GET", "/", Role::viewer, ""},
    {"GET", "/index.html", Role::viewer, ""},
    {"GET", "/ui/app.js", Role::anyone, ""},
    {"GET", "/api/v1/whoami", Role::viewer, ""},
    {"GET", "/metrics", Role::viewer, ""},
    {"GET", "/api/v1/health", Role::anyone, ""},
    {"GET", "/api/v1/devices", Role::viewer, ""},
    {"GET", "/api/v1/devices/WELL_01", Role::viewer, ""},
    {"HEAD", "/api/v1/devices/WELL_01", Role::viewer, ""},
    {"POST", "/api/v1/devices/WELL_01/line", Role::operator_, R"({"line":2})"},
    {"POST", "/api/v1/devices/WELL_01/poll", Role::operator_, ""},
    {"POST", "/api/v1/devices/WELL_01/write", Role::operator_, R"({"point":"SP","value":1})"},
    {"GET", "/api/v1/points", Role::viewer, ""},
    {"GET", "/api/v1/channels", Role::viewer, ""},
    {"POST", "/api/v1/channels/COM1/enable", Role::operator_, ""},
    {"POST", "/api/v1/channels/COM1/disable", Role::operator_, ""},
    {"GET", "/api/v1/events?since=0", Role::viewer, ""},
    {"GET", "/api/v1/history?device=WELL_01&point=PRESSURE", Role::viewer, ""},
    {"POST", "/api/v1/config/reload", Role::admin, ""},
    {"GET", "/api/v1/redundancy", Role::viewer, ""},
    {"GET", "/api/v1/northbound", Role::viewer, ""},
    {"POST", "/api/v1/redundancy/force-failover", Role::admin, ""},
    {"POST", "/api/v1/redundancy/recover", Role::admin, ""},
    {"GET", "/api/v1/audit", Role::admin, ""},
    {"GET", "/api/v1/no-such-path", Role::viewer, ""},
    {"GET", "/no-such-page", Role::viewer, ""},
};

TEST_F(HttpAuthTest, EveryRouteAnswers401And403ByItsRole) {
  node_.auto_complete_write = Outcome::success();
  struct Caller {
    const char* name;
    std::string token;
    Role role;  // anyone: no valid token
  };
  const std::vector<Caller> callers = {{"no token", "", Role::anyone},
                                       {"unknown token", "unknown-token-0123456789", Role::anyone},
                                       {"viewer", kViewerToken, Role::viewer},
                                       {"operator", kOperatorToken, Role::operator_},
                                       {"admin", kAdminToken, Role::admin}};
  for (const auto& route : kRoutes) {
    for (const auto& caller : callers) {
      const std::string what =
          std::string(route.method) + " " + route.target + " as " + caller.name;
      const Response r = call(caller.token, route.method, route.target, route.body);
      const bool api = std::string_view(route.target).starts_with("/api/");
      int want = 0;  // 0: neither 401 nor 403, the request's own answer
      if (route.need != Role::anyone && caller.role == Role::anyone)
        want = 401;
      else if (caller.role < route.need)
        want = 403;
      if (want == 0) {
        EXPECT_NE(r.result_int(), 401u) << what;
        EXPECT_NE(r.result_int(), 403u) << what;
        continue;
      }
      EXPECT_EQ(r.result_int(), static_cast<unsigned>(want)) << what;
      // Every 401 and only a 401 invites the client to authenticate.
      EXPECT_EQ(r[http::field::www_authenticate], want == 401 ? "Bearer" : "") << what;
      if (route.method == std::string_view("HEAD")) continue;
      if (want == 401 && api) {
        EXPECT_EQ(r.body(), R"({"error":"authentication required"})") << what;
      } else if (want == 403) {
        const std::string prefix = "role " + std::string(to_string(caller.role)) + " may not ";
        const std::string text =
            api ? json::parse(r.body()).at("error").get<std::string>() : r.body();
        EXPECT_EQ(text.rfind(prefix, 0), 0u) << what << ": " << text;
        EXPECT_NE(text.find("(needs " + std::string(to_string(route.need)) + ")"),
                  std::string::npos)
            << what << ": " << text;
      }
    }
  }
}

TEST_F(HttpAuthTest, TheStatusPageComesWithThe401SoTheBrowserCanAskForAToken) {
  const Response r = call("", "GET", "/");
  EXPECT_EQ(r.result_int(), 401u);
  EXPECT_EQ(r[http::field::www_authenticate], "Bearer");
  EXPECT_EQ(r[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_NE(r.body().find("id=\"login\""), std::string::npos);
  EXPECT_NE(r.body().find("id=\"login-token\""), std::string::npos);
  // The page's own files come without a token: they hold no data, only the code that asks.
  const Response script = call("", "GET", "/ui/api.js");
  EXPECT_EQ(script.result_int(), 200u);
  EXPECT_NE(script.body().find("sessionStorage"), std::string::npos);
  const Response metrics = call("", "GET", "/metrics");
  EXPECT_EQ(metrics.result_int(), 401u);
  EXPECT_EQ(metrics.body(), "authentication required\n");
}

// The page offers only what the token's role allows: whoami names the token and its role.
TEST_F(HttpAuthTest, WhoamiNamesTheTokenAndItsRole) {
  EXPECT_EQ(json::parse(call(kViewerToken, "GET", "/api/v1/whoami").body()),
            json({{"name", "dashboards"}, {"role", "viewer"}}));
  EXPECT_EQ(json::parse(call(kOperatorToken, "GET", "/api/v1/whoami").body()),
            json({{"name", "scada-host"}, {"role", "operator"}}));
  EXPECT_EQ(json::parse(call(kAdminToken, "GET", "/api/v1/whoami").body()),
            json({{"name", "engineer"}, {"role", "admin"}}));
  server_->set_tokens({});  // without tokens everything is allowed: the page shows it all
  EXPECT_EQ(json::parse(call("", "GET", "/api/v1/whoami").body()),
            json({{"name", nullptr}, {"role", "admin"}}));
}

// security.md: authentication, then role, then the request's own checks.
TEST_F(HttpAuthTest, OrderIs401Then403ThenTheRequestsOwnChecks) {
  const std::string bad_body = "{not json";
  EXPECT_EQ(call("", "POST", "/api/v1/devices/NOPE/write", bad_body).result_int(), 401u);
  EXPECT_EQ(call(kViewerToken, "POST", "/api/v1/devices/NOPE/write", bad_body).result_int(), 403u);
  EXPECT_EQ(call(kOperatorToken, "POST", "/api/v1/devices/WELL_01/write", bad_body).result_int(),
            400u);
  EXPECT_EQ(call("", "GET", "/api/v1/devices/NOPE").result_int(), 401u);
  EXPECT_EQ(call(kViewerToken, "GET", "/api/v1/devices/NOPE").result_int(), 404u);
  EXPECT_EQ(call("", "GET", "/api/v1/audit?since=x").result_int(), 401u);
  EXPECT_EQ(call(kOperatorToken, "GET", "/api/v1/audit?since=x").result_int(), 403u);
  EXPECT_EQ(call(kAdminToken, "GET", "/api/v1/audit?since=x").result_int(), 400u);
  // Refused requests never reach the node.
  for (const auto& c : node_.calls)
    EXPECT_EQ(c.find("NOPE"), std::string::npos) << c;
}

TEST_F(HttpAuthTest, AuditRecordsAllowedAndRefusedRequestsWithTheirFinalStatus) {
  EXPECT_EQ(call("", "POST", "/api/v1/devices/WELL_01/poll").result_int(), 401u);
  EXPECT_EQ(call("wrong-token-0123456789", "POST", "/api/v1/channels/COM1/disable").result_int(),
            401u);
  EXPECT_EQ(call(kViewerToken, "POST", "/api/v1/config/reload").result_int(), 403u);
  EXPECT_EQ(call(kOperatorToken, "POST", "/api/v1/devices/NOPE/line", R"({"line":9})").result_int(),
            400u);
  // A write is audited with the device's answer, when it comes.
  auto w = start(kOperatorToken, "POST", "/api/v1/devices/WELL_01/write",
                 R"({"point":"SETPOINT","value":42})");
  ASSERT_TRUE(run_until([&] { return !node_.pending_writes.empty(); }));
  EXPECT_EQ(audit().size(), 4u) << "the write is still waiting for the device";
  asio::post(io_, [&] { node_.pending_writes.front().done(Outcome::failure(502, "exception 2")); });
  ASSERT_TRUE(run_until([&] { return w->done; }));
  EXPECT_EQ(w->response.result_int(), 502u);
  // Reads are not audited, nor the audit's own reads.
  call(kViewerToken, "GET", "/api/v1/devices");

  const json all = audit();
  ASSERT_EQ(all.size(), 5u) << all.dump();
  const json want = json::parse(R"([
    {"seq":1,"who":"anonymous","action":"poll","target":"WELL_01","outcome":401},
    {"seq":2,"who":"anonymous","action":"channel.disable","target":"COM1","outcome":401},
    {"seq":3,"who":"dashboards","action":"reload","target":"","outcome":403},
    {"seq":4,"who":"scada-host","action":"line","target":"NOPE","outcome":400},
    {"seq":5,"who":"scada-host","action":"write","target":"WELL_01","outcome":502}])");
  for (std::size_t i = 0; i < want.size(); ++i) {
    for (const auto& [key, value] : want[i].items())
      EXPECT_EQ(all[i].at(key), value) << i << " " << key;
    EXPECT_TRUE(all[i].at("client").get<std::string>().starts_with("127.0.0.1:")) << all[i];
    EXPECT_EQ(all[i].at("time").get<std::string>().size(), 24u) << all[i];
  }
  EXPECT_EQ(audit("3").size(), 2u);
  EXPECT_EQ(audit("3")[0].at("seq"), 4);
  // No token, right or wrong, is in the audit.
  const std::string text = all.dump();
  for (const auto& t :
       {kViewerToken, kOperatorToken, kAdminToken, std::string("wrong-token-0123456789")})
    EXPECT_EQ(text.find(t), std::string::npos) << t;
}

TEST_F(HttpAuthTest, RefusalsAreCountedForPrometheus) {
  call("", "GET", "/api/v1/devices");
  call("", "GET", "/api/v1/points");
  call(kViewerToken, "POST", "/api/v1/devices/WELL_01/poll");
  const Response r = call(kViewerToken, "GET", "/metrics");
  ASSERT_EQ(r.result_int(), 200u);
  EXPECT_NE(r.body().find("pollux_api_auth_failures_total{reason=\"unauthenticated\"} 2\n"),
            std::string::npos)
      << r.body();
  EXPECT_NE(r.body().find("pollux_api_auth_failures_total{reason=\"forbidden\"} 1\n"),
            std::string::npos)
      << r.body();
}

TEST_F(HttpAuthTest, NewTokensApplyToTheNextRequest) {
  EXPECT_EQ(call(kViewerToken, "GET", "/api/v1/devices").result_int(), 200u);
  server_->set_tokens({{"dashboards", "a-brand-new-token-0123", Role::viewer}});
  EXPECT_EQ(call(kViewerToken, "GET", "/api/v1/devices").result_int(), 401u);
  EXPECT_EQ(call("a-brand-new-token-0123", "GET", "/api/v1/devices").result_int(), 200u);
  // And back to none: everything allowed, as on a loopback node without tokens.
  server_->set_tokens({});
  EXPECT_EQ(call("", "POST", "/api/v1/config/reload").result_int(), 200u);
}

TEST_F(HttpAuthTest, WithoutTokensEverythingIsAllowedAndStillAudited) {
  server_->set_tokens({});
  EXPECT_EQ(call("", "POST", "/api/v1/devices/WELL_01/poll").result_int(), 202u);
  const Response r = call("", "GET", "/api/v1/audit");
  ASSERT_EQ(r.result_int(), 200u);
  const json all = json::parse(r.body());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].at("who"), "anonymous");
  EXPECT_EQ(all[0].at("action"), "poll");
  EXPECT_EQ(all[0].at("outcome"), 202);
}

}  // namespace
}  // namespace pollux::api
