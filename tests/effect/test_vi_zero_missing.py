"""Zero sampling variances and missing values in meta_analysis, against metafor 3.8-1 (issue 16, "the univariate
gaps"): fixtures/metafor/vi_zero/vi_zero.json, made by vi_zero_reference.R in the same folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from emmie.effect import meta_analysis, meta_regression
from emmie.errors import AnalysisError

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "vi_zero" / "vi_zero.json").read_text())
YI, VI = np.array(REF["yi"]), np.array(REF["vi"])
TIGHT = {"threshold": 1e-12, "maxiter": 10_000}


def _some_zero() -> np.ndarray:
    vi = VI.copy()
    vi[np.array(REF["zero_rows"]) - 1] = 0.0
    return vi


def _cases(name: str) -> list[dict]:
    return [case for case in REF[name] if case["error"] is None]


@pytest.mark.parametrize("case", _cases("some_zero"), ids=lambda c: c["method"])
def test_some_zero_variances_as_metafor(case):
    fit = meta_analysis(YI, _some_zero(), method=case["method"], control=TIGHT)
    for name in ("estimate", "se", "ci_lb", "ci_ub", "pval", "tau2", "se_tau2"):
        assert getattr(fit, name) == pytest.approx(case[name], rel=1e-8, abs=1e-12), name
    assert fit.k == case["k"]
    # metafor: "Cannot compute Q-test, I^2, or H^2 when there are non-positive sampling variances in the data."
    assert case["q"] is None and case["i2"] is None
    assert all(math.isnan(x) for x in (fit.q, fit.q_pval, fit.i2, fit.h2))
    assert any("2 result(s) with sampling variance 0" in w and "I^2" in w for w in fit.warnings)


@pytest.mark.parametrize("case", _cases("all_zero"), ids=lambda c: c["method"])
def test_all_zero_variances_as_metafor_and_as_ordinary_least_squares(case):
    fit = meta_analysis(YI, np.zeros_like(VI), method=case["method"], control=TIGHT)
    for name in ("estimate", "se", "tau2", "se_tau2"):
        assert getattr(fit, name) == pytest.approx(case[name], rel=1e-8, abs=1e-12), name
    assert fit.estimate == pytest.approx(REF["lm"]["estimate"], rel=1e-12)
    if case["method"] != "ML":  # ML's tau^2 divides by k, not k - 1: its SE is not lm's
        assert fit.se == pytest.approx(REF["lm"]["se"], rel=1e-8)


@pytest.mark.parametrize("case", [c for c in REF["some_zero"] if c["error"]], ids=lambda c: c["method"])
def test_estimators_metafor_refuses_with_zero_variances_are_refused(case):
    with pytest.raises(AnalysisError, match=rf"2 result\(s\) with sampling variance 0: the {case['method']} "):
        meta_analysis(YI, _some_zero(), method=case["method"])


def test_a_positive_variance_is_still_required_to_be_non_negative():
    vi = VI.copy()
    vi[0] = -0.1
    with pytest.raises(AnalysisError, match=r"vi\[0\] = -0.1; sampling variances must be >= 0"):
        meta_analysis(YI, vi)


@pytest.mark.parametrize("case", REF["missing"], ids=lambda c: c["method"])
def test_missing_values_are_left_out_with_a_warning_that_counts_them(case):
    yi, vi = YI.copy(), VI.copy()
    yi[REF["na_yi_row"] - 1] = np.nan
    vi[REF["na_vi_row"] - 1] = np.nan
    fit = meta_analysis(yi, vi, method=case["method"], control=TIGHT)
    assert fit.k == case["k"] == 11
    for name in ("estimate", "se", "tau2", "i2", "q"):
        assert getattr(fit, name) == pytest.approx(case[name], rel=1e-8), name
    assert fit.weights.size == 11
    assert any(w.startswith("2 result(s) with a missing yi or vi left out (rows 3, 7;") for w in fit.warnings)
    assert "Studies with NAs omitted from model fitting." in case["warnings"]


def test_no_missing_value_no_note_and_all_missing_a_clear_error():
    assert not any("missing" in w for w in meta_analysis(YI, VI).warnings)
    with pytest.raises(AnalysisError, match=r"k = 0\): all 2 rows have a missing yi or vi"):
        meta_analysis([np.nan, 0.1], [0.1, np.nan])


def test_missing_rows_leave_their_clusters_out_too():
    yi, vi = YI.copy(), VI.copy()
    yi[2] = np.nan
    cluster = [f"c{i // 2}" for i in range(YI.size)]
    fit = meta_analysis(yi, vi, cluster=cluster)
    kept = [c for i, c in enumerate(cluster) if i != 2]
    same = meta_analysis(np.delete(YI, 2), np.delete(VI, 2), cluster=kept)
    assert fit.se == same.se and fit.df == same.df and fit.n_clusters == same.n_clusters == 7


@pytest.mark.parametrize("case", REF["degenerate"], ids=lambda c: c["method"])
def test_tau2_at_zero_with_a_zero_variance_is_refused_as_metafor(case):
    assert case["error"] == "Division by zero when computing the inverse variance weights."
    with pytest.raises(
        AnalysisError, match=r"tau\^2 was estimated at 0, so the 1 result\(s\) with sampling variance 0"
    ):
        meta_analysis(case["yi"], case["vi"], method=case["method"])


def test_meta_regression_leaves_out_rows_missing_yi_vi_or_a_moderator_as_metafor():
    ref = REF["missing_regression"]
    yi, vi, ablat = YI.copy(), VI.copy(), np.array(REF["ablat"], dtype=float)
    yi[REF["na_yi_row"] - 1] = np.nan
    vi[REF["na_vi_row"] - 1] = np.nan
    ablat[REF["na_ablat_row"] - 1] = np.nan
    fit = meta_regression(yi, vi, ablat, control=TIGHT)
    assert fit.k == ref["k"] == 10
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=1e-8)
    np.testing.assert_allclose(fit.se, ref["se"], rtol=1e-8)
    assert fit.tau2 == pytest.approx(ref["tau2"], rel=1e-8)
    assert any(
        w.startswith("3 result(s) with a missing yi, vi or moderator value left out (rows 3, 7, 10;")
        for w in fit.warnings
    )
    assert "Studies with NAs omitted from model fitting." in ref["warnings"]
