// The HTTP API and status page server (spec/api.md "HTTP API"): Boost.Beast, asynchronous, on
// the engine's io_context.
//
// The server turns requests into NodeApi calls and views into api_json shapes; it never touches
// engine internals. Its paths are one table of (methods, path pattern, handler) rows matched by
// http_routes.hpp, which answers 404 and 405 alike for every path. It runs on the node's single I/O
// thread and never blocks it: a write waits for the device through NodeApi::write's callback while
// other connections are served. Defences for a long-running process: a request body limit (413), a
// header size limit (431), an idle timeout per connection and a cap on concurrent connections (503
// beyond it).
//
// Security (spec/security.md): each route row names the role it needs; requests carry a bearer
// token checked by api::Authenticator (401, then 403, then the request's own checks), and every
// request that changes something is audited (api::AuditLog, GET /api/v1/audit, an info line
// on the "audit" logger) with the status it was finally answered.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "api/auth.hpp"
#include "api/node_api.hpp"

namespace pollux::api {

struct HttpServerOptions {
  std::size_t body_limit = 64 * 1024;
  std::uint32_t header_limit = 8 * 1024;
  // A connection idle this long between requests (or this slow to send one) is closed.
  std::chrono::milliseconds idle_timeout{30'000};
  std::size_t max_connections = 64;
};

class HttpServer {
 public:
  // `listen` is "HOST:PORT" ("0.0.0.0:8780", "127.0.0.1:0", "[::1]:8780", ":8780").
  HttpServer(boost::asio::io_context& io, NodeApi& node, std::string listen,
             HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting. Throws std::system_error (address busy, not local, unresolvable)
  // or std::invalid_argument (malformed listen string).
  void start();
  // Stops accepting and closes every connection; a write still pending in the node completes
  // into a closed connection. Call on the I/O thread (or after it stopped).
  void stop();
  // The bound port (the actual one when `listen` asked for port 0); 0 before start().
  std::uint16_t port() const;
  // Connections being served (refused ones beyond the cap not counted), for tests and metrics.
  std::size_t connections() const;
  // The bearer tokens requests must carry (spec/security.md); none: every request is allowed.
  // Requests routed after the call use the new table (a reload). Call on the I/O thread.
  void set_tokens(const std::vector<ApiToken>& tokens);

  struct Shared;

 private:
  void accept();

  boost::asio::io_context& io_;
  std::string listen_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace pollux::api
