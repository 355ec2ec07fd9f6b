#include "transport/serial_link.hpp"

#include <algorithm>

#include "modbus/error.hpp"
#include "modbus/timing.hpp"
#include "transport/errors.hpp"

namespace pollux::transport {

modbus::Framing framing_for(config::Protocol p) {
  switch (p) {
    case config::Protocol::modbus_rtu:
      return modbus::Framing::rtu;
    case config::Protocol::modbus_ascii:
      return modbus::Framing::ascii;
    case config::Protocol::modbus_tcp:
      return modbus::Framing::tcp;
    case config::Protocol::modbus_rtu_over_tcp:
      return modbus::Framing::rtu_over_tcp;
  }
  return modbus::Framing::rtu;
}

SerialLink::SerialLink(boost::asio::io_context& io, runtime::Executor& ex, config::Channel cfg)
    : ex_(ex),
      cfg_(std::move(cfg)),
      port_(io, ex, cfg_, *this, "port"),
      framer_(modbus::make_framer(framing_for(cfg_.protocol))),
      tx_(*framer_) {
  if (cfg_.protocol == config::Protocol::modbus_rtu) silence_ = modbus::rtu_timing(cfg_.baud).t3_5;
  tx_.set_frame_gap(cfg_.protocol == config::Protocol::modbus_ascii ? modbus::kAsciiFrameGap
                                                                    : silence_);
}

// The OS hands a frame's bytes over in bursts, and this thread may run a few milliseconds late:
// a silence timer shorter than that would cut whole answers. t3.5 (under 2 ms above 19200 baud)
// stays the rule; the timer that observes it waits at least this long.
constexpr runtime::Duration kMinGapTimer = runtime::milliseconds(50);

// Armed once when a partial frame starts, not moved on every chunk (a frame arrives in many):
// when it fires it checks the silence since the last byte and waits out the rest if need be.
void SerialLink::arm_gap(runtime::Duration gap) {
  if (gap <= runtime::Duration::zero()) {
    if (gap_timer_) ex_.cancel(gap_timer_);
    gap_timer_ = {};
    return;
  }
  gap_ = std::max(gap, kMinGapTimer);
  if (gap_timer_) return;
  gap_timer_ = ex_.schedule_after(gap_, [this] { gap_elapsed(); });
}

void SerialLink::gap_elapsed() {
  gap_timer_ = {};
  if (!busy_ || !awaiting_) return;
  const auto quiet_until = last_activity_ + gap_;
  if (quiet_until > ex_.now()) {
    gap_timer_ = ex_.schedule_at(quiet_until, [this] { gap_elapsed(); });
    return;
  }
  // A stalled thread may run this timer before the read completion of bytes that arrived in
  // time: those bytes are no silence. Wait for them to be read (last_activity_ moves then).
  if (port_.input_waiting() > 0) {
    gap_timer_ = ex_.schedule_after(gap_, [this] { gap_elapsed(); });
    return;
  }
  handle(tx_.on_silence());
}

SerialLink::~SerialLink() {
  stop();
}

void SerialLink::on_port_status(LinkStatus s) {
  if (listener_) listener_->on_link_status(s);
}

void SerialLink::start() {
  port_.start();
}

void SerialLink::on_port_opened() {
  last_activity_ = ex_.now();
  framer_->reset();
}

void SerialLink::on_port_closed() {
  if (timer_) ex_.cancel(timer_);
  timer_ = {};
  arm_gap({});
}

void SerialLink::stop() {
  busy_ = false;  // no callbacks after stop
  awaiting_ = false;
  arm_gap({});
  port_.stop();
}

void SerialLink::set_enabled(bool enabled) {
  port_.set_enabled(enabled);
}

void SerialLink::fail_exchange(std::error_code ec) {
  if (busy_) complete(ec);
}

void SerialLink::on_port_bytes(std::span<const std::uint8_t> bytes) {
  bytes_in_ += bytes.size();
  last_activity_ = ex_.now();
  if (!busy_ || !awaiting_) return;  // stale bytes between exchanges: dropped by the flush
  handle(tx_.on_bytes(bytes));
}
void SerialLink::start_exchange(const Exchange& ex, std::uint64_t tag) {
  busy_ = true;
  awaiting_ = false;
  tag_ = tag;
  ex_req_ = ex;
  if (port_.status() != LinkStatus::ok) {
    const auto err = make_error_code(port_.status() == LinkStatus::disabled ? Errc::channel_disabled
                                                                            : Errc::channel_down);
    timer_ = ex_.schedule_after(runtime::Duration::zero(), [this, err] {
      timer_ = {};
      complete(err);
    });
    return;
  }
  // RTU needs t3.5 of silence on the line before a new frame.
  const auto ready_at = last_activity_ + silence_;
  if (ready_at > ex_.now()) {
    timer_ = ex_.schedule_at(ready_at, [this] {
      timer_ = {};
      send_now();
    });
    return;
  }
  timer_ = ex_.schedule_after(runtime::Duration::zero(), [this] {
    timer_ = {};
    send_now();
  });
}

void SerialLink::send_now() {
  if (!busy_) return;
  if (!port_.is_open()) {
    complete(make_error_code(Errc::channel_down));
    return;
  }
  port_.flush_input();
  ++flushed_;
  framer_->reset();
  handle(tx_.start(*ex_req_.request, ex_req_.target->unit, ex_req_.timeout));
}

void SerialLink::handle(const modbus::Action& a) {
  switch (a.kind) {
    case modbus::ActionKind::write: {
      bytes_out_ += a.bytes.size();
      awaiting_ = true;  // a fast answer may arrive before the write completion
      port_.write(boost::asio::buffer(a.bytes.data(), a.bytes.size()),
                  [this](const boost::system::error_code& ec) {
                    if (!busy_) return;
                    last_activity_ = ex_.now();
                    if (port_.io_failed(ec)) return;
                    if (!tx_.done()) handle(tx_.on_written());
                  });
      return;
    }
    case modbus::ActionKind::await_reply:
      if (timer_) ex_.cancel(timer_);
      timer_ = ex_.schedule_after(a.timeout, [this] {
        timer_ = {};
        if (busy_) handle(tx_.on_timeout());
      });
      return;
    case modbus::ActionKind::read_more:
      arm_gap(a.timeout);
      return;
    case modbus::ActionKind::done:
      complete(a.error);
      return;
  }
}

void SerialLink::complete(std::error_code ec) {
  if (!busy_) return;
  busy_ = false;
  awaiting_ = false;
  if (timer_) ex_.cancel(timer_);
  timer_ = {};
  arm_gap({});
  last_activity_ = ex_.now();
  ExchangeResult r;
  r.error = ec;
  if (!ec || ec.category() == modbus::exception_category()) r.response = &tx_.response();
  if (listener_) listener_->on_exchange_done(tag_, r);
}

std::vector<std::pair<std::string, std::uint64_t>> SerialLink::stats() const {
  return {{"opens", port_.opens()},
          {"open_failures", port_.open_failures()},
          {"port_lost", port_.lost()},
          {"bytes_in", bytes_in_},
          {"bytes_out", bytes_out_},
          {"frames", framer_->counters().frames},
          {"resyncs", framer_->counters().resyncs},
          {"foreign_unit_skipped", framer_->counters().foreign_unit_skipped}};
}

}  // namespace pollux::transport
