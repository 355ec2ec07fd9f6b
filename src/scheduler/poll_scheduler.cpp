#include "scheduler/poll_scheduler.hpp"

namespace pollux::scheduler {

NextDue next_due_after(runtime::TimePoint prev_due, runtime::Duration interval,
                       runtime::TimePoint now) {
  NextDue r{prev_due + interval, 0};
  if (r.due > now) return r;
  // Jump over every grid point at or before now in one step (a long stall costs O(1)).
  const auto behind = (now - r.due) / interval;  // whole intervals past the first candidate
  r.skipped = static_cast<std::uint64_t>(behind) + 1;
  r.due += interval * (behind + 1);
  return r;
}

void LatenessHistogram::observe(double ms) {
  std::size_t i = 0;
  while (i < kBoundsMs.size() && ms > kBoundsMs[i])
    ++i;
  ++buckets[i];
  sum_ms += ms;
  ++count;
}

PollScheduler::~PollScheduler() {
  stop();
}

PollScheduler::Handle PollScheduler::add(void* owner, std::uint32_t group,
                                         runtime::Duration interval) {
  Entry e;
  e.owner = owner;
  e.group = group;
  e.interval = interval;
  e.due = ex_.now();
  e.live = true;
  entries_.push_back(e);
  arm(entries_.size() - 1);
  return entries_.size() - 1;
}

void PollScheduler::arm(std::size_t index) {
  Entry& e = entries_[index];
  e.timer = ex_.schedule_at(e.due, [this, index] { fire(index); });
}

void PollScheduler::fire(std::size_t index) {
  if (!entries_[index].live) return;
  entries_[index].timer = {};
  ++total_fired_;
  const auto late = ex_.now() - entries_[index].due;
  lateness_.observe(late.count() > 0 ? std::chrono::duration<double, std::milli>(late).count()
                                     : 0.0);
  const bool queued = sink_.on_poll_due(entries_[index].owner, entries_[index].group);
  Entry& e = entries_[index];  // the sink may have added entries
  if (!e.live) return;
  if (!queued) {
    ++e.overruns;
    ++total_overruns_;
  }
  const NextDue n = next_due_after(e.due, e.interval, ex_.now());
  e.overruns += n.skipped;
  total_overruns_ += n.skipped;
  e.due = n.due;
  arm(index);
}

void PollScheduler::remove(void* owner) {
  for (Entry& e : entries_) {
    if (e.live && e.owner == owner) {
      if (e.timer) ex_.cancel(e.timer);
      e.live = false;
      e.timer = {};
    }
  }
}

void PollScheduler::remove_entry(Handle h) {
  if (h >= entries_.size()) return;
  Entry& e = entries_[h];
  if (e.timer) ex_.cancel(e.timer);
  e.timer = {};
  e.live = false;
}

void PollScheduler::stop() {
  for (Entry& e : entries_) {
    if (e.timer) ex_.cancel(e.timer);
    e.timer = {};
    e.live = false;
  }
}

std::uint64_t PollScheduler::overruns(void* owner, std::uint32_t group) const {
  std::uint64_t n = 0;
  for (const Entry& e : entries_)
    if (e.owner == owner && e.group == group) n += e.overruns;
  return n;
}

}  // namespace pollux::scheduler
