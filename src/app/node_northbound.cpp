#include "app/node_northbound.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <utility>

#include "api/prometheus.hpp"
#include "app/northbound_mqtt.hpp"
#include "northbound/encoder.hpp"
#include "northbound/metric_mapping.hpp"
#include "runtime/logging.hpp"

namespace pollux::app {

namespace nb = pollux::northbound;

namespace {

// Publishes handed to the MQTT client and not yet written: held changes go out only while
// fewer are in flight, so a drain after a long outage keeps pace with the socket.
constexpr std::size_t kWindow = 64;
// Changes taken from the feed per executor turn.
constexpr std::size_t kSlice = 4096;
constexpr auto kProbePeriod = runtime::seconds(1);
// How often the state file follows held_since while changes are held, and how far past the
// time of writing its held_until reaches (a refresh may run late on a busy machine).
constexpr auto kStateRefresh = runtime::milliseconds(500);
constexpr std::uint64_t kHeldUntilMarginMs = 1000;
// Records read back from history per page, and how often a failed read is tried (a second
// apart) before the changes are given up.
constexpr std::size_t kReadBackPage = 10'000;
constexpr int kReadBackAttempts = 10;
constexpr auto kReadBackRetry = runtime::seconds(1);

constexpr std::array<nb::MessageType, 9> kTypes{
    nb::MessageType::nbirth, nb::MessageType::ndeath, nb::MessageType::dbirth,
    nb::MessageType::ddeath, nb::MessageType::ndata,  nb::MessageType::ddata,
    nb::MessageType::ncmd,   nb::MessageType::dcmd,   nb::MessageType::state};

// DCMD value -> the API's write value (the write path converts and range-checks as for JSON).
api::WriteValue write_value(const nb::MetricValue& v) {
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  if (const auto* u = std::get_if<std::uint64_t>(&v)) {
    if (*u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return static_cast<std::int64_t>(*u);
    return static_cast<double>(*u);
  }
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return std::string();
}

}  // namespace

NodeNorthbound::NodeNorthbound(runtime::Executor& ex, engine::Engine& engine, Write write)
    : ex_(ex), engine_(engine), write_(std::move(write)) {}

NodeNorthbound::~NodeNorthbound() {
  stop();
  *alive_ = false;
}

std::uint64_t NodeNorthbound::wall_ms() const {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(ex_.wall_now().time_since_epoch())
          .count());
}

// --------------------------------------------------------------------------- lifecycle ---

void NodeNorthbound::configure(const config::Config& cfg) {
  node_name_ = cfg.node.name;
  if (!started_) {
    started_ = true;
    start_ms_ = wall_ms();
  }
  if (!cfg.northbound) {
    end_session();
    settings_.reset();
    return;
  }
  const config::NorthboundSettings& s = *cfg.northbound;
  // Another broker or client needs another client (and session); new Sparkplug ids or a new
  // max_records apply to the running session (Session::set_options: NDEATH, then a new one).
  const bool remake =
      !settings_ || settings_->mqtt != s.mqtt || settings_->state_path != s.state_path;
  if (remake) end_session();
  settings_ = s;
  if (loaded_state_path_ != s.state_path) load_state();
  nb::Actions actions;
  if (!session_) {
    make_session(s);
  } else {
    session_->set_options(session_options(s), ex_.now(), wall_ms(), actions);
    run(actions);
  }
  std::vector<nb::DeviceModel> devices;
  build_model(cfg, devices);
  session_->set_model(std::move(devices), node_metrics(), ex_.now(), wall_ms(), actions);
  run(actions);
  seed_current();
  if (!sub_) sub_ = engine_.changes().subscribe([this] { drain_feed(); });
  if (!probe_timer_) arm_probe();
  if (active_) {
    session_->set_active(true, ex_.now(), wall_ms(), actions);
    run(actions);
    start_backfill();
  }
}

nb::Session::Options NodeNorthbound::session_options(const config::NorthboundSettings& s) {
  nb::Session::Options o;
  o.group_id = s.sparkplug.group_id;
  o.edge_node_id = s.sparkplug.edge_node_id;
  o.primary_host_id = s.sparkplug.primary_host_id;
  o.max_held = static_cast<std::size_t>(s.max_records);
  o.decode = [](std::string_view bytes, std::string* error) { return nb::decode(bytes, error); };
  return o;
}

void NodeNorthbound::make_session(const config::NorthboundSettings& s) {
  // The last session's bdSeq: from the state file or the peer.
  std::optional<std::uint8_t> last;
  if (saved_bd_seq_) last = static_cast<std::uint8_t>(*saved_bd_seq_ & 0xFF);
  session_ = std::make_unique<nb::Session>(session_options(s), last);
  recorder_.clear();

  mqtt::ClientOptions co = mqtt_client_options(s, node_name_);
  // A client's handlers act only while it is this session's one: a retired client (reload,
  // handover) finishes its DISCONNECT on its own and is then destroyed.
  const std::uint64_t gen = ++generation_;
  const auto current = [this, gen] { return gen == generation_ && session_; };
  mqtt::Handlers h;
  h.connected = [this, current] {
    if (!current()) return;
    last_error_.clear();
    nb::Actions a;
    session_->on_connected(ex_.now(), wall_ms(), a);
    spdlog::info("northbound: connected to {} as {}", settings_->mqtt.url,
                 settings_->resolved_client_id(node_name_));
    run(a);
  };
  h.connect_failed = [this, current](std::string reason) {
    if (!current()) return;
    if (reason != last_error_)
      spdlog::warn("northbound: {} refused the connection: {}", settings_->mqtt.url, reason);
    last_error_ = reason;
    nb::Actions a;
    session_->on_connect_failed(ex_.now(), std::move(reason), a);
    run(a);
  };
  h.connection_lost = [this, current](std::string reason) {
    if (!current()) return;
    spdlog::warn("northbound: connection to {} lost: {}", settings_->mqtt.url, reason);
    last_error_ = reason;
    source_times_.clear();
    nb::Actions a;
    session_->on_connection_lost(ex_.now(), std::move(reason), a);
    run(a);
  };
  h.message = [this, current](std::string topic, std::string payload) {
    if (current()) on_message(topic, payload);
  };
  h.published = [this, current](std::uint64_t cookie, bool ok) {
    if (current()) on_published(cookie, ok);
  };
  h.disconnected = [this, gen] {
    std::erase_if(retiring_, [gen](const auto& r) { return r.first == gen; });
  };
  client_ = std::make_unique<mqtt::Client>(ex_, std::move(co), std::move(h));
  disconnecting_ = false;
}

void NodeNorthbound::end_session() {
  if (!session_) return;
  nb::Actions actions;
  session_->set_active(false, ex_.now(), wall_ms(), actions);
  run(actions);
  // The client goes once its NDEATH and DISCONNECT are out (its `disconnected`): destroying it
  // now would wait for them on this thread.
  if (client_) {
    if (!disconnecting_) client_->disconnect();
    retiring_.emplace_back(generation_, std::move(client_));
  }
  ++generation_;
  session_.reset();
  source_times_.clear();
  if (wake_timer_) ex_.cancel(wake_timer_);
  wake_timer_ = {};
  wake_at_.reset();
}

void NodeNorthbound::set_active(bool active) {
  // What the feed holds happened under the old activity, so it is taken under it. Becoming
  // active: a change the peer polled and published arrives by state sync just before the
  // handover; it is current state for the births, not data to send a second time (soak seed 11).
  // Going standby: the last changes polled here still go out before the NDEATH.
  if (session_ && sub_) {
    std::size_t taken = 0;
    do
      taken = take_slice();
    while (taken == kSlice);
  }
  active_ = active;
  if (!session_) return;
  const bool was_active = session_->active();
  nb::Actions actions;
  session_->set_node_metric("Redundancy/Activity", std::string(active ? "active" : "standby"),
                            wall_ms(), actions);
  session_->set_active(active, ex_.now(), wall_ms(), actions);
  // A standby holds nothing (the session dropped what it held): nothing is left to replay.
  if (was_active && !active && held_since_) {
    held_since_.reset();
    save_state();
  }
  run(actions);
  if (active) start_backfill();
}

void NodeNorthbound::stop() {
  // A clean stop while changes are held: the state file says exactly from when to when.
  if (held_since_ && session_ && session_->active()) {
    stopping_at_ = wall_ms();
    save_state();
  }
  if (state_timer_) ex_.cancel(state_timer_);
  state_timer_ = {};
  end_session();
  retiring_.clear();  // the process is ending: wait for their DISCONNECTs here
  if (sub_) engine_.changes().unsubscribe(sub_);
  sub_ = {};
  if (probe_timer_) ex_.cancel(probe_timer_);
  probe_timer_ = {};
}

// ------------------------------------------------------------------------------- model ---

void NodeNorthbound::build_model(const config::Config& cfg, std::vector<nb::DeviceModel>& out) {
  const config::HistorySettings h = cfg.history.value_or(config::HistorySettings{});
  const auto& store = engine_.store();
  std::unordered_map<points::PointId, Slot> slots;
  device_ids_.clear();
  device_points_.clear();
  for (const auto& d : cfg.devices) {
    if (!d.enabled) continue;
    const auto index = static_cast<std::uint32_t>(out.size());
    nb::DeviceModel m;
    m.id = d.id;
    std::vector<points::PointId> ids;
    std::set<std::string_view> writable(d.writable.begin(), d.writable.end());
    std::set<std::string_view> own;
    const auto add = [&](points::PointId id, std::string name, nb::DataType type, bool w,
                         history::Rule rule) {
      slots[id] = Slot{index, static_cast<std::uint32_t>(m.points.size()), type, rule};
      m.points.push_back(nb::PointModel{std::move(name), type, w});
      ids.push_back(id);
    };
    for (const auto& g : d.polls)
      for (const auto& p : g.points) {
        const auto id = store.find(d.id, p.name);
        if (!id || !own.insert(p.name).second) continue;
        const double deadband = p.history.deadband.value_or(h.deadband);
        add(*id, p.name, nb::datatype_for(p), writable.contains(p.name), {deadband, 0});
      }
    // The SYDEV* status points: every other point the store holds for the device.
    for (points::PointId id : store.device_points(d.id)) {
      const points::PointRecord& r = store.get(id);
      if (own.contains(r.name)) continue;
      add(id, r.name, nb::status_datatype(r.value), false, {0, 0});
    }
    out.push_back(std::move(m));
    device_ids_.push_back(d.id);
    device_points_.push_back(std::move(ids));
  }
  for (const auto& [id, slot] : slots_)
    if (!slots.contains(id)) recorder_.forget(id);
  slots_ = std::move(slots);
}

std::vector<nb::NodeMetric> NodeNorthbound::node_metrics() const {
  return {
      {"Redundancy/Activity", nb::DataType::string, std::string(active_ ? "active" : "standby")},
      {"Redundancy/Peer Connected", nb::DataType::boolean, peer_connected_},
      {"Node Info/Name", nb::DataType::string, node_name_}};
}

// The state the points hold now, as the session's current values: a DBIRTH then carries them.
void NodeNorthbound::seed_current() {
  const auto& store = engine_.store();
  for (std::uint32_t d = 0; d < device_points_.size(); ++d) {
    for (points::PointId id : device_points_[d]) {
      const points::PointRecord& r = store.get(id);
      if (!r.timestamp) continue;
      const Slot& slot = slots_.at(id);
      const auto ms = static_cast<std::uint64_t>(history::to_millis(*r.timestamp));
      if (!recorder_.observe(id, slot.rule, static_cast<history::Millis>(ms), r.value, r.quality))
        continue;
      group_.push_back(nb::PointChange{slot.point, nb::metric_value(r.value, slot.type),
                                       nb::quality_code(r.quality), ms});
    }
    if (group_.empty()) continue;
    nb::Actions actions;
    note_first(group_);
    session_->on_changes(d, group_, ex_.now(), wall_ms(), actions);
    group_.clear();
    run(actions);
  }
}

// --------------------------------------------------------------------------- the feed ---

std::size_t NodeNorthbound::take_slice() {
  const points::ReadResult r =
      engine_.changes().read(sub_, kSlice, [this](const points::Change& c) { take(c); });
  if (r.lost) {
    spdlog::warn("northbound fell a change-feed ring behind: sending every point's state");
    engine_.changes().for_each_current(engine_.store(),
                                       [this](const points::Change& c) { take(c); });
  }
  flush_group();
  return r.count;
}

void NodeNorthbound::drain_feed() {
  if (!session_) return;
  if (take_slice() == kSlice && !drain_posted_) {
    drain_posted_ = true;
    ex_.post([this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.expired()) return;
      drain_posted_ = false;
      drain_feed();
    });
  }
}

