"""The bridge configurations of docs/scale-out.md, as printed there, on two real mosquitto brokers
(Debian's, started on free loopback ports): a site broker that runs the document's bridge and a
central broker where the host connects. What the document says a bridge does is checked here:
edge messages go out, host commands and the retained STATE come in, nothing twice, a will
crosses, the bridge's notification goes to 0 when the site broker stops, and QoS 0 messages
published during a central outage arrive after it only with `upgrade_outgoing_qos true`.

The configurations are read from the document itself, so the document cannot drift from what
was tried. Only what a test on loopback cannot have is changed: the address (a free port), the
TLS and credential lines (dropped), and a short `restart_timeout` so a reconnect takes a second.
Clients are python3-paho-mqtt (Debian's /usr/bin/python3).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import paho.mqtt.client as mqtt

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "docs",
                   "scale-out.md")
DROPPED = ("bridge_cafile", "remote_username", "remote_password")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bridge_blocks():
    """The fenced blocks of the document that configure a bridge, in document order."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"^```\n(.*?)^```", text, flags=re.S | re.M)
    return [b for b in blocks if re.search(r"^connection ", b, flags=re.M)]


def site_config(block, site_port, central_port, upgrade=True):
    lines = []
    for line in block.splitlines():
        word = line.split(" ", 1)[0]
        if word in DROPPED:
            continue
        if word == "upgrade_outgoing_qos" and not upgrade:
            continue
        if word == "address":
            line = "address 127.0.0.1:%d" % central_port
        lines.append(line)
    head = ["listener %d 127.0.0.1" % site_port, "allow_anonymous true"]
    # Bridge options apply to the last `connection`: appended, it is the document's bridge.
    return "\n".join(head + lines + ["restart_timeout 1", ""])


