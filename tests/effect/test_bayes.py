"""The exact Bayesian engine against an independent brute-force integration, plus properties.

The reference is a plain 2-D grid over (mu, tau) of prior x likelihood (y_i ~ N(mu, v_i + tau^2)), integrated with
Simpson's rule: no conditional-normal algebra, no transformed axis, no mixtures. A coarse grid first finds the box
holding the posterior (log density within 32 of its maximum, i.e. all but ~1e-14 of the mass), then a fine grid
of 1201 x 1201 points (2401 x 2401 for one wide box) covers that box. Tolerance on every compared quantity: 1e-4 (absolute).
"""

from __future__ import annotations

import functools
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special, stats
from scipy.interpolate import CubicSpline

import emmie.effect.bayes as bayes
from emmie.effect.bayes import bayesian_meta_analysis, default_priors, interpret, prior_sensitivity
from emmie.errors import AnalysisError, EmmieError

DATA = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "bayes" / "reference_data.json").read_text())
SETS = DATA["datasets"]
TOL = 1e-4

# Priors per data set: the measure's defaults where it has them; hand-set (and stated) where it has none.
PRIORS = {
    "bcg_or": default_priors("OR"),
    "bcg_rr": default_priors("RR"),
    "bcg_rd": default_priors("RD"),
    "hackshaw1998": default_priors("OR"),  # GEN, log odds ratios
    "landenberger2005_or": default_priors("OR"),
    "molloy2014_zcor": default_priors("ZCOR"),
    "normand1999_md": {"mu_prior_mean": 0.0, "mu_prior_sd": 100.0, "tau_prior": "half_normal", "tau_scale": 25.0},
    "normand1999_smd": default_priors("SMD"),
    "raudenbush1985": default_priors("SMD"),  # GEN, standardised mean differences
}


def _priors(name: str, tau_prior: str | None = None, tau_scale: float | None = None) -> dict:
    p = {k: v for k, v in PRIORS[name].items() if k != "source"}
    if tau_prior:
        p["tau_prior"] = tau_prior
    if tau_scale:
        p["tau_scale"] = tau_scale
    return p


# ---------------------------------------------------------------------------------------------------------------------
# Brute force
# ---------------------------------------------------------------------------------------------------------------------


def _log_joint(mu, tau, yi, vi, p):
    out = stats.norm.logpdf(mu, p["mu_prior_mean"], p["mu_prior_sd"])
    if p["tau_prior"] == "half_normal":
        out = out + stats.halfnorm.logpdf(tau, scale=p["tau_scale"])
    else:
        out = out + stats.halfcauchy.logpdf(tau, scale=p["tau_scale"])
    for y, v in zip(yi, vi, strict=True):
        out = out + stats.norm.logpdf(y, mu, np.sqrt(v + tau**2))
    return out


def _grid(yi, vi, p, mu_lo, mu_hi, tau_hi, n):
    mu = np.linspace(mu_lo, mu_hi, n)
    tau = np.linspace(0.0, tau_hi, n)
    logp = _log_joint(mu[:, None], tau[None, :], yi, vi, p)
    return mu, tau, logp


