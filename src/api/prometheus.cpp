#include "api/prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace pollux::api::prometheus {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Shortest representation that parses back to the same double (Go's ParseFloat reads it).
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, result.ptr);
}

namespace {

bool name_char(char c, bool first, bool allow_colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (c == ':') return allow_colon;
  return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!name_char(name[i], i == 0, allow_colon)) return false;
  }
  return true;
}

}  // namespace

std::string format_uint(std::uint64_t value) {
  char buf[24];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, result.ptr);
}

void write_family_header(std::string& out, std::string_view name, std::string_view help,
                         std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += escape_help(help);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

bool valid_metric_name(std::string_view name) {
  return valid_name(name, true);
}
bool valid_label_name(std::string_view name) {
  return valid_name(name, false);
}

MetricsWriter::Family& MetricsWriter::family(std::string_view name, std::string_view help,
                                             std::string_view type) {
  if (auto it = index_.find(name); it != index_.end()) {
    Family& f = families_[it->second];
    if (f.type != type) {
      throw std::invalid_argument("metric " + std::string(name) + " used with two types");
    }
    return f;
  }
  if (!valid_metric_name(name)) {
    throw std::invalid_argument("invalid metric name: " + std::string(name));
  }
  index_.emplace(std::string(name), families_.size());
  families_.push_back({std::string(name), std::string(type), std::string(help), {}});
  return families_.back();
}

void write_sample(std::string& out, std::string_view name, Labels labels, std::string_view value,
                  const Label* extra) {
  out += name;
  if (labels.size() > 0 || extra != nullptr) {
    out += '{';
    bool first = true;
    auto add = [&](const Label& label) {
      if (!valid_label_name(label.first)) {
        throw std::invalid_argument("invalid label name: " + std::string(label.first));
      }
      if (!first) out += ',';
      first = false;
      out += label.first;
      out += "=\"";
      out += escape_label_value(label.second);
      out += '"';
    };
    for (const auto& label : labels)
      add(label);
    if (extra != nullptr) add(*extra);
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

void MetricsWriter::counter(std::string_view name, std::string_view help, Labels labels,
                            std::uint64_t value) {
  write_sample(family(name, help, "counter").samples, name, labels, format_uint(value));
}

void MetricsWriter::counter(std::string_view name, std::string_view help, Labels labels,
                            double value) {
  write_sample(family(name, help, "counter").samples, name, labels, format_value(value));
}

void MetricsWriter::gauge(std::string_view name, std::string_view help, Labels labels,
                          double value) {
  write_sample(family(name, help, "gauge").samples, name, labels, format_value(value));
}

void write_histogram(std::string& out, std::string_view name, Labels labels,
                     std::span<const double> bounds, std::span<const std::uint64_t> counts,
                     double sum, std::uint64_t count, double scale) {
  const std::string bucket = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts[i];
    const std::string le = format_value(bounds[i] * scale);
    const Label extra{"le", le};
    write_sample(out, bucket, labels, format_uint(cumulative), &extra);
  }
  const Label inf{"le", "+Inf"};
  write_sample(out, bucket, labels, format_uint(count), &inf);
  write_sample(out, std::string(name) + "_sum", labels, format_value(sum * scale));
  write_sample(out, std::string(name) + "_count", labels, format_uint(count));
}

std::string MetricsWriter::text() const {
  // Sized once: 10,000 devices make megabytes of samples, and growing by doubling would leave
  // that much garbage behind at the scrape's memory peak. The slack takes what callers append
  // (hand-written histograms, the node's redundancy metrics) without a copy.
  std::size_t size = 16384;
  for (const auto& f : families_)
    size += 2 * f.name.size() + f.help.size() + f.type.size() + f.samples.size() + 20;
  std::string out;
  out.reserve(size);
  for (const auto& f : families_) {
    write_family_header(out, f.name, f.help, f.type);
    out += f.samples;
  }
  return out;
}

}  // namespace pollux::api::prometheus
