// The simulator's single-threaded event loop: epoll for every descriptor (ptys, listening and
// connected sockets, the control socket, signals) and one timerfd for all timers. One thread
// serves every simulated device, so 1000 TCP devices cost 1000 descriptors, not 1000 threads
// (simulator issue, "TCP: many devices in one process").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <unordered_map>

namespace sim {

using Clock = std::chrono::steady_clock;

class Loop {
 public:
  using IoHandler = std::function<void(uint32_t events)>;
  using TimerHandler = std::function<void()>;

  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Registers fd; returns a token for modify/remove. Events after remove are never delivered.
  uint64_t add(int fd, uint32_t events, IoHandler h);
  void modify(uint64_t token, uint32_t events);
  void remove(uint64_t token);

  uint64_t at(Clock::time_point when, TimerHandler h);
  uint64_t after_ms(double ms, TimerHandler h);
  void cancel(uint64_t timer);

  // Simulator clock: milliseconds since the loop was made.
  double now_ms() const;
  Clock::time_point start() const { return start_; }

  void run();  // until stop()
  void stop() { running_ = false; }

 private:
  void arm();
  struct Io {
    int fd;
    IoHandler h;
  };
  int ep_, tfd_;
  uint64_t next_token_ = 1;
  std::unordered_map<uint64_t, Io> io_;
  std::map<std::pair<Clock::time_point, uint64_t>, TimerHandler> timers_;
  std::unordered_map<uint64_t, Clock::time_point> timer_when_;
  Clock::time_point start_;
  bool running_ = true;
};

}  // namespace sim
