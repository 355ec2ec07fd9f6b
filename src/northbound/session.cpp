#include "northbound/session.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <utility>

namespace pollux::northbound {

using runtime::TimePoint;

std::string_view to_string(MessageType t) {
  switch (t) {
    case MessageType::nbirth:
      return "NBIRTH";
    case MessageType::ndeath:
      return "NDEATH";
    case MessageType::dbirth:
      return "DBIRTH";
    case MessageType::ddeath:
      return "DDEATH";
    case MessageType::ndata:
      return "NDATA";
    case MessageType::ddata:
      return "DDATA";
    case MessageType::ncmd:
      return "NCMD";
    case MessageType::dcmd:
      return "DCMD";
    case MessageType::state:
      return "STATE";
  }
  return "UNKNOWN";
}

std::string_view to_string(SessionState s) {
  switch (s) {
    case SessionState::inactive:
      return "inactive";
    case SessionState::waiting_to_connect:
      return "waiting_to_connect";
    case SessionState::connecting:
      return "connecting";
    case SessionState::awaiting_host:
      return "awaiting_host";
    case SessionState::live:
      return "live";
  }
  return "unknown";
}

std::string topic(std::string_view group, MessageType t, std::string_view edge,
                  std::string_view device) {
  std::string s;
  s.reserve(16 + group.size() + edge.size() + device.size());
  s.append("spBv1.0/").append(group).append("/").append(to_string(t)).append("/").append(edge);
  if (!device.empty()) s.append("/").append(device);
  return s;
}

std::string state_topic(std::string_view host) {
  return std::string("spBv1.0/STATE/").append(host);
}

namespace {

bool is_numeric(DataType t) {
  switch (t) {
    case DataType::int8:
    case DataType::int16:
    case DataType::int32:
    case DataType::int64:
    case DataType::uint8:
    case DataType::uint16:
    case DataType::uint32:
    case DataType::uint64:
    case DataType::float32:
    case DataType::float64:
      return true;
    default:
      return false;
  }
}

// Whether a DCMD value can be written to a point of type `type` (settled details: "A number for
// a numeric point converts as an API write does"; the API's write path does the conversion and
// range check, so any number passes here). Empty when it can; else why not.
std::string write_refusal(DataType type, const MetricValue& v) {
  if (std::holds_alternative<std::monostate>(v)) return "a null value";
  const bool number = std::holds_alternative<std::int64_t>(v) ||
                      std::holds_alternative<std::uint64_t>(v) || std::holds_alternative<double>(v);
  if (type == DataType::boolean) {
    return std::holds_alternative<bool>(v) ? "" : "not a boolean for a Boolean point";
  }
  if (type == DataType::string) {
    return std::holds_alternative<std::string>(v) ? "" : "not text for a String point";
  }
  if (is_numeric(type)) return number ? "" : "not a number for a numeric point";
  return "a point of unknown datatype";
}

}  // namespace

Session::Session(Options o, std::optional<std::uint8_t> last_bd_seq)
    : options_(std::move(o)),
      last_bd_seq_(last_bd_seq),
      // No jitter: a pair has one active node, so nothing reconnects in lockstep, and the spec
      // fixes the sequence 1, 2, 4, 8, 10 s.
      backoff_(kBackoffFloor, kBackoffCap, 0.0) {
  refresh_topics();
}

void Session::refresh_topics() {
  ncmd_topic_ = topic(options_.group_id, MessageType::ncmd, options_.edge_node_id);
  dcmd_prefix_ = topic(options_.group_id, MessageType::dcmd, options_.edge_node_id) + "/";
  state_topic_ =
      options_.primary_host_id.empty() ? std::string() : state_topic(options_.primary_host_id);
}

std::uint64_t Session::published_total() const {
  std::uint64_t n = 0;
  for (auto c : published_)
    n += c;
  return n;
}

// --- bdSeq and the connection ------------------------------------------------------------------

// One more than the last committed session's, so the host sees a new number on every session
// and a failed attempt (never committed) retries with the same one.
std::uint8_t Session::next_bd_seq() const {
  return last_bd_seq_ ? static_cast<std::uint8_t>(*last_bd_seq_ + 1) : std::uint8_t{0};
}

Metric Session::bd_seq_metric(std::uint8_t bd, std::uint64_t wall_ms) const {
  Metric m;
  m.name = std::string(kBdSeqMetric);
  m.type = DataType::int64;
  m.timestamp = wall_ms;
  m.value = static_cast<std::int64_t>(bd);
  return m;
}

Publish Session::make(MessageType t, std::string_view device, std::uint64_t wall_ms) {
  Publish p;
  p.type = t;
  p.topic = topic(options_.group_id, t, options_.edge_node_id, device);
  p.payload.timestamp = wall_ms;
  p.qos = t == MessageType::ndeath ? 1 : 0;
  p.device = std::string(device);
  return p;
}

// NBIRTH starts the sequence at 0; NDEATH (and the will) carry none.
void Session::stamp(Publish& p) {
  if (p.type == MessageType::ndeath) return;
  seq_ = p.type == MessageType::nbirth ? std::uint8_t{0} : static_cast<std::uint8_t>(seq_ + 1);
  p.payload.seq = seq_;
}

void Session::emit(Publish p, Actions& out) {
  stamp(p);
  ++published_[static_cast<std::size_t>(p.type)];
  out.emplace_back(std::move(p));
}

void Session::connect(std::uint64_t wall_ms, Actions& out) {
  attempt_bd_seq_ = next_bd_seq();
  Connect c;
  c.bd_seq = attempt_bd_seq_;
  c.will = make(MessageType::ndeath, {}, wall_ms);
  c.will.payload.metrics.push_back(bd_seq_metric(attempt_bd_seq_, wall_ms));
  c.subscriptions.push_back(ncmd_topic_);
  c.subscriptions.push_back(dcmd_prefix_ + "+");
  if (!state_topic_.empty()) c.subscriptions.push_back(state_topic_);
  state_ = SessionState::connecting;
  wake_at_.reset();
  out.emplace_back(std::move(c));
}

// NDEATH before a clean disconnect: the broker does not publish the will then.
void Session::end_session(std::uint64_t wall_ms, Actions& out) {
  Publish p = make(MessageType::ndeath, {}, wall_ms);
  p.payload.metrics.push_back(bd_seq_metric(attempt_bd_seq_, wall_ms));
  emit(std::move(p), out);
  out.emplace_back(Disconnect{});
}

void Session::set_active(bool active, TimePoint, std::uint64_t wall_ms, Actions& out) {
  if (active == this->active()) return;
  if (active) {
    backoff_.reset();
    connect(wall_ms, out);
    return;
  }
  if (connected()) {
    end_session(wall_ms, out);
  } else if (state_ == SessionState::connecting) {
    out.emplace_back(Disconnect{});  // abandon the attempt; its bdSeq was never committed
  }
  state_ = SessionState::inactive;
  wake_at_.reset();
  // The node that takes over births with the current values, so the held changes would never
  // reach a host from here; kept, they would replay stale data after newer values at the next
  // activation.
  held_.clear();
  backfilled_ = 0;
  backfilling_ = false;
}

void Session::on_connected(TimePoint, std::uint64_t wall_ms, Actions& out) {
  if (state_ != SessionState::connecting) return;
  // The broker holds our will now: a host may see this bdSeq, so the next session needs another.
  last_bd_seq_ = attempt_bd_seq_;
  backoff_.reset();
  if (options_.primary_host_id.empty()) {
    go_live(wall_ms, out);
  } else {
    state_ = SessionState::awaiting_host;
  }
}

void Session::on_connect_failed(TimePoint now, std::string reason, Actions&) {
  last_error_ = "connect failed: " + reason;
  if (state_ != SessionState::connecting) return;
  state_ = SessionState::waiting_to_connect;
  wake_at_ = now + backoff_.next(0.0);
}

void Session::on_connection_lost(TimePoint now, std::string reason, Actions& out) {
  if (state_ == SessionState::connecting) {
    on_connect_failed(now, std::move(reason), out);
    return;
  }
  last_error_ = "connection lost: " + reason;
  if (!connected()) return;
  // on_connected reset the backoff: the first retry after a lost session is 1 s away.
  state_ = SessionState::waiting_to_connect;
  wake_at_ = now + backoff_.next(0.0);
}

std::optional<TimePoint> Session::next_wake() const {
  if (state_ != SessionState::waiting_to_connect) return std::nullopt;
  return wake_at_;
}

void Session::tick(TimePoint now, std::uint64_t wall_ms, Actions& out) {
  if (state_ == SessionState::waiting_to_connect && wake_at_ && now >= *wake_at_) {
    connect(wall_ms, out);
  }
}

void Session::adopt_bd_seq(std::uint8_t last) {
  if (active()) return;
  last_bd_seq_ = last;
}

void Session::set_options(Options o, TimePoint, std::uint64_t wall_ms, Actions& out) {
  const bool new_session = o.group_id != options_.group_id ||
                           o.edge_node_id != options_.edge_node_id ||
                           o.primary_host_id != options_.primary_host_id;
  const bool was_connecting = state_ == SessionState::connecting;
  // The NDEATH goes to the old Edge Node's topic, so it leaves before the options change.
  if (new_session && connected()) end_session(wall_ms, out);
  if (new_session && was_connecting) out.emplace_back(Disconnect{});
  options_ = std::move(o);
  refresh_topics();
  trim_held();
  if (new_session && (connected() || was_connecting)) {
    backoff_.reset();
    connect(wall_ms, out);
  }
}

// --- births and the model ----------------------------------------------------------------------

std::uint64_t Session::alias_for(const std::string& device, const std::string& name) {
  auto [it, inserted] = aliases_.try_emplace({device, name}, next_alias_);
  if (inserted) ++next_alias_;
  return it->second;
}

void Session::go_live(std::uint64_t wall_ms, Actions& out) {
  state_ = SessionState::live;
  publish_births(wall_ms, out);
}

void Session::publish_births(std::uint64_t wall_ms, Actions& out) {
  Publish p = make(MessageType::nbirth, {}, wall_ms);
  auto& metrics = p.payload.metrics;
  metrics.reserve(node_.size() + 2);
  metrics.push_back(bd_seq_metric(attempt_bd_seq_, wall_ms));
  Metric rebirth;
  rebirth.name = std::string(kRebirthMetric);
  rebirth.alias = kRebirthAlias;
  rebirth.type = DataType::boolean;
  rebirth.timestamp = wall_ms;
  rebirth.value = false;
  metrics.push_back(std::move(rebirth));
  for (const auto& n : node_) {
    Metric m;
    m.name = n.metric.name;
    m.alias = n.alias;
    m.type = n.metric.type;
    m.timestamp = wall_ms;
    m.value = n.metric.value;
    metrics.push_back(std::move(m));
  }
  emit(std::move(p), out);
  for (std::uint32_t d = 0; d < devices_.size(); ++d)
    publish_dbirth(d, wall_ms, out);
}

void Session::publish_dbirth(std::uint32_t device, std::uint64_t wall_ms, Actions& out) {
  const DeviceModel& model = models_[device];
  const DeviceState& state = devices_[device];
  Publish p = make(MessageType::dbirth, model.id, wall_ms);
  p.payload.metrics.reserve(model.points.size());
  for (std::size_t i = 0; i < model.points.size(); ++i) {
    const PointState& ps = state.points[i];
    Metric m;
    m.name = model.points[i].name;
    m.alias = ps.alias;
    m.type = model.points[i].type;
    // A point not read yet has no time of its own; the birth's time stands in.
    m.timestamp = ps.time_ms != 0 ? ps.time_ms : wall_ms;
    m.value = ps.value;
    m.quality = ps.quality;
    p.payload.metrics.push_back(std::move(m));
  }
  emit(std::move(p), out);
}

void Session::publish_ddeath(const std::string& id, std::uint64_t wall_ms, Actions& out) {
  emit(make(MessageType::ddeath, id, wall_ms), out);
}

void Session::set_model(std::vector<DeviceModel> devices, std::vector<NodeMetric> node, TimePoint,
                        std::uint64_t wall_ms, Actions& out) {
  // New device states, carrying current values of points kept with the same name and type, and
  // where each old (device, point) went, for the held changes.
  constexpr std::uint32_t kGone = UINT32_MAX;
  std::vector<std::vector<std::pair<std::uint32_t, std::uint32_t>>> moved(models_.size());
  for (std::size_t d = 0; d < models_.size(); ++d)
    moved[d].assign(models_[d].points.size(), {kGone, kGone});
  std::vector<DeviceState> states(devices.size());
  std::vector<bool> born(devices.size(), true);  // needs a DBIRTH while live
  std::map<std::string, std::uint32_t, std::less<>> index;
  for (std::uint32_t d = 0; d < devices.size(); ++d) {
    const DeviceModel& model = devices[d];
    index.emplace(model.id, d);
    auto& points = states[d].points;
    points.resize(model.points.size());
    for (std::size_t i = 0; i < model.points.size(); ++i)
      points[i].alias = alias_for(model.id, model.points[i].name);
    auto old = device_index_.find(model.id);
    if (old == device_index_.end()) continue;
    const std::uint32_t od = old->second;
    born[d] = models_[od] != model;
    std::unordered_map<std::string_view, std::uint32_t> by_name;
    for (std::uint32_t i = 0; i < models_[od].points.size(); ++i)
      by_name.emplace(models_[od].points[i].name, i);
    for (std::uint32_t i = 0; i < model.points.size(); ++i) {
      auto it = by_name.find(model.points[i].name);
      if (it == by_name.end() || models_[od].points[it->second].type != model.points[i].type)
        continue;
      points[i] = devices_[od].points[it->second];
      moved[od][it->second] = {d, i};
    }
  }

  std::deque<Held> kept;
  std::size_t backfilled = 0;
  for (std::size_t n = 0; n < held_.size(); ++n) {
    Held& h = held_[n];
    auto [d, i] = moved[h.device][h.point];
    if (d == kGone) continue;  // its point is gone: nothing to publish it as
    h.device = d;
    h.point = i;
    kept.push_back(std::move(h));
    if (n < backfilled_) ++backfilled;
  }
  held_ = std::move(kept);
  backfilled_ = backfilled;

  bool node_reshaped = node.size() != node_.size();
  for (std::size_t i = 0; !node_reshaped && i < node.size(); ++i)
    node_reshaped = node[i].name != node_[i].metric.name || node[i].type != node_[i].metric.type;
  Publish ndata = make(MessageType::ndata, {}, wall_ms);
  std::vector<NodeState> node_states;
  node_states.reserve(node.size());
  for (std::size_t i = 0; i < node.size(); ++i) {
    const std::uint64_t alias = alias_for({}, node[i].name);
    NodeState n{std::move(node[i]), alias};
    if (!node_reshaped && n.metric.value != node_[i].metric.value) {
      Metric m;
      m.alias = n.alias;
      m.type = n.metric.type;
      m.timestamp = wall_ms;
      m.value = n.metric.value;
      ndata.payload.metrics.push_back(std::move(m));
    }
    node_states.push_back(std::move(n));
  }

  if (live()) {
    for (const auto& old : models_) {
      if (!index.contains(old.id)) publish_ddeath(old.id, wall_ms, out);
    }
  }
  models_ = std::move(devices);
  devices_ = std::move(states);
  device_index_ = std::move(index);
  node_ = std::move(node_states);
  if (!live()) return;
  if (node_reshaped) {
    publish_births(wall_ms, out);
    return;
  }
  for (std::uint32_t d = 0; d < devices_.size(); ++d) {
    if (born[d]) publish_dbirth(d, wall_ms, out);
  }
  if (!ndata.payload.metrics.empty()) emit(std::move(ndata), out);
}

void Session::set_node_metric(std::string_view name, MetricValue v, std::uint64_t wall_ms,
                              Actions& out) {
  auto it = std::find_if(node_.begin(), node_.end(),
                         [&](const NodeState& n) { return n.metric.name == name; });
  if (it == node_.end()) {
    last_error_ = "unknown node metric " + std::string(name);
    return;
  }
  if (it->metric.value == v) return;
  it->metric.value = std::move(v);
  if (!live()) return;
  Publish p = make(MessageType::ndata, {}, wall_ms);
  Metric m;
  m.alias = it->alias;
  m.type = it->metric.type;
  m.timestamp = wall_ms;
  m.value = it->metric.value;
  p.payload.metrics.push_back(std::move(m));
  emit(std::move(p), out);
}

// --- data and store and forward ----------------------------------------------------------------

void Session::on_changes(std::uint32_t device, std::span<const PointChange> changes, TimePoint,
                         std::uint64_t wall_ms, Actions& out) {
  if (device >= devices_.size()) {
    last_error_ = "changes for device index " + std::to_string(device) + " outside the model";
    return;
  }
  auto& points = devices_[device].points;
  for (const auto& c : changes) {
    if (c.point >= points.size()) continue;  // checked again below, where the change is used
    PointState& ps = points[c.point];
    ps.value = c.value;
    ps.quality = c.quality;
    ps.time_ms = c.time_ms;
  }
  if (!active()) return;  // a standby holds nothing: the active node publishes
  if (!live() || !held_.empty() || backfilling_) {
    hold(device, changes);
    return;
  }
  Publish p = make(MessageType::ddata, models_[device].id, wall_ms);
  p.payload.metrics.reserve(changes.size());
  for (const auto& c : changes) {
    if (c.point >= points.size()) continue;
    Metric m;
    m.alias = points[c.point].alias;
    // Kept although Sparkplug lets DDATA omit it: the encoder needs it to pick the wire field
    // (Float vs Double, int_value vs long_value).
    m.type = models_[device].points[c.point].type;
    m.timestamp = c.time_ms;
    m.value = c.value;
    m.quality = c.quality;
    p.payload.metrics.push_back(std::move(m));
    if (p.source_time_ms == 0 || c.time_ms < p.source_time_ms) p.source_time_ms = c.time_ms;
  }
  if (p.payload.metrics.empty()) return;
  emit(std::move(p), out);
}

void Session::hold(std::uint32_t device, std::span<const PointChange> changes) {
  const std::size_t points = devices_[device].points.size();
  // Changes that arrive live but behind held ones were current when they came: not historical.
  const bool historical = !live();
  for (const auto& c : changes) {
    if (c.point >= points) continue;
    held_.push_back(Held{device, c.point, c.quality, historical, c.time_ms, c.value});
  }
  trim_held();
}

void Session::trim_held() {
  while (held_.size() > options_.max_held) {
    held_.pop_front();
    if (backfilled_ > 0) --backfilled_;
    ++dropped_;
  }
}

void Session::begin_backfill() {
  if (active()) backfilling_ = true;
}

void Session::backfill(std::uint32_t device, std::span<const PointChange> changes) {
  if (!backfilling_ || device >= devices_.size()) return;
  const std::size_t points = devices_[device].points.size();
  std::vector<Held> in;
  in.reserve(changes.size());
  for (const auto& c : changes) {
    if (c.point >= points) continue;
    in.push_back(Held{device, c.point, c.quality, true, c.time_ms, c.value});
  }
  const auto at = held_.begin() + static_cast<std::ptrdiff_t>(backfilled_);
  held_.insert(at, std::make_move_iterator(in.begin()), std::make_move_iterator(in.end()));
  backfilled_ += in.size();
  trim_held();
}

void Session::end_backfill() {
  backfilling_ = false;
  backfilled_ = 0;
}

void Session::drain(std::size_t max_messages, std::uint64_t wall_ms, Actions& out) {
  if (!live() || backfilling_) return;
  const std::size_t per_message = std::max<std::size_t>(1, options_.max_metrics_per_message);
  for (std::size_t n = 0; n < max_messages && !held_.empty(); ++n) {
    const std::uint32_t device = held_.front().device;
    const auto& points = devices_[device].points;
    const auto& model = models_[device].points;
    Publish p = make(MessageType::ddata, models_[device].id, wall_ms);
    p.payload.metrics.reserve(std::min(per_message, held_.size()));
    while (!held_.empty() && held_.front().device == device &&
           p.payload.metrics.size() < per_message) {
      Held& h = held_.front();
      Metric m;
      m.alias = points[h.point].alias;
      m.type = model[h.point].type;
      m.timestamp = h.time_ms;
      m.value = std::move(h.value);
      m.quality = h.quality;
      m.historical = h.historical;
      // Held through an outage, a change's latency is the outage's: only live ones count.
      if (!h.historical && (p.source_time_ms == 0 || h.time_ms < p.source_time_ms)) {
        p.source_time_ms = h.time_ms;
      }
      p.payload.metrics.push_back(std::move(m));
      held_.pop_front();
    }
    emit(std::move(p), out);
  }
}

// --- messages in -------------------------------------------------------------------------------

std::vector<WriteRequest> Session::on_message(std::string_view topic, std::string_view payload,
                                              TimePoint, std::uint64_t wall_ms, Actions& out) {
  std::vector<WriteRequest> writes;
  const bool ncmd = topic == ncmd_topic_;
  const bool dcmd = !ncmd && topic.starts_with(dcmd_prefix_);
  if (!state_topic_.empty() && topic == state_topic_) {
    on_state(payload, wall_ms, out);
    return writes;
  }
  if (!ncmd && !dcmd) return writes;
  std::string error;
  std::optional<Payload> p;
  if (options_.decode) {
    p = options_.decode(payload, &error);
  } else {
    error = "no decoder";
  }
  if (!p) {
    ++malformed_;
    last_error_ = std::string("malformed ") + (ncmd ? "NCMD" : "DCMD") + ": " + error;
    return writes;
  }
  if (ncmd) {
    on_ncmd(*p, wall_ms, out);
  } else {
    on_dcmd(topic.substr(dcmd_prefix_.size()), *p, writes);
  }
  return writes;
}

// Sparkplug 3.0 STATE: {"online":bool,"timestamp":ms}. A retained older message (timestamp below
// the last seen) is stale and ignored.
void Session::on_state(std::string_view payload, std::uint64_t wall_ms, Actions& out) {
  const auto json = nlohmann::json::parse(payload, nullptr, false);
  if (json.is_discarded() || !json.is_object() || !json.contains("online") ||
      !json["online"].is_boolean()) {
    ++malformed_;
    last_error_ = "malformed STATE of " + options_.primary_host_id + ": " + std::string(payload);
    return;
  }
  if (json.contains("timestamp") && json["timestamp"].is_number_unsigned()) {
    const auto ts = json["timestamp"].get<std::uint64_t>();
    if (last_state_timestamp_ && ts < *last_state_timestamp_) return;
    last_state_timestamp_ = ts;
  }
  const bool online = json["online"].get<bool>();
  if (online && state_ == SessionState::awaiting_host) {
    go_live(wall_ms, out);
  } else if (!online && state_ == SessionState::live) {
    last_error_ = "primary host " + options_.primary_host_id + " offline";
    end_session(wall_ms, out);
    backoff_.reset();
    connect(wall_ms, out);
  }
}

void Session::refuse(std::string reason) {
  ++commands_refused_;
  last_error_ = std::move(reason);
}

void Session::on_ncmd(const Payload& p, std::uint64_t wall_ms, Actions& out) {
  bool rebirth = false;
  for (const auto& m : p.metrics) {
    const bool is_rebirth =
        m.name == kRebirthMetric || (m.name.empty() && m.alias == kRebirthAlias);
    if (!is_rebirth) {
      refuse("NCMD: unknown node metric " +
             (m.name.empty() ? "alias " + std::to_string(m.alias.value_or(0)) : m.name));
    } else if (!live()) {
      refuse("NCMD: not publishing");
    } else if (!std::holds_alternative<bool>(m.value)) {
      refuse("NCMD: Node Control/Rebirth needs a boolean");
    } else if (std::get<bool>(m.value)) {
      rebirth = true;
    }
  }
  if (rebirth) publish_births(wall_ms, out);
}

void Session::on_dcmd(std::string_view device_id, const Payload& p,
                      std::vector<WriteRequest>& writes) {
  const std::string where = "DCMD to " + std::string(device_id) + ": ";
  if (!live()) {
    for (std::size_t i = 0; i < p.metrics.size(); ++i)
      refuse(where + "not publishing (standby or offline)");
    return;
  }
  auto dev = device_index_.find(device_id);
  if (dev == device_index_.end()) {
    for (std::size_t i = 0; i < p.metrics.size(); ++i)
      refuse(where + "unknown device");
    return;
  }
  const std::uint32_t d = dev->second;
  const auto& model = models_[d].points;
  const auto& points = devices_[d].points;
  writes.reserve(p.metrics.size());
  for (const auto& m : p.metrics) {
    std::size_t i = 0;
    if (m.alias) {
      while (i < points.size() && points[i].alias != *m.alias)
        ++i;
    } else {
      while (i < model.size() && model[i].name != m.name)
        ++i;
    }
    const std::string label = m.alias ? "alias " + std::to_string(*m.alias) : m.name;
    if (i == model.size() || (!m.alias && m.name.empty())) {
      refuse(where + "unknown metric " + label);
      continue;
    }
    if (!model[i].writable) {
      refuse(where + model[i].name + " is not writable");
      continue;
    }
    if (auto why = write_refusal(model[i].type, m.value); !why.empty()) {
      refuse(where + model[i].name + ": " + why);
      continue;
    }
    writes.push_back({d, static_cast<std::uint32_t>(i), m.value});
  }
}

}  // namespace pollux::northbound
