#include "transport/serial_port_keeper.hpp"

#include <functional>
#include <string>

#include <boost/asio/write.hpp>

#include "runtime/logging.hpp"
#include "transport/errors.hpp"
#include "transport/serial_port.hpp"

namespace pollux::transport {

SerialPortKeeper::SerialPortKeeper(boost::asio::io_context& io, runtime::Executor& ex,
                                   const SerialLineSettings& settings, std::string_view what)
    : ex_(ex),
      settings_(settings),
      what_(what),
      port_(io),
      enabled_(settings.enabled),
      backoff_(runtime::milliseconds(250), runtime::seconds(5)),
      jitter_(std::hash<std::string>{}(settings.id)) {}

void SerialPortKeeper::set_status(LinkStatus s) {
  if (s == status_) return;
  status_ = s;
  owner_->on_port_status(s);
}

void SerialPortKeeper::start() {
  started_ = true;
  if (!enabled_) {
    set_status(LinkStatus::disabled);
    return;
  }
  open();
}

void SerialPortKeeper::open() {
  if (!started_ || !enabled_) return;
  if (auto ec = open_serial(port_, settings_)) {
    ++open_failures_;
    // Once per outage: a port that stays missing is retried every few seconds.
    if (backoff_.failures() == 0)
      runtime::channel_logger(settings_.id)
          ->warn("cannot open {}: {}", settings_.port, ec.message());
    set_status(LinkStatus::down);
    schedule_reopen();
    return;
  }
  ++opens_;
  backoff_.reset();
  owner_->on_port_opened();
  read_loop();
  set_status(LinkStatus::ok);
}

void SerialPortKeeper::schedule_reopen() {
  if (reopen_timer_) return;
  reopen_timer_ = ex_.schedule_after(backoff_.next(jitter_.next()), [this] {
    reopen_timer_ = {};
    open();
  });
}

void SerialPortKeeper::close() {
  boost::system::error_code ignored;
  if (port_.is_open()) {
    port_.cancel(ignored);
    port_.close(ignored);
  }
  reading_ = false;
  owner_->on_port_closed();
}

void SerialPortKeeper::stop() {
  started_ = false;
  if (reopen_timer_) ex_.cancel(reopen_timer_);
  reopen_timer_ = {};
  close();
}

void SerialPortKeeper::set_enabled(bool enabled) {
  if (enabled == enabled_) return;
  enabled_ = enabled;
  if (!enabled) {
    if (reopen_timer_) ex_.cancel(reopen_timer_);
    reopen_timer_ = {};
    owner_->fail_exchange(make_error_code(Errc::channel_disabled));
    close();
    set_status(LinkStatus::disabled);
  } else if (started_) {
    backoff_.reset();
    open();
  }
}

void SerialPortKeeper::flush_input() {
  transport::flush_input(port_);
}

std::size_t SerialPortKeeper::input_waiting() {
  return transport::input_waiting(port_);
}

void SerialPortKeeper::read_loop() {
  if (reading_ || !port_.is_open()) return;
  reading_ = true;
  std::weak_ptr<int> life = life_;
  port_.async_read_some(boost::asio::buffer(rx_),
                        [this, life](const boost::system::error_code& ec, std::size_t n) {
                          if (life.expired()) return;
                          reading_ = false;
                          if (io_failed(ec)) return;
                          bytes_in_ += n;
                          owner_->on_port_bytes({rx_.data(), n});
                          read_loop();
                        });
}

void SerialPortKeeper::write(std::span<const std::uint8_t> bytes) {
  bytes_out_ += bytes.size();
  std::weak_ptr<int> life = life_;
  boost::asio::async_write(port_, boost::asio::buffer(bytes.data(), bytes.size()),
                           [this, life](const boost::system::error_code& ec, std::size_t) {
                             if (life.expired()) return;
                             owner_->on_port_written(ec);
                           });
}

void SerialPortKeeper::write_command(std::span<const std::uint8_t> bytes) {
  std::weak_ptr<int> life = life_;
  boost::asio::async_write(port_, boost::asio::buffer(bytes.data(), bytes.size()),
                           [this, life](const boost::system::error_code& ec, std::size_t) {
                             if (life.expired()) return;
                             io_failed(ec);
                           });
}

bool SerialPortKeeper::io_failed(const boost::system::error_code& ec) {
  if (!ec) return false;
  if (ec != boost::asio::error::operation_aborted) port_lost(ec);
  return true;
}

void SerialPortKeeper::port_lost(std::error_code ec) {
  ++lost_;
  runtime::channel_logger(settings_.id)
      ->warn("{} {} lost: {}", what_, settings_.port, ec.message());
  close();
  owner_->fail_exchange(make_error_code(Errc::channel_down));
  if (!enabled_ || !started_) return;
  set_status(LinkStatus::down);
  schedule_reopen();
}

}  // namespace pollux::transport
