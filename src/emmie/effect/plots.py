"""Forest and contour-enhanced funnel plots of a meta-analysis, as SVG text.

Each plot has a ``*_data`` function that returns exactly what is drawn, so tests
(and readers) check numbers rather than pictures. Figures are byte-reproducible:
fixed ``svg.hashsalt``, no date metadata, text kept as text.

References
----------
Lewis, S., & Clarke, M. (2001). Forest plots: trying to see the wood and the trees. BMJ, 322, 1479-1480.
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw, 36(3), 1-48.
Peters, J. L., Sutton, A. J., Jones, D. R., Abrams, K. R., & Rushton, L. (2008). Contour-enhanced meta-analysis
    funnel plots help distinguish publication bias from other causes of asymmetry. J Clin Epidemiol, 61, 991-996.
Sterne, J. A. C., & Egger, M. (2001). Funnel plots for detecting bias in meta-analysis. J Clin Epidemiol, 54,
    1046-1055.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402
from scipy import stats  # noqa: E402

from emmie.figures import OKABE_ITO, SVG_RC, to_svg  # noqa: E402

# Okabe & Ito (2008) colour-blind-safe palette.

RATIO_MEASURES = ("OR", "RR", "ROM")

MEASURE_LABELS = {
    "OR": "Odds ratio",
    "RR": "Risk ratio",
    "ROM": "Ratio of means",
    "RD": "Risk difference",
    "MD": "Mean difference",
    "SMD": "Standardised mean difference (Hedges' g)",
    "COR": "Correlation",
    "ZCOR": "Fisher's z (correlation)",
    "PCOR": "Partial correlation",
    "GEN": "Effect size",
    "PROP": "Proportion",
}

TEST_LABELS = {"z": "z", "knha": "Knapp-Hartung", "t": "t", "cr2": "CR2"}

PLOT_RC = {
    "font.size": 8.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


#: A forest plot draws one labelled row per result. Past this many rows it cannot be read row by row and its SVG
#: grows by about 1.3 KB a row (a million results made a 374 MB page), so it becomes a caterpillar plot: the
#: results sorted by estimate, unlabelled, their intervals drawn as one image of fixed size. The numbers of every
#: result are in the stage's ``effect_sizes.csv``.
FOREST_MAX_ROWS = 100
#: Past this many points a funnel plot draws its points as an image (an SVG marker is about 100 bytes a point).
FUNNEL_MAX_POINTS = 1_000
#: Resolution of the parts of a figure drawn as an image.
RASTER_DPI = 80
#: Past this many results a caterpillar plot shades its intervals (:func:`interval_image`) instead of drawing one
#: line each: matplotlib builds one path object per line (3 s for 200,000 lines), and a few hundred pixel rows cannot
#: show more lines than this apart anyway.
CATERPILLAR_MAX_LINES = 2_000
#: Rows and columns of the shaded image of :func:`interval_image`.
IMAGE_ROWS, IMAGE_COLS = 500, 800


def interval_image(
    ax: Any,
    lb: np.ndarray,
    ub: np.ndarray,
    est: np.ndarray,
    y: np.ndarray,
    colour: str,
    xlim: tuple[float, float],
    *,
    shade: float = 0.6,
) -> None:
    """Many sorted results' intervals as one image on ``ax``: every result counts, none is drawn alone.

    The results (in plot order, row ``y``) are cut into at most :data:`IMAGE_ROWS` bands of consecutive results;
    each cell of a band is shaded by the share of the band's results whose interval covers it (``shade`` at full
    cover), and a cell is darker the more of the band's estimates it holds (solid from a quarter), so sorted
    estimates form the plot's spine as the dots do when each result is drawn."""
    x0, x1 = xlim
    ok = np.isfinite(lb) & np.isfinite(ub) & np.isfinite(est)
    lb, ub, est, y = lb[ok], ub[ok], est[ok], y[ok]
    k = len(y)
    if k == 0 or not x1 > x0:
        return
    nb, nx = min(k, IMAGE_ROWS), IMAGE_COLS
    band = (np.arange(k) * nb) // k
    dx = (x1 - x0) / nx

    def col(x: np.ndarray) -> np.ndarray:
        return np.clip(np.floor((x - x0) / dx), 0, nx - 1).astype(np.int64)

    edges = np.zeros(nb * (nx + 1))
    edges += np.bincount(band * (nx + 1) + col(lb), minlength=nb * (nx + 1))
    edges -= np.bincount(band * (nx + 1) + col(ub) + 1, minlength=nb * (nx + 1))
    size = np.bincount(band, minlength=nb)[:, None]
    cover = np.cumsum(edges.reshape(nb, nx + 1)[:, :nx], axis=1) / size
    share = np.bincount(band * nx + col(est), minlength=nb * nx).reshape(nb, nx) / size
    rgba = np.zeros((nb, nx, 4))
    rgba[..., :3] = to_rgb(colour)
    # a cell holding a quarter or more of its band's estimates is solid; the interval shading shows through elsewhere
    rgba[..., 3] = np.maximum(shade * np.clip(cover, 0.0, 1.0), np.clip(4.0 * share, 0.0, 1.0))
    ax.imshow(
        rgba,
        extent=(x0, x1, float(y[0]) - 0.5, float(y[-1]) + 0.5),
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        zorder=2,
        rasterized=True,
    )


