#include "modbus/transaction.hpp"

#include <gtest/gtest.h>

#include "hex.hpp"
#include "modbus/error.hpp"

namespace pollux::modbus {
namespace {

using namespace std::chrono_literals;
using test::hex;
using test::to_hex;
using FC = FunctionCode;

std::vector<std::uint8_t> adu(Framer& f, std::uint8_t unit, const std::vector<std::uint8_t>& pdu,
                              std::uint16_t tid = 0) {
  AduBuffer b;
  EXPECT_FALSE(f.encode(unit, pdu, b, tid));
  return {b.span().begin(), b.span().end()};
}

TEST(Transaction, ReadExchangeOverRtu) {
  RtuFramer f;
  Transaction tx(f);
  auto a = tx.start(Request::read(FC::read_holding_registers, 0x6B, 3), 0x11, 500ms);
  ASSERT_EQ(a.kind, ActionKind::write);
  EXPECT_EQ(to_hex(a.bytes), "11 03 00 6B 00 03 76 87");
  a = tx.on_written();
  ASSERT_EQ(a.kind, ActionKind::await_reply);
  EXPECT_EQ(a.timeout, 500ms);
  auto reply = adu(f, 0x11, hex("03 06 02 2B 00 00 00 64"));
  a = tx.on_bytes(std::span(reply).first(4));
  EXPECT_EQ(a.kind, ActionKind::read_more);
  a = tx.on_bytes(std::span(reply).subspan(4));
  ASSERT_EQ(a.kind, ActionKind::done);
  EXPECT_FALSE(a.error) << a.error.message();
  EXPECT_TRUE(tx.done());
  ASSERT_EQ(tx.response().register_count(), 3u);
  EXPECT_EQ(tx.response().register_at(0), 0x022B);
  EXPECT_EQ(tx.response().register_at(2), 0x0064);
}

TEST(Transaction, TcpUsesFreshTransactionIdsAndDropsLateAnswers) {
  TcpFramer f;
  Transaction tx(f);
  auto a = tx.start(Request::read(FC::read_input_registers, 0, 1), 1, 1s);
  const auto first = tx.transaction_id();
  tx.on_written();
  EXPECT_EQ(tx.on_timeout().error, Errc::timeout);

  a = tx.start(Request::read(FC::read_input_registers, 0, 1), 1, 1s);
  const auto second = tx.transaction_id();
  EXPECT_NE(first, second);
  EXPECT_EQ(a.bytes[0] << 8 | a.bytes[1], second);
  tx.on_written();
  // The late answer to the first request arrives, then the right one.
  auto late = adu(f, 1, hex("04 02 00 01"), first);
  auto good = adu(f, 1, hex("04 02 00 02"), second);
  EXPECT_EQ(tx.on_bytes(late).kind, ActionKind::read_more);
  a = tx.on_bytes(good);
  ASSERT_EQ(a.kind, ActionKind::done);
  EXPECT_FALSE(a.error);
  EXPECT_EQ(tx.response().register_at(0), 2);
  EXPECT_EQ(f.counters().unknown_transaction_dropped, 1u);
}

TEST(Transaction, ExceptionAnswerIsDoneWithTheExceptionCode) {
  RtuFramer f;
  Transaction tx(f);
  tx.start(Request::read(FC::read_holding_registers, 900, 2), 3, 1s);
  tx.on_written();
  auto a = tx.on_bytes(adu(f, 3, hex("83 02")));
  ASSERT_EQ(a.kind, ActionKind::done);
  EXPECT_EQ(a.error, ExceptionCode::illegal_data_address);
  EXPECT_EQ(tx.response().exception, 2);
  EXPECT_EQ(classify(a.error), FailureKind::exception);
}

TEST(Transaction, WrongFunctionAndWrongEchoAreFramingFailures) {
  RtuFramer f;
  Transaction tx(f);
  tx.start(Request::write_register(5, 9), 3, 1s);
  tx.on_written();
  auto a = tx.on_bytes(adu(f, 3, hex("06 00 05 00 08")));
  EXPECT_EQ(a.error, Errc::wrong_echo);
  // A good frame for another function code than asked (RTU takes it, decode refuses it).
  f.expect({});
  tx.start(Request::read(FC::read_holding_registers, 0, 1), 3, 1s);
  tx.on_written();
  EXPECT_EQ(tx.on_bytes(adu(f, 3, hex("04 02 00 00"))).error, Errc::wrong_function);
}

TEST(Transaction, MultidropForeignAnswerIsSkippedThenOursCompletes) {
  RtuFramer f;
  Transaction tx(f);
  tx.start(Request::read(FC::read_holding_registers, 0, 1), 2, 1s);
  tx.on_written();
  auto line = adu(f, 9, hex("03 02 00 09"));
  auto ours = adu(f, 2, hex("03 02 00 02"));
  line.insert(line.end(), ours.begin(), ours.end());
  auto a = tx.on_bytes(line);
  ASSERT_EQ(a.kind, ActionKind::done);
  EXPECT_FALSE(a.error);
  EXPECT_EQ(tx.response().register_at(0), 2);
  EXPECT_EQ(f.counters().foreign_unit_skipped, 1u);
}

TEST(Transaction, BroadcastWriteIsDoneWhenWritten) {
  RtuFramer f;
  Transaction tx(f);
  auto a = tx.start(Request::write_register(1, 2), 0, 1s);
  ASSERT_EQ(a.kind, ActionKind::write);
  EXPECT_TRUE(tx.is_broadcast());
  a = tx.on_written();
  EXPECT_EQ(a.kind, ActionKind::done);
  EXPECT_FALSE(a.error);
}

TEST(Transaction, BroadcastReadIsRefused) {
  AsciiFramer f;
  Transaction tx(f);
  auto a = tx.start(Request::read(FC::read_coils, 0, 1), 0, 1s);
  EXPECT_EQ(a.kind, ActionKind::done);
  EXPECT_EQ(a.error, Errc::invalid_request);
}

TEST(Transaction, UnitZeroOnTcpIsAnOrdinaryUnit) {
  TcpFramer f;
  Transaction tx(f);
  auto a = tx.start(Request::read(FC::read_coils, 0, 1), 0, 1s);
  EXPECT_EQ(a.kind, ActionKind::write);
  EXPECT_EQ(tx.on_written().kind, ActionKind::await_reply);
}

TEST(Transaction, RequestOutsideTheLimitsNeverReachesTheLine) {
  RtuFramer f;
  Transaction tx(f);
  auto a = tx.start(Request::read(FC::read_holding_registers, 0, 200), 1, 1s);
  EXPECT_EQ(a.kind, ActionKind::done);
  EXPECT_EQ(a.error, Errc::limit_exceeded);
}

TEST(Transaction, AnswerBeforeWriteCompletionIsTaken) {
  RtuFramer f;
  Transaction tx(f);
  tx.start(Request::read(FC::read_coils, 0, 3), 1, 1s);
  auto a = tx.on_bytes(adu(f, 1, hex("01 01 05")));
  ASSERT_EQ(a.kind, ActionKind::done);
  EXPECT_FALSE(a.error);
  EXPECT_TRUE(tx.response().bit_at(2));
  EXPECT_EQ(tx.on_written().kind, ActionKind::done);
}

// The scripted-I/O test: one exchange per framing, and a failure injected at every step in
// turn (timeout, transport reset, a corrupted byte at each position). Each run must end in
// exactly one done with the expected class of error, and the same Transaction must then
// complete a clean exchange.
struct Script {
  Framing framing;
  std::uint8_t unit;
};

class ScriptedFailures : public ::testing::TestWithParam<Framing> {};

TEST_P(ScriptedFailures, FailureAtEveryStep) {
  auto f = make_framer(GetParam());
  Transaction tx(*f);
  const Request req = Request::read(FC::read_holding_registers, 10, 2);
  auto reply_for = [&](std::uint16_t tid) { return adu(*f, 4, hex("03 04 00 01 00 02"), tid); };
  auto clean_run = [&] {
    tx.start(req, 4, 1s);
    tx.on_written();
    auto a = tx.on_bytes(reply_for(tx.transaction_id()));
    ASSERT_EQ(a.kind, ActionKind::done);
    ASSERT_FALSE(a.error) << a.error.message();
    EXPECT_EQ(tx.response().register_at(1), 2);
  };
  clean_run();
  const std::size_t reply_size = reply_for(0).size();

  // Step "write": the transport fails before the write completes.
  tx.start(req, 4, 1s);
  EXPECT_EQ(tx.on_transport_error({}).error, Errc::connection_reset);
  EXPECT_EQ(tx.on_written().kind, ActionKind::done);
  clean_run();

  // Step "await": no answer at all.
  tx.start(req, 4, 1s);
  tx.on_written();
  EXPECT_EQ(tx.on_timeout().error, Errc::timeout);
  clean_run();

  // Steps "each byte": the answer stops after k bytes (timeout or reset), or byte k is corrupt.
  const bool mbap = GetParam() == Framing::tcp;
  for (std::size_t k = 0; k < reply_size; ++k) {
    for (int mode = 0; mode < 3; ++mode) {
      tx.start(req, 4, 1s);
      tx.on_written();
      auto reply = reply_for(tx.transaction_id());
      Action a;
      if (mode < 2) {
        for (std::size_t i = 0; i < k; ++i) {
          a = tx.on_bytes(std::span(reply).subspan(i, 1));
          ASSERT_EQ(a.kind, ActionKind::read_more) << k;
        }
        a = mode == 0 ? tx.on_timeout()
                      : tx.on_transport_error(make_error_code(std::errc::connection_reset));
        ASSERT_EQ(a.kind, ActionKind::done);
        // Only an attempt that received no byte is a timeout; an answer cut short is framing.
        EXPECT_EQ(classify(a.error),
                  mode == 0 && k == 0 ? FailureKind::timeout : FailureKind::framing)
            << k;
        if (mbap && mode == 0 && k > 0) {
          // TCP loses no bytes: the late answer's tail arrives during the next exchange, which
          // must drop it by transaction id and still succeed.
          const auto dropped = f->counters().unknown_transaction_dropped;
          tx.start(req, 4, 1s);
          tx.on_written();
          std::vector<std::uint8_t> line(reply.begin() + static_cast<long>(k), reply.end());
          const auto next = reply_for(tx.transaction_id());
          line.insert(line.end(), next.begin(), next.end());
          a = tx.on_bytes(line);
          ASSERT_EQ(a.kind, ActionKind::done) << k;
          EXPECT_FALSE(a.error) << k << ": " << a.error.message();
          EXPECT_EQ(f->counters().unknown_transaction_dropped, dropped + 1);
        }
      } else {
        reply[k] ^= 0x5A;
        a = tx.on_bytes(reply);
        if (a.kind != ActionKind::done) a = tx.on_timeout();
        ASSERT_EQ(a.kind, ActionKind::done);
        // TCP carries no checksum: a corrupt register value is undetectable by design, but
        // every header, function and byte-count byte is checked.
        const bool undetectable = GetParam() == Framing::tcp && k >= 9;
        EXPECT_EQ(!a.error, undetectable) << "corrupt byte " << k;
        // A corrupt MBAP header leaves the stream out of step: the caller reconnects.
        if (mbap && a.error) f->reset();
      }
      EXPECT_TRUE(tx.done());
      // Late bytes after done change nothing.
      EXPECT_EQ(tx.on_bytes(reply).error, a.error);
      clean_run();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllFramings, ScriptedFailures,
                         ::testing::Values(Framing::rtu, Framing::ascii, Framing::tcp,
                                           Framing::rtu_over_tcp),
                         [](const auto& info) {
                           std::string s(to_string(info.param));
                           for (auto& c : s)
                             c = c == '-' ? '_' : c;
                           return s;
                         });

}  // namespace
}  // namespace pollux::modbus

namespace pollux::modbus {
namespace {

// A late TCP answer split across two exchanges: its first half arrives after the first
// exchange timed out, its second half together with the answer to the second. The stream must
// stay in step: the late answer is dropped whole and the right one taken.
TEST(TransactionStream, LateTcpAnswerSplitAcrossExchangesKeepsTheStreamInStep) {
  TcpFramer f;
  Transaction tx(f);
  const Request req = Request::read(FunctionCode::read_input_registers, 0, 1);
  tx.start(req, 1, 1s);
  const auto first = tx.transaction_id();
  tx.on_written();
  auto late = adu(f, 1, hex("04 02 00 01"), first);
  EXPECT_EQ(tx.on_bytes(std::span(late).first(5)).kind, ActionKind::read_more);
  EXPECT_EQ(tx.on_timeout().error, Errc::answer_cut_short);

  tx.start(req, 1, 1s);
  tx.on_written();
  auto good = adu(f, 1, hex("04 02 00 02"), tx.transaction_id());
  std::vector<std::uint8_t> rest(late.begin() + 5, late.end());
  rest.insert(rest.end(), good.begin(), good.end());
  auto a = tx.on_bytes(rest);
  ASSERT_EQ(a.kind, ActionKind::done);
  EXPECT_FALSE(a.error) << a.error.message();
  EXPECT_EQ(tx.response().register_at(0), 2);
  EXPECT_EQ(f.counters().unknown_transaction_dropped, 1u);
}

// Bytes after our answer in the same read are still framed, so the next exchange on the stream
// starts at a frame boundary.
TEST(TransactionStream, BytesAfterTheAnswerAreFramedNotLost) {
  TcpFramer f;
  Transaction tx(f);
  const Request req = Request::read(FunctionCode::read_input_registers, 0, 1);
  tx.start(req, 1, 1s);
  const auto first = tx.transaction_id();
  tx.on_written();
  auto answer = adu(f, 1, hex("04 02 00 01"), first);
  auto duplicate = adu(f, 1, hex("04 02 00 01"), first);  // a device answering twice
  std::vector<std::uint8_t> both = answer;
  both.insert(both.end(), duplicate.begin(), duplicate.begin() + 4);
  ASSERT_FALSE(tx.on_bytes(both).error);

  tx.start(req, 1, 1s);
  tx.on_written();
  std::vector<std::uint8_t> next(duplicate.begin() + 4, duplicate.end());
  auto good = adu(f, 1, hex("04 02 00 07"), tx.transaction_id());
  next.insert(next.end(), good.begin(), good.end());
  auto a = tx.on_bytes(next);
  ASSERT_EQ(a.kind, ActionKind::done);
  EXPECT_FALSE(a.error) << a.error.message();
  EXPECT_EQ(tx.response().register_at(0), 7);
}

// On a serial line each exchange starts afresh: noise left from before is not misread.
TEST(TransactionStream, RtuStartDiscardsStaleBytes) {
  RtuFramer f;
  Transaction tx(f);
  const Request req = Request::read(FunctionCode::read_holding_registers, 0, 1);
  tx.start(req, 1, 1s);
  tx.on_written();
  tx.on_bytes(hex("01 03"));  // a truncated answer, then silence
  EXPECT_EQ(tx.on_timeout().error, Errc::answer_cut_short);
  tx.start(req, 1, 1s);
  tx.on_written();
  auto a = tx.on_bytes(adu(f, 1, hex("03 02 00 05")));
  ASSERT_EQ(a.kind, ActionKind::done);
  EXPECT_FALSE(a.error) << a.error.message();
}

}  // namespace
}  // namespace pollux::modbus

namespace pollux::modbus {
namespace {

// api.md "How a failed attempt is classified": for each framing and each fault the simulator
// can inject, one attempt ends as exactly one cause. The serial framings get their frame gap
// (t3.5 at 9600 baud for RTU, 1 s for ASCII), as the serial link sets it.
enum class Fault { silence, crc, garbage, truncate, wrong_unit, wrong_function, reset };

struct CauseCase {
  Framing framing;
  Fault fault;
  FailureKind want;
};

class FailureCauses : public ::testing::TestWithParam<CauseCase> {};

runtime::Duration gap_for(Framing f) {
  if (f == Framing::rtu) return std::chrono::microseconds(4010);
  if (f == Framing::ascii) return kAsciiFrameGap;
  return {};
}

TEST_P(FailureCauses, OneAttemptEndsAsExactlyOneCause) {
  const CauseCase c = GetParam();
  auto f = make_framer(c.framing);
  Transaction tx(*f);
  tx.set_frame_gap(gap_for(c.framing));
  const Request req = Request::read(FC::read_holding_registers, 0, 2);
  tx.start(req, 4, 1s);
  ASSERT_EQ(tx.on_written().kind, ActionKind::await_reply);
  const std::uint16_t tid = tx.transaction_id();
  auto answer = [&](std::uint8_t unit, const char* pdu) { return adu(*f, unit, hex(pdu), tid); };
  std::vector<std::uint8_t> wire;
  switch (c.fault) {
    case Fault::silence:
    case Fault::reset:
      break;
    case Fault::crc:
      wire = answer(4, "03 04 00 01 00 02");
      if (c.framing == Framing::tcp) {
        wire[3] ^= 1;  // the simulator's bad_crc on MBAP: the protocol id
      } else if (c.framing == Framing::ascii) {
        auto& digit = wire[wire.size() - 3];  // a hex digit of the LRC, as the simulator does
        digit = digit == '0' ? '1' : '0';
      } else {
        wire.back() ^= 0x5A;
      }
      break;
    case Fault::garbage:
      wire = hex("5A A5 3C C3 99 66 0F F0");
      break;
    case Fault::truncate:
      wire = answer(4, "03 04 00 01 00 02");
      wire.resize(wire.size() / 2);
      break;
    case Fault::wrong_unit:
      wire = answer(5, "03 04 00 01 00 02");
      break;
    case Fault::wrong_function:
      wire = answer(4, "04 04 00 01 00 02");
      break;
  }
  Action a;
  a.kind = ActionKind::read_more;
  if (!wire.empty()) a = tx.on_bytes(wire);
  if (a.kind == ActionKind::read_more && a.timeout > runtime::Duration::zero()) {
    // A partial frame, then the line stays silent for the frame gap.
    EXPECT_EQ(a.timeout, gap_for(c.framing));
    a = tx.on_silence();
  }
  if (a.kind == ActionKind::read_more)
    a = c.fault == Fault::reset
            ? tx.on_transport_error(make_error_code(std::errc::connection_reset))
            : tx.on_timeout();
  ASSERT_EQ(a.kind, ActionKind::done);
  ASSERT_TRUE(a.error);
  EXPECT_EQ(classify(a.error), c.want) << a.error.message();
  if (c.fault == Fault::truncate) {
    EXPECT_EQ(a.error, Errc::answer_cut_short);
  }
  // Nothing after the end changes the result.
  EXPECT_EQ(tx.on_timeout().error, a.error);
  EXPECT_EQ(tx.on_silence().error, a.error);
}

std::vector<CauseCase> cause_table() {
  std::vector<CauseCase> out;
  for (Framing fr : {Framing::rtu, Framing::ascii, Framing::tcp, Framing::rtu_over_tcp}) {
    out.push_back({fr, Fault::silence, FailureKind::timeout});
    out.push_back({fr, Fault::crc, fr == Framing::tcp ? FailureKind::framing : FailureKind::crc});
    out.push_back({fr, Fault::garbage, FailureKind::framing});
    out.push_back({fr, Fault::truncate, FailureKind::framing});
    out.push_back({fr, Fault::wrong_unit, FailureKind::framing});
    out.push_back({fr, Fault::wrong_function, FailureKind::framing});
    out.push_back({fr, Fault::reset, FailureKind::framing});
  }
  return out;
}

const char* fault_name(Fault f) {
  switch (f) {
    case Fault::silence:
      return "silence";
    case Fault::crc:
      return "crc";
    case Fault::garbage:
      return "garbage";
    case Fault::truncate:
      return "truncate";
    case Fault::wrong_unit:
      return "wrong_unit";
    case Fault::wrong_function:
      return "wrong_function";
    case Fault::reset:
      return "reset";
  }
  return "?";
}

INSTANTIATE_TEST_SUITE_P(Table, FailureCauses, ::testing::ValuesIn(cause_table()),
                         [](const auto& info) {
                           std::string s(to_string(info.param.framing));
                           s += std::string("_") + fault_name(info.param.fault);
                           for (auto& ch : s)
                             ch = ch == '-' ? '_' : ch;
                           return s;
                         });

// RTU: a partial answer asks for the t3.5 silence; the silence ends it (answer cut short, a
// framing error) long before the message timeout. With nothing partial it changes nothing.
TEST(FailureCauses, RtuSilenceAfterAPartialAnswerEndsTheAttempt) {
  RtuFramer f;
  Transaction tx(f);
  tx.set_frame_gap(2ms);
  tx.start(Request::read(FC::read_holding_registers, 0, 1), 1, 1s);
  tx.on_written();
  EXPECT_EQ(tx.on_silence().kind, ActionKind::read_more) << "no byte yet: keep waiting";
  auto a = tx.on_bytes(hex("01 03 02"));
  ASSERT_EQ(a.kind, ActionKind::read_more);
  EXPECT_EQ(a.timeout, 2ms);
  a = tx.on_silence();
  ASSERT_EQ(a.kind, ActionKind::done);
  EXPECT_EQ(a.error, Errc::answer_cut_short);
  // The next exchange starts clean.
  tx.start(Request::read(FC::read_holding_registers, 0, 1), 1, 1s);
  tx.on_written();
  a = tx.on_bytes(adu(f, 1, hex("03 02 00 05")));
  ASSERT_EQ(a.kind, ActionKind::done);
  EXPECT_FALSE(a.error) << a.error.message();
}

// A stray burst (noise, the start of another unit's frame) followed by silence does not end the
// attempt: our answer may still come, and then the burst counts for nothing.
TEST(FailureCauses, StrayPartialFrameThenSilenceKeepsReading) {
  for (Framing fr : {Framing::rtu, Framing::ascii}) {
    auto f = make_framer(fr);
    Transaction tx(*f);
    tx.set_frame_gap(gap_for(fr));
    const Request req = Request::read(FC::read_holding_registers, 0, 1);
    tx.start(req, 1, 1s);
    tx.on_written();
    const auto stray =
        fr == Framing::rtu ? hex("02 03 02") : std::vector<std::uint8_t>{':', '0', '2'};
    auto a = tx.on_bytes(stray);
    ASSERT_EQ(a.kind, ActionKind::read_more);
    EXPECT_EQ(a.timeout, gap_for(fr)) << to_string(fr);
    a = tx.on_silence();
    ASSERT_EQ(a.kind, ActionKind::read_more) << to_string(fr);
    a = tx.on_bytes(adu(*f, 1, hex("03 02 00 05")));
    ASSERT_EQ(a.kind, ActionKind::done);
    EXPECT_FALSE(a.error) << a.error.message();

    tx.start(req, 1, 1s);
    tx.on_written();
    tx.on_bytes(stray);
    EXPECT_EQ(tx.on_silence().kind, ActionKind::read_more);
    EXPECT_EQ(tx.on_timeout().error, Errc::framing_error) << to_string(fr);

    // The start of our own answer, cut short, ends at the silence.
    tx.start(req, 1, 1s);
    tx.on_written();
    const auto ours =
        fr == Framing::rtu ? hex("01 03") : std::vector<std::uint8_t>{':', '0', '1', '0', '3'};
    tx.on_bytes(ours);
    EXPECT_EQ(tx.on_silence().error, Errc::answer_cut_short) << to_string(fr);
  }
}

// Without a frame gap (streams) no silence timer is asked for.
TEST(FailureCauses, StreamsAskForNoSilenceTimer) {
  RtuOverTcpFramer f;
  Transaction tx(f);
  tx.start(Request::read(FC::read_holding_registers, 0, 1), 1, 1s);
  tx.on_written();
  auto a = tx.on_bytes(hex("01 03 02"));
  ASSERT_EQ(a.kind, ActionKind::read_more);
  EXPECT_EQ(a.timeout, runtime::Duration::zero());
  EXPECT_EQ(tx.on_timeout().error, Errc::answer_cut_short);
}

// A foreign frame on a multidrop line does not end the attempt: reading goes on, and it counts
// (as wrong_unit, a framing error) only when no valid answer follows.
TEST(FailureCauses, ForeignFrameCountsOnlyWhenNoAnswerFollows) {
  for (Framing fr : {Framing::rtu, Framing::ascii}) {
    auto f = make_framer(fr);
    Transaction tx(*f);
    tx.set_frame_gap(gap_for(fr));
    const Request req = Request::read(FC::read_holding_registers, 0, 1);
    tx.start(req, 1, 1s);
    tx.on_written();
    auto a = tx.on_bytes(adu(*f, 2, hex("03 02 00 09")));
    ASSERT_EQ(a.kind, ActionKind::read_more) << to_string(fr);
    EXPECT_EQ(a.timeout, runtime::Duration::zero()) << "a complete frame is not partial";
    a = tx.on_bytes(adu(*f, 1, hex("03 02 00 05")));
    ASSERT_EQ(a.kind, ActionKind::done);
    EXPECT_FALSE(a.error) << a.error.message();
    EXPECT_EQ(tx.response().register_at(0), 5);

    tx.start(req, 1, 1s);
    tx.on_written();
    EXPECT_EQ(tx.on_bytes(adu(*f, 2, hex("03 02 00 09"))).kind, ActionKind::read_more);
    EXPECT_EQ(tx.on_timeout().error, Errc::wrong_unit) << to_string(fr);
  }
}

// Garbage that the framer discards whole still arrived for the attempt: never a timeout.
TEST(FailureCauses, DiscardedNoiseIsAFramingErrorNotATimeout) {
  RtuFramer f;
  Transaction tx(f);
  tx.set_frame_gap(2ms);
  tx.start(Request::read(FC::read_holding_registers, 0, 1), 1, 1s);
  tx.on_written();
  tx.on_bytes(hex("FF FF FF"));
  EXPECT_EQ(tx.on_timeout().error, Errc::framing_error);
}

// TCP: a complete answer to an earlier transaction, dropped by its id, is not a byte of this
// attempt; a partial frame is.
TEST(FailureCauses, TcpStaleAnswerIsNoEvidencePartialFrameIs) {
  TcpFramer f;
  Transaction tx(f);
  const Request req = Request::read(FC::read_input_registers, 0, 1);
  tx.start(req, 1, 1s);
  const auto first = tx.transaction_id();
  tx.on_written();
  EXPECT_EQ(tx.on_timeout().error, Errc::timeout);
  tx.start(req, 1, 1s);
  tx.on_written();
  EXPECT_EQ(tx.on_bytes(adu(f, 1, hex("04 02 00 01"), first)).kind, ActionKind::read_more);
  EXPECT_EQ(tx.on_timeout().error, Errc::timeout);
  tx.start(req, 1, 1s);
  tx.on_written();
  auto cut = adu(f, 1, hex("04 02 00 01"), tx.transaction_id());
  tx.on_bytes(std::span(cut).first(8));
  EXPECT_EQ(tx.on_timeout().error, Errc::answer_cut_short)
      << "the connection stays: the tail completes the frame, dropped by its id";
}

}  // namespace
}  // namespace pollux::modbus
