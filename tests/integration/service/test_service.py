"""The node under a service manager (issue 22 "Package and service"): the test plays systemd.

- sd_notify: a NOTIFY_SOCKET listener (AF_UNIX SOCK_DGRAM) sees READY=1 only once the API
  answers, WATCHDOG=1 every WATCHDOG_USEC/2, RELOADING=1 then READY=1 around SIGHUP, and
  STOPPING=1 on SIGTERM.
- Logging: with stderr as the journal stream (JOURNAL_STREAM naming its device and inode) every
  line starts with a <N> priority and carries no timestamp; a JOURNAL_STREAM inherited for
  another stream changes nothing; --log-format json prints one JSON object per line.

Binaries come from the environment (POLLUX_BIN, POLLUX_SIM_BIN); every wait is bounded.
"""

import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

from pollux_support.configs import sim_yaml
from pollux_support.node import POLLUX, free_port, wait_until
from pollux_support.testcase import NodeTestCase

SIM_TEXT = sim_yaml([("RTU", 1, ["{table: holding, address: 0, value: 42}"])],
                    tcp=[("T1", ["RTU"], "modbus-tcp")])


def node_yaml(sim_port):
    return """node:
  name: svc
api:
  listen: 127.0.0.1:API_PORT
channels:
  - { id: NET1, type: tcp, protocol: modbus-tcp }
devices:
  - id: RTU
    unit: 1
    comm:
      primary: { channel: NET1, host: 127.0.0.1, port: %d }
    polls:
      - name: fast
        interval_ms: 500
        points:
          - { name: V, table: holding, address: 0, type: uint16 }
""" % sim_port


class Manager:
    """The service manager's notify socket: a datagram socket bound at a fresh path. Each
    datagram is kept with the time it arrived."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="pollux-notify.")
        self.path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.got = []  # (monotonic time, message)

    def receive(self, timeout):
        """The next datagram within `timeout` s, or None."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        self.got.append((time.monotonic(), data.decode()))
        return data.decode()

    def wait_for(self, key, timeout, on_each=None):
        """Receives until a datagram holds the line `key`; the datagram. `on_each` sees every
        datagram as it arrives."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.receive(max(0.01, deadline - time.monotonic()))
            if msg is None:
                continue
            if on_each:
                on_each(msg)
            if key in msg.split("\n"):
                return msg
        raise AssertionError("no %s within %ss; got %r" % (key, timeout, self.got))

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.dir)


def health_answers(base):
    try:
        with urllib.request.urlopen(base + "/api/v1/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class NotifyTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.manager = Manager()
        self.addCleanup(self.manager.close)

    def start(self, extra_env):
        sim = self.start_sim(SIM_TEXT)
        env = {"NOTIFY_SOCKET": self.manager.path}
        env.update(extra_env)
        return self.start_node(node_yaml(sim.tcp_addr("T1")[1]), env=env)

    def test_ready_only_once_the_api_answers_then_stopping_on_sigterm(self):
        node = self.start({})
        answered = []
        ready = self.manager.wait_for(
            "READY=1", 10, on_each=lambda m: answered.append(health_answers(node.base)))
        # When READY=1 arrived, the API already answered.
        self.assertTrue(answered[-1], self.manager.got)
        self.assertIn("STATUS=API listening on 127.0.0.1:%d" % node.port, ready.split("\n"))
        # No watchdog asked for: no pings.
        self.assertIsNone(self.manager.receive(1.5))
        self.assertEqual(node.stop(), 0)
        self.manager.wait_for("STOPPING=1", 5)

    def test_watchdog_pings_every_half_watchdog_usec(self):
        self.start({"WATCHDOG_USEC": "1000000"})  # pings every 0.5 s
        self.manager.wait_for("READY=1", 10)
        self.manager.got.clear()
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            self.manager.receive(deadline - time.monotonic())
        pings = [t for t, m in self.manager.got if m == "WATCHDOG=1"]
        # 4 s at 0.5 s: 8 pings; generous bounds for a loaded machine, but never a gap the
        # manager (WatchdogSec=1s) would count as a stall.
        self.assertGreaterEqual(len(pings), 6, self.manager.got)
        self.assertLessEqual(len(pings), 10, self.manager.got)
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        self.assertLess(max(gaps), 0.95, gaps)
        self.assertGreater(min(gaps), 0.3, gaps)

    def test_watchdog_pid_of_another_process_means_no_pings(self):
        self.start({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"})
        self.manager.wait_for("READY=1", 10)
        self.assertIsNone(self.manager.receive(1.5), self.manager.got)

    def test_sighup_reload_is_reloading_then_ready(self):
        node = self.start({})
        self.manager.wait_for("READY=1", 10)
        node.proc.send_signal(signal.SIGHUP)
        reloading = self.manager.wait_for("RELOADING=1", 10)
        self.assertRegex(reloading, r"(^|\n)MONOTONIC_USEC=\d+($|\n)")
        ready = self.manager.wait_for("READY=1", 10)
        self.assertIn("STATUS=configuration reloaded", ready.split("\n"))


TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
MINIMAL = """node:
  name: logs
