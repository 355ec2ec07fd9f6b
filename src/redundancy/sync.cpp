#include "redundancy/sync.hpp"

namespace pollux::redundancy {

StateReceiver::Verdict StateReceiver::on_full(std::uint64_t seq) {
  applied_ = seq;
  synced_ = true;
  awaiting_full_ = false;
  return Verdict::apply;
}

StateReceiver::Verdict StateReceiver::on_delta(std::uint64_t seq) {
  if (awaiting_full_) return Verdict::ignore;
  if (synced_ && applied_) {
    if (seq <= *applied_) return Verdict::ignore;
    if (seq == *applied_ + 1) {
      applied_ = seq;
      return Verdict::apply;
    }
  }
  awaiting_full_ = true;
  return Verdict::request_full;
}

void StateReceiver::reset() {
  synced_ = false;
  awaiting_full_ = false;
}

}  // namespace pollux::redundancy
