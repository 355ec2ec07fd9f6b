#include "testlib/fake_wire.hpp"

#include <boost/asio/error.hpp>

#include "transport/errors.hpp"

namespace pollux::testlib {

using transport::LinkStatus;

void FakeWire::write(std::span<const std::uint8_t> bytes) {
  bytes_out_ += bytes.size();
  writes.emplace_back(bytes.begin(), bytes.end());
  if (completes_inline) return completes_inline->on_written();
  ++unfinished_writes;
}

void FakeWire::write_command(std::span<const std::uint8_t> bytes) {
  commands.append(bytes.begin(), bytes.end());
}

void FakeWire::complete_write(const boost::system::error_code& ec) {
  if (unfinished_writes == 0) return;
  --unfinished_writes;
  if (owner_) owner_->on_port_written(ec);
}

bool FakeWire::io_failed(const boost::system::error_code& ec) {
  if (!ec) return false;
  if (ec != boost::asio::error::operation_aborted) vanish();
  return true;
}

void FakeWire::receive(std::span<const std::uint8_t> bytes) {
  bytes_in_ += bytes.size();
  if (owner_) owner_->on_port_bytes(bytes);
}

void FakeWire::receive_text(std::string_view text) {
  receive({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

void FakeWire::set_status(LinkStatus s) {
  if (s == status_) return;
  status_ = s;
  if (owner_) owner_->on_port_status(s);
}

void FakeWire::start() {
  started_ = true;
  if (!enabled) return set_status(LinkStatus::disabled);
  open();
}

void FakeWire::open() {
  if (!started_ || !enabled) return;
  if (missing) {
    ++open_failures_;
    return set_status(LinkStatus::down);
  }
  ++opens_;
  open_ = true;
  if (owner_) owner_->on_port_opened();
  set_status(LinkStatus::ok);
}

void FakeWire::open_again() {
  open();
}

void FakeWire::close() {
  open_ = false;
  unfinished_writes = 0;  // a closed port's writes never complete
  if (owner_) owner_->on_port_closed();
}

void FakeWire::stop() {
  started_ = false;
  close();
}

void FakeWire::set_enabled(bool on) {
  if (on == enabled) return;
  enabled = on;
  if (!on) {
    if (owner_) owner_->fail_exchange(make_error_code(transport::Errc::channel_disabled));
    close();
    set_status(LinkStatus::disabled);
  } else if (started_) {
    open();
  }
}

void FakeWire::vanish() {
  ++lost_;
  close();
  if (owner_) owner_->fail_exchange(make_error_code(transport::Errc::channel_down));
  if (!enabled || !started_) return;
  set_status(LinkStatus::down);
}

}  // namespace pollux::testlib
