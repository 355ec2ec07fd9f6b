// Self-tests of pollux-sim: the real process, real ptys and sockets, libmodbus clients. Every
// feature and fault of the simulator issue has a test that fails when the feature breaks.
#include <gtest/gtest.h>
#include <modbus/modbus.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <thread>

#include "sim_harness.hpp"

using namespace simtest;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct ModbusDeleter {
  void operator()(modbus_t* c) const {
    modbus_close(c);
    modbus_free(c);
  }
};
using Ctx = std::unique_ptr<modbus_t, ModbusDeleter>;

Ctx tcp_client(int port, int unit, int timeout_ms = 500) {
  Ctx c(modbus_new_tcp("127.0.0.1", port));
  modbus_set_slave(c.get(), unit);
  modbus_set_response_timeout(c.get(), 0, static_cast<uint32_t>(timeout_ms) * 1000);
  if (modbus_connect(c.get()) != 0) return nullptr;
  return c;
}

Ctx rtu_client(const std::string& path, int unit, int timeout_ms = 500) {
  Ctx c(modbus_new_rtu(path.c_str(), 9600, 'N', 8, 1));
  modbus_set_slave(c.get(), unit);
  modbus_set_response_timeout(c.get(), 0, static_cast<uint32_t>(timeout_ms) * 1000);
  if (modbus_connect(c.get()) != 0) return nullptr;
  return c;
}

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

bool exists(const std::string& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0;
}

const char* kFleet = R"(
devices:
  - id: D1
    unit: 17
    registers:
      - { table: holding, address: 0, type: float32, value: 12.5 }
      - { table: holding, address: 2, type: float32, word_order: little, value: -3.25 }
      - { table: holding, address: 4, type: uint32, value: 305419896 }
      - { table: holding, address: 6, type: int16, value: -2 }
      - { table: holding, address: 7, type: string, length: 3, value: "ABCDE" }
      - { table: holding, address: 10, type: uint16, counter: { start: 0, step: 1, interval_ms: 50 } }
      - { table: holding, address: 11, type: uint16, ramp: { from: 0, to: 1000, period_ms: 400 } }
      - { table: input, address: 0, type: float64, sine: { mid: 50, amplitude: 10, period_ms: 400 } }
      - { table: input, address: 8, type: uint16, byte_order: little, value: 258 }
      - { table: holding, address: 20, type: int64, word_order: little, value: -5 }
      - { table: coil, address: 3, value: true }
      - { table: discrete, address: 5, value: true }
  - id: D2
    unit: 18
    registers:
      - { table: holding, address: 0, words: [42, 43] }
serial:
  - { id: L1, devices: [D1, D2] }
tcp:
  - { id: T1, devices: [D1, D2] }
  - { id: T2, protocol: modbus-rtu-over-tcp, devices: [D1, { device: D2, unit: 5 }] }
)";

float to_float(uint16_t hi, uint16_t lo) {
  uint32_t b = (static_cast<uint32_t>(hi) << 16) | lo;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

}  // namespace

TEST(SimTcp, TypedValuesInEveryWordOrder) {
  SimProcess sim(kFleet);
  auto c = tcp_client(sim.tcp_port("T1"), 17);
  ASSERT_TRUE(c);
  uint16_t r[24] = {};
  ASSERT_EQ(modbus_read_registers(c.get(), 0, 24, r), 24) << modbus_strerror(errno);
  EXPECT_FLOAT_EQ(to_float(r[0], r[1]), 12.5f);
  EXPECT_FLOAT_EQ(to_float(r[3], r[2]), -3.25f);  // little: low word first
  EXPECT_EQ((static_cast<uint32_t>(r[4]) << 16) | r[5], 305419896u);
  EXPECT_EQ(static_cast<int16_t>(r[6]), -2);
  EXPECT_EQ(r[7], ('A' << 8) | 'B');
  EXPECT_EQ(r[8], ('C' << 8) | 'D');
  EXPECT_EQ(r[9], ('E' << 8));
  // int64 -5, little word order: lowest word first.
  EXPECT_EQ(r[20], 0xFFFB);
  EXPECT_EQ(r[21], 0xFFFF);
  EXPECT_EQ(r[23], 0xFFFF);
  uint16_t in[9] = {};
  ASSERT_EQ(modbus_read_input_registers(c.get(), 0, 9, in), 9);
  EXPECT_EQ(in[8], 0x0201);  // byte_order little swaps inside the register
  uint64_t bits = 0;
  for (int i = 0; i < 4; ++i)
    bits = (bits << 16) | in[i];
  double sine;
  std::memcpy(&sine, &bits, 8);
  EXPECT_GE(sine, 40.0);
  EXPECT_LE(sine, 60.0);
  uint8_t coil[4] = {}, disc[6] = {};
  ASSERT_EQ(modbus_read_bits(c.get(), 0, 4, coil), 4);
  ASSERT_EQ(modbus_read_input_bits(c.get(), 0, 6, disc), 6);
  EXPECT_EQ(coil[3], 1);
  EXPECT_EQ(coil[2], 0);
  EXPECT_EQ(disc[5], 1);
}

