// A tiny client for the will test: connects with a will through the adapter, prints
// "connected" and runs until it is killed. The test kills it with SIGKILL, so the broker sees
// the connection die without a DISCONNECT and must publish the will.
//
//   mqtt_will_client URL CLIENT_ID WILL_TOPIC WILL_PAYLOAD
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <string>

#include "mqtt/client.hpp"
#include "runtime/asio_executor.hpp"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s URL CLIENT_ID WILL_TOPIC WILL_PAYLOAD\n", argv[0]);
    return 2;
  }
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  pollux::runtime::AsioExecutor ex(io);
  pollux::mqtt::Handlers handlers;
  handlers.connected = [] {
    std::printf("connected\n");
    std::fflush(stdout);
  };
  handlers.connect_failed = [&](std::string reason) {
    std::fprintf(stderr, "connect failed: %s\n", reason.c_str());
    io.stop();
  };
  handlers.connection_lost = [&](std::string reason) {
    std::fprintf(stderr, "connection lost: %s\n", reason.c_str());
    io.stop();
  };
  pollux::mqtt::Client client(ex, {.url = argv[1], .client_id = argv[2]}, std::move(handlers));
  client.connect({.topic = argv[3], .payload = argv[4], .qos = 1, .retain = false}, {});
  io.run();
  return 1;
}
