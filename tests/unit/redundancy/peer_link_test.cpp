// Loopback tests of the Asio peer link: real sockets on 127.0.0.1, AsioExecutor, short
// timeouts, every wait bounded.
#include "redundancy/peer_link.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "runtime/asio_executor.hpp"

namespace pollux::redundancy {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

config::RedundancySettings link_settings(const std::string& psk) {
  config::RedundancySettings s;
  s.listen = "127.0.0.1:0";
  s.psk = psk;
  s.heartbeat_interval_ms = 50;
  s.failover_timeout_ms = 400;
  return s;
}

struct Recorder {
  std::vector<LinkEvent> events;
  std::vector<Message> messages;
  LocalSummary summary;

  LinkCallbacks callbacks() {
    return LinkCallbacks{[this](const LinkEvent& e) { events.push_back(e); },
                         [this](const Message& m) { messages.push_back(m); },
                         [this] { return summary; }};
  }
  int count(LinkEventKind k) const {
    int n = 0;
    for (const auto& e : events)
      n += e.kind == k;
    return n;
  }
  const LinkEvent* last(LinkEventKind k) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it)
      if (it->kind == k) return &*it;
    return nullptr;
  }
  template <class T>
  int count_messages() const {
    int n = 0;
    for (const auto& m : messages)
      n += std::holds_alternative<T>(m);
    return n;
  }
};

struct Loop {
  asio::io_context io;
  runtime::AsioExecutor ex{io};

  // Runs the io_context until `pred` holds or `limit` passes; false on timeout.
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.restart();
      io.run_for(5ms);
    }
    return true;
  }
  void run_for(std::chrono::milliseconds d) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) {
      io.restart();
      io.run_for(5ms);
    }
  }
};

// A raw TCP client on the same io_context: sends bytes, then records when the server closes.
struct RawClient {
  tcp::socket socket;
  bool connected = false;
  bool closed = false;
  Bytes received;
  std::array<std::uint8_t, 4096> buf{};

  RawClient(asio::io_context& io, std::uint16_t port, Bytes to_send) : socket(io) {
    socket.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                         [this, to_send](const boost::system::error_code& ec) {
                           if (ec) {
                             closed = true;
                             return;
                           }
                           connected = true;
                           if (!to_send.empty()) {
                             auto data = std::make_shared<Bytes>(to_send);
                             asio::async_write(
                                 socket, asio::buffer(*data),
                                 [data](const boost::system::error_code&, std::size_t) {});
                           }
                           read();
                         });
  }
  void read() {
    socket.async_read_some(asio::buffer(buf),
                           [this](const boost::system::error_code& ec, std::size_t n) {
                             if (ec) {
                               closed = true;
                               return;
                             }
                             received.insert(received.end(), buf.begin(), buf.begin() + n);
                             read();
                           });
  }
};

struct Pair {
  Loop loop;
  Recorder master_rec;
  Recorder backup_rec;
  std::shared_ptr<MasterLink> master;
  std::shared_ptr<BackupLink> backup;
  std::uint16_t port = 0;

  explicit Pair(const std::string& master_key = "pair-key",
                const std::string& backup_key = "pair-key") {
    master_rec.summary = {Activity::active, "cfg-1", 10};
    backup_rec.summary = {Activity::standby, "cfg-1", 4};
    LinkOptions mo;
    mo.node_name = "alpha";
    master =
        MasterLink::create(loop.io, loop.ex, link_settings(master_key), master_rec.callbacks(), mo);
    master->start();
    port = master->local_endpoint().port();
    auto bs = link_settings(backup_key);
    bs.master = "127.0.0.1:" + std::to_string(port);
    LinkOptions bo;
    bo.node_name = "beta";
    bo.reconnect_floor = 20ms;
    bo.reconnect_cap = 100ms;
    backup = BackupLink::create(loop.io, loop.ex, bs, backup_rec.callbacks(), bo);
  }
  ~Pair() {
    if (backup) backup->stop();
    if (master) master->stop();
    loop.run_for(20ms);  // let aborted handlers drain
  }
  bool authenticated() { return master->status().authenticated && backup->status().authenticated; }
};

