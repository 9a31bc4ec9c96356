"""Bayesian model averaging (issue 17, item 3) against an independent brute-force integration: the marginal
likelihoods of the four models by adaptive quadrature (scipy's quad and dblquad over mu and tau, with the priors'
densities written out), the posterior model probabilities, both inclusion Bayes factors and the model-averaged
posterior mean of mu. metaBMA itself cannot be installed here (CRAN is not reachable from this machine)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from emmie.effect.bma import EffectPrior, HeterogeneityPrior, bayesian_model_averaging
from emmie.errors import AnalysisError

# small data sets: the first six log odds ratios of dat.hackshaw1998 (metadat 1.2.0), and an SMD-like set
HACK = (
    np.array([0.165514438477573, 0.371563556432483, 0.0295588022415444, 0.0, 0.215111379616945, 0.587786664902119]),
    np.array([0.0187768854850681, 0.033044038905788, 0.0500716510432767, 0.0784050287456358, 0.0457937700428935,
              0.176327307108585]),
)  # fmt: skip
SMD = (np.array([0.12, -0.05, 0.30, 0.08, 0.21]), np.array([0.02, 0.03, 0.05, 0.01, 0.04]))


def brute(y, v, ep: EffectPrior, tp: HeterogeneityPrior):
    """The four log marginal likelihoods and E[mu | y] under each effect model, by adaptive quadrature."""

    def lik(mu, tau):
        return float(np.exp(np.sum(stats.norm.logpdf(y, mu, np.sqrt(v + tau * tau)))))

    lo, hi = {"both": (-np.inf, np.inf), "positive": (0, np.inf), "negative": (-np.inf, 0)}[ep.side]
    mass = math.exp(ep.log_mass())

    def pmu(mu):
        return stats.norm.pdf(mu, ep.mean, ep.sd) / mass

    def ptau(tau):
        return float(np.exp(tp.logpdf(np.array([tau]))[0]))

    opts = {"epsabs": 0, "epsrel": 1e-11, "limit": 500}
    m0 = lik(0.0, 0.0)
    m1 = integrate.quad(lambda m: lik(m, 0.0) * pmu(m), lo, hi, **opts)[0]
    e1 = integrate.quad(lambda m: m * lik(m, 0.0) * pmu(m), lo, hi, **opts)[0] / m1
    m2 = integrate.quad(lambda t: lik(0.0, t) * ptau(t), 0, np.inf, **opts)[0]
    m3 = integrate.dblquad(lambda m, t: lik(m, t) * pmu(m) * ptau(t), 0, np.inf, lo, hi, epsabs=0, epsrel=1e-9)[0]
    e3 = integrate.dblquad(lambda m, t: m * lik(m, t) * pmu(m) * ptau(t), 0, np.inf, lo, hi, epsabs=0,
                           epsrel=1e-9)[0] / m3  # fmt: skip
    return {"fixed_null": m0, "fixed": m1, "random_null": m2, "random": m3}, e1, e3


CASES = [
    ("hackshaw, metaBMA's default priors", HACK, EffectPrior(), HeterogeneityPrior()),
    ("hackshaw, one-sided effect prior, half-normal tau", HACK, EffectPrior(0, 0.5, "positive"),
     HeterogeneityPrior("half_normal", 0.5)),
    ("smd, half-Cauchy tau", SMD, EffectPrior(0.1, 0.3), HeterogeneityPrior("half_cauchy", 0.2)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "data", "ep", "tp"), CASES, ids=[c[0] for c in CASES])
def test_against_brute_force_integration(name, data, ep, tp):
    y, v = data
    fit = bayesian_model_averaging(y, v, effect_prior=ep, tau_prior=tp)
    ml, e1, e3 = brute(y, v, ep, tp)
    for m, value in ml.items():
        assert fit.logml[m] == pytest.approx(math.log(value), abs=1e-7), m
    total = sum(ml.values())
    for m, value in ml.items():
        assert fit.posterior_models[m] == pytest.approx(value / total, abs=1e-8)
    assert fit.bf_effect == pytest.approx((ml["fixed"] + ml["random"]) / (ml["fixed_null"] + ml["random_null"]),
                                          rel=1e-6)  # fmt: skip
    assert fit.bf_heterogeneity == pytest.approx(
        (ml["random"] + ml["random_null"]) / (ml["fixed"] + ml["fixed_null"]), rel=1e-6
    )
    averaged = (ml["fixed"] * e1 + ml["random"] * e3) / (ml["fixed"] + ml["random"])
    assert fit.mu_mean == pytest.approx(averaged, abs=1e-7)
    assert fit.mu_ci_lb < fit.mu_mean < fit.mu_ci_ub and fit.tau_ci_lb < fit.tau_mean < fit.tau_ci_ub
    if ep.side == "positive":
        assert fit.mu_ci_lb >= 0


def test_evidence_words_on_both_sides_of_each_bound():
    y, v = SMD
    fit = bayesian_model_averaging(y, v)
    assert fit.bf01 == pytest.approx(1 / fit.bf_effect)
    # the words follow BF10 against the bound 3 and 1/3
    assert fit.evidence(bound=fit.bf_effect * 0.999) == "effect"
    assert fit.evidence(bound=fit.bf_effect * 1.001) != "effect"
    strong = bayesian_model_averaging(np.full(40, 0.5), np.full(40, 0.01))
    null = bayesian_model_averaging(np.zeros(400), np.full(400, 0.001))
    assert strong.evidence() == "effect" and null.evidence() == "no effect"
    small = bayesian_model_averaging(np.array([0.05]), np.array([0.5]))
    assert small.evidence() == "uninformative"


def test_model_priors_and_bad_input():
    y, v = SMD
    only_random = bayesian_model_averaging(y, v, prior_models={"fixed_null": 0, "fixed": 0, "random_null": 0.5,
                                                               "random": 0.5})  # fmt: skip
    assert only_random.posterior_models["fixed"] == 0 and only_random.posterior_models["fixed_null"] == 0
    assert math.isnan(only_random.bf_heterogeneity) and only_random.bf_effect > 0
    with pytest.raises(AnalysisError, match="summing to 1"):
        bayesian_model_averaging(y, v, prior_models={"fixed": 1.0})
    with pytest.raises(AnalysisError, match="sd = 0"):
        EffectPrior(0, 0)
    with pytest.raises(AnalysisError, match="expected invgamma, half_normal or half_cauchy"):
        HeterogeneityPrior("uniform")


def test_a_refit_with_the_same_tau_prior_reuses_its_terms_and_gives_the_same_numbers():
    """The prior-sensitivity rows that change only mu's prior reuse the tau terms of the last fit (bma._tau_terms):
    the same result as a fit from scratch, and the kept arrays cannot be written to."""
    from dataclasses import asdict

    from emmie.effect import bma

    rng = np.random.default_rng(3)
    v = rng.uniform(0.01, 0.2, 40)
    y = rng.normal(0.2, np.sqrt(v + 0.05))
    tp = bma.HeterogeneityPrior("half_normal", 0.5)
    bma.bayesian_model_averaging(y, v, effect_prior=bma.EffectPrior(0, 1), tau_prior=tp)  # fills the cache
    reused = bma.bayesian_model_averaging(y, v, effect_prior=bma.EffectPrior(0, 0.5), tau_prior=tp)
    bma._LAST_TAU_TERMS.clear()
    fresh = bma.bayesian_model_averaging(y, v, effect_prior=bma.EffectPrior(0, 0.5), tau_prior=tp)
    assert asdict(reused) == asdict(fresh)
    tau = next(iter(bma._LAST_TAU_TERMS.values()))[0]
    with pytest.raises(ValueError):
        tau[0] = 1.0
    other = bma.bayesian_model_averaging(y * 2, v, effect_prior=bma.EffectPrior(0, 0.5), tau_prior=tp)
    assert other.mu_mean != fresh.mu_mean and len(bma._LAST_TAU_TERMS) == 1  # other data: recomputed, one kept
