#include "northbound/payload.hpp"

namespace pollux::northbound {

// The specification's names (sparkplug_b.proto `DataType`), as a host shows them.
std::string_view to_string(DataType t) {
  switch (t) {
    case DataType::unknown:
      return "Unknown";
    case DataType::int8:
      return "Int8";
    case DataType::int16:
      return "Int16";
    case DataType::int32:
      return "Int32";
    case DataType::int64:
      return "Int64";
    case DataType::uint8:
      return "UInt8";
    case DataType::uint16:
      return "UInt16";
    case DataType::uint32:
      return "UInt32";
    case DataType::uint64:
      return "UInt64";
    case DataType::float32:
      return "Float";
    case DataType::float64:
      return "Double";
    case DataType::boolean:
      return "Boolean";
    case DataType::string:
      return "String";
  }
  return "Unknown";
}

}  // namespace pollux::northbound
