// The modem transport (engine issue item 3): Modbus RTU/ASCII over dial-up calls on a serial
// port, driven by the pure ModemDialer.
//
// One call at a time per modem line. An exchange for a device whose phone is not the current
// call dials first (init -> OK, ATDT -> CONNECT within dial_timeout_s); a dial failure fails
// that exchange (a failed message for the device). While a call is up the link prefers that
// call's work (preferred_wire), so the runner runs every queued message of the connected device
// before anyone else's; after idle_hangup_s without an exchange the link hangs up
// (1 s silence, +++, 1 s silence, OK, ATH, OK). Port handling (down, reopen with backoff) is the
// serial link's: the shared SerialPortKeeper.
//
// A failed attempt is classified by the codec's Transaction as on a serial line (api.md "How a
// failed attempt is classified": bytes that make no answer are a CRC or framing error, never a
// timeout). No frame-gap timer: a modem's error correction repackages the bytes of a call, so
// character timing does not survive it; an answer cut short is found at message_timeout_ms.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "config/model.hpp"
#include "modbus/framer.hpp"
#include "modbus/transaction.hpp"
#include "runtime/executor.hpp"
#include "transport/link.hpp"
#include "transport/modem_dialer.hpp"
#include "transport/serial_port_keeper.hpp"

namespace pollux::transport {

class ModemLink final : public Link, private SerialPortKeeper::Owner {
 public:
  ModemLink(boost::asio::io_context& io, runtime::Executor& ex, config::Channel cfg);
  ~ModemLink() override;

  void start() override;
  void stop() override;
  void set_enabled(bool enabled) override;
  LinkStatus status() const override { return port_.status(); }
  bool can_start(const Target& t) const override;
  std::string_view preferred_wire() const override;
  void start_exchange(const Exchange& ex, std::uint64_t tag) override;
  std::vector<std::pair<std::string, std::uint64_t>> stats() const override;

 private:
  // SerialPortKeeper::Owner
  void on_port_opened() override;
  void on_port_bytes(std::span<const std::uint8_t> bytes) override;
  void on_port_closed() override;
  void fail_exchange(std::error_code ec) override;
  void on_port_status(LinkStatus s) override;

  void perform(const ModemDialer::Step& step);
  void write_text(const std::string& text);
  void send_frame();
  void handle(const modbus::Action& a);
  void complete(std::error_code ec);
  void arm_idle();

  runtime::Executor& ex_;
  config::Channel cfg_;
  SerialPortKeeper port_;
  std::unique_ptr<modbus::Framer> framer_;
  modbus::Transaction tx_;
  ModemDialer dialer_;
  bool busy_ = false;
  bool awaiting_ = false;
  std::uint64_t tag_ = 0;
  Exchange ex_req_;
  std::string line_;      // answer line being assembled in command mode
  std::string out_text_;  // AT text being written
  runtime::TimerId reply_timer_;
  runtime::TimerId dialer_timer_;
  runtime::TimerId idle_timer_;
  std::uint64_t calls_ = 0, dial_failures_ = 0, hangups_ = 0;
};

}  // namespace pollux::transport
