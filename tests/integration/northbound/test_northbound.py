#!/usr/bin/env python3
"""Sparkplug B northbound end to end (spec/northbound.md; issue 21 "Tests"): real `pollux run`
nodes polling `pollux-sim` over loopback Modbus TCP and publishing to a scratch mosquitto
(pollux_support.mosquitto), watched by a Sparkplug host decoding with the project's own schema
(pollux_support.sparkplug).

Binaries come from the environment: POLLUX_BIN, POLLUX_SIM_BIN and POLLUXCTL_BIN (set by
CTest). Polls are 100 ms..1 s, and every wait is bounded and generous: Paho's connect alone
takes a second or two, and the machine may be loaded.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
from datetime import datetime, timedelta, timezone

from pollux_support.configs import sim_yaml
from pollux_support.mosquitto import Broker
from pollux_support.node import POLLUXCTL, wait_until
from pollux_support.pair import PairNode, pair_yaml, wait_pair, SIM_YAML
from pollux_support.node import free_port
from pollux_support.sparkplug import Host, Payload, QUALITY_GOOD, QUALITY_BAD
from pollux_support.testcase import NodeTestCase

GROUP = "Plant1"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# What one session publishes, and must number with seq (NDEATH carries only bdSeq).
SEQUENCED = ("NBIRTH", "DBIRTH", "DDATA", "DDEATH", "NDATA")
# Waits: a Paho connect is 1-2 s, reconnects back off up to 10 s.
BIRTH_S = 20


def ms_of(text):
    """Milliseconds since the epoch of an RFC 3339 time as the API prints it."""
    t = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return (t - EPOCH) // timedelta(milliseconds=1)


def metric_value(node, pattern):
    """The value of the first /metrics sample whose name and labels match `pattern`."""
    m = re.search(r"^%s (\S+)$" % pattern, node.metrics(), re.M)
    return float(m.group(1)) if m else None


def named(msg, name):
    """Every metric of that name in a message (a historical DDATA may hold several changes of
    one point)."""
    return [m for m in msg.metrics if m["name"] == name]


def raw_metrics(msg):
    """The payload's metrics as protobuf objects: what was on the wire, not resolved."""
    p = Payload()
    p.ParseFromString(msg.raw)
    return list(p.metrics)


# The main device's registers and points: one of every kind the births must type. SP and FLAG
# are `words`, set once: a `value` is a generator that would overwrite a write at the next read.
RTU_REGS = ["{table: holding, address: 0, value: 10}",
            "{table: holding, address: 1, type: int16, value: -5}",
            "{table: holding, address: 2, value: 7}",
            "{table: holding, address: 3, type: int16, value: 100}",
            "{table: holding, address: 4, words: [0]}",
            "{table: holding, address: 6, type: float32, value: 1.5}",
            "{table: holding, address: 8, type: int32, value: -70000}",
            "{table: coil, address: 0, words: [1]}"]
RTU_POINTS = ["{ name: CNT, table: holding, address: 0, type: uint16 }",
              "{ name: NEG, table: holding, address: 1, type: int16 }",
              "{ name: SCALED, table: holding, address: 2, type: uint16, scale: 0.5 }",
              "{ name: DB, table: holding, address: 3, type: int16, history: { deadband: 5 } }",
              "{ name: SP, table: holding, address: 4, type: uint16 }",
              "{ name: F32, table: holding, address: 6, type: float32 }",
              "{ name: I32, table: holding, address: 8, type: int32 }",
              "{ name: FLAG, table: coil, address: 0, type: bool }"]
RTU_WRITABLE = ["SP", "FLAG"]
# name: (datatype, value) as the births must show them.
RTU_EXPECTED = {"CNT": ("UInt16", 10), "NEG": ("Int16", -5), "SCALED": ("Double", 3.5),
                "DB": ("Int16", 100), "SP": ("UInt16", 0), "F32": ("Float", 1.5),
                "I32": ("Int32", -70000), "FLAG": ("Boolean", True)}


def device_yaml(did, unit, port, points, interval_ms=200, writable=(), enabled=True):
    out = ["  - id: %s" % did, "    unit: %d" % unit]
    if not enabled:
        out.append("    enabled: false")
    out += ["    comm: { primary: { channel: NET, host: 127.0.0.1, port: %d } }" % port,
            "    polls:", "      - name: g", "        interval_ms: %d" % interval_ms,
            "        points:"]
    out += ["          - " + p for p in points]
    if writable:
        out.append("    writable: [%s]" % ", ".join(writable))
    return "\n".join(out)


def northbound_yaml(url, state_path, edge="FE1", primary_host_id=None, ca_file=None,
                    client_id=None, max_records=None):
    mqtt = ["    url: %s" % url, "    keepalive_s: 5"]
    if client_id:
        mqtt.append("    client_id: %s" % client_id)
    if ca_file:
        mqtt.append("    tls: { ca_file: %s }" % ca_file)
    sp = ["    group_id: %s" % GROUP, "    edge_node_id: %s" % edge]
    if primary_host_id:
        sp.append("    primary_host_id: %s" % primary_host_id)
    out = ["northbound:", "  mqtt:"] + mqtt + ["  sparkplug:"] + sp
    if max_records:
        out += ["  store_and_forward:", "    max_records: %d" % max_records]
    out.append("  state_path: %s" % state_path)
    return "\n".join(out) + "\n"


def node_yaml(name, northbound, devices):
    out = ["node: { name: %s }" % name, "api: { listen: 127.0.0.1:API_PORT }",
           "channels:",
           "  - { id: NET, type: tcp, protocol: modbus-tcp, message_timeout_ms: 3000 }",
           "devices:"] + devices
    return "\n".join(out) + "\n" + northbound


class NorthboundTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="pollux-northbound.")
        self.addCleanup(shutil.rmtree, self.dir, True)

    # -- set-up helpers -----------------------------------------------------------------------
    def broker(self, **kw):
        b = Broker(**kw)
        self.addCleanup(b.close)
        return b

    def host(self, broker, **kw):
        if broker.tls:
            kw.setdefault("ca_file", broker.ca_file)
        h = Host(broker.url, GROUP, timeout=BIRTH_S, **kw)
        self.addCleanup(h.close)
        return h

    def rtu_sim(self, devices=(("RTU", 1, RTU_REGS),)):
        return self.start_sim(sim_yaml(list(devices),
                                       tcp=[("T1", [d[0] for d in devices], "modbus-tcp")]))

    def rtu_node(self, sim, broker, name="fe1", edge="FE1", interval_ms=200, extra_devices=(),
                 **nb):
        port = sim.tcp_addr("T1")[1]
        nb.setdefault("ca_file", broker.ca_file)
        text = node_yaml(name, northbound_yaml(broker.url, os.path.join(self.dir, name + ".state"),
                                               edge=edge, **nb),
                         [device_yaml("RTU", 1, port, RTU_POINTS, interval_ms, RTU_WRITABLE)] +
                         list(extra_devices))
        return self.start_node(text, name=name)

    def logs(self):
        return "\n".join("--- %s:\n%s" % (n.name, n.text()[-4000:]) for n in self.nodes)

    # -- reading helpers ----------------------------------------------------------------------
    def births(self, host, edge, devices, since=0, timeout=BIRTH_S):
        """The next NBIRTH of `edge` from `since` and the DBIRTH of each of `devices` after it."""
        try:
            nb = host.wait_for(lambda m: m.type == "NBIRTH" and m.edge_node == edge, timeout,
                               since=since, what="NBIRTH of " + edge)
            at = host.messages.index(nb)
            db = {}
            for d in devices:
                db[d] = host.wait_for(lambda m: m.type == "DBIRTH" and m.edge_node == edge and
                                      m.device == d, timeout, since=at, what="DBIRTH of " + d)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.logs())) from None
        return nb, db

    def wait_good(self, node, device, names, timeout=10):
        return wait_until(lambda: (lambda p: p if all(p[n]["quality"] == "good" for n in names)
                                   else None)(node.points(device)),
                          timeout, what="%s %s good" % (device, names))

    def first_seen(self, node, device, point, value, timeout=10):
        """(timestamp ms, previous timestamp ms) of the first API sample showing `value`."""
        prev = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = node.points(device)[point]
            if p["value"] == value and p["quality"] == "good":
                return ms_of(p["timestamp"]), prev
            prev = ms_of(p["timestamp"]) if p["timestamp"] else None
            time.sleep(0.02)
        raise AssertionError("%s.%s never showed %r" % (device, point, value))

    def session_of(self, host, edge):
        """Every sequenced message of `edge`, checked for one live session at a time: each
        NBIRTH has seq 0; a NBIRTH with a new bdSeq comes after the NDEATH of the session before
        it; every other message numbers on from the one before it, modulo 256. Returns the
        messages of the last session (from its NBIRTH)."""
        msgs = [m for m in host.messages if m.edge_node == edge and
                (m.type in SEQUENCED or m.type == "NDEATH")]
        bd = None     # the current session's bdSeq
        dead = True   # its NDEATH was seen
        last = None
        start = 0
        why = host.summary()
        for i, m in enumerate(msgs):
            self.assertIsNone(m.error, why)
            if m.type == "NBIRTH":
                self.assertEqual(m.seq, 0, why)
                if m.bd_seq != bd:
                    self.assertTrue(dead, "NBIRTH bdSeq %s while session %s is live:%s"
                                    % (m.bd_seq, bd, why))
                bd, dead, last, start = m.bd_seq, False, 0, i
            elif m.type == "NDEATH":
                if bd is not None and m.bd_seq == bd:
                    dead = True
                else:
                    # A will of a session whose NBIRTH the host never saw would be a bug too.
                    self.assertEqual(m.bd_seq, bd, "NDEATH of another session:%s" % why)
            else:
                self.assertIsNotNone(bd, "%s before any NBIRTH:%s" % (m.type, why))
                self.assertFalse(dead, "%s after the NDEATH of its session:%s" % (m.type, why))
                self.assertEqual(m.seq, (last + 1) % 256, "seq after %d:%s" % (last, why))
                last = m.seq
        return msgs[start:]

    # -- 1. births ----------------------------------------------------------------------------
    def test_births_carry_every_point_with_datatype_value_timestamp_and_quality(self):
        broker = self.broker()
        host = self.host(broker)
        sim = self.rtu_sim([("RTU", 1, RTU_REGS), ("RTU2", 2, RTU_REGS[:1]),
                            ("OFF", 3, RTU_REGS[:1])])
        port = sim.tcp_addr("T1")[1]
        started = int(time.time() * 1000)
        node = self.rtu_node(sim, broker, extra_devices=[
            device_yaml("RTU2", 2, port, RTU_POINTS[:1]),
            device_yaml("OFF", 3, port, RTU_POINTS[:1], enabled=False)])
        nb, db = self.births(host, "FE1", ["RTU", "RTU2"])
        why = host.summary()
        self.assertEqual((nb.group, nb.seq), (GROUP, 0))
        self.assertTrue(0 <= nb.bd_seq <= 255, nb.bd_seq)
        for name, datatype, value in (("bdSeq", "Int64", nb.bd_seq),
                                      ("Node Control/Rebirth", "Boolean", False),
                                      ("Redundancy/Activity", "String", "active"),
                                      ("Redundancy/Peer Connected", "Boolean", False)):
            m = nb.metric(name)
            self.assertIsNotNone(m, "%s missing from NBIRTH %s" % (name, nb.metrics))
            self.assertEqual((m["datatype"], m["value"]), (datatype, value), m)
        # One DBIRTH per enabled device, right after the NBIRTH: seq 1 and 2, none for OFF.
        self.assertEqual(sorted(m.seq for m in db.values()), [1, 2], why)
        time.sleep(1.0)
        self.assertEqual(sorted(m.device for m in host.of_type("DBIRTH")), ["RTU", "RTU2"], why)
        aliases = [m["alias"] for m in nb.metrics]
        points = node.points("RTU")
        for dev, birth in db.items():
            api = node.points(dev)
            self.assertEqual(sorted(m["name"] for m in birth.metrics), sorted(api), birth.metrics)
            for m in birth.metrics:
                what = "%s.%s: %s" % (dev, m["name"], m)
                self.assertIsNotNone(m["alias"], what)
                aliases.append(m["alias"])
                self.assertIsNotNone(m["datatype"], what)
                self.assertIsNotNone(m["timestamp"], what)
                self.assertIn("Quality", m["properties"], what)
                if m["is_null"]:
                    # Not read yet (northbound.md "Settled details"): bad, no value.
                    self.assertEqual(m["quality"], QUALITY_BAD, what)
                    continue
                self.assertEqual(m["quality"], QUALITY_GOOD, what)
                self.assertGreaterEqual(m["timestamp"], started - 1000, what)
                self.assertLessEqual(m["timestamp"], int(time.time() * 1000), what)
                if m["name"].startswith("SYDEV"):
                    v = api[m["name"]]["value"]
                    self.assertEqual(m["datatype"], "String" if isinstance(v, str) else "Int32",
                                     what)
                else:
                    self.assertEqual((m["datatype"], m["value"]), RTU_EXPECTED[m["name"]], what)
        self.assertEqual(len(aliases), len(set(aliases)), "aliases not unique: %s" % aliases)
        # The datatypes hold whether or not the value was read yet.
        types = {m["name"]: m["datatype"] for m in db["RTU"].metrics}
        for name, (datatype, _) in RTU_EXPECTED.items():
            self.assertEqual(types[name], datatype, name)
        self.assertIn("SYDEVCOMLN", types)
        self.assertEqual(types["SYDEVCOMLN"], "Int32")
        self.assertIn("SYDEVCOMID", points)
        # Points not read at birth time have their first value in a DDATA.
        nulls = [m["name"] for m in db["RTU"].metrics if m["is_null"]]
        for name in nulls:
            d = host.wait_for(lambda m: m.type == "DDATA" and m.device == "RTU" and
                              m.metric(name) is not None and not m.metric(name)["is_null"],
                              what="first value of " + name)
            m = d.metric(name)
            if name in RTU_EXPECTED:
                self.assertEqual(m["value"], RTU_EXPECTED[name][1], m)
            self.assertEqual(m["quality"], QUALITY_GOOD, m)

    # -- 2. DDATA on change only ----------------------------------------------------------------
    def test_ddata_on_change_only_with_point_timestamps_and_deadband(self):
        broker = self.broker()
        host = self.host(broker)
        sim = self.rtu_sim()
        node = self.rtu_node(sim, broker, interval_ms=1000)
        self.births(host, "FE1", ["RTU"])
        self.wait_good(node, "RTU", list(RTU_EXPECTED))
        # Every point has had its value published (in the DBIRTH or a first DDATA).
        wait_until(lambda: all(any(m.metric(n) is not None and not m.metric(n)["is_null"]
                                   for m in host.messages if m.device == "RTU")
                               for n in RTU_EXPECTED), 10, what="every first value published")
        time.sleep(1.2)
        mark = host.mark()
        time.sleep(2.5)  # two polls or more of unchanged registers
        self.assertEqual(host.of_type("DDATA", since=mark), [],
                         "DDATA without a change:%s" % host.summary(mark))

        for value in (11, 12):
            mark = host.mark()
            sim.set("RTU", "holding", 0, values=[value])
            ts, prev = self.first_seen(node, "RTU", "CNT", value)
            d = host.wait_for(lambda m: m.type == "DDATA" and m.device == "RTU", since=mark,
                              what="DDATA of CNT = %d" % value)
            self.assertEqual([m["name"] for m in d.metrics], ["CNT"], d.metrics)
            m = d.metrics[0]
            self.assertEqual((m["value"], m["quality"], m["datatype"], m["is_historical"]),
                             (value, QUALITY_GOOD, "UInt16", False), m)
            # The metric's timestamp is the point's (the poll that read it); a sample of the
            # previous poll bounds it when the first sample came late.
            if prev is not None and ts - prev <= 1500:
                self.assertEqual(m["timestamp"], ts, (m, ts, prev))
            else:
                self.assertLessEqual(m["timestamp"], ts, (m, ts, prev))
            # Alias only after the birth: no name on the wire.
            wire = raw_metrics(d)[0]
            self.assertFalse(wire.HasField("name"), wire)
            self.assertTrue(wire.HasField("alias"), wire)
            self.assertLess(abs(d.timestamp - int(time.time() * 1000)), 5000, d.timestamp)

        # DB has a deadband of 5 from its last published value (100): 103 is not a change,
        # 106 is.
        mark = host.mark()
        sim.set("RTU", "holding", 3, type="int16", value=103)
        wait_until(lambda: node.points("RTU")["DB"]["value"] == 103, 5, what="DB 103")
        time.sleep(2.2)
        self.assertEqual([m for m in host.of_type("DDATA", since=mark)
                          if m.metric("DB") is not None], [],
                         "a change within the deadband was published:%s" % host.summary(mark))
        sim.set("RTU", "holding", 3, type="int16", value=106)
        d = host.wait_for(lambda m: m.type == "DDATA" and m.metric("DB") is not None, since=mark,
                          what="DDATA of DB = 106")
        self.assertEqual(d.metric("DB")["value"], 106)
        self.session_of(host, "FE1")

    # -- 3. seq continuity --------------------------------------------------------------------
    def test_seq_runs_on_by_one_and_wraps_after_255(self):
        broker = self.broker()
        host = self.host(broker)
        n = 8
        regs = ["{table: holding, address: 0, counter: {start: 0, step: 1, interval_ms: 100}}"]
        sim = self.rtu_sim([("D%d" % i, i + 1, regs) for i in range(n)])
        port = sim.tcp_addr("T1")[1]
        text = node_yaml("fe1", northbound_yaml(broker.url, os.path.join(self.dir, "fe1.state")),
                         [device_yaml("D%d" % i, i + 1, port,
                                      ["{ name: C, table: holding, address: 0, type: uint16 }"],
                                      interval_ms=100) for i in range(n)])
        self.start_node(text, name="fe1")
        self.births(host, "FE1", ["D%d" % i for i in range(n)])
        host.wait_count(lambda m: m.edge_node == "FE1" and m.type in SEQUENCED, 300, timeout=40,
                        what="FE1 messages")
        session = self.session_of(host, "FE1")
        self.assertEqual(session[0].type, "NBIRTH")
        seqs = [m.seq for m in session]
        self.assertGreaterEqual(len(seqs), 300)
        self.assertEqual(seqs, [i % 256 for i in range(len(seqs))])
        self.assertEqual(len([m for m in session if m.type == "NBIRTH"]), 1)

    # -- 4. the will ----------------------------------------------------------------------------
    def test_kill_9_will_ndeath_then_restart_births_next_bdseq(self):
        broker = self.broker()
        host = self.host(broker)
        sim = self.rtu_sim()
        node = self.rtu_node(sim, broker)
        nb, _ = self.births(host, "FE1", ["RTU"])
        bd = nb.bd_seq
        wait_until(lambda: node.get("/api/v1/northbound")["connected"], 10, what="connected")
        self.assertTrue(os.path.exists(os.path.join(self.dir, "fe1.state")))
        mark = host.mark()
        node.kill()
        death = host.wait_for(lambda m: m.type == "NDEATH" and m.edge_node == "FE1", 15,
                              since=mark, what="the will NDEATH")
        self.assertEqual(death.bd_seq, bd, death.metrics)
        self.assertEqual(death.metric("bdSeq")["datatype"], "Int64")
        mark = host.mark()
        node.start()
        nb2, db2 = self.births(host, "FE1", ["RTU"], since=mark)
        self.assertEqual(nb2.bd_seq, (bd + 1) % 256, host.summary())
        self.assertEqual(node.get("/api/v1/northbound")["bd_seq"], nb2.bd_seq)
        self.session_of(host, "FE1")
        # And the restarted session's will carries its own bdSeq.
        mark = host.mark()
        node.kill()
        death = host.wait_for(lambda m: m.type == "NDEATH", 15, since=mark, what="second will")
        self.assertEqual(death.bd_seq, nb2.bd_seq)
        node.start()
        nb3, _ = self.births(host, "FE1", ["RTU"], since=mark)
        self.assertEqual(nb3.bd_seq, (bd + 2) % 256)

    # -- 5. rebirth ---------------------------------------------------------------------------
    def test_ncmd_rebirth_republishes_births_with_the_same_bdseq(self):
        broker = self.broker()
        host = self.host(broker)
        sim = self.rtu_sim([("RTU", 1, RTU_REGS), ("RTU2", 2, RTU_REGS[:1])])
        port = sim.tcp_addr("T1")[1]
        node = self.rtu_node(sim, broker, extra_devices=[device_yaml("RTU2", 2, port,
                                                                     RTU_POINTS[:1])])
        nb, _ = self.births(host, "FE1", ["RTU", "RTU2"])
        self.wait_good(node, "RTU", list(RTU_EXPECTED))
        self.wait_good(node, "RTU2", ["CNT"])
        time.sleep(0.5)
        mark = host.mark()
        host.rebirth("FE1")
        nb2, db2 = self.births(host, "FE1", ["RTU", "RTU2"], since=mark)
        self.assertEqual((nb2.seq, nb2.bd_seq), (0, nb.bd_seq))
        self.assertEqual(sorted(m.seq for m in db2.values()), [1, 2])
        values = {m["name"]: (m["datatype"], m["value"]) for m in db2["RTU"].metrics}
        for name, expected in RTU_EXPECTED.items():
            self.assertEqual(values[name], expected, name)
        self.assertEqual(db2["RTU2"].metric("CNT")["value"], 10)
        self.assertEqual(host.of_type("NDEATH"), [], "a rebirth is not a new session")
        self.session_of(host, "FE1")

    # -- 6. DCMD ------------------------------------------------------------------------------
    def test_dcmd_writes_once_and_refused_dcmds_write_nothing(self):
        broker = self.broker()
        host = self.host(broker)
        sim = self.rtu_sim()
        node = self.rtu_node(sim, broker)
        self.births(host, "FE1", ["RTU"])
        self.wait_good(node, "RTU", list(RTU_EXPECTED))
        self.assertEqual(sim.writes("RTU"), [])

        mark = host.mark()
        host.dcmd("FE1", "RTU", "UInt16", 1234, name="SP")
        wait_until(lambda: sim.writes("RTU"), 10, what="the write of SP")
        d = host.wait_for(lambda m: m.type == "DDATA" and m.metric("SP") is not None and
                          m.metric("SP")["value"] == 1234, 10, since=mark, what="DDATA SP 1234")
        self.assertFalse(d.metric("SP")["is_historical"])
        # By alias, to the coil.
        host.dcmd("FE1", "RTU", "Boolean", False, name="FLAG", by_alias=True)
        wait_until(lambda: len(sim.writes("RTU")) >= 2, 10, what="the write of FLAG")
        host.wait_for(lambda m: m.type == "DDATA" and m.metric("FLAG") is not None and
                      m.metric("FLAG")["value"] is False, 10, since=mark,
                      what="DDATA FLAG false")
        time.sleep(1.5)  # a second write would have come by now
        writes = sim.writes("RTU")
        self.assertEqual(len(writes), 2, writes)
        self.assertEqual((writes[0]["table"], writes[0]["address"], writes[0]["values"]),
                         ("holding", 4, [1234]), writes)
        self.assertEqual((writes[1]["table"], writes[1]["address"]), ("coil", 0), writes)
        self.assertIn(writes[1]["values"], ([0], [False]), writes)

        # Refused: an unknown metric, a point that is not writable, text for a number, a number
        # for a bool, an unknown alias. Nothing is written; each value is counted.
        refused = [("NOPE", "UInt16", 1), ("CNT", "UInt16", 5), ("SP", "String", "abc"),
                   ("FLAG", "Int32", 1)]
        for name, datatype, value in refused:
            host.dcmd("FE1", "RTU", datatype, value, name=name)
        host.dcmd("FE1", "RTU", "UInt16", 9, alias=987654)
        n = len(refused) + 1
        try:
            wait_until(lambda: node.get("/api/v1/northbound")["commands_refused"] >= n, 10,
                       what="%d refused" % n)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, self.logs())) from None
        time.sleep(1.5)
        self.assertEqual(node.get("/api/v1/northbound")["commands_refused"], n)
        self.assertEqual(metric_value(node, "pollux_northbound_commands_refused_total"), n)
        self.assertEqual(sim.writes("RTU"), writes)
        p = node.points("RTU")
        self.assertEqual((p["SP"]["value"], p["CNT"]["value"], p["FLAG"]["value"]),
                         (1234, 10, False))

    # -- 7. store and forward -----------------------------------------------------------------
    def test_store_and_forward_across_a_broker_restart(self):
        broker = self.broker()
        host = self.host(broker)
        sim = self.rtu_sim()
        node = self.rtu_node(sim, broker, interval_ms=500)
        nb, _ = self.births(host, "FE1", ["RTU"])
        self.wait_good(node, "RTU", ["CNT"])
        wait_until(lambda: node.get("/api/v1/northbound")["connected"], 10, what="connected")
        host.close()
        broker.stop()
        wait_until(lambda: not node.get("/api/v1/northbound")["connected"], 15,
                   what="the node sees the broker gone")
        held = [21, 22, 23, 24]
        seen = {}
        for v in held:
            sim.set("RTU", "holding", 0, values=[v])
            seen[v] = self.first_seen(node, "RTU", "CNT", v)
        api = node.get("/api/v1/northbound")
        self.assertGreaterEqual(api["held"], len(held), api)
        self.assertGreaterEqual(metric_value(node, "pollux_northbound_held_records"), len(held))
        broker.start()
        # A host subscribed before the node is back (its reconnect takes a second or more).
        host = self.host(broker)
        nb2, db2 = self.births(host, "FE1", ["RTU"], timeout=30)
        self.assertEqual(nb2.bd_seq, (nb.bd_seq + 1) % 256)
        host.wait_for(lambda m: m.type == "DDATA" and
                      any(c["is_historical"] and c["value"] == held[-1]
                          for c in named(m, "CNT")), 15, what="the last held change")
        mark = host.mark()
        sim.set("RTU", "holding", 0, values=[25])
        host.wait_for(lambda m: m.type == "DDATA" and
                      any(c["value"] == 25 for c in named(m, "CNT")), 10, since=mark,
                      what="live CNT 25")
        msgs = [m for m in host.messages if m.edge_node == "FE1" and m.type in SEQUENCED]
        why = host.summary()
        # Births first.
        self.assertEqual([m.type for m in msgs[:2]], ["NBIRTH", "DBIRTH"], why)
        # Each CNT value published after them, with the index of its message.
        cnt = [(i, c) for i, m in enumerate(msgs) if m.type == "DDATA"
               for c in named(m, "CNT")]
        historical = [(i, c) for i, c in cnt if c["is_historical"]]
        current = [(i, c) for i, c in cnt if not c["is_historical"]]
        # Every held change once, in order, with the time it was read.
        self.assertEqual([c["value"] for _, c in historical], held, why)
        for _, c in historical:
            ts, prev = seen[c["value"]]
            self.assertLessEqual(c["timestamp"], ts, (c, seen))
            if prev is not None:
                self.assertGreater(c["timestamp"], prev, (c, seen))
        times = [c["timestamp"] for _, c in historical]
        self.assertEqual(times, sorted(times), why)
        # Then live data, never historical again.
        self.assertEqual([c["value"] for _, c in current], [25], why)
        self.assertGreater(current[0][0], historical[-1][0], why)
        for m in msgs[historical[-1][0] + 1:]:
            self.assertFalse(any(x["is_historical"] for x in m.metrics), why)
        self.session_of(host, "FE1")
        wait_until(lambda: node.get("/api/v1/northbound")["held"] == 0, 5, what="held drained")

    # -- 8. primary host gating ---------------------------------------------------------------
    def test_primary_host_state_gates_publishing(self):
        broker = self.broker()
        host = self.host(broker, host_id="SCADA1")
        sim = self.rtu_sim()
        node = self.rtu_node(sim, broker, primary_host_id="SCADA1")
        self.wait_good(node, "RTU", ["CNT"])
        # Connected, waiting for the host: nothing published, changes held.
        time.sleep(3.0)
        sim.set("RTU", "holding", 0, values=[31])
        self.first_seen(node, "RTU", "CNT", 31)
        time.sleep(1.0)
        self.assertEqual([m for m in host.messages if m.edge_node == "FE1"], [],
                         "published before the host was online:%s" % host.summary())
        api = node.get("/api/v1/northbound")
        self.assertEqual(api["published"], 0, api)
        self.assertGreaterEqual(api["held"], 1, api)

        mark = host.mark()
        host.publish_state(True)
        nb, _ = self.births(host, "FE1", ["RTU"], since=mark)
        host.wait_for(lambda m: m.type == "DDATA" and
                      any(c["value"] == 31 and c["is_historical"] for c in named(m, "CNT")),
                      10, since=mark, what="the held change")

        mark = host.mark()
        host.publish_state(False)
        death = host.wait_for(lambda m: m.type == "NDEATH" and m.edge_node == "FE1", 15,
                              since=mark, what="NDEATH at host offline")
        self.assertEqual(death.bd_seq, nb.bd_seq)
        time.sleep(3.0)
        self.assertEqual([m.type for m in host.messages[mark:] if m.type in SEQUENCED], [],
                         "published while the host was offline:%s" % host.summary(mark))
        mark = host.mark()
        host.publish_state(True)
        nb2, _ = self.births(host, "FE1", ["RTU"], since=mark)
        self.assertEqual(nb2.bd_seq, (nb.bd_seq + 1) % 256)
        self.session_of(host, "FE1")

    # -- 9. the pair --------------------------------------------------------------------------
    def pair_node(self, sim, broker, link_port, name, mode, **kw):
        nb = northbound_yaml(broker.url, os.path.join(self.dir, name + ".state"))
        n = PairNode(name, pair_yaml(sim, name, mode, link_port, recovery="manual", **kw) + nb)
        self.nodes.append(n)
        return n

    def test_pair_takeover_and_handover_keep_one_live_session(self):
        broker = self.broker()
        host = self.host(broker)
        sim = self.start_sim(SIM_YAML)
        link = free_port()
        master = self.pair_node(sim, broker, link, "fe-a", "master")
        backup = self.pair_node(sim, broker, link, "fe-b", "backup")
        wait_pair(master, backup, "active", "standby", context=self.logs)
        nb, _ = self.births(host, "FE1", ["A", "B"])
        self.assertEqual(nb.metric("Redundancy/Activity")["value"], "active")
        sim.set("A", "holding", 0, values=[32])
        host.wait_for(lambda m: m.type == "DDATA" and m.device == "A", what="DDATA of A")
        time.sleep(1.0)
        # Only the active node publishes: one session (the backup's broker watch may have asked
        # it for a rebirth, which repeats its bdSeq).
        self.assertEqual({m.bd_seq for m in host.of_type("NBIRTH")}, {nb.bd_seq},
                         "only the active node publishes:%s" % host.summary())
        self.assertFalse(backup.get("/api/v1/northbound")["connected"])
        self.assertEqual(backup.get("/api/v1/northbound")["published"], 0)
        mark = host.mark()
        # Takeover: the master crashes; its will, then the backup's session with bdSeq + 1.
        master.kill()
        death = host.wait_for(lambda m: m.type == "NDEATH", 15, since=mark, what="the will")
        self.assertEqual(death.bd_seq, nb.bd_seq)
        nb2, _ = self.births(host, "FE1", ["A"], since=mark)
        self.assertEqual(nb2.bd_seq, (nb.bd_seq + 1) % 256)
        self.assertLess(host.messages.index(death), host.messages.index(nb2))
        self.assertEqual(backup.activity(), "active")
        sim.set("A", "holding", 0, values=[33])
        host.wait_for(lambda m: m.type == "DDATA" and m.device == "A" and
                      m.metric("V") is not None and m.metric("V")["value"] == 33, 10,
                      since=mark, what="DDATA from the backup")
        # The master back (manual recovery: it stays standby), then a planned handover to it:
        # the backup's NDEATH before the master's NBIRTH, whose bdSeq continues the pair's.
        master.start()
        wait_pair(master, backup, "standby", "active", context=self.logs)
        time.sleep(1.0)  # a few heartbeats: the pair's state is in sync
        mark = host.mark()
        status, body = backup.request("POST", "/api/v1/redundancy/force-failover")
        self.assertEqual(status, 200, body)
        wait_pair(master, backup, "active", "standby", context=self.logs)
        death = host.wait_for(lambda m: m.type == "NDEATH", 15, since=mark,
                              what="the backup's NDEATH")
        self.assertEqual(death.bd_seq, nb2.bd_seq)
        nb3, _ = self.births(host, "FE1", ["A", "B"], since=mark)
        self.assertEqual(nb3.bd_seq, (nb.bd_seq + 2) % 256)
        self.assertLess(host.messages.index(death), host.messages.index(nb3))
        self.session_of(host, "FE1")
        self.assertEqual(master.get("/api/v1/northbound")["bd_seq"], nb3.bd_seq)

    # Soak seed 11 (issue 24): at a handover the new active node received, by state sync just
    # before it took over, values its peer had polled and published, and sent them again as
    # historical DDATA once connected. What a node's feed holds when its activity changes is now
    # taken under the old activity: state for the births, not data.
    def test_handovers_send_no_value_twice(self):
        broker = self.broker()
        host = self.host(broker)
        sim = self.start_sim(SIM_YAML.replace(
            "{table: holding, address: 0, value: 31}",
            "{table: holding, address: 0, counter: {start: 0, step: 1, interval_ms: 100}}"))
        link = free_port()
        master = self.pair_node(sim, broker, link, "fe-a", "master", poll_ms=100)
        backup = self.pair_node(sim, broker, link, "fe-b", "backup", poll_ms=100)
        wait_pair(master, backup, "active", "standby", context=self.logs)
        self.births(host, "FE1", ["A"])
        for i in range(6):
            giver, taker = (master, backup) if i % 2 == 0 else (backup, master)
            time.sleep(1.0)
            mark = host.mark()
            status, body = giver.request("POST", "/api/v1/redundancy/force-failover")
            self.assertEqual(status, 200, body)
            wait_until(lambda: taker.activity() == "active", 10, what="handover %d" % (i + 1))
            self.births(host, "FE1", ["A"], since=mark)
        time.sleep(1.0)
        seen = {}
        for m in host.messages:
            if m.type == "DDATA":
                for x in m.metrics:
                    key = (m.device, x["name"], x["timestamp"])
                    seen[key] = seen.get(key, 0) + 1
        self.assertGreater(len(seen), 50, host.summary())
        twice = sorted(k for k, n in seen.items() if n > 1)
        self.assertEqual(twice, [], "values published twice:%s" % host.summary())

    # A DCMD to the pair is executed once, by whichever node is active; the standby, which
    # holds no session, never executes one, before or after a handover.
    def test_a_pair_executes_each_dcmd_once_on_the_active_node_only(self):
        broker = self.broker()
        host = self.host(broker)
        sim = self.start_sim(SIM_YAML)
        link = free_port()
        master = self.pair_node(sim, broker, link, "fe-a", "master", writable=True)
        backup = self.pair_node(sim, broker, link, "fe-b", "backup", writable=True)
        wait_pair(master, backup, "active", "standby", context=self.logs)
        self.births(host, "FE1", ["A", "B"])
        self.assertEqual(sim.writes("A"), [])

        host.dcmd("FE1", "A", "UInt16", 501, name="V")
        wait_until(lambda: sim.writes("A"), 10, what="the write of V by the master")
        time.sleep(1.5)  # a second execution (by the standby, or twice) would have come by now
        self.assertEqual([w["values"] for w in sim.writes("A")], [[501]])
        self.assertEqual(backup.get("/api/v1/northbound")["published"], 0)

        mark = host.mark()
        time.sleep(1.0)  # a few heartbeats: the pair's state is in sync
        status, body = master.request("POST", "/api/v1/redundancy/force-failover")
        self.assertEqual(status, 200, body)
        wait_pair(master, backup, "standby", "active", context=self.logs)
        self.births(host, "FE1", ["A"], since=mark)
        host.dcmd("FE1", "A", "UInt16", 502, name="V")
        wait_until(lambda: len(sim.writes("A")) >= 2, 10, what="the write of V by the backup")
        time.sleep(1.5)
        self.assertEqual([w["values"] for w in sim.writes("A")], [[501], [502]])
        self.assertNotIn("write V = 502", master.text())
        self.assertIn("write V = 502", backup.text())

    # -- 10. TLS ------------------------------------------------------------------------------
    def test_tls_to_the_broker_with_the_test_ca(self):
        broker = self.broker(tls=True)
        host = self.host(broker)
        sim = self.rtu_sim()
        node = self.rtu_node(sim, broker)
        self.assertTrue(broker.url.startswith("ssl://"))
        nb, db = self.births(host, "FE1", ["RTU"])
        self.assertEqual(nb.seq, 0)
        self.assertEqual(node.get("/api/v1/northbound")["broker"], broker.url)
        self.session_of(host, "FE1")

    # -- 11. two nodes, one broker ------------------------------------------------------------
    def test_two_independent_nodes_publish_to_one_broker(self):
        broker = self.broker()
        host = self.host(broker)
        sim = self.rtu_sim()
        a = self.rtu_node(sim, broker, name="fe1", edge="FE1")
        b = self.rtu_node(sim, broker, name="fe2", edge="FE2")
        nb1, db1 = self.births(host, "FE1", ["RTU"])
        nb2, db2 = self.births(host, "FE2", ["RTU"])
        self.assertEqual((nb1.seq, nb2.seq), (0, 0))
        for node in (a, b):
            self.wait_good(node, "RTU", ["CNT"])
        mark = host.mark()
        sim.set("RTU", "holding", 0, values=[41])
        for edge in ("FE1", "FE2"):
            d = host.wait_for(lambda m: m.type == "DDATA" and m.edge_node == edge and
                              m.metric("CNT") is not None and m.metric("CNT")["value"] == 41,
                              15, since=mark, what="DDATA of " + edge)
            self.assertEqual(d.metric("CNT")["datatype"], "UInt16")
        for edge, nb, node in (("FE1", nb1, a), ("FE2", nb2, b)):
            session = self.session_of(host, edge)
            self.assertEqual(session[0].bd_seq, nb.bd_seq)
            self.assertEqual(node.get("/api/v1/northbound")["edge_node"], GROUP + "/" + edge)
            self.assertEqual(node.get("/api/v1/northbound")["bd_seq"], nb.bd_seq)

    # -- reload: DDEATH and DBIRTH ------------------------------------------------------------
    def test_reload_disabling_a_device_publishes_ddeath_and_enabling_its_dbirth(self):
        broker = self.broker()
        host = self.host(broker)
        sim = self.rtu_sim([("RTU", 1, RTU_REGS), ("RTU2", 2, RTU_REGS[:1])])
        port = sim.tcp_addr("T1")[1]
        nb_text = northbound_yaml(broker.url, os.path.join(self.dir, "fe1.state"))

        def config(enabled):
            return node_yaml("fe1", nb_text, [
                device_yaml("RTU", 1, port, RTU_POINTS, 200, RTU_WRITABLE),
                device_yaml("RTU2", 2, port, RTU_POINTS[:1], enabled=enabled)])
        node = self.start_node(config(True), name="fe1")
        nb, _ = self.births(host, "FE1", ["RTU", "RTU2"])
        self.wait_good(node, "RTU2", ["CNT"])
        for enabled, kind in ((False, "DDEATH"), (True, "DBIRTH")):
            mark = host.mark()
            node.write_config(config(enabled))
            status, body = node.request("POST", "/api/v1/config/reload")
            self.assertEqual(status, 200, body)
            m = host.wait_for(lambda m: m.type in ("DDEATH", "DBIRTH"), 15, since=mark,
                              what=kind + " of RTU2")
            self.assertEqual((m.type, m.device), (kind, "RTU2"), host.summary(mark))
            if kind == "DBIRTH":
                self.assertEqual(sorted(x["name"] for x in m.metrics),
                                 sorted(node.points("RTU2")), m.metrics)
            # The session goes on: no new NBIRTH, and RTU's births are not repeated.
            time.sleep(1.0)
            self.assertEqual([x.type for x in host.messages[mark:]
                              if x.type in ("NBIRTH", "NDEATH", "DDEATH", "DBIRTH")], [kind],
                             host.summary(mark))
        mark = host.mark()
        sim.set("RTU2", "holding", 0, values=[61])
        host.wait_for(lambda m: m.type == "DDATA" and m.device == "RTU2" and
                      any(c["value"] == 61 for c in named(m, "CNT")), 10, since=mark,
                      what="DDATA of the enabled RTU2")
        s = self.session_of(host, "FE1")
        self.assertEqual(s[0].bd_seq, nb.bd_seq)

    # -- 12. API, polluxctl, /metrics ---------------------------------------------------------
    def test_api_polluxctl_and_metrics_show_the_session(self):
        broker = self.broker()
        host = self.host(broker)
        sim = self.rtu_sim()
        node = self.rtu_node(sim, broker)
        nb, db = self.births(host, "FE1", ["RTU"])
        self.wait_good(node, "RTU", list(RTU_EXPECTED))
        mark = host.mark()
        sim.set("RTU", "holding", 0, values=[51])
        host.wait_for(lambda m: m.type == "DDATA" and m.metric("CNT") is not None and
                      m.metric("CNT")["value"] == 51, since=mark, what="DDATA CNT 51")
        time.sleep(1.0)  # nothing changes any more
        sent = [m for m in host.messages if m.edge_node == "FE1" and m.type in SEQUENCED]
        api = node.get("/api/v1/northbound")
        for key, kind in (("connected", bool), ("broker", str), ("edge_node", str),
                          ("bd_seq", int), ("seq", int), ("held", int), ("published", int),
                          ("last_error", str)):
            self.assertIsInstance(api.get(key), kind, (key, api))
        self.assertEqual((api["connected"], api["broker"], api["edge_node"], api["bd_seq"],
                          api["seq"], api["held"], api["published"], api["last_error"]),
                         (True, broker.url, GROUP + "/FE1", nb.bd_seq, sent[-1].seq, 0,
                          len(sent), ""), host.summary())

        if POLLUXCTL:
            out = subprocess.run([POLLUXCTL, "--api", node.base, "northbound"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
            text = out.stdout.decode()
            self.assertEqual(out.returncode, 0, text)
            for want in (GROUP + "/FE1", broker.url, str(nb.bd_seq)):
                self.assertIn(want, text)

        text = node.metrics()
        for family in ("pollux_northbound_messages_total", "pollux_northbound_held_records",
                       "pollux_northbound_publish_seconds",
                       "pollux_northbound_commands_refused_total",
                       "pollux_northbound_dropped_total"):
            self.assertIn("# TYPE %s " % family, text)
        counts = {t: metric_value(node, r'pollux_northbound_messages_total\{type="(?i:%s)"\}' % t)
                  for t in ("NBIRTH", "DBIRTH", "DDATA")}
        self.assertEqual(counts, {t: float(len([m for m in sent if m.type == t]))
                                  for t in ("NBIRTH", "DBIRTH", "DDATA")}, text)
        self.assertEqual(metric_value(node, "pollux_northbound_held_records"), 0)
        self.assertIn("# TYPE pollux_northbound_publish_seconds histogram", text)
        count = metric_value(node, "pollux_northbound_publish_seconds_count")
        self.assertGreaterEqual(count, 1, text)
        self.assertEqual(metric_value(
            node, r'pollux_northbound_publish_seconds_bucket\{le="\+Inf"\}'), count, text)
        self.assertEqual(metric_value(node, "pollux_northbound_dropped_total"), 0)


if __name__ == "__main__":
    unittest.main()
