#!/usr/bin/python3
"""Self-tests of the soak driver's own parts (tools/soak): the schedule replays from its seed,
and the field layout gives every device a unit of its own on each line and gateway. The peer
link's proxy is tests/support/pollux_support/proxy.py, tested by tests/integration/soak.

    /usr/bin/python3 tools/soak/test_soak.py
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "support"))

import checks  # noqa: E402
import field  # noqa: E402
import schedule  # noqa: E402


class ScheduleTest(unittest.TestCase):
    def test_the_same_seed_replays_the_schedule_and_another_seed_does_not(self):
        layout = field.Layout(120)
        a = schedule.make(7, 600, layout, 60, 30)
        self.assertEqual(a, schedule.make(7, 600, layout, 60, 30))
        self.assertNotEqual(a, schedule.make(8, 600, layout, 60, 30))
        self.assertTrue(all(60 <= e["t"] and e["end"] <= 570 for e in a
                            if e["cls"] in schedule.INFRA_FAULTS))

    def test_infrastructure_faults_come_one_at_a_time_and_skip_leaves_classes_out(self):
        layout = field.Layout(120)
        infra = [e for e in schedule.make(3, 1800, layout, 60, 30)
                 if e["cls"] in schedule.INFRA_FAULTS]
        self.assertGreater(len(infra), 20)
        for x, y in zip(infra, infra[1:]):
            self.assertLessEqual(x["end"] + 15, y["t"])
        kept = schedule.make(3, 1800, layout, 60, 30, skip=["partition", "silence"])
        self.assertFalse([e for e in kept if e["cls"] in ("partition", "silence")])


class LayoutTest(unittest.TestCase):
    def test_units_are_unique_per_line_gateway_and_modem_number(self):
        layout = field.Layout(300)
        self.assertEqual(len(layout.devices), 300)
        groups = list(layout.serial.values()) + list(layout.tcp.values()) + [
            layout.gateway_devices(), layout.modem]
        for devs in groups:
            units = [layout.unit[d] for d in devs]
            self.assertEqual(len(units), len(set(units)), devs)
            self.assertTrue(all(1 <= u <= 247 for u in units))


class ViolationListTest(unittest.TestCase):
    def test_every_violation_is_kept_with_its_minute_and_the_entries_in_force(self):
        c = checks.Checks.__new__(checks.Checks)  # the bookkeeping alone: no field, no broker
        c.entries = [{"id": 1, "cls": "kill9", "target": "fe-a", "t": 100.0, "end": 103.0,
                      "dur": 3.0, "params": {}}]
        c.violations = [(130.5, "history", "late"), (61.0, "write", "twice"),
                        (65.0, "write", "again"), (101.0, "history", "gone")]
        self.assertEqual(c.violations_per_minute(),
                         {1: {"write": 2, "history": 1}, 2: {"history": 1}})
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "soak-violations-%d.txt" % os.getpid())
        try:
            c.write_violations(path)
            with open(path) as f:
                lines = f.read().splitlines()
        finally:
            os.remove(path)
        self.assertEqual([x.split("\t")[0] for x in lines], ["+61.0s", "+65.0s", "+101.0s", "+130.5s"])
        self.assertIn("kill9", lines[2])
        self.assertTrue(lines[0].endswith("in force: nothing"))


if __name__ == "__main__":
    unittest.main()
