"""spec/security.md "Abuse limits" and HTTPS, end to end: a real `pollux run` (and `pollux
check`), clients from Python's ssl and socket modules and the real polluxctl.

HTTPS uses a scratch CA made with the openssl CLI at test time (pollux_support.tls). The limits
are the spec's own: 256 connections, 10 s for a request's headers, 65,536 bytes of body; the
slow-header and idle-connection cases therefore take about ten seconds each.
"""

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest

from pollux_support.node import POLLUX, POLLUXCTL, wait_until
from pollux_support.testcase import NodeTestCase
from pollux_support.tls import TestCa

SIM_YAML = """devices:
  - id: A
    unit: 1
    registers:
      - { table: holding, address: 0, value: 7 }
serial:
  - { id: L1, devices: [A] }
"""


def node_yaml(port_line="", tls=None, extra=""):
    api = "api:\n  listen: 127.0.0.1:API_PORT\n"
    if tls:
        api += "  tls:\n    cert_file: %s\n    key_file: %s\n" % tls
    return ("node: { name: fe-limits }\n" + api + "channels:\n"
            "  - { id: COM1, type: serial, protocol: modbus-rtu, port: %s,"
            " message_timeout_ms: 300 }\n"
            "devices:\n"
            "  - id: A\n    unit: 1\n    comm: { primary: { channel: COM1 } }\n"
            "    polls:\n      - name: g\n        interval_ms: 100\n"
            "        points: [ { name: V, table: holding, address: 0, type: uint16 } ]\n"
            % port_line) + extra


def ssl_client(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


def https_get(port, path, cafile, host="127.0.0.1"):
    conn = http.client.HTTPSConnection(host, port, timeout=10, context=ssl_client(cafile))
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read(), conn.sock.getpeercert()
    finally:
        conn.close()


def http_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def read_until_closed(sock, limit):
    """Everything the server sends until it closes (or `limit` s pass): (bytes, closed)."""
    sock.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def metric(text, name):
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, flags=re.M)
    return float(m.group(1)) if m else None


def position(text, needle):
    """1-based line:col of `needle` in `text`."""
    at = text.index(needle)
    line = text.count("\n", 0, at) + 1
    col = at - (text.rfind("\n", 0, at) + 1) + 1
    return "%d:%d" % (line, col)


