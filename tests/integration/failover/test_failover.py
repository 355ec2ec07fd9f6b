"""End-to-end tests of device failover (failover.md) with `pollux run` against `pollux-sim`.

Timers are 1 to 3 s. A timed line change must happen no earlier than the time its rule names
(computed from the node's own times: `last_success`, the previous event) and at most TOL
(400 ms) later: rule 1 is checked at the end of each failed message and rule 5 before each
message cycle. With polls every 250 ms and a 200 ms message timeout (one try), a dead line ends
a message every 250 ms, so the decision comes up to one poll interval after the deadline; the
other 150 ms are for scheduling noise. Times are RFC 3339 with ms, so "no earlier" allows 5 ms
of rounding.

Binaries come from the environment: POLLUX_BIN, POLLUX_SIM_BIN, POLLUXCTL_BIN (set by CTest).
"""

import datetime
import os
import subprocess
import threading
import time
import unittest

from pollux_support.configs import sim_yaml
from pollux_support.node import wait_until
from pollux_support.testcase import NodeTestCase

POLLUXCTL = os.environ.get("POLLUXCTL_BIN", "polluxctl")
TOL = 0.4  # seconds, see the module comment
PT = "{ name: V, table: holding, address: 0, type: uint16 }"
SYDEV = ("SYDEVCOMID", "SYDEVCOMLN", "SYDEVPCOM", "SYDEVPRFO", "SYDEVSCOM", "SYDEVTCOM")


def epoch(rfc3339):
    return datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def serial_ch(cid, port, extra="", timeout_ms=200):
    return ("{ id: %s, type: serial, protocol: modbus-rtu, port: %s, message_timeout_ms: %d, "
            "poll_attempts: 1%s }" % (cid, port, timeout_ms, extra))


def tcp_ch(cid, extra=""):
    return "{ id: %s, type: tcp, protocol: modbus-tcp, message_timeout_ms: 200, poll_attempts: 1%s }" % (
        cid, extra)


def device(did, unit, comm, interval=250, writable=(), points=(PT,)):
    out = ["  - id: %s" % did, "    unit: %d" % unit, "    comm:"]
    out += ["      " + c for c in comm]
    out += ["    polls:", "      - name: g", "        interval_ms: %d" % interval,
            "        points: [%s]" % ", ".join(points)]
    if writable:
        out.append("    writable: [%s]" % ", ".join(writable))
    return "\n".join(out)


def node_yaml(channels, devices):
    return "\n".join(["node: { name: fe-failover }", "api: { listen: 127.0.0.1:API_PORT }",
                      "channels:"] + ["  - " + c for c in channels] + ["devices:"] + devices) + "\n"


def regs(value):
    return ["{table: holding, address: 0, value: %d}" % value]


