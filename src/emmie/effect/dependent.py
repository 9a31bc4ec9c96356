"""Several results of one study on one outcome (dependent effect sizes), as the Effect stage analyses them.

When a study contributes more than one result to an outcome (several measures of the outcome, time points,
subgroups, arms sharing a control group), the results are not independent: a univariate random-effects model would
count the study several times and understate the uncertainty. The stage then fits the correlated and hierarchical
effects (CHE) working model of Pustejovsky & Tipton (2022): a three-level model with a random intercept for the
study and one for each result within it (``random = ~ 1 | study/result``), with the results' sampling errors
correlated within a study at an assumed ``rho`` (metafor's ``vcalc``); inference on the pooled effect is
cluster-robust (CR2 with Satterthwaite degrees of freedom, clustered by study), so it stays valid when rho, or the
model, is wrong. Pustejovsky JE, Tipton E (2022), Prevention Science 23:425-438, doi:10.1007/s11121-021-01246-3.

The analyses built for one result per study (the exact Bayesian model, Egger's and the rank test, trim-and-fill)
treat results as independent; they are given the study-level averages of :func:`study_level` (each study's results
combined under the same assumed correlation and the fitted within-study variance, so that a univariate model of the
averages reproduces the multilevel model's estimate).

References: ``tests/fixtures/metafor/mv/che_pipeline_reference.R`` (metafor 3.8-1, clubSandwich 0.5.8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import AnalysisError
from .multilevel import MultilevelFit, RobustMV, meta_analysis_mv, vcalc
from .rma import prediction

#: The assumed correlation between the sampling errors of two results of one study when review.yaml gives none:
#: the value of metafor's CHE examples and of Pustejovsky & Tipton's (2022) worked example; the robust inference
#: does not rely on it.
DEFAULT_RHO = 0.6
RHO_SOURCE = (
    "rho = 0.6 is emmie's default, the value used in Pustejovsky & Tipton's (2022) worked example; "
    "review.yaml sets it per outcome (`rho`)"
)
#: Leave-one-study-out refits the model once per study.
LEAVE_ONE_STUDY_OUT_MAX = 500


def has_dependence(study: Any) -> bool:
    """True when some study gives more than one result."""
    return bool(pd.Series(np.asarray(study, dtype=object)).duplicated().any())


@dataclass(frozen=True)
class DependentAnalysis:
    """The CHE model of one outcome, its robust inference, and what the pages show of it."""

    fit: MultilevelFit
    robust: RobustMV
    rho: float
    n_studies: int
    weights: np.ndarray  # percent, one per result (metafor's weights.rma.mv: the diagonal of M^-1)
    i2: float
    i2_levels: tuple[float, float]

    def fit_dicts(self) -> dict[str, dict[str, Any]]:
        """The model-based (z) and the robust (CR2) summary, in the shape of a univariate fit's ``to_dict``:
        ``tau2`` is the total heterogeneity (between plus within studies), ``sigma2`` the two components."""
        f, r = self.fit, self.robust
        base = {
            "k": f.k,
            "n_studies": self.n_studies,
            "tau2": float(f.sigma2.sum()),
            "sigma2": [float(s) for s in f.sigma2],
            "i2": self.i2,
            "i2_levels": list(self.i2_levels),
            "q": f.QE,
            "q_pval": f.QEp,
            "method": f.method,
            "level": f.level,
            "rho": self.rho,
            "model": "multilevel",
            "warnings": [],
        }

        def row(test: str, se: float, stat: float, pval: float, pred: dict[str, Any], df: float | None) -> dict:
            intervals = {key: float(pred[key]) for key in ("ci_lb", "ci_ub", "pi_lb", "pi_ub")}
            return {**base, "test": test, "estimate": f.estimate, "se": se, "stat": stat, "pval": pval, **intervals,
                    "df": df}  # fmt: skip

        se, df = float(r.se[0]), float(r.df[0])
        crit = float(stats.t.isf((1.0 - f.level) / 2.0, df))
        # the robust prediction interval: t on the Satterthwaite df, the robust SE and the total heterogeneity
        robust = prediction(f.estimate, se, crit, math.sqrt(se * se + float(f.sigma2.sum())))
        return {
            "z": row("z", float(f.se[0]), float(f.zval[0]), float(f.pval[0]), f.predict(), None),
            "cr2": {**row("cr2", se, float(r.tstat[0]), float(r.pval[0]), robust, df), "n_clusters": r.n_clusters},
        }


def _frame(yi: Any, vi: Any, study: Any, result: Any) -> pd.DataFrame:
    d = pd.DataFrame(
        {
            "yi": np.asarray(yi, dtype=float).reshape(-1),
            "vi": np.asarray(vi, dtype=float).reshape(-1),
            "study": np.asarray(study, dtype=object).reshape(-1),
            "result": np.asarray(result, dtype=object).reshape(-1),
        }
    )
    if d["study"].nunique() < 2:
        raise AnalysisError("a multilevel analysis needs results from at least 2 studies")
    return d


def che_analysis(
    yi: Any, vi: Any, study: Any, result: Any, *, rho: float = DEFAULT_RHO, method: str = "REML", level: float = 0.95
) -> DependentAnalysis:
    """Fit the CHE working model (``V = vcalc(vi, study, rho)``, ``random = ~ 1 | study/result``) and its CR2
    inference clustered by study. Block by block: no k x k matrix at any k."""
    d = _frame(yi, vi, study, result)
    V = vcalc(d["vi"], d["study"], rho=rho, obs=d["result"], sparse_matrix=True)
    fit = meta_analysis_mv(
        d["yi"], V=V, random="~ 1 | study/result", data=d[["study", "result"]], method=method, level=level
    )
    i2, levels = fit.i2()
    return DependentAnalysis(
        fit, fit.robust(), float(rho), int(d["study"].nunique()), fit.weights(), i2, (levels[0], levels[1])
    )


def study_level(yi: Any, vi: Any, study: Any, *, rho: float = DEFAULT_RHO, within: float = 0.0) -> pd.DataFrame:
    """Each study's results combined into one, under compound symmetry at ``rho``: ``yi = 1' W y / 1' W 1``,
    ``vi = 1 / 1' W 1`` with ``W`` the inverse of the study's sampling covariance plus ``within`` (the variance of
    the true effects of one study's results) on the diagonal. ``within = 0`` is metafor's ``aggregate.escalc`` with
    ``struct = "CS"``. With the fitted within-study component, a univariate model of these averages with tau^2 the
    between-study component gives the multilevel model's estimate and standard error exactly (Sherman-Morrison
    on each study's block), which is why the stage passes it. Studies in order of first appearance; columns
    ``study, yi, vi, n`` (results combined)."""
    d = pd.DataFrame(
        {
            "yi": np.asarray(yi, dtype=float).reshape(-1),
            "vi": np.asarray(vi, dtype=float).reshape(-1),
            "study": np.asarray(study, dtype=object).reshape(-1),
        }
    )
    rows = []
    for sid, g in d.groupby("study", sort=False):
        sd = np.sqrt(g["vi"].to_numpy())
        V = rho * np.outer(sd, sd)
        np.fill_diagonal(V, sd * sd + within)
        w = np.linalg.solve(V, np.ones(len(g)))
        rows.append(
            {"study": sid, "yi": float(w @ g["yi"].to_numpy() / w.sum()), "vi": float(1.0 / w.sum()), "n": len(g)}
        )
    return pd.DataFrame(rows, columns=["study", "yi", "vi", "n"])


def study_averages(
    yi: Any, vi: Any, study: Any, result: Any, *, rho: float = DEFAULT_RHO, method: str = "REML"
) -> pd.DataFrame:
    """The study averages the pipeline gives to analyses that take one result per study (the Bayesian model, the
    small-study tests, the moderator analyses of study-level characteristics): :func:`study_level` with the
    within-study component of the CHE fit."""
    a = che_analysis(yi, vi, study, result, rho=rho, method=method if method in ("REML", "ML") else "REML")
    return study_level(yi, vi, study, rho=rho, within=float(a.fit.sigma2[1]))


def leave_one_study_out(
    yi: Any, vi: Any, study: Any, result: Any, *, rho: float = DEFAULT_RHO, method: str = "REML", level: float = 0.95
) -> pd.DataFrame:
    """The CHE model refitted with each study left out (all its results): ``omitted_study_id, k, estimate, se,
    ci_lb, ci_ub, pval, sigma2_study, sigma2_result`` with robust (CR2) intervals, as metafor's ``leave1out``
    at the cluster level. A refit with fewer than 2 studies left is skipped."""
    d = _frame(yi, vi, study, result)
    rows = []
    for sid in d["study"].unique():
        rest = d[d["study"] != sid]
        if rest["study"].nunique() < 2:
            continue
        a = che_analysis(rest["yi"], rest["vi"], rest["study"], rest["result"], rho=rho, method=method, level=level)
        cr2 = a.fit_dicts()["cr2"]
        rows.append(
            {
                "omitted_study_id": sid,
                "k": len(rest),
                "estimate": cr2["estimate"],
                "se": cr2["se"],
                "ci_lb": cr2["ci_lb"],
                "ci_ub": cr2["ci_ub"],
                "pval": cr2["pval"],
                "sigma2_study": cr2["sigma2"][0],
                "sigma2_result": cr2["sigma2"][1],
            }
        )
    return pd.DataFrame(rows)
