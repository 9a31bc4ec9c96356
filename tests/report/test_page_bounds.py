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


def test_pick_takes_the_first_group_first_and_keeps_the_order():
    items = list(range(6))
    assert tables.pick(items, 6, lambda i: i == 4) == items
    assert tables.pick(items, 7) == items
    assert tables.pick(items, 2, lambda i: i == 4) == [0, 4]
    assert tables.pick(items, 3, lambda i: i in (5, 3)) == [0, 3, 5]
    assert tables.pick(items, 0) == []


def _many_outcomes(bundled: Path, n: int, primary: int):
    """CBT's one pooled outcome copied ``n`` times (o0, o1, ...; o<primary> primary), with its findings."""
    results = bundled / "results" / "cbt-recidivism"
    review = load_review(bundled / "data" / "cbt-recidivism")
    effect = json.loads((results / "effect" / "effect.json").read_text(encoding="utf-8"))
    findings = json.loads((results / "findings.json").read_text(encoding="utf-8"))
    said = {f["id"]: f for f in findings["findings"]}
    base, view = effect["outcomes"][0], findings["effect"]["outcomes"][0]
    ids = [f"o{i}" for i in range(n)]
    effect["outcomes"] = [
        {**base, "outcome": oid, "label": f"Outcome {oid}", "primary": i == primary} for i, oid in enumerate(ids)
    ]
    findings["effect"]["outcomes"] = [
        {**view, "outcome": oid, "label": f"Outcome {oid}", "primary": i == primary} for i, oid in enumerate(ids)
    ]
    for oid in ids:
        said[f"effect.verdict.{oid}"] = {**said["effect.verdict.non_recidivism"], "id": f"effect.verdict.{oid}"}
    return results, review, effect, findings, said


@pytest.mark.parametrize("most", [4, 2])
def test_past_the_outcome_bound_the_page_covers_primary_outcomes_first_and_names_the_files(
    bundled: Path, monkeypatch, most: int
):
    """Four outcomes, the third primary. Under the bound (4) every outcome has its verdict, section and methods
    paragraph and nothing is said about it; at 2 the page covers the primary outcome and the first other one, keeps
    review.yaml's order, and says how many it covers and where all of them are."""
    monkeypatch.setattr(tables, "OUTCOMES_MAX", most)
    results, review, effect, findings, said = _many_outcomes(bundled, 4, primary=2)
    section = context.effect_section(review, effect, results / "effect", findings, said, tables.Budget())
    methods = " ".join(context.methods_paragraphs(review, effect, {}, {}))
    covered = ["o0", "o1", "o2", "o3"] if most == 4 else ["o0", "o2"]
    assert [o["outcome"] for o in section["outcomes"]] == covered
    assert [v["outcome"] for v in section["verdicts"]] == covered
    assert [oid for oid in ("o0", "o1", "o2", "o3") if f"Outcome {oid}: 58 results were pooled" in methods] == covered
    if most == 4:
        assert section["verdicts_note"] == section["outcomes_note"] == ""
        assert "were analysed in the same way" not in methods
    else:
        order = "(primary outcomes first, then in the order of review.yaml), so that it stays quick to open"
        assert section["verdicts_note"] == (
            f"The page gives the verdicts on 2 of the 4 outcomes {order}; all of them are in "
            f"{results / 'findings.json'}."
        )
        assert section["outcomes_note"] == (
            f"The page has a section for 2 of the 4 outcomes {order}; all of them are in "
            f"{results / 'effect' / 'effect.json'}."
        )
        assert "The other 2 pooled outcomes were analysed in the same way" in methods


