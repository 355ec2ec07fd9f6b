#!/usr/bin/env python3
"""Whole-system engine benchmark (performance issue): the real `pollux run` against
`pollux-sim`, Python 3 stdlib only.

Scenarios (each repeated --runs times; the table shows medians and the spread):
  saturation  N TCP devices (one simulated server each, one Pollux TCP channel with
              max_connections N), one poll group of 10 holding registers (one FC3 read) at
              interval_ms 1: every device's next poll is due before its previous one ends, so
              each device always has one message in flight ("as fast as possible"; the refused
              due times show as scheduler overruns). Figures: transactions/s (channel
              "answers" from /api/v1/channels over the window), Pollux CPU us per transaction
              (utime+stime from /proc/PID/stat over the window), peak RSS (VmHWM), and the
              simulator's CPU share (is it the bottleneck?).
  realistic   10,000 TCP devices at interval_ms 1000: Pollux CPU as % of one core over the
              window, p50/p99 lateness of poll start against its due time from the
              pollux_scheduler_lateness_seconds histogram (difference of two /metrics
              snapshots; quantiles interpolated inside a bucket, as Prometheus does). Then
              --listing-window seconds with a client reading GET /api/v1/points (all 160,000
              points) back to back, then as long reading GET /metrics: the same lateness and CPU
              while the API's largest answers are served (not a goal of the issue; it shows
              they do not stall the polls).
  capped      --capped-devices TCP devices at interval_ms 1000 on a channel whose
              max_connections is --capped-max: nearly every poll evicts an idle connection and
              connects (not a goal of the issue; it shows what choosing the connection to evict
              costs when a cap is below the endpoint count).
  serial      one RTU line, the simulator pacing bytes at the baud rate (timing: true), one
              device at interval_ms 1: transactions/s against the wire limit
              1 / ((8 + 25) * 10 / baud + 2 * t3.5), t3.5 = 3.5 * 11 / baud (1.75 ms above 19200,
              as drivers/modbus/timing computes it).

Warm-up (saturation and realistic): every device answered at least once and twice on average
(so 10,000 connections are made before the window), then --warmup seconds. "fails" is the
failed tries inside the window.

Pinning: Pollux runs on CPU 0 and the simulator (and this script) on CPU 1 when the machine has
two CPUs or more (os.sched_setaffinity, inherited by children: the same as taskset).
"""

import argparse
import json
import os
import shlex
import statistics
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "support"))
from pollux_support import node as support_node  # noqa: E402
from pollux_support.configs import tcp_sim_yaml  # noqa: E402
from pollux_support.sim import Sim  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
GOALS = {
    "cpu_us_1000": 8.0,
    "rss_1000": 40.0,
    "rss_10000": 150.0,
    "cpu_pct_realistic": 15.0,
    "p99_ms": 10.0,
    "serial_eff_9600": 90.0,
}


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is state (field 3); utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def runq_wait_s(pid):
    """Seconds Pollux's threads spent runnable but waiting for a CPU (/proc/<pid>/task/*/schedstat,
    second field): lateness the engine cannot cause nor cure, noted beside the p99."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[1])
    except OSError:
        return float("nan")
    return total / 1e9


def voluntary_switches(pid):
    """Times Pollux's threads went to sleep (voluntary context switches): each is one wake-up,
    an epoll_wait that blocked."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
    except OSError:
        return float("nan")
    return total


def vm_hwm_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class Pinning:
    def __init__(self, enabled):
        cpus = sorted(os.sched_getaffinity(0))
        self.ok = enabled and len(cpus) >= 2
        self.pollux_cpu = cpus[0] if self.ok else None
        self.sim_cpu = cpus[1] if self.ok else None
        self.all = set(cpus)

    def for_sim(self):
        # The simulator is started by this process: pin ourselves, the child inherits it.
        if self.ok:
            os.sched_setaffinity(0, {self.sim_cpu})

    def pollux_preexec(self):
        if not self.ok:
            return None
        cpu = self.pollux_cpu
        return lambda: os.sched_setaffinity(0, {cpu})

    def restore(self):
        os.sched_setaffinity(0, self.all)


