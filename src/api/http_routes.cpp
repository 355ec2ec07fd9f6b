#include "api/http_routes.hpp"

#include <algorithm>
#include <stdexcept>

namespace pollux::api {

namespace http = boost::beast::http;

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

bool is_api_path(std::string_view path) {
  return path == "/api" || path.starts_with("/api/");
}

Methods method_of(http::verb verb) {
  switch (verb) {
    case http::verb::get:
    case http::verb::head:
      return Methods::get;
    case http::verb::post:
      return Methods::post;
    default:
      return Methods::none;
  }
}

}  // namespace

std::optional<std::string> Target::param(std::string_view name) const {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return std::nullopt;
}

std::optional<Target> parse_target(std::string_view target) {
  Target out;
  const auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (path.empty() || path.front() != '/') return std::nullopt;
  out.api = is_api_path(path);
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  std::size_t pos = 1;
  while (pos <= path.size() && path.size() > 1) {
    const auto next = std::min(path.find('/', pos), path.size());
    auto segment = percent_decode(path.substr(pos, next - pos), false);
    if (!segment) return std::nullopt;
    out.segments.push_back(std::move(*segment));
    pos = next + 1;
  }
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    while (!query.empty()) {
      const auto amp = std::min(query.find('&'), query.size());
      const std::string_view pair = query.substr(0, amp);
      query.remove_prefix(std::min(amp + 1, query.size()));
      if (pair.empty()) continue;
      const auto eq = pair.find('=');
      auto key = percent_decode(pair.substr(0, eq), true);
      auto value = percent_decode(
          eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
      if (!key || !value) return std::nullopt;
      out.query.emplace_back(std::move(*key), std::move(*value));
    }
  }
  return out;
}

std::string allow_header(Methods m) {
  std::string out;
  if (has(m, Methods::get)) out += "GET, HEAD";
  if (has(m, Methods::post)) out += out.empty() ? "POST" : ", POST";
  return out;
}

void PathParams::add(std::string_view name, const std::string& value) {
  items_.at(size_++) = {name, &value};
}

const std::string& PathParams::operator[](std::string_view name) const {
  for (std::size_t i = 0; i < size_; ++i) {
    if (items_[i].first == name) return *items_[i].second;
  }
  throw std::out_of_range("no path parameter " + std::string(name));
}

std::size_t RouteMatcher::add(Methods methods, std::string_view pattern) {
  if (pattern.empty() || pattern.front() != '/')
    throw std::invalid_argument("route pattern must be an absolute path: " + std::string(pattern));
  Row row{methods, is_api_path(pattern), {}};
  std::size_t params = 0;
  std::string_view rest = pattern.substr(1);
  while (!rest.empty()) {
    const auto slash = std::min(rest.find('/'), rest.size());
    const std::string_view text = rest.substr(0, slash);
    rest.remove_prefix(std::min(slash + 1, rest.size()));
    if (text.size() >= 2 && text.front() == '{' && text.back() == '}') {
      row.segments.push_back({std::string(text.substr(1, text.size() - 2)), true});
      ++params;
    } else {
      row.segments.push_back({std::string(text), false});
    }
  }
  if (params > PathParams::kMax)
    throw std::invalid_argument("too many parameters in route " + std::string(pattern));
  rows_.push_back(std::move(row));
  return rows_.size() - 1;
}

RouteMatch RouteMatcher::match(http::verb method, const Target& target) const {
  RouteMatch out;
  const Methods asked = method_of(method);
  const auto& segs = target.segments;
  for (std::size_t r = 0; r < rows_.size(); ++r) {
    const Row& row = rows_[r];
    if (row.api != target.api || row.segments.size() != segs.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < segs.size() && same; ++i)
      same = row.segments[i].param || row.segments[i].text == segs[i];
    if (!same) continue;
    if (!has(row.methods, asked)) {
      out.result = RouteMatch::method_not_allowed;
      out.allowed = out.allowed | row.methods;
      continue;
    }
    out.result = RouteMatch::found;
    out.row = r;
    out.allowed = Methods::none;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      if (row.segments[i].param) out.params.add(row.segments[i].text, segs[i]);
    }
    return out;
  }
  return out;
}

}  // namespace pollux::api
