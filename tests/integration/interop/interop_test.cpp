// Interop cross-check of the Modbus codec against libmodbus (an independent implementation),
// over RTU (socat pty pair), TCP (loopback) and RTU over TCP (socat bridging TCP to a pty):
//
//  - our client (Transaction + framer over a plain fd) against a libmodbus server, for every
//    function code, over a socat pty pair (RTU) and loopback TCP: answers decode to the
//    expected values, the raw answer bytes equal our own encoding of the same answer, and
//    writes land in the libmodbus server's tables;
//  - a libmodbus client against our server side (framer in server role + decode_request +
//    encode_response): every request libmodbus sends parses, and re-encodes byte-exactly;
//    libmodbus accepts our answers and reads the right values;
//  - RTU multidrop (another unit's request is never answered) and broadcast writes;
//  - float32 word/byte orders agree with libmodbus's float helpers.
// One test body runs against every backend (DESIGN.md, after libmodbus's own tests).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "modbus/error.hpp"
#include "modbus/framer.hpp"
#include "modbus/pdu.hpp"
#include "modbus/transaction.hpp"
#include "points/register_codec.hpp"

extern char** environ;

namespace pollux::modbus {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using FC = FunctionCode;

constexpr int kUnit = 17;
constexpr int kTableSize = 200;

// ---- processes and fds -----------------------------------------------------------------------

// A socat pty pair, started for the test and killed at the end. With a TCP port, the second
// end is a TCP listener on 127.0.0.1 instead: an RTU-over-TCP gateway in front of the pty.
class PtyPair {
 public:
  explicit PtyPair(int tcp_port = 0) {
    char tmpl[] = "/tmp/pollux-interop-XXXXXX";
    dir_ = mkdtemp(tmpl);
    a_ = dir_ + "/A";
    b_ = dir_ + "/B";
    const std::string ea = "pty,raw,echo=0,link=" + a_;
    const std::string eb =
        tcp_port > 0 ? "tcp-listen:" + std::to_string(tcp_port) + ",bind=127.0.0.1,reuseaddr"
                     : "pty,raw,echo=0,link=" + b_;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> argv = {const_cast<char*>("socat"),    const_cast<char*>("-d"),
                               const_cast<char*>("-d"),       const_cast<char*>(ea.c_str()),
                               const_cast<char*>(eb.c_str()), nullptr};
    if (posix_spawnp(&pid_, "socat", &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    const auto deadline = Clock::now() + 5s;
    while (pid_ > 0 && Clock::now() < deadline) {
      if (std::filesystem::exists(a_) && (tcp_port > 0 || std::filesystem::exists(b_))) {
        ready_ = true;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
  }
  ~PtyPair() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ready() const { return ready_; }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }

 private:
  std::string dir_, a_, b_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Fd open_pty(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY);
  if (fd < 0) return Fd();
  termios t{};
  tcgetattr(fd, &t);
  cfmakeraw(&t);
  cfsetspeed(&t, B115200);
  tcsetattr(fd, TCSANOW, &t);
  return Fd(fd);
}

Fd listen_loopback(int& port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  EXPECT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << "bind";
  ::listen(s, 1);
  socklen_t len = sizeof addr;
  getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return Fd(s);
}

Fd connect_loopback(int port) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(s);
    return Fd();
  }
  int one = 1;
  setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return Fd(s);
}

// A loopback port that was free a moment ago (for socat's listener).
int free_port() {
  int port = 0;
  Fd probe = listen_loopback(port);
  return port;
}

// Connects, retrying while the listener (socat) is still starting.
Fd connect_retry(int port) {
  const auto deadline = Clock::now() + 5s;
  for (;;) {
    Fd fd = connect_loopback(port);
    if (fd.get() >= 0 || Clock::now() > deadline) return fd;
    std::this_thread::sleep_for(20ms);
  }
}

bool write_all(int fd, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n <= 0) return false;
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

// Drives one Transaction over a blocking fd: the ChannelRunner's loop in miniature. `raw` gets
// every byte received.
std::error_code exchange(int fd, Transaction& tx, const Request& req, std::uint8_t unit,
                         std::chrono::milliseconds timeout, std::vector<std::uint8_t>& raw) {
  raw.clear();
  Action a = tx.start(req, unit, timeout);
  Clock::time_point deadline{};
  for (;;) {
    switch (a.kind) {
      case ActionKind::write:
        a = write_all(fd, a.bytes)
                ? tx.on_written()
                : tx.on_transport_error(std::error_code(errno, std::generic_category()));
        break;
      case ActionKind::await_reply:
        deadline = Clock::now() + a.timeout;
        [[fallthrough]];
      case ActionKind::read_more: {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        pollfd p{fd, POLLIN, 0};
        const int r = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
        if (r <= 0) {
          a = tx.on_timeout();
          break;
        }
        std::uint8_t buf[512];
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
          a = tx.on_transport_error({});
          break;
        }
        raw.insert(raw.end(), buf, buf + n);
        a = tx.on_bytes({buf, static_cast<std::size_t>(n)});
        break;
      }
      case ActionKind::done:
        return a.error;
    }
  }
}

// ---- the libmodbus server --------------------------------------------------------------------

modbus_mapping_t* make_mapping() {
  modbus_mapping_t* m = modbus_mapping_new(kTableSize, kTableSize, kTableSize, kTableSize);
  for (int i = 0; i < kTableSize; ++i) {
    m->tab_bits[i] = i % 3 == 0;
    m->tab_input_bits[i] = i % 2;
    m->tab_registers[i] = static_cast<std::uint16_t>(1000 + i);
    m->tab_input_registers[i] = static_cast<std::uint16_t>(2000 + i);
  }
  m->tab_registers[50] = 0x0012;  // mask-write example of the standard
  return m;
}

// Runs modbus_receive/modbus_reply on its own thread until stopped.
class LibmodbusServer {
 public:
  LibmodbusServer(modbus_t* ctx, modbus_mapping_t* mapping, int listen_socket = -1)
      : ctx_(ctx), mapping_(mapping), listen_socket_(listen_socket) {
    modbus_set_indication_timeout(ctx_, 0, 100000);
    thread_ = std::thread([this] { run(); });
  }
  ~LibmodbusServer() {
    stop_ = true;
    thread_.join();
  }

