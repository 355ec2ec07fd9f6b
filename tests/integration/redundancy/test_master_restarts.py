"""A master that restarts never makes two active nodes (spec/redundancy.md transitions 1, 5 and
6): two real `pollux run` processes and `pollux-sim`, both configs polling the same two RTUs on
one shared pty line, the master killed with SIGKILL and restarted 20 times at varied moments
(down for 0.1 to 3.9 s, before and after the backup takes over; killed at varied points between
heartbeats). A sampler reads both nodes' GET /api/v1/redundancy every 20 ms; no sample may show
both active, and the simulator's overlap detector on the shared line must stay at 0.

The settings are the restart scenario's: heartbeat 200 ms, failover_timeout 1500 ms,
startup_allowance 1000 ms, recovery automatic. The run takes about 1.5-2 minutes and prints one
line per restart (stderr).
"""

import json
import sys
import threading
import time
import unittest
import urllib.request

from pollux_support.node import free_port, wait_until
from pollux_support.pair import PSK, PairNode
from pollux_support.testcase import NodeTestCase

HEARTBEAT_MS = 200
FAILOVER_MS = 1500
STARTUP_MS = 1000
POLL_MS = 100
RESTARTS = 20
SAMPLE_S = 0.020

# Two RTUs on one line with a turnaround, so that two masters on it overlap within a poll or two.
SIM_YAML = """devices:
  - id: A
    unit: 4
    registers:
      - {table: holding, address: 0, value: 31}
  - id: B
    unit: 5
    registers:
      - {table: holding, address: 0, value: 52}
serial:
  - { id: L1, turnaround_ms: 40, devices: [A, B] }
"""


def restart_yaml(sim, name, mode, link_port):
    red = ("redundancy: { mode: %s, %s: 127.0.0.1:%d, psk: \"%s\", heartbeat_interval_ms: %d, "
           "failover_timeout_ms: %d, recovery: automatic, standby: cold, "
           "startup_allowance_ms: %d }"
           % (mode, "listen" if mode == "master" else "master", link_port, PSK, HEARTBEAT_MS,
              FAILOVER_MS, STARTUP_MS))
    out = ["node: { name: %s }" % name, "api: { listen: 127.0.0.1:API_PORT }", red,
           "channels:",
           "  - { id: COM1, type: serial, protocol: modbus-rtu, port: %s, message_timeout_ms: 300, "
           "poll_attempts: 1 }" % sim.serial["L1"],
           "devices:"]
    for dev, unit in (("A", 4), ("B", 5)):
        out += ["  - id: %s\n    unit: %d\n    comm: { primary: { channel: COM1 } }" % (dev, unit),
                "    polls:\n      - name: g\n        interval_ms: %d\n        points:" % POLL_MS,
                "          - { name: V, table: holding, address: 0, type: uint16 }"]
    return "\n".join(out) + "\n"


def activity(node):
    """The node's activity from GET /api/v1/redundancy, or None while it does not answer."""
    try:
        with urllib.request.urlopen(node.base + "/api/v1/redundancy", timeout=1.0) as r:
            return json.loads(r.read())["activity"]
    except Exception:  # noqa: BLE001 - a killed or starting node answers nothing
        return None


class Sampler(threading.Thread):
    """Both nodes' activity every SAMPLE_S: (monotonic time, master's, backup's)."""

    def __init__(self, master, backup):
        super().__init__(daemon=True)
        self.nodes = (master, backup)
        self.samples = []
        self.done = threading.Event()

    def run(self):
        due = time.monotonic()
        while not self.done.is_set():
            t = time.monotonic()
            m, b = (activity(n) for n in self.nodes)
            self.samples.append((t, m, b))
            due += SAMPLE_S
            left = due - time.monotonic()
            if left > 0:
                time.sleep(left)
            else:
                due = time.monotonic()  # fell behind (a busy machine): sample at once

    def stop(self):
        self.done.set()
        self.join(5)

    def between(self, t0, t1):
        return [s for s in self.samples if t0 <= s[0] < t1]


