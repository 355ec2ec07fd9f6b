// GET /metrics for the engine (spec/api.md, engine issue: per-channel and per-device counters,
// response-time histograms, queue depths and scheduler overruns), built a part per I/O turn.
//
// At 10,000 devices the text is 6 MB, 15 samples per device; built whole it held the I/O thread
// for 12-15 ms per scrape. Prometheus needs each family's samples together, so a part is one
// per-device family for a range of devices, about BodySource::kPartBytes. Devices are named by
// id when the scrape begins and looked up when their part is built: one removed by a reload
// meanwhile is left out of the families still to come, one added is not in this scrape.
#include <array>

#include "api/prometheus.hpp"
#include "engine/engine.hpp"

namespace pollux::engine {

namespace prometheus = api::prometheus;

namespace {

std::string count(std::uint64_t v) {
  return prometheus::format_uint(v);
}
std::string gauge(double v) {
  return prometheus::format_value(v);
}

}  // namespace

class Engine::MetricsBody final : public api::BodySource {
  struct Family {
    const char* name;
    const char* help;
    const char* type;
    // The sample's value as exposition text.
    std::string (*value)(const Engine& e, const DeviceSession& s, runtime::TimePoint now);
  };
  static const std::array<Family, 15> kFamilies;

 public:
  explicit MetricsBody(Engine& engine) : engine_(engine), ids_(engine.device_ids()) {}

  bool done() const override { return stage_ == Stage::done; }

  std::string next() override {
    switch (stage_) {
      case Stage::head:
        stage_ = Stage::devices;
        return engine_.metrics_head();
      case Stage::devices:
        return device_part();
      case Stage::tail:
      case Stage::done:
        break;
    }
    stage_ = Stage::done;
    return engine_.metrics_tail();
  }

 private:
  std::string device_part() {
    std::string out;
    const auto now = engine_.ex_.now();
    while (out.size() < kPartBytes && family_ < kFamilies.size()) {
      const Family& f = kFamilies[family_];
      if (next_ == 0) prometheus::write_family_header(out, f.name, f.help, f.type);
      for (; next_ < ids_.size() && out.size() < kPartBytes; ++next_) {
        const DeviceSession* s = engine_.find(ids_[next_]);
        if (!s) continue;
        prometheus::write_sample(out, f.name, {{"device", s->id()}}, f.value(engine_, *s, now));
      }
      if (next_ == ids_.size()) {
        ++family_;
        next_ = 0;
      }
    }
    if (family_ == kFamilies.size()) stage_ = Stage::tail;
    return out;
  }

