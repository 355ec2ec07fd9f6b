// Test-side helpers for the pollux-sim self-tests: spawn the real simulator process from YAML
// text, read its ready line (bounded), talk to its control socket, and raw pty / socket I/O
// with deadlines. Nothing here answers Modbus: libmodbus clients (and hand-built frames where
// libmodbus has no client, e.g. RTU-over-TCP and the modem dialogue) do the talking.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace simtest {

using Bytes = std::vector<uint8_t>;

uint16_t crc16(const uint8_t* p, size_t n);
Bytes with_crc(Bytes frame);
std::string hex(const Bytes& b);

// The sanitizer report in a process's stderr text (ASan, LSan, TSan, or UBSan's "runtime
// error:" line), from the line it starts on; empty when there is none.
std::string sanitizer_report(const std::string& text);

// The real pollux-sim (or a stand-in `binary` in the harness's own tests). stop() and the
// destructor fail the running test when it exits non-zero or prints a sanitizer report on
// stderr, which is kept in a file and echoed at stop.
class SimProcess {
 public:
  explicit SimProcess(const std::string& yaml, std::vector<std::string> extra_args = {},
                      std::string binary = POLLUX_SIM_PATH);
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  nlohmann::json cmd(const nlohmann::json& req);
  nlohmann::json stats() { return cmd({{"cmd", "stats"}}); }
  // SIGTERM; returns the exit report and the exit status. An unclean end fails the test.
  nlohmann::json stop(int* status = nullptr);

  std::string serial(const std::string& id) const { return ready_["serial"][id]; }
  std::string modem(const std::string& id) const { return ready_["modems"][id]; }
  int tcp_port(const std::string& id) const;
  const nlohmann::json& ready() const { return ready_; }
  pid_t pid() const { return pid_; }

 private:
  std::string dir_, report_, log_;
  pid_t pid_ = -1;
  int out_fd_ = -1, ctl_fd_ = -1;
  std::string ctl_buf_;
  nlohmann::json ready_;
  bool stopped_ = false;
};

// Runs pollux-sim on a config expected to fail; returns its exit status and stderr text.
int run_failing(const std::string& yaml, std::string* err);

// A raw pty opened like a poller opens its port.
class RawPort {
 public:
  explicit RawPort(const std::string& path);
  ~RawPort();
  bool ok() const { return fd_ >= 0; }
  void write(const Bytes& b);
  void write(const std::string& s) { write(Bytes(s.begin(), s.end())); }
  // Reads until `n` bytes arrived or `ms` elapsed.
  Bytes read_n(size_t n, int ms);
  // Reads until `needle` appears or `ms` elapsed; returns everything read.
  std::string read_until(const std::string& needle, int ms);
  Bytes read_for(int ms) { return read_n(SIZE_MAX, ms); }

 private:
  int fd_ = -1;
};

int tcp_connect(int port);  // -1 on failure
Bytes tcp_exchange(int fd, const Bytes& req, size_t n, int ms);

double ms_since(std::chrono::steady_clock::time_point t);

}  // namespace simtest
