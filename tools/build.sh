#!/usr/bin/env bash
# Configures and builds one flavour into build/<flavour>:
#   release  RelWithDebInfo with g++ (the default)
#   asan     ASan + UBSan with g++
#   fuzz     clang with libFuzzer targets (tests/fuzz)
set -euo pipefail
flavour=${1:-release}
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc)}
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) args=(-DCMAKE_BUILD_TYPE=Debug -DPOLLUX_SANITIZE=ON -DPOLLUX_BENCH=OFF) ;;
  fuzz) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOLLUX_FUZZ=ON -DCMAKE_C_COMPILER=clang
              -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "usage: $0 release|asan|fuzz" >&2; exit 2 ;;
esac
cmake -S "$top" -B "$top/build/$flavour" "${args[@]}" >/dev/null
cmake --build "$top/build/$flavour" -j "$jobs" -- --no-print-directory
