#include "testlib/fake_link.hpp"

#include "modbus/error.hpp"

namespace pollux::testlib {

void FakeLink::stop() {
  started_ = false;
  for (auto& [k, p] : pending_)
    if (p.timer) ex_.cancel(p.timer);
  pending_.clear();
  in_flight = 0;
}

void FakeLink::set_status(transport::LinkStatus s) {
  if (s == status_) return;
  status_ = s;
  if (listener_) listener_->on_link_status(s);
}

bool FakeLink::can_start(const transport::Target& t) const {
  if (status_ != transport::LinkStatus::ok) return false;
  if (!concurrent_) return pending_.empty();
  const std::string w = t.wire_key();
  for (const auto& [k, p] : pending_)
    if (p.wire == w) return false;
  return true;
}

FakeReply FakeLink::next_reply(const SentExchange& s) {
  if (auto it = unit_script.find(s.unit); it != unit_script.end() && !it->second.empty()) {
    FakeReply r = it->second.front();
    it->second.pop_front();
    return r;
  }
  if (!script.empty()) {
    FakeReply r = script.front();
    script.pop_front();
    return r;
  }
  if (responder) return responder(s);
  return FakeReply::ok();
}

void FakeLink::start_exchange(const transport::Exchange& ex, std::uint64_t tag) {
  SentExchange s{ex.target->unit, ex.target->wire_key(), *ex.request, ex_.now()};
  sent.push_back(s);
  ++in_flight;
  if (in_flight > max_in_flight) max_in_flight = in_flight;
  const FakeReply reply = next_reply(s);
  const std::uint64_t key = next_key_++;
  Pending& p = pending_[key];
  p.tag = tag;
  p.wire = s.wire;
  p.request = *ex.request;
  runtime::Duration after = reply.latency;
  switch (reply.kind) {
    case FakeReply::Kind::normal: {
      std::vector<std::uint16_t> data = reply.data;
      if (data.empty() && !p.request.is_write()) {
        data.resize(p.request.quantity);
        const bool bits = modbus::is_bit_read(p.request.function);
        for (std::size_t i = 0; i < data.size(); ++i)
          data[i] = bits ? 1 : static_cast<std::uint16_t>(p.request.address + i);
      }
      if (auto ec = modbus::encode_response(p.request, data, p.pdu)) {
        p.error = ec;
      } else {
        p.error = modbus::decode_response(p.request, p.pdu.span(), p.view);
      }
      break;
    }
    case FakeReply::Kind::exception:
      modbus::encode_exception(p.request.function, reply.exception, p.pdu);
      p.error = modbus::decode_response(p.request, p.pdu.span(), p.view);
      break;
    case FakeReply::Kind::error:
      p.error = reply.error;
      break;
    case FakeReply::Kind::silent:
      p.error = modbus::Errc::timeout;
      after = ex.timeout;
      break;
  }
  p.timer = ex_.schedule_after(after, [this, key] { finish(key); });
}

void FakeLink::finish(std::uint64_t key) {
  auto it = pending_.find(key);
  if (it == pending_.end()) return;
  Pending& p = it->second;  // erased after the callback: the view points into it
  --in_flight;
  transport::ExchangeResult r;
  r.error = p.error;
  if (!p.error || p.error.category() == modbus::exception_category()) r.response = &p.view;
  if (listener_) listener_->on_exchange_done(p.tag, r);
  pending_.erase(key);
}

}  // namespace pollux::testlib