@functools.cache
def brute_force(
    name: str, tau_prior: str | None = None, tau_scale: float | None = None, k: int | None = None, n: int = 1201
):
    yi = np.array(SETS[name]["yi"][:k])
    vi = np.array(SETS[name]["vi"][:k])
    p = _priors(name, tau_prior, tau_scale)
    # Coarse box: every mu and tau the prior or the data could support.
    # mu beyond 9 prior SDs from the prior mean has log prior density below its peak by 40: outside the box.
    mu_lo = min(yi.min(), p["mu_prior_mean"]) - 9 * p["mu_prior_sd"]
    mu_hi = max(yi.max(), p["mu_prior_mean"]) + 9 * p["mu_prior_sd"]
    tau_hi = 12 * p["tau_scale"] if p["tau_prior"] == "half_normal" else 60 * p["tau_scale"] + 5 * np.ptp(yi)
    for coarse in (801, 801):
        mu, tau, logp = _grid(yi, vi, p, mu_lo, mu_hi, tau_hi, coarse)
        inside = logp > logp.max() - 32
        rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
        assert rows[0] > 0 and rows[-1] < coarse - 1 and cols[-1] < coarse - 1, "posterior not inside the coarse box"
        mu_lo, mu_hi = mu[rows[0] - 1], mu[rows[-1] + 1]
        tau_hi = tau[cols[-1] + 1]
    mu, tau, logp = _grid(yi, vi, p, mu_lo, mu_hi, tau_hi, n)
    joint = np.exp(logp - logp.max())
    joint /= integrate.simpson(integrate.simpson(joint, x=tau, axis=1), x=mu)

    f_mu = integrate.simpson(joint, x=tau, axis=1)
    f_tau = integrate.simpson(joint, x=mu, axis=0)
    cdf_mu = np.concatenate([[0.0], integrate.cumulative_simpson(f_mu, x=mu)])
    cdf_tau = np.concatenate([[0.0], integrate.cumulative_simpson(f_tau, x=tau)])
    mu_mean = integrate.simpson(mu * f_mu, x=mu)
    mu_sd = math.sqrt(integrate.simpson((mu - mu_mean) ** 2 * f_mu, x=mu))

    def expect(values):  # E[g(mu, tau)] over the grid
        return integrate.simpson(integrate.simpson(values * joint, x=tau, axis=1), x=mu)

    def pred_cdf(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(tau[None, :] > 0, (x - mu[:, None]) / tau[None, :], np.sign(x - mu[:, None]) * np.inf)
        return expect(special.ndtr(z))

    def quantile(cdf, x, q):  # root of a cubic spline through the CDF (linear interpolation is too coarse)
        spline = CubicSpline(x, cdf)
        j = int(np.searchsorted(cdf, q))
        return optimize.brentq(lambda u: spline(u) - q, x[max(j - 2, 0)], x[min(j + 1, x.size - 1)], xtol=1e-13)

    return {
        "yi": yi,
        "vi": vi,
        "priors": p,
        "mu_mean": mu_mean,
        "mu_sd": mu_sd,
        "mu_quantile": lambda q: quantile(cdf_mu, mu, q),
        "tau_quantile": lambda q: quantile(cdf_tau, tau, q),
        "prob_mu_below": lambda x: float(CubicSpline(mu, cdf_mu)(x)),
        "pred_quantile": lambda q: optimize.brentq(
            lambda x: pred_cdf(x) - q, mu[0] - 10 * tau[-1], mu[-1] + 10 * tau[-1]
        ),
        "expect": expect,
        "mu": mu,
        "tau": tau,
    }


CASES = [(name, None, None, None) for name in SETS] + [
    ("bcg_or", "half_cauchy", None, None),
    ("normand1999_smd", "half_cauchy", None, None),
    ("molloy2014_zcor", "half_cauchy", None, None),
    # heavy tail on a scale of days: the box is wide (tau up to ~700), so the reference needs a finer grid
    ("normand1999_md", "half_cauchy", 10.0, None, 2401),
    ("bcg_or", None, None, 1),  # k = 1
    ("bcg_or", None, None, 2),  # k = 2
    ("normand1999_smd", None, None, 2),
]


def _ids(case):
    name, tau_prior, scale, k = case[:4]
    return "-".join(str(x) for x in (name, tau_prior or "default", scale or "", f"k{k}" if k else "") if x)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_exact_engine_matches_brute_force(case):
    ref = brute_force(*case)
    res = bayesian_meta_analysis(ref["yi"], ref["vi"], **ref["priors"])
    assert res.k == ref["yi"].size
    checks = {
        "mu_mean": (res.mu_mean, ref["mu_mean"]),
        "mu_sd": (res.mu_sd, ref["mu_sd"]),
        "mu_median": (res.mu_median, ref["mu_quantile"](0.5)),
        "mu_ci_lb": (res.mu_ci_lb, ref["mu_quantile"](0.025)),
        "mu_ci_ub": (res.mu_ci_ub, ref["mu_quantile"](0.975)),
        "tau_median": (res.tau_median, ref["tau_quantile"](0.5)),
        "tau_ci_lb": (res.tau_ci_lb, ref["tau_quantile"](0.025)),
        "tau_ci_ub": (res.tau_ci_ub, ref["tau_quantile"](0.975)),
        "P(mu<0)": (res.prob_mu_below(0.0), ref["prob_mu_below"](0.0)),
        "P(mu<median)": (res.prob_mu_below(res.mu_median), 0.5),
        "P(mu>-0.2)": (res.prob_mu_above(-0.2), 1.0 - ref["prob_mu_below"](-0.2)),
    }
    for label, (got, want) in checks.items():
        assert got == pytest.approx(want, abs=TOL), label


@pytest.mark.parametrize("case", [CASES[0], CASES[6], CASES[-3], CASES[-1]], ids=_ids)
def test_prediction_and_shrinkage_match_brute_force(case):
    ref = brute_force(*case)
    res = bayesian_meta_analysis(ref["yi"], ref["vi"], **ref["priors"])
    assert res.pred_lb == pytest.approx(ref["pred_quantile"](0.025), abs=TOL)
    assert res.pred_ub == pytest.approx(ref["pred_quantile"](0.975), abs=TOL)
    # theta_i | mu, tau, y is normal with mean (tau^2 y_i + v_i mu) / (v_i + tau^2): average it over the grid.
    mu, tau = ref["mu"][:, None], ref["tau"][None, :]
    for i, (y, v) in enumerate(zip(ref["yi"], ref["vi"], strict=True)):
        cond_mean = (tau**2 * y + v * mu) / (v + tau**2)
        cond_var = v * tau**2 / (v + tau**2)
        mean = ref["expect"](cond_mean)
        sd = math.sqrt(ref["expect"](cond_var + cond_mean**2) - mean**2)
        assert res.theta["mean"].iloc[i] == pytest.approx(mean, abs=TOL)
        assert res.theta["sd"].iloc[i] == pytest.approx(sd, abs=TOL)
    # Interval of the most shrunken study: brute-force CDF of theta_i, solved for the bounds.
    i = int(np.argmax(ref["vi"]))
    y, v = ref["yi"][i], ref["vi"][i]
    cond_mean = (tau**2 * y + v * mu) / (v + tau**2)
    cond_sd = np.sqrt(v * tau**2 / (v + tau**2))

    def cdf(x):
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(cond_sd > 0, (x - cond_mean) / cond_sd, np.sign(x - cond_mean) * np.inf)
        return ref["expect"](special.ndtr(z))

    lo, hi = y - 50 * math.sqrt(v) - 50, y + 50 * math.sqrt(v) + 50
    assert res.theta["lb"].iloc[i] == pytest.approx(optimize.brentq(lambda x: cdf(x) - 0.025, lo, hi), abs=TOL)
    assert res.theta["ub"].iloc[i] == pytest.approx(optimize.brentq(lambda x: cdf(x) - 0.975, lo, hi), abs=TOL)


def test_level_changes_the_interval_as_brute_force_says():
    ref = brute_force("normand1999_smd")
    res = bayesian_meta_analysis(ref["yi"], ref["vi"], **ref["priors"], level=0.8)
    assert res.mu_ci_lb == pytest.approx(ref["mu_quantile"](0.1), abs=TOL)
    assert res.mu_ci_ub == pytest.approx(ref["mu_quantile"](0.9), abs=TOL)
    assert res.tau_ci_ub == pytest.approx(ref["tau_quantile"](0.9), abs=TOL)


# k = 1 and k = 2 with a half-Cauchy prior: the tail of p(tau | y) falls like tau^-(k+2), too heavy for a uniform
# grid, so the reference is QUADPACK on [0, inf) of the tau-marginal, written out here from the model.
def _quad_reference(yi, vi, m0, s0, scale):
    yi, vi = np.asarray(yi), np.asarray(vi)

    def post_mu_given_tau(t):
        w = 1 / (vi + t * t)
        prec = 1 / s0**2 + w.sum()
        return (m0 / s0**2 + (w * yi).sum()) / prec, 1 / prec

    def unnorm(t):  # p(tau) * p(y | tau), mu integrated out by completing the square
        w = 1 / (vi + t * t)
        m, var = post_mu_given_tau(t)
        q = (w * (yi - m) ** 2).sum() + (m0 - m) ** 2 / s0**2
        return stats.halfcauchy.pdf(t, scale=scale) * math.sqrt(np.prod(w) * var) * math.exp(-q / 2)

    def integral(g, upper=np.inf):
        return integrate.quad(lambda t: unnorm(t) * g(t), 0, upper, epsabs=0, epsrel=1e-11, limit=500)[0]

    z = integral(lambda t: 1.0)
    p_below_0 = integral(lambda t: stats.norm.cdf(0, *_msd(post_mu_given_tau(t)))) / z
    mu_mean = integral(lambda t: post_mu_given_tau(t)[0]) / z
    tau_median = optimize.brentq(lambda u: integral(lambda t: 1.0, u) / z - 0.5, 1e-9, 1e3, xtol=1e-12)
    return p_below_0, mu_mean, tau_median


def _msd(m_var):
    return m_var[0], math.sqrt(m_var[1])


@pytest.mark.parametrize(("yi", "vi"), [([0.5], [0.1]), ([0.5, -1.0], [0.1, 0.02]), ([-0.3], [2.0])])
def test_half_cauchy_with_one_or_two_studies_matches_quadrature(yi, vi):
    res = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_prior="half_cauchy", tau_scale=0.5)
    p_below_0, mu_mean, tau_median = _quad_reference(yi, vi, 0.0, 4.0, 0.5)
    assert res.prob_mu_below(0.0) == pytest.approx(p_below_0, abs=TOL)
    assert res.mu_mean == pytest.approx(mu_mean, abs=TOL)
    assert res.tau_median == pytest.approx(tau_median, abs=TOL)


