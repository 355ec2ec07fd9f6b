#include "transport/modem_link.hpp"

#include <boost/asio/write.hpp>

#include "modbus/error.hpp"
#include "runtime/logging.hpp"
#include "transport/errors.hpp"
#include "transport/serial_link.hpp"
#include "transport/serial_port.hpp"

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
      port_(io),
      framer_(modbus::make_framer(framing_for(cfg_.protocol))),
      tx_(*framer_),
      dialer_(dialer_settings(cfg_)),
      backoff_(runtime::milliseconds(250), runtime::seconds(5)),
      jitter_(std::hash<std::string>{}(cfg_.id)) {}

ModemLink::~ModemLink() {
  stop();
}

void ModemLink::set_status(LinkStatus s) {
  if (s == status_) return;
  status_ = s;
  if (listener_) listener_->on_link_status(s);
}

void ModemLink::start() {
  started_ = true;
  if (!cfg_.enabled) {
    set_status(LinkStatus::disabled);
    return;
  }
  open();
}

void ModemLink::open() {
  if (!started_ || !cfg_.enabled) return;
  if (auto ec = open_serial(port_, cfg_)) {
    ++open_failures_;
    if (backoff_.failures() == 0)
      runtime::channel_logger(cfg_.id)->warn("cannot open {}: {}", cfg_.port, ec.message());
    set_status(LinkStatus::down);
    schedule_reopen();
    return;
  }
  ++opens_;
  backoff_.reset();
  dialer_.reset();
  read_loop();
  set_status(LinkStatus::ok);
}

void ModemLink::schedule_reopen() {
  if (reopen_timer_) return;
  reopen_timer_ = ex_.schedule_after(backoff_.next(jitter_.next()), [this] {
    reopen_timer_ = {};
    open();
  });
}

void ModemLink::close() {
  boost::system::error_code ignored;
  if (port_.is_open()) {
    port_.cancel(ignored);
    port_.close(ignored);
  }
  reading_ = false;
  for (auto* t : {&reply_timer_, &dialer_timer_, &idle_timer_}) {
    if (*t) ex_.cancel(*t);
    *t = {};
  }
  dialer_.reset();
  line_.clear();
}

void ModemLink::stop() {
  started_ = false;
  if (reopen_timer_) ex_.cancel(reopen_timer_);
  reopen_timer_ = {};
  busy_ = false;
  awaiting_ = false;
  close();
}

void ModemLink::set_enabled(bool enabled) {
  if (enabled == cfg_.enabled) return;
  cfg_.enabled = enabled;
  if (!enabled) {
    if (reopen_timer_) ex_.cancel(reopen_timer_);
    reopen_timer_ = {};
    if (busy_) complete(make_error_code(Errc::channel_disabled));
    close();
    set_status(LinkStatus::disabled);
  } else if (started_) {
    backoff_.reset();
    open();
  }
}

bool ModemLink::can_start(const Target& t) const {
  if (status_ != LinkStatus::ok || busy_) return false;
  if (dialer_.state() == ModemDialer::State::idle) return true;
  return dialer_.state() == ModemDialer::State::connected && dialer_.phone() == t.phone;
}

std::string_view ModemLink::preferred_wire() const {
  if (dialer_.state() == ModemDialer::State::connected) return dialer_.phone();
  return {};
}

void ModemLink::read_loop() {
  if (reading_ || !port_.is_open()) return;
  reading_ = true;
  std::weak_ptr<int> life = life_;
  port_.async_read_some(asio::buffer(rx_),
                        [this, life](const boost::system::error_code& ec, std::size_t n) {
                          if (life.expired()) return;
                          reading_ = false;
                          if (ec) {
                            if (ec != asio::error::operation_aborted) port_lost(ec);
                            return;
                          }
                          on_bytes({rx_.data(), n});
                          read_loop();
                        });
}

void ModemLink::port_lost(std::error_code ec) {
  runtime::channel_logger(cfg_.id)->warn("modem port {} lost: {}", cfg_.port, ec.message());
  close();
  if (busy_) complete(make_error_code(Errc::channel_down));
  if (!cfg_.enabled || !started_) return;
  set_status(LinkStatus::down);
  schedule_reopen();
}

void ModemLink::on_bytes(std::span<const std::uint8_t> bytes) {
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
  std::weak_ptr<int> life = life_;
  asio::async_write(port_, asio::buffer(out_text_),
                    [this, life](const boost::system::error_code& ec, std::size_t) {
                      if (life.expired()) return;
                      if (ec && ec != asio::error::operation_aborted) port_lost(ec);
                    });
}

void ModemLink::start_exchange(const Exchange& ex, std::uint64_t tag) {
  busy_ = true;
  awaiting_ = false;
  tag_ = tag;
  ex_req_ = ex;
  if (idle_timer_) ex_.cancel(idle_timer_);
  idle_timer_ = {};
  if (status_ != LinkStatus::ok) {
    const auto err = make_error_code(status_ == LinkStatus::disabled ? Errc::channel_disabled
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
  flush_input(port_);
  framer_->reset();
  handle(tx_.start(*ex_req_.request, ex_req_.target->unit, ex_req_.timeout));
}

void ModemLink::handle(const modbus::Action& a) {
  switch (a.kind) {
    case modbus::ActionKind::write: {
      awaiting_ = true;
      std::weak_ptr<int> life = life_;
      asio::async_write(port_, asio::buffer(a.bytes.data(), a.bytes.size()),
                        [this, life](const boost::system::error_code& ec, std::size_t) {
                          if (life.expired() || !busy_) return;
                          if (ec) {
                            if (ec != asio::error::operation_aborted) port_lost(ec);
                            return;
                          }
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
          {"opens", opens_},
          {"open_failures", open_failures_},
          {"connected", dialer_.state() == ModemDialer::State::connected ? 1u : 0u}};
}

}  // namespace pollux::transport
