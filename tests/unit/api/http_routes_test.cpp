// The HTTP routing table's matcher and request target parsing (src/api/http_routes.hpp):
// path parameters, trailing slashes, 405 with the methods a path answers, 404 for the rest.
#include "api/http_routes.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace pollux::api {
namespace {

namespace http = boost::beast::http;

Target target(std::string_view text) {
  auto t = parse_target(text);
  EXPECT_TRUE(t) << text;
  return t ? *t : Target{};
}

struct RoutesTest : ::testing::Test {
  RoutesTest() {
    root = m.add(Methods::get, "/");
    metrics = m.add(Methods::get, "/metrics");
    devices = m.add(Methods::get, "/api/v1/devices");
    device = m.add(Methods::get, "/api/v1/devices/{id}");
    line = m.add(Methods::post, "/api/v1/devices/{id}/line");
    point = m.add(Methods::get, "/api/v1/devices/{id}/points/{name}");
    both = m.add(Methods::get | Methods::post, "/api/v1/both");
  }
  RouteMatcher m;
  std::size_t root, metrics, devices, device, line, point, both;
};

TEST_F(RoutesTest, RowsAreNumberedInTheOrderAdded) {
  EXPECT_EQ(root, 0u);
  EXPECT_EQ(both, 6u);
  EXPECT_EQ(m.size(), 7u);
}

TEST_F(RoutesTest, LiteralPathsMatchTheirRow) {
  const Target t = target("/api/v1/devices");
  const RouteMatch r = m.match(http::verb::get, t);
  ASSERT_EQ(r.result, RouteMatch::found);
  EXPECT_EQ(r.row, devices);
  EXPECT_EQ(r.params.size(), 0u);
  EXPECT_EQ(m.match(http::verb::get, target("/")).row, root);
  EXPECT_EQ(m.match(http::verb::get, target("/metrics")).row, metrics);
}

TEST_F(RoutesTest, ParametersTakeOneDecodedSegment) {
  const Target t = target("/api/v1/devices/WELL%2F01/points/P%20A");
  const RouteMatch r = m.match(http::verb::get, t);
  ASSERT_EQ(r.result, RouteMatch::found);
  EXPECT_EQ(r.row, point);
  ASSERT_EQ(r.params.size(), 2u);
  EXPECT_EQ(r.params["id"], "WELL/01");
  EXPECT_EQ(r.params["name"], "P A");
  EXPECT_THROW((void)r.params["nope"], std::out_of_range);
  const Target one = target("/api/v1/devices/W1");
  const RouteMatch d = m.match(http::verb::get, one);
  EXPECT_EQ(d.row, device);
  EXPECT_EQ(d.params["id"], "W1");
  // An empty segment is a segment: the handler decides (unknown device).
  const Target empty = target("/api/v1/devices//line");
  const RouteMatch e = m.match(http::verb::post, empty);
  ASSERT_EQ(e.result, RouteMatch::found);
  EXPECT_EQ(e.row, line);
  EXPECT_EQ(e.params["id"], "");
}

TEST_F(RoutesTest, ATrailingSlashIsIgnored) {
  const Target t = target("/api/v1/devices/W1/");
  EXPECT_EQ(m.match(http::verb::get, t).row, device);
  EXPECT_EQ(m.match(http::verb::get, target("/metrics/")).row, metrics);
  EXPECT_EQ(m.match(http::verb::get, target("/api/v1/devices/")).row, devices);
}

TEST_F(RoutesTest, HeadIsServedByGetRows) {
  const RouteMatch r = m.match(http::verb::head, target("/api/v1/devices/W1"));
  ASSERT_EQ(r.result, RouteMatch::found);
  EXPECT_EQ(r.row, device);
}

TEST_F(RoutesTest, AKnownPathAskedWithAnotherMethodIs405WithWhatItAllows) {
  RouteMatch r = m.match(http::verb::post, target("/api/v1/devices/W1"));
  EXPECT_EQ(r.result, RouteMatch::method_not_allowed);
  EXPECT_EQ(allow_header(r.allowed), "GET, HEAD");
  r = m.match(http::verb::get, target("/api/v1/devices/W1/line"));
  EXPECT_EQ(r.result, RouteMatch::method_not_allowed);
  EXPECT_EQ(allow_header(r.allowed), "POST");
  r = m.match(http::verb::head, target("/api/v1/devices/W1/line"));
  EXPECT_EQ(r.result, RouteMatch::method_not_allowed);
  r = m.match(http::verb::delete_, target("/metrics"));
  EXPECT_EQ(r.result, RouteMatch::method_not_allowed);
  EXPECT_EQ(allow_header(r.allowed), "GET, HEAD");
  // A method Beast does not know is not allowed either.
  r = m.match(http::verb::unknown, target("/api/v1/devices"));
  EXPECT_EQ(r.result, RouteMatch::method_not_allowed);
  r = m.match(http::verb::put, target("/api/v1/both"));
  EXPECT_EQ(allow_header(r.allowed), "GET, HEAD, POST");
  EXPECT_EQ(m.match(http::verb::post, target("/api/v1/both")).result, RouteMatch::found);
}

TEST_F(RoutesTest, AnUnknownPathIs404WhateverTheMethod) {
  for (auto verb : {http::verb::get, http::verb::post, http::verb::delete_}) {
    EXPECT_EQ(m.match(verb, target("/api/v1/devices/W1/lines")).result, RouteMatch::not_found);
    EXPECT_EQ(m.match(verb, target("/api/v2/devices")).result, RouteMatch::not_found);
    EXPECT_EQ(m.match(verb, target("/api")).result, RouteMatch::not_found);
    EXPECT_EQ(m.match(verb, target("/favicon.ico")).result, RouteMatch::not_found);
    EXPECT_EQ(m.match(verb, target("/api/v1/devices/W1/line/x")).result, RouteMatch::not_found);
  }
}

TEST_F(RoutesTest, ApiRowsMatchOnlyPathsSentUnderApi) {
  // "/%61pi/..." decodes to the same segments but was not sent under /api/: plain 404.
  const Target t = target("/%61pi/v1/devices");
  EXPECT_FALSE(t.api);
  EXPECT_EQ(m.match(http::verb::get, t).result, RouteMatch::not_found);
  EXPECT_EQ(m.match(http::verb::get, target("/api/metrics")).result, RouteMatch::not_found);
  // Percent-encoded literals below /api/ still match.
  EXPECT_EQ(m.match(http::verb::get, target("/api/v1/%64evices")).row, devices);
}

TEST(ParseTarget, SegmentsQueryAndErrors) {
  const auto t = parse_target("/api/v1/points?device=W%201&x=a+b&flag&&since=5");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->api);
  EXPECT_EQ(t->segments, (std::vector<std::string>{"api", "v1", "points"}));
  EXPECT_EQ(t->param("device"), "W 1");
  EXPECT_EQ(t->param("x"), "a b");
  EXPECT_EQ(t->param("flag"), "");
  EXPECT_EQ(t->param("since"), "5");
  EXPECT_FALSE(t->param("nope"));
  EXPECT_TRUE(parse_target("/")->segments.empty());
  EXPECT_FALSE(parse_target("relative"));
  EXPECT_FALSE(parse_target(""));
  EXPECT_FALSE(parse_target("/bad%zz"));
  EXPECT_FALSE(parse_target("/x?k=%4"));
}

TEST(RouteMatcher, RefusesBadPatterns) {
  RouteMatcher m;
  EXPECT_THROW(m.add(Methods::get, "api/v1"), std::invalid_argument);
  EXPECT_THROW(m.add(Methods::get, "/{a}/{b}/{c}/{d}/{e}"), std::invalid_argument);
  EXPECT_EQ(m.size(), 0u);
}

}  // namespace
}  // namespace pollux::api