 private:
  void run() {
    if (listen_socket_ >= 0) {
      int s = listen_socket_;
      if (modbus_tcp_accept(ctx_, &s) < 0) return;
    }
    std::uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    while (!stop_) {
      const int rc = modbus_receive(ctx_, query);
      if (rc > 0) modbus_reply(ctx_, query, rc, mapping_);
      if (rc < 0 && errno != ETIMEDOUT && listen_socket_ >= 0) {
        // The client closed the connection; wait for stop without spinning.
        while (!stop_)
          std::this_thread::sleep_for(10ms);
      }
    }
  }

  modbus_t* ctx_;
  modbus_mapping_t* mapping_;
  int listen_socket_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---- one backend -----------------------------------------------------------------------------

// rtu: a pty pair; tcp: loopback; rtu_over_tcp: RTU frames on a TCP stream, the stream
// bridged by socat to the pty where the RTU peer sits (a serial gateway).
enum class Backend { rtu, tcp, rtu_over_tcp };

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::rtu:
      return "rtu";
    case Backend::tcp:
      return "tcp";
    case Backend::rtu_over_tcp:
      return "rtu_over_tcp";
  }
  return "unknown";
}

struct Case {
  const char* name;
  Request req;
  std::vector<std::uint16_t> expect;  // reads: registers or bits (0/1)
  std::uint8_t exception = 0;
  std::function<void(const modbus_mapping_t*)> check_tables;
};

