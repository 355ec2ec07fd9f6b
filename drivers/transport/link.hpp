// The transport seam: one Link per channel carries Modbus request PDUs to devices and hands back
// their answers (DESIGN.md data flow "Transaction <-> drivers/transport").
//
// The channel runner decides what to send and when (engine issue: fairness, message_delay_ms,
// poll_attempts); a Link only moves one exchange at a time per wire (per serial line, per modem
// call, per TCP connection), frames it for the channel's protocol, applies message_timeout_ms,
// and reports the channel's status (ok/down/disabled, failover.md "usable"). Completion goes to
// a LinkListener with an integer tag, so no per-message std::function is allocated.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "modbus/pdu.hpp"
#include "runtime/clock.hpp"

namespace pollux::transport {

enum class LinkStatus : std::uint8_t { ok, down, disabled };
std::string_view to_string(LinkStatus s);

// Where one device sits on a link: the resolved path (config::Path) fields a link needs.
struct Target {
  std::uint8_t unit = 1;
  std::string host;  // tcp
  std::uint16_t port = 0;
  std::string phone;  // modem
  std::string init;   // modem init string (path override or channel default)
  // Key of the wire this target shares (tcp "host:port", modem phone, serial ""), so several
  // unit ids behind one gateway share one connection.
  std::string wire_key() const;
  // The connection a TcpLink last used for this target, and that link's id (never reused, so a
  // link at the address of a destroyed one cannot take the old one's entry): a message finds its
  // connection with no map lookup, a cache miss fewer at 10,000 devices.
  mutable std::uint64_t conn_owner = 0;
  mutable void* conn = nullptr;
};

struct Exchange {
  const Target* target = nullptr;            // must outlive the exchange
  const modbus::Request* request = nullptr;  // must outlive the exchange
  runtime::Duration timeout{};
};

// How one exchange ended, in the project's one error vocabulary (drivers/modbus/error.hpp and
// transport/errors.hpp), as the codec's modbus::Transaction reports it. No error: `response`
// is the decoded normal answer. modbus::exception_category(): the device answered an exception
// (a valid answer). Otherwise a failed try: modbus errors (timeout, crc, framing, reset) or
// transport errors (channel down, connect or dial failure), which transport::counts_as_timeout()
// and modbus::classify() map onto api.md's timeouts / crc_errors / framing_errors.
struct ExchangeResult {
  std::error_code error;
  const modbus::ResponseView* response = nullptr;  // valid during the callback only
};

class LinkListener {
 public:
  virtual ~LinkListener() = default;
  // Called from the executor thread, never inline from start_exchange().
  virtual void on_exchange_done(std::uint64_t tag, const ExchangeResult& result) = 0;
  // The link's status changed (ok <-> down <-> disabled).
  virtual void on_link_status(LinkStatus status) = 0;
  // Capacity freed up without an exchange finishing (connection opened, modem hung up).
  virtual void on_link_ready() {}
};

class Link {
 public:
  virtual ~Link() = default;
  virtual void set_listener(LinkListener* l) { listener_ = l; }
  // Opens ports (serial, modem) or prepares connections (tcp). Failures are retried with
  // backoff and reported as status down, never thrown.
  virtual void start() = 0;
  // Fails every exchange in flight (connection), closes everything; no callbacks afterwards.
  virtual void stop() = 0;
  // Operator enable/disable: a disabled link is closed and reports disabled.
  virtual void set_enabled(bool enabled) = 0;
  virtual LinkStatus status() const = 0;
  // True when an exchange for `t` could be started now (its wire is idle).
  virtual bool can_start(const Target& t) const = 0;
  // A modem link connected to a call prefers that call's work (the wire key), else "".
  virtual std::string_view preferred_wire() const { return {}; }
  // Many exchanges at once (one per wire): tcp MultiPoint. Serial and modem carry one.
  virtual bool concurrent() const { return false; }
  virtual void start_exchange(const Exchange& ex, std::uint64_t tag) = 0;
  // Warm standby (redundancy.md "Roles and activity": a warm standby holds a connection to every
  // TCP endpoint it would poll, and sends nothing on them). Keeps a connection open, idle, to the
  // wire of each target in `targets` -- reconnecting with the link's own backoff when one drops,
  // within its connection limit -- and stops holding any other wire; an empty list releases all
  // holds (connections already open stay until used or evicted). Sends no request. Links with no
  // connection to prepare (serial, modem: the active node owns their port) ignore it.
  virtual void connect_ahead(std::span<const Target> targets) { (void)targets; }
  // Counter name -> value for the API's channel "stats".
  virtual std::vector<std::pair<std::string, std::uint64_t>> stats() const = 0;

 protected:
  LinkListener* listener_ = nullptr;
};

}  // namespace pollux::transport
