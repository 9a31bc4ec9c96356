"""The built HTML report of the tiny review, read as HTML (no browser): sections, numbers,
escaping of user text, self-containment, alt text and internal links."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from report_helpers import (
    HOSTILE_CITATION,
    HOSTILE_CMO_EXCERPT,
    HOSTILE_EXCERPT,
    HOSTILE_STUDY,
    PAGES,
    Node,
    parse,
)

SECTIONS = (
    "summary",
    "effect",
    "mechanisms",
    "moderators",
    "implementation",
    "economics",
    "quality",
    "methods",
    "references",
)
# Elements that fetch what their src/href names when a page is opened.
FETCHING = {
    "script",
    "link",
    "img",
    "image",
    "iframe",
    "source",
    "audio",
    "video",
    "embed",
    "object",
    "input",
    "track",
    "use",
    "frame",
}
EXTERNAL = re.compile(r"^\s*(https?:|//|ftp:|file:)", re.I)


@pytest.fixture(scope="module")
def project(report_project: Path) -> Path:
    return report_project


@pytest.fixture(scope="module")
def pages(project: Path) -> dict[str, str]:
    out = {name: (project / "reports" / "tiny" / f"{name}.html").read_text(encoding="utf-8") for name in PAGES}
    out["toolkit"] = (project / "reports" / "index.html").read_text(encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def doms(pages: dict[str, str]) -> dict[str, Node]:
    return {name: parse(html) for name, html in pages.items()}


@pytest.fixture(scope="module")
def effect(project: Path) -> dict:
    from emmie.pipeline import read_summaries

    return read_summaries(project / "results" / "tiny")["effect"]  # effect.json with results.csv joined in


def fmt(x: float | None, digits: int) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def fmt_p(p: float | None) -> str:
    """p-values as the report shows them: four decimals, and "< 0.0001" below that."""
    return "–" if p is None else "< 0.0001" if p < 0.0001 else f"{p:.4f}"


def test_the_four_pages_and_the_toolkit_page_exist(project: Path, doms: dict[str, Node]):
    for name in PAGES:
        assert (project / "reports" / "tiny" / f"{name}.html").is_file()
    for name, dom in doms.items():
        html = dom.find("html")
        assert html.attrs.get("lang") == "en", name
        assert dom.find("title").text().strip(), name
        assert dom.find("main").attrs.get("id") == "main", name
    toolkit_links = {a.attrs.get("href") for a in doms["toolkit"].iter("a")}
    assert "tiny/index.html" in toolkit_links


def test_index_has_every_section_with_a_heading(doms: dict[str, Node]):
    index = doms["index"]
    nav = {a.attrs["href"] for a in index.find("nav", class_="toc").iter("a")}
    outputs = {a.attrs["href"] for a in index.find("nav", class_="outputs").iter("a")}
    for sid in SECTIONS:
        found = index.find_all("section", id=sid)
        assert len(found) == 1, f"{len(found)} sections with id {sid!r}"
        section = found[0]
        heading = section.find("h2")
        assert heading.text().strip(), sid
        assert section.attrs.get("aria-labelledby") == heading.attrs.get("id"), sid
        assert f"#{sid}" in nav, sid
    for companion in ("practice-guide.html", "implementation-summary.html", "information-sheet.html", "../index.html"):
        assert companion in outputs


def test_pooled_table_shows_the_numbers_of_effect_json(doms: dict[str, Node], effect: dict):
    index = doms["index"]
    pooled = [o for o in effect["outcomes"] if o["pooled"]]
    assert pooled, "the tiny review pools its four trials"
    for o in pooled:
        (table,) = index.find_all("table", class_="pooled", data_outcome=o["outcome"])
        rows = {tr.attrs["data-test"]: tr for tr in table.find_all("tr") if "data-test" in tr.attrs}
        assert set(rows) == {t for t, f in o["frequentist"].items() if f}
        for test, tr in rows.items():
            f = o["frequentist"][test]
            cells = [td.text().strip() for td in tr.find_all("td")]
            assert tr.find("td", data_field="estimate").text() == fmt(f["estimate"], 3)
            assert cells == [
                fmt(f["estimate"], 3),
                f"[{fmt(f['ci_lb'], 3)}, {fmt(f['ci_ub'], 3)}]",
                fmt_p(f["pval"]),
                f"[{fmt(f['pi_lb'], 3)}, {fmt(f['pi_ub'], 3)}]",
                fmt(f["tau2"], 4),
                fmt(f["i2"], 1),
                f"{fmt(f['q'], 2)} ({fmt_p(f['q_pval'])})",
            ], test
    # The z estimate of the tiny review's RR is the metafor value -1.4220 (rma, REML): a fixed point.
    assert fmt(pooled[0]["frequentist"]["z"]["estimate"], 3) == "-1.422"
    knha = pooled[0]["frequentist"]["knha"]
    ratio = (
        f"RR {math.exp(knha['estimate']):.2f} (95% CI {math.exp(knha['ci_lb']):.2f} to {math.exp(knha['ci_ub']):.2f}"
    )
    assert ratio in index.find("section", id="effect").text()


def test_effect_sizes_table_matches_the_studies_of_effect_json(doms: dict[str, Node], effect: dict):
    for o in (o for o in effect["outcomes"] if o["pooled"]):
        (table,) = doms["index"].find_all("table", class_="effect-sizes", data_outcome=o["outcome"])
        body = [[td.text().strip() for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]
        assert [(r[0], r[2], r[3]) for r in body] == [
            (s["effect_id"], fmt(s["yi"], 4), fmt(s["vi"], 5)) for s in o["studies"]
        ]


def test_user_text_is_escaped_not_run(pages: dict[str, str], doms: dict[str, Node]):
    index = doms["index"]
    ref = index.find("li", id=f"ref-{HOSTILE_STUDY}")
    assert HOSTILE_CITATION in ref.text()  # shown to the reader as the literal text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages["index"]
    impl = index.find("tr", id="row-i1")
    assert HOSTILE_EXCERPT in impl.text()
    assert HOSTILE_EXCERPT in doms["implementation-summary"].text()
    for name, dom in doms.items():
        for script in dom.iter("script"):
            assert "alert(" not in script.text() or script.attrs.get("type") == "application/json", name
        for node in dom.iter():
            assert not [a for a in node.attrs if a.lower().startswith("on")], (name, node.tag, node.attrs)
            assert not (node.tag == "img" and node.attrs.get("src") == "x"), name
        assert "</script><script>alert(3)" not in pages[name], name
    # The CMO excerpt reaches the interactive graph intact, as data.
    (data,) = index.find_all("script", id="cmo-graph-data")
    graph = json.loads(data.text())
    excerpts = {c["excerpt"] for e in graph["edges"] for c in e["data"]["codings"]}
    assert HOSTILE_CMO_EXCERPT in excerpts


def test_nothing_is_fetched_from_elsewhere(pages: dict[str, str], doms: dict[str, Node]):
    for name, dom in doms.items():
        fetching = [n for n in dom.iter() if n.tag in FETCHING]
        for node in fetching:
            for attr in ("src", "href", "xlink:href", "data", "srcset", "poster"):
                value = node.attrs.get(attr)
                assert not (value and EXTERNAL.match(value)), (name, node.tag, attr, value)
            assert not (node.tag == "script" and node.attrs.get("src")), (name, "scripts are inline")
        assert not dom.find_all("link", rel="stylesheet"), name
        for style in dom.iter("style"):
            assert not re.search(r"@import|url\(\s*['\"]?\s*(https?:|//)", style.text(), re.I), name
        assert dom.find_all("style"), name  # the CSS is inline


def test_every_figure_has_alt_text(doms: dict[str, Node]):
    n = 0
    for name, dom in doms.items():
        for figure in dom.iter("figure"):
            n += 1
            labelled = [e for e in figure.iter() if e.attrs.get("role") == "img"]
            assert labelled, (name, "a figure without role=img")
            for e in labelled:
                assert (e.attrs.get("aria-label") or "").strip(), (name, e.attrs)
                assert list(e.iter("svg")), (name, "the labelled element holds the figure's SVG")
    assert n >= 5, "the tiny review's report has forest, CMO, implementation, PRISMA and risk-of-bias figures"


def test_internal_links_point_at_existing_ids(doms: dict[str, Node]):
    for name, dom in doms.items():
        ids = {n.attrs["id"] for n in dom.iter() if n.attrs.get("id")}
        targets = [
            n.attrs.get(a) for n in dom.iter() for a in ("href", "xlink:href") if (n.attrs.get(a) or "").startswith("#")
        ]
        assert targets, name  # at least the skip link
        missing = sorted({t[1:] for t in targets} - ids)
        assert not missing, (name, missing)


def test_html_ids_are_unique_outside_figures(doms: dict[str, Node]):
    """Inline SVGs may repeat identical glyph and clip definitions; the page's own ids must be unique."""
    for name, dom in doms.items():
        seen: dict[str, int] = {}
        stack = [dom]
        while stack:
            node = stack.pop()
            if node.tag == "svg":
                continue
            if node.attrs.get("id"):
                seen[node.attrs["id"]] = seen.get(node.attrs["id"], 0) + 1
            stack += [c for c in node.children if isinstance(c, Node)]
        assert not {k: v for k, v in seen.items() if v > 1}, name