std::vector<Case> client_cases() {
  auto regs = [](int first, int n, int base) {
    std::vector<std::uint16_t> v;
    v.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i)
      v.push_back(static_cast<std::uint16_t>(base + first + i));
    return v;
  };
  auto bits = [](int first, int n, int mod) {
    std::vector<std::uint16_t> v;
    for (int i = first; i < first + n; ++i)
      v.push_back(mod == 3 ? i % 3 == 0 : i % 2);
    return v;
  };
  return {
      {"fc1", Request::read(FC::read_coils, 3, 13), bits(3, 13, 3), 0, nullptr},
      {"fc2", Request::read(FC::read_discrete_inputs, 5, 10), bits(5, 10, 2), 0, nullptr},
      {"fc3", Request::read(FC::read_holding_registers, 10, 10), regs(10, 10, 1000), 0, nullptr},
      {"fc4 max", Request::read(FC::read_input_registers, 0, 125), regs(0, 125, 2000), 0, nullptr},
      {"fc1 max", Request::read(FC::read_coils, 0, 200), bits(0, 200, 3), 0, nullptr},
      {"fc5",
       Request::write_coil(7, true),
       {},
       0,
       [](const modbus_mapping_t* m) { EXPECT_EQ(m->tab_bits[7], 1); }},
      {"fc6",
       Request::write_register(20, 0xBEEF),
       {},
       0,
       [](const modbus_mapping_t* m) { EXPECT_EQ(m->tab_registers[20], 0xBEEF); }},
      {"fc15",
       Request::write_coils(30, {1, 1, 0, 1, 0, 0, 0, 1, 1, 1}),
       {},
       0,
       [](const modbus_mapping_t* m) {
         const int want[] = {1, 1, 0, 1, 0, 0, 0, 1, 1, 1};
         for (int i = 0; i < 10; ++i)
           EXPECT_EQ(m->tab_bits[30 + i], want[i]) << i;
       }},
      {"fc16",
       Request::write_registers(40, {1, 2, 3}),
       {},
       0,
       [](const modbus_mapping_t* m) {
         EXPECT_EQ(m->tab_registers[40], 1);
         EXPECT_EQ(m->tab_registers[42], 3);
       }},
      {"fc22",
       Request::mask_write(50, 0x00F2, 0x0025),
       {},
       0,
       [](const modbus_mapping_t* m) { EXPECT_EQ(m->tab_registers[50], 0x0017); }},
      {"fc23", Request::read_write(59, 5, 60, {7, 8, 9}), {1059, 7, 8, 9, 1063}, 0, nullptr},
      {"fc3 read back", Request::read(FC::read_holding_registers, 20, 1), {0xBEEF}, 0, nullptr},
      {"exception 02", Request::read(FC::read_holding_registers, 190, 20), {}, 2, nullptr},
      {"exception 02 on write", Request::write_register(kTableSize, 1), {}, 2, nullptr},
  };
}

// Our side's encoding of the answer the case expects, as raw ADU bytes.
std::vector<std::uint8_t> expected_adu(Framer& f, const Case& c, std::uint16_t tid) {
  PduBuffer pdu;
  if (c.exception) {
    encode_exception(c.req.function, c.exception, pdu);
  } else {
    EXPECT_FALSE(encode_response(c.req, c.expect, pdu)) << c.name;
  }
  AduBuffer adu;
  EXPECT_FALSE(f.encode(kUnit, pdu.span(), adu, tid));
  return {adu.span().begin(), adu.span().end()};
}

class Interop : public ::testing::TestWithParam<Backend> {};

