"""The pair's history end to end (spec/history.md "Redundancy", redundancy.md "History"): a
master and a backup, each with its own SQLite store, polling a simulator's counter. The master
is killed, the backup takes over and records, the master comes back (automatic recovery) and
the backup forwards what it recorded: the master's store then covers the outage, every record
once.

Binaries come from the environment: POLLUX_BIN and POLLUX_SIM_BIN (set by CTest). Timers are
short (heartbeat 200 ms, failover_timeout 1200 ms, polls 200 ms) and every wait is bounded.
"""

import datetime
import os
import shutil
import sqlite3
import tempfile
import time
import unittest
import urllib.parse

from pollux_support.node import free_port, wait_until
from pollux_support.pair import (FAILOVER_MS, HEARTBEAT_MS, PSK, STARTUP_MS, PairNode,
                                  wait_pair)
from pollux_support.proxy import TcpProxy
from pollux_support.testcase import NodeTestCase

POLL_MS = 200
COUNTER_MS = 500
# One device on a TCP endpoint whose register counts up every COUNTER_MS: its values never
# repeat, so a value recorded twice or missing shows.
SIM_YAML = """devices:
  - id: A
    unit: 4
    registers:
      - {table: holding, address: 0, counter: {start: 1, step: 1, interval_ms: %d}}
tcp:
  - { id: T1, protocol: modbus-tcp, devices: [A] }
""" % COUNTER_MS


def node_yaml(sim, name, mode, link_port, data_dir, level, recovery="automatic"):
    host, port = sim.tcp_addr("T1")
    red = ("redundancy: { mode: %s, %s: 127.0.0.1:%d, psk: \"%s\", heartbeat_interval_ms: %d, "
           "failover_timeout_ms: %d, recovery: %s, standby: cold, startup_allowance_ms: %d%s }"
           % (mode, "listen" if mode == "master" else "master", link_port, PSK, HEARTBEAT_MS,
              FAILOVER_MS, recovery, STARTUP_MS,
              ", history: %s" % level if mode == "backup" else ""))
    return "\n".join([
        "node: { name: %s }" % name,
        "api: { listen: 127.0.0.1:API_PORT }",
        red,
        "history: { path: %s, cache_path: %s }" % (os.path.join(data_dir, "history.db"),
                                                  os.path.join(data_dir, "cache.db")),
        "channels:",
        "  - { id: NET1, type: tcp, protocol: modbus-tcp, message_timeout_ms: 300 }",
        "devices:",
        "  - id: A\n    unit: 4\n    comm: { primary: { channel: NET1, host: %s, port: %d } }"
        % (host, port),
        "    polls:\n      - name: g\n        interval_ms: %d\n        points:" % POLL_MS,
        "          - { name: V, table: holding, address: 0, type: uint16 }",
    ]) + "\n"


