#include "history/forwarding.hpp"

namespace pollux::history {
namespace {

using nlohmann::json;

json value_json(const points::Value& v) {
  return std::visit(
      [](const auto& x) -> json {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::monostate>)
          return nullptr;
        else
          return x;
      },
      v);
}

std::optional<points::Value> value_from(const json& j) {
  if (j.is_null()) return points::Value{};
  if (j.is_boolean()) return points::Value{j.get<bool>()};
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(INT64_MAX))
      return points::Value{static_cast<std::int64_t>(u)};
    return points::Value{u};
  }
  if (j.is_number_integer()) return points::Value{j.get<std::int64_t>()};
  if (j.is_number_float()) return points::Value{j.get<double>()};
  if (j.is_string()) return points::Value{j.get<std::string>()};
  return std::nullopt;
}

std::optional<Quality> quality_from(const json& j) {
  if (!j.is_string()) return std::nullopt;
  const auto& s = j.get_ref<const std::string&>();
  if (s == "good") return Quality::good;
  if (s == "bad") return Quality::bad;
  if (s == "uncertain") return Quality::uncertain;
  return std::nullopt;
}

}  // namespace

json record_json(const Record& r) {
  json j = {{"d", r.series->device},
            {"p", r.series->point},
            {"t", r.time},
            {"v", value_json(r.value)},
            {"q", points::to_string(r.quality)}};
  // JSON (and msgpack) write a non-negative int64 and a uint64 alike; the store keeps the type
  // (a uint64 point reads back as one), so the record says which it was.
  if (std::holds_alternative<std::uint64_t>(r.value)) j["u"] = true;
  return j;
}

std::optional<std::vector<Record>> records_from_json(const json& records) {
  if (!records.is_array()) return std::nullopt;
  std::vector<Record> out;
  out.reserve(records.size());
  for (const auto& j : records) {
    if (!j.is_object()) return std::nullopt;
    const auto d = j.find("d"), p = j.find("p"), t = j.find("t"), v = j.find("v"), q = j.find("q");
    if (d == j.end() || p == j.end() || t == j.end() || v == j.end() || q == j.end() ||
        !d->is_string() || !p->is_string() || !t->is_number_integer() ||
        (t->is_number_unsigned() && t->get<std::uint64_t>() > INT64_MAX))
      return std::nullopt;
    auto value = value_from(*v);
    if (const auto u = j.find("u"); u != j.end()) {
      if (!u->is_boolean() || !v->is_number_unsigned()) return std::nullopt;
      if (u->get<bool>()) value = points::Value{v->get<std::uint64_t>()};
    }
    auto quality = quality_from(*q);
    if (!value || !quality) return std::nullopt;
    out.push_back(
        Record{std::make_shared<const Series>(Series{d->get<std::string>(), p->get<std::string>()}),
               t->get<Millis>(), std::move(*value), *quality});
  }
  return out;
}

bool Coverage::active_at(Millis t) const {
  for (const auto& [from, to] : active)
    if (from <= t && (!to || t < *to)) return true;
  return false;
}

json Coverage::active_json() const {
  json out = json::array();
  for (const auto& [from, to] : active)
    out.push_back({{"from", from}, {"to", to ? json(*to) : json(nullptr)}});
  return out;
}

std::optional<Coverage> Coverage::from_json(Millis started_at, const json& active) {
  if (!active.is_array()) return std::nullopt;
  Coverage c;
  c.started_at = started_at;
  for (const auto& j : active) {
    if (!j.is_object() || !j.contains("from") || !j["from"].is_number_integer() ||
        !j.contains("to") || !(j["to"].is_null() || j["to"].is_number_integer()))
      return std::nullopt;
    std::optional<Millis> to;
    if (!j["to"].is_null()) to = j["to"].get<Millis>();
    c.active.emplace_back(j["from"].get<Millis>(), to);
  }
  return c;
}

bool forward_partial(const Coverage& master, const Record& r) {
  return !master.active_at(r.time);
}

}  // namespace pollux::history
