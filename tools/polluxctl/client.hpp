// polluxctl's HTTP client: one request per call, synchronous for the caller, bounded by a
// timeout (spec/api.md "polluxctl"). An unreachable or silent node is reported apart from an
// HTTP error answer, because the exit status tells them apart (3 vs 1).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace polluxctl {

// Where the API is, and how to trust it over HTTPS (spec/security.md: `--cacert FILE`).
struct Url {
  std::string host = "127.0.0.1";
  std::string port = "8780";
  std::string base;     // path prefix without the trailing slash, usually empty
  bool tls = false;     // https://: the node's certificate and host name are verified
  std::string ca_file;  // trusted CAs (PEM) for https://; empty: the system's
};

// Accepts "http://HOST[:PORT][/PREFIX]", "https://HOST[:PORT][/PREFIX]" (default ports 80 and
// 443) and "HOST:PORT" (plain HTTP). nullopt on anything else.
std::optional<Url> parse_url(const std::string& text);

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
};

struct CallError {
  std::string message;
};

// Performs one request. On a transport failure (resolve, connect, reset, timeout) returns
// nullopt and sets `error`. A non-empty `token` is sent as "Authorization: Bearer TOKEN"
// (spec/security.md).
std::optional<Reply> call(const Url& url, const std::string& method, const std::string& target,
                          const std::string& body, std::chrono::milliseconds timeout,
                          CallError& error, const std::string& token = {});

// Percent-encodes one path segment or query value.
std::string encode(const std::string& text);

}  // namespace polluxctl
