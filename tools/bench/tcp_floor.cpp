// The kernel's floor under engine_bench's CPU figures: a minimal Modbus TCP poller, with no
// scheduler, point store or failover, against the same pollux-sim devices, pinned the same way
// (this client on CPU 0, the simulator on CPU 1). Whatever CPU per transaction it needs, any
// poller on this machine needs at least as much; engine_bench's Pollux figures are read
// against it (the engine issue's "CPU per transaction" and "CPU at the 1 s scan" goals).
//
// Modes (each on fresh connections to a fresh simulator):
//   asio     what a poller gets from Boost.Asio 1.74's epoll reactor: send, then a speculative
//            recv that finds nothing (EAGAIN), an edge-triggered epoll wait, and the recv that
//            reads the answer. One device, one request in flight, as fast as it answers. The
//            restructure issue's goal is set against this mode.
//   nospec   the same without the speculative recv (one system call fewer per transaction): how
//            Pollux's TCP link reads, through its own edge-triggered set (readiness_set.hpp).
//   uring    io_uring (when built with liburing): a send and a recv submitted together per
//            transaction, one io_uring_enter per batch of completions, DEFER_TASKRUN.
//   scan     the asio pattern paced at one poll per device per second over 1 ms ticks (the 1 s
//            scan of engine_bench's "realistic" scenario); CPU is reported as % of one core.
//
//   tcp_floor [--sim PATH] [--devices 1,100,1000] [--scan-devices 10000] [--seconds 5]
//             [--modes asio,nospec,uring,scan]
#include <sys/epoll.h>
#include <sys/timerfd.h>
#ifdef POLLUX_HAVE_LIBURING
#include <liburing.h>
#endif

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "bench_sim.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  uint16_t tid = 0;
  uint8_t tx[12];
  uint8_t rx[260];
};

struct Figures {
  double txn_per_s = 0;
  double cpu_us_per_txn = 0;
  double cpu_pct = 0;
  double sim_pct = 0;
};

bool pinned() {
  return sysconf(_SC_NPROCESSORS_ONLN) >= 2;
}

void pin_self(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

// Counts transactions and CPU over the measured window, after a one-second warm-up.
class Window {
 public:
  Window(double seconds, pid_t sim) : sim_(sim), seconds_(seconds) {}
  // False once the window is over.
  bool tick(uint64_t txns) {
    const auto now = Clock::now();
    if (!open_ && now >= start_) {
      open_ = true;
      txn0_ = txns;
      cpu0_ = bench::own_cpu_seconds();
      sim0_ = bench::cpu_seconds_of(sim_);
      t0_ = now;
    }
    if (open_ && now - t0_ >= std::chrono::duration<double>(seconds_)) {
      const double elapsed = std::chrono::duration<double>(now - t0_).count();
      const double n = static_cast<double>(txns - txn0_);
      const double cpu = bench::own_cpu_seconds() - cpu0_;
      figures.txn_per_s = n / elapsed;
      figures.cpu_us_per_txn = n > 0 ? 1e6 * cpu / n : 0;
      figures.cpu_pct = 100 * cpu / elapsed;
      figures.sim_pct = 100 * (bench::cpu_seconds_of(sim_) - sim0_) / elapsed;
      return false;
    }
    return true;
  }
  Figures figures;

 private:
  pid_t sim_;
  double seconds_;
  Clock::time_point start_ = Clock::now() + std::chrono::seconds(1), t0_;
  bool open_ = false;
  uint64_t txn0_ = 0;
  double cpu0_ = 0, sim0_ = 0;
};

void next_request(Conn& c) {
  bench::read_request(c.tx, c.tid++);
}

// asio, nospec and scan: one edge-triggered epoll set, as Asio's reactor registers sockets.
Figures run_epoll(std::vector<Conn>& conns, pid_t sim, double seconds, bool speculative,
                  bool scan) {
  int ep = epoll_create1(0);
  for (size_t i = 0; i < conns.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  uint64_t txns = 0;
  // Sends the next request; the speculative recv nearly always finds nothing (EAGAIN), but when
  // the answer is already there it completes the transaction, as Asio's would.
  auto send_request = [&](Conn& c) {
    for (;;) {
      next_request(c);
      if (send(c.fd, c.tx, sizeof c.tx, MSG_NOSIGNAL) != sizeof c.tx) return;
      if (!speculative || recv(c.fd, c.rx, sizeof c.rx, 0) != bench::kReadResponse) return;
      ++txns;
      if (scan) return;
    }
  };
  constexpr uint64_t kTimer = ~0ull;
  int tfd = -1;
  if (scan) {
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    itimerspec every_ms{{0, 1000000}, {0, 1000000}};
    timerfd_settime(tfd, 0, &every_ms, nullptr);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kTimer;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  } else {
    for (auto& c : conns)
      send_request(c);
  }
  size_t next = 0;
  double due = 0;  // polls owed by the 1 ms ticks so far
  epoll_event evs[256];
  Window w(seconds, sim);
  while (w.tick(txns)) {
    const int n = epoll_wait(ep, evs, 256, 100);
    for (int k = 0; k < n; ++k) {
      if (evs[k].data.u64 == kTimer) {
        uint64_t ticks = 0;
        if (read(tfd, &ticks, sizeof ticks) != sizeof ticks) continue;
        due += static_cast<double>(ticks) * static_cast<double>(conns.size()) / 1000.0;
        for (; due >= 1; due -= 1) {
          send_request(conns[next]);
          next = (next + 1) % conns.size();
        }
        continue;
      }
      Conn& c = conns[evs[k].data.u64];
      if (recv(c.fd, c.rx, sizeof c.rx, 0) != bench::kReadResponse) continue;
      ++txns;
      if (!scan) send_request(c);
    }
  }
  if (tfd >= 0) close(tfd);
  close(ep);
  return w.figures;
}

#ifdef POLLUX_HAVE_LIBURING
Figures run_uring(std::vector<Conn>& conns, pid_t sim, double seconds) {
  io_uring ring;
  if (io_uring_queue_init(4096, &ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) !=
      0)
    throw std::runtime_error("io_uring_queue_init");
  auto submit = [&](size_t i) {
    Conn& c = conns[i];
    next_request(c);
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    io_uring_prep_send(s, c.fd, c.tx, sizeof c.tx, MSG_NOSIGNAL);
    s->flags |= IOSQE_CQE_SKIP_SUCCESS;
    s->user_data = (i << 1) | 1;
    io_uring_sqe* r = io_uring_get_sqe(&ring);
    io_uring_prep_recv(r, c.fd, c.rx, sizeof c.rx, 0);
    r->user_data = i << 1;
  };
  for (size_t i = 0; i < conns.size(); ++i)
    submit(i);
  uint64_t txns = 0;
  std::vector<size_t> answered;
  Window w(seconds, sim);
  while (w.tick(txns)) {
    __kernel_timespec wait{0, 100000000};
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &wait, nullptr);
    unsigned head, seen = 0;
    answered.clear();
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      const bool is_recv = (cqe->user_data & 1) == 0;
      if (is_recv && cqe->res == static_cast<int>(bench::kReadResponse)) {
        ++txns;
        answered.push_back(cqe->user_data >> 1);
      }
    }
    io_uring_cq_advance(&ring, seen);
    for (size_t i : answered)
      submit(i);
  }
  io_uring_queue_exit(&ring);
  return w.figures;
}
#endif