TEST(SimTcp, ResizeChangesTheRegisterMapKeepingValuesThatFit) {
  SimProcess sim(kFleet);
  auto c = tcp_client(sim.tcp_port("T1"), 17);
  ASSERT_TRUE(c);
  uint16_t r[2] = {};
  ASSERT_TRUE(sim.cmd({{"cmd", "resize"}, {"device", "D1"}, {"size", 10}})["ok"]);
  EXPECT_EQ(modbus_read_registers(c.get(), 10, 1, r), -1);
  EXPECT_EQ(errno, EMBXILADD);  // exception 02 past the end
  ASSERT_EQ(modbus_read_registers(c.get(), 0, 2, r), 2);
  EXPECT_FLOAT_EQ(to_float(r[0], r[1]), 12.5f);  // kept
  ASSERT_TRUE(sim.cmd({{"cmd", "resize"}, {"device", "D1"}, {"size", 400}})["ok"]);
  ASSERT_EQ(modbus_read_registers(c.get(), 390, 1, r), 1);
  EXPECT_EQ(r[0], 0);
  EXPECT_FALSE(sim.cmd({{"cmd", "resize"}, {"device", "D1"}, {"size", 0}})["ok"]);
  EXPECT_FALSE(sim.cmd({{"cmd", "resize"}, {"device", "NOPE"}, {"size", 5}})["ok"]);
}

TEST(SimTcp, GeneratedValuesChangeOverTime) {
  SimProcess sim(kFleet);
  auto c = tcp_client(sim.tcp_port("T1"), 17);
  ASSERT_TRUE(c);
  uint16_t a[2], b[2];
  uint16_t sa[4], sb[4];
  ASSERT_EQ(modbus_read_registers(c.get(), 10, 2, a), 2);
  ASSERT_EQ(modbus_read_input_registers(c.get(), 0, 4, sa), 4);
  sleep_ms(130);
  ASSERT_EQ(modbus_read_registers(c.get(), 10, 2, b), 2);
  ASSERT_EQ(modbus_read_input_registers(c.get(), 0, 4, sb), 4);
  EXPECT_GE(static_cast<uint16_t>(b[0] - a[0]), 2) << "counter steps every 50 ms";
  EXPECT_NE(a[1], b[1]) << "ramp moves";
  EXPECT_NE(std::memcmp(sa, sb, sizeof sa), 0) << "sine moves";
}

TEST(SimTcp, SeveralUnitsBehindOneGateway) {
  SimProcess sim(kFleet);
  auto c17 = tcp_client(sim.tcp_port("T1"), 17);
  auto c18 = tcp_client(sim.tcp_port("T1"), 18);
  auto c19 = tcp_client(sim.tcp_port("T1"), 19, 300);
  ASSERT_TRUE(c17 && c18 && c19);
  uint16_t r[2];
  ASSERT_EQ(modbus_read_registers(c18.get(), 0, 2, r), 2);
  EXPECT_EQ(r[0], 42);
  EXPECT_EQ(r[1], 43);
  ASSERT_EQ(modbus_read_registers(c17.get(), 4, 1, r), 1);
  EXPECT_EQ(r[0], 305419896u >> 16);
  EXPECT_EQ(modbus_read_registers(c19.get(), 0, 1, r), -1) << "no such unit behind the gateway";
  auto st = sim.stats();
  EXPECT_EQ(st["tcp"]["T1"]["unknown_unit"], 1);
  EXPECT_EQ(st["devices"]["D2"]["requests_by_path"]["T1"], 1);
}

TEST(SimTcp, RtuOverTcpWithPerPathUnit) {
  SimProcess sim(kFleet);
  int fd = tcp_connect(sim.tcp_port("T2"));
  ASSERT_GE(fd, 0);
  // D2 answers as unit 5 on this path.
  auto resp = tcp_exchange(fd, with_crc({5, 3, 0, 0, 0, 2}), 9, 1000);
  EXPECT_EQ(hex(resp), hex(with_crc({5, 3, 4, 0, 42, 0, 43})));
  // A frame split across two segments is reassembled.
  auto req = with_crc({17, 3, 0, 6, 0, 1});
  ASSERT_EQ(send(fd, req.data(), 3, 0), 3);
  sleep_ms(20);
  resp = tcp_exchange(fd, Bytes(req.begin() + 3, req.end()), 7, 1000);
  EXPECT_EQ(hex(resp), hex(with_crc({17, 3, 2, 0xFF, 0xFE})));
  // A corrupted request is dropped, and the stream recovers after silence.
  auto bad = with_crc({17, 3, 0, 6, 0, 1});
  bad[7] ^= 1;
  EXPECT_TRUE(tcp_exchange(fd, bad, 1, 300).empty());
  resp = tcp_exchange(fd, with_crc({17, 3, 0, 6, 0, 1}), 7, 1000);
  EXPECT_EQ(hex(resp), hex(with_crc({17, 3, 2, 0xFF, 0xFE})));
  close(fd);
  EXPECT_EQ(sim.stats()["tcp"]["T2"]["crc_errors"], 1);
}

TEST(SimSerial, MultidropOnlyTheAddressedUnitAnswers) {
  SimProcess sim(kFleet);
  auto c17 = rtu_client(sim.serial("L1"), 17);
  ASSERT_TRUE(c17);
  uint16_t r[2];
  ASSERT_EQ(modbus_read_registers(c17.get(), 6, 1, r), 1) << modbus_strerror(errno);
  EXPECT_EQ(r[0], 0xFFFE);
  modbus_set_slave(c17.get(), 18);
  ASSERT_EQ(modbus_read_registers(c17.get(), 0, 2, r), 2);
  EXPECT_EQ(r[0], 42);
  c17.reset();
  RawPort port(sim.serial("L1"));
  ASSERT_TRUE(port.ok());
  port.write(with_crc({19, 3, 0, 0, 0, 1}));
  EXPECT_TRUE(port.read_for(300).empty()) << "unit 19 is not on the line: nobody answers";
  // Broadcast write: applied by every unit, answered by none.
  port.write(with_crc({0, 6, 0, 30, 0, 7}));
  EXPECT_TRUE(port.read_for(300).empty());
  auto st = sim.stats();
  EXPECT_EQ(st["lines"]["L1"]["other_units"], 1);
  EXPECT_EQ(st["devices"]["D1"]["writes"].size(), 1u);
  EXPECT_EQ(st["devices"]["D2"]["writes"].size(), 1u);
  EXPECT_EQ(sim.cmd({{"cmd", "get"}, {"device", "D2"}, {"address", 30}})["values"][0], 7);
}

