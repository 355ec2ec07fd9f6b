#include "northbound/liveness.hpp"

#include <utility>
#include <variant>

#include "northbound/encoder.hpp"
#include "northbound/session.hpp"

namespace pollux::northbound {

namespace {

// The payload's bdSeq as Pollux writes it (session.cpp bd_seq_metric: Int64), or UInt64 as
// other Edge Nodes may; nullopt when the payload has none that is usable.
std::optional<std::uint64_t> bd_seq_of(const Payload& p) {
  for (const Metric& m : p.metrics) {
    if (m.name != kBdSeqMetric) continue;
    if (m.type != DataType::int64 && m.type != DataType::uint64) return std::nullopt;
    if (const auto* i = std::get_if<std::int64_t>(&m.value))
      return *i >= 0 ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*i)) : std::nullopt;
    if (const auto* u = std::get_if<std::uint64_t>(&m.value)) return *u;
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

EdgeNodeLiveness::EdgeNodeLiveness(std::string group_id, std::string edge_node_id)
    : group_id_(std::move(group_id)),
      edge_node_id_(std::move(edge_node_id)),
      nbirth_topic_(topic(group_id_, MessageType::nbirth, edge_node_id_)),
      ndeath_topic_(topic(group_id_, MessageType::ndeath, edge_node_id_)) {}

bool EdgeNodeLiveness::set_ids(std::string group_id, std::string edge_node_id,
                               runtime::TimePoint now) {
  if (group_id == group_id_ && edge_node_id == edge_node_id_) return false;
  group_id_ = std::move(group_id);
  edge_node_id_ = std::move(edge_node_id);
  nbirth_topic_ = topic(group_id_, MessageType::nbirth, edge_node_id_);
  ndeath_topic_ = topic(group_id_, MessageType::ndeath, edge_node_id_);
  last_heard_.reset();
  return set_alive(false, std::nullopt, now);
}

bool EdgeNodeLiveness::on_connected(runtime::TimePoint now) {
  const bool restart = connected_;
  connected_ = true;
  return restart ? set_alive(false, std::nullopt, now) : false;
}

bool EdgeNodeLiveness::on_connection_lost(runtime::TimePoint now) {
  connected_ = false;
  return set_alive(false, std::nullopt, now);
}

bool EdgeNodeLiveness::on_message(std::string_view t, std::string_view payload,
                                  runtime::TimePoint now) {
  const bool birth = t == nbirth_topic_;
  if (!birth && t != ndeath_topic_) {
    ++counters_.ignored;
    return false;
  }
  const std::optional<Payload> p = decode(payload, nullptr);
  if (!p) {
    ++counters_.undecodable;
    return false;
  }
  const std::optional<std::uint64_t> bd = bd_seq_of(*p);
  if (!bd) {
    ++counters_.ignored;
    return false;
  }
  if (birth) {
    ++counters_.births;
    last_heard_ = now;
    return set_alive(true, bd, now);
  }
  if (!alive_ || *bd != *bd_seq_) {
    ++counters_.stale_deaths;
    return false;
  }
  ++counters_.deaths;
  last_heard_ = now;
  return set_alive(false, std::nullopt, now);
}

bool EdgeNodeLiveness::set_alive(bool alive, std::optional<std::uint64_t> bd_seq,
                                 runtime::TimePoint now) {
  bd_seq_ = bd_seq;
  if (alive == alive_) return false;
  alive_ = alive;
  since_ = now;
  return true;
}

}  // namespace pollux::northbound
