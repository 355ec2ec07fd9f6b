#include "api/live_stream.hpp"

#include <algorithm>
#include <utility>

namespace pollux::api {

std::string_view to_string(StreamEventKind kind) {
  switch (kind) {
    case StreamEventKind::point:
      return "point";
    case StreamEventKind::device:
      return "device";
    case StreamEventKind::failover:
      return "failover";
    case StreamEventKind::redundancy:
      return "redundancy";
    case StreamEventKind::resync:
      return "resync";
  }
  return "point";
}

std::optional<StreamEventKind> stream_kind_from_string(std::string_view name) {
  for (auto kind : {StreamEventKind::point, StreamEventKind::device, StreamEventKind::failover,
                    StreamEventKind::redundancy})
    if (to_string(kind) == name) return kind;
  return std::nullopt;
}

bool StreamFilter::admits(StreamEventKind kind, std::string_view device) const {
  if (kind == StreamEventKind::resync) return true;
  if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) return false;
  if (devices.empty()) return true;
  if (kind != StreamEventKind::point && kind != StreamEventKind::device) return true;
  return std::find(devices.begin(), devices.end(), device) != devices.end();
}

std::string format_sse(std::uint64_t id, StreamEventKind kind, std::string_view data) {
  std::string out;
  out.reserve(data.size() + 40);
  out += "id: ";
  out += std::to_string(id);
  out += "\nevent: ";
  out += to_string(kind);
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

StreamJournal::StreamJournal(std::size_t capacity, std::uint64_t first_id)
    : ring_(std::max<std::size_t>(capacity, 1)), next_id_(std::max<std::uint64_t>(first_id, 1)) {}

std::uint64_t StreamJournal::append(StreamEventKind kind, std::string device, std::string data) {
  Entry& e = ring_[next_id_ % ring_.size()];
  e.kind = kind;
  e.device = std::move(device);
  e.data = std::move(data);
  count_ = std::min(count_ + 1, ring_.size());
  return next_id_++;
}

void StreamJournal::interrupt() {
  count_ = 0;
  ++next_id_;
}

StreamJournal::Start StreamJournal::start(std::optional<std::uint64_t> last_event_id) const {
  if (!last_event_id) return {next_id_, false, 0};
  // Everything after it is still here: the event after it is buffered, or it was the newest.
  if (*last_event_id < next_id_ && *last_event_id + 1 >= oldest_id())
    return {*last_event_id + 1, false, 0};
  return {next_id_, true, next_id_ - 1};
}

StreamJournal::Read StreamJournal::read(std::uint64_t cursor, const StreamFilter& filter,
                                        std::size_t max_bytes) const {
  Read r;
  if (cursor < oldest_id()) {
    r.lost = true;
    return r;
  }
  for (r.cursor = cursor; r.cursor < next_id_ && r.text.size() < max_bytes; ++r.cursor) {
    const Entry& e = ring_[r.cursor % ring_.size()];
    if (filter.admits(e.kind, e.device)) r.text += format_sse(r.cursor, e.kind, e.data);
  }
  return r;
}

void StreamJournal::attach(std::weak_ptr<const void> reader) {
  readers_.push_back(std::move(reader));
  if (on_attach_) on_attach_();
}

std::size_t StreamJournal::readers() {
  std::erase_if(readers_, [](const std::weak_ptr<const void>& r) { return r.expired(); });
  return readers_.size();
}

void StreamJournal::notify() {
  // A woken client may wait again at once: it joins the next round, not this one.
  auto woken = std::exchange(waiters_, {});
  for (auto& wake : woken)
    wake();
}

}  // namespace pollux::api
