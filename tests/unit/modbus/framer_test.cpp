#include "modbus/framer.hpp"

#include <gtest/gtest.h>

#include <string>

#include "hex.hpp"
#include "modbus/error.hpp"

namespace pollux::modbus {
namespace {

using test::bytes_of;
using test::hex;
using test::to_hex;

std::string errc_name(std::error_code ec) {
  if (ec == Errc::crc_error) return "crc";
  if (ec == Errc::lrc_error) return "lrc";
  if (ec == Errc::framing_error) return "framing";
  if (ec == Errc::wrong_length) return "length";
  if (ec == Errc::wrong_unit) return "unit";
  if (ec == Errc::too_long) return "too_long";
  return ec.message();
}

// Everything one feed loop produced: frames as "unit:pdu-hex" (plus "#tid" on TCP), errors by
// message, so a test states the whole outcome of a byte stream in one line.
struct Outcome {
  std::vector<std::string> events;
};

Outcome feed_all(Framer& f, std::span<const std::uint8_t> bytes, std::size_t chunk) {
  Outcome out;
  while (!bytes.empty()) {
    auto piece = bytes.first(std::min(chunk, bytes.size()));
    while (!piece.empty()) {
      FeedResult r = f.feed(piece);
      EXPECT_LE(r.consumed, piece.size());
      piece = piece.subspan(r.consumed);
      bytes = bytes.subspan(r.consumed);
      if (r.status == FeedStatus::frame) {
        std::string e = std::to_string(r.frame.unit) + ":" + to_hex(r.frame.pdu);
        if (f.framing() == Framing::tcp) e += "#" + std::to_string(r.frame.transaction);
        out.events.push_back(e);
      } else if (r.status == FeedStatus::error) {
        out.events.push_back("error:" + errc_name(r.error));
      } else {
        EXPECT_TRUE(piece.empty());
      }
    }
  }
  return out;
}

using Events = std::vector<std::string>;

// ---- RTU -------------------------------------------------------------------------------------

// One matcher decides, for every serial framing, whether a frame is shaped like our answer.
TEST(Expectation, ShapedLikeAnswerIsTheUnitAndFunctionOrItsExceptionForm) {
  const Expectation e{.unit = 4, .function = 3};
  EXPECT_TRUE(e.shaped_like_answer(4, 0x03));
  EXPECT_TRUE(e.shaped_like_answer(4, 0x83));
  EXPECT_FALSE(e.shaped_like_answer(5, 0x03));
  EXPECT_FALSE(e.shaped_like_answer(4, 0x04));
  EXPECT_TRUE(e.shaped_like_answer(4)) << "the function byte not received yet";
  EXPECT_TRUE(e.shaped_like_answer(-1)) << "nothing received yet";
  EXPECT_TRUE(Expectation{}.shaped_like_answer(9, 0x10)) << "no expectation: anything";
  // The framers' partial frames go through the same rule.
  RtuFramer rtu;
  rtu.expect(e);
  rtu.feed(hex("04 83"));
  EXPECT_TRUE(rtu.partial_is_expected());
  AsciiFramer ascii;
  ascii.expect(e);
  const std::string other = ":0404";
  ascii.feed(bytes_of(other));
  EXPECT_FALSE(ascii.partial_is_expected());
}

TEST(RtuFramer, EncodesUnitPduAndCrcLowByteFirst) {
  RtuFramer f;
  AduBuffer adu;
  auto pdu = hex("03 00 6B 00 03");
  ASSERT_FALSE(f.encode(0x11, pdu, adu));
  EXPECT_EQ(to_hex(adu.span()), "11 03 00 6B 00 03 76 87");
  EXPECT_EQ(f.encode(1, {}, adu), Errc::too_long);
  std::vector<std::uint8_t> big(254, 3);
  EXPECT_EQ(f.encode(1, big, adu), Errc::too_long);
}

TEST(RtuFramer, ResponseInEveryChunkSize) {
  auto frame = hex("11 03 06 02 2B 00 00 00 64 C8 BA");
  AduBuffer check;
  ASSERT_FALSE(RtuFramer().encode(0x11, hex("03 06 02 2B 00 00 00 64"), check));
  ASSERT_EQ(to_hex(check.span()), to_hex(frame));
  for (std::size_t chunk = 1; chunk <= frame.size(); ++chunk) {
    RtuFramer f;
    f.expect({0x11, 3, -1});
    EXPECT_EQ(feed_all(f, frame, chunk).events, Events{"17:03 06 02 2B 00 00 00 64"}) << chunk;
    EXPECT_EQ(f.counters().frames, 1u);
  }
}

TEST(RtuFramer, BackToBackFramesInOneChunk) {
  RtuFramer f;
  AduBuffer a, b;
  ASSERT_FALSE(f.encode(1, hex("06 00 01 00 03"), a));
  ASSERT_FALSE(f.encode(1, hex("83 02"), b));
  std::vector<std::uint8_t> both(a.span().begin(), a.span().end());
  both.insert(both.end(), b.span().begin(), b.span().end());
  EXPECT_EQ(feed_all(f, both, both.size()).events, (Events{"1:06 00 01 00 03", "1:83 02"}));
}

TEST(RtuFramer, SkipsGarbageBeforeAFrame) {
  RtuFramer f;
  f.expect({0x11, 3, -1});
  auto bytes = hex("00 FF 07 11 03 06 02 2B 00 00 00 64 C8 BA");
  EXPECT_EQ(feed_all(f, bytes, 1).events, Events{"17:03 06 02 2B 00 00 00 64"});
  EXPECT_GE(f.counters().resyncs, 3u);
}

TEST(RtuFramer, ForeignUnitFramesAreCountedAndSkipped) {
  RtuFramer f;
  f.expect({2, 3, -1});
  AduBuffer other, ours;
  ASSERT_FALSE(f.encode(5, hex("03 02 12 34"), other));
  ASSERT_FALSE(f.encode(2, hex("03 02 AB CD"), ours));
  std::vector<std::uint8_t> line(other.span().begin(), other.span().end());
  line.insert(line.end(), ours.span().begin(), ours.span().end());
  for (std::size_t chunk : {1u, 3u, 100u}) {
    RtuFramer g;
    g.expect({2, 3, -1});
    EXPECT_EQ(feed_all(g, line, chunk).events, Events{"2:03 02 AB CD"});
    EXPECT_EQ(g.counters().foreign_unit_skipped, 1u);
  }
}

TEST(RtuFramer, OnlyAForeignFrameIsNeverTakenAsOurs) {
  RtuFramer f;
  f.expect({2, 3, -1});
  AduBuffer other;
  ASSERT_FALSE(f.encode(5, hex("03 02 12 34"), other));
  EXPECT_TRUE(feed_all(f, other.span(), 1).events.empty());
  EXPECT_EQ(f.counters().foreign_unit_skipped, 1u);
  EXPECT_EQ(f.counters().frames, 0u);
}

TEST(RtuFramer, BadCrcOnOurFrameIsACrcError) {
  RtuFramer f;
  f.expect({0x11, 3, -1});
  auto bytes = hex("11 03 06 02 2B 00 00 00 64 C8 BB");
  EXPECT_EQ(feed_all(f, bytes, 1).events, Events{"error:crc"});
  EXPECT_EQ(f.buffered(), 0u);
  // After the error the framer starts afresh.
  auto good = hex("11 03 06 02 2B 00 00 00 64 C8 BA");
  EXPECT_EQ(feed_all(f, good, 4).events, Events{"17:03 06 02 2B 00 00 00 64"});
}

TEST(RtuFramer, ExceptionAnswerIsAFrame) {
  RtuFramer f;
  f.expect({1, 3, -1});
  AduBuffer exc;
  ASSERT_FALSE(f.encode(1, hex("83 02"), exc));
  EXPECT_EQ(feed_all(f, exc.span(), 1).events, Events{"1:83 02"});
}

TEST(RtuFramer, ServerRoleFramesRequests) {
  RtuFramer f(Role::server);
  AduBuffer req;
  ASSERT_FALSE(f.encode(7, hex("10 00 01 00 02 04 00 0A 01 02"), req));
  EXPECT_EQ(feed_all(f, req.span(), 1).events, Events{"7:10 00 01 00 02 04 00 0A 01 02"});
}

TEST(RtuFramer, ResetDropsAPartialFrame) {
  RtuFramer f;
  auto part = hex("11 03 06 02");
  feed_all(f, part, 4);
  EXPECT_EQ(f.buffered(), 4u);
  f.reset();
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(RtuFramer, UnboundedGarbageNeverGrowsTheBuffer) {
  RtuFramer f;
  f.expect({1, 3, -1});
  std::vector<std::uint8_t> noise(100000);
  for (std::size_t i = 0; i < noise.size(); ++i)
    noise[i] = static_cast<std::uint8_t>(i * 37 + 11);
  std::size_t max_buffered = 0;
  std::span<const std::uint8_t> rest = noise;
  while (!rest.empty()) {
    auto r = f.feed(rest.first(std::min<std::size_t>(rest.size(), 7)));
    rest = rest.subspan(r.consumed);
    max_buffered = std::max(max_buffered, f.buffered());
  }
  EXPECT_LE(max_buffered, kMaxRtuAduSize);
}

TEST(RtuOverTcpFramer, SameFramesOnAStream) {
  RtuOverTcpFramer f;
  EXPECT_EQ(f.framing(), Framing::rtu_over_tcp);
  f.expect({0x11, 3, -1});
  auto bytes = hex("11 03 06 02 2B 00 00 00 64 C8 BA");
  EXPECT_EQ(feed_all(f, bytes, 5).events, Events{"17:03 06 02 2B 00 00 00 64"});
}

// ---- ASCII -----------------------------------------------------------------------------------

TEST(AsciiFramer, EncodesTheSpecificationExample) {
  AsciiFramer f;
  AduBuffer adu;
  ASSERT_FALSE(f.encode(0x11, hex("03 00 6B 00 03"), adu));
  EXPECT_EQ(std::string(adu.span().begin(), adu.span().end()), ":1103006B00037E\r\n");
}

TEST(AsciiFramer, DecodesInEveryChunkSize) {
  const std::string frame = ":1103006B00037E\r\n";
  for (std::size_t chunk = 1; chunk <= frame.size(); ++chunk) {
    AsciiFramer f(Role::server);
    EXPECT_EQ(feed_all(f, bytes_of(frame), chunk).events, Events{"17:03 00 6B 00 03"});
  }
}

TEST(AsciiFramer, LowerCaseHexIsAccepted) {
  AsciiFramer f;
  EXPECT_EQ(feed_all(f, bytes_of(":1103006b00037e\r\n"), 64).events, Events{"17:03 00 6B 00 03"});
}

TEST(AsciiFramer, GarbageAndARestartedFrameResync) {
  AsciiFramer f;
  EXPECT_EQ(feed_all(f, bytes_of("xx\r\n:0103:1103006B00037E\r\n"), 3).events,
            Events{"17:03 00 6B 00 03"});
  EXPECT_GE(f.counters().resyncs, 5u);
}

TEST(AsciiFramer, Errors) {
  AsciiFramer f;
  EXPECT_EQ(feed_all(f, bytes_of(":1103006B00037F\r\n"), 64).events, Events{"error:lrc"});
  EXPECT_EQ(feed_all(f, bytes_of(":1103006B0G037E\r\n"), 64).events, Events{"error:framing"});
  EXPECT_EQ(feed_all(f, bytes_of(":1103006B00037E\n"), 64).events, Events{"error:framing"});
  EXPECT_EQ(feed_all(f, bytes_of(":1103006B00037\r\n"), 64).events, Events{"error:framing"});
  EXPECT_EQ(feed_all(f, bytes_of(":11\r\n"), 64).events, Events{"error:framing"});
  EXPECT_EQ(f.counters().errors, 5u);
}

TEST(AsciiFramer, ForeignUnitIsSkipped) {
  AsciiFramer f;
  f.expect({1, 3, -1});
  AduBuffer a, b;
  ASSERT_FALSE(f.encode(9, hex("03 02 00 01"), a));
  ASSERT_FALSE(f.encode(1, hex("03 02 00 02"), b));
  std::string line(a.span().begin(), a.span().end());
  line.append(b.span().begin(), b.span().end());
  EXPECT_EQ(feed_all(f, bytes_of(line), 2).events, Events{"1:03 02 00 02"});
  EXPECT_EQ(f.counters().foreign_unit_skipped, 1u);
}

// A corrupt frame that is not shaped like our answer is a stray on a multidrop line: skipped,
// and our answer after it is still taken. A corrupt one of ours is an LRC error.
TEST(AsciiFramer, CorruptForeignFrameIsSkippedCorruptOwnIsAnLrcError) {
  AsciiFramer f;
  f.expect({1, 3, -1});
  AduBuffer a, b;
  ASSERT_FALSE(f.encode(9, hex("03 02 00 01"), a));
  ASSERT_FALSE(f.encode(1, hex("03 02 00 02"), b));
  std::string foreign(a.span().begin(), a.span().end());
  foreign[foreign.size() - 3] = foreign[foreign.size() - 3] == '0' ? '1' : '0';
  std::string ours(b.span().begin(), b.span().end());
  EXPECT_EQ(feed_all(f, bytes_of(foreign + ours), 3).events, Events{"1:03 02 00 02"});
  ours[ours.size() - 3] = ours[ours.size() - 3] == '0' ? '1' : '0';
  EXPECT_EQ(feed_all(f, bytes_of(ours), 3).events, Events{"error:lrc"});
}

TEST(AsciiFramer, TooLongFrameHitsTheCap) {
  AsciiFramer f;
  std::string line = ":" + std::string(600, '0') + "\r\n";
  auto ev = feed_all(f, bytes_of(line), 50).events;
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev[0], "error:too_long");
  EXPECT_LE(f.buffered(), kMaxAduSize);
}

TEST(AsciiFramer, LargestFrameFits) {
  AsciiFramer f;
  std::vector<std::uint8_t> pdu(253, 0xAB);
  pdu[0] = 0x03;
  pdu[1] = 250;
  AduBuffer adu;
  ASSERT_FALSE(f.encode(1, pdu, adu));
  EXPECT_EQ(adu.size, kMaxAduSize);
  auto ev = feed_all(f, adu.span(), 13).events;
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].substr(0, 8), "1:03 FA ");
}

