#!/usr/bin/env python3
"""Self-test of the northbound tests' Python support: pollux_support.mosquitto (a scratch
broker: plain, TLS with a test CA, a password file, stop and start on the same port) and
pollux_support.sparkplug (the Sparkplug host: decoding, aliases, STATE, NCMD, DCMD). Payloads
are published with paho directly, so this proves the helpers before Pollux's own tests lean on
them.

    PYTHONPATH=tests/support /usr/bin/python3 tests/integration/mqtt/test_support.py
"""

import json
import os
import ssl
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "support"))

import paho.mqtt.client as paho  # noqa: E402

from pollux_support.mosquitto import Broker  # noqa: E402
from pollux_support.sparkplug import Host, Payload, encode_payload, QUALITY_GOOD  # noqa: E402


class Peer:
    """A bare paho client: plays the edge node, or watches what the host publishes."""

    def __init__(self, broker, client_id, ca_file=None, username=None, password=None):
        self.client = paho.Client(client_id=client_id, clean_session=True,
                                  protocol=paho.MQTTv311)
        self.received = []
        self.cond = threading.Condition()
        self.rc = None
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca_file:
            self.client.tls_set_context(ssl.create_default_context(cafile=ca_file))
        self.client.connect("127.0.0.1", broker.port, keepalive=30)
        self.client.loop_start()
        with self.cond:
            self.cond.wait_for(lambda: self.rc is not None, 10)

    def _on_connect(self, client, userdata, flags, rc):
        with self.cond:
            self.rc = rc
            self.cond.notify_all()

    def _on_message(self, client, userdata, message):
        with self.cond:
            self.received.append(message)
            self.cond.notify_all()

    def subscribe(self, topic):
        done = threading.Event()
        self.client.on_subscribe = lambda *args: done.set()
        self.client.subscribe(topic, 1)
        assert done.wait(10), "no SUBACK"

    def wait_received(self, count, timeout=10):
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.received) >= count, timeout), \
                "received %d of %d" % (len(self.received), count)
            return list(self.received)

    def publish(self, topic, payload, qos=1, retain=False):
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(10)
        assert info.is_published()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class SupportTest(unittest.TestCase):
    def test_host_decodes_births_and_data_and_resolves_aliases(self):
        with Broker() as broker, Host(broker.url, "G1") as host:
            self.assertTrue(broker.url.startswith("tcp://127.0.0.1:"))
            edge = Peer(broker, "edge")
            self.addCleanup(edge.close)
            edge.publish("spBv1.0/G1/NBIRTH/E1", encode_payload([
                {"name": "bdSeq", "datatype": "Int64", "value": 3},
                {"name": "Node Control/Rebirth", "alias": 0, "datatype": "Boolean",
                 "value": False}], seq=0))
            edge.publish("spBv1.0/G1/DBIRTH/E1/D1", encode_payload([
                {"name": "LEVEL", "alias": 1, "datatype": "Int16", "value": -5,
                 "timestamp": 1700000000000, "quality": QUALITY_GOOD},
                {"name": "BIG", "alias": 2, "datatype": "Int64", "value": -(1 << 40),
                 "quality": QUALITY_GOOD},
                {"name": "NAME", "alias": 3, "datatype": "String", "value": None,
                 "quality": 0}], seq=1))
            # Data by alias only, without datatypes: the host takes both from the birth.
            edge.publish("spBv1.0/G1/DDATA/E1/D1", encode_payload([
                {"alias": 1, "value": -7 & 0xFFFFFFFF, "datatype": "UInt32",
                 "is_historical": True, "timestamp": 1700000001000, "quality": 64}], seq=2))
            data = host.wait_for(lambda m: m.type == "DDATA")
            births = host.of_type("DBIRTH", device="D1")
            nbirth = host.of_type("NBIRTH")[0]

            self.assertEqual((nbirth.edge_node, nbirth.device, nbirth.seq, nbirth.bd_seq),
                             ("E1", None, 0, 3))
            self.assertEqual(nbirth.metric("bdSeq")["datatype"], "Int64")
            birth = births[0]
            self.assertEqual((birth.group, birth.edge_node, birth.device, birth.seq),
                             ("G1", "E1", "D1", 1))
            level = birth.metric("LEVEL")
            self.assertEqual((level["alias"], level["datatype"], level["value"],
                              level["timestamp"], level["quality"], level["is_null"]),
                             (1, "Int16", -5, 1700000000000, QUALITY_GOOD, False))
            self.assertEqual(birth.metric("BIG")["value"], -(1 << 40))
            name = birth.metric("NAME")
            self.assertEqual((name["is_null"], name["value"], name["quality"]), (True, None, 0))

            self.assertEqual(data.seq, 2)
            m = data.metrics[0]
            # The metric said UInt32; its own datatype wins over the birth's.
            self.assertEqual((m["name"], m["alias"], m["datatype"], m["is_historical"],
                              m["quality"], m["timestamp"]),
                             ("LEVEL", 1, "UInt32", True, 64, 1700000001000))
            self.assertEqual(m["value"], -7 & 0xFFFFFFFF)

            # A new NBIRTH drops the node's aliases: the same alias no longer resolves.
            edge.publish("spBv1.0/G1/NBIRTH/E1", encode_payload(
                [{"name": "bdSeq", "datatype": "Int64", "value": 4}], seq=0))
            edge.publish("spBv1.0/G1/DDATA/E1/D1", encode_payload(
                [{"alias": 1, "datatype": "Int16", "value": -1}], seq=1))
            mark = len(host.messages) - 1
            late = host.wait_for(lambda m: m.type == "DDATA" and m.seq == 1, since=mark)
            self.assertEqual((late.metrics[0]["name"], late.metrics[0]["value"]), (None, -1))

    def test_host_publishes_state_rebirth_and_dcmd(self):
        with Broker() as broker, Host(broker.url, "G1", host_id="SCADA1") as host:
            edge = Peer(broker, "edge")
            self.addCleanup(edge.close)
            edge.publish("spBv1.0/G1/DBIRTH/E1/D1", encode_payload(
                [{"name": "SETPOINT", "alias": 9, "datatype": "Float", "value": 1.5}], seq=1))
            host.wait_for(lambda m: m.type == "DBIRTH")

            host.publish_state(True)
            # Retained: a subscriber that comes later still gets it, flagged retained.
            watcher = Peer(broker, "watcher")
            self.addCleanup(watcher.close)
            watcher.subscribe("spBv1.0/STATE/#")
            state = watcher.wait_received(1)[0]
            self.assertEqual(state.topic, "spBv1.0/STATE/SCADA1")
            self.assertTrue(state.retain)
            self.assertEqual(state.qos, 1)
            body = json.loads(state.payload)
            self.assertIs(body["online"], True)
            self.assertIsInstance(body["timestamp"], int)
            self.assertEqual(host.wait_for(lambda m: m.type == "STATE").state["online"], True)

            watcher.subscribe("spBv1.0/G1/+/E1/#")
            watcher.subscribe("spBv1.0/G1/NCMD/E1")
            host.rebirth("E1")
            host.dcmd("E1", "D1", "Float", 2.5, name="SETPOINT")
            host.dcmd("E1", "D1", "Float", 3.5, name="SETPOINT", by_alias=True)
            host.dcmd("E1", "D1", "Int16", -2, alias=7)
            got = [m for m in watcher.wait_received(5) if "CMD" in m.topic]
            self.assertEqual([m.topic for m in got], ["spBv1.0/G1/NCMD/E1"] +
                             ["spBv1.0/G1/DCMD/E1/D1"] * 3)
            decoded = []
            for m in got:
                p = Payload()
                p.ParseFromString(m.payload)
                decoded.append(p.metrics[0])
            self.assertEqual((decoded[0].name, decoded[0].datatype, decoded[0].boolean_value),
                             ("Node Control/Rebirth", 11, True))
            self.assertEqual((decoded[1].name, decoded[1].float_value), ("SETPOINT", 2.5))
            self.assertEqual((decoded[2].HasField("name"), decoded[2].alias,
                              decoded[2].float_value), (False, 9, 3.5))
            self.assertEqual((decoded[3].alias, decoded[3].int_value), (7, -2 & 0xFFFFFFFF))
            # The host records its own commands too (it subscribes to the whole group).
            self.assertEqual(host.wait_for(lambda m: m.type == "NCMD").metrics[0]["value"], True)

            # The host's will is its offline STATE: a crash of the host says so.
            host.kill()
            offline = watcher.wait_received(6)[-1]
            self.assertEqual(offline.topic, "spBv1.0/STATE/SCADA1")
            self.assertIs(json.loads(offline.payload)["online"], False)

    def test_broker_restarts_on_the_same_port_and_the_host_reconnects(self):
        with Broker() as broker, Host(broker.url, "G1") as host:
            url = broker.url
            broker.stop()
            self.assertFalse(broker.running)
            with self.assertRaises(OSError):
                Peer(broker, "nobody")
            broker.start()
            self.assertEqual(broker.url, url)
            edge = Peer(broker, "edge")
            self.addCleanup(edge.close)
            # The host reconnects by itself and subscribes again; publish until it hears.
            deadline = time.monotonic() + 15
            while not host.of_type("NDATA") and time.monotonic() < deadline:
                edge.publish("spBv1.0/G1/NDATA/E1", encode_payload(
                    [{"name": "x", "datatype": "Int32", "value": 1}], seq=1))
                time.sleep(0.3)
            self.assertTrue(host.of_type("NDATA"), host.summary())

    def test_tls_with_the_test_ca_and_a_password_file(self):
        with Broker(tls=True) as broker:
            self.assertTrue(broker.url.startswith("ssl://127.0.0.1:"))
            with Host(broker.url, "G1", ca_file=broker.ca_file) as host:
                edge = Peer(broker, "edge", ca_file=broker.ca_file)
                self.addCleanup(edge.close)
                edge.publish("spBv1.0/G1/NDATA/E1", encode_payload(
                    [{"name": "x", "datatype": "Int32", "value": -3}], seq=5))
                self.assertEqual(host.wait_for(lambda m: m.type == "NDATA").values(), {"x": -3})
            with self.assertRaises(ssl.SSLError):
                Host(broker.url, "G1", ca_file=broker.other_ca_file)
        with Broker(tls=True, require_certificate=True) as broker:
            with Host(broker.url, "G1", ca_file=broker.ca_file,
                      cert_file=broker.client_cert_file, key_file=broker.client_key_file):
                pass
            with self.assertRaises((ssl.SSLError, OSError, AssertionError)):
                Host(broker.url, "G1", ca_file=broker.ca_file, timeout=3)
        with Broker(user="scada", password="secret") as broker:
            with Host(broker.url, "G1", username="scada", password="secret"):
                pass
            with self.assertRaisesRegex(AssertionError, "refused"):
                Host(broker.url, "G1", username="scada", password="wrong", timeout=5)


if __name__ == "__main__":
    unittest.main()
