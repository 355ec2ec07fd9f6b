#!/usr/bin/env bash
# README command (1): set up, build, validate the example configs, then run the failover demo:
# pollux-sim (sim/examples/demo-sim.yaml: RTUs on a pty pair, a Modbus TCP gateway and a modem,
# with a timeline that silences primaries for a while) and `pollux run -c
# config/examples/demo.yaml` against it. Every second it prints each device's SYDEV* points and
# the new failover events, so you watch WELL_01 go to TCP and back to its serial line and
# PUMP_03 dial its modem and come back. The node also publishes with Sparkplug B to a scratch
# mosquitto on 127.0.0.1:18830, and tools/sparkplug_host.py prints what a host receives there
# (births, then DDATA as values change and devices fail over).
#
#   DEMO_SECONDS   how long to run (default 60; 0 = until Ctrl-C)
#   POLLUX_BUILD   use this existing build directory, skipping setup and build
#   POLLUX_API     the node's API (default http://127.0.0.1:8780, as in demo.yaml)
#   DEMO_PAIR      0 skips part 2, the master/backup takeover (tools/demo_pair.sh)
#   DEMO_CHECK     1: the short mode CI runs. Ends at the first failover off a primary line
#                  (WELL_01 to TCP, about 13 s in) and fails (exit 1) when none comes within
#                  DEMO_SECONDS (default 40 then) or when the node or the simulator does not
#                  exit cleanly; part 2 then checks the takeover and the hand-back the same way.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [[ -n "${POLLUX_BUILD:-}" ]]; then
  build=$POLLUX_BUILD
else
  "$top/tools/setup.sh"
  "$top/tools/build.sh" release
  build=$top/build/release
