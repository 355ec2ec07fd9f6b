#include "api/http_server.hpp"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "api/api_json.hpp"
#include "api/audit.hpp"
#include "api/auth.hpp"
#include "api/history_query.hpp"
#include "api/http_routes.hpp"
#include "api/live_stream.hpp"
#include "api/prometheus.hpp"
#include "api/ui_assets.hpp"
#include "runtime/logging.hpp"

namespace pollux::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

namespace {

class Session;

std::shared_ptr<spdlog::logger> api_logger() {
  static auto logger = runtime::named_logger("api");
  return logger;
}

std::shared_ptr<spdlog::logger> audit_logger() {
  static auto logger = runtime::named_logger("audit");
  return logger;
}

// ---- responses -------------------------------------------------------------------------------

struct ReplyTo {
  unsigned version = 11;
  bool keep_alive = true;
  bool head = false;
};

http::status to_status(int code) {
  if (code < 100 || code > 599) return http::status::internal_server_error;
  return static_cast<http::status>(code);
}

template <class Message>
void set_common_fields(Message& res, const ReplyTo& to, std::string_view content_type) {
  res.set(http::field::server, "pollux/" POLLUX_VERSION);
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(to.keep_alive);
}

Response make_response(const ReplyTo& to, int status, std::string_view content_type,
                       std::string body) {
  Response res{to_status(status), to.version};
  set_common_fields(res, to, content_type);
  res.body() = std::move(body);
  res.prepare_payload();
  if (to.head) {
    // HEAD: the same headers (Content-Length included) without the body.
    const auto length = res.body().size();
    res.body().clear();
    res.content_length(length);
  }
  return res;
}

Response json_response(const ReplyTo& to, int status, const json& body) {
  return make_response(to, status, "application/json",
                       body.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string default_reason(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 403:
      return "not allowed on this node";
    case 404:
      return "not found";
    case 409:
      return "refused by state";
    case 502:
      return "device answered with an error";
    case 504:
      return "device did not answer";
    default:
      return std::string(http::obsolete_reason(to_status(status)));
  }
}

Response error_response(const ReplyTo& to, int status, std::string_view message) {
  return json_response(to, status, error_json(message.empty() ? default_reason(status) : message));
}

Response outcome_error(const ReplyTo& to, const Outcome& outcome) {
  // A NodeApi that reports failure with a 2xx code is a bug there; never pass it on as success.
  const int status = outcome.ok() ? 500 : outcome.status;
  return error_response(to, status, outcome.error);
}

// A JSON array of every device's items, a slice of devices per part (Session::send_listing):
// about 300 points or 75 devices per part.
class Listing final : public BodySource {
 public:
  using AppendDevice = std::function<void(const std::string& id, Listing& out)>;

  Listing(std::vector<std::string> ids, AppendDevice append)
      : ids_(std::move(ids)), append_(std::move(append)) {}

  void add(const json& item) {
    if (items_++ > 0) text_ += ',';
    text_ += item.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  // The next part of the array text: whole devices up to about kPartBytes, the opening
  // bracket in the first part and the closing one in the last. Never empty.
  std::string next() override {
    text_.clear();
    if (!opened_) text_ += '[';
    opened_ = true;
    const std::size_t stop_at = text_.size() + kPartBytes;
    while (next_ < ids_.size() && text_.size() < stop_at)
      append_(ids_[next_++], *this);
    if (next_ == ids_.size()) {
      text_ += ']';
      done_ = true;
    }
    return std::move(text_);
  }

  bool done() const override { return done_; }

 private:
  std::vector<std::string> ids_;
  AppendDevice append_;
  std::size_t next_ = 0;
  std::size_t items_ = 0;
  bool opened_ = false;
  bool done_ = false;
  std::string text_;
};

// The connection under a Session: plain TCP or TLS over TCP, chosen at accept. One type, so the
// request handling exists once; Beast's and Asio's algorithms see an ordinary async stream.
class ApiStream {
 public:
  using executor_type = beast::tcp_stream::executor_type;
  using TlsStream = beast::ssl_stream<beast::tcp_stream>;

  ApiStream(tcp::socket socket, std::shared_ptr<asio::ssl::context> tls) : context_(tls) {
    if (context_)
      tls_.emplace(std::move(socket), *context_);
    else
      plain_.emplace(std::move(socket));
  }

  bool is_tls() const { return tls_.has_value(); }
  TlsStream& tls() { return *tls_; }
  beast::tcp_stream& tcp_layer() { return tls_ ? tls_->next_layer() : *plain_; }
  tcp::socket& socket() { return tcp_layer().socket(); }
  executor_type get_executor() { return tcp_layer().get_executor(); }
  template <class Duration>
  void expires_after(Duration d) {
    tcp_layer().expires_after(d);
  }
  void expires_never() { tcp_layer().expires_never(); }

  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Handler>(handler));
    plain_->async_read_some(buffers, std::forward<Handler>(handler));
  }
  template <class Buffers, class Handler>
  void async_write_some(const Buffers& buffers, Handler&& handler) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Handler>(handler));
    plain_->async_write_some(buffers, std::forward<Handler>(handler));
  }

 private:
  std::shared_ptr<asio::ssl::context> context_;  // outlives the SSL object made from it
  std::optional<beast::tcp_stream> plain_;
  std::optional<TlsStream> tls_;
};

