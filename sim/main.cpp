// pollux-sim entry point: `pollux-sim -c SIM.yaml [--control HOST:PORT|unix:PATH] [--report FILE]`.
// Prints one ready line (JSON) on stdout once everything listens; SIGTERM/SIGINT write the
// report, remove the ptys and exit 0 (simulator issue, "Interface contract").
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <iostream>

#include "simulator.hpp"

namespace {
constexpr const char* kUsage =
    "usage: pollux-sim -c SIM.yaml [--control HOST:PORT | --control unix:PATH] "
    "[--report FILE] [-v]\n";

constexpr const char* kOptions =
    "\n"
    "  -c, --config SIM.yaml  the simulated devices, lines, servers, modems and faults\n"
    "  --control ADDRESS      control interface (HOST:PORT or unix:PATH); overrides `control:`\n"
    "  --report FILE          write the report here at exit (default: one JSON line on stdout)\n"
    "  -v, --verbose          debug logs on stderr\n"
    "  -h, --help             print this help and exit\n"
    "\n"
    "Prints one ready line (JSON) on stdout once everything listens; SIGTERM or SIGINT writes\n"
    "the report and exits 0. A bad config exits 2.\n";

// A usage error goes to stderr with status 2; asking for help is not an error.
int usage() {
  std::cerr << kUsage;
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  sim::Options o;
  bool verbose = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "-c" || a == "--config") {
      if (!(v = next())) return usage();
      o.config_path = v;
    } else if (a == "--control") {
      if (!(v = next())) return usage();
      o.control = v;
    } else if (a == "--report") {
      if (!(v = next())) return usage();
      o.report_path = v;
    } else if (a == "-v" || a == "--verbose") {
      verbose = true;
    } else if (a == "-h" || a == "--help") {
      std::cout << kUsage << kOptions;
      return 0;
    } else {
      return usage();
    }
  }
  if (o.config_path.empty()) return usage();
  // Logs go to stderr: stdout carries only the ready line (and the report without --report).
  spdlog::set_default_logger(spdlog::stderr_color_mt("pollux-sim"));
  spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::info);
  try {
    sim::Simulator s(o);
    try {
      s.start();
    } catch (const std::exception& e) {
      std::cerr << o.config_path << ": error: " << e.what() << "\n";
      s.shutdown();
      return 2;
    }
    std::cout << s.ready_info().dump() << std::endl;
    s.run();
    s.shutdown();
  } catch (const std::exception& e) {
    std::cerr << "pollux-sim: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
