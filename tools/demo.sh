#!/usr/bin/env bash
# README command (1): set up, build, and run the demo.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
"$top/tools/setup.sh"
"$top/tools/build.sh" release
export POLLUX_PSK=${POLLUX_PSK:-demo-psk}
for f in config/examples/*.yaml; do
  if build/release/src/app/pollux check -c "$f"; then echo "valid: $f"; else exit 1; fi
done
