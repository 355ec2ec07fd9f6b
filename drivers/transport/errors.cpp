#include "transport/errors.hpp"

#include <string>

#include "modbus/error.hpp"

namespace pollux::transport {

namespace {
class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "transport"; }
  std::string message(int v) const override {
    switch (static_cast<Errc>(v)) {
      case Errc::channel_down:
        return "channel down";
      case Errc::channel_disabled:
        return "channel disabled";
      case Errc::connect_timeout:
        return "connect timeout";
      case Errc::connect_failed:
        return "connect failed";
      case Errc::dial_failed:
        return "dial failed";
      case Errc::stopped:
        return "stopped";
      case Errc::max_connections:
        return "no free connection";
      case Errc::carrier_lost:
        return "carrier lost";
    }
    return "transport error";
  }
};
}  // namespace

const std::error_category& transport_category() {
  static const Category c;
  return c;
}

std::error_code make_error_code(Errc e) {
  return {static_cast<int>(e), transport_category()};
}

bool counts_as_timeout(std::error_code ec) {
  if (ec.category() == transport_category())
    return static_cast<Errc>(ec.value()) != Errc::connect_failed;
  return modbus::classify(ec) == modbus::FailureKind::timeout;
}

}  // namespace pollux::transport