fi
pollux=$build/src/app/pollux
sim=$build/sim/pollux-sim
ctl=$build/tools/polluxctl/polluxctl
export POLLUX_PSK=${POLLUX_PSK:-demo-psk}
# The pair examples listen on every address, so they take API tokens from the environment (as a
# service does from /etc/default/pollux); demo values let them validate here.
export POLLUX_TOKEN_SCADA=${POLLUX_TOKEN_SCADA:-demo-scada-token-0001}
export POLLUX_TOKEN_ADMIN=${POLLUX_TOKEN_ADMIN:-demo-admin-token-0001}
export POLLUX_API=${POLLUX_API:-http://127.0.0.1:8780}
check=${DEMO_CHECK:-0}
if [[ $check == 1 ]]; then seconds=${DEMO_SECONDS:-40}; else seconds=${DEMO_SECONDS:-60}; fi

for f in config/examples/*.yaml; do
  if "$pollux" check -c "$f"; then echo "valid: $f"; else exit 1; fi
done

logs=$(mktemp -d /tmp/pollux-demo-logs.XXXXXX)
sim_pid=
node_pid=
broker_pid=
host_pid=
node_rc=0
sim_rc=0
cleanup() {
  trap - EXIT INT TERM
  for pid in $host_pid $broker_pid; do
    { kill -TERM "$pid" && wait "$pid"; } 2>/dev/null || true
  done
  host_pid= broker_pid=
  # SIGTERM: the node closes its channels, the simulator writes its report and removes its ptys.
  if [[ -n "$node_pid" ]] && kill -TERM "$node_pid" 2>/dev/null; then
    wait "$node_pid" 2>/dev/null || node_rc=$?
  fi
  if [[ -n "$sim_pid" ]] && kill -TERM "$sim_pid" 2>/dev/null; then
    wait "$sim_pid" 2>/dev/null || sim_rc=$?
  fi
  node_pid= sim_pid=
  echo "demo stopped; logs in $logs (node.log, sim.log, sim-report.json, sparkplug.log)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The simulator prints one JSON line once its ptys, TCP port and modem are ready.
coproc SIM { exec "$sim" -c sim/examples/demo-sim.yaml --report "$logs/sim-report.json" 2>"$logs/sim.log"; }
sim_pid=$SIM_PID
if ! read -r -t 10 ready <&"${SIM[0]}"; then
  echo "pollux-sim did not start; see $logs/sim.log" >&2
  exit 1
fi
echo "pollux-sim ready: $ready"
# The broker the node publishes to (config/examples/demo.yaml `northbound:`), with a config of its
# own (never the system's service), and the Sparkplug host that prints what arrives.
printf 'listener 18830 127.0.0.1\nallow_anonymous true\npersistence false\n' >"$logs/mosquitto.conf"
/usr/sbin/mosquitto -c "$logs/mosquitto.conf" 2>"$logs/mosquitto.log" &
broker_pid=$!
/usr/bin/python3 tools/sparkplug_host.py --url tcp://127.0.0.1:18830 --group Demo \
  >"$logs/sparkplug.log" 2>&1 &
host_pid=$!
# Births go out once, when the node connects: the host subscribes first so it sees them.
for _ in $(seq 50); do
  grep -q "subscribed" "$logs/sparkplug.log" 2>/dev/null && break
  sleep 0.2
done
"$pollux" run -c config/examples/demo.yaml 2>"$logs/node.log" &
node_pid=$!
for _ in $(seq 50); do
  grep -q "API listening" "$logs/node.log" 2>/dev/null && break
  kill -0 "$node_pid" 2>/dev/null || { cat "$logs/node.log" >&2; exit 1; }
  sleep 0.2
done
echo "pollux running (API $POLLUX_API); $([[ $seconds == 0 ]] && echo "Ctrl-C to stop" || echo "for ${seconds}s")"
echo "timeline: WELL_01 serial silent from 8 s for 20 s; PUMP_03 TCP silent from 14 s for 12 s"
echo

# One line per device per second: active line and channel (SYDEVCOMLN/SYDEVCOMID), primary
# failed over (SYDEVPRFO), the configured channels, and the first data point with its quality.
show() {
  python3 -c '
import json, sys
points = {}
for p in json.load(sys.stdin):
    points.setdefault(p["device"], {})[p["name"]] = p
for dev, p in points.items():
    data = [x for n, x in p.items() if not n.startswith("SYDEV")]
    fmt = lambda v: "%.2f" % v if isinstance(v, float) else str(v)
    first = "%s=%s (%s)" % (data[0]["name"], fmt(data[0]["value"]), data[0]["quality"]) if data else ""
    v = lambda n: p[n]["value"] if n in p else "?"
    print("  %-8s line %s on %-6s PRFO %s  [%s|%s|%s]  %s" % (
        dev, v("SYDEVCOMLN"), v("SYDEVCOMID"), v("SYDEVPRFO"), v("SYDEVPCOM"),
        v("SYDEVSCOM") or "-", v("SYDEVTCOM") or "-", first))
'
}

start=$SECONDS
since=0
shown=0  # lines of sparkplug.log printed so far
while [[ $seconds == 0 ]] || (( SECONDS - start < seconds )); do
  if ! kill -0 "$node_pid" 2>/dev/null; then
    # Ctrl-C reaches the whole process group: pollux then stops cleanly (exit 0) on its own.
    rc=0
    wait "$node_pid" || rc=$?
    node_pid=
    if ((rc == 0)) && [[ $check != 1 ]]; then echo "pollux stopped"; exit 0; fi
    echo "pollux exited with status $rc; see $logs/node.log" >&2
    exit 1
  fi
  echo "t=$((SECONDS - start))s"
  "$ctl" --json points | show || true
  # New line changes since the last turn; the last seq seen is kept in a file, and the first
  # failover off a primary line is noted in another (the short mode's success).
  "$ctl" --json events --since "$since" | python3 -c '
import json, sys
ev = json.load(sys.stdin)
for e in ev:
    print("  EVENT #%d %s %s: line %d -> %d (%s)" % (e["seq"], e["time"], e["device"], e["from"],
                                                     e["to"], e["reason"]))
    if e["from"] == 1 and e["to"] != 1:
        open(sys.argv[2], "a").write("%s line 1 -> %d\n" % (e["device"], e["to"]))
if ev:
    open(sys.argv[1], "w").write(str(ev[-1]["seq"]))' "$logs/since" "$logs/failovers" || true
  [[ -f "$logs/since" ]] && since=$(<"$logs/since")
  # What the Sparkplug host received since the last turn.
  total=$(wc -l <"$logs/sparkplug.log")
  if ((total > shown)); then
    sed -n "$((shown + 1)),${total}s/^/  MQTT /p" "$logs/sparkplug.log"
    shown=$total
  fi
  [[ $check == 1 && -s "$logs/failovers" ]] && break
  sleep 1
done

# Part 2: a master/backup pair taking over (tools/demo_pair.sh). DEMO_PAIR=0 skips it.
cleanup
if [[ $check == 1 ]]; then
  if [[ ! -s "$logs/failovers" ]]; then
    echo "demo check FAILED: no failover off a primary line within ${seconds}s" >&2
    exit 1
  fi
  for type in NBIRTH DBIRTH DDATA; do
    if ! grep -q "^$type " "$logs/sparkplug.log"; then
      echo "demo check FAILED: the Sparkplug host received no $type (see $logs/sparkplug.log)" >&2
      exit 1
    fi
  done
  if ((node_rc != 0 || sim_rc != 0)); then
    echo "demo check FAILED: pollux exited $node_rc, pollux-sim exited $sim_rc" >&2
    exit 1
  fi
  echo "demo check: failover shown ($(head -1 "$logs/failovers")), Sparkplug births and data received, clean exits"
fi
if [[ "${DEMO_PAIR:-1}" != 0 ]]; then
  echo
  echo "== part 2: a master/backup pair; the master is killed and comes back"
  POLLUX_BUILD=$build exec "$top/tools/demo_pair.sh"
fi
