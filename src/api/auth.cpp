#include "api/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <stdexcept>

namespace pollux::api {

namespace {

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size())
    throw std::runtime_error("SHA-256 failed");
  return out;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

// The credentials of "Bearer TOKEN"; empty when the header holds something else.
std::string_view bearer_token(std::string_view header) {
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return {};
  std::string_view rest = header.substr(kScheme.size());
  if (!is_blank(rest.front())) return {};
  while (!rest.empty() && is_blank(rest.front()))
    rest.remove_prefix(1);
  while (!rest.empty() && is_blank(rest.back()))
    rest.remove_suffix(1);
  return rest;
}

}  // namespace

std::string_view to_string(Role r) {
  switch (r) {
    case Role::anyone:
      return "anyone";
    case Role::viewer:
      return "viewer";
    case Role::operator_:
      return "operator";
    case Role::admin:
      return "admin";
  }
  return "?";
}

Authenticator::Authenticator(const std::vector<ApiToken>& tokens) {
  entries_.reserve(tokens.size());
  for (const auto& t : tokens)
    entries_.push_back({t.name, t.role, sha256(t.token)});
}

AuthDecision Authenticator::check(std::string_view authorization, Role needed) const {
  AuthDecision d;
  if (entries_.empty()) return d;
  const std::string_view presented = bearer_token(authorization);
  const Entry* match = nullptr;
  if (!presented.empty()) {
    const auto digest = sha256(presented);
    // Every entry is compared, whatever matched before: the time does not depend on which
    // token (if any) the client holds. Configured tokens differ (a config rule), so at most
    // one matches.
    for (const auto& e : entries_) {
      const bool equal = CRYPTO_memcmp(e.digest.data(), digest.data(), digest.size()) == 0;
      if (equal) match = &e;
    }
  }
  if (match != nullptr) {
    d.who = match->name;
    d.role = match->role;
  }
  if (needed == Role::anyone) return d;
  if (match == nullptr) {
    d.result = AuthDecision::unauthenticated;
  } else if (match->role < needed) {
    d.result = AuthDecision::forbidden;
  }
  return d;
}

std::string forbidden_message(Role has, Role needed, std::string_view what) {
  return "role " + std::string(to_string(has)) + " may not " + std::string(what) + " (needs " +
         std::string(to_string(needed)) + ")";
}

}  // namespace pollux::api
