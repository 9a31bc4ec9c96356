"""The NUTS engine: agrees with the exact engine within Monte Carlo error, is reproducible, and diagnoses itself.

Tolerance for NUTS vs exact: |NUTS - exact| < 4 * MCSE + 0.005, with the Monte Carlo standard error from ArviZ
(``az.mcse``: mean, sd and quantile methods). 4 MCSE bounds a chance failure at about 6e-5 per comparison; 0.005
absorbs the MCSE's own estimation error.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emmie.effect.bayes import ConvergenceWarning, bayesian_meta_analysis, diagnose

DATA = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "bayes" / "reference_data.json").read_text())
SETS = DATA["datasets"]
PRIORS = {"mu_prior_sd": 4.0, "tau_prior": "half_normal", "tau_scale": 0.5}


def _mcse(idata, var, method, **kw):
    import arviz as az

    if method == "sd":  # delta method via the mean of squared deviations (az.mcse(method="sd") fails with numba)
        draws = idata.posterior[var].values
        dev2 = (draws - draws.mean()) ** 2
        return float(np.ravel(az.mcse(dev2, method="mean"))[0]) / (2.0 * draws.std())
    return float(az.mcse(idata, var_names=[var], method=method, **kw)[var].values)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bcg_or", "normand1999_smd"])
def test_nuts_agrees_with_exact_within_monte_carlo_error(name):
    yi, vi = SETS[name]["yi"], SETS[name]["vi"]
    exact = bayesian_meta_analysis(yi, vi, **PRIORS)
    nuts = bayesian_meta_analysis(yi, vi, **PRIORS, engine="nuts", seed=20240501, draws=1000, chains=4)
    assert nuts.diagnostics_ok, nuts.warnings
    idata = nuts.idata
    checks = [
        ("mu_mean", nuts.mu_mean, exact.mu_mean, _mcse(idata, "mu", "mean")),
        ("mu_sd", nuts.mu_sd, exact.mu_sd, _mcse(idata, "mu", "sd")),
        ("mu_median", nuts.mu_median, exact.mu_median, _mcse(idata, "mu", "quantile", prob=0.5)),
        ("mu_ci_lb", nuts.mu_ci_lb, exact.mu_ci_lb, _mcse(idata, "mu", "quantile", prob=0.025)),
        ("mu_ci_ub", nuts.mu_ci_ub, exact.mu_ci_ub, _mcse(idata, "mu", "quantile", prob=0.975)),
        ("tau_median", nuts.tau_median, exact.tau_median, _mcse(idata, "tau", "quantile", prob=0.5)),
        ("tau_ci_ub", nuts.tau_ci_ub, exact.tau_ci_ub, _mcse(idata, "tau", "quantile", prob=0.975)),
    ]
    for label, got, want, mcse in checks:
        assert abs(got - want) < 4 * mcse + 0.005, f"{label}: NUTS {got:.4f}, exact {want:.4f}, MCSE {mcse:.4f}"
    # Probabilities: binomial MCSE with the bulk ESS.
    p = exact.prob_mu_below(exact.mu_median + exact.mu_sd)
    se = np.sqrt(p * (1 - p) / nuts.ess_bulk_min)
    assert abs(nuts.prob_mu_below(exact.mu_median + exact.mu_sd) - p) < 4 * se + 0.005
    np.testing.assert_allclose(nuts.theta["mean"], exact.theta["mean"], atol=0.03)
    assert abs(nuts.pred_ub - exact.pred_ub) < 0.1


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::emmie.effect.bayes.ConvergenceWarning")
def test_seeded_nuts_runs_are_reproducible_and_k1_works():
    kw = {**PRIORS, "engine": "nuts", "draws": 300, "tune": 300, "chains": 2}
    with pytest.warns(ConvergenceWarning):  # 600 draws fall short of the ESS rule; the warning is the point
        first = bayesian_meta_analysis([0.5], [0.1], seed=7, **kw)
    second = bayesian_meta_analysis([0.5], [0.1], seed=7, **kw)
    other = bayesian_meta_analysis([0.5], [0.1], seed=8, **kw)
    a, b, c = (r.idata.posterior["mu"].values for r in (first, second, other))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert first.pred_lb == second.pred_lb and first.mu_median == second.mu_median
    assert first.k == 1 and first.engine == "nuts" and any("one study" in w for w in first.warnings)
    exact = bayesian_meta_analysis([0.5], [0.1], **PRIORS)
    assert abs(first.mu_median - exact.mu_median) < 0.15  # few draws: a loose check that it is the same posterior
    assert "NUTS diagnostics" in str(first)


def test_diagnose_flags_chains_that_disagree():
    import arviz as az

    rng = np.random.default_rng(1)
    mu = rng.normal(size=(4, 500)) + np.array([0.0, 0.0, 0.0, 3.0])[:, None]
    tau = np.abs(rng.normal(size=(4, 500)))
    diverging = np.zeros((4, 500), dtype=bool)
    diverging[0, :3] = True
    idata = az.from_dict(posterior={"mu": mu, "tau": tau}, sample_stats={"diverging": diverging})
    diag = diagnose(idata, var_names=("mu", "tau"))
    assert not diag.ok and diag.divergences == 3 and diag.rhat_max > 1.1
    assert any("R-hat" in w for w in diag.warnings) and any("divergent" in w for w in diag.warnings)

    good = az.from_dict(
        posterior={"mu": rng.normal(size=(4, 500)), "tau": tau}, sample_stats={"diverging": 0 * diverging}
    )
    diag = diagnose(good, var_names=("mu", "tau"))
    assert diag.ok and diag.warnings == () and diag.rhat_max < 1.01 and diag.ess_bulk_min > 400
