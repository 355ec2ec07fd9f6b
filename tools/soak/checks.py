"""The soak's invariant checkers (issue 24): run every second while the schedule plays, and once
more at the end. Each violation is printed at once with its time and the schedule entries in
force, and counted in the report.

  crash        a node, the simulator or the broker exited without the schedule asking
  rss          a node's RSS grew more than 5 % after warm-up
  two-active   both nodes said "active" (redundancy.md: never, while a liveness path works)
  failover     a redundancy event (takeover, handover) with no node/link fault to explain it
  overlap      the simulator saw two masters on one serial line
  write        a write executed other than exactly once (the simulator's write log)
  history      records duplicated, out of order, not what the simulator served, or missing
               (a value the Sparkplug host received that the master's history lacks)
  sparkplug    seq not continuous, bdSeq not the next, a value duplicated or out of order
"""

import json
import math
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import field as fieldmod
import schedule as sched
from pollux_support.sparkplug import Host

INFRA_GRACE_S = fieldmod.FAILOVER_MS / 1000.0 + 10.0
RSS_LIMIT = 1.05
# history.md "Faults": kill -9 loses at most the records of the last second not yet committed.
# A published value made that shortly before a kill -9 may be missing from the store (with half a
# second for the kill's own timing).
KILL_COMMIT_S = 1.5
MAX_PRINTED_PER_KIND = 25


def iso(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ms(text):
    return int(round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000))


class Subscriber(Host):
    """The Sparkplug host, feeding each message to the checker instead of keeping it."""

    def __init__(self, url, checks):
        self.checks = checks
        self.reconnects = 0
        super().__init__(url, fieldmod.GROUP, client_id="pollux-soak-host")

    def _on_connect(self, client, userdata, flags, rc):
        if rc == 0 and self._subscribed:
            self.reconnects += 1
            self.checks.sp_resync("subscriber reconnected")
        super()._on_connect(client, userdata, flags, rc)

    def _on_message(self, client, userdata, message):
        msg = self.decode(message.topic, message.payload, bool(message.retain))
        if msg is not None:
            self.checks.on_sparkplug(msg)


