// Counts heap allocations, for the tests and benchmarks that show a hot path allocates nothing
// (DESIGN.md principle 6). It replaces the global operator new and delete, so include it in
// exactly one source file of a program. Read `allocations()` before and after the code measured.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

// g++ pairs the replaced operator delete's free() with the library's operator new and warns;
// both are replaced here, so malloc and free do match.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace pollux::testlib {
inline std::atomic<std::uint64_t> g_allocations{0};
inline std::uint64_t allocations() {
  return g_allocations.load(std::memory_order_relaxed);
}
}  // namespace pollux::testlib

void* operator new(std::size_t n) {
  pollux::testlib::g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return ::operator new(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