std::optional<std::uint64_t> parse_uint(std::string_view text) {
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// Who may use a row (security.md "Requests"): the role it needs, its audit action (empty:
// not audited; the target is the row's {id}), what the 403 says it may not do, and whether
// a 401 answers with the status page (which then asks the browser's user for a token).
struct Access {
  Role need = Role::viewer;
  std::string_view action;
  std::string_view what;
  bool page = false;
};
constexpr Access kViewer{};
constexpr Access kPage{Role::viewer, {}, {}, true};
constexpr Access kAnyone{Role::anyone, {}, {}, false};
constexpr Access operator_action(std::string_view action, std::string_view what) {
  return {Role::operator_, action, what, false};
}
constexpr Access admin_action(std::string_view action, std::string_view what) {
  return {Role::admin, action, what, false};
}

}  // namespace

// ---- shared state between the server object and its connections ------------------------------

struct HttpServer::Shared {
  Shared(asio::io_context& io, NodeApi& node, HttpServerOptions options)
      : node(node), options(options), acceptor(io), retry_timer(io) {}

  NodeApi& node;
  HttpServerOptions options;
  tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
  bool stopped = false;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::size_t active = 0;  // open sessions
  bool refusing = false;   // at the cap: the warning is logged once per episode
  HttpServerStats stats;
  std::size_t stream_clients = 0;  // open GET /api/v1/stream connections
  // security.md: replaced whole on a reload (set_tokens); a request uses the table current
  // when it is routed.
  std::shared_ptr<const Authenticator> auth = std::make_shared<Authenticator>();
  AuditLog audit;
};

namespace {

// The server's own families, after the node's in GET /metrics.
std::string server_metrics(const HttpServer::Shared& s) {
  namespace prom = prometheus;
  std::string out;
  const auto family = [&out](std::string_view name, std::string_view help, std::string_view type,
                             std::uint64_t value) {
    prom::write_family_header(out, name, help, type);
    prom::write_sample(out, name, {}, prom::format_uint(value));
  };
  family("pollux_api_connections", "Open API connections.", "gauge", s.active);
  family("pollux_api_connections_refused_total",
         "API connections closed at accept because the limit of open connections was reached.",
         "counter", s.stats.connections_refused);
  family("pollux_api_header_timeouts_total",
         "API connections closed because a request's headers did not arrive in time (408).",
         "counter", s.stats.header_timeouts);
  family("pollux_api_bodies_too_large_total", "API requests answered 413 (body over the limit).",
         "counter", s.stats.bodies_too_large);
  family("pollux_api_tls_handshake_failures_total",
         "API connections closed because the TLS handshake failed.", "counter",
         s.stats.tls_handshake_failures);
  constexpr std::string_view auth_help =
      "API requests refused: no or unknown token (401), or a role too low (403).";
  prom::write_family_header(out, "pollux_api_auth_failures_total", auth_help, "counter");
  prom::write_sample(out, "pollux_api_auth_failures_total", {{"reason", "unauthenticated"}},
                     prom::format_uint(s.stats.auth_unauthenticated));
  prom::write_sample(out, "pollux_api_auth_failures_total", {{"reason", "forbidden"}},
                     prom::format_uint(s.stats.auth_forbidden));
  family("pollux_api_stream_clients", "Open live stream (GET /api/v1/stream) connections.", "gauge",
         s.stream_clients);
  family("pollux_api_stream_dropped_total",
         "Live stream clients disconnected because they did not keep up (api.md \"Live stream\").",
         "counter", s.stats.stream_dropped);
  return out;
}

}  // namespace

namespace {

// One TCP connection: read a request, answer it (possibly later, for writes), repeat while
// keep-alive. Owned by the pending asynchronous operation (shared_from_this), as in Beast's
// examples, so a connection lives exactly as long as something is in flight for it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<HttpServer::Shared> shared)
      : client_(client_address(socket)),
        stream_(std::move(socket), shared->options.tls),
        header_timer_(stream_.get_executor()),
        shared_(std::move(shared)) {}

  ~Session() {
    shared_->sessions.erase(this);
    --shared_->active;
    if (streaming_) --shared_->stream_clients;
    if (shared_->active < shared_->options.max_connections) shared_->refusing = false;
  }

  void start() {
    shared_->sessions.emplace(this, weak_from_this());
    ++shared_->active;
    // The handshake counts against the header deadline: a client that stalls it holds a
    // connection no longer than one that stalls its headers.
    arm_header_deadline();
    if (!stream_.is_tls()) return read();
    stream_.tls().async_handshake(
        asio::ssl::stream_base::server,
        [self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
  }

  void close() {
    beast::error_code ec;
    header_timer_.cancel();
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

 private:
  void on_handshake(beast::error_code ec) {
    if (ec) {
      // Plain HTTP on the HTTPS port, an untrusting client, the header deadline: nothing can be
      // answered without a TLS session.
      if (!header_timed_out_) ++shared_->stats.tls_handshake_failures;
      api_logger()->debug("TLS handshake failed: {}", ec.message());
      return close();
    }
    read();
  }

  // spec/security.md: headers within header_timeout of accept, or of the end of the previous
  // answer. A timer of its own, not the stream's expiry: that closes the socket, and the client
  // is owed a 408.
  void arm_header_deadline() {
    header_timed_out_ = false;
    const std::uint64_t generation = ++deadline_generation_;
    header_timer_.expires_after(shared_->options.header_timeout);
    header_timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
      if (ec || generation != self->deadline_generation_) return;
      self->header_timed_out_ = true;
      ++self->shared_->stats.header_timeouts;
      if (!self->reading_header_) return self->close();  // still in the TLS handshake
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);  // on_read answers 408
    });
  }

