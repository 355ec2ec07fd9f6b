#!/usr/bin/env python3
"""Northbound's cost to polling (northbound issue, Performance): the real `pollux run` against
`pollux-sim`, the history engine benchmark's load (N TCP devices at a 1 s scan, ten holding
registers each, every value changing at every poll: 10 x N metric values/s), run with no
`northbound:` section and publishing Sparkplug B to a scratch mosquitto, alternately
(off, on, off, on, ...) so both see the same machine.

Figures per mode (medians over --runs, the spread in brackets): Pollux CPU as % of one core
over the window (all its threads: Paho's included), p50/p99 lateness of poll start against its
due time (pollux_scheduler_lateness_seconds); with the northbound: p50/p99 of
pollux_northbound_publish_seconds (poll result to the MQTT client having written the DDATA to
its socket; QoS 0, northbound.md settled details), quantiles from the buckets' differences
over the window, and the metric values/s a subscriber received (counted in the DDATA payloads).
Goals: CPU with the northbound <= 1.3x without, publish p99 <= 50 ms.

--outage S (with the northbound, after the window): the broker is stopped for S seconds
(store_and_forward.max_records --max-records holds them), started again; then the node
reconnects (its backoff is up to 10 s, so that wait is reported apart) and drains. Figures:
held values when publishing resumed (pollux_northbound_held_records, sampled through
GET /api/v1/northbound), the time from then until held is 0, the net drain rate (held at
resume / time to 0: new changes queue behind the held ones meanwhile, so it is the rate above
the live load), the gross rate (values the subscriber received in that time / time), and the
lateness p99 during the drain. Goal: the net rate >= 100,000 values/s with lateness on time.

The Paho floor, after each run with the northbound: tools/bench/paho_floor on Pollux's CPU
publishes the DDATA stream the subscriber just received (one of its payloads, at its rate,
over as many topics) through Paho alone, to a fresh broker with the same subscriber: its CPU
added to the run without the northbound is the least CPU ratio on/off any Paho publisher of
that stream can reach. Then as fast as 64 messages in flight allow (Pollux's drain window):
the values/s the broker and subscriber of this machine pass, less the live load, bound the net
drain rate from above. Both are printed beside the goals.

Pinning as engine_bench: Pollux (every thread) on CPU 0; the simulator, the broker, the
subscriber (mosquitto_sub, read by a thread of this script that counts the metrics of each
DDATA) and this script on CPU 1.
"""

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "support"))
import engine_bench as eb  # noqa: E402
from history_engine_bench import changing_sim_yaml  # noqa: E402
from pollux_support import mosquitto  # noqa: E402

GOAL_RATIO = 1.3
GOAL_PUBLISH_P99_MS = 50.0
GOAL_DRAIN = 100000.0
GOAL_LATENESS_P99_MS = 10.0  # engine benchmark's "on time"
SUB_ID = "northbound-bench-sub"
DDATA_SENT = 'pollux_northbound_messages_total{type="DDATA"}'
MOSQUITTO_SUB = os.environ.get("POLLUX_MOSQUITTO_SUB", "mosquitto_sub")


class Broker(mosquitto.Broker):
    """The scratch broker without its debug log: log_type all writes two lines per message,
    which at 10,000 messages/s is most of the broker's work and disk. Connections are still
    logged (the subscriber's start is seen there)."""

    def _write_config(self):
        super()._write_config()
        with open(self.config_path) as f:
            text = f.read()
        with open(self.config_path, "w") as f:
            f.write(text.replace("log_type all\n", "log_type error\nlog_type warning\n"
                                 "log_type notice\nlog_type information\n"))


def parse_histogram(text, name):
    buckets = []
    prefix = name + "_bucket{"
    for line in text.splitlines():
        if line.startswith(prefix):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            buckets.append((float("inf") if le == "+Inf" else float(le),
                            int(float(line.split()[-1]))))
    return buckets


