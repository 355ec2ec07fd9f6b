// Who may do what on the HTTP API (spec/security.md "Requests", "Settled details").
//
// Pure: the server hands it the request's Authorization header and the role its route needs,
// and gets back allowed, 401 (no or unknown token) or 403 (a known token whose role is too
// low), plus the token's name for the audit. Checks come in the spec's order: authentication,
// then role; the request's own checks (400, 404, 409) come after, in the server.
//
// Tokens are compared in constant time: the presented token and every configured one are
// hashed with SHA-256 and the digests compared with CRYPTO_memcmp against every configured
// token, without stopping at a match, so neither the position of the first differing byte nor
// the length of a token shows in the time taken. Only digests are kept: no token text lives
// in this object, so nothing built from it can log one.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pollux::api {

// Each role includes the one before. `anyone` is what GET /api/v1/health needs: nothing.
enum class Role : std::uint8_t { anyone, viewer, operator_, admin };
// "anyone", "viewer", "operator", "admin"
std::string_view to_string(Role r);

struct ApiToken {
  std::string name;
  std::string token;
  Role role = Role::viewer;
};

struct AuthDecision {
  enum Result : std::uint8_t { allowed, unauthenticated, forbidden };
  Result result = allowed;
  // The token's name, or "anonymous" when none was presented, it is unknown, or no tokens
  // are configured (security.md "Settled details": the audit's `who`).
  std::string who = "anonymous";
  Role role = Role::anyone;  // the token's role; anyone when no token matched
};

class Authenticator {
 public:
  // No tokens: every request is allowed (security.md: loopback only, as before).
  Authenticator() = default;
  explicit Authenticator(const std::vector<ApiToken>& tokens);

  bool enabled() const { return !entries_.empty(); }

  // `authorization`: the Authorization header's value, empty when absent. "Bearer TOKEN", the
  // scheme in any case (RFC 7235).
  AuthDecision check(std::string_view authorization, Role needed) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  struct Entry {
    std::string name;
    Role role;
    Digest digest;
  };
  std::vector<Entry> entries_;
};

// The 403 answer's error text: "role viewer may not write points (needs operator)".
std::string forbidden_message(Role has, Role needed, std::string_view what);

}  // namespace pollux::api