TEST(PeerLinkLoopback, AuthenticatesAndExchangesHeartbeats) {
  Pair p;
  EXPECT_FALSE(p.master->status().connected);
  p.backup->start();
  ASSERT_TRUE(p.loop.run_until([&] { return p.authenticated(); }));
  EXPECT_EQ(p.master_rec.count(LinkEventKind::authenticated), 1);
  EXPECT_EQ(p.backup_rec.count(LinkEventKind::authenticated), 1);
  EXPECT_EQ(p.master->status().peer_node, "beta");
  EXPECT_EQ(p.backup->status().peer_node, "alpha");
  EXPECT_EQ(p.backup->status().address, "127.0.0.1:" + std::to_string(p.port));
  EXPECT_EQ(p.master->status().address.rfind("127.0.0.1:", 0), 0u);

  // Heartbeats every 50 ms, each answered; both sides learn the other's activity.
  ASSERT_TRUE(p.loop.run_until([&] {
    return p.master_rec.count_messages<Heartbeat>() >= 4 &&
           p.backup_rec.count_messages<HeartbeatAck>() >= 4;
  }));
  EXPECT_EQ(p.master->status().peer_activity, Activity::standby);
  EXPECT_EQ(p.backup->status().peer_activity, Activity::active);
  EXPECT_TRUE(p.master->status().last_heartbeat.has_value());
  EXPECT_TRUE(p.backup->status().last_heartbeat.has_value());
  const auto& hb = std::get<Heartbeat>(p.master_rec.messages.front());
  EXPECT_EQ(hb.config_version, "cfg-1");
  EXPECT_EQ(hb.state_seq, 4u);
  for (const auto& m : p.backup_rec.messages)
    if (const auto* ack = std::get_if<HeartbeatAck>(&m)) {
      EXPECT_EQ(ack->state_seq, 10u);
      EXPECT_EQ(ack->activity, Activity::active);
    }

  // Application messages both ways.
  ASSERT_TRUE(p.master->send(StateFull{11, nlohmann::json::array({{{"id", "WELL_01"}}}), {}, {}}));
  ASSERT_TRUE(p.backup->send(StateRequest{3}));
  ASSERT_TRUE(p.loop.run_until([&] {
    return p.backup_rec.count_messages<StateFull>() == 1 &&
           p.master_rec.count_messages<StateRequest>() == 1;
  }));
  // The link stays up well beyond the failover timeout while heartbeats flow.
  p.loop.run_for(900ms);
  EXPECT_TRUE(p.authenticated());
  EXPECT_EQ(p.master_rec.count(LinkEventKind::disconnected), 0);
  EXPECT_EQ(p.backup_rec.count(LinkEventKind::disconnected), 0);
}

TEST(PeerLinkLoopback, WrongKeyFailsOnBothSidesAndBackupKeepsRetrying) {
  Pair p("master-key", "typo-key");
  p.backup->start();
  ASSERT_TRUE(p.loop.run_until([&] {
    return p.master_rec.count(LinkEventKind::auth_failed) >= 2 &&
           p.backup_rec.count(LinkEventKind::auth_failed) >= 2;
  }));
  EXPECT_EQ(p.master_rec.last(LinkEventKind::auth_failed)->detail,
            "authentication failed: peer proved a different key");
  EXPECT_EQ(p.backup_rec.last(LinkEventKind::auth_failed)->detail,
            "authentication failed: peer rejected our key");
  EXPECT_EQ(p.master->status().last_error, "authentication failed: peer proved a different key");
  EXPECT_EQ(p.backup->status().last_error, "authentication failed: peer rejected our key");
  EXPECT_FALSE(p.master->status().authenticated);
  EXPECT_FALSE(p.backup->status().authenticated);
  EXPECT_EQ(p.master_rec.count(LinkEventKind::authenticated), 0);
  EXPECT_TRUE(p.master_rec.messages.empty());
  EXPECT_GE(p.backup->connect_attempts(), 2);
  EXPECT_FALSE(p.backup->send(StateRequest{1}));
}

