"""The master/backup pair harness (spec/redundancy.md): two `pollux run` nodes, fe-a (master)
and fe-b (backup), polling one simulator over a serial line and a TCP endpoint, and a bounded
wait for the pair's activities. Used by the redundancy integration tests and by
tools/bench/takeover_bench.py.

    harness = PairHarness(sim, nodes)      # nodes: the list the test's teardown ends
    master, backup = harness.start()       # waits for active / standby, both authenticated
    harness.wait(master, backup, "standby", "active", timeout=5)

Timers are short (heartbeat 200 ms, failover_timeout 1200 ms) unless given.
"""

from . import node as node_module
from .node import free_port, wait_until

PSK = "test-pair-key-0123456789"
HEARTBEAT_MS = 200
FAILOVER_MS = 1200
POLL_MS = 200
# A restarted master meets its backup within a heartbeat interval (the backup's reconnect bound
# for a lost master); test_master_restarts.py runs the tight 1000 ms allowance. These tests keep
# a roomier one so that starting the two processes on a busy machine decides nothing.
STARTUP_MS = 2500

# Three RTUs: A and B on the serial line (with a turnaround, so that the simulator's overlap
# detector sees two masters on one pty), A and C on the TCP endpoint.
SIM_YAML = """devices:
  - id: A
    unit: 4
    registers:
      - {table: holding, address: 0, value: 31}
  - id: B
    unit: 5
    registers:
      - {table: holding, address: 0, value: 52}
  - id: C
    unit: 6
    registers:
      - {table: holding, address: 0, value: 73}
serial:
  - { id: L1, turnaround_ms: 40, devices: [A, B] }
tcp:
  - { id: T1, protocol: modbus-tcp, devices: [A, C] }
"""


class PairNode(node_module.Node):
    """A member of the pair, named after its node (fe-a, fe-b) in its files and messages."""

    def __init__(self, name, config_text):
        super().__init__(config_text, name=name, prefix="pollux-pair.")


def pair_yaml(sim, name, mode, link_port, psk=PSK, recovery="automatic", standby="cold",
              extra_point="", overrides=True, tcp_device=False, heartbeat_ms=HEARTBEAT_MS,
              failover_ms=FAILOVER_MS, poll_ms=POLL_MS, startup_ms=STARTUP_MS, writable=False,
              alt_port=None):
    """One member's config against a simulator started from SIM_YAML: A (serial primary, TCP
    first failover; its V writable when `writable`), B (serial; disabled on the backup by an
    override), C (TCP) when `tcp_device`. `alt_port`: the second peer link (the master's
    listen_alt, the backup's master_alt)."""
    host, port = sim.tcp_addr("T1")
    red = ("redundancy: { mode: %s, %s: 127.0.0.1:%d, psk: \"%s\", heartbeat_interval_ms: %d, "
           "failover_timeout_ms: %d, recovery: %s, standby: %s, startup_allowance_ms: %d }"
           % (mode, "listen" if mode == "master" else "master", link_port, psk, heartbeat_ms,
              failover_ms, recovery, standby, startup_ms))
    if alt_port:
        red = red[:-2] + ", %s: 127.0.0.1:%d }" % (
            "listen_alt" if mode == "master" else "master_alt", alt_port)
    out = ["node: { name: %s }" % name, "api: { listen: 127.0.0.1:API_PORT }", red,
           "channels:",
           "  - { id: COM1, type: serial, protocol: modbus-rtu, port: %s, message_timeout_ms: 200, "
           "poll_attempts: 1 }" % sim.serial["L1"],
           "  - { id: NET1, type: tcp, protocol: modbus-tcp, message_timeout_ms: 300 }",
           "devices:",
           "  - id: A\n    unit: 4\n    comm: { primary: { channel: COM1, initial_fail_s: 0.3 }, "
           "first_failover: { channel: NET1, host: %s, port: %d, retry_primary_s: 5 } }" % (host, port),
           "    writable: [V]" if writable else None,
           "    polls:\n      - name: g\n        interval_ms: %d\n        points:" % poll_ms,
           "          - { name: V, table: holding, address: 0, type: uint16 }",
           "  - id: B\n    unit: 5\n    comm: { primary: { channel: COM1 } }",
           "    polls:\n      - name: g\n        interval_ms: %d\n        points:" % poll_ms,
           "          - { name: V, table: holding, address: 0, type: uint16 }"]
    if extra_point:
        out.append("          - " + extra_point)
    if tcp_device:
        out += ["  - id: C\n    unit: 6\n    comm: { primary: { channel: NET1, host: %s, port: %d } }"
                % (host, port),
                "    polls:\n      - name: g\n        interval_ms: %d\n        points:" % poll_ms,
                "          - { name: V, table: holding, address: 0, type: uint16 }"]
    if overrides:
        out += ["backup_overrides:", "  devices:", "    B: { unit: 5, enabled: false }"]
    return "\n".join(line for line in out if line is not None) + "\n"


class PairHarness:
    """Starts the pair's members against `sim` on a free link port, appending each to `nodes`
    (the list whose members the caller's teardown stops). `defaults` are pair_yaml keywords
    applied to every member (a benchmark's timers)."""

    def __init__(self, sim, nodes, **defaults):
        self.sim = sim
        self.nodes = nodes
        self.defaults = defaults
        self.link_port = free_port()

    def node(self, name, mode, **kw):
        # Ports are picked free but bound later; other programs on the machine may take one in
        # between. Only that is retried, with fresh ports.
        for attempt in range(3):
            try:
                n = PairNode(name, pair_yaml(self.sim, name, mode, self.link_port,
                                             **dict(self.defaults, **kw)))
                break
            except AssertionError as e:
                if "Address already in use" not in str(e) or attempt == 2:
                    raise
                if mode == "master":
                    self.link_port = free_port()
        self.nodes.append(n)
        return n

    def start(self, **kw):
        master = self.node("fe-a", "master", **kw)
        backup = self.node("fe-b", "backup", **kw)
        self.wait(master, backup, "active", "standby")
        return master, backup

    def wait(self, master, backup, m_act, b_act, timeout=8):
        return wait_pair(master, backup, m_act, b_act, timeout)


def wait_pair(master, backup, m_act, b_act, timeout=8, context=lambda: ""):
    """Waits until the master's and the backup's activities are `m_act` and `b_act` and both
    peers are authenticated; returns both GET /api/v1/redundancy answers. On a timeout the
    error shows both answers and `context()` (e.g. the nodes' logs)."""
    def ok():
        rm, rb = master.red(), backup.red()
        good = (rm["activity"] == m_act and rb["activity"] == b_act and
                rm["peer"]["authenticated"] and rb["peer"]["authenticated"])
        return (rm, rb) if good else None
    try:
        return wait_until(ok, timeout, what="master %s / backup %s" % (m_act, b_act))
    except AssertionError as e:
        raise AssertionError("%s\nmaster: %s\nbackup: %s\n%s"
                             % (e, master.red(), backup.red(), context()))