class FailoverTest(NodeTestCase):
    def events(self, node, dev=None, since=0):
        ev = node.get("/api/v1/events?since=%d" % since)
        return [e for e in ev if dev is None or e["device"] == dev]

    def wait_event(self, node, dev, count, timeout, what):
        return wait_until(lambda: (lambda ev: ev if len(ev) >= count else None)(self.events(node, dev)),
                          timeout, what=what)[count - 1]

    def assert_at(self, event, due, what):
        late = epoch(event["time"]) - due
        self.assertTrue(-0.005 <= late <= TOL, "%s %+.3fs after it was due (allowed 0..%.1fs): %s"
                        % (what, late, TOL, event))

    def last_success(self, node, dev):
        return epoch(node.device(dev)["last_success"])

    def wait_good(self, node, dev, timeout=10):
        wait_until(lambda: node.points(dev)["V"]["quality"] == "good", timeout, what=dev + " good")

    # Rules 1c, 1b, 5, 6 on one device; its line-mate on the shared serial channel stays put.
    def test_initial_fail_retry_primary_subsequent_fail_and_prfo_reset(self):
        sim = self.start_sim(sim_yaml([("A", 4, regs(31)), ("B", 5, regs(32))],
                                      serial=[("L1", ["A", "B"])], tcp=[("T1", ["A"], "modbus-tcp")]))
        host, port = sim.tcp_addr("T1")
        comm = ["primary: { channel: COM1, initial_fail_s: 2, subsequent_fail_s: 1 }",
                "first_failover: { channel: NET1, host: %s, port: %d, retry_primary_s: 2 }"
                % (host, port)]
        node = self.start_node(node_yaml(
            [serial_ch("COM1", sim.serial["L1"]), tcp_ch("NET1")],
            [device("A", 4, comm), device("B", 5, ["primary: { channel: COM1, initial_fail_s: 1 }"])]))
        self.wait_good(node, "A")
        self.wait_good(node, "B")
        p = node.points("A")
        self.assertEqual({n: p[n]["value"] for n in SYDEV},
                         {"SYDEVCOMID": "COM1", "SYDEVCOMLN": 1, "SYDEVPCOM": "COM1", "SYDEVPRFO": 0,
                          "SYDEVSCOM": "NET1", "SYDEVTCOM": ""})
        self.assertTrue(all(p[n]["quality"] == "good" for n in SYDEV), p)
        d = node.device("A")
        self.assertEqual(d["lines"], [
            {"line": 1, "channel": "COM1", "eligible": True, "usable": True},
            {"line": 2, "channel": "NET1", "eligible": True, "usable": True, "retry_primary_s": 2}])
        self.assertEqual((d["active_line"], d["active_channel"], d["primary_failed_over"],
                          d["last_good_line"], d["auto"]), (1, "COM1", False, 1, True))
        for k in ("messages_ok", "messages_failed", "exceptions", "timeouts", "crc_errors",
                  "framing_errors", "polls_ok", "polls_failed"):
            self.assertIn(k, d["stats"])

        # Primary silent: line 2 after initial_fail_s (2 s) of no success, not before.
        t0 = time.time()
        sim.fault("A", "silence", via="L1")
        time.sleep(0.5)
        d = node.device("A")
        self.assertEqual(d["active_line"], 1)
        ls = epoch(d["last_success"])  # the last answer on line 1, before the fault
        self.assertLess(ls, t0 + 0.25)
        e1 = self.wait_event(node, "A", 1, 3, "initial_fail")
        self.assertEqual((e1["from"], e1["to"], e1["reason"]), (1, 2, "initial_fail"))
        self.assert_at(e1, ls + 2, "initial_fail")
        p = node.points("A")
        self.assertEqual((p["SYDEVCOMLN"]["value"], p["SYDEVCOMID"]["value"], p["SYDEVPRFO"]["value"]),
                         (2, "NET1", 1))
        # Same step as the state: the status points carry the event's time.
        self.assertLessEqual(abs(epoch(p["SYDEVCOMLN"]["timestamp"]) - epoch(e1["time"])), 0.01)
        d = node.device("A")
        self.assertEqual((d["active_line"], d["active_channel"], d["primary_failed_over"]),
                         (2, "NET1", True))
        wait_until(lambda: node.device("A")["last_good_line"] == 2, 2, what="good on line 2")

        # Retry primary 2 s after the failover, whatever line 2 does.
        e2 = self.wait_event(node, "A", 2, 3, "retry_primary")
        self.assertEqual((e2["from"], e2["to"], e2["reason"]), (2, 1, "retry_primary"))
        self.assert_at(e2, epoch(e1["time"]) + 2, "retry_primary")
        # Primary still dead: line 2 again subsequent_fail_s (1 s) after the restore, although
        # the last success (on line 2) is more recent than initial_fail_s would need.
        e3 = self.wait_event(node, "A", 3, 3, "subsequent_fail")
        self.assertEqual((e3["from"], e3["to"], e3["reason"]), (1, 2, "subsequent_fail"))
        self.assert_at(e3, epoch(e2["time"]) + 1, "subsequent_fail")
        self.assertEqual(node.points("A")["SYDEVPRFO"]["value"], 1)

        # Primary healthy: the next retry stays on line 1 and the first good read there resets
        # SYDEVPRFO.
        sim.clear("A")
        e4 = self.wait_event(node, "A", 4, 3, "second retry_primary")
        self.assertEqual((e4["from"], e4["to"], e4["reason"]), (2, 1, "retry_primary"))
        self.assert_at(e4, epoch(e3["time"]) + 2, "second retry_primary")
        wait_until(lambda: node.points("A")["SYDEVPRFO"]["value"] == 0, 1, what="SYDEVPRFO 0")
        time.sleep(1.5)  # past subsequent_fail_s: no new failover
        self.assertEqual(len(self.events(node, "A")), 4, self.events(node, "A"))
        d = node.device("A")
        self.assertEqual((d["active_line"], d["primary_failed_over"], d["last_good_line"]),
                         (1, False, 1))
        self.assertEqual(self.events(node, since=e3["seq"]), [e4])
        # Every line change is logged at info level with its event number.
        self.assertRegex(node.text(), r"info  \[device\.A\] line 2 -> 1 \(retry_primary\), event %d"
                         % e4["seq"])

        # The line-mate never moved and never failed.
        self.assertEqual(self.events(node, "B"), [])
        b = node.device("B")
        self.assertEqual((b["active_line"], b["stats"]["polls_failed"]), (1, 0))

    # Rule 3 with three lines: from line 2, try_in_order goes to 3, jump_to_last_good to 1.
    def test_try_in_order_against_jump_to_last_good(self):
        sim = self.start_sim(sim_yaml([("X", 1, regs(1)), ("Y", 2, regs(2))],
                                      serial=[("L1", ["X", "Y"])],
                                      tcp=[("T1", ["X", "Y"], "modbus-tcp"),
                                           ("T2", ["X", "Y"], "modbus-tcp")]))
        t1, t2 = sim.tcp_addr("T1"), sim.tcp_addr("T2")

        def comm(seq):
            return ["sequence: %s" % seq, "primary: { channel: COM1, initial_fail_s: 1 }",
                    "first_failover: { channel: NET1, host: %s, port: %d, initial_fail_s: 1 }" % t1,
                    "second_failover: { channel: NET2, host: %s, port: %d, initial_fail_s: 1 }" % t2]

        node = self.start_node(node_yaml(
            [serial_ch("COM1", sim.serial["L1"]), tcp_ch("NET1"), tcp_ch("NET2")],
            [device("X", 1, comm("try_in_order")), device("Y", 2, comm("jump_to_last_good"))]))
        self.wait_good(node, "X")
        self.wait_good(node, "Y")
        # Line 2 is dead before the devices are sent there, so line 1 stays their last good line.
        sim.fault("X", "silence", via="T1")
        sim.fault("Y", "silence", via="T1")
        for dev in ("X", "Y"):
            self.assertEqual(node.device(dev)["last_good_line"], 1)
            status, body = node.request("POST", "/api/v1/devices/%s/line" % dev, {"line": 2})
            self.assertEqual((status, body["active_line"]), (200, 2), body)
        # initial_fail_s of line 2 counts from the last success, on line 1 just before.
        time.sleep(0.3)  # a poll in flight on line 1 at the switch still ends there
        ls = {dev: self.last_success(node, dev) for dev in ("X", "Y")}
        ex = self.wait_event(node, "X", 2, 3, "X leaves line 2")
        ey = self.wait_event(node, "Y", 2, 3, "Y leaves line 2")
        self.assertEqual([(e["from"], e["to"], e["reason"]) for e in self.events(node, "X")],
                         [(1, 2, "manual"), (2, 3, "initial_fail")])
        self.assertEqual([(e["from"], e["to"], e["reason"]) for e in self.events(node, "Y")],
                         [(1, 2, "manual"), (2, 1, "initial_fail")])
        self.assert_at(ex, ls["X"] + 1, "X initial_fail")
        self.assert_at(ey, ls["Y"] + 1, "Y initial_fail")
        self.wait_good(node, "X", 3)
        self.assertEqual(node.points("X")["SYDEVCOMID"]["value"], "NET2")
        self.assertEqual(node.points("X")["SYDEVTCOM"]["value"], "NET2")
        self.assertEqual(node.points("Y")["SYDEVCOMID"]["value"], "COM1")
        # Neither left line 1 for line 2 under rule 1, so SYDEVPRFO stayed 0 (rule 6).
        self.assertEqual(node.points("X")["SYDEVPRFO"]["value"], 0)

    # Rule 2: a vanished pty and an operator-disabled channel move every auto device at once;
    # a manual device stays.
    def test_vanished_pty_and_disabled_channel_fail_over_at_once(self):
        sim = self.start_sim(sim_yaml([("A", 1, regs(1)), ("B", 2, regs(2)), ("C", 3, regs(3)),
                                       ("M", 4, regs(4))],
                                      serial=[("L1", ["A"]), ("L2", ["B", "C", "M"])],
                                      tcp=[("T1", ["A", "B", "C", "M"], "modbus-tcp")]))
        host, port = sim.tcp_addr("T1")

        def comm(primary, auto=True):
            return ["auto: %s" % ("true" if auto else "false"),
                    "primary: { channel: %s, initial_fail_s: 30 }" % primary,
                    "first_failover: { channel: NET1, host: %s, port: %d }" % (host, port)]

        node = self.start_node(node_yaml(
            [serial_ch("COM1", sim.serial["L1"]), serial_ch("COM2", sim.serial["L2"]), tcp_ch("NET1")],
            [device("A", 1, comm("COM1")), device("B", 2, comm("COM2")), device("C", 3, comm("COM2")),
             device("M", 4, comm("COM2", auto=False))]))
        for dev in "ABCM":
            self.wait_good(node, dev)
        t0 = time.time()
        sim.close_port("L1")
        e = self.wait_event(node, "A", 1, 3, "A fails over on the vanished pty")
        self.assertEqual((e["from"], e["to"], e["reason"]), (1, 2, "channel_unusable"))
        # initial_fail_s is 30: only the unusable channel explains a move this fast.
        self.assertLess(epoch(e["time"]) - t0, 1.0, e)
        self.assertEqual(node.device("A")["lines"][0]["usable"], False)
        self.wait_good(node, "A", 3)
        self.assertEqual(self.events(node, "B") + self.events(node, "C"), [])

        t0 = time.time()
        status, body = node.request("POST", "/api/v1/channels/COM2/disable")
        self.assertEqual((status, body["status"]), (200, "disabled"), body)
        t1 = time.time()
        for dev in "BC":
            ev = self.events(node, dev)  # already there when the command answers
            self.assertEqual([(x["from"], x["to"], x["reason"]) for x in ev],
                             [(1, 2, "channel_unusable")], dev)
            self.assertLessEqual(epoch(ev[0]["time"]), t1 + 0.01)
            self.assertGreaterEqual(epoch(ev[0]["time"]), t0 - 0.01)
            self.assertEqual(node.points(dev)["SYDEVPRFO"]["value"], 1)
        self.assertEqual(self.events(node, "M"), [])  # manual: stays on its configured line
        self.assertEqual(node.device("M")["active_line"], 1)
        wait_until(lambda: node.points("M")["V"]["quality"] == "bad", 3, what="M bad")
        self.wait_good(node, "B", 3)
        self.wait_good(node, "C", 3)

    # Rule 4 for a master-mode message: by default the write that failed on line 1 completes
    # as failed and is not sent again; with retry_in_progress_control it is retried on line 2.
    def test_write_in_flight_during_failover(self):
        sim = self.start_sim(sim_yaml([("W", 7, regs(0)), ("R", 8, regs(0))],
                                      serial=[("L1", ["W", "R"])],
                                      tcp=[("T1", ["W", "R"], "modbus-tcp")]))
        host, port = sim.tcp_addr("T1")

        def comm(retry):
            return ["retry_in_progress_control: %s" % ("true" if retry else "false"),
                    "primary: { channel: COM1, initial_fail_s: 1 }",
                    "first_failover: { channel: NET1, host: %s, port: %d }" % (host, port)]

        # One poll at start only: the write is the message whose failure triggers the failover.
        node = self.start_node(node_yaml(
            [serial_ch("COM1", sim.serial["L1"]), tcp_ch("NET1")],
            [device("W", 7, comm(False), interval=60000, writable=["V"]),
             device("R", 8, comm(True), interval=60000, writable=["V"])]))
        self.wait_good(node, "W")
        self.wait_good(node, "R")
        # The device applies the write but its answer is cut short: the write fails on line 1
        # although it reached the device (the case where a retry writes twice).
        sim.check({"cmd": "fault", "line": "L1", "fault": "truncate"})
        time.sleep(1.2)  # past initial_fail_s since the last success
        status, body = node.request("POST", "/api/v1/devices/W/write", {"point": "V", "value": 11})
        self.assertIn(status, (502, 504), body)
        self.assertEqual(node.device("W")["active_line"], 2)
        self.assertEqual([(e["from"], e["to"], e["reason"]) for e in self.events(node, "W")],
                         [(1, 2, "initial_fail")])
        status, body = node.request("POST", "/api/v1/devices/R/write", {"point": "V", "value": 12})
        self.assertEqual((status, body), (200, {"ok": True}))
        self.assertEqual(node.device("R")["active_line"], 2)
        ww = [(w["via"], w["values"]) for w in sim.writes("W")]
        rw = [(w["via"], w["values"]) for w in sim.writes("R")]
        self.assertEqual(ww, [("L1", [11])], "default: at most once, never on the new line")
        self.assertEqual(rw, [("L1", [12]), ("T1", [12])], "retry_in_progress_control: again on line 2")

    # Rules 2 and 4 together: a write in flight when the operator disables its channel follows
    # the device to line 2 with retry_in_progress_control, and fails at once without it.
    def test_write_in_flight_when_the_channel_is_disabled(self):
        sim = self.start_sim(sim_yaml([("W", 7, regs(0)), ("R", 8, regs(0))],
                                      serial=[("L1", ["W"]), ("L2", ["R"])],
                                      tcp=[("T1", ["W", "R"], "modbus-tcp")]))
        host, port = sim.tcp_addr("T1")

        def comm(primary, retry):
            return ["retry_in_progress_control: %s" % ("true" if retry else "false"),
                    "primary: { channel: %s, initial_fail_s: 30 }" % primary,
                    "first_failover: { channel: NET1, host: %s, port: %d }" % (host, port)]

        # A 3 s message timeout: the writes are still waiting for an answer when COM1 and COM2
        # are disabled.
        node = self.start_node(node_yaml(
            [serial_ch("COM1", sim.serial["L1"], timeout_ms=3000),
             serial_ch("COM2", sim.serial["L2"], timeout_ms=3000),
             tcp_ch("NET1")],
            [device("W", 7, comm("COM1", False), interval=60000, writable=["V"]),
             device("R", 8, comm("COM2", True), interval=60000, writable=["V"])]))
        self.wait_good(node, "W")
        self.wait_good(node, "R")
        sim.fault("W", "silence", via="L1")  # the request never reaches the device
        sim.fault("R", "silence", via="L2")
        answers = {}

        def write(dev, value):
            answers[dev] = node.request("POST", "/api/v1/devices/%s/write" % dev,
                                        {"point": "V", "value": value}) + (time.time(),)

        threads = [threading.Thread(target=write, args=a) for a in (("W", 21), ("R", 22))]
        for t in threads:
            t.start()
        time.sleep(0.5)
        t0 = time.time()
        for ch in ("COM1", "COM2"):
            self.assertEqual(node.request("POST", "/api/v1/channels/%s/disable" % ch)[0], 200)
        for t in threads:
            t.join(10)
        status, body, t_w = answers["W"]
        self.assertIn(status, (502, 504), body)
        self.assertLess(t_w - t0, 1.0, "failed at the disable, not after the 3 s timeout")
        status, body, t_r = answers["R"]
        self.assertEqual((status, body), (200, {"ok": True}))
        self.assertLess(t_r - t0, 1.0, "retried on line 2 at the disable")
        for dev in ("W", "R"):
            self.assertEqual([(e["from"], e["to"], e["reason"]) for e in self.events(node, dev)],
                             [(1, 2, "channel_unusable")], dev)
        self.assertEqual(sim.writes("W"), [])
        self.assertEqual([(w["via"], w["values"]) for w in sim.writes("R")], [("T1", [22])])

    # Rule 4 for a poll attempt of three messages (blocks far apart): the first is in flight
    # when its channel goes away; it and the rest of the attempt are sent on line 2, and the
    # attempt succeeds there.
    def test_rest_of_a_poll_attempt_follows_the_device(self):
        far = ["{table: holding, address: 0, value: 1}", "{table: holding, address: 3000, value: 2}",
               "{table: holding, address: 6000, value: 3}"]
        sim = self.start_sim(sim_yaml([("P", 3, far)], serial=[("L1", ["P"])],
                                      tcp=[("T1", ["P"], "modbus-tcp")]))
        host, port = sim.tcp_addr("T1")
        pts = ["{ name: V%d, table: holding, address: %d, type: uint16 }" % (i, a)
               for i, a in ((1, 0), (2, 3000), (3, 6000))]
        node = self.start_node(node_yaml(
            [serial_ch("COM1", sim.serial["L1"], timeout_ms=3000), tcp_ch("NET1")],
            [device("P", 3, ["primary: { channel: COM1, initial_fail_s: 30 }",
                             "first_failover: { channel: NET1, host: %s, port: %d }" % (host, port)],
                    interval=60000, points=pts)]))
        wait_until(lambda: node.device("P")["stats"]["polls_ok"] == 1, 10, what="first poll")
        self.assertEqual(sim.stats()["devices"]["P"]["requests_by_path"].get("L1"), 3)
        sim.fault("P", "silence", via="L1")
        self.assertEqual(node.request("POST", "/api/v1/devices/P/poll")[0], 202)
        time.sleep(0.5)  # the first block is waiting for its answer (3 s timeout)
        self.assertEqual(node.request("POST", "/api/v1/channels/COM1/disable")[0], 200)
        wait_until(lambda: node.device("P")["stats"]["polls_ok"] == 2, 2, what="attempt done on line 2")
        st = node.device("P")["stats"]
        self.assertEqual((st["polls_failed"], st["messages_failed"]), (0, 1), st)
        by_path = sim.stats()["devices"]["P"]["requests_by_path"]
        self.assertEqual(by_path.get("T1"), 3, by_path)  # the failed block and the two after it
        p = node.points("P")
        self.assertEqual([(p[n]["value"], p[n]["quality"]) for n in ("V1", "V2", "V3")],
                         [(1, "good"), (2, "good"), (3, "good")])

    # Rule 7 and the 409 refusals, over the API and polluxctl.
    def test_manual_mode_and_line_refusals(self):
        sim = self.start_sim(sim_yaml([("M", 1, regs(1)), ("U", 2, regs(2))],
                                      serial=[("L1", ["M"])],
                                      tcp=[("T1", ["M", "U"], "modbus-tcp"), ("T2", ["M"], "modbus-tcp")]))
        t1, t2 = sim.tcp_addr("T1"), sim.tcp_addr("T2")
        node = self.start_node(node_yaml(
            [serial_ch("COM1", sim.serial["L1"]), tcp_ch("NET1"), tcp_ch("NET2"),
             serial_ch("COM9", "/nonexistent/pollux-tty", ", enabled: false")],
            [device("M", 1, ["auto: false", "primary: { channel: COM1, initial_fail_s: 1 }",
                             "first_failover: { channel: NET1, host: %s, port: %d, available: false }" % t1,
                             "second_failover: { channel: NET2, host: %s, port: %d }" % t2]),
             device("U", 2, ["primary: { channel: NET1, host: %s, port: %d }" % t1,
                             "first_failover: { channel: COM9 }"])]))
        self.wait_good(node, "M")
        self.wait_good(node, "U")
        self.assertEqual(node.device("M")["lines"][1], {"line": 2, "channel": "NET1", "eligible": False,
                                                        "usable": True})
        self.assertEqual(node.device("U")["lines"][1], {"line": 2, "channel": "COM9", "eligible": True,
                                                        "usable": False})
        sim.fault("M", "silence", via="L1")
        wait_until(lambda: node.points("M")["V"]["quality"] == "bad", 3, what="M bad")
        time.sleep(1.5)  # well past initial_fail_s: manual mode does not move
        self.assertEqual((node.device("M")["active_line"], self.events(node)), (1, []))

        def refused(dev, line, words):
            status, body = node.request("POST", "/api/v1/devices/%s/line" % dev, {"line": line})
            self.assertEqual(status, 409, body)
            self.assertIn(words, body["error"])

        refused("M", 2, "not available")
        refused("U", 2, "usable")
        refused("U", 3, "not configured")
        self.assertEqual(node.request("POST", "/api/v1/devices/M/line", {"line": 4})[0], 400)
        self.assertEqual(node.request("POST", "/api/v1/devices/NOPE/line", {"line": 1})[0], 404)
        self.assertEqual(self.events(node), [])  # nothing changed
        self.assertEqual(node.device("U")["active_line"], 1)

        ctl = lambda *a: subprocess.run([POLLUXCTL, "--api", node.base] + list(a),  # noqa: E731
                                        capture_output=True, text=True, timeout=10)
        r = ctl("line", "M", "3")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("active line 3", r.stdout)
        e = self.events(node, "M")
        self.assertEqual([(x["from"], x["to"], x["reason"]) for x in e], [(1, 3, "manual")])
        self.wait_good(node, "M", 3)
        self.assertEqual(node.points("M")["SYDEVCOMLN"]["value"], 3)
        r = ctl("line", "M", "2")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not available", r.stderr + r.stdout)
        r = ctl("line", "U", "2")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("usable", r.stderr + r.stdout)
        self.assertEqual(node.device("M")["active_line"], 3)

    # A modem line as second failover dials the device's own number with its own init string.
    def test_modem_second_failover_dials_the_device_number_and_init(self):
        sim = self.start_sim(sim_yaml([("D", 6, regs(66))], serial=[("L1", ["D"])]) +
                             "modems:\n  - { id: MD1, dial_ms: 100, guard_ms: 200, "
                             "numbers: { \"5550101\": [D] } }\n")
        node = self.start_node(node_yaml(
            [serial_ch("COM1", sim.serial["L1"]), tcp_ch("NET1"),
             "{ id: MODEM1, type: modem, protocol: modbus-rtu, port: %s, init: ATZ, dial_timeout_s: 5, "
             "message_timeout_ms: 500, poll_attempts: 1 }" % sim.modems["MD1"]],
            [device("D", 6, ["primary: { channel: COM1, initial_fail_s: 1 }",
                             "first_failover: { channel: NET1, host: 127.0.0.1, port: 1, available: false }",
                             "second_failover: { channel: MODEM1, phone: \"555-0101\", "
                             "init: \"AT&FE0S7=45\" }"], interval=500)]))
        self.wait_good(node, "D")
        self.assertEqual(sim.stats()["modems"]["MD1"]["dialed"], [])
        sim.fault("D", "silence", via="L1")
        e = self.wait_event(node, "D", 1, 4, "failover to the modem")
        self.assertEqual((e["from"], e["to"], e["reason"]), (1, 3, "initial_fail"))
        wait_until(lambda: node.points("D")["V"]["quality"] == "good", 5, what="D good over the modem")
        self.assertEqual(node.points("D")["V"]["value"], 66)
        m = sim.stats()["modems"]["MD1"]
        self.assertEqual(m["dialed"][:1], ["5550101"], m)
        self.assertIn("AT&FE0S7=45", m["inits"], m)
        self.assertNotIn("ATZ", m["inits"], m)
        self.assertEqual(node.points("D")["SYDEVTCOM"]["value"], "MODEM1")


if __name__ == "__main__":
    unittest.main(verbosity=2)
