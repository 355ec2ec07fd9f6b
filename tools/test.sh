#!/usr/bin/env bash
# README command (2): set up, build and run every test: the normal build (then the 3-minute
# soak, the package check, the lint, the demos in their short mode and every benchmark in its
# smoke mode), the ASan+UBSan build (all but the browser tests), and the libFuzzer targets for a
# bounded time. Exits non-zero when anything fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# Fault classes the soak leaves out (comma-separated; tools/soak/schedule.py lists them): none.
SOAK_SKIP=

"$top/tools/setup.sh"

run_ctest() {
  local dir=$1 exclude=${2:-}
  # Unit tests in parallel; integration tests (real processes, ptys, timers) one at a time. A
  # selection that finds no test is an error, not a pass. `exclude`: a label regex of
  # integration tests this build skips.
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$(nproc)" -LE integration
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -L integration \
    ${exclude:+-LE "$exclude"}
}

echo "== release build"
"$top/tools/build.sh" release
run_ctest build/release

echo "== soak, 3 minutes (tools/soak: seed 1${SOAK_SKIP:+, without $SOAK_SKIP})"
# Exit 1 on any violation. Its report is printed here (and, with CI set, the end of each node's
# and the simulator's log); its scratch directory under TMPDIR is removed after a clean run.
/usr/bin/python3 "$top/tools/soak/soak.py" --seed 1 --minutes 3 --build build/release \
  ${SOAK_SKIP:+--skip "$SOAK_SKIP"}

echo "== packaging (the .deb, lintian, systemd-analyze verify, the installed pollux check)"
"$top/tools/package_check.sh" build/release

echo "== lint (clang-format, clang-tidy on the changed files)"
"$top/tools/lint.sh"

echo "== demos, short mode (a failover, a takeover and a hand-back)"
DEMO_CHECK=1 POLLUX_BUILD=build/release "$top/tools/demo.sh"

echo "== benchmarks, smoke mode"
"$top/tools/bench/smoke.sh" build/release

echo "== ASan+UBSan build"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$top/tools/build.sh" asan
# Not the browser tests (label `browser`): what they check is the page's JavaScript, and the
# C++ routes it calls are covered here by the API and stream tests.
run_ctest build/asan browser

echo "== fuzz (clang, libFuzzer)"
"$top/tools/build.sh" fuzz
# 30 s per target keeps the whole run under an hour; each target also replays its corpus.
FUZZ_SECONDS=${FUZZ_SECONDS:-30} "$top/tools/fuzz.sh"
echo "== all tests passed"
