// ReadinessSet over socket pairs: each socket added once is reported when bytes arrive, once
// per arrival (edge-triggered), and never after it was removed or the set stopped; room to
// write is reported only while asked for. The io_context runs only what is ready (poll), so
// nothing waits.
#include "transport/readiness_set.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace pollux::transport {
namespace {

struct Pair {
  Pair() {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd.data()) != 0)
      throw std::runtime_error("socketpair");
  }
  ~Pair() {
    for (int f : fd)
      if (f >= 0) ::close(f);
  }
  void send(const char* text) const { ASSERT_GT(::write(fd[1], text, std::strlen(text)), 0); }
  // Reads what is there, as the set's user must before the next arrival is reported.
  void drain() const {
    std::array<char, 64> buf{};
    while (::read(fd[0], buf.data(), buf.size()) > 0) {
    }
  }
  std::array<int, 2> fd{-1, -1};
};

struct ReadinessSetTest : ::testing::Test {
  // Runs every handler that is ready, twice over: a report's re-arm is itself a handler.
  void settle() {
    for (int i = 0; i < 3; ++i) {
      io.restart();
      io.poll();
    }
  }
  boost::asio::io_context io;
  std::vector<void*> reported;
  std::unique_ptr<ReadinessSet> set =
      std::make_unique<ReadinessSet>(io, [this](void* key, ReadinessSet::Ready r) {
        if (r.readable) reported.push_back(key);
        if (r.writable) writable.push_back(key);
      });
  std::vector<void*> writable;
  int a_key = 0, b_key = 0;
};

TEST_F(ReadinessSetTest, EachArrivalIsReportedOnceWithItsSocketsKey) {
  Pair a, b;
  ASSERT_TRUE(set->add(a.fd[0], &a_key));
  ASSERT_TRUE(set->add(b.fd[0], &b_key));
  set->start();
  settle();
  EXPECT_TRUE(reported.empty());

  b.send("x");
  settle();
  EXPECT_EQ(reported, std::vector<void*>{&b_key});

  // Not read yet, nothing new arrived: not reported again.
  settle();
  EXPECT_EQ(reported.size(), 1U);

  // A new arrival is reported although the earlier bytes were left unread.
  b.send("y");
  a.send("z");
  settle();
  ASSERT_EQ(reported.size(), 3U);
  EXPECT_EQ(std::count(reported.begin(), reported.end(), &a_key), 1);
  EXPECT_EQ(std::count(reported.begin(), reported.end(), &b_key), 2);
  a.drain();
  b.drain();
}

TEST_F(ReadinessSetTest, ASocketWithBytesWaitingWhenAddedIsReported) {
  Pair a;
  a.send("early");
  set->start();
  ASSERT_TRUE(set->add(a.fd[0], &a_key));
  settle();
  EXPECT_EQ(reported, std::vector<void*>{&a_key});
}

TEST_F(ReadinessSetTest, ARemovedSocketAndAStoppedSetReportNothing) {
  Pair a, b;
  ASSERT_TRUE(set->add(a.fd[0], &a_key));
  ASSERT_TRUE(set->add(b.fd[0], &b_key));
  set->start();
  set->remove(a.fd[0]);
  a.send("x");
  settle();
  EXPECT_TRUE(reported.empty());

  set->stop();
  b.send("y");
  settle();
  EXPECT_TRUE(reported.empty());

  // Started again, the arrival that came while stopped is still pending in the set.
  set->start();
  settle();
  EXPECT_EQ(reported, std::vector<void*>{&b_key});
}

TEST_F(ReadinessSetTest, AReportMayDestroyTheSetItCameFrom) {
  Pair a, b;
  set = std::make_unique<ReadinessSet>(io, [this](void* key, ReadinessSet::Ready) {
    reported.push_back(key);
    set.reset();  // the link that owns it goes away
  });
  ASSERT_TRUE(set->add(a.fd[0], &a_key));
  ASSERT_TRUE(set->add(b.fd[0], &b_key));
  set->start();
  a.send("x");
  b.send("y");
  settle();
  EXPECT_EQ(reported.size(), 1U);  // the rest of the batch is not reported to a set now gone
  EXPECT_EQ(set, nullptr);
}

TEST_F(ReadinessSetTest, AClosedSocketIsReportedSoItsReaderSeesTheEnd) {
  Pair a;
  ASSERT_TRUE(set->add(a.fd[0], &a_key));
  set->start();
  ::close(a.fd[1]);
  a.fd[1] = -1;
  settle();
  EXPECT_EQ(reported, std::vector<void*>{&a_key});
  std::array<char, 4> buf{};
  EXPECT_EQ(::read(a.fd[0], buf.data(), buf.size()), 0);  // EOF
}

TEST_F(ReadinessSetTest, RoomToWriteIsReportedOnlyWhileAskedFor) {
  Pair a;
  ASSERT_TRUE(set->add(a.fd[0], &a_key));
  set->start();
  settle();
  EXPECT_TRUE(writable.empty());  // there is room, but nobody asked

  // Fill the socket until a write does not fit, then ask: reported once the peer reads.
  std::array<char, 4096> block{};
  while (::write(a.fd[0], block.data(), block.size()) > 0) {
  }
  ASSERT_TRUE(set->watch_writable(a.fd[0], &a_key, true));
  settle();
  EXPECT_TRUE(writable.empty());
  std::array<char, 65536> sink{};
  while (::read(a.fd[1], sink.data(), sink.size()) > 0) {
  }
  settle();
  EXPECT_EQ(writable, std::vector<void*>{&a_key});

  // No longer asked for: more room (and bytes to read) report only the bytes.
  ASSERT_TRUE(set->watch_writable(a.fd[0], &a_key, false));
  writable.clear();
  ASSERT_GT(::write(a.fd[1], "x", 1), 0);
  settle();
  EXPECT_TRUE(writable.empty());
  EXPECT_EQ(reported, std::vector<void*>{&a_key});
}

}  // namespace
}  // namespace pollux::transport
