#include "redundancy/frame.hpp"

#include <gtest/gtest.h>

namespace pollux::redundancy {
namespace {

Bytes bytes(std::initializer_list<int> v) {
  Bytes b;
  for (int x : v)
    b.push_back(static_cast<std::uint8_t>(x));
  return b;
}

// Feeds `in` in chunks of `chunk` bytes and collects every complete payload.
std::vector<Bytes> decode_all(FrameDecoder& dec, const Bytes& in, std::size_t chunk) {
  std::vector<Bytes> frames;
  std::size_t pos = 0;
  while (pos < in.size() && !dec.failed()) {
    std::span<const std::uint8_t> piece(in.data() + pos, std::min(chunk, in.size() - pos));
    while (!piece.empty() && !dec.failed()) {
      const std::size_t n = dec.feed(piece);
      piece = piece.subspan(n);
      if (dec.frame_ready()) {
        auto p = dec.payload();
        frames.emplace_back(p.begin(), p.end());
        dec.next();
      }
    }
    pos += chunk;
  }
  return frames;
}

TEST(PeerFrameCodec, EncodesBigEndianLengthThenPayload) {
  EXPECT_EQ(encode_frame(bytes({0xAA, 0xBB, 0xCC})), bytes({0, 0, 0, 3, 0xAA, 0xBB, 0xCC}));
  EXPECT_EQ(encode_frame({}), bytes({0, 0, 0, 0}));
  Bytes big(0x010203, 0x5A);
  Bytes f = encode_frame(big);
  ASSERT_EQ(f.size(), big.size() + 4);
  EXPECT_EQ(Bytes(f.begin(), f.begin() + 4), bytes({0x00, 0x01, 0x02, 0x03}));
}

TEST(PeerFrameCodec, RefusesToEncodeOversizePayload) {
  Bytes big(kMaxFramePayload + 1);
  EXPECT_THROW(encode_frame(big), std::length_error);
}

TEST(PeerFrameCodec, DecodesEveryChunkingOfSeveralFrames) {
  Bytes stream;
  std::vector<Bytes> sent = {bytes({1}), {}, bytes({2, 3, 4, 5, 6, 7, 8, 9}), Bytes(300, 0x42)};
  for (const auto& p : sent)
    append_frame(stream, p);
  for (std::size_t chunk : {1u, 2u, 3u, 4u, 5u, 7u, 64u, 10000u}) {
    FrameDecoder dec;
    EXPECT_EQ(decode_all(dec, stream, chunk), sent) << "chunk " << chunk;
    EXPECT_FALSE(dec.failed());
    EXPECT_EQ(dec.buffered(), 0u);
  }
}

TEST(PeerFrameCodec, ConsumesOnlyUpToTheEndOfOneFrame) {
  Bytes stream = encode_frame(bytes({1, 2}));
  append_frame(stream, bytes({3}));
  FrameDecoder dec;
  EXPECT_EQ(dec.feed(stream), 6u);  // first frame only
  ASSERT_TRUE(dec.frame_ready());
  EXPECT_EQ(dec.feed(std::span(stream).subspan(6)), 0u);  // nothing while a frame is ready
  dec.next();
  EXPECT_EQ(dec.feed(std::span(stream).subspan(6)), 5u);
  ASSERT_TRUE(dec.frame_ready());
  EXPECT_EQ(Bytes(dec.payload().begin(), dec.payload().end()), bytes({3}));
}

TEST(PeerFrameCodec, AcceptsExactlyTheLimit) {
  FrameDecoder dec;
  const Bytes header = bytes({0x01, 0x00, 0x00, 0x00});  // 16 MiB
  EXPECT_EQ(dec.feed(header), 4u);
  EXPECT_FALSE(dec.failed());
  EXPECT_FALSE(dec.frame_ready());
}

TEST(PeerFrameCodec, OversizeLengthIsAProtocolError) {
  FrameDecoder dec;
  const Bytes header = bytes({0x01, 0x00, 0x00, 0x01, 0xEE});
  EXPECT_EQ(dec.feed(header), 4u);
  ASSERT_TRUE(dec.failed());
  EXPECT_EQ(dec.error(), "frame too large: 16777217 bytes > 16 MiB");
  EXPECT_EQ(dec.feed(header), 0u);  // stays failed
  FrameDecoder max;
  max.feed(bytes({0xFF, 0xFF, 0xFF, 0xFF}));
  EXPECT_EQ(max.error(), "frame too large: 4294967295 bytes > 16 MiB");
}

TEST(PeerFrameCodec, LowerLimitBeforeAuthentication) {
  FrameDecoder dec;
  dec.set_max_payload(kMaxHandshakePayload);
  dec.feed(bytes({0x00, 0x00, 0x10, 0x01}));
  ASSERT_TRUE(dec.failed());
  EXPECT_EQ(dec.error(), "frame too large: 4097 bytes > 4096 bytes before authentication");
}

TEST(PeerFrameCodec, OversizeHeaderSplitAcrossChunks) {
  FrameDecoder dec;
  const Bytes header = bytes({0x7F, 0x00, 0x00, 0x00});
  for (std::uint8_t b : header)
    dec.feed(std::span(&b, 1));
  EXPECT_TRUE(dec.failed());
}

}  // namespace
}  // namespace pollux::redundancy