TEST(SimSerial, BaudPacingAndTurnaround) {
  SimProcess sim(R"(
devices: [ { id: D, unit: 1 } ]
serial:
  - { id: SLOW, baud: 1200, timing: true, turnaround_ms: 50, devices: [D] }
  - { id: FAST, devices: [D] }
)");
  RawPort slow(sim.serial("SLOW")), fast(sim.serial("FAST"));
  auto req = with_crc({1, 3, 0, 0, 0, 10});  // 8 bytes out, 25 bytes back
  auto t0 = Clock::now();
  slow.write(req);
  auto first = slow.read_n(1, 2000);
  double t_first = ms_since(t0);
  auto rest = slow.read_n(24, 2000);
  double t_all = ms_since(t0);
  ASSERT_EQ(first.size() + rest.size(), 25u);
  // 10 bits per char at 1200 baud = 8.33 ms: request 67 ms + turnaround 50 ms before the
  // first byte; 24 more characters paced at 8.33 ms each (200 ms).
  EXPECT_GE(t_first, 100.0);
  EXPECT_GE(t_all - t_first, 170.0);
  EXPECT_LE(t_all, 1000.0);
  t0 = Clock::now();
  fast.write(req);
  EXPECT_EQ(fast.read_n(25, 2000).size(), 25u);
  EXPECT_LT(ms_since(t0), 150.0);
}

TEST(SimSerial, FaultsOnTheRtuLine) {
  SimProcess sim(kFleet);
  auto c = rtu_client(sim.serial("L1"), 17, 300);
  ASSERT_TRUE(c);
  uint16_t r[2];
  auto fault = [&](json f) {
    f["cmd"] = "fault";
    f["device"] = "D1";
    ASSERT_TRUE(sim.cmd(f)["ok"]) << f;
  };
  auto clear = [&] { ASSERT_TRUE(sim.cmd({{"cmd", "clear"}, {"device", "D1"}})["ok"]); };
  auto read_ok = [&] {
    modbus_flush(c.get());
    return modbus_read_registers(c.get(), 6, 1, r) == 1;
  };
  ASSERT_TRUE(read_ok());

  fault({{"fault", "silence"}});
  EXPECT_EQ(modbus_read_registers(c.get(), 6, 1, r), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  clear();
  EXPECT_TRUE(read_ok());

  fault({{"fault", "exception"}, {"code", 2}});
  EXPECT_EQ(modbus_read_registers(c.get(), 6, 1, r), -1);
  EXPECT_EQ(errno, EMBXILADD);
  clear();

  fault({{"fault", "bad_crc"}});
  EXPECT_EQ(modbus_read_registers(c.get(), 6, 1, r), -1);
  EXPECT_EQ(errno, EMBBADCRC);
  clear();

  for (const char* f : {"garbage", "wrong_unit", "truncate"}) {
    fault({{"fault", f}});
    EXPECT_EQ(modbus_read_registers(c.get(), 6, 1, r), -1) << f;
    sleep_ms(50);
    clear();
    EXPECT_TRUE(read_ok()) << "recovers after " << f;
  }

  fault({{"fault", "delay"}, {"ms", 150}});
  auto t0 = Clock::now();
  EXPECT_TRUE(read_ok());
  EXPECT_GE(ms_since(t0), 140.0);
  clear();

  // count: only the next request is affected; via: only that path.
  fault({{"fault", "silence"}, {"count", 1}});
  EXPECT_FALSE(read_ok());
  EXPECT_TRUE(read_ok());
  fault({{"fault", "silence"}, {"via", "T1"}});
  EXPECT_TRUE(read_ok()) << "a fault on another path leaves this line alone";
  // duration_ms: expires by itself.
  clear();
  fault({{"fault", "silence"}, {"duration_ms", 300}});
  EXPECT_FALSE(read_ok());
  sleep_ms(350);
  EXPECT_TRUE(read_ok());

  auto st = sim.stats()["devices"]["D1"];
  EXPECT_EQ(st["faults"]["silence"], 3);
  EXPECT_EQ(st["faults"]["garbage"], 1);
  EXPECT_EQ(st["faults"]["exception"], 1);
  EXPECT_GE(st["faults_applied"].get<int>(), 9);
}

TEST(SimSerial, SecondDeviceOnTheLineUnaffectedByFault) {
  SimProcess sim(kFleet);
  ASSERT_TRUE(sim.cmd({{"cmd", "fault"}, {"device", "D1"}, {"fault", "silence"}})["ok"]);
  auto c = rtu_client(sim.serial("L1"), 18, 300);
  ASSERT_TRUE(c);
  uint16_t r[2];
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 2, r), 2);
  modbus_set_slave(c.get(), 17);
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 2, r), -1);
}

