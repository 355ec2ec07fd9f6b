"""Self-test of the Python client tests/integration/lib/simctl.py against the real pollux-sim.

usage: simctl_test.py PATH_TO_POLLUX_SIM
"""

import os
import socket
import struct
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from simctl import Sim, SimError  # noqa: E402

SIM = None

FLEET = """
devices:
  - { id: D, unit: 3, registers: [ { table: holding, address: 0, words: [11, 22] } ] }
serial: [ { id: L, devices: [D] } ]
tcp: [ { id: T, devices: [D] } ]
modems: [ { id: M, numbers: { "1": D } } ]
"""


def read_holding(addr, unit, start, count, timeout=0.5):
    with socket.create_connection(addr, timeout=timeout) as s:
        s.sendall(struct.pack(">HHHBBHH", 1, 0, 6, unit, 3, start, count))
        data = b""
        while len(data) < 9 + 2 * count:
            chunk = s.recv(256)
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return list(struct.unpack(">%dH" % count, data[9:9 + 2 * count]))


class SimctlTest(unittest.TestCase):
    def test_ready_control_and_report(self):
        with Sim(SIM, FLEET) as sim:
            self.assertTrue(os.path.exists(sim.serial["L"]))
            self.assertTrue(os.path.exists(sim.modems["M"]))
            addr = sim.tcp_addr("T")
            self.assertEqual(read_holding(addr, 3, 0, 2), [11, 22])
            sim.fault("D", "silence", count=1)
            with self.assertRaises(socket.timeout):
                read_holding(addr, 3, 0, 2, timeout=0.3)
            sim.set("D", "holding", 1, [33])
            self.assertEqual(read_holding(addr, 3, 0, 2), [11, 33])
            self.assertEqual(sim.stats()["devices"]["D"]["faults"]["silence"], 1)
            self.assertEqual(sim.writes("D"), [])
            self.assertFalse(sim.cmd({"cmd": "bogus"})["ok"])
            with self.assertRaises(SimError):
                sim.check({"cmd": "fault", "device": "NOPE", "fault": "silence"})
            link = sim.serial["L"]
            report = sim.stop()
            self.assertTrue(report["exit"])
            self.assertEqual(report["devices"]["D"]["requests"], 3)
            self.assertFalse(os.path.exists(link))

    def test_bad_config_is_reported(self):
        with self.assertRaises(SimError) as ctx:
            Sim(SIM, "devices: [ { id: D, colour: red } ]\n", timeout=5)
        self.assertIn("colour", str(ctx.exception))


if __name__ == "__main__":
    SIM = sys.argv.pop(1)
    unittest.main()
