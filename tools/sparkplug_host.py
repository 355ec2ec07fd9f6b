#!/usr/bin/python3
"""A tiny Sparkplug B host for the demo (docs/northbound.md): subscribes to spBv1.0/{group}/# on
a broker and prints every message it receives, one line each, decoded with the project's own
schema (src/northbound/sparkplug_b.proto, compiled by protoc when it starts).

    tools/sparkplug_host.py --url tcp://127.0.0.1:18830 --group Demo [--seconds N] [--check]

With --check it exits 0 only when it saw an NBIRTH, a DBIRTH and a DDATA within --seconds, and
1 otherwise (the demo's short mode). It needs Debian's python3-paho-mqtt and python3-protobuf
(tools/setup.sh installs them).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "support"))
from pollux_support.sparkplug import Host  # noqa: E402


def line(m):
    if m.type == "STATE":
        return "STATE %s %s" % (m.host_id, m.state)
    if m.error:
        return "%s %s/%s: %s" % (m.type, m.edge_node, m.device or "", m.error)
    where = m.edge_node + ("/" + m.device if m.device else "")
    head = "%-6s %-16s seq=%-3s" % (m.type, where, "-" if m.seq is None else m.seq)
    if m.bd_seq is not None:
        head += " bdSeq=%s" % m.bd_seq
    values = []
    for x in m.metrics:
        if x["name"] == "bdSeq":
            continue
        v = x["value"]
        text = "%.2f" % v if isinstance(v, float) else str(v)
        if x.get("is_historical"):
            text += "(historical)"
        values.append("%s=%s" % (x["name"], text))
    shown = " ".join(values)
    return head + " " + (shown if len(shown) < 160 else shown[:157] + "...")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="tcp://127.0.0.1:1883")
    p.add_argument("--group", required=True)
    p.add_argument("--seconds", type=float, default=0, help="0: until interrupted")
    p.add_argument("--check", action="store_true")
    a = p.parse_args()
    host = None
    deadline = time.monotonic() + a.seconds if a.seconds else None
    # The broker may start after the host: try again until it answers.
    while host is None:
        try:
            host = Host(a.url, a.group, timeout=5)
        except (AssertionError, OSError) as e:
            if deadline and time.monotonic() > deadline:
                print("sparkplug host: no broker at %s: %s" % (a.url, e), flush=True)
                return 1
            time.sleep(1)
    print("sparkplug host: subscribed to spBv1.0/%s/# on %s" % (a.group, a.url), flush=True)
    shown = 0
    seen = set()
    asked = set()
    try:
        while deadline is None or time.monotonic() < deadline:
            messages = host.messages
            for m in messages[shown:]:
                print(line(m), flush=True)
                seen.add(m.type)
                # Data from an edge node whose births this host missed (it started later):
                # ask for them once, as a Sparkplug host does (NCMD Node Control/Rebirth).
                if m.type in ("DDATA", "NDATA") and any(x["name"] is None for x in m.metrics) \
                        and m.edge_node not in asked:
                    asked.add(m.edge_node)
                    host.rebirth(m.edge_node)
            shown = len(messages)
            if a.check and {"NBIRTH", "DBIRTH", "DDATA"} <= seen:
                return 0
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        host.close()
    return 0 if not a.check else 1


if __name__ == "__main__":
    sys.exit(main())
