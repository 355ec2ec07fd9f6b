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
// The exchange itself is an ExchangeDriver over the port, as on a serial line: a failed attempt
// is classified as there (api.md "How a failed attempt is classified": bytes that make no
// answer are a CRC or framing error, never a timeout). No frame-gap timer: a modem's error
// correction repackages the bytes of a call, so character timing does not survive it; an answer cut
// short is found at message_timeout_ms.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "runtime/executor.hpp"
#include "transport/exchange_driver.hpp"
#include "transport/modem_dialer.hpp"
#include "transport/port_link.hpp"
#include "transport/settings.hpp"

namespace pollux::transport {

class ModemLink final : public PortLink, private ExchangeDriver::Hooks {
 public:
  // On the real port `settings.line.port`.
  ModemLink(boost::asio::io_context& io, runtime::Executor& ex, ModemSettings settings);
  // On `wire` (tests: a fake port).
  ModemLink(runtime::Executor& ex, ModemSettings settings, std::unique_ptr<SerialWire> wire);
  ~ModemLink() override;

  void stop() override;
  bool can_start(const Target& t) const override;
  std::string_view preferred_wire() const override;
  void start_exchange(const Exchange& ex, std::uint64_t tag) override;
  std::vector<std::pair<std::string, std::uint64_t>> stats() const override;

 private:
  // SerialWire::Owner
  void on_port_opened() override { dialer_.reset(); }
  void on_port_bytes(std::span<const std::uint8_t> bytes) override;
  void on_port_closed() override;
  // ExchangeDriver::Hooks: a call left idle hangs up after idle_hangup_s.
  void on_exchange_over() override { arm_idle(); }

  void perform(const ModemDialer::Step& step);
  void write_text(const std::string& text);
  void arm_idle();
  // Whether the data stream says the call dropped ("NO CARRIER"); then the call is forgotten
  // and the exchange in flight fails, so the next one dials again.
  bool carrier_lost(std::span<const std::uint8_t> bytes);

  runtime::Executor& ex_;
  ModemSettings settings_;
  ModemDialer dialer_;
  std::string line_;       // answer line being assembled in command mode
  std::string out_text_;   // AT text being written
  std::string data_tail_;  // the last bytes of the call's data, for a NO CARRIER split in two
  runtime::TimerId dialer_timer_;
  runtime::TimerId idle_timer_;
  std::uint64_t calls_ = 0, dial_failures_ = 0, hangups_ = 0, carrier_losses_ = 0;
};

}  // namespace pollux::transport
