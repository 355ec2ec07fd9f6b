// Two enums that spell the same states in the same order (the API's and the engine's channel
// status, the config's protocol and the codec's framing): converted by one cast instead of a
// switch per pair. The caller static_asserts that the orders agree, next to the call.
#pragma once

namespace pollux::runtime {

template <typename To, typename From>
constexpr To same_state(From v) {
  return static_cast<To>(static_cast<int>(v));
}

// True when `a` and `b` are the same state (for the callers' static_asserts).
template <typename A, typename B>
constexpr bool same_order(A a, B b) {
  return static_cast<int>(a) == static_cast<int>(b);
}

}  // namespace pollux::runtime
