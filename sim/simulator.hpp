// pollux-sim's core: builds the fleet from the YAML file (format in sim/README.md), opens every
// serial line (socat pty pairs), TCP server and modem emulator, and serves them all from one
// epoll loop. Requests are cut from the byte stream here (framing.hpp) and answered by libmodbus
// (modbus_reply into a socketpair sink), then faults are applied and everything observed is
// recorded for the control interface and the exit report (simulator issue, all parts).
#pragma once

#include <modbus/modbus.h>
#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "device.hpp"
#include "loop.hpp"

namespace sim {

struct Route {
  Device* dev;
  int unit;  // unit id on this path (may differ from the device's default)
};

// Bytes of an RTU stream not yet cut into frames.
struct RtuStream {
  std::vector<uint8_t> rx;
  bool discarding = false;  // after a bad frame: drop bytes until the line is silent
  uint64_t gap_timer = 0;
};

struct SerialLine {
  std::string id, link, sim_link;
  int baud = 9600, bits_per_char = 10;
  bool timing = false;       // pace responses at baud and count the request's wire time
  bool ascii = false;        // Modbus ASCII instead of RTU
  std::vector<uint8_t> arx;  // ASCII frame being received (from ':')
  double turnaround_ms = 0, gap_ms = 20;
  std::vector<Route> routes;
  pid_t pid = -1;
  int fd = -1;
  uint64_t token = 0;
  bool open = false;
  RtuStream stream;
  std::deque<uint8_t> tx;
  uint64_t tx_timer = 0;
  Clock::time_point tx_next{};  // when the next paced byte is due (drift-free pacing)
  int pending = 0;              // responses scheduled, not yet written
  Clock::time_point busy_until{};
  uint64_t requests = 0, overlaps = 0, crc_errors = 0, framing_errors = 0, foreign = 0,
           tx_dropped = 0, opens = 0;
  std::vector<double> overlap_times;
  double char_ms() const { return 1000.0 * bits_per_char / baud; }
};

struct Modem {
  std::string id, link, sim_link;
  int baud = 9600;
  double dial_ms = 500, guard_ms = 1000;
  double inactivity_ms = 0;  // > 0: hang up a call idle this long (a poller that went away)
  bool echo_default = true, echo = true;
  std::map<std::string, std::vector<Route>> numbers;
  pid_t pid = -1;
  int fd = -1;
  uint64_t token = 0;
  bool open = false;
  enum class State { command, dialing, online, online_command } state = State::command;
  std::string cmdline;
  std::string number;
  uint64_t dial_timer = 0, escape_timer = 0, drop_timer = 0, idle_timer = 0;
  RtuStream stream;
  double last_rx_ms = -1e9, last_plus_ms = 0;
  int plus = 0;
  std::string fault;  // busy | no_carrier | no_dialtone
  int fault_count = -1;
  bool drop_next = false;
  uint64_t crc_errors = 0, framing_errors = 0;
  double drop_after_ms = 0;
  std::vector<std::string> commands, inits, dialed;
  nlohmann::json calls = nlohmann::json::array();
};

struct TcpServer {
  std::string id, host;
  int port = 0;
  bool rtu = false;  // RTU-over-TCP instead of Modbus TCP (MBAP)
  std::vector<Route> routes;
  int lfd = -1;
  uint64_t ltoken = 0;
  bool refusing = false;
  std::set<uint64_t> conns;
  uint64_t accepted = 0, requests = 0, resets = 0, unknown_unit = 0, crc_errors = 0,
           framing_errors = 0;
};

struct TcpConn {
  uint64_t id;
  int fd;
  uint64_t token;
  TcpServer* srv;
  std::vector<uint8_t> rx, tx;
  RtuStream stream;
};

struct ControlConn {
  int fd;
  uint64_t token;
  std::string rx, tx;
};

struct Options {
  std::string config_path;
  std::string control;  // HOST:PORT or unix:PATH; empty = config's, else 127.0.0.1:0
  std::string report_path;
};

class Simulator {
 public:
  explicit Simulator(Options opts);
  ~Simulator();

  // Loads the config and opens everything; throws std::runtime_error with a message.
  void start();
  // The ready line (JSON) describing where everything listens.
  nlohmann::ordered_json ready_info() const;
  void run() { loop_.run(); }
  // Writes the exit report; closes ptys and sockets.
  void shutdown();

  nlohmann::json handle(const nlohmann::json& req);
  nlohmann::json stats() const;

 private:
  struct Outcome {
    std::vector<uint8_t> bytes;
    double delay_ms = 0;
    bool silent = false, reset = false;
  };

