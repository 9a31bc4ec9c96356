"""Confidence intervals for the amount of heterogeneity (tau^2, I^2, H^2).

References
----------
Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in meta-analysis.
    Statistics in Medicine 26:37-52 (Q-profile method).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

from emmie.effect.estimators import Control, make_control, q_stat, zeroin
from emmie.effect.rma import check_level, check_yi_vi, meta_analysis


def heterogeneity_ci(
    yi: Any,
    vi: Any,
    *,
    level: float = 0.95,
    method: str = "REML",
    control: Mapping[str, float] | Control | None = None,
) -> dict[str, tuple[float, float, float]]:
    """Q-profile confidence intervals for tau^2, I^2 (percent) and H^2, as metafor's ``confint(rma(...))``.

    The interval for tau^2 collects the values for which the generalised Q statistic
    ``sum w_i(tau^2) (y_i - mu_hat(tau^2))^2`` lies between the ``alpha/2`` and ``1 - alpha/2``
    quantiles of chi^2 with k - 1 df; bounds are truncated at 0. I^2 and H^2 bounds are
    transformed with the typical within-study variance, as metafor.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances.
    level : float, default 0.95
        Confidence level.
    method : str, default "REML"
        Estimator of the point estimate of tau^2 (the interval itself does not depend on it).
    control : mapping, optional
        Settings of the point-estimate fit (see :func:`emmie.effect.meta_analysis`).

    Returns
    -------
    dict
        ``{"tau2": (estimate, lower, upper), "i2": (...), "h2": (...)}``.

    References
    ----------
    Viechtbauer W (2007). Statistics in Medicine 26:37-52.
    """
    y, v = check_yi_vi(yi, vi)
    lev = check_level(level)
    fit = meta_analysis(y, v, method=method, control=control)
    con = make_control(control)
    k = y.size
    X = np.ones((k, 1))
    vt = float(fit.extra["vt"])
    if k < 2:
        nan = float("nan")
        return {"tau2": (fit.tau2, nan, nan), "i2": (fit.i2, nan, nan), "h2": (fit.h2, nan, nan)}
    alpha = 1.0 - lev
    crit_u = float(stats.chi2.isf(alpha / 2, k - 1))
    crit_l = float(stats.chi2.ppf(alpha / 2, k - 1))
    tmin, tmax = 0.0, max(con.tau2_max, 10.0 * fit.tau2)
    q_min, q_max = q_stat(tmin, y, v, X), q_stat(tmax, y, v, X)

    def root(target: float) -> float:
        return zeroin(lambda t: q_stat(t, y, v, X) - target, tmin, tmax, q_min - target, q_max - target, con.tol, 1000)

    if q_min < crit_l:
        lb = ub = tmin
    else:
        ub = tmax if q_max > crit_l else root(crit_l)
    if q_max > crit_u:
        lb = ub = tmax
    elif q_min < crit_u:
        lb = tmin
    else:
        lb = root(crit_u)
    i2 = (fit.i2, 100 * lb / (vt + lb), 100 * ub / (vt + ub))
    h2 = (fit.h2, lb / vt + 1, ub / vt + 1)
    return {"tau2": (fit.tau2, float(lb), float(ub)), "i2": tuple(map(float, i2)), "h2": tuple(map(float, h2))}