void NodeNorthbound::take(const points::Change& c) {
  if (c.kind == points::ChangeKind::removed) {
    recorder_.forget(c.point);
    return;
  }
  const auto it = slots_.find(c.point);
  if (it == slots_.end()) return;
  const Slot& slot = it->second;
  const history::Millis ms = history::to_millis(c.time);
  if (!recorder_.observe(c.point, slot.rule, ms, c.value, c.quality)) return;
  // One DDATA per device per poll result: the changes of one result come together, with one
  // time.
  const auto t = static_cast<std::uint64_t>(ms);
  if (group_device_ && (*group_device_ != slot.device || group_time_ != t)) flush_group();
  group_device_ = slot.device;
  group_time_ = t;
  group_.push_back(nb::PointChange{slot.point, nb::metric_value(c.value, slot.type),
                                   nb::quality_code(c.quality), t});
}

void NodeNorthbound::flush_group() {
  if (!group_device_) return;
  nb::Actions actions;
  if (!group_.empty()) {
    note_first(group_);
    session_->on_changes(*group_device_, group_, ex_.now(), wall_ms(), actions);
  }
  group_.clear();
  group_device_.reset();
  run(actions);
}

// ------------------------------------------------------------------------- the session ---

void NodeNorthbound::run(nb::Actions& actions) {
  for (auto& a : actions) {
    if (auto* c = std::get_if<nb::Connect>(&a)) {
      connect(*c);
    } else if (auto* p = std::get_if<nb::Publish>(&a)) {
      publish(*p);
    } else if (std::holds_alternative<nb::Disconnect>(a)) {
      if (client_) client_->disconnect();
      disconnecting_ = true;
    }
  }
  actions.clear();
  if (!session_) return;
  // A session's bdSeq is committed once connected (or adopted from the peer): kept for a
  // restart and for the pair.
  if (const auto bd = session_->bd_seq(); bd && saved_bd_seq_ != *bd) {
    saved_bd_seq_ = *bd;
    save_state();
  }
  arm_wake();
  pump();
  track_held();
}

