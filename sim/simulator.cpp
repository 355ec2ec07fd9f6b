#include "simulator.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "framing.hpp"

namespace sim {

namespace {

void set_nonblock(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool is_symlink(const std::string& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

void reseal_crc(std::vector<uint8_t>& f) {
  if (f.size() < 3) return;
  uint16_t crc = crc16(f.data(), f.size() - 2);
  f[f.size() - 2] = static_cast<uint8_t>(crc & 0xFF);
  f[f.size() - 1] = static_cast<uint8_t>(crc >> 8);
}

// The wrong_function fault's code: the sibling function whose answer has the same layout (read
// coils <-> discrete inputs, holding <-> input registers, single <-> multiple writes), so the
// frame stays well formed and only its function is wrong. The exception bit is kept.
uint8_t other_function(uint8_t fc) {
  const uint8_t exc = fc & 0x80;
  switch (fc & 0x7F) {
    case 1:
      return exc | 2;
    case 2:
      return exc | 1;
    case 3:
      return exc | 4;
    case 4:
      return exc | 3;
    case 5:
      return exc | 6;
    case 6:
      return exc | 5;
    case 15:
      return exc | 16;
    case 16:
      return exc | 15;
    default:
      return static_cast<uint8_t>(exc | ((fc & 0x7F) == 0x7F ? 1 : (fc & 0x7F) + 1));
  }
}

}  // namespace

Simulator::Simulator(Options opts) : opts_(std::move(opts)) {}

Simulator::~Simulator() {
  shutdown();
  if (ctx_rtu_) modbus_free(ctx_rtu_);
  if (ctx_tcp_) modbus_free(ctx_tcp_);
  if (sink_[0] >= 0) close(sink_[0]);
  if (sink_[1] >= 0) close(sink_[1]);
}

void Simulator::start() {
  // One descriptor per TCP device and connection: take every descriptor the system allows.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  signal_fd_ = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  loop_.add(signal_fd_, EPOLLIN, [this](uint32_t) { on_signal(); });

  load(opts_.config_path);

  // libmodbus writes each reply into this socketpair; we read it back and decide what the
  // line gets (faults, pacing). Its two contexts never open a device themselves.
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sink_) != 0)
    throw std::runtime_error("socketpair");
  set_nonblock(sink_[1]);
  ctx_rtu_ = modbus_new_rtu("/dev/null", 9600, 'N', 8, 1);
  ctx_tcp_ = modbus_new_tcp("127.0.0.1", 502);
  if (!ctx_rtu_ || !ctx_tcp_) throw std::runtime_error("modbus_new");
  modbus_set_socket(ctx_rtu_, sink_[0]);
  modbus_set_socket(ctx_tcp_, sink_[0]);

