"""The Effect stage's analysis of dependent effect sizes (issue 16, item 4) against metafor and clubSandwich.

Reference: tests/fixtures/metafor/mv/che_pipeline.json, made by che_pipeline_reference.R in that folder (R 4.2.2,
metafor 3.8-1, clubSandwich 0.5.8, nlminb at 1e-15, or 1e-12 where it reports non-convergence at 1e-15). Agreement:
1e-6 relative (the variance components, as in test_multilevel.py, are where nlminb stops), 1e-9 for the
aggregation, which involves no optimisation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emmie.effect.dependent import che_analysis, has_dependence, leave_one_study_out, study_level
from emmie.effect.multilevel import meta_analysis_mv, vcalc

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "mv" / "che_pipeline.json").read_text())
CASES = {c["name"]: c for c in REF}
TOL = {"rtol": 1e-6, "atol": 1e-8}


@pytest.fixture(params=list(CASES), scope="module")
def case(request):
    c = CASES[request.param]
    return c, che_analysis(c["yi"], c["vi"], c["cl"], c["es"], rho=c["rho"])


def test_model_based_fit(case):
    c, a = case
    z = a.fit_dicts()["z"]
    np.testing.assert_allclose(a.fit.sigma2, c["sigma2"], rtol=1e-5, atol=1e-8)
    for mine, theirs in (("estimate", "estimate"), ("se", "se"), ("ci_lb", "ci_lb"), ("ci_ub", "ci_ub")):
        np.testing.assert_allclose(z[mine], c[theirs], **TOL)
    np.testing.assert_allclose([z["pi_lb"], z["pi_ub"]], [c["pi_lb"], c["pi_ub"]], **TOL)
    np.testing.assert_allclose([z["q"], z["q_pval"]], [c["QE"], c["QEp"]], rtol=1e-9)
    np.testing.assert_allclose(a.fit.loglik, c["loglik"], rtol=1e-9)


def test_weights_and_i2(case):
    c, a = case
    np.testing.assert_allclose(a.weights, c["weights"], **TOL)
    np.testing.assert_allclose(a.i2, c["i2_total"], **TOL)
    np.testing.assert_allclose(a.i2_levels, c["i2_levels"], **TOL)


def test_robust_inference(case):
    c, a = case
    r = a.fit_dicts()["cr2"]
    np.testing.assert_allclose([r["se"], r["df"], r["pval"]], [c["cr2_se"], c["cr2_df"], c["cr2_pval"]], **TOL)
    np.testing.assert_allclose([r["ci_lb"], r["ci_ub"]], [c["cr2_ci_lb"], c["cr2_ci_ub"]], **TOL)
    assert r["n_clusters"] == len(set(c["cl"]))
    # the robust prediction interval: t on the Satterthwaite df, robust se and the total heterogeneity
    from scipy import stats

    half = stats.t.isf(0.025, r["df"]) * np.sqrt(r["se"] ** 2 + sum(r["sigma2"]))
    np.testing.assert_allclose([r["pi_lb"], r["pi_ub"]], [r["estimate"] - half, r["estimate"] + half], rtol=1e-12)


def test_study_level_aggregation(case):
    c, _ = case
    agg = study_level(c["yi"], c["vi"], c["cl"], rho=c["rho"]).set_index("study")
    ref = dict(zip(c["agg_cl"], zip(c["agg_yi"], c["agg_vi"], strict=True), strict=True))
    assert set(agg.index) == set(ref)
    for sid, (y, v) in ref.items():
        np.testing.assert_allclose([agg.at[sid, "yi"], agg.at[sid, "vi"]], [y, v], rtol=1e-9)


def test_leave_one_study_out(case):
    c, _ = case
    loo = leave_one_study_out(c["yi"], c["vi"], c["cl"], c["es"], rho=c["rho"]).set_index("omitted_study_id")
    for ref in c["loo"]:
        row = loo.loc[ref["omitted"]]
        np.testing.assert_allclose(row["estimate"], ref["estimate"], **TOL)
        np.testing.assert_allclose([row["sigma2_study"], row["sigma2_result"]], ref["sigma2"], rtol=1e-5, atol=1e-8)


def test_sparse_v_equals_dense():
    c = CASES["assink2016, rho = 0.6"]
    dense = vcalc(c["vi"], c["cl"], rho=0.6, obs=c["es"])
    sp = vcalc(c["vi"], c["cl"], rho=0.6, obs=c["es"], sparse_matrix=True)
    np.testing.assert_allclose(sp.toarray(), dense, rtol=1e-15, atol=0)
    import pandas as pd

    d = pd.DataFrame({"cl": c["cl"], "es": c["es"]})
    a = meta_analysis_mv(c["yi"], V=dense, random="~ 1 | cl/es", data=d)
    b = meta_analysis_mv(c["yi"], V=sp, random="~ 1 | cl/es", data=d)
    np.testing.assert_allclose(b.sigma2, a.sigma2, rtol=1e-12)
    np.testing.assert_allclose(b.coef, a.coef, rtol=1e-12)


def test_has_dependence_both_sides():
    assert not has_dependence(["a", "b", "c"])
    assert has_dependence(["a", "b", "a"])


def test_study_averages_with_the_within_component_reproduce_the_multilevel_fit(case):
    """With the fitted within-study variance, a univariate model of the averages at tau^2 = the between-study
    component gives the multilevel estimate and standard error (Sherman-Morrison on each study's block)."""
    from emmie.effect import meta_analysis

    c, a = case
    agg = study_level(c["yi"], c["vi"], c["cl"], rho=c["rho"], within=float(a.fit.sigma2[1]))
    w = 1.0 / (agg["vi"].to_numpy() + a.fit.sigma2[0])
    est = float(w @ agg["yi"].to_numpy() / w.sum())
    np.testing.assert_allclose([est, np.sqrt(1.0 / w.sum())], [a.fit.estimate, a.fit.se[0]], rtol=1e-10)
    # and REML on the averages finds (about) the same between-study variance: not an identity, a sanity check
    fit = meta_analysis(agg["yi"], agg["vi"], method="REML")
    assert abs(fit.estimate - a.fit.estimate) < 0.02


def test_cr2_with_clusters_that_hold_several_model_blocks():
    """Clusters of two or three districts: the engine joins each cluster's blocks (clubSandwich coef_test with
    cluster = the coarser grouping, tests/fixtures/metafor/mv/cr2_coarse.json)."""
    import pandas as pd

    ref = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "mv" / "cr2_coarse.json").read_text())
    d = pd.DataFrame({"cl": ref["cl"], "es": ref["es"]})
    fit = meta_analysis_mv(ref["yi"], ref["vi"], random="~ 1 | cl/es", data=d)
    r = fit.robust(cluster=ref["g"])
    assert r.n_clusters == 5
    np.testing.assert_allclose([r.se[0], r.df[0], r.pval[0]], [ref["se"], ref["df"], ref["pval"]], rtol=1e-6)
