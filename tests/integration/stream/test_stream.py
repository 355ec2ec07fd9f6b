"""GET /api/v1/stream end to end (spec/api.md "Live stream"): a real `pollux run` polling
`pollux-sim` over TCP; a client reads the Server-Sent Events as a browser's EventSource would.
Point changes the simulator makes, a device switched off, a line selected by an operator, the
device filter, and resuming with Last-Event-ID (what was missed, or a `resync` first). And a
client too slow to keep up (a tiny receive buffer, never read) while the node journals thousands
of events a second: dropped in a bounded time while polling and a normal client go on.

Binaries come from the environment: POLLUX_BIN and POLLUX_SIM_BIN (set by CTest). Every read
is bounded; the node's API listens on a free port chosen by the test.
"""

import http.client
import json
import socket
import threading
import time
import unittest

from pollux_support.configs import sim_yaml
from pollux_support.node import wait_until
from pollux_support.testcase import NodeTestCase

SIM = sim_yaml([("A", 1, ["{table: holding, address: 0, value: 11}"]),
                ("B", 2, ["{table: holding, address: 0, value: 21}"])],
               tcp=[("T1", ["A", "B"], "modbus-tcp"), ("T2", ["A"], "modbus-tcp")])


def node_yaml(t1, t2):
    device = ("  - id: %s\n    unit: %d\n"
              "    comm:\n"
              "      primary: { channel: NET1, host: 127.0.0.1, port: %d }\n%s"
              "    polls:\n      - name: g\n        interval_ms: 200\n        points:\n"
              "          - { name: V, table: holding, address: 0, type: uint16 }\n")
    second = "      first_failover: { channel: NET2, host: 127.0.0.1, port: %d }\n" % t2
    return ("node: { name: live }\n"
            "api: { listen: 127.0.0.1:API_PORT }\n"
            "channels:\n"
            "  - { id: NET1, type: tcp, protocol: modbus-tcp, message_timeout_ms: 500 }\n"
            "  - { id: NET2, type: tcp, protocol: modbus-tcp, message_timeout_ms: 500 }\n"
            "devices:\n" + device % ("A", 1, t1, second) + device % ("B", 2, t1, ""))


