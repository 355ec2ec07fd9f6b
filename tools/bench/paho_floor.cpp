// The Paho floor under northbound_bench's figures (northbound issue, Performance): one stream of
// QoS 0 DDATA messages published through Eclipse Paho C++ and nothing else: no polling, no
// encoding, no session. Pollux publishing the same stream needs at least this CPU on top of its
// polling, and its drain after an outage can go no faster than this stream does through the same
// broker and subscriber. northbound_bench runs it in the same session and reads Pollux against it.
//
//   paho_floor --url tcp://127.0.0.1:PORT --payload-hex HEX [--devices 10000] [--rate 10000]
//              [--seconds 10] [--warmup 2] [--window 64] [--cpu N]
//
//   --rate R   messages per second, paced in 1 ms steps over --devices topics
//              (spBv1.0/Bench/DDATA/FLOOR/Dnnnnn), as poll results spread over a 1 s scan;
//   --rate 0   as fast as the broker takes them, with at most --window in flight (Pollux's drain).
// The payload is one real DDATA (the benchmark passes one its subscriber received), so the
// subscriber counts its metrics as it does Pollux's. Prints one line of key=value figures over
// the window after the warm-up: messages, msgs_per_s, cpu_pct (all of the process's threads,
// Paho's included) and cpu_us_per_msg.
#include <sched.h>
#include <sys/resource.h>

#include <mqtt/async_client.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string url;
  std::string payload;
  int devices = 10000;
  double rate = 10000;
  double seconds = 10;
  double warmup = 2;
  long window = 64;
  int cpu = -1;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "paho_floor: %s\nusage: paho_floor --url URL --payload-hex HEX [--devices N] "
               "[--rate R] [--seconds S] [--warmup S] [--window W] [--cpu N]\n",
               why);
  std::exit(2);
}

std::string unhex(const char* text) {
  const std::size_t n = std::strlen(text);
  if (n == 0 || n % 2 != 0) usage("--payload-hex needs an even number of hex digits");
  std::string out(n / 2, '\0');
  for (std::size_t i = 0; i < n / 2; ++i) {
    char byte[3] = {text[2 * i], text[2 * i + 1], 0};
    char* end = nullptr;
    out[i] = static_cast<char>(std::strtoul(byte, &end, 16));
    if (end != byte + 2) usage("--payload-hex is not hex");
  }
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) usage(("no value for " + k).c_str());
    const char* v = argv[++i];
    if (k == "--url") {
      a.url = v;
    } else if (k == "--payload-hex") {
      a.payload = unhex(v);
    } else if (k == "--devices") {
      a.devices = std::atoi(v);
    } else if (k == "--rate") {
      a.rate = std::atof(v);
    } else if (k == "--seconds") {
      a.seconds = std::atof(v);
    } else if (k == "--warmup") {
      a.warmup = std::atof(v);
    } else if (k == "--window") {
      a.window = std::atol(v);
    } else if (k == "--cpu") {
      a.cpu = std::atoi(v);
    } else {
      usage(("unknown option " + k).c_str());
    }
  }
  if (a.url.empty() || a.payload.empty()) usage("--url and --payload-hex are required");
  if (a.devices < 1 || a.rate < 0 || a.seconds <= 0 || a.window < 1) usage("bad figure");
  return a;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);  // every thread of the process: Paho's send and callback threads
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Completion of each publish (QoS 0: written to the socket), counted as Pollux's adapter counts
// them, on Paho's thread.
class Completions : public mqtt::iaction_listener {
 public:
  void on_success(const mqtt::token&) override { done(); }
  void on_failure(const mqtt::token&) override {
    failed.fetch_add(1, std::memory_order_relaxed);
    done();
  }
  // Blocks while `window` or more are in flight.
  void wait_below(long sent, long window) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return sent - completed.load(std::memory_order_acquire) < window; });
  }

  std::atomic<long> completed{0};
  std::atomic<long> failed{0};

 private:
  void done() {
    completed.fetch_add(1, std::memory_order_acq_rel);
    std::lock_guard lock(mutex_);
    cv_.notify_one();
  }
  std::mutex mutex_;
  std::condition_variable cv_;
};

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  if (a.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(a.cpu, &set);
    sched_setaffinity(0, sizeof set, &set);  // before Paho starts its threads: they inherit it
  }
  std::vector<std::string> topics;
  topics.reserve(static_cast<std::size_t>(a.devices));
  for (int d = 0; d < a.devices; ++d) {
    char t[64];
    std::snprintf(t, sizeof t, "spBv1.0/Bench/DDATA/FLOOR/D%05d", d);
    topics.emplace_back(t);
  }
  // Paho's queue bounded as Pollux's adapter bounds it (drivers/mqtt/client.cpp): a burst
  // waits for the send thread instead of being refused at Paho's default of 100.
  mqtt::create_options create(MQTTVERSION_3_1_1);
  create.set_max_buffered_messages(1 << 24);
  mqtt::async_client client(a.url, "pollux-paho-floor", create);
  mqtt::connect_options co;
  co.set_mqtt_version(MQTTVERSION_3_1_1);
  co.set_clean_session(true);
  try {
    client.connect(co)->wait();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "paho_floor: cannot connect to %s: %s\n", a.url.c_str(), e.what());
    return 1;
  }

  Completions completions;
  long sent = 0;
  auto publish_one = [&] {
    const auto& topic = topics[static_cast<std::size_t>(sent % a.devices)];
    client.publish(topic, a.payload.data(), a.payload.size(), 0, false, nullptr, completions);
    ++sent;
  };

  const auto start = Clock::now();
  const auto window_start = start + std::chrono::duration<double>(a.warmup);
  const auto end = window_start + std::chrono::duration<double>(a.seconds);
  long sent0 = -1, completed0 = 0;
  double cpu0 = 0;
  auto next_tick = start;
  for (auto now = Clock::now(); now < end; now = Clock::now()) {
    if (sent0 < 0 && now >= window_start) {
      sent0 = sent;
      completed0 = completions.completed.load();
      cpu0 = cpu_seconds();
    }
    if (a.rate > 0) {
      const double due = a.rate * std::chrono::duration<double>(now - start).count();
      while (static_cast<double>(sent) < due)
        publish_one();
      next_tick += std::chrono::milliseconds(1);
      std::this_thread::sleep_until(next_tick);
    } else {
      completions.wait_below(sent, a.window);
      publish_one();
    }
  }
  const double cpu1 = cpu_seconds();
  const long completed1 = completions.completed.load();
  const double el = a.seconds;
  const long msgs = completed1 - completed0;
  try {
    client.disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const std::exception&) {
  }
  std::printf(
      "paho_floor rate=%.0f window=%ld bytes=%zu messages=%ld sent=%ld failed=%ld "
      "msgs_per_s=%.0f cpu_pct=%.2f cpu_us_per_msg=%.3f\n",
      a.rate, a.window, a.payload.size(), msgs, sent - sent0, completions.failed.load(), msgs / el,
      (cpu1 - cpu0) / el * 100, msgs > 0 ? (cpu1 - cpu0) / static_cast<double>(msgs) * 1e6 : 0.0);
  return 0;
}
