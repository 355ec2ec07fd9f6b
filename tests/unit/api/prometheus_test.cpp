#include "api/prometheus.hpp"

#include <array>
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace pollux::api::prometheus {
namespace {

TEST(Prometheus, EscapesLabelValues) {
  EXPECT_EQ(escape_label_value("plain"), "plain");
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\nd"),
            R"(a\\b\"c\nd)");
  EXPECT_EQ(escape_help("line1\nback\\slash \"quoted\""), "line1\\nback\\\\slash \"quoted\"");
}

TEST(Prometheus, FormatsValues) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(12.5), "12.5");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(Prometheus, ValidatesNames) {
  EXPECT_TRUE(valid_metric_name("pollux_device_messages_total"));
  EXPECT_TRUE(valid_metric_name("ns:metric"));
  EXPECT_FALSE(valid_metric_name("9lives"));
  EXPECT_FALSE(valid_metric_name("has-dash"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_TRUE(valid_label_name("device"));
  EXPECT_FALSE(valid_label_name("a:b"));
}

TEST(Prometheus, GroupsFamiliesWithOneHeaderEach) {
  MetricsWriter w;
  w.counter("pollux_messages_total", "Messages by device and result.",
            {{"device", "WELL_01"}, {"result", "ok"}}, std::uint64_t{42});
  w.gauge("pollux_active_line", "Active line per device.", {{"device", "WELL_01"}}, 1);
  // Same family again after another one: must join the first group, not repeat the header.
  w.counter("pollux_messages_total", "Messages by device and result.",
            {{"device", "TANK \"2\""}, {"result", "timeout"}},
            std::uint64_t{18446744073709551615u});
  w.gauge("pollux_up", "1 while the node runs.", {}, 1);
  EXPECT_EQ(w.text(),
            "# HELP pollux_messages_total Messages by device and result.\n"
            "# TYPE pollux_messages_total counter\n"
            "pollux_messages_total{device=\"WELL_01\",result=\"ok\"} 42\n"
            "pollux_messages_total{device=\"TANK \\\"2\\\"\",result=\"timeout\"} "
            "18446744073709551615\n"
            "# HELP pollux_active_line Active line per device.\n"
            "# TYPE pollux_active_line gauge\n"
            "pollux_active_line{device=\"WELL_01\"} 1\n"
            "# HELP pollux_up 1 while the node runs.\n"
            "# TYPE pollux_up gauge\n"
            "pollux_up 1\n");
}

// A runtime::Histogram counts milliseconds; the exporter shows seconds.
inline constexpr std::array<double, 3> kTestBoundsMs{10, 100, 1000};

TEST(Prometheus, HistogramBucketsAreCumulative) {
  runtime::Histogram<kTestBoundsMs> h;
  for (double v : {5.0, 10.0, 50.0, 500.0, 2000.0})
    h.observe(v);
  MetricsWriter w;
  w.histogram("pollux_response_seconds", "Response time.", {{"channel", "COM1"}}, h, 1.0 / 1000.0);
  EXPECT_EQ(w.text(),
            "# HELP pollux_response_seconds Response time.\n"
            "# TYPE pollux_response_seconds histogram\n"
            "pollux_response_seconds_bucket{channel=\"COM1\",le=\"0.01\"} 2\n"
            "pollux_response_seconds_bucket{channel=\"COM1\",le=\"0.1\"} 3\n"
            "pollux_response_seconds_bucket{channel=\"COM1\",le=\"1\"} 4\n"
            "pollux_response_seconds_bucket{channel=\"COM1\",le=\"+Inf\"} 5\n"
            "pollux_response_seconds_sum{channel=\"COM1\"} 2.565\n"
            "pollux_response_seconds_count{channel=\"COM1\"} 5\n");
}

TEST(Prometheus, RejectsMisuse) {
  MetricsWriter w;
  EXPECT_THROW(w.gauge("bad-name", "", {}, 1), std::invalid_argument);
  EXPECT_THROW(w.gauge("ok_name", "", {{"bad:label", "x"}}, 1), std::invalid_argument);
  w.gauge("pollux_x", "", {}, 1);
  EXPECT_THROW(w.counter("pollux_x", "", {}, std::uint64_t{1}), std::invalid_argument);
  // Histogram bounds that do not increase are refused at compile time now
  // (runtime::strictly_increasing, tests/unit/runtime/histogram_test.cpp).
  static_assert(!runtime::strictly_increasing(std::array<double, 2>{1, 1}));
  static_assert(!runtime::strictly_increasing(std::array<double, 2>{2, 1}));
}

}  // namespace
}  // namespace pollux::api::prometheus