class EventReader:
    """A streaming GET of /api/v1/stream, parsed into (id, event, data) as EventSource does."""

    def __init__(self, node, query="", last_event_id=None):
        host, port = node.base.split("//")[1].split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.conn.request("GET", "/api/v1/stream" + query, headers=headers)
        self.response = self.conn.getresponse()
        self.last_id = None

    def next_event(self, timeout):
        """The next event (comments and `retry:` skipped), or None after `timeout` s."""
        deadline = time.monotonic() + timeout
        fields = {}
        while time.monotonic() < deadline:
            self.conn.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                line = self.response.fp.readline()
            except socket.timeout:
                return None
            if not line:
                return None
            line = line.decode().rstrip("\n")
            if line == "":
                if "event" in fields or "data" in fields:
                    if "id" in fields:
                        self.last_id = int(fields["id"])
                    return (int(fields["id"]) if "id" in fields else None,
                            fields.get("event", "message"), json.loads(fields.get("data", "null")))
                fields = {}
                continue
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            fields[key] = value[1:] if value.startswith(" ") else value
        return None

    def wait_for(self, predicate, timeout, what):
        """Events until one satisfies `predicate`; every event read is returned with it."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            e = self.next_event(deadline - time.monotonic())
            if e is None:
                break
            seen.append(e)
            if predicate(e):
                return seen
        raise AssertionError("no %s within %ss; saw %s" % (what, timeout, seen[-10:]))

    def close(self):
        self.conn.close()


class StreamTest(NodeTestCase):
    def start_all(self):
        sim = self.start_sim(SIM)
        node = self.start_node(node_yaml(sim.tcp_addr("T1")[1], sim.tcp_addr("T2")[1]))
        wait_until(lambda: all(node.points(d)["V"]["quality"] == "good" for d in ("A", "B")),
                   10, what="A and B polled")
        return sim, node

    def reader(self, node, **kw):
        r = EventReader(node, **kw)
        self.addCleanup(r.close)
        self.assertEqual(r.response.status, 200)
        self.assertEqual(r.response.getheader("Content-Type"), "text/event-stream")
        return r

    def test_point_device_and_failover_events_arrive_live(self):
        sim, node = self.start_all()
        r = self.reader(node)
        sim.set("A", "holding", 0, [1234])
        start = time.monotonic()
        seen = r.wait_for(lambda e: e[1] == "point" and e[2]["device"] == "A" and
                          e[2]["value"] == 1234, 5, "point event of A = 1234")
        self.assertLess(time.monotonic() - start, 2.0)
        self.assertEqual(seen[-1][2]["name"], "V")
        self.assertEqual(seen[-1][2]["quality"], "good")
        ids = [e[0] for e in seen]
        self.assertEqual(ids, sorted(ids))

        status, _ = node.request("POST", "/api/v1/devices/A/line", {"line": 2})
        self.assertEqual(status, 200)
        seen = r.wait_for(lambda e: e[1] == "failover", 5, "failover event")
        f = seen[-1][2]
        self.assertEqual((f["device"], f["from"], f["to"]), ("A", 1, 2))
        seen = r.wait_for(lambda e: e[1] == "device" and e[2]["id"] == "A" and
                          e[2]["active_line"] == 2, 5, "device event of A on line 2")

        status, _ = node.request("POST", "/api/v1/channels/NET1/disable")
        self.assertEqual(status, 200)
        r.wait_for(lambda e: e[1] == "device" and e[2]["id"] == "B" and
                   e[2]["comm"] == "disabled", 5, "device event of B disabled")

    def test_the_device_filter_limits_point_events(self):
        sim, node = self.start_all()
        r = self.reader(node, query="?device=B")
        sim.set("A", "holding", 0, [500])
        sim.set("B", "holding", 0, [600])
        seen = r.wait_for(lambda e: e[1] == "point" and e[2]["value"] == 600, 5, "B = 600")
        self.assertEqual({e[2]["device"] for e in seen if e[1] == "point"}, {"B"})
        # Long enough for A's change to have been polled and journaled too.
        more = []
        while True:
            e = r.next_event(1.0)
            if e is None:
                break
            more.append(e)
        self.assertEqual([e for e in more if e[1] == "point" and e[2]["device"] == "A"], [])

    def test_a_reconnect_resumes_after_its_last_event_id_or_resyncs(self):
        sim, node = self.start_all()
        r = self.reader(node)
        sim.set("A", "holding", 0, [1])
        r.wait_for(lambda e: e[1] == "point" and e[2]["value"] == 1, 5, "A = 1")
        last = r.last_id
        r.close()
        sim.set("A", "holding", 0, [2])
        wait_until(lambda: node.points("A")["V"]["value"] == 2, 5, what="A = 2 polled")
        again = self.reader(node, last_event_id=last)
        seen = again.wait_for(lambda e: e[1] == "point" and e[2]["value"] == 2, 5,
                              "the missed A = 2")
        self.assertNotIn("resync", [e[1] for e in seen])
        self.assertEqual(seen[0][0], last + 1)  # nothing lost between the two connections

        stale = self.reader(node, last_event_id=1)  # from long before anything buffered
        first = stale.next_event(5)
        self.assertIsNotNone(first)
        self.assertEqual(first[1], "resync")
        bad = http.client.HTTPConnection(node.base.split("//")[1], timeout=5)
        bad.request("GET", "/api/v1/stream", headers={"Last-Event-ID": "not-a-number"})
        self.assertEqual(bad.getresponse().status, 400)
        bad.close()

    def test_the_kind_filter_keeps_only_the_kinds_asked_for(self):
        sim, node = self.start_all()
        status, body = node.request("GET", "/api/v1/stream?kind=points")
        self.assertEqual(status, 400)
        self.assertIn("kind must be point, device, failover or redundancy", body["error"])

        r = self.reader(node, query="?kind=device&kind=failover")
        sim.set("A", "holding", 0, [4321])
        wait_until(lambda: node.points("A")["V"]["value"] == 4321, 5, what="A = 4321 polled")
        status, _ = node.request("POST", "/api/v1/devices/A/line", {"line": 2})
        self.assertEqual(status, 200)
        seen = r.wait_for(lambda e: e[1] == "device" and e[2]["id"] == "A" and
                          e[2]["active_line"] == 2, 5, "device event of A on line 2")
        self.assertIn("failover", [e[1] for e in seen])
        self.assertEqual([e for e in seen if e[1] not in ("device", "failover")], [])


# The slow-client case: WIDTH counters per device that the simulator steps every 10 ms, polled
# every POLL_MS, so every poll changes every point: DEVICES * WIDTH * 1000 / POLL_MS events a
# second (4,000), and the journal's 65,536-event ring is overrun in about 16 s.
DEVICES = 4
WIDTH = 100
POLL_MS = 100
RING = 65536


def busy_sim_yaml():
    regs = ["{table: holding, address: %d, counter: {start: %d, step: 1, interval_ms: 10}}"
            % (a, a) for a in range(WIDTH)]
    return sim_yaml([("W%d" % i, 1, regs) for i in range(DEVICES)],
                    tcp=[("T%d" % i, ["W%d" % i], "modbus-tcp") for i in range(DEVICES)])


def busy_node_yaml(ports):
    points = "".join("          - { name: P%d, table: holding, address: %d, type: uint16 }\n"
                     % (a, a) for a in range(WIDTH))
    out = ["node: { name: busy }\n", "api: { listen: 127.0.0.1:API_PORT }\n", "channels:\n"]
    out += ["  - { id: NET%d, type: tcp, protocol: modbus-tcp, message_timeout_ms: 500 }\n" % i
            for i in range(DEVICES)]
    out.append("devices:\n")
    for i, port in enumerate(ports):
        out.append("  - id: W%d\n    unit: 1\n"
                   "    comm:\n      primary: { channel: NET%d, host: 127.0.0.1, port: %d }\n"
                   "    polls:\n      - name: g\n        interval_ms: %d\n        points:\n"
                   % (i, i, port, POLL_MS) + points)
    return "".join(out)


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


def dechunk(raw):
    """The body of a raw chunked HTTP answer, up to where it was cut off."""
    _, _, rest = raw.partition(b"\r\n\r\n")
    body = b""
    while rest:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            break
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        body += rest[:size]
        rest = rest[size + 2:]
    return body


def last_complete_id(body):
    """The id of the last event the text dispatches whole (as EventSource's lastEventId)."""
    last = None
    for block in body.split(b"\n\n")[:-1]:  # the text after the last blank line is cut off
        for line in block.split(b"\n"):
            if line.startswith(b"id: "):
                last = int(line[4:])
    return last


class FastReader(threading.Thread):
    """A normal client: reads the stream as fast as it comes (on a thread), keeping the ids."""

    def __init__(self, node):
        super().__init__(daemon=True)
        host, port = node.base.split("//")[1].split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=10)
        self.conn.request("GET", "/api/v1/stream", headers={"Accept": "text/event-stream"})
        self.response = self.conn.getresponse()
        self.lock = threading.Lock()
        self.first_id = None
        self.last_id = None
        self.gaps = []  # (after, next): ids skipped
        self.kinds = set()
        self.ended = None  # why reading stopped
        self.stop = False

    def run(self):
        pending = b""
        try:
            while not self.stop:
                data = self.response.read1(256 * 1024)
                if not data:
                    self.ended = "EOF"
                    return
                pending += data
                lines = pending.split(b"\n")
                pending = lines.pop()
                with self.lock:
                    for line in lines:
                        if line.startswith(b"id: "):
                            i = int(line[4:])
                            if self.last_id is not None and i != self.last_id + 1:
                                self.gaps.append((self.last_id, i))
                            if self.first_id is None:
                                self.first_id = i
                            self.last_id = i
                        elif line.startswith(b"event: "):
                            self.kinds.add(line[7:].decode())
        except Exception as e:  # noqa: BLE001 -- reported by the test
            self.ended = repr(e)

    def latest(self):
        with self.lock:
            return self.last_id

    def close(self):
        self.stop = True
        self.conn.close()


