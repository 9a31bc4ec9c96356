"""Mixed-effects meta-regression (metafor's ``rma(yi, vi, mods = ...)``).

References
----------
Thompson SG, Higgins JPT (2002). How should meta-regression analyses be undertaken and
    interpreted? Statistics in Medicine 21:1559-1573.
Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single
    covariate. Statistics in Medicine 22:2693-2710.
Raudenbush SW (2009). Analyzing effect sizes: random-effects models. In Cooper, Hedges &
    Valentine (eds), The Handbook of Research Synthesis and Meta-Analysis, 2nd ed. (R^2 as the
    proportional reduction in tau^2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from emmie.effect.estimators import METAFOR_DEFAULTS, Control, make_control, normalise_method
from emmie.effect.rma import as_vector, check_level, check_test, check_yi_vi, fit_linear, prediction
from emmie.errors import AnalysisError


@dataclass(frozen=True, eq=False)
class MetaRegression:
    """Result of :func:`meta_regression`. Per-coefficient fields are tuples in the order of ``names``.

    ``qm``/``qm_pval`` is the omnibus test of all moderators (chi^2 with ``qm_df`` df under
    ``z``; under ``knha`` it is an F statistic, also available as ``f``, on ``(qm_df, qm_df_denom)`` df; with
    ``cluster=`` it is the CR2 Wald test with the HTZ correction of clubSandwich's ``Wald_test``, an F on
    ``(qm_df, qm_df_denom)`` df with HTZ's denominator). ``r2`` is the percentage of tau^2 accounted for by the moderators.
    """

    names: tuple[str, ...]
    coef: tuple[float, ...]
    se: tuple[float, ...]
    stat: tuple[float, ...]
    coef_pval: tuple[float, ...]
    ci_lb: tuple[float, ...]
    ci_ub: tuple[float, ...]
    k: int
    tau2: float
    se_tau2: float
    i2: float
    h2: float
    r2: float
    qm: float
    qm_df: int
    qm_pval: float
    qe: float
    qe_pval: float
    df: float | None
    method: str
    test: str
    level: float
    warnings: tuple[str, ...] = ()
    cluster_robust: bool = False
    qm_df_denom: float | None = None  # the omnibus F's denominator df (k - p under knha; HTZ's with cluster=)
    vb: np.ndarray | None = field(default=None, repr=False)  # model-based covariance of the coefficients
    X: np.ndarray | None = field(default=None, repr=False)  # the design matrix of the rows used
    yi: np.ndarray | None = field(default=None, repr=False)  # the effect sizes of the rows used

    def predict(self, newmods: Any) -> pd.DataFrame:
        """Predicted effects at new moderator values, as metafor's ``predict(fit, newmods=)``: ``pred``, ``se``,
        the confidence interval (``ci_lb``, ``ci_ub``) and the prediction interval of a true effect at those values
        (``pi_lb``, ``pi_ub``: ``pred +/- crit * sqrt(se^2 + tau^2)``; NaN for an equal-effects fit, as metafor
        gives none); t on k - p df under ``knha``.

        ``newmods``: one row per prediction and one numeric column per moderator column of the fit (dummy columns
        of a categorical moderator as the fit named them), without the intercept."""
        if self.cluster_robust:
            raise AnalysisError(
                "predict: a fit with cluster= has a cluster-robust covariance; predict from the fit without cluster="
            )
        if self.vb is None or self.X is None:
            raise AnalysisError("predict: this result does not carry its design (made by an older emmie)")
        new = np.asarray(newmods, dtype=float)
        p = len(self.names)
        if new.ndim == 1:  # one moderator: a value per prediction; several: one prediction
            new = new[:, None] if p == 2 else new[None, :]
        if new.shape[1] != p - 1:
            raise AnalysisError(
                f"predict: newmods has {new.shape[1]} columns; the fit has {p - 1} ({', '.join(self.names[1:])})"
            )
        if not np.all(np.isfinite(new)):
            raise AnalysisError("predict: newmods must be finite numbers")
        Xn = np.column_stack([np.ones(new.shape[0]), new])
        pred = Xn @ np.asarray(self.coef)
        se = np.sqrt(np.einsum("ij,jk,ik->i", Xn, self.vb, Xn))
        q = 0.5 + self.level / 2.0
        crit = float(stats.t.ppf(q, self.k - p)) if self.test == "knha" else float(stats.norm.ppf(q))
        # an equal-effects fit has no distribution of true effects to predict from (metafor gives no interval)
        spread = np.sqrt(se * se + self.tau2) if self.method != "EE" else np.full(se.shape, np.nan)
        return pd.DataFrame(prediction(pred, se, crit, spread))

    def fitted(self) -> np.ndarray:
        """Fitted values ``X b`` of the rows used (metafor's ``fitted``)."""
        if self.X is None:
            raise AnalysisError("fitted: this result does not carry its design (made by an older emmie)")
        return self.X @ np.asarray(self.coef)

    def residuals(self) -> np.ndarray:
        """Residuals ``yi - X b`` of the rows used (metafor's ``residuals``)."""
        if self.yi is None:
            raise AnalysisError("residuals: this result does not carry its data (made by an older emmie)")
        return self.yi - self.fitted()

    @property
    def f(self) -> float:
        """The omnibus F statistic (``qm`` under ``test="knha"``)."""
        return self.qm

    @property
    def pval(self) -> float:
        """The omnibus test's p-value (metafor's ``QMp``); each coefficient's is in ``coef_pval``."""
        return self.qm_pval

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "coef": self.coef,
                "se": self.se,
                "stat": self.stat,
                "pval": self.coef_pval,
                "ci_lb": self.ci_lb,
                "ci_ub": self.ci_ub,
            },
            index=list(self.names),
        )

    def __str__(self) -> str:
        kind = "F" if self.test == "knha" or self.cluster_robust else "QM"
        lines = [
            f"Mixed-Effects Model (k = {self.k}; tau^2 estimator: {self.method})",
            "",
            f"tau^2 (estimated amount of residual heterogeneity):     {self.tau2:.4f}",
            f"I^2 (residual heterogeneity / unaccounted variability): {self.i2:.2f}%",
            f"R^2 (amount of heterogeneity accounted for):            {self.r2:.2f}%",
            "",
            f"Test for Residual Heterogeneity: QE(df = {self.k - len(self.names)}) = {self.qe:.4f}, p-val = {self.qe_pval:.4g}",
            f"Test of Moderators: {kind}"
            + (f"(df1 = {self.qm_df}, df2 = {self.qm_df_denom:.4g})" if self.qm_df_denom is not None else "")
            + f" = {self.qm:.4f}, p-val = {self.qm_pval:.4g}"
            + (" (CR2, HTZ)" if self.cluster_robust else ""),
            "",
            self.table().to_string(float_format=lambda x: f"{x:.4f}"),
        ]
        lines += [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    __repr__ = __str__


def design_matrix(mods: Any, k: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Intercept plus moderators; categorical columns of a DataFrame become dummies (first level dropped)."""
    if isinstance(mods, pd.Series):
        mods = mods.to_frame()
    if isinstance(mods, pd.DataFrame):
        frame = pd.get_dummies(mods, drop_first=True, dtype=float)
        names = tuple(str(c) for c in frame.columns)
        M = frame.to_numpy(dtype=float)
    else:
        M = np.asarray(mods, dtype=float)
        if M.ndim == 1:
            M = M[:, None]
        names = tuple(f"mod{j + 1}" for j in range(M.shape[1]))
    if M.shape[0] != k:
        raise AnalysisError(f"mods has {M.shape[0]} rows but there are {k} effect sizes")
    if np.any(np.isinf(M)):
        i = int(np.flatnonzero(np.any(np.isinf(M), axis=1))[0])
        raise AnalysisError(f"mods row {i} has an infinite value")
    X = np.column_stack([np.ones(k), M])
    return X, ("intrcpt", *names)


def _check_design(X: np.ndarray) -> None:
    k = X.shape[0]
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise AnalysisError("the moderators are collinear (design matrix not of full rank); drop redundant columns")
    if k <= X.shape[1]:
        raise AnalysisError(f"k = {k} effect sizes cannot support {X.shape[1]} coefficients")


def meta_regression(
    yi: Any,
    vi: Any,
    mods: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    cluster: Sequence[Any] | np.ndarray | None = None,
    control: Mapping[str, float] | Control | None = None,
) -> MetaRegression:
    """Meta-regression of effect sizes on study-level moderators, as metafor's ``rma(yi, vi, mods=)``.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances.
    mods : DataFrame, Series or array
        Moderators (one column each); an intercept is added. Non-numeric DataFrame columns are
        dummy-coded with the first level as reference.
    method, test, level
        As :func:`emmie.effect.meta_analysis`.
    cluster : array-like, optional
        Cluster of each effect size: CR2 cluster-robust tests with Satterthwaite df per
        coefficient (as clubSandwich's ``coef_test``); the omnibus test then is a Wald F with the
        CR2 covariance and (m, k - p) df (not clubSandwich's HTZ test).
    control : mapping, optional
        Iteration settings; default metafor's own defaults (``stepadj=1, maxiter=100``), as in
        emmie's metafor references for meta-regression. Rows with a missing moderator are
        omitted with a warning, as metafor does.

    Returns
    -------
    MetaRegression

    Notes
    -----
    ``r2 = max(0, 100 (tau2_RE - tau2_ME) / tau2_RE)``, with tau2_RE from the intercept-only
    model fitted by the same method (0 when tau2_RE = 0), as metafor.

    References
    ----------
    Thompson SG, Higgins JPT (2002). Statistics in Medicine 21:1559-1573.
    Knapp G, Hartung J (2003). Statistics in Medicine 22:2693-2710.
    Raudenbush SW (2009). In The Handbook of Research Synthesis and Meta-Analysis, 2nd ed.
    """
    y, v = as_vector(yi, "yi"), as_vector(vi, "vi")
    if y.shape != v.shape:
        raise AnalysisError(f"yi has {y.size} values but vi has {v.size}")
    m = normalise_method(method)
    t = check_test(test)
    lev = check_level(level)
    con = METAFOR_DEFAULTS if control is None else make_control(control)
    X, names = design_matrix(mods, y.size)
    notes: list[str] = []
    # metafor's na.action = "na.omit": a row missing its yi, its vi or a moderator is left out, and counted
    complete = ~(np.isnan(y) | np.isnan(v) | np.any(np.isnan(X), axis=1))
    if not complete.all():
        dropped = np.flatnonzero(~complete)
        notes.append(
            f"{dropped.size} result(s) with a missing yi, vi or moderator value left out (rows "
            f"{', '.join(str(i + 1) for i in dropped)}; metafor's na.action = 'na.omit'): k = {int(complete.sum())}"
        )
        y, v, X = y[complete], v[complete], X[complete]
        if cluster is not None:
            cluster = np.asarray(cluster, dtype=object)[complete]
    y, v = check_yi_vi(y, v)
    _check_design(X)
    k, p = X.shape
    fit = fit_linear(y, v, X, m, t, lev, con)
    notes.extend(fit.warnings)
    beta, vb = fit.beta, fit.vb
    se, stat, pval, ci_lb, ci_ub, df = fit.se, fit.stat, fit.pval, fit.ci_lb, fit.ci_ub, fit.df
    robust = False
    if cluster is not None:
        from emmie.effect.robust import htz_test, robust_test

        rt = robust_test(y, v, X, fit.weights, cluster, level=lev, beta=beta)
        se, stat, pval, ci_lb, ci_ub = rt.se, rt.stat, rt.pval, rt.ci_lb, rt.ci_ub
        vb = rt.vcov
        df = None
        robust = True
    idx = np.arange(1, p)
    sub = vb[np.ix_(idx, idx)]
    qm = float(beta[idx] @ np.linalg.solve(sub, beta[idx]))
    qm_df = p - 1
    qm_df_denom: float | None = None
    if robust:  # CR2 Wald test with the HTZ correction (clubSandwich's Wald_test default)
        htz = htz_test(beta, vb, rt.G, rt.theta, idx.tolist())
        qm, qm_pval, qm_df_denom = htz["F"], htz["pval"], htz["df_denom"]
    elif t == "knha":
        qm = qm / qm_df
        qm_df_denom = float(k - p)
        qm_pval = float(stats.f.sf(qm, qm_df, k - p))
    else:
        qm_pval = float(stats.chi2.sf(qm, qm_df))
    if m == "EE":
        r2 = float("nan")
    else:
        base = fit_linear(y, v, np.ones((k, 1)), m, t, lev, con).tau.tau2
        r2 = 0.0 if base == 0 else max(0.0, 100.0 * (base - fit.tau.tau2) / base)
    if t == "z" and k < 10:
        notes.append(f"only k = {k} studies for {p} coefficients: consider test='knha'")
    return MetaRegression(
        names=names,
        coef=tuple(map(float, beta)),
        se=tuple(map(float, se)),
        stat=tuple(map(float, stat)),
        coef_pval=tuple(map(float, pval)),
        ci_lb=tuple(map(float, ci_lb)),
        ci_ub=tuple(map(float, ci_ub)),
        k=k,
        tau2=float(fit.tau.tau2),
        se_tau2=float(fit.tau.se_tau2),
        i2=fit.i2,
        h2=fit.h2,
        r2=float(r2),
        qm=qm,
        qm_df=qm_df,
        qm_pval=qm_pval,
        qm_df_denom=qm_df_denom,
        vb=fit.vb,
        X=X,
        yi=y,
        qe=fit.qe,
        qe_pval=fit.qe_pval,
        df=df,
        method=m,
        test=t,
        level=lev,
        warnings=tuple(notes),
        cluster_robust=robust,
    )
