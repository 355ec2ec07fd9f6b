#!/usr/bin/env python3
"""Takeover time of a master/backup pair (redundancy issue): the master is killed with SIGKILL,
and the time to the backup's first successful poll is taken from the simulator (the first
answer the device sends after the kill; only the backup is alive to ask). Repeated N times:
after each takeover the master is restarted and, with recovery automatic, takes activity back.

Prints p50/p99/max against failover_timeout_ms and the goal p99 <= failover_timeout_ms + 250 ms.

  tools/bench/takeover_bench.py --pollux build/release/src/app/pollux \\
      --sim build/release/sim/pollux-sim [--trials 20] [--failover-ms 1200] [--heartbeat-ms 200] \\
      [--standby warm|cold] [--device A|C]

Smoke mode (CI, tools/bench/smoke.sh): `--trials 1`.

Device A is polled over the serial line (its port is opened at takeover); device C over TCP,
which a warm standby has already connected (redundancy.md "Roles and activity"), so
`--standby warm --device C` against `--standby cold --device C` shows the connect it saves.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pollux", default=os.environ.get(
        "POLLUX_BIN", os.path.join(ROOT, "build/release/src/app/pollux")))
    ap.add_argument("--sim", default=os.environ.get(
        "POLLUX_SIM_BIN", os.path.join(ROOT, "build/release/sim/pollux-sim")))
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--failover-ms", type=int, default=1200)
    ap.add_argument("--heartbeat-ms", type=int, default=200)
    ap.add_argument("--poll-ms", type=int, default=200)
    ap.add_argument("--standby", choices=("warm", "cold"), default="warm")
    ap.add_argument("--device", choices=("A", "C"), default="A",
                    help="A: serial line; C: TCP endpoint")
    args = ap.parse_args()

    os.environ["POLLUX_BIN"] = args.pollux
    os.environ["POLLUX_SIM_BIN"] = args.sim
    sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
    from pollux_support import pair  # noqa: E402 - the redundancy tests' pair harness
    from pollux_support.node import wait_until  # noqa: E402
    from pollux_support.sim import Sim  # noqa: E402

    # No turnaround: the answer follows the request at once, so "first request after the kill"
    # and "first successful poll" differ by microseconds.
    sim_yaml = pair.SIM_YAML.replace("turnaround_ms: 40, ", "")

    sim = Sim(args.sim, sim_yaml)
    nodes = []
    harness = pair.PairHarness(sim, nodes, failover_ms=args.failover_ms,
                               heartbeat_ms=args.heartbeat_ms, poll_ms=args.poll_ms)
    samples = []
    try:
        master, backup = harness.start(standby=args.standby, tcp_device=True)

        def answers():
            return sim.stats()["devices"][args.device]["responses"]

        for trial in range(args.trials):
            harness.wait(master, backup, "active", "standby", timeout=15)
            time.sleep(0.5)  # a few polls and state deltas in steady state
            before = answers()
            t0 = time.monotonic()
            master.kill()
            wait_until(lambda: answers() > before, args.failover_ms / 1000.0 + 5, interval=0.005,
                       what="the backup's first answered poll")
            ms = (time.monotonic() - t0) * 1000.0
            samples.append(ms)
            print("trial %2d: %.0f ms" % (trial + 1, ms), flush=True)
            master.start()
        overlaps = sim.stats()["lines"]["L1"]["overlaps"]
    finally:
        for n in nodes:
            try:
                n.stop()
            except AssertionError:
                pass
        sim.stop()

    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(round(0.99 * (len(samples) - 1))))]
    goal = args.failover_ms + 250
    print()
    print("command: %s" % " ".join([os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]))
    print("takeover (SIGKILL of the master -> backup's first answered poll of %s, %s), %d trials, "
          "%s standby, heartbeat %d ms, failover_timeout %d ms, poll interval %d ms:"
          % (args.device, "serial" if args.device == "A" else "TCP", len(samples), args.standby,
             args.heartbeat_ms, args.failover_ms, args.poll_ms))
    print("  min %.0f ms  p50 %.0f ms  p99 %.0f ms  max %.0f ms" %
          (samples[0], p50, p99, samples[-1]))
    print("  p50 - failover_timeout = %+.0f ms, p99 - failover_timeout = %+.0f ms" %
          (p50 - args.failover_ms, p99 - args.failover_ms))
    print("  goal p99 <= %d ms: %s; serial overlaps during all handovers: %d" %
          (goal, "met" if p99 <= goal else "NOT met", overlaps))
    return 0 if p99 <= goal and overlaps == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