class Broker:
    def __init__(self, name, port, text, workdir):
        self.name, self.port = name, port
        self.conf = os.path.join(workdir, name + ".conf")
        self.log = os.path.join(workdir, name + ".log")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text)
        self.proc = None
        self.start()

    def start(self):
        log = open(self.log, "a", encoding="utf-8")  # noqa: SIM115 - kept by the process
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("%s exited %s:\n%s" % (self.name, self.proc.returncode,
                                                            self.text()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("%s did not listen on %d:\n%s" % (self.name, self.port, self.text()))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def text(self):
        try:
            with open(self.log, encoding="utf-8") as f:
                return f.read()
        except OSError:
            return ""


class Client:
    """A paho client that records every message it receives as (topic, payload, retain)."""

    def __init__(self, port, client_id, topics=()):
        self.messages = []
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.c = mqtt.Client(client_id=client_id, clean_session=True)
        self.c.on_message = self._on_message
        self.c.on_subscribe = lambda *a: self.subscribed.set()
        self.c.connect("127.0.0.1", port, keepalive=10)
        self.c.loop_start()
        if topics:
            self.c.subscribe([(t, 1) for t in topics])
            assert self.subscribed.wait(5), "no SUBACK"

    def _on_message(self, _c, _u, msg):
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def publish(self, topic, payload, qos=0, retain=False):
        self.c.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(5)

    def got(self, topic):
        with self.lock:
            return [p for t, p, _ in self.messages if t == topic]

    def wait_for(self, topic, payload, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if payload in self.got(topic):
                return True
            time.sleep(0.05)
        return False

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


# An Edge Node that dies without a word: a separate process holding a connection with a will,
# killed with SIGKILL, so the broker publishes the will.
EDGE = r"""
import sys, time
import paho.mqtt.client as mqtt
c = mqtt.Client(client_id="pollux-fe-n-a", clean_session=True)
c.will_set(sys.argv[2], b"ndeath", qos=1)
c.connect("127.0.0.1", int(sys.argv[1]), keepalive=10)
c.loop_start()
print("up", flush=True)
time.sleep(60)
"""


class ScaleOutBridgeTest(unittest.TestCase):
    GROUP = "NorthField"
    NODE = "FE_NORTH"
    NOTIFY = "$SYS/broker/connection/bridge-north/state"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pollux-scale-out-")
        self.brokers = []
        self.clients = []
        self.procs = []
        blocks = bridge_blocks()
        self.assertEqual(len(blocks), 2, "docs/scale-out.md should show two bridge configs")
        self.full, self.one_line = blocks

    def tearDown(self):
        for c in self.clients:
            c.close()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stdout.close()
        for b in self.brokers:
            b.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def broker(self, name, port, text):
        b = Broker(name, port, text, self.dir)
        self.brokers.append(b)
        return b

    def client(self, port, client_id, topics=()):
        c = Client(port, client_id, topics)
        self.clients.append(c)
        return c

    def pair_of_brokers(self, block, upgrade=True):
        central_port, site_port = free_port(), free_port()
        central = self.broker("central", central_port,
                              "listener %d 127.0.0.1\nallow_anonymous true\n" % central_port)
        site = self.broker("site", site_port,
                           site_config(block, site_port, central_port, upgrade))
        return central, site

    def topic(self, kind, device=None):
        t = "spBv1.0/%s/%s/%s" % (self.GROUP, kind, self.NODE)
        return t + "/" + device if device else t

    def test_edge_messages_go_out_host_messages_come_in_once(self):
        central, site = self.pair_of_brokers(self.full)
        host = self.client(central.port, "host", ["spBv1.0/#", "$SYS/broker/connection/#"])
        self.assertTrue(host.wait_for(self.NOTIFY, b"1"), central.text() + site.text())
        edge_side = self.client(site.port, "edge-side", ["spBv1.0/#"])

        state = "spBv1.0/STATE/SCADA1"
        host.publish(state, b'{"online":true,"timestamp":1}', qos=1, retain=True)
        self.assertTrue(edge_side.wait_for(state, b'{"online":true,"timestamp":1}'))

        edge = self.client(site.port, "pollux-fe-n-b")
        out = [(self.topic("NBIRTH"), b"nbirth"), (self.topic("DBIRTH", "WELL_01"), b"dbirth"),
               (self.topic("DDATA", "WELL_01"), b"ddata"),
               (self.topic("DDEATH", "WELL_01"), b"ddeath"), (self.topic("NDEATH"), b"ndeath-0")]
        for t, p in out:
            edge.publish(t, p)
        commands = [(self.topic("NCMD"), b"ncmd"), (self.topic("DCMD", "WELL_01"), b"dcmd")]
        for t, p in commands:
            host.publish(t, p, qos=1)
        for t, p in out:
            self.assertTrue(host.wait_for(t, p), "%s did not reach the central broker" % t)
        for t, p in commands:
            self.assertTrue(edge_side.wait_for(t, p), "%s did not reach the site broker" % t)

        # A subscriber that comes later still gets the host's STATE: it is retained on the site.
        late = self.client(site.port, "late", [state])
        self.assertTrue(late.wait_for(state, b'{"online":true,"timestamp":1}'))

        # An Edge Node killed outright: its will crosses the bridge.
        will = self.topic("NDEATH")
        p = subprocess.Popen([sys.executable, "-c", EDGE, str(site.port), will],
                             stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        self.assertEqual(p.stdout.readline().strip(), "up")
        time.sleep(0.5)
        p.send_signal(signal.SIGKILL)
        p.wait()
        self.assertTrue(host.wait_for(will, b"ndeath"), "the will did not cross the bridge")

        # Nothing was delivered twice, either way (no loop through the bridge).
        time.sleep(1)
        for t, p in out + [(will, b"ndeath")]:
            self.assertEqual(host.got(t).count(p), 1, t)
        for t, p in commands:
            self.assertEqual(edge_side.got(t).count(p), 1, t)
        self.assertEqual(edge_side.got(state).count(b'{"online":true,"timestamp":1}'), 1)

        # The site broker stops: the central broker says so on the notification topic.
        site.stop()
        self.assertTrue(host.wait_for(self.NOTIFY, b"0"), "no notification of the lost bridge")

    def outage(self, upgrade):
        """DDATA published on the site while the central broker is down; True when the host
        receives it after the central broker is back and the bridge reconnected."""
        central, site = self.pair_of_brokers(self.full, upgrade)
        watch = self.client(central.port, "watch", ["$SYS/broker/connection/#"])
        self.assertTrue(watch.wait_for(self.NOTIFY, b"1"), central.text() + site.text())
        self.clients.remove(watch)
        watch.close()
        central.stop()
        edge = self.client(site.port, "pollux-fe-n-a")
        ddata = self.topic("DDATA", "WELL_01")
        edge.publish(ddata, b"held-by-the-bridge")
        time.sleep(0.5)
        central.start()
        host = self.client(central.port, "host", [ddata, "$SYS/broker/connection/#"])
        # The bridge reconnects within restart_timeout (1 s here); then give it time to deliver.
        self.assertTrue(host.wait_for(self.NOTIFY, b"1", timeout=15), site.text())
        return host.wait_for(ddata, b"held-by-the-bridge", timeout=5)

    def test_qos0_survives_a_central_outage_only_with_upgrade_outgoing_qos(self):
        self.assertIn("upgrade_outgoing_qos true", self.full)
        self.assertTrue(self.outage(upgrade=True))

    def test_without_upgrade_outgoing_qos_qos0_is_lost_in_an_outage(self):
        # What the document warns of: the reason for the upgrade_outgoing_qos line.
        self.assertFalse(self.outage(upgrade=False))

    def test_one_line_bridge_carries_the_edge_node_out(self):
        central, site = self.pair_of_brokers(self.one_line)
        host = self.client(central.port, "host", ["spBv1.0/#"])
        edge = self.client(site.port, "pollux-fe-n-a")
        ddata = self.topic("DDATA", "WELL_01")
        # Published until the bridge, connecting in the background, has carried one across.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not host.got(ddata):
            edge.publish(ddata, b"x")
            time.sleep(0.2)
        self.assertTrue(host.got(ddata), site.text())
        # And only out: a command published on the central broker stays there.
        edge_side = self.client(site.port, "edge-side", ["spBv1.0/#"])
        host.publish(self.topic("NCMD"), b"ncmd", qos=1)
        self.assertFalse(edge_side.wait_for(self.topic("NCMD"), b"ncmd", timeout=2))

if __name__ == "__main__":
    unittest.main()