TEST_P(Interop, OurClientAgainstLibmodbusServer) {
  modbus_mapping_t* mapping = make_mapping();
  const Backend backend = GetParam();
  int port = backend == Backend::rtu_over_tcp ? free_port() : 0;
  std::optional<PtyPair> pty;
  Fd listener, ours;
  modbus_t* ctx = nullptr;
  std::unique_ptr<Framer> framer;
  if (backend != Backend::tcp) {
    pty.emplace(port);
    ASSERT_TRUE(pty->ready()) << "socat did not start";
    ctx = modbus_new_rtu(pty->a().c_str(), 115200, 'N', 8, 1);
    ASSERT_NE(ctx, nullptr);
    modbus_set_slave(ctx, kUnit);
    ASSERT_EQ(modbus_connect(ctx), 0) << modbus_strerror(errno);
    if (backend == Backend::rtu) {
      ours = open_pty(pty->b());
      framer = std::make_unique<RtuFramer>();
    } else {
      ours = connect_retry(port);
      framer = std::make_unique<RtuOverTcpFramer>();
    }
  } else {
    ctx = modbus_new_tcp("127.0.0.1", 0);
    ASSERT_NE(ctx, nullptr);
    // libmodbus listens itself; find the port it was given.
    const int s = modbus_tcp_listen(ctx, 1);
    ASSERT_GE(s, 0);
    listener = Fd(s);
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    framer = std::make_unique<TcpFramer>();
  }
  {
    LibmodbusServer server(ctx, mapping, listener.get());
    if (backend == Backend::tcp) ours = connect_loopback(port);
    ASSERT_GE(ours.get(), 0);
    Transaction tx(*framer);
    std::vector<std::uint8_t> raw;
    for (const Case& c : client_cases()) {
      const std::error_code ec = exchange(ours.get(), tx, c.req, kUnit, 2000ms, raw);
      if (c.exception) {
        EXPECT_EQ(ec, exception_error(c.exception)) << c.name << ": " << ec.message();
      } else {
        ASSERT_FALSE(ec) << c.name << ": " << ec.message();
        const ResponseView& v = tx.response();
        for (std::size_t i = 0; i < c.expect.size(); ++i) {
          const unsigned got = is_bit_read(c.req.function) ? v.bit_at(i) : v.register_at(i);
          ASSERT_EQ(got, c.expect[i]) << c.name << " item " << i;
        }
        if (c.check_tables) c.check_tables(mapping);
      }
      // Byte-exact: libmodbus's answer is exactly what our encoder makes of the same answer.
      EXPECT_EQ(raw, expected_adu(*framer, c, tx.transaction_id())) << c.name;
    }
  }
  modbus_close(ctx);
  modbus_free(ctx);
  modbus_mapping_free(mapping);
}

// ---- our server side against a libmodbus client ----------------------------------------------

// A tiny server on our codec: parses each request, records it with its raw bytes, answers from
// an in-memory image.
class OurServer {
 public:
  struct Seen {
    Request req;
    std::vector<std::uint8_t> raw;
    std::uint16_t tid = 0;
  };

  OurServer(Framing framing, int fd, bool accept_first) : fd_(fd), accept_(accept_first) {
    framer_ = make_framer(framing, Role::server);
    framer_->expect({kUnit, -1, -1});
    for (int i = 0; i < kTableSize; ++i) {
      regs_[i] = static_cast<std::uint16_t>(1000 + i);
      inputs_[i] = static_cast<std::uint16_t>(2000 + i);
      coils_[i] = i % 3 == 0;
      discretes_[i] = i % 2;
    }
    thread_ = std::thread([this] { run(); });
  }
  ~OurServer() {
    stop_ = true;
    thread_.join();
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::uint16_t reg(int i) {
    std::lock_guard lock(mu_);
    return regs_[i];
  }
  std::uint16_t coil(int i) {
    std::lock_guard lock(mu_);
    return coils_[i];
  }
  std::vector<std::string> problems() {
    std::lock_guard lock(mu_);
    return problems_;
  }

 private:
  void run() {
    Fd accepted;
    int fd = fd_;
    if (accept_) {
      pollfd p{fd_, POLLIN, 0};
      while (!stop_ && ::poll(&p, 1, 50) <= 0) {
      }
      if (stop_) return;
      accepted = Fd(::accept(fd_, nullptr, nullptr));
      fd = accepted.get();
    }
    std::vector<std::uint8_t> raw;
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      std::uint8_t buf[512];
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      std::span<const std::uint8_t> bytes(buf, static_cast<std::size_t>(n));
      while (!bytes.empty()) {
        const FeedResult r = framer_->feed(bytes);
        raw.insert(raw.end(), bytes.begin(), bytes.begin() + static_cast<long>(r.consumed));
        bytes = bytes.subspan(r.consumed);
        if (r.status == FeedStatus::error) {
          problem("framer error: " + r.error.message());
          raw.clear();
        } else if (r.status == FeedStatus::frame) {
          answer(fd, r.frame, raw);
          raw.clear();
        }
      }
    }
  }

