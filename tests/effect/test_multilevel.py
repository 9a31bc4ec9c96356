"""Multilevel and multivariate models (issue 16, item 1) against metafor's rma.mv.

References: tests/fixtures/metafor/mv/mv.json, made by mv_reference.R in that folder (R 4.2.2, metafor 3.8-1, nlminb
with its tolerances at 1e-15). Agreement: 1e-7 relative for the variance components and what follows from them
(coefficients, standard errors, intervals and tests: 1e-7 relative or 1e-9 absolute; 1e-6 relative or 1e-7
absolute for the fit with a component at its boundary, 0, which metafor leaves at 4e-9), 1e-8 for the log-likelihood
and the statistics built on it, and 1e-9 for the profile-likelihood intervals. The looser 1e-7: nlminb stops within
about 1e-8 (relative) of the maximum, while emmie's Fisher scoring goes on to a change in the log-likelihood under
1e-13; each test checks that metafor's components give a log-likelihood no higher than emmie's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emmie.effect import meta_analysis, meta_regression
from emmie.effect.multilevel import anova, meta_analysis_mv, parse_random, vcalc
from emmie.errors import AnalysisError

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "mv" / "mv.json").read_text())
K11 = pd.DataFrame(REF["konstantopoulos2011"])
A16 = pd.DataFrame(REF["assink2016"])
B98 = REF["berkey1998"]
B98_DATA = pd.DataFrame({"trial": B98["trial"], "outcome": B98["outcome"]})


def _data(case):
    return {"konstantopoulos2011": K11, "assink2016": A16, "berkey1998": B98_DATA}[case["data"]]


def _mods(case):
    if case["data"] == "konstantopoulos2011":
        return (K11["year"] - 1990) if case["mods"] else None
    return A16[["deltype"]] if case["data"] == "assink2016" else B98_DATA[["outcome"]]


def _fit(case, **extra):
    kw = {"method": case["method"], "test": case["test"], "random": case["random"], "mods": _mods(case), **extra}
    if case["data"] == "berkey1998":
        return meta_analysis_mv(B98["yi"], V=np.array(B98["V"]), data=B98_DATA, intercept=False, **kw)
    data = _data(case)
    return meta_analysis_mv(data["yi"], data["vi"], data=data, **kw)


def _numbers(values):
    return np.array([np.nan if v == "NA" else v for v in np.atleast_1d(values).tolist()], dtype=float)


@pytest.mark.parametrize("case", REF["cases"], ids=[c["name"] for c in REF["cases"]])
def test_multilevel_fit_matches_metafor(case):
    fit = _fit(case)
    # A component at its boundary is exactly 0 here; metafor's optimiser leaves it a few 1e-9 above 0, where it takes
    # a little of the other components' variance: 1e-6 relative for such a fit (the log-likelihoods still agree).
    rel, atol = (1e-7, 1e-9) if min(np.atleast_1d(case["sigma2"])) > 1e-8 else (1e-6, 1e-7)
    assert fit.sigma2 == pytest.approx(case["sigma2"], rel=rel, abs=1e-8)
    for name in ("coef", "se", "ci_lb", "ci_ub", "pval"):
        np.testing.assert_allclose(getattr(fit, name), np.atleast_1d(case[name]), rtol=rel, atol=atol, err_msg=name)
    assert fit.s_nlevels == tuple(np.atleast_1d(case["s_nlevels"]).tolist())
    for name in ("loglik", "deviance", "aic", "bic", "aicc", "QE", "QEp"):
        assert getattr(fit, name) == pytest.approx(case[name], rel=1e-8), name
    # where the two differ, emmie's maximum is the higher one: the same model with metafor's components fixed
    at_metafor = _fit(case, sigma2=np.atleast_1d(case["sigma2"]).tolist())
    assert at_metafor.loglik <= fit.loglik + 1e-12
    assert fit.dfs == (case["dfs"] if case["test"] == "t" else None)
    if case["QM"] is not None:
        assert fit.QM == pytest.approx(case["QM"], rel=rel)
        assert fit.QMp == pytest.approx(case["QMp"], rel=rel)
    if fit.p == 1 and fit.coef_names == ("intrcpt",):
        pred = fit.predict()
        for name in ("pred", "pi_lb", "pi_ub"):
            assert pred[name] == pytest.approx(case[name], rel=rel), name
        assert pred["se"] == pytest.approx(case["pred_se"], rel=rel)


@pytest.mark.parametrize(
    "name",
    [
        "konstantopoulos2011 three-level REML z",
        "berkey1998 known V, trial/outcome REML",
        "konstantopoulos2011 one level per estimate REML",
    ],
)
def test_profile_likelihood_intervals_match_metafor(name):
    """Where metafor finds a bound; it could not find one upper bound of berkey1998 (NA), which is not compared."""
    case = next(c for c in REF["cases"] if c["name"] == name)
    ci = _fit(case).confint()
    lb, ub = _numbers(case["sigma2_ci_lb"]), _numbers(case["sigma2_ci_ub"])
    np.testing.assert_allclose(ci["ci_lb"], lb, rtol=1e-9, atol=1e-12)
    known = ~np.isnan(ub)
    np.testing.assert_allclose(ci["ci_ub"].to_numpy()[known], ub[known], rtol=1e-9)
    assert (ci["ci_lb"] <= ci["estimate"]).all() and (ci["estimate"] <= ci["ci_ub"].fillna(np.inf)).all()


def test_likelihood_ratio_test_matches_metafor_anova():
    full = meta_analysis_mv(K11["yi"], K11["vi"], random="~ 1 | district/school", data=K11)
    reduced = meta_analysis_mv(K11["yi"], K11["vi"], random="~ 1 | district/school", data=K11, sigma2=[0, None])
    assert reduced.sigma2 == pytest.approx(REF["anova"]["reduced_sigma2"], rel=1e-7, abs=0)
    assert reduced.loglik == pytest.approx(REF["anova"]["reduced_loglik"], rel=1e-10)
    test = anova(full, reduced)
    assert test["LRT"] == pytest.approx(REF["anova"]["LRT"], rel=1e-8)
    assert test["df"] == REF["anova"]["df"]
    assert test["pval"] == pytest.approx(REF["anova"]["pval"], rel=1e-7)
    with pytest.raises(AnalysisError, match="more estimated parameters"):
        anova(reduced, full)
    with_year = meta_analysis_mv(K11["yi"], K11["vi"], random="~ 1 | district/school", data=K11, mods=K11["year"])
    with pytest.raises(AnalysisError, match="method='ML'"):
        anova(with_year, full)


def test_one_level_per_estimate_is_the_univariate_random_effects_model():
    fit = meta_analysis_mv(K11["yi"], K11["vi"], random="~ 1 | study", data=K11)
    uni = meta_analysis(K11["yi"], K11["vi"], method="REML", control={"threshold": 1e-14, "maxiter": 1000})
    assert fit.sigma2[0] == pytest.approx(uni.tau2, rel=1e-9)
    assert fit.estimate == pytest.approx(uni.estimate, rel=1e-9)
    assert fit.se[0] == pytest.approx(uni.se, rel=1e-8)


def test_random_formulas_expand_outer_to_inner():
    assert parse_random("~ 1 | district/school") == [("district",), ("district", "school")]
    assert parse_random(["~ 1 | a", "~1|b/c"]) == [("a",), ("b",), ("b", "c")]
    for bad in ("~ x | study", "study/es", "~ 1 | ", "~ 1 | a//b"):
        with pytest.raises(AnalysisError, match="expected '~ 1 | outer/inner'"):
            parse_random(bad)


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(AnalysisError, match="column 'region' is not in data"):
        meta_analysis_mv(K11["yi"], K11["vi"], random="~ 1 | region/school", data=K11)
    with pytest.raises(AnalysisError, match="vi or the sampling covariance matrix V"):
        meta_analysis_mv(K11["yi"], K11["vi"], V=np.diag(K11["vi"]), random="~ 1 | district", data=K11)
    with pytest.raises(AnalysisError, match="V is not symmetric"):
        V = np.diag(K11["vi"].to_numpy())
        V[0, 1] = 0.01
        meta_analysis_mv(K11["yi"], V=V, random="~ 1 | district", data=K11)
    with pytest.raises(AnalysisError, match="'REML' or 'ML'"):
        meta_analysis_mv(K11["yi"], K11["vi"], random="~ 1 | district", data=K11, method="DL")
    with pytest.raises(AnalysisError, match="sigma2 has 1 values but the model has 2"):
        meta_analysis_mv(K11["yi"], K11["vi"], random="~ 1 | district/school", data=K11, sigma2=[0.1])
    missing = K11.copy()
    missing.loc[3, "school"] = None
    with pytest.raises(AnalysisError, match="row 3 has no value in district, school"):
        meta_analysis_mv(K11["yi"], K11["vi"], random="~ 1 | district/school", data=missing)


def test_vcalc_and_the_che_working_model_match_metafor():
    """metafor's vcalc(vi, cluster = study, obs = esid, rho = 0.6) on assink2016 and the three-level model on it."""
    ref = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "mv" / "che.json").read_text())
    V = vcalc(A16["vi"], A16["study"], obs=A16["esid"], rho=ref["rho"])
    np.testing.assert_allclose(V, np.array(ref["V"]), rtol=1e-14, atol=1e-16)
    fit = meta_analysis_mv(A16["yi"], V=V, random="~ 1 | study/esid", data=A16)
    assert fit.sigma2 == pytest.approx(ref["sigma2"], rel=1e-7)
    assert fit.estimate == pytest.approx(ref["coef"], rel=1e-7)
    assert fit.se[0] == pytest.approx(ref["se"], rel=1e-7)
    assert fit.loglik == pytest.approx(ref["loglik"], rel=1e-8)
    assert fit.QE == pytest.approx(ref["QE"], rel=1e-8)
    assert fit.predict()["pi_ub"] == pytest.approx(ref["pi_ub"], rel=1e-7)


