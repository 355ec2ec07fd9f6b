// The MQTT client adapter (drivers/mqtt/client.hpp) against a real mosquitto: round trips,
// the will on an unclean death and none on a clean disconnect, the broker's reasons for a
// refused connection, a broker outage, TLS with a test CA, and the destructor while an attempt
// is pending. Handlers run on a real AsioExecutor driven by the test thread.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "broker.hpp"
#include "mqtt/client.hpp"
#include "runtime/asio_executor.hpp"

namespace pollux::mqtt {
namespace {

using namespace std::chrono_literals;
using test::Broker;
using test::BrokerOptions;
using ::testing::HasSubstr;
using Message = std::pair<std::string, std::string>;

// Every handler call of one client, in order.
struct Recorder {
  int connected = 0;
  int disconnected = 0;
  std::vector<std::string> failed;
  std::vector<std::string> lost;
  std::vector<Message> messages;
  std::vector<std::pair<std::uint64_t, bool>> published;

  int calls() const {
    return connected + disconnected +
           static_cast<int>(failed.size() + lost.size() + messages.size() + published.size());
  }

  Handlers handlers() {
    Handlers h;
    h.connected = [this] { ++connected; };
    h.connect_failed = [this](std::string reason) { failed.push_back(std::move(reason)); };
    h.connection_lost = [this](std::string reason) { lost.push_back(std::move(reason)); };
    h.message = [this](std::string topic, std::string payload) {
      messages.emplace_back(std::move(topic), std::move(payload));
    };
    h.published = [this](std::uint64_t cookie, bool ok) { published.emplace_back(cookie, ok); };
    h.disconnected = [this] { ++disconnected; };
    return h;
  }
};

// A TCP listener that completes the handshake (the kernel's backlog) and never answers: an
// attempt to it waits for its CONNACK.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("cannot listen on a loopback port");
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class MqttClientTest : public ::testing::Test {
 protected:
  // Runs the executor until `done` holds or `timeout` passes; returns `done()`.
  template <class Pred>
  bool run_until(Pred done, std::chrono::milliseconds timeout = 10s) {
    return test::run_io_until(io_, done, timeout);
  }
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }

  // A connected client (its subscriptions granted), or a test failure.
  std::unique_ptr<Client> connected_client(ClientOptions options, Recorder& r,
                                           std::vector<std::string> subscriptions = {},
                                           Will will = {}) {
    auto c = std::make_unique<Client>(ex_, std::move(options), r.handlers());
    const int before = r.connected;
    c->connect(std::move(will), std::move(subscriptions));
    EXPECT_TRUE(run_until([&] { return r.connected > before || !r.failed.empty(); }));
    EXPECT_EQ(r.connected, before + 1) << (r.failed.empty() ? "" : r.failed.back());
    EXPECT_TRUE(c->connected());
    return c;
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(io_);
  runtime::AsioExecutor ex_{io_};
};

TEST_F(MqttClientTest, PublishesToItsOwnSubscriptionAndReceivesTheMessage) {
  Broker broker;
  Recorder r;
  auto c = connected_client({.url = broker.url(), .client_id = "pollux-rt"}, r, {"pollux/rt/#"});
  const std::string binary("a\0b\xff", 4);  // payloads are bytes, not text
  c->publish("pollux/rt/one", binary, 1, 7);
  c->publish("pollux/rt/two", "zero", 0, 8);
  EXPECT_EQ(c->in_flight(), 2u);
  ASSERT_TRUE(run_until([&] { return r.published.size() == 2 && r.messages.size() == 2; }));
  EXPECT_THAT(r.published,
              ::testing::UnorderedElementsAre(std::pair<std::uint64_t, bool>{7, true},
                                              std::pair<std::uint64_t, bool>{8, true}));
  EXPECT_THAT(r.messages, ::testing::ElementsAre(Message{"pollux/rt/one", binary},
                                                 Message{"pollux/rt/two", "zero"}));
  EXPECT_EQ(c->in_flight(), 0u);
  EXPECT_TRUE(r.failed.empty());
  EXPECT_TRUE(r.lost.empty());
}

// Paho refuses a publish once 100 wait in its queue unless told otherwise; a poll cycle's DDATA
// is a burst of thousands.
TEST_F(MqttClientTest, ABurstOfPublishesIsEachReportedOnceAndArrives) {
  Broker broker;
  Recorder r;
  auto c = connected_client({.url = broker.url(), .client_id = "pollux-burst"}, r, {"burst/#"});
  constexpr int n = 5000;
  for (int i = 0; i < n; ++i)
    c->publish("burst/" + std::to_string(i % 10), "v", 0, i);
  ASSERT_TRUE(run_until([&] { return r.published.size() == n && r.messages.size() == n; }, 30s))
      << r.published.size() << " published, " << r.messages.size() << " received";
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(r.published[i], (std::pair<std::uint64_t, bool>{std::uint64_t(i), true})) << i;
  }
  EXPECT_EQ(c->in_flight(), 0u);