  void problem(std::string s) {
    std::lock_guard lock(mu_);
    problems_.push_back(std::move(s));
  }

  void answer(int fd, const Frame& frame, const std::vector<std::uint8_t>& raw) {
    Request req;
    if (auto ec = decode_request(frame.pdu, req)) {
      problem("decode_request: " + ec.message());
      return;
    }
    const std::uint16_t tid = frame.transaction;
    PduBuffer pdu;
    {
      std::lock_guard lock(mu_);
      seen_.push_back({req, raw, tid});
      std::vector<std::uint16_t> data;
      const int q = req.quantity;
      switch (req.function) {
        case FC::read_coils:
          for (int i = 0; i < q; ++i)
            data.push_back(coils_[req.address + i]);
          break;
        case FC::read_discrete_inputs:
          for (int i = 0; i < q; ++i)
            data.push_back(discretes_[req.address + i]);
          break;
        case FC::read_holding_registers:
          for (int i = 0; i < q; ++i)
            data.push_back(regs_[req.address + i]);
          break;
        case FC::read_input_registers:
          for (int i = 0; i < q; ++i)
            data.push_back(inputs_[req.address + i]);
          break;
        case FC::write_single_coil:
          coils_[req.address] = req.coils[0];
          break;
        case FC::write_single_register:
          regs_[req.address] = req.values[0];
          break;
        case FC::write_multiple_coils:
          for (std::size_t i = 0; i < req.coils.size(); ++i)
            coils_[req.address + i] = req.coils[i];
          break;
        case FC::write_multiple_registers:
          for (std::size_t i = 0; i < req.values.size(); ++i)
            regs_[req.address + i] = req.values[i];
          break;
        case FC::mask_write_register:
          regs_[req.address] = static_cast<std::uint16_t>((regs_[req.address] & req.and_mask) |
                                                          (req.or_mask & ~req.and_mask));
          break;
        case FC::read_write_multiple_registers:
          for (std::size_t i = 0; i < req.values.size(); ++i) {
            regs_[req.write_address + i] = req.values[i];
          }
          for (int i = 0; i < q; ++i)
            data.push_back(regs_[req.address + i]);
          break;
      }
      if (auto ec = encode_response(req, data, pdu)) {
        problems_.push_back("encode_response: " + ec.message());
        return;
      }
    }
    AduBuffer adu;
    framer_->encode(kUnit, pdu.span(), adu, tid);
    write_all(fd, adu.span());
  }

