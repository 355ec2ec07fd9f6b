// polluxctl: the operator CLI over the node's HTTP API (spec/api.md "Programs").
//
// Exit status: 0 on a 2xx answer, 1 on a 4xx/5xx answer (its error printed), 2 on a usage
// error, 3 when the node cannot be reached. Scripts rely on these, so they never change.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "client.hpp"
#include "format.hpp"

namespace {

using nlohmann::json;
using namespace polluxctl;

constexpr int kOk = 0;
constexpr int kHttpError = 1;
constexpr int kUsage = 2;
constexpr int kUnreachable = 3;

constexpr const char* kUsageText =
    "usage: polluxctl [--api URL] [--token TOKEN] [--cacert FILE] [--json] [--timeout SECONDS]\n"
    "                 VERB [ARGS]\n"
    "\n"
    "verbs:\n"
    "  status                       node health and channels\n"
    "  devices                      all devices with active line and counters\n"
    "  device DEVICE                one device with its lines\n"
    "  points [DEVICE]              point values (all devices when none given)\n"
    "  line DEVICE N                make line N (1..3) the device's active line\n"
    "  write DEVICE POINT VALUE     write a point; VALUE is a number, true/false or text\n"
    "  poll DEVICE                  poll every group of the device now\n"
    "  channel ID enable|disable    enable or disable a channel\n"
    "  reload                       reload the configuration file\n"
    "  events [--since N]           device line changes after sequence N\n"
    "  redundancy                   master/backup state\n"
    "  northbound                   the Sparkplug B session to the MQTT broker\n"
    "  history DEVICE POINT [--from T] [--to T] [--limit N] [--interval S] [--csv]\n"
    "                               recorded values (T: RFC 3339; default the last 24 h);\n"
    "                               --interval S: min/max/avg/last/count per S seconds\n"
    "  force-failover               hand activity to the peer node\n"
    "  recover                      take activity back (recovery: manual)\n"
    "\n"
    "options:\n"
    "  --api URL          node API (default $POLLUX_API, else http://127.0.0.1:8780);\n"
    "                     https://HOST:PORT verifies the node's certificate and name\n"
    "  --cacert FILE      trust the CA certificate(s) in FILE (PEM) for https://\n"
    "                     (default: the system's CAs)\n"
    "  --json             print the API's JSON answer as is\n"
    "  --watch SECONDS    redraw every SECONDS (status, devices, device, points, events,\n"
    "                     redundancy, northbound); stop with Ctrl-C\n"
    "  --timeout SECONDS  give up on the node after this long (default 30)\n"
    "  --token TOKEN      API bearer token (default $POLLUX_TOKEN); prefer the variable:\n"
    "                     a command line is visible to other users of the machine\n"
    "\n"
    "exit status: 0 success, 1 the node refused (error printed; 401/403: token missing,\n"
    "             unknown or with too low a role), 2 usage, 3 node unreachable\n";

// One line saying what is wrong and one pointing at the help: the whole help would bury the
// line that matters.
int usage_error(const std::string& message) {
  std::fprintf(stderr, "polluxctl: %s\nTry 'polluxctl --help' for the verbs and options.\n",
               message.c_str());
  return kUsage;
}

// A verb's arguments as the help shows them, for its usage error.
std::string synopsis(const std::string& verb) {
  static const std::pair<const char*, const char*> kSynopses[] = {
      {"status", ""},
      {"devices", ""},
      {"device", " DEVICE"},
      {"points", " [DEVICE]"},
      {"line", " DEVICE N"},
      {"write", " DEVICE POINT VALUE"},
      {"poll", " DEVICE"},
      {"channel", " ID enable|disable"},
      {"reload", ""},
      {"events", " [--since N]"},
      {"redundancy", ""},
      {"northbound", ""},
      {"force-failover", ""},
      {"recover", ""},
      {"history", " DEVICE POINT [--from T] [--to T] [--limit N] [--interval S] [--csv]"}};
  for (const auto& [name, args] : kSynopses)
    if (verb == name) return "polluxctl " + verb + args;
  return "polluxctl " + verb;
}

struct Options {
  Url url;
  std::string url_text;
  std::string ca_file;
  bool json = false;
  bool colour = false;  // stdout is a terminal and NO_COLOR is not set
  std::optional<double> watch;
  std::chrono::milliseconds timeout{30'000};
  std::string token;  // --token, else $POLLUX_TOKEN; empty: none sent
  std::optional<std::uint64_t> since;
  // history: query parameters as given (the node validates them) and CSV output
  std::vector<std::pair<std::string, std::string>> history_params;
  bool csv = false;
  std::vector<std::string> args;  // verb first
};

// The outcome of one verb: the text to show, or why not.
struct Result {
  int exit = kOk;
  std::string out;  // stdout
  std::string err;  // stderr
};

class Api {
 public:
  explicit Api(const Options& options) : options_(options) {}

