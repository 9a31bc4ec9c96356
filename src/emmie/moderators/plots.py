"""Bubble plot of a meta-regression on a continuous moderator, as SVG text.

References
----------
Thompson, S. G., & Higgins, J. P. T. (2002). How should meta-regression analyses be undertaken and interpreted?
    Statistics in Medicine, 21, 1559-1573.
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw, 36(3) (``regplot``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from emmie.effect.plots import (
    FUNNEL_MAX_POINTS,
    MEASURE_LABELS,
    OKABE_ITO,
    RATIO_MEASURES,
    figure_to_svg,
    new_figure,
)
from emmie.moderators.regression import ModeratorRegression


def bubble_data(
    yi: Sequence[float], vi: Sequence[float], x: Sequence[float], fit: ModeratorRegression, *, n_line: int = 101
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The points and the fitted line of a bubble plot.

    Returns
    -------
    (points, line)
        ``points``: ``x, yi, vi, weight`` (percent, ``1 / (v_i + tau^2)`` with the residual tau^2);
        ``line``: ``x, pred, se, ci_lb, ci_ub`` over the range of ``x`` (:meth:`ModeratorRegression.predict`).

    References
    ----------
    Viechtbauer (2010), ``regplot``.
    """
    xs = np.asarray(x, dtype=float)
    v = np.asarray(vi, dtype=float)
    w = 1.0 / (v + fit.fit.tau2)
    points = pd.DataFrame({"x": xs, "yi": np.asarray(yi, dtype=float), "vi": v, "weight": 100 * w / w.sum()})
    grid = np.linspace(float(xs.min()), float(xs.max()), n_line)
    return points, fit.predict(grid)


def bubble_plot(
    yi: Sequence[float],
    vi: Sequence[float],
    x: Sequence[float],
    fit: ModeratorRegression,
    *,
    measure: str = "GEN",
    xlabel: str | None = None,
    title: str | None = None,
) -> str:
    """Bubble plot: studies as circles with area proportional to weight, the fitted line and its CI band.

    Parameters
    ----------
    yi, vi, x : array-like
        Effect sizes, sampling variances and moderator values (as given to the regression).
    fit : ModeratorRegression
        Result of :func:`emmie.moderators.moderator_regression` on a continuous moderator.
    measure : str
        Measure of ``yi`` (axis label; ratio measures are plotted on the log scale).
    xlabel, title : str, optional
        Axis label (default the moderator name) and figure title (also the SVG ``<title>``).

    Returns
    -------
    str
        SVG document.

    References
    ----------
    Thompson & Higgins (2002); Viechtbauer (2010), ``regplot``.
    """
    points, line = bubble_data(yi, vi, x, fit)
    title = title or f"Meta-regression on {fit.moderator} (k = {len(points)})"
    fig = new_figure(6.0, 4.4)
    ax = fig.add_axes((0.12, 0.13, 0.56, 0.74))  # the legend goes to the right of the axes, the fit above them
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    accent = OKABE_ITO["blue"]
    ax.fill_between(
        line["x"],
        line["ci_lb"],
        line["ci_ub"],
        color=OKABE_ITO["sky_blue"],
        alpha=0.35,
        lw=0,
        label=f"{round(100 * fit.fit.level)}% CI",
    )
    ax.plot(line["x"], line["pred"], color=accent, lw=1.4, label="Fitted mean effect")
    sizes = 15 + 400 * points["weight"] / points["weight"].max()
    ax.scatter(
        points["x"],
        points["yi"],
        s=sizes,
        facecolor="none",
        edgecolor=OKABE_ITO["black"],
        lw=0.8,
        label="Studies (area \u221d weight)",
        rasterized=len(points) > FUNNEL_MAX_POINTS,  # as the funnel plot: many points are drawn as one image
    )
    ax.axhline(0.0, color=OKABE_ITO["grey"], lw=0.8, ls=":")
    label = MEASURE_LABELS.get(measure, measure)
    ax.set_ylabel(f"log {label.lower()}" if measure in RATIO_MEASURES else label)
    ax.set_xlabel(xlabel or fit.moderator)
    slope, p = fit.fit.coef[1], fit.fit.coef_pval[1]
    perm = f", permutation p = {fit.permutation.qm_pval:.3g}" if fit.permutation is not None else ""
    test = "Knapp-Hartung" if fit.fit.test == "knha" else "z"
    ax.text(
        0.0,
        1.02,
        f"slope = {slope:.3g} ({test} p = {p:.3g}{perm}); R\u00b2 = {fit.fit.r2:.0f}%",
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontsize=7,
    )
    # Beside the axes, not over the points.
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize=7, markerscale=0.5)
    fig.suptitle(title, x=0.02, ha="left", fontsize=9, fontweight="bold")
    return figure_to_svg(fig, title)
