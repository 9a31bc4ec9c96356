"""A page lists at most PAGE_ROWS rows of a table and REFERENCES_MAX references, and says where the rest are.

Both sides of each bound: the bundled reviews' pages, under the bounds, list everything and say nothing about it;
rendered again with small bounds, every long table lists its first rows and names the file with all of them, studies
whose reference is not listed are named without a link, and every link on the page still leads somewhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from report_helpers import norm, parse, visible

from emmie.ingest import load_review
from emmie.report import context, tables
from emmie.report.render import render_review

PAGES = ("index.html", "practice-guide.html", "implementation-summary.html", "information-sheet.html")


def test_head_lists_everything_up_to_its_limit_and_says_where_the_rest_are():
    rows = list(range(5))
    assert tables.head(rows, "results", "f.csv", limit=5) == (rows, "")
    shown, note = tables.head(rows, "results", "f.csv", limit=4)
    assert shown == [0, 1, 2, 3]
    assert note == "The page lists the first 4 of 5 results; all of them are in f.csv."
    assert tables.more_note(1_000, 12_345, "results", "f.csv") == (
        "The page lists the first 1,000 of 12,345 results; all of them are in f.csv."
    )
    data = {"rows": [[1], [2], [3]], "ids": ["a", "b", "c"], "text": "t"}
    assert tables.figure_rows(data, "results", "f.csv", limit=3) is data
    cut = tables.figure_rows(data, "results", "f.csv", limit=2)
    assert (
        cut["rows"] == [[1], [2]]
        and cut["ids"] == ["a", "b"]
        and cut["note"].startswith("The page lists the first 2 of 3")
    )


def _links_resolve(html: str, page: str) -> None:
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    dangling = sorted({h for h in re.findall(r'href="#([^"]+)"', html) if h not in ids})
    assert not dangling, f"{page}: links to no element: {dangling[:5]}"


@pytest.mark.parametrize("review", ["sos", "cbt-recidivism"])
def test_bundled_pages_under_the_bounds_list_everything(bundled: Path, review: str):
    for page in PAGES:
        html = (bundled / "reports" / review / page).read_text(encoding="utf-8")
        assert "The page lists the first" not in html and "too many to draw" not in html
        _links_resolve(html, page)


def test_past_the_bounds_a_page_lists_the_first_rows_and_names_the_file(bundled: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(tables, "PAGE_ROWS", 2)
    monkeypatch.setattr(tables, "REFERENCES_MAX", 3)
    results = bundled / "results" / "cbt-recidivism"
    review = load_review(bundled / "data" / "cbt-recidivism")
    render_review(review, results, tmp_path / "cbt")
    html = (tmp_path / "cbt" / "index.html").read_text(encoding="utf-8")
    page = parse(html)
    where = results / "effect" / "results.csv"
    sizes = page.find("table", class_="effect-sizes")
    assert len(sizes.find_all("tr")) == 1 + 2  # header and the first 2 results
    text = visible(page.find("section", id="effect"))
    assert norm(f"The page lists the first 2 of 58 results; all of them are in {where}.") in text
    assert "from 58 results; the table under the chart lists the first 2." in text
    assert len(re.findall(r'<li id="ref-', html)) == 3
    graph = re.search(r'<script type="application/json" id="cmo-graph-data">(.*?)</script>', html, re.S)
    if graph:  # the interactive graph links only the studies whose reference is listed
        listed = json.loads(graph.group(1))["listed_studies"]
        assert len(listed) == 3 and all(f'id="ref-{sid}"' in html for sid in listed)
    n_studies = len(review.studies)
    assert norm(
        f"The page lists the first 3 of {n_studies} references; all of them are in data/cbt-recidivism/studies.csv. "
        "The studies not listed are named without a link."
    ) in visible(page.find("section", id="references"))
    for name in PAGES:
        _links_resolve((tmp_path / "cbt" / name).read_text(encoding="utf-8"), name)


def test_past_the_bounds_sos_lists_and_graph_are_bounded(bundled: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(tables, "PAGE_ROWS", 2)
    monkeypatch.setattr(tables, "REFERENCES_MAX", 3)
    monkeypatch.setattr(tables, "GRAPH_LINKS_MAX", 5)
    monkeypatch.setattr(context, "CODED_IDS_MAX", 1)
    results = bundled / "results" / "sos"
    review = load_review(bundled / "data" / "sos")
    render_review(review, results, tmp_path / "sos")
    html = (tmp_path / "sos" / "index.html").read_text(encoding="utf-8")
    page = parse(html)
    mech = visible(page.find("section", id="mechanisms"))
    assert re.search(
        r"The graph has \d+ links among \d+ concepts: too many to draw on a page\. Every link, with its studies and "
        + re.escape(f"codings, is in {results / 'mechanisms' / 'cmo_edges.csv'}"),
        mech,
    )
    assert 'id="cmo-graph"' not in html and "cmo-graph-data" not in html
    refs = context.references(review)  # each reference names its first CODED_IDS_MAX rows of a kind, then the count
    assert all(len(ids) <= 1 for r in refs for ids in r["rows"].values())
    longer = [(r, kind) for r in refs for kind, n in r["more_rows"].items() if n]
    assert longer
    for r, kind in longer:
        if f'id="ref-{r["study_id"]}"' in html:
            assert f"{kind} {r['rows'][kind][0]} and {r['more_rows'][kind]:,} more" in visible(page)
    assert "(the interactive graph lists them)" not in html
    impl = visible(page.find("section", id="implementation"))
    assert re.search(
        r"The page lists the first 2 of \d+ codings of this theme; all of them are in data/sos/implementation\.csv\.",
        impl,
    )
    summary = (tmp_path / "sos" / "implementation-summary.html").read_text(encoding="utf-8")
    assert re.search(r"The page lists the first 2 of \d+ (enablers|barriers) at this level", summary)
    for name in PAGES:
        _links_resolve((tmp_path / "sos" / name).read_text(encoding="utf-8"), name)


def test_under_the_graph_bound_the_graph_is_drawn(bundled: Path):
    html = (bundled / "reports" / "sos" / "index.html").read_text(encoding="utf-8")
    assert 'id="cmo-graph"' in html and "cmo-graph-data" in html
