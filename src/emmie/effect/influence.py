"""Leave-one-out and cumulative meta-analysis (metafor's ``leave1out`` and ``cumul``).

References
----------
Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics for meta-analysis.
    Research Synthesis Methods 1:112-125.
Lau J, Schmid CH, Chalmers TC (1995). Cumulative meta-analysis of clinical trials builds
    evidence for exemplary medical care. Journal of Clinical Epidemiology 48:45-57.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from emmie.effect.estimators import Control
from emmie.effect.rma import check_yi_vi, meta_analysis

_COLUMNS = ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "q", "q_pval", "tau2", "i2", "h2")


def _row(y: np.ndarray, v: np.ndarray, method: str, test: str, level: float, control: Any) -> dict[str, float]:
    res = meta_analysis(y, v, method=method, test=test, level=level, control=control)
    return {c: float(getattr(res, c)) for c in _COLUMNS}


def leave_one_out(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    control: Mapping[str, float] | Control | None = None,
) -> pd.DataFrame:
    """Refit the model leaving out each study in turn.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances (k >= 2).
    method, test, level, control
        As :func:`emmie.effect.meta_analysis`.

    Returns
    -------
    pandas.DataFrame
        One row per omitted study (row ``i`` omits study ``i``) with columns
        ``omitted, estimate, se, stat, pval, ci_lb, ci_ub, q, q_pval, tau2, i2, h2``.

    References
    ----------
    Viechtbauer W, Cheung MW-L (2010). Research Synthesis Methods 1:112-125.
    """
    y, v = check_yi_vi(yi, vi)
    keep = np.ones(y.size, dtype=bool)
    rows = []
    for i in range(y.size):
        keep[i] = False
        if keep.any():
            rows.append({"omitted": i, **_row(y[keep], v[keep], method, test, level, control)})
        else:
            rows.append({"omitted": i, **{c: np.nan for c in _COLUMNS}})
        keep[i] = True
    return pd.DataFrame(rows, columns=["omitted", *_COLUMNS])


def cumulative(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    control: Mapping[str, float] | Control | None = None,
) -> pd.DataFrame:
    """Cumulative meta-analysis: row ``i`` pools studies ``0..i`` in the order given.

    Sort the inputs first (e.g. by publication year) to get a cumulative analysis over time.

    Returns
    -------
    pandas.DataFrame
        Columns ``k, estimate, se, stat, pval, ci_lb, ci_ub, q, q_pval, tau2, i2, h2``.

    References
    ----------
    Lau J, Schmid CH, Chalmers TC (1995). Journal of Clinical Epidemiology 48:45-57.
    """
    y, v = check_yi_vi(yi, vi)
    rows = [{"k": i + 1, **_row(y[: i + 1], v[: i + 1], method, test, level, control)} for i in range(y.size)]
    return pd.DataFrame(rows, columns=["k", *_COLUMNS])
