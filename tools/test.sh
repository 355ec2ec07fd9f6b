#!/usr/bin/env bash
# README command (2): set up, build and run every test: the normal build (then the 3-minute
# soak, the package check, the lint, the demos in their short mode and every benchmark in its
# smoke mode), the ASan+UBSan build (all but the browser tests), and the libFuzzer targets for a
# bounded time. Exits non-zero when anything fails.
#
# The ASan+UBSan build compiles while the normal build's tests run, and the libFuzzer build while
# the ASan tests run: each at the lowest CPU priority (nice 19), so the tests, which mostly wait
# on their timers, get a core whenever they want one. This keeps the whole run under an hour on
# two cores.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# Fault classes the soak leaves out (comma-separated; tools/soak/schedule.py lists them): none.
SOAK_SKIP=

"$top/tools/setup.sh"

# Each phase's header says when it started, so a slow run shows where its time went.
phase() { printf '== %s (at %dm%02ds)\n' "$1" $((SECONDS / 60)) $((SECONDS % 60)); }

# build_behind FLAVOUR: starts tools/build.sh FLAVOUR in the background at nice 19, in its own
# process group (so an early exit stops the whole build), its output in build/FLAVOUR.log.
# build_wait FLAVOUR: waits for it; on failure shows the end of that log and fails.
declare -A behind=()
build_behind() {
  mkdir -p "$top/build"
  setsid nice -n 19 "$top/tools/build.sh" "$1" >"$top/build/$1.log" 2>&1 &
  behind[$1]=$!
}
build_wait() {
  local pid=${behind[$1]}
  unset "behind[$1]"
  if ! wait "$pid"; then
    tail -n 80 "$top/build/$1.log"
    echo "== the $1 build failed (build/$1.log)" >&2
    return 1
  fi
}
stop_behind() {
  local pid
  for pid in "${behind[@]}"; do kill -- "-$pid" 2>/dev/null || true; done
}
trap stop_behind EXIT

run_ctest() {
  local dir=$1 exclude=${2:-}
  # Unit tests in parallel; integration tests (real processes, ptys, timers) one at a time. A
  # selection that finds no test is an error, not a pass. `exclude`: a label regex of
  # integration tests this build skips.
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j "$(nproc)" -LE integration
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -L integration \
    ${exclude:+-LE "$exclude"}
}

phase "release build"
"$top/tools/build.sh" release
build_behind asan
phase "release tests (the ASan+UBSan build compiles behind them)"
run_ctest build/release

phase "soak, 3 minutes (tools/soak: seed 1${SOAK_SKIP:+, without $SOAK_SKIP})"
# Exit 1 on any violation. Its report is printed here (and, with CI set, the end of each node's
# and the simulator's log); its scratch directory under TMPDIR is removed after a clean run.
/usr/bin/python3 "$top/tools/soak/soak.py" --seed 1 --minutes 3 --build build/release \
  ${SOAK_SKIP:+--skip "$SOAK_SKIP"}

phase "packaging (the .deb, lintian, systemd-analyze verify, the installed pollux check)"
"$top/tools/package_check.sh" build/release

phase "lint (clang-format, clang-tidy on the changed files)"
"$top/tools/lint.sh"

phase "demos, short mode (a failover, a takeover and a hand-back)"
DEMO_CHECK=1 POLLUX_BUILD=build/release "$top/tools/demo.sh"

phase "benchmarks, smoke mode"
"$top/tools/bench/smoke.sh" build/release

phase "ASan+UBSan build (waiting for it to finish)"
build_wait asan
build_behind fuzz
phase "ASan+UBSan tests (the libFuzzer build compiles behind them)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Not the browser tests (label `browser`): what they check is the page's JavaScript, and the
# C++ routes it calls are covered here by the API and stream tests.
run_ctest build/asan browser

phase "fuzz (clang, libFuzzer)"
build_wait fuzz
# 30 s per target keeps the whole run under an hour; each target also replays its corpus.
FUZZ_SECONDS=${FUZZ_SECONDS:-30} "$top/tools/fuzz.sh"
phase "all tests passed"
