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
    assert tables.figure_rows(data, "results", "f.csv", limit=3) == data
    cut = tables.figure_rows(data, "results", "f.csv", limit=2)
    assert (
        cut["rows"] == [[1], [2]]
        and cut["ids"] == ["a", "b"]
        and cut["note"].startswith("The page lists the first 2 of 3")
    )


def _render(bundled: Path, name: str, tmp_path: Path):
    """The bundled review's report rendered again into tmp_path (with whatever bounds the test set)."""
    results = bundled / "results" / name
    review = load_review(bundled / "data" / name)
    render_review(review, results, tmp_path / name)
    html = (tmp_path / name / "index.html").read_text(encoding="utf-8")
    return results, review, html, parse(html)


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
    results, review, html, page = _render(bundled, "cbt-recidivism", tmp_path)
    effect = results / "effect"
    where = f"{effect / 'effect_sizes.csv'} (yi, vi) and {effect / 'results.csv'} (weights)"
    sizes = page.find("table", class_="effect-sizes")
    assert len(sizes.find_all("tr")) == 1 + 2  # header and the first 2 results
    text = visible(page.find("section", id="effect"))
    assert norm(f"The page lists the first 2 of 58 results; all of them are in {where}.") in text
    assert "from 58 results; the table under the chart lists the first 2." in text
    forest = f"{effect / 'effect_sizes.csv'} (estimates and intervals) and {effect / 'results.csv'} (weights)"
    assert norm(f"The page lists the first 2 of 58 results; all of them are in {forest}.") in text
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
        _links_resolve((tmp_path / "cbt-recidivism" / name).read_text(encoding="utf-8"), name)