def test_finer_grid_changes_nothing_reported(monkeypatch):
    cases = [([0.5], [0.1], "half_cauchy"), (SETS["bcg_or"]["yi"], SETS["bcg_or"]["vi"], "half_normal")]
    for yi, vi, tau_prior in cases:
        kw = {"mu_prior_sd": 4.0, "tau_prior": tau_prior, "tau_scale": 0.5}
        base = bayesian_meta_analysis(yi, vi, **kw)
        monkeypatch.setattr(bayes, "_STEP", bayes._STEP / 4)
        fine = bayesian_meta_analysis(yi, vi, **kw)
        monkeypatch.undo()
        for name in ("mu_mean", "mu_sd", "mu_ci_lb", "mu_ci_ub", "tau_median", "tau_ci_ub", "pred_lb", "pred_ub"):
            assert getattr(base, name) == pytest.approx(getattr(fine, name), abs=1e-6), name
        np.testing.assert_allclose(base.theta[["lb", "ub"]], fine.theta[["lb", "ub"]], atol=1e-6)


# ---------------------------------------------------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------------------------------------------------

studies = st.lists(
    st.tuples(st.floats(-3, 3), st.floats(0.001, 2.0)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=25, deadline=None)
@given(data=studies, shift=st.floats(-5, 5), factor=st.floats(0.1, 10), cauchy=st.booleans())
def test_equivariance_and_ordering(data, shift, factor, cauchy):
    yi = np.array([d[0] for d in data])
    vi = np.array([d[1] for d in data])
    kw = {"mu_prior_sd": 4.0, "tau_prior": "half_cauchy" if cauchy else "half_normal", "tau_scale": 0.5}
    res = bayesian_meta_analysis(yi, vi, **kw)
    # Ordering and ranges.
    assert res.mu_ci_lb < res.mu_median < res.mu_ci_ub
    assert 0 <= res.tau_ci_lb < res.tau_median < res.tau_ci_ub
    assert res.pred_lb <= res.mu_ci_lb + 1e-9 and res.pred_ub >= res.mu_ci_ub - 1e-9
    assert (res.theta["lb"] < res.theta["mean"]).all() and (res.theta["mean"] < res.theta["ub"]).all()
    assert res.prob_mu_below(0.3) + res.prob_mu_above(0.3) == pytest.approx(1.0)
    assert 0.0 <= res.prob_mu_below(-1.0) <= res.prob_mu_below(0.0) <= res.prob_mu_below(1.0) <= 1.0
    # Shift: moving data and prior mean moves mu and theta, leaves tau.
    moved = bayesian_meta_analysis(yi + shift, vi, mu_prior_mean=shift, **kw)
    assert moved.mu_median == pytest.approx(res.mu_median + shift, abs=1e-6)
    assert moved.pred_ub == pytest.approx(res.pred_ub + shift, abs=1e-6)
    assert moved.tau_median == pytest.approx(res.tau_median, abs=1e-6)
    np.testing.assert_allclose(moved.theta["lb"], res.theta["lb"] + shift, atol=1e-6)
    # Scale: multiplying data, SEs and both prior scales by a factor multiplies every location and scale.
    scaled = bayesian_meta_analysis(
        yi * factor, vi * factor**2, mu_prior_sd=4.0 * factor, tau_prior=kw["tau_prior"], tau_scale=0.5 * factor
    )
    for name in ("mu_mean", "mu_sd", "mu_ci_lb", "tau_median", "tau_ci_ub", "pred_lb"):
        assert getattr(scaled, name) == pytest.approx(getattr(res, name) * factor, rel=1e-6, abs=1e-9), name
    # Mirror: negating the data swaps the tails of mu.
    mirrored = bayesian_meta_analysis(-yi, vi, **kw)
    assert mirrored.prob_mu_below(0.0) == pytest.approx(res.prob_mu_above(0.0), abs=1e-9)
    assert mirrored.mu_ci_lb == pytest.approx(-res.mu_ci_ub, abs=1e-7)


def test_one_study_with_an_uninformative_study_returns_the_prior():
    # vi huge: the data say nothing, so P(mu < 0) is the prior's Phi(-1) for mu ~ N(1, 1).
    res = bayesian_meta_analysis([0.0], [1e6], mu_prior_mean=1.0, mu_prior_sd=1.0, tau_scale=0.5)
    assert res.prob_mu_below(0.0) == pytest.approx(stats.norm.cdf(-1.0), abs=1e-5)
    assert res.mu_sd == pytest.approx(1.0, abs=1e-5)
    assert res.tau_median == pytest.approx(stats.halfnorm.ppf(0.5, scale=0.5), abs=1e-5)
    assert res.warnings and "one study" in res.warnings[0]


def test_one_precise_study_dominates_a_vague_prior():
    res = bayesian_meta_analysis([0.7], [1e-4], mu_prior_sd=100.0, tau_scale=0.01)
    assert res.mu_median == pytest.approx(0.7, abs=1e-3)
    assert res.theta["mean"].iloc[0] == pytest.approx(0.7, abs=1e-3)


def test_result_summary_text_and_dict():
    res = bayesian_meta_analysis(SETS["bcg_or"]["yi"], SETS["bcg_or"]["vi"], **_priors("bcg_or"))
    text = str(res)
    assert "k = 13" in text and "half-normal(0.5)" in text and f"{res.mu_median:9.4f}" in text
    d = res.to_dict()
    assert d["mu"]["median"] == res.mu_median and len(d["theta"]) == 13
    assert d["priors"] == {"mu_prior_mean": 0.0, "mu_prior_sd": 4.0, "tau_prior": "half_normal", "tau_scale": 0.5}
    json.dumps(d)  # JSON-ready
    assert res.engine == "exact" and res.idata is None and res.diagnostics_ok
    # tau density for plotting integrates to ~1 over its grid (up to the 99.9% quantile)
    assert integrate.trapezoid(res.tau_density, res.tau_grid) == pytest.approx(1.0, abs=2e-3)
    x = np.linspace(res.mu_ci_lb - 2, res.mu_ci_ub + 2, 2001)
    assert integrate.trapezoid(res.mu_pdf(x), x) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"yi": [0.1, 0.2], "vi": [0.1]}, "same length"),
        ({"yi": [], "vi": []}, "k = 0"),
        ({"yi": [0.1, 0.2], "vi": [0.1, 0.0]}, "study 2"),
        ({"yi": [float("nan")], "vi": [0.1]}, "study 1"),
        ({"yi": ["a"], "vi": [0.1]}, "numbers"),
        ({"tau_prior": "uniform"}, "tau_prior"),
        ({"mu_prior_sd": 0.0}, "mu_prior_sd"),
        ({"tau_scale": -1.0}, "tau_scale"),
        ({"engine": "gibbs"}, "engine"),
        ({"level": 1.5}, "level"),
        ({"engine": "nuts", "draws": 0}, "draws"),
    ],
)
def test_invalid_input_raises_a_clear_error(kwargs, match):
    args = {"yi": [0.1, 0.2], "vi": [0.1, 0.2], "mu_prior_sd": 4.0, "tau_scale": 0.5} | kwargs
    with pytest.raises(AnalysisError, match=match):
        bayesian_meta_analysis(args.pop("yi"), args.pop("vi"), **args)


