"""End-to-end tests of `pollux run` against `pollux-sim` (engine issue, item 7).

Binaries come from the environment: POLLUX_BIN and POLLUX_SIM_BIN (set by CTest). Every wait is
bounded; the node's API listens on a free port chosen by the test.
"""

import os
import re
import signal
import subprocess
import time
import unittest
import urllib.request

from pollux_support.configs import sim_yaml
from pollux_support.node import POLLUX, POLLUXCTL, Node, free_port, wait_until
from pollux_support.testcase import NodeTestCase


# Every point type and order, the same registers on the simulator and in the node's config.
TYPED_POINTS = [
    # (sim register spec, node point spec, expected value)
    ("{table: holding, address: 0, type: float32, value: 12.5}",
     "{name: F32, table: holding, address: 0, type: float32}", 12.5),
    ("{table: holding, address: 2, type: float32, word_order: little, value: -3.25}",
     "{name: F32L, table: holding, address: 2, type: float32, word_order: little}", -3.25),
    ("{table: holding, address: 4, type: int16, value: -1234}",
     "{name: I16, table: holding, address: 4, type: int16}", -1234),
    ("{table: holding, address: 5, type: uint16, value: 65000}",
     "{name: U16, table: holding, address: 5, type: uint16}", 65000),
    ("{table: holding, address: 6, type: int32, value: -2000000}",
     "{name: I32, table: holding, address: 6, type: int32}", -2000000),
    ("{table: holding, address: 8, type: uint32, word_order: little, value: 3000000000}",
     "{name: U32L, table: holding, address: 8, type: uint32, word_order: little}", 3000000000),
    ("{table: holding, address: 10, type: int64, value: -9000000000}",
     "{name: I64, table: holding, address: 10, type: int64}", -9000000000),
    ("{table: holding, address: 14, type: uint64, word_order: little, value: 12345678901}",
     "{name: U64L, table: holding, address: 14, type: uint64, word_order: little}", 12345678901),
    ("{table: holding, address: 18, type: float64, value: 3.140625}",
     "{name: F64, table: holding, address: 18, type: float64}", 3.140625),
    ("{table: holding, address: 22, type: float64, word_order: little, value: -2.5}",
     "{name: F64L, table: holding, address: 22, type: float64, word_order: little}", -2.5),
    ("{table: holding, address: 26, type: string, length: 4, value: PUMP-7}",
     "{name: STR, table: holding, address: 26, type: string, length: 4}", "PUMP-7"),
    ("{table: holding, address: 30, type: uint16, byte_order: little, value: 258}",
     "{name: U16B, table: holding, address: 30, type: uint16, byte_order: little}", 258),
    ("{table: holding, address: 40, type: int32, word_order: little, byte_order: little, value: -77}",
     "{name: I32LL, table: holding, address: 40, type: int32, word_order: little, byte_order: little}",
     -77),
    ("{table: input, address: 0, type: uint16, value: 1234}",
     "{name: SCALED, table: input, address: 0, type: uint16, scale: 0.1, offset: 1}", 124.4),
    ("{table: coil, address: 0, value: true}", "{name: C0, table: coil, address: 0, type: bool}", True),
    ("{table: coil, address: 1, value: false}", "{name: C1, table: coil, address: 1, type: bool}", False),
    ("{table: discrete, address: 3, value: true}",
     "{name: D3, table: discrete, address: 3, type: bool}", True),
]


def node_yaml(channels, devices):
    """channels: YAML flow maps; devices: (id, unit, primary flow map, interval, points, writable)."""
    out = ["node: { name: fe-test }", "api: { listen: 127.0.0.1:API_PORT }", "channels:"]
    out += ["  - " + c for c in channels]
    out.append("devices:")
    for did, unit, primary, interval, pts, writable in devices:
        comm = primary if primary.startswith("primary:") else "primary: " + primary
        out.append("  - id: %s\n    unit: %d\n    comm: { %s }" % (did, unit, comm))
        out.append("    polls:\n      - name: g\n        interval_ms: %d\n        points:" % interval)
        out += ["          - " + p for p in pts]
        if writable:
            out.append("    writable: [%s]" % ", ".join(writable))
    return "\n".join(out) + "\n"