  void disarm_header_deadline() {
    ++deadline_generation_;
    header_timer_.cancel();
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(shared_->options.body_limit);
    parser_->header_limit(shared_->options.header_limit);
    stream_.expires_never();  // the header deadline bounds this read
    reading_header_ = true;
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  // Clients that send "Expect: 100-continue" wait for a go-ahead before the body; without it
  // they stall (curl: one second) on every larger POST. An oversized body was already refused
  // by the header read (body_limit), so the go-ahead is only given to acceptable requests.
  void on_header(beast::error_code ec, std::size_t bytes) {
    reading_header_ = false;
    if (!header_timed_out_) disarm_header_deadline();
    stream_.expires_after(shared_->options.idle_timeout);  // for the body and the answer
    if (ec || parser_->is_done()) return on_read(ec, bytes);
    const auto expect = parser_->get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      continue_ = std::make_unique<http::response<http::empty_body>>(http::status::continue_,
                                                                     parser_->get().version());
      http::async_write(stream_, *continue_,
                        [self = shared_from_this()](beast::error_code write_ec, std::size_t) {
                          if (write_ec) return;
                          self->read_body();
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    ReplyTo to{parser_->get().version(), false, false};
    if (to.version != 10 && to.version != 11) to.version = 11;
    if (header_timed_out_) {
      // A client that sent nothing of a request is not owed an answer (an idle keep-alive
      // connection, where an unasked 408 could be taken for the answer to its next request).
      if (buffer_.size() == 0 && !parser_->got_some()) return close();
      return send(
          error_response(ReplyTo{11, false, false}, 408, "request headers did not arrive in time"));
    }
    if (ec == http::error::body_limit) {
      ++shared_->stats.bodies_too_large;
      send(error_response(to, 413, "request body too large"));
      return;
    }
    if (ec == http::error::header_limit) {
      send(error_response(to, 431, "request header too large"));
      return;
    }
    if (ec && ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::partial_message) {
      send(error_response(to, 400, "malformed HTTP request"));
      return;
    }
    if (ec) return;  // timeout, reset, shutdown: nothing to answer to
    Request req = parser_->release();
    dispatch(req);
  }

  // Sends one response; safe to call once per request, from any completion on the I/O thread.
  void send(Response res) {
    if (audit_) finish_audit(res.result_int());
    auto shared_res = std::make_shared<Response>(std::move(res));
    const bool close = shared_res->need_eof();
    stream_.expires_after(shared_->options.idle_timeout);
    http::async_write(stream_, *shared_res,
                      [self = shared_from_this(), shared_res, close](
                          beast::error_code ec, std::size_t) { self->on_write(close, ec); });
  }

  void on_write(bool close, beast::error_code ec) {
    if (ec) return;
    if (close || shared_->stopped) {
      linger_close();
      return;
    }
    arm_header_deadline();
    read();
  }

  // After an error answer the client may still be sending (e.g. an oversized body); closing at
  // once would reset the connection and could destroy the answer before it is read. Half-close
  // and drain briefly instead.
  // Over TLS the session is closed first (close_notify), then the TCP connection the same way.
  void linger_close() {
    stream_.expires_after(std::chrono::seconds(2));
    if (!stream_.is_tls()) return tcp_linger_close();
    stream_.tls().async_shutdown(
        [self = shared_from_this()](beast::error_code) { self->tcp_linger_close(); });
  }

  void tcp_linger_close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    drain_.resize(4096);
    stream_.expires_after(std::chrono::seconds(2));
    drain();
  }

  void drain() {
    stream_.tcp_layer().async_read_some(
        asio::buffer(drain_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (!ec) self->drain();
        });
  }

  void dispatch(const Request& req) {
    ReplyTo to{req.version(), req.keep_alive(), req.method() == http::verb::head};
    try {
      route(req, to);
    } catch (const std::exception& e) {
      api_logger()->error("{} {}: {}", std::string(req.method_string()), std::string(req.target()),
                          e.what());
      send(error_response(to, 500, std::string("internal error: ") + e.what()));
    }
  }

  void method_not_allowed(const ReplyTo& to, bool api, std::string_view allow) {
    Response res = api ? error_response(to, 405, "method not allowed")
                       : make_response(to, 405, "text/plain", "method not allowed\n");
    res.set(http::field::allow, allow);
    send(std::move(res));
  }

  // What a route's handler is given: the request, how to answer it, its parsed target and the
  // path parameters of its row.
  struct Call {
    const Request& req;
    const ReplyTo& to;
    const Target& target;
    const PathParams& params;
  };
  using Handler = void (Session::*)(const Call&);

  // The routing table: api.md's paths and methods, one row each, in one place.
  struct Routes {
    RouteMatcher matcher;
    std::vector<Handler> handlers;
    std::vector<Access> access;
    void add(Methods methods, std::string_view pattern, Handler handler, Access who) {
      matcher.add(methods, pattern);
      handlers.push_back(handler);
      access.push_back(who);
    }
  };

  static const Routes& routes() {
    static const Routes table = [] {
      Routes t;
      t.add(Methods::get, "/", &Session::get_status_page, kPage);
      t.add(Methods::get, "/index.html", &Session::get_status_page, kPage);
      t.add(Methods::get, "/ui/{name}", &Session::get_ui_file, kAnyone);
      t.add(Methods::get, "/metrics", &Session::get_metrics, kViewer);
      t.add(Methods::get, "/api/v1/health", &Session::get_health, kAnyone);
      t.add(Methods::get, "/api/v1/devices", &Session::get_devices, kViewer);
      t.add(Methods::get, "/api/v1/devices/{id}", &Session::get_device, kViewer);
      t.add(Methods::post, "/api/v1/devices/{id}/line", &Session::post_line,
            operator_action("line", "select a device's line"));
      t.add(Methods::post, "/api/v1/devices/{id}/poll", &Session::post_poll,
            operator_action("poll", "poll a device"));
      t.add(Methods::post, "/api/v1/devices/{id}/write", &Session::post_write,
            operator_action("write", "write a point"));
      t.add(Methods::get, "/api/v1/points", &Session::get_points, kViewer);
      t.add(Methods::get, "/api/v1/channels", &Session::get_channels, kViewer);
      t.add(Methods::post, "/api/v1/channels/{id}/enable", &Session::post_channel_enable,
            operator_action("channel.enable", "enable a channel"));
      t.add(Methods::post, "/api/v1/channels/{id}/disable", &Session::post_channel_disable,
            operator_action("channel.disable", "disable a channel"));
      t.add(Methods::get, "/api/v1/events", &Session::get_events, kViewer);
      t.add(Methods::get, "/api/v1/history", &Session::get_history, kViewer);
      t.add(Methods::post, "/api/v1/config/reload", &Session::post_reload,
            admin_action("reload", "reload the configuration"));
      t.add(Methods::get, "/api/v1/redundancy", &Session::get_redundancy, kViewer);
      t.add(Methods::get, "/api/v1/northbound", &Session::get_northbound, kViewer);
      t.add(Methods::get, "/api/v1/stream", &Session::get_stream, kViewer);
      t.add(Methods::get, "/api/v1/whoami", &Session::get_whoami, kViewer);
      t.add(Methods::post, "/api/v1/redundancy/force-failover", &Session::post_force_failover,
            admin_action("force-failover", "force a failover"));
      t.add(Methods::post, "/api/v1/redundancy/recover", &Session::post_recover,
            admin_action("recover", "recover activity"));
      t.add(Methods::get, "/api/v1/audit", &Session::get_audit,
            admin_action({}, "read the audit log"));
      return t;
    }();
    return table;
  }

  void route(const Request& req, ReplyTo to) {
    const auto target = parse_target(req.target());
    const Routes& table = routes();
    const RouteMatch m = target ? table.matcher.match(req.method(), *target) : RouteMatch{};
    // security.md: authentication, then role, then the request's own checks. A request that
    // matches no row needs a viewer, as any GET: an unknown client learns nothing of the paths.
    const Access& access = m.result == RouteMatch::found ? table.access[m.row] : kViewer;
    const bool api = target ? target->api : req.target().starts_with("/api/");
    if (!authorize(req, to, access, api, m)) return;
    if (!target) {
      send(error_response(to, 400, "malformed request target"));
      return;
    }
    switch (m.result) {
      case RouteMatch::found:
        (this->*table.handlers[m.row])(Call{req, to, *target, m.params});
        return;
      case RouteMatch::method_not_allowed:
        method_not_allowed(to, target->api, allow_header(m.allowed));
        return;
      case RouteMatch::not_found:
        if (target->api)
          send(error_response(to, 404, "unknown API path"));
        else
          send(make_response(to, 404, "text/plain", "not found\n"));
        return;
    }
  }

  // Checks the request's token against the row's role and, for an audited row, opens the
  // audit entry that the answer (send()) completes. False: refused, answer sent.
  bool authorize(const Request& req, const ReplyTo& to, const Access& access, bool api,
                 const RouteMatch& m) {
    const auto header = req[http::field::authorization];
    const AuthDecision auth =
        shared_->auth->check(std::string_view(header.data(), header.size()), access.need);
    if (!access.action.empty()) {
      audit_.emplace();
      audit_->who = auth.who;
      audit_->client = client_;
      audit_->action = access.action;
      if (m.params.size() > 0) audit_->target = m.params["id"];
    }
    switch (auth.result) {
      case AuthDecision::allowed:
        return true;
      case AuthDecision::unauthenticated: {
        ++shared_->stats.auth_unauthenticated;
        // The status page holds no data: a browser gets it with the 401 and asks for a token.
        Response res = access.page ? page_response(to, 401, "index.html")
                                   : refusal(to, api, 401, "authentication required");
        res.set(http::field::www_authenticate, "Bearer");
        send(std::move(res));
        return false;
      }
      case AuthDecision::forbidden:
        ++shared_->stats.auth_forbidden;
        send(refusal(to, api, 403, forbidden_message(auth.role, access.need, access.what)));
        return false;
    }
    return false;
  }

  static Response refusal(const ReplyTo& to, bool api, int status, const std::string& message) {
    return api ? error_response(to, status, message)
               : make_response(to, status, "text/plain", message + "\n");
  }

  void finish_audit(unsigned status) {
    audit_->time = std::chrono::system_clock::now();
    audit_->outcome = static_cast<int>(status);
    const AuditEntry& e = shared_->audit.record(std::move(*audit_));
    audit_.reset();
    audit_logger()->info("{}", audit_line(e));
  }

  static std::string client_address(const tcp::socket& socket) {
    beast::error_code ec;
    const auto ep = socket.remote_endpoint(ec);
    if (ec) return "unknown";
    const auto address = ep.address();
    return (address.is_v6() ? "[" + address.to_string() + "]" : address.to_string()) + ":" +
           std::to_string(ep.port());
  }

  // ---- handlers, one per row -------------------------------------------------------------------

  // The page and its files: not cached without asking (an upgraded node serves a new page), and
  // a policy that lets the page load nothing but its own files, from this node.
  static Response page_response(const ReplyTo& to, int status, std::string_view name) {
    const UiFile* file = find_ui_file(name);
    if (!file) return make_response(to, 404, "text/plain", "not found\n");
    Response res = make_response(to, status, ui_content_type(name), std::string(file->body));
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    return res;
  }

  void get_status_page(const Call& c) { send(page_response(c.to, 200, "index.html")); }

  void get_ui_file(const Call& c) { send(page_response(c.to, 200, c.params["name"])); }

  // Who the token is, so the page offers only the actions its role allows.
  void get_whoami(const Call& c) {
    if (!shared_->auth->enabled())
      return send(json_response(c.to, 200, json{{"name", nullptr}, {"role", "admin"}}));
    const auto header = c.req[http::field::authorization];
    const AuthDecision auth =
        shared_->auth->check(std::string_view(header.data(), header.size()), Role::viewer);
    send(json_response(c.to, 200, json{{"name", auth.who}, {"role", to_string(auth.role)}}));
  }

  void get_metrics(const Call& c) {
    auto body = followed_by(shared_->node.metrics(),
                            [shared = shared_] { return server_metrics(*shared); });
    send_parts(c.to, std::move(body), "text/plain; version=0.0.4; charset=utf-8");
  }

  void get_audit(const Call& c) {
    std::uint64_t since = 0;
    if (const auto text = c.target.param("since")) {
      const auto parsed = parse_uint(*text);
      if (!parsed) return send(error_response(c.to, 400, "since must be a non-negative integer"));
      since = *parsed;
    }
    json out = json::array();
    for (const auto& e : shared_->audit.since(since))
      out.push_back(to_json(e));
    send(json_response(c.to, 200, out));
  }

  void get_health(const Call& c) {
    send(json_response(c.to, 200, to_json(shared_->node.health())));
  }

  void get_devices(const Call& c) {
    const auto view = c.target.param("view");
    if (view && *view != "summary")
      return send(error_response(c.to, 400, "view must be summary, not '" + *view + "'"));
    const bool summary = view.has_value();
    send_listing(c.to, [&node = shared_->node, summary](const std::string& id, Listing& out) {
      if (const auto device = node.device(id))
        out.add(summary ? to_summary_json(*device) : to_json(*device));
    });
  }

  void get_device(const Call& c) {
    const std::string& id = c.params["id"];
    const auto device = shared_->node.device(id);
    if (!device) return send(error_response(c.to, 404, "unknown device " + id));
    send(json_response(c.to, 200, to_json(*device)));
  }

  void post_line(const Call& c) {
    NodeApi& node = shared_->node;
    const std::string& id = c.params["id"];
    const LineRequest line = parse_line_request(c.req.body());
    if (!line.error.empty()) return send(error_response(c.to, 400, line.error));
    const Outcome outcome = node.select_line(id, line.line);
    if (!outcome.ok()) return send(outcome_error(c.to, outcome));
    const auto device = node.device(id);
    if (!device) return send(error_response(c.to, 404, "unknown device " + id));
    send(json_response(c.to, outcome.status, to_json(*device)));
  }

  void post_poll(const Call& c) {
    const Outcome outcome = shared_->node.poll_now(c.params["id"]);
    if (!outcome.ok()) return send(outcome_error(c.to, outcome));
    send(json_response(c.to, 202, {{"ok", true}}));
  }

  void post_write(const Call& c) {
    WriteRequest write = parse_write_request(c.req.body());
    if (!write.error.empty()) return send(error_response(c.to, 400, write.error));
    start_write(c.params["id"], std::move(write), c.to);
  }

  void get_points(const Call& c) {
    NodeApi& node = shared_->node;
    const auto device = c.target.param("device");
    if (!device) {
      send_listing(c.to, [&node](const std::string& id, Listing& out) {
        if (const auto points = node.points(id))
          for (const auto& p : *points)
            out.add(to_json(p));
      });
      return;
    }
    const auto points = node.points(*device);
    if (!points) return send(error_response(c.to, 404, "unknown device " + *device));
    json out = json::array();
    for (const auto& p : *points)
      out.push_back(to_json(p));
    send(json_response(c.to, 200, out));
  }

  void get_channels(const Call& c) {
    json out = json::array();
    for (const auto& ch : shared_->node.channels())
      out.push_back(to_json(ch));
    send(json_response(c.to, 200, out));
  }

  void post_channel_enable(const Call& c) { set_channel_enabled(c, true); }
  void post_channel_disable(const Call& c) { set_channel_enabled(c, false); }

  void set_channel_enabled(const Call& c, bool enabled) {
    NodeApi& node = shared_->node;
    const std::string& id = c.params["id"];
    const Outcome outcome = node.set_channel_enabled(id, enabled);
    if (!outcome.ok()) return send(outcome_error(c.to, outcome));
    for (const auto& ch : node.channels()) {
      if (ch.id == id) return send(json_response(c.to, outcome.status, to_json(ch)));
    }
    send(error_response(c.to, 404, "unknown channel " + id));
  }

  void get_events(const Call& c) {
    std::uint64_t since = 0;
    if (const auto text = c.target.param("since")) {
      const auto parsed = parse_uint(*text);
      if (!parsed) return send(error_response(c.to, 400, "since must be a non-negative integer"));
      since = *parsed;
    }
    json out = json::array();
    for (const auto& e : shared_->node.events(since))
      out.push_back(to_json(e));
    send(json_response(c.to, 200, out));
  }

  void post_reload(const Call& c) {
    // Answered once the file is read (off the I/O thread) and applied; this connection waits,
    // everyone else is served meanwhile.
    shared_->node.reload([self = shared_from_this(), to = c.to](const ReloadOutcome& reload) {
      if (self->shared_->stopped) return;
      self->send(json_response(to, reload.outcome.status, reload_json(reload)));
    });
  }

  void get_redundancy(const Call& c) {
    send(json_response(c.to, 200, to_json(shared_->node.redundancy())));
  }

  void get_northbound(const Call& c) {
    const auto view = shared_->node.northbound();
    if (!view) return send(error_response(c.to, 404, "no 'northbound:' section on this node"));
    send(json_response(c.to, 200, to_json(*view)));
  }

  void post_force_failover(const Call& c) { handover(c, shared_->node.force_failover()); }
  void post_recover(const Call& c) { handover(c, shared_->node.recover()); }

  void handover(const Call& c, const Outcome& outcome) {
    if (!outcome.ok()) return send(outcome_error(c.to, outcome));
    send(json_response(c.to, outcome.status, to_json(shared_->node.redundancy())));
  }

  // An all-devices or all-points answer (160,000 points at 10,000 devices: 16 MB, a second of
  // work in one piece) and /metrics (6 MB) go out as chunked responses, a part per chunk, each
  // built once the previous one is written: polls and other clients go on in between, a slow
  // client holds one part in memory rather than the whole body, and it waits for the socket
  // instead of growing a buffer. A listing reads each device when its part is built; one
  // removed by a reload meanwhile is left out. HTTP/1.0 has no chunked encoding and HEAD needs
  // the length: those get the body whole, still built a part per turn.
  void send_listing(const ReplyTo& to, Listing::AppendDevice append) {
    send_parts(to, std::make_unique<Listing>(shared_->node.device_ids(), std::move(append)),
               "application/json");
  }

  void send_parts(const ReplyTo& to, std::shared_ptr<BodySource> body,
                  std::string_view content_type) {
    if (to.version == 10 || to.head)
      return collect_parts(to, body, std::string(content_type), std::string());
    using Header = http::response<http::empty_body>;
    auto header = std::make_shared<Header>(http::status::ok, to.version);
    set_common_fields(*header, to, content_type);
    header->chunked(true);
    const bool close_after = header->need_eof();
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*header);
    stream_.expires_after(shared_->options.idle_timeout);
    http::async_write_header(stream_, *serializer,
                             [self = shared_from_this(), header, serializer, body, close_after](
                                 beast::error_code ec, std::size_t) {
                               if (!ec) self->write_part(body, close_after);
                             });
  }

  void write_part(const std::shared_ptr<BodySource>& body, bool close_after) {
    if (shared_->stopped) return;
    auto part = std::make_shared<std::string>();
    try {
      // An empty chunk would end the body: a part with nothing in it is skipped.
      while (part->empty() && !body->done())
        *part = body->next();
    } catch (const std::exception& e) {
      // The 200 is already sent: a connection closed before the last chunk tells the client
      // the answer is incomplete.
      api_logger()->error("response body: {}", e.what());
      close();
      return;
    }
    stream_.expires_after(shared_->options.idle_timeout);
    if (part->empty()) {
      asio::async_write(
          stream_, http::make_chunk_last(),
          [self = shared_from_this(), close_after](beast::error_code ec, std::size_t) {
            self->on_write(close_after, ec);
          });
      return;
    }
    asio::async_write(
        stream_, http::make_chunk(asio::buffer(*part)),
        [self = shared_from_this(), part, body, close_after](beast::error_code ec, std::size_t) {
          if (!ec) self->write_part(body, close_after);
        });
  }

  void collect_parts(const ReplyTo& to, const std::shared_ptr<BodySource>& body,
                     std::string content_type, std::string text) {
    if (shared_->stopped) return;
    try {
      if (!body->done()) text += body->next();
    } catch (const std::exception& e) {
      api_logger()->error("response body: {}", e.what());
      send(error_response(to, 500, std::string("internal error: ") + e.what()));
      return;
    }
    if (body->done()) return send(make_response(to, 200, content_type, std::move(text)));
    asio::post(stream_.get_executor(),
               [self = shared_from_this(), to, body, content_type = std::move(content_type),
                text = std::move(text)]() mutable {
                 self->collect_parts(to, body, std::move(content_type), std::move(text));
               });
  }

  // api.md "Live stream": text/event-stream, kept open. The connection reads nothing more; it
  // writes what the journal holds from its cursor, a part at a time, then waits until the
  // journal wakes it. A client the journal's ring overtook is disconnected (its reconnect
  // resumes or resyncs); one that stops reading holds only its own unfinished write, which
  // the idle timeout ends.
  struct LiveStream {
    StreamJournal* journal = nullptr;
    StreamFilter filter;
    std::uint64_t cursor = 0;
    bool chunked = true;
    std::chrono::steady_clock::time_point last_write;
  };
  static constexpr auto kStreamHeartbeat = std::chrono::seconds(15);

  void get_stream(const Call& c) {
    StreamJournal* journal = shared_->node.stream();
    if (!journal) return send(error_response(c.to, 404, "this node has no live stream"));
    std::optional<std::uint64_t> last_id;
    if (const auto h = c.req["Last-Event-ID"]; !h.empty()) {
      last_id = parse_uint(std::string_view(h.data(), h.size()));
      if (!last_id) return send(error_response(c.to, 400, "Last-Event-ID must be an event id"));
    }
    if (c.to.head) return send(make_response(c.to, 200, "text/event-stream", ""));
    auto live = std::make_shared<LiveStream>();
    live->journal = journal;
    for (const auto& [key, value] : c.target.query) {
      if (key == "device") live->filter.devices.push_back(value);
      if (key != "kind") continue;
      const auto kind = stream_kind_from_string(value);
      if (!kind)
        return send(error_response(
            c.to, 400, "kind must be point, device, failover or redundancy, not '" + value + "'"));
      live->filter.kinds.push_back(*kind);
    }
    journal->attach(weak_from_this());  // first: the producer starts journaling now
    streaming_ = true;
    ++shared_->stream_clients;
    const StreamJournal::Start start = journal->start(last_id);
    live->cursor = start.cursor;
    live->chunked = c.to.version != 10;  // HTTP/1.0: the body runs until the connection closes
    // Browsers reconnect after `retry` ms; a resumed client that missed too much reloads first.
    auto first = std::make_shared<std::string>("retry: 2000\n\n");
    if (start.resync) *first += format_sse(start.resync_id, StreamEventKind::resync, "{}");

    using Header = http::response<http::empty_body>;
    auto header = std::make_shared<Header>(http::status::ok, c.to.version);
    set_common_fields(*header, ReplyTo{c.to.version, live->chunked, false}, "text/event-stream");
    if (live->chunked)
      header->chunked(true);
    else
      header->keep_alive(false);
    auto serializer = std::make_shared<http::response_serializer<http::empty_body>>(*header);
    stream_.expires_after(shared_->options.idle_timeout);
    http::async_write_header(stream_, *serializer,
                             [self = shared_from_this(), header, serializer, live, first](
                                 beast::error_code ec, std::size_t) {
                               if (!ec) self->write_stream(live, first);
                             });
  }

  void next_stream_part(const std::shared_ptr<LiveStream>& live) {
    if (shared_->stopped) return;
    StreamJournal::Read r = live->journal->read(live->cursor, live->filter, BodySource::kPartBytes);
    if (r.lost) {
      api_logger()->info("live stream: a client fell behind the journal and is disconnected");
      ++shared_->stats.stream_dropped;
      return close();
    }
    live->cursor = r.cursor;
    if (r.text.empty()) {
      if (std::chrono::steady_clock::now() - live->last_write < kStreamHeartbeat) {
        live->journal->wait([self = shared_from_this(), live] { self->next_stream_part(live); });
        return;
      }
      r.text = ": keepalive\n\n";  // a comment: tells a dead client from a quiet node
    }
    write_stream(live, std::make_shared<std::string>(std::move(r.text)));
  }

  void write_stream(const std::shared_ptr<LiveStream>& live,
                    const std::shared_ptr<std::string>& text) {
    live->last_write = std::chrono::steady_clock::now();
    stream_.expires_after(shared_->options.idle_timeout);
    const auto done = [self = shared_from_this(), live, text](beast::error_code ec, std::size_t) {
      if (!ec) return self->next_stream_part(live);
      // A client that took nothing for the idle timeout is as far behind as one the ring
      // overtook: it too is dropped for not keeping up.
      if (ec == beast::error::timeout) {
        api_logger()->info("live stream: a client took nothing for the idle timeout; disconnected");
        ++self->shared_->stats.stream_dropped;
      }
    };
    if (live->chunked)
      asio::async_write(stream_, http::make_chunk(asio::buffer(*text)), done);
    else
      asio::async_write(stream_, asio::buffer(*text), done);
  }

  // history.md "Reading it back": the query runs off the I/O thread; this connection waits for
  // it as for a write.
  void get_history(const Call& c) {
    const auto accept = c.req[http::field::accept];
    HistoryQuery q = parse_history_query(c.target, std::string_view(accept.data(), accept.size()),
                                         std::chrono::system_clock::now());
    if (!q.error.empty()) return send(error_response(c.to, 400, q.error));
    auto answered = std::make_shared<bool>(false);
    shared_->node.history(
        q.request, [self = shared_from_this(), to = c.to, answered, q](HistoryAnswer a) {
          if (std::exchange(*answered, true)) return;
          asio::post(self->stream_.get_executor(), [self, to, q, a = std::move(a)] {
            if (!a.outcome.ok()) return self->send(outcome_error(to, a.outcome));
            if (q.csv)
              return self->send(
                  make_response(to, 200, "text/csv; charset=utf-8", history_csv(q.request, a)));
            self->send(json_response(to, 200, history_json(q.request, a)));
          });
        });
  }

  // The node answers a write only once the device confirmed or failed; until then this
  // connection waits (nothing is read from it) while the I/O thread serves everyone else.
  void start_write(const std::string& id, WriteRequest write, ReplyTo to) {
    auto answered = std::make_shared<bool>(false);
    auto self = shared_from_this();
    // If the node throws, dispatch() answers 500 -- unless the callback already answered, in
    // which case a second answer would corrupt the connection.
    try {
      shared_->node.write(id, write.point, write.value, [self, to, answered](Outcome outcome) {
        if (*answered) return;  // a second completion from a buggy node is ignored
        *answered = true;
        // Posted so an immediate (synchronous) answer and a late one take the same path: the
        // answer is never written from inside the node's call stack.
        asio::post(self->stream_.get_executor(), [self, to, outcome = std::move(outcome)] {
          if (outcome.ok()) {
            self->send(json_response(to, outcome.status, {{"ok", true}}));
          } else {
            self->send(outcome_error(to, outcome));
          }
        });
      });
    } catch (const std::exception& e) {
      if (!*answered) {
        *answered = true;
        throw;
      }
      api_logger()->error("write {}.{} threw after answering: {}", id, write.point, e.what());
    }
  }

  std::string client_;               // IP:port, for the audit
  std::optional<AuditEntry> audit_;  // the audited request being answered
  ApiStream stream_;
  asio::steady_timer header_timer_;
  std::uint64_t deadline_generation_ = 0;  // a stale deadline (the timer already fired) is ignored
  bool reading_header_ = false;
  bool header_timed_out_ = false;
  bool streaming_ = false;  // a live stream: counted in stream_clients while it lives
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::vector<char> drain_;
  std::unique_ptr<http::response<http::empty_body>> continue_;
  std::shared_ptr<HttpServer::Shared> shared_;
};

}  // namespace