# ---------------------------------------------------------------------------------------------------------------------
# Priors, sensitivity, interpretation
# ---------------------------------------------------------------------------------------------------------------------


def test_default_priors():
    p = default_priors("or")
    assert (p["mu_prior_mean"], p["mu_prior_sd"], p["tau_prior"], p["tau_scale"]) == (0.0, 4.0, "half_normal", 0.5)
    assert "10.1002/jrsm.1475" in p["source"]
    assert default_priors("ZCOR")["tau_scale"] == 0.25
    assert default_priors("SMD")["tau_scale"] == 0.5
    for measure in ("MD", "GEN", "PROP", "NONE", "XYZ"):
        with pytest.raises(EmmieError, match="review.yaml"):
            default_priors(measure)


def test_prior_sensitivity_table():
    yi, vi = SETS["normand1999_smd"]["yi"][:3], SETS["normand1999_smd"]["vi"][:3]
    table = prior_sensitivity(yi, vi, measure="SMD", mid=0.2, desirable="lower")
    assert len(table) >= 3
    for col in ("prior", "mu_median", "mu_ci_lb", "mu_ci_ub", "tau_median", "p_benefit", "p_benefit_mid"):
        assert col in table.columns
    assert table["base"].sum() == 1 and table.loc[0, "prior"] == "half-normal(0.5)"
    assert set(table["prior"]) >= {"half-normal(0.25)", "half-normal(1)", "half-Cauchy(0.5)"}
    assert table["p_benefit"].between(0, 1).all() and table["p_benefit_mid"].between(0, 1).all()
    assert (table["p_benefit_mid"] <= table["p_benefit"]).all()
    base = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5)
    assert table.loc[0, "mu_median"] == pytest.approx(base.mu_median, abs=1e-12)
    assert table.loc[0, "p_benefit"] == pytest.approx(base.prob_mu_below(0.0), abs=1e-12)
    assert table.loc[0, "p_benefit_mid"] == pytest.approx(base.prob_mu_below(-0.2), abs=1e-12)
    # A wider half-normal prior gives a stochastically larger tau (monotone likelihood ratio).
    hn = table[table["tau_prior"] == "half_normal"].sort_values("tau_scale")
    assert hn["tau_median"].is_monotonic_increasing
    assert (hn["mu_ci_ub"] - hn["mu_ci_lb"]).is_monotonic_increasing


