"""Self-test of the Python client tests/support/pollux_support/sim.py against the real pollux-sim.

usage: simctl_test.py PATH_TO_POLLUX_SIM
"""

import os
import socket
import struct
import sys
import unittest

from pollux_support.sim import Sim, SimError
from pollux_support.testcase import NodeTestCase

SIM = None
# Stands in for a simulator that ends badly (exit status, stderr text chosen by the test).
FAKE_SIM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_sim.py")
LEAK = ("=================================================================\n"
        "==4242==ERROR: LeakSanitizer: detected memory leaks\n\n"
        "Direct leak of 24 byte(s) in 1 object(s) allocated from:\n"
        "    #0 0x7f in operator new(unsigned long)\n\n"
        "SUMMARY: AddressSanitizer: 24 byte(s) leaked in 1 allocation(s).\n")
UBSAN = "sim/modem.cpp:120:9: runtime error: signed integer overflow\n"


def teardown_verdict(extra_args):
    """Runs one NodeTestCase test that starts the fake simulator with `extra_args` and passes;
    returns the unittest result, so the teardown's verdict on the simulator's end is seen."""
    class Inner(NodeTestCase):
        def test_body_passes(self):
            self.start_sim("devices: []\n", binary=FAKE_SIM, extra_args=extra_args)

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(Inner).run(result)
    return result

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

    def test_teardown_fails_on_a_bad_simulator_exit(self):
        self.assertTrue(teardown_verdict([]).wasSuccessful())
        for args, says in ((["--exit-status", "1"], "exited with 1"),
                           (["--exit-status", "23", "--stderr", LEAK], "LeakSanitizer"),
                           (["--stderr", LEAK], "detected memory leaks"),
                           (["--stderr", UBSAN], "runtime error: signed integer overflow")):
            result = teardown_verdict(args)
            problems = result.failures + result.errors
            self.assertEqual(len(problems), 1, (args, problems))
            self.assertIn(says, problems[0][1], args)

    def test_stop_raises_on_a_sanitizer_report(self):
        sim = Sim(FAKE_SIM, "devices: []\n", extra_args=["--stderr", LEAK])
        with self.assertRaises(SimError) as ctx:
            sim.stop()
        self.assertIn("ERROR: LeakSanitizer: detected memory leaks", str(ctx.exception))
        self.assertIn("Direct leak of 24 byte(s)", str(ctx.exception))

    def test_bad_config_is_reported(self):
        with self.assertRaises(SimError) as ctx:
            Sim(SIM, "devices: [ { id: D, colour: red } ]\n", timeout=5)
        self.assertIn("colour", str(ctx.exception))


if __name__ == "__main__":
    SIM = sys.argv.pop(1)
    unittest.main()