TEST(PeerLinkLoopback, GarbageAndOversizedFramesDropOnlyThatConnection) {
  Pair p;
  Bytes random_bytes(300);
  for (std::size_t i = 0; i < random_bytes.size(); ++i)
    random_bytes[i] = static_cast<std::uint8_t>(i * 131 + 7);
  random_bytes[0] = 0x00;  // a plausible small length so the payload reaches the decoder
  random_bytes[1] = 0x00;
  random_bytes[2] = 0x00;
  random_bytes[3] = 0x20;
  RawClient garbage(p.loop.io, p.port, random_bytes);
  ASSERT_TRUE(p.loop.run_until([&] { return garbage.closed; }));
  ASSERT_NE(p.master_rec.last(LinkEventKind::disconnected), nullptr);
  EXPECT_NE(p.master_rec.last(LinkEventKind::disconnected)->detail.find("malformed message"),
            std::string::npos);

  RawClient oversize(p.loop.io, p.port, Bytes{0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3});
  ASSERT_TRUE(p.loop.run_until([&] { return oversize.closed; }));
  EXPECT_EQ(p.master_rec.last(LinkEventKind::disconnected)->detail,
            "frame too large: 4294967295 bytes > 4096 bytes before authentication");

  // A sealed-looking frame before authentication is refused too.
  Bytes preauth = encode_frame(encode_message(Heartbeat{Activity::active, "x", 1, 1}));
  RawClient early(p.loop.io, p.port, preauth);
  ASSERT_TRUE(p.loop.run_until([&] { return early.closed; }));
  EXPECT_EQ(p.master_rec.last(LinkEventKind::disconnected)->detail,
            "unexpected heartbeat before authentication");

  // The listener is unharmed: a real backup still authenticates.
  p.backup->start();
  ASSERT_TRUE(p.loop.run_until([&] { return p.authenticated(); }));
  EXPECT_EQ(p.master->pending_connections(), 0u);
}

TEST(PeerLinkLoopback, SecondConnectionNeverDisplacesTheAuthenticatedBackup) {
  Pair p;
  p.backup->start();
  ASSERT_TRUE(p.loop.run_until([&] { return p.authenticated(); }));
  const int before = p.master_rec.count_messages<Heartbeat>();
  RawClient intruder(p.loop.io, p.port,
                     encode_frame(encode_message(
                         Hello{kProtocolVersion, PeerRole::backup, "evil", Bytes(kNonceSize, 1)})));
  ASSERT_TRUE(p.loop.run_until([&] { return intruder.closed; }));
  EXPECT_TRUE(intruder.received.empty());  // refused before any handshake
  p.loop.run_for(200ms);
  EXPECT_TRUE(p.authenticated());
  EXPECT_GT(p.master_rec.count_messages<Heartbeat>(), before);
  EXPECT_EQ(p.master_rec.count(LinkEventKind::disconnected), 0);
  EXPECT_EQ(p.master_rec.count(LinkEventKind::authenticated), 1);
}

TEST(PeerLinkLoopback, ADroppedConnectionSaysNothingWhileAnotherIsInItsHandshake) {
  // A master in its startup allowance must not hear "disconnected" (and stop waiting for its
  // backup) because a stray connection closed while the real backup is still authenticating.
  Pair p;
  RawClient handshaking(p.loop.io, p.port, {});
  ASSERT_TRUE(p.loop.run_until([&] { return p.master->pending_connections() == 1; }));
  RawClient garbage(p.loop.io, p.port, Bytes{0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3});
  ASSERT_TRUE(p.loop.run_until([&] { return garbage.closed; }));
  p.loop.run_for(20ms);
  EXPECT_EQ(p.master_rec.count(LinkEventKind::disconnected), 0);
  EXPECT_EQ(p.master->pending_connections(), 1u);
  ASSERT_TRUE(p.loop.run_until([&] { return handshaking.closed; }));
  EXPECT_EQ(p.master_rec.count(LinkEventKind::disconnected), 1);
  EXPECT_EQ(p.master_rec.last(LinkEventKind::disconnected)->detail, "handshake timeout");
}

