"""User weights in meta_analysis against metafor 3.8-1 (issue 16, "the univariate gaps"):
fixtures/metafor/weights/weights.json, made by weights_reference.R in the same folder (dat.bcg weighted by the
trials' sample sizes; REML, DL and EE with the z and Knapp-Hartung tests; a missing weight)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emmie.effect import meta_analysis
from emmie.errors import AnalysisError

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "weights" / "weights.json").read_text())
YI, VI, N = np.array(REF["yi"]), np.array(REF["vi"]), np.array(REF["n"], dtype=float)
TIGHT = {"threshold": 1e-12, "maxiter": 10_000}


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: f"{c['method']}-{c['test']}-k{c['k']}")
def test_user_weights_as_metafor(case):
    weights = N.copy()
    if "missing_weight_row" in case:
        weights[case["missing_weight_row"] - 1] = np.nan
    fit = meta_analysis(YI, VI, method=case["method"], test=case["test"], weights=weights, control=TIGHT)
    assert fit.k == case["k"]
    names = ["estimate", "se", "pval", "ci_lb", "ci_ub", "tau2", "i2", "q"]
    if case["method"] != "EE":
        names += ["pi_lb", "pi_ub"]
    for name in names:
        assert getattr(fit, name) == pytest.approx(case[name], rel=1e-8, abs=1e-12), name
    np.testing.assert_allclose(fit.weights, case["weights"], rtol=1e-12)


def test_equal_user_weights_give_the_unweighted_mean():
    fit = meta_analysis(YI, VI, weights=np.ones_like(YI))
    assert fit.estimate == pytest.approx(YI.mean(), rel=1e-14)
    assert fit.tau2 == meta_analysis(YI, VI).tau2  # tau^2 is estimated as without weights


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.r_[-1.0, N[1:]], r"weights\[0\] = -1.0; user weights must be finite and >= 0"),
        (np.r_[np.inf, N[1:]], r"weights\[0\] = inf; user weights must be finite"),
        (np.zeros_like(N), "every user weight is 0"),
        (N[:3], "weights has 3 values but yi has 13"),
    ],
)
def test_bad_user_weights_are_refused(weights, message):
    with pytest.raises(AnalysisError, match=message):
        meta_analysis(YI, VI, weights=weights)


def test_user_weights_and_clusters_are_not_combined():
    with pytest.raises(AnalysisError, match="weights and cluster together"):
        meta_analysis(YI, VI, weights=N, cluster=list(range(YI.size)))


def test_a_bad_weight_is_named_by_its_position_in_the_input_even_after_rows_are_left_out():
    yi = YI.copy()
    yi[0] = np.nan  # row 0 is left out; the bad weight keeps its own position
    with pytest.raises(AnalysisError, match=r"weights\[2\] = -1.0; user weights must be finite and >= 0"):
        meta_analysis(yi, VI, weights=np.r_[N[:2], -1.0, N[3:]])
