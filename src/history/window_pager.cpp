#include "history/window_pager.hpp"

#include <algorithm>
#include <cstdint>

namespace pollux::history {
namespace {
constexpr Millis kFirstSlice = 1000;
constexpr Millis kLongestSlice = 7LL * 86'400'000;
}  // namespace

WindowPager::WindowPager(const WindowQuery& q)
    : at_(q.from), to_(q.to), limit_(q.limit), slice_(kFirstSlice) {}

Millis WindowPager::end() const {
  // Compared unsigned: `at + slice` may not fit near the end of the time range.
  const bool last = static_cast<std::uint64_t>(to_) - static_cast<std::uint64_t>(at_) <=
                    static_cast<std::uint64_t>(slice_);
  return last ? to_ : at_ + slice_;
}

bool WindowPager::admit(Millis t) {
  auto& out = page_.records;
  if (out.size() >= limit_ && !out.empty()) {
    if (t != out.back().time) {
      page_.next = t;
      return false;
    }
    if (last_ms_start_ > 0) {  // full in the middle of a millisecond: it starts the next page
      out.resize(last_ms_start_);
      page_.next = t;
      return false;
    }
  }
  if (out.empty() || t != out.back().time) last_ms_start_ = out.size();
  return true;
}

std::size_t WindowPager::rows_to_ask() const {
  const std::size_t have = page_.records.size();
  return (limit_ > have ? limit_ - have : 0) + 1;
}

void WindowPager::resize_slice(std::size_t rows) {
  // The next slice holds about a page at this one's density.
  const double page_size = static_cast<double>(std::max<std::size_t>(limit_, 1));
  const double scale =
      rows == 0 ? 8.0 : std::clamp(page_size / static_cast<double>(rows), 0.125, 8.0);
  slice_ = std::clamp<Millis>(static_cast<Millis>(static_cast<double>(slice_) * scale), 1,
                              kLongestSlice);
}

}  // namespace pollux::history