class Checks:
    def __init__(self, f, entries, log, warmup):
        self.f = f
        self.entries = entries
        self.log = log
        self.warmup = warmup
        self.lock = threading.RLock()
        self.sim_lock = threading.Lock()
        self.violations = []
        self.printed = {}
        self.fault_counts = {}
        self.down = {n: False for n in f.nodes}
        self.broker_down = False
        self.started = {n: time.monotonic() for n in f.nodes}
        self.rss = {n: [] for n in f.nodes}          # (run s, pid, kB)
        self.last_act = {}
        self.active_node = "fe-a"
        self.events_seen = set()
        self.takeovers = self.handovers = self.other_events = 0
        self.overlaps = {}
        self.late_overlaps = 0
        self.slow_overlaps = 0
        self.serial_prev = {}
        self.standby_since = {}
        self.driver_errors = 0
        self.event_seq = {}
        self.device_events = 0
        self.device_failovers_explained = 0
        self.ticks = 0
        self.two_active_samples = 0
        # writes
        self.writes = []                              # (run s, device, value, node, status)
        self.writer_stop = threading.Event()
        # sparkplug
        self.sp = {"messages": 0, "values": 0, "births": 0, "historical": 0, "seq_checked": 0}
        self.sp_seq = None
        self.sp_bdseq = None
        self.sp_last_ts = {}
        self.sp_seen = set()
        self.sp_c_values = set()                      # (device, ts ms) good values of C
        self.t0 = None
        self.epoch0 = None
        self.sub = Subscriber(f.broker.url, self)
        self.history_checked = 0
        self.history_lost_to_kill = 0  # published, missing, made just before a kill -9
        self.history_dev = [0, 0]
        # history_full: the node's failed store writes while its filesystem was full, per fault
        self.store_full = []                          # (entry, write errors during it or None)

    # -- time and reporting --------------------------------------------------------------------
    def wait_pair_ready(self, log, timeout=60):
        """The clock starts once the pair has formed: master active, backup standby, both
        authenticated, so that the start-up's own transitions are not taken for failovers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sa, a = self.http("fe-a", "GET", "/api/v1/redundancy")
            sb, b = self.http("fe-b", "GET", "/api/v1/redundancy")
            if (sa == 200 and sb == 200 and a["activity"] == "active" and
                    b["activity"] == "standby" and a["peer"]["authenticated"] and
                    b["peer"]["authenticated"]):
                log("pair formed: fe-a active, fe-b standby")
                return
            time.sleep(0.2)
        raise SystemExit("the pair did not form within %ds" % timeout)

    def start_clock(self):
        self.t0 = time.monotonic()
        self.epoch0 = time.time()

    def now(self):
        return time.monotonic() - self.t0 if self.t0 else 0.0

    def in_force(self, t, grace=0.0, classes=None, device_grace=1.0):
        """The entries in force at run time t: begun, and ended less than `grace` (node, link and
        broker faults) or `device_grace` (the others) before."""
        return [e for e in self.entries
                if e["t"] <= t <= e["end"] + (grace if e["cls"] in sched.INFRA_FAULTS
                                              else device_grace)
                and (classes is None or e["cls"] in classes)]

    def violation(self, kind, msg, t=None):
        t = self.now() if t is None else t
        force = self.in_force(t, INFRA_GRACE_S)
        with self.lock:
            self.violations.append((t, kind, msg))
            n = self.printed.get(kind, 0) + 1
            self.printed[kind] = n
        if n <= MAX_PRINTED_PER_KIND:
            self.log("VIOLATION %s at +%.1fs: %s | in force: %s" % (
                kind, t, msg, "; ".join(sched.describe(e) for e in force) or "nothing"))
        elif n == MAX_PRINTED_PER_KIND + 1:
            self.log("(further %s violations are counted, not printed)" % kind)

    def count_fault(self, e):
        self.fault_counts[e["cls"]] = self.fault_counts.get(e["cls"], 0) + 1

    def sim_cmd(self, req):
        with self.sim_lock:
            return self.f.sim.cmd(req, timeout=30)

    def expect_down(self, node, down):
        self.down[node] = down
        if not down:
            self.started[node] = time.monotonic()

    # -- HTTP ------------------------------------------------------------------------------------
    def http(self, node, method, path, body=None, timeout=3.0):
        n = self.f.nodes[node]
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(n.base + path, data=data, method=method, headers={
            "Content-Type": "application/json", "Authorization": "Bearer " + self.f.token})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            try:
                return e.code, json.loads(e.read() or b"null")
            except ValueError:
                return e.code, None
        except (OSError, ValueError) as e:
            return None, str(e)

    def metric(self, node, name):
        """One unlabelled counter from the node's /metrics, or None when it cannot be read."""
        n = self.f.nodes[node]
        req = urllib.request.Request(n.base + "/metrics",
                                     headers={"Authorization": "Bearer " + self.f.token})
        try:
            with urllib.request.urlopen(req, timeout=3.0) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith(name + " "):
                        return float(line.split()[1])
        except (OSError, ValueError):
            pass
        return None

    # -- the history store made full -----------------------------------------------------------
    # The fault is only worth its name if the node's store writes fail while it lasts: the report
    # gives the failed writes each fault caused (pollux_history_write_errors_total), so that a
    # fault that never bit shows as 0 instead of passing for a survived one.
    def store_filling(self, e):
        e["write_errors_before"] = self.metric(e["target"], "pollux_history_write_errors_total")

    def store_freed(self, e):
        before = e.get("write_errors_before")
        after = self.metric(e["target"], "pollux_history_write_errors_total")
        self.store_full.append((e, None if before is None or after is None or after < before
                                else int(after - before)))

    # -- the periodic checks ---------------------------------------------------------------------
    def tick(self, now):
        self.ticks += 1
        self.check_processes(now)
        for check in (self.check_pair, self.sample_rss, self.check_overlaps,
                      self.check_device_events):
            if check in (self.check_overlaps, self.check_device_events) and self.ticks % 5:
                continue
            try:
                check(now)
            except Exception as e:  # a driver bug must not end the run; it is reported
                self.driver_errors += 1
                self.log("driver error in %s: %r" % (check.__name__, e))

    def check_processes(self, now):
        for name, n in self.f.nodes.items():
            if self.down[name] or n.proc.poll() is None:
                continue
            self.violation("crash", "%s exited with %s (log %s)" % (name, n.proc.returncode,
                                                                    n.log_path), now)
            try:
                n.log.close()
                n.start()
                self.expect_down(name, False)
                self.log("%s restarted after its crash" % name)
            except AssertionError as e:
                self.log("%s does not start again: %s" % (name, str(e)[-300:]))
                self.down[name] = True
        if self.f.sim.proc.poll() is not None:
            self.violation("crash", "pollux-sim exited with %s" % self.f.sim.proc.returncode, now)
            raise SystemExit("the simulator is gone")
        if not self.broker_down and not self.f.broker.running:
            self.violation("crash", "mosquitto exited", now)
            self.f.broker.start()

    def check_pair(self, now):
        views = {}
        for name in self.f.nodes:
            if self.down[name]:
                continue
            status, body = self.http(name, "GET", "/api/v1/redundancy", timeout=2)
            if status == 200:
                views[name] = body
        acts = {n: v["activity"] for n, v in views.items()}
        self.last_act = {n: acts.get(n) for n in self.f.nodes}
        for n in self.f.nodes:
            if acts.get(n) == "standby":
                self.standby_since.setdefault(n, now)
            else:
                self.standby_since.pop(n, None)
        for n, a in acts.items():
            if a == "active":
                self.active_node = n
        if len(acts) == 2 and all(a == "active" for a in acts.values()):
            self.two_active_samples += 1
            nodefaults = self.in_force(now, INFRA_GRACE_S, ("kill9", "sigstop", "restart"))
            parts = self.in_force(now, INFRA_GRACE_S, ("partition",))
            if nodefaults:
                pass  # a node that was down or frozen meets its peer again: resolved by the link
            elif parts and self.in_force(now, 0, ("broker_stop",)):
                pass  # every liveness path silent
            elif parts:
                self.violation("two-active", "both nodes active during a peer-link partition while "
                               "the broker path works (redundancy.md, Partitions)", now)
            else:
                self.violation("two-active", "both nodes active: %s" % json.dumps(
                    {n: (v["activity"], v["peer"]) for n, v in views.items()}), now)
        for name, v in views.items():
            pid = self.f.nodes[name].proc.pid
            for ev in v.get("events", []):
                key = (name, pid, ev["seq"])
                if key in self.events_seen:
                    continue
                self.events_seen.add(key)
                self.on_event(name, ev)

    def on_event(self, name, ev):
        t = (parse_ms(ev["time"]) / 1000.0) - self.epoch0
        what = "%s %s->%s (%s)" % (name, ev["from"], ev["to"], ev["reason"])
        if t < 0:
            return  # start-up of the pair
        # One handover shows on both nodes (the backup gives, the master takes): counted once,
        # on the master.
        if name == "fe-b" and ev["to"] == "active":
            self.takeovers += 1
        elif name == "fe-a" and ev["to"] == "active":
            self.handovers += 1
        elif not (name == "fe-b" and ev["from"] == "active"):
            self.other_events += 1
        self.log("redundancy event at +%.1fs: %s" % (t, what))
        # A cut of the main link alone explains nothing: the second link carries the pair.
        causes = self.in_force(t, INFRA_GRACE_S, ("kill9", "sigstop", "restart", "partition"))
        if name == "fe-b" and ev["to"] == "active":
            # A takeover needs the master silent: the master down or frozen, or both links cut
            # while the broker is down too (redundancy.md "Partitions": with the broker up the
            # master's Sparkplug session vouches for it). A backup that was itself frozen or
            # restarted has no reason to take over.
            broker_out = self.in_force(t, INFRA_GRACE_S, ("broker_stop",))
            causes = [e for e in causes if e["target"] == "fe-a" or
                      (e["cls"] == "partition" and broker_out)]
        if not causes:
            self.violation("failover", "unexplained redundancy event %s" % what, t)

    def check_device_events(self, now):
        """Every device line change made by a failure (not a scheduled Retry primary) needs a
        fault in force: on the device, on a device sharing its serial line (a late answer there
        garbles the next request), on its line or modem, or a node or link fault."""
        layout = self.f.layout
        for name in self.f.nodes:
            if self.down[name]:
                continue
            pid = self.f.nodes[name].proc.pid
            since = self.event_seq.get((name, pid), 0)
            status, evs = self.http(name, "GET", "/api/v1/events?since=%d" % since)
            if status != 200:
                continue
            for ev in evs:
                self.event_seq[(name, pid)] = max(self.event_seq.get((name, pid), 0), ev["seq"])
                t = parse_ms(ev["time"]) / 1000.0 - self.epoch0
                if t < 0:
                    continue
                self.device_events += 1
                if ev["reason"] == "retry_primary" or ev["from"] == ev["to"]:
                    continue
                dev = ev["device"]
                kind, where = layout.path.get(dev, ":").split(":")
                peers = set(layout.serial.get(where, [])) | {dev}
                if kind == "modem":
                    peers |= set(layout.modem)
                # A failure counts for initial_fail_s (2 s) before the event: 5 s of grace.
                related = [e for e in self.in_force(t, INFRA_GRACE_S, device_grace=5.0)
                           if e["cls"] in sched.INFRA_FAULTS or e["target"] in peers or
                           e["target"] == where]
                if related:
                    self.device_failovers_explained += 1
                else:
                    self.violation("failover", "%s: device %s line %s -> %s (%s) with no fault on "
                                   "it, its line or the pair" % (name, dev, ev["from"], ev["to"],
                                                                 ev["reason"]), t)

    def sample_rss(self, now):
        for name, n in self.f.nodes.items():
            if self.down[name] or n.proc.poll() is not None:
                continue
            kb = fieldmod.rss_kb(n.proc.pid)
            if kb:
                self.rss[name].append((now, n.proc.pid, time.monotonic() - self.started[name], kb))

    def serial_counters(self, now):
        """Per node, per serial line: the channel's messages (a standby must send none) and the
        line's devices' timeouts, each as the growth since the last call."""
        grown = {}
        for name in self.f.nodes:
            if self.down[name]:
                continue
            sc, chans = self.http(name, "GET", "/api/v1/channels")
            sd, devs = self.http(name, "GET", "/api/v1/devices")
            if sc != 200 or sd != 200:
                continue
            pid = self.f.nodes[name].proc.pid
            cur = {}
            for c in chans:
                if c["id"].startswith("COM_"):
                    # No runner (no stats) on a standby: the port is closed.
                    cur[("msg", c["id"][4:])] = dict(c.get("stats") or {}).get("messages", 0)
            line_of = {d: lid for lid, ds in self.f.layout.serial.items() for d in ds}
            for d in devs:
                lid = line_of.get(d["id"])
                if lid:
                    cur[("timeouts", lid)] = cur.get(("timeouts", lid), 0) + d["stats"]["timeouts"]
            prev = self.serial_prev.get((name, pid), {})
            grown[name] = {k: v - prev.get(k, v) for k, v in cur.items()}
            self.serial_prev[(name, pid)] = cur
        return grown

    def check_overlaps(self, now):
        grown = self.serial_counters(now)
        for name, g in grown.items():
            if self.standby_since.get(name, now) > now - 7:
                continue  # standby for the whole window only
            for (kind, lid), n in g.items():
                if kind == "msg" and n > 0:
                    self.violation("overlap", "%s sent %d messages on serial line %s while standby"
                                   % (name, n, lid), now)
        try:
            lines = self.sim_cmd({"cmd": "stats"})["lines"]
        except Exception as e:
            self.log("simulator stats: %s" % e)
            return
        for lid, s in lines.items():
            before = self.overlaps.get(lid, 0)
            self.overlaps[lid] = s["overlaps"]
            if s["overlaps"] <= before:
                continue
            new = s["overlap_times_ms"][-(s["overlaps"] - before):]
            devs = set(self.f.layout.serial.get(lid, []))
            for ms in new:
                t = self.f.sim_t0 + ms / 1000.0 - self.epoch0
                # An answer delayed past the poller's message timeout meets its next request:
                # one master, a late RTU. Only a second master is a violation.
                late = [e for e in self.in_force(t, 0, ("delay",))
                        if e["target"] in devs and e["params"]["ms"] + 10 >= fieldmod.SERIAL_TIMEOUT_MS]
                timeouts = sum(g.get(("timeouts", lid), 0) for g in grown.values())
                if late:
                    self.late_overlaps += 1
                elif timeouts > 0 and not self.in_force(t, INFRA_GRACE_S, sched.INFRA_FAULTS):
                    # One master that gave up on an answer and asked again while the answer
                    # was still on its way: no delay fault, so the machine was slow. Noted.
                    self.slow_overlaps += 1
                    self.log("note: overlap on %s at +%.1fs after %d timeouts on the line, one "
                             "master (no node fault in force): a late answer" % (lid, t, timeouts))
                else:
                    self.violation("overlap", "serial line %s: two masters at sim ms %.0f" % (lid, ms), t)

    # -- writes ----------------------------------------------------------------------------------
    def writer(self, seed, interval):
        rng = random.Random(seed * 7919 + 17)
        devices = self.f.layout.devices
        value = 1000
        while not self.writer_stop.wait(interval):
            dev = rng.choice(devices)
            value += 1
            node = self.active_node
            status, body = self.http(node, "POST", "/api/v1/devices/%s/write" % dev,
                                     {"point": "W", "value": value % 65536}, timeout=12)
            with self.lock:
                self.writes.append((self.now(), dev, value % 65536, node, status, body))

    def stop_writer(self):
        self.writer_stop.set()

    def check_writes(self):
        by_dev = {}
        for w in self.writes:
            by_dev.setdefault(w[1], []).append(w)
        counts = {}
        for dev, ws in by_dev.items():
            log = self.sim_cmd({"cmd": "writes", "device": dev})["writes"]
            seen = {}
            for entry in log:
                if entry["table"] == "holding" and entry["address"] == 1:
                    for v in entry["values"][:1]:
                        seen[v] = seen.get(v, 0) + 1
            for t, _, v, node, status, body in ws:
                n = seen.get(v, 0)
                key = str(status)
                counts[key] = counts.get(key, 0) + 1
                if n > 1:
                    self.violation("write", "%s W=%d written %d times (API %s on %s)"
                                   % (dev, v, n, status, node), t)
                elif status == 200 and n != 1:
                    self.violation("write", "%s W=%d answered 200 by %s but never written"
                                   % (dev, v, node), t)
                elif status in (400, 404, 409) and n != 0:
                    self.violation("write", "%s W=%d refused with %s by %s but written"
                                   % (dev, v, status, node), t)
        return counts

    # -- Sparkplug -------------------------------------------------------------------------------
    def sp_resync(self, why):
        with self.lock:
            self.sp_seq = None

    def on_sparkplug(self, m):
        if m.edge_node != fieldmod.EDGE or m.type in ("STATE", "NCMD", "DCMD"):
            return
        t = self.now()
        with self.lock:
            self.sp["messages"] += 1
            if m.error:
                self.violation("sparkplug", "%s does not decode: %s" % (m.topic, m.error), t)
                return
            if m.type == "NDEATH":
                return
            if m.type == "NBIRTH":
                self.sp["births"] += 1
                if m.seq != 0:
                    self.violation("sparkplug", "NBIRTH with seq %s" % m.seq, t)
                # A new session's bdSeq is one more; a rebirth (an NCMD, or the standby's broker
                # watch asking for one) repeats the live session's.
                if self.sp_bdseq is not None and m.bd_seq not in (self.sp_bdseq,
                                                                  (self.sp_bdseq + 1) % 256):
                    self.violation("sparkplug", "NBIRTH bdSeq %s after %s" % (m.bd_seq, self.sp_bdseq), t)
                self.sp_bdseq = m.bd_seq
                self.sp_seq = 0
                return
            if self.sp_seq is not None:
                self.sp["seq_checked"] += 1
                want = (self.sp_seq + 1) % 256
                if m.seq != want:
                    self.violation("sparkplug", "%s %s seq %s, expected %s"
                                   % (m.type, m.device, m.seq, want), t)
            self.sp_seq = m.seq
            if m.type != "DDATA":
                return
            for x in m.metrics:
                ts = x["timestamp"]
                self.sp["values"] += 1
                key = (m.device, x["name"], ts)
                if key in self.sp_seen:
                    self.violation("sparkplug", "value duplicated: %s %s at %s (%s)"
                                   % (m.device, x["name"], ts,
                                      "historical" if x["is_historical"] else "live"), t)
                self.sp_seen.add(key)
                if x["is_historical"]:
                    self.sp["historical"] += 1
                else:
                    last = self.sp_last_ts.get((m.device, x["name"]))
                    if last is not None and ts <= last:
                        self.violation("sparkplug", "out of order: %s %s at %s after %s"
                                       % (m.device, x["name"], ts, last), t)
                    self.sp_last_ts[(m.device, x["name"])] = ts
                if x["name"] == "C" and x["quality"] == 192 and x["value"] is not None:
                    self.sp_c_values.add((m.device, ts))

    # -- the end ---------------------------------------------------------------------------------
    def final(self, log):
        log("settled; final checks")
        # The pair back to master active, backup standby, the backup's history forwarded.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sa, a = self.http("fe-a", "GET", "/api/v1/redundancy")
            sb, b = self.http("fe-b", "GET", "/api/v1/redundancy")
            if (sa == 200 and sb == 200 and a["activity"] == "active" and
                    b["activity"] == "standby" and b["history"]["pending"] == 0):
                break
            time.sleep(1)
        else:
            self.violation("two-active" if sa == 200 and sb == 200 and a["activity"] ==
                           b["activity"] == "active" else "failover",
                           "the pair did not settle to master active / backup standby with "
                           "nothing pending: %s / %s" % (a, b))
        time.sleep(2)  # the last history commits
        log("checking writes")
        self.write_counts = self.check_writes()
        log("checking history")
        self.check_history()
        self.rss_figures = self.check_rss()

    def check_history(self):
        to = time.time() + 1
        frm = self.epoch0 - 60
        t0 = self.f.sim_t0
        missing = 0
        # Values published up to a few seconds ago are committed by now (history.md: at most
        # the last second is not yet committed).
        cutoff = (time.time() - 3) * 1000
        with self.lock:
            sp_values = {}
            for dev, ts in self.sp_c_values:
                if ts <= cutoff:
                    sp_values.setdefault(dev, []).append(ts)
        self.sp_cross_checked = sum(len(v) for v in sp_values.values())
        for dev in self.f.layout.devices:
            records = []
            cursor = iso(frm)
            while True:
                q = urllib.parse.urlencode({"device": dev, "point": "C", "from": cursor,
                                            "to": iso(to), "limit": 100000})
                status, body = self.http("fe-a", "GET", "/api/v1/history?" + q, timeout=30)
                if status != 200:
                    self.violation("history", "GET history of %s: %s %s" % (dev, status, body))
                    break
                records += body["records"]
                if not body.get("next"):
                    break
                cursor = body["next"]
            self.history_checked += len(records)
            times = set()
            last_t = None
            last_v = None
            for r in records:
                ms = parse_ms(r["time"])
                if ms in times:
                    self.violation("history", "%s C duplicated at %s" % (dev, r["time"]),
                                   ms / 1000.0 - self.epoch0)
                elif last_t is not None and ms < last_t:
                    self.violation("history", "%s C out of order at %s" % (dev, r["time"]),
                                   ms / 1000.0 - self.epoch0)
                times.add(ms)
                last_t = ms
                if r["quality"] != "good" or r["value"] is None:
                    continue
                v = r["value"]
                if last_v is not None and v < last_v:
                    self.violation("history", "%s C went back from %s to %s at %s"
                                   % (dev, last_v, v, r["time"]), ms / 1000.0 - self.epoch0)
                last_v = v
                served = math.floor(ms / 1000.0 - t0)  # the counter's value at that time
                d = v - served
                self.history_dev[0] = min(self.history_dev[0], d)
                self.history_dev[1] = max(self.history_dev[1], d)
                if d > 1 or d < -3:
                    self.violation("history", "%s C=%s at %s, the simulator served about %s then"
                                   % (dev, v, r["time"], served), ms / 1000.0 - self.epoch0)
            for ts in sp_values.get(dev, ()):
                if ts not in times:
                    if self.killed_before_commit(ts / 1000.0 - self.epoch0):
                        self.history_lost_to_kill += 1
                        continue
                    missing += 1
                    self.violation("history", "%s C at %s was published (Sparkplug) but is not in "
                                   "the master's history" % (dev, iso(ts / 1000.0)),
                                   ts / 1000.0 - self.epoch0)
        self.history_missing = missing

    def killed_before_commit(self, t):
        """Whether a kill -9 came within KILL_COMMIT_S after run time t (when the driver sent
        it, which can be a little after its scheduled time)."""
        return any(e["cls"] == "kill9" and t <= e.get("began", e["t"]) <= t + KILL_COMMIT_S
                   for e in self.entries)

    def check_rss(self):
        out = {}
        for name, samples in self.rss.items():
            if not samples:
                continue
            pid = samples[-1][1]
            mine = [s for s in samples if s[1] == pid]
            base = next((s for s in mine if s[0] >= self.warmup and s[2] >= 30), None)
            out[name] = {"first_kb": samples[0][3], "end_kb": samples[-1][3],
                         "baseline_kb": base[3] if base else None,
                         "restarts": len({s[1] for s in samples}) - 1}
            if base and samples[-1][0] - base[0] >= 60:
                growth = samples[-1][3] / base[3]
                out[name]["growth"] = growth
                if growth > RSS_LIMIT:
                    self.violation("rss", "%s RSS %d kB -> %d kB (+%.1f %%) since +%.0fs"
                                   % (name, base[3], samples[-1][3], (growth - 1) * 100, base[0]))
        return out

    def close(self):
        try:
            self.sub.close()
        except Exception:
            pass

    def violations_per_minute(self):
        out = {}
        for t, k, _ in self.violations:
            counts = out.setdefault(int(max(t, 0.0) // 60), {})
            counts[k] = counts.get(k, 0) + 1
        return out

    def write_violations(self, path):
        """Every violation, in time order, with the entries in force: the report prints 200."""
        with open(path, "w") as out:
            for t, k, m in sorted(self.violations):
                force = self.in_force(t, INFRA_GRACE_S)
                out.write("+%.1fs\t%s\t%s\tin force: %s\n" % (
                    t, k, m, "; ".join(sched.describe(e) for e in force) or "nothing"))

    def report(self, args, seconds, entries):
        print("\n==== soak report ====")
        print("command: python3 tools/soak/soak.py " + " ".join(sys.argv[1:]))
        print("faults injected per class:")
        for c in sched.ALL_CLASSES:
            if self.fault_counts.get(c):
                print("  %-18s %d" % (c, self.fault_counts[c]))
        for c in sched.ALL_CLASSES:
            if not self.fault_counts.get(c):
                print("  %-18s not injected%s" % (c, " (skipped)" if c in args.skip.split(",")
                                                  else ""))
        print("redundancy: %d takeovers (backup to active), %d handovers (master back to active), "
              "%d other events; two-active samples %d"
              % (self.takeovers, self.handovers, self.other_events, self.two_active_samples))
        print("device line changes: %d seen, %d failovers explained by a fault in force"
              % (self.device_events, self.device_failovers_explained))
        for name, r in getattr(self, "rss_figures", {}).items():
            print("RSS %s: first %s kB, baseline after warm-up %s kB, end %s kB%s, restarts %d"
                  % (name, r["first_kb"], r["baseline_kb"], r["end_kb"],
                     " (%+.1f %%)" % ((r["growth"] - 1) * 100) if "growth" in r else "",
                     r["restarts"]))
        print("writes: %d issued, by API status %s" % (
            len(self.writes), json.dumps(getattr(self, "write_counts", {}), sort_keys=True)))
        print("history: %d records of C checked, value - served in [%d, %d], %d published values "
              "missing, %d more made less than %.1f s before a kill -9 (history.md allows their "
              "loss)" % (self.history_checked, self.history_dev[0], self.history_dev[1],
                         getattr(self, "history_missing", 0), self.history_lost_to_kill,
                         KILL_COMMIT_S))
        print("sparkplug: %d messages, %d births, %d seq checked, %d values (%d historical), "
              "%d C values cross-checked with history, subscriber reconnects %d"
              % (self.sp["messages"], self.sp["births"], self.sp["seq_checked"], self.sp["values"],
                 self.sp["historical"], getattr(self, "sp_cross_checked", 0), self.sub.reconnects))
        if self.store_full:
            bit = [n for _, n in self.store_full if n]
            print("history store made full: %d times, store writes failed during %d of them "
                  "(%d failed writes; per fault: %s)"
                  % (len(self.store_full), len(bit), sum(bit),
                     ", ".join("%s +%.0fs %s" % (e["target"], e["t"], "?" if n is None else n)
                               for e, n in self.store_full)))
        print("serial overlaps: %d with a delay fault past the timeout, %d after timeouts with one "
              "master; the rest are violations" % (self.late_overlaps, self.slow_overlaps))
        kinds = {}
        for _, k, _ in self.violations:
            kinds[k] = kinds.get(k, 0) + 1
        print("driver errors: %d" % self.driver_errors)
        print("violations: %d %s" % (len(self.violations), json.dumps(kinds, sort_keys=True)))
        if self.violations:
            print("violations per minute of the run:")
            for minute, counts in sorted(self.violations_per_minute().items()):
                print("  %4d  %s" % (minute, json.dumps(counts, sort_keys=True)))
        for t, k, m in sorted(self.violations)[:200]:
            print("  +%.1fs %s: %s" % (t, k, m))
        if len(self.violations) > 200:
            print("  (%d more in violations.txt)" % (len(self.violations) - 200))
        return 1 if self.violations else (2 if self.driver_errors else 0)
