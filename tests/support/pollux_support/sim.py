"""Python client for pollux-sim (stdlib only), for the integration tests and the benchmarks.

    from pollux_support.sim import Sim
    with Sim(sim_binary, yaml_text) as sim:
        port = sim.serial["L1"]              # link path for the poller's side
        host, tcp_port = sim.tcp_addr("T1")  # "127.0.0.1:PORT" is in sim.tcp["T1"]
        sim.cmd({"cmd": "fault", "device": "WELL_01", "fault": "silence"})
        writes = sim.writes("WELL_01")
        report = sim.stop()                  # the exit report (dict)

The simulator prints one JSON ready line on stdout once everything listens; Sim waits for it
(bounded), then talks newline-delimited JSON to the control socket. stop() raises SimError when
the simulator exits non-zero or its stderr holds a sanitizer report, so that the ASan build
shows the simulator's own leaks and errors, not only Pollux's.
"""

import json
import os
import select
import socket
import subprocess
import tempfile
import time

from .process import terminate


class SimError(RuntimeError):
    pass


# The first line of an AddressSanitizer, LeakSanitizer or ThreadSanitizer report, and UBSan's
# "FILE:LINE:COL: runtime error: ..." line. A report with exit status 0 (UBSan without
# halt_on_error) is still a failure.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "WARNING: ThreadSanitizer", ": runtime error: ")


def sanitizer_report(text):
    """The sanitizer report in a process's stderr `text` (from its first marker), or None."""
    starts = [i for i in (text.find(m) for m in SANITIZER_MARKERS) if i >= 0]
    if not starts:
        return None
    begin = text.rfind("\n", 0, min(starts)) + 1
    return text[begin:]


class Sim:
    def __init__(self, binary, yaml_text, timeout=10.0, control=None, extra_args=(), log_path=None):
        self._dir = tempfile.mkdtemp(prefix="simctl.")
        self.config_path = os.path.join(self._dir, "sim.yaml")
        with open(self.config_path, "w") as f:
            f.write(yaml_text)
        self.report_path = os.path.join(self._dir, "report.json")
        self.log_path = log_path or os.path.join(self._dir, "sim.log")
        args = [binary, "-c", self.config_path, "--report", self.report_path]
        if control:
            args += ["--control", control]
        args += list(extra_args)
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._log)
        self.report = None
        self._sock = None
        self._buf = b""
        try:
            self.ready = self._wait_ready(timeout)
        except Exception:
            self._kill()
            raise
        self.control = self.ready["control"]
        self.serial = self.ready.get("serial", {})
        self.tcp = self.ready.get("tcp", {})
        self.modems = self.ready.get("modems", {})
        self._connect(timeout)

    # -- start-up -------------------------------------------------------------------------
    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        line = b""
        fd = self.proc.stdout.fileno()
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise SimError("pollux-sim not ready within %.1fs; log: %s" % (timeout, self._tail()))
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                self.proc.wait(timeout=5)
                raise SimError("pollux-sim exited (%s) before ready: %s" % (self.proc.returncode, self._tail()))
            line += chunk
        ready = json.loads(line.decode())
        if not ready.get("ready"):
            raise SimError("unexpected first line: %r" % line)
        return ready

    def _text(self):
        """Everything the simulator wrote on stderr."""
        if not self._log.closed:
            self._log.flush()
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _tail(self):
        return self._text()[-2000:]

    def _connect(self, timeout):
        if self.control.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.connect(self.control[5:])
        else:
            host, port = self.control.rsplit(":", 1)
            s = socket.create_connection((host, int(port)), timeout=timeout)
        self._sock = s

    # -- control --------------------------------------------------------------------------
    def cmd(self, request, timeout=10.0):
        """Sends one request object, returns the response object."""
        self._sock.settimeout(timeout)
        self._sock.sendall((json.dumps(request) + "\n").encode())
        while b"\n" not in self._buf:
            chunk = self._sock.recv(65536)
            if not chunk:
                raise SimError("control connection closed")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line.decode())

    def check(self, request):
        """Like cmd, but raises SimError when the simulator refuses the request."""
        r = self.cmd(request)
        if not r.get("ok"):
            raise SimError("%s -> %s" % (request, r.get("error")))
        return r

    def stats(self):
        return self.check({"cmd": "stats"})

    def writes(self, device):
        return self.check({"cmd": "writes", "device": device})["writes"]

    def fault(self, device, fault, **kw):
        return self.check(dict({"cmd": "fault", "device": device, "fault": fault}, **kw))

    def clear(self, device=None, **kw):
        req = {"cmd": "clear"}
        if device:
            req["device"] = device
        req.update(kw)
        return self.check(req)

    def set(self, device, table, address, values=None, **typed):
        req = {"cmd": "set", "device": device, "table": table, "address": address}
        if values is not None:
            req["values"] = list(values)
        req.update(typed)
        return self.check(req)

    def close_port(self, line):
        return self.check({"cmd": "close_port", "line": line})

    def open_port(self, line):
        return self.check({"cmd": "open_port", "line": line})

    def modem_fault(self, modem, fault, **kw):
        return self.check(dict({"cmd": "modem", "modem": modem, "fault": fault}, **kw))

    def tcp_addr(self, server):
        host, port = self.tcp[server].rsplit(":", 1)
        return host, int(port)

    # -- shutdown -------------------------------------------------------------------------
    def stop(self, timeout=10.0):
        """SIGTERM, wait (bounded), return the exit report (dict). Raises SimError when the
        simulator does not exit in time, exits non-zero or prints a sanitizer report."""
        if self.report is not None:
            return self.report
        if self._sock:
            self._sock.close()
            self._sock = None
        if not terminate(self.proc, timeout):
            raise SimError("pollux-sim did not exit within %.1fs" % timeout)
        self.proc.stdout.close()
        self._log.close()
        if self.proc.returncode != 0:
            raise SimError("pollux-sim exited with %s: %s" % (self.proc.returncode, self._tail()))
        report = sanitizer_report(self._text())
        if report:
            raise SimError("pollux-sim printed a sanitizer report:\n%s" % report[:6000])
        with open(self.report_path) as f:
            self.report = json.load(f)
        return self.report

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.stop()
        except SimError:
            if exc[0] is None:
                raise
        return False
