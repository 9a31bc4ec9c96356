"""Properties that must hold for any data (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emmie.effect import meta_analysis

METHODS = ["EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM"]

data = st.integers(min_value=2, max_value=15).flatmap(
    lambda k: st.tuples(
        st.lists(st.floats(-3, 3, allow_nan=False), min_size=k, max_size=k),
        st.lists(st.floats(0.005, 2.0, allow_nan=False), min_size=k, max_size=k),
    )
)


@settings(max_examples=60, deadline=None)
@given(data, st.sampled_from(METHODS), st.sampled_from(["z", "knha"]))
def test_tau2_nonnegative_and_ci_contains_estimate(yv, method, test):
    y, v = yv
    res = meta_analysis(y, v, method=method, test=test)
    assert res.tau2 >= 0
    assert res.ci_lb <= res.estimate <= res.ci_ub
    assert 0 <= res.i2 <= 100
    if method != "EE":  # for EE, H^2 = Q/(k-1) may fall below 1 (as metafor)
        assert res.h2 >= 1 - 1e-12


@settings(max_examples=40, deadline=None)
@given(data, st.sampled_from(METHODS), st.randoms(use_true_random=False))
def test_permutation_invariance(yv, method, rnd):
    y, v = np.array(yv[0]), np.array(yv[1])
    perm = np.arange(y.size)
    rnd.shuffle(perm)
    a = meta_analysis(y, v, method=method, control={"threshold": 1e-13})
    b = meta_analysis(y[perm], v[perm], method=method, control={"threshold": 1e-13})
    assert b.estimate == pytest.approx(a.estimate, rel=1e-7, abs=1e-9)
    assert b.tau2 == pytest.approx(a.tau2, rel=1e-6, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(data, st.sampled_from(METHODS), st.floats(0.1, 10))
def test_scaling_yi_and_se_scales_the_estimate(yv, method, c):
    y, v = np.array(yv[0]), np.array(yv[1])
    # exact solutions (metafor's absolute stopping rules are not scale-free)
    tight = {"threshold": 1e-14, "maxiter": 10000, "tol": 1e-15}
    a = meta_analysis(y, v, method=method, control=tight)
    b = meta_analysis(c * y, c * c * v, method=method, control={**tight, "threshold": 1e-14 * c * c})
    assert b.estimate == pytest.approx(c * a.estimate, rel=1e-6, abs=1e-8)
    assert b.tau2 == pytest.approx(c * c * a.tau2, rel=1e-5, abs=1e-8)


@settings(max_examples=60, deadline=None)
@given(data)
def test_equal_effects_estimate_within_range(yv):
    y, v = yv
    res = meta_analysis(y, v, method="EE")
    assert min(y) - 1e-12 <= res.estimate <= max(y) + 1e-12


def _rank_sum_by_sorting(yc: np.ndarray) -> float:
    """Trim-and-fill's rank sum as metafor computes it: rank |yc| (ties in order), sum the positive values' ranks."""
    ranks = np.empty(yc.size)
    ranks[np.argsort(np.abs(yc), kind="stable")] = np.arange(1, yc.size + 1)
    signed = np.sign(yc) * ranks
    return float(np.sum(signed[signed > 0]))


@pytest.mark.parametrize("seed", range(20))
def test_positive_rank_sum_equals_ranking_by_sorting(seed):
    """Random data with ties (values rounded to a coarse grid), zeros, all-positive and all-negative cases."""
    from emmie.effect.bias import positive_rank_sum

    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 400))
    y = np.round(rng.normal(rng.normal(), 1, k), int(rng.integers(0, 3)))
    for shift in (0.0, float(y[0]), float(y.min()) - 1.0, float(y.max()) + 1.0):
        yc = np.sort(y) - shift
        assert positive_rank_sum(yc) == _rank_sum_by_sorting(yc)
