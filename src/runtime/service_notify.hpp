// Tells a service manager (systemd, `Type=notify`) how the node is doing, without libsystemd:
// the sd_notify datagram protocol is one AF_UNIX SOCK_DGRAM message of `KEY=VALUE` lines sent to
// the address in NOTIFY_SOCKET (a path, or an abstract name written with a leading '@').
//
// Issue 22 "Package and service": READY=1 once the config is loaded and the API listens,
// RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1 on shutdown, and WATCHDOG=1 every
// WATCHDOG_USEC/2 from the executor's timers, so a stalled I/O loop stops the pings and the
// manager restarts the node (WatchdogSec in the unit). Without NOTIFY_SOCKET every call is a
// no-op, so the node behaves the same when started by hand.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/executor.hpp"

namespace pollux::runtime {

// The sun_path bytes for a NOTIFY_SOCKET value: an absolute path as it is, "@name" as the
// abstract address "\0name". nullopt when empty, relative (sd_notify accepts only these two
// forms; "vsock:" is not supported here) or too long for sockaddr_un.
std::optional<std::string> parse_notify_socket(std::string_view value);

// The watchdog ping interval, half of WATCHDOG_USEC as sd_watchdog_enabled() advises, or
// nullopt when there is no watchdog for this process: `usec` empty, not a positive number, or
// `pid` set (WATCHDOG_PID) to another process than `self_pid`.
std::optional<Duration> watchdog_interval(std::string_view usec, std::string_view pid,
                                          long self_pid);

class ServiceNotifier {
 public:
  // Inert: every call does nothing.
  ServiceNotifier() = default;
  // Sends to `address` (sun_path bytes from parse_notify_socket); pings every `watchdog` once
  // start_watchdog() is called, when given.
  ServiceNotifier(std::string address, std::optional<Duration> watchdog);
  // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID.
  static ServiceNotifier from_environment();
  ~ServiceNotifier();
  ServiceNotifier(ServiceNotifier&& other) noexcept;
  ServiceNotifier& operator=(ServiceNotifier&& other) noexcept;
  ServiceNotifier(const ServiceNotifier&) = delete;
  ServiceNotifier& operator=(const ServiceNotifier&) = delete;

  bool enabled() const { return !address_.empty(); }
  std::optional<Duration> watchdog() const { return watchdog_; }

  // READY=1 with a STATUS= line shown by `systemctl status`.
  void ready(std::string_view status);
  // RELOADING=1 with MONOTONIC_USEC (the steady clock is CLOCK_MONOTONIC), which newer
  // managers ask for; READY=1 (ready()) ends the reload.
  void reloading(TimePoint now);
  void stopping();
  // WATCHDOG=1 now and then every watchdog() on `ex`'s timers, until stop_watchdog(); nothing
  // without a watchdog. `ex` must outlive the pings.
  void start_watchdog(Executor& ex);
  void stop_watchdog();

  // One datagram, never blocking the caller; false when it could not be sent (logged once).
  bool send(std::string_view message);

 private:
  void ping();

  std::string address_;
  std::optional<Duration> watchdog_;
  int fd_ = -1;
  Executor* ex_ = nullptr;
  TimerId ping_timer_;
  bool send_failed_logged_ = false;
};

}  // namespace pollux::runtime
