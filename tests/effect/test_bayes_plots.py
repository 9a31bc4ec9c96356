"""Bayesian figures: valid, byte-reproducible SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from emmie.effect.bayes import bayesian_meta_analysis
from emmie.effect.bayes_plots import bayes_forest_plot, prior_posterior_plot
from emmie.errors import EmmieError

YI = [-0.94, -1.67, -1.39, -1.46, -0.22]
VI = [0.357, 0.208, 0.433, 0.020, 0.052]


@pytest.fixture(scope="module")
def results():
    return [
        bayesian_meta_analysis(YI, VI, mu_prior_sd=4.0, tau_scale=0.5),
        bayesian_meta_analysis(YI[:1], VI[:1], mu_prior_sd=4.0, tau_prior="half_cauchy", tau_scale=0.5),
    ]


def _is_svg(text: str) -> bool:
    return ET.fromstring(text.encode()).tag.endswith("svg")


def test_prior_posterior_plot_is_reproducible_svg(results):
    for res in results:
        svg = prior_posterior_plot(res)
        assert _is_svg(svg)
        assert svg == prior_posterior_plot(res)
        assert "<dc:date>" not in svg
    assert prior_posterior_plot(results[0]) != prior_posterior_plot(results[1])


def test_forest_plot_is_reproducible_svg(results):
    res = results[0]
    labels = [f"Study {i}" for i in range(1, 6)]
    svg = bayes_forest_plot(res, labels, xlabel="log odds ratio")
    assert _is_svg(svg) and svg == bayes_forest_plot(res, labels, xlabel="log odds ratio")
    assert svg != bayes_forest_plot(res, [*labels[:4], "Other"], xlabel="log odds ratio")
    assert _is_svg(bayes_forest_plot(results[1], ["Only study"]))
    with pytest.raises(EmmieError, match="labels"):
        bayes_forest_plot(res, labels[:3])


@pytest.mark.parametrize("k", [100, 101, 2_000, 2_001])
def test_bayes_forest_plot_labels_then_draws_then_shades_as_k_grows(k):
    """Up to FOREST_MAX_ROWS studies one labelled row each; then one line per study, unlabelled; past
    CATERPILLAR_MAX_LINES the intervals are shaded, and the title says what the shade means."""

    rng = np.random.default_rng(6)
    yi, vi = rng.normal(0.2, 0.3, k), rng.uniform(0.01, 0.2, k)
    res = bayesian_meta_analysis(yi, vi, mu_prior_sd=1.0, tau_scale=0.5)
    svg = bayes_forest_plot(res, [f"S{i}" for i in range(k)], xlabel="SMD")
    assert (f">S{k - 1}<" in svg) is (k <= 100)
    assert ("too many to label" in svg) is (k > 100)
    assert ("the share of the intervals that cover a point" in svg) is (k > 2_000)
    assert len(svg) < 150_000