void NodeNorthbound::track_held() {
  if (!session_ || !session_->active()) return;
  const std::optional<std::uint64_t> oldest = session_->oldest_held_ms();
  if (!held_since_) {
    if (!oldest) return;
    held_since_ = oldest;
    dropped_when_held_ = session_->dropped();
    save_state();
    arm_state_refresh();
    return;
  }
  arm_state_refresh();
  // It stays put while a read-back runs (its pages not yet read are still to come) and once a
  // change was dropped for max_records (still in the store: a restart replays it).
  if (session_->backfilling() || session_->dropped() != dropped_when_held_) return;
  if (!oldest) {
    if (!session_->live()) return;
    held_since_.reset();
    save_state();
  } else if (*oldest > *held_since_) {
    held_since_ = oldest;  // saved by the refresh, at most kStateRefresh late
  }
  if (held_since_) arm_state_refresh();
}

// While changes are held the state file is written every kStateRefresh: held_since as it
// moved, and held_until, the time up to which this process may hold changes if it is killed
// before the next refresh. A restart reads back only that window, never what the peer
// published after a takeover.
void NodeNorthbound::arm_state_refresh() {
  if (state_timer_) return;
  state_timer_ = ex_.schedule_after(kStateRefresh, [this] {
    state_timer_ = {};
    if (!held_since_ || !session_ || !session_->active()) return;
    save_state();
    arm_state_refresh();
  });
}