@pytest.mark.parametrize(
    ("older", "card"),
    [
        (None, "shown"),  # everything made after the data were validated
        ("report", "not made"),  # the report page was not made
        ("findings", "stale"),  # the findings come from data older than the validated ones
        ("emmie", "stale"),
        ("page", "stale"),
    ],
)
def test_toolkit_shows_a_review_only_when_its_results_follow_from_its_current_data(
    project: Path, tmp_path: Path, older: str | None, card: str
):
    """A card shows a review's results only when they and its report were made after its data were last
    validated; otherwise it says a step failed (the toolkit is remade after a failed run)."""
    import os
    import shutil

    from emmie.report.render import render_toolkit

    copy = tmp_path / "p"
    for name in ("results", "reports", "data"):
        shutil.copytree(project / name, copy / name)
    validation = copy / "results" / "tiny" / "validation.json"
    now = validation.stat().st_mtime
    for path in (copy / "results").rglob("*"):
        os.utime(path, (now + 10, now + 10))
    for path in (copy / "reports").rglob("*"):
        os.utime(path, (now + 10, now + 10))
    os.utime(validation, (now, now))
    made = {
        "findings": copy / "results" / "tiny" / "findings.json",
        "emmie": copy / "results" / "tiny" / "emmie.json",
        "page": copy / "reports" / "tiny" / "index.html",
    }
    if older == "report":
        made["page"].unlink()
    elif older:
        os.utime(made[older], (now - 10, now - 10))
    out = copy / "reports" / "index.html"
    render_toolkit([validation], copy / "results", out, copy / "data")
    html = out.read_text(encoding="utf-8")
    shown = 'href="tiny/index.html"' in html
    failed = "Not reported: the coded data are valid, but a step of the analysis failed" in html
    assert (shown, failed) == (card == "shown", card != "shown")
    assert ("the earlier report is not shown" in html) == (card == "stale")


def test_toolkit_card_of_a_review_that_was_not_validated(project: Path, tmp_path: Path):
    """After a run that stopped before a review was validated (the workflow's onerror remakes the page), the
    review gets a card saying so rather than disappearing."""
    from emmie.report.render import render_toolkit

    out = tmp_path / "reports" / "index.html"
    render_toolkit([tmp_path / "results" / "other" / "validation.json"], tmp_path / "results", out, project / "data")
    html = out.read_text(encoding="utf-8")
    assert (
        '<h3 id="tk-other">other</h3><p><strong>Not reported: its data were not checked, because the run stopped '
        "first.</strong>" in html
    )