TEST(PeerLinkLoopback, HandshakeTimeoutDropsASilentConnection) {
  Pair p;
  const auto t0 = std::chrono::steady_clock::now();
  RawClient silent(p.loop.io, p.port, {});
  ASSERT_TRUE(p.loop.run_until([&] { return silent.closed; }));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 350ms);
  EXPECT_LT(waited, 2000ms);
  EXPECT_EQ(p.master_rec.last(LinkEventKind::disconnected)->detail, "handshake timeout");
}

TEST(PeerLinkLoopback, SilentAuthenticatedPeerIsDroppedAsDown) {
  Pair p;
  // A hand-driven backup that authenticates and then never sends a heartbeat.
  Session session(PeerRole::backup, "pair-key", "mute");
  tcp::socket sock(p.loop.io);
  sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), p.port));
  asio::write(sock, asio::buffer(encode_frame(session.start())));
  FrameDecoder dec;
  std::array<std::uint8_t, 4096> buf{};
  bool closed = false;
  std::function<void()> read = [&] {
    sock.async_read_some(asio::buffer(buf),
                         [&](const boost::system::error_code& ec, std::size_t n) {
                           if (ec) {
                             closed = true;
                             return;
                           }
                           std::span<const std::uint8_t> in(buf.data(), n);
                           while (!in.empty()) {
                             in = in.subspan(dec.feed(in));
                             if (dec.frame_ready()) {
                               auto out = session.receive(dec.payload());
                               for (const auto& s : out.send)
                                 asio::write(sock, asio::buffer(encode_frame(s)));
                               dec.next();
                             }
                           }
                           read();
                         });
  };
  read();
  // The master authenticates on sending its proof; our session once it has read it.
  ASSERT_TRUE(p.loop.run_until(
      [&] { return p.master->status().authenticated && session.authenticated(); }));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(p.loop.run_until([&] { return closed; }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms);
  EXPECT_EQ(p.master_rec.last(LinkEventKind::disconnected)->detail, "peer silent for 400 ms");
  EXPECT_FALSE(p.master->status().connected);
}

TEST(PeerLinkLoopback, BackupDropsAHungMasterAfterSilence) {
  // A hand-driven master that authenticates the backup, then never answers a heartbeat.
  Loop loop;
  tcp::acceptor acceptor(loop.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto settings = link_settings("pair-key");
  settings.master = "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  Recorder rec;
  LinkOptions bo;
  bo.reconnect_floor = 1000ms;  // no second attempt within the test
  auto backup = BackupLink::create(loop.io, loop.ex, settings, rec.callbacks(), bo);

  tcp::socket sock(loop.io);
  Session session(PeerRole::master, "pair-key", "hung");
  FrameDecoder dec;
  std::array<std::uint8_t, 4096> buf{};
  int heartbeats_ignored = 0;
  std::function<void()> read = [&] {
    sock.async_read_some(asio::buffer(buf),
                         [&](const boost::system::error_code& ec, std::size_t n) {
                           if (ec) return;
                           std::span<const std::uint8_t> in(buf.data(), n);
                           while (!in.empty()) {
                             in = in.subspan(dec.feed(in));
                             if (dec.frame_ready()) {
                               auto out = session.receive(dec.payload());
                               for (const auto& p : out.send)
                                 asio::write(sock, asio::buffer(encode_frame(p)));
                               if (out.message) ++heartbeats_ignored;
                               dec.next();
                             }
                           }
                           read();
                         });
  };
  acceptor.async_accept(sock, [&](const boost::system::error_code& ec) {
    if (!ec) read();
  });
  backup->start();
  ASSERT_TRUE(loop.run_until([&] { return backup->status().authenticated; }));
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(loop.run_until([&] { return rec.count(LinkEventKind::disconnected) == 1; }));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 350ms);
  EXPECT_LT(waited, 2000ms);
  EXPECT_EQ(rec.last(LinkEventKind::disconnected)->detail, "peer silent for 400 ms");
  EXPECT_GE(heartbeats_ignored, 5);  // heartbeats kept going out every 50 ms meanwhile
  EXPECT_FALSE(backup->status().connected);
  EXPECT_EQ(backup->status().last_error, "peer silent for 400 ms");
  backup->stop();
  loop.run_for(20ms);
}

