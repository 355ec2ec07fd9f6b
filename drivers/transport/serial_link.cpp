#include "transport/serial_link.hpp"

#include <boost/asio/write.hpp>

#include "modbus/error.hpp"
#include "modbus/timing.hpp"
#include "runtime/logging.hpp"
#include "transport/errors.hpp"
#include "transport/serial_port.hpp"

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
      port_(io),
      framer_(modbus::make_framer(framing_for(cfg_.protocol))),
      tx_(*framer_),
      backoff_(runtime::milliseconds(250), runtime::seconds(5)),
      jitter_(std::hash<std::string>{}(cfg_.id)) {
  if (cfg_.protocol == config::Protocol::modbus_rtu) silence_ = modbus::rtu_timing(cfg_.baud).t3_5;
}

SerialLink::~SerialLink() {
  stop();
}

void SerialLink::set_status(LinkStatus s) {
  if (s == status_) return;
  status_ = s;
  if (listener_) listener_->on_link_status(s);
}

void SerialLink::start() {
  started_ = true;
  if (!cfg_.enabled) {
    set_status(LinkStatus::disabled);
    return;
  }
  open();
}

void SerialLink::open() {
  if (!started_ || !cfg_.enabled) return;
  auto ec = open_serial(port_, cfg_);
  if (ec) {
    ++open_failures_;
    if (backoff_.failures() == 0)
      runtime::channel_logger(cfg_.id)->warn("cannot open {}: {}", cfg_.port, ec.message());
    set_status(LinkStatus::down);
    schedule_reopen();
    return;
  }
  ++opens_;
  backoff_.reset();
  last_activity_ = ex_.now();
  framer_->reset();
  read_loop();
  set_status(LinkStatus::ok);
}

void SerialLink::schedule_reopen() {
  if (reopen_timer_) return;
  reopen_timer_ = ex_.schedule_after(backoff_.next(jitter_.next()), [this] {
    reopen_timer_ = {};
    open();
  });
}

void SerialLink::close() {
  boost::system::error_code ignored;
  if (port_.is_open()) {
    port_.cancel(ignored);
    port_.close(ignored);
  }
  reading_ = false;
  if (timer_) ex_.cancel(timer_);
  timer_ = {};
}

void SerialLink::stop() {
  started_ = false;
  if (reopen_timer_) ex_.cancel(reopen_timer_);
  reopen_timer_ = {};
  busy_ = false;  // no callbacks after stop
  awaiting_ = false;
  close();
}

void SerialLink::set_enabled(bool enabled) {
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

void SerialLink::read_loop() {
  if (reading_ || !port_.is_open()) return;
  reading_ = true;
  std::weak_ptr<int> life = life_;
  port_.async_read_some(boost::asio::buffer(rx_),
                        [this, life](const boost::system::error_code& ec, std::size_t n) {
                          if (life.expired()) return;
                          reading_ = false;
                          if (ec) {
                            if (ec != boost::asio::error::operation_aborted) port_lost(ec);
                            return;
                          }
                          bytes_in_ += n;
                          last_activity_ = ex_.now();
                          on_bytes({rx_.data(), n});
                          read_loop();
                        });
}

void SerialLink::port_lost(std::error_code ec) {
  ++port_lost_;
  runtime::channel_logger(cfg_.id)->warn("port {} lost: {}", cfg_.port, ec.message());
  close();
  if (busy_) complete(make_error_code(Errc::channel_down));
  if (!cfg_.enabled || !started_) return;
  set_status(LinkStatus::down);
  schedule_reopen();
}

void SerialLink::on_bytes(std::span<const std::uint8_t> bytes) {
  if (!busy_ || !awaiting_) return;  // stale bytes between exchanges: dropped by the flush
  handle(tx_.on_bytes(bytes));
}

void SerialLink::start_exchange(const Exchange& ex, std::uint64_t tag) {
  busy_ = true;
  awaiting_ = false;
  tag_ = tag;
  ex_req_ = ex;
  if (status_ != LinkStatus::ok) {
    const auto err = make_error_code(status_ == LinkStatus::disabled ? Errc::channel_disabled
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
  if (port_.is_open()) {
    flush_input(port_);
    ++flushed_;
  }
  framer_->reset();
  handle(tx_.start(*ex_req_.request, ex_req_.target->unit, ex_req_.timeout));
}

void SerialLink::handle(const modbus::Action& a) {
  switch (a.kind) {
    case modbus::ActionKind::write: {
      bytes_out_ += a.bytes.size();
      awaiting_ = true;  // a fast answer may arrive before the write completion
      std::weak_ptr<int> life = life_;
      boost::asio::async_write(port_, boost::asio::buffer(a.bytes.data(), a.bytes.size()),
                               [this, life](const boost::system::error_code& ec, std::size_t) {
                                 if (life.expired() || !busy_) return;
                                 last_activity_ = ex_.now();
                                 if (ec) {
                                   if (ec != boost::asio::error::operation_aborted) port_lost(ec);
                                   return;
                                 }
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
  last_activity_ = ex_.now();
  ExchangeResult r;
  r.error = ec;
  if (!ec || ec.category() == modbus::exception_category()) r.response = &tx_.response();
  if (listener_) listener_->on_exchange_done(tag_, r);
}

std::vector<std::pair<std::string, std::uint64_t>> SerialLink::stats() const {
  return {{"opens", opens_},
          {"open_failures", open_failures_},
          {"port_lost", port_lost_},
          {"bytes_in", bytes_in_},
          {"bytes_out", bytes_out_},
          {"frames", framer_->counters().frames},
          {"resyncs", framer_->counters().resyncs},
          {"foreign_unit_skipped", framer_->counters().foreign_unit_skipped}};
}

}  // namespace pollux::transport
