"""End-to-end tests of the API's security (spec/security.md, issue 22): bearer tokens and roles
(401/403 over every route), the audit trail and GET /api/v1/audit, the `api.tokens` config rules
as `pollux check` reports them, a token change by reload, and polluxctl's --token/POLLUX_TOKEN.
No token value may appear in the audit, in pollux's log or in check's output.

Binaries come from the environment: POLLUX_BIN, POLLUX_SIM_BIN and POLLUXCTL_BIN (set by CTest).
Every wait is bounded; the node's API listens on a free port chosen by the test.
"""

import json
import os
import re
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

from pollux_support.configs import sim_yaml
from pollux_support.node import POLLUX, POLLUXCTL, wait_until
from pollux_support.testcase import NodeTestCase

VIEWER = "viewer-token-2f9c41d7a0"
OPERATOR = "operator-token-8b13e5c6f2"
ADMIN = "admin-token-51d0a9e37c"  # given through ${POLLUX_TEST_ADMIN_TOKEN}
WRONG = "wrong-token-c0ffee1234"
TOKENS = {"viewer": VIEWER, "operator": OPERATOR, "admin": ADMIN}
RANK = {None: 0, "viewer": 1, "operator": 2, "admin": 3}

SIM = sim_yaml([("A", 1, ["{table: holding, address: 0, value: 11}"])],
               tcp=[("T1", ["A"], "modbus-tcp")])


def node_yaml(port, tokens_yaml=None):
    if tokens_yaml is None:
        tokens_yaml = ("  tokens:\n"
                       "    - { name: dashboards, token: %s, role: viewer }\n"
                       "    - { name: scada-host, token: %s, role: operator }\n"
                       "    - { name: engineer, token: ${POLLUX_TEST_ADMIN_TOKEN}, role: admin }\n"
                       % (VIEWER, OPERATOR))
    return ("node: { name: sec }\n"
            "api:\n  listen: 127.0.0.1:API_PORT\n" + tokens_yaml +
            "channels:\n  - { id: NET1, type: tcp, protocol: modbus-tcp, message_timeout_ms: 500 }\n"
            "devices:\n"
            "  - id: A\n    unit: 1\n    writable: [SP]\n"
            "    comm: { primary: { channel: NET1, host: 127.0.0.1, port: %d } }\n"
            "    polls:\n      - name: g\n        interval_ms: 500\n        points:\n"
            "          - { name: SP, table: holding, address: 0, type: uint16 }\n" % port)


