"""Both bundled reviews built once, and what their pages *say* checked against findings.json.

Every finding must appear on every page it names; every moderator and small-study analysis that was
run must be on the page with its numbers; no page may show Python values, internal paths or coded ids
where a reader expects an author-year label; the EMMIE-Q levels and the headline verdicts of a real
run are pinned, so that changing a rule or a threshold that moves them fails a test.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from report_helpers import REVIEWS, norm, parse, visible

from support import ROOT

PAGE_FILES = {
    "index": "index.html",
    "practice-guide": "practice-guide.html",
    "implementation-summary": "implementation-summary.html",
    "information-sheet": "information-sheet.html",
}


def page_text(project: Path, review: str, page: str, skip: tuple[str, ...] = ("script", "style", "svg")) -> str:
    path = project / "reports" / ("index.html" if page == "toolkit" else f"{review}/{PAGE_FILES[page]}")
    return visible(parse(path.read_text(encoding="utf-8")), skip)


def findings(project: Path, review: str) -> dict:
    return json.loads((project / "results" / review / "findings.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("review", REVIEWS)
def test_every_finding_is_on_every_page_it_names(bundled: Path, review: str):
    doc = findings(bundled, review)
    assert doc["findings"], "no findings derived"
    texts = {}
    missing = []
    for f in doc["findings"]:
        for page in f["pages"]:
            if page not in texts:
                texts[page] = page_text(bundled, review, page)
            if norm(f["statement"]) not in texts[page]:
                missing.append(f"{f['id']} not on {page}: {f['statement'][:90]}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("review", REVIEWS)
def test_each_dimension_has_one_headline_on_the_information_sheet(bundled: Path, review: str):
    doc = findings(bundled, review)
    heads = [f for f in doc["findings"] if f["headline"]]
    assert sorted(f["dimension"] for f in heads) == sorted(
        ["effect", "mechanisms", "moderators", "implementation", "economics"]
    )
    sheet = page_text(bundled, review, "information-sheet")
    for f in heads:
        assert norm(f["statement"]) in sheet


def test_every_moderator_analysis_is_rendered_with_its_numbers(bundled: Path):
    doc = findings(bundled, "cbt-recidivism")
    mods = json.loads((bundled / "results/cbt-recidivism/moderators/moderators_effect.json").read_text())
    assert len(doc["moderators"]["analyses"]) == len(mods["analyses"]) == 26
    html = (bundled / "reports/cbt-recidivism/index.html").read_text(encoding="utf-8")
    tables = parse(html).find_all("table", class_="moderator")
    assert len(tables) == 26
    for table, view in zip(tables, doc["moderators"]["analyses"], strict=True):
        body = [[visible(td) for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]
        assert body == view["table"]["rows"], view["title"]
        assert body and all(cell not in ("", "–") for row in body for cell in row[:3])
    text = page_text(bundled, "cbt-recidivism", "index")
    # One categorical moderator's subgroup table and test, computed by the stage, shown as numbers.
    setting = next(a for a in mods["analyses"] if a["moderator"] == "setting")
    sub = {s["level"]: s for s in setting["subgroups"]["subgroups"]}
    assert f"{sub['community']['estimate']:.3f}" in text and f"{sub['prison']['tau2']:.4f}" in text
    assert f"p = {setting['subgroups']['test_of_differences']['pval']:.2f}" in text


def test_small_study_analyses_are_shown_and_temper_the_verdict(bundled: Path):
    effect = json.loads((bundled / "results/cbt-recidivism/effect/effect.json").read_text())
    ss = effect["outcomes"][0]["small_study"]
    text = page_text(bundled, "cbt-recidivism", "index")
    assert f"Egger's regression test p = {ss['egger']['pval']:.3f}" in text
    assert f"rank correlation test p = {ss['rank']['pval']:.3f}" in text
    assert f"imputes {ss['trim_and_fill']['k0']} missing studies" in text
    assert f"fail-safe N is {ss['failsafe_n']}" in text
    assert "Leaving out one study at a time" in text
    assert "heterogeneity priors" in text
    doc = findings(bundled, "cbt-recidivism")
    head = next(f for f in doc["findings"] if f["id"] == "effect.headline")
    # Randomised trials alone give the higher certainty (GRADE guidance 24), so the verdict rests on them.
    assert head["statement"].startswith(
        "Cognitive-behavioral therapy (CBT) for offenders probably reduces reoffending."
    )
    assert head["certainty"] == "moderate" and "Randomised trials (19)" in head["statement"]
    assert "certainty very low: the non-randomised studies add less certain evidence" in head["statement"]
    assert "trim-and-fill OR 1.26" in head["statement"]
    ro = effect["outcomes"][0]["randomised_only"]
    assert ro["k"] == 19 and ro["small_study"]["egger"]["pval"] < 0.10
    # The trim-and-fill figure the verdict quotes is shown with its own tests on the full report.
    rtf = ro["small_study"]["trim_and_fill"]
    assert "Randomised trials only: funnel-plot asymmetry" in text
    assert f"imputes {rtf['k0']} missing studies" in text and "to OR 1.26" in text
    assert "The evidence shows a benefit" not in text
    for page in ("information-sheet", "practice-guide", "toolkit"):
        assert "Small-study effects suggest the effect may be smaller than pooled" in page_text(
            bundled, "cbt-recidivism", page
        )


def test_sos_verdict_is_little_to_no_evidence_and_designs_are_never_pooled(bundled: Path):
    doc = findings(bundled, "sos")
    head = next(f for f in doc["findings"] if f["id"] == "effect.headline")
    assert head["statement"].startswith(
        "The evidence is very uncertain about the effect of Signs of Safety on children entering or in care. "
        "There is little to no evidence that it reduces children entering or in care"
    )
    assert "possible harm on kinship placement" in head["statement"]
    assert head["certainty"] == "very low"
    effect = json.loads((bundled / "results/sos/effect/effect.json").read_text())
    studies = {s["study_id"]: s["design"] for s in effect["swim"]["results"]}
    for d in effect["swim"]["domains"]:
        comparative = [s for s in d["studies"] if studies[s["study_id"]] in ("rct", "quasi_experimental")]
        st = d["sign_test"]
        assert st["n_benefit"] + st["n_harm"] + st["n_excluded"] == len(comparative), d["domain"]
    # An outcome with only uncontrolled reports carries no verdict, however many show a benefit.
    safety = next(f for f in doc["findings"] if f["id"] == "effect.verdict.child_safety")
    assert (
        safety["statement"].startswith("No comparative study has measured")
        and safety["certainty"] == "no comparative evidence"
    )


EXPECTED_LEVELS = {
    "sos": {"effect": 1, "mechanisms": 3, "moderators": 2, "implementation": 3, "economics": 0},
    "cbt-recidivism": {"effect": 3, "mechanisms": 1, "moderators": 3, "implementation": 0, "economics": 0},
    # I² = 95% caps Effect at 2; one moderator (year) analysed; nothing else but effect sizes is coded
    "school-calendars": {"effect": 2, "mechanisms": 0, "moderators": 3, "implementation": 0, "economics": 0},
}


@pytest.mark.parametrize("review", REVIEWS)
def test_emmie_q_levels_of_a_real_run_and_their_reasons(bundled: Path, review: str):
    rating = json.loads((bundled / "results" / review / "emmie.json").read_text())
    levels = {k: v["final"] for k, v in rating["dimensions"].items()}
    assert levels == EXPECTED_LEVELS[review]
    text = page_text(bundled, review, "index")
    for d in findings(bundled, review)["emmie_q"]:
        assert norm(d["reason"]) in text and norm(d["descriptor"].rstrip(".")) in text
    dims = rating["dimensions"]
    # A level whose descriptor speaks of analysing moderators needs a moderator analysis.
    if dims["moderators"]["final"] >= 3:
        assert dims["moderators"]["facts"]["analyses"] > 0
    # Grants are not delivery costs.
    if dims["economics"]["final"] >= 1:
        assert dims["economics"]["facts"]["counts"].get("cost", 0) > 0
    assert "(0 tested)" not in " ".join(dims["mechanisms"]["reasons"])
    assert text.count("not yet verified") == 0 and "paraphrase" in text.lower()  # said once, in the methods


def test_cbt_theory_is_not_confirmed_by_asserted_codings(bundled: Path):
    doc = findings(bundled, "cbt-recidivism")
    verdicts = {t["id"]: t["verdict"] for t in doc["mechanisms"]["theory"]}
    # T1 rests on asserted codings only; T2 and T3 name the component moderators that test them, none of which
    # survives Holm adjustment.
    assert verdicts == {"T1": "plausible, untested", "T2": "tested, not supported", "T3": "tested, not supported"}
    head = next(f for f in doc["findings"] if f["id"] == "moderators.headline")
    assert "Community setting" not in head["statement"] and "None of the 26 moderators" in head["statement"]
    for page in ("practice-guide", "information-sheet", "toolkit"):
        assert "confirmed" not in page_text(bundled, "cbt-recidivism", page)
    html = (bundled / "reports/cbt-recidivism/index.html").read_text(encoding="utf-8")
    theory = visible(parse(html).find("table", class_="theory").find("tbody"))
    assert "confirmed" not in theory and theory.count("tested, not supported") == 2


def test_practice_guide_keeps_the_role_the_data_hold(bundled: Path):
    doc = findings(bundled, "sos")
    guide = page_text(bundled, "sos", "practice-guide")
    roles = {c["role"] for c in doc["moderators"]["contexts"]}
    assert "refines" in roles
    for c in doc["moderators"]["contexts"]:
        assert f"{c['context']} {c['role']}" in guide
    assert "Refined (works differently) where" in guide
    # A tested study that contradicts a component's link is not listed as triggering the mechanism.
    assert "not borne out for: Signs of Safety practice as a whole" in guide


BAD_TEXT = [
    (re.compile(r"\bNone\b(?! of)"), "Python None"),
    (re.compile(r"\bnan\b", re.I), "nan"),
    (re.compile(r"\{'\w+': |\['\w+', "), "a Python dict or list"),
    (re.compile(r"/work/|/tmp/|results/|\.json\b"), "an internal path"),
    (re.compile(r"\bi2_max\b|\bk_max\b|_studies\b"), "an internal key"),
]


@pytest.mark.parametrize("review", REVIEWS)
@pytest.mark.parametrize("page", [*PAGE_FILES, "toolkit"])
def test_no_python_values_paths_or_raw_ids_on_a_page(bundled: Path, review: str, page: str):
    text = page_text(bundled, review, page, skip=("script", "style", "svg", "code"))
    for pattern, what in BAD_TEXT:
        hit = pattern.search(text)
        assert hit is None, f"{what} on {review}/{page}: ...{text[max(0, hit.start() - 60) : hit.end() + 60]}..."
    ids = json.loads((bundled / "results" / review / "validation.json").read_text())
    studies = [s.strip() for s in (bundled / "data" / review / "studies.csv").read_text().splitlines()[1:]]
    study_ids = {line.split(",")[0] for line in studies if line}
    if page == "index":  # the references list and the effect-size tables name coded rows on purpose
        html = (bundled / "reports" / review / "index.html").read_text(encoding="utf-8")
        html = re.sub(r"<details>.*?</details>", "", html, flags=re.S)
        html = re.sub(r'<section id="references".*?</section>', "", html, flags=re.S)
        html = re.sub(r'<table class="swim".*?</table>', "", html, flags=re.S)
        text = visible(parse(html), ("script", "style", "svg", "code"))
    words = set(re.findall(r"[a-z][a-z0-9_-]+", text))
    raw = sorted(words & study_ids)
    assert not raw, f"coded study ids instead of author-year labels on {review}/{page}: {raw}"
    assert ids["ok"]


def test_a_missing_result_key_fails_the_findings_step_loudly(bundled: Path, tmp_path: Path):
    results = tmp_path / "results"
    shutil.copytree(bundled / "results" / "cbt-recidivism", results)
    path = results / "moderators" / "moderators_effect.json"
    doc = json.loads(path.read_text())
    del doc["analyses"][3]["regression"]
    path.write_text(json.dumps(doc))
    out = tmp_path / "findings.json"
    cmd = [sys.executable, "-m", "emmie", "findings", str(bundled / "data/cbt-recidivism"), str(results), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "lacks the key 'regression'" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_stage_without_results_is_a_user_error_not_an_internal_one(bundled: Path, tmp_path: Path):
    cmd = [
        sys.executable,
        "-m",
        "emmie",
        "stage",
        "economics",  # reads the Effect stage's results (the moderators compute their effect sizes themselves)
        str(bundled / "data/cbt-recidivism"),
        str(tmp_path / "m"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "--results" in proc.stderr and "internal error" not in proc.stderr
    assert not (tmp_path / "m").exists()  # nothing written


def test_natural_frequencies_add_up_and_labels_are_told_apart(bundled: Path):
    doc = findings(bundled, "cbt-recidivism")
    nf = next(f for f in doc["findings"] if f["id"] == "effect.frequency.non_recidivism")
    control, treated, diff = (
        int(x)
        for x in re.search(
            r"about (\d+) did not reoffend\. .* about (\d+) \(95% CI.*about (\d+) more", nf["statement"]
        ).groups()
    )
    assert control + diff == treated
    assert "prediction interval" in nf["statement"] and "trim-and-fill" in nf["statement"]
    text = page_text(bundled, "cbt-recidivism", "index")
    assert "Barnoski (2002a)" in text and "Barnoski (2002b)" in text and "Barnoski (2002);" not in text


# --------------------------------------------------------------------------- issue 13: the SoS rerun


def test_sos_first_screen_sets_the_published_conclusions_beside_the_rerun(bundled: Path):
    doc = findings(bundled, "sos")
    said = {f["id"]: f for f in doc["findings"]}
    agreement = {r["dimension"]: said[r["finding"]]["numbers"]["agreement"] for r in doc["published"]}
    # judged on the sources public at the review's search ("then") and on every source ("now")
    assert agreement == {
        "effect": {"then": "partly", "now": "agrees"},
        "mechanisms": {"then": "not_reproduced", "now": "not_reproduced"},
        "moderators": {"then": "not_reproduced", "now": "not_reproduced"},
        "implementation": {"then": "partly", "now": "agrees"},
        "economics": {"then": "agrees", "now": "agrees"},
    }
    html = (bundled / "reports/sos/index.html").read_text(encoding="utf-8")
    tree = parse(html)
    summary = tree.find("section", id="summary")
    tables = summary.find_all("table")
    assert tables[0].attrs.get("class") == "published", "the comparison comes before the EMMIE summary table"
    rows = tables[0].find("tbody").find_all("tr")
    assert [visible(r.find("th")) for r in rows] == [
        "Effect",
        "Mechanisms",
        "Moderators",
        "Implementation",
        "Economics",
    ]
    effect = visible(rows[0])
    assert "With the sources public by 2018-06-30 (At the 2018 review's search): partly agrees" in effect
    assert "the rerun finds no comparative evidence. With every source coded now: agrees." in effect
    assert "At the 2018 review's search: Partly agrees Now: Agrees" in effect  # at a glance, first
    caveat = visible(summary)
    assert caveat.count("The published review analysed 38 publications, and its list of them could not be read") == 1
    assert "possible harm on kinship placement" in effect  # the rerun column carries what the review did not say
    mechanisms = visible(rows[1])
    assert "Safety plan → Shared understanding of and responsibility for risk has only described support" in mechanisms
    moderators = visible(rows[2])
    assert "parents need to trust and collaborate with social workers" in moderators
    assert "not reproduced" in moderators.lower() and "differs" not in moderators.lower()
    assert "P1 is not observed or tested in any coded source" in moderators
    # The information sheet (two A4 pages) gives each published conclusion and the verdicts then and now;
    # the reasons are in the full report, which it links to.
    sheet = page_text(bundled, "sos", "information-sheet")
    for r in doc["published"]:
        assert norm(r["published"]) in sheet
        for g in r["glance"]:
            assert f"{g['when']}: {g['words']}" in sheet
        assert norm(said[r["finding"]]["statement"]) not in sheet
    assert 'href="index.html#h-published"' in (bundled / "reports/sos/information-sheet.html").read_text()


def test_sos_shows_what_was_known_at_the_search_and_now(bundled: Path):
    text = page_text(bundled, "sos", "index")
    assert "At the 2018 review's search (2018-06-30)" in text and "Now (2026-12-01)" in text
    assert "Reekers (2018), whose date could not be placed before 2018-06-30, is left out of that snapshot" in text
    assert "6 sources published after 2018-06-30 (At the 2018 review's search) are in Now (2026-12-01)" in text
    assert (
        "14 studies and 3 other documents coded here" in text and "20 studies and 4 other documents coded here" in text
    )
    doc = findings(bundled, "sos")
    levels = {r["dimension"]: r["levels"] for r in doc["timeline"]["rows"]}
    # no comparative study is known to predate the search, so Effect was 0 then; 1 now
    assert levels["effect"] == [0, 1] and levels["economics"] == [0, 0]
    assert (
        "Effect, evidence quality by date: At the 2018 review's search 0/4; Now 1/4. The level and the headline changed"
        in text
    )
    snap = json.loads((bundled / "results/sos/snapshots/search-2018/findings.json").read_text())
    assert snap["review"] == "sos"
    verdict = next(f for f in snap["findings"] if f["id"] == "effect.verdict.care_entry")
    assert verdict["certainty"] == "no comparative evidence"


def test_sos_what_next_follows_from_the_gaps(bundled: Path):
    doc = findings(bundled, "sos")
    said = {f["id"]: f for f in doc["findings"]}
    assert doc["next_steps"][:3] == ["next.effect", "next.harm.kinship_care", "next.outcomes"]
    assert said["next.theory"]["numbers"]["untested"] == ["P1", "P2", "P3", "P4", "P5"]
    assert "next.harm.kinship_care" in doc["next_steps"] and "next.harm.care_entry" not in doc["next_steps"]
    for page in ("index", "information-sheet"):
        text = page_text(bundled, "sos", page)
        assert "What next" in text
        for fid in doc["next_steps"]:
            assert norm(said[fid]["statement"]) in text
    # The published review's own priorities are quoted in the full report; the two-page sheet leaves them out.
    index, sheet = page_text(bundled, "sos", "index"), page_text(bundled, "sos", "information-sheet")
    priorities = "A clear and operational design of what high quality Signs of Safety looks like"
    assert "The published review's own priorities (2018)" in index and priorities in index
    assert priorities not in sheet


def test_sos_counts_studies_apart_from_other_documents(bundled: Path):
    said = {f["id"]: f for f in findings(bundled, "sos")["findings"]}
    scope = said["summary.scope"]
    assert scope["numbers"]["studies"] == 20 and scope["numbers"]["other_documents"] == 4
    effect = json.loads((bundled / "results/sos/effect/effect.json").read_text())
    assert [d["effect_id"] for d in effect["accounting"]["not_studies"]] == ["goldfields2016_care"]
    text = page_text(bundled, "sos", "index")
    assert "Parliamentary answer (not a study: kept for context, not used for the effect)" in text
    assert (
        "1 of the extracted results was left out of the Effect synthesis because it was reported in a document that "
        "is not a study (Parliament of Western Australia (2016): a parliamentary answer)."
    ) in text


def test_a_review_without_snapshots_or_published_findings_has_neither_section(bundled: Path):
    doc = findings(bundled, "cbt-recidivism")
    assert doc["published"] == [] and doc["timeline"] == {}
    html = (bundled / "reports/cbt-recidivism/index.html").read_text(encoding="utf-8")
    assert 'id="timeline"' not in html and 'class="published"' not in html
    assert not any(f["id"].startswith(("published.", "timeline.")) for f in doc["findings"])
    assert json.loads((bundled / "results/cbt-recidivism/snapshots/snapshots.json").read_text())["snapshots"] == []
    # every source is in the published data set: the references do not repeat "in the published review: yes"
    assert "in the published review" not in page_text(bundled, "cbt-recidivism", "index")
    # What next is derived for every review: here only the untested theory link and the missing costs
    assert doc["next_steps"] == ["next.theory", "next.economics"]


@pytest.mark.parametrize("review", REVIEWS)
def test_every_page_links_to_the_other_outputs_and_the_toolkit(bundled: Path, review: str):
    folder = bundled / "reports" / review
    for page in PAGE_FILES.values():
        tree = parse((folder / page).read_text(encoding="utf-8"))
        nav = tree.find("nav", class_="outputs")
        links = {a.attrs.get("href"): a for a in nav.find_all("a")}
        assert set(links) == {*PAGE_FILES.values(), "../index.html"}
        assert links[page].attrs.get("aria-current") == "page"
        for href in links:
            assert (folder / href).resolve().is_file(), href


def test_implementation_summary_reference_urls_are_links(bundled: Path):
    tree = parse((bundled / "reports/sos/implementation-summary.html").read_text(encoding="utf-8"))
    refs = tree.find("ul", class_="refs-list").find_all("li")
    assert refs and all(li.find_all("a") for li in refs)
    assert all(a.attrs["href"].startswith(("https://", "http://")) for li in refs for a in li.find_all("a"))


def test_forest_plot_is_labelled_author_year_and_sorted_by_weight(bundled: Path):
    import csv

    svg = (bundled / "results/cbt-recidivism/effect/forest_non_recidivism.svg").read_text(encoding="utf-8")
    assert "Goldstein (1989a)" in svg and "Goldstein (1989b)" in svg
    assert "goldstein1989" not in svg and "sorted by weight" in svg
    with open(bundled / "results/cbt-recidivism/effect/results.csv", newline="") as fh:
        weights = [float(r["weight"]) for r in csv.DictReader(fh) if r["outcome"] == "non_recidivism"]
    with open(bundled / "results/cbt-recidivism/effect/effect_sizes.csv", newline="") as fh:
        used = [
            r["study_id"] for r in csv.DictReader(fh) if r["outcome"] == "non_recidivism" and r["poolable"] == "True"
        ]
    assert len(used) == len(weights) == 58
    heaviest = used[max(range(58), key=lambda i: (weights[i], -i))]
    from emmie.ingest import load_review
    from emmie.ingest.labels import study_labels

    label = study_labels(load_review(bundled / "data/cbt-recidivism"))[heaviest]
    names = re.findall(r">([^<>]+ \(\d{4}[a-z]?\))<", svg)
    assert names[0] == label


@pytest.mark.parametrize("review", REVIEWS)
def test_stylesheet_reaches_the_browser_unescaped(bundled: Path, review: str):
    from emmie.report.render import css

    want = str(css())
    assert 'a[aria-current="page"]' in want and "details > *" in want
    pages = [bundled / "reports" / review / p for p in PAGE_FILES.values()] + [bundled / "reports/index.html"]
    for page in pages:
        html = page.read_text(encoding="utf-8")
        inline = html.split("<style>", 1)[1].split("</style>", 1)[0]
        assert inline == want, page.name


def test_cbt_results_table_matches_its_fits(bundled: Path):
    from emmie.effect import results_table
    from emmie.pipeline import read_summaries

    results = bundled / "results" / "cbt-recidivism"
    table = results_table.read(results / "effect" / "results.csv")
    import pandas as pd

    sizes = pd.read_csv(results / "effect" / "effect_sizes.csv")
    used = sizes[(sizes["outcome"] == "non_recidivism") & sizes["poolable"]]
    mine = table[table["outcome"] == "non_recidivism"]
    assert mine["effect_id"].tolist() == used["effect_id"].tolist()
    assert mine["weight"].sum() == pytest.approx(100.0)
    assert mine["weight_randomised_only"].dropna().sum() == pytest.approx(100.0)
    assert mine["weight_randomised_only"].notna().sum() == 19  # the 19 randomised trials
    assert (mine["theta_lb"] <= mine["theta_mean"]).all() and (mine["theta_mean"] <= mine["theta_ub"]).all()
    effect = read_summaries(results)["effect"]
    o = effect["outcomes"][0]
    assert len(o["studies"]) == len(o["bayes"]["theta"]) == o["k"] == 58
    assert "weights" not in o["frequentist"]["knha"]


def test_school_calendars_pools_dependent_results_in_the_multilevel_model(bundled: Path):
    """56 school results from 11 districts: the CHE model (rho = 0, set in review.yaml) with CR2 inference, as
    metafor's rma.mv(yi, V, random = ~ 1 | district/school) and clubSandwich's coef_test / conf_int give it
    (tests/fixtures/metafor/mv/che_pipeline.json)."""
    ref = next(
        c
        for c in json.loads((ROOT / "tests/fixtures/metafor/mv/che_pipeline.json").read_text())
        if c["name"].startswith("konstantopoulos2011, schools in districts")
    )
    effect = json.loads((bundled / "results/school-calendars/effect/effect.json").read_text())
    (o,) = effect["outcomes"]
    assert o["headline_test"] == "cr2" and o["k"] == 56
    dep = o["dependence"]
    assert (dep["n_studies"], dep["k"], dep["n_studies_several"], dep["max_per_study"], dep["rho"]) == (
        11,
        56,
        11,
        11,
        0,
    )
    cr2, z = o["frequentist"]["cr2"], o["frequentist"]["z"]
    got = [cr2["estimate"], cr2["se"], cr2["df"], cr2["ci_lb"], cr2["ci_ub"], z["se"], *cr2["sigma2"], cr2["i2"]]
    want = [
        ref["estimate"],
        ref["cr2_se"],
        ref["cr2_df"],
        ref["cr2_ci_lb"],
        ref["cr2_ci_ub"],
        ref["se"],
        *ref["sigma2"],
    ]
    np.testing.assert_allclose(got, [*want, ref["i2_total"]], rtol=1e-5, atol=1e-7)
    # the Bayesian and small-study analyses had one average per district
    assert o["bayes"]["on"] == "study averages" and o["bayes"]["k"] == 11
    assert o["small_study"]["on"] == "study averages"
    text = page_text(bundled, "school-calendars", "index")
    for said in (
        "Pooled over 56 results from 11 studies: SMD 0.18 (95% CI -0.00 to 0.37)",
        "Multilevel meta-analysis (REML; 56 results, 11 studies)",
        "the table's tau² is their total.",
        "CR2 cluster-robust (Satterthwaite t)",
        "The CR2 row is the headline: its interval holds whatever the correlation between a study's results "
        "(assumed 0); t on 9.9 degrees of freedom, from 11 studies.",
        "correlated at an assumed rho = 0 (set in review.yaml)",
        "Leave-one-out analyses leave out one study, with all its results, at a time.",
        "(each study's results averaged, as the model takes one result per study)",
        "The points of the study averages",
        "largest k = 11 (studies; 56 results)",
        "studies whose risk of bias was not assessed carry 100% of the weight",
    ):
        assert norm(said) in text, said
    assert "a study contributes at most one result to each meta-analysis." not in text
    # the district-level moderator (year) is analysed on one average per district
    mods = json.loads((bundled / "results/school-calendars/moderators/moderators_effect.json").read_text())
    (a,) = mods["analyses"]
    assert (a["k"], a["on"]) == (11, "study averages")
    assert norm("Analysed on one average per study (11 studies), because the studies gave several results") in text


def test_an_outcome_level_of_90_percent_is_named_on_the_page(tmp_path: Path):
    """review.yaml `level: 0.9` on school-calendars: every interval of the outcome on the page is a 90% one, and says
    so (the default, 95%, is what the bundled reviews show)."""
    from report_helpers import run_pipeline

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("reviews:\n  - school-calendars\n")
    shutil.copytree(ROOT / "data" / "school-calendars", tmp_path / "data" / "school-calendars")
    shutil.copytree(ROOT / "data" / "_reference", tmp_path / "data" / "_reference")
    path = tmp_path / "data" / "school-calendars" / "review.yaml"
    path.write_text(path.read_text().replace("    rho: 0\n", "    rho: 0\n    level: 0.9\n"))
    proc = run_pipeline(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    effect = json.loads((tmp_path / "results/school-calendars/effect/effect.json").read_text())
    cr2 = effect["outcomes"][0]["frequentist"]["cr2"]
    assert cr2["level"] == 0.9
    text = page_text(tmp_path, "school-calendars", "index")
    assert (
        norm(f"Pooled over 56 results from 11 studies: SMD 0.18 (90% CI {cr2['ci_lb']:.2f} to {cr2['ci_ub']:.2f})")
        in text
    )
    for said in (
        "90% CI",
        "90% prediction interval",
        "90% credible interval",
        "90% CrI lower",
        "Its intervals are 90% intervals, as review.yaml sets for this outcome",
    ):
        assert norm(said) in text, said
    assert "95% CI" not in text and "95% credible" not in text


def test_adjusted_estimates_and_bayes_factors_are_on_the_page(bundled: Path):
    """CBT: the 3PSM and PET-PEESE estimates and the Bayes factor, as effect.json has them; school-calendars: the
    Bayes factor between 1/3 and 3 reads as data that cannot tell an effect from no effect."""
    effect = json.loads((bundled / "results/cbt-recidivism/effect/effect.json").read_text())
    (o,) = effect["outcomes"]
    sel, pp, bma = o["small_study"]["selection"], o["small_study"]["pet_peese"], o["bma"]
    text = page_text(bundled, "cbt-recidivism", "index")
    e = lambda x: f"{math.exp(x):.2f}"  # noqa: E731
    assert norm(f"gives OR {e(sel['estimate'])} (95% CI {e(sel['ci_lb'])} to {e(sel['ci_ub'])})") in text
    assert norm(f"PET-PEESE ({pp['chosen']}) gives OR {e(pp['estimate'])}") in text
    assert bma["bf10"] > 1000 and "the data favour an effect; they are more than 1,000 times as likely" in text
    assert "Bayes factors of the model averaging under other priors" in text
    # the priors as a reader writes them: metaBMA's SMD prior on the log odds ratio scale, N(0, 0.544²)
    assert "priors: effect N(0, 0.544²), tau inverse-gamma(1, 0.272)" in text and "^2" not in text
    assert "by Chinn's (2000) factor π/√3 = 1.81" in text
    sc = json.loads((bundled / "results/school-calendars/effect/effect.json").read_text())["outcomes"][0]["bma"]
    assert 1 / 3 < sc["bf10"] < 3
    assert norm("the data cannot distinguish an effect from no effect") in page_text(
        bundled, "school-calendars", "index"
    )


def test_the_verdict_says_whether_the_data_tell_an_effect_from_none(bundled: Path):
    """Absence of evidence or evidence of an effect: the verdict carries the Bayes factor's reading, and so do the
    pages that quote the verdict."""
    verdicts = {
        r: findings(bundled, r)["effect"]["outcomes"][0]["verdict"] for r in ("cbt-recidivism", "school-calendars")
    }
    assert (
        "Bayes factor for an effect (all studies): more than 1,000 (the data favour an effect)."
        in verdicts["cbt-recidivism"]
    )
    assert (
        "Bayes factor for an effect: 2.3 (the data cannot distinguish an effect from no effect)."
        in verdicts["school-calendars"]
    )
    for page in ("information-sheet", "toolkit"):
        assert norm("the data cannot distinguish an effect from no effect") in page_text(
            bundled, "school-calendars", page
        )
