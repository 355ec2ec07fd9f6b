"""Headless Chromium for the operator page's tests and its benchmark (issue 23): Debian's
chromium and chromium-driver driven by python3-selenium, at a fixed window size so that
screenshots compare from run to run, and the directory the screenshots go to.

    from pollux_support.browser import Browser, available, artifacts_dir
    if not available(): skip
    with Browser() as b:                   # 1400 x 900
        b.driver.get(node.base + "/")
        b.js("return document.title")
        b.shot("overview")                 # <artifacts_dir()>/overview.png

artifacts_dir(): $POLLUX_ARTIFACTS_DIR when set; otherwise `artifacts/ui` in the build tree of
the pollux binary under test (the first directory above $POLLUX_BIN, or `binary`, that holds
CMakeCache.txt: build/release when CTest runs the test); otherwise a fresh temporary directory.
"""

import os
import shutil
import subprocess
import tempfile

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
except ImportError:  # callers skip: available() is false
    webdriver = None

WIDTH, HEIGHT = 1400, 900
CHROMIUM = "/usr/bin/chromium"


def available():
    """Whether python3-selenium and chromium-driver are installed."""
    return webdriver is not None and shutil.which("chromedriver") is not None


def build_dir(binary=None):
    """The CMake build tree the binary belongs to, or None."""
    path = binary or os.environ.get("POLLUX_BIN")
    if not path:
        return None
    d = os.path.dirname(os.path.abspath(path))
    while d != os.path.dirname(d):
        if os.path.exists(os.path.join(d, "CMakeCache.txt")):
            return d
        d = os.path.dirname(d)
    return None


def artifacts_dir(binary=None):
    """Where screenshots go (see the module comment); created when missing."""
    d = os.environ.get("POLLUX_ARTIFACTS_DIR")
    if not d:
        top = build_dir(binary)
        d = os.path.join(top, "artifacts", "ui") if top else tempfile.mkdtemp(prefix="pollux-ui.")
    os.makedirs(d, exist_ok=True)
    return d


class Browser:
    """One headless Chromium with its chromedriver; quit() (or the with block) ends both."""

    def __init__(self, width=WIDTH, height=HEIGHT, page_load_timeout=30, binary=None):
        opts = webdriver.ChromeOptions()
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=%d,%d" % (width, height), "--hide-scrollbars",
                    "--force-device-scale-factor=1", "--enable-precise-memory-info"):
            opts.add_argument(arg)
        if os.path.exists(CHROMIUM):
            opts.binary_location = CHROMIUM
        self.service = Service(shutil.which("chromedriver"))
        self.driver = webdriver.Chrome(service=self.service, options=opts)
        self.binary = binary
        try:
            # The viewport itself at the fixed size (the window's size would include its frame).
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
            self.driver.set_page_load_timeout(page_load_timeout)
        except BaseException:
            self.quit()
            raise

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def shot(self, name):
        """Saves a PNG screenshot of the window as NAME.png in artifacts_dir(); its path."""
        path = os.path.join(artifacts_dir(self.binary), name + ".png")
        self.driver.save_screenshot(path)
        return path

    def renderer_rss_kb(self):
        """{pid: resident set in kB} of this browser's renderer processes: those below
        chromedriver whose command line has --type=renderer, but for the browser's own user
        interface (--top-chrome-webui). A page lives in one of them, at scale the largest."""
        root = self.service.process.pid
        children = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(pid))
        out = {}
        todo = [root]
        while todo:
            pid = todo.pop()
            todo += children.get(pid, [])
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    cmd = f.read()  # the zygote's children rewrite it as one string
                with open("/proc/%d/status" % pid) as f:
                    rss = [int(line.split()[1]) for line in f if line.startswith("VmRSS:")]
            except OSError:
                continue
            if b"--type=renderer" in cmd and b"--top-chrome-webui" not in cmd and rss:
                out[pid] = rss[0]
        return out

    def quit(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:  # noqa: BLE001 - a browser that already died is ended anyway
                pass
            self.driver = None
        proc = getattr(self.service, "process", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()
        return False
