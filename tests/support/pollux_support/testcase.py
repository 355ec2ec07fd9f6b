"""The TestCase base of the Python integration tests: starts simulators and nodes for a test and
ends them after it. The teardown fails the test when a node crashed or exited uncleanly, or when
a simulator does not exit cleanly: a non-zero status or a sanitizer report on its stderr (the
ASan build's leak and error reports of pollux-sim itself).

    from pollux_support.testcase import NodeTestCase
    class MyTest(NodeTestCase):
        def test_x(self):
            sim = self.start_sim(sim_text)
            node = self.start_node(config_text)   # API_PORT in the text: a free port
"""

import unittest

from .node import SIM, Node
from .sim import Sim, sanitizer_report


class NodeTestCase(unittest.TestCase):
    """Starts simulators and nodes for a test and ends them after it; a node or simulator that
    crashed or exited uncleanly (a sanitizer report at exit) fails the test."""

    def setUp(self):
        self.sims = []
        self.nodes = []

    def tearDown(self):
        bad = []
        for n in self.nodes:
            try:
                rc = n.stop()
            except AssertionError as e:
                rc = str(e)
            if rc != 0:
                bad.append("%s exited %s; log tail:\n%s" % (n.name, rc, n.text()[-3000:]))
            else:
                report = sanitizer_report(n.text())
                if report:
                    bad.append("%s printed a sanitizer report:\n%s" % (n.name, report[:6000]))
        for s in self.sims:
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001 - any failure to end cleanly is reported
                s._kill()
                bad.append(str(e))
        self.assertEqual(bad, [])

    def start_sim(self, text, **kw):
        s = Sim(kw.pop("binary", SIM), text, **kw)
        self.sims.append(s)
        return s

    def start_node(self, text, **kw):
        n = Node(text, **kw)
        self.nodes.append(n)
        return n
