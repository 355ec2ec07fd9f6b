// TcpLink against real loopback listeners: connect_ahead (redundancy.md "Roles and activity": a
// warm standby holds a connection to every TCP endpoint it would poll and sends nothing on it)
// and which connection max_connections evicts. The io_context runs in short bounded slices
// until a condition holds; nothing sleeps.
#include "transport/tcp_link.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "modbus/crc.hpp"
#include "modbus/error.hpp"
#include "runtime/asio_executor.hpp"
#include "runtime/manual_executor.hpp"

namespace pollux::transport {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// A loopback Modbus TCP "device": accepts connections, records every byte received, and
// answers each FC3 request for one register with the value 0x1234, after `stale_before` late
// answers (other transaction ids) in the same write, and with its last three bytes `split_ms`
// later when that is set.
struct Server {
  explicit Server(asio::io_context& io) : acceptor(io, tcp::endpoint(tcp::v4(), 0)) { accept(); }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
  void accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (ec) return;
      ++accepted;
      auto conn = std::make_shared<Conn>(std::move(s));
      conns.push_back(conn);
      read(conn);
      accept();
    });
  }
  struct Conn {
    explicit Conn(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
    tcp::socket socket;
    asio::steady_timer timer;
    std::array<std::uint8_t, 12> req{};
    std::vector<std::uint8_t> out;
  };
  void read(const std::shared_ptr<Conn>& c) {
    asio::async_read(c->socket, asio::buffer(c->req),
                     [this, c](const boost::system::error_code& ec, std::size_t n) {
                       bytes += n;
                       if (ec) return;
                       ++requests;
                       answer(c);
                     });
  }
  void answer(const std::shared_ptr<Conn>& c) {
    const auto tid = static_cast<std::uint16_t>((c->req[0] << 8) | c->req[1]);
    c->out.clear();
    for (int i = 0; i < stale_before; ++i) {
      const auto old = static_cast<std::uint16_t>(tid + 1000 + i);
      c->out.insert(c->out.end(),
                    {static_cast<std::uint8_t>(old >> 8), static_cast<std::uint8_t>(old), 0, 0, 0,
                     5, c->req[6], 3, 2, 0, 0});
    }
    c->out.insert(c->out.end(), {c->req[0], c->req[1], 0, 0, 0, 5, c->req[6], 3, 2, 0x12, 0x34});
    const std::size_t first = split_ms > 0 ? c->out.size() - 3 : c->out.size();
    asio::async_write(c->socket, asio::buffer(c->out.data(), first),
                      [this, c, first](const boost::system::error_code& e, std::size_t) {
                        if (e) return;
                        if (first == c->out.size()) return read(c);
                        c->timer.expires_after(std::chrono::milliseconds(split_ms));
                        c->timer.async_wait([this, c, first](const boost::system::error_code& te) {
                          if (te) return;
                          asio::async_write(
                              c->socket, asio::buffer(c->out.data() + first, c->out.size() - first),
                              [this, c](const boost::system::error_code& we, std::size_t) {
                                if (!we) read(c);
                              });
                        });
                      });
  }
  // Closes every accepted connection (the device restarts, or drops idle clients).
  void drop_all() {
    for (auto& c : conns) {
      boost::system::error_code ignored;
      c->socket.close(ignored);
    }
    conns.clear();
  }
  tcp::acceptor acceptor;
  std::vector<std::shared_ptr<Conn>> conns;
  int accepted = 0;
  int requests = 0;
  std::size_t bytes = 0;
  int stale_before = 0;
  int split_ms = 0;
};

struct Listener : LinkListener {
  void on_exchange_done(std::uint64_t, const ExchangeResult& r) override {
    ++done;
    error = r.error;
    if (r.response && r.response->register_count() > 0) value = r.response->register_at(0);
  }
  void on_link_status(LinkStatus) override {}
  int done = 0;
  std::error_code error;
  std::uint16_t value = 0;
};