TEST(SimTcp, ExceptionDelayResetAndRefuse) {
  SimProcess sim(kFleet);
  int port = sim.tcp_port("T1");
  auto c = tcp_client(port, 17, 400);
  ASSERT_TRUE(c);
  uint16_t r[1];
  ASSERT_TRUE(
      sim.cmd({{"cmd", "fault"}, {"device", "D1"}, {"fault", "exception"}, {"code", 4}})["ok"]);
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, r), -1);
  EXPECT_EQ(errno, EMBXSFAIL);
  ASSERT_TRUE(sim.cmd({{"cmd", "clear"}})["ok"]);
  ASSERT_TRUE(sim.cmd({{"cmd", "fault"}, {"device", "D1"}, {"fault", "silence"}})["ok"]);
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, r), -1);
  EXPECT_EQ(errno, ETIMEDOUT);
  ASSERT_TRUE(sim.cmd({{"cmd", "clear"}})["ok"]);
  c = tcp_client(port, 17, 400);
  ASSERT_TRUE(c);

  ASSERT_TRUE(
      sim.cmd({{"cmd", "fault"}, {"device", "D1"}, {"fault", "reset"}, {"count", 1}})["ok"]);
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, r), -1);
  EXPECT_EQ(errno, ECONNRESET);
  c = tcp_client(port, 17, 400);
  ASSERT_TRUE(c);
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, r), 1);

  ASSERT_TRUE(sim.cmd({{"cmd", "fault"}, {"device", "D1"}, {"fault", "refuse"}})["ok"]);
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, r), -1) << "open connections are cut";
  EXPECT_FALSE(tcp_client(port, 17)) << "new connections refused";
  EXPECT_EQ(sim.stats()["tcp"]["T1"]["listening"], false);
  ASSERT_TRUE(sim.cmd({{"cmd", "clear"}, {"device", "D1"}})["ok"]);
  c = tcp_client(port, 17, 400);
  ASSERT_TRUE(c) << "accepting again on the same port";
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, r), 1);

  ASSERT_TRUE(sim.cmd({{"cmd", "fault"}, {"device", "D1"}, {"fault", "delay"}, {"ms", 200}})["ok"]);
  auto t0 = Clock::now();
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, r), 1);
  EXPECT_GE(ms_since(t0), 190.0);
}

TEST(SimObservation, WritesAreLoggedOnceWithValues) {
  SimProcess sim(kFleet);
  auto c = tcp_client(sim.tcp_port("T1"), 17);
  ASSERT_TRUE(c);
  ASSERT_EQ(modbus_write_register(c.get(), 100, 1234), 1);
  uint16_t regs[3] = {1, 2, 3};
  ASSERT_EQ(modbus_write_registers(c.get(), 101, 3, regs), 3);
  ASSERT_EQ(modbus_write_bit(c.get(), 7, 1), 1);
  uint8_t bits[3] = {1, 0, 1};
  ASSERT_EQ(modbus_write_bits(c.get(), 8, 3, bits), 3);
  // A silenced write never reaches the device; an exception-answered one is not applied.
  ASSERT_TRUE(
      sim.cmd({{"cmd", "fault"}, {"device", "D1"}, {"fault", "silence"}, {"count", 1}})["ok"]);
  modbus_set_response_timeout(c.get(), 0, 200000);
  EXPECT_EQ(modbus_write_register(c.get(), 200, 9), -1);
  EXPECT_EQ(modbus_write_register(c.get(), 60000, 9), -1) << "outside the table: exception 02";
  auto w = sim.cmd({{"cmd", "writes"}, {"device", "D1"}});
  ASSERT_TRUE(w["ok"]);
  auto& list = w["writes"];
  ASSERT_EQ(list.size(), 4u) << w;
  EXPECT_EQ(list[0]["function"], 6);
  EXPECT_EQ(list[0]["address"], 100);
  EXPECT_EQ(list[0]["values"], json::array({1234}));
  EXPECT_EQ(list[0]["via"], "T1");
  EXPECT_GT(list[0]["time"].get<double>(), 1.6e9);
  EXPECT_EQ(list[1]["function"], 16);
  EXPECT_EQ(list[1]["values"], json::array({1, 2, 3}));
  EXPECT_EQ(list[2]["table"], "coil");
  EXPECT_EQ(list[2]["values"], json::array({1}));
  EXPECT_EQ(list[3]["function"], 15);
  EXPECT_EQ(list[3]["values"], json::array({1, 0, 1}));
  uint16_t back[4];
  ASSERT_EQ(modbus_read_registers(c.get(), 100, 4, back), 4);
  EXPECT_EQ(back[0], 1234);
  EXPECT_EQ(back[3], 3);
  // set from the control interface; a typed set encodes like the config.
  ASSERT_TRUE(sim.cmd({{"cmd", "set"},
                       {"device", "D1"},
                       {"table", "holding"},
                       {"address", 300},
                       {"type", "float32"},
                       {"word_order", "little"},
                       {"value", 1.5}})["ok"]);
  ASSERT_EQ(modbus_read_registers(c.get(), 300, 2, back), 2);
  EXPECT_FLOAT_EQ(to_float(back[1], back[0]), 1.5f);
  EXPECT_FALSE(
      sim.cmd({{"cmd", "set"}, {"device", "D1"}, {"address", 70000}, {"values", {1}}})["ok"]);
}

TEST(SimSerial, ClosedPortVanishesAndReopensAtTheSameLink) {
  SimProcess sim(kFleet);
  std::string link = sim.serial("L1");
  ASSERT_TRUE(exists(link));
  auto r = sim.cmd({{"cmd", "close_port"}, {"line", "L1"}});
  ASSERT_TRUE(r["ok"]) << r;
  EXPECT_FALSE(exists(link));
  EXPECT_FALSE(rtu_client(link, 17));
  EXPECT_EQ(sim.stats()["lines"]["L1"]["open"], false);
  ASSERT_TRUE(sim.cmd({{"cmd", "open_port"}, {"line", "L1"}})["ok"]);
  EXPECT_TRUE(exists(link));
  auto c = rtu_client(link, 17);
  ASSERT_TRUE(c);
  uint16_t v;
  EXPECT_EQ(modbus_read_registers(c.get(), 6, 1, &v), 1);
  EXPECT_EQ(sim.stats()["lines"]["L1"]["opens"], 2);
}

