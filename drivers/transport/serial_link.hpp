// The serial transport (engine issue item 3): one Modbus RTU/ASCII line on a serial port.
//
// One exchange at a time (a serial line never has two messages in flight): the port plus one
// ExchangeDriver (port_link.hpp; on a real port the SerialPortKeeper reopens it with backoff
// after a failure and reports the channel down meanwhile, failover.md "usable"). Before each
// request the stale input is flushed and, for RTU, the t3.5 inter-frame silence since the last
// byte on the line is respected (modbus::rtu_timing); an answer cut short ends at the frame gap
// (t3.5 for RTU, 1 s inside an ASCII frame) as a framing error rather than at
// message_timeout_ms (exchange_driver.hpp).
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>

#include "runtime/executor.hpp"
#include "transport/port_link.hpp"
#include "transport/settings.hpp"

namespace pollux::transport {

class SerialLink final : public PortLink {
 public:
  // On the real port `settings.line.port`.
  SerialLink(boost::asio::io_context& io, runtime::Executor& ex, const SerialSettings& settings);
  // On `wire` (tests: a fake port).
  SerialLink(runtime::Executor& ex, const SerialSettings& settings,
             std::unique_ptr<SerialWire> wire);
  ~SerialLink() override;

  void stop() override;
  bool can_start(const Target&) const override {
    return port_->status() == LinkStatus::ok && !driver_.busy();
  }
  void start_exchange(const Exchange& ex, std::uint64_t tag) override;
  std::vector<std::pair<std::string, std::uint64_t>> stats() const override;

 private:
  void set_line_timing(modbus::Framing framing);
  // SerialWire::Owner
  void on_port_opened() override { driver_.on_wire_opened(); }
  void on_port_bytes(std::span<const std::uint8_t> bytes) override { driver_.on_bytes(bytes); }
  void on_port_closed() override { driver_.stop_timers(); }
};

}  // namespace pollux::transport
