#include "redundancy/state_codec.hpp"

#include <iterator>
#include <type_traits>
#include <variant>

namespace pollux::redundancy {

using nlohmann::json;

namespace {

std::int64_t wall_ms(runtime::WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
runtime::WallTime from_wall_ms(std::int64_t ms) {
  return runtime::WallTime(
      std::chrono::duration_cast<runtime::WallTime::duration>(std::chrono::milliseconds(ms)));
}
// Ages travel as microseconds: nanosecond counts of a long uptime still fit, and the precision
// is far finer than any failover timer.
std::int64_t age_us(runtime::Duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}
runtime::Duration from_us(std::int64_t us) {
  return std::chrono::duration_cast<runtime::Duration>(std::chrono::microseconds(us));
}
json opt_age(const std::optional<runtime::Duration>& d) {
  return d ? json(age_us(*d)) : json(nullptr);
}
std::optional<runtime::Duration> opt_age(const json& j) {
  if (!j.is_number()) return std::nullopt;
  return from_us(j.get<std::int64_t>());
}

// A point value keeps its C++ alternative: MessagePack would turn a positive int64 into an
// unsigned and a whole double into an integer.
json encode_value(const points::Value& v) {
  return std::visit(
      [&](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return json::array({0, nullptr});
        } else {
          return json::array({v.index(), x});
        }
      },
      v);
}
points::Value decode_value(const json& j) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_number_unsigned()) return {};
  try {
    switch (j[0].get<std::size_t>()) {
      case 1:
        return j[1].get<bool>();
      case 2:
        return j[1].get<std::int64_t>();
      case 3:
        return j[1].get<std::uint64_t>();
      case 4:
        return j[1].get<double>();
      case 5:
        return j[1].get<std::string>();
      default:
        return {};
    }
  } catch (const json::exception&) {
    return {};
  }
}

json encode_counters(const device::DeviceCounters& c) {
  return json::array({c.messages_ok, c.messages_failed, c.exceptions, c.timeouts, c.crc_errors,
                      c.framing_errors, c.polls_ok, c.polls_failed, c.polls_skipped, c.overruns});
}
device::DeviceCounters decode_counters(const json& j) {
  device::DeviceCounters c;
  std::uint64_t* fields[] = {&c.messages_ok,   &c.messages_failed, &c.exceptions, &c.timeouts,
                             &c.crc_errors,    &c.framing_errors,  &c.polls_ok,   &c.polls_failed,
                             &c.polls_skipped, &c.overruns};
  if (!j.is_array()) return c;
  for (std::size_t i = 0; i < std::size(fields) && i < j.size(); ++i)
    if (j[i].is_number_unsigned()) *fields[i] = j[i].get<std::uint64_t>();
  return c;
}

}  // namespace

json encode_devices(const std::vector<DeviceRuntime>& devices) {
  json out = json::array();
  for (const auto& d : devices) {
    json j{{"id", d.id},
           {"line", d.ages.active_line},
           {"good", d.ages.last_good_line},
           {"sub", d.ages.subsequent_active},
           {"prfo", d.ages.primary_failed_over},
           {"since_success", age_us(d.ages.since_last_success)},
           {"since_fo", opt_age(d.ages.since_failed_over)},
           {"since_restored", opt_age(d.ages.since_restored)},
           {"stats", encode_counters(d.counters)},
           {"failed", d.comm_failed},
           {"last_success", d.last_success ? json(wall_ms(*d.last_success)) : json(nullptr)}};
    out.push_back(std::move(j));
  }
  return out;
}

json encode_points(const points::PointStore& store, const std::vector<points::PointId>& ids) {
  json out = json::array();
  for (auto id : ids) {
    const auto& r = store.get(id);
    out.push_back(json{{"d", r.device},
                       {"n", r.name},
                       {"v", encode_value(r.value)},
                       {"q", static_cast<int>(r.quality)},
                       {"t", r.timestamp ? json(wall_ms(*r.timestamp)) : json(nullptr)},
                       {"e", r.error}});
  }
  return out;
}

json encode_polls(const std::vector<PollDone>& polls) {
  json out = json::array();
  for (const auto& p : polls)
    out.push_back(json{{"d", p.device}, {"g", p.group}, {"t", wall_ms(p.at)}});
  return out;
}

DeviceRuntime decode_device(const json& j) {
  DeviceRuntime d;
  d.id = j.at("id").get<std::string>();
  d.ages.active_line = j.at("line").get<int>();
  d.ages.last_good_line = j.at("good").get<int>();
  d.ages.subsequent_active = j.at("sub").get<bool>();
  d.ages.primary_failed_over = j.at("prfo").get<bool>();
  d.ages.since_last_success = from_us(j.at("since_success").get<std::int64_t>());
  d.ages.since_failed_over = opt_age(j.at("since_fo"));
  d.ages.since_restored = opt_age(j.at("since_restored"));
  d.counters = decode_counters(j.at("stats"));
  d.comm_failed = j.value("failed", false);  // absent from a peer that predates DEVICE.comm
  if (j.at("last_success").is_number())
    d.last_success = from_wall_ms(j.at("last_success").get<std::int64_t>());
  return d;
}

PointUpdate decode_point(const json& j) {
  PointUpdate p;
  p.device = j.at("d").get<std::string>();
  p.name = j.at("n").get<std::string>();
  p.value = decode_value(j.at("v"));
  p.quality = static_cast<points::PointQuality>(j.at("q").get<int>());
  if (j.at("t").is_number()) p.timestamp = from_wall_ms(j.at("t").get<std::int64_t>());
  p.error = j.at("e").get<std::string>();
  return p;
}

PollDone decode_poll(const json& j) {
  return {j.at("d").get<std::string>(), j.at("g").get<std::string>(),
          from_wall_ms(j.at("t").get<std::int64_t>())};
}

}  // namespace pollux::redundancy
