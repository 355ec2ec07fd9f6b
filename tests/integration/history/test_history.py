"""Point history on one node, end to end: a real `pollux run` polling `pollux-sim` over loopback
Modbus TCP, its history in a real SQLite file or a real PostgreSQL server, read back through
GET /api/v1/history, `polluxctl history` and (for the file) Python's sqlite3 module
(spec/history.md; issue 20 "Tests").

Binaries come from the environment: POLLUX_BIN, POLLUX_SIM_BIN and POLLUXCTL_BIN (set by
CTest). Polls are 100-200 ms, simulator counters step every 100-600 ms, and every wait is
bounded. The writer commits what waited 500 ms, so a test reads back what it saw only after a
second or two.
"""

import csv
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

from pollux_support.configs import sim_yaml
from pollux_support.node import POLLUXCTL, wait_until
from pollux_support.postgres import Postgres
from pollux_support.testcase import NodeTestCase

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def ms_of(text):
    """Milliseconds since the epoch of an RFC 3339 time as the API prints it."""
    t = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return (t - EPOCH) // timedelta(milliseconds=1)


def rfc(ms):
    """The API's form of a time: UTC with milliseconds."""
    t = EPOCH + timedelta(milliseconds=ms)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def now_ms():
    return int(time.time() * 1000)


def node_yaml(port, points, interval_ms=200, history="", device="RTU"):
    """One device `device` (unit 1) behind the simulator's TCP server at `port`, one poll group
    of `points` (YAML flow maps); `history` is the text of the top-level section (empty: none).
    A generous message timeout: a poll that times out on a loaded machine would add bad records
    the tests do not expect."""
    out = ["node: { name: hist }", "api: { listen: 127.0.0.1:API_PORT }"]
    if history:
        out.append("history: " + history)
    out += ["channels:", "  - { id: NET, type: tcp, protocol: modbus-tcp, message_timeout_ms: 3000 }", "devices:",
            "  - id: %s" % device, "    unit: 1",
            "    comm: { primary: { channel: NET, host: 127.0.0.1, port: %d } }" % port,
            "    polls:", "      - name: fast", "        interval_ms: %d" % interval_ms,
            "        points:"]
    out += ["          - " + p for p in points]
    return "\n".join(out) + "\n"


def metric(node, name):
    m = re.search(r"^%s (\S+)$" % re.escape(name), node.metrics(), re.M)
    return float(m.group(1)) if m else None


def http(node, path, headers=None):
    """GET `path`: (status, body text, content type)."""
    req = urllib.request.Request(node.base + path, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), e.headers.get("Content-Type", "")


def query(device, point, **params):
    return "/api/v1/history?" + urllib.parse.urlencode(dict(device=device, point=point, **params))


class HistoryTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="pollux-history.")
        self.addCleanup(shutil.rmtree, self.dir, True)

    # -- helpers ------------------------------------------------------------------------------
    def sim(self, registers):
        return self.start_sim(sim_yaml([("RTU", 1, registers)], tcp=[("T1", ["RTU"], "modbus-tcp")]))

    def history(self, node, device, point, **params):
        """GET /api/v1/history as JSON; the answer must be 200."""
        status, body = node.request("GET", query(device, point, **params))
        self.assertEqual(status, 200, (device, point, params, body))
        return body

    def records(self, node, device, point, **params):
        """Every record of the point (all pages), as (time ms, value, quality)."""
        out = []
        while True:
            page = self.history(node, device, point, **params)
            out += [(ms_of(r["time"]), r["value"], r["quality"]) for r in page["records"]]
            if page["next"] is None:
                return out
            params["from"] = page["next"]

    def wait_good(self, node, device, names, timeout=10):
        return wait_until(lambda: (lambda p: p if all(p[n]["quality"] == "good" for n in names)
                                   else None)(node.points(device)),
                          timeout, what="%s %s good" % (device, names))

    def sample(self, node, device, point, seconds, period=0.02):
        """(value, timestamp ms) of the point as GET /api/v1/points shows it, every `period`
        for `seconds`: each distinct state once, in order."""
        seen = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            p = node.points(device)[point]
            self.assertEqual(p["quality"], "good", p)
            state = (p["value"], ms_of(p["timestamp"]))
            if not seen or seen[-1] != state:
                seen.append(state)
            time.sleep(period)
        return seen

    # -- 1. records on change -----------------------------------------------------------------
    def test_records_each_change_once_at_the_polled_time(self):
        sim = self.sim(["{table: holding, address: 0, counter: {start: 100, step: 1, interval_ms: 600}}",
                        "{table: holding, address: 1, value: 42}"])
        node = self.start_node(node_yaml(
            sim.tcp_addr("T1")[1],
            ["{ name: CNT, table: holding, address: 0, type: uint16 }",
             "{ name: FIXED, table: holding, address: 1, type: uint16 }"],
            interval_ms=200, history="{ path: %s/h.db }" % self.dir))
        self.wait_good(node, "RTU", ["CNT", "FIXED"])
        fixed_seen = ms_of(node.points("RTU")["FIXED"]["timestamp"])
        seen = self.sample(node, "RTU", "CNT", 4.0)
        time.sleep(1.5)  # committed
        recs = self.records(node, "RTU", "CNT")
        why = "records %s\nseen %s" % (recs, seen)
        times = [t for t, _, _ in recs]
        values = [v for _, v, _ in recs]
        self.assertEqual(times, sorted(set(times)), why)
        self.assertEqual(values, list(range(values[0], values[0] + len(values))), why)
        self.assertTrue(all(q == "good" for _, _, q in recs), why)
        self.assertGreaterEqual(len(recs), 6, why)
        # Each record's time is the timestamp of the first poll that read its value. A sample
        # taken one poll after a sample of the previous value shows that first poll itself.
        at = {v: t for t, v, _ in recs}
        exact = 0
        for i, (v, ts) in enumerate(seen):
            self.assertIn(v, at, why)
            if i == 0 or seen[i - 1][0] == v:
                continue
            prev_ts = seen[i - 1][1]
            self.assertEqual(seen[i - 1][0], v - 1, why)
            self.assertGreater(at[v], prev_ts, why)
            self.assertLessEqual(at[v], ts, why)
            if ts - prev_ts <= 300:  # the next poll (200 ms) after the previous value
                self.assertEqual(at[v], ts, "value %d: %s" % (v, why))
                exact += 1
        self.assertGreaterEqual(exact, 3, why)
        # An unchanged register: one record, its first value.
        fixed = self.records(node, "RTU", "FIXED")
        self.assertEqual(len(fixed), 1, fixed)
        self.assertEqual(fixed[0][1:], (42, "good"))
        self.assertLessEqual(fixed[0][0], fixed_seen)
        # The SYDEV* status points are recorded too: each has its first record, and its last
        # record is the state the API shows.
        points = node.points("RTU")
        status = sorted(n for n in points if n.startswith("SYDEV"))
        self.assertIn("SYDEVCOMLN", status)
        for name in status:
            r = self.records(node, "RTU", name)
            self.assertGreaterEqual(len(r), 1, name)
            self.assertEqual(r[-1][1], points[name]["value"], (name, r, points[name]))

    # -- 2. deadband and max_interval_s -------------------------------------------------------
    def test_deadband_is_measured_from_the_last_record_and_max_interval_repeats(self):
        sim = self.sim(["{table: holding, address: 0, type: int16, value: 100}",
                        "{table: holding, address: 1, value: 7}"])
        node = self.start_node(node_yaml(
            sim.tcp_addr("T1")[1],
            ["{ name: DB, table: holding, address: 0, type: int16, history: { deadband: 5 } }",
             "{ name: STEADY, table: holding, address: 1, type: uint16, "
             "history: { max_interval_s: 1 } }"],
            interval_ms=100, history="{ path: %s/h.db }" % self.dir))
        self.wait_good(node, "RTU", ["DB", "STEADY"])
        started = time.monotonic()
        # From 100: 103 and 104 stay within 5 of the last record (100); 106 is 6 from it (104
        # would be 2 from the last value read); 111 is exactly 5 from 106 (not more); 112 is 6;
        # 108 is 4 below it; 100 is 12 below; 99 is 1 below that.
        moves = [103, 104, 106, 111, 112, 108, 100, 99]
        for v in moves:
            sim.set("RTU", "holding", 0, type="int16", value=v)
            wait_until(lambda: node.points("RTU")["DB"]["value"] == v, 5, what="DB = %d" % v)
        time.sleep(max(0.0, 4.5 - (time.monotonic() - started)) + 1.2)
        db = self.records(node, "RTU", "DB")
        self.assertEqual([v for _, v, _ in db], [100, 106, 112, 100], db)
        steady = self.records(node, "RTU", "STEADY")
        why = "STEADY records %s" % [(rfc(t), v) for t, v, _ in steady]
        self.assertGreaterEqual(len(steady), 4, why)
        self.assertTrue(all(v == 7 and q == "good" for _, v, q in steady), why)
        gaps = [b[0] - a[0] for a, b in zip(steady, steady[1:])]
        self.assertTrue(all(1000 <= g <= 2500 for g in gaps), "%s gaps %s" % (why, gaps))

    # -- 3. 404s --------------------------------------------------------------------------------
    def test_unrecorded_points_and_unknown_names_answer_404(self):
        sim = self.sim(["{table: holding, address: 0, value: 5}", "{table: holding, address: 1, value: 6}"])
        port = sim.tcp_addr("T1")[1]
        pts = ["{ name: ON, table: holding, address: 0, type: uint16 }",
               "{ name: OFF, table: holding, address: 1, type: uint16, history: false }"]
        node = self.start_node(node_yaml(port, pts, history="{ path: %s/h.db }" % self.dir))
        bare = self.start_node(node_yaml(port, pts), name="bare")
        for n in (node, bare):
            self.wait_good(n, "RTU", ["ON", "OFF"])
        time.sleep(1.2)
        self.assertEqual([v for _, v, _ in self.records(node, "RTU", "ON")], [5])
        for n, point in ((node, "OFF"), (bare, "ON"), (bare, "OFF")):
            status, body = n.request("GET", query("RTU", point))
            self.assertEqual(status, 404, (n.name, point, body))
            self.assertIn("no history for", json.dumps(body), (n.name, point, body))
        for device, point in (("NOPE", "ON"), ("RTU", "NOPE")):
            status, body = node.request("GET", query(device, point))
            self.assertEqual(status, 404, (device, point, body))
            self.assertNotIn("no history for", json.dumps(body))
        self.assertNotIn("history", bare.get("/api/v1/health"))
        self.assertEqual(node.get("/api/v1/health")["history"], "ok")

    # -- 4. the query API -----------------------------------------------------------------------
    STRINGS = ["plain", "a,b", 'say "hi"', "two\nlines", ""]

    def query_node(self):
        """A node polling a fast counter, a string the test changes and a bool, every 100 ms;
        returns (node, the string values set, in order)."""
        sim = self.sim(["{table: holding, address: 0, counter: {start: 0, step: 3, interval_ms: 100}}",
                        "{table: holding, address: 10, type: string, length: 8, value: first}",
                        "{table: coil, address: 0, value: true}"])
        node = self.start_node(node_yaml(
            sim.tcp_addr("T1")[1],
            ["{ name: CNT, table: holding, address: 0, type: uint16 }",
             "{ name: TXT, table: holding, address: 10, type: string, length: 8 }",
             "{ name: FLAG, table: coil, address: 0, type: bool }"],
            interval_ms=100, history="{ path: %s/h.db }" % self.dir))
        self.wait_good(node, "RTU", ["CNT", "TXT", "FLAG"])
        for s in self.STRINGS:
            sim.set("RTU", "holding", 10, type="string", length=8, value=s)
            wait_until(lambda: node.points("RTU")["TXT"]["value"] == s, 5, what="TXT = %r" % s)
        time.sleep(3.5)
        return node

    def test_query_paging_bounds_csv_aggregates_and_400s(self):
        node = self.query_node()
        # A window in the past: everything in it is committed, so answers are stable.
        to = now_ms() - 2000
        time.sleep(0.5)
        everything = self.history(node, "RTU", "CNT", to=rfc(to), limit=100000)
        self.assertIsNone(everything["next"])
        full = everything["records"]
        self.assertGreaterEqual(len(full), 15, full)
        times = [ms_of(r["time"]) for r in full]
        self.assertEqual(times, sorted(set(times)))
        frm = rfc(times[0])

        # Paging: limit, next, no overlap, no gap, next null at the end.
        pages, params = [], {"from": frm, "to": rfc(to), "limit": 7}
        while True:
            page = self.history(node, "RTU", "CNT", **params)
            pages.append(page)
            if page["next"] is None:
                break
            self.assertEqual(len(page["records"]), 7, page)
            params["from"] = page["next"]
            self.assertLess(len(pages), 100)
        joined = [r for p in pages for r in p["records"]]
        self.assertEqual(joined, full)
        for i, p in enumerate(pages[:-1]):
            self.assertEqual(p["next"], full[7 * (i + 1)]["time"])
        self.assertGreaterEqual(len(pages), 3)
        self.assertLessEqual(len(pages[-1]["records"]), 7)
        self.assertGreaterEqual(len(pages[-1]["records"]), 1)

        # from inclusive, to exclusive; the same instants written with an offset, or without
        # fractions when they have none.
        a, b = 3, len(full) - 3
        part = self.history(node, "RTU", "CNT", **{"from": full[a]["time"], "to": full[b]["time"]})
        self.assertEqual(part["records"], full[a:b])
        self.assertIsNone(part["next"])
        def offset(ms):
            t = EPOCH + timedelta(milliseconds=ms) + timedelta(hours=2)
            return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d+02:00" % (ms % 1000)
        same = self.history(node, "RTU", "CNT", **{"from": offset(times[a]), "to": offset(times[b])})
        self.assertEqual(same["records"], full[a:b])
        whole = (times[a] // 1000 + 1) * 1000
        tail = self.history(node, "RTU", "CNT", **{"from": rfc(whole)[:19] + "Z", "to": rfc(to)})
        self.assertEqual(tail["records"], [r for r in full if ms_of(r["time"]) >= whole])

        # Aggregates: intervals aligned to multiples of interval_s since the epoch, each
        # consistent with the raw records inside it.
        agg = self.history(node, "RTU", "CNT", **{"from": frm, "to": rfc(to), "interval_s": 2})
        self.assertEqual(set(agg), {"device", "point", "intervals"})
        raw = [(ms_of(r["time"]), r["value"]) for r in full if r["quality"] == "good"]
        groups = {}
        for t, v in raw:
            groups.setdefault(t - t % 2000, []).append(v)
        self.assertEqual([ms_of(i["time"]) for i in agg["intervals"]], sorted(groups))
        for i in agg["intervals"]:
            vs = groups[ms_of(i["time"])]
            self.assertEqual(ms_of(i["time"]) % 2000, 0)
            self.assertEqual((i["count"], i["min"], i["max"], i["last"]),
                             (len(vs), min(vs), max(vs), vs[-1]), (i, vs))
            self.assertAlmostEqual(i["avg"], sum(vs) / len(vs), places=6)

        # CSV: a header always; values as JSON; strings quoted.
        st, text, ctype = http(node, query("RTU", "CNT", format="csv", **{"from": frm, "to": rfc(to)}))
        self.assertEqual(st, 200)
        self.assertIn("text/csv", ctype)
        lines = text.split("\n")
        self.assertEqual(lines[0], "time,value,quality")
        self.assertEqual(lines[-1], "")
        self.assertNotIn("\r", text)
        self.assertEqual(lines[1:-1],
                         ["%s,%s,%s" % (r["time"], json.dumps(r["value"]), r["quality"]) for r in full])
        st, accepted, _ = http(node, query("RTU", "CNT", **{"from": frm, "to": rfc(to)}),
                               headers={"Accept": "text/csv"})
        self.assertEqual((st, accepted), (200, text))
        st, empty, _ = http(node, query("RTU", "CNT", format="csv", **{"from": "2000-01-01T00:00:00Z",
                                                                       "to": "2000-01-02T00:00:00Z"}))
        self.assertEqual((st, empty), (200, "time,value,quality\n"))
        txt = self.records(node, "RTU", "TXT", to=rfc(to))
        self.assertEqual([v for _, v, _ in txt], ["first"] + self.STRINGS)
        st, text, _ = http(node, query("RTU", "TXT", format="csv", to=rfc(to)))
        rows = list(csv.reader(io.StringIO(text, newline="")))
        self.assertEqual(rows[0], ["time", "value", "quality"])
        self.assertEqual([(ms_of(r[0]), r[1], r[2]) for r in rows[1:]], txt)
        self.assertIn('"say ""hi"""', text)
        self.assertIn('"a,b"', text)
        self.assertIn('"two\nlines"', text)
        flag = self.records(node, "RTU", "FLAG", to=rfc(to))
        self.assertEqual([v for _, v, _ in flag], [True])
        st, text, _ = http(node, query("RTU", "FLAG", format="csv", to=rfc(to)))
        self.assertEqual(text.split("\n")[1].split(",")[1], "true")

        # 400s, and a limit above 100,000 is capped, not refused.
        bad = [{"from": "yesterday"}, {"to": "2026-13-01T00:00:00Z"}, {"from": frm, "to": frm},
               {"from": rfc(to), "to": frm}, {"limit": 0}, {"limit": -1}, {"limit": "abc"},
               {"interval_s": 0}, {"interval_s": "x"}]
        for params in bad:
            status, body = node.request("GET", query("RTU", "CNT", **params))
            self.assertEqual(status, 400, (params, body))
        for point in ("FLAG", "TXT"):
            status, body = node.request("GET", query("RTU", point, interval_s=1))
            self.assertEqual(status, 400, (point, body))
        for limit in (100001, 10**12):
            page = self.history(node, "RTU", "CNT", **{"from": frm, "to": rfc(to), "limit": limit})
            self.assertEqual(page["records"], full)

    @unittest.skipUnless(POLLUXCTL, "polluxctl is not built")
    def test_polluxctl_history_prints_table_csv_intervals_and_json(self):
        node = self.query_node()
        to = now_ms() - 2000
        time.sleep(0.5)
        span = ["--from", rfc(to - 60000), "--to", rfc(to)]
        params = {"from": rfc(to - 60000), "to": rfc(to)}
        full = self.history(node, "RTU", "CNT", **params)["records"]
        self.assertGreaterEqual(len(full), 10)

        def ctl(*args):
            p = subprocess.run([POLLUXCTL, "--api", node.base, "history", "RTU"] + list(args),
                               capture_output=True, text=True, timeout=20)
            self.assertEqual(p.returncode, 0, (args, p.stdout, p.stderr))
            return p.stdout

        table = ctl("CNT", *span).splitlines()
        self.assertEqual(table[0].split(), ["TIME", "VALUE", "QUALITY"])
        rows = [line.split() for line in table[1:] if line.strip() and not set(line) <= set("-+ ")]
        self.assertEqual(rows, [[r["time"], str(r["value"]), r["quality"]] for r in full])
        _, csv_text, _ = http(node, query("RTU", "CNT", format="csv", **params))
        self.assertEqual(ctl("CNT", "--csv", *span), csv_text)
        _, txt_csv, _ = http(node, query("RTU", "TXT", format="csv", **params))
        self.assertEqual(ctl("TXT", "--csv", *span), txt_csv)
        agg = self.history(node, "RTU", "CNT", interval_s=1, **params)["intervals"]
        table = ctl("CNT", "--interval", "1", *span).splitlines()
        self.assertEqual(table[0].split(), ["TIME", "MIN", "MAX", "AVG", "LAST", "COUNT"])
        rows = [line.split() for line in table[1:] if line.strip() and not set(line) <= set("-+ ")]
        self.assertEqual([(r[0], r[-1]) for r in rows], [(i["time"], str(i["count"])) for i in agg])
        out = subprocess.run([POLLUXCTL, "--api", node.base, "--json", "history", "RTU", "CNT"] + span,
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout), self.history(node, "RTU", "CNT", **params))
        bad = subprocess.run([POLLUXCTL, "--api", node.base, "history", "RTU", "CNT", "--limit", "0"],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(bad.returncode, 1, (bad.stdout, bad.stderr))
        missing = subprocess.run([POLLUXCTL, "--api", node.base, "history", "RTU", "NOPE"],
                                 capture_output=True, text=True, timeout=20)
        self.assertEqual(missing.returncode, 1, (missing.stdout, missing.stderr))

    # -- 5. kill -9 -----------------------------------------------------------------------------
    def test_kill_9_keeps_every_committed_record_and_a_readable_file(self):
        sim = self.sim(["{table: holding, address: %d, counter: {start: %d, step: 1, interval_ms: 100}}"
                        % (i, 1000 * i) for i in range(10)])
        path = os.path.join(self.dir, "h.db")
        names = ["C%d" % i for i in range(10)]
        node = self.start_node(node_yaml(
            sim.tcp_addr("T1")[1],
            ["{ name: C%d, table: holding, address: %d, type: uint16 }" % (i, i) for i in range(10)],
            interval_ms=100, history="{ path: %s }" % path))
        self.wait_good(node, "RTU", names)
        time.sleep(2.5)
        before = {n: self.records(node, "RTU", n) for n in names}
        self.assertTrue(all(len(r) >= 10 for r in before.values()), before)
        node.kill()
        db = sqlite3.connect(path)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            self.assertIn("series", tables)
            stored = db.execute("SELECT count(*) FROM (SELECT series, time FROM history "
                                "UNION SELECT series, time FROM recent)").fetchone()[0]
        finally:
            db.close()
        self.assertGreaterEqual(stored, sum(len(r) for r in before.values()))
        node.start()
        self.wait_good(node, "RTU", names)
        for n in names:
            after = self.records(node, "RTU", n)
            missing = sorted(set(before[n]) - set(after))
            self.assertEqual(missing, [], n)
        time.sleep(1.2)
        self.assertGreater(len(self.records(node, "RTU", "C0")), len(before["C0"]))
        self.assertEqual(node.get("/api/v1/health")["history"], "ok")

    # -- 6. an unwritable path ------------------------------------------------------------------
    def test_unwritable_path_polls_on_shows_the_error_and_writes_once_it_exists(self):
        sim = self.sim(["{table: holding, address: 0, counter: {start: 0, step: 1, interval_ms: 500}}"])
        port = sim.tcp_addr("T1")[1]
        missing_dir = os.path.join(self.dir, "missing")
        not_a_dir = os.path.join(self.dir, "plain-file")
        with open(not_a_dir, "w") as f:
            f.write("not a directory\n")
        pts = ["{ name: CNT, table: holding, address: 0, type: uint16 }"]
        nodes = [self.start_node(node_yaml(port, pts, interval_ms=100,
                                           history="{ path: %s/h.db }" % d), name=n)
                 for n, d in (("missing", missing_dir), ("file", not_a_dir))]
        seen = {n.name: [] for n in nodes}

        def look():
            for n in nodes:
                v = n.points("RTU")["CNT"]
                self.assertEqual(v["quality"], "good", (n.name, v))
                if v["value"] not in seen[n.name]:
                    seen[n.name].append(v["value"])

        for n in nodes:
            self.wait_good(n, "RTU", ["CNT"])
            h = n.get("/api/v1/health")
            self.assertEqual(h["status"], "ok", h)
            self.assertTrue(h["history"].startswith("error: "), h)
            self.assertGreaterEqual(metric(n, "pollux_history_write_errors_total"), 1)
            self.assertEqual(metric(n, "pollux_history_store_up"), 0)
        errors = {n.name: metric(n, "pollux_history_write_errors_total") for n in nodes}
        # The store is tried again every 10 s: the error count grows, polling goes on.
        wait_until(lambda: look() or all(metric(n, "pollux_history_write_errors_total") >
                                          errors[n.name] for n in nodes),
                   14, interval=0.1, what="another failed open")
        look()
        for n in nodes:
            self.assertTrue(n.get("/api/v1/health")["history"].startswith("error: "))
            self.assertGreater(metric(n, "pollux_history_queue_records"), 0)
            self.assertGreaterEqual(len(seen[n.name]), 10, seen)
        os.mkdir(missing_dir)
        os.unlink(not_a_dir)
        os.mkdir(not_a_dir)
        for n in nodes:
            wait_until(lambda: look() or n.get("/api/v1/health")["history"] == "ok", 15,
                       interval=0.1, what=n.name + " history ok")
        time.sleep(1.2)
        for n in nodes:
            values = [v for _, v, _ in self.records(n, "RTU", "CNT")]
            self.assertEqual([v for v in seen[n.name] if v not in values], [], (n.name, values))
            self.assertEqual(values, list(range(values[0], values[0] + len(values))), n.name)
            # The first record is the first poll's value: the first one this test saw, or an
            # earlier one when the node polled before the test looked (a slow, sanitized build).
            self.assertLessEqual(values[0], seen[n.name][0])
            self.assertEqual(metric(n, "pollux_history_store_up"), 1)

    # -- 7. a full store ------------------------------------------------------------------------
    def test_full_store_keeps_records_waiting_until_it_grows(self):
        path = os.path.join(self.dir, "h.db")
        # Filled up to 1 MiB with another point's records, in the store's schema
        # (src/history/sqlite_store.cpp): the node's own records fill the last pages at once.
        db = sqlite3.connect(path, isolation_level=None)
        db.executescript(
            "CREATE TABLE series(id INTEGER PRIMARY KEY, device TEXT NOT NULL, point TEXT NOT NULL,"
            " UNIQUE(device, point));"
            "CREATE TABLE history(series INTEGER NOT NULL, time INTEGER NOT NULL, value,"
            " flags INTEGER NOT NULL, PRIMARY KEY(series, time)) WITHOUT ROWID;"
            "CREATE TABLE recent(series INTEGER NOT NULL, time INTEGER NOT NULL, value,"
            " flags INTEGER NOT NULL, PRIMARY KEY(series, time)) WITHOUT ROWID;"
            "PRAGMA user_version=1; PRAGMA journal_mode=WAL;"
            "INSERT INTO series(device, point) VALUES('OLD', 'FILL');")
        db.execute("PRAGMA max_page_count=%d" % ((1 << 20) // db.execute("PRAGMA page_size").fetchone()[0]))
        t0 = now_ms() - 86400000
        t, step = t0, 1000
        while step:
            try:
                db.execute("BEGIN")
                db.executemany("INSERT INTO history VALUES(1, ?, ?, 0)",
                               ((t + i, float(i)) for i in range(step)))
                db.execute("COMMIT")
                t += step
            except sqlite3.OperationalError as e:
                self.assertIn("full", str(e))
                if db.in_transaction:
                    db.execute("ROLLBACK")
                step //= 2
        filled = db.execute("SELECT count(*) FROM history").fetchone()[0]
        db.close()
        self.assertGreater(filled, 10000)

        sim = self.sim(["{table: holding, address: %d, counter: {start: %d, step: 1, interval_ms: 100}}"
                        % (i, 1000 * i) for i in range(20)])
        names = ["C%d" % i for i in range(20)]
        config = lambda mb: node_yaml(
            sim.tcp_addr("T1")[1],
            ["{ name: C%d, table: holding, address: %d, type: uint16 }" % (i, i) for i in range(20)],
            interval_ms=100, history="{ path: %s, max_size_mb: %d }" % (path, mb))
        node = self.start_node(config(1))
        self.wait_good(node, "RTU", names)
        wait_until(lambda: node.get("/api/v1/health")["history"].startswith("error: "), 10,
                   what="the store full")
        h = node.get("/api/v1/health")
        self.assertEqual(h["status"], "ok", h)
        self.assertIn("full", h["history"])
        q1 = metric(node, "pollux_history_queue_records")
        seen = self.sample(node, "RTU", "C0", 2.0, period=0.05)
        q2 = metric(node, "pollux_history_queue_records")
        self.assertGreater(q2, q1)
        self.assertGreater(q2, 100)
        self.assertTrue(node.get("/api/v1/health")["history"].startswith("error: "))
        # More room: a reload with a larger cap reopens the store.
        node.write_config(config(8))
        t0 = time.monotonic()
        status, body = node.request("POST", "/api/v1/config/reload")
        self.assertEqual(status, 200, body)
        # The waiting records move to the new store: the reload does not wait for the full one
        # (on the thread that polls).
        self.assertLess(time.monotonic() - t0, 2.0)
        wait_until(lambda: node.get("/api/v1/health")["history"] == "ok", 15, what="history ok")
        wait_until(lambda: metric(node, "pollux_history_queue_records") < 100, 10, what="queue drained")
        time.sleep(1.0)
        values = [v for _, v, _ in self.records(node, "RTU", "C0")]
        self.assertEqual([v for v, _ in seen if v not in values], [], values)
        times = [t for t, _, _ in self.records(node, "RTU", "C0")]
        self.assertEqual(times, sorted(set(times)))
        db = sqlite3.connect(path)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            self.assertEqual(db.execute("SELECT count(*) FROM history WHERE series=1").fetchone()[0],
                             filled)
        finally:
            db.close()

    # -- 8. PostgreSQL --------------------------------------------------------------------------
    def test_postgresql_store_records_answers_and_survives_an_outage(self):
        pg = Postgres(durable=False)
        self.addCleanup(pg.stop)
        sim = self.sim(["{table: holding, address: 0, counter: {start: 500, step: 2, interval_ms: 500}}"])
        node = self.start_node(node_yaml(
            sim.tcp_addr("T1")[1], ["{ name: CNT, table: holding, address: 0, type: uint16 }"],
            interval_ms=100, history="{ backend: postgresql, url: '%s' }" % pg.url))
        self.wait_good(node, "RTU", ["CNT"])
        wait_until(lambda: len(self.records(node, "RTU", "CNT")) >= 5, 10, interval=0.3,
                   what="records in PostgreSQL")
        self.assertEqual(node.get("/api/v1/health")["history"], "ok")
        to = now_ms() - 1000
        time.sleep(1.0)  # everything before `to` committed: both answers see the same records
        recs = self.records(node, "RTU", "CNT", to=rfc(to))
        values = [v for _, v, _ in recs]
        self.assertEqual(values, list(range(values[0], values[0] + 2 * len(values), 2)))
        agg = self.history(node, "RTU", "CNT", to=rfc(to), interval_s=1)["intervals"]
        self.assertEqual(sum(i["count"] for i in agg), len(recs))
        for i in agg:
            vs = [v for t, v, _ in recs if ms_of(i["time"]) <= t < ms_of(i["time"]) + 1000]
            self.assertEqual((i["count"], i["min"], i["max"], i["last"]),
                             (len(vs), min(vs), max(vs), vs[-1]), (i, vs))
            self.assertAlmostEqual(i["avg"], sum(vs) / len(vs), places=6)

        pg.halt()
        wait_until(lambda: node.get("/api/v1/health")["history"].startswith("error: "), 10,
                   what="history error")
        self.assertEqual(node.get("/api/v1/health")["status"], "ok")
        outage = [v for v, _ in self.sample(node, "RTU", "CNT", 3.0, period=0.05)]
        self.assertGreaterEqual(len(outage), 5)
        self.assertTrue(node.get("/api/v1/health")["history"].startswith("error: "))
        pg.resume()
        wait_until(lambda: node.get("/api/v1/health")["history"] == "ok", 20, interval=0.2,
                   what="history ok again")
        wait_until(lambda: metric(node, "pollux_history_queue_records") < 10, 10,
                   what="queue drained")
        time.sleep(1.0)
        values = [v for _, v, _ in self.records(node, "RTU", "CNT")]
        self.assertEqual([v for v in outage if v not in values], [], values)
        self.assertEqual(values, list(range(values[0], values[0] + 2 * len(values), 2)), values)


if __name__ == "__main__":
    unittest.main()