def test_prior_sensitivity_without_mid_and_with_own_priors():
    table = prior_sensitivity(
        [10.0, 20.0],
        [4.0, 9.0],
        measure="MD",
        desirable="higher",
        priors={"mu_prior_sd": 50.0, "tau_scale": 10.0, "tau_prior": "half_cauchy"},
    )
    assert table["p_benefit_mid"].isna().all()
    assert list(table["prior"]) == ["half-Cauchy(10)", "half-normal(5)", "half-normal(20)", "half-normal(10)"]
    assert (table["p_benefit"] > 0.5).all()  # both studies favour "higher"
    with pytest.raises(EmmieError):
        prior_sensitivity([1.0], [1.0], measure="MD")


def test_interpret_categories():
    strong = bayesian_meta_analysis([-1.0, -1.1, -0.9], [0.01, 0.01, 0.01], mu_prior_sd=4.0, tau_scale=0.5)
    out = interpret(strong, mid=0.2, desirable="lower", measure="OR")
    assert out["conclusion"] == "important_benefit"
    assert out["p_benefit"] > 0.95 and out["p_benefit"] + out["p_harm"] == pytest.approx(1.0)
    assert any("OR 0." in s for s in out["statements"])  # back-transformed interval
    assert interpret(strong, mid=0.2, desirable="higher")["conclusion"] == "harm"
    assert interpret(strong, mid=5.0, desirable="lower")["conclusion"] == "benefit"
    assert interpret(strong, mid=None, desirable="lower")["conclusion"] == "benefit"

    null = bayesian_meta_analysis([0.01, -0.01, 0.0, 0.005], [1e-3] * 4, mu_prior_sd=4.0, tau_scale=0.05)
    out = interpret(null, mid=0.2, desirable="lower")
    assert out["conclusion"] == "evidence_of_absence" and out["p_benefit_mid"] < 0.05
    assert any("evidence of absence" in s for s in out["statements"])

    vague = bayesian_meta_analysis([-0.2], [1.0], mu_prior_sd=4.0, tau_scale=0.5)
    out = interpret(vague, mid=0.2, desirable="lower")
    assert out["conclusion"] == "absence_of_evidence"
    assert 0.0 < out["p_benefit_mid"] < out["p_benefit"] < 1.0
    assert any("Only 1 study" in c for c in out["caveats"])
    assert interpret(vague, mid=None, desirable="lower")["conclusion"] == "inconclusive"
    assert out["interval"] == {"lb": vague.mu_ci_lb, "ub": vague.mu_ci_ub, "level": 0.95}

    with pytest.raises(EmmieError, match="desirable"):
        interpret(vague, mid=0.2, desirable="up")
    with pytest.raises(EmmieError, match="mid"):
        interpret(vague, mid=-0.2, desirable="lower")


def test_blocks_of_studies_give_the_same_posterior(monkeypatch):
    """Past _CELLS_MAX cells the exact engine sums a block of studies at a time (bounded memory at any k): the
    numbers are those of the one-block computation, to rounding."""
    rng = np.random.default_rng(11)
    yi, vi = rng.normal(0.3, 0.4, 300), rng.uniform(0.02, 0.3, 300)
    whole = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5)
    monkeypatch.setattr(bayes, "_CELLS_MAX", 5_000)
    blocks = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5)
    for name in ("mu_mean", "mu_sd", "mu_median", "mu_ci_lb", "mu_ci_ub", "tau_median", "tau_ci_lb", "pred_lb"):
        assert getattr(blocks, name) == pytest.approx(getattr(whole, name), rel=1e-10, abs=1e-12), name
    for column in ("mean", "sd", "lb", "ub"):
        np.testing.assert_allclose(blocks.theta[column], whole.theta[column], rtol=1e-10, atol=1e-12)


