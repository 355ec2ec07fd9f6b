"""The status page in a real browser (headless Chromium through Selenium) on a node with tokens
(spec/security.md): the page arrives with the 401, asks for a token in a form, keeps it in the
tab's sessionStorage and sends it with every request; a refused token asks again.

Binaries come from the environment: POLLUX_BIN and POLLUX_SIM_BIN (set by CTest).
"""

import os
import shutil
import unittest

from pollux_support.configs import sim_yaml
from pollux_support.node import wait_until
from pollux_support.testcase import NodeTestCase

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
except ImportError:  # the test is skipped, not failed, on a machine without it
    webdriver = None

VIEWER = "viewer-token-page-5a1e2b"


def browser():
    opts = webdriver.ChromeOptions()
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    if os.path.exists("/usr/bin/chromium"):
        opts.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)


class StatusPageTest(NodeTestCase):
    def test_the_page_asks_for_a_token_and_keeps_it_for_the_tab(self):
        if webdriver is None or not shutil.which("chromedriver"):
            self.skipTest("python3-selenium or chromium-driver not installed")
        sim = self.start_sim(sim_yaml([("A", 1, ["{table: holding, address: 0, value: 11}"])],
                                      tcp=[("T1", ["A"], "modbus-tcp")]))
        node = self.start_node(
            "node: { name: page }\n"
            "api:\n  listen: 127.0.0.1:API_PORT\n  tokens:\n"
            "    - { name: dashboards, token: %s, role: viewer }\n"
            "channels:\n  - { id: NET1, type: tcp, protocol: modbus-tcp }\n"
            "devices:\n  - id: A\n    unit: 1\n"
            "    comm: { primary: { channel: NET1, host: 127.0.0.1, port: %d } }\n"
            "    polls:\n      - name: g\n        interval_ms: 500\n        points:\n"
            "          - { name: SP, table: holding, address: 0, type: uint16 }\n"
            % (VIEWER, sim.tcp_addr("T1")[1]))
        driver = browser()
        try:
            driver.set_page_load_timeout(20)
            driver.get(node.base + "/")
            form = driver.find_element(By.ID, "login")
            wait_until(form.is_displayed, 10, what="the token form")

            # A wrong token is refused and the form asks again.
            driver.find_element(By.ID, "login-token").send_keys("not-the-right-token-000")
            driver.find_element(By.CSS_SELECTOR, "#login button").click()
            wait_until(lambda: form.is_displayed() and "refused" in
                       driver.find_element(By.ID, "login-why").text, 10,
                       what="the wrong token refused")

            driver.find_element(By.ID, "login-token").send_keys(VIEWER)
            driver.find_element(By.CSS_SELECTOR, "#login button").click()
            rows = lambda: driver.find_element(By.CSS_SELECTOR, "#devices tbody").text  # noqa: E731
            wait_until(lambda: not form.is_displayed() and rows().startswith("A "), 10,
                       what="the devices table filled")
            self.assertEqual(driver.execute_script(
                "return sessionStorage.getItem('pollux_api_token')"), VIEWER)
            self.assertEqual(driver.find_element(By.ID, "node").text, "page")

            # The tab keeps it: a reload shows the data without asking.
            driver.refresh()
            form = driver.find_element(By.ID, "login")
            wait_until(lambda: rows().startswith("A "), 10, what="the table after a reload")
            self.assertFalse(form.is_displayed())
        finally:
            driver.quit()
        # The token never reaches the log.
        self.assertNotIn(VIEWER, node.text())


if __name__ == "__main__":
    unittest.main()
