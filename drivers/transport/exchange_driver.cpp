#include "transport/exchange_driver.hpp"

#include <algorithm>

#include "modbus/error.hpp"

namespace pollux::transport {

// The OS hands a frame's bytes over in bursts, and this thread may run a few milliseconds late:
// a silence timer shorter than that would cut whole answers. t3.5 (under 2 ms above 19200 baud)
// stays the rule; the timer that observes it waits at least this long.
constexpr runtime::Duration kMinGapTimer = runtime::milliseconds(50);

ExchangeDriver::ExchangeDriver(runtime::Executor& ex, modbus::Framing framing, Wire& wire,
                               LinkListener* const& listener, Hooks* hooks)
    : ex_(ex),
      wire_(wire),
      listener_(listener),
      hooks_(hooks),
      framer_(modbus::make_framer(framing)),
      tx_(*framer_) {}

ExchangeDriver::~ExchangeDriver() {
  stop_timers();
}

void ExchangeDriver::cancel(runtime::TimerId& t) {
  if (t) ex_.cancel(t);
  t = {};
}

void ExchangeDriver::set_line_timing(runtime::Duration before_send, runtime::Duration frame_gap) {
  line_timing_ = true;
  before_send_ = before_send;
  tx_.set_frame_gap(frame_gap);
}

void ExchangeDriver::begin(const Exchange& ex, std::uint64_t tag) {
  busy_ = true;
  awaiting_ = false;
  tag_ = tag;
  ex_req_ = ex;
}

void ExchangeDriver::send() {
  if (!busy_) return;
  wire_.flush_input();
  // Without transaction ids a new exchange starts from a clean framer. An MBAP stream stays in
  // step across exchanges instead: a late answer is dropped by its transaction id.
  if (framer_->framing() != modbus::Framing::tcp) framer_->reset();
  handle(tx_.start(*ex_req_.request, ex_req_.target->unit, ex_req_.timeout));
}

void ExchangeDriver::send_from_start() {
  const bool outer = defer_end_;
  defer_end_ = true;
  send();
  defer_end_ = outer;
}

void ExchangeDriver::send_later() {
  cancel(timer_);
  const auto send_now = [this] {
    timer_ = {};
    send();
  };
  // RTU needs t3.5 of silence on the line before a new frame.
  const auto ready_at = last_activity_ + before_send_;
  if (line_timing_ && ready_at > ex_.now()) {
    timer_ = ex_.schedule_at(ready_at, send_now);
    return;
  }
  timer_ = ex_.schedule_after(runtime::Duration::zero(), send_now);
}

void ExchangeDriver::fail_soon(std::error_code ec) {
  cancel(timer_);
  timer_ = ex_.schedule_after(runtime::Duration::zero(), [this, ec] {
    timer_ = {};
    complete(ec);
  });
}

void ExchangeDriver::on_wire_error(std::error_code ec) {
  if (busy_) complete(ec);
}

void ExchangeDriver::abandon() {
  busy_ = false;  // no callbacks after this
  awaiting_ = false;
  stop_timers();
}

void ExchangeDriver::stop_timers() {
  cancel(timer_);
  arm_gap({});
}

void ExchangeDriver::on_wire_opened() {
  if (line_timing_) last_activity_ = ex_.now();
  framer_->reset();
}

void ExchangeDriver::on_bytes(std::span<const std::uint8_t> bytes) {
  const auto now = ex_.now();  // one clock read per chunk, for both uses
  if (line_timing_) last_activity_ = now;
  if (!busy_ || !awaiting_) return;  // stale bytes between exchanges: dropped by the flush
  if (reply_overdue(now)) {
    // The reply deadline passed before these bytes were handled: this process was held up
    // (stopped, or a turn ran long) and the bytes may have waited in the OS as long. Their
    // values are that old, though they would be stamped now -- older than a peer's that took
    // over meanwhile. So the deadline decides, as if the reply timer had run first.
    reply_timed_out();
    // Without transaction ids these bytes, read before anything sent since, could pass for
    // the answer to the next request: they go. An MBAP stream reads them on, to stay in step,
    // and drops the late answer by its id.
    if (framer_->framing() != modbus::Framing::tcp || !busy_ || !awaiting_) return;
  }
  handle(tx_.on_bytes(bytes));
}

bool ExchangeDriver::reply_overdue(runtime::TimePoint now) const {
  return timer_ && timer_ == reply_timer_ && now >= reply_due_;
}

void ExchangeDriver::reply_timed_out() {
  cancel(timer_);
  if (busy_) handle(tx_.on_timeout());
}

void ExchangeDriver::on_written() {
  if (!busy_) return;
  if (line_timing_) last_activity_ = ex_.now();
  if (!tx_.done()) handle(tx_.on_written());
}

void ExchangeDriver::handle(const modbus::Action& a) {
  switch (a.kind) {
    case modbus::ActionKind::write: {
      awaiting_ = true;  // a fast answer may arrive before the write completion
      const bool outer = defer_end_;
      defer_end_ = true;  // a write that goes at once reports on_written() from inside
      wire_.write(a.bytes);
      defer_end_ = outer;
      return;
    }
    case modbus::ActionKind::await_reply:
      cancel(timer_);
      reply_due_ = ex_.now() + a.timeout;
      timer_ = reply_timer_ = ex_.schedule_at(reply_due_, [this] {
        timer_ = {};
        reply_timed_out();
      });
      return;
    case modbus::ActionKind::read_more:
      arm_gap(a.timeout);
      return;
    case modbus::ActionKind::done:
      if (defer_end_) return end_later();
      if (hooks_) hooks_->on_transaction_end(a.error);
      complete(a.error);
      return;
  }
}

// Listeners never run inside start_exchange: an end met there is handled on the next turn.
void ExchangeDriver::end_later() {
  cancel(timer_);
  timer_ = ex_.schedule_after(runtime::Duration::zero(), [this] {
    timer_ = {};
    if (busy_) handle(modbus::Action{modbus::ActionKind::done, {}, {}, tx_.result()});
  });
}

void ExchangeDriver::complete(std::error_code ec) {
  if (!busy_) return;
  busy_ = false;
  awaiting_ = false;
  stop_timers();
  if (line_timing_) last_activity_ = ex_.now();
  if (hooks_) hooks_->on_exchange_over();
  ExchangeResult r;
  r.error = ec;
  if (!ec || ec.category() == modbus::exception_category()) r.response = &tx_.response();
  if (listener_) listener_->on_exchange_done(tag_, r);
  if (hooks_) hooks_->on_exchange_reported();
}

// Armed once when a partial frame starts, not moved on every chunk (a frame arrives in many):
// when it fires it checks the silence since the last byte and waits out the rest if need be.
void ExchangeDriver::arm_gap(runtime::Duration gap) {
  if (gap <= runtime::Duration::zero()) {
    cancel(gap_timer_);
    return;
  }
  gap_ = std::max(gap, kMinGapTimer);
  if (gap_timer_) return;
  gap_timer_ = ex_.schedule_after(gap_, [this] { gap_elapsed(); });
}

void ExchangeDriver::gap_elapsed() {
  gap_timer_ = {};
  if (!busy_ || !awaiting_) return;
  const auto quiet_until = last_activity_ + gap_;
  if (quiet_until > ex_.now()) {
    gap_timer_ = ex_.schedule_at(quiet_until, [this] { gap_elapsed(); });
    return;
  }
  // Bytes waiting to be read arrived in time: they are no silence. Wait for them to be read
  // (the last activity moves then).
  if (wire_.input_pending()) {
    gap_timer_ = ex_.schedule_after(gap_, [this] { gap_elapsed(); });
    return;
  }
  handle(tx_.on_silence());
}

}  // namespace pollux::transport
