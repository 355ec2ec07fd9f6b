"""Failure causes end to end (api.md "How a failed attempt is classified"): `pollux run` against
`pollux-sim`, every framing at once (RTU and ASCII serial lines, Modbus TCP, RTU over TCP, and
RTU over a modem call), each fault the simulator injects in turn. One failed message moves
exactly one cause counter (timeouts, crc_errors, framing_errors) by its number of attempts,
and nothing else.

Binaries come from the environment: POLLUX_BIN and POLLUX_SIM_BIN (set by CTest). Every wait is
bounded.
"""

import sys
import time
import unittest

from pollux_support.node import wait_until
from pollux_support.testcase import NodeTestCase

# (framing, device id, unit, poll_attempts); two devices per framing share its wire.
DEVICES = [
    ("rtu", "R1", 11, 1), ("rtu", "R2", 12, 2),
    ("ascii", "A1", 21, 1), ("ascii", "A2", 22, 2),
    ("tcp", "T1", 31, 1), ("tcp", "T2", 32, 2),
    ("rtu-over-tcp", "U1", 41, 1), ("rtu-over-tcp", "U2", 42, 2),
    ("modem", "M1", 51, 1), ("modem", "M2", 52, 2),
]

# The cause each fault must count, per framing. Serial lines and modem calls have no
# connection to reset: the simulator's `reset` is silence there, hence a timeout. Modbus TCP
# has no checksum: `bad_crc` corrupts the MBAP protocol id, a framing error.
CAUSES = {
    "silence": dict.fromkeys(("rtu", "ascii", "tcp", "rtu-over-tcp", "modem"), "timeouts"),
    "bad_crc": {"rtu": "crc_errors", "ascii": "crc_errors", "tcp": "framing_errors",
                "rtu-over-tcp": "crc_errors", "modem": "crc_errors"},
    "garbage": dict.fromkeys(("rtu", "ascii", "tcp", "rtu-over-tcp", "modem"), "framing_errors"),
    "truncate": dict.fromkeys(("rtu", "ascii", "tcp", "rtu-over-tcp", "modem"), "framing_errors"),
    "wrong_unit": dict.fromkeys(("rtu", "ascii", "tcp", "rtu-over-tcp", "modem"),
                                "framing_errors"),
    "wrong_function": dict.fromkeys(("rtu", "ascii", "tcp", "rtu-over-tcp", "modem"),
                                    "framing_errors"),
    "reset": {"rtu": "timeouts", "ascii": "timeouts", "tcp": "framing_errors",
              "rtu-over-tcp": "framing_errors", "modem": "timeouts"},
}

WATCHED = ("messages_ok", "messages_failed", "exceptions", "timeouts", "crc_errors",
           "framing_errors")


def sim_config():
    out = ["devices:"]
    for _, did, unit, _ in DEVICES:
        out.append("  - { id: %s, unit: %d, registers: [ { table: holding, address: 0, "
                   "value: %d } ] }" % (did, unit, unit))
    out += ["serial:",
            "  - { id: L1, devices: [R1, R2] }",
            "  - { id: L2, protocol: modbus-ascii, devices: [A1, A2] }",
            "tcp:",
            "  - { id: S1, devices: [T1] }",
            "  - { id: S2, devices: [T2] }",
            "  - { id: S3, protocol: modbus-rtu-over-tcp, devices: [U1] }",
            "  - { id: S4, protocol: modbus-rtu-over-tcp, devices: [U2] }",
            "modems:",
            '  - { id: MD1, dial_ms: 50, numbers: { "5551234": [M1, M2] } }']
    return "\n".join(out) + "\n"


