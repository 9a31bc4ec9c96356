"""Forest and funnel plots: the plotted data, and reproducible SVG."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from emmie.effect import meta_analysis
from emmie.effect.plots import (
    CATERPILLAR_MAX_LINES,
    FOREST_MAX_ROWS,
    FUNNEL_MAX_POINTS,
    favours_labels,
    forest_data,
    forest_plot,
    funnel_contours,
    funnel_data,
    funnel_plot,
    interval_image,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"


@pytest.fixture(scope="module")
def bcg():
    d = json.loads((FIXTURES / "bcg_rr.json").read_text())
    yi, vi = np.array(d["yi"]), np.array(d["vi"])
    return yi, vi, [f"Trial {i + 1}" for i in range(len(yi))], d


def test_forest_data_weights_sum_to_100_and_match_metafor_weights(bcg):
    yi, vi, labels, d = bcg
    res = meta_analysis(yi, vi, method="REML")
    data = forest_data(yi, vi, labels, res, measure="RR")
    study = data[data["row"] == "study"]
    assert study["weight"].sum() == pytest.approx(100.0, abs=1e-9)
    w = 1 / (vi + d["fits"]["REML_z"]["tau2"])
    np.testing.assert_allclose(study["weight"], 100 * w / w.sum(), rtol=1e-5)
    np.testing.assert_allclose(study["weight"], res.weights, rtol=1e-9)


def test_forest_data_study_ci_and_display_scale(bcg):
    yi, vi, labels, _ = bcg
    res = meta_analysis(yi, vi)
    data = forest_data(yi, vi, labels, res, measure="RR", level=0.90)
    study = data[data["row"] == "study"]
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(study["ci_lb"], yi - z * np.sqrt(vi))
    np.testing.assert_allclose(study["ci_ub"], yi + z * np.sqrt(vi))
    np.testing.assert_allclose(study["est"], np.exp(yi))
    np.testing.assert_allclose(study["lb"], np.exp(yi - z * np.sqrt(vi)))
    assert (
        study["text"].iloc[0] == f"{np.exp(yi[0]):.2f} [{np.exp(yi[0] - z * np.sqrt(vi[0])):.2f}, "
        f"{np.exp(yi[0] + z * np.sqrt(vi[0])):.2f}]"
    )


def test_forest_data_diamond_is_pooled_ci_and_prediction_interval(bcg):
    yi, vi, labels, d = bcg
    res = meta_analysis(yi, vi, method="REML", test="knha")
    data = forest_data(yi, vi, labels, res, measure="RR")
    summ = data[data["row"] == "summary"].iloc[0]
    ref = d["fits"]["REML_knha"]
    assert summ["yi"] == pytest.approx(ref["estimate"], rel=1e-6)
    assert summ["ci_lb"] == pytest.approx(ref["ci_lb"], rel=1e-6)
    assert summ["ci_ub"] == pytest.approx(ref["ci_ub"], rel=1e-6)
    pred = data[data["row"] == "prediction"].iloc[0]
    assert pred["ci_lb"] == pytest.approx(ref["pi_lb"], rel=1e-6)
    assert pred["ci_ub"] == pytest.approx(ref["pi_ub"], rel=1e-6)


def test_forest_data_no_prediction_row_for_equal_effects(bcg):
    yi, vi, labels, _ = bcg
    res = meta_analysis(yi, vi, method="EE")
    data = forest_data(yi, vi, labels, res, measure="SMD")
    assert "prediction" not in set(data["row"])
    study = data[data["row"] == "study"]
    np.testing.assert_allclose(study["weight"], 100 * (1 / vi) / (1 / vi).sum())
    np.testing.assert_allclose(study["est"], yi)  # no transformation for a difference measure


def test_forest_data_rejects_mismatched_lengths(bcg):
    yi, vi, labels, _ = bcg
    with pytest.raises(ValueError):
        forest_data(yi, vi[:-1], labels, meta_analysis(yi, vi), measure="RR")


def test_favours_labels_follow_desirable_direction():
    assert favours_labels("higher") == ("Favours comparison", "Favours intervention")
    assert favours_labels("lower") == ("Favours intervention", "Favours comparison")
    with pytest.raises(ValueError):
        favours_labels("up")


def test_forest_plot_svg_is_reproducible_and_titled(bcg):
    yi, vi, labels, _ = bcg
    res = meta_analysis(yi, vi)
    a = forest_plot(yi, vi, labels, res, measure="RR", desirable="lower")
    b = forest_plot(yi, vi, labels, res, measure="RR", desirable="lower")
    assert a == b
    assert "<title>Forest plot (Risk ratio, k = 13)</title>" in a
    assert "Date" not in a and "dc:date" not in a
    assert "Trial 13" in a and "Favours intervention" in a
    # desirable lower: "Favours intervention" is the left label
    left = re.search(r"\u2190 (Favours \w+)", a).group(1)
    assert left == "Favours intervention"
    assert "Risk ratio (log scale)" in a


@pytest.mark.parametrize("k", [2, 60])
def test_forest_plot_height_grows_with_k(k):
    rng = np.random.default_rng(1)
    yi, vi = rng.normal(0.2, 0.3, k), rng.uniform(0.01, 0.2, k)
    svg = forest_plot(yi, vi, [f"S{i}" for i in range(k)], meta_analysis(yi, vi), measure="SMD")
    height = float(re.search(r'height="([\d.]+)pt"', svg).group(1))
    assert height >= 72 * max(3.2, 0.24 * (k + 5) + 1.4) - 1
    assert f"S{k - 1}" in svg


@pytest.mark.parametrize("k", [FOREST_MAX_ROWS, FOREST_MAX_ROWS + 1, 20_000])
def test_forest_plot_past_max_rows_is_a_caterpillar_plot_of_fixed_size(k):
    """Up to FOREST_MAX_ROWS results one labelled row each; past it the results are sorted, unlabelled and drawn as
    one image, and the figure says why: the SVG stays small whatever k."""
    rng = np.random.default_rng(3)
    yi, vi = rng.normal(0.2, 0.3, k), rng.uniform(0.01, 0.2, k)
    res = meta_analysis(yi, vi)
    svg = forest_plot(yi, vi, [f"S{i}" for i in range(k)], res, measure="SMD", title=f"k = {k}")
    if k <= FOREST_MAX_ROWS:
        assert f"S{k - 1}" in svg and "<image" not in svg
        return
    assert ">S0<" not in svg and ">S0 " not in svg and "<image" in svg
    assert f"{k:,} results, sorted by estimate" in svg and "too many to label" in svg
    assert f"{res.estimate:.2f} [{res.ci_lb:.2f}, {res.ci_ub:.2f}]" in svg
    assert len(svg) < 150_000
    assert svg == forest_plot(yi, vi, [f"S{i}" for i in range(k)], res, measure="SMD", title=f"k = {k}")


@pytest.mark.parametrize("k", [CATERPILLAR_MAX_LINES, CATERPILLAR_MAX_LINES + 1])
def test_caterpillar_plot_shades_intervals_past_max_lines_and_says_so(k):
    rng = np.random.default_rng(5)
    yi, vi = rng.normal(0.2, 0.3, k), rng.uniform(0.01, 0.2, k)
    svg = forest_plot(yi, vi, [f"S{i}" for i in range(k)], meta_analysis(yi, vi), measure="SMD")
    shaded = k > CATERPILLAR_MAX_LINES
    assert ("share of results whose 95%" in svg) is shaded
    assert ("one line per result: its estimate" in svg) is not shaded
    assert len(svg) < 150_000


def test_interval_image_shades_by_the_share_of_intervals_covering_each_cell():
    from matplotlib.figure import Figure

    # 4 sorted results in 2 bands of 2 (IMAGE_ROWS is larger), on an axis [0, 8) cut into IMAGE_COLS cells
    ax = Figure().subplots()
    lb, ub = np.array([0.5, 2.5, 4.5, 4.5]), np.array([1.5, 3.5, 7.5, 5.5])
    est, y = np.array([1.0, 3.0, 5.0, 5.0]), np.arange(1.0, 5.0)
    import emmie.effect.plots as plots

    old = plots.IMAGE_ROWS, plots.IMAGE_COLS
    plots.IMAGE_ROWS, plots.IMAGE_COLS = 2, 8
    try:
        interval_image(ax, lb, ub, est, y, "#000000", (0.0, 8.0), shade=0.5)
    finally:
        plots.IMAGE_ROWS, plots.IMAGE_COLS = old
    (image,) = ax.get_images()
    alpha = np.asarray(image.get_array())[..., 3]
    # band 0 (results 1-2): cells 0-1 and 2-3 each covered by 1 of 2 intervals, and hold 1 of 2 estimates -> solid
    np.testing.assert_allclose(alpha[0], [0.25, 1.0, 0.25, 1.0, 0, 0, 0, 0])
    # band 1: cells 4-5 covered by both, 6-7 by one; cell 5 holds both estimates
    np.testing.assert_allclose(alpha[1], [0, 0, 0, 0, 0.5, 1.0, 0.25, 0.25])
    assert image.get_extent() == [0.0, 8.0, 0.5, 4.5]


@pytest.mark.parametrize("k", [FUNNEL_MAX_POINTS, FUNNEL_MAX_POINTS + 1, 50_000])
def test_funnel_plot_past_max_points_draws_them_as_an_image(k):
    rng = np.random.default_rng(4)
    yi, vi = rng.normal(0.2, 0.3, k), rng.uniform(0.01, 0.2, k)
    svg = funnel_plot(yi, vi, meta_analysis(yi, vi))
    assert ("<image" in svg) is (k > FUNNEL_MAX_POINTS)
    assert len(svg) < (150_000 if k > FUNNEL_MAX_POINTS else 200_000)


def test_funnel_contours_are_normal_quantiles():
    c = funnel_contours(0.8, n=3)
    assert set(c["p"]) == {0.10, 0.05, 0.01}
    row = c[(c["p"] == 0.05) & (c["se"] == 0.8)].iloc[0]
    assert row["ub"] == pytest.approx(1.959964 * 0.8, rel=1e-6)
    assert row["lb"] == pytest.approx(-1.959964 * 0.8, rel=1e-6)
    assert c[(c["p"] == 0.10) & (c["se"] == 0.8)]["ub"].iloc[0] == pytest.approx(1.644854 * 0.8, rel=1e-6)
    assert c[(c["p"] == 0.01) & (c["se"] == 0.8)]["ub"].iloc[0] == pytest.approx(2.575829 * 0.8, rel=1e-6)


def test_funnel_data_regions_consistent_with_contours(bcg):
    yi, vi, _, _ = bcg
    res = meta_analysis(yi, vi)
    f = funnel_data(yi, vi, res)
    np.testing.assert_allclose(f["sei"], np.sqrt(vi))
    for _, r in f.iterrows():
        z = abs(r["yi"]) / r["sei"]
        if z >= 2.5758293:
            assert r["region"] == "p<0.01"
        elif z >= 1.959964:
            assert r["region"] == "0.01<=p<0.05"
        elif z >= 1.6448536:
            assert r["region"] == "0.05<=p<0.10"
        else:
            assert r["region"] == "p>=0.10"
    assert set(f["region"]) >= {"p<0.01", "p>=0.10"}
    assert f["estimate"].iloc[0] == pytest.approx(res.estimate)


def test_funnel_plot_svg(bcg):
    yi, vi, _, _ = bcg
    res = meta_analysis(yi, vi)
    svg = funnel_plot(yi, vi, res, measure="RR")
    assert svg == funnel_plot(yi, vi, res, measure="RR")
    assert "<title>Contour-enhanced funnel plot (k = 13)</title>" in svg
    assert "p &lt; 0.01" in svg and "Pooled estimate" in svg
    plain = funnel_plot(yi, vi, res, contour=False)
    assert "p &lt; 0.01" not in plain


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-3, 3), st.floats(0.001, 2.0)),
        min_size=2,
        max_size=25,
    )
)
def test_forest_data_properties(pairs):
    yi = np.array([p[0] for p in pairs])
    vi = np.array([p[1] for p in pairs])
    res = meta_analysis(yi, vi)
    data = forest_data(yi, vi, [f"s{i}" for i in range(len(yi))], res, measure="OR")
    study = data[data["row"] == "study"]
    assert study["weight"].sum() == pytest.approx(100.0)
    assert (study["weight"] > 0).all()
    assert (study["lb"] <= study["est"]).all() and (study["est"] <= study["ub"]).all()
    summ = data[data["row"] == "summary"].iloc[0]
    assert summ["ci_lb"] <= summ["yi"] <= summ["ci_ub"]
    assert yi.min() - 1e-9 <= summ["yi"] <= yi.max() + 1e-9
