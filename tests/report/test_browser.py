"""The tiny review's report opened in headless Chromium: it renders at desktop and phone widths
(screenshots kept in the test's tmp dir), throws no JavaScript error, does not overflow a phone
screen sideways, makes no network request, and the interactive CMO graph answers a click."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from chromium import Chromium, ensure_chromium
from report_helpers import HOSTILE_CMO_EXCERPT, PAGES

pytestmark = pytest.mark.browser

DESKTOP = (1280, 900)
PHONE = (390, 844)


@pytest.fixture(scope="module")
def browser_binary() -> str:
    binary, why = ensure_chromium()
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":  # CI never skips silently
            pytest.fail(f"no headless Chromium under CI=true: {why}")
        pytest.skip(f"no headless Chromium: {why}")
    return binary


@pytest.fixture(scope="module")
def project(report_project: Path) -> Path:
    return report_project


@pytest.fixture
def browser(browser_binary: str, tmp_path: Path):
    with Chromium(browser_binary, tmp_path / "profile") as b:
        yield b


def page_url(project: Path, name: str) -> str:
    return (project / "reports" / "tiny" / f"{name}.html").as_uri()


def assert_only_local_requests(browser: Chromium, allowed: set[str]) -> None:
    urls = browser.requests()
    assert urls, "the Network domain saw no request at all: the check would be vacuous"
    foreign = [u for u in urls if u not in allowed and not u.startswith(("data:", "about:", "blob:"))]
    assert not foreign, foreign


@pytest.mark.parametrize("name", [*PAGES, "toolkit"])
@pytest.mark.parametrize(("width", "height"), [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_page_renders_cleanly(browser: Chromium, project: Path, tmp_path: Path, name: str, width: int, height: int):
    url = (project / "reports" / "index.html").as_uri() if name == "toolkit" else page_url(project, name)
    browser.set_viewport(width, height, mobile=width < 600)
    browser.open(url)
    assert browser.evaluate("document.readyState") == "complete"
    assert browser.evaluate("window.innerWidth") == width
    shot = browser.screenshot(tmp_path / f"{name}-{width}.png")
    assert shot.stat().st_size > 5_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    overflow = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert overflow[0] <= overflow[1], f"{name} is {overflow[0]} px wide in a {overflow[1]} px viewport"
    assert browser.problems() == []
    assert_only_local_requests(browser, {url})


def test_interactive_graph_answers_a_click_on_a_link(browser: Chromium, project: Path):
    browser.set_viewport(*DESKTOP)
    url = page_url(project, "index")
    browser.open(url)
    panel_before = browser.evaluate("document.querySelector('#cmo-graph .emmie-cmo-panel').textContent")
    # cytoscape keeps its instance on the container; take an edge's on-screen midpoint and click it.
    where = browser.evaluate(
        """(() => {
        const canvas = document.querySelector('#cmo-graph .emmie-cmo-canvas');
        canvas.scrollIntoView({block: 'center'});
        const cy = canvas._cyreg && canvas._cyreg.cy;
        if (!cy) return null;
        const edge = cy.edges().filter(e => e.data('codings').some(c => c.cmo_id === 'x1'))[0];
        const mid = edge.renderedMidpoint(), box = canvas.getBoundingClientRect();
        return {x: box.left + mid.x, y: box.top + mid.y, nodes: cy.nodes().length, edges: cy.edges().length,
                src: cy.getElementById(edge.data('source')).data('full_label'),
                tgt: cy.getElementById(edge.data('target')).data('full_label')};
    })()"""
    )
    assert where is not None, "cytoscape did not initialise on #cmo-graph"
    assert where["nodes"] == 4 and where["edges"] >= 3  # the tiny review's vocabulary and its chain links
    browser.click(where["x"], where["y"])
    panel = browser.evaluate("document.querySelector('#cmo-graph .emmie-cmo-panel').textContent")
    assert panel != panel_before
    assert f"{where['src']} → {where['tgt']}" in panel
    assert HOSTILE_CMO_EXCERPT in panel  # the excerpt is shown as text, not run:
    scripts_in_panel = browser.evaluate("document.querySelectorAll('#cmo-graph .emmie-cmo-panel script').length")
    assert scripts_in_panel == 0
    assert browser.problems() == []
    assert_only_local_requests(browser, {url})


def test_interactive_graph_answers_a_click_on_a_concept(browser: Chromium, project: Path):
    browser.set_viewport(*DESKTOP)
    browser.open(page_url(project, "index"))
    where = browser.evaluate(
        """(() => {
        const canvas = document.querySelector('#cmo-graph .emmie-cmo-canvas');
        canvas.scrollIntoView({block: 'center'});
        const node = canvas._cyreg.cy.getElementById('m_immunity');
        const p = node.renderedPosition(), box = canvas.getBoundingClientRect();
        return {x: box.left + p.x, y: box.top + p.y};
    })()"""
    )
    browser.click(where["x"], where["y"])
    panel = browser.evaluate("document.querySelector('#cmo-graph .emmie-cmo-panel').textContent")
    assert "Immunity" in panel and "m_immunity" in panel
    assert browser.problems() == []


def test_interactive_graph_stacks_on_a_phone(browser: Chromium, project: Path):
    browser.set_viewport(*PHONE, mobile=True)
    browser.open(page_url(project, "index"))
    widths = browser.evaluate(
        """['.emmie-cmo-canvas', '.emmie-cmo-panel'].map(s => document.querySelector('#cmo-graph ' + s)
            .getBoundingClientRect().width).concat([window.innerWidth])"""
    )
    canvas, panel, viewport = widths
    assert canvas >= 0.8 * viewport and panel >= 0.8 * viewport, widths


def printed_pages(browser: Chromium, project: Path, name: str) -> int:
    import base64
    import re

    browser.open(page_url(project, name))
    pdf = base64.b64decode(
        browser.send("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": True})["data"]
    )
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_information_sheet_prints_on_at_most_two_pages(browser: Chromium, project: Path):
    assert 1 <= printed_pages(browser, project, "information-sheet") <= 2  # A4


def test_full_report_prints(browser: Chromium, project: Path):
    # The print stylesheet hides the interactive view and the navigation; the report still prints whole.
    assert printed_pages(browser, project, "index") >= 3
    assert browser.problems() == []
