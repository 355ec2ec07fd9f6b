#!/usr/bin/env bash
# Configures and builds one flavour into build/<flavour>:
#   release  RelWithDebInfo with g++ (the default)
#   asan     ASan + UBSan with g++
#   fuzz     clang with libFuzzer targets (tests/fuzz), and only what they link
# Debug information is line tables (-g1): backtraces, perf and sanitizer reports keep their
# file:line, and the Beast-heavy files compile in about half the time full -g takes. For a
# debugger session, configure with -DCMAKE_CXX_FLAGS_DEBUG=-g.
set -euo pipefail
flavour=${1:-release}
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc)}
relwithdebinfo=(-DCMAKE_BUILD_TYPE=RelWithDebInfo
                "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")
target=()
case "$flavour" in
  release) args=("${relwithdebinfo[@]}") ;;
  asan) args=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DPOLLUX_SANITIZE=ON
              -DPOLLUX_BENCH=OFF) ;;
  fuzz) args=("${relwithdebinfo[@]}" -DPOLLUX_FUZZ=ON -DCMAKE_C_COMPILER=clang
              -DCMAKE_CXX_COMPILER=clang++)
        target=(--target fuzzers) ;;
  *) echo "usage: $0 release|asan|fuzz" >&2; exit 2 ;;
esac
cmake -S "$top" -B "$top/build/$flavour" "${args[@]}" >/dev/null
cmake --build "$top/build/$flavour" -j "$jobs" "${target[@]}" -- --no-print-directory
