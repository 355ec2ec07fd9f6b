// A scratch mosquitto for the MQTT adapter's tests: Debian's /usr/sbin/mosquitto on a free
// loopback port with its own config in a temporary directory (never the system service),
// optionally with a password file (mosquitto_passwd) or TLS from a test CA made with the
// openssl CLI. stop() and start() again keep the port, for broker outages.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <string>

namespace pollux::mqtt::test {

// Runs `io` (the tests' executor) until `done` holds or `timeout` passes; returns done().
template <class Pred>
bool run_io_until(boost::asio::io_context& io, Pred done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline)
    io.run_for(std::chrono::milliseconds(10));
  return done();
}

struct BrokerOptions {
  bool tls = false;
  // Non-empty: anonymous clients are refused and this one user/password is accepted.
  std::string user{}, password{};
};

class Broker {
 public:
  explicit Broker(BrokerOptions options = {});
  ~Broker();
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  void start();  // on the same port as before; waits until it accepts connections
  void stop();   // SIGTERM, then SIGKILL after 5 s

  int port() const { return port_; }
  std::string url() const;  // tcp://127.0.0.1:PORT or ssl://127.0.0.1:PORT
  const std::string& dir() const { return dir_; }
  // With tls: the CA that signed the broker's certificate, and another that did not.
  std::string ca_file() const { return dir_ + "/ca.crt"; }
  std::string other_ca_file() const { return dir_ + "/other-ca.crt"; }
  std::string log() const;

 private:
  bool try_start();
  void write_config();

  BrokerOptions options_;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// Runs `command` through /bin/sh in `dir`; throws with its output when it fails.
void run_or_throw(const std::string& dir, const std::string& command);

// A free loopback TCP port (bound and released: the caller binds it soon after).
int free_port();

}  // namespace pollux::mqtt::test
