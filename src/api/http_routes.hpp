// HTTP request targets and the routing table's matcher (spec/api.md "HTTP API": the paths and
// methods it lists, 404 for an unknown path, 405 with Allow for a known path asked with another
// method; DESIGN.md src/api "HTTP routing table").
//
// The server declares its routes as rows of (methods, path pattern, handler); this file parses a
// request target into decoded path segments and query pairs, and finds the row a request
// belongs to, so routing is data rather than a chain of ifs. A pattern is a path whose segments
// are literals or `{name}` parameters matching any one segment ("/api/v1/devices/{id}/line").
// Segments are compared after percent-decoding, and a trailing slash is ignored, as api.md's
// ids may hold any character. A path under /api/ (as sent, before decoding) only matches rows
// under /api/ and any other path only rows outside it, because the two answer errors in
// different forms (JSON, plain text).
//
// Usage:
//   RouteMatcher m;
//   const auto row = m.add(Methods::post, "/api/v1/devices/{id}/line");
//   const auto target = parse_target(req.target());            // nullopt: 400
//   const RouteMatch r = m.match(req.method(), *target);
//   if (r.result == RouteMatch::found && r.row == row) select(r.params["id"]) ...
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/verb.hpp>

namespace pollux::api {

// A parsed request target.
struct Target {
  std::vector<std::string> segments;  // decoded path segments, without a trailing empty one
  std::vector<std::pair<std::string, std::string>> query;
  bool api = false;  // under /api/: errors are JSON

  std::optional<std::string> param(std::string_view name) const;
};

// Splits and percent-decodes a request target ("/api/v1/points?device=W%201"); nullopt when it
// is not an absolute path or holds a malformed escape (the server answers 400).
std::optional<Target> parse_target(std::string_view target);

// The methods a route answers. A GET route answers HEAD too (api.md: the same headers, no body).
enum class Methods : std::uint8_t { none = 0, get = 1, post = 2 };
constexpr Methods operator|(Methods a, Methods b) {
  return static_cast<Methods>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}
constexpr bool has(Methods set, Methods m) {
  return (static_cast<std::uint8_t>(set) & static_cast<std::uint8_t>(m)) != 0;
}
// The Allow header's value for a 405: "GET, HEAD", "POST" or "GET, HEAD, POST".
std::string allow_header(Methods m);

// A matched route's path parameters, pointing into the Target's segments (which must outlive
// them).
class PathParams {
 public:
  static constexpr std::size_t kMax = 4;
  void add(std::string_view name, const std::string& value);
  // The parameter's value; throws std::out_of_range for a name the pattern does not have.
  const std::string& operator[](std::string_view name) const;
  std::size_t size() const { return size_; }

 private:
  std::array<std::pair<std::string_view, const std::string*>, kMax> items_{};
  std::size_t size_ = 0;
};

struct RouteMatch {
  enum Result : std::uint8_t { found, method_not_allowed, not_found };
  Result result = not_found;
  std::size_t row = 0;              // found: the row add() returned
  PathParams params;                // found: the row's parameters
  Methods allowed = Methods::none;  // method_not_allowed: every method the path answers
};

class RouteMatcher {
 public:
  // Adds a row; returns its index (rows are numbered from 0 in the order added). The first row
  // matching both path and method wins. Throws std::invalid_argument for a pattern that is not
  // an absolute path or has more than PathParams::kMax parameters.
  std::size_t add(Methods methods, std::string_view pattern);
  RouteMatch match(boost::beast::http::verb method, const Target& target) const;
  std::size_t size() const { return rows_.size(); }

 private:
  struct Segment {
    std::string text;  // the literal, or the parameter's name
    bool param = false;
  };
  struct Row {
    Methods methods;
    bool api;
    std::vector<Segment> segments;
  };
  std::vector<Row> rows_;
};

}  // namespace pollux::api