def call(node, method, path, token=None, body=None):
    """(status, headers, body text) of one request, with `token` as a bearer token."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    req = urllib.request.Request(node.base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


# Every route of the API, with the role it needs (None: health, no token).
ROUTES = [
    ("GET", "/", "viewer", None),
    ("GET", "/metrics", "viewer", None),
    ("GET", "/api/v1/health", None, None),
    ("GET", "/api/v1/devices", "viewer", None),
    ("GET", "/api/v1/devices/A", "viewer", None),
    ("GET", "/api/v1/points?device=A", "viewer", None),
    ("GET", "/api/v1/channels", "viewer", None),
    ("GET", "/api/v1/events?since=0", "viewer", None),
    ("GET", "/api/v1/redundancy", "viewer", None),
    ("GET", "/api/v1/northbound", "viewer", None),
    ("GET", "/api/v1/history?device=A&point=SP", "viewer", None),
    ("POST", "/api/v1/devices/A/line", "operator", {"line": 1}),
    ("POST", "/api/v1/devices/A/poll", "operator", None),
    ("POST", "/api/v1/devices/A/write", "operator", {"point": "SP", "value": 7}),
    ("POST", "/api/v1/channels/NET1/disable", "operator", None),
    ("POST", "/api/v1/channels/NET1/enable", "operator", None),
    ("POST", "/api/v1/config/reload", "admin", None),
    ("POST", "/api/v1/redundancy/force-failover", "admin", None),
    ("POST", "/api/v1/redundancy/recover", "admin", None),
    ("GET", "/api/v1/audit", "admin", None),
]


class SecurityTest(NodeTestCase):
    def setUp(self):
        super().setUp()
        os.environ["POLLUX_TEST_ADMIN_TOKEN"] = ADMIN

    def start_pair(self):
        sim = self.start_sim(SIM)
        node = self.start_node(node_yaml(sim.tcp_addr("T1")[1]))
        wait_until(lambda: call(node, "GET", "/api/v1/points?device=A", VIEWER)[0] == 200 and
                   json.loads(call(node, "GET", "/api/v1/points?device=A", VIEWER)[2])[0]
                   ["quality"] == "good", 10, what="A polled")
        return sim, node

    def test_every_route_answers_401_and_403_by_role(self):
        _, node = self.start_pair()
        callers = [("no token", None, None), ("unknown token", WRONG, None),
                   ("viewer", VIEWER, "viewer"), ("operator", OPERATOR, "operator"),
                   ("admin", ADMIN, "admin")]
        for method, path, need, body in ROUTES:
            for who, token, role in callers:
                what = "%s %s as %s" % (method, path, who)
                status, headers, text = call(node, method, path, token, body)
                if need is not None and role is None:
                    self.assertEqual(status, 401, what)
                    self.assertEqual(headers.get("WWW-Authenticate"), "Bearer", what)
                    if path.startswith("/api/"):
                        self.assertEqual(json.loads(text), {"error": "authentication required"},
                                         what)
                elif RANK[role] < RANK[need]:
                    self.assertEqual(status, 403, what)
                    self.assertIsNone(headers.get("WWW-Authenticate"), what)
                    self.assertTrue(json.loads(text)["error"].startswith(
                        "role %s may not " % role), what + ": " + text)
                else:
                    self.assertNotIn(status, (401, 403), what + ": " + text)
        # Health tells load balancers what they need, without a token.
        status, _, text = call(node, "GET", "/api/v1/health")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(text)["node"], "sec")
        # The refusals are counted.
        _, _, metrics = call(node, "GET", "/metrics", VIEWER)
        self.assertRegex(metrics, r'pollux_api_auth_failures_total\{reason="unauthenticated"\} '
                                  r'[1-9]\d*\n')
        self.assertRegex(metrics, r'pollux_api_auth_failures_total\{reason="forbidden"\} [1-9]\d*\n')

    def test_audit_lists_allowed_and_refused_requests_without_any_token(self):
        sim, node = self.start_pair()
        mark = len(node.text())
        steps = [
            (OPERATOR, "POST", "/api/v1/devices/A/write", {"point": "SP", "value": 42}, 200,
             ("scada-host", "write", "A")),
            (VIEWER, "POST", "/api/v1/devices/A/write", {"point": "SP", "value": 1}, 403,
             ("dashboards", "write", "A")),
            (None, "POST", "/api/v1/devices/A/poll", None, 401, ("anonymous", "poll", "A")),
            (WRONG, "POST", "/api/v1/channels/NET1/disable", None, 401,
             ("anonymous", "channel.disable", "NET1")),
            (OPERATOR, "POST", "/api/v1/devices/A/line", {"line": 7}, 400,
             ("scada-host", "line", "A")),
            (OPERATOR, "POST", "/api/v1/channels/NOPE/enable", None, 404,
             ("scada-host", "channel.enable", "NOPE")),
            (OPERATOR, "POST", "/api/v1/devices/A/write", {"point": "NOPE", "value": 1}, 404,
             ("scada-host", "write", "A")),
            (OPERATOR, "POST", "/api/v1/config/reload", None, 403, ("scada-host", "reload", "")),
            (ADMIN, "POST", "/api/v1/config/reload", None, 200, ("engineer", "reload", "")),
            (ADMIN, "POST", "/api/v1/redundancy/recover", None, None,
             ("engineer", "recover", "")),
        ]
        outcomes = []
        for token, method, path, body, want, _ in steps:
            status, _, text = call(node, method, path, token, body)
            if want is not None:
                self.assertEqual(status, want, "%s %s: %s" % (method, path, text))
            outcomes.append(status)
        self.assertEqual(sim.writes("A")[-1]["values"] if sim.writes("A") else None, [42])

        status, _, text = call(node, "GET", "/api/v1/audit", ADMIN)
        self.assertEqual(status, 200, text)
        entries = json.loads(text)
        self.assertEqual(len(entries), len(steps), text)
        for i, (entry, step, outcome) in enumerate(zip(entries, steps, outcomes)):
            self.assertEqual(set(entry), {"seq", "time", "who", "client", "action", "target",
                                          "outcome"})
            self.assertEqual(entry["seq"], i + 1)
            self.assertEqual((entry["who"], entry["action"], entry["target"]), step[5], entry)
            self.assertEqual(entry["outcome"], outcome, entry)
            self.assertRegex(entry["client"], r"^127\.0\.0\.1:\d+$")
            self.assertRegex(entry["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # since=N: only later entries; a malformed since is 400.
        later = json.loads(call(node, "GET", "/api/v1/audit?since=8", ADMIN)[2])
        self.assertEqual([e["seq"] for e in later], [9, 10])
        self.assertEqual(call(node, "GET", "/api/v1/audit?since=-1", ADMIN)[0], 400)

        # One info line per entry in the log; no token anywhere, the wrong one included.
        log = node.text(mark)
        self.assertEqual(len(re.findall(r" info +\[audit\] audit: who=", log)), len(steps), log)
        self.assertIn('audit: who="scada-host" client=127.0.0.1:', log)
        for secret in (VIEWER, OPERATOR, ADMIN, WRONG):
            self.assertNotIn(secret, text)
            self.assertNotIn(secret, node.text())

    def test_config_rules_are_located_and_never_print_a_token(self):
        d = tempfile.mkdtemp(prefix="pollux-sec-check.")
        secret = "s3cret-token-value-0001"
        short = "shortsecret12"
        cases = [
            # (name, api section, line, col, message fragment)
            ("open_listen", "api:\n  listen: 0.0.0.0:8780\n", 3, 11,
             "'0.0.0.0:8780' is not a loopback address: listening there needs 'tokens'"),
            ("duplicate_name",
             "api:\n  tokens:\n    - { name: ops, token: %s-a, role: admin }\n"
             "    - { name: ops, token: %s-b, role: viewer }\n" % (secret, secret), 5, 15,
             "duplicate token name 'ops' (first at line 4)"),
            ("equal_tokens",
             "api:\n  tokens:\n    - { name: one, token: %s, role: admin }\n"
             "    - { name: two, token: ${SEC_TEST_TOKEN}, role: viewer }\n" % secret, 5, 27,
             "this token is equal to another one (line 4)"),
            ("short_token", "api:\n  tokens:\n    - { name: one, token: %s, role: admin }\n" % short,
             4, 27, "a token must be at least 16 characters long"),
            ("bad_role", "api:\n  tokens:\n    - { name: one, token: %s, role: root }\n" % secret,
             4, 58, "'role' must be one of viewer, operator, admin (got 'root')"),
        ]
        env = dict(os.environ, SEC_TEST_TOKEN=secret)
        for name, section, line, col, message in cases:
            path = os.path.join(d, name + ".yaml")
            with open(path, "w") as f:
                f.write("node: { name: sec }\n" + section)
            r = subprocess.run([POLLUX, "check", "-c", path], capture_output=True, text=True,
                               timeout=30, env=env)
            self.assertEqual(r.returncode, 2, name + ": " + r.stderr)
            self.assertEqual(r.stdout, "", name)
            lines = r.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, name + ": " + r.stderr)
            self.assertTrue(lines[0].startswith("%s:%d:%d: error: " % (path, line, col)),
                            name + ": " + lines[0])
            self.assertIn(message, lines[0], name)
            for s in (secret, short):
                self.assertNotIn(s, r.stderr, name)
        # With tokens, a non-loopback listen is fine.
        path = os.path.join(d, "ok.yaml")
        with open(path, "w") as f:
            f.write("node: { name: sec }\napi:\n  listen: 0.0.0.0:8780\n  tokens:\n"
                    "    - { name: one, token: ${SEC_TEST_TOKEN}, role: admin }\n")
        r = subprocess.run([POLLUX, "check", "-c", path], capture_output=True, text=True,
                           timeout=30, env=env)
        self.assertEqual((r.returncode, r.stderr), (0, ""))

    def test_a_reload_changes_the_tokens(self):
        sim, node = self.start_pair()
        port = sim.tcp_addr("T1")[1]
        fresh = "a-fresh-viewer-token-77"
        self.assertEqual(call(node, "GET", "/api/v1/devices", VIEWER)[0], 200)
        node.write_config(node_yaml(port, (
            "  tokens:\n"
            "    - { name: dashboards, token: %s, role: viewer }\n"
            "    - { name: engineer, token: ${POLLUX_TEST_ADMIN_TOKEN}, role: admin }\n" % fresh)))
        status, _, text = call(node, "POST", "/api/v1/config/reload", ADMIN)
        self.assertEqual(status, 200, text)
        self.assertEqual(call(node, "GET", "/api/v1/devices", VIEWER)[0], 401)
        self.assertEqual(call(node, "GET", "/api/v1/devices", fresh)[0], 200)
        self.assertEqual(call(node, "POST", "/api/v1/devices/A/poll", OPERATOR)[0], 401)
        # SIGHUP too: back to the first tokens.
        node.write_config(node_yaml(port))
        node.proc.send_signal(1)
        wait_until(lambda: call(node, "GET", "/api/v1/devices", VIEWER)[0] == 200, 10,
                   what="the old token accepted again after SIGHUP")
        self.assertEqual(call(node, "GET", "/api/v1/devices", fresh)[0], 401)
        for secret in (VIEWER, OPERATOR, ADMIN, fresh):
            self.assertNotIn(secret, node.text())

    def test_polluxctl_sends_the_token_from_the_flag_or_the_environment(self):
        if not POLLUXCTL:
            self.skipTest("POLLUXCTL_BIN not set")
        _, node = self.start_pair()

        def ctl(*args, token_env=None):
            env = {k: v for k, v in os.environ.items() if k != "POLLUX_TOKEN"}
            if token_env is not None:
                env["POLLUX_TOKEN"] = token_env
            return subprocess.run([POLLUXCTL, "--api", node.base] + list(args),
                                  capture_output=True, text=True, timeout=30, env=env)

        r = ctl("devices")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("401: authentication required", r.stderr)
        self.assertIn("--token", r.stderr)
        r = ctl("--token", WRONG, "devices")
        self.assertEqual(r.returncode, 1)
        self.assertIn("401: authentication required (the node does not accept this token)",
                      r.stderr)
        r = ctl("--token", VIEWER, "devices")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("A", r.stdout)
        r = ctl("devices", token_env=VIEWER)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = ctl("write", "A", "SP", "5", token_env=VIEWER)
        self.assertEqual(r.returncode, 1)
        self.assertIn("403: role viewer may not write a point (needs operator)", r.stderr)
        # The flag wins over the variable.
        r = ctl("--token", OPERATOR, "write", "A", "SP", "5", token_env=VIEWER)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = ctl("--token", OPERATOR, "reload")
        self.assertEqual(r.returncode, 1)
        self.assertIn("403: role operator may not reload the configuration (needs admin)",
                      r.stderr)
        r = ctl("--token", ADMIN, "reload")
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
