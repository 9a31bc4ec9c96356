"""Cluster-robust (CR2) inference for dependent effect sizes.

The model is fitted as usual (inverse-variance weights ``w_i = 1/(v_i + tau^2)``); only the
covariance of the coefficients is replaced by the bias-reduced linearisation estimator CR2 of
Bell & McCaffrey (2002) with the working model ``Theta = diag(v_i + tau^2)``, and each
coefficient is tested with t and Satterthwaite degrees of freedom, as R clubSandwich's
``coef_test(fit, vcov = "CR2", cluster = ...)`` on a metafor ``rma.uni`` fit.

References
----------
Bell RM, McCaffrey DF (2002). Bias reduction in standard errors for linear regression with
    multi-stage samples. Survey Methodology 28:169-181.
Pustejovsky JE, Tipton E (2018). Small-sample methods for cluster-robust variance estimation
    and hypothesis testing in fixed effects models. Journal of Business & Economic Statistics
    36:672-683.
Tipton E (2015). Small sample adjustments for robust variance estimation with
    meta-regression. Psychological Methods 20:375-393.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from emmie.errors import AnalysisError


@dataclass(frozen=True, eq=False)
class RobustTest:
    """CR2 covariance and per-coefficient t tests with Satterthwaite df."""

    vcov: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    df: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    n_clusters: int
    # for HTZ tests: G[c, j] = row c of bread X_j' W_j A_j (I - H)_j. per cluster j, and the working covariance
    G: np.ndarray | None = None
    theta: np.ndarray | None = None


def htz_test(
    coef: np.ndarray, vcov: np.ndarray, G: np.ndarray, theta: np.ndarray, index: Sequence[int]
) -> dict[str, float]:
    """Robust Wald test that the coefficients at ``index`` are all 0, with the HTZ small-sample correction (R
    clubSandwich's ``Wald_test(..., constrain_zero(index), vcov = "CR2", test = "HTZ")``).

    The CR2 Wald statistic Q is referred to Hotelling's T^2 whose degrees of freedom eta match the total variance of
    the CR2 covariance, standardised by its expectation, under the working model: F = Q (eta - q + 1) / (eta q) on
    (q, eta - q + 1) df. ``G`` (p x J x k) and ``theta`` (the working covariance: k x k, or its diagonal) come from
    the CR2 computation. Pustejovsky JE, Tipton E (2018), Journal of Business & Economic Statistics 36:672-683,
    section 3."""
    q = len(index)
    C = np.eye(len(coef))[list(index)]
    omega = C @ vcov @ C.T
    cb = C @ coef
    Q = float(cb @ np.linalg.solve(omega, cb))
    # S[s, t][j, j'] = P_sj' Theta P_tj' with P_sj = row s of C G[:, j]: the CR2 covariance's terms under the
    # working model; their trace over j is its expectation, Omega_E
    P = np.einsum("sc,cjk->sjk", C, G)
    TP = P * theta[None, None, :] if theta.ndim == 1 else np.einsum("kl,tml->tmk", theta, P)
    S = np.einsum("sjk,tmk->stjm", P, TP)
    root = _inv_sqrt_psd(np.einsum("stjj->st", S))
    B = np.einsum("as,stjm,tb->abjm", root, S, root)
    diag = B[np.arange(q), np.arange(q)]
    total = float(np.einsum("stjm,tsjm->", B, B) + np.einsum("sjm,tjm->", diag, diag))
    eta = q * (q + 1) / total
    df_denom = eta - q + 1
    F = max(df_denom / (eta * q), 0.0) * Q
    pval = float(stats.f.sf(F, q, df_denom)) if df_denom > 0 else float("nan")
    return {"Q": Q, "F": F, "df_num": float(q), "df_denom": df_denom, "pval": pval}


def _inv_sqrt_psd(S: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh((S + S.T) / 2.0)
    tol = np.max(np.abs(vals)) * S.shape[0] * np.finfo(float).eps
    inv = np.where(vals > tol, 1.0 / np.sqrt(np.where(vals > tol, vals, 1.0)), 0.0)
    return (vecs * inv) @ vecs.T


def robust_test(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    weights: np.ndarray,
    cluster: Sequence[Any] | np.ndarray,
    *,
    level: float = 0.95,
    beta: np.ndarray | None = None,
    target: np.ndarray | None = None,
) -> RobustTest:
    """CR2 cluster-robust covariance and Satterthwaite t tests for a weighted meta-regression.

    Parameters
    ----------
    yi, vi : ndarray
        Effect sizes and sampling variances.
    X : ndarray
        Design matrix (k x p).
    weights : ndarray
        Model weights ``1 / (v_i + tau^2)`` (the inverse of the working variances).
    cluster : array-like
        Cluster label of each effect size (at least 2 distinct clusters).
    level : float
        Confidence level.
    beta : ndarray, optional
        Fitted coefficients (recomputed when omitted).
    target : ndarray, optional
        The working variances (default ``1 / weights``, the model's own; clubSandwich's target for an ``lm`` fit
        with weights is 1 for every row).

    Returns
    -------
    RobustTest

    References
    ----------
    Pustejovsky JE, Tipton E (2018). Journal of Business & Economic Statistics 36:672-683.
    """
    y = np.asarray(yi, dtype=float)
    w = np.asarray(weights, dtype=float)
    labels = pd.Series(np.asarray(cluster, dtype=object).reshape(-1))
    if labels.size != y.size:
        raise AnalysisError(f"cluster has {labels.size} values but there are {y.size} effect sizes")
    if labels.isna().any():
        raise AnalysisError(f"cluster row {int(np.flatnonzero(labels.isna().to_numpy())[0])} is missing")
    codes, uniques = pd.factorize(labels)
    J = len(uniques)
    if J < 2:
        raise AnalysisError("cluster-robust inference needs at least 2 clusters")
    k, p = X.shape
    M = np.linalg.inv(X.T @ (w[:, None] * X))
    if beta is None:
        beta = M @ (X.T @ (w * y))
    e = y - X @ beta
    theta = 1.0 / w if target is None else np.asarray(target, dtype=float)  # working variances
    # I - H with H = X M X' W (k x k); fine for meta-analytic k
    IH = np.eye(k) - X @ M @ (X.T * w)
    meat = np.zeros((p, p))
    # rows of G_c are the (I-H)' A_j' W_j X_j M c vectors for every contrast c = unit vectors
    G = np.zeros((p, J, k))
    for j in range(J):
        idx = np.flatnonzero(codes == j)
        Xj, wj, ej = X[idx], w[idx], e[idx]
        # Var(e_j) under the working model: (I-H)_jj Theta_j when Theta = W^-1, else the jj block of (I-H) Theta (I-H)'
        if target is None:
            var_e = IH[np.ix_(idx, idx)] * theta[idx][None, :]
        else:
            var_e = (IH[idx, :] * theta[None, :]) @ IH[idx, :].T
        root = np.sqrt(theta[idx])
        # clubSandwich's choice among the solutions of A_j Var(e_j) A_j' = Theta_j:
        # A_j = C' (C Var(e_j) C')^(-1/2) C with C = chol(Theta_j) = Theta_j^(1/2) (diagonal)
        S = root[:, None] * var_e * root[None, :]
        Aj = root[:, None] * _inv_sqrt_psd(S) * root[None, :]
        uj = (Xj * wj[:, None]).T @ (Aj @ ej)
        meat += np.outer(uj, uj)
        # p x k_j: M X_j' W_j A_j
        Bj = M @ (Xj * wj[:, None]).T @ Aj
        G[:, j, :] = Bj @ IH[idx, :]
    V = M @ meat @ M
    se = np.sqrt(np.diag(V))
    df = np.empty(p)
    for c in range(p):
        Gc = G[c]
        S = (Gc * theta[None, :]) @ Gc.T
        df[c] = np.trace(S) ** 2 / np.sum(S * S)
    stat = beta / se
    pval = 2.0 * stats.t.sf(np.abs(stat), df)
    crit = stats.t.isf((1.0 - level) / 2.0, df)
    return RobustTest(V, se, stat, df, pval, beta - crit * se, beta + crit * se, J, G, theta)
