"""A real `pollux run` node with its config file, log and HTTP API, bounded waiting and free
ports: shared by the integration tests (through testcase.NodeTestCase) and the benchmarks.

    from pollux_support.node import Node, wait_until
    node = Node(config_text)               # API_PORT in the text: a free port
    wait_until(lambda: node.points("A")["V"]["quality"] == "good", 10, what="A good")
    node.stop()                            # the exit code

Binaries come from the environment: POLLUX_BIN, POLLUX_SIM_BIN and POLLUXCTL_BIN (set by
CTest). Every wait is bounded.
"""

import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from .process import terminate

POLLUX = os.environ.get("POLLUX_BIN", "pollux")
SIM = os.environ.get("POLLUX_SIM_BIN", "pollux-sim")
POLLUXCTL = os.environ.get("POLLUXCTL_BIN", "")


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    """Polls `predicate` until it returns something true (returned) or `timeout` s pass."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


_given_ports = set()


def free_port():
    """A free port not handed out before in this process: a port is often only bound when its
    node starts, so the kernel could offer it again meanwhile."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port


def claim_port(port):
    """Marks a port this process bound itself (a proxy's) as taken: free_port() never offers it,
    also while it is closed for a while."""
    _given_ports.add(port)


class Node:
    """One `pollux run` process with its config file and log; restartable (kill, start) with the
    same config, API port and log. API_PORT in the config text is replaced by the API port.

    For the benchmarks: `binary` (default POLLUX), `args` before `run` (e.g. a quieter
    --log-level: start-up is then seen by GET /api/v1/health answering, as the "API listening"
    line is not logged), `preexec_fn` (CPU pinning) and `startup_timeout` (a large config loads
    for seconds). `env`: variables added to the process's environment (NOTIFY_SOCKET)."""

    def __init__(self, config_text, name="node", prefix="pollux-node.", binary=None, args=(),
                 preexec_fn=None, startup_timeout=10, env=None):
        self.name = name
        self.env = dict(os.environ, **env) if env else None
        self.binary = binary or POLLUX
        self.args = list(args)
        self.preexec_fn = preexec_fn
        self.startup_timeout = startup_timeout
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.config_path = os.path.join(self.dir, name + ".yaml")
        self.log_path = os.path.join(self.dir, name + ".log")
        self.proc = None
        self.log = None
        self.exit_code = None
        # The free port can be taken by someone else before pollux binds it: try another.
        for attempt in range(3):
            self.port = free_port()
            self.base = "http://127.0.0.1:%d" % self.port
            self.write_config(config_text)
            try:
                self.start(fresh=True)
                return
            except AssertionError:
                if attempt == 2 or "cannot serve the API" not in self.text():
                    raise

    def write_config(self, text):
        with open(self.config_path, "w") as f:
            f.write(text.replace("API_PORT", str(self.port)))

    def start(self, fresh=False):
        """Starts the process (appending to the log unless `fresh`) and waits until its API
        listens."""
        self.log = open(self.log_path, "w" if fresh else "a")
        self.mark = os.path.getsize(self.log_path)
        self.proc = subprocess.Popen([self.binary] + self.args + ["run", "-c", self.config_path],
                                     stdout=subprocess.DEVNULL, stderr=self.log,
                                     preexec_fn=self.preexec_fn, env=self.env)
        self.exit_code = None
        wait_until(lambda: self.proc.poll() is not None or self._listening(),
                   self.startup_timeout,
                   what="API start-up of " + self.name)
        if self.proc.poll() is not None:
            self.log.close()
            raise AssertionError("pollux exited %s: %s" % (self.proc.returncode, self.text()))

    def _listening(self):
        if "API listening" in self.text(self.mark):
            return True
        if "--log-level" not in self.args:
            return False
        try:
            with urllib.request.urlopen(self.base + "/api/v1/health", timeout=5):
                return True
        except OSError:
            return False

    def text(self, since=0):
        with open(self.log_path) as f:
            f.seek(since)
            return f.read()

    # -- HTTP API -------------------------------------------------------------------------------
    def request(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def get(self, path):
        status, body = self.request("GET", path)
        assert status == 200, (path, status, body)
        return body

    def metrics(self):
        """The Prometheus exposition text of GET /metrics."""
        with urllib.request.urlopen(self.base + "/metrics", timeout=10) as r:
            return r.read().decode()

    def points(self, device):
        return {p["name"]: p for p in self.get("/api/v1/points?device=" + device)}

    def device(self, device):
        return self.get("/api/v1/devices/" + device)

    def channel(self, cid):
        return {c["id"]: c for c in self.get("/api/v1/channels")}[cid]

    def red(self):
        return self.get("/api/v1/redundancy")

    def activity(self):
        return self.get("/api/v1/health")["activity"]

    # -- ending ---------------------------------------------------------------------------------
    def kill(self):
        """SIGKILL, as a crash; a later stop() reports 0."""
        self.proc.kill()
        self.proc.wait()
        self.exit_code = 0
        self.log.close()

    def stop(self, timeout=10):
        """SIGTERM and a bounded wait; the exit code (again on a second call, 0 after kill())."""
        if self.exit_code is not None:
            return self.exit_code
        if not terminate(self.proc, timeout):
            raise AssertionError("pollux did not exit within %ss after SIGTERM" % timeout)
        self.exit_code = self.proc.returncode
        self.log.close()
        return self.exit_code
