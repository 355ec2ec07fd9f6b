"""The soak's field (issue 24, tools/soak): pollux-sim with a few hundred RTUs on serial ptys, a
modem and Modbus TCP gateways, a master/backup pair with history and Sparkplug B northbound,
a scratch mosquitto, and the peer link routed through a TCP proxy the driver can blackhole.
Each node's directory (its history store and northbound state file) is a size-limited tmpfs
when the driver can mount one (root), so that the store can be made full and freed again.

Every device serves the same two registers, so that the checkers know what was served:
  holding 0  C  uint16 counter, +1 every second since the simulator started
  holding 1  W  writable; the driver writes unique values and compares with the write log
"""

import errno
import os
import shutil
import signal
import subprocess
import tempfile
import time

from pollux_support.mosquitto import Broker
from pollux_support.node import Node, free_port
from pollux_support.proxy import TcpProxy
from pollux_support.sim import Sim

GROUP = "Soak"
EDGE = "FE1"
HEARTBEAT_MS = 300
FAILOVER_MS = 2000
STARTUP_MS = 3000
POLL_MS = 1000
MODEM_POLL_MS = 3000
SERIAL_PER_LINE = 8
TCP_PER_SERVER = 50
SERIAL_TIMEOUT_MS = 300
# Each node's directory when it is a tmpfs: far more than an hour's history of the field needs.
NODE_FS_MB = 1024


