"""Many meta-analyses at once: one per group, vectorised across groups.

Groups are padded into a ``(G, kmax)`` array with a mask, and every estimator (including
metafor's Fisher scoring and R's ``uniroot`` for Paule-Mandel) runs on all groups at once; a
group stops updating as soon as it meets metafor's stopping rule, so each row equals
:func:`emmie.effect.meta_analysis` on that group alone.

References
----------
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
    Journal of Statistical Software 36(3):1-48.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from emmie.effect.estimators import Control, _solve_equation, make_control, normalise_method
from emmie.effect.rma import check_level, check_test
from emmie.errors import AnalysisError

_EPS = np.finfo(float).eps


class _Groups:
    """Padded (G, kmax) effect sizes with a mask and per-group sums."""

    def __init__(self, Y: np.ndarray, V: np.ndarray, M: np.ndarray):
        self.Y, self.V, self.M = Y, V, M
        self.k = M.sum(axis=1).astype(float)

    def weights(self, tau2: np.ndarray) -> np.ndarray:
        return np.where(self.M, 1.0 / (self.V + tau2[:, None]), 0.0)

    def wls(self, tau2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weights, pooled mean and residuals for each group."""
        W = self.weights(tau2)
        sw = W.sum(axis=1)
        mu = (W * self.Y).sum(axis=1) / sw
        R = np.where(self.M, self.Y - mu[:, None], 0.0)
        return W, mu, R

    def q(self, tau2: np.ndarray) -> np.ndarray:
        W, _, R = self.wls(tau2)
        return (W * R * R).sum(axis=1)


def _trace_p(W: np.ndarray) -> np.ndarray:
    sw = W.sum(axis=1)
    return sw - (W * W).sum(axis=1) / sw


def _trace_pp(W: np.ndarray) -> np.ndarray:
    sw = W.sum(axis=1)
    s2 = (W * W).sum(axis=1)
    return s2 - 2.0 * (W**3).sum(axis=1) / sw + (s2 / sw) ** 2


def _moment_se(
    W: np.ndarray, V: np.ndarray, tau2: np.ndarray, scale: np.ndarray, tr_pp: np.ndarray | None
) -> np.ndarray:
    """The standard error of a method-of-moments tau^2 of the intercept-only model, ``scale * sqrt(2 tr(PVPV) +
    4 tau2 t + 2 tau2^2 tr(PP))``, with ``t = tr(PV)`` for HE (``tr_pp`` given: k - 1) and ``tr(PPV)`` for SJ
    (as :func:`emmie.effect.estimators._moment_se_traces`, for P = W - w w'/sum(w)); W and V are 0 where masked."""
    sw = W.sum(axis=1)
    wv = W * V
    s_w2v = (W * wv).sum(axis=1)
    tr_pvpv = (wv * wv).sum(axis=1) - 2.0 * (W * wv * wv).sum(axis=1) / sw + (s_w2v / sw) ** 2
    if tr_pp is not None:  # HE: P is the least-squares residual maker, t = tr(PV)
        t = wv.sum(axis=1) - s_w2v / sw
    else:
        s_w2 = (W * W).sum(axis=1)
        t = s_w2v - 2.0 * (W * W * wv).sum(axis=1) / sw + s_w2 * s_w2v / sw**2
        tr_pp = _trace_pp(W)
    return scale * np.sqrt(2.0 * tr_pvpv + 4.0 * tau2 * t + 2.0 * tau2**2 * tr_pp)


def _scoring_step(g: _Groups, method: str, tau2: np.ndarray) -> np.ndarray:
    W, _, R = g.wls(tau2)
    sw = W.sum(axis=1)
    if method == "ML":
        return ((W * W * R * R).sum(axis=1) - sw) / (W * W).sum(axis=1)
    if method == "REML":
        return ((W * W * R * R).sum(axis=1) - _trace_p(W)) / _trace_pp(W)
    k = g.k
    return ((W * R * R).sum(axis=1) * k / (k - 1) - k) / sw


def _loglik(g: _Groups, tau2: np.ndarray, ml: bool) -> np.ndarray:
    W, _, R = g.wls(tau2)
    logv = np.where(g.M, np.log(np.where(g.M, g.V + tau2[:, None], 1.0)), 0.0).sum(axis=1)
    rss = (W * R * R).sum(axis=1)
    if ml:
        return -0.5 * g.k * np.log(2 * np.pi) - 0.5 * logv - 0.5 * rss
    return -0.5 * (g.k - 1) * np.log(2 * np.pi) - 0.5 * logv - 0.5 * np.log(W.sum(axis=1)) - 0.5 * rss


