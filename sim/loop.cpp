#include "loop.hpp"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

namespace sim {

namespace {
constexpr uint64_t kTimerToken = 0;
}

Loop::Loop() : start_(Clock::now()) {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  tfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (ep_ < 0 || tfd_ < 0) throw std::runtime_error("epoll/timerfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTimerToken;
  epoll_ctl(ep_, EPOLL_CTL_ADD, tfd_, &ev);
}

Loop::~Loop() {
  close(tfd_);
  close(ep_);
}

uint64_t Loop::add(int fd, uint32_t events, IoHandler h) {
  uint64_t token = next_token_++;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) throw std::runtime_error("epoll_ctl add");
  io_.emplace(token, Io{fd, std::move(h)});
  return token;
}

void Loop::modify(uint64_t token, uint32_t events) {
  auto it = io_.find(token);
  if (it == io_.end()) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = token;
  epoll_ctl(ep_, EPOLL_CTL_MOD, it->second.fd, &ev);
}

void Loop::remove(uint64_t token) {
  auto it = io_.find(token);
  if (it == io_.end()) return;
  epoll_ctl(ep_, EPOLL_CTL_DEL, it->second.fd, nullptr);
  io_.erase(it);
}

uint64_t Loop::at(Clock::time_point when, TimerHandler h) {
  uint64_t id = next_token_++;
  timers_.emplace(std::make_pair(when, id), std::move(h));
  timer_when_.emplace(id, when);
  arm();
  return id;
}

uint64_t Loop::after_ms(double ms, TimerHandler h) {
  return at(Clock::now() + std::chrono::microseconds(static_cast<int64_t>(ms * 1000)),
            std::move(h));
}

void Loop::cancel(uint64_t timer) {
  auto it = timer_when_.find(timer);
  if (it == timer_when_.end()) return;
  timers_.erase({it->second, timer});
  timer_when_.erase(it);
}

double Loop::now_ms() const {
  return std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
}

void Loop::arm() {
  itimerspec spec{};
  if (!timers_.empty()) {
    auto d = timers_.begin()->first.first - Clock::now();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
    if (ns < 1000) ns = 1000;  // zero would disarm
    spec.it_value.tv_sec = ns / 1000000000;
    spec.it_value.tv_nsec = ns % 1000000000;
  }
  timerfd_settime(tfd_, 0, &spec, nullptr);
}

void Loop::run() {
  std::vector<epoll_event> events(256);
  while (running_) {
    int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("epoll_wait");
    }
    for (int i = 0; i < n && running_; ++i) {
      uint64_t token = events[i].data.u64;
      if (token == kTimerToken) {
        uint64_t expirations;
        [[maybe_unused]] auto r = read(tfd_, &expirations, sizeof expirations);
        auto now = Clock::now();
        // Run due timers, including ones a handler schedules for "now" (bounded per round).
        for (int guard = 0; guard < 100000 && !timers_.empty() && running_; ++guard) {
          auto it = timers_.begin();
          if (it->first.first > now) break;
          auto h = std::move(it->second);
          timer_when_.erase(it->first.second);
          timers_.erase(it);
          h();
        }
        arm();
        continue;
      }
      auto it = io_.find(token);
      if (it == io_.end()) continue;  // removed earlier in this batch
      auto h = it->second.h;          // the handler may remove itself
      h(events[i].events);
    }
  }
}

}  // namespace sim
