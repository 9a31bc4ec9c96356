"""Subgroup analysis: a meta-analysis per level of a categorical moderator and a test of subgroup differences.

Two tests of subgroup differences are reported:

``qm`` (the headline)
    The omnibus test of the moderator in the mixed-effects model ``rma(yi, vi, mods = ~ factor(g))``
    (one tau^2 shared by all subgroups): a chi^2 statistic with ``levels - 1`` df under ``test="z"``,
    an F statistic with ``(levels - 1, k - levels)`` df under ``test="knha"``. This is metafor's QM test.
``q_between_separate``
    The subgroups are fitted separately (each with its own tau^2) and their pooled estimates compared
    with an equal-effects Q statistic, chi^2 with ``levels - 1`` df (Borenstein et al. 2009, ch. 19;
    metafor's "separate tau^2" approach). It is sensitive to subgroups with few studies, whose tau^2 is
    poorly estimated.

References
----------
Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009). Introduction to Meta-Analysis,
    chapter 19 (subgroup analyses). Wiley.
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw, 36(3).
Deeks, J. J., Higgins, J. P. T., & Altman, D. G. (2023). Analysing data and undertaking meta-analyses. Cochrane
    Handbook, version 6.4, section 10.11.3.1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from emmie.effect import MetaAnalysis, meta_analysis, meta_regression
from emmie.errors import AnalysisError


def dummy_matrix(groups: Sequence[Any], levels: Sequence[str] | None = None) -> tuple[np.ndarray, tuple[str, ...]]:
    """Treatment (dummy) coding of a categorical moderator; the first level is the reference.

    Parameters
    ----------
    groups : sequence
        The level of each study (converted to str).
    levels : sequence of str, optional
        Level order; default sorted, as R's ``factor``.

    Returns
    -------
    (matrix of shape (k, levels - 1), names of the columns)
    """
    g = np.asarray([str(x) for x in groups], dtype=object)
    order = list(levels) if levels is not None else sorted(set(g))
    unknown = sorted(set(g) - set(order))
    if unknown:
        raise AnalysisError(f"moderator values {unknown} are not among the declared levels {order}")
    order = [lv for lv in order if lv in set(g)]
    M = np.column_stack([(g == lv).astype(float) for lv in order[1:]]) if len(order) > 1 else np.zeros((len(g), 0))
    return M, tuple(order)


@dataclass(frozen=True)
class SubgroupAnalysis:
    """Result of :func:`subgroup_analysis`.

    ``levels`` are in coding order (the first is the reference of the meta-regression);
    ``subgroups`` maps each level to its :class:`~emmie.effect.rma.MetaAnalysis`.
    """

    levels: tuple[str, ...]
    subgroups: dict[str, MetaAnalysis]
    qm: float
    qm_df: int
    qm_df2: float | None
    qm_pval: float
    tau2_common: float
    q_between_separate: float
    q_between_df: int
    q_between_pval: float
    method: str
    test: str
    k: int
    warnings: tuple[str, ...]

    def table(self) -> pd.DataFrame:
        """One row per subgroup: k, estimate, se, ci_lb, ci_ub, pval, tau2, i2."""
        rows = [
            {
                "level": lv,
                "k": r.k,
                "estimate": r.estimate,
                "se": r.se,
                "ci_lb": r.ci_lb,
                "ci_ub": r.ci_ub,
                "pval": r.pval,
                "tau2": r.tau2,
                "i2": r.i2,
            }
            for lv, r in self.subgroups.items()
        ]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "levels": list(self.levels),
            "subgroups": self.table().to_dict(orient="records"),
            "test_of_differences": {
                "model": "mixed-effects meta-regression on factor(level), common tau^2 (metafor QM test)",
                "statistic": "F" if self.test == "knha" else "chi2",
                "qm": self.qm,
                "df": self.qm_df,
                "df2": self.qm_df2,
                "pval": self.qm_pval,
                "tau2_common": self.tau2_common,
            },
            "separate_tau2": {
                "q_between": self.q_between_separate,
                "df": self.q_between_df,
                "pval": self.q_between_pval,
            },
            "method": self.method,
            "test": self.test,
            "k": self.k,
            "warnings": list(self.warnings),
        }


def q_between(estimates: Sequence[float], se: Sequence[float]) -> tuple[float, int, float]:
    """Equal-effects Q of subgroup estimates: ``sum w (est - est_w)^2`` with ``w = 1/se^2``; chi^2, df = n - 1.

    References
    ----------
    Borenstein et al. (2009), chapter 19.
    """
    est = np.asarray(estimates, dtype=float)
    w = 1.0 / np.asarray(se, dtype=float) ** 2
    mean = float(np.sum(w * est) / np.sum(w))
    q = float(np.sum(w * (est - mean) ** 2))
    df = est.size - 1
    return q, df, float(stats.chi2.sf(q, df)) if df > 0 else float("nan")


def subgroup_analysis(
    yi: Any,
    vi: Any,
    groups: Sequence[Any],
    *,
    method: str = "REML",
    test: str = "z",
    levels: Sequence[str] | None = None,
    level: float = 0.95,
) -> SubgroupAnalysis:
    """Meta-analysis per subgroup and test of subgroup differences (see the module docstring).

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances.
    groups : sequence
        The subgroup (moderator level) of each effect size.
    method, test, level
        As :func:`emmie.effect.meta_analysis`; ``test`` applies to the subgroup fits and to the QM test.
    levels : sequence of str, optional
        Order of the levels (the first is the reference); default sorted.

    Returns
    -------
    SubgroupAnalysis

    References
    ----------
    Viechtbauer (2010); Borenstein et al. (2009), ch. 19; Deeks et al. (2023), 10.11.3.1.
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if len(groups) != y.size:
        raise AnalysisError(f"groups has {len(groups)} values but there are {y.size} effect sizes")
    g = np.asarray([str(x) for x in groups], dtype=object)
    M, order = dummy_matrix(g, levels)
    if len(order) < 2:
        raise AnalysisError(f"a subgroup analysis needs at least 2 levels; got {list(order)}")
    fits = {lv: meta_analysis(y[g == lv], v[g == lv], method=method, test=test, level=level) for lv in order}
    reg = meta_regression(y, v, M, method=method, test=test, level=level)
    q, df, p = q_between([fits[lv].estimate for lv in order], [fits[lv].se for lv in order])
    notes = list(reg.warnings)
    small = [lv for lv in order if fits[lv].k < 2]
    if small:
        notes.append(f"subgroup(s) {small} have a single study: no tau^2 can be estimated there")
    return SubgroupAnalysis(
        levels=order,
        subgroups=fits,
        qm=reg.qm,
        qm_df=reg.qm_df,
        qm_df2=reg.df,
        qm_pval=reg.qm_pval,
        tau2_common=reg.tau2,
        q_between_separate=q,
        q_between_df=df,
        q_between_pval=p,
        method=reg.method,
        test=reg.test,
        k=int(y.size),
        warnings=tuple(notes),
    )
