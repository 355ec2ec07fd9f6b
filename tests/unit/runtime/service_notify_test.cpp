// sd_notify without libsystemd: the address and interval rules, and the datagrams a listener
// bound where NOTIFY_SOCKET points receives, with watchdog pings stepped on a ManualExecutor.
#include "runtime/service_notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/manual_executor.hpp"

namespace pollux::runtime {
namespace {

using namespace std::chrono_literals;

TEST(ParseNotifySocket, PathIsKeptAsItIs) {
  EXPECT_EQ(parse_notify_socket("/run/systemd/notify"), "/run/systemd/notify");
}

TEST(ParseNotifySocket, AtNamesAnAbstractAddress) {
  EXPECT_EQ(parse_notify_socket("@pollux/notify"), std::string("\0pollux/notify", 14));
}

TEST(ParseNotifySocket, RefusesEmptyRelativeAndBareForms) {
  EXPECT_EQ(parse_notify_socket(""), std::nullopt);
  EXPECT_EQ(parse_notify_socket("run/notify"), std::nullopt);
  EXPECT_EQ(parse_notify_socket("vsock:2:1234"), std::nullopt);
  EXPECT_EQ(parse_notify_socket("/"), std::nullopt);
  EXPECT_EQ(parse_notify_socket("@"), std::nullopt);
}

TEST(ParseNotifySocket, RefusesWhatDoesNotFitSockaddrUn) {
  const std::size_t room = sizeof(sockaddr_un::sun_path);  // 108 on Linux
  // A path needs room for its NUL; an abstract name may fill sun_path.
  EXPECT_TRUE(parse_notify_socket("/" + std::string(room - 2, 'p')));
  EXPECT_FALSE(parse_notify_socket("/" + std::string(room - 1, 'p')));
  EXPECT_TRUE(parse_notify_socket("@" + std::string(room - 1, 'a')));
  EXPECT_FALSE(parse_notify_socket("@" + std::string(room, 'a')));
}

TEST(WatchdogInterval, IsHalfOfWatchdogUsec) {
  EXPECT_EQ(watchdog_interval("30000000", "", 42), Duration(15s));
  EXPECT_EQ(watchdog_interval("3", "", 42), Duration(1us));
}

TEST(WatchdogInterval, OnlyForTheProcessWatchdogPidNames) {
  EXPECT_EQ(watchdog_interval("2000000", "42", 42), Duration(1s));
  EXPECT_EQ(watchdog_interval("2000000", "43", 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("2000000", "x", 42), std::nullopt);
}

TEST(WatchdogInterval, NoneWithoutAPositiveNumber) {
  EXPECT_EQ(watchdog_interval("", "", 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("0", "", 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("-5", "", 42), std::nullopt);
  EXPECT_EQ(watchdog_interval("10s", "", 42), std::nullopt);
}

// A datagram socket bound at a fresh path, as the service manager's notify socket.
class Listener {
 public:
  Listener() {
    char dir[] = "/tmp/pollux-notify.XXXXXX";
    dir_ = ::mkdtemp(dir);
    path_ = dir_ + "/notify";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path_.c_str(), sizeof(sa.sun_path) - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  }
  ~Listener() {
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  // Every datagram received so far.
  std::vector<std::string> drain() {
    std::vector<std::string> out;
    char buf[512];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n < 0) break;
      out.emplace_back(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
};

TEST(ServiceNotifier, SendsReadyReloadingAndStoppingToThePath) {
  Listener manager;
  ServiceNotifier notifier(*parse_notify_socket(manager.path()), std::nullopt);
  ASSERT_TRUE(notifier.enabled());
  notifier.ready("API listening on 127.0.0.1:8780");
  notifier.reloading(TimePoint(std::chrono::microseconds(1234567)));
  notifier.ready("");
  notifier.stopping();
  EXPECT_EQ(manager.drain(), (std::vector<std::string>{
                                 "READY=1\nSTATUS=API listening on 127.0.0.1:8780",
                                 "RELOADING=1\nMONOTONIC_USEC=1234567", "READY=1", "STOPPING=1"}));
}

TEST(ServiceNotifier, ReachesAnAbstractAddress) {
  const std::string name = "@pollux-notify-test-" + std::to_string(::getpid());
  const std::string address = *parse_notify_socket(name);
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, address.data(), address.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size())),
            0);
  ServiceNotifier notifier(address, std::nullopt);
  EXPECT_TRUE(notifier.send("READY=1"));
  char buf[64];
  const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
  ::close(fd);
  EXPECT_EQ(std::string(buf, n > 0 ? static_cast<std::size_t>(n) : 0), "READY=1");
}

TEST(ServiceNotifier, PingsTheWatchdogEveryIntervalUntilStopped) {
  Listener manager;
  ManualExecutor ex;
  ServiceNotifier notifier(*parse_notify_socket(manager.path()), Duration(1s));
  notifier.start_watchdog(ex);
  EXPECT_EQ(manager.drain(), std::vector<std::string>{"WATCHDOG=1"});  // at once
  ex.advance(999ms);
  EXPECT_TRUE(manager.drain().empty());
  ex.advance(1ms);
  EXPECT_EQ(manager.drain(), std::vector<std::string>{"WATCHDOG=1"});
  ex.advance(3s);
  EXPECT_EQ(manager.drain().size(), 3u);
  notifier.stop_watchdog();
  EXPECT_EQ(ex.pending_timers(), 0u);
  ex.advance(5s);
  EXPECT_TRUE(manager.drain().empty());
}

TEST(ServiceNotifier, NoWatchdogNoPings) {
  Listener manager;
  ManualExecutor ex;
  ServiceNotifier notifier(*parse_notify_socket(manager.path()), std::nullopt);
  notifier.start_watchdog(ex);
  EXPECT_EQ(ex.pending_timers(), 0u);
  EXPECT_TRUE(manager.drain().empty());
}

TEST(ServiceNotifier, InertWithoutNotifySocket) {
  ::unsetenv("NOTIFY_SOCKET");
  ::setenv("WATCHDOG_USEC", "1000000", 1);
  ServiceNotifier notifier = ServiceNotifier::from_environment();
  ::unsetenv("WATCHDOG_USEC");
  ManualExecutor ex;
  EXPECT_FALSE(notifier.enabled());
  EXPECT_FALSE(notifier.send("READY=1"));
  notifier.start_watchdog(ex);
  EXPECT_EQ(ex.pending_timers(), 0u);
}

TEST(ServiceNotifier, ReadsTheEnvironment) {
  Listener manager;
  ::setenv("NOTIFY_SOCKET", manager.path().c_str(), 1);
  ::setenv("WATCHDOG_USEC", "4000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  ServiceNotifier notifier = ServiceNotifier::from_environment();
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
  EXPECT_EQ(notifier.watchdog(), Duration(2s));
  notifier.stopping();
  EXPECT_EQ(manager.drain(), std::vector<std::string>{"STOPPING=1"});
}

TEST(ServiceNotifier, AFailedSendIsReportedNotThrown) {
  ServiceNotifier notifier("/nonexistent-dir/notify", std::nullopt);
  EXPECT_FALSE(notifier.send("READY=1"));
  EXPECT_FALSE(notifier.send("READY=1"));
}

}  // namespace
}  // namespace pollux::runtime