def rfc3339(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000.0, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def parse_ms(text):
    t = datetime.datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    return round(t.timestamp() * 1000)


def history(node, since_ms=0):
    """A.V's records from `since_ms` on, as [(ms, value, quality)], every page."""
    out = []
    start = since_ms
    end = int(time.time() * 1000) + 60_000
    while True:
        q = urllib.parse.urlencode({"device": "A", "point": "V", "from": rfc3339(start),
                                    "to": rfc3339(end), "limit": 10000})
        page = node.get("/api/v1/history?" + q)
        out += [(parse_ms(r["time"]), r["value"], r["quality"]) for r in page["records"]]
        if page["next"] is None:
            return out
        start = parse_ms(page["next"])


def store_keys(path):
    """The (device, point, time) keys in a SQLite store, read from the file (both of its
    tables: a key in both is one record), and how many rows hold them."""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        rows = db.execute(
            "SELECT s.device, s.point, h.time FROM series s JOIN "
            "(SELECT series, time FROM history UNION ALL SELECT series, time FROM recent) h "
            "ON h.series = s.id").fetchall()
    finally:
        db.close()
    return rows


class HistoryPairTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.sim = self.start_sim(SIM_YAML)
        self.link_port = free_port()
        self.dirs = {}
        for name in ("fe-a", "fe-b"):
            d = tempfile.mkdtemp(prefix="pollux-hpair.%s." % name)
            self.addCleanup(shutil.rmtree, d, True)
            self.dirs[name] = d

    def node(self, name, mode, level, recovery="automatic", link_port=None):
        n = PairNode(name, node_yaml(self.sim, name, mode, link_port or self.link_port,
                                     self.dirs[name], level, recovery))
        self.nodes.append(n)
        return n

    def wait_pair(self, master, backup, m_act, b_act, timeout=10):
        return wait_pair(master, backup, m_act, b_act, timeout, context=self.logs)

    def logs(self):
        return "\n".join("--- %s:\n%s" % (n.name, n.text()[-4000:]) for n in self.nodes)

    def outage(self, level, recovery="automatic"):
        """Pair up, record, kill the master, the backup records ~3.5 s, the master comes back and
        takes over again, the backup forwards. Returns (master, backup, t_kill_ms, took_s,
        backup's records of the outage as its API showed them before the master came back)."""
        master = self.node("fe-a", "master", level, recovery)
        backup = self.node("fe-b", "backup", level, recovery)
        self.wait_pair(master, backup, "active", "standby")
        wait_until(lambda: len(history(master)) >= 6, 10, what="master records")
        t_kill = int(time.time() * 1000)
        master.kill()
        t0 = time.monotonic()
        wait_until(lambda: backup.activity() == "active", 6, interval=0.02, what="takeover")
        took = time.monotonic() - t0
        time.sleep(3.5)
        during = wait_until(lambda: [r for r in history(backup, t_kill - 5000)] or None, 5,
                            what="the backup's records")
        # What it recorded waits for the master: `pending` counts it while the link is down.
        red = wait_until(lambda: (lambda h: h if h["pending"] > 0 else None)(
            backup.red()["history"]), 3, what="pending records on the backup")
        self.assertEqual(red["level"], level)
        master.start()
        if recovery == "manual":
            # The master waits standby; the backup, still active, forwards as it records: a
            # record it makes now reaches the master's store before any recover.
            self.wait_pair(master, backup, "standby", "active", timeout=15)
            t_now = int(time.time() * 1000)
            last = wait_until(lambda: [r for r in history(backup, t_now)] or None, 5,
                              what="a new record on the backup")[0]
            wait_until(lambda: last in history(master, t_now), 10,
                       what="%s forwarded to the standby master" % (last,))
            status, body = master.request("POST", "/api/v1/redundancy/recover")
            self.assertIn(status, (200, 202), body)
        self.wait_pair(master, backup, "active", "standby", timeout=15)

        def forwarded():
            h = backup.red()["history"]
            return h if h["pending"] == 0 and h["forwarded"] > 0 else None
        try:
            wait_until(forwarded, 15, what="forwarding done")
        except AssertionError as e:
            raise AssertionError("%s: %s\n%s" % (e, backup.red(), self.logs()))
        return master, backup, t_kill, took, during

    def check_master_covers(self, master, backup, t_kill, took, during):
        # The outage's records the backup showed are all in the master's store, as they were.
        mine = history(master)
        by_time = {t: (v, q) for t, v, q in mine}
        times = [t for t, _, _ in mine]
        self.assertEqual(len(times), len(set(times)), "a record twice: %s" % mine)
        new = [r for r in during if r[0] >= t_kill]
        self.assertGreaterEqual(len(new), 4, "the backup recorded little: %s" % during)
        for t, v, q in during:
            self.assertEqual(by_time.get(t), (v, q), "record %s of the backup missing on the "
                             "master\nmaster: %s\nbackup: %s" % ((t, v, q), mine, during))
        # No gap across the outage beyond the takeover and the poll: the counter's values in
        # time order go up one step at a time, but for the takeover's lost polls.
        good = [(t, v) for t, v, q in mine if q == "good" and v is not None]
        values = [v for _, v in good]
        self.assertEqual(values, sorted(values), "counter values out of order: %s" % good)
        # A value twice only as consecutive records: each node starts an active period with the
        # points' current state (history.cpp), so a takeover or handover may record the value
        # the other node recorded last again, at a later poll's time.
        repeats = [(a, b) for a, b in zip(good, good[1:]) if a[1] == b[1]]
        self.assertLessEqual(len(repeats), 2, "values recorded twice: %s" % good)
        self.assertEqual(len(set(values)), len(values) - len(repeats),
                         "a counter value twice: %s" % good)
        bound_ms = (took + 1.5) * 1000 + POLL_MS + COUNTER_MS
        window = [(t, v) for t, v in good if t >= t_kill - 3000]
        self.assertGreater(window[-1][0] - t_kill, 4000, window)
        gaps = [(b[0] - a[0], a, b) for a, b in zip(window, window[1:])]
        worst = max(gaps)
        self.assertLessEqual(worst[0], bound_ms, "gap in the master's history: %s\n%s"
                             % (worst, window))
        # The file agrees with the API: each key once. The master goes on recording after the
        # query, so only keys up to the last record the API returned are compared (a point's
        # records are committed in time order).
        keys = [k for k in store_keys(os.path.join(self.dirs["fe-a"], "history.db"))
                if k[:2] == ("A", "V") and k[2] <= max(times)]
        self.assertEqual(len(set(keys)), len(mine))
        # The counters: what the backup sent is what the master took.
        rm, rb = master.red()["history"], backup.red()["history"]
        self.assertEqual(rb["pending"], 0)
        self.assertEqual(rm["pending"], 0)
        self.assertEqual(rm["forwarded"], rb["forwarded"], (rm, rb))
        return rm, rb

    def test_partial_backup_forwards_the_outage_and_empties_its_cache(self):
        master, backup, t_kill, took, during = self.outage("partial")
        rm, rb = self.check_master_covers(master, backup, t_kill, took, during)
        self.assertEqual((rm["level"], rb["level"]), ("partial", "partial"))
        # The backup's history is its cache: emptied by the forwarding.
        self.assertEqual(history(backup), [])
        self.assertEqual(store_keys(os.path.join(self.dirs["fe-b"], "cache.db")), [])
        self.assertFalse(os.path.exists(os.path.join(self.dirs["fe-b"], "history.db")))

    def test_partial_backup_forwards_to_a_standby_master_with_manual_recovery(self):
        # The master back but standby is "not active": what the backup records then is forwarded
        # too, and at once.
        master, backup, t_kill, took, during = self.outage("partial", recovery="manual")
        rm, rb = self.check_master_covers(master, backup, t_kill, took, during)
        self.assertEqual((rm["level"], rb["level"]), ("partial", "partial"))
        self.assertEqual(history(backup), [])

    def test_full_backup_forwards_the_outage_and_keeps_its_own_store(self):
        master, backup, t_kill, took, during = self.outage("full")
        rm, rb = self.check_master_covers(master, backup, t_kill, took, during)
        self.assertEqual((rm["level"], rb["level"]), ("full", "full"))
        # The backup's own store keeps what it recorded; only the cache is emptied.
        self.assertEqual(history(backup, t_kill - 5000), during + [
            r for r in history(backup, t_kill - 5000) if r[0] > during[-1][0]])
        self.assertEqual(store_keys(os.path.join(self.dirs["fe-b"], "cache.db")), [])

    def test_partial_backup_drops_what_it_recorded_in_a_split(self):
        # The backup reaches the master through a relay; cutting it leaves both nodes alive and
        # active (no second path): a split. Its records from then are inside the master's
        # active interval, which the master's own records cover: not forwarded.
        master = self.node("fe-a", "master", "partial")
        proxy = TcpProxy(self.link_port).start()
        self.addCleanup(proxy.stop)
        backup = self.node("fe-b", "backup", "partial", link_port=proxy.port)
        self.wait_pair(master, backup, "active", "standby")
        wait_until(lambda: len(history(master)) >= 4, 10, what="master records")
        t_cut = int(time.time() * 1000)
        proxy.cut()
        wait_until(lambda: backup.activity() == "active", 6, interval=0.02, what="split")
        self.assertEqual(master.activity(), "active")
        time.sleep(3.0)
        split = history(backup, t_cut)
        self.assertGreaterEqual(len(split), 4, split)
        proxy.heal()
        self.wait_pair(master, backup, "active", "standby", timeout=15)

        def settled():
            h = backup.red()["history"]
            return h if h["pending"] == 0 and not store_keys(
                os.path.join(self.dirs["fe-b"], "cache.db")) else None
        try:
            rb = wait_until(settled, 15, what="cache emptied")
        except AssertionError as e:
            raise AssertionError("%s: %s\n%s" % (e, backup.red(), self.logs()))
        mine = history(master)
        by_time = {t: (v, q) for t, v, q in mine}
        # None of the backup's split records is in the master's store (its takeover record of
        # the synced state has the master's key and time: the master's own).
        taken = [r for r in split if r[0] in by_time and r[0] >= t_cut]
        self.assertEqual(taken, [], "split records forwarded\nmaster: %s\nbackup: %s"
                         % (mine, split))
        # The master's own records cover the split: its counter values go on, none twice.
        values = [v for t, v, q in mine if q == "good"]
        self.assertEqual(len(values), len(set(values)), mine)
        self.assertEqual(values, sorted(values), mine)
        rm = master.red()["history"]
        self.assertEqual(rm["forwarded"], rb["forwarded"], (rm, rb))
        self.assertEqual(history(backup), [])


if __name__ == "__main__":
    unittest.main()