class Layout:
    """Which device sits where: `serial` lines of 8 (each device also behind the TCP gateway TS
    as its first failover), two devices behind one modem number (TS too), the rest on TCP
    gateways of 50."""

    def __init__(self, n_devices, n_lines=4):
        self.serial = {}        # line id -> [device ids]
        self.modem = []         # device ids behind M0's number
        self.tcp = {}           # server id -> [device ids]
        self.unit = {}          # device id -> unit id (unique per line/server)
        self.path = {}          # device id -> "serial:L", "modem:M0", "tcp:T"
        n_lines = max(0, min(n_lines, (n_devices - 2) // SERIAL_PER_LINE))
        unit = 1
        i = 0
        for li in range(n_lines):
            lid = "L%d" % li
            self.serial[lid] = []
            for _ in range(SERIAL_PER_LINE):
                d = "S%03d" % i
                self.serial[lid].append(d)
                self.unit[d] = unit
                self.path[d] = "serial:" + lid
                unit += 1
                i += 1
        for k in range(2 if n_devices - i >= 2 else 0):
            d = "M%03d" % k
            self.modem.append(d)
            self.unit[d] = unit
            self.path[d] = "modem:M0"
            unit += 1
            i += 1
        rest = n_devices - i
        for k in range(rest):
            sid = "T%d" % (k // TCP_PER_SERVER)
            d = "D%03d" % k
            self.tcp.setdefault(sid, []).append(d)
            self.unit[d] = k % TCP_PER_SERVER + 1
            self.path[d] = "tcp:" + sid

    @property
    def devices(self):
        return list(self.unit)

    def gateway_devices(self):
        """Devices also reachable through TS (the serial and modem devices' failover path)."""
        return [d for ds in self.serial.values() for d in ds] + self.modem

    def sim_yaml(self):
        out = ["devices:"]
        for d, u in self.unit.items():
            out.append("  - { id: %s, unit: %d, size: 8, registers: [ { table: holding, address: 0, "
                       "type: uint16, counter: { start: 0, step: 1, interval_ms: 1000 } }, "
                       "{ table: holding, address: 1, words: [0] } ] }" % (d, u))
        out.append("serial:")
        for lid, ds in self.serial.items():
            # turnaround: the overlap detector needs a busy window (sim/README.md).
            out.append("  - { id: %s, turnaround_ms: 10, devices: [%s] }" % (lid, ", ".join(ds)))
        out.append("tcp:")
        gw = self.gateway_devices()
        if gw:
            out.append("  - { id: TS, protocol: modbus-tcp, devices: [%s] }" % ", ".join(gw))
        for sid, ds in self.tcp.items():
            out.append("  - { id: %s, protocol: modbus-tcp, devices: [%s] }" % (sid, ", ".join(ds)))
        if self.modem:
            out.append("modems:")
            out.append("  - { id: M0, dial_ms: 200, guard_ms: 200, numbers: { \"5550001\": [%s] } }"
                       % ", ".join(self.modem))
        return "\n".join(out) + "\n"


def node_yaml(layout, sim, name, mode, link, link_alt, broker_url, dirpath):
    """One member's config. `link` and `link_alt` are host:port: the master listens there, the
    backup connects there (the proxies' ports): two peer links (redundancy.md "Partitions")."""
    alt = "listen_alt" if mode == "master" else "master_alt"
    red = ("redundancy: { mode: %s, %s: %s, %s: %s, psk: \"${SOAK_PSK}\", "
           "heartbeat_interval_ms: %d, failover_timeout_ms: %d, recovery: automatic, "
           "standby: warm, startup_allowance_ms: %d, history: full }"
           % (mode, "listen" if mode == "master" else "master", link, alt, link_alt,
              HEARTBEAT_MS, FAILOVER_MS, STARTUP_MS))
    out = ["node: { name: %s }" % name,
           "api:",
           "  listen: 127.0.0.1:API_PORT",
           "  tokens:",
           "    - { name: soak, token: \"${SOAK_TOKEN}\", role: admin }",
           red,
           "history: { backend: sqlite, path: %s, retention_days: 0, deadband: 0 }"
           % os.path.join(dirpath, "history.db"),
           "northbound:",
           "  mqtt: { url: %s, keepalive_s: 5 }" % broker_url,
           "  sparkplug: { group_id: %s, edge_node_id: %s }" % (GROUP, EDGE),
           "  state_path: %s" % os.path.join(dirpath, "northbound.state"),
           "channels:"]
    for lid in layout.serial:
        out.append("  - { id: COM_%s, type: serial, protocol: modbus-rtu, port: %s, "
                   "message_timeout_ms: %d, poll_attempts: 1 }" % (lid, sim.serial[lid], SERIAL_TIMEOUT_MS))
    if layout.modem:
        out.append("  - { id: MODEM0, type: modem, protocol: modbus-rtu, port: %s, init: ATZ, "
                   "dial_timeout_s: 5, idle_hangup_s: 30, message_timeout_ms: 500, "
                   "poll_attempts: 1 }" % sim.modems["M0"])
    out.append("  - { id: NET, type: tcp, protocol: modbus-tcp, message_timeout_ms: 500, "
               "poll_attempts: 1 }")
    out.append("devices:")
    gw = sim.tcp_addr("TS") if layout.gateway_devices() else None
    for d, u in layout.unit.items():
        kind, where = layout.path[d].split(":")
        if kind == "serial":
            comm = ("primary: { channel: COM_%s, initial_fail_s: 2, subsequent_fail_s: 2 }, "
                    "first_failover: { channel: NET, host: %s, port: %d, retry_primary_s: 20 }"
                    % (where, gw[0], gw[1]))
            interval = POLL_MS
        elif kind == "modem":
            comm = ("primary: { channel: MODEM0, phone: \"5550001\", initial_fail_s: 8, "
                    "subsequent_fail_s: 8 }, first_failover: { channel: NET, host: %s, port: %d, "
                    "retry_primary_s: 30 }" % gw)
            interval = MODEM_POLL_MS
        else:
            host, port = sim.tcp_addr(where)
            comm = "primary: { channel: NET, host: %s, port: %d }" % (host, port)
            interval = POLL_MS
        out.append("  - id: %s\n    unit: %d\n    comm: { %s }\n    writable: [W]" % (d, u, comm))
        out.append("    polls:\n      - name: g\n        interval_ms: %d\n        points:" % interval)
        out.append("          - { name: C, table: holding, address: 0, type: uint16 }")
        out.append("          - { name: W, table: holding, address: 1, type: uint16 }")
    return "\n".join(out) + "\n"


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def limited_fs_available():
    """Whether this driver can mount a size-limited filesystem (a tmpfs: root only), which the
    history_full fault needs."""
    if os.geteuid() != 0:
        return False
    d = tempfile.mkdtemp(prefix="pollux-soak-fs.")
    try:
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d],
                          capture_output=True).returncode != 0:
            return False
        subprocess.run(["umount", d], capture_output=True)
        return True
    finally:
        os.rmdir(d)


class Field:
    """Starts and owns everything; close() ends it all (also on errors). `limited_fs`: each
    node's directory on a tmpfs of NODE_FS_MB, for fill_store()/free_store()."""

    def __init__(self, build, n_devices, workdir, log=print, limited_fs=False):
        self.log = log
        self.dir = workdir
        self.limited_fs = limited_fs
        self.mounts = []
        self.pollux = os.path.join(build, "src", "app", "pollux")
        self.sim_bin = os.path.join(build, "sim", "pollux-sim")
        for b in (self.pollux, self.sim_bin):
            if not os.access(b, os.X_OK):
                raise SystemExit("no executable %s (--build)" % b)
        self.layout = Layout(n_devices)
        self.token = "soak-token-%x" % (os.getpid() * 7919)
        self.env = {"SOAK_PSK": "soak-pair-key-%x" % os.getpid(), "SOAK_TOKEN": self.token}
        self.sim = self.broker = self.proxy = self.proxy_alt = None
        self.nodes = {}
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self):
        self.sim = Sim(self.sim_bin, self.layout.sim_yaml(), timeout=30,
                       log_path=os.path.join(self.dir, "sim.log"))
        self.sim_t0 = time.time() - self.sim.cmd({"cmd": "ping"})["time_ms"] / 1000.0
        self.broker = Broker()
        self.link_port = free_port()
        self.proxy = TcpProxy(self.link_port).start()
        self.link_alt_port = free_port()
        self.proxy_alt = TcpProxy(self.link_alt_port).start()
        addr = "127.0.0.1:%d"
        for name, mode, link, alt in (
                ("fe-a", "master", addr % self.link_port, addr % self.link_alt_port),
                ("fe-b", "backup", addr % self.proxy.port, addr % self.proxy_alt.port)):
            d = os.path.join(self.dir, name)
            os.makedirs(d, exist_ok=True)
            if self.limited_fs:
                subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % NODE_FS_MB, "tmpfs", d],
                               check=True, capture_output=True)
                self.mounts.append(d)
            text = node_yaml(self.layout, self.sim, name, mode, link, alt, self.broker.url, d)
            n = Node(text, name=name, prefix=os.path.join(self.dir, name + ".run."), binary=self.pollux,
                     startup_timeout=30, env=self.env)
            self.nodes[name] = n
            self.log("%s started (pid %d, API %s, log %s)" % (name, n.proc.pid, n.base, n.log_path))

    # -- node faults ---------------------------------------------------------------------------
    def kill9(self, name):
        n = self.nodes[name]
        n.proc.send_signal(signal.SIGKILL)
        n.proc.wait()
        n.log.close()

    def sigstop(self, name):
        self.nodes[name].proc.send_signal(signal.SIGSTOP)

    def sigcont(self, name):
        self.nodes[name].proc.send_signal(signal.SIGCONT)

    def terminate(self, name):
        n = self.nodes[name]
        n.proc.send_signal(signal.SIGTERM)
        try:
            n.proc.wait(timeout=15)
        except Exception:
            n.proc.kill()
            n.proc.wait()
        n.log.close()
        return n.proc.returncode

    def start_node(self, name):
        self.nodes[name].start()

    # -- the history store full, then freed -----------------------------------------------------
    def ballast(self, name):
        return os.path.join(self.dir, name, "ballast")

    def fill_store(self, name):
        """Fills the node's filesystem to the last block: its history writes then fail with
        "database or disk is full" (history.md "Faults": retried, the records stay queued)."""
        fd = os.open(self.ballast(name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for chunk in (1 << 20, 1 << 12):
                block = bytes(chunk)
                try:
                    while os.write(fd, block) > 0:
                        pass
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
        finally:
            os.close(fd)

    def free_store(self, name):
        try:
            os.remove(self.ballast(name))
        except FileNotFoundError:
            pass

    def close(self):
        """Ends everything; the nodes' exit codes on SIGTERM ({name: code})."""
        codes = {}
        for n in self.nodes.values():
            try:
                if n.proc and n.proc.poll() is None:
                    n.proc.send_signal(signal.SIGCONT)
                    codes[n.name] = n.stop(timeout=15)
            except Exception as e:  # the report already shows what went wrong
                codes[n.name] = str(e)
                self.log("stopping %s: %s" % (n.name, e))
        for p in (self.proxy, self.proxy_alt):
            if p:
                p.stop()
        if self.broker:
            self.broker.close()
        if self.sim:
            try:
                self.sim.stop(timeout=15)
            except Exception as e:
                codes["pollux-sim"] = str(e)
                self.log("stopping the simulator: %s" % e)
        for d in self.mounts:
            # The stores outlive their tmpfs, for a look after a violation (removed with the
            # scratch directory after a clean run).
            shutil.copytree(d, d + ".store", ignore=shutil.ignore_patterns("ballast"),
                            dirs_exist_ok=True)
            subprocess.run(["umount", "-l", d], capture_output=True)
        self.mounts = []
        return codes


def make_workdir(keep):
    """The scratch directory, and the directory of every temporary file made from here on (the
    simulator's config and report, mosquitto's): removed whole after a clean run, kept whole
    after a violation."""
    d = tempfile.mkdtemp(prefix="pollux-soak.")
    tempfile.tempdir = d
    return d


def remove_workdir(d):
    shutil.rmtree(d, ignore_errors=True)