def count_metrics(payload):
    """Metrics in a Sparkplug B Payload: its field 2 entries, found by walking the top-level
    protobuf fields (timestamp 1, metrics 2, seq 3, uuid 4, body 5) without decoding them."""
    i, n, count = 0, len(payload), 0
    while i < n:
        tag, shift = 0, 0
        while True:
            b = payload[i]
            i += 1
            tag |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        wire = tag & 7
        if wire == 0:
            while payload[i] >= 0x80:
                i += 1
            i += 1
        elif wire == 2:
            length, shift = 0, 0
            while True:
                b = payload[i]
                i += 1
                length |= (b & 0x7F) << shift
                shift += 7
                if b < 0x80:
                    break
            i += length
            if tag >> 3 == 2:
                count += 1
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("wire type %d" % wire)
    return count


class Subscriber:
    """mosquitto_sub on spBv1.0/# printing "topic hex-payload" per message; a thread counts
    messages by type and the metric values of each DDATA. The broker always has a consumer,
    as a control room's host would be."""

    def __init__(self, broker):
        self.lock = threading.Lock()
        self.messages = {}
        self.ddata_values = 0
        self.ddata_bytes = 0
        self.sample = None  # one DDATA payload (hex) received, for paho_floor's stream
        self.proc = None
        self.thread = None
        self.broker = broker

    def start(self):
        self.proc = subprocess.Popen(
            [MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", str(self.broker.port), "-t", "spBv1.0/#",
             "-F", "%t %x", "-i", SUB_ID],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=1 << 20)
        self.thread = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self.thread.start()

    def _read(self, proc):
        for line in proc.stdout:
            topic, _, hexed = line.rstrip(b"\n").partition(b" ")
            parts = topic.split(b"/")
            kind = parts[2].decode() if len(parts) > 2 else "?"
            values = count_metrics(bytes.fromhex(hexed.decode())) if kind == "DDATA" else 0
            with self.lock:
                self.messages[kind] = self.messages.get(kind, 0) + 1
                self.ddata_values += values
                if kind == "DDATA":
                    self.ddata_bytes += len(hexed) // 2
                    if self.sample is None and values == 10:
                        self.sample = hexed.decode()

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.thread.join(timeout=5)
        self.proc = None

    def counts(self):
        with self.lock:
            return self.ddata_values, dict(self.messages)

    def bytes_per_ddata(self):
        with self.lock:
            return self.ddata_bytes / max(1, self.messages.get("DDATA", 0))

    def start_connected(self, timeout=10):
        """Starts mosquitto_sub and waits until the broker logs its connection (it prints
        nothing itself), so no message of the window is missed."""
        seen = self.broker.log_text().count(" as %s " % SUB_ID)
        self.start()
        if not wait_for(lambda: self.broker.log_text().count(" as %s " % SUB_ID) > seen,
                        timeout, interval=0.05):
            raise RuntimeError("mosquitto_sub did not connect: " + self.broker.log_text()[-500:])