// ------------------------------------------------------------ store and forward, restart ---

void NodeNorthbound::note_first(const std::vector<nb::PointChange>& changes) {
  for (const auto& c : changes)
    start_ms_ = std::min(start_ms_, c.time_ms);
}

void NodeNorthbound::start_backfill() {
  if (!replay_from_ || !session_ || !session_->active()) return;
  const history::Millis from = static_cast<history::Millis>(*replay_from_);
  replay_from_.reset();  // once per process
  history::History* h = history_ ? history_() : nullptr;
  if (!h) {
    spdlog::warn(
        "northbound: changes held since {} by the last run are lost: no history to read "
        "them back from",
        from);
    return;
  }
  backfill_to_ = static_cast<history::Millis>(std::min(start_ms_, replay_to_.value_or(start_ms_)));
  if (from >= backfill_to_) return;
  session_->begin_backfill();
  backfill_generation_ = generation_;
  spdlog::info("northbound: reading the changes held by the last run back from history");
  read_back(from, 1);
}

void NodeNorthbound::read_back(history::Millis from, int attempt) {
  history::History* h = history_ ? history_() : nullptr;
  if (!h || !session_ || generation_ != backfill_generation_ || !session_->backfilling())
    return finish_backfill();
  h->read_window(
      {from, backfill_to_, kReadBackPage},
      [this, from, attempt, alive = std::weak_ptr<bool>(alive_)](history::WindowAnswer a) {
        if (alive.expired()) return;
        on_read_back(std::move(a), from, attempt);
      });
}