struct TcpLinkTest : ::testing::Test {
  TcpLinkTest() {
    cfg.id = "NET1";
    cfg.framing = modbus::Framing::tcp;
    cfg.connect_timeout = std::chrono::milliseconds(1000);
  }
  // Runs the loop until `done` holds or 3 s pass; returns whether it held.
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.run_for(std::chrono::milliseconds(5));
      io.restart();
    }
    return true;
  }
  // Runs the loop for `ms` (to show that something does NOT happen).
  void run_for(int ms) {
    io.run_for(std::chrono::milliseconds(ms));
    io.restart();
  }
  Target target(const Server& s, std::uint8_t unit = 1) {
    Target t;
    t.unit = unit;
    t.host = "127.0.0.1";
    t.port = s.port();
    return t;
  }
  std::uint64_t stat(const TcpLink& link, const std::string& name) {
    for (const auto& [k, v] : link.stats())
      if (k == name) return v;
    return 0;
  }
  // One read of one register to `t`, run to its end; true when it was answered.
  bool exchange(TcpLink& link, Listener& l, const Target& t) {
    if (!link.can_start(t)) return false;
    const int before = l.done;
    link.start_exchange(Exchange{&t, &req, std::chrono::milliseconds(1000)}, 1);
    return run_until([&] { return l.done > before; }) && !l.error;
  }
  asio::io_context io;
  runtime::AsioExecutor ex{io};
  TcpSettings cfg;
  const modbus::Request req =
      modbus::Request::read(modbus::FunctionCode::read_holding_registers, 0, 1);
};

// Three endpoints on a link with room for two connections.
struct TcpLinkCapTest : TcpLinkTest {
  TcpLinkCapTest() {
    cfg.max_connections = 2;
    link = std::make_unique<TcpLink>(io, ex, cfg);
    link->set_listener(&l);
    link->start();
  }
  bool exchange(const Target& t) { return TcpLinkTest::exchange(*link, l, t); }
  std::uint64_t evictions() { return stat(*link, "evictions"); }
  Server a{io}, b{io}, c{io};
  const Target ta = target(a), tb = target(b), tc = target(c);
  Listener l;
  std::unique_ptr<TcpLink> link;
};

TEST_F(TcpLinkCapTest, TheLeastRecentlyUsedIdleConnectionIsEvicted) {
  ASSERT_TRUE(exchange(ta));
  ASSERT_TRUE(exchange(tb));
  ASSERT_TRUE(exchange(ta));  // a is now the most recently used
  ASSERT_TRUE(exchange(tc));  // no room: b goes, not a
  EXPECT_EQ(evictions(), 1u);
  EXPECT_EQ(link->open_connections(), 2u);
  ASSERT_TRUE(exchange(ta));
  EXPECT_EQ(a.accepted, 1);   // a's connection was kept
  ASSERT_TRUE(exchange(tb));  // b reconnects and c, least recently used, goes
  EXPECT_EQ(b.accepted, 2);
  EXPECT_EQ(evictions(), 2u);
  ASSERT_TRUE(exchange(ta));
  EXPECT_EQ(a.accepted, 1);
}

TEST_F(TcpLinkCapTest, ABusyConnectionIsNeverEvictedAndAHeldOneGoesFirst) {
  ASSERT_TRUE(exchange(ta));
  // b is held open, idle, after a was last used: still the first to go.
  link->connect_ahead(std::span<const Target>(&tb, 1));
  ASSERT_TRUE(run_until([&] { return b.accepted == 1 && link->open_connections() == 2; }));
  ASSERT_TRUE(exchange(tc));
  EXPECT_EQ(evictions(), 1u);
  ASSERT_TRUE(exchange(ta));
  EXPECT_EQ(a.accepted, 1);

  // Both open connections busy: nothing can be evicted, so a third endpoint cannot start.
  link->start_exchange(Exchange{&ta, &req, std::chrono::milliseconds(1000)}, 2);
  link->start_exchange(Exchange{&tc, &req, std::chrono::milliseconds(1000)}, 3);
  EXPECT_FALSE(link->can_start(tb));
  ASSERT_TRUE(run_until([&] { return l.done == 5; }));
  EXPECT_TRUE(link->can_start(tb));  // both idle again: one can make room
}

