"""The Effect stage on small reviews built in the test (no files read but metafor fixtures)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emmie.effect import egger_test, meta_analysis, results_table, trim_and_fill
from emmie.effect.stage import compute_effect_sizes, pooling_measure, run
from emmie.ingest.review import Review
from emmie.ingest.schema import TABLES_BY_NAME

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
NUMERIC = ("int", "float", "year")


def table(name: str, rows: list[dict]) -> pd.DataFrame:
    """A coded table as the loader gives it: every codebook column, text "" and numbers NaN when empty."""
    cols = TABLES_BY_NAME[name].columns
    frame = pd.DataFrame(rows)
    for c in cols:
        if c.name not in frame.columns:
            frame[c.name] = np.nan if c.type in NUMERIC else ""
        elif c.type in NUMERIC:
            frame[c.name] = frame[c.name].astype(float)
        else:
            frame[c.name] = frame[c.name].fillna("").astype(str)
    extra = [c for c in frame.columns if c not in {c.name for c in cols}]
    return frame[[c.name for c in cols] + extra]


def make_review(
    studies: list[dict], effects: list[dict], config: dict, moderators: pd.DataFrame | None = None
) -> Review:
    base = {"design": "rct", "rob_overall": "low", "n": 100}
    empty = {name: table(name, []) for name in ("vocabulary", "cmo", "implementation", "economics", "rob", "prisma")}
    return Review(
        path=Path("."),
        config={"seed": 7, **config},
        studies=table("studies", [{**base, **s} for s in studies]),
        effects=table("effects", effects),
        moderators=moderators if moderators is not None else pd.DataFrame({"study_id": []}),
        **empty,
    )


# Landenberger & Lipsey (2005), first five studies of metafor's dat.landenberger2005.
CBT = [(23, 29, 10, 19), (15, 22, 3, 17), (4, 6, 2, 9), (11, 2, 8, 5), (30, 52, 20, 48)]


def mixed_review() -> Review:
    effects = []
    for i, (crec, cnon, trec, tnon) in enumerate(CBT):
        effects.append(
            {
                "effect_id": f"e{i + 1}",
                "study_id": f"s{i + 1}",
                "outcome": "reoffend",
                "measure": "OR",
                "ai": tnon,
                "bi": trec,
                "ci": cnon,
                "di": crec,
            }
        )
    effects += [
        # a second result from s1 on the same outcome: not pooled twice
        {
            "effect_id": "e1b",
            "study_id": "s1",
            "outcome": "reoffend",
            "measure": "OR",
            "ai": 20,
            "bi": 9,
            "ci": 25,
            "di": 27,
            "timepoint": "24 months",
        },
        # a risk ratio on an outcome pooled as odds ratios
        {
            "effect_id": "e6",
            "study_id": "s6",
            "outcome": "reoffend",
            "measure": "RR",
            "ai": 10,
            "n1i": 50,
            "ci": 15,
            "n2i": 50,
        },
        # direction only
        {
            "effect_id": "e7",
            "study_id": "s7",
            "outcome": "reoffend",
            "measure": "NONE",
            "direction": "benefit",
            "result_text": "fewer re-arrests reported",
        },
        # the only result on its outcome: Bayesian analysis, no meta-analysis
        {
            "effect_id": "e8",
            "study_id": "s6",
            "outcome": "wellbeing",
            "measure": "SMD",
            "m1i": 12,
            "m2i": 10,
            "sd1i": 4,
            "sd2i": 4,
            "n1i": 40,
            "n2i": 40,
        },
        # a single-arm proportion
        {
            "effect_id": "e9",
            "study_id": "s7",
            "outcome": "safety",
            "measure": "PROP",
            "xi": 30,
            "ni": 40,
            "direction": "benefit",
        },
    ]
    studies = [{"study_id": f"s{i}"} for i in range(1, 8)]
    studies[6].update(design="before_after", rob_overall="serious", n=40)
    config = {
        "id": "mixed",
        "outcomes": [
            {
                "id": "reoffend",
                "label": "Reoffending",
                "desirable": "higher",
                "measure": "OR",
                "mid": 0.2,
                "domain": "offending",
                "model": "univariate",  # one result per study: s1's second result goes to SWiM
            },
            {"id": "wellbeing", "label": "Wellbeing", "desirable": "higher", "measure": "SMD", "domain": "wellbeing"},
            {"id": "safety", "label": "Safety", "desirable": "higher", "domain": "safety"},
        ],
    }
    return make_review(studies, effects, config)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    out = tmp_path_factory.mktemp("effect")
    # effect.json holds the summaries; each result's numbers are in results.csv, joined back as the later steps read them
    return results_table.read_joined(out, run(mixed_review(), out)), out


def test_effect_sizes_csv_rows_and_reasons(mixed):
    _, out = mixed
    sizes = pd.read_csv(out / "effect_sizes.csv", keep_default_na=False, na_values=[""])
    assert list(sizes.columns) == [
        "effect_id",
        "study_id",
        "outcome",
        "measure",
        "yi",
        "vi",
        "ci_lb",
        "ci_ub",
        "poolable",
        "reason",
    ]
    s = sizes.set_index("effect_id")
    crec, cnon, trec, tnon = CBT[0]
    assert s.at["e1", "yi"] == pytest.approx(np.log(tnon / trec) - np.log(cnon / crec))
    assert s.at["e1", "vi"] == pytest.approx(1 / tnon + 1 / trec + 1 / cnon + 1 / crec)
    assert s.at["e1", "ci_ub"] == pytest.approx(s.at["e1", "yi"] + 1.959964 * np.sqrt(s.at["e1", "vi"]), rel=1e-6)
    assert list(s.index[s["poolable"]]) == ["e1", "e2", "e3", "e4", "e5", "e8"]
    assert "already contributes result e1" in s.at["e1b", "reason"]
    assert "differs from the outcome's pooling measure OR" in s.at["e6", "reason"]
    assert "direction only" in s.at["e7", "reason"]
    assert "single-arm" in s.at["e9", "reason"]
    assert np.isnan(s.at["e7", "yi"])


def test_effect_json_keys_and_pooled_outcome(mixed):
    result, out = mixed
    on_disk = json.loads((out / "effect.json").read_text())
    assert on_disk["review"] == "mixed"
    assert set(on_disk) >= {"review", "outcomes", "swim", "designs", "warnings"}
    assert "studies" not in on_disk["outcomes"][0]  # each result's numbers are in results.csv
    o = {x["outcome"]: x for x in result["outcomes"]}
    r = o["reoffend"]
    for key in (
        "outcome",
        "label",
        "measure",
        "desirable",
        "k",
        "n_results",
        "pooled",
        "reason_not_pooled",
        "frequentist",
        "heterogeneity_ci",
        "bayes",
        "interpretation",
        "figures",
        "studies",
    ):
        assert key in r
    assert (r["k"], r["n_results"], r["pooled"], r["reason_not_pooled"]) == (5, 8, True, None)
    sizes, _ = compute_effect_sizes(mixed_review())
    used = sizes[sizes["poolable"] & (sizes["outcome"] == "reoffend")]
    for test in ("z", "knha"):
        ref = meta_analysis(used["yi"], used["vi"], method="REML", test=test)
        got = r["frequentist"][test]
        assert got["estimate"] == pytest.approx(ref.estimate) and got["ci_lb"] == pytest.approx(ref.ci_lb)
        assert got["test"] == test and got["k"] == 5
        for field in (
            "k",
            "estimate",
            "se",
            "stat",
            "pval",
            "ci_lb",
            "ci_ub",
            "pi_lb",
            "pi_ub",
            "tau2",
            "i2",
            "h2",
            "q",
            "q_pval",
            "method",
            "test",
            "warnings",
        ):
            assert field in got
    assert r["headline_test"] == "knha"
    assert sum(s["weight"] for s in r["studies"]) == pytest.approx(100.0)
    assert [s["effect_id"] for s in r["studies"]] == ["e1", "e2", "e3", "e4", "e5"]
    assert len(r["leave_one_out"]) == 5 and r["leave_one_out"][0]["omitted_effect_id"] == "e1"
    assert r["small_study"] is None and "funnel" not in r["figures"]  # k < 10
    assert set(r["heterogeneity_ci"]) >= {"tau2", "i2", "h2"}
    assert r["bayes"]["mu"]["ci_lb"] < r["bayes"]["mu"]["ci_ub"]
    assert r["interpretation"]["conclusion"] in {
        "important_benefit",
        "benefit",
        "harm",
        "evidence_of_absence",
        "absence_of_evidence",
    }
    for fig in r["figures"].values():
        assert (out / fig).read_text().startswith("<?xml")
    assert set(r["figures"]) == {"forest", "prior_posterior", "bayes_forest"}


def test_single_result_outcome_gets_bayes_but_no_meta_analysis(mixed):
    result, out = mixed
    o = {x["outcome"]: x for x in result["outcomes"]}
    w = o["wellbeing"]
    assert (w["k"], w["pooled"], w["frequentist"]) == (1, False, None)
    assert "only 1 poolable result" in w["reason_not_pooled"]
    assert w["bayes"] is not None and w["bayes"]["k"] == 1
    assert "prior_posterior" in w["figures"] and (out / w["figures"]["prior_posterior"]).exists()
    s = o["safety"]
    assert (s["k"], s["pooled"], s["bayes"], s["measure"]) == (0, False, None, None)
    assert "no poolable result" in s["reason_not_pooled"]


def test_no_silent_gap_every_row_in_exactly_one_place(mixed):
    result, _ = mixed
    review = mixed_review()
    in_meta = {s["effect_id"] for o in result["outcomes"] if o["pooled"] for s in o["studies"]}
    in_swim = {r["effect_id"] for r in result["swim"]["results"]}
    assert in_meta.isdisjoint(in_swim)
    assert in_meta | in_swim == set(review.effects["effect_id"])
    reasons = {r["effect_id"]: r["reason"] for r in result["swim"]["results"]}
    assert all(reasons.values())
    assert "only 1 poolable result" in reasons["e8"]
    assert result["accounting"]["n_results"] == len(review.effects)


def test_swim_section(mixed):
    result, out = mixed
    swim = result["swim"]
    assert swim["rule"] == "direction" and swim["figure"] == "swim_direction.svg"
    assert (out / "swim_direction.svg").exists()
    d = {x["domain"]: x for x in swim["domains"]}
    assert set(d) == {"offending", "wellbeing", "safety"}
    res = {r["effect_id"]: r for r in swim["results"]}
    assert res["e7"]["direction"] == "benefit" and res["e7"]["direction_source"] == "coded"
    assert res["e9"]["direction_source"] == "coded"  # PROP: no comparison
    assert res["e8"]["direction"] == "benefit"  # SMD 0.49 > 0, higher is better
    assert res["e7"]["design"] == "before_after" and res["e7"]["result_text"] == "fewer re-arrests reported"


def test_designs_and_warnings(mixed):
    result, _ = mixed
    assert result["designs"] == {"before_after": 1, "rct": 6}
    assert isinstance(result["warnings"], list)


def test_output_is_byte_identical_across_runs(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run(mixed_review(), a)
    run(mixed_review(), b)
    files = sorted(p.name for p in a.iterdir())
    assert files == sorted(p.name for p in b.iterdir())
    assert {"effect.json", "effect_sizes.csv", "forest_reoffend.svg", "swim_direction.svg"} <= set(files)
    for name in files:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_pooling_measure_rules():
    assert pooling_measure({"measure": "RR"}, pd.Series(["OR", "OR"])) == "RR"
    assert pooling_measure({}, pd.Series(["GEN", "OR", "RD", "RD"])) == "RD"
    assert pooling_measure({}, pd.Series(["RD", "OR"])) == "OR"  # tie: codebook order
    assert pooling_measure({}, pd.Series(["GEN", "GEN"])) == "GEN"
    assert pooling_measure({}, pd.Series(["PROP"])) is None


def landenberger_review(k: int | None = None) -> Review:
    d = pd.read_csv(FIXTURES / "landenberger2005_or.csv")
    if k is not None:
        d = d.iloc[:k]
    effects = [
        {
            "effect_id": f"e{i + 1}",
            "study_id": f"s{i + 1}",
            "outcome": "nonrecid",
            "measure": "OR",
            "ai": r["n.cbt.non"],
            "bi": r["n.cbt.rec"],
            "ci": r["n.ctrl.non"],
            "di": r["n.ctrl.rec"],
        }
        for i, r in d.iterrows()
    ]
    design = {"rct": "rct", "match": "quasi_experimental", "nonequiv": "quasi_experimental"}
    studies = [{"study_id": f"s{i + 1}", "design": design[r["design"]]} for i, r in d.iterrows()]
    config = {
        "id": "cbt",
        "outcomes": [
            {
                "id": "nonrecid",
                "label": "Non-recidivism",
                "desirable": "higher",
                "measure": "OR",
                "mid": 0.1,
                "domain": "offending",
            }
        ],
    }
    return make_review(studies, effects, config)


def test_landenberger_matches_metafor_and_runs_small_study_checks(tmp_path):
    ref = json.loads((FIXTURES / "landenberger2005_or.json").read_text())
    result = run(landenberger_review(), tmp_path)
    o = result["outcomes"][0]
    assert o["k"] == 58
    for test in ("z", "knha"):
        got, want = o["frequentist"][test], ref["fits"][f"REML_{test}"]
        for field in ("estimate", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "i2", "q"):
            assert got[field] == pytest.approx(want[field], rel=1e-4, abs=1e-8), (test, field)
    assert o["heterogeneity_ci"]["tau2"]["ci_lb"] == pytest.approx(ref["qprofile"]["tau2"][1], rel=1e-3)
    ss = o["small_study"]
    assert ss["egger"]["pval"] == pytest.approx(ref["regtest"]["pval"], rel=1e-4)
    assert ss["trim_and_fill"]["k0"] == ref["trimfill"]["k0"]
    assert ss["failsafe_n"] == ref["fsn_rosenthal"]
    assert o["figures"]["funnel"] == "funnel_nonrecid.svg" and (tmp_path / "funnel_nonrecid.svg").exists()
    assert result["designs"] == {"quasi_experimental": 39, "rct": 19}
    assert result["swim"]["results"] == []


def test_ten_studies_is_the_small_study_threshold(tmp_path):
    nine = run(landenberger_review(9), tmp_path / "nine")["outcomes"][0]
    ten = run(landenberger_review(10), tmp_path / "ten")["outcomes"][0]
    assert nine["small_study"] is None and "funnel" not in nine["figures"]
    sizes, _ = compute_effect_sizes(landenberger_review(10))
    assert ten["small_study"]["egger"]["stat"] == pytest.approx(egger_test(sizes["yi"], sizes["vi"]).stat)


# --- documented results for inputs that are valid but degenerate (the bad-input corpus's "correct result" cases)


def test_review_with_no_poolable_outcome_is_synthesised_by_direction(tmp_path):
    effects = [
        {
            "effect_id": f"d{i}",
            "study_id": f"s{i}",
            "outcome": "care",
            "measure": "NONE",
            "direction": d,
            "result_text": "as reported",
        }
        for i, d in enumerate(["no_change", "benefit", "harm"], start=1)
    ]
    review = make_review(
        [{"study_id": f"s{i}"} for i in (1, 2, 3)],
        effects,
        {"id": "none", "outcomes": [{"id": "care", "label": "Care", "desirable": "lower", "domain": "care"}]},
    )
    out = run(review, tmp_path)
    (care,) = out["outcomes"]
    assert care["k"] == 0 and not care["pooled"] and care["frequentist"] is None and care["bayes"] is None
    assert care["reason_not_pooled"]
    assert sorted(r["effect_id"] for r in out["swim"]["results"]) == ["d1", "d2", "d3"]
    (domain,) = out["swim"]["domains"]
    assert domain["sign_test"]["n_benefit"] == 1 and domain["sign_test"]["n_harm"] == 1
    assert domain["sign_test"]["pval"] == pytest.approx(1.0)


def test_identical_effects_give_tau2_zero_and_the_common_value(tmp_path):
    # Four identical 2x2 tables: every yi equal, so tau^2 = 0 and the estimate is that yi (metafor does the same).
    effects = [
        {
            "effect_id": f"e{i}",
            "study_id": f"s{i}",
            "outcome": "o",
            "measure": "OR",
            "ai": 10,
            "bi": 20,
            "ci": 15,
            "di": 15,
        }
        for i in (1, 2, 3, 4)
    ]
    review = make_review(
        [{"study_id": f"s{i}"} for i in (1, 2, 3, 4)],
        effects,
        {"id": "same", "outcomes": [{"id": "o", "label": "O", "desirable": "lower", "measure": "OR"}]},
    )
    out = run(review, tmp_path)
    (o,) = out["outcomes"]
    z = o["frequentist"]["z"]
    assert o["pooled"] and z["tau2"] == 0 and z["estimate"] == pytest.approx(np.log(10 * 15 / (20 * 15)))
    assert z["q"] == pytest.approx(0, abs=1e-12) and z["i2"] == 0
    assert any("boundary" in w or "tau" in w for w in z["warnings"])


def test_forest_order_by_weight_effect_or_data():
    import numpy as np

    from emmie.effect.stage import forest_order

    yi = np.array([0.3, -0.2, 0.1, 0.1])
    w = np.array([10.0, 40.0, 40.0, 10.0])
    assert list(forest_order("weight", yi, w)) == [1, 2, 0, 3]  # largest first, ties keep coded order
    assert list(forest_order("effect", yi, w)) == [1, 2, 3, 0]  # smallest first, ties keep coded order
    assert list(forest_order("data", yi, w)) == [0, 1, 2, 3]


def test_leave_one_out_runs_up_to_its_size_limit_and_says_why_not_beyond(tmp_path, monkeypatch):
    """Leave-one-out costs k refits of k results: it runs for k <= LEAVE_ONE_OUT_MAX_K and beyond that the
    outcome says it was not run and why (a warning, and the methods text reads it)."""
    from emmie.effect import stage

    monkeypatch.setattr(stage, "LEAVE_ONE_OUT_MAX_K", 10)
    at = run(landenberger_review(10), tmp_path / "at")
    over = run(landenberger_review(11), tmp_path / "over")
    assert len(at["outcomes"][0]["leave_one_out"]) == 10 and "leave_one_out_skipped" not in at["outcomes"][0]
    o = over["outcomes"][0]
    assert o["leave_one_out"] is None
    assert o["leave_one_out_skipped"] == (
        "not run: k = 11 results, more than 10 (k refits of k results each; a single result carries about 1/11 of "
        "the weight)"
    )
    assert "nonrecid: leave-one-out not run: k = 11 results" in " ".join(over["warnings"])
    from emmie.report.context import methods_paragraphs

    def said(result) -> str:
        return " ".join(methods_paragraphs(landenberger_review(), result, {}, {}))

    assert "Leave-one-out analyses show the influence of each study." in said(at)
    assert "Leave-one-out analyses were not run: k = 11 results, more than 10" in said(over)


@pytest.mark.parametrize("review", ["sos", "cbt-recidivism"])
def test_effect_sizes_by_group_equal_row_by_row(review):
    """The grouped computation of effect sizes gives, row for row, what _row_effect_size gives."""
    from emmie.effect.stage import _effect_sizes_by_group, _row_effect_size
    from emmie.ingest import load_review

    from support import ROOT

    eff = load_review(ROOT / "data" / review).effects
    yi, vi, reasons = _effect_sizes_by_group(eff)
    for i in range(len(eff)):
        y, v, reason = _row_effect_size(eff.iloc[i])
        assert reasons[i] == reason, i
        assert (np.isnan(yi[i]) and np.isnan(y)) or yi[i] == pytest.approx(y, rel=1e-15, abs=0), i
        assert (np.isnan(vi[i]) and np.isnan(v)) or vi[i] == pytest.approx(v, rel=1e-15, abs=0), i


def test_prior_sensitivity_runs_up_to_its_size_limit_and_says_why_not_beyond(tmp_path, monkeypatch):
    """The prior-sensitivity table costs four more exact fits: it is made for k <= PRIOR_SENSITIVITY_MAX_K; beyond
    that the outcome, its Bayesian finding and the methods text say it was not run and why."""
    from emmie.effect import stage
    from emmie.findings.effect import _bayes_finding
    from emmie.report.context import methods_paragraphs

    monkeypatch.setattr(stage, "PRIOR_SENSITIVITY_MAX_K", 10)
    at = run(landenberger_review(10), tmp_path / "at")["outcomes"][0]["bayes"]
    over_result = run(landenberger_review(11), tmp_path / "over")
    over = over_result["outcomes"][0]["bayes"]
    assert len(at["prior_sensitivity"]) == 4 and "prior_sensitivity_skipped" not in at
    assert over["prior_sensitivity"] is None
    skipped = (
        "not run: k = 11 results, more than 10 (four more exact fits of every result; with this many results the "
        "data, not the prior, set the heterogeneity)"
    )
    assert over["prior_sensitivity_skipped"] == skipped
    assert f"nonrecid: the prior-sensitivity table was {skipped}" in over_result["warnings"]
    interp = {"p_benefit": 0.9, "interval": {"lb": 0.1, "ub": 0.2}}
    assert (
        f"Other heterogeneity priors were {skipped}." in _bayes_finding("x", "GEN", interp, over, False, []).statement
    )
    assert (
        "Under each of the 4 heterogeneity priors tried" in _bayes_finding("x", "GEN", interp, at, False, []).statement
    )
    methods = " ".join(methods_paragraphs(landenberger_review(), over_result, {}, {}))
    assert f"the prior-sensitivity table was {skipped}." in methods


def test_effect_sizes_by_group_give_each_row_what_it_gives_alone(monkeypatch):
    """The grouped computation (one escalc call per measure and set of inputs) gives every row the yi, vi and reason
    it gets computed on its own: usable rows, a zero variance, a single-arm proportion, a direction only, inputs
    that give no finite effect size, and a group whose computation fails (row by row then)."""
    from emmie.effect import stage
    from emmie.effect.stage import _effect_sizes_by_group, _row_effect_size

    escalc = stage.effect_sizes

    def zero_variance_at_0_25(measure, **inputs):  # validated inputs never give vi = 0; this rule is tested anyway
        es = escalc(measure, **inputs)
        if measure == "GEN":
            es.loc[np.asarray(inputs["estimate"]) == 0.25, "vi"] = 0.0
        return es

    monkeypatch.setattr(stage, "effect_sizes", zero_variance_at_0_25)
    nan = np.nan
    rows = [
        {"measure": "OR", "ai": 10, "bi": 20, "ci": 15, "di": 15},
        {"measure": "OR", "ai": 0, "bi": 0, "ci": 0, "di": 0},
        {"measure": "OR", "ai": 5, "bi": 7, "ci": 9, "di": 2},
        {"measure": "GEN", "estimate": 0.3, "se": 0.0},
        {"measure": "GEN", "estimate": 0.2, "se": 0.1},
        {"measure": "GEN", "estimate": 0.25, "se": 0.1},
        {"measure": "GEN", "estimate": nan, "se": 0.1},
        {"measure": "PROP", "xi": 30, "ni": 40},
        {"measure": "PROP", "xi": 0, "ni": 0},
        {"measure": "NONE"},
        {"measure": "SMD", "m1i": 1.0, "m2i": 0.5, "sd1i": -1.0, "sd2i": 1.0, "n1i": 20, "n2i": 20},
        {"measure": "SMD", "m1i": 1.0, "m2i": 0.5, "sd1i": 1.0, "sd2i": 1.0, "n1i": 20, "n2i": 20},
    ]
    eff = pd.DataFrame(rows)
    for column in ("ai", "bi", "ci", "di", "estimate", "se", "xi", "ni", "m1i", "m2i", "sd1i", "sd2i", "n1i", "n2i"):
        eff[column] = eff[column].astype(float)
    yi, vi, reasons = _effect_sizes_by_group(eff)
    alone = [_row_effect_size(eff.iloc[i]) for i in range(len(eff))]
    np.testing.assert_array_equal(yi, [a[0] for a in alone])
    np.testing.assert_array_equal(vi, [a[1] for a in alone])
    assert reasons == [a[2] for a in alone]
    assert {r.split(" ")[0] for r in reasons} >= {"", "sampling", "single-arm", "the", "no"}, reasons


@pytest.mark.parametrize("direction", [1.0, -1.0])
def test_small_study_trim_and_fill_is_metafors_whichever_side_is_filled(direction):
    """small_study takes trim-and-fill's side from Egger's fit (the same REML meta-regression on sqrt(vi)): the
    result is trim_and_fill's own, for asymmetry on either side."""
    from emmie.effect.stage import small_study

    rng = np.random.default_rng(7)
    vi = rng.uniform(0.005, 0.2, 40)
    yi = 0.2 + direction * 1.5 * np.sqrt(vi) + rng.normal(0.0, np.sqrt(vi))
    got = small_study(yi, vi)["trim_and_fill"]
    own = trim_and_fill(yi, vi)
    assert got == {"k0": own.k0, "side": own.side, "estimate": own.estimate, "tau2": own.tau2}
    assert own.side == ("left" if direction > 0 else "right")
    assert egger_test(yi, vi).slope * direction > 0
