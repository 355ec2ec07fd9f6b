#!/usr/bin/env bash
# Runs every libFuzzer target in build/fuzz for FUZZ_SECONDS each (default 60), starting from
# its committed seed corpus in tests/fuzz/corpus/<target>/ (replayed first). Fails on the first
# crash, sanitizer report, leak or timeout. New inputs go to a scratch directory, not the repo.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-60}
bin="$top/build/fuzz/tests/fuzz"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
shopt -s nullglob
targets=("$bin"/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz: no targets built in $bin" >&2
  exit 1
fi
for t in "${targets[@]}"; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  seeds="$top/tests/fuzz/corpus/$name"
  mkdir -p "$scratch/$name"
  echo "fuzz: $name for ${seconds}s"
  corpus_args=("$scratch/$name")
  [ -d "$seeds" ] && corpus_args+=("$seeds")
  "$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
       -print_final_stats=1 -artifact_prefix="$scratch/$name-" "${corpus_args[@]}" \
       >"$scratch/$name.log" 2>&1 || { tail -n 60 "$scratch/$name.log"; echo "fuzz: $name FAILED" >&2; exit 1; }
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$scratch/$name.log" | tr '\n' ' '; echo
done
echo "fuzz: all targets clean"
