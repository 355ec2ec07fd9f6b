// Serves FakeNode over the real HTTP server, for trying polluxctl and the status page without an
// engine: `fake_node_server [HOST:PORT] [SECONDS]` prints "listening on PORT" and runs until
// SIGINT/SIGTERM or SECONDS (default 600) pass. Writes complete 500 ms later, like a device.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "api/http_server.hpp"
#include "fake_node.hpp"

namespace {

class SlowWriteNode : public pollux::api::testing::FakeNode {
 public:
  explicit SlowWriteNode(boost::asio::io_context& io) : io_(io) {}
  void write(const std::string& id, const std::string& point, const pollux::api::WriteValue& value,
             std::function<void(pollux::api::Outcome)> done) override {
    FakeNode::write(id, point, value, std::move(done));
    if (pending_writes.empty()) return;
    auto timer = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::milliseconds(500));
    auto finish = std::move(pending_writes.back().done);
    pending_writes.pop_back();
    timer->async_wait([timer, finish = std::move(finish)](boost::system::error_code) {
      finish(pollux::api::Outcome::success());
    });
  }

 private:
  boost::asio::io_context& io_;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string listen = argc > 1 ? argv[1] : "127.0.0.1:0";
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 600;
  boost::asio::io_context io;
  SlowWriteNode node(io);
  pollux::api::HttpServer server(io, node, listen);
  try {
    server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fake_node_server: %s\n", e.what());
    return 2;
  }
  std::printf("listening on %u\n", static_cast<unsigned>(server.port()));
  std::fflush(stdout);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer deadline(io, std::chrono::seconds(seconds));
  auto shutdown = [&](boost::system::error_code, auto...) {
    server.stop();
    signals.cancel();
    deadline.cancel();
    io.stop();
  };
  signals.async_wait(shutdown);
  deadline.async_wait(shutdown);
  io.run();
  return 0;
}
