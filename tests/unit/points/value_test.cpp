#include "points/value.hpp"

#include <gtest/gtest.h>

#include "api/node_api.hpp"

namespace pollux::points {
namespace {

TEST(Value, SameAlternativesAsTheApiPointValue) {
  static_assert(std::is_same_v<Value, api::PointValue>);
  EXPECT_EQ(to_string(Value{}), "null");
  EXPECT_EQ(to_string(Value{true}), "true");
  EXPECT_EQ(to_string(Value{std::int64_t{-5}}), "-5");
  EXPECT_EQ(to_string(Value{std::uint64_t{18446744073709551615ULL}}), "18446744073709551615");
  EXPECT_EQ(to_string(Value{1.5}), "1.5");
  EXPECT_EQ(to_string(Value{std::string("abc")}), "abc");
}

TEST(Value, AsDouble) {
  EXPECT_EQ(as_double(Value{true}), 1.0);
  EXPECT_EQ(as_double(Value{std::int64_t{-2}}), -2.0);
  EXPECT_EQ(as_double(Value{2.5}), 2.5);
  EXPECT_FALSE(as_double(Value{}));
  EXPECT_FALSE(as_double(Value{std::string("1")}));
}

}  // namespace
}  // namespace pollux::points
