// From Pollux points to Sparkplug metrics (spec/northbound.md "Topics and payloads": the
// Datatypes list and the `Quality` property): the DataType a configured point is published as,
// its stored value in the form that DataType carries, and the Quality code of a point quality.
// The session machine builds DBIRTH and DDATA metrics with these; the encoder (encoder.hpp)
// brings every value through metric_value() before it goes on the wire.
#pragma once

#include <cstdint>

#include "config/model.hpp"
#include "northbound/payload.hpp"
#include "points/point_store.hpp"
#include "points/value.hpp"

namespace pollux::northbound {

// bool → Boolean, int16 → Int16, uint16 → UInt16, int32 → Int32, uint32 → UInt32, int64 →
// Int64, uint64 → UInt64, float32 → Float, float64 → Double, string → String. A scaled numeric
// point (scale ≠ 1 or offset ≠ 0) is a Double: its values are doubles (points/register_codec).
// Bits (coil and discrete points) and strings are never scaled, so they stay Boolean and String.
DataType datatype_for(const config::Point& p);

// A SYDEV* status point's DataType, from its value since status points have no config entry
// (northbound.md "Settled details": integers Int32, text String).
DataType status_datatype(const points::Value& v);

// `v` as `t` carries it: bool for Boolean, int64 for Int8..Int64, uint64 for UInt8..UInt64,
// double for Float and Double, string for String; `v` unchanged for Unknown. Numbers convert
// among themselves (a bool is 0 or 1, a double rounds half away from zero to an integer, only
// 0 and 1 become a bool). Null (monostate) when `v` is null, when it is not within the
// datatype's range (300 for Int8, -1 for a UInt, NaN for an integer) or of its kind (text for a
// number, a number for String), so a metric never claims a datatype its value does not fit.
MetricValue metric_value(const points::Value& v, DataType t);

// The `Quality` property: 192 good, 0 bad, 64 uncertain.
std::int32_t quality_code(points::PointQuality q);

}  // namespace pollux::northbound
