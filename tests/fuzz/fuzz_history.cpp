// libFuzzer target for the history's parsers of outside input (spec/history.md): the pair's
// forwarded records and the master's coverage as they come off the peer link
// (history/forwarding.hpp, after the MessagePack decode), and GET /api/v1/history's query
// string (api/history_query.hpp). The first byte picks the mode; the rest is the input.
//   mode 0: a peer-link payload -> decode_message -> records_from_json / Coverage::from_json;
//           records that parse must come back the same through record_json
//   mode 1: a request target -> parse_target -> parse_history_query; what parses must be a
//           sane request (from < to, 1 <= limit <= 100,000, interval >= 1 ms)
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/history_query.hpp"
#include "history/forwarding.hpp"
#include "redundancy/messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pollux;
  if (size < 1) return 0;
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    const redundancy::Decoded d = redundancy::decode_message(in);
    if (!d.message) return 0;
    if (const auto* f = std::get_if<redundancy::HistoryForward>(&*d.message)) {
      const auto records = history::records_from_json(f->records);
      if (!records) return 0;
      nlohmann::json again = nlohmann::json::array();
      for (const auto& r : *records)
        again.push_back(history::record_json(r));
      const auto twice = history::records_from_json(again);
      if (!twice || twice->size() != records->size()) __builtin_trap();
      for (std::size_t i = 0; i < records->size(); ++i)
        if ((*twice)[i].time != (*records)[i].time ||
            (*twice)[i].quality != (*records)[i].quality ||
            (*twice)[i].series->device != (*records)[i].series->device)
          __builtin_trap();
    } else if (const auto* a = std::get_if<redundancy::HistoryForwarded>(&*d.message)) {
      if (auto c = history::Coverage::from_json(a->started_at, a->active)) (void)c->active_at(0);
    }
    return 0;
  }
  const std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  const auto target = api::parse_target(text);
  if (!target) return 0;
  const api::HistoryQuery q =
      api::parse_history_query(*target, "", runtime::WallTime(std::chrono::hours(500'000)));
  if (!q.error.empty()) return 0;
  if (!(q.request.from < q.request.to) || q.request.limit < 1 ||
      q.request.limit > api::kHistoryMaxLimit ||
      (q.request.interval_ms && *q.request.interval_ms < 1))
    __builtin_trap();
  return 0;
}
