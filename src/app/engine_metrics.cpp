// GET /metrics for the engine (spec/api.md, engine issue: per-channel and per-device counters,
// response-time histograms, queue depths and scheduler overruns), built a part per I/O turn.
//
// At 10,000 devices the text is 6 MB, 13 samples per device; built whole it held the I/O thread
// for 12-15 ms per scrape. Prometheus needs each family's samples together, so a part is one
// per-device family for a range of devices, about BodySource::kPartBytes. Devices are named by
// id when the scrape begins and looked up when their part is built: one removed by a reload
// meanwhile is left out of the families still to come, one added is not in this scrape.
#include <array>

#include "app/engine.hpp"
#include "app/prometheus.hpp"

namespace pollux::app {

namespace {

struct DeviceFamily {
  const char* name;
  const char* help;
  const char* type;
  // The sample's value as exposition text.
  std::string (*value)(const device::RemoteDevice& d, std::uint64_t overruns,
                       runtime::TimePoint now);
};

std::string count(std::uint64_t v) {
  return prometheus::format_uint(v);
}
std::string gauge(double v) {
  return prometheus::format_value(v);
}

using D = const device::RemoteDevice&;
using T = runtime::TimePoint;
// Straight from the device's counters, not through view(): a scrape must stay linear and
// allocation-light (performance issue).
const std::array<DeviceFamily, 13> kDeviceFamilies{{
    {"pollux_device_messages_ok_total", "Messages answered normally", "counter",
     [](D d, std::uint64_t, T) { return count(d.counters.messages_ok); }},
    {"pollux_device_messages_failed_total", "Messages failed after all attempts", "counter",
     [](D d, std::uint64_t, T) { return count(d.counters.messages_failed); }},
    {"pollux_device_exceptions_total", "Messages answered with an exception", "counter",
     [](D d, std::uint64_t, T) { return count(d.counters.exceptions); }},
    {"pollux_device_timeouts_total", "Failed tries: no answer", "counter",
     [](D d, std::uint64_t, T) { return count(d.counters.timeouts); }},
    {"pollux_device_crc_errors_total", "Failed tries: CRC or LRC", "counter",
     [](D d, std::uint64_t, T) { return count(d.counters.crc_errors); }},
    {"pollux_device_framing_errors_total", "Failed tries: framing or connection", "counter",
     [](D d, std::uint64_t, T) { return count(d.counters.framing_errors); }},
    {"pollux_device_polls_ok_total", "Poll attempts completed", "counter",
     [](D d, std::uint64_t, T) { return count(d.counters.polls_ok); }},
    {"pollux_device_polls_failed_total", "Poll attempts failed", "counter",
     [](D d, std::uint64_t, T) { return count(d.counters.polls_failed); }},
    {"pollux_device_polls_skipped_total", "Scheduled polls skipped while demoted", "counter",
     [](D d, std::uint64_t, T) { return count(d.counters.polls_skipped); }},
    {"pollux_device_overruns_total", "Scheduled polls missed", "counter",
     [](D, std::uint64_t overruns, T) { return count(overruns); }},
    {"pollux_device_queue_depth", "Jobs waiting in the device queue", "gauge",
     [](D d, std::uint64_t, T) { return gauge(static_cast<double>(d.queue().size())); }},
    {"pollux_device_active_line", "Active line 1..3", "gauge",
     [](D d, std::uint64_t, T) { return gauge(d.active_line); }},
    {"pollux_device_demoted", "1 while auto-demoted", "gauge",
     [](D d, std::uint64_t, T now) {
       return gauge(d.demoted_until && now < *d.demoted_until ? 1.0 : 0.0);
     }},
}};

}  // namespace

class Engine::MetricsBody final : public BodySource {
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
    while (out.size() < kPartBytes && family_ < kDeviceFamilies.size()) {
      const DeviceFamily& f = kDeviceFamilies[family_];
      if (next_ == 0) prometheus::write_family_header(out, f.name, f.help, f.type);
      for (; next_ < ids_.size() && out.size() < kPartBytes; ++next_) {
        const DeviceRt* rt = engine_.find(ids_[next_]);
        if (!rt) continue;
        std::uint64_t overruns = rt->past_overruns;
        for (auto h : rt->schedule)
          overruns += engine_.scheduler_.overruns(h);
        prometheus::write_sample(out, f.name, {{"device", rt->dev->id()}},
                                 f.value(*rt->dev, overruns, now));
      }
      if (next_ == ids_.size()) {
        ++family_;
        next_ = 0;
      }
    }
    if (family_ == kDeviceFamilies.size()) stage_ = Stage::tail;
    return out;
  }

  enum class Stage { head, devices, tail, done };
  Engine& engine_;
  std::vector<std::string> ids_;
  Stage stage_ = Stage::head;
  std::size_t family_ = 0;
  std::size_t next_ = 0;
};

std::unique_ptr<BodySource> Engine::metrics() {
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
  std::string text;
  // The response-time histograms: written here because the runner keeps fixed-bucket counts
  // (no allocation per observation) rather than prometheus::Histogram objects.
  text += "# HELP pollux_channel_response_seconds Time from sending a try to its answer\n";
  text += "# TYPE pollux_channel_response_seconds histogram\n";
  for (const auto& c : cfg_.channels) {
    auto* r = runner(c.id);
    if (!r) continue;
    const auto& h = r->counters().response_ms;
    const std::string label = prometheus::escape_label_value(c.id);
    std::uint64_t cum = 0;
    for (std::size_t i = 0; i <= scheduler::Histogram::kBoundsMs.size(); ++i) {
      cum += h.buckets[i];
      const std::string le =
          i < scheduler::Histogram::kBoundsMs.size()
              ? prometheus::format_value(scheduler::Histogram::kBoundsMs[i] / 1000.0)
              : "+Inf";
      text += "pollux_channel_response_seconds_bucket{channel=\"" + label + "\",le=\"" + le +
              "\"} " + std::to_string(cum) + "\n";
    }
    text += "pollux_channel_response_seconds_sum{channel=\"" + label + "\"} " +
            prometheus::format_value(h.sum_ms / 1000.0) + "\n";
    text += "pollux_channel_response_seconds_count{channel=\"" + label + "\"} " +
            std::to_string(h.count) + "\n";
  }
  // Lateness of scheduled polls against their due time (performance issue: p99 at a 1 s scan).
  const auto& late = scheduler_.lateness();
  text += "# HELP pollux_scheduler_lateness_seconds Time from a poll's due time to its start\n";
  text += "# TYPE pollux_scheduler_lateness_seconds histogram\n";
  std::uint64_t cum = 0;
  for (std::size_t i = 0; i <= scheduler::LatenessHistogram::kBoundsMs.size(); ++i) {
    cum += late.buckets[i];
    const std::string le =
        i < scheduler::LatenessHistogram::kBoundsMs.size()
            ? prometheus::format_value(scheduler::LatenessHistogram::kBoundsMs[i] / 1000.0)
            : "+Inf";
    text +=
        "pollux_scheduler_lateness_seconds_bucket{le=\"" + le + "\"} " + std::to_string(cum) + "\n";
  }
  text += "pollux_scheduler_lateness_seconds_sum " +
          prometheus::format_value(late.sum_ms / 1000.0) + "\n";
  text += "pollux_scheduler_lateness_seconds_count " + std::to_string(late.count) + "\n";
  return text;
}

}  // namespace pollux::app
