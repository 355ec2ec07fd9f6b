// `pollux run -c FILE` (spec/api.md "Programs"; engine issue item 6): loads and validates the
// config (exit 2 with check's messages on error), builds the node (engine, plus the redundancy
// controller in master/backup mode) on one io_context thread with the real transports, serves
// the HTTP API, reloads on SIGHUP and exits 0 after closing every channel on SIGINT/SIGTERM.
// Under a service manager (NOTIFY_SOCKET) it reports READY once the API listens, RELOADING and
// READY around a SIGHUP reload, STOPPING on exit, and pings the watchdog from the I/O loop.
#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "api/http_server.hpp"
#include "api/tls_context.hpp"
#include "app/commands.hpp"
#include "app/link_settings.hpp"
#include "app/node.hpp"
#include "config/loader.hpp"
#include "engine/engine.hpp"
#include "runtime/asio_executor.hpp"
#include "runtime/log_format.hpp"
#include "runtime/logging.hpp"
#include "runtime/service_notify.hpp"
#include "transport/modem_link.hpp"
#include "transport/serial_link.hpp"
#include "transport/tcp_link.hpp"

namespace pollux::app {

namespace {

LinkFactory real_links(boost::asio::io_context& io, runtime::Executor& ex) {
  return [&io, &ex](const config::Channel& c) -> std::unique_ptr<transport::Link> {
    switch (c.type) {
      case config::ChannelType::serial:
        return std::make_unique<transport::SerialLink>(io, ex, serial_settings(c));
      case config::ChannelType::modem:
        return std::make_unique<transport::ModemLink>(io, ex, modem_settings(c));
      case config::ChannelType::tcp:
        return std::make_unique<transport::TcpLink>(io, ex, tcp_settings(c));
    }
    return std::make_unique<transport::TcpLink>(io, ex, tcp_settings(c));
  };
}

// security.md: the HTTP layer's view of `api.tokens` (api does not depend on config).
std::vector<api::ApiToken> api_tokens(const config::ApiSettings& settings) {
  std::vector<api::ApiToken> out;
  for (const auto& t : settings.tokens) {
    api::Role role = api::Role::viewer;
    switch (t.role) {
      case config::ApiRole::viewer:
        role = api::Role::viewer;
        break;
      case config::ApiRole::operator_:
        role = api::Role::operator_;
        break;
      case config::ApiRole::admin:
        role = api::Role::admin;
        break;
    }
    out.push_back({t.name, t.token, role});
  }
  return out;
}

// spec/security.md: a reload may change the TLS files (or their content, a renewed certificate
// at the same path); connections accepted after it use them. Should the files have changed
// again since the reload checked them, the previous context stays.
void reload_tls(api::HttpServer& http, const config::ApiSettings& api) {
  if (!api.tls) return http.set_tls(nullptr);
  try {
    http.set_tls(api::make_server_tls_context(api.tls->cert_file, api.tls->key_file));
    spdlog::info("reload: HTTPS uses {} and {} for new connections", api.tls->cert_file,
                 api.tls->key_file);
  } catch (const api::TlsError& e) {
    spdlog::error("reload: HTTPS keeps its previous certificate: {}", e.what());
  }
}

void wait_signals(boost::asio::signal_set& signals, Node& node, api::HttpServer& http,
                  boost::asio::io_context& io, runtime::ServiceNotifier& notifier,
                  runtime::Executor& ex) {
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading the configuration");
      notifier.reloading(ex.now());
      // READY again whatever the outcome: a refused reload leaves the node running as it was.
      node.reload([&notifier](const ReloadOutcome& out) {  // the engine logs the outcome
        notifier.ready(out.outcome.ok() ? "configuration reloaded"
                                        : "reload refused, running the previous configuration");
      });
      wait_signals(signals, node, http, io, notifier, ex);
      return;
    }
    spdlog::info("{}: closing channels and exiting", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    notifier.stopping();
    notifier.stop_watchdog();
    http.stop();
    node.stop();
    io.stop();
  });
}

}  // namespace

int run_command(const CommonOptions& common, const std::vector<std::string_view>& args) {
  auto path = config_path_arg("run", args);
  if (!path) return 2;
  const auto level = runtime::parse_log_level(common.log_level);
  if (!level) {
    std::fprintf(stderr, "pollux: unknown log level '%s'\n", common.log_level.c_str());
    return 2;
  }
  runtime::setup_logging("pollux", *level);
  runtime::set_log_style(
      {.format = runtime::parse_log_format(common.log_format).value_or(runtime::LogFormat::text),
       .journal = runtime::stderr_is_journal()});
  runtime::ServiceNotifier notifier = runtime::ServiceNotifier::from_environment();
  config::LoadResult loaded = config::load_file(*path);
  print_diagnostics(loaded);  // the same lines as `check`, warnings included
  if (!loaded.ok()) return 2;
  if (loaded.config->redundancy.mode == config::RedundancyMode::backup) {
    // A backup runs with backup_overrides applied (redundancy.md "Synchronization").
    loaded = config::load_file(*path, config::LoadOptions{.as_backup = true});
    if (!loaded.ok()) {
      for (const auto& d : loaded.errors)
        std::fprintf(stderr, "%s\n", d.to_string().c_str());
      return 2;
    }
  }
  config::Config cfg = std::move(*loaded.config);
  const std::string listen = cfg.api.listen;

  boost::asio::io_context io;
  runtime::AsioExecutor ex(io);
  const std::string file = *path;
  std::optional<Node> node;
  try {
    node.emplace(io, ex, real_links(io, ex), std::move(cfg), loaded.version,
                 [file] { return config::load_file(file); });
  } catch (const std::exception& e) {
    spdlog::critical("cannot start the node: {}", e.what());
    return 1;
  }
  // The loader checked the TLS files; a failure here is a file changed since.
  api::HttpServerOptions http_options;
  if (const auto& tls = node->engine().config().api.tls) {
    try {
      http_options.tls = api::make_server_tls_context(tls->cert_file, tls->key_file);
    } catch (const api::TlsError& e) {
      spdlog::critical("cannot serve HTTPS: {}", e.what());
      return 2;
    }
  }
  api::HttpServer http(io, *node, listen, http_options);
  http.set_tokens(api_tokens(node->engine().config().api));
  node->set_reload_listener([&http](const config::Config& c) {
    http.set_tokens(api_tokens(c.api));
    reload_tls(http, c.api);
  });
  try {
    http.start();
  } catch (const std::exception& e) {
    spdlog::critical("cannot serve the API on {}: {}", listen, e.what());
    return 1;
  }
  spdlog::info("API listening on {} (port {})", listen, http.port());
  boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  wait_signals(signals, *node, http, io, notifier, ex);
  try {
    node->start();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start the node: {}", e.what());
    return 1;
  }
  // From the loop itself, once it runs: READY, then the watchdog pings on its timers, which a
  // stalled loop stops.
  ex.post([&] {
    notifier.ready("API listening on " + listen);
    notifier.start_watchdog(ex);
  });
  io.run();
  notifier.stop_watchdog();
  node->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace pollux::app