Figures run(const std::string& bin, const std::string& mode, int devices, double seconds) {
  bench::Sim sim = bench::start_sim(bin, devices, bench::Registers::fixed, pinned() ? 1 : -1);
  std::vector<Conn> conns(static_cast<size_t>(devices));
  for (int i = 0; i < devices; ++i)
    conns[static_cast<size_t>(i)].fd = bench::connect_loopback(sim.port(i));
  Figures f;
  if (mode == "uring") {
#ifdef POLLUX_HAVE_LIBURING
    f = run_uring(conns, sim.pid, seconds);
#endif
  } else {
    f = run_epoll(conns, sim.pid, seconds, mode != "nospec", mode == "scan");
  }
  for (auto& c : conns)
    close(c.fd);
  return f;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ','))
    out.push_back(x);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bin = POLLUX_SIM_PATH;
  std::string devices = "1,100,1000", modes = "asio,nospec,uring,scan";
  int scan_devices = 10000;
  double seconds = 5;
  std::string command = "build/release/tools/bench/tcp_floor";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    command += " " + a + " " + v;
    if (a == "--sim")
      bin = v;
    else if (a == "--seconds")
      seconds = std::stod(v);
    else if (a == "--devices")
      devices = v;
    else if (a == "--scan-devices")
      scan_devices = std::stoi(v);
    else if (a == "--modes")
      modes = v;
  }
  for (const std::string& mode : split(modes)) {
    if (mode != "asio" && mode != "nospec" && mode != "uring" && mode != "scan") {
      std::fprintf(stderr, "tcp_floor: unknown mode '%s' (asio, nospec, uring, scan)\n",
                   mode.c_str());
      return 2;
    }
  }
  bench::raise_open_file_limit();
  if (pinned()) pin_self(0);
  std::printf("TCP floor: a minimal Modbus TCP poller against pollux-sim, %.0f s per run%s\n",
              seconds, pinned() ? "; client on CPU 0, simulator on CPU 1" : "");
  std::printf("%-7s %7s %10s %14s %10s %7s\n", "mode", "N", "txn/s", "CPU us/txn", "client %",
              "sim %");
  for (const std::string& mode : split(modes)) {
#ifndef POLLUX_HAVE_LIBURING
    if (mode == "uring") {
      std::printf("%-7s (not built: liburing-dev was missing)\n", mode.c_str());
      continue;
    }
#endif
    std::vector<std::string> sizes =
        mode == "scan" ? std::vector<std::string>{std::to_string(scan_devices)} : split(devices);
    for (const std::string& n : sizes) {
      Figures f;
      try {  // caught, so the simulator of the failed run is stopped on the way out
        f = run(bin, mode, std::stoi(n), seconds);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "tcp_floor: %s N=%s: %s\n", mode.c_str(), n.c_str(), e.what());
        return 1;
      }
      std::printf("%-7s %7s %10.0f %14.2f %10.1f %7.1f\n", mode.c_str(), n.c_str(), f.txn_per_s,
                  f.cpu_us_per_txn, f.cpu_pct, f.sim_pct);
      std::fflush(stdout);
    }
  }
  std::printf("reproduce: tools/build.sh release && %s\n", command.c_str());
  return 0;
}
