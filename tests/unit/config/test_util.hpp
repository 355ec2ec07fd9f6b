// Helpers for the config loader tests: load text with a fake environment, and find where a
// token sits in the text so each test states exactly which key or value an error must name.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>

#include "config/loader.hpp"

namespace pollux::config::test {

inline LoadResult load(std::string_view text, std::map<std::string, std::string> env = {},
                       bool as_backup = false) {
  LoadOptions o;
  o.env = [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
  o.as_backup = as_backup;
  return load_text(text, "t.yaml", o);
}

inline std::string dump(const LoadResult& r) {
  std::string out;
  for (const auto& d : r.errors)
    out += d.to_string() + "\n";
  return out;
}

struct Pos {
  int line;
  int col;
};

// 1-based position in `text` of the `nth` occurrence of `needle` with its '^' removed: the
// position of the character after '^', or of the needle's start when it has no '^'.
inline Pos pos(std::string_view text, std::string needle, int nth = 1) {
  std::size_t caret = needle.find('^');
  std::size_t shift = 0;
  if (caret != std::string::npos) {
    needle.erase(caret, 1);
    shift = caret;
  }
  std::size_t at = std::string_view::npos, from = 0;
  for (int i = 0; i < nth; ++i) {
    at = text.find(needle, from);
    if (at == std::string_view::npos) ADD_FAILURE() << "needle not found: " << needle;
    if (at == std::string_view::npos) return {0, 0};
    from = at + 1;
  }
  at += shift;
  Pos p{1, 1};
  for (std::size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.col = 1;
    } else {
      ++p.col;
    }
  }
  return p;
}

// Exactly one error, at `where`, whose message contains `message`.
inline void expect_one(const LoadResult& r, Pos where, std::string_view message) {
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.errors[0].line, where.line) << dump(r);
  EXPECT_EQ(r.errors[0].col, where.col) << dump(r);
  EXPECT_THAT(r.errors[0].message, ::testing::HasSubstr(std::string(message))) << dump(r);
}

inline void expect_ok(const LoadResult& r) {
  EXPECT_TRUE(r.ok()) << dump(r);
}

}  // namespace pollux::config::test
