#include "history/record.hpp"

namespace pollux::history {

// Floor, not truncation: a time before 1970 still falls in the millisecond that contains it, so
// the order of records and the interval a record lands in never depend on the sign.
Millis to_millis(runtime::WallTime t) {
  return std::chrono::floor<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

runtime::WallTime from_millis(Millis ms) {
  return runtime::WallTime(std::chrono::milliseconds(ms));
}

}  // namespace pollux::history