TEST(SimSerial, OverlapOfTwoMastersIsDetected) {
  SimProcess sim(R"(
devices: [ { id: A, unit: 1 }, { id: B, unit: 2 } ]
serial:
  - { id: L, turnaround_ms: 150, devices: [A, B] }
)");
  RawPort master1(sim.serial("L"));
  RawPort master2(sim.serial("L"));  // a second opener, as during a bad handover
  // One master, one request at a time: no overlap.
  for (int i = 0; i < 2; ++i) {
    master1.write(with_crc({1, 3, 0, 0, 0, 1}));
    ASSERT_EQ(master1.read_n(7, 1000).size(), 7u);
  }
  EXPECT_EQ(sim.stats()["lines"]["L"]["overlaps"], 0);
  // The second master speaks while the device is still answering the first.
  master1.write(with_crc({1, 3, 0, 0, 0, 1}));
  sleep_ms(50);
  master2.write(with_crc({2, 3, 0, 0, 0, 1}));
  sleep_ms(400);
  auto st = sim.stats()["lines"]["L"];
  EXPECT_EQ(st["overlaps"], 1) << st;
  EXPECT_EQ(st["overlap_times_ms"].size(), 1u);
}

TEST(SimModem, DialBridgeEscapeAndHangUp) {
  SimProcess sim(R"(
devices: [ { id: D, unit: 9, registers: [ { table: holding, address: 0, words: [77] } ] } ]
modems:
  - { id: M, baud: 19200, dial_ms: 200, guard_ms: 150, numbers: { "5551234": [D] } }
)");
  RawPort m(sim.modem("M"));
  ASSERT_TRUE(m.ok());
  m.write("ATZ\r");
  auto s = m.read_until("OK\r\n", 1000);
  EXPECT_EQ(s, "ATZ\r\r\nOK\r\n") << "echo on by default, CR LF framed answers";
  m.write("ATE0\r");
  EXPECT_EQ(m.read_until("OK\r\n", 1000), "ATE0\r\r\nOK\r\n");
  m.write("AT&FE0 S0=0\r");
  EXPECT_EQ(m.read_until("OK\r\n", 1000), "\r\nOK\r\n") << "echo off now";
  m.write("ATQ!\r");
  EXPECT_EQ(m.read_until("ERROR\r\n", 1000), "\r\nERROR\r\n");
  auto t0 = Clock::now();
  m.write("ATDT555-1234\r");
  EXPECT_EQ(m.read_until("\r\n", 100), "") << "dial time not over yet";
  EXPECT_EQ(m.read_until("CONNECT 19200\r\n", 2000), "\r\nCONNECT 19200\r\n");
  EXPECT_GE(ms_since(t0), 190.0);
  m.write(with_crc({9, 3, 0, 0, 0, 1}));
  EXPECT_EQ(hex(m.read_n(7, 1000)), hex(with_crc({9, 3, 2, 0, 77})));
  // "+++" inside data (no guard time before it) is data, not an escape.
  sleep_ms(200);
  m.write("+++");
  EXPECT_EQ(m.read_until("OK\r\n", 600), "\r\nOK\r\n");
  m.write("ATH\r");
  EXPECT_EQ(m.read_until("OK\r\n", 1000), "\r\nOK\r\n");
  auto st = sim.stats()["modems"]["M"];
  EXPECT_EQ(st["dialed"], json::array({"5551234"}));
  EXPECT_EQ(st["inits"], json::array({"ATZ", "ATE0", "AT&FE0 S0=0", "ATQ!"}));
  ASSERT_EQ(st["calls"].size(), 1u);
  EXPECT_EQ(st["calls"][0]["result"], "CONNECT");
  EXPECT_EQ(st["calls"][0]["requests"], 1);
  EXPECT_EQ(st["calls"][0]["end"], "hangup");
  EXPECT_EQ(st["state"], "command");
}

TEST(SimModem, PlusesWithoutGuardTimeAreData) {
  SimProcess sim(R"(
devices: [ { id: D, unit: 9 } ]
modems:
  - { id: M, echo: false, dial_ms: 50, guard_ms: 200, numbers: { "1": [D] } }
)");
  RawPort m(sim.modem("M"));
  m.write("ATD1\r");
  ASSERT_EQ(m.read_until("CONNECT 9600\r\n", 1000), "\r\nCONNECT 9600\r\n");
  m.write(with_crc({9, 3, 0, 0, 0, 1}));
  ASSERT_EQ(m.read_n(7, 1000).size(), 7u);
  m.write("+++");  // right after data: no guard silence before
  EXPECT_EQ(m.read_until("OK", 500), "");
  EXPECT_EQ(sim.stats()["modems"]["M"]["state"], "online");
}