  // Destroyed with publishes in flight: no handler runs afterwards.
  for (int i = 0; i < 1000; ++i)
    c->publish("burst/x", "v", 1, n + i);
  const int calls = r.calls();
  c.reset();
  run_for(500ms);
  EXPECT_EQ(r.calls(), calls);
}

TEST_F(MqttClientTest, APublishWhileNotConnectedIsReportedAsNotPublished) {
  Recorder r;
  Client c(ex_, {.url = "tcp://127.0.0.1:1", .client_id = "pollux-idle"}, r.handlers());
  c.publish("t", "p", 0, 3);
  c.publish("t", "p", 1, 4);
  EXPECT_EQ(c.in_flight(), 2u);
  ASSERT_TRUE(run_until([&] { return r.published.size() == 2; }));
  EXPECT_THAT(r.published, ::testing::ElementsAre(std::pair<std::uint64_t, bool>{3, false},
                                                  std::pair<std::uint64_t, bool>{4, false}));
  EXPECT_EQ(c.in_flight(), 0u);
}

// The session machine may drop its client from a handler (a failed attempt, a lost session):
// the rest of the batch of events is not delivered to it.
TEST_F(MqttClientTest, AHandlerMayDestroyTheClient) {
  std::unique_ptr<Client> c;
  std::vector<std::uint64_t> reported;
  Handlers h;
  h.published = [&](std::uint64_t cookie, bool) {
    reported.push_back(cookie);
    c.reset();
  };
  c = std::make_unique<Client>(ex_, ClientOptions{.url = "tcp://127.0.0.1:1", .client_id = "x"},
                               std::move(h));
  for (std::uint64_t i = 1; i <= 3; ++i)
    c->publish("t", "p", 0, i);  // one batch of three
  ASSERT_TRUE(run_until([&] { return c == nullptr; }));
  run_for(200ms);
  EXPECT_EQ(reported, std::vector<std::uint64_t>{1});
}

TEST_F(MqttClientTest, TheBrokerPublishesTheWillWhenTheClientProcessIsKilled) {
  Broker broker;
  Recorder watch;
  auto observer =
      connected_client({.url = broker.url(), .client_id = "pollux-watch"}, watch, {"will/#"});

  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    const std::string url = broker.url();
    ::execl(POLLUX_MQTT_WILL_CLIENT, "mqtt_will_client", url.c_str(), "pollux-child", "will/child",
            "dead", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string said;
  pollfd p{out[0], POLLIN, 0};
  while (said.find("connected") == std::string::npos && ::poll(&p, 1, 10000) > 0) {
    char buf[64];
    const ssize_t got = ::read(out[0], buf, sizeof buf);
    if (got <= 0) break;
    said.append(buf, static_cast<std::size_t>(got));
  }
  ::close(out[0]);
  ASSERT_THAT(said, HasSubstr("connected")) << broker.log();
  run_for(200ms);
  EXPECT_TRUE(watch.messages.empty());

  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(run_until([&] { return !watch.messages.empty(); })) << broker.log();
  EXPECT_EQ(watch.messages[0], (Message{"will/child", "dead"}));
}

TEST_F(MqttClientTest, ACleanDisconnectSendsWhatWasPublishedFirstAndNoWill) {
  Broker broker;
  Recorder watch;
  auto observer =
      connected_client({.url = broker.url(), .client_id = "pollux-watch"}, watch, {"clean/#"});
  Recorder r;
  auto c = connected_client({.url = broker.url(), .client_id = "pollux-clean"}, r, {},
                            {.topic = "clean/will", .payload = "dead", .qos = 1});
  c->publish("clean/data", "last words", 1, 1);
  c->publish("clean/data", "after", 0, 2);
  c->disconnect();
  EXPECT_FALSE(c->connected());
  ASSERT_TRUE(run_until([&] { return r.disconnected == 1; }));
  // QoS 0 is done once written, QoS 1 at its PUBACK: both before the DISCONNECT.
  EXPECT_THAT(r.published,
              ::testing::UnorderedElementsAre(std::pair<std::uint64_t, bool>{1, true},
                                              std::pair<std::uint64_t, bool>{2, true}));
  c->publish("clean/data", "too late", 0, 3);
  ASSERT_TRUE(run_until([&] { return r.published.size() == 3; }));
  EXPECT_EQ(r.published[2], (std::pair<std::uint64_t, bool>{3, false}));

  ASSERT_TRUE(run_until([&] { return watch.messages.size() >= 2; }));
  run_for(1500ms);  // a will would come now, at once after the connection closed
  EXPECT_THAT(watch.messages, ::testing::ElementsAre(Message{"clean/data", "last words"},
                                                     Message{"clean/data", "after"}));
  EXPECT_TRUE(r.lost.empty());

  // The same client connects again after its disconnect.
  c->connect({}, {});
  ASSERT_TRUE(run_until([&] { return r.connected == 2; }));
}

TEST_F(MqttClientTest, RefusedCredentialsFailWithTheBrokersReason) {
  Broker broker({.user = "scada", .password = "secret"});
  Recorder bad;
  Client wrong(
      ex_,
      {.url = broker.url(), .client_id = "pollux-wrong", .username = "scada", .password = "guess"},
      bad.handlers());
  wrong.connect({}, {"x/#"});
  Recorder anonymous;
  Client none(ex_, {.url = broker.url(), .client_id = "pollux-anon"}, anonymous.handlers());
  none.connect({}, {});
  ASSERT_TRUE(run_until([&] { return !bad.failed.empty() && !anonymous.failed.empty(); }));
  // mosquitto answers CONNACK 5 (not authorized) for both.
  EXPECT_THAT(bad.failed[0], HasSubstr("broker refused the connection"));
  EXPECT_THAT(bad.failed[0], HasSubstr("CONNACK"));
  EXPECT_THAT(anonymous.failed[0], HasSubstr("broker refused the connection"));
  EXPECT_EQ(bad.connected + anonymous.connected, 0);
  EXPECT_FALSE(wrong.connected());
  run_for(300ms);
  EXPECT_EQ(bad.failed.size(), 1u);  // one attempt, one report: no retry of its own

  Recorder good;
  auto ok = connected_client(
      {.url = broker.url(), .client_id = "pollux-good", .username = "scada", .password = "secret"},
      good, {"x/#"});
}

TEST_F(MqttClientTest, TheBrokerStoppingIsAConnectionLossAndTheClientConnectsAgainLater) {
  Broker broker;
  Recorder r;
  auto c = connected_client({.url = broker.url(), .client_id = "pollux-outage"}, r, {"out/#"});
  broker.stop();
  ASSERT_TRUE(run_until([&] { return !r.lost.empty(); }));
  EXPECT_FALSE(c->connected());
  c->publish("out/a", "held?", 0, 1);
  ASSERT_TRUE(run_until([&] { return r.published.size() == 1; }));
  EXPECT_EQ(r.published[0], (std::pair<std::uint64_t, bool>{1, false}));

  c->connect({}, {"out/#"});  // the broker is still down
  ASSERT_TRUE(run_until([&] { return !r.failed.empty(); }));
  EXPECT_THAT(r.failed[0], HasSubstr(broker.url()));

  broker.start();
  c->connect({}, {"out/#"});
  ASSERT_TRUE(run_until([&] { return r.connected == 2; })) << r.failed.back();
  c->publish("out/b", "again", 1, 2);
  ASSERT_TRUE(run_until([&] { return r.messages.size() == 1 && r.published.size() == 2; }));
  EXPECT_EQ(r.messages[0], (Message{"out/b", "again"}));
  EXPECT_EQ(r.lost.size(), 1u);
}

TEST_F(MqttClientTest, TlsWithTheTestCaConnectsAndAnUntrustedCertificateFails) {
  Broker broker({.tls = true});
  ASSERT_EQ(broker.url().rfind("ssl://", 0), 0u);
  Recorder r;
  auto c = connected_client(
      {.url = broker.url(), .client_id = "pollux-tls", .tls = TlsOptions{broker.ca_file()}}, r,
      {"tls/#"});
  c->publish("tls/a", "secret", 1, 1);
  ASSERT_TRUE(run_until([&] { return r.messages.size() == 1; }));
  EXPECT_EQ(r.messages[0], (Message{"tls/a", "secret"}));

  Recorder untrusted;
  Client other(ex_,
               {.url = broker.url(),
                .client_id = "pollux-untrusted",
                .tls = TlsOptions{broker.other_ca_file()}},
               untrusted.handlers());
  other.connect({}, {});
  ASSERT_TRUE(run_until([&] { return !untrusted.failed.empty(); }));
  EXPECT_THAT(untrusted.failed[0], HasSubstr("TLS"));
  EXPECT_EQ(untrusted.connected, 0);

  // Plain MQTT to the TLS listener fails too, and says so.
  Recorder plain;
  Client p(ex_,
           {.url = "tcp://127.0.0.1:" + std::to_string(broker.port()), .client_id = "pollux-plain"},
           plain.handlers());
  p.connect({}, {});
  ASSERT_TRUE(run_until([&] { return !plain.failed.empty(); }));
  EXPECT_EQ(plain.connected, 0);
}

TEST_F(MqttClientTest, AnAttemptThatGetsNoAnswerTimesOut) {
  SilentListener silent;
  Recorder r;
  Client c(ex_, {.url = silent.url(), .client_id = "pollux-silent", .connect_timeout_s = 1},
           r.handlers());
  c.connect({}, {});
  ASSERT_TRUE(run_until([&] { return !r.failed.empty(); }, 10s));
  EXPECT_THAT(r.failed[0], HasSubstr(silent.url()));
  EXPECT_EQ(r.connected, 0);
}

TEST_F(MqttClientTest, DestroyingTheClientDuringAPendingAttemptIsQuickAndSilent) {
  SilentListener silent;
  Recorder r;
  auto c = std::make_unique<Client>(
      ex_, ClientOptions{.url = silent.url(), .client_id = "pollux-pending"}, r.handlers());
  c->connect({.topic = "pending/will", .payload = "x"}, {"pending/#"});
  c->publish("pending/a", "p", 0, 1);  // reported (false) before the destruction
  run_for(300ms);
  EXPECT_EQ(r.connected + static_cast<int>(r.failed.size()), 0);
  const auto start = std::chrono::steady_clock::now();
  c.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  const int calls = r.calls();
  run_for(500ms);
  EXPECT_EQ(r.calls(), calls);
}

TEST_F(MqttClientTest, NothingListeningFailsTheAttemptWithAReason) {
  Recorder r;
  Client c(ex_,
           {.url = "tcp://127.0.0.1:" + std::to_string(test::free_port()),
            .client_id = "pollux-refused"},
           r.handlers());
  c.connect({}, {});
  ASSERT_TRUE(run_until([&] { return !r.failed.empty(); }));
  EXPECT_FALSE(r.failed[0].empty());
  EXPECT_EQ(r.connected, 0);
}

}  // namespace
}  // namespace pollux::mqtt
