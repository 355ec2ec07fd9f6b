#include "transport/modem_link.hpp"

#include "modbus/error.hpp"
#include "runtime/logging.hpp"
#include "transport/errors.hpp"
#include "transport/serial_link.hpp"

namespace pollux::transport {

namespace asio = boost::asio;

namespace {
ModemDialer::Settings dialer_settings(const config::Channel& cfg) {
  ModemDialer::Settings s;
  s.dial_timeout = runtime::from_seconds(cfg.dial_timeout_s);
  return s;
}
}  // namespace

ModemLink::ModemLink(asio::io_context& io, runtime::Executor& ex, config::Channel cfg)
    : ex_(ex),
      cfg_(std::move(cfg)),
      port_(io, ex, cfg_, *this, "modem port"),
      framer_(modbus::make_framer(framing_for(cfg_.protocol))),
      tx_(*framer_),
      dialer_(dialer_settings(cfg_)) {}

ModemLink::~ModemLink() {
  stop();
}

void ModemLink::on_port_status(LinkStatus s) {
  if (listener_) listener_->on_link_status(s);
}

void ModemLink::start() {
  port_.start();
}

void ModemLink::on_port_opened() {
  dialer_.reset();
}

void ModemLink::on_port_closed() {
  for (auto* t : {&reply_timer_, &dialer_timer_, &idle_timer_}) {
    if (*t) ex_.cancel(*t);
    *t = {};
  }
  dialer_.reset();
  line_.clear();
}

void ModemLink::stop() {
  busy_ = false;
  awaiting_ = false;
  port_.stop();
}

void ModemLink::set_enabled(bool enabled) {
  port_.set_enabled(enabled);
}

void ModemLink::fail_exchange(std::error_code ec) {
  if (busy_) complete(ec);
}

bool ModemLink::can_start(const Target& t) const {
  if (port_.status() != LinkStatus::ok || busy_) return false;
  if (dialer_.state() == ModemDialer::State::idle) return true;
  return dialer_.state() == ModemDialer::State::connected && dialer_.phone() == t.phone;
}

std::string_view ModemLink::preferred_wire() const {
  if (dialer_.state() == ModemDialer::State::connected) return dialer_.phone();
  return {};
}

void ModemLink::on_port_bytes(std::span<const std::uint8_t> bytes) {
  if (dialer_.state() == ModemDialer::State::connected) {
    if (busy_ && awaiting_) handle(tx_.on_bytes(bytes));
    return;
  }
  if (!dialer_.command_mode()) return;
  for (std::uint8_t b : bytes) {
    if (b == '\r' || b == '\n') {
      if (!line_.empty()) {
        const std::string line = std::move(line_);
        line_.clear();
        perform(dialer_.on_line(line));
      }
    } else if (line_.size() < 256) {
      line_.push_back(static_cast<char>(b));
    }
  }
}

void ModemLink::perform(const ModemDialer::Step& step) {
  if (!step.send.empty()) write_text(step.send);
  if (step.timer) {
    if (dialer_timer_) ex_.cancel(dialer_timer_);
    dialer_timer_ = {};
    if (*step.timer > runtime::Duration::zero()) {
      dialer_timer_ = ex_.schedule_after(*step.timer, [this] {
        dialer_timer_ = {};
        perform(dialer_.on_timer());
      });
    }
  }
  switch (step.outcome) {
    case ModemDialer::Outcome::none:
      return;
    case ModemDialer::Outcome::connected:
      runtime::channel_logger(cfg_.id)->info("connected to {}", dialer_.phone());
      framer_->reset();
      if (busy_) send_frame();
      return;
    case ModemDialer::Outcome::failed:
      ++dial_failures_;
      runtime::channel_logger(cfg_.id)->warn(
          "dial {} failed: {}", ex_req_.target ? ex_req_.target->phone : "", step.reason);
      if (busy_) complete(make_error_code(Errc::dial_failed));
      return;
    case ModemDialer::Outcome::hung_up:
      ++hangups_;
      runtime::channel_logger(cfg_.id)->info("hung up{}{}", step.reason.empty() ? "" : ": ",
                                             step.reason);
      if (listener_) listener_->on_link_ready();
      return;
  }
}

void ModemLink::write_text(const std::string& text) {
  if (!port_.is_open()) return;
  out_text_ = text;
  port_.write(asio::buffer(out_text_),
              [this](const boost::system::error_code& ec) { port_.io_failed(ec); });
}

void ModemLink::start_exchange(const Exchange& ex, std::uint64_t tag) {
  busy_ = true;
  awaiting_ = false;
  tag_ = tag;
  ex_req_ = ex;
  if (idle_timer_) ex_.cancel(idle_timer_);
  idle_timer_ = {};
  if (port_.status() != LinkStatus::ok) {
    const auto err = make_error_code(port_.status() == LinkStatus::disabled ? Errc::channel_disabled
                                                                            : Errc::channel_down);
    reply_timer_ = ex_.schedule_after(runtime::Duration::zero(), [this, err] {
      reply_timer_ = {};
      complete(err);
    });
    return;
  }
  if (dialer_.state() == ModemDialer::State::connected && dialer_.phone() == ex.target->phone) {
    reply_timer_ = ex_.schedule_after(runtime::Duration::zero(), [this] {
      reply_timer_ = {};
      send_frame();
    });
    return;
  }
  ++calls_;
  const std::string& init = ex.target->init.empty() ? cfg_.init : ex.target->init;
  line_.clear();
  perform(dialer_.dial(init, ex.target->phone));
}

void ModemLink::send_frame() {
  if (!busy_) return;
  port_.flush_input();
  framer_->reset();
  handle(tx_.start(*ex_req_.request, ex_req_.target->unit, ex_req_.timeout));
}

void ModemLink::handle(const modbus::Action& a) {
  switch (a.kind) {
    case modbus::ActionKind::write: {
      awaiting_ = true;
      port_.write(asio::buffer(a.bytes.data(), a.bytes.size()),
                  [this](const boost::system::error_code& ec) {
                    if (!busy_) return;
                    if (port_.io_failed(ec)) return;
                    if (!tx_.done()) handle(tx_.on_written());
                  });
      return;
    }
    case modbus::ActionKind::await_reply:
      if (reply_timer_) ex_.cancel(reply_timer_);
      reply_timer_ = ex_.schedule_after(a.timeout, [this] {
        reply_timer_ = {};
        if (busy_) handle(tx_.on_timeout());
      });
      return;
    case modbus::ActionKind::read_more:
      return;
    case modbus::ActionKind::done:
      complete(a.error);
      return;
  }
}

void ModemLink::arm_idle() {
  if (idle_timer_) ex_.cancel(idle_timer_);
  idle_timer_ = {};
  if (dialer_.state() != ModemDialer::State::connected) return;
  idle_timer_ = ex_.schedule_after(runtime::from_seconds(cfg_.idle_hangup_s), [this] {
    idle_timer_ = {};
    if (!busy_) perform(dialer_.hang_up());
  });
}

void ModemLink::complete(std::error_code ec) {
  if (!busy_) return;
  busy_ = false;
  awaiting_ = false;
  if (reply_timer_) ex_.cancel(reply_timer_);
  reply_timer_ = {};
  arm_idle();
  ExchangeResult r;
  r.error = ec;
  if (!ec || ec.category() == modbus::exception_category()) r.response = &tx_.response();
  if (listener_) listener_->on_exchange_done(tag_, r);
}

std::vector<std::pair<std::string, std::uint64_t>> ModemLink::stats() const {
  return {{"calls", calls_},
          {"dial_failures", dial_failures_},
          {"hangups", hangups_},
          {"opens", port_.opens()},
          {"open_failures", port_.open_failures()},
          {"connected", dialer_.state() == ModemDialer::State::connected ? 1u : 0u}};
}

}  // namespace pollux::transport
