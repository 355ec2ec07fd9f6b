// What the C++ load clients in tools/bench share: starting pollux-sim with N Modbus TCP devices
// (one server port each), connecting to them, and reading CPU time from /proc and getrusage.
// Header-only: each benchmark is one translation unit.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bench {

inline double cpu_seconds_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close_paren = s.rfind(')');
  std::istringstream in(s.substr(close_paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

inline double own_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

inline void raise_open_file_limit() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

// A running simulator; it is stopped when this goes away, so a benchmark that fails half-way
// (a refused connect, an exception) leaves no simulator holding thousands of ports.
struct Sim {
  pid_t pid = -1;
  std::string dir;
  nlohmann::json ready;

  Sim() = default;
  Sim(Sim&& o) noexcept
      : pid(std::exchange(o.pid, -1)), dir(std::move(o.dir)), ready(std::move(o.ready)) {}
  Sim& operator=(Sim&&) = delete;
  ~Sim() { stop(); }

  // The port of the simulator's TCP server T<i>.
  int port(int i) const {
    std::string a = ready["tcp"]["T" + std::to_string(i)];
    return std::stoi(a.substr(a.rfind(':') + 1));
  }
  void stop() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    int st;
    waitpid(pid, &st, 0);
    pid = -1;
    std::remove((dir + "/sim.yaml").c_str());
    std::remove((dir + "/report.json").c_str());
    rmdir(dir.c_str());
  }
};

// What the simulated devices hold: 100 holding registers counting up every 100 ms (the
// simulator does work between requests), or engine_bench's 10 fixed registers (it does none).
enum class Registers { counting, fixed };

// Starts the simulator with `devices` devices, each behind its own TCP server, and waits for its
// ready line. cpu >= 0 pins it to that CPU.
inline Sim start_sim(const std::string& bin, int devices, Registers regs, int cpu = -1) {
  char tmpl[] = "/tmp/pollux_bench.XXXXXX";
  Sim s;
  s.dir = mkdtemp(tmpl);
  std::string cfg = s.dir + "/sim.yaml";
  {
    std::ofstream y(cfg);
    y << "devices:\n";
    const char* registers =
        regs == Registers::counting
            ? "size: 100, registers: [ { table: holding, address: 0, type: uint16, "
              "counter: { start: 0, step: 1, interval_ms: 100 } } ]"
            : "size: 16, registers: [ { table: holding, address: 0, "
              "words: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] } ]";
    for (int i = 0; i < devices; ++i)
      y << "  - { id: D" << i << ", unit: 1, " << registers << " }\n";
    y << "tcp:\n";
    for (int i = 0; i < devices; ++i)
      y << "  - { id: T" << i << ", devices: [D" << i << "] }\n";
  }
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe");
  s.pid = fork();
  if (s.pid == 0) {
    if (cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(cpu, &set);
      sched_setaffinity(0, sizeof set, &set);
    }
    dup2(out[1], 1);
    close(out[0]);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    execl(bin.c_str(), bin.c_str(), "-c", cfg.c_str(), "--report", (s.dir + "/report.json").c_str(),
          nullptr);
    _exit(127);
  }
  close(out[1]);
  std::string line;
  auto start = std::chrono::steady_clock::now();
  char buf[65536];
  while (line.find('\n') == std::string::npos) {
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(30 + devices / 100))
      throw std::runtime_error("sim not ready");
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) throw std::runtime_error("sim exited before ready");
    line.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  s.ready = nlohmann::json::parse(line.substr(0, line.find('\n')));
  return s;
}

// A connected, non-blocking TCP socket to 127.0.0.1:port with TCP_NODELAY, as Pollux opens them.
inline int connect_loopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    throw std::runtime_error("connect to port " + std::to_string(port));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

// An FC3 request for 10 holding registers at 0, unit 1, transaction id `tid` (12 bytes).
inline void read_request(uint8_t (&req)[12], uint16_t tid) {
  const uint8_t r[12] = {
      static_cast<uint8_t>(tid >> 8), static_cast<uint8_t>(tid), 0, 0, 0, 6, 1, 3, 0, 0, 0, 10};
  for (int i = 0; i < 12; ++i)
    req[i] = r[i];
}
constexpr size_t kReadResponse = 7 + 2 + 20;  // MBAP + fc + count + 10 registers

}  // namespace bench
