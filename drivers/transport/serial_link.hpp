// The serial transport (engine issue item 3): one Modbus RTU/ASCII line on a serial port.
//
// One exchange at a time (a serial line never has two messages in flight). Before each request
// the stale input is flushed and, for RTU, the t3.5 inter-frame silence since the last byte on
// the line is respected (modbus::rtu_timing). The exchange itself is the codec's sans-I/O
// modbus::Transaction, which also decides why a failed attempt failed (api.md "How a failed
// attempt is classified"); the link arms the frame-gap timer it asks for (t3.5 for RTU, 1 s
// inside an ASCII frame) so an answer cut short ends the attempt as a framing error at once
// rather than at message_timeout_ms. A port that fails to open or vanishes (read error, e.g. the
// pty went away) marks the channel down and is reopened with backoff (failover.md "usable"): that
// port keeping is the SerialPortKeeper the modem link shares.
#pragma once

#include <memory>

#include <boost/asio/io_context.hpp>

#include "config/model.hpp"
#include "modbus/framer.hpp"
#include "modbus/transaction.hpp"
#include "runtime/executor.hpp"
#include "transport/link.hpp"
#include "transport/serial_port_keeper.hpp"

namespace pollux::transport {

modbus::Framing framing_for(config::Protocol p);

class SerialLink final : public Link, private SerialPortKeeper::Owner {
 public:
  SerialLink(boost::asio::io_context& io, runtime::Executor& ex, config::Channel cfg);
  ~SerialLink() override;

  void start() override;
  void stop() override;
  void set_enabled(bool enabled) override;
  LinkStatus status() const override { return port_.status(); }
  bool can_start(const Target&) const override {
    return port_.status() == LinkStatus::ok && !busy_;
  }
  void start_exchange(const Exchange& ex, std::uint64_t tag) override;
  std::vector<std::pair<std::string, std::uint64_t>> stats() const override;

 private:
  // SerialPortKeeper::Owner
  void on_port_opened() override;
  void on_port_bytes(std::span<const std::uint8_t> bytes) override;
  void on_port_closed() override;
  void fail_exchange(std::error_code ec) override;
  void on_port_status(LinkStatus s) override;

  void send_now();
  void handle(const modbus::Action& a);
  void complete(std::error_code ec);
  void arm_gap(runtime::Duration gap);
  void gap_elapsed();

  runtime::Executor& ex_;
  config::Channel cfg_;
  SerialPortKeeper port_;
  std::unique_ptr<modbus::Framer> framer_;
  modbus::Transaction tx_;
  runtime::Duration silence_{};
  bool busy_ = false;
  bool awaiting_ = false;
  std::uint64_t tag_ = 0;
  Exchange ex_req_;
  runtime::TimePoint last_activity_{};
  runtime::TimerId timer_;      // reply timeout or pre-send silence
  runtime::TimerId gap_timer_;  // the silence that ends a partial answer
  runtime::Duration gap_{};     // how long that silence is (the timer's wait, floored)
  std::uint64_t bytes_in_ = 0, bytes_out_ = 0, flushed_ = 0;
};

}  // namespace pollux::transport
