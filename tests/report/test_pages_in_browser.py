"""All nine pages of the two bundled reviews (four per review and the toolkit) read as their readers
would: at 1366 px, on a 390 px phone (mobile emulation) and at 320 px (WCAG 2.2 reflow), in print on A4,
with a keyboard and through axe-core's WCAG 2.2 A/AA rules. Selenium drives Debian's Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from browser import Browser, small_text
from report_helpers import REVIEWS

pytestmark = pytest.mark.browser

PAGES = ["toolkit"] + [
    f"{r}/{p}" for r in REVIEWS for p in ("index", "practice-guide", "implementation-summary", "information-sheet")
]
WIDTHS = {"desktop": (1366, 900, False), "phone": (390, 844, True), "reflow": (320, 640, True)}
FONT = "system-ui"  # the first family of style.css's body font


def path_of(project: Path, page: str) -> Path:
    return project / "reports" / ("index.html" if page == "toolkit" else f"{page}.html")


def show(browser: Browser, project: Path, page: str, width: str) -> None:
    w, h, mobile = WIDTHS[width]
    browser.set_viewport(w, h, mobile=mobile)
    browser.open(path_of(project, page).as_uri())


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("page", PAGES)
def test_page_reads_at_each_width(browser: Browser, bundled: Path, page: str, width: str):
    """One load per page and width (the suite's time budget): layout, type, console and requests at every
    width; axe-core at 1366 and 390 px; every link at 1366 px."""
    show(browser, bundled, page, width)
    w = WIDTHS[width][0]
    assert browser.evaluate("window.innerWidth") == w
    scroll = browser.evaluate("document.documentElement.scrollWidth")
    assert scroll <= w, f"{page} scrolls sideways: {scroll} px of content in a {w} px viewport"
    assert browser.evaluate("getComputedStyle(document.body).fontFamily").startswith(FONT)
    measured, small = small_text(browser)
    assert measured > 10 and small == [], small[:10]  # > 10: the check saw the page
    assert browser.problems() == []
    foreign = [u for u in browser.requests() if not u.startswith(("file:", "data:", "about:", "blob:"))]
    assert foreign == [], foreign  # nothing loaded from any server
    if width in ("desktop", "phone"):
        serious = [v for v in browser.axe() if v["impact"] in ("serious", "critical")]
        assert serious == [], [(v["id"], v["help"], v["nodes"][:3]) for v in serious]
    if width == "desktop":
        assert unresolved_links(browser, path_of(bundled, page)) == []


def unresolved_links(browser: Browser, here: Path) -> list[str]:
    """In-page anchors that do not exist, links to files (or anchors in them) that do not, and any link
    that is not http(s) or relative (javascript:, data: ...)."""
    links = browser.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
    assert links
    ids = set(browser.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)"))
    bad = []
    for href in links:
        parts = urlparse(href)
        if parts.scheme in ("http", "https"):
            if not parts.netloc:
                bad.append(href)
        elif parts.scheme or href.startswith("//"):
            bad.append(href)  # javascript:, data:, mailto: ... nothing else belongs on these pages
        elif not parts.path:
            if unquote(parts.fragment) not in ids:
                bad.append(href)
        else:
            target = (here.parent / unquote(parts.path)).resolve()
            if not target.is_file():
                bad.append(href)
            elif parts.fragment and f'id="{unquote(parts.fragment)}"' not in target.read_text(encoding="utf-8"):
                bad.append(href)
    return bad


@pytest.mark.parametrize("review", REVIEWS)
def test_information_sheet_prints_on_two_a4_pages(browser: Browser, bundled: Path, review: str):
    browser.cdp("Emulation.clearDeviceMetricsOverride")
    browser.open(path_of(bundled, f"{review}/information-sheet").as_uri())
    pdf = browser.print_pdf(background=False)  # the browser's default: no background graphics
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[56](\.\d+)? 84[12](\.\d+)?\s*\]", pdf), "not A4"
    assert 1 <= browser.pdf_pages(pdf) <= 2


def test_wide_tables_scroll_in_a_focusable_region_with_a_cue(browser: Browser, bundled: Path):
    show(browser, bundled, "cbt-recidivism/index", "phone")
    regions = browser.evaluate(
        """[...document.querySelectorAll('.table-wrap')].map(w => ({
            wide: w.scrollWidth > w.clientWidth + 1, tab: w.tabIndex, role: w.getAttribute('role'),
            name: (document.getElementById(w.getAttribute('aria-labelledby')) || {}).textContent || '',
            cue: !!(w.previousElementSibling && w.previousElementSibling.classList.contains('scroll-cue')
                    && !w.previousElementSibling.hidden),
            caption: (() => { const c = w.querySelector('caption'); if (!c) return null;
                              const a = c.getBoundingClientRect(), b = w.getBoundingClientRect();
                              return {text: c.textContent.slice(0, 60), left: a.left - b.left, right: a.right - b.right}; })()
        }))"""
    )
    wide = [r for r in regions if r["wide"]]
    assert wide, "no table is wider than a phone: the check would be vacuous"
    assert all(r["tab"] == 0 and r["role"] == "region" and r["name"] and r["cue"] for r in wide), wide
    # what the table is can be read without scrolling sideways: its caption wraps within the visible width
    captions = [r["caption"] for r in wide if r["caption"]]
    assert captions and all(c["left"] >= -1 and c["right"] <= 1 for c in captions), captions
    narrow = [r for r in regions if not r["wide"]]
    assert narrow and not any(r["cue"] for r in narrow)  # the cue only where there is more to see


def test_toolkit_sorts_and_filters_without_a_server(browser: Browser, bundled: Path):
    show(browser, bundled, "toolkit", "desktop")
    order = "[...document.querySelectorAll('#tk-list > li:not([hidden]) h3')].map(h => h.textContent)"
    status = "document.getElementById('tk-status').textContent"
    names = browser.evaluate(order)
    assert names == sorted(names, key=str.lower) and len(names) == 3
    browser.evaluate(
        "(() => { const s = document.getElementById('tk-sort'); s.value = 'strength'; s.dispatchEvent(new Event('change')); })()"
    )
    # CBT: moderate certainty on reoffending; school calendars and Signs of Safety: very low (then by name).
    assert browser.evaluate(order) == [
        "Cognitive-behavioral therapy for offenders",
        "Modified school calendars",
        "Signs of Safety",
    ]
    browser.evaluate(
        "(() => { const s = document.getElementById('tk-min'); s.value = '3'; s.dispatchEvent(new Event('change')); })()"
    )
    assert browser.evaluate(order) == ["Cognitive-behavioral therapy for offenders"]
    assert browser.evaluate(status).startswith("Showing 1 of 3 interventions")
    browser.evaluate(
        "(() => { const s = document.getElementById('tk-min'); s.value = '0'; s.dispatchEvent(new Event('change')); })()"
    )
    browser.evaluate(
        "(() => { const f = document.getElementById('tk-find'); f.value = 'children'; f.dispatchEvent(new Event('input')); })()"
    )
    assert browser.evaluate(order) == ["Signs of Safety"]
    assert browser.problems() == []
