// A whole reload in a unit test (NodeApi::reload, spec/config.md "Reload"): on the manual
// executor the file is read at once (offload runs inline) and the apply is posted, so running
// the posted work answers it. Header-only: its users link the app library.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <utility>

#include "app/node_api.hpp"
#include "runtime/manual_executor.hpp"

namespace pollux::testlib {

inline app::ReloadOutcome reload_now(app::NodeApi& api, runtime::ManualExecutor& ex) {
  std::optional<app::ReloadOutcome> out;
  api.reload([&](app::ReloadOutcome o) { out = std::move(o); });
  ex.run_pending();
  EXPECT_TRUE(out) << "reload not answered";
  return out.value_or(app::ReloadOutcome{});
}

}  // namespace pollux::testlib
