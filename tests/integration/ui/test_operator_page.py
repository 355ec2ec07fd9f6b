"""The operator page (issue 23) in a real browser: headless Chromium driven by python3-selenium
against a real `pollux run` polling `pollux-sim` over loopback Modbus TCP. The page is read only
through the DOM contract of its ids and data attributes (docs/api.md, "The operator page"):
every device loaded, a failover the simulator causes shown live, a device failed on every line,
the token prompt, an operator write through the confirm dialog, the standby node of a pair, and
the device detail with its trend.

Screenshots (PNG, 1400 x 900) of each state go to $POLLUX_ARTIFACTS_DIR when set, otherwise to
`artifacts/ui/` in the build tree of $POLLUX_BIN (the first directory above it that holds
CMakeCache.txt, i.e. build/release under CTest): see pollux_support.browser. CI keeps them.

Binaries come from the environment: POLLUX_BIN and POLLUX_SIM_BIN (set by CTest). Timers are
about a second and every wait is bounded. Without python3-selenium or chromium-driver the cases
are skipped.
"""

import datetime
import os
import tempfile
import time
import unittest
import urllib.parse

from pollux_support import browser
from pollux_support.configs import sim_yaml
from pollux_support.node import wait_until
from pollux_support.pair import PairHarness, SIM_YAML as PAIR_SIM_YAML
from pollux_support.testcase import NodeTestCase

if browser.available():
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

VIEWER = "viewer-token-page-5a1e2b"
OPERATOR = "operator-token-page-9c4d7f"
SYDEV = ("SYDEVCOMID", "SYDEVCOMLN", "SYDEVPCOM", "SYDEVPRFO", "SYDEVSCOM", "SYDEVTCOM")


def epoch(rfc3339):
    return datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def field_yaml(devices, t1, t2, tokens=(), history="", interval_ms=250):
    """A node polling `devices` [(id, unit, extra device keys)] over two Modbus TCP gateways:
    line 1 through T1 (NET1), line 2 through T2 (NET2), Initial fail 1 s on both and no Retry
    primary (a device that failed over stays on line 2). Each device has V (holding 0) and
    CNT (holding 1)."""
    out = ["node: { name: field }", "api:", "  listen: 127.0.0.1:API_PORT"]
    if tokens:
        out.append("  tokens:")
        out += ["    - { name: %s, token: %s, role: %s }" % t for t in tokens]
    if history:
        out.append("history: " + history)
    out += ["channels:",
            "  - { id: NET1, type: tcp, protocol: modbus-tcp, message_timeout_ms: 300, "
            "poll_attempts: 1 }",
            "  - { id: NET2, type: tcp, protocol: modbus-tcp, message_timeout_ms: 300, "
            "poll_attempts: 1 }",
            "devices:"]
    for did, unit, extra in devices:
        out += ["  - id: %s" % did, "    unit: %d" % unit,
                "    comm:",
                "      primary: { channel: NET1, host: 127.0.0.1, port: %d, initial_fail_s: 1 }"
                % t1,
                "      first_failover: { channel: NET2, host: 127.0.0.1, port: %d, "
                "initial_fail_s: 1 }" % t2,
                "    polls:", "      - name: g", "        interval_ms: %d" % interval_ms,
                "        points:",
                "          - { name: V, table: holding, address: 0, type: uint16 }",
                "          - { name: CNT, table: holding, address: 1, type: uint16 }"]
        out += ["    " + e for e in extra]
    return "\n".join(out) + "\n"


def field_sim(ids, extra_regs=()):
    """Every device of `ids` (unit = index + 1) behind both gateways T1 and T2; V = 10 * unit,
    CNT counts up every 200 ms. V is a raw word, which a write changes for good (the simulator
    sets a `value:` register again at every request)."""
    devs = [(d, i + 1, ["{table: holding, address: 0, words: [%d]}" % (10 * (i + 1)),
                        "{table: holding, address: 1, counter: { start: 0, step: 1, "
                        "interval_ms: 200 }}"] + list(extra_regs))
            for i, d in enumerate(ids)]
    return sim_yaml(devs, tcp=[("T1", list(ids), "modbus-tcp"), ("T2", list(ids), "modbus-tcp")])


