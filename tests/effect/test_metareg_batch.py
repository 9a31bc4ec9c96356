"""The vectorised meta-regressions (emmie.effect.metareg_batch) give what one meta_regression per design gives."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from emmie.effect import leave_one_out, meta_regression, metareg_batch
from emmie.effect.estimators import Control
from emmie.effect.metareg_batch import BATCHED, regression_tests
from emmie.moderators import permutation_test


def _case(seed: int, k: int = 20):
    rng = np.random.default_rng(seed)
    y = rng.normal(0.3, 0.4, k)
    v = rng.uniform(0.02, 0.2, k)
    M = np.column_stack([rng.normal(size=k), rng.integers(0, 2, k)])
    orders = [rng.permutation(k) for _ in range(40)]
    designs = np.stack([np.column_stack([np.ones(k), M[o]]) for o in orders])
    return y, v, M, orders, designs


@pytest.mark.parametrize("test", ["z", "knha"])
@pytest.mark.parametrize("method", BATCHED)
def test_each_fit_matches_meta_regression(method, test):
    y, v, M, orders, designs = _case(1)
    got = regression_tests(y, v, designs, method=method, test=test)
    assert got.ok.all()
    for i, o in enumerate(orders):
        ref = meta_regression(y, v, M[o], method=method, test=test)
        assert got.qm[i] == pytest.approx(ref.qm, rel=1e-10, abs=1e-12)
        assert got.stat[i] == pytest.approx(np.asarray(ref.stat), rel=1e-10, abs=1e-12)
        assert got.tau2[i] == pytest.approx(ref.tau2, rel=1e-10, abs=1e-14)


def test_homogeneous_data_give_tau2_zero_as_one_by_one():
    y, v, M, orders, designs = _case(2)
    y = np.full_like(y, 0.2) + 1e-3 * np.arange(y.size)  # far less spread than the sampling variances
    got = regression_tests(y, v, designs, method="REML")
    ref = [meta_regression(y, v, M[o], method="REML") for o in orders]
    assert np.array_equal(got.tau2 == 0, np.array([r.tau2 == 0 for r in ref]))
    assert got.qm == pytest.approx([r.qm for r in ref], rel=1e-10)


def test_data_per_design_and_chunks(monkeypatch):
    y, v, M, orders, designs = _case(3)
    rows = np.stack([y[o] for o in orders])  # each design with its own data
    whole = regression_tests(rows, np.stack([v[o] for o in orders]), designs)
    monkeypatch.setattr(metareg_batch, "CHUNK_ELEMENTS", 7 * designs.shape[1] * designs.shape[2])
    chunked = regression_tests(rows, np.stack([v[o] for o in orders]), designs)
    assert np.array_equal(whole.qm, chunked.qm) and np.array_equal(whole.stat, chunked.stat)
    ref = meta_regression(rows[5], v[orders[5]], designs[5][:, 1:])
    assert whole.qm[5] == pytest.approx(ref.qm, rel=1e-10)


def test_a_fit_that_does_not_converge_is_flagged_for_a_one_by_one_refit():
    y, v, M, orders, designs = _case(4)
    y = y * 4  # heterogeneous: scoring takes several steps
    got = regression_tests(y, v, designs, method="REML", control=Control(stepadj=1.0, maxiter=1))
    assert not got.ok.all()


def test_other_methods_are_refused():
    y, v, M, orders, designs = _case(5)
    with pytest.raises(ValueError, match="not fitted in batches"):
        regression_tests(y, v, designs, method="PM")


@pytest.mark.parametrize("method", ["REML", "PM"])  # PM: refitted one by one
@pytest.mark.parametrize("stop_after", [None, 5])
def test_the_permutation_test_is_that_of_one_fit_per_permutation(method, stop_after, monkeypatch):
    y, v, M, _, _ = _case(6, k=15)
    batched = permutation_test(y, v, M, n_perm=300, seed=11, method=method, stop_after=stop_after)
    monkeypatch.setattr("emmie.moderators.permutation.BATCHED", ())  # every refit one by one
    single = permutation_test(y, v, M, n_perm=300, seed=11, method=method, stop_after=stop_after)
    assert batched == single


def test_the_exact_permutation_test_is_that_of_one_fit_per_permutation(monkeypatch):
    y, v, _, _, _ = _case(7, k=7)
    M = np.array([0, 0, 0, 1, 1, 1, 1], dtype=float)  # 35 distinct permutations: exact
    batched = permutation_test(y, v, M, n_perm=1000, method="REML", test="knha")
    monkeypatch.setattr("emmie.moderators.permutation.BATCHED", ())
    assert batched.exact and batched == permutation_test(y, v, M, n_perm=1000, method="REML", test="knha")


@pytest.mark.parametrize("test", ["z", "knha"])
@pytest.mark.parametrize("method", BATCHED)
def test_leave_one_out_at_once_is_leave_one_out_one_by_one(method, test, monkeypatch):
    y, v, _, _, _ = _case(8, k=25)
    y = y * 2  # heterogeneous
    batched = leave_one_out(y, v, method=method, test=test)
    monkeypatch.setattr(sys.modules["emmie.effect.influence"], "BATCHED", ())  # one meta_analysis per omission
    single = leave_one_out(y, v, method=method, test=test)
    assert batched.columns.tolist() == single.columns.tolist()
    np.testing.assert_allclose(batched.to_numpy(), single.to_numpy(), rtol=1e-10, atol=1e-13)


def test_leave_one_out_in_chunks_is_the_same(monkeypatch):
    y, v, _, _, _ = _case(9, k=25)
    whole = leave_one_out(y, v)
    monkeypatch.setattr(metareg_batch, "CHUNK_ELEMENTS", 3 * 24)
    np.testing.assert_array_equal(leave_one_out(y, v).to_numpy(), whole.to_numpy())