// After a read that left the socket empty the link waits for readability instead of Asio's
// speculative read (tcp_link.cpp read_loop). A burst longer than the 260-byte read buffer is
// still read on to its end, and an answer that comes in two parts is waited for.
TEST_F(TcpLinkTest, ABurstLongerThanTheReadBufferAndAnAnswerInTwoPartsAreReadWhole) {
  Server dev(io);
  TcpLink link(io, ex, cfg);
  Listener l;
  link.set_listener(&l);
  link.start();
  const Target t = target(dev);
  dev.stale_before = 40;  // 440 bytes of late answers, then the answer
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(exchange(link, l, t)) << l.error.message();
    EXPECT_EQ(l.value, 0x1234);
  }
  dev.stale_before = 0;
  dev.split_ms = 30;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(exchange(link, l, t)) << l.error.message();
    EXPECT_EQ(l.value, 0x1234);
  }
  EXPECT_EQ(dev.requests, 6);
  EXPECT_EQ(stat(link, "connects"), 1u);  // every answer read in step: no reconnect
}

TEST_F(TcpLinkTest, ConnectAheadOpensAnIdleConnectionThatTheFirstExchangeUses) {
  Server dev(io);
  TcpLink link(io, ex, cfg);
  Listener l;
  link.set_listener(&l);
  link.start();
  const Target t = target(dev);
  link.connect_ahead(std::span<const Target>(&t, 1));
  ASSERT_TRUE(run_until([&] { return dev.accepted == 1 && link.open_connections() == 1; }));
  run_for(100);
  EXPECT_EQ(dev.bytes, 0u);  // held, idle: nothing sent
  EXPECT_EQ(dev.requests, 0);

  // The exchange rides the held connection: no second connect.
  ASSERT_TRUE(link.can_start(t));
  link.start_exchange(Exchange{&t, &req, std::chrono::milliseconds(1000)}, 7);
  ASSERT_TRUE(run_until([&] { return l.done == 1; }));
  EXPECT_FALSE(l.error) << l.error.message();
  EXPECT_EQ(l.value, 0x1234);
  EXPECT_EQ(dev.accepted, 1);
  EXPECT_EQ(stat(link, "connects"), 1u);
}

TEST_F(TcpLinkTest, AHeldConnectionIsReopenedAfterTheDeviceDropsItAndNotOnceReleased) {
  Server dev(io);
  TcpLink link(io, ex, cfg);
  link.start();
  const Target t = target(dev);
  link.connect_ahead(std::span<const Target>(&t, 1));
  ASSERT_TRUE(run_until([&] { return dev.accepted == 1; }));
  dev.drop_all();
  // Reconnected after the link's backoff (floor 200 ms, jittered).
  ASSERT_TRUE(run_until([&] { return dev.accepted == 2 && link.open_connections() == 1; }));
  EXPECT_EQ(dev.bytes, 0u);

  link.connect_ahead({});  // released: a drop is no longer repaired
  dev.drop_all();
  ASSERT_TRUE(run_until([&] { return link.open_connections() == 0; }));
  run_for(600);
  EXPECT_EQ(dev.accepted, 2);
  EXPECT_EQ(link.open_connections(), 0u);
}

TEST_F(TcpLinkTest, ConnectAheadKeepsWithinMaxConnectionsSharesAWireAndFollowsTheList) {
  Server a(io), b(io);
  cfg.max_connections = 1;
  TcpLink link(io, ex, cfg);
  link.start();
  // Two units behind gateway a share one connection; a and b do not both fit in one slot.
  const std::vector<Target> both = {target(a, 1), target(a, 2), target(b, 3)};
  link.connect_ahead(both);
  ASSERT_TRUE(run_until([&] { return link.open_connections() == 1; }));
  run_for(300);
  EXPECT_EQ(a.accepted + b.accepted, 1);
  EXPECT_EQ(link.open_connections(), 1u);

  // A new list naming only the other endpoint: the first connection is no longer held, and the
  // other waits for room (a hold never evicts) until that connection is gone.
  Server& got = a.accepted == 1 ? a : b;
  Server& other = a.accepted == 1 ? b : a;
  const Target to = target(other, 3);
  link.connect_ahead(std::span<const Target>(&to, 1));
  run_for(200);
  EXPECT_EQ(other.accepted, 0);
  got.drop_all();
  ASSERT_TRUE(run_until([&] { return link.open_connections() == 0; }));
  run_for(300);
  EXPECT_EQ(got.accepted, 1);  // released: not reopened
  link.connect_ahead(std::span<const Target>(&to, 1));
  ASSERT_TRUE(run_until([&] { return other.accepted == 1 && link.open_connections() == 1; }));
}