// ---- TCP -------------------------------------------------------------------------------------

TEST(TcpFramer, EncodesMbap) {
  TcpFramer f;
  AduBuffer adu;
  ASSERT_FALSE(f.encode(0xFF, hex("03 00 6B 00 03"), adu, 0x1234));
  EXPECT_EQ(to_hex(adu.span()), "12 34 00 00 00 06 FF 03 00 6B 00 03");
  EXPECT_EQ(f.next_transaction(), 1);
  EXPECT_EQ(f.next_transaction(), 2);
}

TEST(TcpFramer, DecodesInEveryChunkSize) {
  auto frame = hex("12 34 00 00 00 05 11 03 02 00 2A");
  for (std::size_t chunk = 1; chunk <= frame.size(); ++chunk) {
    TcpFramer f;
    f.expect({0x11, 3, 0x1234});
    EXPECT_EQ(feed_all(f, frame, chunk).events, Events{"17:03 02 00 2A#4660"}) << chunk;
  }
}

TEST(TcpFramer, UnknownTransactionIsDroppedAndCounted) {
  TcpFramer f;
  f.expect({1, 3, 7});
  auto bytes = hex("00 06 00 00 00 05 01 03 02 00 01  00 07 00 00 00 05 01 03 02 00 02");
  EXPECT_EQ(feed_all(f, bytes, 1).events, Events{"1:03 02 00 02#7"});
  EXPECT_EQ(f.counters().unknown_transaction_dropped, 1u);
}

TEST(TcpFramer, HeaderChecks) {
  TcpFramer f;
  f.expect({1, 3, 1});
  EXPECT_EQ(feed_all(f, hex("00 01 00 01 00 05 01 03 02 00 01"), 64).events.at(0), "error:framing");
  f.reset();
  EXPECT_EQ(feed_all(f, hex("00 01 00 00 00 01 01"), 64).events, Events{"error:length"});
  f.reset();
  EXPECT_EQ(feed_all(f, hex("00 01 00 00 00 FF 01"), 64).events, Events{"error:length"});
  f.reset();
  EXPECT_EQ(feed_all(f, hex("00 01 00 00 00 05 02 03 02 00 01"), 64).events, Events{"error:unit"});
}

TEST(FramerFactory, MakesEachFraming) {
  for (Framing fr : {Framing::rtu, Framing::ascii, Framing::tcp, Framing::rtu_over_tcp}) {
    auto f = make_framer(fr);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->framing(), fr);
    EXPECT_FALSE(to_string(fr).empty());
  }
}

}  // namespace
}  // namespace pollux::modbus
