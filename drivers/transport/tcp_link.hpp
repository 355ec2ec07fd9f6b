// The TCP/IP MultiPoint transport (engine issue item 3): Modbus TCP or RTU-over-TCP to many
// endpoints from one channel.
//
// Connections are keyed by endpoint "host:port", so several unit ids behind one gateway share
// one connection; each connection carries one transaction at a time, and the link as a whole
// many (concurrent() is true). At most `max_connections` are open; an idle one is closed to make
// room. Connect is bounded by connect_timeout_ms. Reset or EOF fails the in-flight message and
// the connection is re-established on next use, but never before its backoff delay
// (exponential, jittered, with a floor): while a connection is backing off its messages fail at
// once instead of hammering the device. The channel itself stays `ok` (api.md: a MultiPoint
// channel is not made unusable by one device's connection failures). Each connection is the
// Wire of its own ExchangeDriver; the link adds when a stream is out of step
// (stream_out_of_step()). Asio connects a socket; once open, the link owns it: a request is
// written at once, and its answer read when the link's ReadinessSet reports the socket, one read
// per answer and no other system call per exchange.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/intrusive/list.hpp>

#include "runtime/backoff.hpp"
#include "runtime/executor.hpp"
#include "transport/exchange_driver.hpp"
#include "transport/link.hpp"
#include "transport/readiness_set.hpp"
#include "transport/settings.hpp"

namespace pollux::transport {

class TcpLink final : public Link {
 public:
  TcpLink(boost::asio::io_context& io, runtime::Executor& ex, TcpSettings settings);
  ~TcpLink() override;

  void start() override;
  void stop() override;
  void set_enabled(bool enabled) override;
  LinkStatus status() const override;
  bool can_start(const Target& t) const override;
  bool concurrent() const override { return true; }
  void start_exchange(const Exchange& ex, std::uint64_t tag) override;
  void connect_ahead(std::span<const Target> targets) override;
  std::vector<std::pair<std::string, std::uint64_t>> stats() const override;
  std::size_t open_connections() const;

 private:
  // The hook links an open, idle connection into idle_ (unlinked again when it is destroyed).
  using IdleHook =
      boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;
  // One connection: the wire of its exchange driver, and the hooks that tell the link how an
  // exchange on it ended.
  struct Conn : IdleHook, Wire, ExchangeDriver::Hooks {
    Conn(TcpLink& link, std::uint64_t seed);
    // Wire
    void write(std::span<const std::uint8_t> bytes) override { link.write(*this, bytes); }
    void flush_input() override {}  // a stream has no stale input: late answers are read
    // ExchangeDriver::Hooks
    void on_transaction_end(std::error_code error) override { link.transaction_end(*this, error); }
    void on_exchange_over() override { link.track_idle(*this, true); }
    void on_exchange_reported() override {
      if (link.listener_) link.listener_->on_link_ready();
    }

    TcpLink& link;
    std::string key;
    std::string host;
    std::uint16_t port = 0;
    boost::asio::ip::tcp::socket socket;  // while connecting
    // The open connection's socket, released from Asio: only ready_ watches it, so the kernel
    // reports each answer once, not to Asio's reactor as well.
    int fd = -1;
    // What a write could not send at once, sent when ready_ reports room.
    std::vector<std::uint8_t> unsent;
    ExchangeDriver driver;
    enum class State { closed, connecting, open } state = State::closed;
    bool cut_short = false;  // the last exchange ended answer_cut_short, the connection kept
    runtime::TimerId connect_timer;
    std::optional<runtime::TimePoint> retry_at;  // backoff: no connect before this
    runtime::Backoff backoff;
    runtime::Jitter jitter;
    // One MBAP ADU at most (7-byte header + 253-byte PDU); an RTU-over-TCP frame is shorter.
    // A longer burst is read over several turns.
    std::array<std::uint8_t, 260> rx{};
    std::shared_ptr<int> life = std::make_shared<int>(0);
    // connect_ahead(): held open while idle, reconnected after its backoff; `ahead` is where
    // to connect when no exchange names the target (on the heap: only held connections have
    // one, and a Target is ~110 bytes).
    bool held = false;
    std::unique_ptr<Target> ahead;
    runtime::TimerId hold_timer;
  };

  // Every change of Conn::state goes through set_state, and every start and end of an exchange
  // calls track_idle: they keep not_closed_ and idle_.
  void set_state(Conn& c, Conn::State state);
  void track_idle(Conn& c, bool just_used);
  Conn& conn_for(const Target& t);
  Conn* cached_conn(const Target& t) const;
  bool make_room();
  void connect(Conn& c);
  void on_connected(Conn& c);
  void on_ready(Conn& c, ReadinessSet::Ready ready);
  // Reads what arrived: once, and on in a later turn while reads fill the buffer.
  void on_readable(Conn& c);
  // Sends what a write left unsent.
  void on_writable(Conn& c);
  // A write failed: reported on a later turn (listeners never run inside start_exchange).
  void drop_soon(Conn& c);
  void write(Conn& c, std::span<const std::uint8_t> bytes);
  void transaction_end(Conn& c, std::error_code error);
  // Whether an exchange that ended with `error` leaves the stream unfit for the next answer, so
  // the connection must be opened afresh (the rules are in transaction_end()).
  bool stream_out_of_step(std::error_code error, bool after_cut_short) const;
  void drop(Conn& c, std::error_code ec);
  void close_socket(Conn& c);
  void hold(Conn& c);
  void hold_later(Conn& c);

  boost::asio::io_context& io_;
  runtime::Executor& ex_;
  TcpSettings settings_;
  std::map<std::string, std::unique_ptr<Conn>> conns_;
  // Every open connection's socket, keyed by its Conn (which lives as long as the link).
  // Declared after conns_: destroyed first, so no report reaches a destroyed connection.
  ReadinessSet ready_;
  // Names this link in Target::conn_owner.
  const std::uint64_t id_;
  bool started_ = false;
  std::uint64_t connects_ = 0, connect_failures_ = 0, resets_ = 0, bytes_in_ = 0, bytes_out_ = 0,
                evictions_ = 0;
  // Connections connecting or open, counted against max_connections. Counted, not scanned:
  // every message to a closed connection asks, and when all 10,000 endpoints of a channel are
  // unreachable a scan per message held the I/O thread for most of each second.
  std::size_t not_closed_ = 0;
  // The connections open and idle, least recently used first: make_room() evicts the front and
  // can_start() asks whether there is one, in O(1) (with a cap below the endpoint count nearly
  // every message evicts, and a scan of all connections per message saturated the I/O thread
  // at 4,000 endpoints). Declared after conns_, so it is emptied before they go.
  boost::intrusive::list<Conn, boost::intrusive::constant_time_size<false>> idle_;
};

}  // namespace pollux::transport