class Page:
    """The operator page of one node in its own headless Chromium (its own sessionStorage)."""

    def __init__(self, test, node, token=None):
        self.test = test
        self.node = node
        self.b = browser.Browser()
        test.addCleanup(self.b.quit)
        self.driver = self.b.driver
        self.open(token)

    def open(self, token=None):
        self.driver.get(self.node.base + "/")
        if token is not None:
            self.js("sessionStorage.setItem('pollux_api_token', arguments[0])", token)
            self.driver.refresh()

    def js(self, script, *args):
        return self.b.js(script, *args)

    def text(self, selector):
        """The trimmed text of the first element matching `selector`, or None."""
        return self.js("var e = document.querySelector(arguments[0]);"
                       "return e ? e.textContent.trim() : null", selector)

    def attr(self, selector, name):
        return self.js("var e = document.querySelector(arguments[0]);"
                       "return e ? e.getAttribute(arguments[1]) : null", selector, name)

    def shown(self, selector):
        """Whether an element matching `selector` is displayed (Selenium's visibility rule)."""
        try:
            return any(e.is_displayed() for e in self.driver.find_elements(By.CSS_SELECTOR,
                                                                           selector))
        except StaleElementReferenceException:
            return False

    def count(self, kind):
        return self.text('#counts [data-count="%s"]' % kind)

    def tile(self, device):
        return 'button.device[data-device="%s"]' % device

    def comm(self, device):
        return self.attr(self.tile(device), "data-comm")

    def tiles(self):
        """The ids of the device tiles in the DOM (the virtualised grid's visible rows)."""
        return self.js("return Array.from(document.querySelectorAll('#device-grid "
                       "button.device')).map(function (e) { return e.dataset.device; })")

    def background(self, selector):
        return self.js("var e = document.querySelector(arguments[0]);"
                       "return e ? getComputedStyle(e).backgroundColor : null", selector)

    def wait(self, predicate, timeout=20, what="the page"):
        return wait_until(predicate, timeout, interval=0.05, what=what)

    def wait_text(self, selector, want, timeout=20):
        return self.wait(lambda: self.text(selector) == want, timeout,
                         what="%s = %r (now %r)" % (selector, want, self.text(selector)))

    def type_into(self, selector, text):
        e = self.driver.find_element(By.CSS_SELECTOR, selector)
        e.send_keys(Keys.CONTROL, "a")
        e.send_keys(Keys.BACKSPACE)
        if text:
            e.send_keys(text)

    def click(self, selector):
        self.driver.find_element(By.CSS_SELECTOR, selector).click()

    def open_detail(self, device):
        """Opens the device's detail from its tile with the keyboard (focus, Enter)."""
        def press_enter():
            try:
                self.driver.find_element(By.CSS_SELECTOR, self.tile(device)).send_keys(Keys.ENTER)
                return True
            except StaleElementReferenceException:  # the grid redrew the tile meanwhile
                return False
        self.wait(lambda: self.comm(device), what="the tile of " + device)
        self.wait(press_enter, 5, what="Enter on the tile of " + device)
        self.wait(lambda: self.shown("#detail") and self.text("#detail-title") == device,
                  what="the detail of " + device)

    def dialog_open(self):
        return self.js("var d = document.getElementById('confirm'); return !!(d && d.open)")

    def shot(self, name):
        return self.b.shot(name)