void NodeNorthbound::on_read_back(history::WindowAnswer a, history::Millis from, int attempt) {
  if (!session_ || generation_ != backfill_generation_ || !session_->backfilling())
    return finish_backfill();
  if (!a.page) {
    if (attempt >= kReadBackAttempts) {
      spdlog::warn(
          "northbound: cannot read held changes back from history ({}): the rest of "
          "them is not sent",
          a.error);
      return finish_backfill();
    }
    ex_.schedule_after(kReadBackRetry, [this, from, attempt, alive = std::weak_ptr<bool>(alive_)] {
      if (!alive.expired()) read_back(from, attempt + 1);
    });
    return;
  }
  // Consecutive records of one device at one time are one poll result: one DDATA, as live.
  const auto& store = engine_.store();
  std::optional<std::uint32_t> device;
  std::uint64_t time = 0;
  std::vector<nb::PointChange> changes;
  const auto flush = [&] {
    if (device && !changes.empty()) session_->backfill(*device, changes);
    changes.clear();
  };
  for (const history::Record& r : a.page->records) {
    const auto id = store.find(r.series->device, r.series->point);
    if (!id) continue;
    const auto it = slots_.find(*id);
    if (it == slots_.end()) continue;  // not a point of the model (any more)
    const Slot& slot = it->second;
    const auto t = static_cast<std::uint64_t>(r.time);
    if (device != slot.device || time != t) flush();
    device = slot.device;
    time = t;
    changes.push_back(nb::PointChange{slot.point, nb::metric_value(r.value, slot.type),
                                      nb::quality_code(r.quality), t});
  }
  flush();
  if (a.page->next) return read_back(*a.page->next, 1);
  finish_backfill();
}

void NodeNorthbound::finish_backfill() {
  if (!session_ || !session_->backfilling()) return;
  session_->end_backfill();
  spdlog::info("northbound: {} changes wait to be sent", session_->held());
  nb::Actions actions;
  run(actions);
}

