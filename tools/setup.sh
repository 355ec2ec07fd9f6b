#!/usr/bin/env bash
# Installs the Debian 12 packages Pollux needs to build, test, fuzz and run its demo.
# Idempotent and quiet: when everything is present it prints nothing and changes nothing.
# Everything comes from Debian's own archive; nothing is downloaded from anywhere else.
set -euo pipefail

packages=(
  # toolchain
  g++ make cmake pkg-config git
  # clang with libFuzzer and the sanitizer runtimes (fuzz build)
  clang libclang-rt-14-dev
  # libraries
  libboost-dev libboost-system-dev       # Asio, Beast
  libyaml-cpp-dev                        # configuration
  libspdlog-dev libfmt-dev               # logging
  nlohmann-json3-dev                     # API JSON, peer-link MessagePack
  libssl-dev                             # HMAC-SHA256, random nonces, the API's HTTPS
  openssl                                # HTTPS tests: a test CA made by the CLI
  libmodbus-dev                          # simulated RTUs and the interop cross-check
  libsqlite3-dev                         # history: the embedded store
  libpq-dev                              # history: the shared PostgreSQL store
  libpaho-mqttpp-dev libpaho-mqtt-dev    # northbound: the MQTT client
  libprotobuf-dev protobuf-compiler      # northbound: Sparkplug B payloads
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  liburing-dev                           # tcp_floor benchmark: the io_uring floor
  socat                                  # pty pairs for simulated serial lines
  postgresql                             # history tests: a real server started by the test
  mosquitto                              # northbound tests: a real broker started by the test
  mosquitto-clients                      # northbound benchmark: mosquitto_sub, its subscriber
  python3                                # integration test drivers
  python3-paho-mqtt python3-protobuf     # northbound tests: the Sparkplug host the tests play
  chromium chromium-driver python3-selenium  # the operator page in a real browser (tests, ui_bench)
  clang-format clang-tidy                 # tools/lint.sh
  # documentation
  pandoc                                 # manual pages from docs/man/*.md
  man-db groff-base                      # the manual page test renders them
  # packaging (tools/package.sh, tools/package_check.sh)
  dpkg-dev                               # dpkg-shlibdeps: the package's Depends
  lintian                                # the package check
  systemd                                # systemd-analyze verify on the unit
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
