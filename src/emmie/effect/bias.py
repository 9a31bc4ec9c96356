"""Small-study effects and publication bias: Egger, Begg-Mazumdar, trim-and-fill, fail-safe N.

References
----------
Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a
    simple, graphical test. BMJ 315:629-634.
Begg CB, Mazumdar M (1994). Operating characteristics of a rank correlation test for
    publication bias. Biometrics 50:1088-1101.
Duval S, Tweedie R (2000). Trim and fill: a simple funnel-plot-based method of testing and
    adjusting for publication bias in meta-analysis. Biometrics 56:455-463.
Rosenthal R (1979). The "file drawer problem" and tolerance for null results.
    Psychological Bulletin 86:638-641.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from scipy import stats

from emmie.effect.estimators import METAFOR_DEFAULTS, Control, make_control, normalise_method
from emmie.effect.rma import check_yi_vi, fit_linear
from emmie.errors import AnalysisError


class EggerTest(NamedTuple):
    stat: float
    pval: float
    slope: float  # the coefficient of sqrt(v_i): its sign is the side trim-and-fill fills (metafor's trimfill)


class RankTest(NamedTuple):
    tau: float
    pval: float


class TrimFill(NamedTuple):
    k0: int
    side: str
    estimate: float
    tau2: float


def _need_k(y: np.ndarray, k_min: int, what: str) -> None:
    if y.size < k_min:
        raise AnalysisError(f"{what} needs at least {k_min} studies; got k = {y.size}")


def egger_test(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    test: str = "z",
    control: Mapping[str, float] | Control | None = None,
) -> EggerTest:
    """Egger's regression test for funnel-plot asymmetry, as metafor's ``regtest()`` defaults.

    Fits the meta-regression ``y_i = b0 + b1 sqrt(v_i) + u_i + e_i`` (``method``, ``test``) and
    tests ``b1 = 0``.

    Returns
    -------
    EggerTest
        ``(stat, pval, slope)``: the z (or t) statistic of the standard-error slope, its p-value, and the slope.

    References
    ----------
    Egger M et al. (1997). BMJ 315:629-634.
    Sterne JAC, Egger M (2005). Regression methods to detect publication and other bias in
        meta-analysis. In Rothstein, Sutton & Borenstein (eds), Publication Bias in Meta-Analysis.
    """
    y, v = check_yi_vi(yi, vi)
    _need_k(y, 3, "Egger's test")
    X = np.column_stack([np.ones(y.size), np.sqrt(v)])
    fit = fit_linear(y, v, X, normalise_method(method), test, 0.95, make_control(control))
    return EggerTest(float(fit.stat[1]), float(fit.pval[1]), float(fit.beta[1]))


@lru_cache(maxsize=8)
def _kendall_exact_cdf(n: int) -> np.ndarray:
    """P(number of inversions <= q) for a random permutation of n items, q = 0..n(n-1)/2 (kept: a review's
    outcomes often share their k, and the distribution takes O(n^3) to build; read-only)."""
    dist = np.ones(1)
    for m in range(2, n + 1):
        # convolve with uniform{0..m-1}: a running sum over a window of width m, new[j] = c[min(j + 1, L)] -
        # c[max(j - m + 1, 0)] with c[j] = sum(dist[:j]), by slices (a gather by index arrays took 3.6 times longer)
        size = dist.size
        c = np.empty(size + m)
        c[0] = 0.0
        np.cumsum(dist, out=c[1 : size + 1])
        c[size + 1 :] = c[size]
        lo = np.empty(size + m - 1)
        lo[: m - 1] = 0.0
        lo[m - 1 :] = c[:size]
        dist = (c[1:] - lo) / m
    out = np.cumsum(dist)
    out.flags.writeable = False
    return out


def _kendall_test(x: np.ndarray, y: np.ndarray, exact: bool) -> tuple[float, float]:
    """Kendall's tau-b and two-sided p-value as R's ``cor.test(method="kendall", exact=exact)``."""
    n = x.size
    tau = float(stats.kendalltau(x, y, variant="b").statistic)
    ties = np.unique(x).size < n or np.unique(y).size < n
    if exact and not ties:
        q = int(round((tau + 1) * n * (n - 1) / 4))
        cdf = _kendall_exact_cdf(n)
        if q > n * (n - 1) / 4:
            p = 1.0 - cdf[q - 1]
        else:
            p = cdf[q]
        return tau, float(min(2.0 * p, 1.0))
    _, xt = np.unique(x, return_counts=True)
    _, yt = np.unique(y, return_counts=True)
    xt, yt = xt[xt > 1].astype(float), yt[yt > 1].astype(float)
    t0 = n * (n - 1) / 2
    t1 = np.sum(xt * (xt - 1)) / 2
    t2 = np.sum(yt * (yt - 1)) / 2
    s = tau * np.sqrt((t0 - t1) * (t0 - t2))
    v0 = n * (n - 1) * (2 * n + 5)
    vt = np.sum(xt * (xt - 1) * (2 * xt + 5))
    vu = np.sum(yt * (yt - 1) * (2 * yt + 5))
    v1 = np.sum(xt * (xt - 1)) * np.sum(yt * (yt - 1))
    v2 = np.sum(xt * (xt - 1) * (xt - 2)) * np.sum(yt * (yt - 1) * (yt - 2))
    var_s = (v0 - vt - vu) / 18 + v1 / (2 * n * (n - 1)) + v2 / (9 * n * (n - 1) * (n - 2))
    z = s / np.sqrt(var_s)
    return tau, float(2 * min(stats.norm.cdf(z), stats.norm.sf(z)))


def rank_test(yi: Any, vi: Any, *, exact: bool = True) -> RankTest:
    """Begg & Mazumdar's rank correlation test, as metafor's ``ranktest()``.

    Kendall's tau between the standardised deviates ``(y_i - mu_EE) / sqrt(v_i - 1/sum w)`` and
    ``v_i``. The p-value is exact (permutation distribution of Kendall's statistic) when there
    are no ties, otherwise the normal approximation with tie correction (as R's ``cor.test``).

    Returns
    -------
    RankTest
        ``(tau, pval)``.

    References
    ----------
    Begg CB, Mazumdar M (1994). Biometrics 50:1088-1101.
    """
    y, v = check_yi_vi(yi, vi)
    _need_k(y, 3, "the rank correlation test")
    w = 1.0 / v
    theta = float(np.sum(w * y) / np.sum(w))
    ystar = (y - theta) / np.sqrt(v - 1.0 / np.sum(w))
    return RankTest(*_kendall_test(ystar, v, exact))


def positive_rank_sum(yc: np.ndarray) -> int:
    """The sum of the ranks of the positive values of ``yc`` (sorted ascending) among all ``|yc|``, ties ranked in
    the order of ``yc`` (as a stable argsort of ``|yc|`` ranks them): the Wilcoxon statistic of trim-and-fill's L0.

    Without sorting again: a positive value's rank is its place among the positive values plus the number of the
    others (``yc <= 0``, earlier in ``yc``) whose ``|yc|`` is at most its own (a search in their sorted ``|yc|``)."""
    split = int(np.searchsorted(yc, 0.0, side="right"))  # yc[:split] <= 0 < yc[split:]
    positive = yc[split:]
    others = -yc[:split][::-1]  # |yc| of the others, ascending
    n = positive.size
    return n * (n + 1) // 2 + int(np.searchsorted(others, positive, side="right").sum())


def trim_and_fill(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    side: str | None = None,
    control: Mapping[str, float] | Control | None = None,
) -> TrimFill:
    """Duval & Tweedie's trim-and-fill with the L0 estimator, as metafor's ``trimfill()``.

    The side on which studies are missing is chosen as metafor: from the sign of the slope of
    ``sqrt(v_i)`` in a meta-regression (negative slope -> missing on the right). Studies are
    trimmed iteratively until ``k0`` is stable, then ``k0`` mirror-image studies are filled
    in and the model is refitted.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances.
    method : str, default "REML"
        tau^2 estimator of every fit.
    side : {"left", "right"}, optional
        Side of the funnel where studies are assumed missing; estimated when omitted.
    control : mapping, optional
        Iteration settings; default metafor's own defaults (``stepadj=1, maxiter=100``), because
        metafor's ``trimfill()`` refits with them.

    Returns
    -------
    TrimFill
        ``(k0, side, estimate, tau2)`` of the filled data.

    References
    ----------
    Duval S, Tweedie R (2000). Biometrics 56:455-463.
    Duval S, Tweedie R (2000). A nonparametric "trim and fill" method of accounting for
        publication bias in meta-analysis. JASA 95:89-98.
    """
    y0, v0 = check_yi_vi(yi, vi)
    _need_k(y0, 3, "trim-and-fill")
    m = normalise_method(method)
    con = METAFOR_DEFAULTS if control is None else make_control(control)
    k = y0.size
    if side is None:
        X = np.column_stack([np.ones(k), np.sqrt(v0)])
        slope = fit_linear(y0, v0, X, m, "z", 0.95, con).beta[1]
        side = "right" if slope < 0 else "left"
    elif side not in ("left", "right"):
        raise AnalysisError(f"side = {side!r}; expected 'left' or 'right'")
    y = -y0 if side == "right" else y0.copy()
    order = np.argsort(y, kind="stable")
    y, v = y[order], v0[order]
    one = np.ones((k, 1))

    def pooled(yy: np.ndarray, vv: np.ndarray) -> float:
        return float(fit_linear(yy, vv, one[: yy.size], m, "z", 0.95, con).beta[0])

    k0_prev, k0, it = -1, 0, 0
    beta = 0.0
    yc = y
    while k0 != k0_prev:
        k0_prev = k0
        it += 1
        if it > 100:
            raise AnalysisError("trim-and-fill did not converge in 100 iterations")
        beta = pooled(y[: k - k0], v[: k - k0])
        yc = y - beta
        sr = float(positive_rank_sum(yc))
        k0 = max(0, int(np.round((4 * sr - k * (k + 1)) / (2 * k - 1))))
    if k0 > 0:
        yc = -1 * (yc - beta) if side == "right" else yc - beta
        y_fill = np.concatenate([y0, -1 * yc[k - k0 :]])
        v_fill = np.concatenate([v0, v[k - k0 :]])
        fit = fit_linear(y_fill, v_fill, np.ones((y_fill.size, 1)), m, "z", 0.95, con)
    else:
        fit = fit_linear(y0, v0, one, m, "z", 0.95, con)
    return TrimFill(int(k0), side, float(fit.beta[0]), float(fit.tau.tau2))


def failsafe_n(yi: Any, vi: Any, *, alpha: float = 0.05) -> int:
    """Rosenthal's fail-safe N (Stouffer method), as metafor's ``fsn()`` default.

    The number of studies averaging a null result that would have to be added to make the
    combined one-sided Stouffer z non-significant at ``alpha``:
    ``max(0, k (z_avg / z_alpha)^2 - k)`` rounded up.

    References
    ----------
    Rosenthal R (1979). Psychological Bulletin 86:638-641.
    """
    y, v = check_yi_vi(yi, vi)
    k = y.size
    z_avg = abs(float(np.sum(y / np.sqrt(v))) / np.sqrt(k))
    n = max(0.0, k * (z_avg / stats.norm.isf(alpha)) ** 2 - k)
    if abs(n - round(n)) >= np.finfo(float).eps ** 0.5:
        return int(np.ceil(n))
    return int(round(n))
