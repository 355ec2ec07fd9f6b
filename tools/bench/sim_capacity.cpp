// Capacity of pollux-sim: starts the simulator with N Modbus TCP devices (one server port each),
// opens one connection per device and keeps K read requests (FC3, 10 registers) in flight on
// each for S seconds from one epoll loop. Prints requests/s served and the CPU time used by the
// simulator and by this client (percent of one core), from /proc and getrusage.
//
//   sim_capacity [--sim PATH] [--devices 1,100,1000] [--seconds 5] [--inflight 1]
#include <sys/epoll.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "bench_sim.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd;
  std::vector<uint8_t> rx;
  uint16_t tid = 0;
};

void run(const std::string& bin, int devices, double seconds, int inflight) {
  bench::Sim sim = bench::start_sim(bin, devices, bench::Registers::counting);
  int ep = epoll_create1(0);
  std::vector<Conn> conns;
  conns.reserve(static_cast<size_t>(devices));
  for (int i = 0; i < devices; ++i) {
    int fd = bench::connect_loopback(sim.port(i));
    conns.push_back({fd, {}, 0});
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  auto send_req = [](Conn& c) {
    uint8_t req[12];
    bench::read_request(req, c.tid++);
    return send(c.fd, req, sizeof req, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof req);
  };
  constexpr size_t kResp = bench::kReadResponse;
  uint64_t responses = 0, bad = 0;
  double sim_cpu0 = bench::cpu_seconds_of(sim.pid), own_cpu0 = bench::own_cpu_seconds();
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
  double sim_cpu = bench::cpu_seconds_of(sim.pid) - sim_cpu0,
         own_cpu = bench::own_cpu_seconds() - own_cpu0;
  std::printf(
      "%6d devices  inflight %d  %9.0f req/s  sim CPU %5.1f%%  client CPU %5.1f%%  bad %llu\n",
      devices, inflight, static_cast<double>(responses) / elapsed, 100 * sim_cpu / elapsed,
      100 * own_cpu / elapsed, static_cast<unsigned long long>(bad));
  std::fflush(stdout);
  for (auto& c : conns)
    close(c.fd);
  close(ep);
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
  bench::raise_open_file_limit();
  std::printf(
      "pollux-sim capacity: Modbus TCP, FC3 x10 registers, one connection per device, "
      "%.0f s per run, %ld cores\n",
      seconds, sysconf(_SC_NPROCESSORS_ONLN));
  try {  // caught, so the simulator of the failed run is stopped on the way out
    for (int n : counts)
      run(bin, n, seconds, inflight);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sim_capacity: %s\n", e.what());
    return 1;
  }
  return 0;
}
