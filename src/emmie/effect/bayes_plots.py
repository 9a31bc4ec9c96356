"""Figures of a Bayesian meta-analysis, returned as SVG text.

Byte-reproducible: fixed ``svg.hashsalt``, text as paths, no date in the metadata. Colours are Okabe-Ito
(colour-blind safe). No pyplot: figures are built with :class:`matplotlib.figure.Figure`, so no global backend
state is touched.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from scipy import stats

from ..errors import AnalysisError
from ..figures import to_svg
from .bayes import BayesResult, tau_prior_pdf
from .names import prior_name
from .plots import CATERPILLAR_MAX_LINES, FOREST_MAX_ROWS, RASTER_DPI, interval_image

# Okabe & Ito (2008), "Color Universal Design".
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
GREEN = "#009E73"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
GREY = "#999999"

_RC = {"font.size": 9}


def _to_svg(fig: Figure) -> str:
    return to_svg(fig, rc={**_RC, "savefig.dpi": RASTER_DPI})


def prior_posterior_plot(result: BayesResult) -> str:
    """Prior and posterior densities of the mean effect mu and of the heterogeneity tau.

    Parameters
    ----------
    result : BayesResult

    Returns
    -------
    str
        SVG text.
    """
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(8.0, 3.0))
        ax_mu, ax_tau = fig.subplots(1, 2)

        lo, hi = (float(q) for q in result.mu_quantile([0.0005, 0.9995]))
        pad = 0.15 * (hi - lo)
        x = np.linspace(lo - pad, hi + pad, 400)
        ax_mu.plot(x, result.mu_pdf(x), color=BLUE, lw=1.8, label="posterior")
        ax_mu.plot(
            x, stats.norm.pdf(x, result.mu_prior_mean, result.mu_prior_sd), color=ORANGE, lw=1.5, ls="--", label="prior"
        )
        for bound in (result.mu_ci_lb, result.mu_ci_ub):
            ax_mu.axvline(bound, color=BLUE, lw=0.8, ls=":")
        ax_mu.axvline(0.0, color=GREY, lw=0.8)
        ax_mu.set_xlabel("mean effect \u03bc")
        ax_mu.set_ylabel("density")
        ax_mu.set_title(f"\u03bc: posterior and prior ({100 * result.level:g}% interval dotted)", fontsize=9)
        ax_mu.legend(frameon=False)

        # Up to about the upper interval bound: heavy-tailed posteriors (half-Cauchy, k = 1) would flatten the plot.
        t_max = min(float(result.tau_grid[-1]), max(1.5 * result.tau_ci_ub, 3.0 * result.tau_scale))
        t = np.linspace(0.0, t_max, 400)
        ax_tau.plot(t, result.tau_pdf(t), color=BLUE, lw=1.8, label="posterior")
        ax_tau.plot(
            t,
            tau_prior_pdf(t, tau_prior=result.tau_prior, tau_scale=result.tau_scale),
            color=ORANGE,
            lw=1.5,
            ls="--",
            label=f"prior: {prior_name(result.tau_prior)}({result.tau_scale:g})",
        )
        ax_tau.axvline(result.tau_median, color=BLUE, lw=0.8, ls=":")
        ax_tau.set_xlim(0.0, t_max)
        ax_tau.set_ylim(bottom=0.0)
        ax_tau.set_xlabel("heterogeneity \u03c4 (between-study SD)")
        ax_tau.set_title("\u03c4: posterior and prior (median dotted)", fontsize=9)
        ax_tau.legend(frameon=False)
        for ax in (ax_mu, ax_tau):
            ax.spines[["top", "right"]].set_visible(False)
        fig.tight_layout()
        return _to_svg(fig)


def bayes_forest_plot(result: BayesResult, labels: Sequence[str], *, xlabel: str = "effect size") -> str:
    """Forest plot: observed effects and shrunken study effects, the pooled mean and the prediction interval.

    Each study shows its observed ``yi`` with a ``level`` confidence interval (``yi +/- z sqrt(vi)``, black
    square) and, below it, its shrunken (posterior) effect with a credible interval (blue circle). The diamond is
    the posterior of the mean effect mu; the green bar is the predictive interval for a new study's effect.

    Parameters
    ----------
    result : BayesResult
    labels : sequence of str
        One label per study, in the order of ``result.yi``.
    xlabel : str
        Label of the effect-size axis (e.g. ``"log odds ratio"``).

    Returns
    -------
    str
        SVG text.

    References
    ----------
    Roever C (2020). Bayesian random-effects meta-analysis using the bayesmeta R package. Journal of Statistical
    Software 93(6):1-51 (forest plot with shrinkage estimates). doi:10.18637/jss.v093.i06.
    """
    labels = [str(label) for label in labels]
    if len(labels) != result.k:
        raise AnalysisError(f"bayes_forest_plot: {len(labels)} labels for {result.k} studies")
    if result.k > FOREST_MAX_ROWS:
        return _bayes_caterpillar(result, xlabel=xlabel)
    z = stats.norm.ppf(0.5 + result.level / 2.0)
    half = z * np.sqrt(result.vi)
    th = result.theta
    k = result.k
    rows = np.arange(k, 0, -1) + 1.5  # top to bottom; rows 1 and 0 hold the pooled mean and the prediction

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.5, 0.32 * (k + 3) + 0.9))
        ax = fig.subplots()
        ax.hlines(rows + 0.15, result.yi - half, result.yi + half, color=BLACK, lw=1.0)
        ax.plot(result.yi, rows + 0.15, "s", color=BLACK, ms=4, label=f"observed ({100 * result.level:g}% CI)")
        ax.hlines(rows - 0.15, th["lb"], th["ub"], color=BLUE, lw=1.0)
        ax.plot(th["mean"], rows - 0.15, "o", color=BLUE, ms=4, label="shrunken (posterior)")
        mid = result.mu_median
        ax.fill(
            [result.mu_ci_lb, mid, result.mu_ci_ub, mid],
            [1.0, 1.3, 1.0, 0.7],
            color=VERMILLION,
            label="mean effect \u03bc",
        )
        ax.hlines(0.0, result.pred_lb, result.pred_ub, color=GREEN, lw=2.5, label="prediction (new study)")
        ax.axvline(0.0, color=GREY, lw=0.8, ls="--")
        ax.set_yticks([*rows, 1.0, 0.0], [*labels, "Mean effect (\u03bc)", "Prediction"])
        ax.set_ylim(-0.8, rows[0] + 0.8 if k else 2.0)
        return _finish(fig, ax, result, xlabel, f"k = {k}")


def _finish(fig: Figure, ax, result: BayesResult, xlabel: str, size: str) -> str:  # noqa: ANN001
    """Axis, legend and title shared by the Bayesian forest plot and its caterpillar form; the SVG text."""
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(axis="y", length=0)
    height = fig.get_figheight()
    fig.legend(loc="lower center", ncol=4, frameon=False, fontsize=8)
    ax.set_title(
        f"Bayesian random-effects meta-analysis ({size}; \u03c4 ~ "
        f"{prior_name(result.tau_prior)}({result.tau_scale:g}))",
        fontsize=9,
    )
    fig.tight_layout(rect=(0.0, 0.3 / height, 1.0, 1.0))
    return _to_svg(fig)


def _lines(lb: np.ndarray, ub: np.ndarray, y: np.ndarray, colour: str, width: float) -> LineCollection:
    """Horizontal intervals as one collection drawn as an image (``hlines`` goes through masked arrays: minutes at
    k = 100,000)."""
    lines = LineCollection(
        np.stack([np.column_stack([lb, y]), np.column_stack([ub, y])], axis=1),
        colors=colour,
        linewidths=width,
        alpha=0.35 if len(y) <= 1_000 else 0.1,  # thousands of intervals: faint, so that their density shows
    )
    lines.set_rasterized(True)
    return lines


def _bayes_caterpillar(result: BayesResult, *, xlabel: str) -> str:
    """:func:`bayes_forest_plot` past :data:`~emmie.effect.plots.FOREST_MAX_ROWS` studies: each study's observed
    effect (black) and shrunken effect (blue) with their intervals, sorted by the observed effect, unlabelled and
    drawn as one image, so that the figure keeps its size whatever the number of studies."""
    k = result.k
    z = stats.norm.ppf(0.5 + result.level / 2.0)
    order = np.argsort(result.yi, kind="stable")
    yi, half = np.asarray(result.yi)[order], z * np.sqrt(np.asarray(result.vi)[order])
    th = {key: np.asarray(result.theta[key])[order] for key in ("mean", "lb", "ub")}
    band = max(0.08 * k, 1.5)
    rows = np.arange(1, k + 1, dtype=float) + band
    thin = k > 500
    observed, shrunken = f"observed ({100 * result.level:g}% CI)", "shrunken (posterior)"
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.5, 6.2))
        ax = fig.subplots()
        if k > CATERPILLAR_MAX_LINES:  # shaded by how many intervals cover each point (see interval_image)
            ends = np.concatenate([yi - half, yi + half, th["lb"], th["ub"], [0.0, result.pred_lb, result.pred_ub]])
            ends = ends[np.isfinite(ends)]
            pad = 0.05 * max(float(np.ptp(ends)), 1e-9)
            xlim = (float(ends.min()) - pad, float(ends.max()) + pad)
            interval_image(ax, yi - half, yi + half, yi, rows, BLACK, xlim, shade=0.45)
            interval_image(ax, th["lb"], th["ub"], th["mean"], rows, BLUE, xlim, shade=0.45)
            ax.set_xlim(*xlim)
            for colour, label in ((BLACK, observed), (BLUE, shrunken)):  # legend entries for the two images
                ax.scatter([], [], s=12, marker="s", color=colour, label=label)
        else:
            ax.add_collection(_lines(yi - half, yi + half, rows, BLACK, 0.4 if thin else 0.8))
            ax.scatter(yi, rows, s=2 if thin else 5, color=BLACK, linewidths=0, rasterized=True, label=observed)
            ax.add_collection(_lines(th["lb"], th["ub"], rows, BLUE, 0.4 if thin else 0.8))
            ax.scatter(th["mean"], rows, s=2 if thin else 5, color=BLUE, linewidths=0, rasterized=True, label=shrunken)
        mid = result.mu_median
        y_mu, y_pred = 0.65 * band, 0.25 * band
        ax.fill(
            [result.mu_ci_lb, mid, result.mu_ci_ub, mid],
            [y_mu, y_mu + 0.2 * band, y_mu, y_mu - 0.2 * band],
            color=VERMILLION,
            label="mean effect \u03bc",
        )
        ax.hlines(y_pred, result.pred_lb, result.pred_ub, color=GREEN, lw=2.5, label="prediction (new study)")
        ax.axvline(0.0, color=GREY, lw=0.8, ls="--")
        ax.set_yticks(
            [y_pred, y_mu, float(rows[len(rows) // 2])],
            ["Prediction", "Mean effect (\u03bc)", "Studies,\nsorted by\nobserved effect"],
        )
        ax.set_ylim(0.0, rows[-1] + 1.0)
        size = f"k = {k:,}, too many to label"
        if k > CATERPILLAR_MAX_LINES:
            size += ";\nshade: the share of the intervals that cover a point, darkest where the estimates lie"
        return _finish(fig, ax, result, xlabel, size)
