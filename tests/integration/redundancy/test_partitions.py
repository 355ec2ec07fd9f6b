"""Partitions (redundancy.md "Partitions"): a master/backup pair whose two peer links each run
through a TCP proxy the test controls, and, in the second case, a real mosquitto broker with a
Sparkplug host. A blackholed proxy is a dead route: nothing is closed, nothing gets through.

- One link cut: the second link carries the pair; nobody takes over.
- Both links cut while the master's Sparkplug session is alive: the backup does not take over and
  says why ("master alive via broker"); the broker stopped as well: the backup takes over after
  failover_timeout_ms; the links healed: one active node again, by the recovery rule.
"""

import os
import shutil
import tempfile
import time
import unittest

from pollux_support.mosquitto import Broker
from pollux_support.node import free_port, wait_until
from pollux_support.pair import PairNode, SIM_YAML, pair_yaml, wait_pair
from pollux_support.proxy import TcpProxy
from pollux_support.sparkplug import Host
from pollux_support.testcase import NodeTestCase

GROUP = "Plant1"
EDGE = "FE1"
# Roomier than the pair harness's 1200 ms: a takeover here is the failure, and on a loaded
# machine (the ASan build beside other tests) a heartbeat can be late by a second.
FAILOVER_MS = 2000
FAILOVER_S = FAILOVER_MS / 1000.0


def northbound_yaml(url, state_path):
    return ("northbound:\n  mqtt: { url: %s, keepalive_s: 5 }\n"
            "  sparkplug: { group_id: %s, edge_node_id: %s }\n  state_path: %s\n"
            % (url, GROUP, EDGE, state_path))


def path(view, name):
    for p in view["paths"]:
        if p["name"] == name:
            return p
    raise AssertionError("no path %r in %s" % (name, view["paths"]))


class PartitionTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.sim = self.start_sim(SIM_YAML)
        # The master listens on two ports; the backup reaches each through its own proxy.
        self.listen, self.listen_alt = free_port(), free_port()
        self.link = TcpProxy(self.listen)
        self.link_alt = TcpProxy(self.listen_alt)
        for p in (self.link, self.link_alt):
            p.start()
            self.addCleanup(p.stop)

    def logs(self):
        return "\n".join("--- %s:\n%s" % (n.name, n.text()[-4000:]) for n in self.nodes)

    def pair(self, extra=lambda name: ""):
        master = PairNode("fe-a", pair_yaml(self.sim, "fe-a", "master", self.listen,
                                            alt_port=self.listen_alt, failover_ms=FAILOVER_MS)
                          + extra("fe-a"))
        self.nodes.append(master)
        backup = PairNode("fe-b", pair_yaml(self.sim, "fe-b", "backup", self.link.port,
                                            alt_port=self.link_alt.port, failover_ms=FAILOVER_MS)
                          + extra("fe-b"))
        self.nodes.append(backup)
        wait_pair(master, backup, "active", "standby", context=self.logs)
        wait_until(lambda: path(backup.red(), "link_alt")["up"], 5, what="the second link up")
        return master, backup

    def assert_no_takeover(self, master, backup, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rm, rb = master.red(), backup.red()
            self.assertEqual((rm["activity"], rb["activity"]), ("active", "standby"),
                             "a takeover during the partition:\n%s\n%s\n%s" % (rm, rb, self.logs()))
            time.sleep(0.1)

    def test_one_link_cut_the_other_carries_the_pair(self):
        master, backup = self.pair()
        self.link.blackhole()
        # The main link's watchdog drops the silent connection; the second keeps the peer.
        wait_until(lambda: not path(backup.red(), "link")["up"], 3 * FAILOVER_S + 2,
                   what="the main link down")
        self.assert_no_takeover(master, backup, 3 * FAILOVER_S)
        rb = backup.red()
        self.assertEqual(rb["peer"]["via"], "link_alt")
        self.assertTrue(rb["peer"]["authenticated"])
        self.assertTrue(path(rb, "link_alt")["up"])
        self.assertEqual([e for e in rb["events"] if e["to"] == "active"], [])
        self.assertNotIn("broker", [p["name"] for p in rb["paths"]])
        # Sync still flows: a new value polled by the master reaches the standby's view.
        self.sim.set("A", "holding", 0, values=[4242])
        wait_until(lambda: backup.points("A")["V"]["value"] == 4242, 10,
                   what="the value synced over the second link")
        # Heal: the main link is back in use.
        self.link.heal()
        wait_until(lambda: backup.red()["peer"]["via"] == "link", 3 * FAILOVER_S + 8,
                   what="the main link back")
        self.assertEqual((master.activity(), backup.activity()), ("active", "standby"))

    def test_links_cut_master_alive_via_broker_then_everything_cut_then_healed(self):
        broker = Broker()
        self.addCleanup(broker.close)
        host = Host(broker.url, GROUP, timeout=15)
        self.addCleanup(host.close)
        d = tempfile.mkdtemp(prefix="pollux-partitions.")
        self.addCleanup(shutil.rmtree, d, True)
        master, backup = self.pair(
            lambda name: northbound_yaml(broker.url, os.path.join(d, name + ".state")))
        host.wait_for(lambda m: m.type == "NBIRTH" and m.edge_node == EDGE, 15, what="NBIRTH")

        def broker_up():
            return path(backup.red(), "broker")["up"]
        if not broker_up():
            # The backup's watch subscribed after the master's NBIRTH: a rebirth shows it one.
            host.rebirth(EDGE)
        wait_until(broker_up, 10, what="the backup seeing the master's session on the broker")

        # Both links blackholed, the master alive on the broker: no takeover.
        self.link.blackhole()
        self.link_alt.blackhole()
        wait_until(lambda: backup.red()["peer"]["via"] == "broker", 3 * FAILOVER_S + 2,
                   what="the peer heard only via the broker")
        self.assert_no_takeover(master, backup, 3 * FAILOVER_S)
        rb = backup.red()
        self.assertFalse(path(rb, "link")["up"])
        self.assertFalse(path(rb, "link_alt")["up"])
        withheld = [e for e in rb["events"] if e["reason"] == "master alive via broker"]
        self.assertEqual(len(withheld), 1, rb["events"])
        self.assertEqual((withheld[0]["from"], withheld[0]["to"]), ("standby", "standby"))

        # Every path cut: the broker goes; the backup takes over failover_timeout_ms later.
        broker.stop()
        stopped = time.monotonic()
        wait_until(lambda: backup.activity() == "active", FAILOVER_S + 5,
                   what="the backup's takeover with every path cut")
        took = time.monotonic() - stopped
        self.assertGreaterEqual(took, FAILOVER_S - 0.2, "took over before the timeout")
        self.assertEqual(backup.red()["events"][-1]["reason"], "master_lost")

        # Healed: the backup hears the master active and yields (the master wins).
        self.link.heal()
        self.link_alt.heal()
        wait_pair(master, backup, "active", "standby", timeout=10, context=self.logs)
        self.assertEqual(backup.red()["events"][-1]["reason"], "master_active")


if __name__ == "__main__":
    unittest.main()