def figure_to_svg(fig: Figure, title: str) -> str:
    """Reproducible SVG with a ``<title>``, in the plots' house style (see :func:`emmie.figures.to_svg`)."""
    return to_svg(fig, title=title, tight=False, rc={**PLOT_RC, "savefig.dpi": RASTER_DPI})


def new_figure(width: float, height: float) -> Figure:
    """A figure not registered with pyplot (no global state), styled for SVG output."""
    with matplotlib.rc_context({**SVG_RC, **PLOT_RC}):
        return Figure(figsize=(width, height))


def default_transf(measure: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """The back-transformation used to display a measure (``exp`` for ratio measures, else none)."""
    return np.exp if measure in RATIO_MEASURES else None


def _get(result: Any, name: str, default: float = np.nan) -> float:
    value = getattr(result, name, default)
    return float(value) if value is not None else float(default)


def study_weights(vi: np.ndarray, tau2: float) -> np.ndarray:
    """Inverse-variance weights in percent, ``100 w_i / sum(w)`` with ``w_i = 1 / (v_i + tau^2)``.

    References
    ----------
    Viechtbauer (2010), ``weights.rma.uni``.
    """
    w = 1.0 / (np.asarray(vi, dtype=float) + max(float(tau2), 0.0))
    return 100.0 * w / w.sum()


def _fmt(x: float, digits: int = 2) -> str:
    return "NA" if not np.isfinite(x) else f"{x:.{digits}f}"


def forest_data(
    yi: Sequence[float],
    vi: Sequence[float],
    labels: Sequence[str],
    result: Any,
    *,
    measure: str,
    transf: Callable[[np.ndarray], np.ndarray] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """The numbers a forest plot draws, one row per study plus the summary and prediction rows.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances on the analysis scale (as given to the meta-analysis).
    labels : sequence of str
        Study labels, in the order of ``yi``.
    result : meta-analysis result
        Any object with ``estimate, ci_lb, ci_ub, tau2`` and optionally ``pi_lb, pi_ub``
        (e.g. :func:`emmie.effect.meta_analysis`).
    measure : str
        Effect-size measure; ratio measures (OR, RR, ROM) are displayed exponentiated.
    transf : callable, optional
        Display transformation of estimates and limits; default ``exp`` for ratio measures, else identity.
    level : float
        Confidence level of the per-study intervals (normal quantile, as metafor's ``forest``).

    Returns
    -------
    pandas.DataFrame
        Columns ``row`` (study / summary / prediction), ``label``, ``yi``, ``vi``, ``ci_lb``, ``ci_ub``
        (analysis scale), ``weight`` (percent; NaN for non-study rows), ``est``, ``lb``, ``ub`` (display scale)
        and ``text`` ("est [lb, ub]").

    References
    ----------
    Lewis & Clarke (2001); Viechtbauer (2010), ``forest.rma``.
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    if not (len(yi) == len(vi) == len(labels)):
        raise ValueError("yi, vi and labels must have the same length")
    if transf is None:
        transf = default_transf(measure)
    show = transf if transf is not None else (lambda x: x)
    z = stats.norm.ppf(0.5 + level / 2)
    half = z * np.sqrt(vi)
    rows = pd.DataFrame(
        {
            "row": "study",
            "label": [str(s) for s in labels],
            "yi": yi,
            "vi": vi,
            "ci_lb": yi - half,
            "ci_ub": yi + half,
            # a model whose weights are not 1 / (vi + tau^2) (a multilevel model) gives them as study_weights
            "weight": np.asarray(result.study_weights, dtype=float)
            if getattr(result, "study_weights", None) is not None
            else study_weights(vi, _get(result, "tau2", 0.0)),
        }
    )
    summary = {
        "row": "summary",
        "label": "Pooled estimate",
        "yi": _get(result, "estimate"),
        "vi": _get(result, "se") ** 2,
        "ci_lb": _get(result, "ci_lb"),
        "ci_ub": _get(result, "ci_ub"),
        "weight": np.nan,
    }
    extra = [summary]
    pi_lb, pi_ub = _get(result, "pi_lb"), _get(result, "pi_ub")
    if np.isfinite(pi_lb) and np.isfinite(pi_ub):
        extra.append(
            {
                "row": "prediction",
                "label": "Prediction interval",
                "yi": summary["yi"],
                "vi": np.nan,
                "ci_lb": pi_lb,
                "ci_ub": pi_ub,
                "weight": np.nan,
            }
        )
    frame = pd.concat([rows, pd.DataFrame(extra)], ignore_index=True)
    frame["est"] = show(frame["yi"].to_numpy())
    frame["lb"] = show(frame["ci_lb"].to_numpy())
    frame["ub"] = show(frame["ci_ub"].to_numpy())
    frame["text"] = [
        f"{_fmt(e)} [{_fmt(lo)}, {_fmt(hi)}]" for e, lo, hi in zip(frame["est"], frame["lb"], frame["ub"], strict=True)
    ]
    return frame


def _ratio_ticks(lo: float, hi: float) -> list[float]:
    candidates = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
    ticks = [np.log(c) for c in candidates if lo <= np.log(c) <= hi]
    if len(ticks) > 7:
        keep = {0.01, 0.1, 0.5, 1.0, 2.0, 10.0, 100.0}
        ticks = [np.log(c) for c in candidates if c in keep and lo <= np.log(c) <= hi]
    return ticks


def _effect_axis(ax: Any, measure: str, transf: Callable | None, lo: float, hi: float) -> None:
    """The effect axis of a forest plot: ratio measures on a log axis labelled in exponentiated units."""
    if measure in RATIO_MEASURES and (transf is None or transf is np.exp):
        ax.xaxis.set_major_locator(FixedLocator(_ratio_ticks(lo, hi)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{np.exp(x):g}"))
        ax.set_xlabel(f"{MEASURE_LABELS.get(measure, measure)} (log scale)")
    else:
        ax.set_xlabel(MEASURE_LABELS.get(measure, measure))


def favours_labels(desirable: str) -> tuple[str, str]:
    """(left, right) labels under the axis: the desirable side favours the intervention."""
    if desirable not in ("higher", "lower"):
        raise ValueError(f"desirable must be 'higher' or 'lower', got {desirable!r}")
    if desirable == "higher":
        return "Favours comparison", "Favours intervention"
    return "Favours intervention", "Favours comparison"


def forest_plot(
    yi: Sequence[float],
    vi: Sequence[float],
    labels: Sequence[str],
    result: Any,
    *,
    measure: str,
    transf: Callable[[np.ndarray], np.ndarray] | None = None,
    weights: bool = True,
    level: float = 0.95,
    desirable: str = "higher",
    title: str | None = None,
) -> str:
    """Forest plot in metafor's style, as SVG text.

    One row per study (square sized by weight, confidence-interval whiskers, weight and
    "estimate [lower, upper]" text columns), the pooled estimate as a diamond, the prediction
    interval as a dotted bar under it, a reference line at the null and "favours" labels set by
    the outcome's desirable direction. Ratio measures are drawn on a log axis labelled in
    exponentiated units. The height grows with the number of studies.

    Parameters
    ----------
    yi, vi, labels, result, measure, transf, level
        As :func:`forest_data`.
    weights : bool
        Show the weight column.
    desirable : {"higher", "lower"}
        Which sign of the effect is a benefit; sets the "favours" labels.
    title : str, optional
        Title of the figure (also the SVG ``<title>``).

    Returns
    -------
    str
        SVG document.

    References
    ----------
    Lewis & Clarke (2001); Viechtbauer (2010), ``forest.rma`` and ``addpred``.
    """
    if len(yi) > FOREST_MAX_ROWS:
        return caterpillar_plot(
            yi, vi, result, measure=measure, transf=transf, level=level, desirable=desirable, title=title
        )
    data = forest_data(yi, vi, labels, result, measure=measure, transf=transf, level=level)
    left_label, right_label = favours_labels(desirable)
    study = data[data["row"] == "study"]
    k = len(study)
    pct = round(100 * level)
    title = title or f"Forest plot ({MEASURE_LABELS.get(measure, measure)}, k = {k})"

    row_h = 0.24
    height = max(3.2, row_h * (k + 5) + 1.4)
    fig = new_figure(9.5, height)
    bottom = 1.05 / height
    top = 1 - 0.55 / height
    ax = fig.add_axes((0.31, bottom, 0.39, top - bottom))

    y_study = np.arange(k, 0, -1, dtype=float) + 1.5
    y_summary = 0.5
    y_pred = -0.3
    ax.set_ylim(-0.9, k + 2.6)

    finite = np.concatenate([data["ci_lb"].to_numpy(), data["ci_ub"].to_numpy(), [0.0]])
    finite = finite[np.isfinite(finite)]
    lo, hi = float(finite.min()), float(finite.max())
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    ax.set_xlim(lo - pad, hi + pad)

    ink = OKABE_ITO["black"]
    accent = OKABE_ITO["blue"]
    ax.axvline(0.0, color=OKABE_ITO["grey"], lw=0.8, ls="-", zorder=0)
    w = study["weight"].to_numpy()
    sizes = 10 + 140 * w / np.nanmax(w) if weights and k else np.full(k, 30.0)
    ax.hlines(y_study, study["ci_lb"], study["ci_ub"], color=ink, lw=0.9)
    ax.scatter(study["yi"], y_study, s=sizes, marker="s", color=ink, zorder=3, linewidths=0)

    summ = data[data["row"] == "summary"].iloc[0]
    if np.isfinite(summ["yi"]):
        diamond = Polygon(
            [
                (summ["ci_lb"], y_summary),
                (summ["yi"], y_summary + 0.35),
                (summ["ci_ub"], y_summary),
                (summ["yi"], y_summary - 0.35),
            ],
            closed=True,
            facecolor=accent,
            edgecolor=accent,
            zorder=3,
        )
        ax.add_patch(diamond)
        ax.axvline(summ["yi"], color=accent, lw=0.6, ls="--", zorder=1)
    pred = data[data["row"] == "prediction"]
    if len(pred):
        p = pred.iloc[0]
        ax.hlines(y_pred, p["ci_lb"], p["ci_ub"], color=accent, lw=1.2, ls=":")
        ax.vlines([p["ci_lb"], p["ci_ub"]], y_pred - 0.15, y_pred + 0.15, color=accent, lw=1.0)

    ax.set_yticks([])
    for side in ("left", "top", "right"):
        ax.spines[side].set_visible(False)
    _effect_axis(ax, measure, transf, lo - pad, hi + pad)
    fig.text(0.31, 0.36 / height, f"\u2190 {left_label}", ha="left", va="bottom", fontsize=7.5, color=ink)
    fig.text(0.70, 0.36 / height, f"{right_label} \u2192", ha="right", va="bottom", fontsize=7.5, color=ink)

    text_tr = blended_transform_factory(fig.transFigure, ax.transData)
    col_label, col_weight, col_est = 0.02, 0.735, 0.98
    header_y = k + 2.1
    ax.text(col_label, header_y, "Study", transform=text_tr, ha="left", va="center", fontweight="bold")
    if weights:
        ax.text(col_weight, header_y, "Weight", transform=text_tr, ha="left", va="center", fontweight="bold")
    est_head = f"{'Estimate' if transf is None and measure not in RATIO_MEASURES else MEASURE_LABELS.get(measure, measure)} [{pct}% CI]"
    ax.text(col_est, header_y, est_head, transform=text_tr, ha="right", va="center", fontweight="bold")
    for y, (_, r) in zip(y_study, study.iterrows(), strict=True):
        ax.text(col_label, y, r["label"][:48], transform=text_tr, ha="left", va="center")
        if weights:
            ax.text(col_weight, y, f"{r['weight']:.1f}%", transform=text_tr, ha="left", va="center")
        ax.text(col_est, y, r["text"], transform=text_tr, ha="right", va="center", family="DejaVu Sans Mono")
    method = str(getattr(result, "method", ""))
    test = TEST_LABELS.get(str(getattr(result, "test", "")), str(getattr(result, "test", "")))
    model = "EE model" if method in ("EE", "FE") else "RE model"
    if getattr(result, "sigma2", None) is not None:
        model = "Multilevel model"
    summary_label = f"{model} ({method}, {test})" if method else model
    ax.text(col_label, y_summary, summary_label, transform=text_tr, ha="left", va="center", fontweight="bold")
    if weights:
        ax.text(col_weight, y_summary, "100%", transform=text_tr, ha="left", va="center", fontweight="bold")
    ax.text(
        col_est,
        y_summary,
        summ["text"],
        transform=text_tr,
        ha="right",
        va="center",
        fontweight="bold",
        family="DejaVu Sans Mono",
    )
    if len(pred):
        ax.text(col_label, y_pred, f"{pct}% prediction interval", transform=text_tr, ha="left", va="center")
        ax.text(
            col_est,
            y_pred,
            f"[{_fmt(pred.iloc[0]['lb'])}, {_fmt(pred.iloc[0]['ub'])}]",
            transform=text_tr,
            ha="right",
            va="center",
            family="DejaVu Sans Mono",
        )
    het = _heterogeneity_note(result)
    if het:
        fig.text(0.02, 0.10 / height, het, ha="left", va="bottom", fontsize=7, color=ink)
    fig.suptitle(title, x=0.02, ha="left", y=1 - 0.12 / height, va="top", fontsize=9, fontweight="bold")
    return figure_to_svg(fig, title)


def caterpillar_plot(
    yi: Sequence[float],
    vi: Sequence[float],
    result: Any,
    *,
    measure: str,
    transf: Callable[[np.ndarray], np.ndarray] | None = None,
    level: float = 0.95,
    desirable: str = "higher",
    title: str | None = None,
) -> str:
    """The forest plot of a large meta-analysis (more than :data:`FOREST_MAX_ROWS` results), as SVG text.

    One horizontal line per result (its ``level`` confidence interval) with a dot at its estimate, sorted by
    estimate from the smallest at the bottom, unlabelled; under them the pooled estimate as a diamond and the
    prediction interval as a dotted bar, as in :func:`forest_plot`. The results are drawn as one image
    (:data:`RASTER_DPI`), so the figure has the same size whatever the number of results.

    Parameters
    ----------
    yi, vi, result, measure, transf, level, desirable, title
        As :func:`forest_plot`.

    Returns
    -------
    str
        SVG document.

    References
    ----------
    Viechtbauer, W. metafor's "caterpillar plot" example (forest plot of a large number of studies, sorted by
    estimate).
    """
    yi = np.asarray(yi, dtype=float)
    vi = np.asarray(vi, dtype=float)
    k = len(yi)
    order = np.argsort(yi, kind="stable")
    z = stats.norm.ppf(0.5 + level / 2)
    half = z * np.sqrt(vi[order])
    est, lb, ub = yi[order], yi[order] - half, yi[order] + half
    pct = round(100 * level)
    title = title or f"Forest plot ({MEASURE_LABELS.get(measure, measure)}, k = {k})"
    left_label, right_label = favours_labels(desirable)
    height = 6.2
    fig = new_figure(9.5, height)
    ax = fig.add_axes((0.08, 1.25 / height, 0.62, 1 - 1.85 / height))
    band = max(0.06 * k, 1.0)  # room under the results for the pooled estimate and the prediction interval
    y = np.arange(1, k + 1, dtype=float) + band
    ink, accent = OKABE_ITO["black"], OKABE_ITO["blue"]
    estimate, ci_lb, ci_ub = _get(result, "estimate"), _get(result, "ci_lb"), _get(result, "ci_ub")
    pi_lb, pi_ub = _get(result, "pi_lb"), _get(result, "pi_ub")
    finite = np.concatenate([lb, ub, [0.0, ci_lb, ci_ub, pi_lb, pi_ub]])
    finite = finite[np.isfinite(finite)]
    lo, hi = float(finite.min()), float(finite.max())
    pad = 0.05 * (hi - lo if hi > lo else 1.0)
    ax.set_xlim(lo - pad, hi + pad)
    shaded = k > CATERPILLAR_MAX_LINES
    if shaded:
        interval_image(ax, lb, ub, est, y, ink, (lo - pad, hi + pad))
    else:
        lines = LineCollection(
            np.stack([np.column_stack([lb, y]), np.column_stack([ub, y])], axis=1),
            colors=ink,
            linewidths=0.9 if k <= 500 else 0.4,
            alpha=0.5 if k <= 1_000 else 0.15,
        )
        lines.set_rasterized(True)
        ax.add_collection(lines)
        ax.scatter(est, y, s=2 if k > 500 else 5, color=ink, linewidths=0, zorder=3, rasterized=True)
    ax.set_ylim(0, k + band + 1)
    ax.axvline(0.0, color=OKABE_ITO["grey"], lw=0.8, zorder=0)
    y_summary, y_pred = 0.62 * band, 0.25 * band
    if np.isfinite(estimate):
        ax.add_patch(
            Polygon(
                [
                    (ci_lb, y_summary),
                    (estimate, y_summary + 0.3 * band),
                    (ci_ub, y_summary),
                    (estimate, y_summary - 0.3 * band),
                ],
                closed=True,
                facecolor=accent,
                edgecolor=accent,
                zorder=4,
            )
        )
        ax.axvline(estimate, color=accent, lw=0.6, ls="--", zorder=1)
    if np.isfinite(pi_lb) and np.isfinite(pi_ub):
        ax.hlines(y_pred, pi_lb, pi_ub, color=accent, lw=1.2, ls=":")
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    show = transf if transf is not None else default_transf(measure)
    _effect_axis(ax, measure, transf, lo - pad, hi + pad)
    shown = show if show is not None else (lambda x: x)
    method = str(getattr(result, "method", ""))
    test = TEST_LABELS.get(str(getattr(result, "test", "")), str(getattr(result, "test", "")))
    text_x = 0.72
    lines_text = [
        (f"{k:,} results, sorted by estimate", "bold"),
        *(
            [
                (f"grey: the share of results whose {pct}%", "normal"),
                ("confidence interval covers a point;", "normal"),
                ("black line: their estimates;", "normal"),
            ]
            if shaded
            else [("one line per result: its estimate", "normal"), (f"and {pct}% confidence interval;", "normal")]
        ),
        ("too many to label: the note", "normal"),
        ("under the chart names the file", "normal"),
        ("with every result's numbers", "normal"),
        ("", "normal"),
        (f"RE model ({method}, {test})" if method else "RE model", "bold"),
        (
            f"{_fmt(float(shown(np.array([estimate]))[0]))} [{_fmt(float(shown(np.array([ci_lb]))[0]))}, "
            f"{_fmt(float(shown(np.array([ci_ub]))[0]))}]",
            "bold",
        ),
    ]
    if np.isfinite(pi_lb) and np.isfinite(pi_ub):
        lines_text.append(
            (
                f"{pct}% prediction interval [{_fmt(float(shown(np.array([pi_lb]))[0]))}, "
                f"{_fmt(float(shown(np.array([pi_ub]))[0]))}]",
                "normal",
            )
        )
    top = 1 - 0.75 / height
    for i, (line, weight) in enumerate(lines_text):
        fig.text(text_x, top - i * 0.2 / height, line, ha="left", va="top", fontsize=8, fontweight=weight, color=ink)
    fig.text(0.08, 0.36 / height, f"\u2190 {left_label}", ha="left", va="bottom", fontsize=7.5, color=ink)
    fig.text(0.70, 0.36 / height, f"{right_label} \u2192", ha="right", va="bottom", fontsize=7.5, color=ink)
    het = _heterogeneity_note(result)
    if het:
        fig.text(0.02, 0.10 / height, het, ha="left", va="bottom", fontsize=7, color=ink)
    fig.suptitle(title, x=0.02, ha="left", y=1 - 0.12 / height, va="top", fontsize=9, fontweight="bold")
    return figure_to_svg(fig, title)


def _heterogeneity_note(result: Any) -> str:
    tau2, i2, q, q_pval = (_get(result, n) for n in ("tau2", "i2", "q", "q_pval"))
    parts = []
    sigma2 = getattr(result, "sigma2", None)
    if sigma2 is not None and len(sigma2) == 2:  # a multilevel model: between and within studies
        parts.append(f"\u03c3\u00b2 between studies = {sigma2[0]:.3f}, within = {sigma2[1]:.3f}")
    elif np.isfinite(tau2):
        parts.append(f"\u03c4\u00b2 = {tau2:.3f}")
    if np.isfinite(i2):
        parts.append(f"I\u00b2 = {i2:.1f}%")
    if np.isfinite(q):
        k = int(_get(result, "k", np.nan)) if np.isfinite(_get(result, "k")) else None
        df = f"({k - 1})" if k else ""
        p = f", p = {q_pval:.3g}" if np.isfinite(q_pval) else ""
        parts.append(f"Q{df} = {q:.2f}{p}")
    return "Heterogeneity: " + ", ".join(parts) if parts else ""


FUNNEL_LEVELS = (0.10, 0.05, 0.01)


def funnel_contours(se_max: float, *, levels: Sequence[float] = FUNNEL_LEVELS, n: int = 2) -> pd.DataFrame:
    """Boundaries of the significance contours of a contour-enhanced funnel plot, centred on 0.

    A study with standard error ``se`` and estimate ``y`` is significant at two-sided level ``p``
    when ``|y| >= z_{1-p/2} se``; the contour for ``p`` is the pair of lines ``y = -/+ z_{1-p/2} se``.

    Returns
    -------
    pandas.DataFrame
        Columns ``p``, ``z``, ``se``, ``lb``, ``ub``: for each level, ``n`` points from se = 0 to ``se_max``.

    References
    ----------
    Peters et al. (2008).
    """
    se = np.linspace(0.0, float(se_max), n)
    frames = []
    for p in levels:
        z = stats.norm.ppf(1 - p / 2)
        frames.append(pd.DataFrame({"p": p, "z": z, "se": se, "lb": -z * se, "ub": z * se}))
    return pd.concat(frames, ignore_index=True)


def funnel_data(yi: Sequence[float], vi: Sequence[float], result: Any) -> pd.DataFrame:
    """The points of a funnel plot: ``yi``, ``sei`` and the two-sided p-value of each study against 0.

    Returns
    -------
    pandas.DataFrame
        Columns ``yi``, ``sei``, ``zi``, ``pval`` and ``region`` (``"p<0.01"``, ``"0.01<=p<0.05"``,
        ``"0.05<=p<0.10"`` or ``"p>=0.10"``), plus the attribute-free pooled estimate in column ``estimate``.

    References
    ----------
    Sterne & Egger (2001); Peters et al. (2008).
    """
    yi = np.asarray(yi, dtype=float)
    sei = np.sqrt(np.asarray(vi, dtype=float))
    zi = yi / sei
    pval = 2 * stats.norm.sf(np.abs(zi))
    region = np.select(
        [pval < 0.01, pval < 0.05, pval < 0.10], ["p<0.01", "0.01<=p<0.05", "0.05<=p<0.10"], default="p>=0.10"
    )
    return pd.DataFrame(
        {"yi": yi, "sei": sei, "zi": zi, "pval": pval, "region": region, "estimate": _get(result, "estimate")}
    )


def funnel_plot(
    yi: Sequence[float],
    vi: Sequence[float],
    result: Any,
    *,
    contour: bool = True,
    measure: str = "GEN",
    title: str | None = None,
) -> str:
    """Contour-enhanced funnel plot, as SVG text.

    Standard error on the (inverted) vertical axis, effect size on the horizontal axis.
    With ``contour=True`` the regions where a study would be significant at p < 0.10, 0.05
    and 0.01 (two-sided, against 0) are shaded in increasingly dark grey; the pooled estimate is
    a vertical line with its pseudo 95% confidence funnel (dashed).

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances.
    result : meta-analysis result
        Object with ``estimate`` (e.g. :func:`emmie.effect.meta_analysis`).
    contour : bool
        Shade the significance contours (Peters et al. 2008).
    measure : str
        Measure, for the axis label (ratio measures are on the log scale).
    title : str, optional
        Figure title (also the SVG ``<title>``).

    Returns
    -------
    str
        SVG document.

    References
    ----------
    Sterne & Egger (2001); Peters et al. (2008).
    """
    data = funnel_data(yi, vi, result)
    k = len(data)
    title = title or f"Contour-enhanced funnel plot (k = {k})"
    se_max = float(np.nanmax(data["sei"])) * 1.08 if k else 1.0
    est = _get(result, "estimate")
    fig = new_figure(6.0, 4.6)
    ax = fig.add_axes((0.13, 0.13, 0.62, 0.78))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    z01 = stats.norm.ppf(1 - 0.01 / 2)
    reach = max(float(np.nanmax(np.abs(data["yi"]))) if k else 1.0, z01 * se_max, abs(est) if np.isfinite(est) else 0.0)
    xlim = (-1.05 * reach, 1.05 * reach)
    ax.set_xlim(*xlim)
    ax.set_ylim(se_max, 0.0)
    if contour:
        shades = {0.10: "#F2F2F2", 0.05: "#D9D9D9", 0.01: "#ABABAB"}
        band = {0.10: "0.05 \u2264 p < 0.10", 0.05: "0.01 \u2264 p < 0.05", 0.01: "p < 0.01"}
        se_line = np.array([0.0, se_max])
        # Paint from the outermost (p < 0.01) inward so each band keeps its own shade.
        for p, colour in sorted(shades.items(), reverse=True):
            z = stats.norm.ppf(1 - p / 2)
            for sign in (-1, 1):
                edge = sign * z * se_line
                outer = sign * np.array([reach * 1.05, reach * 1.05])
                ax.fill_betweenx(
                    se_line, edge, outer, color=colour, lw=0, zorder=0, label=band[p] if sign == 1 else None
                )
    ax.axvline(0.0, color=OKABE_ITO["grey"], lw=0.8, zorder=1)
    if np.isfinite(est):
        ax.axvline(est, color=OKABE_ITO["blue"], lw=1.0, zorder=2, label="Pooled estimate")
        se_line = np.array([0.0, se_max])
        ax.plot(est - 1.96 * se_line, se_line, color=OKABE_ITO["blue"], lw=0.7, ls="--", zorder=2)
        ax.plot(
            est + 1.96 * se_line, se_line, color=OKABE_ITO["blue"], lw=0.7, ls="--", zorder=2, label="Pseudo 95% CI"
        )
    many = k > FUNNEL_MAX_POINTS  # drawn as an image: the SVG keeps its size whatever k
    ax.scatter(
        data["yi"],
        data["sei"],
        s=4 if many else 18,
        color=OKABE_ITO["black"],
        alpha=0.5 if many else 1.0,
        linewidths=0 if many else None,
        zorder=3,
        label="Studies",
        rasterized=many,
    )
    label = MEASURE_LABELS.get(measure, measure)
    ax.set_xlabel(f"log {label.lower()}" if measure in RATIO_MEASURES else label)
    ax.set_ylabel("Standard error")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=7)
    fig.suptitle(title, x=0.02, ha="left", fontsize=9, fontweight="bold")
    return figure_to_svg(fig, title)
