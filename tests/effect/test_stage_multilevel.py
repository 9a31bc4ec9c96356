"""The Effect stage with several results of a study on one outcome (issue 16, item 4): which model is used, what
effect.json holds, and the rules of review.yaml's model, method, test and rho, each on both sides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_stage import make_review

from emmie.effect import meta_analysis, results_table
from emmie.effect.dependent import che_analysis, study_level
from emmie.effect.stage import compute_effect_sizes, multilevel_used, run, settings
from emmie.ingest.validate import check_outcome_models

_CASE = json.loads((Path(__file__).parents[1] / "fixtures/metafor/mv/che_pipeline.json").read_text())[2]
REF = pd.DataFrame({k: _CASE[k] for k in ("cl", "es", "yi", "vi")})  # assink2016: 100 results from 17 studies


def review(outcome: dict | None = None, rows: pd.DataFrame = REF, rct: bool = True):
    effects = [
        {
            "effect_id": f"{r.cl}_{r.es}",
            "study_id": r.cl,
            "outcome": "o",
            "measure": "GEN",
            "estimate": r.yi,
            "se": float(np.sqrt(r.vi)),
        }
        for r in rows.itertuples(index=False)
    ]
    studies = [{"study_id": s, "design": "rct" if rct else "quasi_experimental"} for s in rows["cl"].unique()]
    config = {
        "id": "dep",
        "outcomes": [{"id": "o", "label": "O", "desirable": "higher", "measure": "SMD", **(outcome or {})}],
    }
    return make_review(studies, effects, config)


@pytest.fixture(scope="module")
def auto(tmp_path_factory):
    out = tmp_path_factory.mktemp("dep")
    return results_table.read_joined(out, run(review(), out)), out


def test_auto_pools_every_result_in_the_multilevel_model(auto):
    result, out = auto
    (o,) = result["outcomes"]
    assert (o["k"], o["headline_test"]) == (100, "cr2")
    assert set(o["frequentist"]) == {"z", "cr2"}
    a = che_analysis(REF["yi"], REF["vi"], REF["cl"], REF["es"], rho=0.6)
    assert o["frequentist"]["cr2"]["estimate"] == pytest.approx(a.fit.estimate, rel=1e-9)
    assert o["frequentist"]["cr2"]["ci_lb"] == pytest.approx(float(a.robust.ci_lb[0]), rel=1e-9)
    dep = o["dependence"]
    assert (dep["k"], dep["n_studies"], dep["n_studies_several"], dep["max_per_study"]) == (100, 17, 14, 22)
    assert dep["rho"] == 0.6 and "default" in dep["rho_source"]
    assert set(o["heterogeneity_ci"]) == {"sigma2_study", "sigma2_result", "method"}
    assert [r["omitted_study_id"] for r in o["leave_one_out"]] == list(REF["cl"].unique())
    sizes = pd.read_csv(out / "effect_sizes.csv")
    assert sizes["poolable"].all()
    assert [s["weight"] for s in o["studies"]] == pytest.approx(list(a.weights), rel=1e-9)


def test_bayesian_and_small_study_analyses_use_the_study_averages(auto):
    result, out = auto
    (o,) = result["outcomes"]
    a = che_analysis(REF["yi"], REF["vi"], REF["cl"], REF["es"], rho=0.6)
    averages = study_level(REF["yi"], REF["vi"], REF["cl"], rho=0.6, within=float(a.fit.sigma2[1]))
    assert [x["yi"] for x in o["study_averages"]] == pytest.approx(list(averages["yi"]), rel=1e-9)
    assert o["bayes"]["on"] == "study averages" and o["bayes"]["k"] == 17
    assert len(o["bayes"]["theta"]) == 17 and all(t["mean"] is not None for t in o["bayes"]["theta"])
    assert o["small_study"]["on"] == "study averages"
    tf = o["small_study"]["trim_and_fill"]
    assert tf["k0"] >= 0 and "funnel" in o["figures"]
    # results.csv keeps one row per result; the shrunken estimates belong to the averages, so its theta is empty
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 100 and table["theta_mean"].isna().all()


def test_univariate_keeps_one_result_per_study():
    sizes, _ = compute_effect_sizes(review({"model": "univariate"}))
    assert sizes["poolable"].sum() == 17
    later = sizes[~sizes["poolable"]]
    assert later["reason"].str.contains("model: univariate, one result per study").all()


def test_auto_without_dependence_is_univariate(tmp_path):
    first = REF.drop_duplicates("cl")
    result = run(review(rows=first), tmp_path)
    (o,) = result["outcomes"]
    assert o["headline_test"] == "knha" and o["dependence"] is None
    ref = meta_analysis(first["yi"], first["vi"], method="REML", test="knha")
    assert o["frequentist"]["knha"]["estimate"] == pytest.approx(ref.estimate, rel=1e-6)


def test_multilevel_without_dependence_warns_and_fits_the_univariate_model(tmp_path):
    result = run(review({"model": "multilevel"}, rows=REF.drop_duplicates("cl")), tmp_path)
    assert result["outcomes"][0]["dependence"] is None
    assert any("no study gives more than one poolable result" in w for w in result["warnings"])


def test_method_and_test_of_the_univariate_model(tmp_path):
    first = REF.drop_duplicates("cl")
    result = run(review({"method": "DL", "test": "z"}, rows=first), tmp_path)
    (o,) = result["outcomes"]
    assert o["headline_test"] == "z" and o["frequentist"]["z"]["method"] == "DL"
    ref = meta_analysis(first["yi"], first["vi"], method="DL")
    assert o["frequentist"]["z"]["tau2"] == pytest.approx(ref.tau2, rel=1e-9)


def test_a_moment_estimator_falls_back_to_reml_in_the_multilevel_model(tmp_path):
    result = run(review({"method": "DL", "rho": 0.0}), tmp_path)
    (o,) = result["outcomes"]
    assert o["dependence"]["method"] == "REML" and o["dependence"]["rho"] == 0.0
    assert o["dependence"]["rho_source"] == "set in review.yaml"
    assert any("REML was used instead of DL" in w for w in result["warnings"])


def test_validation_refuses_a_moment_estimator_for_model_multilevel():
    bad = {"outcomes": [{"id": "o", "model": "multilevel", "method": "DL"}]}
    (problem,) = check_outcome_models(bad)
    assert problem.column == "outcomes.0.method" and problem.value == "DL"
    assert check_outcome_models({"outcomes": [{"id": "o", "model": "multilevel", "method": "ML"}]}) == []
    assert check_outcome_models({"outcomes": [{"id": "o", "method": "DL"}]}) == []


def test_settings_defaults_and_the_model_switch():
    assert settings({}) == {
        "model": "auto", "method": "REML", "test": "knha", "rho": 0.6, "rho_given": False, "level": 0.95,
    }  # fmt: skip
    two = pd.DataFrame({"study_id": ["a", "a", "b"]})
    one = pd.DataFrame({"study_id": ["a", "b", "c"]})
    assert multilevel_used({}, two) and not multilevel_used({}, one)
    assert not multilevel_used({"model": "univariate"}, two)


def test_randomised_only_runs_the_multilevel_model_on_the_trials(tmp_path):
    rows = REF.copy()
    studies = rows["cl"].unique()
    result = run(review(rows=rows, rct=True), tmp_path)
    assert result["outcomes"][0]["randomised_only"] is None  # every study randomised: nothing to set apart
    rev = review(rows=rows)
    rev.studies.loc[rev.studies["study_id"].isin(studies[:5]), "design"] = "quasi_experimental"
    result = run(rev, tmp_path / "mixed")
    rct = result["outcomes"][0]["randomised_only"]
    assert rct["headline_test"] == "cr2" and rct["frequentist"]["cr2"]["n_studies"] == 12


def test_pooled_count_names_results_and_studies_of_a_multilevel_model():
    from emmie.findings.effect import pooled_count

    assert pooled_count({"k": 12}) == "12 studies"
    assert pooled_count({"k": 56, "dependence": {"k": 56, "n_studies": 11}}) == "56 results from 11 studies"


def test_forest_plot_takes_the_multilevel_weights_and_names_both_components():
    from types import SimpleNamespace

    from emmie.effect.plots import _heterogeneity_note, forest_data

    fit = SimpleNamespace(estimate=0.1, se=0.05, ci_lb=0.0, ci_ub=0.2, pi_lb=-0.3, pi_ub=0.5, tau2=0.05, k=3)
    yi, vi = np.array([0.1, 0.2, 0.0]), np.array([0.01, 0.02, 0.03])
    given = forest_data(
        yi, vi, list("abc"), SimpleNamespace(**vars(fit), study_weights=[50.0, 30.0, 20.0]), measure="SMD"
    )
    assert list(given.loc[given["row"] == "study", "weight"]) == [50.0, 30.0, 20.0]
    computed = forest_data(yi, vi, list("abc"), fit, measure="SMD")
    w = 1 / (vi + 0.05)
    assert list(computed.loc[computed["row"] == "study", "weight"]) == pytest.approx(list(100 * w / w.sum()))
    assert "σ² between studies = 0.030, within = 0.020" in _heterogeneity_note(
        SimpleNamespace(**vars(fit), sigma2=[0.03, 0.02])
    )
    assert "τ² = 0.050" in _heterogeneity_note(fit)


@pytest.mark.parametrize("dependent", [True, False])
def test_moderators_of_dependent_results_are_analysed_on_study_averages(tmp_path, dependent):
    import dataclasses

    from emmie.effect.dependent import study_averages
    from emmie.moderators import stage as moderators_stage
    from emmie.moderators.regression import moderator_regression

    rows = REF if dependent else REF.drop_duplicates("cl")
    studies = list(rows["cl"].unique())
    rev = dataclasses.replace(
        review(rows=rows),
        moderators=pd.DataFrame({"study_id": studies, "year": [1990.0 + (i % 7) for i in range(len(studies))]}),
    )
    rev.config["moderators"] = [{"name": "year", "type": "continuous", "label": "Year"}]
    sizes, _ = compute_effect_sizes(rev)
    out = moderators_stage.run(rev, tmp_path, effect_sizes=sizes)
    (a,) = out["analyses"]
    assert a["k"] == 17 and (a.get("on") == "study averages") == dependent
    if dependent:
        avg = study_averages(REF["yi"], REF["vi"], REF["cl"], REF["es"], rho=0.6)
        x = avg["study"].map(dict(zip(rev.moderators["study_id"], rev.moderators["year"], strict=True)))
        ref = moderator_regression(avg["yi"], avg["vi"], x, kind="continuous", name="year", test="knha", n_perm=0)
        assert a["regression"]["knha"]["coef"] == pytest.approx(ref.to_dict()["knha"]["coef"], rel=1e-9)


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_the_outcome_level_sets_every_interval_of_the_outcome(tmp_path, level):
    from scipy import stats

    first = REF.drop_duplicates("cl")
    outcome = {} if level == 0.95 else {"level": level}
    result = run(review(outcome, rows=first), tmp_path)
    (o,) = result["outcomes"]
    assert o["level"] == level
    ref = meta_analysis(first["yi"], first["vi"], method="REML", test="knha", level=level)
    assert (o["frequentist"]["knha"]["ci_lb"], o["frequentist"]["knha"]["pi_ub"]) == pytest.approx(
        (ref.ci_lb, ref.pi_ub), rel=1e-9
    )
    assert o["bayes"]["level"] == level
    sizes = pd.read_csv(tmp_path / "effect_sizes.csv")
    half = stats.norm.isf((1 - level) / 2) * np.sqrt(sizes["vi"])
    np.testing.assert_allclose(sizes["ci_ub"] - sizes["yi"], half, rtol=1e-12)
    # the multilevel model too
    dep = run(review(outcome), tmp_path / "dep")["outcomes"][0]
    assert dep["frequentist"]["cr2"]["level"] == level


def test_pages_name_the_outcome_level():
    from emmie.findings.text import pct
    from emmie.report import figure_data

    assert (pct(0.95), pct(0.9), pct(None), pct(0.99)) == ("95%", "90%", "95%", "99%")
    o = {"measure": "SMD", "level": 0.9, "studies": [], "frequentist": {}, "bayes": {"level": 0.9}}
    assert figure_data.forest(o)["head"][2] == "90% CI"
    assert figure_data.bayes_forest(o)["head"][3] == "90% credible interval"
    assert figure_data.forest({**o, "level": 0.95})["head"][2] == "95% CI"


def test_a_failed_multilevel_fit_leaves_no_analysis_that_assumes_independence(tmp_path, monkeypatch):
    """When the multilevel fit fails, the outcome is not pooled, and neither the Bayesian analysis nor the model
    averaging is run on the dependent results as if they were independent."""
    import emmie.effect.stage as stage

    def broken(*args, **kwargs):
        raise np.linalg.LinAlgError("singular matrix")

    monkeypatch.setattr(stage, "che_analysis", broken)
    result = run(review(), tmp_path)
    (o,) = result["outcomes"]
    assert o["pooled"] is False and "the random-effects fit failed" in o["reason_not_pooled"]
    assert o["bayes"] is None and o["bma"]["skipped"].startswith("not run: it needs the study averages")
    assert any("no Bayesian analysis: it needs the study averages" in w for w in result["warnings"])
