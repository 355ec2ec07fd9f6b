#include "modbus/transaction.hpp"

#include <algorithm>

#include "modbus/error.hpp"

namespace pollux::modbus {

Action Transaction::finish(std::error_code ec) {
  state_ = State::done;
  result_ = ec;
  return {ActionKind::done, {}, {}, ec};
}

Action Transaction::start(const Request& req, std::uint8_t unit, runtime::Duration timeout) {
  request_ = req;  // copy-assign keeps the vectors' capacity: no allocation after warm-up
  unit_ = unit;
  timeout_ = timeout;
  response_ = ResponseView{};
  result_ = {};
  received_ = 0;
  foreign_at_start_ = framer_.counters().foreign_unit_skipped;
  state_ = State::writing;
  broadcast_ = unit == 0 && framer_.framing() != Framing::tcp;
  if (broadcast_ && !req.is_write()) return finish(Errc::invalid_request);
  if (auto ec = encode_request(request_, pdu_)) return finish(ec);
  transaction_id_ = framer_.next_transaction();
  if (auto ec = framer_.encode(unit, pdu_.span(), adu_, transaction_id_)) return finish(ec);
  // Without transaction ids, stale bytes before the request are noise: start afresh (RTU
  // resynchronises on whatever tail of a late answer still arrives). MBAP keeps its framing
  // state instead: a late answer may be half received, and its tail must complete that frame
  // (then dropped by transaction id) rather than be misread as a header.
  if (framer_.framing() != Framing::tcp) framer_.reset();
  framer_.expect({unit, static_cast<int>(request_.function),
                  framer_.framing() == Framing::tcp ? transaction_id_ : -1});
  return {ActionKind::write, adu_.span(), {}, {}};
}

Action Transaction::on_written() {
  if (state_ != State::writing) {
    return state_ == State::done ? Action{ActionKind::done, {}, {}, result_}
                                 : Action{ActionKind::read_more, {}, {}, {}};
  }
  if (broadcast_) return finish({});
  state_ = State::awaiting;
  return {ActionKind::await_reply, {}, timeout_, {}};
}

Action Transaction::on_bytes(std::span<const std::uint8_t> bytes) {
  if (state_ == State::done) return {ActionKind::done, {}, {}, result_};
  if (state_ == State::idle || broadcast_) return {ActionKind::read_more, {}, {}, {}};
  received_ += bytes.size();
  while (!bytes.empty()) {
    const FeedResult r = framer_.feed(bytes);
    bytes = bytes.subspan(r.consumed);
    if (r.status == FeedStatus::error) return finish(r.error);
    if (r.status == FeedStatus::frame) {
      // Copy the answer out of the framer so the view outlives further feeding.
      const std::size_t n = std::min(r.frame.pdu.size(), answer_.size());
      std::copy_n(r.frame.pdu.begin(), n, answer_.begin());
      // Bytes after our answer still go through the framer so a stream stays in step.
      while (!bytes.empty()) {
        const FeedResult rest = framer_.feed(bytes);
        if (rest.consumed == 0) break;
        bytes = bytes.subspan(rest.consumed);
      }
      return finish(decode_response(request_, {answer_.data(), n}, response_));
    }
    if (r.consumed == 0) break;  // defensive: a framer that takes nothing cannot progress
  }
  return reading();
}

Action Transaction::reading() const {
  const bool gap = frame_gap_ > runtime::Duration::zero() && framer_.partial();
  return {ActionKind::read_more, {}, gap ? frame_gap_ : runtime::Duration{}, {}};
}

std::error_code Transaction::cause_without_answer() const {
  // MBAP frames carry their transaction id: complete ones for earlier requests were dropped and
  // belong to those, so only a partial frame is evidence here. The other framings cannot tell
  // whose bytes they were: any byte is.
  // An MBAP frame half received stays in the framer: its tail completes it later and it is
  // dropped by its id, so the connection need not be reset (answer_cut_short, not a framing
  // error that puts the stream out of step).
  if (framer_.framing() == Framing::tcp)
    return framer_.partial() ? Errc::answer_cut_short : Errc::timeout;
  if (received_ == 0) return Errc::timeout;
  if (framer_.partial_is_expected()) return Errc::answer_cut_short;
  if (!framer_.partial() && framer_.counters().foreign_unit_skipped != foreign_at_start_)
    return Errc::wrong_unit;
  return Errc::framing_error;
}

Action Transaction::on_timeout() {
  if (state_ == State::done) return {ActionKind::done, {}, {}, result_};
  return finish(cause_without_answer());
}

Action Transaction::on_silence() {
  if (state_ == State::done) return {ActionKind::done, {}, {}, result_};
  if (state_ == State::idle || broadcast_ || !framer_.partial())
    return {ActionKind::read_more, {}, {}, {}};
  const bool ours = framer_.partial_is_expected();
  framer_.reset();  // the line went quiet: whatever comes next starts a new frame
  if (ours) return finish(Errc::answer_cut_short);
  // A stray burst (noise, the start of someone else's frame): our answer may still come. It
  // counts, as a framing error, only if the attempt ends without one (received_ says so).
  return {ActionKind::read_more, {}, {}, {}};
}

Action Transaction::on_transport_error(std::error_code ec) {
  if (state_ == State::done) return {ActionKind::done, {}, {}, result_};
  framer_.reset();  // the connection is gone; a new one starts at a frame boundary
  return finish(ec ? ec : make_error_code(Errc::connection_reset));
}

}  // namespace pollux::modbus