def test_blocks_on_threads_give_the_same_bits_as_one_thread(monkeypatch):
    rng = np.random.default_rng(13)
    yi, vi = rng.normal(0.3, 0.4, 300), rng.uniform(0.02, 0.3, 300)
    monkeypatch.setattr(bayes, "_CELLS_MAX", 5_000)
    monkeypatch.setattr(bayes, "_THREADS", 1)
    one = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5)
    monkeypatch.setattr(bayes, "_THREADS", 3)
    three = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5)
    for name in ("mu_mean", "mu_sd", "mu_ci_lb", "mu_ci_ub", "tau_median", "tau_ci_ub", "pred_lb", "pred_ub"):
        assert getattr(three, name) == getattr(one, name), name
    pd.testing.assert_frame_equal(three.theta, one.theta, check_exact=True)


def test_blocks_on_threads_keep_the_callers_floating_point_settings(monkeypatch):
    monkeypatch.setattr(bayes, "_THREADS", 2)
    with np.errstate(all="raise"), pytest.raises(FloatingPointError):
        list(bayes._blocks(lambda b: np.log(np.zeros(1)), 4, 1))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(bayes._blocks(lambda b: np.log(np.zeros(1)), 4, 1))) == 4


def test_without_study_effects_mu_and_tau_are_unchanged():
    rng = np.random.default_rng(12)
    yi, vi = rng.normal(0.3, 0.4, 40), rng.uniform(0.02, 0.3, 40)
    full = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5)
    lean = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5, study_effects=False)
    for name in ("mu_median", "mu_ci_lb", "mu_ci_ub", "tau_median", "tau_ci_ub", "pred_lb", "pred_ub"):
        assert getattr(lean, name) == pytest.approx(getattr(full, name), rel=1e-12), name
    assert lean.theta["mean"].isna().all() and len(lean.theta) == 40


def _summaries(result) -> dict[str, float]:
    names = ("mu_mean", "mu_sd", "mu_median", "mu_ci_lb", "mu_ci_ub", "tau_mean", "tau_median", "tau_ci_lb")
    return {name: getattr(result, name) for name in (*names, "tau_ci_ub", "pred_lb", "pred_ub")}


@functools.cache
def _many_precise_studies() -> tuple[np.ndarray, np.ndarray]:
    """5,000 precise studies: a posterior of tau far narrower than its distance from 0 (sd about 0.4% of tau)."""
    rng = np.random.default_rng(20261202)
    vi = rng.uniform(0.001, 0.01, 5_000)
    return rng.normal(0.1, np.sqrt(vi + 0.2**2)), vi


def test_a_narrow_posterior_of_tau_gets_the_grid_across_its_width(monkeypatch):
    """The final grid spans the bulk of tau's posterior, not 0 up: with 5,000 precise studies, the default grid
    agrees with one four times finer (and with full-resolution placement passes) to 1e-8. Spread from 0 up, the same
    step left about one node per posterior SD of tau, and reported numbers moved in the fourth digit at k = 100,000."""
    yi, vi = _many_precise_studies()
    fit = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5, study_effects=False)
    monkeypatch.setattr(bayes, "_STEP", bayes._STEP / 4)
    monkeypatch.setattr(bayes, "_NODES_MIN", 4 * bayes._NODES_MIN + 1)
    monkeypatch.setattr(bayes, "_PLACE_CELLS", 10**12)  # 1,601 and 801 placement points
    fine = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5, study_effects=False)
    for name, value in _summaries(fine).items():
        assert _summaries(fit)[name] == pytest.approx(value, rel=1e-8, abs=1e-12), name
    assert fit.tau_grid[0] > 0.9 * fit.tau_median  # the grid starts in the bulk, not at 0