def test_past_the_outcome_bound_the_sos_page_says_so_and_its_links_resolve(bundled: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(tables, "OUTCOMES_MAX", 1)
    results, review, html, page = _render(bundled, "sos", tmp_path)
    rows = page.find("table", class_="verdicts").find("tbody").find_all("tr")
    assert [r.attrs.get("id") for r in rows] == ["verdict-care_entry"]  # the primary outcome
    n = len(json.loads((results / "findings.json").read_text(encoding="utf-8"))["effect"]["outcomes"])
    assert norm(
        f"The page gives the verdicts on 1 of the {n} outcomes (primary outcomes first, then in the order of "
        f"review.yaml), so that it stays quick to open; all of them are in {results / 'findings.json'}."
    ) in visible(page.find("section", id="effect"))
    for name in PAGES:
        _links_resolve((tmp_path / "sos" / name).read_text(encoding="utf-8"), name)


@pytest.mark.parametrize("most", [26, 2])
def test_past_the_analysis_bound_the_page_lays_out_survivors_first(bundled: Path, tmp_path: Path, monkeypatch, most):
    """CBT's 26 moderator analyses, none surviving Holm: at the bound every one is laid out and nothing is said; at
    2 the first two are, and the page says where all of them are. A surviving analysis is picked first."""
    monkeypatch.setattr(tables, "ANALYSES_MAX", most)
    results, review, html, page = _render(bundled, "cbt-recidivism", tmp_path)
    laid = page.find_all("section", class_="moderator-analysis")
    text = visible(page.find("section", id="moderators"))
    if most == 26:
        assert len(laid) == 26 and "moderator analyses (those that survive" not in text
    else:
        assert len(laid) == 2
        assert (
            norm(
                "The page lays out 2 of the 26 moderator analyses (those that survive adjustment for multiple testing "
                "first, then in order), so that it stays quick to open; all of them are in "
                f"{results / 'moderators' / 'moderators_effect.json'}."
            )
            in text
        )
    findings = json.loads((results / "findings.json").read_text(encoding="utf-8"))
    said = {f["id"]: f for f in findings["findings"]}
    findings["moderators"]["analyses"][20]["survives"] = True
    section = context.moderators_section(findings, results / "moderators", said, tables.Budget())
    every = findings["moderators"]["analyses"]
    chosen = [every[0], every[20]] if most == 2 else every
    assert [a["moderator"] + a["outcome"] for a in section["analyses"]] == [
        a["moderator"] + a["outcome"] for a in chosen
    ]


def _thousand_outcomes(bundled: Path, tmp_path: Path, monkeypatch) -> Path:
    """CBT's pooled outcome copied 1,000 times and its 26 moderator analyses 80 times (2,080), as results the report
    stage reads; returns the results folder."""
    import shutil

    from emmie import pipeline
    from emmie.report import render

    results, review, effect, findings, said = _many_outcomes(bundled, 1_000, primary=0)
    summaries = pipeline.read_summaries(results)
    base = summaries["effect"]["outcomes"][0]
    summaries["effect"] = {**summaries["effect"], "outcomes": [{**base, **o} for o in effect["outcomes"]]}
    analyses = findings["moderators"]["analyses"]
    findings["moderators"]["analyses"] = [{**a, "outcome": f"o{i}"} for i in range(80) for a in analyses]
    findings["findings"] = list(said.values())
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    (copy / "findings.json").write_text(json.dumps(findings), encoding="utf-8")
    monkeypatch.setattr(render, "read_summaries", lambda _: summaries)
    return copy


@pytest.mark.parametrize(("page_max", "scale"), [(20_000_000, 1.0), (None, 0.5)])
def test_a_review_of_a_thousand_outcomes_makes_pages_under_the_page_bound(
    bundled: Path, tmp_path: Path, monkeypatch, page_max, scale
):
    """1,000 outcomes and 2,080 moderator analyses, with CBT's interactive graph (1 MB) on the page. Laid out at the
    default bounds the full report is over 5 MB (about 5.4 MB), so, under the default PAGE_BYTES_MAX, it is laid out
    again at half of every bound and fits; with a bound of 20 MB it is kept at the default bounds. Either way the
    Effect, Moderators and Methods sections say how much they cover and where the rest is."""
    from emmie.report import render

    if page_max:
        monkeypatch.setattr(tables, "PAGE_BYTES_MAX", page_max)
    results = _thousand_outcomes(bundled, tmp_path, monkeypatch)
    render.render_review(load_review(bundled / "data" / "cbt-recidivism"), results, tmp_path / "out")
    sizes = {name: (tmp_path / "out" / name).stat().st_size for name in PAGES}
    assert max(sizes.values()) <= tables.PAGE_BYTES_MAX, sizes
    if page_max:
        assert sizes["index.html"] > 5_000_000  # what the default bound keeps pages from
    outcomes, analyses = int(tables.OUTCOMES_MAX * scale), int(tables.ANALYSES_MAX * scale)
    page = parse((tmp_path / "out" / "index.html").read_text(encoding="utf-8"))
    effect_text = visible(page.find("section", id="effect"))
    assert f"The page gives the verdicts on {outcomes} of the 1,000 outcomes" in effect_text
    assert f"The page has a section for {outcomes} of the 1,000 outcomes" in effect_text
    assert len(page.find_all("section", class_="moderator-analysis")) == analyses
    assert f"The page lays out {analyses} of the 2,080 moderator analyses" in visible(
        page.find("section", id="moderators")
    )
    assert f"The other {1_000 - outcomes} pooled outcomes were analysed in the same way" in visible(
        page.find("section", id="methods")
    )


def test_a_page_that_fits_at_no_scale_is_written_at_the_smallest_with_a_warning(
    bundled: Path, tmp_path: Path, monkeypatch, capsys
):
    from emmie.report import render

    monkeypatch.setattr(tables, "PAGE_BYTES_MAX", 1_000)
    review = load_review(bundled / "data" / "sos")
    render.render_review(review, bundled / "results" / "sos", tmp_path / "out")
    err = capsys.readouterr().err
    for name in PAGES:
        assert (tmp_path / "out" / name).is_file()
        assert f"warning: {tmp_path / 'out' / name} is " in err
    assert (
        f"bytes, more than 1,000, even with every page bound at {tables.SCALES[-1]:g} of its default; it is written "
        "as it is"
    ) in err
    with tables.scaled(tables.SCALES[-1]):
        most = tables.bound(tables.OUTCOMES_MAX)
    html = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert f"The page gives the verdicts on {most} of the 11 outcomes" in html  # at the smallest scale


def test_bound_scales_every_bound_and_never_below_one():
    assert tables.bound(100) == 100
    with tables.scaled(0.25):
        assert tables.bound(100) == 25 and tables.bound(3) == 1
        assert tables.Budget().figure_max == tables.FIGURE_BYTES_MAX // 4
        assert len(tables.head(list(range(200)), "rows", "f")[0]) == tables.PAGE_ROWS // 4
    assert tables.bound(100) == 100


@pytest.mark.parametrize(("most", "kept"), [(6, [1, 2, 3]), (5, [1, 2, 2]), (3, [1, 1, 1]), (2, [0, 0, 0])])
def test_the_graph_carries_at_most_its_codings_each_link_its_first(most, kept):
    from emmie.report.cmo_view import bounded

    edges = [{"data": {"id": i, "codings": list(range(n))}} for i, n in enumerate((1, 2, 3))]
    out = bounded({"nodes": [], "edges": edges}, most, "cmo_edges.csv")
    assert [len(e["data"]["codings"]) for e in out["edges"]] == kept
    assert [e["data"].get("more_codings", 0) for e in out["edges"]] == [
        n - k for n, k in zip((1, 2, 3), kept, strict=True)
    ]
    assert (out.get("codings_file") == "cmo_edges.csv") == (most < 6)


def test_a_practice_guide_cell_names_at_most_named_max_concepts(bundled: Path, monkeypatch):
    """NAMED_MAX = 1: a cell of one or two concepts names them all, one of three or more names the first and counts
    the rest."""
    from emmie.report import pages

    review = load_review(bundled / "data" / "cbt-recidivism")
    full = {r["mechanism"]: r for r in pages.practice_rows(review)}
    monkeypatch.setattr(pages, "NAMED_MAX", 1)
    cut = pages._practice(review)["practice"]
    sizes = set()
    for r in cut:
        whole = full[r["mechanism"]]["components"]
        sizes.add(min(len(whole), 3))
        assert r["components"] == (whole if len(whole) <= 2 else [whole[0], f"{len(whole) - 1:,} more"])
    assert 3 in sizes  # the cut is exercised
