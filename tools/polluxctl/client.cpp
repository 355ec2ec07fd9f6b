#include "client.hpp"

#include <cctype>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace polluxctl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<Url> parse_url(const std::string& text) {
  std::string rest = text;
  if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
  } else if (rest.find("://") != std::string::npos) {
    return std::nullopt;
  }
  Url url;
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) {
    url.base = rest.substr(slash);
    while (!url.base.empty() && url.base.back() == '/')
      url.base.pop_back();
  }
  if (authority.empty()) return std::nullopt;
  std::string port;
  if (authority.front() == '[') {  // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    url.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) return std::nullopt;
  if (!port.empty()) {
    if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5) {
      return std::nullopt;
    }
    url.port = port;
  } else {
    url.port = text.rfind("http://", 0) == 0 ? "80" : "8780";
  }
  return url;
}

std::string encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::optional<Reply> call(const Url& url, const std::string& method, const std::string& target,
                          const std::string& body, std::chrono::milliseconds timeout,
                          CallError& error, const std::string& token) {
  // Asynchronous operations on a private io_context: Beast's synchronous calls cannot time out,
  // and a CLI must not hang on a node that accepted the connection but never answers.
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::string_body> req{http::string_to_verb(method), url.base + target, 11};
  req.set(http::field::host, url.host + ":" + url.port);
  req.set(http::field::user_agent, "polluxctl");
  req.set(http::field::accept, "application/json");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (method == "POST") {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
  }
  req.keep_alive(false);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  beast::error_code result;
  const char* stage = "resolve";

  auto fail = [&](beast::error_code ec) { result = ec; };
  resolver.async_resolve(
      url.host, url.port, [&](beast::error_code ec, tcp::resolver::results_type r) {
        if (ec) return fail(ec);
        stage = "connect";
        stream.expires_after(timeout);
        stream.async_connect(r, [&](beast::error_code ec, const tcp::endpoint&) {
          if (ec) return fail(ec);
          stage = "send";
          http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
            if (ec) return fail(ec);
            stage = "read the answer";
            http::async_read(stream, buffer, parser,
                             [&](beast::error_code ec, std::size_t) { fail(ec); });
          });
        });
      });
  // The resolver has no timeout of its own; bound the whole exchange.
  io.run_for(timeout + std::chrono::seconds(1));
  if (!io.stopped()) {
    error.message = std::string("cannot ") + stage + ": timed out";
    return std::nullopt;
  }
  if (result) {
    error.message = std::string("cannot ") + stage + ": " +
                    (result == beast::error::timeout ? std::string("timed out") : result.message());
    return std::nullopt;
  }
  Reply reply;
  reply.status = static_cast<int>(parser.get().result_int());
  reply.body = parser.get().body();
  reply.content_type = std::string(parser.get()[http::field::content_type]);
  return reply;
}

}  // namespace polluxctl