void NodeNorthbound::connect(nb::Connect& c) {
  if (!client_) return;
  disconnecting_ = false;
  client_->connect(mqtt::Will{c.will.topic, nb::encode(c.will.payload), c.will.qos, false},
                   std::move(c.subscriptions));
}

void NodeNorthbound::publish(nb::Publish& p) {
  ++messages_[static_cast<std::size_t>(p.type)];
  if (!client_) return;
  const std::uint64_t cookie = ++next_cookie_;
  if (p.source_time_ms) source_times_.emplace(cookie, p.source_time_ms);
  ++published_;
  client_->publish(std::move(p.topic), nb::encode(p.payload), p.qos, cookie);
}

// Held changes go out while the client has room; on_published calls back for more.
void NodeNorthbound::pump() {
  if (!session_ || !client_ || !session_->live() || session_->held() == 0) return;
  const std::size_t in_flight = client_->in_flight();
  if (in_flight >= kWindow) return;
  nb::Actions actions;
  session_->drain(kWindow - in_flight, wall_ms(), actions);
  if (!actions.empty()) run(actions);
}

void NodeNorthbound::on_published(std::uint64_t cookie, bool ok) {
  if (const auto it = source_times_.find(cookie); it != source_times_.end()) {
    const std::uint64_t now = wall_ms();
    if (ok) publish_ms_.observe(now > it->second ? static_cast<double>(now - it->second) : 0.0);
    source_times_.erase(it);
  }
  if (!ok) ++publish_failures_;
  pump();
}

void NodeNorthbound::arm_wake() {
  const auto due = session_ ? session_->next_wake() : std::nullopt;
  if (due == wake_at_) return;
  if (wake_timer_) ex_.cancel(wake_timer_);
  wake_timer_ = {};
  wake_at_ = due;
  if (!due) return;
  wake_timer_ = ex_.schedule_at(*due, [this] {
    wake_timer_ = {};
    wake_at_.reset();
    if (!session_) return;
    nb::Actions actions;
    session_->tick(ex_.now(), wall_ms(), actions);
    run(actions);
  });
}

// Redundancy/Peer Connected follows the pair's link.
void NodeNorthbound::arm_probe() {
  probe_timer_ = ex_.schedule_after(kProbePeriod, [this] {
    probe_timer_ = {};
    const bool linked = peer_linked_ && peer_linked_();
    if (session_ && linked != peer_connected_) {
      peer_connected_ = linked;
      nb::Actions actions;
      session_->set_node_metric("Redundancy/Peer Connected", linked, wall_ms(), actions);
      run(actions);
    }
    arm_probe();
  });
}

// ------------------------------------------------------------------------- commands ---

void NodeNorthbound::on_message(const std::string& topic, const std::string& payload) {
  if (!session_) return;
  nb::Actions actions;
  const std::vector<nb::WriteRequest> writes =
      session_->on_message(topic, payload, ex_.now(), wall_ms(), actions);
  run(actions);
  for (const auto& w : writes)
    execute(w);
}

void NodeNorthbound::execute(const nb::WriteRequest& w) {
  if (w.device >= device_ids_.size() || w.point >= device_points_[w.device].size()) return;
  const std::string device = device_ids_[w.device];
  const std::string point = engine_.store().get(device_points_[w.device][w.point]).name;
  spdlog::info("northbound: DCMD writes {}.{}", device, point);
  write_(device, point, write_value(w.value), [device, point](api::Outcome o) {
    if (!o.ok())
      spdlog::warn("northbound: DCMD write of {}.{} failed: {} {}", device, point, o.status,
                   o.error);
  });
}

// --------------------------------------------------------------------- bdSeq and pair ---

std::optional<std::uint64_t> NodeNorthbound::bd_seq() const {
  return saved_bd_seq_;
}

void NodeNorthbound::adopt_bd_seq(std::uint64_t bd_seq) {
  if (!settings_ || active_ || saved_bd_seq_ == bd_seq) return;
  if (session_) session_->adopt_bd_seq(static_cast<std::uint8_t>(bd_seq & 0xFF));
  saved_bd_seq_ = bd_seq & 0xFF;
  save_state();
}

