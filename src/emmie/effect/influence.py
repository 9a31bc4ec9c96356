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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, stats

from emmie.effect.estimators import Control, make_control, normalise_method
from emmie.effect.metareg import design_matrix, meta_regression
from emmie.effect.metareg_batch import BATCHED, leave_one_out_fits
from emmie.effect.multilevel import meta_analysis_mv, parse_random
from emmie.effect.rma import check_level, check_test, check_yi_vi, meta_analysis
from emmie.errors import AnalysisError, EmmieError

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
    m, t = normalise_method(method), check_test(test)
    if m in BATCHED and t in ("z", "knha") and y.size >= 4 and np.all(v > 0):
        # all k fits at once (emmie.effect.metareg_batch); a fit whose scoring does not converge is redone alone
        cols, ok = leave_one_out_fits(y, v, method=m, test=t, level=check_level(level), control=make_control(control))
        frame = pd.DataFrame({"omitted": np.arange(y.size), **cols}, columns=["omitted", *_COLUMNS])
        keep = np.ones(y.size, dtype=bool)
        for i in np.flatnonzero(~ok):
            keep[i] = False
            frame.loc[i, list(_COLUMNS)] = list(_row(y[keep], v[keep], method, test, level, control).values())
            keep[i] = True
        return frame
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


def _tau2_fit(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, test: str, control: Any) -> dict[str, Any]:
    """tau^2 of the model (emmie's estimators, as metafor), then the weighted least-squares pieces metafor's
    influence() uses: coefficients, their covariance (times the Knapp-Hartung factor s2w under ``knha``), QE."""
    if X.shape[1] == 1:
        fit = meta_analysis(y, v, method=method, test="z", control=control)
        tau2, qe = float(fit.tau2), float(fit.q)
    else:
        fit = meta_regression(y, v, X[:, 1:], method=method, test="z", control=control)
        tau2, qe = float(fit.tau2), float(fit.qe)
    w = 1.0 / (v + tau2)
    XtWX = X.T @ (w[:, None] * X)
    unscaled = np.linalg.inv(XtWX)
    beta = unscaled @ (X.T @ (w * y))
    k, p = X.shape
    s2w = float(np.sum(w * (y - X @ beta) ** 2) / (k - p)) if test == "knha" else 1.0
    return {"tau2": tau2, "qe": qe, "beta": beta, "vb": s2w * unscaled, "s2w": s2w, "w": w}