  int fd_;
  bool accept_;
  std::unique_ptr<Framer> framer_;
  std::mutex mu_;
  std::uint16_t regs_[kTableSize]{}, inputs_[kTableSize]{}, coils_[kTableSize]{},
      discretes_[kTableSize]{};
  std::vector<Seen> seen_;
  std::vector<std::string> problems_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_P(Interop, LibmodbusClientAgainstOurServer) {
  const Backend backend = GetParam();
  int port = backend == Backend::rtu_over_tcp ? free_port() : 0;
  std::optional<PtyPair> pty;
  Fd ours;
  modbus_t* ctx = nullptr;
  Framing framing;
  if (backend != Backend::tcp) {
    pty.emplace(port);
    ASSERT_TRUE(pty->ready()) << "socat did not start";
    ours = backend == Backend::rtu ? open_pty(pty->b()) : connect_retry(port);
    ctx = modbus_new_rtu(pty->a().c_str(), 115200, 'N', 8, 1);
    framing = backend == Backend::rtu ? Framing::rtu : Framing::rtu_over_tcp;
  } else {
    ours = listen_loopback(port);
    ctx = modbus_new_tcp("127.0.0.1", port);
    framing = Framing::tcp;
  }
  ASSERT_NE(ctx, nullptr);
  ASSERT_GE(ours.get(), 0);
  modbus_set_slave(ctx, kUnit);
  modbus_set_response_timeout(ctx, 2, 0);
  OurServer server(framing, ours.get(), backend == Backend::tcp);
  ASSERT_EQ(modbus_connect(ctx), 0) << modbus_strerror(errno);

  std::vector<Request> expected;
  std::uint8_t bits[256];
  std::uint16_t regs[256];
  ASSERT_EQ(modbus_read_bits(ctx, 3, 13, bits), 13) << modbus_strerror(errno);
  expected.push_back(Request::read(FC::read_coils, 3, 13));
  for (int i = 0; i < 13; ++i)
    EXPECT_EQ(bits[i], (3 + i) % 3 == 0) << i;
  ASSERT_EQ(modbus_read_input_bits(ctx, 5, 10, bits), 10);
  expected.push_back(Request::read(FC::read_discrete_inputs, 5, 10));
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(bits[i], (5 + i) % 2) << i;
  ASSERT_EQ(modbus_read_registers(ctx, 10, 10, regs), 10);
  expected.push_back(Request::read(FC::read_holding_registers, 10, 10));
  EXPECT_EQ(regs[9], 1019);
  ASSERT_EQ(modbus_read_input_registers(ctx, 0, 125, regs), 125);
  expected.push_back(Request::read(FC::read_input_registers, 0, 125));
  EXPECT_EQ(regs[124], 2124);
  ASSERT_EQ(modbus_write_bit(ctx, 7, 1), 1);
  expected.push_back(Request::write_coil(7, true));
  ASSERT_EQ(modbus_write_register(ctx, 20, 0xBEEF), 1);
  expected.push_back(Request::write_register(20, 0xBEEF));
  const std::uint8_t coil_data[] = {1, 1, 0, 1, 0, 0, 0, 1, 1, 1};
  ASSERT_EQ(modbus_write_bits(ctx, 30, 10, coil_data), 10);
  expected.push_back(Request::write_coils(30, {1, 1, 0, 1, 0, 0, 0, 1, 1, 1}));
  const std::uint16_t reg_data[] = {1, 2, 3};
  ASSERT_EQ(modbus_write_registers(ctx, 40, 3, reg_data), 3);
  expected.push_back(Request::write_registers(40, {1, 2, 3}));
  ASSERT_EQ(modbus_mask_write_register(ctx, 50, 0x00F2, 0x0025), 1);
  expected.push_back(Request::mask_write(50, 0x00F2, 0x0025));
  const std::uint16_t rw_data[] = {7, 8, 9};
  ASSERT_EQ(modbus_write_and_read_registers(ctx, 60, 3, rw_data, 59, 5, regs), 5);
  expected.push_back(Request::read_write(59, 5, 60, {7, 8, 9}));
  EXPECT_EQ(regs[0], 1059);
  EXPECT_EQ(regs[1], 7);
  EXPECT_EQ(regs[4], 1063);
  modbus_close(ctx);
  modbus_free(ctx);

  EXPECT_EQ(server.coil(7), 1);
  EXPECT_EQ(server.reg(20), 0xBEEF);
  EXPECT_EQ(server.coil(33), 1);
  EXPECT_EQ(server.reg(42), 3);
  EXPECT_EQ(server.reg(50), (1050 & 0x00F2) | (0x0025 & ~0x00F2));
  EXPECT_TRUE(server.problems().empty()) << server.problems().front();
  const auto seen = server.seen();
  ASSERT_EQ(seen.size(), expected.size());
  auto framer = make_framer(framing);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].req, expected[i]) << to_string(expected[i].function);
    // Byte-exact: our encoding of the parsed request is the ADU libmodbus sent.
    PduBuffer pdu;
    ASSERT_FALSE(encode_request(seen[i].req, pdu));
    AduBuffer adu;
    ASSERT_FALSE(framer->encode(kUnit, pdu.span(), adu, seen[i].tid));
    EXPECT_EQ(std::vector<std::uint8_t>(adu.span().begin(), adu.span().end()), seen[i].raw)
        << to_string(expected[i].function);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, Interop,
                         ::testing::Values(Backend::rtu, Backend::tcp, Backend::rtu_over_tcp),
                         backend_name);