def test_placement_passes_are_coarse_only_past_their_budget():
    class Seen:
        sizes: list[int] = []

    def count(k: int) -> list[int]:
        Seen.sizes = []
        original = bayes._conditional

        def spy(tau, *args):
            Seen.sizes.append(tau.size)
            return original(tau, *args)

        bayes._conditional, saved = spy, bayes._conditional
        try:
            rng = np.random.default_rng(1)
            v = rng.uniform(0.01, 0.1, k)
            bayesian_meta_analysis(rng.normal(0.2, np.sqrt(v + 0.04)), v, mu_prior_sd=4.0, tau_scale=0.5)
        finally:
            bayes._conditional = saved
        return Seen.sizes[:2]

    budget = bayes._PLACE_CELLS
    assert count(budget // 1601) == [1601, 801]  # within the budget: full resolution
    assert count(budget // 1601 + 1) == [1600, 801]  # one study more: one point fewer
    assert count(budget // bayes._PLACE_NODES_MIN + 1) == [bayes._PLACE_NODES_MIN] * 2  # the floor


def test_tail_bounds_of_a_grid_on_both_sides():
    s = np.linspace(0.0, 3.0, 301)
    peaked = bayes._TauGrid(1.0, s, np.sinh(s), np.exp(-0.5 * ((s - 1.5) / 0.05) ** 2), s, s)
    assert 0.0 < peaked.lower() < np.sinh(1.5 - 0.05 * 7) and peaked.upper() > np.sinh(1.5 + 0.05 * 7)
    at_zero = bayes._TauGrid(1.0, s, np.sinh(s), np.exp(-0.5 * (s / 0.5) ** 2), s, s)
    assert at_zero.lower() == 0.0  # mass at the grid's start: the grid keeps its start


def test_many_studies_shrunken_effects_use_a_thinned_grid_only_where_it_is_exact(monkeypatch):
    """Past _THETA_BLOCK_MIN studies each study's interval is computed on every t-th node of tau's grid (trapezoid
    weights) when the posterior has negligible density at both ends of the grid: the same numbers as on the whole
    grid to 1e-9."""
    yi, vi = _many_precise_studies()
    yi, vi = yi[:2_000], vi[:2_000]
    whole = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5)
    monkeypatch.setattr(bayes, "_THETA_BLOCK_MIN", 100)
    used = {}
    original = bayes._thinned

    def spy(grid, mass):
        used["nodes"], used["out"] = grid.s.size, original(grid, mass)
        return used["out"]

    monkeypatch.setattr(bayes, "_thinned", spy)
    thinned = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5)
    assert bayes._THIN_NODES_MIN <= used["out"][0].size < used["nodes"] / 2
    assert np.isclose(used["out"][0].sum(), 1.0)
    for column in ("mean", "sd", "lb", "ub"):
        np.testing.assert_allclose(thinned.theta[column], whole.theta[column], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("tau_prior", ["half_normal", "half_cauchy"])
def test_many_studies_with_tau_at_zero_use_a_thinned_grid_too(monkeypatch, tau_prior):
    """No heterogeneity: tau's posterior piles up at 0, the grid's start. The integrands are even in s there, so the
    trapezoid rule with half weight at 0 is as exact as on a symmetric grid: at least _THIN_NODES_MIN_AT_ZERO nodes,
    the same numbers as on the whole grid to 1e-11 (a review of 100,000 such studies took 32 s per outcome on the
    whole grid)."""
    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.1, 2_000)
    y = rng.normal(0.2, np.sqrt(v))
    whole = bayesian_meta_analysis(y, v, mu_prior_sd=4.0, tau_scale=0.5, tau_prior=tau_prior)
    monkeypatch.setattr(bayes, "_THETA_BLOCK_MIN", 100)
    used = {}
    original = bayes._thinned

    def spy(grid, mass):
        used["start"], used["nodes"], used["out"] = grid.tau[0], grid.s.size, original(grid, mass)
        return used["out"]

    monkeypatch.setattr(bayes, "_thinned", spy)
    thinned = bayesian_meta_analysis(y, v, mu_prior_sd=4.0, tau_scale=0.5, tau_prior=tau_prior)
    assert used["start"] == 0.0 and whole.tau_ci_lb < 0.1 * whole.tau_median  # mass down to 0
    assert bayes._THIN_NODES_MIN_AT_ZERO <= used["out"][0].size < used["nodes"] / 4
    for column in ("mean", "sd", "lb", "ub"):
        np.testing.assert_allclose(thinned.theta[column], whole.theta[column], rtol=1e-11, atol=1e-12)


def test_final_grid_past_its_cell_budget_takes_fewer_nodes_with_the_same_numbers(monkeypatch):
    """Past _FINAL_CELLS (grid point x study) cells the final grid has fewer nodes than _STEP asks, down to
    _NODES_MIN; a posterior of tau that reaches 0 (the widest in s) then reports the same numbers to 1e-7."""
    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.25, 2_000)
    y = rng.normal(0.2, np.sqrt(v))
    sizes = []
    original = bayes._tau_grid

    def spy(c, t_lo, t_hi, n, conditional):
        sizes.append(n)
        return original(c, t_lo, t_hi, n, conditional)

    monkeypatch.setattr(bayes, "_tau_grid", spy)
    full = bayesian_meta_analysis(y, v, mu_prior_sd=4.0, tau_scale=0.5)
    assert sizes[-1] > 2 * bayes._NODES_MIN  # within the budget: _STEP's nodes
    monkeypatch.setattr(bayes, "_FINAL_CELLS", 2_000 * (bayes._NODES_MIN + 100))
    fewer = bayesian_meta_analysis(y, v, mu_prior_sd=4.0, tau_scale=0.5)
    assert sizes[-1] == bayes._NODES_MIN + 100  # the budget's nodes (odd, for Simpson's rule)
    monkeypatch.setattr(bayes, "_FINAL_CELLS", 1)
    least = bayesian_meta_analysis(y, v, mu_prior_sd=4.0, tau_scale=0.5)
    assert sizes[-1] == bayes._NODES_MIN  # never fewer
    for result in (fewer, least):
        for field in ("mu_mean", "mu_sd", "mu_ci_lb", "mu_ci_ub", "pred_lb", "pred_ub"):
            assert getattr(result, field) == pytest.approx(getattr(full, field), rel=1e-11)
        for field in ("tau_mean", "tau_median", "tau_ci_lb", "tau_ci_ub"):
            assert getattr(result, field) == pytest.approx(getattr(full, field), rel=1e-7)
        for column in ("mean", "sd", "lb", "ub"):
            np.testing.assert_allclose(result.theta[column], full.theta[column], rtol=1e-9, atol=1e-12)


def test_thinned_grid_needs_negligible_density_at_each_end_it_does_not_start_at_zero():
    s = np.linspace(0.0, 6.0, 601)
    at_zero = np.exp(-0.5 * (s / 0.8) ** 2)  # even in s, non-negligible at 0, negligible at the top
    mass = at_zero / at_zero.sum()

    def grid(start, density):
        return bayes._TauGrid(1.0, s + start, np.sinh(s + start), density, s, s)

    weights, tau, *_ = bayes._thinned(grid(0.0, at_zero), mass)
    assert weights.size == bayes._THIN_NODES_MIN_AT_ZERO  # every 15th node of 601
    step = 600 // (bayes._THIN_NODES_MIN_AT_ZERO - 1)
    np.testing.assert_allclose(weights[1] / weights[0], 2 * at_zero[step] / at_zero[0])  # half weight at tau = 0
    # the same density on a grid that starts past 0 (not half of a symmetric one): the whole grid
    weights, *_ = bayes._thinned(grid(0.5, at_zero), mass)
    assert weights.size == (mass > bayes._NEGLIGIBLE_WEIGHT * mass.max()).sum()
    # non-negligible density at the top: the whole grid, wherever it starts
    flat = np.exp(-0.5 * (s / 3.0) ** 2)
    weights, *_ = bayes._thinned(grid(0.0, flat), flat / flat.sum())
    assert weights.size == s.size


