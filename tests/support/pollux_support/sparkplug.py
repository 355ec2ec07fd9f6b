"""A Sparkplug B 3.0 host for the northbound tests: what a control room's host sees of Pollux.

The protobuf module is generated at import from the repository's own schema
(src/northbound/sparkplug_b.proto) with `protoc --python_out` into a temporary directory, so
the tests decode with the very schema Pollux encodes with. The host is paho-mqtt 1.6.

    from pollux_support.mosquitto import Broker
    from pollux_support.sparkplug import Host
    with Broker() as broker, Host(broker.url, "Plant1", host_id="SCADA1") as host:
        host.publish_state(True)                       # the primary host is online
        birth = host.wait_for(lambda m: m.type == "NBIRTH", 10)
        birth.bd_seq, birth.metric("bdSeq")["value"]
        data = host.wait_for(lambda m: m.type == "DDATA" and m.device == "WELL_01", 10)
        data.metrics[0]["name"]                        # resolved from the DBIRTH's alias
        host.rebirth("FE1")                            # NCMD Node Control/Rebirth
        host.dcmd("FE1", "WELL_01", "Int16", 42, name="SETPOINT")

Every message on spBv1.0/{group}/# and spBv1.0/STATE/# is decoded into a `Message` and kept
in arrival order (thread-safe). Metrics are dicts: name, alias, datatype (the DataType name,
"Int16"), value (signed integers sign-extended back, None when is_null), timestamp,
quality (the `Quality` property, or None), is_historical, is_null, properties (all of them).
Aliases are resolved from the latest NBIRTH/DBIRTH of the same edge node and device, and a
data metric without a datatype takes its birth's. Every wait is bounded.
"""

import atexit
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

import paho.mqtt.client as paho

ROOT = Path(__file__).resolve().parents[3]
PROTO = ROOT / "src" / "northbound" / "sparkplug_b.proto"
PROTOC = os.environ.get("POLLUX_PROTOC", "protoc")
NAMESPACE = "spBv1.0"