TEST(SimModem, BusyNoCarrierNoDialtoneAndCarrierDrop) {
  SimProcess sim(R"(
devices: [ { id: D, unit: 9 } ]
modems:
  - { id: M, echo: false, dial_ms: 50, guard_ms: 100, numbers: { "42": [D] } }
)");
  RawPort m(sim.modem("M"));
  auto dial = [&](const std::string& expect) {
    m.write("ATDT42\r");
    return m.read_until(expect + "\r\n", 1000);
  };
  for (auto [fault, answer] : {std::pair{"busy", "BUSY"}, std::pair{"no_carrier", "NO CARRIER"},
                               std::pair{"no_dialtone", "NO DIALTONE"}}) {
    ASSERT_TRUE(sim.cmd({{"cmd", "modem"}, {"modem", "M"}, {"fault", fault}, {"count", 1}})["ok"]);
    EXPECT_EQ(dial(answer), std::string("\r\n") + answer + "\r\n") << fault;
  }
  m.write("ATDT999\r");
  EXPECT_EQ(m.read_until("NO CARRIER\r\n", 1000), "\r\nNO CARRIER\r\n") << "nobody at that number";
  EXPECT_EQ(dial("CONNECT 9600"), "\r\nCONNECT 9600\r\n") << "count:1 faults are used up";
  ASSERT_TRUE(sim.cmd({{"cmd", "modem"}, {"modem", "M"}, {"fault", "drop"}})["ok"]);
  EXPECT_EQ(m.read_until("NO CARRIER\r\n", 1000), "\r\nNO CARRIER\r\n");
  m.write(with_crc({9, 3, 0, 0, 0, 1}));
  EXPECT_EQ(m.read_for(200).size(), 0u) << "no bridge after the carrier dropped";
  // drop armed between calls: the next call drops after_ms after CONNECT.
  ASSERT_TRUE(
      sim.cmd({{"cmd", "modem"}, {"modem", "M"}, {"fault", "drop"}, {"after_ms", 100}})["ok"]);
  EXPECT_EQ(dial("CONNECT 9600"), "\r\nCONNECT 9600\r\n");
  EXPECT_EQ(m.read_until("NO CARRIER\r\n", 1000), "\r\nNO CARRIER\r\n");
  auto calls = sim.stats()["modems"]["M"]["calls"];
  ASSERT_EQ(calls.size(), 6u);
  EXPECT_EQ(calls[0]["result"], "BUSY");
  EXPECT_EQ(calls[4]["end"], "carrier_drop");
}

TEST(SimModem, ClosedModemPortVanishes) {
  SimProcess sim(R"(
devices: [ { id: D, unit: 9 } ]
modems: [ { id: M, numbers: { "1": D } } ]
)");
  std::string link = sim.modem("M");
  ASSERT_TRUE(sim.cmd({{"cmd", "close_port"}, {"line", "M"}})["ok"]);
  EXPECT_FALSE(exists(link));
  ASSERT_TRUE(sim.cmd({{"cmd", "open_port"}, {"modem", "M"}})["ok"]);
  RawPort m(link);
  ASSERT_TRUE(m.ok());
  m.write("AT\r");
  EXPECT_NE(m.read_until("OK\r\n", 1000).find("OK"), std::string::npos);
}

TEST(SimTimeline, ScriptedSilenceStartsAndEnds) {
  SimProcess sim(R"(
devices: [ { id: D, unit: 1 } ]
tcp: [ { id: T, devices: [D] } ]
timeline:
  - { at_ms: 400, cmd: fault, device: D, fault: silence, duration_ms: 1500 }
)");
  auto c = tcp_client(sim.tcp_port("T"), 1, 150);
  ASSERT_TRUE(c);
  uint16_t v;
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, &v), 1);
  while (sim.cmd({{"cmd", "ping"}})["time_ms"].get<double>() < 550)
    sleep_ms(20);
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, &v), -1);
  EXPECT_LT(sim.cmd({{"cmd", "ping"}})["time_ms"].get<double>(), 1900.0) << "machine too slow";
  while (sim.cmd({{"cmd", "ping"}})["time_ms"].get<double>() < 2000)
    sleep_ms(20);
  modbus_flush(c.get());
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, &v), 1);
}

TEST(SimControl, UnixSocketBadRequestsAndExitReport) {
  std::string sock = "/tmp/simtest-ctl-" + std::to_string(getpid()) + ".sock";
  auto sim =
      std::make_unique<SimProcess>(kFleet, std::vector<std::string>{"--control", "unix:" + sock});
  EXPECT_EQ(sim->ready()["control"], "unix:" + sock);
  EXPECT_FALSE(sim->cmd({{"cmd", "nope"}})["ok"]);
  EXPECT_FALSE(sim->cmd({{"cmd", "fault"}, {"device", "NOPE"}, {"fault", "silence"}})["ok"]);
  EXPECT_FALSE(sim->cmd({{"cmd", "fault"}, {"device", "D1"}, {"fault", "melt"}})["ok"]);
  EXPECT_FALSE(sim->cmd({{"cmd", "close_port"}, {"line", "NOPE"}})["ok"]);
  ASSERT_TRUE(sim->cmd({{"cmd", "fault"}, {"line", "L1"}, {"fault", "silence"}})["ok"]);
  std::string link = sim->serial("L1");
  int status = -1;
  auto report = sim->stop(&status);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["exit"], true);
  EXPECT_EQ(report["devices"]["D2"]["active_faults"][0]["via"], "L1");
  EXPECT_FALSE(exists(link)) << "ptys removed at exit";
  EXPECT_FALSE(exists(sock));
}

