// The stores' cache of series ids by (device, point) (store.hpp): one hash table per
// connection, looked up with the names a Record carries, without copying them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace pollux::history {

using Names = std::pair<std::string_view, std::string_view>;

struct NamesHash {
  using is_transparent = void;
  std::size_t operator()(Names n) const {
    const std::size_t a = std::hash<std::string_view>{}(n.first);
    return a ^
           (std::hash<std::string_view>{}(n.second) + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
  }
};
struct NamesEq {
  using is_transparent = void;
  bool operator()(Names a, Names b) const { return a == b; }
};

// (device, point) -> a value, found by Names.
template <class V>
using ByNames = std::unordered_map<std::pair<std::string, std::string>, V, NamesHash, NamesEq>;

}  // namespace pollux::history
