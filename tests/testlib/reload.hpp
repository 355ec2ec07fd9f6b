// A whole reload in a unit test (the node's or the engine's reload(), spec/config.md "Reload"): on
// the manual executor the file is read at once (offload runs inline) and the apply is posted, so
// running the posted work answers it. Header-only: its users link the engine or app library.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <utility>

#include "api/node_api.hpp"
#include "runtime/manual_executor.hpp"

namespace pollux::testlib {

// `Reloadable`: app::Node (through api::NodeApi) or engine::Engine.
template <typename Reloadable>
api::ReloadOutcome reload_now(Reloadable& target, runtime::ManualExecutor& ex) {
  std::optional<api::ReloadOutcome> out;
  target.reload([&](api::ReloadOutcome o) { out = std::move(o); });
  ex.run_pending();
  EXPECT_TRUE(out) << "reload not answered";
  return out.value_or(api::ReloadOutcome{});
}

}  // namespace pollux::testlib
