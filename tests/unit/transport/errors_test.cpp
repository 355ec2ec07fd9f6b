// The transport error vocabulary (transport/errors.hpp): which failures count as timeouts.
#include "transport/errors.hpp"

#include <gtest/gtest.h>

#include "modbus/error.hpp"

namespace pollux::transport {
namespace {

TEST(TransportErrors, UnreachableCountsAsTimeout) {
  EXPECT_TRUE(counts_as_timeout(make_error_code(Errc::channel_down)));
  EXPECT_TRUE(counts_as_timeout(make_error_code(Errc::dial_failed)));
  EXPECT_TRUE(counts_as_timeout(make_error_code(Errc::connect_timeout)));
  EXPECT_FALSE(counts_as_timeout(make_error_code(Errc::connect_failed)));
  EXPECT_TRUE(counts_as_timeout(make_error_code(modbus::Errc::timeout)));
  EXPECT_FALSE(counts_as_timeout(make_error_code(modbus::Errc::crc_error)));
  EXPECT_FALSE(counts_as_timeout(make_error_code(modbus::Errc::connection_reset)));
}

}  // namespace
}  // namespace pollux::transport