def _zeroin(
    f: Any, a: np.ndarray, b: np.ndarray, fa: np.ndarray, fb: np.ndarray, tol: float, maxiter: int, active: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised port of R's ``R_zeroin2`` (see :func:`emmie.effect.estimators.zeroin`)."""
    a, b, fa, fb = a.copy(), b.copy(), fa.copy(), fb.copy()
    root = np.where(fa == 0, a, b)
    act = active & (fa != 0) & (fb != 0)
    done = ~act
    c, fc = a.copy(), fa.copy()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(maxiter + 1):
            if not act.any():
                break
            prev_step = b - a
            swap = act & (np.abs(fc) < np.abs(fb))
            a = np.where(swap, b, a)
            b = np.where(swap, c, b)
            c = np.where(swap, a, c)
            fa = np.where(swap, fb, fa)
            fb = np.where(swap, fc, fb)
            fc = np.where(swap, fa, fc)
            tol_act = 2.0 * _EPS * np.abs(b) + tol / 2.0
            new_step = (c - b) / 2.0
            finished = act & ((np.abs(new_step) <= tol_act) | (fb == 0))
            root = np.where(finished, b, root)
            act = act & ~finished
            done = done | finished
            try_interp = act & (np.abs(prev_step) >= tol_act) & (np.abs(fa) > np.abs(fb))
            cb = c - b
            t1_lin = fb / fa
            p_lin, q_lin = cb * t1_lin, 1.0 - t1_lin
            qq, t1, t2 = fa / fc, fb / fc, fb / fa
            p_quad = t2 * (cb * qq * (qq - t1) - (b - a) * (t1 - 1.0))
            q_quad = (qq - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            p = np.where(a == c, p_lin, p_quad)
            q = np.where(a == c, q_lin, q_quad)
            q = np.where(p > 0, -q, q)
            p = np.abs(p)
            accept = try_interp & (p < 0.75 * cb * q - np.abs(tol_act * q) / 2.0) & (p < np.abs(prev_step * q / 2.0))
            new_step = np.where(accept, p / q, new_step)
            small = np.abs(new_step) < tol_act
            new_step = np.where(small, np.where(new_step > 0, tol_act, -tol_act), new_step)
            a = np.where(act, b, a)
            fa = np.where(act, fb, fa)
            b = np.where(act, b + new_step, b)
            fnew = f(np.where(act, b, 0.0))
            fb = np.where(act, fnew, fb)
            same = act & (((fb > 0) & (fc > 0)) | ((fb < 0) & (fc < 0)))
            c = np.where(same, a, c)
            fc = np.where(same, fa, fc)
    return root, done


def _estimate(g: _Groups, method: str, con: Control) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """tau2, se_tau2, converged, iterations per group (metafor's algorithms, vectorised)."""
    G = g.Y.shape[0]
    k = g.k
    multi = k > 1
    tau2 = np.zeros(G)
    conv = np.ones(G, dtype=bool)
    iters = np.zeros(G, dtype=int)
    nan = np.full(G, np.nan)
    if method == "EE":
        return tau2, nan, conv, iters
    W0, _, R0 = g.wls(np.zeros(G))
    q0 = (W0 * R0 * R0).sum(axis=1)
    sw0 = W0.sum(axis=1)
    km1 = np.maximum(k - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "HS":
            tau2 = np.where(multi, np.maximum(0.0, (q0 - k) / sw0), 0.0)
            se = np.sqrt((2 * (k - 1) + 4 * tau2 * _trace_p(W0) + 2 * tau2**2 * _trace_pp(W0)) / sw0**2)
            return tau2, np.where(multi, se, np.nan), conv, iters
        if method == "DL":
            trp = _trace_p(W0)
            tau2 = np.where(multi, np.maximum(0.0, (q0 - (k - 1)) / trp), 0.0)
            se = np.sqrt((2 * (k - 1) + 4 * tau2 * trp + 2 * tau2**2 * _trace_pp(W0)) / trp**2)
            return tau2, np.where(multi, se, np.nan), conv, iters
        ybar = np.where(g.M, g.Y, 0.0).sum(axis=1) / k
        dev = np.where(g.M, g.Y - ybar[:, None], 0.0)
        if method == "SJ":
            t0 = (dev * dev).sum(axis=1) / k
            qs = g.q(t0)
            tau2 = np.where(multi & (t0 > 0), np.maximum(0.0, t0 * qs / km1), 0.0)
            V = np.where(g.M, g.V, 0.0)
            se = _moment_se(g.weights(t0), V, tau2, t0 / km1, None)
            se = np.where(t0 > 0, se, 0.0)  # all effects equal: metafor's standard error is 0
            return tau2, np.where(multi, se, np.nan), conv, np.where(multi, 1, 0)
        if method == "PM":
            target = k - 1

            def f(t: np.ndarray) -> np.ndarray:
                return g.q(t) - target

            f0 = q0 - target
            upper = np.full(G, con.tau2_max)
            fu = f(upper)
            need = multi & (f0 >= 0)
            bad = need & (fu > 0)
            root, done = _zeroin(f, np.zeros(G), upper, f0, fu, con.tol, con.maxiter, need & ~bad)
            tau2 = np.where(need & ~bad, root, 0.0)
            for i in np.flatnonzero(bad | (need & ~bad & ~done)):
                from emmie.effect.estimators import _paule_mandel

                m = g.M[i]
                tau2[i] = _paule_mandel(g.Y[i, m], g.V[i, m], np.ones((int(m.sum()), 1)), con).tau2
            tau2 = np.maximum(tau2, 0.0)
            W = g.weights(tau2)
            se = np.sqrt(2 * k**2 / km1 / W.sum(axis=1) ** 2)
            return tau2, np.where(multi, se, np.nan), conv, iters
        # HE and the start of ML / REML / EB
        rss = (dev * dev).sum(axis=1)
        tr_pv = (np.where(g.M, g.V, 0.0)).sum(axis=1) * (1.0 - 1.0 / k)
        he = np.where(multi, (rss - tr_pv) / km1, 0.0)
        if method == "HE":
            tau2 = np.maximum(0.0, he)
            se = _moment_se(g.M.astype(float), np.where(g.M, g.V, 0.0), tau2, 1.0 / km1, km1.astype(float))
            return tau2, np.where(multi, se, np.nan), conv, iters
        tau2 = np.maximum(0.0, he)
        active = multi.copy()
        idx = np.flatnonzero(active)
        sub = g if idx.size == G else _Groups(g.Y[idx], g.V[idx], g.M[idx])
        while idx.size:
            # iterate only the groups still moving (each stops by metafor's rule on its own)
            t_old = tau2[idx]
            iters[idx] += 1
            adj = _scoring_step(sub, method, t_old) * con.stepadj
            adj = np.where(np.isnan(adj), 0.0, adj)
            while True:
                neg = t_old + adj < 0.0
                if not neg.any():
                    break
                adj = np.where(neg, adj / 2.0, adj)
            t_new = t_old + adj
            tau2[idx] = t_new
            moving = np.abs(t_old - t_new) > con.threshold
            over = moving & (iters[idx] > con.maxiter)
            conv[idx[over]] = False
            keep = moving & ~over
            idx = idx[keep]
            if keep.sum() < sub.Y.shape[0]:
                sub = _Groups(sub.Y[keep], sub.V[keep], sub.M[keep])
        for i in np.flatnonzero(~conv):
            m = g.M[i]
            tau2[i] = _solve_equation(method, g.Y[i, m], g.V[i, m], np.ones((int(m.sum()), 1)), con.tau2_max)
        if method in ("ML", "REML") and con.ll0check:
            check = multi & conv & (tau2 > con.threshold)
            if check.any():
                ll0 = _loglik(g, np.zeros(G), method == "ML")
                ll = _loglik(g, tau2, method == "ML")
                tau2 = np.where(check & (ll0 - ll > con.tol), 0.0, tau2)
        tau2 = np.maximum(tau2, 0.0)
        W = g.weights(tau2)
        if method == "ML":
            se = np.sqrt(2.0 / (W * W).sum(axis=1))
        elif method == "REML":
            se = np.sqrt(2.0 / _trace_pp(W))
        else:
            se = np.sqrt(2 * k**2 / km1 / W.sum(axis=1) ** 2)
    return tau2, np.where(multi, se, np.nan), conv, iters


def meta_analysis_grouped(
    df: pd.DataFrame,
    by: str | Sequence[str],
    *,
    yi: str = "yi",
    vi: str = "vi",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    control: Mapping[str, float] | Control | None = None,
) -> pd.DataFrame:
    """One meta-analysis per group of ``df``, computed for all groups at once.

    Parameters
    ----------
    df : pandas.DataFrame
        Long table of effect sizes.
    by : str or list of str
        Grouping column(s) (e.g. outcome, subgroup).
    yi, vi : str
        Names of the effect-size and sampling-variance columns.
    method, test, level, control
        As :func:`emmie.effect.meta_analysis`.

    Returns
    -------
    pandas.DataFrame
        One row per group (in sorted group order) with the grouping columns and ``k, estimate,
        se, stat, pval, ci_lb, ci_ub, pi_lb, pi_ub, tau2, se_tau2, i2, h2, q, q_pval, df,
        method, test, converged, iterations``; each row equals ``meta_analysis`` on that group.

    References
    ----------
    Viechtbauer W (2010). Journal of Statistical Software 36(3):1-48.
    """
    keys = [by] if isinstance(by, str) else list(by)
    for col in [*keys, yi, vi]:
        if col not in df.columns:
            raise AnalysisError(f"column {col!r} not found; available: {', '.join(map(str, df.columns))}")
    m = normalise_method(method)
    t = check_test(test)
    lev = check_level(level)
    con = make_control(control)
    y_all = pd.to_numeric(df[yi], errors="coerce").to_numpy(dtype=float)
    v_all = pd.to_numeric(df[vi], errors="coerce").to_numpy(dtype=float)
    for name, arr in ((yi, y_all), (vi, v_all)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise AnalysisError(f"row {bad[0]}: {name} = {df[name].iloc[bad[0]]!r}; expected a finite number")
    bad = np.flatnonzero(v_all <= 0)
    if bad.size:
        raise AnalysisError(f"row {bad[0]}: {vi} = {v_all[bad[0]]!r}; sampling variances must be > 0")
    grouping = df.groupby(keys, sort=True, dropna=False)
    codes = grouping.ngroup().to_numpy()
    G = int(codes.max()) + 1 if codes.size else 0
    if G == 0:
        raise AnalysisError("no rows to analyse")
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=G)
    kmax = int(counts.max())
    pos = np.arange(codes.size) - np.repeat(np.cumsum(counts) - counts, counts)
    Y = np.zeros((G, kmax))
    V = np.ones((G, kmax))
    M = np.zeros((G, kmax), dtype=bool)
    rows = codes[order]
    Y[rows, pos] = y_all[order]
    V[rows, pos] = v_all[order]
    M[rows, pos] = True
    g = _Groups(Y, V, M)
    k = g.k
    tau2, se_tau2, conv, iters = _estimate(g, m, con)
    W, mu, R = g.wls(tau2)
    sw = W.sum(axis=1)
    var = 1.0 / sw
    with np.errstate(divide="ignore", invalid="ignore"):
        if t == "knha":
            rss = (W * R * R).sum(axis=1)
            s2w = np.where(rss <= _EPS, 0.0, rss / np.maximum(k - 1, 1))
            var = s2w * var
            dfree = k - 1
        se = np.sqrt(var)
        stat = mu / se
        if t == "knha":
            ok = dfree > 0
            pval = np.where(ok, 2 * stats.t.sf(np.abs(stat), np.where(ok, dfree, 1)), np.nan)
            crit = np.where(ok, stats.t.isf((1 - lev) / 2, np.where(ok, dfree, 1)), np.nan)
        else:
            pval = 2 * stats.norm.sf(np.abs(stat))
            crit = np.full(G, stats.norm.isf((1 - lev) / 2))
        W0, _, R0 = g.wls(np.zeros(G))
        q = np.where(k > 1, np.maximum(0.0, (W0 * R0 * R0).sum(axis=1)), 0.0)
        q_pval = np.where(k > 1, stats.chi2.sf(q, np.maximum(k - 1, 1)), 1.0)
        vt = (k - 1) / _trace_p(W0)
        if m == "EE":
            i2 = np.where(k > 1, np.maximum(0.0, np.where(q > 0, 100 * (q - (k - 1)) / q, 0.0)), 0.0)
            h2 = np.where(k > 1, q / np.maximum(k - 1, 1), 1.0)
            pi_lb = pi_ub = np.full(G, np.nan)
        else:
            i2 = np.where(k > 1, 100 * tau2 / (vt + tau2), 0.0)
            h2 = np.where(k > 1, tau2 / vt + 1, 1.0)
            half = crit * np.sqrt(se**2 + tau2)
            pi_lb, pi_ub = mu - half, mu + half
    out = grouping.size().reset_index()[keys]
    out = out.assign(
        k=k.astype(int),
        estimate=mu,
        se=se,
        stat=stat,
        pval=pval,
        ci_lb=mu - crit * se,
        ci_ub=mu + crit * se,
        pi_lb=pi_lb,
        pi_ub=pi_ub,
        tau2=tau2,
        se_tau2=se_tau2,
        i2=i2,
        h2=h2,
        q=q,
        q_pval=q_pval,
        df=(k - 1) if t == "knha" else np.nan,
        method=m,
        test=t,
        converged=conv,
        iterations=iters,
    )
    return out
