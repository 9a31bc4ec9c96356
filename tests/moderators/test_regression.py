"""Meta-regression on one moderator: metafor values, the coefficient covariance and predictions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from emmie.errors import AnalysisError
from emmie.moderators import bubble_data, bubble_plot, moderator_regression

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "moderators" / "metafor_moderators.json").read_text()
)


@pytest.fixture(scope="module")
def ablat():
    c = REF["bcg_ablat"]
    return c, moderator_regression(c["yi"], c["vi"], c["x"], name="ablat", n_perm=100, seed=1)


def test_continuous_regression_matches_metafor(ablat):
    c, m = ablat
    knha = REF["bcg_ablat_knha"]
    assert m.kind == "continuous" and m.fit.test == "knha" and m.fit_z.test == "z"
    np.testing.assert_allclose(m.fit.coef, knha["coef"], rtol=1e-5)
    np.testing.assert_allclose(m.fit.se, knha["se"], rtol=1e-5)
    assert m.fit.qm == pytest.approx(knha["qm"], rel=1e-5)
    np.testing.assert_allclose(m.fit_z.se, c["se"], rtol=1e-5)
    assert m.fit_z.qm == pytest.approx(c["qm"], rel=1e-5)
    assert m.fit.r2 == pytest.approx(c["r2"], rel=1e-4)
    assert m.fit.names == ("intrcpt", "ablat")


def test_vcov_reproduces_the_standard_errors_and_predictions(ablat):
    _, m = ablat
    np.testing.assert_allclose(np.sqrt(np.diag(m.vcov)), m.fit.se, rtol=1e-10)
    pred = m.predict([0.0, 30.0])
    b0, b1 = m.fit.coef
    np.testing.assert_allclose(pred["pred"], [b0, b0 + 30 * b1])
    assert pred["se"].iloc[0] == pytest.approx(m.fit.se[0])  # at x = 0 the prediction is the intercept
    crit = stats.t.isf(0.025, m.fit.df)
    np.testing.assert_allclose(pred["ci_ub"] - pred["pred"], crit * pred["se"])


def test_categorical_regression_and_permutation():
    c = REF["cbt_setting"]
    m = moderator_regression(c["yi"], c["vi"], c["groups"], name="setting", test="z", n_perm=50, seed=3)
    assert m.kind == "categorical" and m.levels == ("community", "prison")
    assert m.fit.names == ("intrcpt", "setting[prison]")
    np.testing.assert_allclose(m.fit.coef, c["qm_z"]["coef"], rtol=1e-5)
    assert m.fit.qm == pytest.approx(c["qm_z"]["qm"], rel=1e-6)
    assert m.permutation is not None and m.permutation.n_perm == 50
    d = m.to_dict()
    assert d["z"]["qm"] == pytest.approx(c["qm_z"]["qm"], rel=1e-6)
    assert d["permutation"]["seed"] == 3
    with pytest.raises(AnalysisError, match="continuous"):
        m.predict([1.0])


def test_regression_errors():
    with pytest.raises(AnalysisError, match="missing"):
        moderator_regression([0.1, 0.2, 0.3], [0.1] * 3, [1.0, np.nan, 2.0], n_perm=0)
    with pytest.raises(AnalysisError, match="single level"):
        moderator_regression([0.1, 0.2, 0.3], [0.1] * 3, ["a", "a", "a"], n_perm=0)
    with pytest.raises(AnalysisError, match="kind"):
        moderator_regression([0.1, 0.2, 0.3], [0.1] * 3, [1, 2, 3], kind="ordinal", n_perm=0)


def test_bubble_data_and_plot(ablat):
    c, m = ablat
    points, line = bubble_data(c["yi"], c["vi"], c["x"], m)
    assert points["weight"].sum() == pytest.approx(100.0)
    w = 1 / (np.array(c["vi"]) + m.fit.tau2)
    np.testing.assert_allclose(points["weight"], 100 * w / w.sum())
    assert line["x"].min() == min(c["x"]) and line["x"].max() == max(c["x"])
    assert (line["ci_lb"] <= line["pred"]).all() and (line["pred"] <= line["ci_ub"]).all()
    svg = bubble_plot(c["yi"], c["vi"], c["x"], m, measure="RR", xlabel="Absolute latitude")
    assert svg == bubble_plot(c["yi"], c["vi"], c["x"], m, measure="RR", xlabel="Absolute latitude")
    assert "<title>Meta-regression on ablat (k = 13)</title>" in svg
    assert "Absolute latitude" in svg and "log risk ratio" in svg


@pytest.mark.parametrize("over", [False, True])
def test_bubble_plot_past_max_points_draws_them_as_an_image(ablat, monkeypatch, over):
    """As the funnel plot: past FUNNEL_MAX_POINTS studies the bubbles are one image, so the SVG keeps its size."""
    from emmie.moderators import plots

    c, m = ablat
    monkeypatch.setattr(plots, "FUNNEL_MAX_POINTS", len(c["yi"]) - 1 if over else len(c["yi"]))
    svg = plots.bubble_plot(c["yi"], c["vi"], c["x"], m, measure="RR", xlabel="Absolute latitude")
    assert ("<image" in svg) is over
