#include "client.hpp"

#include <cctype>

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace polluxctl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::optional<Url> parse_url(const std::string& text) {
  std::string rest = text;
  Url url;
  if (rest.rfind("http://", 0) == 0) {
    rest = rest.substr(7);
  } else if (rest.rfind("https://", 0) == 0) {
    rest = rest.substr(8);
    url.tls = true;
  } else if (rest.find("://") != std::string::npos) {
    return std::nullopt;
  }
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
    url.port = url.tls ? "443" : text.rfind("http://", 0) == 0 ? "80" : "8780";
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

  // The request and its answer over either stream, once it is connected (and, over TLS, the
  // handshake done).
  auto exchange = [&](auto& stream) {
    stage = "send";
    http::async_write(stream, req, [&](beast::error_code ec, std::size_t) {
      if (ec) return fail(ec);
      stage = "read the answer";
      http::async_read(stream, buffer, parser,
                       [&](beast::error_code ec, std::size_t) { fail(ec); });
    });
  };
  auto connect = [&](beast::tcp_stream& tcp, auto then) {
    resolver.async_resolve(
        url.host, url.port, [&, then](beast::error_code ec, tcp::resolver::results_type r) {
          if (ec) return fail(ec);
          stage = "connect";
          tcp.expires_after(timeout);
          tcp.async_connect(r, [&, then](beast::error_code ec, const tcp::endpoint&) {
            if (ec) return fail(ec);
            then();
          });
        });
  };

  beast::tcp_stream plain(io);
  std::optional<asio::ssl::context> ctx;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  if (!url.tls) {
    connect(plain, [&] { exchange(plain); });
  } else {
    ctx.emplace(asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
    beast::error_code ec;
    if (url.ca_file.empty())
      ctx->set_default_verify_paths(ec);
    else
      ctx->load_verify_file(url.ca_file, ec);
    if (ec) {
      error.message = "cannot load the CA file '" + url.ca_file + "': " + ec.message();
      return std::nullopt;
    }
    ctx->set_verify_mode(asio::ssl::verify_peer);
    secure.emplace(io, *ctx);
    // The certificate must name the host (DNS name or IP address) the URL gives.
    secure->set_verify_callback(asio::ssl::host_name_verification(url.host));
    beast::error_code addr_ec;
    asio::ip::make_address(url.host, addr_ec);
    if (addr_ec) SSL_set_tlsext_host_name(secure->native_handle(), url.host.c_str());  // SNI
    connect(secure->next_layer(), [&] {
      stage = "TLS handshake";
      secure->async_handshake(asio::ssl::stream_base::client, [&](beast::error_code ec) {
        if (ec) return fail(ec);
        exchange(*secure);
      });
    });
  }
  // The resolver has no timeout of its own; bound the whole exchange.
  io.run_for(timeout + std::chrono::seconds(1));
  if (!io.stopped()) {
    error.message = std::string("cannot ") + stage + ": timed out";
    return std::nullopt;
  }
  if (result) {
    std::string why = result == beast::error::timeout ? std::string("timed out") : result.message();
    // OpenSSL's verify result says why a certificate was refused ("unable to get local issuer
    // certificate", "Hostname mismatch").
    if (secure) {
      const long verify = SSL_get_verify_result(secure->native_handle());
      if (verify != X509_V_OK)
        why += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    }
    error.message = std::string("cannot ") + stage + ": " + why;
    return std::nullopt;
  }
  Reply reply;
  reply.status = static_cast<int>(parser.get().result_int());
  reply.body = parser.get().body();
  reply.content_type = std::string(parser.get()[http::field::content_type]);
  return reply;
}

}  // namespace polluxctl
