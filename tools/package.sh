#!/usr/bin/env bash
# Builds the Debian package: build/package/pollux_<version>_<arch>.deb.
#   tools/package.sh              a lean build of the three programs in build/package/tree
#                                 (no tests, no benchmarks), then CPack DEB
#   tools/package.sh BUILD_DIR    packages an existing build tree instead (CI: build/release)
# Install it with `sudo apt install ./build/package/pollux_*.deb`.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build/package"
jobs=${JOBS:-$(nproc)}
"$top/tools/setup.sh"

if [ $# -ge 1 ]; then
  build=$(cd "$1" && pwd)
else
  build="$out/tree"
  cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOLLUX_TESTS=OFF \
        -DPOLLUX_BENCH=OFF >/dev/null
fi
# Re-configure so the package sees the current install rules, then build what it holds.
cmake "$build" >/dev/null
cmake --build "$build" -j "$jobs" --target pollux polluxctl pollux-sim -- --no-print-directory

mkdir -p "$out"
rm -f "$out"/pollux_*.deb
# The package's tree: installed with prefix /usr (so /etc and /lib/systemd/system, see
# packaging/CMakeLists.txt) and stripped, then packed by CPack as it is. (A plain `cpack` in the
# build tree would first build every target, tests included.)
stage="$out/root"
rm -rf "$stage"
DESTDIR="$stage" cmake --install "$build" --prefix /usr --strip >/dev/null
# Debian wants manual pages compressed with gzip -9n (lintian: uncompressed-manual-page).
if [ -d "$stage/usr/share/man" ]; then
  find "$stage/usr/share/man" -type f ! -name '*.gz' -exec gzip -9nf {} +
fi
cpack --config "$build/CPackConfig.cmake" -B "$out" -D CPACK_INSTALL_CMAKE_PROJECTS= \
      -D "CPACK_INSTALLED_DIRECTORIES=$stage;/" >/dev/null
rm -rf "$stage" "$out/_CPack_Packages"
ls "$out"/pollux_*.deb
