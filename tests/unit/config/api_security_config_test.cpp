// The `api.tokens` rules of spec/security.md "Configuration" and "Settled details": one test per
// rule, each asserting exactly that error at the exact place, and that no message carries a
// token's value.
#include "config/canonical.hpp"
#include "test_util.hpp"

namespace pollux::config::test {
namespace {

constexpr std::string_view kA = "aaaaaaaaaaaaaaaa-secret-1";
constexpr std::string_view kB = "bbbbbbbbbbbbbbbb-secret-2";

std::string api(std::string_view body) {
  return "node: {name: a}\napi:\n" + std::string(body);
}

void expect_no_secret(const LoadResult& r, std::initializer_list<std::string_view> secrets) {
  for (const auto& d : r.errors)
    for (auto s : secrets)
      EXPECT_EQ(d.to_string().find(s), std::string::npos) << d.to_string();
}

TEST(ApiSecurityConfig, TokensAreReadWithTheirRoles) {
  const std::string t =
      api("  listen: 0.0.0.0:8780\n"
          "  tokens:\n"
          "    - {name: scada-host, token: ${T1}, role: operator}\n"
          "    - {name: dashboards, token: " +
          std::string(kB) +
          ", role: viewer}\n"
          "    - {name: engineer, token: cccccccccccccccc, role: admin}\n");
  const auto r = load(t, {{"T1", std::string(kA)}});
  expect_ok(r);
  ASSERT_TRUE(r.config);
  const auto& tokens = r.config->api.tokens;
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[0], (ApiToken{"scada-host", std::string(kA), ApiRole::operator_}));
  EXPECT_EQ(tokens[1], (ApiToken{"dashboards", std::string(kB), ApiRole::viewer}));
  EXPECT_EQ(tokens[2], (ApiToken{"engineer", "cccccccccccccccc", ApiRole::admin}));
}

TEST(ApiSecurityConfig, LoopbackListenNeedsNoTokens) {
  for (const char* listen : {"127.0.0.1:8780", "127.1.2.3:8780", "'[::1]:8780'"})
    expect_ok(load(api(std::string("  listen: ") + listen + "\n")));
  expect_ok(load("node: {name: a}\n"));  // the default listen is loopback
  expect_ok(load(api("")));
}

TEST(ApiSecurityConfig, NonLoopbackListenWithoutTokensIsAnErrorAtListen) {
  for (const char* listen : {"0.0.0.0:8780", "10.0.0.5:8780", "'[::]:8780'", "'*:8780'",
                             "localhost:8780", "128.0.0.1:8780", "'[::ffff:127.0.0.1]:8780'"}) {
    const std::string t = api(std::string("  listen: ") + listen + "\n");
    expect_one(load(t), pos(t, "listen: ^"),
               "is not a loopback address: listening there needs "
               "'tokens'");
    // An empty list is no tokens.
    const std::string empty = api(std::string("  listen: ") + listen + "\n  tokens: []\n");
    expect_one(load(empty), pos(empty, "listen: ^"), "needs 'tokens'");
  }
}

TEST(ApiSecurityConfig, DuplicateNamesAreAnErrorAtTheSecond) {
  const std::string t =
      api("  tokens:\n    - {name: ops, token: " + std::string(kA) +
          ", role: admin}\n    - {name: ops, token: " + std::string(kB) + ", role: viewer}\n");
  const auto r = load(t);
  expect_one(r, pos(t, "ops", 2), "duplicate token name 'ops' (first at line 4)");
  expect_no_secret(r, {kA, kB});
}

TEST(ApiSecurityConfig, EqualTokenValuesAreAnErrorAtTheSecondWithoutTheValue) {
  const std::string t =
      api("  tokens:\n    - {name: one, token: ${A}, role: admin}\n"
          "    - {name: two, token: ${B}, role: viewer}\n");
  const auto r = load(t, {{"A", std::string(kA)}, {"B", std::string(kA)}});
  expect_one(r, pos(t, "${B}"), "this token is equal to another one (line 4)");
  expect_no_secret(r, {kA});
}

TEST(ApiSecurityConfig, ATokenHasAtLeastSixteenCharacters) {
  const std::string t = api("  tokens:\n    - {name: one, token: abcdefghijklmno, role: admin}\n");
  const auto r = load(t);
  expect_one(r, pos(t, "abcdefghijklmno"), "a token must be at least 16 characters long");
  expect_no_secret(r, {"abcdefghijklmno"});
  expect_ok(load(api("  tokens:\n    - {name: one, token: abcdefghijklmnop, role: admin}\n")));
  // An empty variable is a short token, never "no token".
  const std::string env = api("  tokens:\n    - {name: one, token: \"${T}\", role: admin}\n");
  expect_one(load(env, {{"T", ""}}), pos(env, "\"${T}\""), "at least 16 characters");
}

TEST(ApiSecurityConfig, ATokenHoldsNoSpaces) {
  const std::string t =
      api("  tokens:\n    - {name: one, token: 'abcdefgh ijklmnopq', role: admin}\n");
  const auto r = load(t);
  expect_one(r, pos(t, "'abcdefgh"), "a token may not hold spaces or control characters");
  expect_no_secret(r, {"abcdefgh ijklmnopq"});
}

TEST(ApiSecurityConfig, RoleIsOneOfTheThree) {
  const std::string t =
      api("  tokens:\n    - {name: one, token: " + std::string(kA) + ", role: root}\n");
  const auto r = load(t);
  expect_one(r, pos(t, "root"), "'role' must be one of viewer, operator, admin (got 'root')");
  expect_no_secret(r, {kA});
}

TEST(ApiSecurityConfig, EveryKeyOfATokenIsRequired) {
  const std::string t = api("  tokens:\n    - {name: one, token: " + std::string(kA) + "}\n");
  const auto r = load(t);
  expect_one(r, pos(t, "{name: one"), "a token needs a 'role'");
  expect_no_secret(r, {kA});
}

TEST(ApiSecurityConfig, AMisplacedTokenIsNeverQuoted) {
  // Scalars where mappings belong: the usual "(got 'VALUE')" would print the secret.
  const std::string scalar_list = api("  tokens: [" + std::string(kA) + "]\n");
  auto r = load(scalar_list);
  expect_one(r, pos(scalar_list, std::string(kA)), "expected a mapping {name, token, role}");
  expect_no_secret(r, {kA});
  const std::string scalar = api("  tokens: " + std::string(kA) + "\n");
  r = load(scalar);
  expect_one(r, pos(scalar, std::string(kA)), "expected a list of {name, token, role}");
  expect_no_secret(r, {kA});
}

TEST(ApiSecurityConfig, TokensStayNodeLocal) {
  const std::string t =
      api("  listen: 0.0.0.0:8780\n  tokens:\n    - {name: one, token: " + std::string(kA) +
          ", role: admin}\n");
  const auto r = load(t);
  expect_ok(r);
  ASSERT_TRUE(r.config);
  // Never sent to the peer and not part of the shared version.
  EXPECT_EQ(canonical_text(*r.config).find(kA), std::string::npos);
  Config without = *r.config;
  without.api.tokens.clear();
  EXPECT_EQ(config_version(*r.config), config_version(without));
  // A backup keeps its own tokens when it applies the master's config.
  Config local;
  local.node.name = "b";
  local.api.tokens = {{"mine", std::string(kB), ApiRole::viewer}};
  const auto synced = load_synced(canonical_text(*r.config), local);
  ASSERT_TRUE(synced.ok()) << dump(synced);
  EXPECT_EQ(synced.config->api.tokens, local.api.tokens);
}

}  // namespace
}  // namespace pollux::config::test
