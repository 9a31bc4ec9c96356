"""The tiny review's report opened in headless Chromium (Selenium and Debian's chromium-driver): it
renders at desktop and phone widths, throws no JavaScript error, does not overflow a phone screen
sideways, makes no network request, and the interactive CMO graph answers a click and the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import Browser
from report_helpers import HOSTILE_CMO_EXCERPT, PAGES
from selenium.webdriver.common.keys import Keys

pytestmark = pytest.mark.browser

DESKTOP = (1280, 900)
PHONE = (390, 844)


@pytest.fixture(scope="module")
def project(report_project: Path) -> Path:
    return report_project


def page_url(project: Path, name: str) -> str:
    return (project / "reports" / "tiny" / f"{name}.html").as_uri()


def assert_only_local_requests(browser: Browser, allowed: set[str]) -> None:
    urls = browser.requests()
    assert urls, "the performance log saw no request at all: the check would be vacuous"
    foreign = [u for u in urls if u not in allowed and not u.startswith(("data:", "about:", "blob:", "file:"))]
    assert not foreign, foreign


@pytest.mark.parametrize("name", [*PAGES, "toolkit"])
@pytest.mark.parametrize(("width", "height"), [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_page_renders_cleanly(browser: Browser, project: Path, name: str, width: int, height: int):
    url = (project / "reports" / "index.html").as_uri() if name == "toolkit" else page_url(project, name)
    browser.set_viewport(width, height, mobile=width < 600)
    browser.open(url)
    assert browser.evaluate("document.readyState") == "complete"
    assert browser.evaluate("window.innerWidth") == width
    assert browser.evaluate("document.body.innerText.length") > 200  # it rendered text
    scroll = browser.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{name} is {scroll} px wide in a {width} px viewport"
    assert browser.problems() == []
    assert_only_local_requests(browser, {url})


def open_graph(browser: Browser, project: Path) -> None:
    browser.set_viewport(*DESKTOP)
    browser.open(page_url(project, "index"))


def panel(browser: Browser) -> str:
    return browser.evaluate("document.querySelector('#cmo-graph .emmie-cmo-panel').textContent")


def tab_to_graph(browser: Browser) -> None:
    for _ in range(200):
        browser.keys(Keys.TAB)
        if browser.evaluate("document.activeElement.classList.contains('emmie-cmo-canvas')"):
            break
    else:
        pytest.fail("Tab never reached the interactive graph")


def test_interactive_graph_answers_a_click_on_a_link(browser: Browser, project: Path):
    open_graph(browser, project)
    before = panel(browser)
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
    text = panel(browser)
    assert text != before
    assert f"{where['src']} → {where['tgt']}" in text
    assert HOSTILE_CMO_EXCERPT in text  # the excerpt is shown as text, not run:
    assert browser.evaluate("document.querySelectorAll('#cmo-graph .emmie-cmo-panel script').length") == 0
    assert browser.problems() == []


def test_interactive_graph_answers_a_click_on_a_concept(browser: Browser, project: Path):
    open_graph(browser, project)
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
    text = panel(browser)
    assert "Immunity" in text and "m_immunity" in text
    assert browser.problems() == []


def test_interactive_graph_works_from_the_keyboard(browser: Browser, project: Path):
    """Tab reaches the graph; the arrow keys step through every concept, then every link; the panel
    (a live region) names each selection and its place in the sequence."""
    open_graph(browser, project)
    tab_to_graph(browser)
    assert browser.evaluate("document.querySelector('#cmo-graph .emmie-cmo-panel').getAttribute('aria-live')") == (
        "polite"
    )
    n = browser.evaluate("document.querySelector('.emmie-cmo-canvas')._cyreg.cy.elements().length")
    seen = []
    for _ in range(n):
        browser.keys(Keys.ARROW_RIGHT)
        seen.append(panel(browser))
    assert seen[0].startswith(f"1 of {n} (concept)")
    assert seen[-1].startswith(f"{n} of {n} (link)") and "Link: " in seen[-1]
    assert len(set(seen)) == n  # every element once
    assert browser.evaluate("document.querySelector('.emmie-cmo-canvas')._cyreg.cy.$(':selected').length") == 1
    browser.keys(Keys.HOME)
    assert panel(browser).startswith(f"1 of {n}")
    browser.keys(Keys.ARROW_LEFT)  # wraps to the last
    assert panel(browser).startswith(f"{n} of {n}")
    assert browser.problems() == []


def test_interactive_graph_stacks_on_a_phone(browser: Browser, project: Path):
    browser.set_viewport(*PHONE, mobile=True)
    browser.open(page_url(project, "index"))
    widths = browser.evaluate(
        """['.emmie-cmo-canvas', '.emmie-cmo-panel'].map(s => document.querySelector('#cmo-graph ' + s)
            .getBoundingClientRect().width).concat([window.innerWidth])"""
    )
    canvas, side, viewport = widths
    assert canvas >= 0.8 * viewport and side >= 0.8 * viewport, widths


def printed_pages(browser: Browser, project: Path, name: str) -> int:
    browser.cdp("Emulation.clearDeviceMetricsOverride")
    browser.open(page_url(project, name))
    return browser.pdf_pages(browser.print_pdf())


def test_information_sheet_prints_on_at_most_two_pages(browser: Browser, project: Path):
    assert 1 <= printed_pages(browser, project, "information-sheet") <= 2  # A4, background graphics off


def test_full_report_prints(browser: Browser, project: Path):
    # The print stylesheet hides the interactive view and the navigation; the report still prints whole.
    assert printed_pages(browser, project, "index") >= 3
    assert browser.problems() == []


def test_interactive_graph_says_how_many_codings_of_a_link_it_left_out(
    browser: Browser, project: Path, tmp_path: Path, monkeypatch
):
    """With the graph bounded to one coding in all, a link that had more says in its panel how many codings the
    page leaves out and which file holds every one."""
    from emmie.ingest import load_review
    from emmie.report import tables
    from emmie.report.render import render_review

    monkeypatch.setattr(tables, "GRAPH_CODINGS_MAX", 1)
    results = project / "results" / "tiny"
    render_review(load_review(project / "data" / "tiny"), results, tmp_path / "tiny")
    browser.set_viewport(*DESKTOP)
    browser.open((tmp_path / "tiny" / "index.html").as_uri())
    tab_to_graph(browser)
    n = browser.evaluate("document.querySelector('.emmie-cmo-canvas')._cyreg.cy.elements().length")
    said = []
    for _ in range(n):
        browser.keys(Keys.ARROW_RIGHT)
        said.append(panel(browser))
    where = results / "mechanisms" / "cmo_edges.csv"
    more = [t for t in said if "not carried on the page" in t]
    assert more, said
    for text in more:
        assert text.endswith(f"of this link, not carried on the page: every coding is in {where}.")
        assert " more coding" in text
    assert browser.problems() == []