// The state file: lines "bd_seq N" (first, as it always was), and while changes wait to be
// published "held_since MS" (the oldest of them) and "held_until MS" (no change of this process
// is later: its clean stop, or a bound a little past the last refresh). Missing or unreadable:
// the first session sends 0 and nothing is replayed. Unknown lines are skipped; a file without
// held_until (an older version) is replayed up to this process's start.
void NodeNorthbound::load_state() {
  loaded_state_path_ = settings_->state_path;
  saved_bd_seq_.reset();
  held_since_.reset();
  replay_to_.reset();
  std::ifstream in(settings_->state_path);
  std::string key;
  std::uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "bd_seq" && value <= 255) saved_bd_seq_ = value;
    if (key == "held_since") held_since_ = value;
    if (key == "held_until") replay_to_ = value;
  }
  replay_from_ = held_since_;
  if (!held_since_) replay_to_.reset();
}

// Written beside and renamed over, so a crash leaves the old file or the new one.
void NodeNorthbound::save_state() {
  if (!settings_ || settings_->state_path.empty()) return;
  const std::string& path = settings_->state_path;
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (saved_bd_seq_) out << "bd_seq " << *saved_bd_seq_ << "\n";
    if (held_since_) {
      out << "held_since " << *held_since_ << "\n";
      // Active: this process's own changes (its clean stop, or a bound past this refresh).
      // Standby: still the window it found in the file, not yet read back.
      const bool active = session_ && session_->active();
      const std::optional<std::uint64_t> known = active ? stopping_at_ : replay_to_;
      out << "held_until " << known.value_or(wall_ms() + kHeldUntilMarginMs) << "\n";
    }
    out.flush();
    if (!out) {
      spdlog::warn(
          "northbound: cannot write {}: bdSeq and held changes will not survive a "
          "restart",
          tmp);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) spdlog::warn("northbound: cannot write {}: {}", path, ec.message());
}

// ------------------------------------------------------------------------------- views ---

std::optional<api::NorthboundView> NodeNorthbound::view() const {
  if (!settings_ || !session_) return std::nullopt;
  api::NorthboundView v;
  v.connected = session_->connected();
  v.broker = settings_->mqtt.url;
  v.edge_node = settings_->sparkplug.group_id + "/" + settings_->sparkplug.edge_node_id;
  v.bd_seq = session_->bd_seq().value_or(0);
  v.seq = static_cast<std::int64_t>(session_->seq());
  v.held = session_->held();
  v.published = published_;
  v.last_error = last_error_.empty() ? std::string(session_->last_error()) : last_error_;
  v.state = std::string(nb::to_string(session_->state()));
  v.dropped = session_->dropped();
  v.commands_refused = session_->commands_refused();
  return v;
}

std::string NodeNorthbound::metrics_text() const {
  if (!settings_ || !session_) return {};
  api::prometheus::MetricsWriter w;
  for (nb::MessageType t : kTypes) {
    if (t == nb::MessageType::ncmd || t == nb::MessageType::dcmd || t == nb::MessageType::state)
      continue;
    w.counter("pollux_northbound_messages_total", "Sparkplug messages published, by type",
              {{"type", std::string(nb::to_string(t))}}, messages_[static_cast<std::size_t>(t)]);
  }
  w.gauge("pollux_northbound_held_records", "Metric values held while not publishing", {},
          static_cast<double>(session_->held()));
  w.counter("pollux_northbound_dropped_total",
            "Held metric values dropped past store_and_forward.max_records", {},
            session_->dropped());
  w.counter("pollux_northbound_commands_refused_total", "DCMD metric values refused", {},
            session_->commands_refused());
  w.gauge("pollux_northbound_connected", "1 while connected to the broker", {},
          session_->connected() ? 1.0 : 0.0);
  w.histogram("pollux_northbound_publish_seconds",
              "Poll result to the MQTT client having written the DDATA", {}, publish_ms_,
              1.0 / 1000);
  return w.text();
}

}  // namespace pollux::app