  enum class Stage { head, devices, tail, done };
  Engine& engine_;
  std::vector<std::string> ids_;
  Stage stage_ = Stage::head;
  std::size_t family_ = 0;
  std::size_t next_ = 0;
};

// Straight from the device's counters, not through view(): a scrape must stay linear and
// allocation-light (performance issue).
const std::array<Engine::MetricsBody::Family, 15> Engine::MetricsBody::kFamilies{{
    {"pollux_device_messages_ok_total", "Messages answered normally", "counter",
     [](const auto&, const auto& s, auto) { return count(s.device().counters.messages_ok); }},
    {"pollux_device_messages_failed_total", "Messages failed after all attempts", "counter",
     [](const auto&, const auto& s, auto) { return count(s.device().counters.messages_failed); }},
    {"pollux_device_exceptions_total", "Messages answered with an exception", "counter",
     [](const auto&, const auto& s, auto) { return count(s.device().counters.exceptions); }},
    {"pollux_device_timeouts_total", "Failed tries: no answer", "counter",
     [](const auto&, const auto& s, auto) { return count(s.device().counters.timeouts); }},
    {"pollux_device_crc_errors_total", "Failed tries: CRC or LRC", "counter",
     [](const auto&, const auto& s, auto) { return count(s.device().counters.crc_errors); }},
    {"pollux_device_framing_errors_total", "Failed tries: framing or connection", "counter",
     [](const auto&, const auto& s, auto) { return count(s.device().counters.framing_errors); }},
    {"pollux_device_polls_ok_total", "Poll attempts completed", "counter",
     [](const auto&, const auto& s, auto) { return count(s.device().counters.polls_ok); }},
    {"pollux_device_polls_failed_total", "Poll attempts failed", "counter",
     [](const auto&, const auto& s, auto) { return count(s.device().counters.polls_failed); }},
    {"pollux_device_polls_skipped_total", "Scheduled polls skipped while demoted", "counter",
     [](const auto&, const auto& s, auto) { return count(s.device().counters.polls_skipped); }},
    {"pollux_device_overruns_total", "Scheduled polls missed", "counter",
     [](const auto& e, const auto& s, auto) { return count(e.overruns_of(s)); }},
    {"pollux_device_queue_depth", "Jobs waiting in the device queue", "gauge",
     [](const auto&, const auto& s, auto) {
       return gauge(static_cast<double>(s.device().queue().size()));
     }},
    {"pollux_device_active_line", "Active line 1..3", "gauge",
     [](const auto&, const auto& s, auto) { return gauge(s.device().active_line); }},
    {"pollux_device_demoted", "1 while auto-demoted", "gauge",
     [](const auto&, const auto& s, auto now) {
       const auto& until = s.device().demoted_until;
       return gauge(until && now < *until ? 1.0 : 0.0);
     }},
    {"pollux_device_up", "1 while the device answers (DEVICE.comm ok), else 0", "gauge",
     [](const auto& e, const auto& s, auto) {
       return gauge(e.comm_of(s) == api::CommStatus::ok ? 1.0 : 0.0);
     }},
    {"pollux_device_last_success_timestamp_seconds",
     "Unix time of the device's last answer (0: never)", "gauge",
     [](const auto&, const auto& s, auto) {
       const auto& t = s.device().last_success_wall;
       return gauge(t ? std::chrono::duration<double>(t->time_since_epoch()).count() : 0.0);
     }},
}};

std::unique_ptr<api::BodySource> Engine::metrics() {
  return std::make_unique<MetricsBody>(*this);
}

std::string Engine::metrics_head() {
  prometheus::MetricsWriter w;
  w.gauge("pollux_points", "Points in the point store", {}, static_cast<double>(store_.size()));
  w.counter("pollux_point_changes_total", "Point store change sequence", {}, store_.seq());
  w.counter("pollux_scheduler_overruns_total",
            "Scheduled polls skipped because the previous one was still pending or time was lost",
            {}, scheduler_.total_overruns());
  w.counter("pollux_scheduler_polls_due_total", "Scheduled poll due times reached", {},
            scheduler_.total_fired());
  w.counter("pollux_reloads_total", "Applied configuration reloads", {}, reloads_);
  w.counter("pollux_reload_failures_total", "Refused configuration reloads", {}, reload_failures_);
  w.counter("pollux_failover_events_total", "Device line changes", {}, events_.last_seq());
  for (const auto& c : cfg_.channels) {
    auto* r = runner(c.id);
    if (!r) continue;
    const auto& k = r->counters();
    const prometheus::Label ch{"channel", c.id};
    w.gauge("pollux_channel_up", "1 when the channel is usable (status ok)", {ch},
            r->link().status() == transport::LinkStatus::ok ? 1.0 : 0.0);
    w.counter("pollux_channel_messages_total", "Message tries sent on the channel", {ch},
              k.messages);
    w.counter("pollux_channel_answers_total", "Tries answered (normal or exception)", {ch},
              k.answers);
    w.counter("pollux_channel_failures_total", "Tries that failed", {ch}, k.failures);
    w.gauge("pollux_channel_queue_depth", "Jobs queued for devices active on the channel", {ch},
            static_cast<double>(r->queued()));
    w.gauge("pollux_channel_in_flight", "Messages in flight on the channel", {ch},
            static_cast<double>(r->in_flight()));
  }
  return w.text();
}

std::string Engine::metrics_tail() {
  // The runners and the scheduler keep fixed-bucket counts in ms (no allocation per
  // observation); exposed in seconds.
  constexpr double kMsToS = 1.0 / 1000.0;
  std::string text;
  prometheus::write_family_header(text, "pollux_channel_response_seconds",
                                  "Time from sending a try to its answer", "histogram");
  for (const auto& c : cfg_.channels) {
    auto* r = runner(c.id);
    if (!r) continue;
    const auto& h = r->counters().response_ms;
    prometheus::write_histogram(text, "pollux_channel_response_seconds", {{"channel", c.id}},
                                h.kBoundsMs, h.buckets, h.sum_ms, h.count, kMsToS);
  }
  // Lateness of scheduled polls against their due time (performance issue: p99 at a 1 s scan).
  const auto& late = scheduler_.lateness();
  prometheus::write_family_header(text, "pollux_scheduler_lateness_seconds",
                                  "Time from a poll's due time to its start", "histogram");
  prometheus::write_histogram(text, "pollux_scheduler_lateness_seconds", {}, late.kBoundsMs,
                              late.buckets, late.sum_ms, late.count, kMsToS);
  return text;
}

}  // namespace pollux::engine