api:
  listen: 127.0.0.1:%d
"""


class LogFormatTest(unittest.TestCase):
    """Runs `pollux` with stderr on a file, as systemd gives it a journal stream."""

    def run_node(self, args=(), journal=None):
        """Starts `pollux run` on a minimal config until the API listens, stops it with
        SIGTERM; the stderr text. `journal`: "match" sets JOURNAL_STREAM to the log file's own
        device:inode, any other string is used as it is."""
        d = tempfile.mkdtemp(prefix="pollux-logs.")
        cfg = os.path.join(d, "node.yaml")
        with open(cfg, "w") as f:
            f.write(MINIMAL % free_port())
        log_path = os.path.join(d, "node.log")
        with open(log_path, "w") as log:
            env = dict(os.environ)
            env.pop("JOURNAL_STREAM", None)
            if journal == "match":
                st = os.fstat(log.fileno())
                env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
            elif journal is not None:
                env["JOURNAL_STREAM"] = journal
            proc = subprocess.Popen([POLLUX] + list(args) + ["run", "-c", cfg],
                                    stdout=subprocess.DEVNULL, stderr=log, env=env)
            try:
                wait_until(lambda: proc.poll() is not None or "API listening" in open(log_path).read(),
                           10, what="API listening")
                proc.send_signal(signal.SIGTERM)
                self.assertEqual(proc.wait(timeout=10), 0)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        with open(log_path) as f:
            return f.read()

    def test_journal_lines_have_priority_and_no_timestamp(self):
        lines = self.run_node(journal="match").splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^<[0-7]>\[[^\]]+\] ", lines)
            self.assertNotRegex(line, TIMESTAMP, lines)
        self.assertTrue(any(l.startswith("<6>[pollux] API listening") for l in lines), lines)

    def test_journal_stream_of_another_stream_is_ignored(self):
        lines = self.run_node(journal="x").splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^" + TIMESTAMP.pattern, lines)

    def test_json_format_is_one_object_per_line(self):
        lines = self.run_node(args=["--log-format", "json"]).splitlines()
        self.assertTrue(lines)
        records = [json.loads(line) for line in lines]
        for r in records:
            self.assertEqual(sorted(r), ["level", "logger", "message", "time"], r)
            self.assertRegex(r["time"], r"^" + TIMESTAMP.pattern + r"\.\d{3}Z$")
        listening = [r for r in records if r["message"].startswith("API listening")]
        self.assertEqual(len(listening), 1, records)
        self.assertEqual((listening[0]["level"], listening[0]["logger"]), ("info", "pollux"))

    def test_check_errors_carry_the_error_priority_under_the_journal(self):
        d = tempfile.mkdtemp(prefix="pollux-logs.")
        cfg = os.path.join(d, "bad.yaml")
        with open(cfg, "w") as f:
            f.write("node:\n  name: x\n  bogus: 1\n")
        log_path = os.path.join(d, "check.log")
        with open(log_path, "w") as log:
            st = os.fstat(log.fileno())
            env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
            rc = subprocess.run([POLLUX, "check", "-c", cfg], stderr=log, env=env,
                                timeout=10).returncode
        self.assertEqual(rc, 2)
        text = open(log_path).read()
        self.assertRegex(text, r"^<3>" + re.escape(cfg) + r":3:3: error: ")

    def test_unknown_log_format_is_a_usage_error(self):
        r = subprocess.run([POLLUX, "--log-format", "xml", "check", "-c", "x.yaml"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown log format 'xml'", r.stderr)


if __name__ == "__main__":
    unittest.main()
