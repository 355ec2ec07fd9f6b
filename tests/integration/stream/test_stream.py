"""GET /api/v1/stream end to end (spec/api.md "Live stream"): a real `pollux run` polling
`pollux-sim` over TCP; a client reads the Server-Sent Events as a browser's EventSource would.
Point changes the simulator makes, a device switched off, a line selected by an operator, the
device filter, and resuming with Last-Event-ID (what was missed, or a `resync` first).

Binaries come from the environment: POLLUX_BIN and POLLUX_SIM_BIN (set by CTest). Every read
is bounded; the node's API listens on a free port chosen by the test.
"""

import http.client
import json
import socket
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


if __name__ == "__main__":
    unittest.main()
