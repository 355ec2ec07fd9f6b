#include "scheduler/poll_scheduler.hpp"

#include <algorithm>

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
  const auto now = ex_.now();  // one read serves the lateness and the next due time
  const auto late = now - entries_[index].due;
  lateness_.observe(late.count() > 0 ? std::chrono::duration<double, std::milli>(late).count()
                                     : 0.0);
  const bool queued = sink_.on_poll_due(entries_[index].owner, entries_[index].group);
  Entry& e = entries_[index];  // the sink may have added entries
  if (!e.live) return;
  if (!queued) {
    ++e.overruns;
    ++total_overruns_;
    if (parking_) {
      park(index);
      return;
    }
  }
  const NextDue n = next_due_after(e.due, e.interval, now);
  e.overruns += n.skipped;
  total_overruns_ += n.skipped;
  e.due = n.due;
  arm(index);
}

void PollScheduler::park(std::size_t index) {
  Entry& e = entries_[index];
  e.parked = true;
  // The safety net: a look after about a second (at least one interval) if never resumed.
  const auto k = std::max<std::int64_t>(1, std::chrono::seconds(1) / e.interval);
  e.recheck = e.due + e.interval * k;
  // Captures two words only: they fit std::function's inline buffer, so parking (once per
  // poll when polls are due faster than they complete) allocates nothing.
  e.timer = ex_.schedule_at(e.recheck, [this, index] {
    entries_[index].timer = {};
    if (!entries_[index].live || !entries_[index].parked) return;
    unpark(index, entries_[index].recheck);
    fire(index);  // the re-check time is a grid point, due now
  });
}

void PollScheduler::unpark(std::size_t index, runtime::TimePoint at) {
  Entry& e = entries_[index];
  e.parked = false;
  // First grid point at or after `at`; the ones strictly before were missed.
  const NextDue n = next_due_after(e.due, e.interval, at - runtime::Duration(1));
  e.overruns += n.skipped;
  total_overruns_ += n.skipped;
  e.due = n.due;
}

void PollScheduler::resume(Handle h) {
  if (h >= entries_.size()) return;
  Entry& e = entries_[h];
  if (!e.live || !e.parked) return;
  if (e.timer) ex_.cancel(e.timer);
  e.timer = {};
  unpark(h, ex_.now());
  arm(h);  // on a later turn even when due now: resume() runs inside the owner's callbacks
}

std::uint64_t PollScheduler::pending_overruns(const Entry& e) const {
  if (!e.parked) return 0;
  const auto now = ex_.now();
  return now > e.due ? static_cast<std::uint64_t>((now - e.due) / e.interval) : 0;
}

std::uint64_t PollScheduler::overruns(Handle h) const {
  if (h >= entries_.size()) return 0;
  return entries_[h].overruns + pending_overruns(entries_[h]);
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
    if (e.owner == owner && e.group == group) n += e.overruns + pending_overruns(e);
  return n;
}

}  // namespace pollux::scheduler
