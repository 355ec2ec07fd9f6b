#!/usr/bin/python3
"""Soak, chaos and partitions (issue 24): a few hundred simulated RTUs behind a master/backup
pair with history and Sparkplug B, a seeded fault schedule played against them, and the
invariants checked the whole time. Exit status 1 on any violation.

    python3 tools/soak/soak.py --seed 1 --minutes 3 --build build/release

The schedule depends only on --seed, --minutes, --devices and --skip: the same values replay
it. Every violation is printed with its time and the schedule entries in force.
"""

import argparse
import glob
import os
import sys
import threading
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "support"))

import field as fieldmod  # noqa: E402
import schedule as sched  # noqa: E402
from checks import Checks  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--build", default="build/release",
                    help="build directory holding src/app/pollux and sim/pollux-sim")
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds before the first fault and the RSS baseline (default: 20%% of "
                         "the run, 30..300)")
    ap.add_argument("--settle", type=float, default=30.0,
                    help="calm seconds at the end before the final checks")
    ap.add_argument("--skip", default="", help="fault classes to leave out, comma-separated")
    ap.add_argument("--write-interval", type=float, default=2.0)
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()

    seconds = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else min(300.0, max(30.0, seconds * 0.2))
    skip = [s for s in args.skip.split(",") if s]
    for s in skip:
        if s not in sched.ALL_CLASSES:
            ap.error("unknown fault class %r (one of %s)" % (s, ", ".join(sched.ALL_CLASSES)))
    # The store made full needs a size-limited filesystem for each node's directory (a tmpfs):
    # without root the class is left out, and the report says so.
    limited_fs = "history_full" not in skip and fieldmod.limited_fs_available()
    no_fs = "history_full" not in skip and not limited_fs
    if no_fs:
        skip.append("history_full")
    t_start = time.monotonic()

    def log(msg):
        print("[%7.1fs %s] %s" % (time.monotonic() - t_start,
                                  datetime.now(timezone.utc).strftime("%H:%M:%S"), msg),
              flush=True)

    workdir = fieldmod.make_workdir(args.keep)
    log("command: %s" % " ".join([os.path.basename(sys.argv[0])] + sys.argv[1:]))
    log("scratch directory %s" % workdir)
    layout = fieldmod.Layout(args.devices)
    entries = sched.make(args.seed, seconds, layout, warmup, args.settle, skip)
    print("schedule (seed %d, %.1f min, %d devices: %d serial on %d lines, %d modem, %d TCP; "
          "warm-up %.0fs, settle %.0fs): %d entries"
          % (args.seed, args.minutes, len(layout.devices),
             sum(len(v) for v in layout.serial.values()), len(layout.serial), len(layout.modem),
             sum(len(v) for v in layout.tcp.values()), warmup, args.settle, len(entries)))
    for e in entries:
        print("  " + sched.describe(e))
    if no_fs:
        print("  not injected: history_full (mounting a tmpfs for the nodes' stores needs root)")
    sys.stdout.flush()

    f = None
    checks = None
    try:
        f = fieldmod.Field(os.path.abspath(args.build), args.devices, workdir, log=log,
                           limited_fs=limited_fs)
        checks = Checks(f, entries, log, warmup)
        run(f, entries, checks, seconds, args, log, warmup)
        checks.final(log)
    except KeyboardInterrupt:
        log("interrupted")
    finally:
        if checks:
            checks.close()
        if f:
            for name, code in f.close().items():
                if code != 0 and checks:
                    checks.violation("crash", "%s ended with %s on SIGTERM" % (name, code))
    status = checks.report(args, seconds, entries) if checks else 2
    if checks and checks.violations:
        checks.write_violations(os.path.join(workdir, "violations.txt"))
    if status != 0 and os.environ.get("CI"):
        print_log_tails(workdir)  # CI's clone and its scratch directory go away after the run
    if args.keep or status != 0:
        print("scratch directory kept: %s (node logs in fe-*.run.*/, their stores in fe-*.store/, "
              "simulator log sim.log, every violation in violations.txt)" % workdir)
    else:
        fieldmod.remove_workdir(workdir)
    return status


def print_log_tails(workdir, lines=60):
    """The end of every node's log and of the simulator's, after the report."""
    logs = sorted(glob.glob(os.path.join(workdir, "fe-*.run.*", "*.log")))
    for path in logs + [os.path.join(workdir, "sim.log")]:
        try:
            with open(path, errors="replace") as f:
                tail = f.readlines()[-lines:]
        except OSError:
            continue
        print("---- last %d lines of %s" % (len(tail), os.path.relpath(path, workdir)))
        sys.stdout.write("".join(tail))
    sys.stdout.flush()


