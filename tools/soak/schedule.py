"""The soak's fault schedule (issue 24): drawn from random.Random(seed) alone, so a seed, the
run length and the field size replay it exactly.

Entries are dicts: id, t (s after the start), dur (s), cls (the fault class), target, params.
Device faults overlap freely; node, link and broker faults ("infrastructure") come one at a
time with room between them for the pair to settle, so that every takeover has one cause.
"""

import random

# Device faults pollux-sim injects (sim/README.md "Faults"), by the scope they act on.
DEVICE_FAULTS = ["silence", "delay", "garbage", "bad_crc", "wrong_unit", "truncate", "reset",
                 "exception", "wrong_function", "refuse"]
PORT_FAULTS = ["vanished_port"]                 # close_port / open_port of a serial line
MODEM_FAULTS = ["modem_busy", "modem_no_carrier", "modem_drop"]
# partition: both peer links blackholed; partition_main: the main one only; history_full: the
# node's history store on a full filesystem, then freed (needs root, see field.py).
INFRA_FAULTS = ["kill9", "sigstop", "restart", "partition", "partition_main", "broker_stop",
                "history_full"]
ALL_CLASSES = DEVICE_FAULTS + PORT_FAULTS + MODEM_FAULTS + INFRA_FAULTS


def make(seed, seconds, layout, warmup_s, settle_s, skip=()):
    rng = random.Random(seed)
    out = []
    start, end = warmup_s, seconds - settle_s
    devices = layout.devices
    lines = list(layout.serial)
    # Device faults: about one every 1.5 s, 2 to 15 s each.
    t = start
    while True:
        t += rng.expovariate(1 / 1.5)
        if t >= end:
            break
        r = rng.random()
        if r < 0.06 and lines:
            e = {"cls": "vanished_port", "target": rng.choice(lines), "dur": rng.uniform(2, 8),
                 "params": {}}
        elif r < 0.12 and layout.modem:
            cls = rng.choice(MODEM_FAULTS)
            e = {"cls": cls, "target": "M0", "dur": rng.uniform(4, 12),
                 "params": {"after_ms": rng.randint(0, 2000)} if cls == "modem_drop" else
                 {"count": rng.randint(1, 3)}}
        else:
            cls = rng.choice(DEVICE_FAULTS)
            params = {}
            if cls == "delay":
                params["ms"] = rng.choice([50, 150, 400, 800])
            elif cls == "garbage":
                params["bytes"] = rng.randint(1, 40)
            elif cls == "exception":
                params["code"] = rng.choice([2, 4, 6])
            e = {"cls": cls, "target": rng.choice(devices), "dur": rng.uniform(2, 15),
                 "params": params}
        e["t"] = t
        out.append(e)
    # Infrastructure: one at a time, 15 to 25 s of calm after each.
    t = start + rng.uniform(5, 15)
    weights = [("kill9", 3), ("sigstop", 2), ("restart", 2), ("partition", 2),
               ("partition_main", 1), ("broker_stop", 1), ("history_full", 1)]
    while True:
        cls = rng.choices([c for c, _ in weights], [w for _, w in weights])[0]
        dur = rng.uniform(3, 10)
        if t + dur >= end:
            break
        target = {"partition": "peer-links", "partition_main": "peer-link",
                  "broker_stop": "mosquitto"}.get(
            cls, "fe-a" if rng.random() < 0.7 else "fe-b")
        out.append({"cls": cls, "target": target, "dur": dur, "params": {}, "t": t})
        t += dur + rng.uniform(15, 25)
    out = [e for e in out if e["cls"] not in skip]
    out.sort(key=lambda e: e["t"])
    for i, e in enumerate(out):
        e["id"] = i + 1
        e["end"] = e["t"] + e["dur"]
    return out


def describe(e):
    p = " ".join("%s=%s" % kv for kv in sorted(e["params"].items()))
    return "#%d %-16s %-10s +%.1fs..+%.1fs%s" % (e["id"], e["cls"], e["target"], e["t"], e["end"],
                                                 " " + p if p else "")
