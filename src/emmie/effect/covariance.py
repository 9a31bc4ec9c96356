"""Sampling covariances of dependent effect sizes with closed forms (Gleser & Olkin 2009).

Two designs make effect sizes of one study correlated in a way their summary data determine:

- *multiple-treatment studies*: several groups compared with one shared group (arms sharing a control). Two effect
  sizes of a study share that group's sampling error; :func:`shared_group_covariance` gives the covariance for risk
  differences, log odds and risk ratios, arcsine differences and standardised mean differences.
- *multiple-endpoint studies*: one comparison measured on several outcomes that correlate within persons;
  :func:`multiple_endpoint_covariance` gives it for standardised mean differences.

Both return the full sampling covariance matrix ``V`` (the given ``vi`` on the diagonal), block diagonal by study,
for :func:`emmie.effect.meta_analysis_mv`. The formulas are those of Gleser, L. J., & Olkin, I. (2009). Stochastically
dependent effect sizes. In H. Cooper, L. V. Hedges & J. C. Valentine (Eds.), The handbook of research synthesis and
meta-analysis (2nd ed., pp. 357-376). Russell Sage Foundation; the tests reproduce the chapter's worked examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import AnalysisError
from .multilevel import cluster_codes
from .rma import as_vector

#: The measures whose covariance through a shared group has a closed form.
SHARED_GROUP_MEASURES = ("RD", "OR", "RR", "AS", "SMD")


def _assemble(vi: np.ndarray, code: np.ndarray, off: np.ndarray, sparse_matrix: bool) -> Any:
    """V with ``off`` (k x k, only read within a cluster) off the diagonal and ``vi`` on it."""
    same = code[:, None] == code[None, :]
    V = np.where(same, off, 0.0)
    np.fill_diagonal(V, vi)
    return sparse.csr_matrix(V) if sparse_matrix else V


def _constant_within(name: str, values: np.ndarray, code: np.ndarray) -> None:
    frame = pd.DataFrame({"c": code, "v": values})
    spread = frame.groupby("c")["v"].nunique(dropna=False)
    if (spread > 1).any():
        c = int(spread.index[spread > 1][0])
        row = int(np.flatnonzero(code == c)[1])
        raise AnalysisError(
            f"{name}: row {row} differs from the other rows of its study; the shared group is the same group, so its "
            f"{name} must be equal within a study"
        )


def shared_group_covariance(
    measure: str,
    vi: Any,
    cluster: Any,
    *,
    xi: Any = None,
    ni: Any = None,
    yi: Any = None,
    n_total: Any = None,
    sparse_matrix: bool = False,
) -> Any:
    """Sampling covariance matrix of effect sizes that compare several groups with one shared group (Gleser & Olkin
    2009, multiple-treatment studies).

    Parameters
    ----------
    measure : {"RD", "OR", "RR", "AS", "SMD"}
        The effect-size measure (as :func:`emmie.effect.effect_sizes`).
    vi : array_like
        The effect sizes' sampling variances (the diagonal).
    cluster : array_like
        The study of each effect size; effect sizes of one study share the group.
    xi, ni : array_like
        Events and size of the shared group (RD, OR, RR: ``p = xi / ni``; AS and SMD need ``ni`` only), equal within
        a study. Covariances: RD ``p (1 - p) / ni``; OR ``1 / (ni p (1 - p))``; RR ``(1 - p) / (ni p)``; AS
        ``1 / (4 ni)``.
    yi, n_total : array_like
        SMD only: the standardised mean differences and the study's total sample size (all its groups); covariance
        ``1 / ni + yi_a yi_b / (2 n_total)``.
    sparse_matrix : bool
        Return a ``scipy.sparse`` CSR matrix.
    """
    m = str(measure).upper()
    if m not in SHARED_GROUP_MEASURES:
        raise AnalysisError(f"measure {measure!r}: expected one of {', '.join(SHARED_GROUP_MEASURES)}")
    v = as_vector(vi, "vi")
    code = cluster_codes(cluster, v.size)
    if ni is None:
        raise AnalysisError(f"{m}: needs ni, the size of the shared group")
    n = as_vector(ni, "ni")
    if n.size != v.size or np.any(~(n > 0)):
        raise AnalysisError("ni: one size > 0 per effect size is needed")
    _constant_within("ni", n, code)
    if m in ("RD", "OR", "RR"):
        if xi is None:
            raise AnalysisError(f"{m}: needs xi, the events in the shared group")
        x = as_vector(xi, "xi")
        _constant_within("xi", x, code)
        if np.any((x < 0) | (x > n)):
            i = int(np.flatnonzero((x < 0) | (x > n))[0])
            raise AnalysisError(f"xi: row {i} is {x[i]:g}; expected a count between 0 and ni ({n[i]:g})")
        p = x / n
        with np.errstate(divide="ignore"):
            one = {"RD": p * (1 - p) / n, "OR": 1 / (n * p * (1 - p)), "RR": (1 - p) / (n * p)}[m]
        off = np.broadcast_to(one[:, None], (v.size, v.size))
    elif m == "AS":
        off = np.broadcast_to((1 / (4 * n))[:, None], (v.size, v.size))
    else:
        if yi is None or n_total is None:
            raise AnalysisError("SMD: needs yi and n_total (the study's total sample size) besides ni")
        y, total = as_vector(yi, "yi"), as_vector(n_total, "n_total")
        _constant_within("n_total", total, code)
        off = (1 / n)[:, None] + np.outer(y, y) / (2 * total[:, None])
    return _assemble(v, code, np.asarray(off), sparse_matrix)


def multiple_endpoint_covariance(
    yi: Any, vi: Any, cluster: Any, *, n1i: Any, n2i: Any, ri: Any, sparse_matrix: bool = False
) -> Any:
    """Sampling covariance matrix of standardised mean differences of one comparison on several outcomes (Gleser &
    Olkin 2009, multiple-endpoint studies): ``(1/n1 + 1/n2) r + r^2 yi_a yi_b / (2 (n1 + n2))`` for two outcomes of a
    study correlated ``r`` within persons. ``ri`` is that correlation, one value per study (equal within a study;
    with more than two outcomes it is taken as common to every pair)."""
    y, v = as_vector(yi, "yi"), as_vector(vi, "vi")
    code = cluster_codes(cluster, v.size)
    n1, n2, r = as_vector(n1i, "n1i"), as_vector(n2i, "n2i"), as_vector(ri, "ri")
    for name, a in (("n1i", n1), ("n2i", n2), ("ri", r)):
        _constant_within(name, a, code)
    if np.any(np.abs(r) > 1):
        i = int(np.flatnonzero(np.abs(r) > 1)[0])
        raise AnalysisError(f"ri: row {i} is {r[i]:g}; expected a correlation between -1 and 1")
    off = ((1 / n1 + 1 / n2) * r)[:, None] + (r**2)[:, None] * np.outer(y, y) / (2 * (n1 + n2))[:, None]
    return _assemble(v, code, off, sparse_matrix)