def test_many_studies_shrunken_effects_are_the_same_on_one_thread_as_on_several(monkeypatch):
    """Past _THETA_BLOCK_MIN studies the thinned grid is used whatever the number of threads: a machine with one core
    reports the same numbers as one with several."""
    yi, vi = _many_precise_studies()
    yi, vi = yi[:400], vi[:400]
    monkeypatch.setattr(bayes, "_THETA_BLOCK_MIN", 100)
    monkeypatch.setattr(bayes, "_THREADS", 1)
    one = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5)
    monkeypatch.setattr(bayes, "_THREADS", 2)
    two = bayesian_meta_analysis(yi, vi, mu_prior_sd=4.0, tau_scale=0.5)
    pd.testing.assert_frame_equal(one.theta, two.theta, check_exact=True)


def _bisected_quantiles(weights, means, sds, probs):
    """Quantiles of normal mixtures by 200 bisections of the CDF: slow and sure."""
    lo, hi = (means - 40 * sds).min(axis=1), (means + 40 * sds).max(axis=1)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        below = special.ndtr((mid[:, None] - means) / sds) @ weights < probs
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def test_mixture_quantiles_match_bisection_on_random_mixtures():
    """Spiky, multimodal and wide mixtures at central and extreme probabilities: the safeguarded Halley iteration
    finds the quantile that bisection finds."""
    rng = np.random.default_rng(1)
    for _ in range(300):
        n, rows = int(rng.integers(1, 60)), int(rng.integers(1, 30))
        weights = rng.dirichlet(np.ones(n) * rng.uniform(0.05, 3))
        means = rng.normal(0, rng.uniform(0.01, 5), (rows, n))
        sds = rng.uniform(0.001, 3, (rows, n)) * 10 ** rng.uniform(-3, 1)
        probs = rng.choice([1e-6, 0.025, 0.3, 0.5, 0.975, 0.999999], rows)
        got = bayes._mixture_quantiles(weights, means, sds, probs)
        want = _bisected_quantiles(weights, means, sds, probs)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * (1 + np.abs(want)).max())


def test_mixture_quantiles_break_a_newton_cycle():
    """A mixture on which plain Newton steps went back and forth between the bracket's two ends for all 200 passes
    (and returned a point where the CDF was 0.38, not 0.3): a step must be under half the one two before it."""
    weights = np.array([0.372, 0.031, 0.048, 0.028, 0.087, 0.293, 0.089, 0.053])
    weights /= weights.sum()
    means = np.array([[1.771, 8.012, -1.79, -11.663, -1.168, -6.478, -5.732, -6.881]])
    sds = np.array([[0.468, 1.6083, 2.6011, 1.913, 0.7095, 2.6339, 0.0662, 1.6998]])
    x = bayes._mixture_quantiles(weights, means, sds, np.array([0.3]))
    assert special.ndtr((x[:, None] - means) / sds) @ weights == pytest.approx([0.3], abs=1e-13)
    assert x == pytest.approx(_bisected_quantiles(weights, means, sds, np.array([0.3])), abs=1e-11)


def test_mixture_quantiles_stop_after_three_passes_on_near_normal_mixtures(monkeypatch):
    """A study's shrunken effect is a near-normal mixture: three passes for nearly every row (each an erfc per cell)
    where Newton's iteration took five, the last of which only confirmed; the same quantiles as bisection to 1e-12. A mixture with
    two far modes is not stopped by the prediction: it takes more passes and still ends at the quantile."""
    passes = []
    erfc = special.erfc
    monkeypatch.setattr(bayes.special, "erfc", lambda z: passes.append(z.shape[0]) or erfc(z))
    tau = np.linspace(0.0, 0.05, 33)
    weights = np.exp(-0.5 * (tau / 0.02) ** 2)
    weights /= weights.sum()
    rng = np.random.default_rng(2)
    vi = rng.uniform(0.01, 0.25, 200)[:, None]
    b = vi / (vi + tau**2)
    means = (1 - b) * rng.normal(0.2, 0.3, 200)[:, None] + b * 0.2
    sds = np.sqrt(vi * (1 - b) + b * b * 1e-5)
    probs = np.repeat([0.025, 0.975], 100)
    got = bayes._mixture_quantiles(weights, means, sds, probs)
    assert len(passes) <= 4 and sum(passes[3:]) <= 0.05 * 200  # a fourth pass for a few rows at most
    np.testing.assert_allclose(got, _bisected_quantiles(weights, means, sds, probs), rtol=0, atol=1e-12)
    passes.clear()
    far = np.array([[-5.0, 5.0]])
    got = bayes._mixture_quantiles(np.array([0.5, 0.5]), far, np.array([[0.1, 0.1]]), np.array([0.4]))
    assert len(passes) > 3
    assert got == pytest.approx(_bisected_quantiles(np.array([0.5, 0.5]), far, np.array([[0.1, 0.1]]), [0.4]))