// ---- RTU multidrop and broadcast -------------------------------------------------------------

TEST(InteropRtu, OtherUnitIsNeverAnsweredAndBroadcastWritesLand) {
  modbus_mapping_t* mapping = make_mapping();
  PtyPair pty;
  ASSERT_TRUE(pty.ready());
  modbus_t* ctx = modbus_new_rtu(pty.a().c_str(), 115200, 'N', 8, 1);
  modbus_set_slave(ctx, kUnit);
  ASSERT_EQ(modbus_connect(ctx), 0);
  {
    LibmodbusServer server(ctx, mapping);
    Fd ours = open_pty(pty.b());
    RtuFramer framer;
    Transaction tx(framer);
    std::vector<std::uint8_t> raw;
    // Broadcast write: done when written, no answer awaited.
    EXPECT_FALSE(exchange(ours.get(), tx, Request::write_register(70, 0x4242), 0, 300ms, raw));
    EXPECT_TRUE(tx.is_broadcast());
    // No pause needed: the server handles frames in order, so the read sees the write.
    ASSERT_FALSE(exchange(ours.get(), tx, Request::read(FC::read_holding_registers, 70, 1), kUnit,
                          2000ms, raw));
    EXPECT_EQ(tx.response().register_at(0), 0x4242);
    // A request to unit 18: the unit-17 server stays silent, we time out. (Last: libmodbus
    // then takes the next frame on the line as unit 18's answer and ignores it, as a multidrop
    // listener should.)
    EXPECT_EQ(
        exchange(ours.get(), tx, Request::read(FC::read_holding_registers, 0, 1), 18, 300ms, raw),
        Errc::timeout);
  }
  modbus_close(ctx);
  modbus_free(ctx);
  modbus_mapping_free(mapping);
}

// ---- float word order against libmodbus ------------------------------------------------------

// modbus_set_float/modbus_get_float put the low word first (CDAB). The abcd/badc/cdab/dcba
// family of libmodbus 3.1.6 mixes up byte order on little-endian hosts, so it is no oracle;
// the golden tests in tests/unit/points cover the other orders.
TEST(InteropPoints, Float32LowWordFirstAgreesWithLibmodbus) {
  config::Point p;
  p.type = config::PointType::float32;
  p.word_order = config::Order::little;
  for (float value : {-1234.5678f, 0.0f, 1.5f, 3.0e38f, -1.0e-30f}) {
    std::uint16_t theirs[2];
    modbus_set_float(value, theirs);
    // The same float32 (shown as its shortest decimal, so compared as a float32).
    const points::Value decoded = points::decode_registers(p, theirs);
    ASSERT_TRUE(std::holds_alternative<double>(decoded));
    EXPECT_EQ(static_cast<float>(std::get<double>(decoded)), value);
    std::uint16_t ours[2];
    ASSERT_FALSE(points::encode_registers(p, points::Value{static_cast<double>(value)}, ours));
    EXPECT_EQ(modbus_get_float(ours), value);
    EXPECT_EQ(ours[0], theirs[0]);
    EXPECT_EQ(ours[1], theirs[1]);
  }
}

}  // namespace
}  // namespace pollux::modbus