TEST_F(TcpLinkTest, AHoldOnARefusingEndpointRetriesWithBackoffAndConnectsWhenItListens) {
  std::uint16_t port = 0;
  {
    Server gone(io);
    port = gone.port();
  }  // nothing listens there now: connects are refused
  TcpLink link(io, ex, cfg);
  link.start();
  Target t;
  t.host = "127.0.0.1";
  t.port = port;
  link.connect_ahead(std::span<const Target>(&t, 1));
  ASSERT_TRUE(run_until([&] { return stat(link, "connect_failures") >= 2; }));
  const auto failures = stat(link, "connect_failures");
  EXPECT_LE(failures, 4u);  // backoff, not a busy loop
  // The device comes back on the same port: the hold connects.
  tcp::acceptor back(io);
  back.open(tcp::v4());
  back.set_option(asio::socket_base::reuse_address(true));
  back.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  back.listen();
  tcp::socket accepted(io);
  bool got = false;
  back.async_accept(accepted, [&](const boost::system::error_code& ec) { got = !ec; });
  ASSERT_TRUE(run_until([&] { return got; }));
  ASSERT_TRUE(run_until([&] { return link.open_connections() == 1; }));
}

// An answer still arriving when the reply timer fires (api.md "How a failed attempt is
// classified": answer cut short, a framing error), with a manual clock: the device sends the
// start of its answer, time passes the message timeout, then the tail comes. On Modbus TCP the
// connection stays open, the tail completes the frame that the next exchange drops by its
// transaction id. RTU over TCP has no ids: it reconnects, as after a timeout.
class TcpLinkLateAnswer : public ::testing::TestWithParam<modbus::Framing> {
 protected:
  TcpLinkLateAnswer() {
    cfg_.id = "NET1";
    cfg_.framing = GetParam();
    cfg_.connect_timeout = std::chrono::milliseconds(1000);
    target_.unit = 1;
    target_.host = "127.0.0.1";
    target_.port = acceptor_.local_endpoint().port();
    link_.emplace(io_, ex_, cfg_);
    link_->set_listener(&l_);
    link_->start();
  }
  bool tcp() const { return GetParam() == modbus::Framing::tcp; }
  template <class Pred>
  bool run_until(Pred done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(5));
      ex_.run_pending();
      ex_.advance(runtime::Duration::zero());
    }
    return done();
  }
  std::uint64_t stat(const std::string& name) const {
    for (const auto& [k, v] : link_->stats())
      if (k == name) return v;
    return 0;
  }
  // Starts an exchange and reads its request on the device's side of connection `dev`.
  void request_arrives(tcp::socket& dev, std::uint64_t tag) {
    link_->start_exchange(Exchange{&target_, &req_, std::chrono::milliseconds(1000)}, tag);
    const std::size_t n = tcp() ? 12 : 8;
    ASSERT_TRUE(run_until([&] { return dev.is_open() && dev.available() >= n; }));
    asio::read(dev, asio::buffer(request_, n));
  }
  // The answer to the request last read, with register value `v`.
  std::vector<std::uint8_t> answer(std::uint16_t v) const {
    std::vector<std::uint8_t> pdu = {1, 3, 2, static_cast<std::uint8_t>(v >> 8),
                                     static_cast<std::uint8_t>(v & 0xFF)};
    if (tcp()) {
      pdu.insert(pdu.begin(), {request_[0], request_[1], 0, 0, 0, 5});
      return pdu;
    }
    const std::uint16_t crc = modbus::crc16(pdu);
    pdu.push_back(static_cast<std::uint8_t>(crc & 0xFF));
    pdu.push_back(static_cast<std::uint8_t>(crc >> 8));
    return pdu;
  }

  asio::io_context io_;
  runtime::ManualExecutor ex_;
  tcp::acceptor acceptor_{io_, tcp::endpoint(tcp::v4(), 0)};
  TcpSettings cfg_;
  std::optional<TcpLink> link_;
  Target target_;
  const modbus::Request req_ =
      modbus::Request::read(modbus::FunctionCode::read_holding_registers, 0, 1);
  Listener l_;
  std::array<std::uint8_t, 12> request_{};
};

