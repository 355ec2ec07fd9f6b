// The four Modbus framings (RTU, ASCII, TCP/MBAP, RTU over TCP) as incremental, allocation-free
// framers: bytes go in, in any chunking (one byte at a time works), and each feed() returns
// need-more, one complete frame, or an error.
//
// Serves the codec issue's framer rules: RTU lengths are predicted from the function code
// (after libmodbus) and the CRC is checked; garbage before a frame is skipped (resync); on a
// multidrop line a frame for another unit id is counted and skipped, never taken as ours; a TCP
// answer with an unknown transaction id is dropped and counted. Every framer has a hard buffer
// cap (the largest legal ADU), so no input can make it grow.
//
// Usage (client side; a Transaction does this for you):
//   auto framer = modbus::make_framer(modbus::Framing::rtu);
//   modbus::AduBuffer adu;
//   framer->encode(unit, pdu.span(), adu, framer->next_transaction());
//   framer->expect({.unit = unit, .function = 3, .transaction = tid});
//   ... write adu.span() ...
//   while (!bytes.empty()) {                       // on every chunk received
//     modbus::FeedResult r = framer->feed(bytes);
//     bytes = bytes.subspan(r.consumed);
//     if (r.status == modbus::FeedStatus::frame) { use(r.frame.unit, r.frame.pdu); break; }
//     if (r.status == modbus::FeedStatus::error) { fail(r.error); break; }
//   }
// A frame's `pdu` view stays valid until the next feed() or reset().
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>

namespace pollux::modbus {

enum class Framing { rtu, ascii, tcp, rtu_over_tcp };
std::string_view to_string(Framing f);

// Whose frames we parse: a client (master) reads responses, a server (the simulator) requests.
enum class Role { client, server };

// The largest ADU of any framing: ASCII ':' + 2 × (unit + 253 PDU bytes + LRC) + CR LF.
inline constexpr std::size_t kMaxAduSize = 1 + 2 * (1 + 253 + 1) + 2;
inline constexpr std::size_t kMaxRtuAduSize = 1 + 253 + 2;
inline constexpr std::size_t kMaxTcpAduSize = 7 + 253;

// A reusable encoded ADU, filled by Framer::encode without allocating.
struct AduBuffer {
  std::array<std::uint8_t, kMaxAduSize> bytes{};
  std::size_t size = 0;
  std::span<const std::uint8_t> span() const { return {bytes.data(), size}; }
};

// What the framer should accept as "ours"; -1 means any. Set before each exchange.
struct Expectation {
  int unit = -1;
  int function = -1;     // the request's function; its exception form is accepted too
  int transaction = -1;  // TCP only

  // Whether a frame that starts with `unit` and `function` is shaped like our answer: the
  // expected unit and function, or its exception form. A negative argument is a byte not
  // received yet and fits anything. Decides whether a corrupt or cut-short frame is our answer
  // (an error of this attempt) or a stray on a multidrop line (skipped).
  bool shaped_like_answer(int frame_unit, int frame_function = -1) const {
    if (unit >= 0 && frame_unit >= 0 && frame_unit != unit) return false;
    return function < 0 || frame_function < 0 || (frame_function & 0x7F) == function;
  }
};

struct Frame {
  std::uint8_t unit = 0;
  std::uint16_t transaction = 0;  // TCP only
  std::span<const std::uint8_t> pdu;
};

struct FramerCounters {
  std::uint64_t frames = 0;                // complete frames returned
  std::uint64_t foreign_unit_skipped = 0;  // good frames for another unit, skipped (multidrop)
  std::uint64_t unknown_transaction_dropped = 0;  // TCP answers for a transaction not asked
  std::uint64_t resyncs = 0;  // bytes discarded while hunting for the start of a frame
  std::uint64_t errors = 0;   // error results returned
};

enum class FeedStatus { need_more, frame, error };

struct FeedResult {
  FeedStatus status = FeedStatus::need_more;
  std::size_t consumed = 0;  // bytes of the input taken; feed the rest again
  Frame frame;               // status == frame
  std::error_code error;     // status == error
};

class Framer {
 public:
  virtual ~Framer() = default;
  virtual Framing framing() const = 0;
  // Encodes one ADU into `out`. `transaction` is used by TCP only. Errors: too_long for a PDU
  // of 0 or more than 253 bytes.
  virtual std::error_code encode(std::uint8_t unit, std::span<const std::uint8_t> pdu,
                                 AduBuffer& out, std::uint16_t transaction = 0) const = 0;
  // Consumes bytes until one frame or error completes (consumed may be < size then) or the
  // input is used up (need_more). After an error the partial frame is discarded; on TCP the
  // stream is then out of step and the connection should be reset.
  virtual FeedResult feed(std::span<const std::uint8_t> bytes) = 0;
  // Discards any partial frame (new exchange, t3.5 silence, reconnect). Counters stay.
  virtual void reset() = 0;
  virtual std::size_t buffered() const = 0;
  // True while the start of a frame is held and its end has not arrived: an answer cut short
  // if the line now stays silent (api.md "How a failed attempt is classified"). A frame already
  // returned is not partial.
  virtual bool partial() const = 0;
  // True when that partial frame starts as our answer would (the expected unit and function,
  // as far as received): cut short, it is our answer cut short; otherwise it is a stray.
  virtual bool partial_is_expected() const = 0;
  // The next TCP transaction id (wrapping); 0 on the serial framings.
  virtual std::uint16_t next_transaction() { return 0; }

