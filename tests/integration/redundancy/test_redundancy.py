"""Master/backup pair end to end: two real `pollux run` processes against `pollux-sim` on
loopback (spec/redundancy.md, api.md redundancy rules).

Binaries come from the environment: POLLUX_BIN and POLLUX_SIM_BIN (set by CTest). Timers are
short (heartbeat 200 ms, failover_timeout 1200 ms) and every wait is bounded. The serial line
has a turnaround so that the simulator's overlap detector sees two masters on one pty.
"""

import json
import os
import signal
import socket
import subprocess
import time
import unittest

from pollux_support.node import POLLUXCTL, wait_until
from pollux_support.pair import (FAILOVER_MS, POLL_MS, SIM_YAML, STARTUP_MS, PairHarness,
                                 pair_yaml)
from pollux_support.testcase import NodeTestCase


def established_to(pid, port):
    """Whether process `pid` holds an ESTABLISHED TCP connection to 127.0.0.1:`port`: the
    socket inodes of its file descriptors, looked up in /proc/net/tcp."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    with open("/proc/%d/net/tcp" % pid) as f:
        next(f)
        for line in f:
            fields = line.split()
            remote, state, inode = fields[2], fields[3], fields[9]
            if state == "01" and int(remote.split(":")[1], 16) == port and inode in inodes:
                return True
    return False


class RedundancyTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.sim = self.start_sim(SIM_YAML)
        self.harness = PairHarness(self.sim, self.nodes)

    @property
    def link_port(self):
        return self.harness.link_port

    # -- helpers ------------------------------------------------------------------------------
    def node(self, name, mode, **kw):
        return self.harness.node(name, mode, **kw)

    def pair(self, **kw):
        return self.harness.start(**kw)

    def wait_pair(self, master, backup, m_act, b_act, timeout=8):
        return self.harness.wait(master, backup, m_act, b_act, timeout)

    def logs(self):
        return "\n".join("--- %s:\n%s" % (n.name, n.text()[-4000:]) for n in self.nodes)

    def line_stats(self):
        return self.sim.stats()["lines"]["L1"]

    def assert_no_overlap(self):
        st = self.line_stats()
        self.assertEqual(st["overlaps"], 0, st)

    # -- tests --------------------------------------------------------------------------------
    def test_exactly_one_node_polls_and_the_standby_shows_received_state(self):
        master, backup = self.pair()
        self.assertEqual(master.get("/api/v1/health")["role"], "master")
        self.assertEqual(backup.get("/api/v1/health"),
                         {"status": "ok", "node": "fe-b", "role": "backup", "activity": "standby"})
        wait_until(lambda: backup.points("A")["V"]["quality"] == "good", 5, what="state on backup")
        self.sim.check({"cmd": "reset_stats"})
        time.sleep(2.0)
        st = self.sim.stats()
        # Two devices every 200 ms for 2 s from ONE node: about 20 requests (two nodes: 40).
        self.assertGreaterEqual(st["lines"]["L1"]["requests"], 14, st["lines"])
        self.assertLessEqual(st["lines"]["L1"]["requests"], 26, st["lines"])
        self.assertEqual(st["lines"]["L1"]["overlaps"], 0)
        self.assertEqual(st["tcp"]["T1"]["requests"], 0)
        # The standby shows what the active node last sent.
        pa, pb = master.points("A")["V"], backup.points("A")["V"]
        self.assertEqual((pb["value"], pb["quality"]), (31, "good"))
        self.assertEqual(pa["value"], pb["value"])
        da, db = master.device("A"), backup.device("A")
        self.assertGreater(db["stats"]["polls_ok"], 0)
        self.assertLessEqual(abs(da["stats"]["polls_ok"] - db["stats"]["polls_ok"]), 3)
        self.assertGreater(backup.red()["state_seq"], 0)
        chans = {c["id"]: c for c in backup.get("/api/v1/channels")}
        self.assertEqual(chans["COM1"]["status"], "down")
        # Operator commands on a standby node: 409 "node is standby".
        for method, path, body in (("POST", "/api/v1/devices/A/poll", None),
                                   ("POST", "/api/v1/devices/A/line", {"line": 2}),
                                   ("POST", "/api/v1/channels/COM1/disable", None)):
            status, answer = backup.request(method, path, body)
            self.assertEqual((status, answer), (409, {"error": "node is standby"}), path)
        self.assertEqual(master.request("POST", "/api/v1/devices/A/poll")[0], 202)

    def test_master_killed_backup_takes_over_with_state_then_master_back_automatic(self):
        master, backup = self.pair()
        # Move A to line 2 on the master: silence on the serial path only.
        self.sim.fault("A", "silence", via="L1")
        wait_until(lambda: master.device("A")["active_line"] == 2, 5, what="A on line 2")
        t_fo = time.monotonic()
        wait_until(lambda: backup.device("A")["active_line"] == 2, 3, what="line 2 synced")
        self.sim.clear("A")
        time.sleep(max(0.0, t_fo + 1.5 - time.monotonic()))
        t_kill = time.monotonic()
        tcp_before = self.sim.stats()["tcp"]["T1"]["requests"]
        master.kill()
        wait_until(lambda: backup.activity() == "active", 4, interval=0.02, what="takeover")
        took = time.monotonic() - t_kill
        self.assertLessEqual(took, (FAILOVER_MS + POLL_MS + 500) / 1000.0)
        d = backup.device("A")
        self.assertEqual(d["active_line"], 2, "a device on line 2 stays on line 2")
        self.assertTrue(d["primary_failed_over"])
        wait_until(lambda: self.sim.stats()["tcp"]["T1"]["requests"] > tcp_before, 3,
                   what="backup polls A over TCP")
        # Retry primary (5 s) continues from the master's failover time: back on line 1 about
        # 5 s after t_fo, not 5 s after the takeover.
        wait_until(lambda: backup.device("A")["active_line"] == 1, 6, what="retry primary")
        back = time.monotonic() - t_fo
        self.assertLess(back, 5.0 + took - 0.3, "the Retry primary timer restarted")
        ev = backup.red()["events"]
        self.assertEqual((ev[-1]["from"], ev[-1]["to"], ev[-1]["reason"]),
                         ("standby", "active", "master_lost"))
        # Master back, recovery automatic: the backup hands over.
        master.start()
        self.wait_pair(master, backup, "active", "standby", timeout=8)
        self.assertEqual(backup.red()["events"][-1]["reason"], "master_back")
        self.assert_no_overlap()

    def test_manual_recovery_keeps_the_master_standby_until_recover(self):
        master, backup = self.pair(recovery="manual")
        master.kill()
        wait_until(lambda: backup.activity() == "active", 4, what="takeover")
        master.start()
        self.wait_pair(master, backup, "standby", "active", timeout=6)
        time.sleep(1.0)
        self.assertEqual(master.activity(), "standby")
        self.assertEqual(master.request("POST", "/api/v1/devices/A/poll")[0], 409)
        status, body = master.request("POST", "/api/v1/redundancy/recover")
        self.assertEqual(status, 200, body)
        self.wait_pair(master, backup, "active", "standby", timeout=5)
        self.assert_no_overlap()

    def test_wrong_key_is_not_authenticated_and_never_takes_over(self):
        master = self.node("fe-a", "master")
        backup = self.node("fe-b", "backup", psk="a-wrong-key-9876543210")
        wait_until(lambda: master.activity() == "active", STARTUP_MS / 1000.0 + 2,
                   what="master active after the startup allowance")
        t_end = time.monotonic() + 3 * FAILOVER_MS / 1000.0
        while time.monotonic() < t_end:
            self.assertEqual(backup.activity(), "standby")
            time.sleep(0.1)
        rb, rm = backup.red(), master.red()
        self.assertFalse(rb["peer"]["authenticated"])
        self.assertNotEqual(rb["last_error"], "")
        self.assertNotEqual(rm["last_error"], "")
        self.assertIn("auth", (rb["last_error"] + backup.text()).lower())
        self.assertIn("auth", (rm["last_error"] + master.text()).lower())
        self.assert_no_overlap()

    def test_garbage_and_oversized_frames_drop_the_connection_only(self):
        master, backup = self.pair()

        def closed_after(payload):
            with socket.create_connection(("127.0.0.1", self.link_port), timeout=5) as s:
                s.sendall(payload)
                s.settimeout(FAILOVER_MS / 1000.0 + 2)
                try:
                    while s.recv(4096):
                        pass
                except ConnectionResetError:
                    pass
                return True

        self.assertTrue(closed_after(os.urandom(64)))
        self.assertTrue(closed_after(b"\xff\xff\xff\xff" + b"x" * 16))
        self.assertTrue(closed_after(b"\x01\x00\x00\x01" + os.urandom(32)))  # 16 MiB + 1
        rm, rb = self.wait_pair(master, backup, "active", "standby", timeout=2)
        self.assertTrue(rm["peer"]["connected"])
        self.assertEqual(master.get("/api/v1/health")["status"], "ok")

    def test_config_sync_with_override_and_reload_403_on_the_backup(self):
        master, backup = self.pair()
        rm, rb = master.red(), backup.red()
        self.assertEqual(rm["config_version"], rb["config_version"])
        # backup_overrides apply on the backup only.
        self.assertTrue(master.device("B")["enabled"])
        self.assertFalse(backup.device("B")["enabled"])
        status, body = backup.request("POST", "/api/v1/config/reload")
        self.assertEqual(status, 403, body)
        # A reload on the master reaches the backup in place (same process, new point).
        pid = backup.proc.pid
        master.write_config(pair_yaml(self.sim, "fe-a", "master", self.link_port,
                                      extra_point="{ name: W, table: holding, address: 1, "
                                                  "type: uint16 }"))
        status, body = master.request("POST", "/api/v1/config/reload")
        self.assertEqual(status, 200, body)
        self.assertNotEqual(body["version"], rm["config_version"])
        wait_until(lambda: backup.red()["config_version"] == body["version"], 5,
                   what="config on the backup")
        wait_until(lambda: "W" in backup.points("B"), 3, what="new point on the backup")
        # ...with the value the master reads (runtime state follows the new config).
        wait_until(lambda: backup.points("B")["W"]["quality"] == "good", 3, what="W state")
        self.assertEqual(backup.proc.pid, pid)
        self.assertIsNone(backup.proc.poll())
        self.assertFalse(backup.device("B")["enabled"])  # the override still applies

    def test_force_failover_both_ways_without_overlap(self):
        master, backup = self.pair()
        for giver, taker in ((master, backup), (backup, master)):
            status, body = giver.request("POST", "/api/v1/redundancy/force-failover")
            self.assertEqual(status, 200, body)
            m_act = "active" if taker is master else "standby"
            b_act = "active" if taker is backup else "standby"
            self.wait_pair(master, backup, m_act, b_act, timeout=5)
            before = self.line_stats()["requests"]
            try:
                wait_until(lambda: self.line_stats()["requests"] > before + 4, 3,
                           what="the new active node polls")
            except AssertionError as e:
                raise AssertionError("%s\n%s" % (e, self.logs()))
            self.assertEqual(taker.red()["events"][-1]["reason"], "force_failover")
        self.assert_no_overlap()
        # Without a peer there is nobody to hand over to: 409.
        backup.stop()
        wait_until(lambda: not master.red()["peer"]["connected"], 4, what="peer gone")
        self.assertEqual(master.request("POST", "/api/v1/redundancy/force-failover")[0], 409)

    def test_a_master_stopped_past_the_failover_timeout_resumes_standby_without_overlap(self):
        # Soak seed 11 (issue 24): the active master, stopped with SIGSTOP for longer than the
        # failover timeout, came back still active, and its overdue polls ran on the serial line
        # beside the backup's, which had rightly taken over. Now it goes standby ("stalled")
        # before anything overdue runs, then takes activity back by the recovery rule.
        master, backup = self.pair()
        wait_until(lambda: self.line_stats()["requests"] > 10, 5, what="the master polls L1")
        self.sim.check({"cmd": "reset_stats"})
        os.kill(master.proc.pid, signal.SIGSTOP)
        try:
            wait_until(lambda: backup.activity() == "active", 5, what="the backup takes over")
            before = self.line_stats()["requests"]
            wait_until(lambda: self.line_stats()["requests"] > before + 5, 5,
                       what="the backup polls L1")
        finally:
            os.kill(master.proc.pid, signal.SIGCONT)
        try:
            self.wait_pair(master, backup, "active", "standby", timeout=10)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.logs()))
        moves = [(e["from"], e["to"], e["reason"]) for e in master.red()["events"]]
        self.assertIn(("active", "standby", "stalled"), moves, self.logs())
        self.assertEqual(moves[-1][1], "active", moves)
        before = self.line_stats()["requests"]
        wait_until(lambda: self.line_stats()["requests"] > before + 5, 5,
                   what="the master polls L1 again")
        self.assert_no_overlap()

    def test_warm_standby_holds_a_tcp_connection_and_sends_nothing_on_it(self):
        master, backup = self.pair(standby="warm", tcp_device=True)
        host, port = self.sim.tcp_addr("T1")
        # The backup was never active, yet it holds an established connection to the device's
        # TCP endpoint (redundancy.md: a warm standby holds one to every endpoint it would poll).
        wait_until(lambda: established_to(backup.proc.pid, port), 5,
                   what="the warm standby's connection to T1")
        self.assertEqual(backup.activity(), "standby")
        wait_until(lambda: self.sim.stats()["tcp"]["T1"]["open_connections"] >= 2, 3,
                   what="two connections at T1 (master polling, backup held)")
        wait_until(lambda: backup.points("C")["V"]["quality"] == "good", 5, what="C on backup")
        # ...and sends nothing on it: T1 sees only the master's polls of C (one per 200 ms).
        self.sim.check({"cmd": "reset_stats"})
        time.sleep(2.0)
        st = self.sim.stats()["tcp"]["T1"]
        self.assertGreaterEqual(st["requests"], 7, st)
        self.assertLessEqual(st["requests"], 13, st)
        # Takeover polls C on the held connection: no new connection is accepted.
        accepted = self.sim.stats()["tcp"]["T1"]["accepted"]
        requests = self.sim.stats()["tcp"]["T1"]["requests"]
        master.kill()
        wait_until(lambda: backup.activity() == "active", 4, interval=0.02, what="takeover")
        wait_until(lambda: self.sim.stats()["tcp"]["T1"]["requests"] > requests + 3, 3,
                   what="the backup polls C")
        self.assertEqual(self.sim.stats()["tcp"]["T1"]["accepted"], accepted)
        self.assertEqual(backup.points("C")["V"]["value"], 73)

    def test_reload_applies_redundancy_settings_live_and_refuses_a_mode_change(self):
        master, backup = self.pair(tcp_device=True)
        host, port = self.sim.tcp_addr("T1")
        status, body = master.request("POST", "/api/v1/redundancy/force-failover")
        self.assertEqual(status, 200, body)
        self.wait_pair(master, backup, "standby", "active")
        # A cold standby: no connection to the device's endpoint.
        time.sleep(0.5)
        self.assertFalse(established_to(master.proc.pid, port))
        # SIGHUP-style reload of the standby master with `standby: warm`: the running node
        # connects ahead at once, same process, and stays standby.
        pid = master.proc.pid
        master.write_config(pair_yaml(self.sim, "fe-a", "master", self.link_port, standby="warm",
                                      tcp_device=True))
        master.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: established_to(pid, port), 5, what="the reloaded warm standby's hold")
        self.assertEqual(master.activity(), "standby")
        self.assertIn("redundancy settings changed (standby)", master.text())
        # A mode change cannot apply in place: 400, the reason, and nothing changes.
        master.write_config(pair_yaml(self.sim, "fe-a", "backup", self.link_port, standby="warm",
                                      tcp_device=True))
        status, body = master.request("POST", "/api/v1/config/reload")
        self.assertEqual(status, 400, body)
        self.assertIn("restart", " ".join(body.get("errors", [])), body)
        rm = master.red()
        self.assertEqual((rm["mode"], rm["activity"]), ("master", "standby"))
        self.assertTrue(rm["peer"]["authenticated"])
        self.assertEqual(master.proc.pid, pid)

    def test_polluxctl_redundancy_and_force_failover(self):
        if not POLLUXCTL:
            self.skipTest("POLLUXCTL_BIN not set")
        master, backup = self.pair()

        def ctl(node, *args):
            r = subprocess.run([POLLUXCTL, "--api", node.base] + list(args),
                               capture_output=True, text=True, timeout=10)
            return r.returncode, r.stdout + r.stderr

        rc, out = ctl(master, "redundancy")
        self.assertEqual(rc, 0, out)
        self.assertIn("master", out)
        self.assertIn("active", out)
        rc, out = ctl(backup, "--json", "redundancy")
        self.assertEqual(rc, 0, out)
        self.assertEqual(json.loads(out)["activity"], "standby")
        # polluxctl reports the state after the handover, not the one the node answered with.
        rc, out = ctl(master, "--timeout", "8", "force-failover")
        self.assertEqual(rc, 0, out)
        self.assertIn("force-failover: done; this node is standby, its peer (", out)
        self.assertTrue(out.rstrip().endswith(") active"), out)
        self.wait_pair(master, backup, "standby", "active", timeout=5)
        rc, out = ctl(master, "status")
        self.assertEqual(rc, 0, out)
        self.assertIn("standby", out)


if __name__ == "__main__":
    unittest.main()