TEST_P(TcpLinkLateAnswer, AnAnswerCutShortAtTheTimeoutIsAFramingErrorThatKeepsTcpConnected) {
  tcp::socket dev(io_);
  acceptor_.async_accept(dev, [](const boost::system::error_code&) {});
  request_arrives(dev, 1);
  const auto late = answer(0x1234);
  asio::write(dev, asio::buffer(late.data(), 5));
  ASSERT_TRUE(run_until([&] { return stat("bytes_in") >= 5; }));
  ex_.advance(std::chrono::milliseconds(1100));
  ASSERT_EQ(l_.done, 1);
  EXPECT_EQ(l_.error, modbus::Errc::answer_cut_short) << l_.error.message();
  EXPECT_EQ(modbus::classify(l_.error), modbus::FailureKind::framing);
  EXPECT_EQ(link_->open_connections(), tcp() ? 1u : 0u);
  if (!tcp()) return;  // the next exchange reconnects

  // The tail arrives late; the next exchange on the same connection drops it by its id.
  asio::write(dev, asio::buffer(late.data() + 5, late.size() - 5));
  request_arrives(dev, 2);
  const auto good = answer(2);
  asio::write(dev, asio::buffer(good));
  ASSERT_TRUE(run_until([&] { return l_.done == 2; }));
  EXPECT_FALSE(l_.error) << l_.error.message();
  EXPECT_EQ(l_.value, 2);
  EXPECT_EQ(stat("connects"), 1u);
}

// A device that cuts its answer short and never sends the tail: the partial MBAP frame kept
// for the tail swallows the start of the next answer, which then fails too. That second failure
// in a row reconnects, so the stream cannot stay out of step for good.
// (RTU over TCP reconnects at the first answer cut short already.)
class TcpLinkTailNeverComes : public TcpLinkLateAnswer {};

TEST_P(TcpLinkTailNeverComes, ItCostsOneMoreExchangeThenAReconnect) {
  tcp::socket dev(io_);
  acceptor_.async_accept(dev, [](const boost::system::error_code&) {});
  request_arrives(dev, 1);
  asio::write(dev, asio::buffer(answer(1).data(), 6));  // the MBAP header but its unit
  ASSERT_TRUE(run_until([&] { return stat("bytes_in") >= 6; }));
  ex_.advance(std::chrono::milliseconds(1100));
  ASSERT_EQ(l_.done, 1);
  EXPECT_EQ(l_.error, modbus::Errc::answer_cut_short);

  request_arrives(dev, 2);
  asio::write(dev, asio::buffer(answer(2)));
  ASSERT_TRUE(run_until([&] { return stat("bytes_in") >= 17; }));
  ex_.advance(std::chrono::milliseconds(1100));
  ASSERT_EQ(l_.done, 2);
  EXPECT_TRUE(l_.error) << "its start completed the stale frame";
  EXPECT_EQ(link_->open_connections(), 0u) << "a second failure in a row reconnects";

  tcp::socket dev2(io_);
  acceptor_.async_accept(dev2, [](const boost::system::error_code&) {});
  request_arrives(dev2, 3);
  asio::write(dev2, asio::buffer(answer(3)));
  ASSERT_TRUE(run_until([&] { return l_.done == 3; }));
  EXPECT_FALSE(l_.error) << l_.error.message();
  EXPECT_EQ(l_.value, 3);
}

INSTANTIATE_TEST_SUITE_P(Tcp, TcpLinkTailNeverComes, ::testing::Values(modbus::Framing::tcp));

INSTANTIATE_TEST_SUITE_P(Framings, TcpLinkLateAnswer,
                         ::testing::Values(modbus::Framing::tcp, modbus::Framing::rtu_over_tcp),
                         [](const auto& p) {
                           return p.param == modbus::Framing::tcp ? std::string("Tcp")
                                                                  : std::string("RtuOverTcp");
                         });

}  // namespace
}  // namespace pollux::transport
