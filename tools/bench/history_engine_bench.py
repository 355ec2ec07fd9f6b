#!/usr/bin/env python3
"""History's cost to polling (history issue): the real `pollux run` against `pollux-sim`, the
engine benchmark's 10,000-device 1 s scan (TCP, one poll group of 10 holding registers per
device), with every value changing at every poll (each register a simulator counter that steps
every 100 ms), run with no `history:` section and with an SQLite history in a temporary
directory, alternately (off, on, off, on, ...) so both see the same machine.

Figures per mode (medians over --runs, the spread in brackets): Pollux CPU as % of one core
over the window (all its threads: the history writer included), p50/p99 lateness of poll start
against its due time (pollux_scheduler_lateness_seconds, as engine_bench computes it),
transactions/s, and with history: records committed per second and the queue left at the end.
Goals: CPU with history <= 1.3x without, p99 lateness <= 10 ms.

Pinning as engine_bench: Pollux (every thread) on CPU 0, the simulator on CPU 1.
"""

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engine_bench as eb  # noqa: E402


def changing_sim_yaml(n):
    """`n` devices D<i>, ten holding registers each counting up every 100 ms from different
    starts, each device behind its own Modbus TCP server T<i>."""
    out = ["devices:"]
    for i in range(n):
        regs = ", ".join("{ table: holding, address: %d, type: uint16, counter: { start: %d, "
                         "step: 1, interval_ms: 100 } }" % (r, (i * 10 + r) % 60000)
                         for r in range(10))
        out.append("  - { id: D%d, unit: 1, size: 16, registers: [ %s ] }" % (i, regs))
    out.append("tcp:")
    for i in range(n):
        out.append("  - { id: T%d, devices: [D%d] }" % (i, i))
    return "\n".join(out) + "\n"


def run(env, n, history_dir):
    a = env.args

    def node_text(sim):
        text = eb.tcp_node_yaml(sim, n, 1000)
        if history_dir:
            text += "history: { path: %s/history.db }\n" % history_dir
        return text

    sim, node = env.start(changing_sim_yaml(n), node_text, 60 + n / 100)
    try:
        eb.wait_warm(sim, node, n)
        time.sleep(a.warmup)
        m0 = node.get("/metrics", raw=True)
        before = eb.parse_lateness(m0)
        r0 = eb.metric_value(m0, "pollux_history_records_total")
        a0, t0, c0 = eb.sim_responses(sim), time.monotonic(), eb.cpu_seconds(node.proc.pid)
        time.sleep(a.window)
        c1, t1, a1 = eb.cpu_seconds(node.proc.pid), time.monotonic(), eb.sim_responses(sim)
        m1 = node.get("/metrics", raw=True)
        after = eb.parse_lateness(m1)
        r1 = eb.metric_value(m1, "pollux_history_records_total")
        queue = eb.metric_value(m1, "pollux_history_queue_records")
    finally:
        eb.Env.finish(sim, node)
    el = t1 - t0
    return {"cpu_pct": (c1 - c0) / el * 100, "p50_ms": eb.quantile(0.5, before, after) * 1000,
            "p99_ms": eb.quantile(0.99, before, after) * 1000, "tps": (a1 - a0) / el,
            "records_per_s": (r1 - r0) / el, "queue": queue}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pollux", required=True)
    p.add_argument("--sim", required=True)
    p.add_argument("--devices", type=int, default=10000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--window", type=float, default=20.0)
    p.add_argument("--no-pin", action="store_true")
    args = p.parse_args()
    env = eb.Env(args)
    results = {"off": [], "on": []}
    for i in range(args.runs):
        results["off"].append(run(env, args.devices, None))
        with tempfile.TemporaryDirectory(prefix="history_engine_bench.") as d:
            results["on"].append(run(env, args.devices, d))
        print("run %d: off %.1f %% CPU, on %.1f %% CPU (%.0f records/s)"
              % (i + 1, results["off"][-1]["cpu_pct"], results["on"][-1]["cpu_pct"],
                 results["on"][-1]["records_per_s"]), flush=True)

    def m(mode, key):
        vals = [r[key] for r in results[mode]]
        return statistics.median(vals), min(vals), max(vals)

    print("\nHistory on/off, %d TCP devices x 10 registers at 1 s, every value changing "
          "(medians of %d, [min-max])" % (args.devices, args.runs))
    print("  %-8s %22s %10s %22s %9s %14s %8s" % ("history", "Pollux CPU %", "p50 ms",
                                                 "p99 ms", "txn/s", "records/s", "queue"))
    for mode in ("off", "on"):
        cpu, p99 = m(mode, "cpu_pct"), m(mode, "p99_ms")
        print("  %-8s %22s %10.3f %22s %9.0f %14.0f %8.0f" % (
            mode, "%.1f [%.1f-%.1f]" % cpu, m(mode, "p50_ms")[0], "%.3f [%.3f-%.3f]" % p99,
            m(mode, "tps")[0], m(mode, "records_per_s")[0], m(mode, "queue")[0]))
    off = m("off", "cpu_pct")[0]
    ratio = m("on", "cpu_pct")[0] / off if off > 0 else float("nan")  # a tiny smoke run
    p99_on = m("on", "p99_ms")[0]
    print("\n  CPU ratio on/off: %.2fx (goal <= 1.3x: %s); p99 lateness with history: %.3f ms "
          "(goal <= 10 ms: %s)" % (ratio, "met" if ratio <= 1.3 else "MISSED", p99_on,
                                   "met" if p99_on <= 10 else "MISSED"))
    print("\nreproduce: %s" % " ".join(shlex.quote(x) for x in [sys.argv[0]] + sys.argv[1:]))


if __name__ == "__main__":
    main()
