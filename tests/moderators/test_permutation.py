"""Permutation tests against metafor's permutest (fixtures from moderators_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emmie.errors import AnalysisError
from emmie.moderators import permutation_test
from emmie.moderators.permutation import _distinct_permutations, _n_distinct_permutations

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "moderators" / "metafor_moderators.json").read_text()
)


def test_exact_permutation_test_equals_metafor():
    c = REF["bcg6_ablat"]
    res = permutation_test(c["yi"], c["vi"], c["x"], n_perm=1000)
    assert res.exact and c["perm_exact"]
    assert res.n_perm == 720 and res.n_failed == 0
    assert res.qm == pytest.approx(c["qm"], rel=1e-6)
    # every one of the 720 permutations is used once, so the p-values are exactly metafor's
    assert res.qm_pval == pytest.approx(c["perm_qm_pval"], abs=1e-12)
    np.testing.assert_allclose(res.pval, c["perm_pval"], atol=1e-12)


def _tolerance(p: float, n: int) -> float:
    """Two independent Monte Carlo p-values of n permutations differ by less than ~4 SE of their difference."""
    return 4 * np.sqrt(2 * p * (1 - p) / n) + 2 / n


@pytest.mark.parametrize("case", ["bcg_ablat", "bcg_ablat_knha"])
def test_approximate_permutation_p_value_close_to_metafor(case):
    c = REF[case]
    res = permutation_test(c["yi"], c["vi"], c["x"], n_perm=c["iter"], seed=2024, test=c["test"])
    assert not res.exact and res.n_perm == c["iter"]
    assert res.qm == pytest.approx(c["qm"], rel=1e-6)
    assert abs(res.qm_pval - c["perm_qm_pval"]) < _tolerance(c["perm_qm_pval"], c["iter"])
    assert abs(res.pval[1] - c["perm_pval"][1]) < _tolerance(c["perm_pval"][1], c["iter"])
    # the observed arrangement is one of the permutations: p >= 1/n_perm
    assert res.qm_pval >= 1 / c["iter"]


def test_seeded_and_reproducible():
    c = REF["bcg_ablat"]
    a = permutation_test(c["yi"], c["vi"], c["x"], n_perm=200, seed=5)
    b = permutation_test(c["yi"], c["vi"], c["x"], n_perm=200, seed=5)
    assert a == b
    assert a.seed == 5 and a.to_dict()["n_perm"] == 200


def test_distinct_permutations_with_ties():
    rows = np.array([[1.0], [1.0], [2.0], [3.0]])
    assert _n_distinct_permutations(rows) == 12
    perms = _distinct_permutations(rows)
    arrangements = {tuple(rows[p, 0]) for p in perms}
    assert len(perms) == len(arrangements) == 12
    assert all(sorted(p) == [0, 1, 2, 3] for p in perms)


def test_permutation_errors():
    c = REF["bcg6_ablat"]
    with pytest.raises(AnalysisError, match="at least 2"):
        permutation_test(c["yi"], c["vi"], c["x"], n_perm=1)
    x = np.array(c["x"], dtype=float)
    x[0] = np.nan
    with pytest.raises(AnalysisError, match="missing"):
        permutation_test(c["yi"], c["vi"], x)


def test_sequential_stopping_saves_refits_only_when_the_p_value_is_large():
    # Besag & Clifford (1991): stop once `stop_after` permutations reach the observed QM.
    rng = np.random.default_rng(1)
    k = 30
    vi = rng.uniform(0.02, 0.1, k)
    x = rng.normal(size=k)
    null_y = rng.normal(0, np.sqrt(vi))
    null = permutation_test(null_y, vi, x, n_perm=1000, seed=3, stop_after=10)
    assert null.n_perm < 1000
    assert null.qm_pval == pytest.approx(11 / null.n_perm)  # 10 reached + the observed arrangement itself
    strong_y = 0.8 * x + rng.normal(0, np.sqrt(vi))
    strong = permutation_test(strong_y, vi, x, n_perm=200, seed=3, stop_after=10)
    assert strong.n_perm == 200 and strong.qm_pval < 0.05
    full = permutation_test(null_y, vi, x, n_perm=1000, seed=3)
    assert full.n_perm == 1000
