// Prometheus text exposition (format 0.0.4) writers for GET /metrics (spec/api.md: "GET
// /metrics: Prometheus text format").
//
// The node builds its metrics_text() with MetricsWriter: counters, gauges and histograms with
// labels. Samples of one metric family may be added in any order; the writer groups them under
// one "# HELP"/"# TYPE" header, because the format requires a family's lines to be contiguous.
// Label values are escaped here (backslash, double quote, newline) so device and channel ids
// from the config can never break the exposition.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "runtime/histogram.hpp"

namespace pollux::api::prometheus {

using Label = std::pair<std::string_view, std::string_view>;
using Labels = std::initializer_list<Label>;

// Escapes a label value: \ -> \\, " -> \", newline -> \n.
std::string escape_label_value(std::string_view value);
// Escapes HELP text: \ -> \\, newline -> \n.
std::string escape_help(std::string_view help);
// A sample value as Prometheus parses it: shortest round-trip decimal, "NaN", "+Inf", "-Inf".
std::string format_value(double value);
// True for [a-zA-Z_:][a-zA-Z0-9_:]*; label names additionally may not contain ':'.
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

// A family written straight to text, for bodies built a part at a time (MetricsWriter groups a
// family's samples, so it needs them all at once). `name` must be valid; the label names too.
std::string format_uint(std::uint64_t value);
void write_family_header(std::string& out, std::string_view name, std::string_view help,
                         std::string_view type);
void write_sample(std::string& out, std::string_view name, Labels labels, std::string_view value,
                  const Label* extra = nullptr);
// A histogram's samples: name_bucket (cumulative, `le` from `bounds` times `scale`, then
// +Inf), name_sum (times `scale`) and name_count. `counts` has one entry per bound and a last
// one above them all; `scale` converts the unit counted in to the one exposed (1/1000: ms to s).
void write_histogram(std::string& out, std::string_view name, Labels labels,
                     std::span<const double> bounds, std::span<const std::uint64_t> counts,
                     double sum, std::uint64_t count, double scale = 1.0);

// A runtime::Histogram (milliseconds) as the samples above; `scale` 1/1000 exposes seconds.
template <const auto& Bounds>
void write_histogram(std::string& out, std::string_view name, Labels labels,
                     const runtime::Histogram<Bounds>& h, double scale = 1.0) {
  write_histogram(out, name, labels, h.kBoundsMs, h.buckets, h.sum_ms, h.count, scale);
}

class MetricsWriter {
 public:
  // `name` should end in "_total" for counters (Prometheus convention); not enforced.
  void counter(std::string_view name, std::string_view help, Labels labels, std::uint64_t value);
  void counter(std::string_view name, std::string_view help, Labels labels, double value);
  void gauge(std::string_view name, std::string_view help, Labels labels, double value);
  // Writes name_bucket{le=...}, name_sum and name_count (values times `scale`).
  template <const auto& Bounds>
  void histogram(std::string_view name, std::string_view help, Labels labels,
                 const runtime::Histogram<Bounds>& h, double scale = 1.0) {
    write_histogram(family(name, help, "histogram").samples, name, labels, h, scale);
  }

  // The exposition text, families in first-use order.
  std::string text() const;

 private:
  struct Family {
    std::string name;
    std::string type;
    std::string help;
    std::string samples;
  };
  Family& family(std::string_view name, std::string_view help, std::string_view type);

  std::vector<Family> families_;
  // Family index by name: a scrape adds ~13 samples per device for 10,000 devices, so the
  // lookup must not scan the family list each time.
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::size_t, NameHash, std::equal_to<>> index_;
};

}  // namespace pollux::api::prometheus
