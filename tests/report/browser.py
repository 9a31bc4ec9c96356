"""Headless Chromium for the page tests, driven by Selenium through Debian's ``chromium-driver``,
with axe-core (npm) inlined into the page for the accessibility checks.

What a test needs and finds missing, the set-up installs: Debian's ``chromium`` and
``chromium-driver`` (apt-get, as root) and axe-core (``npm ci`` from the committed
``package-lock.json``). :func:`require` fails under ``CI=true`` when that is impossible and skips
otherwise, saying why. Nothing reaches the network once installed: Chromium runs with its
background traffic off, and the pages are files.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.print_page_options import PrintOptions

from support import ROOT

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
DRIVERS = ("chromedriver",)
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Flags that keep a test run hermetic: no sandbox (root in CI), no GPU, no background
# traffic to Google (updates, sync, field trials), a fresh profile per browser.
FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
)
# WCAG 2.2 A and AA, as axe-core tags them.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def _which(names: tuple[str, ...]) -> str | None:
    return next((p for p in map(shutil.which, names) if p), None)


def _apt_install(*packages: str) -> str:
    """'' when apt-get installed ``packages``, else why not."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return f"not root, so cannot apt-get install {' '.join(packages)}"
    if not shutil.which("apt-get"):
        return "apt-get is not available"
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        if proc.returncode != 0:  # stale package lists: refresh once and retry
            subprocess.run(["apt-get", "update"], capture_output=True, text=True, env=env, timeout=600)
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"apt-get failed: {exc}"
    return "" if proc.returncode == 0 else f"apt-get exit {proc.returncode}: {proc.stderr.strip()[-300:]}"