// ---- the server --------------------------------------------------------------------------------

HttpServer::HttpServer(asio::io_context& io, NodeApi& node, std::string listen,
                       HttpServerOptions options)
    : io_(io), listen_(std::move(listen)), shared_(std::make_shared<Shared>(io, node, options)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  const auto colon = listen_.rfind(':');
  if (colon == std::string::npos) {
    throw std::invalid_argument("listen address must be HOST:PORT, got \"" + listen_ + "\"");
  }
  std::string host = listen_.substr(0, colon);
  const std::string port = listen_.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty() || host == "*") host = "0.0.0.0";
  const auto port_number = parse_uint(port);
  if (!port_number || *port_number > 65535) {
    throw std::invalid_argument("bad port in listen address \"" + listen_ + "\"");
  }
  tcp::resolver resolver(io_);
  boost::system::error_code ec;
  const auto results =
      resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) {
    throw std::system_error(ec ? ec : std::make_error_code(std::errc::invalid_argument),
                            "cannot resolve listen address " + listen_);
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  auto& acceptor = shared_->acceptor;
  auto fail = [&](const char* what) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    throw std::system_error(ec, std::string("cannot listen on ") + listen_ + " (" + what + ")");
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) fail("open");
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) fail("reuse_address");
  acceptor.bind(endpoint, ec);
  if (ec) fail("bind");
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) fail("listen");
  shared_->stopped = false;
  api_logger()->info("{} API listening on {}:{}", shared_->options.tls ? "HTTPS" : "HTTP",
                     endpoint.address().to_string(), this->port());
  accept();
}

