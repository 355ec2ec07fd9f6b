// Capacity of pollux-sim: starts the simulator with N Modbus TCP devices (one server port each),
// opens one connection per device and keeps K read requests (FC3, 10 registers) in flight on
// each for S seconds from one epoll loop. Prints requests/s served and the CPU time used by the
// simulator and by this client (percent of one core), from /proc and getrusage.
//
//   sim_capacity [--sim PATH] [--devices 1,100,1000] [--seconds 5] [--inflight 1]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double cpu_seconds_of(pid_t pid) {
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

double own_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Sim {
  pid_t pid = -1;
  nlohmann::json ready;
};

Sim start_sim(const std::string& bin, int devices, const std::string& dir) {
  std::string cfg = dir + "/capacity.yaml";
  {
    std::ofstream y(cfg);
    y << "devices:\n";
    for (int i = 0; i < devices; ++i)
      y << "  - { id: D" << i << ", unit: 1, size: 100, registers: [ { table: holding, address: 0, "
        << "type: uint16, counter: { start: 0, step: 1, interval_ms: 100 } } ] }\n";
    y << "tcp:\n";
    for (int i = 0; i < devices; ++i)
      y << "  - { id: T" << i << ", devices: [D" << i << "] }\n";
  }
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe");
  Sim s;
  s.pid = fork();
  if (s.pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    execl(bin.c_str(), bin.c_str(), "-c", cfg.c_str(), "--report", (dir + "/report.json").c_str(),
          nullptr);
    _exit(127);
  }
  close(out[1]);
  std::string line;
  auto start = Clock::now();
  char buf[65536];
  while (line.find('\n') == std::string::npos) {
    if (Clock::now() - start > std::chrono::seconds(30)) throw std::runtime_error("sim not ready");
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

struct Conn {
  int fd;
  std::vector<uint8_t> rx;
  uint16_t tid = 0;
};

void run(const std::string& bin, int devices, double seconds, int inflight) {
  char tmpl[] = "/tmp/sim_capacity.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  Sim sim = start_sim(bin, devices, dir);
  int ep = epoll_create1(0);
  std::vector<Conn> conns;
  conns.reserve(static_cast<size_t>(devices));
  for (int i = 0; i < devices; ++i) {
    std::string a = sim.ready["tcp"]["T" + std::to_string(i)];
    int port = std::stoi(a.substr(a.rfind(':') + 1));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      throw std::runtime_error("connect " + a);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    conns.push_back({fd, {}, 0});
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  auto send_req = [](Conn& c) {
    uint8_t req[12] = {static_cast<uint8_t>(c.tid >> 8),
                       static_cast<uint8_t>(c.tid),
                       0,
                       0,
                       0,
                       6,
                       1,
                       3,
                       0,
                       0,
                       0,
                       10};
    ++c.tid;
    return send(c.fd, req, sizeof req, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof req);
  };
  constexpr size_t kResp = 7 + 2 + 20;  // MBAP + fc + count + 10 registers
  uint64_t responses = 0, bad = 0;
  double sim_cpu0 = cpu_seconds_of(sim.pid), own_cpu0 = own_cpu_seconds();
  auto t0 = Clock::now();
  for (auto& c : conns)
    for (int k = 0; k < inflight; ++k)
      send_req(c);
  std::vector<epoll_event> evs(1024);
  uint8_t buf[65536];
  auto end = t0 + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    for (int i = 0; i < n; ++i) {
      Conn& c = conns[evs[i].data.u32];
      ssize_t r = recv(c.fd, buf, sizeof buf, 0);
      if (r <= 0) continue;
      c.rx.insert(c.rx.end(), buf, buf + r);
      while (c.rx.size() >= kResp) {
        if (c.rx[7] != 3 || c.rx[8] != 20) ++bad;
        c.rx.erase(c.rx.begin(), c.rx.begin() + kResp);
        ++responses;
        send_req(c);
      }
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  double sim_cpu = cpu_seconds_of(sim.pid) - sim_cpu0, own_cpu = own_cpu_seconds() - own_cpu0;
  std::printf(
      "%6d devices  inflight %d  %9.0f req/s  sim CPU %5.1f%%  client CPU %5.1f%%  bad %llu\n",
      devices, inflight, static_cast<double>(responses) / elapsed, 100 * sim_cpu / elapsed,
      100 * own_cpu / elapsed, static_cast<unsigned long long>(bad));
  std::fflush(stdout);
  for (auto& c : conns)
    close(c.fd);
  close(ep);
  kill(sim.pid, SIGTERM);
  int st;
  waitpid(sim.pid, &st, 0);
  std::remove((dir + "/capacity.yaml").c_str());
  std::remove((dir + "/report.json").c_str());
  rmdir(dir.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::string bin = POLLUX_SIM_PATH;
  std::vector<int> counts = {1, 100, 1000};
  double seconds = 5;
  int inflight = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--sim") {
      bin = v;
    } else if (a == "--seconds") {
      seconds = std::stod(v);
    } else if (a == "--inflight") {
      inflight = std::stoi(v);
    } else if (a == "--devices") {
      counts.clear();
      std::stringstream ss(v);
      std::string x;
      while (std::getline(ss, x, ','))
        counts.push_back(std::stoi(x));
    }
  }
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  std::printf(
      "pollux-sim capacity: Modbus TCP, FC3 x10 registers, one connection per device, "
      "%.0f s per run, %ld cores\n",
      seconds, sysconf(_SC_NPROCESSORS_ONLN));
  for (int n : counts)
    run(bin, n, seconds, inflight);
  return 0;
}