def influence(
    yi: Any,
    vi: Any,
    *,
    mods: Any = None,
    method: str = "REML",
    test: str = "z",
    control: Mapping[str, float] | Control | None = None,
) -> pd.DataFrame:
    """Outlier and influence diagnostics of a random-effects model, study by study (metafor's ``influence()`` of an
    ``rma.uni`` fit; Viechtbauer & Cheung 2010).

    Each study is left out and the model refitted. Columns:

    - ``rstudent``: the study's deleted residual ``y_i - x_i b_(-i)`` over its standard error
      ``sqrt(s2w_(-i) (v_i + tau2_(-i)) + x_i V_(-i) x_i')`` (externally standardised);
    - ``dffits``: the change of its fitted value, ``(x_i b - x_i b_(-i)) / sqrt(s2w_(-i) h_i (tau2_(-i) + v_i))``;
    - ``cook_d``: ``(b - b_(-i))' V^-1 (b - b_(-i))``;
    - ``cov_r``: ``det(V_(-i)) / det(V)``;
    - ``tau2_del``, ``qe_del``: tau^2 and the Q statistic without the study;
    - ``hat``: the diagonal of ``X (X'WX)^-1 X'W``; ``weight``: its weight in percent;
    - ``dfbetas_<coefficient>``: ``(b - b_(-i)) / sqrt(s2w_(-i) diag((X'W_(-i)X)^-1))`` with the full data
      weighted at ``tau2_(-i)``;
    - ``influential``: metafor's flag: |dffits| > 3 sqrt(p / (k - p)), Cook's distance above the median of
      chi^2 with p df, hat > 3 p / k, or some |DFBETAS| > 1.

    ``mods`` as :func:`emmie.effect.meta_regression` (an intercept is added); ``test`` ``"z"`` or ``"knha"``. A refit
    that fails (a moderator that no longer varies) leaves the study's row NaN.
    """
    y, v = check_yi_vi(yi, vi)
    k = y.size
    X, names = (np.ones((k, 1)), ("intrcpt",)) if mods is None else design_matrix(mods, k)
    p = X.shape[1]
    if k - p < 1:
        raise AnalysisError(f"influence needs more studies than coefficients (k = {k}, p = {p})")
    full = _tau2_fit(y, v, X, method, test, control)
    w = full["w"]
    hat = np.einsum("ip,pq,iq->i", X, np.linalg.inv(X.T @ (w[:, None] * X)), X) * w
    svb = np.linalg.inv(full["vb"])
    out = {c: np.full(k, np.nan) for c in ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del")}
    dfbetas = np.full((k, p), np.nan)
    keep = np.ones(k, dtype=bool)
    for i in range(k):
        keep[i] = False
        try:
            part = _tau2_fit(y[keep], v[keep], X[keep], method, test, control)
        except (AnalysisError, np.linalg.LinAlgError):
            keep[i] = True
            continue
        keep[i] = True
        t2, s2w = part["tau2"], part["s2w"]
        pred_del = float(X[i] @ part["beta"])
        resid = y[i] - pred_del
        out["rstudent"][i] = resid / np.sqrt(s2w * (v[i] + t2) + float(X[i] @ part["vb"] @ X[i]))
        out["dffits"][i] = (float(X[i] @ full["beta"]) - pred_del) / np.sqrt(s2w * hat[i] * (t2 + v[i]))
        dfb = full["beta"] - part["beta"]
        out["cook_d"][i] = float(dfb @ svb @ dfb)
        out["cov_r"][i] = np.linalg.det(part["vb"]) / np.linalg.det(full["vb"])
        out["tau2_del"][i], out["qe_del"][i] = t2, part["qe"]
        w_del = 1.0 / (v + t2)
        dfbetas[i] = dfb / np.sqrt(s2w * np.diag(np.linalg.inv(X.T @ (w_del[:, None] * X))))
    frame = pd.DataFrame(out)
    frame["hat"] = hat
    frame["weight"] = 100.0 * w / w.sum()
    for j, name in enumerate(names):
        frame[f"dfbetas_{name}"] = dfbetas[:, j]
    frame["influential"] = (
        (np.abs(frame["dffits"]) > 3 * np.sqrt(p / (k - p)))
        | (stats.chi2.cdf(frame["cook_d"], p) > 0.5)
        | (frame["hat"] > 3 * p / k)
        | (np.abs(dfbetas) > 1).any(axis=1)
    )
    return frame


@dataclass(frozen=True)
class MultilevelInfluence:
    """:func:`influence_mv`'s results: one row per cluster (``clusters``) and one per effect size (``rows``)."""

    clusters: pd.DataFrame
    rows: pd.DataFrame


def _block(fit: Any, rows: np.ndarray) -> np.ndarray:
    """The block of a fit's marginal covariance M on ``rows`` (whole model blocks), without forming M."""
    where = {int(r): i for i, r in enumerate(rows)}
    M = np.zeros((rows.size, rows.size))
    for st in fit._model.stacks:
        Ms = st.V + np.tensordot(fit._theta, st.A, axes=1)
        for g in range(st.rows.shape[0]):
            if int(st.rows[g, 0]) in where:
                idx = [where[int(r)] for r in st.rows[g]]
                M[np.ix_(idx, idx)] = Ms[g]
    return M


def influence_mv(
    yi: Any,
    vi: Any = None,
    *,
    V: Any = None,
    random: str = "~ 1 | study/es",
    data: pd.DataFrame | None = None,
    mods: Any = None,
    method: str = "REML",
    cluster: Any = None,
) -> pd.DataFrame:
    """Cluster-level influence of a multilevel model (metafor's ``cooks.distance``, ``dfbetas`` of an ``rma.mv``
    fit with ``cluster =`` and ``reestimate = TRUE``): each cluster (by default the outer level of ``random``) is left
    out with all its effect sizes and the model refitted. Columns ``cluster, k_removed, cook_d`` (``(b - b_(-j))'
    V^-1 (b - b_(-j))``) and ``dfbetas_<coefficient>`` (``(b - b_(-j))`` over the standard errors of the full data at
    the refit's variance components), ``X2`` (the cluster's deleted residuals ``e = y_j - X_j b_(-j)`` as one
    statistic, ``e' (M_jj + X_j V_(-j) X_j')^-1 e`` with M at the refit's components: metafor's cluster-level
    ``rstudent``) and ``sigma2_<component>`` of the refit; and one row per effect size with its deleted residual,
    its standard error and their ratio (``resid, se, z``: metafor's ``rstudent(fit, cluster =)``)."""
    if data is None:
        raise AnalysisError("data: a DataFrame with the columns named in random is needed")
    data = data.reset_index(drop=True)
    fit = meta_analysis_mv(yi, vi, V=V, random=random, data=data, mods=mods, method=method)
    X = fit._model.X
    y = fit._model.y
    outer = parse_random(random)[0][0]
    labels = pd.Series(np.asarray(cluster if cluster is not None else data[outer], dtype=object)).astype(str)
    svb = np.linalg.inv(fit.vb)
    Vm = None if V is None else (sparse.csr_matrix(V) if sparse.issparse(V) else np.asarray(V, dtype=float))
    v = None if vi is None else np.asarray(vi, dtype=float)

    def refit(rows: np.ndarray, sigma2: Any = None):
        sub_v = None if v is None else v[rows]
        sub_V = None if Vm is None else Vm[rows][:, rows]
        return meta_analysis_mv(
            y[rows], sub_v, V=sub_V, random=random, data=data.iloc[rows].reset_index(drop=True), mods=X[rows],
            intercept=False, method=method, sigma2=sigma2,
        )  # fmt: skip

    rows_out = []
    resid, se_resid = np.full(y.size, np.nan), np.full(y.size, np.nan)
    everything = np.arange(y.size)
    for label in pd.unique(labels):
        drop = (labels == label).to_numpy()
        row: dict[str, Any] = {"cluster": label, "k_removed": int(drop.sum())}
        try:
            part = refit(everything[~drop])
            at_refit = refit(everything, sigma2=list(part.sigma2))
        except (EmmieError, np.linalg.LinAlgError):  # a refit that fails leaves the cluster's row empty
            rows_out.append(row)
            continue
        dfb = fit.coef - part.coef
        row["cook_d"] = float(dfb @ svb @ dfb)
        idx = everything[drop]
        e = y[idx] - X[idx] @ part.coef
        S = _block(at_refit, idx) + X[idx] @ part.vb @ X[idx].T
        resid[idx], se_resid[idx] = e, np.sqrt(np.diag(S))
        row["X2"] = float(e @ np.linalg.solve(S, e))
        for name, value in zip(fit.coef_names, dfb / np.sqrt(np.diag(at_refit.vb)), strict=True):
            row[f"dfbetas_{name}"] = float(value)
        for name, s2 in zip(fit.components, part.sigma2, strict=True):
            row[f"sigma2_{name}"] = float(s2)
        rows_out.append(row)
    per_row = pd.DataFrame({"cluster": labels.to_numpy(), "resid": resid, "se": se_resid, "z": resid / se_resid})
    return MultilevelInfluence(pd.DataFrame(rows_out), per_row)
