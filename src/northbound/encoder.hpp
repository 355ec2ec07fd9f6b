// The Sparkplug B payload codec (spec/northbound.md "Topics and payloads" and "Settled
// details"): a plain Payload (payload.hpp) to the bytes of the protobuf `Payload` of
// sparkplug_b.proto and back, through libprotobuf. The encoder serves NBIRTH, DBIRTH, DDATA and
// NDEATH; the decoder reads what a host sends (NCMD, DCMD), so it refuses malformed input with
// a reason and never throws.
//
// Wire rules (Sparkplug 3.0):
// - Integer datatypes of 32 bits or fewer travel in int_value (uint32), 64-bit ones in
//   long_value (uint64). Signed values are sign-extended: Int16 -2 is int_value 0xFFFFFFFE,
//   Int64 -2 is long_value 0xFFFFFFFFFFFFFFFE. Float travels in float_value, Double in
//   double_value, Boolean in boolean_value, String in string_value.
// - A null value (monostate) is `is_null` true with no value. The `Quality` property is
//   properties {keys: ["Quality"], values: [{type: Int32, int_value}]}; `historical` is
//   `is_historical` true. name only when non-empty, alias only when set, datatype only when
//   not Unknown, timestamp only when non-zero; the payload's timestamp always, its seq when set.
//
// Usage:
//   std::string bytes = northbound::encode(payload);
//   std::string why;
//   if (auto cmd = northbound::decode(mqtt_payload, &why)) ... else log(why);
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "northbound/payload.hpp"

namespace pollux::northbound {

// Each metric's value is first brought to its datatype by metric_value() (metric_mapping.hpp),
// so the wire never carries a value its datatype does not describe: a value that does not fit
// is sent as null. With datatype Unknown the value's own kind picks the field (integers in
// long_value, doubles in double_value): a host reads a DDATA metric by its birth's datatype, so
// the session gives DDATA metrics their datatype too. Text that is not valid UTF-8 (a string
// register holding binary) has each bad byte replaced by U+FFFD: protobuf strings are UTF-8 and
// some hosts refuse the whole payload otherwise.
std::string encode(const Payload& p);

// nullopt, with the reason in *error (when error is not null), for bytes that are not a
// Sparkplug Payload: not protobuf, truncated inside a field, a field of the schema with another
// wire type, text that is not UTF-8, a datatype Pollux does not handle (DateTime, Text, UUID,
// arrays, DataSet, Template...), or a metric value in bytes_value, dataset_value,
// template_value or extension_value ("unsupported metric value"). Fields the schema does not
// know (a newer schema, extensions) are ignored, as are is_transient, metadata, uuid and body.
//
// An integer is read at its datatype's width, whichever field carries it: a signed datatype is
// sign-extended from its width (Int16 int_value 0xFFFFFFFE or 0x0000FFFE is -2) into int64, an
// unsigned one keeps its width's bits as uint64 (UInt16 int_value 0xFFFFFFFF is 65535); with
// any other datatype int_value is its uint32 as int64 and long_value its two's complement.
// Float becomes the double of its shortest decimal text (76.1f is 76.1, as points read a
// float32), Double a double. `is_null` true makes the value null whatever else is set. A
// `Quality` property with an integer value that fits an Int32 is read back; other properties
// are ignored.
std::optional<Payload> decode(std::string_view bytes, std::string* error);

}  // namespace pollux::northbound
