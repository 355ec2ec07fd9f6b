#include "engine/activity.hpp"

namespace pollux::engine {

std::string_view to_string(Activity a) {
  switch (a) {
    case Activity::active:
      return "active";
    case Activity::draining:
      return "draining";
    case Activity::warm_standby:
      return "warm standby";
    case Activity::cold_standby:
      return "cold standby";
  }
  return "?";
}

}  // namespace pollux::engine
