// GET /api/v1/stream's bound on a slow client (spec/api.md "Live stream": "A client that cannot
// keep up is disconnected; polling never waits for a client") and the metrics that show it:
// a client with a tiny receive buffer that stops reading is disconnected when the journal's
// ring overtakes it, or when it took nothing for the idle timeout, and
// pollux_api_stream_clients / pollux_api_stream_dropped_total say so. A real socket on
// 127.0.0.1, stepped on the server's io_context with a deadline: nothing sleeps.
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>

#include "api/http_server.hpp"
#include "api/live_stream.hpp"
#include "fake_node.hpp"

namespace pollux::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

class StreamNode : public testing::FakeNode {
 public:
  StreamJournal* stream() override { return &journal; }
  StreamJournal journal{4, 1};  // four events: easy to overrun
};

// A stream client whose socket takes little (a 4 KiB receive buffer, set before connecting)
// and reads only when told to.
class SlowClient {
 public:
  SlowClient(asio::io_context& io, std::uint16_t port) : socket_(io) {
    socket_.open(tcp::v4());
    socket_.set_option(asio::socket_base::receive_buffer_size(4096));
    socket_.connect(tcp::endpoint(asio::ip::address_v4::loopback(), port));
    asio::async_write(socket_, asio::buffer(request_),
                      [this](beast::error_code ec, std::size_t) { sent = !ec; });
  }

  // Reads until the server closes the connection; `closed` then, with what was read.
  void drain() {
    socket_.async_read_some(asio::buffer(scratch_), [this](beast::error_code ec, std::size_t n) {
      received += n;
      if (ec) {
        closed = true;
        error = ec;
        return;
      }
      drain();
    });
  }

  bool sent = false;
  bool closed = false;
  beast::error_code error;
  std::size_t received = 0;

 private:
  tcp::socket socket_;
  std::string request_ = "GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  char scratch_[64 * 1024];
};

class HttpStreamTest : public ::testing::Test {
 protected:
  void start_server(HttpServerOptions options = {}) {
    server_ = std::make_unique<HttpServer>(io_, node_, "127.0.0.1:0", options);
    server_->start();
  }

  template <class Done>
  bool run_until(Done done, std::chrono::milliseconds limit = 5000ms) {
    return testing::run_io_until(io_, done, limit);
  }

  // The /metrics text, read through the server like any client would.
  std::string metrics() {
    tcp::socket s(io_);
    s.connect(tcp::endpoint(asio::ip::address_v4::loopback(), server_->port()));
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    std::string text;
    bool done = false;
    std::array<char, 4096> buf{};
    std::function<void()> read = [&] {
      s.async_read_some(asio::buffer(buf), [&](beast::error_code ec, std::size_t n) {
        text.append(buf.data(), n);
        if (ec) {
          done = true;
          return;
        }
        read();
      });
    };
    asio::async_write(s, asio::buffer(req), [&](beast::error_code, std::size_t) { read(); });
    EXPECT_TRUE(run_until([&] { return done; })) << "/metrics timed out";
    return text;
  }

  // A client is reading the stream (the server attached it to the journal) and is stuck on one
  // event far bigger than every socket buffer between them.
  std::unique_ptr<SlowClient> stuck_client() {
    auto c = std::make_unique<SlowClient>(io_, server_->port());
    EXPECT_TRUE(run_until([&] { return node_.journal.readers() == 1; })) << "never attached";
    node_.journal.append(StreamEventKind::point, "WELL_01", std::string(16 << 20, 'x'));
    node_.journal.notify();
    run_until([] { return false; }, 200ms);  // the server writes what the sockets take
    return c;
  }

  static bool has(const std::string& text, const std::string& line) {
    return text.find(line) != std::string::npos;
  }

  asio::io_context io_;
  StreamNode node_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpStreamTest, AClientTheRingOvertakesIsDroppedAndCounted) {
  start_server();
  auto slow = stuck_client();
  auto m = metrics();
  EXPECT_TRUE(has(m, "pollux_api_stream_clients 1\n")) << m;
  EXPECT_TRUE(has(m, "pollux_api_stream_dropped_total 0\n")) << m;

  // The producer goes on while the client is stuck: it never waits for it.
  for (int i = 0; i < 5; ++i)
    node_.journal.append(StreamEventKind::point, "WELL_01", R"({"n":1})");
  node_.journal.notify();
  EXPECT_EQ(server_->stats().stream_dropped, 0u) << "dropped before its write completed";

  // The client reads again: once its write completes, the server finds the ring overtook it.
  slow->drain();
  ASSERT_TRUE(run_until([&] { return slow->closed; }, 20000ms)) << "never disconnected";
  EXPECT_TRUE(slow->error == asio::error::eof || slow->error == asio::error::connection_reset)
      << slow->error.message();
  EXPECT_GT(slow->received, std::size_t{16 << 20});  // the big event came whole first
  EXPECT_EQ(server_->stats().stream_dropped, 1u);
  ASSERT_TRUE(run_until([&] { return node_.journal.readers() == 0; }));
  m = metrics();
  EXPECT_TRUE(has(m, "# TYPE pollux_api_stream_clients gauge\n")) << m;
  EXPECT_TRUE(has(m, "# TYPE pollux_api_stream_dropped_total counter\n")) << m;
  EXPECT_TRUE(has(m, "pollux_api_stream_clients 0\n")) << m;
  EXPECT_TRUE(has(m, "pollux_api_stream_dropped_total 1\n")) << m;
}

TEST_F(HttpStreamTest, AClientThatTakesNothingIsDroppedAtTheIdleTimeout) {
  HttpServerOptions options;
  options.idle_timeout = 300ms;
  start_server(options);
  auto slow = stuck_client();
  ASSERT_TRUE(run_until([&] { return server_->stats().stream_dropped == 1; }, 3000ms))
      << "a client that takes nothing was kept";
  ASSERT_TRUE(run_until([&] { return node_.journal.readers() == 0; }));
  const auto m = metrics();
  EXPECT_TRUE(has(m, "pollux_api_stream_clients 0\n")) << m;
  EXPECT_TRUE(has(m, "pollux_api_stream_dropped_total 1\n")) << m;
}

}  // namespace
}  // namespace pollux::api