  void expect(Expectation e) { expect_ = e; }
  const Expectation& expectation() const { return expect_; }
  const FramerCounters& counters() const { return counters_; }

 protected:
  Expectation expect_;
  FramerCounters counters_;
};

// RTU: [unit][PDU][CRC lo][CRC hi]. A candidate whose CRC fails is a crc_error when its unit
// and function are the expected ones; otherwise it is taken as garbage and the framer slides
// one byte on (resync).
class RtuFramer : public Framer {
 public:
  explicit RtuFramer(Role role = Role::client) : role_(role) {}
  Framing framing() const override { return Framing::rtu; }
  std::error_code encode(std::uint8_t unit, std::span<const std::uint8_t> pdu, AduBuffer& out,
                         std::uint16_t transaction = 0) const override;
  FeedResult feed(std::span<const std::uint8_t> bytes) override;
  void reset() override { len_ = 0; }
  std::size_t buffered() const override { return len_; }
  bool partial() const override { return len_ > 0 && !delivered_; }
  bool partial_is_expected() const override {
    return partial() && expect_.shaped_like_answer(buf_[0], len_ < 2 ? -1 : buf_[1]);
  }

 private:
  void drop_front(std::size_t n);

  Role role_;
  std::array<std::uint8_t, kMaxRtuAduSize> buf_{};
  std::size_t len_ = 0;
  bool delivered_ = false;  // buf_ holds a returned frame, cleared on the next feed
};

// RTU frames carried on a TCP stream (gateways): same framing, no silence intervals.
class RtuOverTcpFramer final : public RtuFramer {
 public:
  using RtuFramer::RtuFramer;
  Framing framing() const override { return Framing::rtu_over_tcp; }
};

// ASCII: ':' hex(unit PDU LRC) CR LF. A ':' inside a frame restarts it (resync). An LRC mismatch
// is an lrc_error when the unit and function are the expected ones, else a skipped stray.
class AsciiFramer final : public Framer {
 public:
  explicit AsciiFramer(Role = Role::client) {}
  Framing framing() const override { return Framing::ascii; }
  std::error_code encode(std::uint8_t unit, std::span<const std::uint8_t> pdu, AduBuffer& out,
                         std::uint16_t transaction = 0) const override;
  FeedResult feed(std::span<const std::uint8_t> bytes) override;
  void reset() override {
    len_ = 0;
    in_frame_ = false;
  }
  std::size_t buffered() const override { return len_; }
  bool partial() const override { return in_frame_; }
  bool partial_is_expected() const override;

 private:
  std::array<std::uint8_t, kMaxAduSize> text_{};  // characters after ':'
  std::array<std::uint8_t, kMaxRtuAduSize> bin_{};
  std::size_t len_ = 0;
  bool in_frame_ = false;
};

// Modbus TCP: MBAP header (transaction, protocol 0, length, unit) + PDU.
class TcpFramer final : public Framer {
 public:
  explicit TcpFramer(Role = Role::client) {}
  Framing framing() const override { return Framing::tcp; }
  std::error_code encode(std::uint8_t unit, std::span<const std::uint8_t> pdu, AduBuffer& out,
                         std::uint16_t transaction = 0) const override;
  FeedResult feed(std::span<const std::uint8_t> bytes) override;
  void reset() override { len_ = 0; }
  std::size_t buffered() const override { return len_; }
  bool partial() const override { return len_ > 0 && !delivered_; }
  bool partial_is_expected() const override { return partial(); }
  std::uint16_t next_transaction() override { return ++last_transaction_; }

 private:
  std::array<std::uint8_t, kMaxTcpAduSize> buf_{};
  std::size_t len_ = 0;
  bool delivered_ = false;
  std::uint16_t last_transaction_ = 0;
};

std::unique_ptr<Framer> make_framer(Framing f, Role role = Role::client);

}  // namespace pollux::modbus
