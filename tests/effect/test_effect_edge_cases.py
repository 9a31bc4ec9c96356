"""Edge cases, input validation, warnings and printing of the Effect engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emmie.effect import (
    effect_sizes,
    egger_test,
    heterogeneity_ci,
    leave_one_out,
    meta_analysis,
    meta_analysis_grouped,
    meta_regression,
    trim_and_fill,
)
from emmie.errors import AnalysisError, EmmieError

METHODS = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")


@pytest.mark.parametrize("method", METHODS)
def test_k1_returns_the_single_study(method):
    res = meta_analysis([0.4], [0.04], method=method)
    assert res.k == 1 and res.estimate == 0.4 and res.tau2 == 0.0
    assert res.se == pytest.approx(0.2)
    assert res.q == 0.0 and res.q_pval == 1.0 and res.i2 == 0.0 and res.h2 == 1.0


@pytest.mark.parametrize("method", METHODS)
def test_k2_and_small_k_warning(method):
    res = meta_analysis([0.1, 0.5], [0.01, 0.02], method=method)
    assert res.k == 2 and res.tau2 >= 0
    assert min(0.1, 0.5) <= res.estimate <= max(0.1, 0.5)
    if method != "EE":
        assert any("knha" in w for w in res.warnings)


def test_equal_vi_gives_unweighted_mean_and_dl_equals_he_closed_form():
    y = np.array([0.1, 0.3, 0.2, 0.6, -0.1])
    v = np.full(5, 0.02)
    ee = meta_analysis(y, v, method="EE")
    assert ee.estimate == pytest.approx(y.mean())
    q = np.sum((y - y.mean()) ** 2) / 0.02
    dl = meta_analysis(y, v, method="DL")
    assert dl.q == pytest.approx(q)
    assert dl.tau2 == pytest.approx(max(0.0, (q - 4) / (5 / 0.02 - 5 / 0.02 / 5)))
    # with equal vi REML has the closed form max(0, var(y) - v)
    reml = meta_analysis(y, v, method="REML", control={"threshold": 1e-14})
    assert reml.tau2 == pytest.approx(max(0.0, np.var(y, ddof=1) - 0.02), rel=1e-8)


def test_tau2_zero_boundary_warns_and_equals_ee():
    y = [0.20, 0.21, 0.19, 0.20]
    v = [0.05, 0.04, 0.06, 0.05]
    res = meta_analysis(y, v, method="REML")
    ee = meta_analysis(y, v, method="EE")
    assert res.tau2 == 0.0
    assert res.estimate == pytest.approx(ee.estimate)
    assert any("boundary" in w for w in res.warnings)
    assert np.isnan(ee.pi_lb) and np.isnan(ee.pi_ub)


def test_negative_vi_is_an_error_and_zero_vi_where_metafor_refuses_it():
    with pytest.raises(AnalysisError, match=r"vi\[1\] = -0.2; sampling variances must be >= 0"):
        meta_analysis([0.1, 0.2], [0.1, -0.2])
    with pytest.raises(AnalysisError, match="sampling variance 0: the DL estimator"):
        meta_analysis([0.1, 0.2], [0.1, 0.0], method="DL")
    assert meta_analysis([0.1, 0.9, 0.4, -0.5], [0.01, 0.0, 0.05, 0.02]).k == 4  # REML takes it, as metafor


def test_nan_and_shape_errors():
    with pytest.raises(AnalysisError, match=r"yi\[1\] is inf; expected a finite number"):
        meta_analysis([0.1, np.inf], [0.1, 0.1])
    assert meta_analysis([0.1, np.nan, 0.3], [0.1, 0.1, 0.2]).k == 2  # missing: left out with a note
    with pytest.raises(AnalysisError, match="but vi has 2"):
        meta_analysis([0.1, 0.2, 0.3], [0.1, 0.1])
    with pytest.raises(AnalysisError, match="method"):
        meta_analysis([0.1, 0.2], [0.1, 0.1], method="XYZ")
    with pytest.raises(AnalysisError, match="test"):
        meta_analysis([0.1, 0.2], [0.1, 0.1], test="t")
    assert issubclass(AnalysisError, EmmieError)


def test_fe_alias_and_pandas_input():
    s = pd.Series([0.1, 0.4, 0.3]), pd.Series([0.01, 0.02, 0.03])
    assert meta_analysis(*s, method="FE").estimate == meta_analysis(*s, method="EE").estimate


def test_nonconvergence_falls_back_and_says_so():
    y = [0.1, 0.9, -0.5, 0.4, 1.2, -0.3]
    v = [0.01, 0.02, 0.05, 0.03, 0.02, 0.04]
    tight = meta_analysis(y, v, control={"threshold": 1e-14, "maxiter": 5000})
    res = meta_analysis(y, v, control={"maxiter": 1})
    assert any("did not converge" in w for w in res.warnings)
    assert res.tau2 == pytest.approx(tight.tau2, rel=1e-8)


def test_print_is_complete():
    res = meta_analysis([0.1, 0.4, 0.3, 0.5, 0.2, 0.0], [0.01, 0.02, 0.03, 0.02, 0.01, 0.04], test="knha")
    text = str(res)
    for piece in ("Random-Effects Model (k = 6", "tau^2", "I^2", "H^2", "Q(df = 5)", "prediction interval", "ci.lb"):
        assert piece in text
    assert repr(res) == text
    d = res.to_dict()
    assert d["k"] == 6 and len(d["weights"]) == 6 and sum(d["weights"]) == pytest.approx(100.0)


def test_unknown_control_setting():
    with pytest.raises(AnalysisError, match="control"):
        meta_analysis([0.1, 0.2], [0.1, 0.1], control={"stepsize": 1})


# -- effect sizes ------------------------------------------------------------------------------


def test_zero_cells_get_one_half_only_in_that_table():
    es = effect_sizes("OR", ai=[0, 5], bi=[10, 5], ci=[3, 2], di=[7, 8])
    assert es.loc[0, "yi"] == pytest.approx(np.log((0.5 / 10.5) / (3.5 / 7.5)))
    assert es.loc[0, "vi"] == pytest.approx(1 / 0.5 + 1 / 10.5 + 1 / 3.5 + 1 / 7.5)
    assert es.loc[1, "yi"] == pytest.approx(np.log((5 / 5) / (2 / 8)))
    rd = effect_sizes("RD", ai=[0], bi=[10], ci=[5], di=[5])  # metafor 3.8-1 also adds 1/2 for RD
    assert rd.loc[0, "yi"] == pytest.approx(0.5 / 11 - 5.5 / 11)
    none = effect_sizes("RD", ai=[0], bi=[10], ci=[5], di=[5], to="none")
    assert none.loc[0, "yi"] == pytest.approx(-0.5)


def test_double_zero_gives_finite_or_and_drop00():
    es = effect_sizes("OR", ai=[0], n1i=[20], ci=[0], n2i=[20])
    assert es.loc[0, "yi"] == pytest.approx(0.0) and np.isfinite(es.loc[0, "vi"])
    dropped = effect_sizes("OR", ai=[0], n1i=[20], ci=[0], n2i=[20], drop00=True)
    assert dropped["yi"].isna().all()


def test_smd_exact_correction_and_variance():
    es = effect_sizes("SMD", m1i=[10.0], sd1i=[2.0], n1i=[5], m2i=[8.0], sd2i=[2.0], n2i=[5])
    from scipy.special import gamma

    m = 8
    c = gamma(m / 2) / (np.sqrt(m / 2) * gamma((m - 1) / 2))
    g = c * 1.0
    assert es.loc[0, "yi"] == pytest.approx(g, rel=1e-12)
    assert es.loc[0, "vi"] == pytest.approx(1 / 5 + 1 / 5 + g**2 / 20, rel=1e-12)


def test_generic_measure_from_se_ci_and_p():
    es = effect_sizes(
        "GEN",
        estimate=[0.5, 0.5, 0.5, 0.5],
        se=[0.1, None, None, None],
        ci_lb=[None, 0.304, None, None],
        ci_ub=[None, 0.696, None, None],
        pval=[None, None, 0.05, None],
    )
    assert es.loc[0, "vi"] == pytest.approx(0.01)
    assert es.loc[1, "vi"] == pytest.approx((0.392 / (2 * 1.959963984540054)) ** 2)
    assert es.loc[2, "vi"] == pytest.approx((0.5 / 1.959963984540054) ** 2)
    assert np.isnan(es.loc[3, "vi"])


def test_correlations_and_proportions():
    es = effect_sizes("COR", ri=[0.3], ni=[50])
    assert es.loc[0, "vi"] == pytest.approx((1 - 0.09) ** 2 / 49)
    z = effect_sizes("ZCOR", ri=[0.3], ni=[50])
    assert z.loc[0, "yi"] == pytest.approx(np.arctanh(0.3)) and z.loc[0, "vi"] == pytest.approx(1 / 47)
    pc = effect_sizes("PCOR", ti=[2.0], ni=[30], mi=[3])
    assert pc.loc[0, "yi"] == pytest.approx(2 / np.sqrt(4 + 26))
    pr = effect_sizes("PROP", xi=[0, 4], ni=[10, 10])
    assert pr.loc[0, "yi"] == pytest.approx(0.5 / 11) and pr.loc[1, "vi"] == pytest.approx(0.4 * 0.6 / 10)


@pytest.mark.parametrize(
    ("measure", "kwargs", "pattern"),
    [
        ("OR", dict(ai=[1, -1], bi=[5, 5], ci=[2, 2], di=[5, 5]), r"row 1: ai = -1"),
        ("RR", dict(ai=[12], n1i=[10], ci=[2], n2i=[10]), r"row 0: ai = 12"),
        ("SMD", dict(m1i=[1], sd1i=[0], n1i=[10], m2i=[1], sd2i=[1], n2i=[10]), r"sd1i = 0"),
        ("ZCOR", dict(ri=[0.2, 1.0], ni=[20, 20]), r"row 1: ri = 1"),
        ("COR", dict(ri=[-1.2], ni=[20]), r"ri = -1.2"),
        ("ROM", dict(m1i=[-1], sd1i=[1], n1i=[10], m2i=[1], sd2i=[1], n2i=[10]), r"m1i = -1"),
        ("XYZ", dict(), r"not supported"),
        ("MD", dict(m1i=[1]), r"missing"),
    ],
)
def test_invalid_input_names_row_and_value(measure, kwargs, pattern):
    with pytest.raises(AnalysisError, match=pattern):
        effect_sizes(measure, **kwargs)


# -- other entry points --------------------------------------------------------------------------


def test_grouped_matches_single_fits_including_k1_and_pm():
    rng = np.random.default_rng(7)
    rows = []
    for gid, k in enumerate([1, 2, 3, 8, 20]):
        v = rng.uniform(0.01, 0.2, k)
        y = rng.normal(0.3, np.sqrt(v + 0.05))
        rows.append(pd.DataFrame({"g": gid, "yi": y, "vi": v}))
    df = pd.concat(rows, ignore_index=True)
    for method in METHODS:
        for test in ("z", "knha"):
            out = meta_analysis_grouped(df, "g", method=method, test=test)
            for _, row in out.iterrows():
                sub = df[df.g == row.g]
                single = meta_analysis(sub.yi, sub.vi, method=method, test=test)
                for col in ("estimate", "se", "ci_lb", "ci_ub", "tau2", "i2", "h2", "q", "pi_lb"):
                    a, b = row[col], getattr(single, col)
                    assert (np.isnan(a) and np.isnan(b)) or a == pytest.approx(b, rel=1e-8, abs=1e-12), (
                        method,
                        test,
                        col,
                    )


def test_grouped_errors():
    df = pd.DataFrame({"g": [1, 1], "yi": [0.1, 0.2], "vi": [0.1, 0.0]})
    with pytest.raises(AnalysisError, match="vi"):
        meta_analysis_grouped(df, "g")
    with pytest.raises(AnalysisError, match="column 'h'"):
        meta_analysis_grouped(df, "h")


def test_metareg_categorical_and_missing_moderators():
    rng = np.random.default_rng(3)
    k = 30
    grp = np.where(np.arange(k) % 2 == 0, "a", "b")
    v = rng.uniform(0.01, 0.05, k)
    y = np.where(grp == "a", 0.1, 0.6) + rng.normal(0, np.sqrt(v))
    res = meta_regression(y, v, pd.DataFrame({"grp": grp}))
    assert res.names == ("intrcpt", "grp_b")
    assert res.coef[1] > 0.3 and res.coef_pval[1] < 0.01
    assert "intrcpt" in str(res)
    x = rng.normal(size=k)
    x[4] = np.nan
    res2 = meta_regression(y, v, x)
    assert any(
        w.startswith("1 result(s) with a missing yi, vi or moderator value left out (rows 5;") for w in res2.warnings
    )
    with pytest.raises(AnalysisError, match="collinear"):
        meta_regression(y, v, np.column_stack([x, 2 * x]))


def test_too_few_studies_for_bias_tests():
    with pytest.raises(AnalysisError, match="at least 3"):
        egger_test([0.1, 0.2], [0.1, 0.1])
    with pytest.raises(AnalysisError, match="at least 3"):
        trim_and_fill([0.1, 0.2], [0.1, 0.1])


def test_qprofile_contains_estimate_and_loo_shape():
    y = [0.1, 0.5, 0.3, 0.9, -0.2, 0.4]
    v = [0.02, 0.03, 0.01, 0.05, 0.04, 0.02]
    ci = heterogeneity_ci(y, v)
    est, lb, ub = ci["tau2"]
    assert lb <= est <= ub
    assert 0 <= ci["i2"][1] <= ci["i2"][2] <= 100
    loo = leave_one_out(y, v)
    assert list(loo["omitted"]) == list(range(6))
