// api::Authenticator, table-driven (spec/security.md "Requests", "Settled details"): every row
// is one rule; breaking the rule fails the row named after it.
#include "api/auth.hpp"

#include <gtest/gtest.h>

namespace pollux::api {
namespace {

const std::vector<ApiToken> kTokens = {
    {"dashboards", "viewer-token-0123456789", Role::viewer},
    {"scada-host", "operator-token-0123456789", Role::operator_},
    {"engineer", "admin-token-0123456789", Role::admin},
};

struct Case {
  const char* rule;
  std::string header;
  Role needed;
  AuthDecision::Result result;
  const char* who;
};

TEST(Authenticator, EveryRule) {
  const std::vector<Case> cases = {
      {"no header is 401", "", Role::viewer, AuthDecision::unauthenticated, "anonymous"},
      {"an unknown token is 401", "Bearer not-a-known-token-at-all", Role::viewer,
       AuthDecision::unauthenticated, "anonymous"},
      {"a token's prefix is 401", "Bearer viewer-token-012345678", Role::viewer,
       AuthDecision::unauthenticated, "anonymous"},
      {"a token with more after it is 401", "Bearer viewer-token-01234567890", Role::viewer,
       AuthDecision::unauthenticated, "anonymous"},
      {"another scheme is 401", "Basic viewer-token-0123456789", Role::viewer,
       AuthDecision::unauthenticated, "anonymous"},
      {"the token without a scheme is 401", "viewer-token-0123456789", Role::viewer,
       AuthDecision::unauthenticated, "anonymous"},
      {"a scheme without a token is 401", "Bearer ", Role::viewer, AuthDecision::unauthenticated,
       "anonymous"},
      {"the scheme glued to the token is 401", "Bearerviewer-token-0123456789", Role::viewer,
       AuthDecision::unauthenticated, "anonymous"},
      {"an unknown token is 401 even for a role it could not have had",
       "Bearer not-a-known-token-at-all", Role::admin, AuthDecision::unauthenticated, "anonymous"},
      {"a viewer may view", "Bearer viewer-token-0123456789", Role::viewer, AuthDecision::allowed,
       "dashboards"},
      {"the scheme in any case", "bEaReR viewer-token-0123456789", Role::viewer,
       AuthDecision::allowed, "dashboards"},
      {"blanks around the token", "Bearer \t viewer-token-0123456789  ", Role::viewer,
       AuthDecision::allowed, "dashboards"},
      {"a viewer may not operate: 403", "Bearer viewer-token-0123456789", Role::operator_,
       AuthDecision::forbidden, "dashboards"},
      {"a viewer may not administer: 403", "Bearer viewer-token-0123456789", Role::admin,
       AuthDecision::forbidden, "dashboards"},
      {"an operator includes viewer", "Bearer operator-token-0123456789", Role::viewer,
       AuthDecision::allowed, "scada-host"},
      {"an operator may operate", "Bearer operator-token-0123456789", Role::operator_,
       AuthDecision::allowed, "scada-host"},
      {"an operator may not administer: 403", "Bearer operator-token-0123456789", Role::admin,
       AuthDecision::forbidden, "scada-host"},
      {"an admin includes viewer", "Bearer admin-token-0123456789", Role::viewer,
       AuthDecision::allowed, "engineer"},
      {"an admin includes operator", "Bearer admin-token-0123456789", Role::operator_,
       AuthDecision::allowed, "engineer"},
      {"an admin may administer", "Bearer admin-token-0123456789", Role::admin,
       AuthDecision::allowed, "engineer"},
      {"health needs no token", "", Role::anyone, AuthDecision::allowed, "anonymous"},
      {"health with a wrong token is still allowed", "Bearer wrong-token-0123456789", Role::anyone,
       AuthDecision::allowed, "anonymous"},
      {"health with a good token names it", "Bearer admin-token-0123456789", Role::anyone,
       AuthDecision::allowed, "engineer"},
  };
  const Authenticator auth(kTokens);
  ASSERT_TRUE(auth.enabled());
  for (const auto& c : cases) {
    const AuthDecision d = auth.check(c.header, c.needed);
    EXPECT_EQ(d.result, c.result) << c.rule;
    EXPECT_EQ(d.who, c.who) << c.rule;
  }
}

TEST(Authenticator, WithoutTokensEverythingIsAllowedAndAnonymous) {
  const Authenticator open;
  EXPECT_FALSE(open.enabled());
  for (Role r : {Role::anyone, Role::viewer, Role::operator_, Role::admin}) {
    for (const char* header : {"", "Bearer admin-token-0123456789", "Basic x"}) {
      const AuthDecision d = open.check(header, r);
      EXPECT_EQ(d.result, AuthDecision::allowed) << to_string(r) << " " << header;
      EXPECT_EQ(d.who, "anonymous");
    }
  }
}

TEST(Authenticator, ForbiddenNamesBothRoles) {
  EXPECT_EQ(forbidden_message(Role::viewer, Role::operator_, "write a point"),
            "role viewer may not write a point (needs operator)");
  EXPECT_EQ(forbidden_message(Role::operator_, Role::admin, "reload the configuration"),
            "role operator may not reload the configuration (needs admin)");
}

TEST(Authenticator, ReportsTheTokensRoleOnRefusal) {
  const Authenticator auth(kTokens);
  EXPECT_EQ(auth.check("Bearer operator-token-0123456789", Role::admin).role, Role::operator_);
  EXPECT_EQ(auth.check("Bearer nope-nope-nope-nope", Role::admin).role, Role::anyone);
}

}  // namespace
}  // namespace pollux::api
