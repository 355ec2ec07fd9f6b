#include "broker.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace pollux::mqtt::test {

namespace {

bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void run_or_throw(const std::string& dir, const std::string& command) {
  const std::string full = "cd '" + dir + "' && " + command + " >cmd.out 2>&1";
  if (std::system(full.c_str()) != 0) {
    throw std::runtime_error("command failed: " + command + "\n" + slurp(dir + "/cmd.out"));
  }
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a loopback port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

Broker::Broker(BrokerOptions options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/pollux-mosquitto.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  if (!options_.user.empty()) {
    run_or_throw(
        dir_, "mosquitto_passwd -b -c passwd '" + options_.user + "' '" + options_.password + "'");
  }
  if (options_.tls) {
    // EC keys: generated in milliseconds. The server certificate names both 127.0.0.1 and
    // localhost, as the client checks the host of its URL against it.
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 ";
    const std::string ca_ext =
        "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign ";
    run_or_throw(dir_, "openssl req -x509 " + ec + ca_ext +
                           "-keyout ca.key -out ca.crt -subj /CN=pollux-test-ca");
    run_or_throw(dir_, "openssl req -x509 " + ec + ca_ext +
                           "-keyout other-ca.key -out other-ca.crt -subj /CN=pollux-other-ca");
    run_or_throw(dir_,
                 "openssl req " + ec + "-keyout server.key -out server.csr -subj /CN=localhost");
    {
      std::ofstream ext(dir_ + "/server.ext");
      ext << "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
             "extendedKeyUsage=serverAuth\n";
    }
    run_or_throw(dir_,
                 "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
                 "-days 2 -extfile server.ext -out server.crt");
  }
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = free_port();  // another process may take it first: then another one
    write_config();
    if (try_start()) return;
  }
  throw std::runtime_error("mosquitto did not start:\n" + log());
}

Broker::~Broker() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void Broker::write_config() {
  std::ofstream conf(dir_ + "/mosquitto.conf");
  conf << "listener " << port_ << " 127.0.0.1\n"
       << "persistence false\n"
       << "log_dest file " << dir_ << "/mosquitto.log\n"
       << "log_type all\n";
  // As root, mosquitto would switch to its own user, who cannot read this directory.
  if (::geteuid() == 0) conf << "user root\n";
  if (options_.user.empty()) {
    conf << "allow_anonymous true\n";
  } else {
    conf << "allow_anonymous false\npassword_file " << dir_ << "/passwd\n";
  }
  if (options_.tls) {
    conf << "cafile " << dir_ << "/ca.crt\n"
         << "certfile " << dir_ << "/server.crt\n"
         << "keyfile " << dir_ << "/server.key\n";
  }
}

bool Broker::try_start() {
  const std::string conf = dir_ + "/mosquitto.conf";
  const std::string log_path = dir_ + "/mosquitto.log";
  pid_ = ::fork();
  if (pid_ == 0) {
    // Its warnings (running as root) go to its log, not into the test's output.
    const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (log >= 0) ::dup2(log, 2);
    ::execl("/usr/sbin/mosquitto", "mosquitto", "-c", conf.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    if (accepts(port_)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop();
  return false;
}

void Broker::start() {
  if (pid_ > 0) return;
  // The port was ours a moment ago; retry briefly while the old socket lets go of it.
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (try_start()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("mosquitto did not restart:\n" + log());
}

void Broker::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
}

std::string Broker::url() const {
  return std::string(options_.tls ? "ssl" : "tcp") + "://127.0.0.1:" + std::to_string(port_);
}

std::string Broker::log() const {
  return slurp(dir_ + "/mosquitto.log");
}

}  // namespace pollux::mqtt::test
