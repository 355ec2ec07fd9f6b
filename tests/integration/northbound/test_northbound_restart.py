"""Northbound store and forward across a restart (spec/northbound.md "Sessions, outages and the
pair"): a real `pollux run` with a SQLite history and a northbound section, polling
`pollux-sim` over loopback Modbus TCP and publishing to a scratch mosquitto, watched by a
Sparkplug host (pollux_support.sparkplug.Host).

The outage starts with the primary host going offline (the node ends its session, so
everything before is known to have reached the host) and the broker stopping; the node is
killed with SIGKILL in the middle of it and started again, and only then do the broker and the
host come back. The host must then see the births, every change of the outage as recorded in
history (GET /api/v1/history) exactly once, in order, with is_historical, then live data.

Binaries come from POLLUX_BIN and POLLUX_SIM_BIN (set by CTest). Every wait is bounded.
"""

import os
import shutil
import tempfile
import time
import unittest
import urllib.parse
from datetime import datetime, timedelta, timezone

from pollux_support.configs import sim_yaml
from pollux_support.mosquitto import Broker
from pollux_support.node import free_port, wait_until
from pollux_support.pair import PSK, PairNode, wait_pair
from pollux_support.sparkplug import Host
from pollux_support.testcase import NodeTestCase

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
GROUP, EDGE, HOST_ID = "Plant1", "FE1", "SCADA1"
POINTS = ("CNT", "CNT2")


def ms_of(text):
    t = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return (t - EPOCH) // timedelta(milliseconds=1)


def rfc(ms):
    """The API's form of a time: UTC with milliseconds."""
    t = EPOCH + timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def node_yaml(sim_port, broker_url, directory):
    return "\n".join([
        "node: { name: nbsf }",
        "api: { listen: 127.0.0.1:API_PORT }",
        "history: { path: %s/history.db }" % directory,
        "northbound:",
        "  mqtt: { url: %s, keepalive_s: 5 }" % broker_url,
        "  sparkplug: { group_id: %s, edge_node_id: %s, primary_host_id: %s }" % (
            GROUP, EDGE, HOST_ID),
        "  state_path: %s/northbound.state" % directory,
        "channels:",
        "  - { id: NET, type: tcp, protocol: modbus-tcp, message_timeout_ms: 3000 }",
        "devices:",
        "  - id: RTU",
        "    unit: 1",
        "    comm: { primary: { channel: NET, host: 127.0.0.1, port: %d } }" % sim_port,
        "    polls:",
        "      - name: fast",
        "        interval_ms: 100",
        "        points:",
        "          - { name: CNT, table: holding, address: 0, type: uint16 }",
        "          - { name: CNT2, table: holding, address: 1, type: uint16 }",
    ]) + "\n"


class NorthboundRestartTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="pollux-nb-restart.")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def history(self, node, point, start, end):
        """[(time ms, value)] of RTU.point with start <= time < end, every page."""
        out = []
        params = {"device": "RTU", "point": point, "from": rfc(start), "to": rfc(end)}
        while True:
            status, page = node.request("GET", "/api/v1/history?" + urllib.parse.urlencode(params))
            self.assertEqual(status, 200, page)
            out += [(ms_of(r["time"]), r["value"]) for r in page["records"]]
            if page["next"] is None:
                return out
            params["from"] = page["next"]

    def state_file(self, node=""):
        with open(os.path.join(self.dir, node, "northbound.state")) as f:
            return dict(line.split() for line in f if line.strip())

    def field(self):
        """The counting RTU on Modbus TCP, a scratch broker, and the primary host online."""
        sim = self.start_sim(sim_yaml(
            [("RTU", 1, ["{table: holding, address: 0, counter: {start: 100, step: 1, interval_ms: 300}}",
                         "{table: holding, address: 1, counter: {start: 5000, step: 2, interval_ms: 700}}"])],
            tcp=[("T1", ["RTU"], "modbus-tcp")]))
        broker = Broker()
        self.addCleanup(broker.close)
        host = Host(broker.url, GROUP, host_id=HOST_ID)
        self.addCleanup(host.close)
        host.publish_state(True)
        return sim, broker, host

    def logs(self):
        return "\n".join("--- %s:\n%s" % (n.name, n.text()[-4000:]) for n in self.nodes)

    def test_held_changes_survive_kill_9_and_reach_the_host_once_in_order(self):
        sim, broker, host = self.field()
        node = self.start_node(node_yaml(sim.tcp_addr("T1")[1], broker.url, self.dir))

        def live(m):
            return m.type == "DDATA" and any(x["name"] == "CNT" and not x["is_historical"]
                                             for x in m.metrics)
        host.wait_for(live, 15, what="live DDATA of CNT")

        # The outage: the host goes offline, so the node ends its session (NDEATH); everything
        # the host received is what was published before. Then the broker goes too.
        mark = host.mark()
        host.publish_state(False)
        host.wait_for(lambda m: m.type == "NDEATH", 10, since=mark, what="NDEATH")
        time.sleep(0.3)
        before = host.messages
        host.close()
        broker.stop()
        last_seen = {}
        for m in before:
            if m.type == "DDATA":
                for x in m.metrics:
                    last_seen[x["name"]] = max(last_seen.get(x["name"], 0), x["timestamp"])
        self.assertEqual(set(POINTS) - set(last_seen), set(), "no live data before the outage")

        # The first process holds a few seconds of changes, with its history committed, then
        # dies without a word.
        time.sleep(3.5)
        self.assertIn("held_since", self.state_file())
        node.kill()
        held_since = int(self.state_file()["held_since"])
        self.assertLessEqual(held_since, int(time.time() * 1000))

        # The second one starts while the broker is still away and holds its own changes.
        node.start()
        time.sleep(2.5)
        self.assertGreater(node.get("/api/v1/northbound")["held"], 0)

        broker.start()
        host = Host(broker.url, GROUP, host_id=HOST_ID)
        self.addCleanup(host.close)
        host.publish_state(True)

        # Live data of every point after the replay bounds the outage at its end.
        for point in POINTS:
            host.wait_for(lambda m: m.type == "DDATA" and any(
                x["name"] == point and not x["is_historical"] for x in m.metrics), 30,
                what="live DDATA of %s after the replay" % point)
        wait_until(lambda: node.get("/api/v1/northbound")["held"] == 0, 10, what="held 0")
        msgs = [m for m in host.messages if m.type in ("NBIRTH", "DBIRTH", "DDATA")]
        kinds = [m.type for m in msgs]
        self.assertEqual(kinds[:2], ["NBIRTH", "DBIRTH"], host.summary())
        self.assertNotIn("NBIRTH", kinds[1:], host.summary())
        self.assertNotIn("DBIRTH", kinds[2:], host.summary())

        # Historical first, then live: once a live metric came, no historical one follows.
        metrics = [x for m in msgs[2:] for x in m.metrics]
        flags = [x["is_historical"] for x in metrics]
        first_live = flags.index(False)
        self.assertNotIn(True, flags[first_live:], "historical after live data")
        historical = metrics[:first_live]
        self.assertTrue(historical)
        # Oldest first across the points.
        times = [x["timestamp"] for x in historical]
        self.assertEqual(times, sorted(times))
        # The first live value of each point bounds the outage at its end.
        first_live_ts = {}
        for x in metrics[first_live:]:
            first_live_ts.setdefault(x["name"], x["timestamp"])
        # Give the writer time to commit the second process's records of the outage.
        time.sleep(1.5)
        for point in POINTS:
            got = [(x["timestamp"], x["value"]) for x in historical if x["name"] == point]
            end = first_live_ts[point]
            want = self.history(node, point, last_seen[point] + 1, end)
            self.assertEqual(got, want, "%s: historical DDATA vs history; received %s" % (
                point, [(m.seq, [(x["name"], x["timestamp"], x["value"], x["is_historical"])
                                 for x in m.metrics]) for m in msgs[2:]]))
            # Both processes' changes are there: from before the kill and after the restart.
            self.assertTrue(any(t < held_since + 3000 for t, _ in got), (point, got, held_since))
        cnt = [v for _, v in self.history(node, "CNT", last_seen["CNT"] + 1,
                                          first_live_ts["CNT"])]
        # The counter stepped through the outage: seven or more changes (3.5 s + 2.5 s at 0.3 s,
        # less start-up), every one of them sent.
        self.assertGreaterEqual(len(cnt), 7, cnt)
        # Everything is published: the state file no longer marks held changes.
        wait_until(lambda: "held_since" not in self.state_file(), 5, what="held_since cleared")


    # Soak seed 11 (issue 24): a master stopped while it held changes replayed, once active
    # again, everything its store held from `held_since` to its new start, and that included
    # the records its backup had published live while it was away (forwarded to the master's
    # store, history.md "Redundancy"): the host received them twice. The state file now bounds
    # the replay with `held_until`.
    def test_a_master_stopped_while_holding_replays_its_own_changes_not_the_backups(self):
        sim, broker, host = self.field()
        link = free_port()

        def member(name, mode):
            d = os.path.join(self.dir, name)
            os.makedirs(d)
            red = ("redundancy: { mode: %s, %s: 127.0.0.1:%d, psk: \"%s\", "
                   "heartbeat_interval_ms: 200, failover_timeout_ms: 1200, recovery: manual, "
                   "startup_allowance_ms: 2500, history: full }"
                   % (mode, "listen" if mode == "master" else "master", link, PSK))
            text = node_yaml(sim.tcp_addr("T1")[1], broker.url, d).replace(
                "node: { name: nbsf }", "node: { name: %s }\n%s" % (name, red))
            n = PairNode(name, text)
            self.nodes.append(n)
            return n

        master = member("fe-a", "master")
        backup = member("fe-b", "backup")
        wait_pair(master, backup, "active", "standby", context=self.logs)
        host.wait_for(lambda m: m.type == "DDATA" and not m.metrics[0]["is_historical"], 15,
                      what="live DDATA from the master")

        # The host goes offline: the master ends its session and holds its changes.
        mark = host.mark()
        host.publish_state(False)
        host.wait_for(lambda m: m.type == "NDEATH", 10, since=mark, what="NDEATH")
        time.sleep(2.0)
        self.assertGreater(master.get("/api/v1/northbound")["held"], 0)
        master.stop()
        state = self.state_file("fe-a")
        held_since, held_until = int(state["held_since"]), int(state["held_until"])
        self.assertLessEqual(held_since, held_until)
        self.assertLessEqual(held_until, int(time.time() * 1000))

        # The backup takes over and publishes live while the master is away.
        host.publish_state(True)
        wait_until(lambda: backup.activity() == "active", 10, what="the backup active")
        mark = host.mark()
        host.wait_for(lambda m: m.type == "DDATA" and not m.metrics[0]["is_historical"], 15,
                      since=mark, what="live DDATA from the backup")
        time.sleep(2.0)

        # The master comes back standby (manual recovery) and receives the backup's records.
        master.start()
        wait_pair(master, backup, "standby", "active", context=self.logs)
        took_over = ms_of(backup.red()["events"][-1]["time"])
        # (The backup forwards while it records: its own records of the first two seconds.)
        wait_until(lambda: self.history(master, "CNT", took_over + 1500, took_over + 60_000), 15,
                   what="the backup's records forwarded to the master")

        # Activity back to the master: it replays what it held, then goes live.
        status, body = master.request("POST", "/api/v1/redundancy/recover")
        self.assertEqual(status, 200, body)
        wait_pair(master, backup, "active", "standby", context=self.logs)
        wait_until(lambda: "held_since" not in self.state_file("fe-a"), 15,
                   what="the master's held changes all sent")
        time.sleep(1.0)
        seen = {}
        for m in host.messages:
            if m.type == "DDATA":
                for x in m.metrics:
                    key = (x["name"], x["timestamp"])
                    seen[key] = seen.get(key, 0) + 1
        twice = sorted(k for k, n in seen.items() if n > 1)
        self.assertEqual(twice, [], "values published twice:%s" % host.summary())
        # What the master held is there, as historical values.
        historical = {(x["name"], x["timestamp"]) for m in host.messages if m.type == "DDATA"
                      for x in m.metrics if x["is_historical"]}
        for point in POINTS:
            held = [t for t, _ in self.history(master, point, held_since, held_until + 1)]
            self.assertTrue(held, point)
            self.assertEqual([t for t in held if (point, t) not in historical], [], point)


if __name__ == "__main__":
    unittest.main()
