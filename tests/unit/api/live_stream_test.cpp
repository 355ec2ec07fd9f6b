// The live stream's journal (api.md "Live stream"): ids, resume with Last-Event-ID, resync,
// the device filter, a client that fell a ring behind, and waking waiting clients once.
#include "api/live_stream.hpp"

#include <memory>

#include <gtest/gtest.h>

namespace pollux::api {
namespace {

constexpr std::uint64_t kFirst = 1'000'000;

TEST(LiveStream, EventsAreFormattedAsServerSentEvents) {
  EXPECT_EQ(format_sse(7, StreamEventKind::failover, R"({"seq":3})"),
            "id: 7\nevent: failover\ndata: {\"seq\":3}\n\n");
}

TEST(LiveStream, IdsCountUpFromTheFirstAndANewClientStartsAtTheHead) {
  StreamJournal j(8, kFirst);
  EXPECT_EQ(j.append(StreamEventKind::point, "A", "{}"), kFirst);
  EXPECT_EQ(j.append(StreamEventKind::point, "A", "{}"), kFirst + 1);
  const auto s = j.start(std::nullopt);
  EXPECT_EQ(s.cursor, kFirst + 2);
  EXPECT_FALSE(s.resync);
  EXPECT_TRUE(j.read(s.cursor, {}, 1 << 16).text.empty());
  j.append(StreamEventKind::device, "B", R"({"id":"B"})");
  const auto r = j.read(s.cursor, {}, 1 << 16);
  EXPECT_EQ(r.text, "id: 1000002\nevent: device\ndata: {\"id\":\"B\"}\n\n");
  EXPECT_EQ(r.cursor, kFirst + 3);
}

TEST(LiveStream, AReconnectGetsWhatItMissedWhileItIsBuffered) {
  StreamJournal j(8, kFirst);
  for (int i = 0; i < 5; ++i)
    j.append(StreamEventKind::point, "A", std::to_string(i));
  const auto s = j.start(kFirst + 2);
  EXPECT_FALSE(s.resync);
  EXPECT_EQ(s.cursor, kFirst + 3);
  const auto r = j.read(s.cursor, {}, 1 << 16);
  EXPECT_EQ(r.text, format_sse(kFirst + 3, StreamEventKind::point, "3") +
                        format_sse(kFirst + 4, StreamEventKind::point, "4"));
  // It had seen the newest: nothing missed.
  EXPECT_FALSE(j.start(kFirst + 4).resync);
  EXPECT_EQ(j.start(kFirst + 4).cursor, kFirst + 5);
}

TEST(LiveStream, AReconnectFromBeforeTheBufferOrFromAnotherRunResyncs) {
  StreamJournal j(4, kFirst);
  for (int i = 0; i < 10; ++i)
    j.append(StreamEventKind::point, "A", "{}");
  EXPECT_EQ(j.oldest_id(), kFirst + 6);
  const auto lost = j.start(kFirst + 4);  // kFirst + 5 was overwritten
  EXPECT_TRUE(lost.resync);
  EXPECT_EQ(lost.cursor, j.next_id());
  EXPECT_EQ(lost.resync_id, j.next_id() - 1);
  EXPECT_FALSE(j.start(kFirst + 5).resync);     // kFirst + 6 is the oldest buffered
  EXPECT_TRUE(j.start(kFirst - 100).resync);    // an id of an earlier run
  EXPECT_TRUE(j.start(kFirst + 1'000).resync);  // an id this run never gave
}

TEST(LiveStream, AnInterruptionMakesEveryResumeFromBeforeItResync) {
  StreamJournal j(8, kFirst);
  j.append(StreamEventKind::point, "A", "{}");
  j.interrupt();
  EXPECT_TRUE(j.start(kFirst).resync);
  const auto id = j.append(StreamEventKind::point, "A", "{}");
  EXPECT_EQ(id, kFirst + 2);  // an id skipped: nothing can claim to have seen the gap
  EXPECT_FALSE(j.start(id).resync);
}

TEST(LiveStream, AClientTheRingOverwroteIsLost) {
  StreamJournal j(4, kFirst);
  const auto s = j.start(std::nullopt);
  for (int i = 0; i < 5; ++i)
    j.append(StreamEventKind::point, "A", "{}");
  EXPECT_TRUE(j.read(s.cursor, {}, 1 << 16).lost);
  EXPECT_FALSE(j.read(s.cursor + 1, {}, 1 << 16).lost);
}

TEST(LiveStream, TheDeviceFilterLimitsPointAndDeviceEventsOnly) {
  StreamJournal j(16, kFirst);
  const auto s = j.start(std::nullopt);
  j.append(StreamEventKind::point, "A", "pa");
  j.append(StreamEventKind::point, "B", "pb");
  j.append(StreamEventKind::device, "B", "db");
  j.append(StreamEventKind::failover, "B", "fb");
  j.append(StreamEventKind::redundancy, "", "r");
  j.append(StreamEventKind::resync, "", "{}");
  const StreamFilter only_a{{"A"}, {}};
  const auto r = j.read(s.cursor, only_a, 1 << 16);
  EXPECT_EQ(r.text, format_sse(kFirst, StreamEventKind::point, "pa") +
                        format_sse(kFirst + 3, StreamEventKind::failover, "fb") +
                        format_sse(kFirst + 4, StreamEventKind::redundancy, "r") +
                        format_sse(kFirst + 5, StreamEventKind::resync, "{}"));
  EXPECT_EQ(r.cursor, j.next_id());  // filtered events are passed, not read again
}

// The kind filter keeps only the kinds asked for, combined with the device filter; a resync
// always passes, since a client that missed events must reload whatever it shows.
TEST(LiveStream, TheKindFilterKeepsOnlyTheKindsAskedFor) {
  StreamJournal j(16, kFirst);
  const auto s = j.start(std::nullopt);
  j.append(StreamEventKind::point, "A", "pa");
  j.append(StreamEventKind::device, "A", "da");
  j.append(StreamEventKind::device, "B", "db");
  j.append(StreamEventKind::failover, "B", "fb");
  j.append(StreamEventKind::redundancy, "", "r");
  j.append(StreamEventKind::resync, "", "{}");
  const StreamFilter overview{{}, {StreamEventKind::device, StreamEventKind::redundancy}};
  EXPECT_EQ(j.read(s.cursor, overview, 1 << 16).text,
            format_sse(kFirst + 1, StreamEventKind::device, "da") +
                format_sse(kFirst + 2, StreamEventKind::device, "db") +
                format_sse(kFirst + 4, StreamEventKind::redundancy, "r") +
                format_sse(kFirst + 5, StreamEventKind::resync, "{}"));
  const StreamFilter points_of_b{{"B"}, {StreamEventKind::point, StreamEventKind::failover}};
  EXPECT_EQ(j.read(s.cursor, points_of_b, 1 << 16).text,
            format_sse(kFirst + 3, StreamEventKind::failover, "fb") +
                format_sse(kFirst + 5, StreamEventKind::resync, "{}"));
  EXPECT_EQ(stream_kind_from_string("device"), StreamEventKind::device);
  EXPECT_EQ(stream_kind_from_string("resync"), std::nullopt);
  EXPECT_EQ(stream_kind_from_string("Point"), std::nullopt);
}

TEST(LiveStream, AReadStopsAfterAboutMaxBytes) {
  StreamJournal j(16, kFirst);
  const auto s = j.start(std::nullopt);
  for (int i = 0; i < 10; ++i)
    j.append(StreamEventKind::point, "A", std::string(100, 'x'));
  const auto r = j.read(s.cursor, {}, 250);
  EXPECT_EQ(r.cursor, kFirst + 2);  // the event that crossed 250 bytes is the last
  const auto rest = j.read(r.cursor, {}, 1 << 16);
  EXPECT_EQ(rest.cursor, j.next_id());
}

TEST(LiveStream, NotifyWakesEachWaitingClientOnce) {
  StreamJournal j(4, kFirst);
  int a = 0, b = 0;
  j.wait([&] { ++a; });
  j.wait([&] {
    ++b;
    j.wait([&] { ++b; });  // waits again: for the next round
  });
  j.notify();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 1);
  j.notify();
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
}

TEST(LiveStream, AReaderCountsWhileItsConnectionLives) {
  StreamJournal j(4, kFirst);
  auto a = std::make_shared<int>(1);
  auto b = std::make_shared<int>(2);
  j.attach(a);
  j.attach(b);
  EXPECT_EQ(j.readers(), 2u);
  a.reset();
  EXPECT_EQ(j.readers(), 1u);
  b.reset();
  EXPECT_EQ(j.readers(), 0u);
}

}  // namespace
}  // namespace pollux::api