class OperatorPageTest(NodeTestCase):
    def setUp(self):
        if not browser.available():
            # CI installs both (tools/setup.sh): there a missing browser is a failure, not a skip.
            if os.environ.get("CI"):
                self.fail("python3-selenium or chromium-driver not installed")
            self.skipTest("python3-selenium or chromium-driver not installed")
        super().setUp()

    def field(self, ids, extra=None, **kw):
        """Simulator and node for the devices `ids`; `extra`: {id: [device keys]}."""
        sim = self.start_sim(field_sim(ids))
        extra = extra or {}
        node = self.start_node(field_yaml([(d, i + 1, extra.get(d, []))
                                           for i, d in enumerate(ids)],
                                          sim.tcp_addr("T1")[1], sim.tcp_addr("T2")[1], **kw))
        return sim, node

    def api_comm(self, node):
        """{id: page comm} as the API says it: failover = ok on a line other than 1."""
        out = {}
        for d in node.get("/api/v1/devices"):
            c = d["comm"]
            out[d["id"]] = "failover" if c == "ok" and d["active_line"] != 1 else c
        return out

    # -- every device, the virtualised grid, search and filter --------------------------------
    def test_the_page_loads_with_every_device(self):
        n = 200
        ids = ["RTU_%03d" % i for i in range(1, n + 1)]
        # Two gateways of a hundred units each (unit ids stop at 247).
        sim = self.start_sim(sim_yaml(
            [(d, i % 100 + 1, ["{table: holding, address: 0, value: %d}" % i])
             for i, d in enumerate(ids)],
            tcp=[("T1", ids[:100], "modbus-tcp"), ("T2", ids[100:], "modbus-tcp")]))
        ports = [sim.tcp_addr("T1")[1], sim.tcp_addr("T2")[1]]
        devices = "".join(
            "  - id: %s\n    unit: %d\n    comm: { primary: { channel: NET1, host: 127.0.0.1, "
            "port: %d } }\n    polls:\n      - name: g\n        interval_ms: 1000\n"
            "        points: [ { name: V, table: holding, address: 0, type: uint16 } ]\n"
            % (d, i % 100 + 1, ports[i // 100]) for i, d in enumerate(ids))
        node = self.start_node("node: { name: many }\napi: { listen: 127.0.0.1:API_PORT }\n"
                               "channels:\n  - { id: NET1, type: tcp, protocol: modbus-tcp }\n"
                               "devices:\n" + devices)
        wait_until(lambda: all(c == "ok" for c in self.api_comm(node).values()), 20,
                   what="every device polled")
        page = Page(self, node)
        page.wait_text('#counts [data-count="all"]', str(n))
        page.wait_text('#counts [data-count="ok"]', str(n))
        self.assertEqual(page.text("#device-shown"), str(n))
        self.assertEqual(page.text("#node-name"), "many")
        self.assertIsNotNone(page.js("return window.polluxFirstRenderMs"))
        # Virtualised: only the rows on screen are in the DOM, the last device is not.
        in_dom = page.tiles()
        self.assertGreater(len(in_dom), 0)
        self.assertLess(len(in_dom), n, "every tile is in the DOM: the grid is not virtualised")
        self.assertNotIn(ids[-1], in_dom)
        page.shot("overview-%d" % n)

        # Search is by id substring, case-insensitive, and finds a device beyond the first screen.
        page.type_into("#device-search", ids[-1].lower())
        page.wait_text("#device-shown", "1")
        page.wait(lambda: page.tiles() == [ids[-1]], what="only %s in the grid" % ids[-1])
        self.assertTrue(page.shown(page.tile(ids[-1])))
        self.assertEqual(page.comm(ids[-1]), "ok")
        page.type_into("#device-search", "rtu_1")  # RTU_100 .. RTU_199
        page.wait_text("#device-shown", "100")
        self.assertTrue(all(d.startswith("RTU_1") for d in page.tiles()), page.tiles())
        page.type_into("#device-search", "")
        page.wait_text("#device-shown", str(n))

        # The status filter.
        status = Select(page.driver.find_element(By.ID, "status-filter"))
        status.select_by_value("failed")
        page.wait_text("#device-shown", "0")
        self.assertEqual(page.tiles(), [])
        status.select_by_value("ok")
        page.wait_text("#device-shown", str(n))
        status.select_by_value("all")
        page.wait_text("#device-shown", str(n))

    # -- a failover the simulator causes, live ------------------------------------------------
    def test_a_failover_appears_within_2s_without_a_reload(self):
        ids = ["WELL_01", "WELL_02", "PUMP_01"]
        sim, node = self.field(ids)
        page = Page(self, node)
        page.wait(lambda: all(page.comm(d) == "ok" for d in ids), what="every device ok")
        page.wait_text("#stream-state", "live")
        page.js("window.pageLoadMarker = 'same load'")

        # The primary gateway stops answering WELL_01: line 2 after Initial fail (1 s).
        sim.fault("WELL_01", "silence", via="T1")
        seen = page.wait(lambda: page.comm("WELL_01") == "failover" and time.time(), 15,
                         what="WELL_01 shown on its failover line")
        events = wait_until(lambda: [e for e in node.get("/api/v1/events")
                                     if e["device"] == "WELL_01"], 5, what="the failover event")
        self.assertEqual((events[0]["from"], events[0]["to"]), (1, 2), events)
        late = seen - epoch(events[0]["time"])
        self.assertLess(late, 2.0, "the tile turned %.2f s after pollux's event" % late)
        self.assertEqual(page.js("return window.pageLoadMarker"), "same load", "the page reloaded")
        self.assertEqual(node.device("WELL_01")["active_line"], 2)
        page.wait_text('#counts [data-count="failover"]', "1", 2)
        self.assertEqual(page.count("ok"), "2")
        # The events timeline lists it, live too.
        page.wait(lambda: page.shown('#events-list li[data-kind="failover"]'
                                     '[data-device="WELL_01"]'), 2, what="the event listed")
        self.assertEqual(page.comm("WELL_02"), "ok")
        page.shot("failover")
        # The timeline's device filter, and the event in the device's detail.
        page.type_into("#events-filter", "WELL_02")
        page.wait(lambda: not page.shown('#events-list li[data-device="WELL_01"]'), 5,
                  what="WELL_01's event filtered out")
        page.type_into("#events-filter", "")
        page.wait(lambda: page.shown('#events-list li[data-device="WELL_01"]'), 5,
                  what="WELL_01's event listed again")
        page.open_detail("WELL_01")
        page.wait(lambda: page.shown("#detail-events li"), 5, what="the detail's events")
        self.assertIn("2", page.text("#detail-events li"))
        self.assertEqual(page.attr('#detail-lines tbody tr[data-line="2"]', "data-active"),
                         "true")

    # -- a device failed on every line; every state's count and colour ------------------------
    def test_a_device_failing_on_every_line_turns_failed(self):
        ids = ["WELL_01", "WELL_02", "WELL_03", "WELL_04", "WELL_05", "WELL_06",
               "PUMP_01", "PUMP_02", "PUMP_03", "TANK_01", "TANK_02", "GATE_01"]
        sim, node = self.field(ids, extra={"TANK_02": ["enabled: false"]})
        sim.fault("WELL_04", "silence", via="T1")  # fails over to line 2 and stays there
        sim.fault("PUMP_02", "silence")            # silent on both lines
        want = {d: "ok" for d in ids}
        want.update({"WELL_04": "failover", "PUMP_02": "failed", "TANK_02": "disabled"})
        wait_until(lambda: self.api_comm(node) == want, 15,
                   what="the API showing every state (%s)" % self.api_comm(node))
        page = Page(self, node)
        page.wait(lambda: {d: page.comm(d) for d in ids} == want,
                  what="every tile's state (%s)" % {d: page.comm(d) for d in ids})
        for kind, n in (("ok", 9), ("failover", 1), ("failed", 1), ("disabled", 1),
                        ("all", 12)):
            page.wait_text('#counts [data-count="%s"]' % kind, str(n), 5)
        # Each state has its own colour.
        colours = {c: page.background(page.tile(d))
                   for c, d in (("ok", "WELL_01"), ("failover", "WELL_04"),
                                ("failed", "PUMP_02"), ("disabled", "TANK_02"))}
        self.assertEqual(len(set(colours.values())), 4, colours)
        page.shot("overview")
        # The failed device's state after the page loaded: it turns failed live as well.
        sim.fault("WELL_02", "silence")
        page.wait(lambda: page.comm("WELL_02") == "failed", 10, what="WELL_02 failed")
        page.wait_text('#counts [data-count="failed"]', "2", 5)
        self.assertEqual(page.background(page.tile("WELL_02")), colours["failed"])
        Select(page.driver.find_element(By.ID, "status-filter")).select_by_value("failed")
        page.wait_text("#device-shown", "2")
        self.assertEqual(sorted(page.tiles()), ["PUMP_02", "WELL_02"])
        page.shot("failed")

    # -- the token prompt (spec/security.md) --------------------------------------------------
    def test_the_token_prompt_refuses_a_wrong_token_and_keeps_the_right_one(self):
        ids = ["A"]
        sim, node = self.field(ids, tokens=[("dashboards", VIEWER, "viewer")])
        page = Page(self, node)
        page.wait(lambda: page.shown("#login"), 10, what="the token form")
        self.assertFalse(page.shown(page.tile("A")))

        # A wrong token is refused and the form asks again.
        page.driver.find_element(By.ID, "login-token").send_keys("not-the-right-token-000")
        page.click("#login button[type=submit]")
        page.wait(lambda: page.shown("#login") and "refused" in (page.text("#login-why") or ""),
                  10, what="the wrong token refused")
        page.shot("login")

        page.type_into("#login-token", VIEWER)
        page.click("#login button[type=submit]")
        page.wait(lambda: not page.shown("#login") and page.comm("A") == "ok", 10,
                  what="the devices shown")
        self.assertEqual(page.js("return sessionStorage.getItem('pollux_api_token')"), VIEWER)
        self.assertEqual(page.text("#node-name"), "field")
        self.assertEqual(page.text('#counts [data-count="all"]'), "1")

        # The tab keeps it: a reload shows the devices without asking.
        page.driver.refresh()
        page.wait(lambda: page.comm("A") == "ok", 10, what="the devices after a reload")
        self.assertFalse(page.shown("#login"))
        # The token never reaches the log.
        self.assertNotIn(VIEWER, node.text())

    # -- an operator write through the confirm dialog; a viewer has no write button ------------
    def test_an_operator_write_reaches_the_device_once_and_a_viewer_sees_no_write_button(self):
        ids = ["W"]
        sim, node = self.field(ids, tokens=[("dashboards", VIEWER, "viewer"),
                                            ("scada", OPERATOR, "operator")],
                               extra={"W": ["writable: [V]"]})
        write_button = '#detail-points tbody tr[data-point="V"] button[data-action="write"]'
        page = Page(self, node, token=OPERATOR)
        page.open_detail("W")
        page.wait(lambda: page.shown(write_button), 10, what="the write button of V")
        for action in ('[data-action="line"][data-line="2"]', '[data-action="poll"]',
                       '[data-action="channel-disable"]'):
            self.assertTrue(page.shown("#detail " + action), action)

        # Cancelled: nothing is sent.
        page.click(write_button)
        page.wait(page.dialog_open, 5, what="the confirm dialog")
        self.assertIn("V", page.text("#confirm-text"))
        page.type_into("#confirm-value", "77")
        page.click("#confirm-cancel")
        page.wait(lambda: not page.dialog_open(), 5, what="the dialog closed")
        time.sleep(1.5)
        self.assertEqual(sim.writes("W"), [])

        # Confirmed: exactly one write reaches the device.
        page.click(write_button)
        page.wait(page.dialog_open, 5, what="the confirm dialog")
        page.type_into("#confirm-value", "42")
        page.shot("confirm")
        page.click("#confirm-ok")
        page.wait_text("#action-result", "ok", 10)
        writes = sim.writes("W")
        self.assertEqual([(w["via"], w["address"], w["values"]) for w in writes],
                         [("T1", 0, [42])])
        page.wait_text('#detail-points tbody tr[data-point="V"] td.value', "42", 5)
        time.sleep(1.0)
        self.assertEqual(len(sim.writes("W")), 1)

        # A viewer sees the same detail without any action.
        viewer = Page(self, node, token=VIEWER)
        viewer.open_detail("W")
        viewer.wait_text('#detail-points tbody tr[data-point="V"] td.value', "42", 10)
        time.sleep(1.0)  # time for whoami's answer to have been used
        self.assertEqual(viewer.js("return document.querySelectorAll("
                                   "'[data-action=\"write\"]').length"), 0)
        self.assertEqual(viewer.js("return document.querySelectorAll("
                                   "'#detail [data-action]').length"), 0)

    # -- the standby node of a pair -----------------------------------------------------------
    def test_the_standby_page_shows_standby_without_alarm_colours(self):
        sim = self.start_sim(PAIR_SIM_YAML)
        harness = PairHarness(sim, self.nodes)
        master, backup = harness.start(overrides=False, tcp_device=True)
        sim.fault("B", "silence")  # failed on the active node
        wait_until(lambda: master.device("B")["comm"] == "failed", 10, what="B failed")

        active = Page(self, master)
        active.wait(lambda: active.comm("B") == "failed", 10, what="B failed on the master")
        # The health answer (activity) is fetched apart from the devices; wait for it too.
        active.wait(lambda: active.attr("body", "data-activity") == "active", 10,
                    what="body[data-activity=active]")
        self.assertFalse(active.shown("#standby-note"))
        alarm = active.background(active.tile("B"))
        ok = active.background(active.tile("C"))
        self.assertNotEqual(alarm, ok)

        page = Page(self, backup)
        page.wait(lambda: page.attr("body", "data-activity") == "standby", 10,
                  what="body[data-activity=standby]")
        page.wait(lambda: all(page.comm(d) for d in ("A", "B", "C")), 10,
                  what="the devices on the standby")
        self.assertTrue(page.shown("#standby-note"))
        self.assertIn("received", page.text("#standby-note").lower())
        self.assertEqual(page.text("#node-activity"), "standby")
        self.assertEqual(page.text("#node-role"), "backup")
        page.wait_text("#peer-link", "connected", 10)
        # Standby never uses alarm colours, not even for the device the active node has failed.
        colours = {d: page.background(page.tile(d)) for d in ("A", "B", "C")}
        self.assertNotIn(alarm, colours.values(), colours)
        page.shot("standby")
        # Whatever state the standby's API reports for a device (it may be the received
        # "failed"), a failed tile on this page is not drawn in the alarm colour: the tile of B
        # marked failed as the page would mark it, read before the grid draws it again.
        marked = page.js("var e = document.querySelector(arguments[0]);"
                         "e.setAttribute('data-comm', 'failed');"
                         "return getComputedStyle(e).backgroundColor", page.tile("B"))
        self.assertNotEqual(marked, alarm)

    # -- the device detail --------------------------------------------------------------------
    def test_the_device_detail_shows_lines_status_counters_points_and_trends(self):
        ids = ["WELL_01", "WELL_02"]
        hist = tempfile.mkdtemp(prefix="pollux-ui-history.")
        sim, node = self.field(ids, history="{ path: %s/h.db }" % hist, interval_ms=200)
        query = "/api/v1/history?" + urllib.parse.urlencode(
            {"device": "WELL_01", "point": "CNT"})
        wait_until(lambda: len(node.get(query)["records"]) >= 10, 15, what="CNT's history")
        page = Page(self, node)
        page.wait_text("#history-state", "ok", 10)
        self.assertEqual(page.text("#northbound-state"), "off")
        self.assertEqual(page.text("#peer-link"), "\u2014")
        page.open_detail("WELL_01")
        self.assertEqual(page.text("#detail-comm"), "ok")
        lines = '#detail-lines tbody tr[data-line="%d"]'
        page.wait(lambda: page.shown(lines % 1) and page.shown(lines % 2), 10,
                  what="both lines")
        self.assertEqual(page.attr(lines % 1, "data-active"), "true")
        self.assertNotEqual(page.attr(lines % 2, "data-active"), "true")
        self.assertIn("NET1", page.text(lines % 1))
        self.assertIn("NET2", page.text(lines % 2))
        for p in SYDEV:
            self.assertTrue(page.shown('#detail-sydev tbody tr[data-point="%s"]' % p), p)
        self.assertIn("NET1", page.text('#detail-sydev tbody tr[data-point="SYDEVCOMID"]'))
        for c in ("messages_ok", "polls_ok"):
            self.assertTrue(page.shown('#detail-counters tbody tr[data-counter="%s"]' % c), c)

        row = '#detail-points tbody tr[data-point="%s"] '
        self.assertEqual(page.text(row % "V" + "td.value"), "10")
        self.assertEqual(page.text(row % "V" + "td.quality"), "good")
        self.assertTrue(page.text(row % "V" + "td.age"))
        # The trend is drawn from the history's intervals: shapes besides its title.
        page.wait(lambda: page.js("return document.querySelectorAll(arguments[0]).length",
                                  row % "CNT" + "svg.trend > :not(title)") > 0, 15,
                  what="CNT's trend drawn")
        # The values follow the stream: CNT moves without a reload.
        first = page.text(row % "CNT" + "td.value")
        page.wait(lambda: page.text(row % "CNT" + "td.value") != first, 5,
                  what="CNT updated live")
        page.js("document.getElementById('detail-points').scrollIntoView()")
        page.shot("detail")

        page.click("#detail-close")
        page.wait(lambda: not page.shown("#detail"), 5, what="the detail closed")


if __name__ == "__main__":
    unittest.main()