void HttpServer::accept() {
  auto shared = shared_;
  shared->acceptor.async_accept([shared, this](beast::error_code ec, tcp::socket socket) {
    if (shared->stopped || !shared->acceptor.is_open()) return;
    if (ec) {
      // Out of descriptors and the like: back off instead of spinning on the I/O thread.
      api_logger()->warn("accept failed: {}", ec.message());
      shared->retry_timer.expires_after(std::chrono::milliseconds(100));
      shared->retry_timer.async_wait([shared, this](beast::error_code wait_ec) {
        if (!wait_ec && !shared->stopped) accept();
      });
      return;
    }
    if (shared->active >= shared->options.max_connections) {
      // spec/security.md: accepted and closed at once, nothing answered.
      ++shared->stats.connections_refused;
      if (!std::exchange(shared->refusing, true))
        api_logger()->warn("{} API connections open: refusing new ones until some close",
                           shared->active);
      boost::system::error_code ignored;
      socket.close(ignored);
      return accept();
    }
    std::make_shared<Session>(std::move(socket), shared)->start();
    accept();
  });
}

void HttpServer::stop() {
  shared_->stopped = true;
  boost::system::error_code ignored;
  shared_->acceptor.close(ignored);
  shared_->retry_timer.cancel();
  // Copy first: closing may not destroy a session synchronously, but be safe against erasure.
  std::vector<std::shared_ptr<Session>> live;
  for (auto& [ptr, weak] : shared_->sessions) {
    if (auto s = weak.lock()) live.push_back(std::move(s));
  }
  for (auto& s : live)
    s->close();
}

std::uint16_t HttpServer::port() const {
  boost::system::error_code ec;
  const auto endpoint = shared_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

std::size_t HttpServer::connections() const {
  return shared_->active;
}

void HttpServer::set_tokens(const std::vector<ApiToken>& tokens) {
  shared_->auth = std::make_shared<const Authenticator>(tokens);
}

const HttpServerStats& HttpServer::stats() const {
  return shared_->stats;
}

void HttpServer::set_tls(std::shared_ptr<asio::ssl::context> tls) {
  shared_->options.tls = std::move(tls);
}

}  // namespace pollux::api
