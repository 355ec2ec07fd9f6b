#!/usr/bin/python3
"""The partition proxy (tests/support/pollux_support/proxy.py) against a loopback echo server:
a blackhole holds bytes and connections without closing anything and delivers on heal, a cut
closes every connection and refuses new ones until heal, and two proxies run side by side.

    PYTHONPATH=tests/support /usr/bin/python3 tests/integration/soak/test_proxy.py
"""

import socket
import threading
import time
import unittest

from pollux_support.node import wait_until
from pollux_support.proxy import TcpProxy


class Echo:
    """A loopback TCP server echoing every byte back; counts the connections it accepted and
    those that ended."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.accepted = 0
        self.ended = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    def _echo(self, c):
        try:
            while True:
                data = c.recv(4096)
                if not data:
                    break
                c.sendall(data)
        except OSError:
            pass
        c.close()
        with self.lock:
            self.ended += 1

    def close(self):
        try:
            self.srv.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.srv.close()


def ended(c, timeout=5):
    """True when the peer closed `c` (end of file or reset) within `timeout` s."""
    c.settimeout(timeout)
    try:
        return c.recv(16) == b""
    except ConnectionResetError:
        return True


class ProxyTest(unittest.TestCase):
    def setUp(self):
        self.echo = Echo()
        self.addCleanup(self.echo.close)
        self.proxy = self.start_proxy(self.echo.port)

    def start_proxy(self, port):
        p = TcpProxy(port).start()
        self.addCleanup(p.stop)
        return p

    def connect(self, proxy=None):
        c = socket.create_connection(("127.0.0.1", (proxy or self.proxy).port), timeout=5)
        self.addCleanup(c.close)
        return c

    def assert_quiet(self, c):
        """Nothing comes back within half a second, and the connection stays open."""
        c.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            c.recv(16)
        c.settimeout(5)

    def test_forwards_then_holds_bytes_without_closing_then_delivers_them_on_heal(self):
        c = self.connect()
        c.sendall(b"one")
        self.assertEqual(c.recv(16), b"one")
        self.proxy.blackhole()
        c.sendall(b"two")
        self.assert_quiet(c)  # nothing comes back, and nothing is closed
        self.assertEqual(self.echo.ended, 0)
        self.assertEqual(self.proxy.open_connections(), 1)
        self.proxy.heal()
        self.assertEqual(c.recv(16), b"two")

    def test_a_connection_made_during_the_blackhole_is_connected_onwards_on_heal(self):
        self.proxy.blackhole()
        c = self.connect()
        c.sendall(b"hello")
        self.assert_quiet(c)
        wait_until(lambda: self.proxy.connections == 1, 5, what="the proxy accepted it")
        self.assertEqual(self.echo.accepted, 0)  # held, not connected onwards
        self.proxy.heal()
        self.assertEqual(c.recv(16), b"hello")
        self.assertEqual(self.echo.accepted, 1)

    def test_a_cut_closes_every_connection_and_refuses_new_ones_until_heal(self):
        a, b = self.connect(), self.connect()
        for c in (a, b):
            c.sendall(b"x")
            self.assertEqual(c.recv(16), b"x")
        self.proxy.cut()
        self.assertTrue(ended(a))
        self.assertTrue(ended(b))
        wait_until(lambda: self.echo.ended == 2, 5, what="both upstream connections closed")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", self.proxy.port), timeout=5).close()
        self.proxy.heal()
        c = self.connect()
        c.sendall(b"again")
        self.assertEqual(c.recv(16), b"again")

    def test_a_blackholed_link_can_be_cut_and_a_cut_one_blackholed(self):
        c = self.connect()
        self.proxy.blackhole()
        c.sendall(b"held")
        self.proxy.cut()
        self.assertTrue(ended(c))
        self.proxy.blackhole()  # listens again, holds what connects
        d = self.connect()
        d.sendall(b"later")
        self.assert_quiet(d)
        self.proxy.heal()
        self.assertEqual(d.recv(16), b"later")

    def test_two_proxies_side_by_side_break_independently_and_stop_cleanly(self):
        other = self.start_proxy(self.echo.port)
        self.assertNotEqual(other.port, self.proxy.port)
        a, b = self.connect(), self.connect(other)
        self.proxy.blackhole()
        b.sendall(b"through")
        self.assertEqual(b.recv(16), b"through")
        a.sendall(b"held")
        self.assert_quiet(a)
        other.cut()
        self.assertTrue(ended(b))
        self.proxy.heal()
        self.assertEqual(a.recv(16), b"held")
        name = "TcpProxy:%d" % self.proxy.port
        self.assertIn(name, [t.name for t in threading.enumerate()])
        self.proxy.stop()
        self.assertTrue(ended(a))
        # Its thread joined. Counting all threads would race the echo server's own
        # per-connection thread, which ends when the proxy closes its side.
        self.assertNotIn(name, [t.name for t in threading.enumerate()])
        self.proxy.stop()  # twice is harmless

    def test_a_target_that_refuses_gets_the_client_closed(self):
        self.echo.close()
        c = self.connect()
        self.assertTrue(ended(c))
        wait_until(lambda: self.proxy.open_connections() == 0, 5, what="nothing held")

    def test_a_large_transfer_goes_through_whole_both_ways(self):
        c = self.connect()
        data = bytes(range(256)) * 4096  # 1 MiB: more than the sockets buffer
        sender = threading.Thread(target=c.sendall, args=(data,), daemon=True)
        sender.start()
        got = b""
        deadline = time.monotonic() + 20
        while len(got) < len(data) and time.monotonic() < deadline:
            got += c.recv(65536)
        sender.join(5)
        self.assertEqual(got, data)


if __name__ == "__main__":
    unittest.main()
