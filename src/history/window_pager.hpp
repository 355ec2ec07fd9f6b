// How both stores cut a window read into pages (spec/northbound.md "Sessions, outages and the
// pair": an outage is read back from history in order; record.hpp WindowQuery).
//
// A store reads a window in time slices rather than with one LIMIT over the whole window,
// which would sort all of it again for every page. The pager holds the rules the stores share:
// a page never splits a millisecond (so its `next` is a time to ask from again), and each slice
// is sized to hold about a page at the density the previous one showed. The store supplies the
// reading of a slice.
//
// Usage:
//   WindowPager pager(q);
//   while (!pager.done()) {
//     std::size_t rows = 0;
//     for (each record r of [pager.at(), pager.end()) in time order) {
//       ++rows;
//       if (!pager.admit(r.time)) break;
//       pager.page().records.push_back(r);
//     }
//     pager.advance(rows, [&](Millis from) { return first_record_from(from, q.to); });
//   }
//   return std::move(pager.page());
#pragma once

#include <cstddef>
#include <optional>

#include "history/record.hpp"

namespace pollux::history {

class WindowPager {
 public:
  explicit WindowPager(const WindowQuery& q);

  WindowPage& page() { return page_; }
  // The page is complete: `next` is set, or the window is read to its end.
  bool done() const { return page_.next || at_ >= to_; }
  // The slice to read now: at() <= time < end().
  Millis at() const { return at_; }
  Millis end() const;
  // Whether a record at `t`, the next in time order, belongs to the page. When it does not, the
  // page is complete: `next` is set and a millisecond the page had begun is taken out of it
  // again, unless that millisecond is the whole page (then the page keeps growing through it).
  bool admit(Millis t);
  // After a slice that showed `rows` records: moves to the next one. Past an empty slice the
  // next starts at the next record, which `first_from(from)` finds (nullopt: none before `to`).
  template <class FirstFrom>
  void advance(std::size_t rows, FirstFrom&& first_from) {
    const Millis end_of_slice = end();
    at_ = rows == 0 ? first_from(end_of_slice).value_or(to_) : end_of_slice;
    resize_slice(rows);
  }
  // The records still wanted to fill the page, plus one to see where the next page starts.
  std::size_t rows_to_ask() const;

 private:
  void resize_slice(std::size_t rows);

  WindowPage page_;
  Millis at_;
  Millis to_;
  std::size_t limit_;
  Millis slice_;
  std::size_t last_ms_start_ = 0;  // where the page's last millisecond begins
};

}  // namespace pollux::history