TEST(PeerLinkLoopback, BackupSeesMasterGoAndComeBack) {
  Pair p;
  p.backup->start();
  ASSERT_TRUE(p.loop.run_until([&] { return p.authenticated(); }));
  p.master->stop();
  ASSERT_TRUE(p.loop.run_until([&] {
    return p.backup_rec.count(LinkEventKind::disconnected) == 1 &&
           p.backup_rec.count(LinkEventKind::connect_failed) >= 1;
  }));
  EXPECT_FALSE(p.backup->status().connected);
  EXPECT_FALSE(p.backup->status().peer_activity.has_value());
  EXPECT_NE(p.backup->status().last_error.find("failed"), std::string::npos);

  // A new master on the same port: the backup reconnects with backoff and authenticates.
  auto s = link_settings("pair-key");
  s.listen = "127.0.0.1:" + std::to_string(p.port);
  Recorder rec2;
  auto master2 = MasterLink::create(p.loop.io, p.loop.ex, s, rec2.callbacks());
  master2->start();
  ASSERT_TRUE(p.loop.run_until([&] { return p.backup->status().authenticated; }));
  EXPECT_EQ(rec2.count(LinkEventKind::authenticated), 1);
  master2->stop();
  p.loop.run_for(20ms);
}

TEST(PeerLinkLoopback, BackupTriesALostMasterAtLeastEveryHeartbeatInterval) {
  // redundancy.md transition 5, with the delays from the settings (no test overrides): refused
  // connections are retried every heartbeat_interval_ms (50 ms), never backing off towards the
  // failover timeout (800 ms), so a restarting master hears of an active backup in time.
  Loop loop;
  auto ms = link_settings("pair-key");
  Recorder master_rec;
  auto master = MasterLink::create(loop.io, loop.ex, ms, master_rec.callbacks());
  master->start();
  auto bs = link_settings("pair-key");
  bs.failover_timeout_ms = 800;
  bs.master = "127.0.0.1:" + std::to_string(master->local_endpoint().port());
  Recorder rec;
  std::vector<std::chrono::steady_clock::time_point> refused;
  LinkCallbacks cb = rec.callbacks();
  cb.on_event = [&](const LinkEvent& e) {
    rec.events.push_back(e);
    if (e.kind == LinkEventKind::connect_failed)
      refused.push_back(std::chrono::steady_clock::now());
  };
  auto backup = BackupLink::create(loop.io, loop.ex, bs, std::move(cb));
  backup->start();
  ASSERT_TRUE(loop.run_until([&] { return backup->status().authenticated; }));
  master->stop();  // the master process is gone: its port refuses
  ASSERT_TRUE(loop.run_until([&] { return refused.size() >= 12; }, 5000ms));
  std::chrono::steady_clock::duration longest{};
  for (std::size_t i = 1; i < refused.size(); ++i)
    longest = std::max(longest, refused[i] - refused[i - 1]);
  // 50 ms plus scheduling slack on a busy machine; before, the gaps grew to 800 ms.
  EXPECT_LT(longest, 250ms)
      << std::chrono::duration_cast<std::chrono::milliseconds>(longest).count();
  backup->stop();
  loop.run_for(20ms);
}

