"""Best linear unbiased predictions of each study's true effect, as metafor's ``blup(rma(yi, vi))``.

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
    fit = meta_analysis(yi, vi, method=method, test=test, level=level, control=control)
    y, v, _, omitted = omit_missing(yi, vi)
    tau2 = fit.tau2
    share = tau2 / (tau2 + v)  # l_i: the weight of the study's own estimate
    pred = share * y + (1.0 - share) * fit.estimate
    se = np.sqrt(share * v + (1.0 - share) ** 2 * fit.se**2)
    alpha = 1.0 - fit.level
    crit = stats.t.isf(alpha / 2, fit.df) if fit.test == "knha" else stats.norm.isf(alpha / 2)
    return pd.DataFrame(
        {
            "row": np.delete(np.arange(y.size + omitted.size), omitted),
            "pred": pred,
            "se": se,
            "pi_lb": pred - crit * se,
            "pi_ub": pred + crit * se,
        }
    )
