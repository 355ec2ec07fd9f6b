// A scripted transport for unit tests of the channel runner and the engine: no I/O, time from
// the (manual) executor. Each exchange is answered by the next scripted reply, else by the
// responder (default: every register reads its own address, every bit is ON). Records what
// was sent and when, and the largest number of exchanges ever in flight at once, so tests can
// assert "never two messages in flight on a serial line".
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "modbus/pdu.hpp"
#include "runtime/executor.hpp"
#include "transport/link.hpp"

namespace pollux::testlib {

struct FakeReply {
  enum class Kind { normal, exception, error, silent } kind = Kind::normal;
  std::vector<std::uint16_t> data;  // normal reads: one entry per register/bit (default: auto)
  std::uint8_t exception = 2;
  std::error_code error;  // kind error: reported after `latency`
  runtime::Duration latency = runtime::milliseconds(10);

  static FakeReply ok(std::vector<std::uint16_t> d = {}) {
    FakeReply r;
    r.data = std::move(d);
    return r;
  }
  static FakeReply exception_code(std::uint8_t code) {
    FakeReply r;
    r.kind = Kind::exception;
    r.exception = code;
    return r;
  }
  static FakeReply fail(std::error_code ec) {
    FakeReply r;
    r.kind = Kind::error;
    r.error = ec;
    return r;
  }
  // No answer: times out after the exchange's timeout.
  static FakeReply silent() {
    FakeReply r;
    r.kind = Kind::silent;
    return r;
  }
};

struct SentExchange {
  std::uint8_t unit = 0;
  std::string wire;
  modbus::Request request;
  runtime::TimePoint at{};
};

class FakeLink final : public transport::Link {
 public:
  explicit FakeLink(runtime::Executor& ex, bool concurrent = false)
      : ex_(ex), concurrent_(concurrent) {}
  ~FakeLink() override { stop(); }

  void start() override { started_ = true; }
  void stop() override;
  void set_enabled(bool enabled) override {
    set_status(enabled ? transport::LinkStatus::ok : transport::LinkStatus::disabled);
  }
  transport::LinkStatus status() const override { return status_; }
  bool can_start(const transport::Target& t) const override;
  bool concurrent() const override { return concurrent_; }
  void start_exchange(const transport::Exchange& ex, std::uint64_t tag) override;
  std::vector<std::pair<std::string, std::uint64_t>> stats() const override {
    return {{"exchanges", sent.size()}};
  }

  // Test controls.
  void set_status(transport::LinkStatus s);
  std::deque<FakeReply> script;                             // consumed first
  std::map<int, std::deque<FakeReply>> unit_script;         // per unit, before `script`
  std::function<FakeReply(const SentExchange&)> responder;  // then this; else default
  std::vector<SentExchange> sent;
  std::size_t in_flight = 0;
  std::size_t max_in_flight = 0;

 private:
  struct Pending {
    std::uint64_t tag = 0;
    std::string wire;
    runtime::TimerId timer;
    modbus::Request request;
    modbus::PduBuffer pdu;
    modbus::ResponseView view;
    std::error_code error;
  };
  FakeReply next_reply(const SentExchange& s);
  void finish(std::uint64_t key);

  runtime::Executor& ex_;
  bool concurrent_;
  bool started_ = false;
  transport::LinkStatus status_ = transport::LinkStatus::ok;
  std::map<std::uint64_t, Pending> pending_;
  std::uint64_t next_key_ = 1;
};

}  // namespace pollux::testlib