  // Performs a request; a transport failure or non-2xx answer fills `failure` and returns null.
  // `expect_json` false: a 2xx body that is not JSON (CSV) is fine; it is in last_body.
  std::optional<json> request(const std::string& method, const std::string& target,
                              const json& body, Result& failure, bool expect_json = true) {
    CallError error;
    const auto reply =
        call(options_.url, method, target, body.is_null() ? std::string() : body.dump(),
             options_.timeout, error, options_.token);
    if (!reply) {
      failure.exit = kUnreachable;
      failure.err = "polluxctl: node unreachable at " + options_.url_text + ": " + error.message;
      return std::nullopt;
    }
    last_body = reply->body;
    json doc = json::parse(reply->body, nullptr, false);
    if (reply->status < 200 || reply->status > 299) {
      failure.exit = kHttpError;
      std::string message;
      if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
        message = doc["error"].get<std::string>();
      } else {
        message = reply->body;
        while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
          message.pop_back();
        }
      }
      failure.err = "polluxctl: " + std::to_string(reply->status) + ": " + message;
      // spec/security.md: say what to do about a refusal, not only that it happened.
      if (reply->status == 401)
        failure.err +=
            options_.token.empty()
                ? " (this node needs a token: give it with --token TOKEN or POLLUX_TOKEN)"
                : " (the node does not accept this token)";
      else if (reply->status == 403 && message.rfind("role ", 0) == 0)
        failure.err += " (use a token with a higher role)";
      if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array()) {
        for (const auto& e : doc["errors"])
          failure.err += "\n  " + text(e);
      }
      if (options_.json) failure.out = reply->body;
      return std::nullopt;
    }
    if (doc.is_discarded() && expect_json) {
      failure.exit = kHttpError;
      failure.err = "polluxctl: the node answered " + std::to_string(reply->status) +
                    " with a body that is not JSON";
      return std::nullopt;
    }
    return doc;
  }

  std::string last_body;

 private:
  const Options& options_;
};

// A JSON literal (number, true/false, "quoted string") as typed, otherwise the text itself.
json parse_value(const std::string& raw) {
  json v = json::parse(raw, nullptr, false);
  if (!v.is_discarded() && (v.is_number() || v.is_boolean() || v.is_string())) return v;
  return raw;
}

std::optional<long long> parse_int(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0') return std::nullopt;
  return v;
}

std::string with_newline(std::string s) {
  if (s.empty() || s.back() != '\n') s += '\n';
  return s;
}

// A string member, or `otherwise` when absent or not a string (never throws on odd JSON).
std::string member(const json& object, const char* key, const char* otherwise) {
  if (!object.is_object()) return otherwise;
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : otherwise;
}

// The activity this node should end with: force-failover flips it (an active node gives,
// a standby one asks), recover gives it to the master (redundancy.md).
std::string handover_target(const std::string& verb, const json& before) {
  const std::string activity = member(before, "activity", "");
  if (verb == "force-failover") return activity == "active" ? "standby" : "active";
  return member(before, "mode", "") == "master" ? "active" : "standby";
}