def node_config(sim):
    timing = "message_timeout_ms: 600, message_delay_ms: 0"
    channels = [
        "{ id: COM1, type: serial, protocol: modbus-rtu, port: %s, %s }"
        % (sim.serial["L1"], timing),
        "{ id: COM2, type: serial, protocol: modbus-ascii, port: %s, %s }"
        % (sim.serial["L2"], timing),
        "{ id: NET1, type: tcp, protocol: modbus-tcp, %s }" % timing,
        "{ id: NET2, type: tcp, protocol: modbus-rtu-over-tcp, %s }" % timing,
        "{ id: MODEM1, type: modem, protocol: modbus-rtu, port: %s, dial_timeout_s: 5, "
        "idle_hangup_s: 600, %s }" % (sim.modems["MD1"], timing),
    ]
    servers = {"T1": "S1", "T2": "S2", "U1": "S3", "U2": "S4"}
    out = ["node: { name: fe-causes }", "api: { listen: 127.0.0.1:API_PORT }", "channels:"]
    out += ["  - " + c for c in channels]
    out.append("devices:")
    for framing, did, unit, attempts in DEVICES:
        if framing == "rtu":
            path = "channel: COM1"
        elif framing == "ascii":
            path = "channel: COM2"
        elif framing == "modem":
            path = 'channel: MODEM1, phone: "5551234"'
        else:
            host, port = sim.tcp_addr(servers[did])
            path = "channel: %s, host: %s, port: %d" % (
                "NET1" if framing == "tcp" else "NET2", host, port)
        out.append("  - id: %s\n    unit: %d\n    comm: { primary: { %s, poll_attempts: %d } }"
                   % (did, unit, path, attempts))
        # One group, one block: one message per poll. Polled at start, then only on demand.
        out.append("    polls:\n      - name: g\n        interval_ms: 3600000\n        points:\n"
                   "          - { name: V, table: holding, address: 0, type: uint16 }")
    return "\n".join(out) + "\n"


class CauseTest(NodeTestCase):
    def stats(self, node):
        return {did: {k: node.device(did)["stats"][k] for k in WATCHED}
                for _, did, _, _ in DEVICES}

    def poll(self, node, did):
        self.assertEqual(node.request("POST", "/api/v1/devices/%s/poll" % did)[0], 202)

    def settle(self, node):
        """Every device answers one poll (a TCP connection reset by the last fault may still be
        in its reconnect backoff: try again a few times); returns the counters after."""
        for _, did, _, _ in DEVICES:
            for _ in range(10):
                before = node.device(did)["stats"]
                self.poll(node, did)
                after = wait_until(
                    lambda: (lambda s: s if s["messages_ok"] > before["messages_ok"] or
                             s["messages_failed"] > before["messages_failed"] else None)(
                        node.device(did)["stats"]), 10, what=did + " answers")
                if after["messages_ok"] > before["messages_ok"]:
                    break
                time.sleep(0.5)
            else:
                self.fail("%s never recovered: %s" % (did, node.device(did)))
        return self.stats(node)

    def test_each_fault_moves_exactly_one_cause_counter_per_attempt(self):
        sim = self.start_sim(sim_config())
        node = self.start_node(node_config(sim))
        for _, did, _, _ in DEVICES:
            wait_until(lambda: node.points(did)["V"]["quality"] == "good", 15,
                       what=did + " good; log:\n" + node.text())
        table = []
        problems = []
        for fault, causes in CAUSES.items():
            base = self.settle(node)
            for _, did, _, attempts in DEVICES:
                sim.fault(did, fault, count=attempts)
            for _, did, _, _ in DEVICES:
                self.poll(node, did)
            wait_until(lambda: all(node.device(did)["stats"]["messages_failed"] >
                                   base[did]["messages_failed"] for _, did, _, _ in DEVICES), 20,
                       what="every device fails under " + fault)
            time.sleep(0.3)  # nothing more may move
            now = self.stats(node)
            sim.clear()
            row = [fault]
            for framing, did, _, attempts in DEVICES:
                delta = {k: now[did][k] - base[did][k] for k in WATCHED}
                want = dict.fromkeys(WATCHED, 0)
                want["messages_failed"] = 1
                want[causes[framing]] = attempts
                if delta != want:
                    problems.append("%s on %s (%s, attempts %d): got %s, want %s"
                                    % (fault, did, framing, attempts, delta, want))
                moved = [k for k in ("timeouts", "crc_errors", "framing_errors") if delta[k]]
                row.append("%s+%s" % ("/".join(moved) or "-",
                                      "/".join(str(delta[k]) for k in moved) or "0"))
            table.append(row)
        header = ["fault"] + ["%s(%s,%d)" % (d, f, a) for f, d, _, a in DEVICES]
        print("\n" + "\n".join(" | ".join(r) for r in [header] + table), file=sys.stderr)
        self.assertEqual(problems, [], "\n".join(problems))


if __name__ == "__main__":
    unittest.main()
