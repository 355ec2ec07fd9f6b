// RFC 3339 UTC timestamps with milliseconds ("2026-11-21T22:40:01.123Z"), the one time format of
// the HTTP API and polluxctl (spec/api.md: "Times are RFC 3339 UTC strings with milliseconds").
//
// Written once here so every JSON shape and the status page agree on it; pure functions, no
// time zone database and no locale.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runtime/clock.hpp"

namespace pollux::api {

// Truncates (never rounds) to the millisecond, so a time never appears later than it was.
std::string format_rfc3339(runtime::WallTime t);

// Accepts what format_rfc3339 writes, plus any number of fraction digits (or none) and a "Z" or
// "+HH:MM"/"-HH:MM" offset. nullopt on anything else.
std::optional<runtime::WallTime> parse_rfc3339(std::string_view text);

}  // namespace pollux::api