@contextmanager
def _installing():
    """One installer at a time: the test workers (pytest-xdist) each set up their browser tools."""
    import fcntl

    with open(Path(tempfile.gettempdir()) / "emmie-tests-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def ensure_browser() -> tuple[tuple[str, str] | None, str]:
    """(Chromium, ChromeDriver) paths, installing Debian's packages when missing; else (None, why)."""
    binary, driver = _which(BROWSERS), _which(DRIVERS)
    if binary and driver:
        return (binary, driver), ""
    with _installing():
        binary, driver = _which(BROWSERS), _which(DRIVERS)
        if binary and driver:
            return (binary, driver), ""
        why = _apt_install("chromium", "chromium-driver")
    binary, driver = _which(BROWSERS), _which(DRIVERS)
    if binary and driver:
        return (binary, driver), ""
    return None, f"Chromium or ChromeDriver missing and not installable: {why}"


def ensure_axe() -> tuple[str | None, str]:
    """axe-core's source, running ``npm ci`` when ``node_modules`` lacks it; else (None, why)."""
    if not AXE.is_file():
        npm = shutil.which("npm")
        if not npm:
            return None, "axe-core is not installed and npm is not available (apt-get install npm)"
        with _installing():
            if not AXE.is_file():  # another worker may have installed it meanwhile
                try:
                    proc = subprocess.run(
                        [npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT, capture_output=True, text=True, timeout=600
                    )
                except (OSError, subprocess.TimeoutExpired) as exc:
                    return None, f"npm ci failed: {exc}"
                if proc.returncode != 0 or not AXE.is_file():
                    return None, f"npm ci failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"
    return AXE.read_text(encoding="utf-8"), ""


def require(found: Any, why: str) -> Any:
    """``found``, or a failure under CI=true (CI never skips silently), or a skip saying why."""
    import pytest

    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run under CI=true: {why}")
        pytest.skip(why)
    return found


class Browser:
    """One headless Chromium window. ``problems()`` lists console errors and dialogs seen so far;
    ``requests()`` every URL the page asked for (from the performance log)."""

    def __init__(self, binary: str, driver: str, profile: Path, *, axe: str | None = None):
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        options.set_capability("unhandledPromptBehavior", "ignore")
        self.driver = webdriver.Chrome(service=Service(executable_path=driver), options=options)
        self.driver.set_script_timeout(60)
        self.axe_source = axe
        self._console: list[dict] = []
        self._requests: list[str] = []
        self.driver.get("about:blank")  # leave the new-tab page (chrome:// requests) behind
        self._drain()
        self._console.clear()
        self._requests.clear()

    def close(self) -> None:
        self.driver.quit()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cdp(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.driver.execute_cdp_cmd(method, params or {})

    def set_viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        """Emulate a screen. A blank page first: Chromium may reload the open page when the emulation
        changes, and that reload must not race the next ``open``."""
        self.driver.get("about:blank")
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )
        self.cdp("Emulation.setTouchEmulationEnabled", {"enabled": mobile})

    def open(self, url: str) -> None:
        """Navigate and wait for the load event. Console problems accumulate; ``requests()`` starts afresh."""
        self._drain()
        self._requests.clear()
        self.driver.get(url)
        for _ in range(300):  # the load event has fired when get returns; make sure nothing reloads it
            if self.driver.execute_script("return document.readyState") == "complete":
                break
            time.sleep(0.1)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression, awaited when it is a promise; a thrown exception fails."""
        # WebDriver's Execute Script awaits a returned promise and runs in the page's current document.
        return self.driver.execute_script(f"return ({expression});")

    def click(self, x: float, y: float) -> None:
        """A left click at viewport coordinates, as a mouse makes it."""
        actions = ActionBuilder(self.driver)
        actions.pointer_action.move_to_location(int(round(x)), int(round(y))).click()
        actions.perform()

    def keys(self, *keys: str) -> None:
        """Key presses sent to whatever has the focus, as a keyboard user makes them."""
        chain = ActionChains(self.driver)
        for k in keys:
            chain.send_keys(k)
        chain.perform()

    def screenshot(self, path: Path) -> Path:
        """The whole page as PNG, not only the viewport."""
        size = self.cdp("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        data = self.cdp("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def print_pdf(self, *, background: bool = False) -> bytes:
        """The page printed to A4 as the browser's print dialog would (background graphics off)."""
        opts = PrintOptions()
        opts.page_width, opts.page_height = 21.0, 29.7
        opts.background = background
        try:
            return base64.b64decode(self.driver.print_page(opts))
        except WebDriverException as exc:  # Chromium's "Printing failed" now and then: reload once and retry
            if "Printing failed" not in str(exc):
                raise
            self.driver.get(self.driver.current_url)
            return base64.b64decode(self.driver.print_page(opts))

    @staticmethod
    def pdf_pages(pdf: bytes) -> int:
        return len(re.findall(rb"/Type\s*/Page[^s]", pdf))

    def axe(self, tags: list[str] | None = None) -> list[dict]:
        """axe-core's violations on the open page, WCAG 2.2 A and AA rules."""
        assert self.axe_source, "axe-core was not loaded"
        if not self.evaluate("typeof window.axe === 'object'"):
            self.driver.execute_script(self.axe_source)
        options = json.dumps({"runOnly": {"type": "tag", "values": tags or WCAG_AA}, "resultTypes": ["violations"]})
        return self.evaluate(
            f"""axe.run(document, {options}).then(r => r.violations.map(v => ({{
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary.slice(0, 300))}})))"""
        )

    def _drain(self) -> None:
        for entry in self.driver.get_log("browser"):
            self._console.append(entry)
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                self._requests.append(msg["params"]["request"]["url"])

    def problems(self) -> list[str]:
        """Console errors and JavaScript exceptions seen so far, and any open dialog (alert, confirm)."""
        self._drain()
        out = [f"{e['level']}: {e['message']}" for e in self._console if e["level"] == "SEVERE"]
        try:
            alert = self.driver.switch_to.alert
            out.append(f"dialog: {alert.text}")
        except NoAlertPresentException:
            pass
        return out

    def requests(self) -> list[str]:
        """The URLs the page opened last asked for."""
        self._drain()
        return list(self._requests)


# Every text node's rendered size in CSS px: font-size times the SVG's on-screen scale for chart text.
SMALL_TEXT_JS = """(() => {
  const min = %(min)s, out = [], seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const t = walker.currentNode, el = t.parentElement;
    if (!t.textContent.trim() || !el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest('title, desc, script, style') || !el.getClientRects().length) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden') continue;
    let px = parseFloat(cs.fontSize);
    if (el instanceof SVGElement) { const m = el.getScreenCTM(); if (m) px *= Math.hypot(m.a, m.b); }
    if (px < min - 0.05) out.push(el.tagName + ' ' + (Math.round(px * 10) / 10) + 'px: ' + t.textContent.trim().slice(0, 40));
  }
  return [seen.size, out];
})()"""


def small_text(browser: Browser, minimum: float = 9.0) -> tuple[int, list[str]]:
    """(text elements measured, those rendered under ``minimum`` px), HTML and inline SVG."""
    n, small = browser.evaluate(SMALL_TEXT_JS % {"min": minimum})
    return n, small