class Runner:
    """Plays the schedule: start and end actions at their times."""

    def __init__(self, f, checks, log):
        self.f = f
        self.checks = checks
        self.log = log

    def sim(self, req):
        r = self.checks.sim_cmd(req)
        if not r.get("ok"):
            self.log("simulator refused %s: %s" % (req, r.get("error")))

    def begin(self, e):
        c, tgt, p = e["cls"], e["target"], e["params"]
        dur_ms = int(e["dur"] * 1000)
        if c in sched.DEVICE_FAULTS:
            self.sim(dict({"cmd": "fault", "device": tgt, "fault": c, "duration_ms": dur_ms}, **p))
        elif c == "vanished_port":
            self.sim({"cmd": "close_port", "line": tgt})
        elif c == "modem_busy":
            self.sim({"cmd": "modem", "modem": tgt, "fault": "busy", "count": p["count"]})
        elif c == "modem_no_carrier":
            self.sim({"cmd": "modem", "modem": tgt, "fault": "no_carrier", "count": p["count"]})
        elif c == "modem_drop":
            self.sim({"cmd": "modem", "modem": tgt, "fault": "drop", "after_ms": p["after_ms"]})
        elif c in ("kill9", "restart", "sigstop"):
            self.checks.expect_down(tgt, True)
            if c == "kill9":
                e["began"] = self.checks.now()  # the run loop is up to a tick behind e["t"]
                self.f.kill9(tgt)
            elif c == "restart":
                code = self.f.terminate(tgt)
                if code != 0:
                    self.checks.violation("crash", "%s exited %s on SIGTERM" % (tgt, code))
            else:
                self.f.sigstop(tgt)
        elif c == "partition":
            self.f.proxy.blackhole()
            self.f.proxy_alt.blackhole()
        elif c == "partition_main":
            self.f.proxy.blackhole()
        elif c == "broker_stop":
            self.checks.broker_down = True
            self.f.broker.stop()
        elif c == "history_full":
            self.checks.store_filling(e)
            self.f.fill_store(tgt)

    def end(self, e):
        c, tgt = e["cls"], e["target"]
        if c == "vanished_port":
            self.sim({"cmd": "open_port", "line": tgt})
        elif c in ("modem_busy", "modem_no_carrier", "modem_drop"):
            self.sim({"cmd": "clear", "modem": tgt})
        elif c in ("kill9", "restart"):
            try:
                self.f.start_node(tgt)
            except AssertionError as ex:
                self.checks.violation("crash", "%s did not start again: %s" % (tgt, str(ex)[-400:]))
            self.checks.expect_down(tgt, False)
        elif c == "sigstop":
            self.f.sigcont(tgt)
            self.checks.expect_down(tgt, False)
        elif c == "partition":
            self.f.proxy.heal()
            self.f.proxy_alt.heal()
        elif c == "partition_main":
            self.f.proxy.heal()
        elif c == "broker_stop":
            self.f.broker.start()
            self.checks.broker_down = False
        elif c == "history_full":
            self.f.free_store(tgt)
            self.checks.store_freed(e)


def run(f, entries, checks, seconds, args, log, warmup):
    runner = Runner(f, checks, log)
    checks.wait_pair_ready(log)
    checks.start_clock()
    pending = sorted(entries, key=lambda e: e["t"])
    ending = []
    writer = threading.Thread(target=checks.writer, args=(args.seed, args.write_interval),
                              daemon=True)
    writer.start()
    next_check = 0.0
    while True:
        now = checks.now()
        if now >= seconds:
            break
        while pending and pending[0]["t"] <= now:
            e = pending.pop(0)
            log("fault begins: " + sched.describe(e))
            checks.count_fault(e)
            runner.begin(e)
            ending.append(e)
        for e in [e for e in ending if e["end"] <= now]:
            ending.remove(e)
            if e["cls"] not in sched.DEVICE_FAULTS:
                log("fault ends:   " + sched.describe(e))
            runner.end(e)
        if now >= next_check:
            checks.tick(now)
            next_check = now + 1.0
        time.sleep(0.1)
    for e in ending:
        runner.end(e)
    checks.stop_writer()
    writer.join(timeout=15)


if __name__ == "__main__":
    sys.exit(main())