def _generate_module():
    out = tempfile.mkdtemp(prefix="pollux-sparkplug-pb.")
    atexit.register(shutil.rmtree, out, True)
    p = subprocess.run([PROTOC, "--python_out=" + out, "-I", str(PROTO.parent), str(PROTO)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("protoc failed on %s:\n%s" % (PROTO, p.stdout.decode(errors="replace")))
    sys.path.insert(0, out)
    try:
        import sparkplug_b_pb2
    finally:
        sys.path.remove(out)
    return sparkplug_b_pb2


pb = _generate_module()
Payload = pb.Payload

# DataType names and numbers (sparkplug_b.proto `DataType`).
DATATYPES = {pb.DataType.Name(n): n for n in pb.DataType.values()}
_SIGNED32 = {"Int8", "Int16", "Int32"}
_UNSIGNED32 = {"UInt8", "UInt16", "UInt32"}
_INT64 = {"Int64", "UInt64", "DateTime"}

QUALITY_GOOD, QUALITY_UNCERTAIN, QUALITY_BAD = 192, 64, 0


def datatype_name(datatype):
    """'Int16' for 2 or 'Int16'; None for None."""
    if datatype is None:
        return None
    if isinstance(datatype, str):
        if datatype not in DATATYPES:
            raise ValueError("unknown Sparkplug datatype %r" % datatype)
        return datatype
    return pb.DataType.Name(datatype)


def now_ms():
    return int(time.time() * 1000)


# -- decoding -------------------------------------------------------------------------------------
def _value_of(holder, datatype):
    """The value of a Metric or PropertyValue as Python, by its datatype name."""
    which = holder.WhichOneof("value")
    if which is None:
        return None
    v = getattr(holder, which)
    if which == "int_value":
        if datatype in _SIGNED32 and v >= 1 << 31:
            v -= 1 << 32
        return v
    if which == "long_value":
        if datatype == "Int64" and v >= 1 << 63:
            v -= 1 << 64
        return v
    return v


def _properties(ps):
    out = {}
    for key, value in zip(ps.keys, ps.values):
        dt = datatype_name(value.type) if value.HasField("type") else None
        out[key] = None if value.is_null else _value_of(value, dt)
    return out


@dataclass
class Message:
    """One MQTT message the host received, decoded."""
    topic: str
    type: str                      # NBIRTH, DBIRTH, NDATA, DDATA, NDEATH, DDEATH, NCMD, DCMD, STATE
    group: Optional[str]
    edge_node: Optional[str]
    device: Optional[str]
    retained: bool
    received: float                # time.monotonic() at arrival
    raw: bytes
    seq: Optional[int] = None
    timestamp: Optional[int] = None
    bd_seq: Optional[int] = None   # the bdSeq metric of an NBIRTH or NDEATH
    metrics: list = field(default_factory=list)
    host_id: Optional[str] = None  # STATE
    state: Optional[dict] = None   # STATE: the JSON body
    error: Optional[str] = None    # a payload that did not decode

    def metric(self, name):
        """The metric of that (resolved) name, or None."""
        for m in self.metrics:
            if m["name"] == name:
                return m
        return None

    def values(self):
        """{name: value} of the metrics."""
        return {m["name"]: m["value"] for m in self.metrics}


def parse_topic(topic):
    """(type, group, edge_node, device, host_id) of a Sparkplug topic; None when it is not one."""
    parts = topic.split("/")
    if len(parts) < 3 or parts[0] != NAMESPACE:
        return None
    if parts[1] == "STATE":
        return ("STATE", None, None, None, "/".join(parts[2:]))
    if len(parts) not in (4, 5):
        return None
    return (parts[2], parts[1], parts[3], parts[4] if len(parts) == 5 else None, None)


class _Aliases:
    """alias -> (name, datatype) per (group, edge node, device), from the births."""

    def __init__(self):
        self.tables = {}

    def birth(self, msg, payload):
        if msg.type == "NBIRTH":  # a new session: every table of that node goes
            for key in [k for k in self.tables if k[:2] == (msg.group, msg.edge_node)]:
                del self.tables[key]
        table = self.tables.setdefault((msg.group, msg.edge_node, msg.device), {})
        table.clear()
        for m in payload.metrics:
            if m.HasField("alias"):
                table[m.alias] = (m.name, datatype_name(m.datatype) if m.HasField("datatype")
                                  else None)

    def lookup(self, msg, alias):
        node_table = self.tables.get((msg.group, msg.edge_node, msg.device), {})
        return node_table.get(alias)

    def alias_of(self, group, edge_node, device, name):
        for alias, (n, _) in self.tables.get((group, edge_node, device), {}).items():
            if n == name:
                return alias
        return None


def decode_metric(m, resolved=None):
    """A Metric as a dict; `resolved` is (name, datatype) from the birth for an alias."""
    name = m.name if m.HasField("name") else None
    datatype = datatype_name(m.datatype) if m.HasField("datatype") else None
    if resolved is not None:
        name = name or resolved[0]
        datatype = datatype or resolved[1]
    props = _properties(m.properties) if m.HasField("properties") else {}
    return {
        "name": name,
        "alias": m.alias if m.HasField("alias") else None,
        "datatype": datatype,
        "value": None if m.is_null else _value_of(m, datatype),
        "timestamp": m.timestamp if m.HasField("timestamp") else None,
        "quality": props.get("Quality"),
        "is_historical": m.is_historical,
        "is_null": m.is_null,
        "properties": props,
    }


# -- encoding -------------------------------------------------------------------------------------
def _set_value(holder, datatype, value):
    if datatype in _SIGNED32 or datatype in _UNSIGNED32:
        holder.int_value = int(value) & 0xFFFFFFFF
    elif datatype in _INT64:
        holder.long_value = int(value) & 0xFFFFFFFFFFFFFFFF
    elif datatype == "Float":
        holder.float_value = value
    elif datatype == "Double":
        holder.double_value = value
    elif datatype == "Boolean":
        holder.boolean_value = value
    elif datatype in ("String", "Text", "UUID"):
        holder.string_value = value
    elif datatype == "Bytes":
        holder.bytes_value = value
    else:
        raise ValueError("cannot encode a %s value" % datatype)


def encode_payload(metrics, seq=None, timestamp=None):
    """Payload bytes from metric dicts: name and/or alias, datatype (name or number), value
    (None: is_null), and optionally timestamp, quality (the Quality property, Int32),
    is_historical. `timestamp` of the payload defaults to now."""
    p = Payload()
    p.timestamp = now_ms() if timestamp is None else timestamp
    if seq is not None:
        p.seq = seq
    for spec in metrics:
        m = p.metrics.add()
        if spec.get("name") is not None:
            m.name = spec["name"]
        if spec.get("alias") is not None:
            m.alias = spec["alias"]
        dt = datatype_name(spec.get("datatype"))
        if dt is not None:
            m.datatype = DATATYPES[dt]
        if spec.get("timestamp") is not None:
            m.timestamp = spec["timestamp"]
        if spec.get("is_historical"):
            m.is_historical = True
        if spec.get("value") is None:
            m.is_null = True
        else:
            _set_value(m, dt, spec["value"])
        if spec.get("quality") is not None:
            m.properties.keys.append("Quality")
            pv = m.properties.values.add()
            pv.type = DATATYPES["Int32"]
            pv.int_value = spec["quality"]
    return p.SerializeToString()


def state_payload(online, timestamp=None):
    """The Sparkplug 3.0 host STATE body."""
    return json.dumps({"online": bool(online),
                       "timestamp": now_ms() if timestamp is None else timestamp}).encode()


# -- the host -------------------------------------------------------------------------------------
class Host:
    """A Sparkplug host on one broker: subscribes to spBv1.0/{group}/# and spBv1.0/STATE/#,
    records every message decoded, and publishes STATE, NCMD and DCMD.

    `url` is tcp://host:port or ssl://host:port; with ssl://, `ca_file` (and optionally
    `cert_file`/`key_file`). With `host_id`, the host's will is its offline STATE (retained,
    QoS 1), as Sparkplug 3.0 has it; publish_state(True) announces it online."""

    def __init__(self, url, group_id, host_id=None, client_id=None, ca_file=None,
                 cert_file=None, key_file=None, username=None, password=None, timeout=10):
        self.group_id = group_id
        self.host_id = host_id
        self.timeout = timeout
        self._cond = threading.Condition()
        self._messages = []
        self._aliases = _Aliases()
        self._connected = False
        self._subscribed = False
        self.connect_rc = None
        u = urlparse(url)
        self.client = paho.Client(client_id=client_id or "pollux-test-host-%d-%x" % (
            os.getpid(), id(self)), clean_session=True, protocol=paho.MQTTv311)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        # After a broker outage paho reconnects by itself (and _on_connect subscribes again):
        # soon, so that an outage test does not wait for its default backoff.
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        if username is not None:
            self.client.username_pw_set(username, password)
        if u.scheme == "ssl":
            # The broker's certificate must chain to ca_file and name the host of the URL.
            context = ssl.create_default_context(cafile=ca_file)
            if cert_file:
                context.load_cert_chain(cert_file, key_file)
            self.client.tls_set_context(context)
        if host_id:
            self.client.will_set("%s/STATE/%s" % (NAMESPACE, host_id),
                                 state_payload(False), qos=1, retain=True)
        try:
            self.client.connect(u.hostname, u.port, keepalive=30)
            self.client.loop_start()
            self._wait(lambda: self._subscribed or self.connect_rc not in (None, 0),
                       "the host's connection and subscriptions")
            if not self._subscribed:
                raise AssertionError("the broker refused the host: %s" %
                                     paho.connack_string(self.connect_rc))
        except BaseException:
            self.close()
            raise

    # -- paho's thread ------------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, rc):
        with self._cond:
            self.connect_rc = rc
            self._connected = rc == 0
            self._cond.notify_all()
        if rc == 0:
            client.subscribe([("%s/%s/#" % (NAMESPACE, self.group_id), 1),
                              ("%s/STATE/#" % NAMESPACE, 1)])

    def _on_subscribe(self, client, userdata, mid, granted_qos):
        with self._cond:
            self._subscribed = all(q < 128 for q in granted_qos)
            self._cond.notify_all()

    def _on_disconnect(self, client, userdata, rc):
        with self._cond:
            self._connected = False
            self._cond.notify_all()

    def _on_message(self, client, userdata, message):
        msg = self.decode(message.topic, message.payload, bool(message.retain))
        if msg is None:
            return
        with self._cond:
            self._messages.append(msg)
            self._cond.notify_all()

    def decode(self, topic, data, retained=False):
        """The Message for one received MQTT message (None for a non-Sparkplug topic). Births
        update the alias tables."""
        parsed = parse_topic(topic)
        if parsed is None:
            return None
        type_, group, edge_node, device, host_id = parsed
        msg = Message(topic=topic, type=type_, group=group, edge_node=edge_node, device=device,
                      retained=retained, received=time.monotonic(), raw=bytes(data),
                      host_id=host_id)
        if type_ == "STATE":
            try:
                msg.state = json.loads(data.decode())
            except ValueError as e:
                msg.error = "STATE is not JSON: %s" % e
            return msg
        payload = Payload()
        try:
            payload.ParseFromString(data)
        except Exception as e:  # protobuf's DecodeError
            msg.error = "payload does not decode: %s" % e
            return msg
        with self._cond:  # the tables are shared with dcmd() on the test's thread
            if type_ in ("NBIRTH", "DBIRTH"):
                self._aliases.birth(msg, payload)
            msg.metrics = [decode_metric(m, self._aliases.lookup(msg, m.alias)
                                         if m.HasField("alias") else None)
                           for m in payload.metrics]
        msg.seq = payload.seq if payload.HasField("seq") else None
        msg.timestamp = payload.timestamp if payload.HasField("timestamp") else None
        bd = msg.metric("bdSeq")
        if bd is not None:
            msg.bd_seq = bd["value"]
        return msg

    # -- reading ------------------------------------------------------------------------------
    def _wait(self, ready, what, timeout=None):
        timeout = self.timeout if timeout is None else timeout
        with self._cond:
            if not self._cond.wait_for(ready, timeout):
                raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))

    @property
    def messages(self):
        """A copy of every message so far, in arrival order."""
        with self._cond:
            return list(self._messages)

    def mark(self):
        """The number of messages so far: pass it as `since` to look only at later ones."""
        with self._cond:
            return len(self._messages)

    def of_type(self, type_, device=None, since=0):
        return [m for m in self.messages[since:]
                if m.type == type_ and (device is None or m.device == device)]

    def wait_for(self, predicate, timeout=None, since=0, what="a matching message"):
        """The first message (from index `since`) for which predicate(message) is true, waiting
        up to `timeout` s for it; AssertionError with what did arrive otherwise."""
        found = []

        def ready():
            for m in self._messages[since:]:
                if predicate(m):
                    found.append(m)
                    return True
            return False
        try:
            self._wait(ready, what, timeout)
        except AssertionError as e:
            raise AssertionError("%s; received: %s" % (e, self.summary(since))) from None
        return found[0]

    def wait_count(self, predicate, count, timeout=None, since=0, what="messages"):
        """The first `count` matching messages from index `since`, waiting for them."""
        def ready():
            return sum(1 for m in self._messages[since:] if predicate(m)) >= count
        try:
            self._wait(ready, "%d %s" % (count, what), timeout)
        except AssertionError as e:
            raise AssertionError("%s; received: %s" % (e, self.summary(since))) from None
        return [m for m in self.messages[since:] if predicate(m)][:count]

    def summary(self, since=0):
        """One line per message, for assertion messages."""
        out = []
        for m in self.messages[since:]:
            if m.type == "STATE":
                out.append("STATE %s %s" % (m.host_id, m.state))
            else:
                out.append("%s %s/%s seq=%s %s" % (m.type, m.edge_node, m.device or "",
                                                  m.seq, m.values() if not m.error else m.error))
        return "\n  " + "\n  ".join(out) if out else "(nothing)"

    # -- publishing ---------------------------------------------------------------------------
    def _publish(self, topic, payload, qos=0, retain=False):
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(self.timeout)
        if not info.is_published():
            raise AssertionError("the host could not publish on %s" % topic)

    def publish_state(self, online=True, host_id=None, timestamp=None):
        """The primary host's STATE: retained JSON {"online":..,"timestamp":ms} at QoS 1 on
        spBv1.0/STATE/{host_id} (Sparkplug 3.0)."""
        host_id = host_id or self.host_id
        if not host_id:
            raise ValueError("publish_state needs a host_id")
        self._publish("%s/STATE/%s" % (NAMESPACE, host_id), state_payload(online, timestamp),
                      qos=1, retain=True)

    def rebirth(self, edge_node, group=None):
        """NCMD `Node Control/Rebirth` = true to an edge node."""
        self.ncmd(edge_node, [{"name": "Node Control/Rebirth", "datatype": "Boolean",
                               "value": True}], group)

    def ncmd(self, edge_node, metrics, group=None):
        self._publish("%s/%s/NCMD/%s" % (NAMESPACE, group or self.group_id, edge_node),
                      encode_payload(metrics))

    def dcmd(self, edge_node, device, datatype, value, name=None, alias=None, by_alias=False,
             group=None):
        """DCMD writing one metric: by `name`, by `alias`, or (by_alias) by the alias the
        device's DBIRTH gave `name`."""
        group = group or self.group_id
        if by_alias:
            with self._cond:
                alias = self._aliases.alias_of(group, edge_node, device, name)
            if alias is None:
                raise AssertionError("no alias for %s of %s/%s in a DBIRTH" % (
                    name, edge_node, device))
            name = None
        self.dcmd_metrics(edge_node, device, [{"name": name, "alias": alias,
                                               "datatype": datatype, "value": value}], group)

    def dcmd_metrics(self, edge_node, device, metrics, group=None):
        self._publish("%s/%s/DCMD/%s/%s" % (NAMESPACE, group or self.group_id, edge_node,
                                           device), encode_payload(metrics))

    # -- ending -------------------------------------------------------------------------------
    def kill(self):
        """Ends the connection without a DISCONNECT, as a crashed host: the broker publishes
        the host's will (its offline STATE when it has a host_id)."""
        if self.client is None:
            return
        self.client.loop_stop()  # first: paho's thread must not read the closed socket
        sock = self.client.socket()
        if sock is not None:
            sock.close()
        self.client = None

    @property
    def connected(self):
        with self._cond:
            return self._connected

    def close(self):
        """Disconnects cleanly (no will) and stops paho's thread. Idempotent."""
        if self.client is None:
            return
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
            sock = self.client.socket()  # left open by a connect() that failed
            if sock is not None:
                sock.close()
            self.client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
