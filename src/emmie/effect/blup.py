"""Best linear unbiased predictions of each study's true effect and random effect, as metafor's ``blup`` and
``ranef`` of ``rma(yi, vi)``.

Under the random-effects model the true effect of study i is predicted by shrinking its estimate towards the pooled
one, ``pred_i = l_i yi + (1 - l_i) mu`` with ``l_i = tau^2 / (tau^2 + vi)``, with prediction variance
``l_i vi + (1 - l_i)^2 Var(mu)`` (``Var(mu)`` including the Knapp-Hartung factor under ``test="knha"``), and an
interval ``pred +/- crit se`` with the model's critical value (normal, or t(k - 1) under ``knha``).

References
----------
Raudenbush SW, Bryk AS (1985). Empirical Bayes meta-analysis. Journal of Educational Statistics 10:75-98.
Robinson GK (1991). That BLUP is a good thing: the estimation of random effects. Statistical Science 6:15-32.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from emmie.effect.estimators import Control
from emmie.effect.rma import meta_analysis, omit_missing


def _shrinkage(
    yi: Any, vi: Any, method: str, test: str, level: float, control: Mapping[str, float] | Control | None
) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """The fit, the kept rows' yi and vi and positions, each study's share l_i, and the critical value."""
    fit = meta_analysis(yi, vi, method=method, test=test, level=level, control=control)
    y, v, _, omitted = omit_missing(yi, vi)
    share = fit.tau2 / (fit.tau2 + v)  # l_i: the weight of the study's own estimate
    alpha = 1.0 - fit.level
    crit = stats.t.isf(alpha / 2, fit.df) if fit.test == "knha" else stats.norm.isf(alpha / 2)
    return fit, y, v, np.delete(np.arange(y.size + omitted.size), omitted), share, float(crit)


def _frame(rows: np.ndarray, pred: np.ndarray, se: np.ndarray, crit: float) -> pd.DataFrame:
    return pd.DataFrame({"row": rows, "pred": pred, "se": se, "pi_lb": pred - crit * se, "pi_ub": pred + crit * se})


def blup(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    control: Mapping[str, float] | Control | None = None,
) -> pd.DataFrame:
    """Each study's predicted true effect under ``meta_analysis(yi, vi, method, test, level, control)``.

    Returns
    -------
    DataFrame
        One row per study the model used (rows with a missing ``yi`` or ``vi`` are left out, as metafor's
        ``na.action = "na.omit"``; ``row`` is each kept row's 0-based position in the input): ``row, pred, se,
        pi_lb, pi_ub``. With tau^2 = 0 every prediction is the pooled estimate.
    """
    fit, y, v, rows, share, crit = _shrinkage(yi, vi, method, test, level, control)
    pred = share * y + (1.0 - share) * fit.estimate
    return _frame(rows, pred, np.sqrt(share * v + (1.0 - share) ** 2 * fit.se**2), crit)


def ranef(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    control: Mapping[str, float] | Control | None = None,
) -> pd.DataFrame:
    """Each study's predicted random effect (its true effect's deviation from mu), as metafor's ``ranef``:
    ``l_i (yi - mu)`` with variance ``l_i vi + l_i^2 Var(mu)`` (metafor's formula); 0 with SE 0 under ``EE``.
    Same rows and columns as :func:`blup`."""
    fit, y, v, rows, share, crit = _shrinkage(yi, vi, method, test, level, control)
    if fit.method == "EE":
        return _frame(rows, np.zeros(y.size), np.zeros(y.size), crit)
    return _frame(rows, share * (y - fit.estimate), np.sqrt(share * v + share**2 * fit.se**2), crit)
