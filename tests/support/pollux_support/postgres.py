"""A scratch PostgreSQL server for the history tests and benchmarks (Debian's postgresql 15): a
fresh cluster in a temporary directory, listening on a free loopback port (its unix socket in
that directory), trust authentication, one database; stopped and removed at the end, also when
the test fails.

    from pollux_support.postgres import Postgres
    with Postgres() as pg:
        url = pg.url       # postgresql://pollux@127.0.0.1:PORT/pollux
        pg.log_text()      # the server's log
        pg.halt()          # an outage: the server stops, its data and port are kept
        pg.resume()        # the same server again (same data, same port and url)

PostgreSQL refuses to run as root, which CI is: then initdb and the server run as the
`postgres` user (runuser), in a directory handed to that user. `durable=False` turns fsync off
(tests: faster, nothing to keep); benchmarks keep the server's defaults. The binaries come from
POLLUX_PG_BIN, default /usr/lib/postgresql/15/bin.
"""

import os
import pwd
import shutil
import signal
import tempfile
import time

from .node import free_port
from .process import read_text, run_checked

PG_BIN = os.environ.get("POLLUX_PG_BIN", "/usr/lib/postgresql/15/bin")


class PostgresError(RuntimeError):
    pass


class Postgres:
    def __init__(self, database="pollux", user="pollux", durable=True, timeout=60):
        self.dir = tempfile.mkdtemp(prefix="pollux-pg.")
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "server.log")
        self.database = database
        self.user = user
        self.timeout = timeout
        self.port = None
        self._as = []
        self._running = False
        try:
            if os.geteuid() == 0:
                pw = pwd.getpwnam("postgres")
                os.chown(self.dir, pw.pw_uid, pw.pw_gid)
                self._as = ["runuser", "-u", "postgres", "--"]
            self._run(["initdb", "-D", self.data, "-U", user, "-A", "trust", "-E", "UTF8",
                       "--locale=C", "--no-sync"])
            self._options = "-c listen_addresses=127.0.0.1 -k %s" % self.dir
            if not durable:
                self._options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            # A free port can be taken before the server binds it: try another.
            for attempt in range(3):
                self.port = free_port()
                try:
                    self._start()
                    break
                except PostgresError:
                    if attempt == 2:
                        raise
            self._run([os.path.join(PG_BIN, "createdb"), "-h", "127.0.0.1", "-p",
                       str(self.port), "-U", user, database], as_postgres=False)
        except BaseException:
            self.stop()
            raise
        self.url = "postgresql://%s@127.0.0.1:%d/%s" % (user, self.port, database)

    def _run(self, args, as_postgres=True):
        if as_postgres:
            args = self._as + [os.path.join(PG_BIN, args[0])] + args[1:]
        run_checked(args, PostgresError, cwd=self.dir, timeout=self.timeout + 10,
                    context=self.log_text())

    def _start(self):
        self._run(["pg_ctl", "-D", self.data, "-l", self.log_path, "-w", "-t", str(self.timeout),
                   "-o", "-p %d %s" % (self.port, self._options), "start"])
        self._running = True

    def halt(self):
        """Stops the server (fast shutdown: clients are disconnected) and keeps its data
        directory, for resume(): a database outage."""
        if self._running:
            self._run(["pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop"])
            self._running = False

    def resume(self):
        """Starts a halted server again on the same data and port (the same url)."""
        if not self._running:
            self._start()

    def log_text(self):
        return read_text(self.log_path)

    def stop(self):
        """Stops the server (fast shutdown; killed if that fails) and removes its directory."""
        if self._running:
            self._running = False
            try:
                self._run(["pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop"])
            except PostgresError:
                self._kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _kill(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                pid = int(f.readline())
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.05)
        except (OSError, ValueError):
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