def test_vcalc_refuses_bad_input_and_keeps_clusters_apart():
    V = vcalc([0.04, 0.09, 0.01], ["a", "a", "b"], rho=0.5)
    np.testing.assert_allclose(V, [[0.04, 0.03, 0], [0.03, 0.09, 0], [0, 0, 0.01]])
    with pytest.raises(AnalysisError, match=r"rho = 1.5; a correlation must lie in \[-1, 1\]"):
        vcalc([0.1, 0.1], [1, 1], rho=1.5)
    with pytest.raises(AnalysisError, match="cluster 'a' has obs 1 twice"):
        vcalc([0.1, 0.1], ["a", "a"], obs=[1, 1], rho=0.5)
    with pytest.raises(AnalysisError, match=r"vi\[1\] = -0.1"):
        vcalc([0.1, -0.1], ["a", "a"], rho=0.5)


CR2 = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "mv" / "cr2_mv.json").read_text())


@pytest.mark.parametrize("case", CR2["cases"], ids=[c["name"] for c in CR2["cases"]])
def test_cr2_on_multilevel_fits_matches_clubsandwich(case):
    """clubSandwich's coef_test(rma.mv fit, vcov = "CR2"), clustered by the outer level (the default here)."""
    if case["name"].startswith("konstantopoulos2011"):
        fit = meta_analysis_mv(K11["yi"], K11["vi"], random="~ 1 | district/school", data=K11)
    else:
        fit = meta_analysis_mv(A16["yi"], A16["vi"], random="~ 1 | study/esid", data=A16, mods=A16[["deltype"]])
    robust = fit.robust()
    np.testing.assert_allclose(robust.vcov, np.array(case["vcov"]).reshape(fit.p, fit.p), rtol=1e-8)
    for name, ref in (("se", "se"), ("tstat", "tstat"), ("df", "df"), ("pval", "pval")):
        np.testing.assert_allclose(getattr(robust, name), np.atleast_1d(case[ref]), rtol=1e-8, err_msg=name)
    # the same clusters given explicitly; clusters that cut through a level are refused
    outer = K11["district"] if case["name"].startswith("konstantopoulos2011") else A16["study"]
    np.testing.assert_allclose(fit.robust(outer).se, robust.se, rtol=1e-14)
    with pytest.raises(AnalysisError, match="couples effect sizes of different clusters"):
        fit.robust(np.arange(fit.k))