class Node(support_node.Node):
    """The shared node, quiet (--log-level warn) and pinned, with a long start-up (a large
    config loads for seconds) and what the scenarios read from its API."""

    def __init__(self, binary, config_text, pinning, startup_timeout):
        super().__init__(config_text, prefix="engine_bench.", binary=binary,
                         args=["--log-level", "warn"], preexec_fn=pinning.pollux_preexec(),
                         startup_timeout=startup_timeout)

    def tail(self):
        return self.text()[-2000:]

    def get(self, path, raw=False):
        with urllib.request.urlopen(self.base + path, timeout=60) as r:
            body = r.read()
        return body.decode() if raw else json.loads(body)

    def answers(self):
        return sum(c["stats"].get("answers", 0) for c in self.get("/api/v1/channels"))

    def failures(self):
        return sum(c["stats"].get("failures", 0) for c in self.get("/api/v1/channels"))


POINTS = "\n".join("          - { name: R%d, table: holding, address: %d, type: uint16 }" % (r, r)
                   for r in range(10))


def node_yaml(channel, devices):
    """devices: [(id, unit, path flow map, interval_ms)]"""
    out = ["node: { name: bench }", "api: { listen: 127.0.0.1:API_PORT }", "channels:",
           "  - " + channel, "devices:"]
    for did, unit, path, interval in devices:
        out.append("  - id: %s\n    unit: %d\n    comm: { primary: %s }" % (did, unit, path))
        out.append("    polls:\n      - name: g\n        interval_ms: %d\n        points:" % interval)
        out.append(POINTS)
    return "\n".join(out) + "\n"


def tcp_node_yaml(sim, n, interval, max_connections=None):
    ch = ("{ id: NET, type: tcp, protocol: modbus-tcp, max_connections: %d, "
          "message_timeout_ms: 2000, poll_attempts: 1 }" % (max_connections or max(n, 1)))
    devs = []
    for i in range(n):
        host, port = sim.tcp_addr("T%d" % i)
        devs.append(("D%d" % i, 1, "{ channel: NET, host: %s, port: %d }" % (host, port),
                     interval))
    return node_yaml(ch, devs)


