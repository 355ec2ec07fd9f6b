#include "sim_harness.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#ifndef POLLUX_SIM_PATH
#error "POLLUX_SIM_PATH must name the pollux-sim binary"
#endif

namespace simtest {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

uint16_t crc16(const uint8_t* p, size_t n) {
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int b = 0; b < 8; ++b)
      crc = (crc & 1) ? static_cast<uint16_t>((crc >> 1) ^ 0xA001) : crc >> 1;
  }
  return crc;
}

Bytes with_crc(Bytes f) {
  uint16_t c = crc16(f.data(), f.size());
  f.push_back(static_cast<uint8_t>(c & 0xFF));
  f.push_back(static_cast<uint8_t>(c >> 8));
  return f;
}

std::string hex(const Bytes& b) {
  std::string s;
  char buf[4];
  for (auto x : b) {
    std::snprintf(buf, sizeof buf, "%02x", x);
    s += buf;
  }
  return s;
}

namespace {

std::string make_dir() {
  char tmpl[] = "/tmp/simtest.XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
  return tmpl;
}

// stderr goes to the pipe `err_fd` when given, else to the file `err_path` when given, else to
// ours.
pid_t spawn(const std::vector<std::string>& args, int* out_fd, int* err_fd,
            const std::string* err_path = nullptr) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    if (err_fd) {
      dup2(err[1], 2);
    } else if (err_path) {
      int fd = open(err_path->c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) dup2(fd, 2);
    }
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  *out_fd = out[0];
  if (err_fd)
    *err_fd = err[0];
  else
    close(err[0]);
  return pid;
}

std::string read_line(int fd, std::string* buf, int ms) {
  auto start = Clock::now();
  size_t nl;
  while ((nl = buf->find('\n')) == std::string::npos) {
    int left = ms - static_cast<int>(ms_since(start));
    if (left <= 0) throw std::runtime_error("timed out waiting for a line");
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) continue;
    char tmp[65536];
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0) throw std::runtime_error("stream closed while waiting for a line");
    buf->append(tmp, static_cast<size_t>(n));
  }
  std::string line = buf->substr(0, nl);
  buf->erase(0, nl + 1);
  return line;
}

}  // namespace

std::string sanitizer_report(const std::string& text) {
  static const char* const markers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                        "WARNING: ThreadSanitizer", ": runtime error: "};
  size_t first = std::string::npos;
  for (const char* m : markers)
    first = std::min(first, text.find(m));
  if (first == std::string::npos) return {};
  size_t line = text.rfind('\n', first);
  return text.substr(line == std::string::npos ? 0 : line + 1);
}

