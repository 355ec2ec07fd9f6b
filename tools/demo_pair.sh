#!/usr/bin/env bash
# The second part of README command (1): a master/backup pair taking over. Starts pollux-sim
# (sim/examples/demo-pair-sim.yaml) and two nodes (config/examples/demo-pair-{master,backup}.yaml),
# then every second prints each node's role, activity and peer link and the value the active
# node reads. At 8 s the master is killed with SIGKILL: the backup takes over within
# failover_timeout_ms (1.5 s), continuing from the state it received. At 16 s the master starts
# again and, with `recovery: automatic`, takes activity back.
#
#   POLLUX_BUILD   the build directory (default build/release; tools/demo.sh builds it)
#   PAIR_SECONDS   how long to run (default 26)
#   DEMO_CHECK     1: the short mode CI runs. Kills the master as soon as the pair is up, and
#                  fails (exit 1) unless the backup takes over within 8 s (failover_timeout_ms
#                  is 1.5 s; the rest is slack for a loaded CI machine)
#                  and the restarted master takes activity back within 15 s (about 10 s).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${POLLUX_BUILD:-$top/build/release}
pollux=$build/src/app/pollux
sim=$build/sim/pollux-sim
ctl=$build/tools/polluxctl/polluxctl
export POLLUX_PSK=${POLLUX_PSK:-demo-psk}
seconds=${PAIR_SECONDS:-26}
kill_at=8
restart_at=16

logs=$(mktemp -d /tmp/pollux-demo-pair-logs.XXXXXX)
sim_pid= master_pid= backup_pid=
# Stops a process started here and waits (bounded) until it is gone; the nodes are started
# from a command substitution, so they are not this shell's children and `wait` cannot be used.
stop() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
  trap - EXIT INT TERM
  for pid in $master_pid $backup_pid $sim_pid; do stop "$pid"; done
  echo "pair demo stopped; logs in $logs (master.log, backup.log, sim.log)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

coproc SIM { exec "$sim" -c sim/examples/demo-pair-sim.yaml 2>"$logs/sim.log"; }
sim_pid=$SIM_PID
read -r -t 10 _ <&"${SIM[0]}" || { echo "pollux-sim did not start; see $logs/sim.log" >&2; exit 1; }

start_node() {  # role -> pid on stdout
  "$pollux" run -c "config/examples/demo-pair-$1.yaml" >/dev/null 2>>"$logs/$1.log" &
  echo $!
}
master_pid=$(start_node master)
backup_pid=$(start_node backup)
echo "pair running: master API http://127.0.0.1:8781, backup API http://127.0.0.1:8782"
if [[ "${DEMO_CHECK:-0}" == 1 ]]; then
  echo "short mode: master killed (SIGKILL) once the pair is up, restarted once the backup is active"
else
  echo "timeline: master killed (SIGKILL) at ${kill_at}s, restarted at ${restart_at}s"
fi
echo

# One line per node: mode, activity, peer link, and the compressor's values as that node has them.
show() {  # name api
  local red pts
  red=$("$ctl" --api "$2" --json redundancy 2>/dev/null) || { printf '  %-7s (not running)\n' "$1"; return; }
  pts=$("$ctl" --api "$2" --json points COMP_1 2>/dev/null) || pts='[]'
  python3 -c '
import json, sys
r, pts = json.loads(sys.argv[2]), json.loads(sys.argv[3])
p = {x["name"]: x for x in pts}
val = lambda n: ("%.2f" % p[n]["value"] if isinstance(p[n]["value"], float) else str(p[n]["value"])) if n in p else "?"
peer = r.get("peer", {})
print("  %-7s %-6s %-7s peer %-9s auth %-5s  SUCTION_PRESSURE %s RUN_HOURS %s line %s (%s)" % (
    sys.argv[1], r["mode"], r["activity"], "connected" if peer.get("connected") else "down",
    str(peer.get("authenticated")).lower(), val("SUCTION_PRESSURE"), val("RUN_HOURS"),
    val("SYDEVCOMLN"), p.get("RUN_HOURS", {}).get("quality", "?")))' "$1" "$red" "$pts"
}

# The short mode: each step waits (bounded) for the activity it expects, so it fails when the
# pair does not hand over. `expect NAME API ACTIVITY SECONDS [linked]`; linked: the peer link is
# authenticated too.
expect() {
  local deadline=$((SECONDS + $4)) want=$3 got
  [[ ${5:-} == linked ]] && want="$3 linked"
  while :; do
    got=$("$ctl" --api "$2" --json redundancy 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r["activity"] + (" linked" if sys.argv[1] and r.get("peer", {}).get("authenticated") else ""))' \
      "${5:-}" 2>/dev/null) || got="not answering"
    [[ $got == "$want" ]] && return 0
    if ((SECONDS >= deadline)); then
      echo "pair demo check FAILED: $1 is $got, not $want, after ${4}s; logs in $logs" >&2
      return 1
    fi
    sleep 0.2
  done
}
if [[ "${DEMO_CHECK:-0}" == 1 ]]; then
  expect master http://127.0.0.1:8781 active 20 linked || exit 1
  expect backup http://127.0.0.1:8782 standby 10 linked || exit 1
  show master http://127.0.0.1:8781
  show backup http://127.0.0.1:8782
  echo "  >>> kill -9 master (pid $master_pid)"
  kill -KILL "$master_pid" || true
  master_pid=
  t0=$SECONDS
  expect backup http://127.0.0.1:8782 active 8 || exit 1
  echo "  backup active $((SECONDS - t0))s after the kill"
  show backup http://127.0.0.1:8782
  echo "  >>> master starts again"
  master_pid=$(start_node master)
  expect master http://127.0.0.1:8781 active 15 linked || exit 1
  expect backup http://127.0.0.1:8782 standby 5 linked || exit 1
  show master http://127.0.0.1:8781
  show backup http://127.0.0.1:8782
  echo "pair demo check: the backup took over and handed activity back"
  exit 0
fi

start=$SECONDS
while (( SECONDS - start < seconds )); do
  t=$((SECONDS - start))
  if (( t == kill_at )) && [[ -n "$master_pid" ]]; then
    echo "  >>> kill -9 master (pid $master_pid)"
    kill -KILL "$master_pid" || true
    master_pid=
  fi
  if (( t == restart_at )) && [[ -z "$master_pid" ]]; then
    echo "  >>> master starts again"
    master_pid=$(start_node master)
  fi
  echo "t=${t}s"
  show master http://127.0.0.1:8781
  show backup http://127.0.0.1:8782
  sleep 1
done
echo
echo "redundancy events on the backup:"
"$ctl" --api http://127.0.0.1:8782 redundancy | sed -n '/SEQ/,$p' || true