@pytest.mark.parametrize("case", CR2["wald"], ids=[c["name"] for c in CR2["wald"]])
def test_htz_wald_test_matches_clubsandwich(case):
    """clubSandwich's Wald_test(..., test = "HTZ"). The issue's example: dat.bcg, ~ ablat + year clustered by trial,
    F = 6.709 on (2, 2.53) df, p = 0.097 (a plain Wald F on (2, 10) df gave p = 0.005); the univariate model is
    the multilevel model with one level per trial."""
    if case["name"].startswith("bcg"):
        bcg = pd.DataFrame(CR2["bcg"])
        fit = meta_analysis_mv(bcg["yi"], bcg["vi"], random="~ 1 | trial", data=bcg, mods=bcg[["ablat", "year"]])
    else:
        fit = meta_analysis_mv(A16["yi"], A16["vi"], random="~ 1 | study/esid", data=A16, mods=A16[["deltype"]])
    test = fit.robust().wald_test([i - 1 for i in case["which"]])
    assert test["F"] == pytest.approx(case["Fstat"], rel=1e-7)
    assert test["df_num"] == case["df_num"]
    assert test["df_denom"] == pytest.approx(case["df_denom"], rel=1e-7)
    assert test["pval"] == pytest.approx(case["pval"], rel=1e-7)
    by_name = fit.robust().wald_test(list(fit.coef_names[1:]))
    assert by_name["F"] == pytest.approx(test["F"], rel=1e-14)
    with pytest.raises(AnalysisError, match="no coefficient 'nope'"):
        fit.robust().wald_test(["nope"])


def test_meta_regression_with_clusters_tests_its_moderators_with_htz():
    """The issue's example through the univariate meta_regression(cluster=): the omnibus test was a plain Wald F on
    (2, 10) df, p = 0.005; it is now clubSandwich's HTZ test, F = 6.709 on (2, 2.53) df, p = 0.097."""
    bcg = pd.DataFrame(CR2["bcg"])
    ref = next(c for c in CR2["wald"] if c["name"].startswith("bcg"))
    fit = meta_regression(
        bcg["yi"], bcg["vi"], bcg[["ablat", "year"]], cluster=bcg["trial"], control={"threshold": 1e-12}
    )
    assert fit.qm == pytest.approx(ref["Fstat"], rel=1e-6)
    assert (fit.qm_df, fit.qm_df_denom) == (2, pytest.approx(ref["df_denom"], rel=1e-6))
    assert fit.qm_pval == pytest.approx(ref["pval"], rel=1e-6)
    assert "Test of Moderators: F(df1 = 2, df2 = 2.528) = 6.7090, p-val = 0.09748 (CR2, HTZ)" in str(fit)
    plain = meta_regression(bcg["yi"], bcg["vi"], bcg[["ablat", "year"]], test="knha")
    assert plain.qm_df_denom == 10 and "F(df1 = 2, df2 = 10)" in str(plain) and "HTZ" not in str(plain)
