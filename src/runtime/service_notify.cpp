#include "runtime/service_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <spdlog/spdlog.h>

namespace pollux::runtime {

namespace {

std::string_view env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string_view(value) : std::string_view();
}

template <typename T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> parse_notify_socket(std::string_view value) {
  if (value.size() < 2) return std::nullopt;  // "/" or "@" alone name nothing usable
  // A path needs its terminating NUL inside sun_path; an abstract name does not.
  const std::size_t room = sizeof(sockaddr_un::sun_path);
  if (value.front() == '/') {
    if (value.size() >= room) return std::nullopt;
    return std::string(value);
  }
  if (value.front() == '@') {
    if (value.size() > room) return std::nullopt;
    std::string address(value);
    address.front() = '\0';
    return address;
  }
  return std::nullopt;
}

std::optional<Duration> watchdog_interval(std::string_view usec, std::string_view pid,
                                          long self_pid) {
  const auto micros = parse_number<unsigned long long>(usec);
  if (!micros || *micros == 0) return std::nullopt;
  if (!pid.empty()) {
    const auto owner = parse_number<long>(pid);
    if (!owner || *owner != self_pid) return std::nullopt;
  }
  return std::chrono::microseconds(*micros / 2);
}

ServiceNotifier::ServiceNotifier(std::string address, std::optional<Duration> watchdog)
    : address_(std::move(address)), watchdog_(watchdog) {}

ServiceNotifier ServiceNotifier::from_environment() {
  const std::string_view socket = env("NOTIFY_SOCKET");
  if (socket.empty()) return {};
  auto address = parse_notify_socket(socket);
  if (!address) {
    spdlog::warn("NOTIFY_SOCKET '{}' is not a path or an abstract '@' name: not notifying", socket);
    return {};
  }
  return ServiceNotifier(
      std::move(*address),
      watchdog_interval(env("WATCHDOG_USEC"), env("WATCHDOG_PID"), static_cast<long>(::getpid())));
}

ServiceNotifier::~ServiceNotifier() {
  stop_watchdog();
  if (fd_ >= 0) ::close(fd_);
}

ServiceNotifier::ServiceNotifier(ServiceNotifier&& other) noexcept {
  *this = std::move(other);
}

ServiceNotifier& ServiceNotifier::operator=(ServiceNotifier&& other) noexcept {
  if (this == &other) return *this;
  stop_watchdog();
  if (fd_ >= 0) ::close(fd_);
  // A running ping timer captures `this`: moving a notifier with one would leave it dangling.
  other.stop_watchdog();
  address_ = std::move(other.address_);
  watchdog_ = other.watchdog_;
  fd_ = std::exchange(other.fd_, -1);
  send_failed_logged_ = other.send_failed_logged_;
  other.address_.clear();
  return *this;
}

bool ServiceNotifier::send(std::string_view message) {
  if (!enabled()) return false;
  if (fd_ < 0) fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    if (!send_failed_logged_) spdlog::warn("notify socket: {}", std::strerror(errno));
    send_failed_logged_ = true;
    return false;
  }
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, address_.data(), address_.size());
  // An abstract address is exactly its bytes long; a path also counts its NUL.
  const std::size_t path_len = address_.front() == '\0' ? address_.size() : address_.size() + 1;
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_len);
  const ssize_t n = ::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL,
                             reinterpret_cast<const sockaddr*>(&sa), len);
  if (n < 0) {
    // Logged once: a manager that went away must not flood the log every watchdog interval.
    if (!send_failed_logged_)
      spdlog::warn("cannot notify the service manager: {}", std::strerror(errno));
    send_failed_logged_ = true;
    return false;
  }
  return true;
}

void ServiceNotifier::ready(std::string_view status) {
  std::string message = "READY=1";
  if (!status.empty()) {
    message += "\nSTATUS=";
    message += status;
  }
  send(message);
}

void ServiceNotifier::reloading(TimePoint now) {
  const auto usec =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void ServiceNotifier::stopping() {
  send("STOPPING=1");
}

void ServiceNotifier::start_watchdog(Executor& ex) {
  if (!enabled() || !watchdog_ || ex_) return;
  ex_ = &ex;
  ping();
}

void ServiceNotifier::stop_watchdog() {
  if (ex_ && ping_timer_) ex_->cancel(ping_timer_);
  ping_timer_ = {};
  ex_ = nullptr;
}

void ServiceNotifier::ping() {
  send("WATCHDOG=1");
  ping_timer_ = ex_->schedule_after(*watchdog_, [this] { ping(); });
}

}  // namespace pollux::runtime
