#include "transport/serial_link.hpp"

#include "modbus/timing.hpp"

namespace pollux::transport {

SerialLink::SerialLink(boost::asio::io_context& io, runtime::Executor& ex,
                       const SerialSettings& settings)
    : PortLink(io, ex, settings.line, settings.framing, "port", nullptr) {
  set_line_timing(settings.framing);
}

SerialLink::SerialLink(runtime::Executor& ex, const SerialSettings& settings,
                       std::unique_ptr<SerialWire> wire)
    : PortLink(ex, settings.line, settings.framing, std::move(wire), nullptr) {
  set_line_timing(settings.framing);
}

void SerialLink::set_line_timing(modbus::Framing framing) {
  const runtime::Duration silence =
      framing == modbus::Framing::rtu ? modbus::rtu_timing(line_.baud).t3_5 : runtime::Duration{};
  driver_.set_line_timing(silence,
                          framing == modbus::Framing::ascii ? modbus::kAsciiFrameGap : silence);
}

SerialLink::~SerialLink() {
  stop();
}

void SerialLink::stop() {
  stop_port();  // no callbacks after stop
}

void SerialLink::start_exchange(const Exchange& ex, std::uint64_t tag) {
  driver_.begin(ex, tag);
  if (fail_unless_ok()) return;
  driver_.send_later();
}

std::vector<std::pair<std::string, std::uint64_t>> SerialLink::stats() const {
  const auto& framer = driver_.framer().counters();
  return {{"opens", port_->opens()},         {"open_failures", port_->open_failures()},
          {"port_lost", port_->lost()},      {"bytes_in", port_->bytes_in()},
          {"bytes_out", port_->bytes_out()}, {"frames", framer.frames},
          {"resyncs", framer.resyncs},       {"foreign_unit_skipped", framer.foreign_unit_skipped}};
}

}  // namespace pollux::transport