SimProcess::SimProcess(const std::string& yaml, std::vector<std::string> extra,
                       std::string binary) {
  dir_ = make_dir();
  std::string cfg = dir_ + "/sim.yaml";
  std::ofstream(cfg) << yaml;
  report_ = dir_ + "/report.json";
  log_ = dir_ + "/sim.log";
  std::vector<std::string> args = {std::move(binary), "-c", cfg, "--report", report_};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_ = spawn(args, &out_fd_, nullptr, &log_);
  std::string buf;
  ready_ = nlohmann::json::parse(read_line(out_fd_, &buf, 10000));
  if (!ready_.value("ready", false)) throw std::runtime_error("no ready line");
  std::string ctl = ready_["control"];
  if (ctl.rfind("unix:", 0) == 0) {
    ctl_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, ctl.c_str() + 5, sizeof a.sun_path - 1);
    if (connect(ctl_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("control connect");
  } else {
    ctl_fd_ = tcp_connect(std::stoi(ctl.substr(ctl.rfind(':') + 1)));
    if (ctl_fd_ < 0) throw std::runtime_error("control connect");
  }
}

SimProcess::~SimProcess() {
  if (!stopped_) {
    try {
      stop();
    } catch (...) {
    }
  }
  if (out_fd_ >= 0) close(out_fd_);
  std::remove(report_.c_str());
  std::remove(log_.c_str());
  std::remove((dir_ + "/sim.yaml").c_str());
  rmdir(dir_.c_str());
}

int SimProcess::tcp_port(const std::string& id) const {
  std::string a = ready_["tcp"][id];
  return std::stoi(a.substr(a.rfind(':') + 1));
}

nlohmann::json SimProcess::cmd(const nlohmann::json& req) {
  std::string line = req.dump() + "\n";
  if (send(ctl_fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
    throw std::runtime_error("control send");
  return nlohmann::json::parse(read_line(ctl_fd_, &ctl_buf_, 10000));
}

nlohmann::json SimProcess::stop(int* status) {
  stopped_ = true;
  if (ctl_fd_ >= 0) close(ctl_fd_);
  ctl_fd_ = -1;
  kill(pid_, SIGTERM);
  int st = -1;
  auto start = Clock::now();
  while (waitpid(pid_, &st, WNOHANG) == 0) {
    if (ms_since(start) > 10000) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &st, 0);
      break;
    }
    usleep(5000);
  }
  if (status) *status = st;
  std::string err;
  {
    std::ifstream log(log_);
    std::stringstream text;
    text << log.rdbuf();
    err = text.str();
  }
  std::cerr << err;  // what the simulator said, as when it wrote to our stderr
  // A crash, sanitizer report or unclean exit of the simulator fails the test that ran it.
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    ADD_FAILURE() << "pollux-sim did not exit cleanly (wait status " << st << ")";
  std::string report = sanitizer_report(err);
  if (!report.empty()) ADD_FAILURE() << "pollux-sim printed a sanitizer report:\n" << report;
  std::ifstream f(report_);
  std::stringstream ss;
  ss << f.rdbuf();
  if (ss.str().empty()) return nullptr;
  return nlohmann::json::parse(ss.str());
}

int run_failing(const std::string& yaml, std::string* err) {
  std::string dir = make_dir();
  std::string cfg = dir + "/bad.yaml";
  std::ofstream(cfg) << yaml;
  int out_fd, err_fd;
  pid_t pid = spawn({POLLUX_SIM_PATH, "-c", cfg}, &out_fd, &err_fd);
  std::string text;
  char buf[4096];
  auto start = Clock::now();
  for (;;) {
    pollfd p{err_fd, POLLIN, 0};
    if (poll(&p, 1, 200) > 0) {
      ssize_t n = read(err_fd, buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    if (ms_since(start) > 10000) {
      kill(pid, SIGKILL);
      break;
    }
  }
  int st = 0;
  waitpid(pid, &st, 0);
  close(out_fd);
  close(err_fd);
  std::remove(cfg.c_str());
  rmdir(dir.c_str());
  *err = text;
  std::string report = sanitizer_report(text);
  if (!report.empty()) ADD_FAILURE() << "pollux-sim printed a sanitizer report:\n" << report;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

RawPort::RawPort(const std::string& path) {
  fd_ = open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) return;
  termios t{};
  tcgetattr(fd_, &t);
  cfmakeraw(&t);
  tcsetattr(fd_, TCSANOW, &t);
}

RawPort::~RawPort() {
  if (fd_ >= 0) close(fd_);
}

void RawPort::write(const Bytes& b) {
  size_t off = 0;
  while (off < b.size()) {
    ssize_t n = ::write(fd_, b.data() + off, b.size() - off);
    if (n > 0)
      off += static_cast<size_t>(n);
    else
      usleep(1000);
  }
}

Bytes RawPort::read_n(size_t n, int ms) {
  Bytes out;
  auto start = Clock::now();
  while (out.size() < n) {
    int left = ms - static_cast<int>(ms_since(start));
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) continue;
    uint8_t buf[1024];
    ssize_t r = ::read(fd_, buf, std::min(sizeof buf, n - out.size()));
    if (r > 0)
      out.insert(out.end(), buf, buf + r);
    else if (r == 0 || (errno != EAGAIN && errno != EINTR))
      break;
  }
  return out;
}

std::string RawPort::read_until(const std::string& needle, int ms) {
  std::string out;
  auto start = Clock::now();
  while (out.find(needle) == std::string::npos) {
    int left = ms - static_cast<int>(ms_since(start));
    if (left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) continue;
    char buf[256];
    ssize_t r = ::read(fd_, buf, sizeof buf);
    if (r > 0)
      out.append(buf, static_cast<size_t>(r));
    else if (r == 0 || (errno != EAGAIN && errno != EINTR))
      break;
  }
  return out;
}

int tcp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

Bytes tcp_exchange(int fd, const Bytes& req, size_t n, int ms) {
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return {};
  Bytes out;
  auto start = Clock::now();
  while (out.size() < n) {
    int left = ms - static_cast<int>(ms_since(start));
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) continue;
    uint8_t buf[1024];
    ssize_t r = recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
    if (r <= 0) break;
    out.insert(out.end(), buf, buf + r);
  }
  return out;
}

}  // namespace simtest
