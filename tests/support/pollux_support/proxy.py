"""A controllable loopback TCP proxy for partitions (redundancy.md "Partitions", issue 24): put
one in front of each peer link, or any TCP path, and break it the two ways a network breaks.

    from pollux_support.proxy import TcpProxy
    with TcpProxy(target_port) as proxy:   # listens on 127.0.0.1:proxy.port, forwards there
        proxy.blackhole()   # a dead route: nothing is forwarded (bytes stay queued in the
                            #   sockets), nothing is closed, new connections are accepted and
                            #   held, not connected onwards
        proxy.cut()         # a broken path: every connection closed, new ones refused
        proxy.heal()        # forwarding again; held connections are connected onwards, a cut
                            #   proxy listens again on the same port

One thread per proxy runs a selector over every socket, so several proxies (two peer links,
each behind its own) run side by side; start() and stop() bound it, stop() closes everything
and joins the thread. blackhole(), cut() and heal() return once the proxy behaves that way.
"""

import errno
import queue
import selectors
import socket
import threading

from .node import claim_port

_CHUNK = 65536
_CALL_TIMEOUT = 5.0


class _Conn:
    """One client connection and, once connected onwards, its upstream; `out[s]` holds bytes
    read from the other side waiting to be written to `s`."""

    def __init__(self, client):
        self.client = client
        self.upstream = None
        self.connecting = False
        self.out = {client: b""}
        self.eof = set()  # sockets that reached end of file

    def sockets(self):
        return [s for s in (self.client, self.upstream) if s is not None]

    def other(self, s):
        return self.upstream if s is self.client else self.client


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port`; see the module's doc."""

    FORWARD, BLACKHOLE, CUT = "forward", "blackhole", "cut"

    def __init__(self, target_port, target_host="127.0.0.1", listen_port=0,
                 listen_host="127.0.0.1"):
        self.target = (target_host, target_port)
        self.listen_host = listen_host
        self.mode = self.FORWARD
        self.connections = 0  # accepted, in all
        self._conns = []
        self._listener = None
        self._thread = None
        self._calls = queue.Queue()
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ)
        self._interest = {}  # socket -> events registered with the selector
        self._stopping = False
        self._stopped = False
        self.port = listen_port
        self._listen()
        claim_port(self.port)  # free_port() never hands it out, also while cut

    # -- control (any thread) ----------------------------------------------------------------
    def start(self):
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="TcpProxy:%d" % self.port,
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self):
        """Closes every socket and ends the thread; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread is not None:
            self._call(self._stop_in_loop)
            self._thread.join(_CALL_TIMEOUT)
            self._thread = None
        self._close_all()
        if self._listener is not None:
            self._close_listener()
        for s in (self._wake_r, self._wake_w):
            s.close()
        self._sel.close()

    close = stop

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def blackhole(self):
        self._call(lambda: self._set_mode(self.BLACKHOLE))

    def cut(self):
        self._call(lambda: self._set_mode(self.CUT))

    def heal(self):
        self._call(lambda: self._set_mode(self.FORWARD))

    @property
    def blackholed(self):
        return self.mode == self.BLACKHOLE

    def open_connections(self):
        """Client connections the proxy holds now (forwarded or held)."""
        out = []
        self._call(lambda: out.append(len(self._conns)))
        return out[0]

    def _call(self, fn):
        """Runs `fn` on the proxy's thread (or here when it does not run) and waits for it."""
        if self._thread is None or not self._thread.is_alive():
            return fn()
        done = threading.Event()
        failed = []  # what `fn` raised, raised here: the proxy's thread goes on
        self._calls.put((fn, done, failed))
        self._wake_w.send(b"x")
        if not done.wait(_CALL_TIMEOUT):
            raise RuntimeError("TcpProxy on port %d did not answer" % self.port)
        if failed:
            raise failed[0]

    # -- the thread --------------------------------------------------------------------------
    def _run(self):
        while not self._stopping:
            self._update_interest()
            for key, events in self._sel.select(timeout=1.0):
                s = key.fileobj
                if s is self._wake_r:
                    self._drain_calls()
                elif s is self._listener:
                    self._accept()
                else:
                    conn = key.data
                    if conn not in self._conns:
                        continue  # closed by an earlier event of this round
                    if conn.connecting and s is conn.upstream:
                        self._connected(conn)
                        continue
                    if events & selectors.EVENT_WRITE:
                        self._write(conn, s)
                    if events & selectors.EVENT_READ and conn in self._conns:
                        self._read(conn, s)
        self._drain_calls()

    def _drain_calls(self):
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass
        while True:
            try:
                fn, done, failed = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                fn()
            except Exception as e:  # noqa: BLE001 -- raised by _call in the caller's thread
                failed.append(e)
            finally:
                done.set()

    def _stop_in_loop(self):
        self._stopping = True

    def _set_mode(self, mode):
        self.mode = mode
        if mode == self.CUT:
            self._close_all()
            if self._listener is not None:
                self._close_listener()
            return
        if self._listener is None:
            self._listen()
        if mode == self.FORWARD:
            for conn in list(self._conns):
                if conn.upstream is None:
                    self._connect(conn)

    def _listen(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.listen_host, self.port))
        s.listen(16)
        s.setblocking(False)
        self.port = s.getsockname()[1]
        self._listener = s

    def _close_listener(self):
        self._forget(self._listener)
        self._listener.close()
        self._listener = None

    def _accept(self):
        try:
            c, _ = self._listener.accept()
        except (BlockingIOError, OSError):
            return
        c.setblocking(False)
        self.connections += 1
        conn = _Conn(c)
        self._conns.append(conn)
        if self.mode == self.FORWARD:
            self._connect(conn)

    def _connect(self, conn):
        u = socket.socket()
        u.setblocking(False)
        err = u.connect_ex(self.target)
        conn.upstream = u
        conn.out[u] = b""
        if err in (0, errno.EINPROGRESS):
            conn.connecting = err != 0
        else:
            self._close(conn)

    def _connected(self, conn):
        if conn.upstream.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
            return self._close(conn)  # the target refused: so does the proxy
        conn.connecting = False

    def _read(self, conn, s):
        try:
            data = s.recv(_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            return self._close(conn)
        if not data:
            conn.eof.add(s)
            if not conn.out[conn.other(s)]:
                self._close(conn)
            return
        conn.out[conn.other(s)] += data

    def _write(self, conn, s):
        try:
            n = s.send(conn.out[s])
        except BlockingIOError:
            return
        except OSError:
            return self._close(conn)
        conn.out[s] = conn.out[s][n:]
        if not conn.out[s] and conn.other(s) in conn.eof:
            self._close(conn)  # the other side ended and all it sent is delivered

    def _update_interest(self):
        want = {}
        if self._listener is not None:
            want[self._listener] = (selectors.EVENT_READ, None)
        for conn in self._conns:
            if conn.connecting:
                want[conn.upstream] = (selectors.EVENT_WRITE, conn)
                continue
            if self.mode != self.FORWARD or conn.upstream is None:
                continue  # held: nothing read, nothing written, nothing closed
            for s in conn.sockets():
                ev = 0
                if conn.out[s]:
                    ev |= selectors.EVENT_WRITE
                if not conn.out[conn.other(s)] and s not in conn.eof:
                    ev |= selectors.EVENT_READ
                if ev:
                    want[s] = (ev, conn)
        for s in list(self._interest):
            if s not in want:
                self._forget(s)
        for s, (ev, data) in want.items():
            if s not in self._interest:
                self._sel.register(s, ev, data)
            elif self._interest[s] != ev:
                self._sel.modify(s, ev, data)
            self._interest[s] = ev

    def _forget(self, s):
        if s in self._interest:
            del self._interest[s]
            self._sel.unregister(s)

    def _close(self, conn):
        if conn in self._conns:
            self._conns.remove(conn)
        for s in conn.sockets():
            self._forget(s)
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _close_all(self):
        for conn in list(self._conns):
            self._close(conn)
