// Whether an Edge Node's Sparkplug session is alive, as its own topics on the broker show it
// (spec/redundancy.md "Partitions": the master's Sparkplug session is a liveness path; while the
// master's last NBIRTH has no NDEATH after it, the backup does not take over). Pure code
// (DESIGN.md principle 1): the watch session's events and messages in, with `now`; no I/O, no
// clock reads. The MQTT side is app::BrokerWatch.
//
// The harm to avoid is two active nodes, so "alive" keeps a standby from taking over: it is
// believed on good evidence only, and every credible death ends it. The rules:
// - Unknown is not alive: before the watch session is up, after it is lost, after new ids. The
//   broker does not keep NBIRTH (Sparkplug: QoS 0, not retained), so a session that started
//   while nobody watched shows only at its next birth (the watcher asks for one, a rebirth).
// - An NBIRTH on spBv1.0/{group}/NBIRTH/{edge} with a `bdSeq` metric (Int64 or UInt64, not
//   negative, not null: what session.cpp writes) makes it alive with that bdSeq: the newest
//   birth is the session, whatever bdSeq the previous one had (a wrap 255 -> 0 included). An
//   NBIRTH without a usable bdSeq is not Pollux's and proves nothing: ignored.
// - An NDEATH on spBv1.0/{group}/NDEATH/{edge} whose bdSeq equals the alive session's ends it.
//   One with another bdSeq is the will of an older session (the broker may publish it after
//   the newer NBIRTH when the old connection is detected dead late): ignored, counted stale.
// - An NDEATH without a usable bdSeq is ignored too. Pollux always writes one, in the will and
//   in the NDEATH before a clean disconnect (Sparkplug 3.0 requires it), so such a message was
//   published by something else and says nothing about the session that was born; believing it
//   would let a foreign publisher send a standby active beside a live master. The real death
//   still ends "alive": the will or NDEATH with the session's bdSeq, which the broker publishes
//   for a dead connection, and the loss of the watch session itself.
// - An NDEATH while nothing is alive changes nothing (there is no session it could end).
// - Payloads that do not decode and messages on other topics are ignored and counted.
// - Messages that arrive before on_connected are taken: the broker may deliver on a
//   subscription before the client reports it granted. on_connected while already connected
//   (a session whose end was not reported) starts from unknown again.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/clock.hpp"

namespace pollux::northbound {

class EdgeNodeLiveness {
 public:
  struct Counters {
    std::uint64_t births = 0;        // NBIRTHs taken
    std::uint64_t deaths = 0;        // NDEATHs that ended the alive session
    std::uint64_t stale_deaths = 0;  // NDEATHs of another bdSeq, or while nothing was alive
    std::uint64_t undecodable = 0;   // NBIRTH/NDEATH payloads that are not Sparkplug
    std::uint64_t ignored = 0;       // other topics; births and deaths without a usable bdSeq
  };

  EdgeNodeLiveness(std::string group_id, std::string edge_node_id);

  // New ids (a reload): the old topics say nothing about the new Edge Node, so the state is
  // unknown again. Returns whether alive() changed. Same ids: nothing changes.
  bool set_ids(std::string group_id, std::string edge_node_id, runtime::TimePoint now);

  // The watch session is up and its subscriptions granted.
  bool on_connected(runtime::TimePoint now);
  // The watch session ended (or was stopped): unknown until the next NBIRTH.
  bool on_connection_lost(runtime::TimePoint now);
  // A message on the watch session. Returns whether alive() changed.
  bool on_message(std::string_view topic, std::string_view payload, runtime::TimePoint now);

  bool alive() const { return alive_; }
  bool connected() const { return connected_; }
  // The alive session's bdSeq (nullopt while not alive).
  std::optional<std::uint64_t> bd_seq() const { return bd_seq_; }
  // When the last NBIRTH or NDEATH was taken (one that set or ended "alive"); kept across a
  // lost watch session, cleared by new ids.
  std::optional<runtime::TimePoint> last_heard() const { return last_heard_; }
  // When alive() last changed (nullopt: never).
  std::optional<runtime::TimePoint> since() const { return since_; }
  const Counters& counters() const { return counters_; }
  const std::string& nbirth_topic() const { return nbirth_topic_; }
  const std::string& ndeath_topic() const { return ndeath_topic_; }

 private:
  bool set_alive(bool alive, std::optional<std::uint64_t> bd_seq, runtime::TimePoint now);

  std::string group_id_;
  std::string edge_node_id_;
  std::string nbirth_topic_;
  std::string ndeath_topic_;
  bool connected_ = false;
  bool alive_ = false;
  std::optional<std::uint64_t> bd_seq_;
  std::optional<runtime::TimePoint> last_heard_;
  std::optional<runtime::TimePoint> since_;
  Counters counters_;
};

}  // namespace pollux::northbound