class SlowClientTest(NodeTestCase):
    def test_a_client_too_slow_is_dropped_and_polling_goes_on(self):
        sim = self.start_sim(busy_sim_yaml())
        ports = [sim.tcp_addr("T%d" % i)[1] for i in range(DEVICES)]
        node = self.start_node(busy_node_yaml(ports))
        devices = ["W%d" % i for i in range(DEVICES)]
        wait_until(lambda: all(node.points(d)["P0"]["quality"] == "good" for d in devices),
                   15, what="every device polled")

        fast = FastReader(node)
        self.addCleanup(fast.close)
        fast.start()
        wait_until(lambda: fast.latest() is not None, 10, what="the fast client's first events")

        def polls():
            return sum(node.device(d)["stats"]["polls_ok"] for d in devices)

        # The poll rate with one client that keeps up.
        t0, p0 = time.monotonic(), polls()
        time.sleep(3)
        t1, p1 = time.monotonic(), polls()
        before = (p1 - p0) / (t1 - t0)

        # The slow client: a tiny receive buffer (set before connecting) and it never reads.
        slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(slow.close)
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.settimeout(10)
        slow.connect(("127.0.0.1", int(node.base.rsplit(":", 1)[1])))
        slow.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Accept: text/event-stream\r\n\r\n")
        connected = time.monotonic()
        id_at_connect = fast.latest()
        wait_until(lambda: metric(node.metrics(), "pollux_api_stream_clients") == 2, 5,
                   what="two stream clients")

        # Pollux disconnects it, in a bounded time, without reading from it; polling goes on
        # at its rate meanwhile.
        wait_until(lambda: metric(node.metrics(), "pollux_api_stream_dropped_total") == 1, 75,
                   interval=0.5, what="the slow client dropped")
        dropped_after = time.monotonic() - connected
        t2, p2 = time.monotonic(), polls()
        during = (p2 - p1) / (t2 - t1)
        nominal = DEVICES * 1000 / POLL_MS
        print("slow client dropped after %.1f s; polls/s before %.1f, while it was connected "
              "%.1f (nominal %.0f); events while it was connected: %d" %
              (dropped_after, before, during, nominal, fast.latest() - id_at_connect))
        self.assertGreater(during, 0.7 * before)
        self.assertGreater(during, 0.4 * nominal)
        m = node.metrics()
        self.assertEqual(metric(m, "pollux_api_stream_clients"), 1)  # the fast one stays

        # The fast client kept up all along: every id, nothing lost, never dropped.
        self.assertIsNone(fast.ended)
        with fast.lock:
            self.assertEqual(fast.gaps, [])
            self.assertNotIn("resync", fast.kinds)

        # What the slow client was sent before it was cut off, then the end of the connection.
        raw = b""
        deadline = time.monotonic() + 20
        while True:
            self.assertLess(time.monotonic(), deadline, "the connection was not closed")
            try:
                data = slow.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            raw += data
        self.assertTrue(raw.startswith(b"HTTP/1.1 200"), raw[:200])
        last = last_complete_id(dechunk(raw))
        self.assertIsNotNone(last, "no whole event reached the slow client")

        # It reconnects with its last id: that event is long gone from the ring, so `resync`.
        wait_until(lambda: fast.latest() > last + RING, 30, what="the ring overrun past it")
        again = EventReader(node, last_event_id=last)
        self.addCleanup(again.close)
        self.assertEqual(again.response.status, 200)
        first = again.next_event(5)
        self.assertIsNotNone(first)
        self.assertEqual(first[1], "resync")
        self.assertGreater(first[0], last + RING)


if __name__ == "__main__":
    unittest.main()