def metric_value(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return float("nan")


def parse_lateness(text):
    buckets = []
    for line in text.splitlines():
        if line.startswith("pollux_scheduler_lateness_seconds_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if le == "+Inf" else float(le), int(line.split()[-1])))
    return buckets


def quantile(q, before, after):
    """Prometheus-style histogram_quantile over the difference of two cumulative snapshots."""
    delta = [(le, b - a) for (le, b), (_, a) in zip(after, before)]
    total = delta[-1][1]
    if total == 0:
        return float("nan")
    rank = q * total
    prev_le, prev_cum = 0.0, 0
    for le, cum in delta:
        if cum >= rank:
            if le == float("inf"):
                return prev_le
            in_bucket = cum - prev_cum
            return prev_le + (le - prev_le) * ((rank - prev_cum) / in_bucket if in_bucket else 0)
        prev_le, prev_cum = le, cum
    return prev_le


class Env:
    def __init__(self, args):
        self.args = args
        self.pin = Pinning(not args.no_pin)

    def start(self, sim_text, node_text_fn, startup_timeout):
        self.pin.for_sim()
        sim = Sim(self.args.sim, sim_text, timeout=startup_timeout)
        try:
            node = Node(self.args.pollux, node_text_fn(sim), self.pin, startup_timeout)
        except AssertionError as e:  # did not start: the scenario reports it and goes on
            sim._kill()
            raise RuntimeError(str(e)) from e
        except Exception:
            sim._kill()
            raise
        return sim, node

    @staticmethod
    def finish(sim, node):
        try:
            node.stop(timeout=60)
        except AssertionError as e:  # killed after the timeout; the figures are taken
            print("warning: %s" % e, file=sys.stderr)
        try:
            sim.stop(timeout=60)
        except Exception as e:  # noqa: BLE001 - a benchmark figure is already taken
            print("warning: %s" % e, file=sys.stderr)
            sim._kill()


def wait_answers(node, target, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.answers() >= target:
            return True
        time.sleep(0.2)
    return False


def sim_responses(sim):
    """Answers the simulator sent: counted outside Pollux, so a saturated engine whose API
    answers slowly is still measured."""
    st = sim.cmd({"cmd": "stats"}, timeout=60)
    return sum(d.get("responses", 0) for d in st.get("devices", {}).values())


def warmed_up(sim, n):
    """At least 99.5 % of the devices answered and, on average, twice: connections are made
    (10,000 of them take a while), so the window measures steady polling, not the connect storm.
    Not every device: at N=10000 the simulator needs a listening socket and a connection per
    device, and a 20,000 open-file limit leaves a few devices unreachable."""
    st = sim.cmd({"cmd": "stats"}, timeout=60)
    counts = [d.get("responses", 0) for d in st.get("devices", {}).values()]
    answered = sum(1 for c in counts if c >= 1)
    return len(counts) >= n and answered >= 0.995 * n and sum(counts) >= 2 * n


def wait_warm(sim, node, n):
    deadline = time.monotonic() + 60 + n / 50
    while not warmed_up(sim, n):
        if time.monotonic() > deadline:
            raise RuntimeError("warm-up: fewer than 99.5 % of the devices answered: " + node.tail())
        time.sleep(0.5)


def try_metric(node, name):
    try:
        return metric_value(node.get("/metrics", raw=True), name)
    except OSError:
        return float("nan")


def run_saturation(env, n):
    a = env.args
    sim, node = env.start(tcp_sim_yaml(n), lambda s: tcp_node_yaml(s, n, 1), 60 + n / 100)
    try:
        wait_warm(sim, node, n)
        time.sleep(a.warmup)
        try:
            fails0 = node.failures()
        except OSError:
            fails0 = None
        due0 = try_metric(node, "pollux_scheduler_polls_due_total")
        t0 = time.monotonic()
        a0 = sim_responses(sim)
        c0, s0 = cpu_seconds(node.proc.pid), cpu_seconds(sim.proc.pid)
        time.sleep(a.window)
        c1, s1 = cpu_seconds(node.proc.pid), cpu_seconds(sim.proc.pid)
        a1 = sim_responses(sim)
        t1 = time.monotonic()
        due1 = try_metric(node, "pollux_scheduler_polls_due_total")
        try:  # failed tries in the window (the connect storm of the warm-up excluded)
            fails = node.failures() - fails0 if fails0 is not None else -1
        except OSError:
            fails = -1
        rss = vm_hwm_mb(node.proc.pid)
    finally:
        Env.finish(sim, node)
    tx = a1 - a0
    el = t1 - t0
    return {"tps": tx / el, "cpu_us": (c1 - c0) / tx * 1e6 if tx else float("nan"),
            "rss_mb": rss, "pollux_cpu_pct": (c1 - c0) / el * 100,
            "sim_cpu_pct": (s1 - s0) / el * 100, "failures": fails,
            # Due times reached per transaction: >1 means refused fires (the previous poll of
            # the device was still running), the cost of interval_ms 1.
            "due_per_txn": (due1 - due0) / tx if tx else float("nan")}


def run_realistic(env, n):
    a = env.args
    sim, node = env.start(tcp_sim_yaml(n), lambda s: tcp_node_yaml(s, n, 1000), 60 + n / 100)
    try:
        wait_warm(sim, node, n)
        time.sleep(a.warmup)
        m_t = time.monotonic()
        before = parse_lateness(node.get("/metrics", raw=True))
        metrics_s = time.monotonic() - m_t
        a0 = sim_responses(sim)
        t0 = time.monotonic()
        c0 = cpu_seconds(node.proc.pid)
        w0 = runq_wait_s(node.proc.pid)
        v0 = voluntary_switches(node.proc.pid)
        time.sleep(a.realistic_window)
        c1 = cpu_seconds(node.proc.pid)
        w1 = runq_wait_s(node.proc.pid)
        v1 = voluntary_switches(node.proc.pid)
        t1 = time.monotonic()
        a1 = sim_responses(sim)
        after = parse_lateness(node.get("/metrics", raw=True))
        listing = {}
        if a.listing_window > 0:  # the two largest answers the API has, each read back to back
            listing.update(reader_load(node, a.listing_window, "/api/v1/points", "listing"))
            listing.update(reader_load(node, a.listing_window, "/metrics", "scrape"))
        rss = vm_hwm_mb(node.proc.pid)
    finally:
        Env.finish(sim, node)
    el = t1 - t0
    return {**listing,
            "cpu_pct": (c1 - c0) / el * 100, "p50_ms": quantile(0.5, before, after) * 1000,
            "p99_ms": quantile(0.99, before, after) * 1000, "tps": (a1 - a0) / el,
            "polls": after[-1][1] - before[-1][1], "rss_mb": rss, "metrics_fetch_s": metrics_s,
            "runq_wait_ms_per_s": (w1 - w0) / el * 1000,
            "wakes_per_txn": (v1 - v0) / (a1 - a0) if a1 > a0 else float("nan"),
            "lateness_buckets": [(le, b - a) for (le, b), (_, a) in zip(after, before)]}


def channel_stat(node, name):
    return sum(c["stats"].get(name, 0) for c in node.get("/api/v1/channels"))


def run_capped(env, n, cap):
    """More endpoints than max_connections: nearly every poll finds its connection evicted, so
    it evicts the least recently used idle one and connects. The cost of choosing whom to evict
    shows as CPU per transaction against the same poll rate with no cap (realistic)."""
    a = env.args
    sim, node = env.start(tcp_sim_yaml(n), lambda s: tcp_node_yaml(s, n, 1000, cap), 60 + n / 100)
    try:
        wait_warm(sim, node, n)
        time.sleep(a.warmup)
        a0, e0, f0 = sim_responses(sim), channel_stat(node, "evictions"), node.failures()
        t0 = time.monotonic()
        c0 = cpu_seconds(node.proc.pid)
        time.sleep(a.realistic_window)
        c1 = cpu_seconds(node.proc.pid)
        t1 = time.monotonic()
        a1, e1, f1 = sim_responses(sim), channel_stat(node, "evictions"), node.failures()
        rss = vm_hwm_mb(node.proc.pid)
    finally:
        Env.finish(sim, node)
    el, tx = t1 - t0, a1 - a0
    return {"tps": tx / el, "cpu_pct": (c1 - c0) / el * 100,
            "cpu_us": (c1 - c0) / tx * 1e6 if tx else float("nan"),
            "evictions_per_s": (e1 - e0) / el, "failures": f1 - f0, "rss_mb": rss}


def reader_load(node, window, path, key):
    """A window in which a client reads `path` back to back (GET /api/v1/points, every point of
    every device, or /metrics): the scan's lateness and Pollux's CPU while the API serves its
    largest answers. Both are built a part per I/O turn, so polls go on in between."""
    stop = threading.Event()
    fetches = []

    def reader():
        while not stop.is_set():
            t = time.monotonic()
            body = node.get(path, raw=True)
            fetches.append((time.monotonic() - t, len(body)))

    before = parse_lateness(node.get("/metrics", raw=True))
    c0, t0 = cpu_seconds(node.proc.pid), time.monotonic()
    th = threading.Thread(target=reader)
    th.start()
    time.sleep(window)
    stop.set()
    th.join()
    c1, t1 = cpu_seconds(node.proc.pid), time.monotonic()
    after = parse_lateness(node.get("/metrics", raw=True))
    return {key + "_p99_ms": quantile(0.99, before, after) * 1000,
            key + "_p50_ms": quantile(0.5, before, after) * 1000,
            key + "_cpu_pct": (c1 - c0) / (t1 - t0) * 100,
            key + "_fetches": len(fetches),
            key + "_fetch_s": statistics.median(f for f, _ in fetches) if fetches else float("nan"),
            key + "_mb": fetches[0][1] / 1e6 if fetches else 0.0}


def wire_limit(baud):
    t35 = 3.5 * 11 / baud if baud <= 19200 else 0.00175
    return 1.0 / ((8 + 25) * 10 / baud + 2 * t35)


def run_serial(env, baud):
    a = env.args
    sim_text = ("devices:\n  - { id: S1, unit: 1, size: 16, registers: [ { table: holding, "
                "address: 0, words: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] } ] }\n"
                "serial:\n  - { id: L1, baud: %d, timing: true, devices: [S1] }\n" % baud)

    def node_text(sim):
        ch = ("{ id: COM1, type: serial, protocol: modbus-rtu, port: %s, baud: %d, "
              "message_timeout_ms: 1000 }" % (sim.serial["L1"], baud))
        return node_yaml(ch, [("S1", 1, "{ channel: COM1 }", 1)])

    sim, node = env.start(sim_text, node_text, 30)
    try:
        if not wait_answers(node, 3, 20):
            raise RuntimeError("serial warm-up failed: " + node.tail())
        time.sleep(1)
        a0, t0 = node.answers(), time.monotonic()
        time.sleep(a.serial_window)
        a1, t1 = node.answers(), time.monotonic()
        fails = node.failures()
    finally:
        Env.finish(sim, node)
    tps = (a1 - a0) / (t1 - t0)
    return {"tps": tps, "limit": wire_limit(baud), "eff_pct": tps / wire_limit(baud) * 100,
            "failures": fails}


def med(runs, key):
    vals = [r[key] for r in runs]
    return statistics.median(vals), min(vals), max(vals)


def fmt(v, spec):
    return format(v, spec)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pollux", required=True, help="path of the pollux binary")
    p.add_argument("--sim", required=True, help="path of the pollux-sim binary")
    p.add_argument("--scenarios", default="saturation,realistic,serial")
    p.add_argument("--devices", default="1,100,1000,10000", help="saturation sizes")
    p.add_argument("--realistic-devices", type=int, default=10000)
    p.add_argument("--capped-devices", type=int, default=4000)
    p.add_argument("--capped-max", type=int, default=2000)
    p.add_argument("--bauds", default="9600,115200")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--warmup", type=float, default=3.0, help="seconds after all devices answered")
    p.add_argument("--window", type=float, default=5.0, help="saturation window, s")
    p.add_argument("--realistic-window", type=float, default=20.0)
    p.add_argument("--serial-window", type=float, default=10.0)
    p.add_argument("--listing-window", type=float, default=10.0,
                   help="realistic: then this long with a client reading all points back to "
                        "back, and as long reading /metrics (0: skip)")
    p.add_argument("--no-pin", action="store_true")
    p.add_argument("--json", help="also write every run's figures to this file")
    args = p.parse_args()
    env = Env(args)
    scen = args.scenarios.split(",")
    results = {}
    class Rows(list):
        def append(self, line):  # shown as soon as measured; the table is repeated at the end
            print(line, flush=True)
            super().append(line)

    rows = Rows()
    goal_rows = []

    def status(ok):
        return "met" if ok else "MISSED"

    if "saturation" in scen:
        rows.append("Saturation (TCP, 10 holding registers, interval_ms 1)")
        rows.append("  %6s %10s %20s %9s %9s %6s %8s %6s" % (
            "N", "txn/s", "CPU us/txn", "VmHWM MB", "pollux %", "sim %", "due/txn", "fails"))
        for n in [int(x) for x in args.devices.split(",")]:
            try:
                runs = [run_saturation(env, n) for _ in range(args.runs)]
            except RuntimeError as e:  # e.g. never reached steady state: say so, go on
                rows.append("  %6d  FAILED: %s" % (n, str(e).splitlines()[0][:100]))
                results["saturation_%d" % n] = {"failed": str(e)[:2000]}
                continue
            results["saturation_%d" % n] = runs
            tps, cpu, rss = med(runs, "tps"), med(runs, "cpu_us"), med(runs, "rss_mb")
            rows.append("  %6d %10.0f %20s %9.1f %9.0f %6.0f %8.2f %6d" % (
                n, tps[0], "%.2f [%.2f-%.2f]" % cpu, rss[0], med(runs, "pollux_cpu_pct")[0],
                med(runs, "sim_cpu_pct")[0], med(runs, "due_per_txn")[0],
                max(r["failures"] for r in runs)))
            if n == 1000:
                goal_rows.append(("CPU per transaction at N=1000", "%.2f us" % cpu[0], "<= 8 us",
                                  status(cpu[0] <= GOALS["cpu_us_1000"])))
                goal_rows.append(("peak RSS at 1000 devices", "%.1f MB" % rss[0], "<= 40 MB",
                                  status(rss[0] <= GOALS["rss_1000"])))
            if n == 10000:
                goal_rows.append(("peak RSS at 10000 devices", "%.1f MB" % rss[0], "<= 150 MB",
                                  status(rss[0] <= GOALS["rss_10000"])))
    if "realistic" in scen:
        n = args.realistic_devices
        try:
            runs = [run_realistic(env, n) for _ in range(args.runs)]
        except (RuntimeError, OSError) as e:
            runs = []
            rows.append("Realistic (%d devices): FAILED: %s" % (n, str(e).splitlines()[0][:100]))
    if "realistic" in scen and runs:
        results["realistic_%d" % n] = runs
        cpu, p50, p99 = med(runs, "cpu_pct"), med(runs, "p50_ms"), med(runs, "p99_ms")
        rows.append("Realistic (%d TCP devices, interval_ms 1000, %.0f s window)" % (
            n, args.realistic_window))
        rows.append("  CPU %% of one core: %.1f [%.1f-%.1f]   lateness p50 %.3f ms [%.3f-%.3f]   "
                    "p99 %.3f ms [%.3f-%.3f]" % (cpu + p50 + p99))
        rows.append("  txn/s %.0f, polls in window %d, wake-ups per txn %.2f, VmHWM %.1f MB, "
                    "/metrics fetch %.2f s" % (
                        med(runs, "tps")[0], med(runs, "polls")[0], med(runs, "wakes_per_txn")[0],
                        med(runs, "rss_mb")[0], med(runs, "metrics_fetch_s")[0]))
        rows.append("  Pollux runnable but not running (CPU contention): %.1f ms per s [%.1f-%.1f]"
                    % med(runs, "runq_wait_ms_per_s"))
        for key, path in (("listing", "GET /api/v1/points"), ("scrape", "GET /metrics")):
            if args.listing_window <= 0:
                break
            rows.append("  then %.0f s with a client reading %s back to back "
                        "(%.1f MB, %.2f s each, %d reads): lateness p50 %.3f ms, p99 %.3f ms "
                        "[%.3f-%.3f], CPU %.1f %%" % (
                            args.listing_window, path, med(runs, key + "_mb")[0],
                            med(runs, key + "_fetch_s")[0], med(runs, key + "_fetches")[0],
                            med(runs, key + "_p50_ms")[0], *med(runs, key + "_p99_ms"),
                            med(runs, key + "_cpu_pct")[0]))
        for i, r in enumerate(runs):  # where the tail sits: polls per lateness bucket, per run
            cum = [n for _, n in r["lateness_buckets"]]
            per = [n - (cum[j - 1] if j else 0) for j, n in enumerate(cum)]
            rows.append("  run %d polls per lateness bucket (upper bound ms: polls): %s" % (
                i + 1, " ".join("%s:%d" % ("inf" if le == float("inf") else "%g" % (le * 1000), n)
                                for (le, _), n in zip(r["lateness_buckets"], per) if n)))
        goal_rows.append(("CPU at the %d-device 1 s scan" % n, "%.1f %%" % cpu[0], "<= 15 %",
                          status(cpu[0] <= GOALS["cpu_pct_realistic"])))
        goal_rows.append(("p99 lateness at that scan", "%.3f ms" % p99[0], "<= 10 ms",
                          status(p99[0] <= GOALS["p99_ms"])))
    if "capped" in scen:
        n, cap = args.capped_devices, args.capped_max
        runs = [run_capped(env, n, cap) for _ in range(args.runs)]
        results["capped_%d_%d" % (n, cap)] = runs
        rows.append("Capped (%d TCP devices, max_connections %d, interval_ms 1000, %.0f s window)"
                    % (n, cap, args.realistic_window))
        rows.append("  CPU %% of one core: %.1f [%.1f-%.1f]   CPU us/txn %.1f [%.1f-%.1f]" % (
            med(runs, "cpu_pct") + med(runs, "cpu_us")))
        rows.append("  txn/s %.0f, evictions/s %.0f, fails in window %d, VmHWM %.1f MB" % (
            med(runs, "tps")[0], med(runs, "evictions_per_s")[0],
            max(r["failures"] for r in runs), med(runs, "rss_mb")[0]))
    if "serial" in scen:
        rows.append("Serial line efficiency (RTU, 10 holding registers, sim pacing bytes)")
        rows.append("  %7s %10s %12s %12s %6s" % ("baud", "txn/s", "wire limit", "efficiency",
                                                  "fails"))
        for baud in [int(x) for x in args.bauds.split(",")]:
            runs = [run_serial(env, baud) for _ in range(args.runs)]
            results["serial_%d" % baud] = runs
            tps, eff = med(runs, "tps"), med(runs, "eff_pct")
            rows.append("  %7d %10.2f %12.2f %12s %6d" % (
                baud, tps[0], wire_limit(baud), "%.1f%% [%.1f-%.1f]" % eff,
                max(r["failures"] for r in runs)))
            if baud == 9600:
                goal_rows.append(("serial efficiency at 9600 baud", "%.1f %%" % eff[0], ">= 90 %",
                                  status(eff[0] >= GOALS["serial_eff_9600"])))
    env.pin.restore()
    print("\n" + "\n".join(rows))
    print("medians of %d runs [min-max]; pinning: %s" % (
        args.runs, "pollux on CPU %s, pollux-sim on CPU %s" % (env.pin.pollux_cpu, env.pin.sim_cpu)
        if env.pin.ok else "off"))
    if goal_rows:
        print("\n%-36s %14s %12s %8s" % ("goal", "measured", "goal", "status"))
        for g in goal_rows:
            print("%-36s %14s %12s %8s" % g)
    print("\nreproduce: " + " ".join(shlex.quote(x) for x in
                                      ["python3", "tools/bench/engine_bench.py"] + sys.argv[1:]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