def double_active(samples):
    """(number of samples with both active, longest run of them in ms from first to last + one
    sample period)."""
    count, longest, run_start, last = 0, 0.0, None, None
    for t, m, b in samples:
        if m == "active" and b == "active":
            count += 1
            if run_start is None:
                run_start = t
            last = t
            longest = max(longest, (last - run_start + SAMPLE_S) * 1000.0)
        else:
            run_start = None
    return count, longest


class MasterRestartTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.sim = self.start_sim(SIM_YAML)
        self.link_port = free_port()

    def node(self, name, mode):
        for attempt in range(3):
            try:
                n = PairNode(name, restart_yaml(self.sim, name, mode, self.link_port))
                break
            except AssertionError as e:
                if "Address already in use" not in str(e) or attempt == 2:
                    raise
                if mode == "master":
                    self.link_port = free_port()
        self.nodes.append(n)
        return n

    def wait_pair(self, master, backup, timeout=10):
        def ok():
            rm, rb = master.red(), backup.red()
            return (rm["activity"] == "active" and rb["activity"] == "standby" and
                    rm["peer"]["authenticated"] and rb["peer"]["authenticated"])
        try:
            wait_until(ok, timeout, what="master active / backup standby")
        except AssertionError as e:
            raise AssertionError("%s\nmaster: %s\nbackup: %s" % (e, master.red(), backup.red()))

    def test_master_restarts_never_make_two_active_nodes(self):
        master = self.node("fe-a", "master")
        backup = self.node("fe-b", "backup")
        self.wait_pair(master, backup)
        wait_until(lambda: self.sim.stats()["lines"]["L1"]["requests"] > 10, 5,
                   what="the master polls the shared line")
        self.sim.check({"cmd": "reset_stats"})
        sampler = Sampler(master, backup)
        sampler.start()
        rows = []
        try:
            for i in range(RESTARTS):
                self.wait_pair(master, backup)
                # Killed at varied points of the 200 ms heartbeat cycle, down for 0.1 to 3.9 s
                # (the order mixed so that neighbouring restarts differ).
                time.sleep((i * 37 % HEARTBEAT_MS) / 1000.0)
                down = 0.1 + 0.2 * (i * 7 % RESTARTS)
                overlaps_before = self.sim.stats()["lines"]["L1"]["overlaps"]
                t_kill = time.monotonic()
                master.kill()
                time.sleep(max(0.0, t_kill + down - time.monotonic()))
                backup_then = backup.activity()
                master.start()
                self.wait_pair(master, backup)
                t_end = time.monotonic()
                time.sleep(0.3)  # a double activation right after settling shows here too
                count, longest = double_active(sampler.between(t_kill, t_end + 0.3))
                overlaps = self.sim.stats()["lines"]["L1"]["overlaps"] - overlaps_before
                reason = master.red()["events"][-1]["reason"]
                rows.append((i, down, backup_then, count, longest, overlaps, reason))
                sys.stderr.write("restart %2d: down %.1f s, backup %s at restart, master active "
                                 "by %s; both-active samples %d (longest %.0f ms), line "
                                 "overlaps %d\n" % (i + 1, down, backup_then, reason, count,
                                                    longest, overlaps))
        finally:
            sampler.stop()
        stats = self.sim.stats()["lines"]["L1"]
        doubled = [r for r in rows if r[3] > 0]
        overlapped = [r for r in rows if r[5] > 0]
        total_samples = len(sampler.samples)
        span = sampler.samples[-1][0] - sampler.samples[0][0]
        sys.stderr.write("%d of %d restarts showed both nodes active (longest %.0f ms), %d "
                         "showed line overlaps (total %d); %d samples over %.0f s\n"
                         % (len(doubled), len(rows), max([r[4] for r in rows] + [0]),
                            len(overlapped), stats["overlaps"], total_samples, span))
        # The scenario ran: the backup was active at most restarts, and sampling kept pace.
        self.assertGreaterEqual(sum(1 for r in rows if r[2] == "active"), 8, rows)
        self.assertGreater(total_samples, span / SAMPLE_S / 4, "the sampler fell far behind")
        self.assertEqual(doubled, [], "both nodes active at the same sample")
        self.assertEqual(stats["overlaps"], 0, stats)
        self.assertGreater(stats["requests"], 100, stats)


if __name__ == "__main__":
    unittest.main()