TEST(SimConfig, ErrorsNameTheLineAndExit2) {
  std::string err;
  EXPECT_EQ(run_failing("devices:\n  - { id: D, unit: 1, colour: red }\n", &err), 2);
  EXPECT_NE(err.find("2:"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown key 'colour'"), std::string::npos) << err;
  EXPECT_EQ(run_failing("serial:\n  - { id: L, devices: [X] }\n", &err), 2);
  EXPECT_NE(err.find("unknown device 'X'"), std::string::npos) << err;
}

// The failover scenarios of spec/failover.md, as an engine test would set them up: one RTU on
// a serial primary, a TCP first failover and a modem second failover, with a line-mate.
TEST(SimScenario, OneDeviceOnThreePathsWithALineMate) {
  SimProcess sim(R"(
devices:
  - { id: WELL, unit: 17, registers: [ { table: holding, address: 0, words: [5] } ] }
  - { id: MATE, unit: 18 }
serial: [ { id: COM1, devices: [WELL, MATE] } ]
tcp: [ { id: NET1, devices: [WELL] } ]
modems: [ { id: MODEM1, echo: false, dial_ms: 50, guard_ms: 100, numbers: { "5551234": WELL } } ]
)");
  auto serial = rtu_client(sim.serial("COM1"), 17, 250);
  auto net = tcp_client(sim.tcp_port("NET1"), 17, 250);
  ASSERT_TRUE(serial && net);
  uint16_t v;
  // Primary silent: serial fails, TCP answers, the line-mate on the same line is unaffected.
  ASSERT_TRUE(
      sim.cmd({{"cmd", "fault"}, {"device", "WELL"}, {"fault", "silence"}, {"via", "COM1"}})["ok"]);
  EXPECT_EQ(modbus_read_registers(serial.get(), 0, 1, &v), -1);
  EXPECT_EQ(modbus_read_registers(net.get(), 0, 1, &v), 1);
  modbus_set_slave(serial.get(), 18);
  EXPECT_EQ(modbus_read_registers(serial.get(), 0, 1, &v), 1);
  modbus_set_slave(serial.get(), 17);
  // Primary back.
  ASSERT_TRUE(sim.cmd({{"cmd", "clear"}, {"device", "WELL"}})["ok"]);
  modbus_flush(serial.get());
  EXPECT_EQ(modbus_read_registers(serial.get(), 0, 1, &v), 1);
  // A write over the failover path arrives exactly once, and is read back on the primary.
  ASSERT_EQ(modbus_write_register(net.get(), 0, 99), 1);
  EXPECT_EQ(modbus_read_registers(serial.get(), 0, 1, &v), 1);
  EXPECT_EQ(v, 99);
  auto w = sim.cmd({{"cmd", "writes"}, {"device", "WELL"}})["writes"];
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0]["via"], "NET1");
  // Modem path: the right number and the per-device init string.
  RawPort m(sim.modem("MODEM1"));
  m.write("AT&FE0X4\r");
  EXPECT_NE(m.read_until("OK\r\n", 1000).find("OK"), std::string::npos);
  m.write("ATDT5551234\r");
  EXPECT_NE(m.read_until("CONNECT", 1000).find("CONNECT"), std::string::npos);
  m.read_until("\r\n", 100);
  m.write(with_crc({17, 3, 0, 0, 0, 1}));
  EXPECT_EQ(hex(m.read_n(7, 1000)), hex(with_crc({17, 3, 2, 0, 99})));
  auto st = sim.stats();
  EXPECT_EQ(st["modems"]["MODEM1"]["inits"], json::array({"AT&FE0X4"}));
  EXPECT_EQ(st["modems"]["MODEM1"]["dialed"], json::array({"5551234"}));
  EXPECT_EQ(st["devices"]["WELL"]["requests_by_path"]["MODEM1"], 1);
  EXPECT_EQ(st["devices"]["MATE"]["requests"], 1);
}

namespace {
// Test-side Modbus ASCII framing: ':' + hex + LRC + CR LF.
std::string ascii_frame(const Bytes& b) {
  uint8_t sum = 0;
  std::string s = ":";
  char buf[4];
  for (auto x : b) {
    sum = static_cast<uint8_t>(sum + x);
    std::snprintf(buf, sizeof buf, "%02X", x);
    s += buf;
  }
  std::snprintf(buf, sizeof buf, "%02X", static_cast<uint8_t>(-sum));
  return s + buf + "\r\n";
}
}  // namespace

TEST(SimSerial, ModbusAsciiLine) {
  SimProcess sim(R"(
devices: [ { id: A, unit: 17, registers: [ { table: holding, address: 0, words: [255, 4660] } ] },
           { id: B, unit: 18 } ]
serial: [ { id: L, protocol: modbus-ascii, devices: [A, B] } ]
)");
  RawPort p(sim.serial("L"));
  p.write(ascii_frame({17, 3, 0, 0, 0, 2}));
  EXPECT_EQ(p.read_until("\r\n", 1000), ascii_frame({17, 3, 4, 0, 255, 0x12, 0x34}));
  // Bad LRC in the request: dropped, counted.
  std::string bad = ascii_frame({17, 3, 0, 0, 0, 2});
  bad[bad.size() - 3] = bad[bad.size() - 3] == '0' ? '1' : '0';
  p.write(bad);
  EXPECT_EQ(p.read_until("\r\n", 300), "");
  // Write, then faults re-framed in ASCII.
  p.write(ascii_frame({17, 6, 0, 1, 0, 7}));
  EXPECT_EQ(p.read_until("\r\n", 1000), ascii_frame({17, 6, 0, 1, 0, 7}));
  ASSERT_TRUE(
      sim.cmd({{"cmd", "fault"}, {"device", "A"}, {"fault", "bad_crc"}, {"count", 1}})["ok"]);
  p.write(ascii_frame({17, 3, 0, 1, 0, 1}));
  auto good = ascii_frame({17, 3, 2, 0, 7});
  auto got = p.read_until("\r\n", 1000);
  EXPECT_EQ(got.size(), good.size());
  EXPECT_NE(got, good) << "LRC corrupted";
  EXPECT_EQ(got.substr(0, got.size() - 4), good.substr(0, good.size() - 4)) << "only the LRC";
  ASSERT_TRUE(
      sim.cmd({{"cmd", "fault"}, {"device", "A"}, {"fault", "wrong_unit"}, {"count", 1}})["ok"]);
  p.write(ascii_frame({17, 3, 0, 1, 0, 1}));
  EXPECT_EQ(p.read_until("\r\n", 1000), ascii_frame({18, 3, 2, 0, 7}));
  ASSERT_TRUE(sim.cmd(
      {{"cmd", "fault"}, {"device", "A"}, {"fault", "wrong_function"}, {"count", 1}})["ok"]);
  p.write(ascii_frame({17, 3, 0, 1, 0, 1}));
  EXPECT_EQ(p.read_until("\r\n", 1000), ascii_frame({17, 4, 2, 0, 7})) << "LRC re-sealed";
  auto st = sim.stats();
  EXPECT_EQ(st["lines"]["L"]["crc_errors"], 1);
  EXPECT_EQ(st["devices"]["A"]["writes"].size(), 1u);
  EXPECT_EQ(st["devices"]["B"]["requests"], 0);
}

