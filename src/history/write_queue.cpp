#include "history/write_queue.hpp"

#include <algorithm>

namespace pollux::history {

WriteQueue::WriteQueue(QueueLimits limits) : limits_(limits) {
  // An empty batch would be "due" forever and never shrink the queue.
  limits_.batch_records = std::max<std::size_t>(limits_.batch_records, 1);
  limits_.retry_max = std::max(limits_.retry_max, limits_.retry_min);
}

void WriteQueue::push(std::vector<Record>& records, runtime::TimePoint now) {
  if (records.empty()) return;
  for (Record& r : records)
    back_.push_back(std::move(r));
  pushed_ += records.size();
  records.clear();
  if (!marks_.empty() && marks_.back().at == now) {
    marks_.back().end = pushed_;
  } else {
    marks_.push_back({pushed_, now});
  }
  enforce_bound();
}

// Drops the oldest past max_records: first the head of front_ (only marked while a write
// reads it), then the head of back_.
void WriteQueue::enforce_bound() {
  std::size_t excess = size() > limits_.max_records ? size() - limits_.max_records : 0;
  if (excess == 0) return;
  const std::size_t in_front = front_.size() - front_head_ - doomed_;
  const std::size_t from_front = std::min(excess, in_front);
  if (in_flight_) {
    doomed_ += from_front;
  } else {
    drop_front(from_front);
  }
  excess -= from_front;
  if (excess > 0) {
    back_.erase(back_.begin(), back_.begin() + static_cast<std::ptrdiff_t>(excess));
    dropped_ += excess;
  }
  trim_marks();
}

void WriteQueue::drop_front(std::size_t n) {
  front_head_ += n;
  dropped_ += n;
  if (front_head_ == front_.size()) {
    front_.clear();
    front_head_ = 0;
  }
}

// What is queued is always the newest records pushed (records leave only from the head), so
// the oldest one's sequence number is pushed_ - size().
void WriteQueue::trim_marks() {
  const std::uint64_t oldest = pushed_ - size();
  while (!marks_.empty() && marks_.front().end <= oldest)
    marks_.pop_front();
}

runtime::TimePoint WriteQueue::oldest_queued_at() const {
  return marks_.front().at;
}

// retry_min doubled per consecutive failure, capped at retry_max: 1, 2, 4, 8, 10, 10 ... s.
runtime::Duration WriteQueue::retry_delay() const {
  runtime::Duration d = limits_.retry_min;
  for (int i = 1; i < failures_ && d < limits_.retry_max; ++i)
    d *= 2;
  return std::min(d, limits_.retry_max);
}

std::optional<runtime::TimePoint> WriteQueue::due() const {
  if (in_flight_ || size() == 0) return std::nullopt;
  runtime::TimePoint at;
  if (flushing_) {
    at = flush_at_;
  } else if (size() >= limits_.batch_records) {
    at = oldest_queued_at();
  } else {
    at = oldest_queued_at() + limits_.commit_interval;
  }
  if (retry_at_) at = std::max(at, *retry_at_);
  return at;
}

std::span<const Record> WriteQueue::batch() {
  if (!in_flight_) {
    if (front_head_ > 0) {
      front_.erase(front_.begin(), front_.begin() + static_cast<std::ptrdiff_t>(front_head_));
      front_head_ = 0;
    }
    while (front_.size() < limits_.batch_records && !back_.empty()) {
      front_.push_back(std::move(back_.front()));
      back_.pop_front();
    }
    in_flight_ = true;
  }
  return {front_.data() + front_head_, front_.size() - front_head_};
}

void WriteQueue::written(std::size_t n, runtime::TimePoint /*now*/) {
  n = std::min(n, front_.size() - front_head_);
  // Records past the bound that this write committed are kept, not dropped.
  const std::size_t still_doomed = doomed_ > n ? doomed_ - n : 0;
  doomed_ = 0;
  in_flight_ = false;
  front_head_ += n;
  drop_front(still_doomed);
  failures_ = 0;
  retry_at_.reset();
  trim_marks();
  if (size() == 0) flushing_ = false;
}

void WriteQueue::failed(runtime::TimePoint now) {
  const std::size_t doomed = doomed_;
  doomed_ = 0;
  in_flight_ = false;
  drop_front(doomed);
  ++failures_;
  retry_at_ = now + retry_delay();
  trim_marks();
}

std::vector<Record> WriteQueue::take_all() {
  std::vector<Record> out;
  out.reserve(size());
  for (std::size_t i = front_head_ + doomed_; i < front_.size(); ++i)
    out.push_back(std::move(front_[i]));
  for (Record& r : back_)
    out.push_back(std::move(r));
  front_.clear();
  front_head_ = 0;
  doomed_ = 0;
  back_.clear();
  marks_.clear();
  flushing_ = false;
  return out;
}

void WriteQueue::flush_now(runtime::TimePoint now) {
  flushing_ = true;
  flush_at_ = now;
  retry_at_.reset();
}

}  // namespace pollux::history
