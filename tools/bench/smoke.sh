#!/usr/bin/env bash
# CI's guard against benchmarks rotting: every benchmark README names runs once in a smoke mode
# of a few seconds (tiny sizes, short windows, one run) and passes when it ends as it should and
# prints its table. The figures mean nothing here; measure as README's Benchmarks section says.
#
#   tools/bench/smoke.sh [BUILD_DIR]     (default build/release; tools/test.sh runs it)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
build=${1:-$top/build/release}
bench=$build/tools/bench
pollux=$build/src/app/pollux
sim=$build/sim/pollux-sim
# Debian's interpreter: the python3-* packages the benchmarks import (selenium, paho-mqtt,
# protobuf) are installed for it, not for another python3 that may come first on PATH.
PY=python3
[[ -x /usr/bin/python3 ]] && PY=/usr/bin/python3
export PY
logs=$(mktemp -d /tmp/pollux-bench-smoke.XXXXXX)
failed=0
t_all=$SECONDS

# smoke NAME 'REGEX-OF-THE-TABLE' COMMAND...: runs COMMAND (bounded by 120 s), fails when it
# exits non-zero or its output lacks a line matching each |-separated regex.
smoke() {
  local name=$1 patterns=$2 t0=$SECONDS rc=0 p missing=""
  shift 2
  timeout 120 "$@" >"$logs/$name.log" 2>&1 || rc=$?
  IFS='|' read -ra want <<<"$patterns"
  for p in "${want[@]}"; do
    grep -Eq -- "$p" "$logs/$name.log" || missing+=" '$p'"
  done
  if ((rc != 0)) || [[ -n $missing ]]; then
    echo "bench smoke FAILED: $name (exit $rc${missing:+; no line matching$missing}):"
    tail -40 "$logs/$name.log"
    failed=1
  else
    echo "bench smoke ok: $name ($((SECONDS - t0)) s)"
  fi
}

gb=(--benchmark_min_time=0.01)  # Google Benchmark: each case for 10 ms
smoke codec_bench '^BM_.* ns .* ns|reproduce' "$bench/codec_bench" "${gb[@]}"
smoke point_codec_bench '^BM_.* ns .* ns|reproduce' "$bench/point_codec_bench" "${gb[@]}"
smoke northbound_codec_bench '^BM_EncodeDdata/10 .* ns .* ns|reproduce' \
  "$bench/northbound_codec_bench" "${gb[@]}"
smoke timer_queue_bench '^BM_ScanTransaction/100000 .* ns|reproduce' \
  "$bench/timer_queue_bench" "${gb[@]}"
smoke sim_capacity '^ +10 ' "$bench/sim_capacity" --devices 1,10 --seconds 1
smoke tcp_floor '^asio +10 |^scan +' "$bench/tcp_floor" --devices 1,10 --scan-devices 50 \
  --seconds 1
smoke engine_bench '^Saturation|^ +10 +[0-9]|^Realistic \(50 |^Capped|^Serial line|^ +115200 +[0-9]|reproduce' \
  "$PY" tools/bench/engine_bench.py --pollux "$pollux" --sim "$sim" \
  --scenarios saturation,realistic,capped,serial --devices 10 --realistic-devices 50 \
  --capped-devices 20 --capped-max 10 --bauds 115200 --runs 1 --warmup 0.2 --window 1 \
  --realistic-window 1 --serial-window 1 --listing-window 0.5 --no-pin
smoke history_bench '^  \(a\) ingestion.* [0-9]+ +>=|^  \(d\) .* [0-9.]+ +<=|reproduce' \
  "$bench/history_bench" --points 10 --seconds 5 --runs 1 --others 0 --queries 1
smoke history_pg_bench '^  \(e\) ingestion.* [0-9]+ +>=|reproduce' \
  "$PY" tools/bench/history_pg_bench.py --bench "$bench/history_bench" --points 10 --seconds 5 \
  --runs 1 --others 0 --queries 1
smoke history_engine_bench '^run 1: off [0-9.]+ % CPU, on [0-9.]+ % CPU|CPU ratio on/off|reproduce' \
  "$PY" tools/bench/history_engine_bench.py --pollux "$pollux" --sim "$sim" --devices 20 \
  --runs 1 --warmup 0.2 --window 1 --no-pin
smoke northbound_bench '^run 1: off [0-9.]+ % CPU, on [0-9.]+ % CPU \([0-9]+ values/s|^    at [0-9]+ DDATA/s: [0-9.]+ % CPU|^    as fast as 64|CPU ratio on/off|^  drain to 0|reproduce' \
  "$PY" tools/bench/northbound_bench.py --pollux "$pollux" --sim "$sim" --devices 20 \
  --runs 1 --warmup 0.2 --window 2 --outage 1 --no-pin
smoke ui_bench '^first render: median [0-9]+ ms|^JS heap used: [0-9.]+ MB|reproduce' \
  "$PY" tools/bench/ui_bench.py --pollux "$pollux" --sim "$sim" --devices 50 --loads 1 \
  --settle 0
# Exit 1 is the goal missed (a loaded CI machine may miss it with one trial); the table is what
# is checked.
smoke takeover_bench '^trial  1: [0-9]+ ms|^  min .* p99 .* max|goal p99' \
  sh -c '"$PY" tools/bench/takeover_bench.py --pollux "$0" --sim "$1" --trials 1; rc=$?;
         [ "$rc" -le 1 ]' "$pollux" "$sim"

echo "bench smoke: $((SECONDS - t_all)) s in all; logs in $logs"
exit $failed
