"""A scratch MQTT broker for the northbound tests and benchmarks: Debian's mosquitto on a free
loopback port with its own config in a temporary directory (never the system service);
stopped and removed at the end, also when the test fails or the interpreter exits.

    from pollux_support.mosquitto import Broker
    with Broker() as broker:               # tcp://127.0.0.1:PORT
        broker.url
        broker.stop()                      # an outage: the port is kept
        broker.start()                     # the same broker again, same port and url
        broker.log_text()

    Broker(tls=True)                       # ssl://127.0.0.1:PORT with a test CA made by openssl:
        broker.ca_file                     #   the CA that signed the broker's certificate
        broker.client_cert_file, broker.client_key_file   # a client certificate of that CA
        broker.other_ca_file               #   a CA that signed nothing: a client trusting only
                                           #   it must fail
    Broker(tls=True, require_certificate=True)  # clients must present a certificate of the CA
    Broker(user="scada", password="secret")     # anonymous clients are refused

The broker's certificate names 127.0.0.1 and localhost. Binaries come from POLLUX_MOSQUITTO
(default /usr/sbin/mosquitto), mosquitto_passwd and openssl on PATH. Every wait is bounded.
"""

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time

from .node import free_port
from .process import read_text, run_checked, terminate

MOSQUITTO = os.environ.get("POLLUX_MOSQUITTO", "/usr/sbin/mosquitto")


class BrokerError(RuntimeError):
    pass


def _accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Broker:
    def __init__(self, tls=False, user=None, password=None, require_certificate=False,
                 timeout=10):
        self.tls = tls
        self.user = user
        self.password = password
        self.require_certificate = require_certificate
        self.timeout = timeout
        self.dir = tempfile.mkdtemp(prefix="pollux-mosquitto.")
        self.config_path = os.path.join(self.dir, "mosquitto.conf")
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        self.password_file = os.path.join(self.dir, "passwd") if user else None
        self.ca_file = self.other_ca_file = None
        self.cert_file = self.key_file = None
        self.client_cert_file = self.client_key_file = None
        self.proc = None
        self.port = None
        atexit.register(self.close)
        try:
            if user:
                self._run(["mosquitto_passwd", "-b", "-c", self.password_file, user, password])
            if tls:
                self._make_certificates()
            # A free port can be taken before the broker binds it: try another.
            for attempt in range(3):
                self.port = free_port()
                self._write_config()
                try:
                    self.start()
                    break
                except BrokerError:
                    if attempt == 2:
                        raise
        except BaseException:
            self.close()
            raise

    # -- set-up ---------------------------------------------------------------------------------
    def _run(self, args):
        run_checked(args, BrokerError, cwd=self.dir)

    def _path(self, name):
        return os.path.join(self.dir, name)

    def _make_certificates(self):
        # EC keys: made in milliseconds.
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"]
        ca_ext = ["-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=keyCertSign,cRLSign"]
        for name in ("ca", "other-ca"):
            self._run(["openssl", "req", "-x509"] + key + ca_ext +
                      ["-keyout", name + ".key", "-out", name + ".crt",
                       "-subj", "/CN=pollux-test-" + name])
        for name, ext in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                     "extendedKeyUsage=serverAuth\n"),
                          ("client", "extendedKeyUsage=clientAuth\n")):
            with open(self._path(name + ".ext"), "w") as f:
                f.write(ext)
            self._run(["openssl", "req"] + key[:-2] +
                      ["-keyout", name + ".key", "-out", name + ".csr",
                       "-subj", "/CN=" + ("localhost" if name == "server" else "pollux-client")])
            self._run(["openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt",
                       "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
                       "-extfile", name + ".ext", "-out", name + ".crt"])
        self.ca_file = self._path("ca.crt")
        self.other_ca_file = self._path("other-ca.crt")
        self.cert_file = self._path("server.crt")
        self.key_file = self._path("server.key")
        self.client_cert_file = self._path("client.crt")
        self.client_key_file = self._path("client.key")

    def _write_config(self):
        lines = ["listener %d 127.0.0.1" % self.port,
                 "persistence false",
                 "log_dest file " + self.log_path,
                 "log_type all"]
        if os.geteuid() == 0:
            # As root mosquitto would switch to its own user, who cannot read this directory.
            lines.append("user root")
        if self.user:
            lines += ["allow_anonymous false", "password_file " + self.password_file]
        else:
            lines.append("allow_anonymous true")
        if self.tls:
            lines += ["cafile " + self.ca_file, "certfile " + self.cert_file,
                      "keyfile " + self.key_file]
            if self.require_certificate:
                lines.append("require_certificate true")
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    # -- running --------------------------------------------------------------------------------
    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("ssl" if self.tls else "tcp", self.port)

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        """Starts the broker (again, on the same port) and waits until it accepts connections.
        Right after stop() the port may still be held a moment: retried within the timeout."""
        if self.running:
            return
        deadline = time.monotonic() + self.timeout
        while True:
            with open(self.log_path, "a") as log:
                self.proc = subprocess.Popen([MOSQUITTO, "-c", self.config_path],
                                             stdout=subprocess.DEVNULL, stderr=log,
                                             cwd=self.dir)
            while time.monotonic() < deadline and self.proc.poll() is None:
                if _accepts(self.port):
                    return
                time.sleep(0.02)
            self._halt()
            if time.monotonic() >= deadline:
                raise BrokerError("mosquitto did not start on port %d:\n%s" % (
                    self.port, self.log_text()[-3000:]))
            time.sleep(0.1)

    def _halt(self, timeout=5):
        if self.proc is not None:
            terminate(self.proc, timeout)
            self.proc = None

    def stop(self):
        """Stops the broker (SIGTERM, SIGKILL after 5 s); its port and files are kept for
        start(). Clients see their connections close."""
        self._halt()

    def kill(self):
        """SIGKILL: the broker dies without closing anything cleanly."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def log_text(self):
        return read_text(self.log_path)

    def close(self):
        """Stops the broker and removes its directory. Idempotent."""
        self._halt()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
        atexit.unregister(self.close)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
