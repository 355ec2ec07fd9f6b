// The HTTP API and status page server (spec/api.md "HTTP API"): Boost.Beast, asynchronous, on
// the engine's io_context.
//
// The server turns requests into NodeApi calls and views into api_json shapes; it never touches
// engine internals. Its paths are one table of (methods, path pattern, handler) rows matched by
// http_routes.hpp, which answers 404 and 405 alike for every path. It runs on the node's single I/O
// thread and never blocks it: a write waits for the device through NodeApi::write's callback while
// other connections are served. Defences for a long-running process (spec/security.md "Abuse
// limits"): a request body limit (413), a header size limit (431), a deadline for a request's
// headers (408), an idle timeout for bodies and answers, and a cap on open connections (one
// over it is accepted and closed at once). With a TLS context it serves HTTPS only: a client
// that does not complete a TLS handshake is closed; a reload swaps the context for new
// connections (set_tls).
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
namespace boost::asio::ssl {
class context;
}

#include "api/node_api.hpp"

namespace pollux::api {

// The limits are spec/security.md's; tests shorten the times only.
struct HttpServerOptions {
  std::size_t body_limit = 64 * 1024;  // 65,536 bytes of body; more: 413 and closed
  std::uint32_t header_limit = 8 * 1024;
  // A request's headers (and, on a new HTTPS connection, the TLS handshake before them) must
  // arrive this soon after accept, or after the end of the previous answer on a keep-alive
  // connection: 408 and closed (closed quietly when nothing of a request had come).
  std::chrono::milliseconds header_timeout{10'000};
  // A body, or an answer the client does not take, stalling this long closes the connection.
  std::chrono::milliseconds idle_timeout{30'000};
  std::size_t max_connections = 256;
  // HTTPS only when set (api/tls_context.hpp).
  std::shared_ptr<boost::asio::ssl::context> tls;
};

// Counters of the limits at work, for /metrics.
struct HttpServerStats {
  std::uint64_t connections_refused = 0;  // over max_connections, closed at accept
  std::uint64_t header_timeouts = 0;      // header_timeout passed (408 or quiet close)
  std::uint64_t bodies_too_large = 0;     // answered 413
  std::uint64_t tls_handshake_failures = 0;
  std::uint64_t auth_unauthenticated = 0;  // answered 401
  std::uint64_t auth_forbidden = 0;        // answered 403
  // Live stream clients disconnected for not keeping up: the journal's ring overtook them, or
  // they took nothing of what was sent for the idle timeout (api.md "Live stream").
  std::uint64_t stream_dropped = 0;
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
  // Connections open (refused ones beyond the cap not counted), for tests and metrics.
  std::size_t connections() const;
  // The bearer tokens requests must carry (spec/security.md); none: every request is allowed.
  // Requests routed after the call use the new table (a reload). Call on the I/O thread.
  void set_tokens(const std::vector<ApiToken>& tokens);
  const HttpServerStats& stats() const;
  // Connections accepted from now on use `tls` (HTTPS; null: plain HTTP); open ones keep theirs.
  void set_tls(std::shared_ptr<boost::asio::ssl::context> tls);

  struct Shared;

 private:
  void accept();

  boost::asio::io_context& io_;
  std::string listen_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace pollux::api