  void load(const std::string& path);
  void open_control();
  void on_signal();

  // Serial lines and modems share the pty plumbing.
  void spawn_pty(const std::string& what, const std::string& link, const std::string& sim_link,
                 pid_t* pid, int* fd);
  void kill_pty(pid_t* pid, int* fd, const std::string& link, const std::string& sim_link);
  void open_line(SerialLine& l);
  void close_line(SerialLine& l);
  void on_line_readable(SerialLine& l);
  void line_feed(SerialLine& l, const uint8_t* p, size_t n);
  void line_dispatch(SerialLine& l, const std::vector<uint8_t>& frame, size_t wire_len);
  void ascii_feed(SerialLine& l, const uint8_t* p, size_t n);
  void line_send(SerialLine& l, std::vector<uint8_t> bytes);
  void line_pace(SerialLine& l);

  void open_modem(Modem& m);
  void close_modem(Modem& m);
  void on_modem_readable(Modem& m);
  void modem_command(Modem& m, const std::string& line);
  void modem_dial(Modem& m, const std::string& number);
  void modem_end_call(Modem& m, const std::string& how, bool say_no_carrier);
  void modem_data(Modem& m, const uint8_t* p, size_t n);
  void modem_write(Modem& m, const std::string& s);
  void modem_touch(Modem& m);  // restarts the inactivity timer of a call

  // Cuts RTU frames; calls `on_frame` for each, counts bad ones in *crc / *framing.
  // on_frame returns false when the stream's owner went away (stop cutting).
  using FrameHandler = std::function<bool(const std::vector<uint8_t>&)>;
  void rtu_feed(RtuStream& s, const uint8_t* p, size_t n, double gap_ms, uint64_t* crc,
                uint64_t* framing, const FrameHandler& on_frame);

  void listen_tcp(TcpServer& s);
  void unlisten_tcp(TcpServer& s);
  void on_accept(TcpServer& s);
  void on_conn(uint64_t id, uint32_t events);
  void conn_send(TcpConn& c, const uint8_t* p, size_t n);
  void close_conn(uint64_t id, bool rst);
  void reconcile_refuse();
  static Route* find_route(TcpServer& s, int unit);
  bool tcp_respond(uint64_t conn, Outcome& out);  // false when the connection was reset

  // One request to one device through one path: faults, libmodbus reply, observation.
  // ascii: the request was converted from ASCII to RTU; the answer goes back as ASCII.
  Outcome serve(Device& d, const std::string& via, bool tcp_framing, const uint8_t* req, size_t len,
                bool broadcast, bool ascii = false);
  std::vector<uint8_t> libmodbus_reply(bool tcp_framing, const uint8_t* req, size_t len, Device& d,
                                       int exception_code);
  void record_write(Device& d, const std::string& via, bool tcp_framing, const uint8_t* req,
                    size_t len);

  nlohmann::json cmd_fault(const nlohmann::json& req);
  nlohmann::json cmd_clear(const nlohmann::json& req);
  nlohmann::json cmd_port(const nlohmann::json& req, bool open);
  nlohmann::json cmd_modem(const nlohmann::json& req);
  nlohmann::json cmd_set(const nlohmann::json& req);
  nlohmann::json cmd_get(const nlohmann::json& req);
  nlohmann::json cmd_resize(const nlohmann::json& req);
  void on_control(uint64_t token, uint32_t events);
  void schedule_expiry(double until_ms);

  Options opts_;
  Loop loop_;
  std::string run_dir_;
  bool own_run_dir_ = false;
  std::map<std::string, std::unique_ptr<Device>> devices_;
  std::map<std::string, std::unique_ptr<SerialLine>> lines_;
  std::map<std::string, std::unique_ptr<TcpServer>> servers_;
  std::map<std::string, std::unique_ptr<Modem>> modems_;
  std::map<uint64_t, std::unique_ptr<TcpConn>> conns_;
  std::map<uint64_t, std::unique_ptr<ControlConn>> controls_;
  nlohmann::json timeline_ = nlohmann::json::array();
  uint64_t next_conn_ = 1, next_fault_ = 1;
  modbus_t* ctx_rtu_ = nullptr;
  modbus_t* ctx_tcp_ = nullptr;
  int sink_[2] = {-1, -1};
  int control_fd_ = -1, signal_fd_ = -1;
  std::string control_desc_, control_unix_path_;
  std::minstd_rand rng_{12345};
  bool shut_ = false;
};

}  // namespace sim