// force-failover and recover: the node answers as soon as it has started the handover, which
// completes when the peer acknowledges; the operator wants the state after it, so the
// redundancy view is read again until this node and its peer hold the expected activities, or
// until --timeout.
Result handover(Api& api, const Options& o, const std::string& verb) {
  Result r;
  const auto before = api.request("GET", "/api/v1/redundancy", nullptr, r);
  if (!before) return r;
  const std::string want = handover_target(verb, *before);
  const std::string peer_want = want == "active" ? "standby" : "active";
  const auto answer = api.request("POST", "/api/v1/redundancy/" + verb, nullptr, r);
  if (!answer) return r;
  if (member(*before, "mode", "") == "independent") {  // no peer: nothing to wait for
    r.out = o.json ? with_newline(api.last_body)
                   : verb + ": done; this node is " + member(*answer, "activity", "-") + "\n";
    return r;
  }
  const auto deadline = std::chrono::steady_clock::now() + o.timeout;
  for (;;) {
    const auto now = api.request("GET", "/api/v1/redundancy", nullptr, r);
    if (!now) return r;
    const std::string activity = member(*now, "activity", "");
    const json peer = now->is_object() && now->contains("peer") ? (*now)["peer"] : json();
    const std::string peer_activity = member(peer, "activity", "unknown");
    const bool settled = activity == want && peer_activity == peer_want;
    if (settled || std::chrono::steady_clock::now() >= deadline) {
      const std::string state = "this node is " + activity + ", its peer (" +
                                member(peer, "address", "-") + ") " + peer_activity;
      if (o.json) r.out = with_newline(api.last_body);
      if (settled) {
        if (!o.json) r.out = verb + ": done; " + state + "\n";
      } else {
        r.exit = kHttpError;
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%g", o.timeout.count() / 1000.0);
        r.err = "polluxctl: " + verb + ": the node accepted it, but the handover had not " +
                "completed after " + seconds + " s: " + state;
      }
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Result run_verb(const Options& o) {
  Api api(o);
  Result r;
  const auto& a = o.args;
  const std::string& verb = a[0];
  auto argc_is = [&](std::size_t n) {
    if (a.size() == n) return true;
    r.exit = kUsage;
    r.err = "usage error: wrong number of arguments; usage: " + synopsis(verb);
    return false;
  };
  // One GET/POST whose answer is printed raw (--json) or through `fmt`.
  auto simple = [&](const std::string& method, const std::string& target, const json& body,
                    auto fmt) {
    const auto doc = api.request(method, target, body, r);
    if (!doc) return r;
    r.out = o.json ? with_newline(api.last_body) : fmt(*doc);
    return r;
  };
  const std::string devices = "/api/v1/devices/";

  if (verb == "status") {
    if (!argc_is(1)) return r;
    const auto health = api.request("GET", "/api/v1/health", nullptr, r);
    if (!health) return r;
    const auto channels = api.request("GET", "/api/v1/channels", nullptr, r);
    if (!channels) return r;
    r.out = o.json ? json{{"health", *health}, {"channels", *channels}}.dump() + "\n"
                   : format_status(*health, *channels);
    return r;
  }
  if (verb == "devices") {
    if (!argc_is(1)) return r;
    return simple("GET", "/api/v1/devices", nullptr,
                  [&](const json& d) { return format_devices(d, o.colour); });
  }
  if (verb == "device") {
    if (!argc_is(2)) return r;
    return simple("GET", devices + encode(a[1]), nullptr, format_device);
  }
  if (verb == "points") {
    if (a.size() > 2 && !argc_is(2)) return r;
    const std::string target =
        a.size() == 2 ? "/api/v1/points?device=" + encode(a[1]) : "/api/v1/points";
    return simple("GET", target, nullptr, format_points);
  }
  if (verb == "line") {
    if (!argc_is(3)) return r;
    const auto n = parse_int(a[2]);
    if (!n) {
      r.exit = kUsage;
      r.err = "usage error: line number must be an integer, got '" + a[2] + "'";
      return r;
    }
    return simple("POST", devices + encode(a[1]) + "/line", json{{"line", *n}},
                  [&](const json& d) { return format_line_change(d, std::time(nullptr)); });
  }
  if (verb == "write") {
    if (!argc_is(4)) return r;
    return simple("POST", devices + encode(a[1]) + "/write",
                  json{{"point", a[2]}, {"value", parse_value(a[3])}},
                  [&](const json&) { return a[1] + "." + a[2] + ": written\n"; });
  }
  if (verb == "poll") {
    if (!argc_is(2)) return r;
    return simple("POST", devices + encode(a[1]) + "/poll", nullptr,
                  [&](const json&) { return a[1] + ": poll requested\n"; });
  }
  if (verb == "channel") {
    if (!argc_is(3)) return r;
    if (a[2] != "enable" && a[2] != "disable") {
      r.exit = kUsage;
      r.err = "usage error: '" + a[2] + "' is not enable or disable; usage: " + synopsis(verb);
      return r;
    }
    return simple("POST", "/api/v1/channels/" + encode(a[1]) + "/" + a[2], nullptr,
                  [](const json& c) { return format_channels(json::array({c})); });
  }
  if (verb == "reload") {
    if (!argc_is(1)) return r;
    return simple("POST", "/api/v1/config/reload", nullptr, [](const json& d) {
      return "configuration reloaded, version " + text(d.value("version", json())) + "\n";
    });
  }
  if (verb == "events") {
    if (!argc_is(1)) return r;
    return simple("GET", "/api/v1/events?since=" + std::to_string(o.since.value_or(0)), nullptr,
                  format_events);
  }
  if (verb == "redundancy") {
    if (!argc_is(1)) return r;
    return simple("GET", "/api/v1/redundancy", nullptr, format_redundancy);
  }
  if (verb == "northbound") {
    if (!argc_is(1)) return r;
    return simple("GET", "/api/v1/northbound", nullptr, format_northbound);
  }
  if (verb == "history") {
    if (!argc_is(3)) return r;
    std::string target = "/api/v1/history?device=" + encode(a[1]) + "&point=" + encode(a[2]);
    for (const auto& [key, value] : o.history_params)
      target += "&" + key + "=" + encode(value);
    if (o.csv) target += "&format=csv";
    const auto doc = api.request("GET", target, nullptr, r, !o.csv);
    if (!doc) return r;
    if (o.csv || o.json) {
      r.out = with_newline(api.last_body);
    } else {
      r.out = format_history(*doc);
    }
    // More than one page: say how to ask for the next (stderr keeps CSV and JSON clean).
    if (!o.csv && doc->is_object() && doc->contains("next") && (*doc)["next"].is_string())
      r.err = "polluxctl: more records: ask again with --from " + (*doc)["next"].get<std::string>();
    return r;
  }
  if (verb == "force-failover" || verb == "recover") {
    if (!argc_is(1)) return r;
    return handover(api, o, verb);
  }
  r.exit = kUsage;
  r.err = "usage error: unknown verb '" + verb + "'";
  return r;
}

bool watchable(const std::string& verb) {
  return verb == "status" || verb == "devices" || verb == "device" || verb == "points" ||
         verb == "events" || verb == "redundancy" || verb == "northbound";
}

std::string now_text() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return buf;
}

void emit(const Result& r) {
  if (!r.out.empty()) std::fputs(r.out.c_str(), stdout);
  // Out before err: on one terminal a hint follows the table it is about.
  std::fflush(stdout);
  if (!r.err.empty()) std::fprintf(stderr, "%s\n", r.err.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  const char* env = std::getenv("POLLUX_API");
  o.url_text = env != nullptr && *env != '\0' ? env : "http://127.0.0.1:8780";
  if (const char* token = std::getenv("POLLUX_TOKEN")) o.token = token;
  bool positional_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name) -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      (void)name;
      return std::string(argv[++i]);
    };
    if (positional_only) {
      o.args.push_back(arg);
    } else if (arg == "--") {
      positional_only = true;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsageText, stdout);
      return kOk;
    } else if (arg == "--json") {
      o.json = true;
    } else if (arg == "--api") {
      const auto v = value("--api");
      if (!v) return usage_error("--api needs a URL");
      o.url_text = *v;
    } else if (arg == "--token") {
      const auto v = value("--token");
      if (!v || v->empty()) return usage_error("--token needs a token");
      o.token = *v;
    } else if (arg == "--cacert") {
      const auto v = value("--cacert");
      if (!v) return usage_error("--cacert needs a file");
      o.ca_file = *v;
    } else if (arg == "--watch" || arg == "--timeout") {
      const auto v = value(arg.c_str());
      char* end = nullptr;
      const double seconds = v ? std::strtod(v->c_str(), &end) : 0;
      if (!v || *end != '\0' || !(seconds > 0) || seconds > 86400) {
        return usage_error(arg + " needs a positive number of seconds");
      }
      if (arg == "--watch") {
        o.watch = seconds;
      } else {
        o.timeout = std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
      }
    } else if (arg == "--since") {
      const auto v = value("--since");
      const auto n = v ? parse_int(*v) : std::nullopt;
      if (!n || *n < 0) return usage_error("--since needs a non-negative sequence number");
      o.since = static_cast<std::uint64_t>(*n);
    } else if (arg == "--from" || arg == "--to" || arg == "--limit" || arg == "--interval") {
      const auto v = value(arg.c_str());
      if (!v) return usage_error(arg + " needs a value");
      o.history_params.emplace_back(arg == "--interval" ? "interval_s" : arg.substr(2), *v);
    } else if (arg == "--csv") {
      o.csv = true;
    } else if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
      return usage_error("unknown option " + arg);
    } else {
      o.args.push_back(arg);  // "-5" stays a value (write DEVICE POINT -5)
    }
  }
  if (o.args.empty()) return usage_error("no verb given");
  const bool terminal = isatty(STDOUT_FILENO) == 1;
  o.colour = terminal && !std::getenv("NO_COLOR");
  const auto url = parse_url(o.url_text);
  if (!url)
    return usage_error("bad API URL '" + o.url_text +
                       "' (expected http://HOST:PORT or https://HOST:PORT)");
  o.url = *url;
  o.url.ca_file = o.ca_file;
  if (!o.ca_file.empty() && !o.url.tls) return usage_error("--cacert applies to https:// only");
  if (o.since && o.args[0] != "events") return usage_error("--since applies to 'events' only");
  if ((o.csv || !o.history_params.empty()) && o.args[0] != "history")
    return usage_error("--from, --to, --limit, --interval and --csv apply to 'history' only");

  if (!o.watch) {
    const Result r = run_verb(o);
    if (r.exit == kUsage) return usage_error(r.err.substr(std::string("usage error: ").size()));
    emit(r);
    return r.exit;
  }
  if (!watchable(o.args[0])) return usage_error("--watch does not apply to '" + o.args[0] + "'");
  const auto period = std::chrono::milliseconds(static_cast<long long>(*o.watch * 1000));
  // Piped into a file or another program, frames follow one another separated by a blank line:
  // clear-screen codes would only be noise there.
  for (bool first = true;; first = false) {
    const Result r = run_verb(o);
    if (r.exit == kUsage) return usage_error(r.err.substr(std::string("usage error: ").size()));
    // Clear and home the terminal, then redraw: a refreshing display for the operator.
    std::string screen = terminal ? "\x1b[H\x1b[2J" : first ? "" : "\n";
    screen += "every " + std::to_string(o.watch.value()).substr(0, 4) + "s  polluxctl " +
              o.args[0] + "  " + o.url_text + "  " + now_text() + "\n\n";
    std::fputs(screen.c_str(), stdout);
    emit(r);
    std::this_thread::sleep_for(period);
  }
}
