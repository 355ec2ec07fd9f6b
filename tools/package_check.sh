#!/usr/bin/env bash
# The packaging check CI runs after the release build's tests (issue 22 "Tests / Packaging"):
# builds the .deb (tools/package.sh), checks it with lintian (an error fails), checks its
# systemd unit with `systemd-analyze verify`, extracts it into a temporary root (the host is not
# modified) and runs the installed `pollux check` on the installed example configuration.
#   tools/package_check.sh [BUILD_DIR]    BUILD_DIR as for tools/package.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

deb=$("$top/tools/package.sh" "$@" 2>&1 | tail -n 1)
echo "package: $deb"
fail() {
  echo "package_check: $*" >&2
  exit 1
}

echo "== lintian"
# Warnings are shown, errors fail.
lintian --fail-on error --tag-display-limit 0 "$deb"

root=$(mktemp -d "${TMPDIR:-/tmp}/pollux-pkgroot.XXXXXX")
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$root/DEBIAN"

echo "== contents"
for f in usr/bin/pollux usr/bin/polluxctl usr/bin/pollux-sim etc/pollux/pollux.yaml \
         etc/default/pollux lib/systemd/system/pollux.service \
         usr/share/doc/pollux/copyright usr/share/doc/pollux/changelog.gz; do
  [ -e "$root/$f" ] || fail "missing /$f"
done
for f in /etc/pollux/pollux.yaml /etc/default/pollux; do
  grep -qx "$f" "$root/DEBIAN/conffiles" || fail "$f is not a conffile"
done
[ "$(stat -c %a "$root/etc/default/pollux")" = 600 ] || fail "/etc/default/pollux is not 0600"
for s in postinst prerm postrm; do
  [ -x "$root/DEBIAN/$s" ] || fail "no executable $s"
done
grep -q "adduser --system --group" "$root/DEBIAN/postinst" || fail "postinst makes no system user"
deps=$(dpkg-deb -f "$deb" Depends)
for d in adduser libc6 libstdc++6 libyaml-cpp; do
  case "$deps" in *"$d"*) ;; *) fail "Depends lacks $d: $deps" ;; esac
done
for b in pollux polluxctl pollux-sim; do
  if readelf -S "$root/usr/bin/$b" | grep -q '\.symtab'; then fail "/usr/bin/$b is not stripped"; fi
done
echo "Depends: $deps"

unit="$root/lib/systemd/system/pollux.service"
for line in Type=notify WatchdogSec=30s User=pollux SupplementaryGroups=dialout \
            "EnvironmentFile=-/etc/default/pollux" StateDirectory=pollux \
            "ExecStartPre=/usr/bin/pollux check -c /etc/pollux/pollux.yaml" \
            "ExecStart=/usr/bin/pollux run -c /etc/pollux/pollux.yaml" \
            "ExecReload=/bin/kill -HUP \$MAINPID" NoNewPrivileges=yes ProtectSystem=strict \
            ProtectHome=yes PrivateTmp=yes ReadWritePaths=/var/lib/pollux CapabilityBoundingSet= AmbientCapabilities= \
            "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"; do
  grep -qxF "$line" "$unit" || fail "the unit lacks $line"
done
# Serial ports must stay reachable.
if grep -qE '^(PrivateDevices=yes|DevicePolicy=)' "$unit"; then fail "the unit hides devices"; fi

echo "== systemd-analyze verify"
# verify wants the unit's programs to exist: the unit is checked with /usr/bin pointing into the
# extracted root (the unit name stays pollux.service). --man=no: the man pages of Documentation=
# are not installed on this host.
mkdir -p "$root/verify"
sed "s#/usr/bin/#$root/usr/bin/#g" "$root/lib/systemd/system/pollux.service" \
  >"$root/verify/pollux.service"
systemd-analyze verify --man=no "$root/verify/pollux.service"

echo "== installed pollux check on the installed example"
"$root/usr/bin/pollux" --version
"$root/usr/bin/pollux" check -c "$root/etc/pollux/pollux.yaml"
echo "== package check passed"