class EngineTest(NodeTestCase):
    def assert_value(self, got, want, where):
        if isinstance(want, float):
            self.assertAlmostEqual(got, want, places=6, msg=where)
        else:
            self.assertEqual(got, want, where)
            self.assertEqual(type(got), type(want), where)

    def test_values_match_the_simulator_for_every_type_and_order(self):
        sim = self.start_sim(sim_yaml([("RTU", 17, [r for r, _, _ in TYPED_POINTS])],
                                      serial=[("L1", ["RTU"])],
                                      tcp=[("T1", ["RTU"], "modbus-tcp"),
                                           ("T2", ["RTU"], "modbus-rtu-over-tcp")]))
        t1 = sim.tcp_addr("T1")
        t2 = sim.tcp_addr("T2")
        pts = [p for _, p, _ in TYPED_POINTS]
        node = self.start_node(node_yaml(
            ["{ id: COM1, type: serial, protocol: modbus-rtu, port: %s }" % sim.serial["L1"],
             "{ id: NET1, type: tcp, protocol: modbus-tcp }",
             "{ id: NET2, type: tcp, protocol: modbus-rtu-over-tcp }"],
            [("VIA_SERIAL", 17, "{ channel: COM1 }", 500, pts, []),
             ("VIA_TCP", 17, "{ channel: NET1, host: %s, port: %d }" % t1, 500, pts, []),
             ("VIA_RTU_TCP", 17, "{ channel: NET2, host: %s, port: %d }" % t2, 500, pts, [])]))
        for dev in ("VIA_SERIAL", "VIA_TCP", "VIA_RTU_TCP"):
            got = wait_until(lambda: (lambda p: p if all(p[n]["quality"] == "good" for n in p)
                                      else None)(node.points(dev)), 10, what=dev + " all good")
            for _, spec, want in TYPED_POINTS:
                name = re.search(r"name: (\w+)", spec).group(1)
                self.assert_value(got[name]["value"], want, "%s.%s" % (dev, name))
            d = node.device(dev)
            self.assertEqual(d["stats"]["messages_failed"], 0, dev)
            self.assertEqual(got["SYDEVCOMLN"]["value"], 1)

    def test_silent_device_turns_bad_without_slowing_its_line_mates(self):
        sim = self.start_sim(sim_yaml([("A", 1, ["{table: holding, address: 0, value: 11}"]),
                                       ("B", 2, ["{table: holding, address: 0, value: 22}"])],
                                      serial=[("L1", ["A", "B"])]))
        # A dead device costs B at most timeout x attempts = 300 ms x 2 per cycle.
        ch = ("{ id: COM1, type: serial, protocol: modbus-rtu, port: %s, message_timeout_ms: 300, "
              "poll_attempts: 2 }" % sim.serial["L1"])
        pt = ["{ name: V, table: holding, address: 0, type: uint16 }"]
        node = self.start_node(node_yaml([ch], [("A", 1, "{ channel: COM1 }", 1000, pt, []),
                                                ("B", 2, "{ channel: COM1 }", 1000, pt, [])]))
        wait_until(lambda: node.points("A")["V"]["quality"] == "good", 10, what="A good")
        sim.fault("A", "silence")
        wait_until(lambda: node.points("A")["V"]["quality"] == "bad", 6, what="A bad")
        a = node.points("A")["V"]
        self.assertEqual(a["value"], 11)  # the last value is kept
        self.assertIn("timeout", a.get("error", ""))
        b0 = node.device("B")["stats"]
        t0 = time.monotonic()
        time.sleep(5.0)
        b1 = node.device("B")["stats"]
        elapsed = time.monotonic() - t0
        # B keeps its 1 s cycle: the dead line-mate's 600 ms fits inside it.
        why = "B before %s, after %s, %.2fs; A %s" % (b0, b1, elapsed, node.device("A")["stats"])
        self.assertGreaterEqual(b1["polls_ok"] - b0["polls_ok"], int(elapsed) - 1, why)
        self.assertEqual(b1["polls_failed"], 0, why)
        self.assertEqual(b1["overruns"], 0, why)
        self.assertEqual(node.points("B")["V"]["quality"], "good")
        sa = node.device("A")["stats"]
        self.assertEqual(sa["timeouts"], 2 * sa["messages_failed"])
        self.assertGreaterEqual(sa["polls_failed"], 3)
        # DEVICE.comm and its metrics tell the dead device from its healthy line-mate.
        self.assertEqual(node.device("A")["comm"], "failed")
        self.assertEqual(node.device("B")["comm"], "ok")
        metrics = node.metrics()
        self.assertIn('pollux_device_up{device="A"} 0\n', metrics)
        self.assertIn('pollux_device_up{device="B"} 1\n', metrics)
        last_b = float(re.search(r'pollux_device_last_success_timestamp_seconds\{device="B"\} (\S+)',
                                 metrics).group(1))
        self.assertLess(abs(time.time() - last_b), 5.0)
        if os.environ.get("POLLUXCTL_BIN"):
            out = subprocess.run([os.environ["POLLUXCTL_BIN"], "--api", node.base, "devices"],
                                 capture_output=True, text=True, timeout=10).stdout
            rows = {line.split()[0]: line.split() for line in out.splitlines()}
            self.assertEqual(rows["DEVICE"][1], "COMM", out)
            self.assertEqual(rows["A"][1], "failed", out)  # no colour codes into a pipe
            self.assertEqual(rows["B"][1], "ok", out)
        sim.clear("A")
        wait_until(lambda: node.device("A")["comm"] == "ok", 6, what="A answers again")

    def test_refused_range_is_asked_again_until_the_device_serves_it(self):
        # The simulated RTU's tables hold 100 entries: register 150 answers exception 02 until a
        # "firmware update" grows them.
        sim = self.start_sim(sim_yaml([("A", 1, ["{table: holding, address: 0, value: 11}"]),
                                       ("B", 2, ["{table: holding, address: 0, value: 22}"])],
                                      tcp=[("T1", ["A", "B"], "modbus-tcp")]))
        for d in ("A", "B"):
            sim.check({"cmd": "resize", "device": d, "size": 100})
        host, port = sim.tcp_addr("T1")
        pts = ("        points:\n"
               "          - { name: P, table: holding, address: 0, type: uint16 }\n"
               "          - { name: Q, table: holding, address: 150, type: uint16 }\n")
        dev = ("  - id: %s\n    unit: %d\n    refused_retry_s: %d\n"
               "    comm: { primary: { channel: NET1, host: %s, port: %d } }\n"
               "    polls:\n      - name: g\n        interval_ms: 300\n")
        node = self.start_node(
            "node: { name: fe-test }\napi: { listen: 127.0.0.1:API_PORT }\nchannels:\n"
            "  - { id: NET1, type: tcp, protocol: modbus-tcp, message_timeout_ms: 500 }\n"
            "devices:\n" + dev % ("A", 1, 2, host, port) + pts + dev % ("B", 2, 0, host, port) + pts)
        for d in ("A", "B"):
            wait_until(lambda: node.points(d)["Q"].get("error") == "illegal data address", 10,
                       what=d + ".Q refused")
            self.assertEqual(node.points(d)["P"]["quality"], "good")
        failed = {d: node.device(d)["stats"]["polls_failed"] for d in ("A", "B")}
        refusals = node.device("A")["stats"]["exceptions"]
        # While refused, A asks again every 2 s: the rest of its group stays good all along.
        t0 = time.monotonic()
        while time.monotonic() - t0 < 2.5:
            self.assertEqual(node.points("A")["P"]["quality"], "good")
            time.sleep(0.1)
        self.assertEqual(node.device("A")["stats"]["polls_failed"], failed["A"])
        self.assertGreater(node.device("A")["stats"]["exceptions"], refusals)
        for d in ("A", "B"):
            sim.check({"cmd": "resize", "device": d, "size": 200})
        wait_until(lambda: node.points("A")["Q"]["quality"] == "good", 5, what="A.Q back")
        # B (refused_retry_s 0) asks again only when told to poll.
        time.sleep(1.0)
        self.assertEqual(node.points("B")["Q"]["quality"], "bad")
        status, _ = node.request("POST", "/api/v1/devices/B/poll")
        self.assertEqual(status, 202)
        wait_until(lambda: node.points("B")["Q"]["quality"] == "good", 3, what="B.Q back")
        self.assertEqual(node.device("B")["stats"]["polls_failed"], failed["B"])

    def test_writes_reach_the_device_exactly_once(self):
        regs = ["{table: holding, address: 50, value: 0}", "{table: coil, address: 5, value: false}",
                "{table: holding, address: 60, type: float32, value: 0}"]
        sim = self.start_sim(sim_yaml([("W", 9, regs), ("S", 10, regs)],
                                      serial=[("L1", ["W", "S"])], extra="control: 127.0.0.1:0\n"))
        pts = ["{ name: SP, table: holding, address: 50, type: uint16, scale: 0.5 }",
               "{ name: RUN, table: coil, address: 5, type: bool }",
               "{ name: FL, table: holding, address: 60, type: float32 }",
               "{ name: FAR, table: holding, address: 5000, type: uint16 }"]
        ch = ("{ id: COM1, type: serial, protocol: modbus-rtu, port: %s, message_timeout_ms: 300 }"
              % sim.serial["L1"])
        # FAR is past the end of W's registers: W refuses that block on its polls too.
        node = self.start_node(node_yaml([ch], [
            ("W", 9, "{ channel: COM1 }", 60000, pts, ["SP", "RUN", "FL", "FAR"]),
            ("S", 10, "{ channel: COM1 }", 60000, pts[:1], ["SP"])]))
        self.assertEqual(node.request("POST", "/api/v1/devices/W/write",
                                      {"point": "SP", "value": 21.0}), (200, {"ok": True}))
        self.assertEqual(node.request("POST", "/api/v1/devices/W/write",
                                      {"point": "RUN", "value": True})[0], 200)
        self.assertEqual(node.request("POST", "/api/v1/devices/W/write",
                                      {"point": "FL", "value": 1.5})[0], 200)
        writes = sim.writes("W")
        self.assertEqual([(w["function"], w["address"], w["values"]) for w in writes],
                         [(6, 50, [42]), (5, 5, [1]), (16, 60, [0x3FC0, 0])])
        # Not writable, unknown point, out of range.
        self.assertEqual(node.request("POST", "/api/v1/devices/W/write",
                                      {"point": "NOPE", "value": 1})[0], 404)
        # Refusals say why in words, naming the point and the value (api.md "Settled details").
        self.assertEqual(node.request("POST", "/api/v1/devices/S/write", {"point": "SP", "value": -5}),
                         (400, {"error": "SP: -5 is out of range for uint16 with scale 0.5 (0..32767.5)"}))
        self.assertEqual(node.request("POST", "/api/v1/devices/W/write",
                                      {"point": "RUN", "value": "banana"}),
                         (400, {"error": "RUN is bool: 'banana' is not true or false"}))
        self.assertEqual(node.request("POST", "/api/v1/devices/W/write",
                                      {"point": "SYDEVCOMLN", "value": 2}),
                         (400, {"error": "SYDEVCOMLN is a status point"}))
        # An exception answer (address beyond the device) is 502; a silent device 504.
        status, body = node.request("POST", "/api/v1/devices/W/write", {"point": "FAR", "value": 1})
        self.assertEqual(status, 502, body)
        sim.fault("S", "silence")
        status, body = node.request("POST", "/api/v1/devices/S/write", {"point": "SP", "value": 3})
        self.assertEqual(status, 504, body)
        s = node.device("S")["stats"]
        self.assertEqual((s["timeouts"], s["messages_failed"]), (1, 1))  # sent once, never retried
        self.assertEqual(len(sim.writes("W")), 3)

    # A float32 shows as the shortest text that reads back as the same float32 and a scaled value
    # without binary noise, in the JSON and in `polluxctl points` (fidelity issue item 5).
    def test_float32_and_scaled_values_read_without_binary_noise(self):
        sim = self.start_sim(sim_yaml([("A", 1, ["{table: holding, address: 0, type: float32, value: 44.58}",
                                                 "{table: holding, address: 2, value: 761}"])],
                                      serial=[("L1", ["A"])]))
        ch = "{ id: COM1, type: serial, protocol: modbus-rtu, port: %s }" % sim.serial["L1"]
        pts = ["{ name: LEVEL, table: holding, address: 0, type: float32 }",
               "{ name: FLOW, table: holding, address: 2, type: uint16, scale: 0.1 }"]
        node = self.start_node(node_yaml([ch], [("A", 1, "{ channel: COM1 }", 1000, pts, [])]))
        wait_until(lambda: node.points("A")["FLOW"]["quality"] == "good", 10, what="A good")
        raw = urllib.request.urlopen(node.base + "/api/v1/points?device=A", timeout=10).read().decode()
        self.assertRegex(raw, r'"name":"LEVEL",[^}]*"value":44\.58[,}]')
        self.assertRegex(raw, r'"name":"FLOW",[^}]*"value":76\.1[,}]')
        if not POLLUXCTL:
            self.skipTest("POLLUXCTL_BIN not set")
        r = subprocess.run([POLLUXCTL, "--api", node.base, "points", "A"], capture_output=True,
                           text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        values = {line.split()[1]: line.split()[2] for line in r.stdout.splitlines()[1:]}
        self.assertEqual((values["LEVEL"], values["FLOW"]), ("44.58", "76.1"), r.stdout)

    def test_vanished_pty_is_reported_down_and_recovers(self):
        sim = self.start_sim(sim_yaml([("A", 1, ["{table: holding, address: 0, value: 5}"])],
                                      serial=[("L1", ["A"])]))
        ch = ("{ id: COM1, type: serial, protocol: modbus-rtu, port: %s, message_timeout_ms: 300 }"
              % sim.serial["L1"])
        pt = ["{ name: V, table: holding, address: 0, type: uint16 }"]
        node = self.start_node(node_yaml([ch], [("A", 1, "{ channel: COM1 }", 300, pt, [])]))
        wait_until(lambda: node.points("A")["V"]["quality"] == "good", 10, what="A good")
        self.assertEqual(node.channel("COM1")["status"], "ok")
        sim.close_port("L1")
        wait_until(lambda: node.channel("COM1")["status"] == "down", 5, what="COM1 down")
        wait_until(lambda: node.points("A")["V"]["quality"] == "bad", 5, what="A bad")
        sim.open_port("L1")
        wait_until(lambda: node.channel("COM1")["status"] == "ok", 15, what="COM1 ok again")
        wait_until(lambda: node.points("A")["V"]["quality"] == "good", 10, what="A good again")
        log = node.text()
        self.assertIn("[channel.COM1] status down", log)
        self.assertIn("[channel.COM1] status ok", log)

    def test_reload_with_errors_changes_nothing_and_a_valid_one_keeps_state(self):
        sim = self.start_sim(sim_yaml([("A", 1, ["{table: holding, address: 0, value: 5}"]),
                                       ("B", 2, ["{table: holding, address: 0, value: 6}"])],
                                      tcp=[("T1", ["A", "B"], "modbus-tcp")]))
        host, port = sim.tcp_addr("T1")
        ch = "{ id: NET1, type: tcp, protocol: modbus-tcp }"
        pt = ["{ name: V, table: holding, address: 0, type: uint16 }"]
        prim = "{ channel: NET1, host: %s, port: %d }" % (host, port)
        good = node_yaml([ch], [("A", 1, prim, 200, pt, [])])
        node = self.start_node(good)
        wait_until(lambda: node.device("A")["stats"]["polls_ok"] >= 3, 10, what="A polled")
        version = node.get("/api/v1/redundancy")["config_version"]
        # Invalid: an unknown channel reference. Nothing changes, errors are reported.
        node.write_config(node_yaml([ch], [("A", 1, "{ channel: NOPE }", 200, pt, []),
                                           ("B", 2, prim, 200, pt, [])]))
        status, body = node.request("POST", "/api/v1/config/reload")
        self.assertEqual(status, 400, body)
        self.assertTrue(any("error" in e for e in body["errors"]), body)
        os.kill(node.proc.pid, signal.SIGHUP)
        wait_until(lambda: node.text().count("reload refused") >= 2, 5, what="SIGHUP refused")
        self.assertEqual([d["id"] for d in node.get("/api/v1/devices")], ["A"])
        self.assertEqual(node.get("/api/v1/redundancy")["config_version"], version)
        before = node.device("A")["stats"]["polls_ok"]
        time.sleep(0.5)
        self.assertGreater(node.device("A")["stats"]["polls_ok"], before)  # still polling
        # Valid: add B. A is unchanged and keeps its counters; B starts fresh.
        node.write_config(node_yaml([ch], [("A", 1, prim, 200, pt, []), ("B", 2, prim, 200, pt, [])]))
        status, body = node.request("POST", "/api/v1/config/reload")
        self.assertEqual(status, 200, body)
        self.assertNotEqual(body["version"], version)
        self.assertGreaterEqual(node.device("A")["stats"]["polls_ok"], before)
        wait_until(lambda: node.points("B")["V"]["quality"] == "good", 5, what="B good")
        self.assertEqual(node.points("B")["V"]["value"], 6)

    def test_failover_to_tcp_and_retry_primary_back_to_serial(self):
        sim = self.start_sim(sim_yaml([("A", 4, ["{table: holding, address: 0, value: 31}"])],
                                      serial=[("L1", ["A"])], tcp=[("T1", ["A"], "modbus-tcp")]))
        host, port = sim.tcp_addr("T1")
        chs = ["{ id: COM1, type: serial, protocol: modbus-rtu, port: %s, message_timeout_ms: 200, "
               "poll_attempts: 1 }" % sim.serial["L1"],
               "{ id: NET1, type: tcp, protocol: modbus-tcp, message_timeout_ms: 200 }"]
        comm = ("primary: { channel: COM1, initial_fail_s: 1 }, first_failover: { channel: NET1, "
                "host: %s, port: %d, retry_primary_s: 3 }" % (host, port))
        pt = ["{ name: V, table: holding, address: 0, type: uint16 }"]
        node = self.start_node(node_yaml(chs, [("A", 4, comm, 250, pt, [])]))
        wait_until(lambda: node.points("A")["V"]["quality"] == "good", 10, what="A good")
        sim.fault("A", "silence", via="L1")
        d = wait_until(lambda: (lambda d: d if d["active_line"] == 2 else None)(node.device("A")),
                       6, what="failover to line 2")
        self.assertTrue(d["primary_failed_over"])
        ev = node.get("/api/v1/events")
        self.assertEqual([(e["from"], e["to"], e["reason"]) for e in ev], [(1, 2, "initial_fail")])
        p = node.points("A")
        self.assertEqual((p["SYDEVCOMLN"]["value"], p["SYDEVPRFO"]["value"]), (2, 1))
        self.assertEqual(p["SYDEVCOMID"]["value"], "NET1")
        wait_until(lambda: node.points("A")["V"]["quality"] == "good", 3, what="good via TCP")
        sim.clear("A")
        # Retry primary after 3 s on line 2; a good read on line 1 resets SYDEVPRFO.
        wait_until(lambda: node.device("A")["active_line"] == 1, 8, what="retry primary")
        wait_until(lambda: node.points("A")["SYDEVPRFO"]["value"] == 0, 3, what="PRFO reset")
        self.assertEqual(node.get("/api/v1/events")[-1]["reason"], "retry_primary")

    def modem_node(self, idle_hangup_s, interval_ms):
        """RTU M (V = 99) behind the simulated modem MD1's number, polled over channel MODEM1."""
        sim = self.start_sim(sim_yaml([("M", 3, ["{table: holding, address: 0, value: 99}"])]) +
                             "modems:\n  - { id: MD1, dial_ms: 100, guard_ms: 200, "
                             "numbers: { \"5551234\": [M] } }\n")
        ch = ("{ id: MODEM1, type: modem, protocol: modbus-rtu, port: %s, dial_timeout_s: 5, "
              "idle_hangup_s: %s, message_timeout_ms: 500, poll_attempts: 1 }"
              % (sim.modems["MD1"], idle_hangup_s))
        pt = ["{ name: V, table: holding, address: 0, type: uint16 }"]
        node = self.start_node(node_yaml([ch], [("M", 3, '{ channel: MODEM1, phone: "5551234" }',
                                                 interval_ms, pt, [])]))
        return sim, node

    def test_modem_dials_polls_hangs_up_and_counts_dial_failures(self):
        sim, node = self.modem_node(idle_hangup_s=0.5, interval_ms=4000)
        p = wait_until(lambda: (lambda v: v if v["quality"] == "good" else None)(
            node.points("M")["V"]), 10, what="M good over the modem")
        self.assertEqual(p["value"], 99)
        stats = lambda: dict(node.channel("MODEM1")["stats"])  # noqa: E731
        wait_until(lambda: stats()["hangups"] >= 1, 6, what="idle hang-up; log:\n" + node.text())
        self.assertEqual(stats()["connected"], 0)
        sim.modem_fault("MD1", "busy")
        self.assertEqual(node.request("POST", "/api/v1/devices/M/poll")[0], 202)
        wait_until(lambda: node.points("M")["V"]["quality"] == "bad", 8, what="M bad on BUSY")
        self.assertGreaterEqual(stats()["dial_failures"], 1)
        self.assertGreaterEqual(node.device("M")["stats"]["timeouts"], 1)
        self.assertEqual(node.channel("MODEM1")["status"], "ok")

    # Soak seed 11 (issue 24): a node that took over a modem still online in the call its
    # predecessor had made (killed, or gone standby, without hanging up) sent its init string
    # as data and got no OK; every dial failed until the call dropped. A silent init now
    # escapes, hangs up and inits again, so the first dial succeeds.
    def test_a_modem_left_online_by_a_killed_node_is_hung_up_and_dialled_again(self):
        sim, node = self.modem_node(idle_hangup_s=60, interval_ms=1000)
        wait_until(lambda: node.points("M")["V"]["quality"] == "good", 10, what="M good")
        node.kill()  # the call stays up: the simulated modem ignores the port's close (AT&D0)
        sim.set("M", "holding", 0, values=[100])
        node.start()
        stats = lambda: dict(node.channel("MODEM1")["stats"])  # noqa: E731
        try:
            wait_until(lambda: node.points("M")["V"]["value"] == 100, 20,
                       what="M read over a new call")
        except AssertionError as e:
            raise AssertionError("%s\n%s\n%s" % (e, stats(), node.text()[-3000:]))
        self.assertEqual(stats()["dial_failures"], 0, stats())
        self.assertEqual(node.device("M")["active_line"], 1)

    # Soak seed 11 (issue 24): a dropped call (the modem says NO CARRIER in the data stream) went
    # unnoticed; requests went on into a modem back in command mode and every message timed out,
    # for both devices behind the number, until they failed over. The link now ends the call and
    # the next poll dials again.
    def test_a_dropped_call_is_noticed_and_dialled_again(self):
        sim, node = self.modem_node(idle_hangup_s=60, interval_ms=300)
        wait_until(lambda: node.points("M")["V"]["quality"] == "good", 10, what="M good")
        stats = lambda: dict(node.channel("MODEM1")["stats"])  # noqa: E731
        self.assertEqual(sim.modem_fault("MD1", "drop", after_ms=0)["in_call"], True)
        sim.set("M", "holding", 0, values=[100])
        try:
            wait_until(lambda: node.points("M")["V"]["value"] == 100, 5,
                       what="M read over a new call")
        except AssertionError as e:
            raise AssertionError("%s\n%s\n%s" % (e, stats(), node.text()[-3000:]))
        self.assertEqual(stats()["carrier_losses"], 1, stats())
        self.assertEqual(stats()["calls"], 2, stats())
        self.assertIn("lost: NO CARRIER", node.text())

    def test_tcp_connection_cap_and_reconnect_backoff(self):
        sim = self.start_sim(sim_yaml(
            [("A", 1, ["{table: holding, address: 0, value: 1}"]),
             ("B", 2, ["{table: holding, address: 0, value: 2}"]),
             ("C", 3, ["{table: holding, address: 0, value: 3}"])],
            tcp=[("T1", ["A"], "modbus-tcp"), ("T2", ["B"], "modbus-tcp"),
                 ("T3", ["C"], "modbus-tcp")]))
        ch = "{ id: NET1, type: tcp, protocol: modbus-tcp, max_connections: 2, message_timeout_ms: 300 }"
        pt = ["{ name: V, table: holding, address: 0, type: uint16 }"]
        devs = [(d, u, "{ channel: NET1, host: %s, port: %d }" % sim.tcp_addr(t), 200, pt, [])
                for d, u, t in (("A", 1, "T1"), ("B", 2, "T2"), ("C", 3, "T3"))]
        dead_port = free_port()  # nothing listens there
        devs.append(("DEAD", 9, "{ channel: NET1, host: 127.0.0.1, port: %d }" % dead_port, 100, pt, []))
        node = self.start_node(node_yaml([ch], devs))
        peak = 0
        t_end = time.monotonic() + 5
        while time.monotonic() < t_end:
            peak = max(peak, dict(node.channel("NET1")["stats"])["connections"])
            time.sleep(0.05)
        self.assertLessEqual(peak, 2)
        for d, want in (("A", 1), ("B", 2), ("C", 3)):
            self.assertEqual(node.points(d)["V"]["value"], want, d)  # all served through 2 slots
        stats = dict(node.channel("NET1")["stats"])
        self.assertEqual(node.channel("NET1")["status"], "ok")  # a dead device is its own failure
        # DEAD is polled every 100 ms (50 polls x 3 attempts in 5 s) but connects back off
        # exponentially from 200 ms: never a tight loop.
        dead = node.device("DEAD")["stats"]
        self.assertGreaterEqual(dead["messages_failed"], 10)
        self.assertLessEqual(stats["connect_failures"], 12, stats)
        self.assertEqual(node.points("DEAD")["V"]["quality"], "bad")

    def test_sigterm_exits_cleanly_and_config_errors_exit_2(self):
        sim = self.start_sim(sim_yaml([("A", 1, ["{table: holding, address: 0, value: 5}"])],
                                      serial=[("L1", ["A"])]))
        ch = "{ id: COM1, type: serial, protocol: modbus-rtu, port: %s }" % sim.serial["L1"]
        pt = ["{ name: V, table: holding, address: 0, type: uint16 }"]
        node = Node(node_yaml([ch], [("A", 1, "{ channel: COM1 }", 100, pt, [])]))
        wait_until(lambda: node.points("A")["V"]["quality"] == "good", 10, what="A good")
        t0 = time.monotonic()
        self.assertEqual(node.stop(timeout=5), 0)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn("SIGTERM: closing channels", node.text())
        # A config error: exit 2 with check's located messages.
        bad = os.path.join(node.dir, "bad.yaml")
        with open(bad, "w") as f:
            f.write(node_yaml([ch], [("A", 1, "{ channel: NOPE }", 100, pt, [])]))
        r = subprocess.run([POLLUX, "run", "-c", bad], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, re.escape(bad) + r":\d+:\d+: error: ")


if __name__ == "__main__":
    unittest.main(verbosity=2)
