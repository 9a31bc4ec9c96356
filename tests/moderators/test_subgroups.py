"""Subgroup analyses against R metafor (fixtures computed by tests/fixtures/moderators/moderators_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emmie.errors import AnalysisError
from emmie.moderators import subgroup_analysis
from emmie.moderators.subgroups import dummy_matrix, q_between

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "moderators" / "metafor_moderators.json").read_text()
)


@pytest.mark.parametrize("case", ["bcg_alloc", "cbt_setting"])
@pytest.mark.parametrize("test", ["z", "knha"])
def test_test_of_subgroup_differences_is_metafor_qm(case, test):
    c = REF[case]
    res = subgroup_analysis(c["yi"], c["vi"], c["groups"], test=test)
    want = c[f"qm_{test}"]
    assert res.levels == tuple(c["levels"])
    assert res.qm == pytest.approx(want["qm"], rel=1e-6)
    assert res.qm_pval == pytest.approx(want["qm_pval"], rel=1e-6)
    assert res.qm_df == want["qm_df"][0] == len(c["levels"]) - 1
    if test == "knha":
        assert res.qm_df2 == want["qm_df"][1]
    assert res.tau2_common == pytest.approx(want["tau2"], rel=1e-5)


@pytest.mark.parametrize("case", ["bcg_alloc", "cbt_setting"])
def test_per_level_fits_and_separate_tau2_q_between(case):
    c = REF[case]
    res = subgroup_analysis(c["yi"], c["vi"], c["groups"])
    for lv, want in c["per_level"].items():
        got = res.subgroups[lv]
        assert got.k == want["k"]
        # REML iterates to metafor's tolerance (1e-5 on tau^2), hence 1e-4 on the estimates
        assert got.estimate == pytest.approx(want["estimate"], rel=1e-4)
        assert got.se == pytest.approx(want["se"], rel=1e-4)
        assert got.tau2 == pytest.approx(want["tau2"], rel=1e-3, abs=1e-6)
    sep = c["separate_tau2"]
    assert res.q_between_separate == pytest.approx(sep["q_between"], rel=1e-3)
    assert res.q_between_pval == pytest.approx(sep["pval"], rel=1e-3)
    assert res.q_between_df == sep["df"]
    table = res.table()
    assert list(table["level"]) == c["levels"] and table["k"].sum() == len(c["yi"])


def test_q_between_hand_computation():
    # two subgroups: est 0 and 1 with se 1 -> weighted mean 0.5, Q = 0.25 + 0.25
    q, df, p = q_between([0.0, 1.0], [1.0, 1.0])
    assert (q, df) == (0.5, 1)
    assert p == pytest.approx(0.4795001, rel=1e-6)


def test_declared_level_order_sets_the_reference():
    c = REF["bcg_alloc"]
    res = subgroup_analysis(c["yi"], c["vi"], c["groups"], levels=["systematic", "random", "alternate"])
    assert res.levels == ("systematic", "random", "alternate")
    assert res.qm == pytest.approx(c["qm_z"]["qm"], rel=1e-6)  # the omnibus test does not depend on the reference


def test_dummy_matrix_and_errors():
    M, order = dummy_matrix(["b", "a", "c", "a"])
    assert order == ("a", "b", "c")
    np.testing.assert_array_equal(M, [[1, 0], [0, 0], [0, 1], [0, 0]])
    with pytest.raises(AnalysisError, match="not among the declared levels"):
        dummy_matrix(["a", "z"], levels=["a", "b"])
    with pytest.raises(AnalysisError, match="at least 2 levels"):
        subgroup_analysis([0.1, 0.2], [0.01, 0.02], ["a", "a"])
    with pytest.raises(AnalysisError, match="groups has"):
        subgroup_analysis([0.1, 0.2], [0.01, 0.02], ["a"])