  if (run_dir_.empty()) {
    char tmpl[] = "/tmp/pollux-sim.XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
    run_dir_ = tmpl;
    own_run_dir_ = true;
  } else {
    mkdir(run_dir_.c_str(), 0755);
  }
  for (auto& [id, l] : lines_) {
    if (l->link.empty()) l->link = run_dir_ + "/" + id;
    l->sim_link = run_dir_ + "/." + id + ".sim";
    open_line(*l);
  }
  for (auto& [id, m] : modems_) {
    if (m->link.empty()) m->link = run_dir_ + "/" + id;
    m->sim_link = run_dir_ + "/." + id + ".sim";
    open_modem(*m);
  }
  for (auto& [id, s] : servers_)
    listen_tcp(*s);
  open_control();
  for (const auto& e : timeline_) {
    double at = e.value("at_ms", 0.0);
    loop_.at(loop_.start() + std::chrono::microseconds(static_cast<int64_t>(at * 1000)), [this, e] {
      auto r = handle(e);
      spdlog::info("timeline t={}ms {} -> {}", e.value("at_ms", 0.0), e.dump(), r.dump());
    });
  }
}

nlohmann::ordered_json Simulator::ready_info() const {
  nlohmann::ordered_json j;
  j["ready"] = true;
  j["control"] = control_desc_;
  j["serial"] = nlohmann::ordered_json::object();
  j["tcp"] = nlohmann::ordered_json::object();
  j["modems"] = nlohmann::ordered_json::object();
  for (const auto& [id, l] : lines_)
    j["serial"][id] = l->link;
  for (const auto& [id, s] : servers_)
    j["tcp"][id] = s->host + ":" + std::to_string(s->port);
  for (const auto& [id, m] : modems_)
    j["modems"][id] = m->link;
  return j;
}

void Simulator::on_signal() {
  signalfd_siginfo si{};
  while (read(signal_fd_, &si, sizeof si) == sizeof si) {
    if (si.ssi_signo == SIGCHLD) {
      int status;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (auto& [id, l] : lines_)
          if (l->pid == pid) {
            spdlog::warn("line {}: socat exited; the port is down", id);
            l->pid = -1;
            close_line(*l);
          }
        for (auto& [id, m] : modems_)
          if (m->pid == pid) {
            spdlog::warn("modem {}: socat exited; the port is down", id);
            m->pid = -1;
            close_modem(*m);
          }
      }
    } else {
      spdlog::info("signal {}: stopping", si.ssi_signo);
      loop_.stop();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// ptys

void Simulator::spawn_pty(const std::string& what, const std::string& link,
                          const std::string& sim_link, pid_t* pid, int* fd) {
  for (const auto& p : {link, sim_link})
    if (is_symlink(p)) unlink(p.c_str());
  std::string a = "pty,raw,echo=0,link=" + link;
  std::string b = "pty,raw,echo=0,link=" + sim_link;
  const char* argv[] = {"socat", a.c_str(), b.c_str(), nullptr};
  pid_t parent = getpid();
  *pid = fork();
  if (*pid < 0) throw std::runtime_error(what + ": fork: " + strerror(errno));
  if (*pid == 0) {
    // socat must not outlive the simulator, even when it is killed: the ports vanish with it.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);  // stdout belongs to the ready line and the report
    execvp("socat", const_cast<char**>(argv));
    _exit(127);
  }
  // socat makes both links once its ptys exist; bounded wait.
  for (int i = 0; i < 600; ++i) {
    if (is_symlink(link) && is_symlink(sim_link)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  *fd = open(sim_link.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (*fd < 0) throw std::runtime_error(what + ": socat pty did not appear at " + sim_link);
  termios t{};
  tcgetattr(*fd, &t);
  cfmakeraw(&t);
  tcsetattr(*fd, TCSANOW, &t);
}

void Simulator::kill_pty(pid_t* pid, int* fd, const std::string& link,
                         const std::string& sim_link) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
  if (*pid > 0) {
    kill(*pid, SIGTERM);
    int status;
    for (int i = 0; i < 200; ++i) {
      if (waitpid(*pid, &status, WNOHANG) != 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      if (i == 199) {
        kill(*pid, SIGKILL);
        waitpid(*pid, &status, 0);
      }
    }
  }
  *pid = -1;
  // socat removes its links on a clean exit; make sure the port has vanished either way.
  for (const auto& p : {link, sim_link})
    if (is_symlink(p)) unlink(p.c_str());
}

// ---------------------------------------------------------------------------------------------
// serial lines

void Simulator::open_line(SerialLine& l) {
  if (l.open) return;
  spawn_pty("line " + l.id, l.link, l.sim_link, &l.pid, &l.fd);
  l.open = true;
  ++l.opens;
  l.token = loop_.add(l.fd, EPOLLIN, [this, p = &l](uint32_t) { on_line_readable(*p); });
}

void Simulator::close_line(SerialLine& l) {
  if (l.token) loop_.remove(l.token);
  l.token = 0;
  loop_.cancel(l.stream.gap_timer);
  loop_.cancel(l.tx_timer);
  l.stream = RtuStream{};
  l.arx.clear();
  l.tx.clear();
  l.tx_timer = 0;
  kill_pty(&l.pid, &l.fd, l.link, l.sim_link);
  l.open = false;
}

void Simulator::on_line_readable(SerialLine& l) {
  uint8_t buf[4096];
  for (;;) {
    ssize_t n = read(l.fd, buf, sizeof buf);
    if (n > 0) {
      line_feed(l, buf, static_cast<size_t>(n));
      if (!l.open) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    // EIO/EOF on our side means socat went away; SIGCHLD handling closes the line.
    spdlog::warn("line {}: read: {}", l.id, n < 0 ? strerror(errno) : "eof");
    loop_.remove(l.token);
    l.token = 0;
    return;
  }
}

void Simulator::rtu_feed(RtuStream& s, const uint8_t* p, size_t n, double gap_ms, uint64_t* crc,
                         uint64_t* framing, const FrameHandler& on_frame) {
  // Silence ends whatever is pending: a frame without a length rule is taken if its CRC
  // holds, anything else is dropped (a real slave resynchronises the same way).
  loop_.cancel(s.gap_timer);
  s.gap_timer = loop_.after_ms(gap_ms, [&s, framing, on_frame] {
    s.gap_timer = 0;
    if (!s.discarding && s.rx.size() >= 4 && rtu_request_length(s.rx.data(), s.rx.size()) < 0 &&
        rtu_crc_ok(s.rx.data(), s.rx.size())) {
      std::vector<uint8_t> f;
      f.swap(s.rx);
      on_frame(f);
    } else if (!s.rx.empty()) {
      ++*framing;
    }
    s.rx.clear();
    s.discarding = false;
  });
  if (s.discarding) return;
  s.rx.insert(s.rx.end(), p, p + n);
  while (!s.rx.empty()) {
    int len = rtu_request_length(s.rx.data(), s.rx.size());
    if (len <= 0 || s.rx.size() < static_cast<size_t>(len)) return;
    if (!rtu_crc_ok(s.rx.data(), static_cast<size_t>(len))) {
      ++*crc;
      s.rx.clear();
      s.discarding = true;
      return;
    }
    std::vector<uint8_t> f(s.rx.begin(), s.rx.begin() + len);
    s.rx.erase(s.rx.begin(), s.rx.begin() + len);
    if (!on_frame(f)) return;  // the stream's owner is gone (connection reset)
  }
}

void Simulator::line_feed(SerialLine& l, const uint8_t* p, size_t n) {
  // Overlap: the first byte of a new request while the line still carries (or owes) the
  // answer to the previous one. One master never does that; two masters on one line do.
  bool busy = l.pending > 0 || Clock::now() < l.busy_until;
  if (busy && l.stream.rx.empty() && !l.stream.discarding) {
    ++l.overlaps;
    l.overlap_times.push_back(loop_.now_ms());
    spdlog::warn("line {}: overlap: request bytes while the line is busy", l.id);
  }
  if (l.ascii) return ascii_feed(l, p, n);
  rtu_feed(l.stream, p, n, l.gap_ms, &l.crc_errors, &l.framing_errors,
           [this, &l](const std::vector<uint8_t>& f) {
             line_dispatch(l, f, f.size());
             return true;
           });
}

void Simulator::ascii_feed(SerialLine& l, const uint8_t* p, size_t n) {
  // ASCII frames are delimited by ':' and CR LF, so no silence timing is needed; a ':' in the
  // middle of a frame restarts it (the previous one is lost, as on a real slave).
  for (size_t i = 0; i < n; ++i) {
    uint8_t c = p[i];
    if (c == ':') {
      if (!l.arx.empty()) ++l.framing_errors;
      l.arx.assign(1, c);
      continue;
    }
    if (l.arx.empty()) {
      ++l.framing_errors;  // noise between frames
      continue;
    }
    l.arx.push_back(c);
    if (l.arx.size() > 600) {
      ++l.framing_errors;
      l.arx.clear();
      continue;
    }
    if (c != '\n' || l.arx[l.arx.size() - 2] != '\r') continue;
    std::vector<uint8_t> bin;
    size_t wire = l.arx.size();
    bool ok = ascii_decode(l.arx.data(), l.arx.size(), &bin);
    l.arx.clear();
    if (!ok || bin.size() < 2) {
      ++l.crc_errors;  // LRC or hex error
      continue;
    }
    uint16_t crc = crc16(bin.data(), bin.size());  // libmodbus answers RTU; we re-frame it
    bin.push_back(static_cast<uint8_t>(crc & 0xFF));
    bin.push_back(static_cast<uint8_t>(crc >> 8));
    line_dispatch(l, bin, wire);
  }
}

void Simulator::line_dispatch(SerialLine& l, const std::vector<uint8_t>& frame, size_t wire_len) {
  ++l.requests;
  int unit = frame[0];
  if (unit == 0) {
    for (auto& r : l.routes)
      serve(*r.dev, l.id, false, frame.data(), frame.size(), true, l.ascii);
    return;
  }
  Route* route = nullptr;
  for (auto& r : l.routes)
    if (r.unit == unit) route = &r;
  if (!route) {
    ++l.foreign;  // another unit's request on the bus: stay quiet
    return;
  }
  auto out = serve(*route->dev, l.id, false, frame.data(), frame.size(), false, l.ascii);
  if (out.silent || out.bytes.empty()) return;
  double delay = out.delay_ms + l.turnaround_ms;
  if (l.timing) delay += wire_len * l.char_ms();  // the request's own time on the wire
  if (delay <= 0) {
    line_send(l, std::move(out.bytes));
    return;
  }
  ++l.pending;
  loop_.after_ms(delay, [this, &l, b = std::move(out.bytes), opens = l.opens]() mutable {
    --l.pending;
    if (l.open && l.opens == opens) line_send(l, std::move(b));
  });
}

void Simulator::line_send(SerialLine& l, std::vector<uint8_t> bytes) {
  if (!l.open) return;
  if (!l.timing) {
    ssize_t n = write(l.fd, bytes.data(), bytes.size());
    if (n < static_cast<ssize_t>(bytes.size()))
      l.tx_dropped += bytes.size() - std::max<ssize_t>(n, 0);
    return;
  }
  auto now = Clock::now();
  auto start = std::max(now, l.busy_until);
  l.busy_until =
      start + std::chrono::microseconds(static_cast<int64_t>(bytes.size() * l.char_ms() * 1000));
  l.tx.insert(l.tx.end(), bytes.begin(), bytes.end());
  if (!l.tx_timer) {
    l.tx_next = now;
    line_pace(l);
  }
}

void Simulator::line_pace(SerialLine& l) {
  l.tx_timer = 0;
  if (l.tx.empty() || !l.open) return;
  // Bytes are due at fixed steps of one character time from the first, so a timer that fires
  // late sends what is due at once instead of stretching the rest of the frame (on a loaded
  // machine per-byte timer latency added ~30% to a 9600-baud answer).
  const auto step = std::chrono::nanoseconds(static_cast<int64_t>(l.char_ms() * 1e6));
  const auto now = Clock::now();
  while (!l.tx.empty() && l.tx_next <= now) {
    uint8_t b = l.tx.front();
    l.tx.pop_front();
    if (write(l.fd, &b, 1) != 1) ++l.tx_dropped;
    l.tx_next += step;
  }
  if (!l.tx.empty()) {
    const double ms = std::chrono::duration<double, std::milli>(l.tx_next - now).count();
    l.tx_timer = loop_.after_ms(ms, [this, &l] { line_pace(l); });
  }
}

// ---------------------------------------------------------------------------------------------
// serving one request

std::vector<uint8_t> Simulator::libmodbus_reply(bool tcp_framing, const uint8_t* req, size_t len,
                                                Device& d, int exception_code) {
  // libmodbus trusts lengths inside the PDU; a zeroed copy keeps any short frame in bounds.
  uint8_t buf[2 * MODBUS_MAX_ADU_LENGTH] = {};
  size_t n = std::min(len, static_cast<size_t>(MODBUS_MAX_ADU_LENGTH));
  std::memcpy(buf, req, n);
  modbus_t* ctx = tcp_framing ? ctx_tcp_ : ctx_rtu_;
  int rc = exception_code > 0
               ? modbus_reply_exception(ctx, buf, static_cast<unsigned>(exception_code))
               : modbus_reply(ctx, buf, static_cast<int>(n), d.mapping());
  std::vector<uint8_t> out;
  if (rc <= 0) return out;
  out.resize(static_cast<size_t>(rc));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t r = read(sink_[1], out.data() + got, out.size() - got);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

void Simulator::record_write(Device& d, const std::string& via, bool tcp_framing,
                             const uint8_t* req, size_t len) {
  size_t off = tcp_framing ? 7 : 1;
  if (len < off + 5) return;
  const uint8_t* p = req + off;
  WriteRecord w{wall_seconds(), loop_.now_ms(), via, p[0], Table::holding, be16(p + 1), {}};
  switch (p[0]) {
    case 0x05:
      w.table = Table::coil;
      w.values = {be16(p + 3) == 0xFF00 ? 1 : 0};
      break;
    case 0x06:
      w.values = {be16(p + 3)};
      break;
    case 0x0F: {
      w.table = Table::coil;
      int qty = be16(p + 3);
      for (int i = 0; i < qty && off + 6 + i / 8 < len; ++i)
        w.values.push_back((p[6 + i / 8] >> (i % 8)) & 1);
      break;
    }
    case 0x10: {
      int qty = be16(p + 3);
      for (int i = 0; i < qty && off + 7 + 2 * i < len; ++i)
        w.values.push_back(be16(p + 6 + 2 * i));
      break;
    }
    case 0x16:
      if (len >= off + 7) w.values = {be16(p + 3), be16(p + 5)};
      break;
    case 0x17: {
      if (len < off + 10) return;
      w.address = be16(p + 5);
      int qty = be16(p + 7);
      for (int i = 0; i < qty && off + 11 + 2 * i < len; ++i)
        w.values.push_back(be16(p + 10 + 2 * i));
      break;
    }
    default:
      return;
  }
  d.writes.push_back(std::move(w));
}

Simulator::Outcome Simulator::serve(Device& d, const std::string& via, bool tcp_framing,
                                    const uint8_t* req, size_t len, bool broadcast, bool ascii) {
  Outcome out;
  double now = loop_.now_ms();
  d.expire(now);
  ++d.requests;
  ++d.requests_by_path[via];
  const Fault* modify = nullptr;
  int exception = 0;
  for (auto& f : d.faults()) {
    if (!f.via.empty() && f.via != via) continue;
    if (f.count == 0) continue;
    bool used = true;
    switch (f.type) {
      case FaultType::silence:
      case FaultType::refuse:  // on a serial path a refused connection looks like silence
        out.silent = true;
        break;
      case FaultType::reset:
        if (tcp_framing || via.empty() || servers_.count(via)) out.reset = true;
        out.silent = true;
        break;
      case FaultType::delay:
        out.delay_ms += f.ms;
        break;
      case FaultType::exception:
        exception = f.code;
        break;
      default:
        if (!modify)
          modify = &f;
        else
          used = false;
    }
    if (used) {
      d.note_fault(f.type);
      if (f.count > 0) --f.count;
    }
  }
  if (out.silent) return out;  // the request never reached the device: nothing applied
  d.refresh(now);
  out.bytes = libmodbus_reply(tcp_framing, req, len, d, exception);
  size_t off = tcp_framing ? 7 : 1;
  bool is_exception = out.bytes.size() > off && (out.bytes[off] & 0x80);
  if (!is_exception && (!out.bytes.empty() || broadcast))
    record_write(d, via, tcp_framing, req, len);
  if (broadcast) {
    out.bytes.clear();
    out.silent = true;
    return out;
  }
  if (!out.bytes.empty()) ++d.responses;
  if (ascii && out.bytes.size() >= 3) {
    auto& b = out.bytes;
    if (modify && modify->type == FaultType::wrong_unit)
      b[0] = static_cast<uint8_t>(b[0] == 247 ? 1 : b[0] + 1);
    if (modify && modify->type == FaultType::wrong_function) b[1] = other_function(b[1]);
    b = ascii_encode(b.data(), b.size() - 2);  // drop the CRC; the LRC replaces it
    if (modify && modify->type == FaultType::bad_crc) {
      auto& lrc = b[b.size() - 3];
      lrc = lrc == '0' ? '1' : '0';
    }
    // Those faults are done on the ASCII frame; the others (garbage, truncate) follow below.
    if (!modify || modify->type == FaultType::bad_crc || modify->type == FaultType::wrong_unit ||
        modify->type == FaultType::wrong_function)
      return out;
  }
  if (modify && !out.bytes.empty()) {
    auto& b = out.bytes;
    switch (modify->type) {
      case FaultType::bad_crc:
        if (ascii) break;
        if (tcp_framing)
          b[3] ^= 0x01;  // MBAP has no checksum: a bad protocol id is as fatal
        else
          b.back() ^= 0x5A;
        break;
      case FaultType::garbage: {
        b.resize(static_cast<size_t>(std::max(1, modify->bytes)));
        for (auto& x : b)
          x = static_cast<uint8_t>(rng_());
        break;
      }
      case FaultType::wrong_unit:
        if (ascii) break;
        if (tcp_framing) {
          b[6] = static_cast<uint8_t>(b[6] + 1);
        } else {
          b[0] = static_cast<uint8_t>(b[0] == 247 ? 1 : b[0] + 1);
          reseal_crc(b);
        }
        break;
      case FaultType::wrong_function:
        if (ascii || b.size() <= off) break;
        b[off] = other_function(b[off]);
        if (!tcp_framing) reseal_crc(b);
        break;
      case FaultType::truncate:
        b.resize(std::max<size_t>(1, b.size() / 2));
        break;
      default:
        break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// TCP servers

void Simulator::listen_tcp(TcpServer& s) {
  if (s.lfd >= 0) return;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(s.port));
  if (inet_pton(AF_INET, s.host.c_str(), &a.sin_addr) != 1)
    throw std::runtime_error("tcp " + s.id + ": bad host " + s.host);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 128) != 0) {
    int e = errno;
    close(fd);
    throw std::runtime_error("tcp " + s.id + ": cannot listen on " + s.host + ":" +
                             std::to_string(s.port) + ": " + strerror(e));
  }
  socklen_t al = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &al);
  s.port = ntohs(a.sin_port);  // port 0 picks one; later re-listens reuse it
  s.lfd = fd;
  s.ltoken = loop_.add(fd, EPOLLIN, [this, p = &s](uint32_t) { on_accept(*p); });
}

void Simulator::unlisten_tcp(TcpServer& s) {
  if (s.lfd < 0) return;
  loop_.remove(s.ltoken);
  close(s.lfd);
  s.lfd = -1;
  auto ids = s.conns;
  for (auto id : ids)
    close_conn(id, true);
}

void Simulator::on_accept(TcpServer& s) {
  for (;;) {
    int fd = accept4(s.lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ++s.accepted;
    auto c = std::make_unique<TcpConn>();
    c->id = next_conn_++;
    c->fd = fd;
    c->srv = &s;
    c->token = loop_.add(fd, EPOLLIN, [this, id = c->id](uint32_t ev) { on_conn(id, ev); });
    s.conns.insert(c->id);
    conns_.emplace(c->id, std::move(c));
  }
}

void Simulator::close_conn(uint64_t id, bool rst) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  auto& c = *it->second;
  loop_.remove(c.token);
  loop_.cancel(c.stream.gap_timer);
  if (rst) {
    linger lg{1, 0};  // RST instead of FIN: the peer sees "connection reset"
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  close(c.fd);
  c.srv->conns.erase(id);
  conns_.erase(it);
}

void Simulator::conn_send(TcpConn& c, const uint8_t* p, size_t n) {
  if (c.tx.empty()) {
    ssize_t w = send(c.fd, p, n, MSG_NOSIGNAL);
    if (w < 0) w = 0;
    if (static_cast<size_t>(w) == n) return;
    p += w;
    n -= static_cast<size_t>(w);
    loop_.modify(c.token, EPOLLIN | EPOLLOUT);
  }
  c.tx.insert(c.tx.end(), p, p + n);
}

void Simulator::on_conn(uint64_t id, uint32_t events) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  TcpConn& c = *it->second;
  TcpServer& s = *c.srv;
  if (events & EPOLLOUT) {
    ssize_t w = send(c.fd, c.tx.data(), c.tx.size(), MSG_NOSIGNAL);
    if (w > 0) c.tx.erase(c.tx.begin(), c.tx.begin() + w);
    if (c.tx.empty()) loop_.modify(c.token, EPOLLIN);
  }
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  uint8_t buf[8192];
  ssize_t n = recv(c.fd, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    close_conn(id, false);
    return;
  }
  if (n < 0) return;

  if (s.rtu) {
    rtu_feed(c.stream, buf, static_cast<size_t>(n), 100.0, &s.crc_errors, &s.framing_errors,
             [this, id](const std::vector<uint8_t>& f) {
               auto ci = conns_.find(id);
               if (ci == conns_.end()) return false;
               TcpServer& srv = *ci->second->srv;
               ++srv.requests;
               Route* r = find_route(srv, f[0]);
               if (!r) {
                 ++srv.unknown_unit;
                 return true;
               }
               auto out = serve(*r->dev, srv.id, false, f.data(), f.size(), false);
               return tcp_respond(id, out);
             });
    return;
  }
  c.rx.insert(c.rx.end(), buf, buf + n);
  size_t pos = 0;
  while (c.rx.size() - pos >= 7) {
    int len = tcp_frame_length(c.rx.data() + pos, c.rx.size() - pos);
    if (len < 0) {  // not Modbus TCP: a real server drops the connection
      close_conn(id, false);
      return;
    }
    if (c.rx.size() - pos < static_cast<size_t>(len)) break;
    const uint8_t* f = c.rx.data() + pos;
    pos += static_cast<size_t>(len);
    ++s.requests;
    Route* r = find_route(s, f[6]);
    if (!r) {
      ++s.unknown_unit;
      continue;
    }
    auto out = serve(*r->dev, s.id, true, f, static_cast<size_t>(len), false);
    if (!tcp_respond(id, out)) return;
  }
  c.rx.erase(c.rx.begin(), c.rx.begin() + static_cast<std::ptrdiff_t>(pos));
}

Route* Simulator::find_route(TcpServer& s, int unit) {
  for (auto& r : s.routes)
    if (r.unit == unit) return &r;
  // A lone device answers the "any unit" ids, as single-device TCP servers do.
  if (s.routes.size() == 1 && (unit == 0 || unit == 255)) return &s.routes[0];
  return nullptr;
}

bool Simulator::tcp_respond(uint64_t id, Outcome& out) {
  if (out.reset) {
    ++conns_.at(id)->srv->resets;
    close_conn(id, true);
    return false;
  }
  if (out.silent || out.bytes.empty()) return true;
  if (out.delay_ms > 0) {
    loop_.after_ms(out.delay_ms, [this, id, b = std::move(out.bytes)] {
      auto c2 = conns_.find(id);
      if (c2 != conns_.end()) conn_send(*c2->second, b.data(), b.size());
    });
  } else {
    conn_send(*conns_.at(id), out.bytes.data(), out.bytes.size());
  }
  return true;
}

void Simulator::reconcile_refuse() {
  double now = loop_.now_ms();
  for (auto& [id, s] : servers_) {
    bool refuse = false;
    for (auto& r : s->routes) {
      r.dev->expire(now);
      for (const auto& f : r.dev->faults())
        if (f.type == FaultType::refuse && (f.via.empty() || f.via == id)) refuse = true;
    }
    if (refuse && !s->refusing) {
      unlisten_tcp(*s);
      spdlog::info("tcp {}: refusing connections", id);
    } else if (!refuse && s->refusing) {
      try {
        listen_tcp(*s);
        spdlog::info("tcp {}: accepting connections again on port {}", id, s->port);
      } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
      }
    }
    s->refusing = refuse;
  }
}

void Simulator::schedule_expiry(double until_ms) {
  loop_.at(loop_.start() + std::chrono::microseconds(static_cast<int64_t>(until_ms * 1000) + 1),
           [this] {
             double now = loop_.now_ms();
             for (auto& [id, d] : devices_)
               d->expire(now);
             reconcile_refuse();
           });
}

// ---------------------------------------------------------------------------------------------
// control interface

void Simulator::open_control() {
  const auto& c = opts_.control;
  int fd;
  if (c.rfind("unix:", 0) == 0) {
    control_unix_path_ = c.substr(5);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (control_unix_path_.size() >= sizeof a.sun_path)
      throw std::runtime_error("control path too long");
    std::strcpy(a.sun_path, control_unix_path_.c_str());
    unlink(control_unix_path_.c_str());
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0)
      throw std::runtime_error("control: cannot listen on " + c + ": " + strerror(errno));
    control_desc_ = c;
  } else {
    auto colon = c.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("control: HOST:PORT or unix:PATH");
    std::string host = c.substr(0, colon);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(std::stoi(c.substr(colon + 1))));
    if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1)
      throw std::runtime_error("control: bad host " + host);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0)
      throw std::runtime_error("control: cannot listen on " + c + ": " + strerror(errno));
    socklen_t al = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &al);
    control_desc_ = host + ":" + std::to_string(ntohs(a.sin_port));
  }
  control_fd_ = fd;
  loop_.add(fd, EPOLLIN, [this](uint32_t) {
    for (;;) {
      int cfd = accept4(control_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (cfd < 0) return;
      auto cc = std::make_unique<ControlConn>();
      cc->fd = cfd;
      uint64_t key = next_conn_++;
      cc->token = loop_.add(cfd, EPOLLIN, [this, key](uint32_t ev) { on_control(key, ev); });
      controls_.emplace(key, std::move(cc));
    }
  });
}

void Simulator::on_control(uint64_t key, uint32_t events) {
  auto it = controls_.find(key);
  if (it == controls_.end()) return;
  auto& c = *it->second;
  auto drop = [&] {
    loop_.remove(c.token);
    close(c.fd);
    controls_.erase(it);
  };
  if (events & EPOLLOUT) {
    ssize_t w = send(c.fd, c.tx.data(), c.tx.size(), MSG_NOSIGNAL);
    if (w > 0) c.tx.erase(0, static_cast<size_t>(w));
    if (c.tx.empty()) loop_.modify(c.token, EPOLLIN);
  }
  if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
  char buf[4096];
  ssize_t n = recv(c.fd, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN)) return drop();
  if (n < 0) return;
  c.rx.append(buf, static_cast<size_t>(n));
  size_t nl;
  while ((nl = c.rx.find('\n')) != std::string::npos) {
    std::string line = c.rx.substr(0, nl);
    c.rx.erase(0, nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json resp;
    try {
      resp = handle(nlohmann::json::parse(line));
    } catch (const std::exception& e) {
      resp = {{"ok", false}, {"error", std::string("bad request: ") + e.what()}};
    }
    c.tx += resp.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  if (!c.tx.empty()) {
    ssize_t w = send(c.fd, c.tx.data(), c.tx.size(), MSG_NOSIGNAL);
    if (w > 0) c.tx.erase(0, static_cast<size_t>(w));
    if (!c.tx.empty()) loop_.modify(c.token, EPOLLIN | EPOLLOUT);
  }
}

// ---------------------------------------------------------------------------------------------
// shutdown and stats

void Simulator::shutdown() {
  if (shut_) return;
  shut_ = true;
  auto report = stats();
  report.erase("ok");
  report["exit"] = true;
  if (!opts_.report_path.empty()) {
    std::ofstream f(opts_.report_path);
    f << report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
  }
  for (auto& [id, l] : lines_)
    close_line(*l);
  for (auto& [id, m] : modems_)
    close_modem(*m);
  std::vector<uint64_t> ids;
  for (auto& [id, c] : conns_)
    ids.push_back(id);
  for (auto id : ids)
    close_conn(id, false);
  for (auto& [id, s] : servers_)
    if (s->lfd >= 0) close(s->lfd);
  for (auto& [k, c] : controls_)
    close(c->fd);
  if (control_fd_ >= 0) close(control_fd_);
  if (!control_unix_path_.empty()) unlink(control_unix_path_.c_str());
  if (own_run_dir_) rmdir(run_dir_.c_str());
}

nlohmann::json Simulator::stats() const {
  nlohmann::json j = {{"ok", true}, {"time_ms", loop_.now_ms()}};
  j["devices"] = nlohmann::json::object();
  for (const auto& [id, d] : devices_)
    j["devices"][id] = d->stats_json();
  j["lines"] = nlohmann::json::object();
  for (const auto& [id, l] : lines_)
    j["lines"][id] = {{"link", l->link},
                      {"open", l->open},
                      {"opens", l->opens},
                      {"requests", l->requests},
                      {"overlaps", l->overlaps},
                      {"overlap_times_ms", l->overlap_times},
                      {"crc_errors", l->crc_errors},
                      {"framing_errors", l->framing_errors},
                      {"other_units", l->foreign},
                      {"tx_dropped", l->tx_dropped}};
  j["tcp"] = nlohmann::json::object();
  for (const auto& [id, s] : servers_)
    j["tcp"][id] = {{"address", s->host + ":" + std::to_string(s->port)},
                    {"listening", s->lfd >= 0},
                    {"accepted", s->accepted},
                    {"open_connections", s->conns.size()},
                    {"requests", s->requests},
                    {"resets", s->resets},
                    {"crc_errors", s->crc_errors},
                    {"framing_errors", s->framing_errors},
                    {"unknown_unit", s->unknown_unit}};
  j["modems"] = nlohmann::json::object();
  static const char* states[] = {"command", "dialing", "online", "online_command"};
  for (const auto& [id, m] : modems_)
    j["modems"][id] = {{"link", m->link},
                       {"open", m->open},
                       {"state", states[static_cast<int>(m->state)]},
                       {"commands", m->commands},
                       {"inits", m->inits},
                       {"dialed", m->dialed},
                       {"crc_errors", m->crc_errors},
                       {"calls", m->calls}};
  return j;
}

}  // namespace sim