TEST(PeerLinkLoopback, ReloadedKeyReauthenticatesAndANewListenAddressIsBoundFirst) {
  Pair p("old-key", "old-key");
  p.backup->start();
  ASSERT_TRUE(p.loop.run_until([&] { return p.authenticated(); }));

  // The master's key changes first: the session under the old key is dropped and the backup,
  // still on the old key, fails authentication (alive, never "lost").
  const auto ms = link_settings("new-key");  // same listen address: the listener stays
  p.master->update_settings(ms);
  ASSERT_TRUE(
      p.loop.run_until([&] { return p.backup_rec.count(LinkEventKind::auth_failed) >= 1; }));
  EXPECT_EQ(p.master_rec.count(LinkEventKind::disconnected), 1);
  // Then the backup's: it connects again at once and authenticates under the new key.
  auto bs = link_settings("new-key");
  bs.master = "127.0.0.1:" + std::to_string(p.port);
  p.backup->update_settings(bs);
  ASSERT_TRUE(p.loop.run_until([&] { return p.authenticated(); }));
  EXPECT_EQ(p.master_rec.count(LinkEventKind::authenticated), 2);

  // A listen address that cannot be bound is refused by the check, and update_settings keeps
  // the old listener and says why.
  Loop other;
  tcp::acceptor taken(other.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto bad = ms;
  bad.listen = "127.0.0.1:" + std::to_string(taken.local_endpoint().port());
  EXPECT_NE(p.master->check_settings(bad), "");
  EXPECT_EQ(p.master->check_settings(ms), "");
  p.master->update_settings(bad);
  EXPECT_NE(p.master->status().last_error.find("still listening on"), std::string::npos);
  EXPECT_EQ(p.master->local_endpoint().port(), p.port);
  // A free one is bound in place of the old, and the authenticated backup stays connected.
  auto moved = ms;
  moved.listen = "127.0.0.2:0";
  p.master->update_settings(moved);
  EXPECT_EQ(p.master->local_endpoint().address().to_string(), "127.0.0.2");
  p.loop.run_for(200ms);
  EXPECT_TRUE(p.authenticated());

  // A shorter failover timeout applies to the open connection's silence watchdog: once the
  // backup's heartbeats become rare (its reloaded interval), the master declares it down after
  // the new timeout.
  auto fast = moved;
  fast.failover_timeout_ms = 150;
  p.master->update_settings(fast);
  auto rare = bs;
  rare.heartbeat_interval_ms = 60000;
  rare.failover_timeout_ms = 120000;
  p.backup->update_settings(rare);
  ASSERT_TRUE(
      p.loop.run_until([&] { return p.master_rec.count(LinkEventKind::disconnected) >= 2; }));
  EXPECT_EQ(p.master_rec.last(LinkEventKind::disconnected)->detail, "peer silent for 150 ms");
}

TEST(PeerLinkLoopback, EmptyKeyIsRefusedAtConstruction) {
  Loop loop;
  EXPECT_THROW(MasterLink::create(loop.io, loop.ex, link_settings(""), {}), std::invalid_argument);
  EXPECT_THROW(BackupLink::create(loop.io, loop.ex, link_settings(""), {}), std::invalid_argument);
}

TEST(PeerLinkAddress, SplitsHostAndPort) {
  EXPECT_EQ(split_host_port("127.0.0.1:8750"),
            std::make_pair(std::string("127.0.0.1"), std::uint16_t{8750}));
  EXPECT_EQ(split_host_port("[::1]:9")->first, "::1");
  EXPECT_EQ(split_host_port("master.local:1")->first, "master.local");
  EXPECT_FALSE(split_host_port("nohost"));
  EXPECT_FALSE(split_host_port(":80"));
  EXPECT_FALSE(split_host_port("h:"));
  EXPECT_FALSE(split_host_port("h:65536"));
  EXPECT_FALSE(split_host_port("h:8x"));
}

}  // namespace
}  // namespace pollux::redundancy
