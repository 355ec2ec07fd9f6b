#include "transport/readiness_set.hpp"

#include <sys/epoll.h>

#include <array>
#include <cerrno>
#include <system_error>

namespace pollux::transport {

namespace {

int make_epoll() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  return fd;
}

// Ready sockets taken per turn. More wait for the next turn: re-arming the set's descriptor
// reports it again while any socket in it is still ready.
constexpr int kBatch = 16;

bool control(int set, int op, int fd, void* key, bool writable) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (writable ? EPOLLOUT : 0U);
  ev.data.ptr = key;
  return ::epoll_ctl(set, op, fd, &ev) == 0;
}

}  // namespace

ReadinessSet::ReadinessSet(boost::asio::io_context& io, OnReady on_ready)
    : set_(io, make_epoll()), on_ready_(std::move(on_ready)) {}

ReadinessSet::~ReadinessSet() {
  boost::system::error_code ignored;
  set_.close(ignored);
}

void ReadinessSet::start() {
  running_ = true;
  arm();
}

void ReadinessSet::stop() {
  running_ = false;
  boost::system::error_code ignored;
  set_.cancel(ignored);
  armed_ = false;
  ++wait_;  // the cancelled wait's handler, still queued, must not clear a later wait's armed_
}

bool ReadinessSet::add(int fd, void* key) {
  return control(set_.native_handle(), EPOLL_CTL_ADD, fd, key, false);
}

bool ReadinessSet::watch_writable(int fd, void* key, bool on) {
  return control(set_.native_handle(), EPOLL_CTL_MOD, fd, key, on);
}

void ReadinessSet::remove(int fd) {
  epoll_event ev{};  // ignored by the kernel for DEL, but required non-null before Linux 2.6.9
  ::epoll_ctl(set_.native_handle(), EPOLL_CTL_DEL, fd, &ev);
}

void ReadinessSet::arm() {
  if (armed_ || !running_) return;
  armed_ = true;
  set_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                  [this, alive = std::weak_ptr<int>(alive_),
                   wait = wait_](const boost::system::error_code& ec) {
                    if (alive.expired() || wait != wait_) return;
                    armed_ = false;
                    if (ec || !running_) return;  // stopped
                    if (report_ready()) arm();
                  });
}

bool ReadinessSet::report_ready() {
  std::array<epoll_event, kBatch> ready{};
  const int n = ::epoll_wait(set_.native_handle(), ready.data(), kBatch, 0);
  std::weak_ptr<int> alive = alive_;
  for (int i = 0; i < n; ++i) {
    const epoll_event& e = ready[static_cast<std::size_t>(i)];
    const Ready r{(e.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0,
                  (e.events & EPOLLOUT) != 0};
    on_ready_(e.data.ptr, r);
    if (alive.expired()) return false;  // a report may destroy the link, and this set
  }
  return true;
}

}  // namespace pollux::transport