class ApiLimitsTest(NodeTestCase):
    def start(self, tls=None):
        sim = self.start_sim(SIM_YAML)
        node = self.start_node(node_yaml(sim.serial["L1"], tls))
        return sim, node

    # -- HTTPS ----------------------------------------------------------------------------------
    def test_https_serves_trusting_clients_only(self):
        ca = TestCa()
        _, node = self.start(tls=(ca.cert_file, ca.key_file))
        self.assertIn("HTTPS API listening", node.text())
        status, body, cert = https_get(node.port, "/api/v1/health", ca.ca_file)
        self.assertEqual(status, 200, body)
        self.assertEqual(dict(x[0] for x in cert["subject"])["commonName"], "server")
        # The name is checked too: localhost is in the certificate's subjectAltName.
        self.assertEqual(https_get(node.port, "/api/v1/health", ca.ca_file, "localhost")[0], 200)
        # A client that trusts another CA refuses the server.
        with self.assertRaises(ssl.SSLCertVerificationError):
            https_get(node.port, "/api/v1/health", ca.other_ca_file)
        # Plain HTTP on the HTTPS port: no HTTP answer, the connection is closed.
        with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            data, closed = read_until_closed(s, 5)
        self.assertTrue(closed, data)
        self.assertNotIn(b"HTTP/1.", data)
        status, body, _ = https_get(node.port, "/metrics", ca.ca_file)
        self.assertGreaterEqual(metric(body.decode(), "pollux_api_tls_handshake_failures_total"), 2)

    def test_polluxctl_cacert(self):
        if not POLLUXCTL:
            self.skipTest("polluxctl not built")
        ca = TestCa()
        _, node = self.start(tls=(ca.cert_file, ca.key_file))

        def ctl(*args):
            p = subprocess.run([POLLUXCTL] + list(args) + ["--timeout", "10", "status"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            return p.returncode, p.stdout.decode()

        for host in ("127.0.0.1", "localhost"):
            rc, out = ctl("--api", "https://%s:%d" % (host, node.port), "--cacert", ca.ca_file)
            self.assertEqual(rc, 0, out)
            self.assertIn("fe-limits", out)
        rc, out = ctl("--api", "https://127.0.0.1:%d" % node.port, "--cacert", ca.other_ca_file)
        self.assertEqual(rc, 3, out)
        self.assertIn("certificate verify failed", out)
        rc, out = ctl("--api", "http://127.0.0.1:%d" % node.port)
        self.assertEqual(rc, 3, out)
        rc, out = ctl("--api", "http://127.0.0.1:%d" % node.port, "--cacert", ca.ca_file)
        self.assertEqual(rc, 2, out)

    def test_tls_file_errors_are_located_and_exit_2(self):
        ca = TestCa()
        sim = self.start_sim(SIM_YAML)
        d = ca.dir
        cases = [((ca.cert_file, ca.other_key_file), ca.other_key_file,
                  "does not match the certificate"),
                 ((os.path.join(d, "missing.crt"), ca.key_file), os.path.join(d, "missing.crt"),
                  "cannot read"),
                 ((ca.key_file, ca.key_file), ca.key_file, "holds no PEM certificate")]
        for tls, at, message in cases:
            text = node_yaml(sim.serial["L1"], tls).replace("API_PORT", "18799")
            path = os.path.join(d, "bad.yaml")
            with open(path, "w") as f:
                f.write(text)
            for cmd in ("check", "run"):
                p = subprocess.run([POLLUX, cmd, "-c", path], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, timeout=30)
                out = p.stdout.decode()
                self.assertEqual(p.returncode, 2, out)
                self.assertIn("%s:%s: error: " % (path, position(text, "%s\n" % at)), out)
                self.assertIn(message, out)

    def test_reload_changes_the_certificate_for_new_connections(self):
        ca = TestCa()
        live_cert, live_key = os.path.join(ca.dir, "live.crt"), os.path.join(ca.dir, "live.key")
        shutil.copy(ca.cert_file, live_cert)
        shutil.copy(ca.key_file, live_key)
        _, node = self.start(tls=(live_cert, live_key))
        cn = lambda: dict(x[0] for x in https_get(node.port, "/api/v1/health",  # noqa: E731
                                                  ca.ca_file)[2]["subject"])["commonName"]
        self.assertEqual(cn(), "server")
        # A renewed certificate at the same paths: taken by a reload.
        renewed_cert, renewed_key = ca.server("renewed")
        shutil.copy(renewed_cert, live_cert)
        shutil.copy(renewed_key, live_key)
        self.assertEqual(cn(), "server")  # nothing changes before the reload
        node.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: cn() == "renewed", 10, what="the renewed certificate")
        # A reload with a key that does not match changes nothing.
        shutil.copy(ca.other_key_file, live_key)
        conn = http.client.HTTPSConnection("127.0.0.1", node.port, timeout=10,
                                           context=ssl_client(ca.ca_file))
        conn.request("POST", "/api/v1/config/reload")
        r = conn.getresponse()
        body = r.read().decode()
        conn.close()
        self.assertEqual(r.status, 400, body)
        self.assertIn("does not match the certificate", body)
        self.assertEqual(cn(), "renewed")

    # -- limits ---------------------------------------------------------------------------------
    def test_slow_headers_answered_408_after_10_s(self):
        _, node = self.start()
        with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
            started = time.monotonic()
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            data, closed = read_until_closed(s, 20)
            took = time.monotonic() - started
        self.assertTrue(closed)
        self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data)
        self.assertGreater(took, 9.5)
        self.assertLess(took, 13)
        # A keep-alive connection: the deadline runs from the end of the previous answer.
        with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            s.settimeout(5)
            first = s.recv(65536)
            self.assertTrue(first.startswith(b"HTTP/1.1 200 "), first)
            time.sleep(6)  # more than half the deadline passes idle ...
            answered = time.monotonic()
            s.sendall(b"GET /api/v1/health HTTP/1.1\r\n")  # ... then headers start, and stall
            data, closed = read_until_closed(s, 10)
            self.assertTrue(closed)
            self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data)
            self.assertLess(time.monotonic() - answered, 6)
        self.assertGreaterEqual(metric(node.metrics(), "pollux_api_header_timeouts_total"), 2)

    def test_body_over_64_kib_answered_413_and_closed(self):
        _, node = self.start()
        for size, want in ((70000, b"HTTP/1.1 413 "), (65536, b"HTTP/1.1 400 ")):
            with socket.create_connection(("127.0.0.1", node.port), timeout=5) as s:
                s.sendall(b"POST /api/v1/devices/A/write HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size)
                try:
                    s.sendall(b" " * size)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if size == 65536:
                    # Within the limit: an answer (400: the body is not a write), and the
                    # connection stays open for the next request.
                    s.settimeout(5)
                    data = s.recv(65536)
                    self.assertTrue(data.startswith(want), data)
                    continue
                data, closed = read_until_closed(s, 5)
            self.assertTrue(closed)
            self.assertTrue(data.startswith(want), data)
        self.assertEqual(metric(node.metrics(), "pollux_api_bodies_too_large_total"), 1)

    def test_300_idle_connections_neither_slow_polling_nor_pass_the_limit(self):
        sim, node = self.start()
        wait_until(lambda: node.points("A")["V"]["quality"] == "good", 10, what="A polled")

        def requests():
            return sim.stats()["lines"]["L1"]["requests"]

        window = 4.0
        before = requests()
        time.sleep(window)
        baseline = requests() - before

        socks = []
        try:
            for _ in range(300):
                socks.append(socket.create_connection(("127.0.0.1", node.port), timeout=5))
            opened = time.monotonic()
            before = requests()
            time.sleep(window)
            loaded = requests() - before
            # Which connections did the server close at once? Those over 256.
            refused = 0
            for s in socks:
                s.settimeout(0.01)
                try:
                    if s.recv(1) == b"":
                        refused += 1
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    refused += 1
            self.assertLess(time.monotonic() - opened, 9, "the test ran into the header deadline")
            self.assertEqual(refused, 300 - 256)
            # The 257th connection is accepted and closed at once.
            with socket.create_connection(("127.0.0.1", node.port), timeout=5) as extra:
                data, closed = read_until_closed(extra, 2)
                self.assertTrue(closed)
                self.assertEqual(data, b"")
            # The idle ones are closed at the header deadline, quietly (nothing was asked).
            for s in socks[:5]:
                data, closed = read_until_closed(s, 12)
                self.assertTrue(closed)
                self.assertEqual(data, b"")
        finally:
            for s in socks:
                s.close()
        print("L1 requests in %.0f s: %d without, %d with 300 idle API connections"
              % (window, baseline, loaded))
        self.assertGreater(baseline, 10)
        self.assertGreaterEqual(loaded, baseline * 0.9)
        text = wait_until(lambda: (lambda t: t if metric(t, "pollux_api_connections") == 1 else None)(
            self._metrics_when_free(node)), 15, what="connections closed")
        self.assertEqual(metric(text, "pollux_api_connections_refused_total"), 300 - 256 + 1)

    def _metrics_when_free(self, node):
        try:
            return node.metrics()
        except OSError:
            return ""


if __name__ == "__main__":
    unittest.main()