def wait_for(pred, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    return None


def run(env, n, broker, state_dir):
    a = env.args

    def node_text(sim):
        text = eb.tcp_node_yaml(sim, n, 1000)
        if broker:
            text += ("northbound:\n  mqtt: { url: %s }\n  sparkplug: { group_id: Bench, "
                     "edge_node_id: FE }\n  store_and_forward: { max_records: %d }\n"
                     "  state_path: %s/nb.state\n" % (broker.url, a.max_records, state_dir))
        return text

    sub = None
    if broker:
        sub = Subscriber(broker)
        sub.start_connected()
    try:
        sim, node = env.start(changing_sim_yaml(n), node_text, 60 + n / 100)
    except BaseException:
        if sub:
            sub.stop()
        raise
    res = {}
    try:
        eb.wait_warm(sim, node, n)
        if broker and not wait_for(lambda: node.get("/api/v1/northbound")["connected"], 30):
            raise RuntimeError("the node did not connect to the broker: " + node.tail())
        time.sleep(a.warmup)
        m0 = node.get("/metrics", raw=True)
        v0 = sub.counts() if sub else (0, {})
        a0, t0, c0 = eb.sim_responses(sim), time.monotonic(), eb.cpu_seconds(node.proc.pid)
        oc0, w0 = others_cpu(sim, broker, sub), eb.runq_wait_s(node.proc.pid)
        time.sleep(a.window)
        c1, t1, a1 = eb.cpu_seconds(node.proc.pid), time.monotonic(), eb.sim_responses(sim)
        oc1, w1 = others_cpu(sim, broker, sub), eb.runq_wait_s(node.proc.pid)
        v1 = sub.counts() if sub else (0, {})
        m1 = node.get("/metrics", raw=True)
        el = t1 - t0
        late0, late1 = eb.parse_lateness(m0), eb.parse_lateness(m1)
        res = {"cpu_pct": (c1 - c0) / el * 100, "p50_ms": eb.quantile(0.5, late0, late1) * 1000,
               "p99_ms": eb.quantile(0.99, late0, late1) * 1000, "tps": (a1 - a0) / el,
               "cpu1_others_pct": (oc1 - oc0) / el * 100, "rss_mb": eb.vm_hwm_mb(node.proc.pid),
               "runq_ms_per_s": (w1 - w0) / el * 1000}
        if broker:
            h0 = parse_histogram(m0, "pollux_northbound_publish_seconds")
            h1 = parse_histogram(m1, "pollux_northbound_publish_seconds")
            res.update({
                "pub_p50_ms": eb.quantile(0.5, h0, h1) * 1000,
                "pub_p99_ms": eb.quantile(0.99, h0, h1) * 1000,
                "values_per_s": (v1[0] - v0[0]) / el,
                "ddata_per_s": (v1[1].get("DDATA", 0) - v0[1].get("DDATA", 0)) / el,
                "bytes_per_ddata": sub.bytes_per_ddata(),
                "sample": sub.sample,
                "dropped": eb.metric_value(m1, "pollux_northbound_dropped_total"),
                "held_end": eb.metric_value(m1, "pollux_northbound_held_records")})
            if a.outage > 0:
                res.update(outage(env, node, sim, broker, sub))
    finally:
        if sub:
            sub.stop()
        eb.Env.finish(sim, node)
    return res


def paho_floor(env, rate, payload_hex, devices, seconds):
    """tools/bench/paho_floor on Pollux's CPU with a scratch broker and the same subscriber:
    `rate` DDATA/s of Pollux's own payload over `devices` topics (0: as fast as 64 in flight
    allow, as Pollux's drain). Its CPU figures, and the metric values/s the subscriber
    received over its window."""
    a = env.args
    with Broker() as broker:
        sub = Subscriber(broker)
        sub.start_connected()
        cmd = [a.paho_floor, "--url", broker.url, "--payload-hex", payload_hex,
               "--devices", str(devices), "--rate", "%.0f" % rate, "--window", "64",
               "--warmup", str(a.warmup), "--seconds", str(seconds)]
        if env.pin.ok:
            cmd += ["--cpu", str(env.pin.pollux_cpu)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(a.warmup)
            v0, t0 = sub.counts()[0], time.monotonic()
            time.sleep(seconds)
            v1, t1 = sub.counts()[0], time.monotonic()
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            sub.stop()
    if proc.returncode != 0 or not out.startswith("paho_floor "):
        raise RuntimeError("paho_floor failed (%s): %s" % (proc.returncode, (out + err)[-500:]))
    figures = dict(kv.split("=", 1) for kv in out.split()[1:])
    return {"cpu_pct": float(figures["cpu_pct"]), "us_per_msg": float(figures["cpu_us_per_msg"]),
            "msgs_per_s": float(figures["msgs_per_s"]), "values_per_s": (v1 - v0) / (t1 - t0)}


def others_cpu(sim, broker, sub):
    """CPU seconds of what shares CPU 1: simulator, broker, subscriber, this script."""
    total = eb.cpu_seconds(sim.proc.pid)
    for p in ((broker.proc if broker else None), (sub.proc if sub else None)):
        if p is not None and p.poll() is None:
            total += eb.cpu_seconds(p.pid)
    t = os.times()
    return total + t.user + t.system


def outage(env, node, sim, broker, sub):
    a = env.args
    broker.stop()
    sub.stop()
    time.sleep(a.outage)
    held_stop = node.get("/api/v1/northbound")["held"]
    broker.start()
    sub.start_connected()
    t_start = time.monotonic()
    # Publishing resumes at the reconnect (up to the 10 s backoff after the broker is back):
    # held at resume is the last count seen before it (births go first, so the drain has not
    # begun when the first connected sample is taken).
    held0 = held_stop
    while True:
        v = node.get("/api/v1/northbound")
        if v["connected"]:
            held0 = max(held0, v["held"])
            break
        held0 = v["held"]
        if time.monotonic() > t_start + 30:
            raise RuntimeError("no reconnect within 30 s of the broker's restart: " + node.tail())
        time.sleep(0.02)
    t_conn = time.monotonic()
    v0 = sub.counts()[0]
    c0, w0, a0 = eb.cpu_seconds(node.proc.pid), eb.runq_wait_s(node.proc.pid), eb.sim_responses(sim)
    m0 = node.get("/metrics", raw=True)
    samples = [(t_conn, v["held"])]
    deadline = t_conn + max(60.0, held0 / 20000.0)
    while samples[-1][1] > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        samples.append((time.monotonic(), node.get("/api/v1/northbound")["held"]))
    t_zero = samples[-1][0]
    c1, w1, a1 = eb.cpu_seconds(node.proc.pid), eb.runq_wait_s(node.proc.pid), eb.sim_responses(sim)
    m1 = node.get("/metrics", raw=True)
    v1 = sub.counts()[0]
    el = t_zero - t_conn
    late0, late1 = eb.parse_lateness(m0), eb.parse_lateness(m1)
    return {"held_at_stop_end": held_stop, "held_at_resume": held0,
            "reconnect_s": t_conn - t_start, "drain_s": el, "drained": samples[-1][1] == 0,
            "net_drain_per_s": held0 / el if el > 0 else float("nan"),
            "gross_drain_per_s": (v1 - v0) / el if el > 0 else float("nan"),
            "drain_late_p99_ms": eb.quantile(0.99, late0, late1) * 1000,
            "drain_cpu_pct": (c1 - c0) / el * 100 if el > 0 else float("nan"),
            "drain_runq_ms_per_s": (w1 - w0) / el * 1000 if el > 0 else float("nan"),
            "drain_tps": (a1 - a0) / el if el > 0 else float("nan"),
            "drain_ddata": eb.metric_value(m1, DDATA_SENT) - eb.metric_value(m0, DDATA_SENT),
            "outage_dropped": eb.metric_value(m1, "pollux_northbound_dropped_total")}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pollux", required=True)
    p.add_argument("--sim", required=True)
    p.add_argument("--devices", type=int, default=10000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--window", type=float, default=20.0)
    p.add_argument("--outage", type=float, default=0.0,
                   help="with the northbound, after the window: stop the broker this long")
    p.add_argument("--max-records", type=int, default=10000000,
                   help="store_and_forward.max_records (60 s x 100,000 values/s fit)")
    p.add_argument("--paho-floor", default=None,
                   help="tools/bench/paho_floor (default: beside --pollux in its build tree)")
    p.add_argument("--no-pin", action="store_true")
    args = p.parse_args()
    if args.paho_floor is None:
        build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(args.pollux))))
        args.paho_floor = os.path.join(build, "tools", "bench", "paho_floor")
    env = eb.Env(args)
    load0 = os.getloadavg()
    results = {"off": [], "on": [], "floor": [], "burst": []}
    for i in range(args.runs):
        results["off"].append(run(env, args.devices, None, None))
        env.pin.for_sim()  # the broker and subscriber start on the simulator's CPU
        with tempfile.TemporaryDirectory(prefix="northbound_bench.") as d, Broker() as broker:
            results["on"].append(run(env, args.devices, broker, d))
        on = results["on"][-1]
        if on.get("sample"):
            # The floor: Pollux's own DDATA stream, at its rate, through Paho alone; then as fast
            # as the broker and subscriber take it.
            results["floor"].append(paho_floor(env, on["ddata_per_s"], on["sample"], args.devices,
                                               args.window))
            results["burst"].append(paho_floor(env, 0, on["sample"], args.devices,
                                               min(args.window, 10.0)))
        print("run %d: off %.1f %% CPU, on %.1f %% CPU (%.0f values/s, publish p99 %.1f ms)%s"
              % (i + 1, results["off"][-1]["cpu_pct"], on["cpu_pct"], on["values_per_s"],
                 on["pub_p99_ms"],
                 "; outage: %d held, drained in %.1f s (%.0f values/s net)"
                 % (on["held_at_resume"], on["drain_s"], on["net_drain_per_s"])
                 if "drain_s" in on else ""), flush=True)
    env.pin.restore()

    def m(mode, key):
        vals = [r[key] for r in results[mode]]
        return statistics.median(vals), min(vals), max(vals)

    print("\nNorthbound on/off, %d TCP devices x 10 registers at 1 s, every value changing "
          "(medians of %d, [min-max]); pinning: %s" % (
              args.devices, args.runs, "pollux on CPU %s; pollux-sim, mosquitto, mosquitto_sub "
              "and this script on CPU %s" % (env.pin.pollux_cpu, env.pin.sim_cpu)
              if env.pin.ok else "off"))
    print("  %-4s %20s %22s %9s %16s %22s %10s %9s" % (
        "nb", "Pollux CPU %", "lateness p50/p99 ms", "txn/s", "publish p50 ms",
        "publish p99 ms", "values/s", "CPU1 %"))
    for mode in ("off", "on"):
        cpu, p99 = m(mode, "cpu_pct"), m(mode, "p99_ms")
        if mode == "on":
            pub = ("%16.2f %22s %10.0f" % (m(mode, "pub_p50_ms")[0],
                                           "%.2f [%.2f-%.2f]" % m(mode, "pub_p99_ms"),
                                           m(mode, "values_per_s")[0]))
        else:
            pub = "%16s %22s %10s" % ("-", "-", "-")
        print("  %-4s %20s %22s %9.0f %s %9.0f" % (
            mode, "%.1f [%.1f-%.1f]" % cpu,
            "%.2f / %.2f [%.2f-%.2f]" % ((m(mode, "p50_ms")[0],) + p99), m(mode, "tps")[0],
            pub, m(mode, "cpu1_others_pct")[0]))
    on = results["on"]
    print("  Pollux runnable but not running (CPU contention), ms per s: off %.0f, on %.0f"
          % (m("off", "runq_ms_per_s")[0], m("on", "runq_ms_per_s")[0]))
    print("  with the northbound: %.0f DDATA/s, VmHWM %.0f MB (off %.0f MB), held at the end "
          "%d, dropped %d" % (m("on", "ddata_per_s")[0], m("on", "rss_mb")[0],
                              m("off", "rss_mb")[0], max(r["held_end"] for r in on),
                              max(r["dropped"] for r in on)))
    off = m("off", "cpu_pct")[0]
    ratio = m("on", "cpu_pct")[0] / off if off > 0 else float("nan")  # a tiny smoke run
    pub99 = m("on", "pub_p99_ms")[0]
    floor_ratio = None
    if results["floor"]:
        fl, bu = m("floor", "cpu_pct")[0], m("burst", "values_per_s")[0]
        floor_ratio = (off + fl) / off if off > 0 else float("nan")
        print("\n  Paho floor (tools/bench/paho_floor on Pollux's CPU: the same DDATA stream, "
              "%.0f bytes each, through Paho alone; medians of %d):"
              % (m("on", "bytes_per_ddata")[0], len(results["floor"])))
        print("    at %.0f DDATA/s: %.1f %% CPU [%.1f-%.1f], %.2f us per message; off + that = "
              "%.2fx off, the least CPU ratio on/off with Paho" % (
                  (m("on", "ddata_per_s")[0],) + m("floor", "cpu_pct")
                  + (m("floor", "us_per_msg")[0], floor_ratio)))
        print("    as fast as 64 in flight allow: %.0f DDATA/s, %.0f values/s received [%.0f-%.0f]"
              "; less the live %.0f values/s, Paho alone adds %.0f values/s (a reference, "
              "not a bound: a drain has passed it)"
              % ((m("burst", "msgs_per_s")[0],) + m("burst", "values_per_s")
                 + (m("on", "values_per_s")[0], bu - m("on", "values_per_s")[0])))
    print("\n  CPU ratio on/off: %.2fx (goal <= %.1fx: %s%s); publish p99: %.2f ms "
          "(goal <= %.0f ms: %s)" % (ratio, GOAL_RATIO, "met" if ratio <= GOAL_RATIO else "MISSED",
                                     "; the Paho floor is %.2fx, Pollux %.2fx of it"
                                     % (floor_ratio, ratio / floor_ratio) if floor_ratio else "",
                                     pub99, GOAL_PUBLISH_P99_MS,
                                     "met" if pub99 <= GOAL_PUBLISH_P99_MS else "MISSED"))
    if args.outage > 0:
        print("\nAfter a %.0f s broker outage (max_records %d; medians of %d [min-max])"
              % (args.outage, args.max_records, args.runs))
        print("  held when publishing resumed: %.0f [%.0f-%.0f]; broker start to reconnect "
              "%.1f s" % (m("on", "held_at_resume") + (m("on", "reconnect_s")[0],)))
        print("  drain to 0: %.2f s [%.2f-%.2f]; net %.0f values/s [%.0f-%.0f] (held / time), "
              "gross %.0f values/s received" % (m("on", "drain_s") + m("on", "net_drain_per_s")
                                                 + (m("on", "gross_drain_per_s")[0],)))
        print("  lateness p99 during the drain: %.2f ms [%.2f-%.2f]; Pollux CPU %.0f %%, "
              "runnable but not running %.0f ms per s; txn/s %.0f; DDATA sent %.0f; dropped %d; "
              "drained: %s" % (m("on", "drain_late_p99_ms") + (
                  m("on", "drain_cpu_pct")[0], m("on", "drain_runq_ms_per_s")[0],
                  m("on", "drain_tps")[0], m("on", "drain_ddata")[0],
                  max(r["outage_dropped"] for r in on), all(r["drained"] for r in on))))
        net, late = m("on", "net_drain_per_s")[0], m("on", "drain_late_p99_ms")[0]
        room = (m("burst", "values_per_s")[0] - m("on", "values_per_s")[0]
                if results["burst"] else None)
        print("\n  drain rate: %.0f values/s (goal >= %.0f: %s%s); lateness p99 meanwhile %.2f ms "
              "(<= %.0f ms: %s)" % (net, GOAL_DRAIN, "met" if net >= GOAL_DRAIN else "MISSED",
                                    "; Paho alone as fast as 64 in flight adds %.0f over "
                                    "the live load, Pollux's drain %.2fx that"
                                    % (room, net / room) if room and room > 0 else "",
                                    late, GOAL_LATENESS_P99_MS,
                                    "met" if late <= GOAL_LATENESS_P99_MS else "MISSED"))
    print("\nload average (1/5/15 min) at the start %.2f/%.2f/%.2f, at the end %.2f/%.2f/%.2f"
          % (load0 + os.getloadavg()))
    print("\nreproduce: %s" % " ".join(shlex.quote(x) for x in
                                       ["python3", "tools/bench/northbound_bench.py"]
                                       + sys.argv[1:]))


if __name__ == "__main__":
    main()