TEST(SimModem, IdleCallHangsUpAfterInactivity) {
  SimProcess sim(R"(
devices: [ { id: D, unit: 9 } ]
modems: [ { id: M, echo: false, dial_ms: 20, inactivity_ms: 300, numbers: { "7": D } } ]
)");
  RawPort m(sim.modem("M"));
  m.write("ATD7\r");
  ASSERT_NE(m.read_until("CONNECT 9600\r\n", 1000).find("CONNECT"), std::string::npos);
  sleep_ms(150);
  m.write(with_crc({9, 3, 0, 0, 0, 1}));  // traffic restarts the inactivity timer
  ASSERT_EQ(m.read_n(7, 1000).size(), 7u);
  auto t0 = Clock::now();
  EXPECT_EQ(m.read_until("NO CARRIER\r\n", 2000), "\r\nNO CARRIER\r\n");
  EXPECT_GE(ms_since(t0), 250.0);
  EXPECT_EQ(sim.stats()["modems"]["M"]["calls"][0]["end"], "inactivity");
}

// wrong_function: the sibling function of the same layout, the frame re-sealed (CRC on RTU,
// nothing to seal on MBAP), so only the function is wrong; an exception keeps its 0x80 bit.
TEST(SimFaults, WrongFunctionAnswersTheSiblingFunctionResealed) {
  SimProcess sim(kFleet);
  auto fault = [&](const char* device) {
    ASSERT_TRUE(sim.cmd(
        {{"cmd", "fault"}, {"device", device}, {"fault", "wrong_function"}, {"count", 1}})["ok"]);
  };
  RawPort p(sim.serial("L1"));
  fault("D2");
  p.write(with_crc({18, 3, 0, 0, 0, 2}));
  EXPECT_EQ(hex(p.read_n(9, 1000)), hex(with_crc({18, 4, 4, 0, 42, 0, 43})));
  p.write(with_crc({18, 3, 0, 0, 0, 2}));
  EXPECT_EQ(hex(p.read_n(9, 1000)), hex(with_crc({18, 3, 4, 0, 42, 0, 43}))) << "count 1";
  fault("D2");
  p.write(with_crc({18, 6, 0, 1, 0, 9}));
  EXPECT_EQ(hex(p.read_n(8, 1000)), hex(with_crc({18, 5, 0, 1, 0, 9})));

  int fd = tcp_connect(sim.tcp_port("T1"));
  ASSERT_GE(fd, 0);
  fault("D1");
  auto resp = tcp_exchange(fd, Bytes{0, 7, 0, 0, 0, 6, 17, 1, 0, 3, 0, 1}, 10, 1000);
  EXPECT_EQ(hex(resp), hex(Bytes{0, 7, 0, 0, 0, 4, 17, 2, 1, 1}));
  close(fd);
  auto st = sim.stats()["devices"];
  EXPECT_EQ(st["D2"]["faults"]["wrong_function"], 2);
  EXPECT_EQ(st["D1"]["faults"]["wrong_function"], 1);
}

TEST(SimSerial, NoiseIsDroppedAndTheLineResynchronisesAfterSilence) {
  SimProcess sim(R"(
devices: [ { id: D, unit: 1, registers: [ { table: holding, address: 0, words: [321] } ] } ]
serial: [ { id: L, gap_ms: 30, devices: [D] } ]
)");
  RawPort p(sim.serial("L"));
  p.write(Bytes{0x01, 0x03, 0x99});  // a torn frame: too short, then silence
  sleep_ms(100);
  p.write(Bytes{0x55, 0xAA, 0x00, 0xFF, 0x13, 0x37, 0x42, 0x42});  // noise: no length rule
  EXPECT_TRUE(p.read_for(100).empty());
  auto bad = with_crc({1, 3, 0, 0, 0, 1});
  bad.back() ^= 0xFF;
  p.write(bad);  // a known function with a bad CRC: dropped, then bytes until silence too
  sleep_ms(10);
  p.write(with_crc({1, 3, 0, 0, 0, 1}));
  EXPECT_TRUE(p.read_for(100).empty()) << "still inside the garbled burst";
  p.write(with_crc({1, 3, 0, 0, 0, 1}));
  EXPECT_EQ(hex(p.read_n(7, 1000)), hex(with_crc({1, 3, 2, 0x01, 0x41})));
  auto st = sim.stats()["lines"]["L"];
  EXPECT_EQ(st["framing_errors"], 2) << st;
  EXPECT_EQ(st["crc_errors"], 1) << st;
  EXPECT_EQ(st["requests"], 1) << st;
}

TEST(SimTcp, RefuseForADurationListensAgainByItself) {
  SimProcess sim(R"(
devices: [ { id: D, unit: 1 } ]
tcp: [ { id: T, devices: [D] } ]
)");
  int port = sim.tcp_port("T");
  ASSERT_TRUE(sim.cmd(
      {{"cmd", "fault"}, {"device", "D"}, {"fault", "refuse"}, {"duration_ms", 300}})["ok"]);
  EXPECT_FALSE(tcp_client(port, 1));
  sleep_ms(450);
  auto c = tcp_client(port, 1);
  ASSERT_TRUE(c);
  uint16_t v;
  EXPECT_EQ(modbus_read_registers(c.get(), 0, 1, &v), 1);
  EXPECT_EQ(sim.stats()["devices"]["D"]["active_faults"].size(), 0u);
}
