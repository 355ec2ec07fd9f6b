// The live stream's journal (spec/api.md "Live stream"): the events GET /api/v1/stream sends,
// with their ids, buffered so that a client that reconnects with Last-Event-ID gets what it
// missed, and formatted as Server-Sent Events.
//
// One ring of events serves every client; a client is only a cursor (the next id it wants) and
// a device filter. Appending never waits for a client and allocates nothing per client, so
// polling never waits for one (api.md: "polling never waits for a client"). A client whose
// cursor the ring has overwritten could not keep up: read() says it was lost and the server
// disconnects it; when it reconnects, start() answers `resync` (reload the listings) because
// what it missed is gone. Ids grow across restarts of the node (the producer starts them from
// the wall clock), so an id from before a restart is never mistaken for a buffered one.
// Pure: no clock, no I/O; the producer (app/node_stream) appends and calls notify(), the HTTP
// server reads.
//
// Usage:
//   StreamJournal j(65536, first_id);
//   j.append(StreamEventKind::point, "WELL_01", R"({"device":"WELL_01",...})");
//   j.notify();                                   // wakes every waiting client once
//   auto s = j.start(last_event_id);              // where a client begins; s.resync first?
//   auto r = j.read(s.cursor, filter, 32 * 1024); // SSE text, the next cursor, lost?
//   if (r.text.empty()) j.wait([self] { ... read again ... });
//   j.attach(connection);                         // readers() counts it while it lives
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pollux::api {

enum class StreamEventKind : std::uint8_t { point, device, failover, redundancy, resync };
std::string_view to_string(StreamEventKind kind);
// The kinds a client may ask for by name (`?kind=`); resync is not one of them.
std::optional<StreamEventKind> stream_kind_from_string(std::string_view name);

// `?device=ID` (repeatable): only those devices' point and device events. Empty: every device.
// Failover, redundancy and resync events always pass it.
// `?kind=KIND` (repeatable, an extension of api.md): only those kinds, so a page showing 10,000
// devices need not receive every point change. Empty: every kind. Resync always passes.
struct StreamFilter {
  std::vector<std::string> devices;
  std::vector<StreamEventKind> kinds;
  bool admits(StreamEventKind kind, std::string_view device) const;
};

// "id: N\nevent: KIND\ndata: DATA\n\n". `data` must be one line (compact JSON is).
std::string format_sse(std::uint64_t id, StreamEventKind kind, std::string_view data);

class StreamJournal {
 public:
  StreamJournal(std::size_t capacity, std::uint64_t first_id);

  // Appends an event (`data`: one line of JSON) and returns its id.
  std::uint64_t append(StreamEventKind kind, std::string device, std::string data);
  // Forgets every buffered event and skips an id: the producer stopped journaling for a while
  // (no client), so a client resuming from before now missed events nobody kept.
  void interrupt();

  // The id the next event gets.
  std::uint64_t next_id() const { return next_id_; }
  // The id of the oldest buffered event; next_id() when none is.
  std::uint64_t oldest_id() const { return next_id_ - count_; }

  // Where a client begins. Without Last-Event-ID: at the head, with nothing missed. With one:
  // right after it when everything since is still buffered; else at the head, and the client is
  // sent a `resync` event first (api.md), whose id is `resync_id`.
  struct Start {
    std::uint64_t cursor = 0;
    bool resync = false;
    std::uint64_t resync_id = 0;
  };
  Start start(std::optional<std::uint64_t> last_event_id) const;

  // SSE text of the events from `cursor` on that `filter` admits, stopping after about
  // `max_bytes`, and the cursor to read from next. `lost`: the ring overwrote events at `cursor`
  // (the client fell a whole ring behind); nothing else is set then.
  struct Read {
    std::string text;
    std::uint64_t cursor = 0;
    bool lost = false;
  };
  Read read(std::uint64_t cursor, const StreamFilter& filter, std::size_t max_bytes) const;

  // A client that has read everything waits: notify() calls each waiting callback once.
  void wait(std::function<void()> wake) { waiters_.push_back(std::move(wake)); }
  void notify();

  // The clients reading now, each known by a weak handle to its connection (so a connection
  // that ends, also after the journal's owner, needs no call back): the producer journals only
  // while someone may read.
  void attach(std::weak_ptr<const void> reader);
  std::size_t readers();
  // Runs on every attach, before it returns: the producer begins journaling at once, so a
  // client misses nothing between its listings and its stream.
  void on_attach(std::function<void()> hook) { on_attach_ = std::move(hook); }

 private:
  struct Entry {
    StreamEventKind kind = StreamEventKind::point;
    std::string device;
    std::string data;
  };
  std::vector<Entry> ring_;
  std::uint64_t next_id_;
  std::size_t count_ = 0;
  std::vector<std::function<void()>> waiters_;
  std::vector<std::weak_ptr<const void>> readers_;
  std::function<void()> on_attach_;
};

}  // namespace pollux::api