def test_past_the_bounds_sos_lists_and_graph_are_bounded(bundled: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(tables, "PAGE_ROWS", 2)
    monkeypatch.setattr(tables, "REFERENCES_MAX", 3)
    monkeypatch.setattr(tables, "GRAPH_LINKS_MAX", 5)
    monkeypatch.setattr(context, "CODED_IDS_MAX", 1)
    results, review, html, page = _render(bundled, "sos", tmp_path)
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


def test_budget_draws_figures_and_lists_rows_until_the_page_holds_its_share(tmp_path: Path):
    svg = "<svg>" + "x" * 95 + "</svg>"  # 106 characters
    budget = tables.Budget(figure_bytes=106, rows=150)
    got, note = budget.figure(tmp_path / "a.svg", lambda p: svg)
    assert got == svg and note == ""  # exactly at the budget: drawn
    got, note = budget.figure(tmp_path / "b.svg", lambda p: pytest.fail("not read past the budget"))
    assert got is None and note == (
        "This figure is not drawn here, so that the page stays quick to open (it already holds "
        f"{106 / 1e6:g} MB of figures): b.svg, in {tmp_path}."
    )
    assert budget.skipped_note([], tmp_path) == ""
    assert budget.skipped_note(["a.svg"], tmp_path).startswith("This figure is not drawn here, so that the page")
    assert budget.skipped_note(["a.svg", "b.svg"], tmp_path) == (
        "These 2 figures are not drawn here, so that the page stays quick to open (it already holds "
        f"{106 / 1e6:g} MB of figures): a.svg, b.svg, in {tmp_path}."
    )
    shown, note = budget.head(list(range(120)), "results", "r.csv")
    assert len(shown) == tables.PAGE_ROWS and note.startswith("The page lists the first 100 of 120")
    data = budget.figure_rows({"rows": [[i] for i in range(80)], "ids": list(range(80))}, "results", "r.csv")
    assert (
        len(data["rows"]) == 50
        and data["note"] == "The page lists the first 50 of 80 results; all of them are in r.csv."
    )
    shown, note = budget.head([1, 2], "results", "r.csv")
    assert shown == [] and note == "The page has no room left to list these 2 results; all of them are in r.csv."
    assert budget.head([], "results", "r.csv") == ([], "")
    # one row under the limit still lists everything
    spare = tables.Budget(figure_bytes=1, rows=3)
    assert spare.head([1, 2, 3], "results", "r.csv") == ([1, 2, 3], "")


def test_past_the_page_budget_figures_are_named_not_drawn(bundled: Path, tmp_path: Path, monkeypatch):
    """The CBT report with room for one figure and 80 rows: the rest of the outcome's figures and tables are named
    with their file, the page says why, and every link still resolves."""
    monkeypatch.setattr(tables, "FIGURE_BYTES_MAX", 1)
    monkeypatch.setattr(tables, "DETAIL_ROWS_MAX", 80)
    results, review, html, page = _render(bundled, "cbt-recidivism", tmp_path)
    text = visible(page.find("section", id="effect"))
    effect = results / "effect"
    assert (
        norm(
            "These 3 figures are not drawn here, so that the page stays quick to open (it already holds 1e-06 MB of "
            "figures): funnel_non_recidivism.svg, bayes_forest_non_recidivism.svg, prior_posterior_non_recidivism.svg, "
            f"in {effect}."
        )
        in text
    )
    assert len(page.find("section", id="effect").find_all("figure")) == 1  # the forest plot, then names
    # the forest plot's table takes 58 rows of 80; the effect-size table lists the 22 left
    assert len(page.find("table", class_="effect-sizes").find_all("tr")) == 1 + 22
    where = f"{effect / 'effect_sizes.csv'} (yi, vi) and {effect / 'results.csv'} (weights)"
    assert norm(f"The page lists the first 22 of 58 results; all of them are in {where}.") in text
    assert "from 58 results; every result is in the table under the chart." in text
    _links_resolve(html, "index.html")


def test_a_table_with_no_room_left_is_named_not_dropped(bundled: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(tables, "DETAIL_ROWS_MAX", 58)  # the forest plot's table takes all 58
    results, _, html, page = _render(bundled, "cbt-recidivism", tmp_path)
    assert '<table class="effect-sizes"' not in html
    text = visible(page.find("section", id="effect"))
    effect = results / "effect"
    where = f"{effect / 'effect_sizes.csv'} (yi, vi) and {effect / 'results.csv'} (weights)"
    assert norm(f"The page has no room left to list these 58 results; all of them are in {where}.") in text


def test_the_forest_text_says_what_the_budget_left_the_table(tmp_path: Path):
    data = {"text": "Pooled OR 1.5 [1.3, 1.7], from 50 results", "lists_rows": True, "rows": [[i] for i in range(50)]}
    budget = tables.Budget(rows=60)
    assert budget.figure_rows(data, "results", "f.csv")["text"].endswith(
        "from 50 results; every result is in the table under the chart."
    )
    cut = budget.figure_rows(data, "results", "f.csv")  # 10 rows left
    assert cut["text"].endswith("; the table under the chart lists the first 10.") and len(cut["rows"]) == 10
    none = budget.figure_rows(data, "results", "f.csv")
    assert none["rows"] == [] and none["text"].endswith("; the note under the chart says where they are.")
    assert none["note"] == "The page has no room left to list these 50 results; all of them are in f.csv."


def test_a_missing_figure_is_left_off_and_not_counted(tmp_path: Path):
    budget = tables.Budget(figure_bytes=10)
    assert budget.figure(tmp_path / "gone.svg", lambda p: None) == (None, "")
    assert budget.figure_bytes == 10
    assert budget.skipped_note(["a.svg"], tmp_path).endswith(
        f"(it already holds 1e-05 MB of figures): a.svg, in {tmp_path}."
    )


def test_primary_outcomes_draw_on_the_budget_first_and_the_page_keeps_review_yaml_order(bundled: Path, monkeypatch):
    """SoS with its primary flag moved from the first outcome to the fifth: the fifth is laid out (and so draws on
    the page's budget) first, the others after it in review.yaml's order, and the page lists them in that order."""
    results = bundled / "results" / "sos"
    review = load_review(bundled / "data" / "sos")
    effect = json.loads((results / "effect" / "effect.json").read_text(encoding="utf-8"))
    findings = json.loads((results / "findings.json").read_text(encoding="utf-8"))
    said = {f["id"]: f for f in findings["findings"]}
    ids = [o["outcome"] for o in effect["outcomes"]]
    for i, o in enumerate(effect["outcomes"]):
        o["primary"] = i == 4
    laid: list[str] = []
    layout = context._outcome_layout

    def spy(entry, *args):
        laid.append(entry["outcome"])
        return layout(entry, *args)

    monkeypatch.setattr(context, "_outcome_layout", spy)
    section = context.effect_section(review, effect, results / "effect", findings, said, tables.Budget())
    assert laid == [ids[4], *ids[:4], *ids[5:]]
    shown = [o["outcome"] for o in section["outcomes"]]
    rest = [o["outcome"] for o in section["not_analysed"]]
    assert shown == [i for i in ids if i in shown] and rest == [i for i in ids if i in rest]
    assert sorted(shown + rest) == sorted(ids)
