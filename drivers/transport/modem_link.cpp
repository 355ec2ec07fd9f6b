#include "transport/modem_link.hpp"

#include "runtime/logging.hpp"
#include "transport/errors.hpp"

namespace pollux::transport {

namespace asio = boost::asio;

namespace {
ModemDialer::Settings dialer_settings(const ModemSettings& settings) {
  ModemDialer::Settings s;
  s.dial_timeout = settings.dial_timeout;
  return s;
}
}  // namespace

ModemLink::ModemLink(asio::io_context& io, runtime::Executor& ex, ModemSettings settings)
    : PortLink(io, ex, settings.line, settings.framing, "modem port", this),
      ex_(ex),
      settings_(std::move(settings)),
      dialer_(dialer_settings(settings_)) {}

ModemLink::ModemLink(runtime::Executor& ex, ModemSettings settings,
                     std::unique_ptr<SerialWire> wire)
    : PortLink(ex, settings.line, settings.framing, std::move(wire), this),
      ex_(ex),
      settings_(std::move(settings)),
      dialer_(dialer_settings(settings_)) {}

ModemLink::~ModemLink() {
  stop();
}

void ModemLink::on_port_closed() {
  driver_.stop_timers();
  for (auto* t : {&dialer_timer_, &idle_timer_}) {
    if (*t) ex_.cancel(*t);
    *t = {};
  }
  dialer_.reset();
  line_.clear();
}

void ModemLink::stop() {
  stop_port();
}

bool ModemLink::can_start(const Target& t) const {
  if (port_->status() != LinkStatus::ok || driver_.busy()) return false;
  if (dialer_.state() == ModemDialer::State::idle) return true;
  return dialer_.state() == ModemDialer::State::connected && dialer_.phone() == t.phone;
}

std::string_view ModemLink::preferred_wire() const {
  if (dialer_.state() == ModemDialer::State::connected) return dialer_.phone();
  return {};
}

void ModemLink::on_port_bytes(std::span<const std::uint8_t> bytes) {
  if (dialer_.state() == ModemDialer::State::connected) {
    if (!carrier_lost(bytes)) driver_.on_bytes(bytes);
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

// A modem whose call drops says so in the data stream. Without noticing, the link would keep
// writing requests into a modem back in command mode until the idle hang-up, which never comes
// while polls keep the call busy: every message would time out (soak seed 11).
bool ModemLink::carrier_lost(std::span<const std::uint8_t> bytes) {
  static constexpr std::string_view kNoCarrier = "NO CARRIER";
  data_tail_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const bool lost = data_tail_.find(kNoCarrier) != std::string::npos;
  if (data_tail_.size() >= kNoCarrier.size())
    data_tail_.erase(0, data_tail_.size() - (kNoCarrier.size() - 1));
  if (!lost) return false;
  data_tail_.clear();
  ++carrier_losses_;
  runtime::channel_logger(settings_.line.id)->warn("call to {} lost: NO CARRIER", dialer_.phone());
  dialer_.reset();
  if (idle_timer_) ex_.cancel(idle_timer_);
  idle_timer_ = {};
  if (driver_.busy()) driver_.on_wire_error(make_error_code(Errc::carrier_lost));
  return true;
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
      runtime::channel_logger(settings_.line.id)->info("connected to {}", dialer_.phone());
      data_tail_.clear();
      driver_.on_wire_opened();
      driver_.send();
      return;
    case ModemDialer::Outcome::failed: {
      ++dial_failures_;
      const Target* target = driver_.exchange().target;
      runtime::channel_logger(settings_.line.id)
          ->warn("dial {} failed: {}", target ? target->phone : "", step.reason);
      driver_.on_wire_error(make_error_code(Errc::dial_failed));
      return;
    }
    case ModemDialer::Outcome::hung_up:
      ++hangups_;
      runtime::channel_logger(settings_.line.id)
          ->info("hung up{}{}", step.reason.empty() ? "" : ": ", step.reason);
      if (listener_) listener_->on_link_ready();
      return;
  }
}

void ModemLink::write_text(const std::string& text) {
  if (!port_->is_open()) return;
  out_text_ = text;
  port_->write_command({reinterpret_cast<const std::uint8_t*>(out_text_.data()), out_text_.size()});
}

void ModemLink::start_exchange(const Exchange& ex, std::uint64_t tag) {
  driver_.begin(ex, tag);
  if (idle_timer_) ex_.cancel(idle_timer_);
  idle_timer_ = {};
  if (fail_unless_ok()) return;
  if (dialer_.state() == ModemDialer::State::connected && dialer_.phone() == ex.target->phone)
    return driver_.send_later();
  ++calls_;
  const std::string& init = ex.target->init.empty() ? settings_.init : ex.target->init;
  line_.clear();
  perform(dialer_.dial(init, ex.target->phone));
}

void ModemLink::arm_idle() {
  if (idle_timer_) ex_.cancel(idle_timer_);
  idle_timer_ = {};
  if (dialer_.state() != ModemDialer::State::connected) return;
  idle_timer_ = ex_.schedule_after(settings_.idle_hangup, [this] {
    idle_timer_ = {};
    if (!driver_.busy()) perform(dialer_.hang_up());
  });
}

std::vector<std::pair<std::string, std::uint64_t>> ModemLink::stats() const {
  return {{"calls", calls_},
          {"dial_failures", dial_failures_},
          {"hangups", hangups_},
          {"carrier_losses", carrier_losses_},
          {"opens", port_->opens()},
          {"open_failures", port_->open_failures()},
          {"connected", dialer_.state() == ModemDialer::State::connected ? 1u : 0u}};
}

}  // namespace pollux::transport
