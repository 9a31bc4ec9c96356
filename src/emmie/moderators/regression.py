"""Meta-regression on one moderator, with the small-sample safeguards of Knapp-Hartung and permutation.

References
----------
Thompson, S. G., & Higgins, J. P. T. (2002). How should meta-regression analyses be undertaken and interpreted?
    Statistics in Medicine, 21, 1559-1573.
Knapp, G., & Hartung, J. (2003). Improved tests for a random effects meta-regression with a single covariate.
    Statistics in Medicine, 22, 2693-2710.
Higgins, J. P. T., & Thompson, S. G. (2004). Controlling the risk of spurious findings from meta-regression.
    Statistics in Medicine, 23, 1663-1682.
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw, 36(3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from emmie.effect import meta_regression
from emmie.effect.metareg import MetaRegression
from emmie.errors import AnalysisError
from emmie.moderators.permutation import PermutationTest, permutation_test
from emmie.moderators.subgroups import dummy_matrix

KINDS = ("continuous", "categorical")


def coefficient_vcov(yi: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float, test: str) -> np.ndarray:
    """Covariance matrix of the meta-regression coefficients at a given tau^2.

    ``(X' W X)^-1`` with ``W = diag(1 / (v_i + tau^2))``, multiplied under ``test="knha"`` by
    ``s^2 = sum w_i r_i^2 / (k - p)`` (Knapp & Hartung 2003), as metafor's ``vcov``.

    References
    ----------
    Knapp & Hartung (2003); Viechtbauer (2010).
    """
    w = 1.0 / (vi + tau2)
    A = X.T @ (w[:, None] * X)
    vb = np.linalg.inv(A)
    if test == "knha":
        beta = vb @ (X.T @ (w * yi))
        r = yi - X @ beta
        k, p = X.shape
        vb = vb * float(np.sum(w * r * r)) / (k - p)
    return vb


@dataclass(frozen=True)
class ModeratorRegression:
    """Result of :func:`moderator_regression`.

    ``fit`` uses the requested test (default Knapp-Hartung), ``fit_z`` the z test; ``permutation``
    is the permutation test of the moderator (None when ``n_perm=0``). ``x`` holds the moderator
    values of a continuous moderator (the design columns otherwise) and ``vcov`` the covariance of
    the coefficients of ``fit``.
    """

    moderator: str
    kind: str
    levels: tuple[str, ...] | None
    fit: MetaRegression
    fit_z: MetaRegression
    permutation: PermutationTest | None
    x: np.ndarray
    vcov: np.ndarray

    def predict(self, x_new: Sequence[float]) -> pd.DataFrame:
        """Fitted mean effect and its CI at moderator values ``x_new`` (continuous moderators only)."""
        if self.kind != "continuous":
            raise AnalysisError("predictions along a line need a continuous moderator")
        xs = np.asarray(x_new, dtype=float)
        X0 = np.column_stack([np.ones(xs.size), xs])
        b = np.asarray(self.fit.coef)
        pred = X0 @ b
        se = np.sqrt(np.einsum("ij,jk,ik->i", X0, self.vcov, X0))
        crit = (
            stats.t.isf((1 - self.fit.level) / 2, self.fit.df)
            if self.fit.test == "knha"
            else stats.norm.isf((1 - self.fit.level) / 2)
        )
        return pd.DataFrame({"x": xs, "pred": pred, "se": se, "ci_lb": pred - crit * se, "ci_ub": pred + crit * se})

    def to_dict(self) -> dict[str, Any]:
        def reg(f: MetaRegression) -> dict[str, Any]:
            return {
                "names": list(f.names),
                "coef": list(f.coef),
                "se": list(f.se),
                "stat": list(f.stat),
                "pval": list(f.coef_pval),
                "ci_lb": list(f.ci_lb),
                "ci_ub": list(f.ci_ub),
                "k": f.k,
                "tau2": f.tau2,
                "i2": f.i2,
                "r2": f.r2,
                "qm": f.qm,
                "qm_df": f.qm_df,
                "df": f.df,
                "qm_pval": f.qm_pval,
                "qe": f.qe,
                "qe_pval": f.qe_pval,
                "method": f.method,
                "test": f.test,
                "warnings": list(f.warnings),
            }

        return {
            "moderator": self.moderator,
            "kind": self.kind,
            "levels": list(self.levels) if self.levels is not None else None,
            "knha" if self.fit.test == "knha" else self.fit.test: reg(self.fit),
            "z": reg(self.fit_z),
            "permutation": self.permutation.to_dict() if self.permutation is not None else None,
        }


def moderator_regression(
    yi: Any,
    vi: Any,
    x: Sequence[Any],
    *,
    kind: str | None = None,
    levels: Sequence[str] | None = None,
    name: str = "moderator",
    method: str = "REML",
    test: str = "knha",
    n_perm: int = 1000,
    seed: int | None = None,
    level: float = 0.95,
    stop_after: int | None = None,
) -> ModeratorRegression:
    """Mixed-effects meta-regression of the effect sizes on one moderator.

    Fits ``rma(yi, vi, mods = ~ x)`` (continuous) or ``~ factor(x)`` (categorical, first level the
    reference) with the requested test (default Knapp-Hartung, whose F and t tests keep their size
    with few studies) and with the z test, and runs a permutation test of the moderator
    (Higgins & Thompson 2004), which does not rely on the normal or t approximations.

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances.
    x : sequence
        Moderator value of each effect size (no missing values: drop those studies first).
    kind : {"continuous", "categorical"}, optional
        Default: continuous when every value is a number.
    levels : sequence of str, optional
        Level order of a categorical moderator.
    name : str
        Moderator name (for the coefficient names and the report).
    method, test, level
        As :func:`emmie.effect.meta_regression`.
    n_perm : int
        Permutations (0 = no permutation test).
    seed : int, optional
        Seed of the permutation test.

    Returns
    -------
    ModeratorRegression

    References
    ----------
    Thompson & Higgins (2002); Knapp & Hartung (2003); Higgins & Thompson (2004).
    """
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    if len(x) != y.size:
        raise AnalysisError(f"moderator {name!r} has {len(x)} values but there are {y.size} effect sizes")
    if kind is None:
        try:
            np.asarray(x, dtype=float)
            kind = "continuous"
        except (TypeError, ValueError):
            kind = "categorical"
    if kind not in KINDS:
        raise AnalysisError(f"moderator kind {kind!r}; expected one of {KINDS}")
    if kind == "continuous":
        M = np.asarray(x, dtype=float)[:, None]
        if np.isnan(M).any():
            raise AnalysisError(f"moderator {name!r} has missing values; drop those studies first")
        names = (name,)
        order = None
    else:
        M, order = dummy_matrix(x, levels)
        if M.shape[1] == 0:
            raise AnalysisError(f"moderator {name!r} has a single level {list(order)}: nothing to compare")
        names = tuple(f"{name}[{lv}]" for lv in order[1:])
    frame = pd.DataFrame(M, columns=list(names))
    fit = meta_regression(y, v, frame, method=method, test=test, level=level)
    fit_z = fit if test == "z" else meta_regression(y, v, frame, method=method, test="z", level=level)
    X = np.column_stack([np.ones(y.size), M])
    vcov = coefficient_vcov(y, v, X, fit.tau2, fit.test)
    perm = (
        permutation_test(y, v, M, n_perm=n_perm, seed=seed, method=method, test=test, stop_after=stop_after)
        if n_perm
        else None
    )
    return ModeratorRegression(
        moderator=name,
        kind=kind,
        levels=order,
        fit=fit,
        fit_z=fit_z,
        permutation=perm,
        x=M[:, 0] if kind == "continuous" else M,
        vcov=vcov,
    )
