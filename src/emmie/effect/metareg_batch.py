"""Many meta-regressions of the same effect sizes at once: one fit per design matrix, vectorised over the designs.

A permutation test refits the meta-regression once per permutation of the moderators (hundreds to thousands of
times) and leave-one-out refits it once per study. :func:`regression_tests` fits a stack of designs with the
same arithmetic as :func:`emmie.effect.meta_regression` (same starting value, Fisher scoring steps, step halving,
stopping rule, log-likelihood check, Knapp-Hartung factor), each operation applied to all designs in one numpy
call. A fit the vectorised scoring cannot finish (no convergence within ``maxiter``) is flagged, and the caller
refits it with :func:`emmie.effect.meta_regression`, which then solves the estimating equation.
:func:`leave_one_out_fits` does the same for the k intercept-only fits of a leave-one-out analysis.

Methods: EE, DL, HE, ML, REML and EB. The others (HS, SJ, PM) are refitted one by one by the callers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from emmie.effect.estimators import METAFOR_DEFAULTS, Control

#: Methods :func:`regression_tests` fits vectorised.
BATCHED = ("EE", "DL", "HE", "ML", "REML", "EB")

#: Largest stack (designs x results x coefficients) handled in one piece: about 16 MB of float64 per array.
CHUNK_ELEMENTS = 2_000_000


@dataclass(frozen=True)
class RegressionTests:
    """The test statistics of B fits: ``qm`` (B,) the omnibus statistic of the moderators (chi^2 under ``z``, F
    under ``knha``), ``stat`` (B, p) each coefficient's z or t, ``tau2`` (B,); ``ok`` (B,) False where the fit
    must be redone one by one (Fisher scoring did not converge)."""

    qm: np.ndarray
    stat: np.ndarray
    tau2: np.ndarray
    ok: np.ndarray


def _wls(y: np.ndarray, w: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares for each design: beta (B, p), (X'WX)^-1 (B, p, p), residuals (B, k)."""
    Xw = X * w[:, :, None]
    Ainv = np.linalg.inv(np.matmul(Xw.transpose(0, 2, 1), X))
    beta = np.matmul(Ainv, np.matmul(Xw.transpose(0, 2, 1), y[:, :, None]))[:, :, 0]
    return beta, Ainv, y - np.matmul(X, beta[:, :, None])[:, :, 0]


def _xdx(X: np.ndarray, d: np.ndarray) -> np.ndarray:
    """X' diag(d) X for each design (B, p, p)."""
    return np.matmul((X * d[:, :, None]).transpose(0, 2, 1), X)


def _trace(M: np.ndarray) -> np.ndarray:
    return np.einsum("bii->b", M)


def _scoring_step(method: str, tau2: np.ndarray, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> np.ndarray:
    k, p = X.shape[1:]
    w = 1.0 / (v + tau2[:, None])
    _, Ainv, r = _wls(y, w, X)
    py = w * r
    if method == "ML":
        return (np.sum(py * py, axis=1) - np.sum(w, axis=1)) / np.sum(w * w, axis=1)
    if method == "REML":
        B2 = np.matmul(Ainv, _xdx(X, w * w))
        B3 = np.matmul(Ainv, _xdx(X, w**3))
        trace_p = np.sum(w, axis=1) - _trace(B2)
        trace_pp = np.sum(w * w, axis=1) - 2.0 * _trace(B3) + np.sum(B2 * B2.transpose(0, 2, 1), axis=(1, 2))
        return (np.sum(py * py, axis=1) - trace_p) / trace_pp
    return (np.sum(w * r * r, axis=1) * k / (k - p) - k) / np.sum(w, axis=1)  # EB


def _loglik(tau2: np.ndarray, y: np.ndarray, v: np.ndarray, X: np.ndarray, ml: bool) -> np.ndarray:
    k, p = X.shape[1:]
    w = 1.0 / (v + tau2[:, None])
    _, _, r = _wls(y, w, X)
    rss = np.sum(w * r * r, axis=1)
    logv = np.sum(np.log(v + tau2[:, None]), axis=1)
    if ml:
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * logv - 0.5 * rss
    logdet = np.linalg.slogdet(_xdx(X, w))[1]
    return -0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * logv - 0.5 * logdet - 0.5 * rss


def _intercept_step(method: str, tau2: np.ndarray, y: np.ndarray, v: np.ndarray) -> np.ndarray:
    """:func:`_scoring_step` for the intercept-only model: sums along each row, no matrices."""
    k = y.shape[1]
    w = 1.0 / (v + tau2[:, None])
    s1 = np.sum(w, axis=1)
    r = y - (np.sum(w * y, axis=1) / s1)[:, None]
    if method == "EB":
        return (np.sum(w * r * r, axis=1) * k / (k - 1) - k) / s1
    py = w * r
    pypy = np.sum(py * py, axis=1)
    w2 = w * w
    s2 = np.sum(w2, axis=1)
    if method == "ML":
        return (pypy - s1) / s2
    b2 = s2 / s1
    return (pypy - (s1 - b2)) / (s2 - 2.0 * np.sum(w2 * w, axis=1) / s1 + b2 * b2)


def _intercept_loglik(tau2: np.ndarray, y: np.ndarray, v: np.ndarray, ml: bool) -> np.ndarray:
    k = y.shape[1]
    w = 1.0 / (v + tau2[:, None])
    s1 = np.sum(w, axis=1)
    r = y - (np.sum(w * y, axis=1) / s1)[:, None]
    rss = np.sum(w * r * r, axis=1)
    logv = np.sum(np.log(v + tau2[:, None]), axis=1)
    if ml:
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * logv - 0.5 * rss
    return -0.5 * (k - 1) * np.log(2 * np.pi) - 0.5 * logv - 0.5 * np.log(s1) - 0.5 * rss


def _tau2(method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray, con: Control) -> tuple[np.ndarray, np.ndarray]:
    """tau^2 of each design, and whether it was obtained (False: scoring did not converge). ``X`` None: the
    intercept-only model (sums along each row instead of matrix products)."""
    if X is None:
        X = np.broadcast_to(np.ones(1), (*y.shape, 1))
        intercept = True
    else:
        intercept = False
    n, k, p = X.shape
    ok = np.ones(n, dtype=bool)
    if method == "EE" or k <= p:
        return np.zeros(n), ok
    if method == "DL" and intercept:
        w0 = 1.0 / v
        s1 = np.sum(w0, axis=1)
        r0 = y - (np.sum(w0 * y, axis=1) / s1)[:, None]
        trace_p = s1 - np.sum(w0 * w0, axis=1) / s1
        return np.maximum(0.0, (np.sum(w0 * r0 * r0, axis=1) - (k - 1)) / trace_p), ok
    if method == "DL":
        w0 = np.broadcast_to(1.0 / v, (n, k))
        _, Ainv0, r0 = _wls(y, w0, X)
        rss = np.sum(w0 * r0 * r0, axis=1)
        trace_p = np.sum(w0, axis=1) - _trace(np.matmul(Ainv0, _xdx(X, w0 * w0)))
        return np.maximum(0.0, (rss - (k - p)) / trace_p), ok
    # Hedges' estimator: the HE fit, and the start of ML, REML and EB
    if intercept:
        r = y - np.mean(y, axis=1)[:, None]
        he = (np.sum(r * r, axis=1) - np.sum(v, axis=1) * (1.0 - 1.0 / k)) / (k - 1)
    else:
        he = _he(y, v, X)
    tau2 = np.maximum(0.0, he)
    if method == "HE":
        return tau2, ok
    step = (
        (lambda t, a: _intercept_step(method, t, y[a], v[a]))
        if intercept
        else (lambda t, a: _scoring_step(method, t, y[a], v[a], X[a]))
    )
    loglik = (
        (lambda t, a, ml: _intercept_loglik(t, y[a], v[a], ml))
        if intercept
        else (lambda t, a, ml: _loglik(t, y[a], v[a], X[a], ml))
    )
    return _iterate(tau2, ok, method, step, loglik, con)


def _he(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> np.ndarray:
    n, k, p = X.shape
    ones = np.ones((n, k))
    XtXinv = np.linalg.inv(_xdx(X, ones))
    hat = np.einsum("bki,bij,bkj->bk", X, XtXinv, X)
    beta = np.matmul(XtXinv, np.matmul(X.transpose(0, 2, 1), y[:, :, None]))[:, :, 0]
    r = y - np.matmul(X, beta[:, :, None])[:, :, 0]
    return (np.sum(r * r, axis=1) - np.sum(v * (1.0 - hat), axis=1)) / (k - p)


def _iterate(tau2, ok, method, step, loglik, con):
    """Fisher scoring of every fit at once, each stopping as the one-by-one fit stops; then the log-likelihood
    check at tau^2 = 0 (ML, REML)."""
    active = np.arange(tau2.size)
    iterations = 0
    while active.size:
        iterations += 1
        old = tau2[active]
        adj = step(old, active) * con.stepadj
        adj[~np.isfinite(adj)] = 0.0  # as the one-by-one fit: a step that broke down stops the fit
        negative = old + adj < 0.0
        while negative.any():  # step halving, as the one-by-one fit
            adj[negative] /= 2.0
            negative = old + adj < 0.0
        tau2[active] = old + adj
        change = np.abs(old - tau2[active])
        if iterations > con.maxiter:
            ok[active] = False
            break
        active = active[change > con.threshold]
    if method in ("ML", "REML") and con.ll0check:
        check = np.flatnonzero(ok & (tau2 > con.threshold))
        if check.size:
            ml = method == "ML"
            ll0 = loglik(np.zeros(check.size), check, ml)
            ll = loglik(tau2[check], check, ml)
            tau2[check[ll0 - ll > con.tol]] = 0.0
    return np.maximum(0.0, tau2), ok


def _fit(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, test: str, con: Control
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n, k, p = X.shape
    tau2, ok = _tau2(method, y, v, X, con)
    w = 1.0 / (v + tau2[:, None])
    beta, vb, r = _wls(y, w, X)
    if test == "knha":
        rss = np.sum(w * r * r, axis=1)
        s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / (k - p))
        vb = vb * s2w[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / np.sqrt(np.einsum("bii->bi", vb))
        mods = slice(1, p)
        qm = np.matmul(beta[:, None, mods], np.linalg.solve(vb[:, mods, mods], beta[:, mods, None]))[:, 0, 0]
    if test == "knha":
        qm = qm / (p - 1)
    return qm, stat, tau2, ok


def regression_tests(
    yi: np.ndarray,
    vi: np.ndarray,
    designs: np.ndarray,
    *,
    method: str = "REML",
    test: str = "z",
    control: Control | None = None,
) -> RegressionTests:
    """Fit ``yi = X beta + u + e`` for each design ``X`` of ``designs`` (B, k, p; intercept first), as
    :func:`emmie.effect.meta_regression`, and return the test statistics of each fit.

    ``yi`` and ``vi`` are (k,), the same for every design, or (B, k), one row per design. ``method`` must be
    one of :data:`BATCHED` (normalised, e.g. "REML"); ``control`` as metafor's (default
    :data:`emmie.effect.estimators.METAFOR_DEFAULTS`, as :func:`~emmie.effect.meta_regression`). Designs must
    have full column rank and more rows than columns, as every row permutation of a valid design does."""
    if method not in BATCHED:
        raise ValueError(f"method {method!r} is not fitted in batches; expected one of {', '.join(BATCHED)}")
    con = METAFOR_DEFAULTS if control is None else control
    X = np.asarray(designs, dtype=float)
    n, k, p = X.shape
    y = np.broadcast_to(np.asarray(yi, dtype=float), (n, k))
    v = np.broadcast_to(np.asarray(vi, dtype=float), (n, k))
    size = max(1, CHUNK_ELEMENTS // max(1, k * p))
    parts = [_fit(y[i : i + size], v[i : i + size], X[i : i + size], method, test, con) for i in range(0, n, size)]
    if not parts:
        return RegressionTests(np.zeros(0), np.zeros((0, p)), np.zeros(0), np.zeros(0, dtype=bool))
    qm, stat, tau2, ok = (np.concatenate(a) for a in zip(*parts, strict=True))
    return RegressionTests(qm=qm, stat=stat, tau2=tau2, ok=ok)


def leave_one_out_fits(
    y: np.ndarray, v: np.ndarray, *, method: str, test: str, level: float, control: Control
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The k random-effects models of ``y`` (k >= 3) each without one result, as :func:`emmie.effect.meta_analysis`
    would fit them (``method`` in :data:`BATCHED`, ``test`` z or knha, every ``v > 0``): the columns of
    :func:`emmie.effect.leave_one_out` by row, and which rows must be refitted one by one (``ok`` False)."""
    k = y.size
    n = k - 1
    out = {
        c: np.empty(k) for c in ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "q", "q_pval", "tau2", "i2", "h2")
    }
    ok = np.ones(k, dtype=bool)
    size = max(1, CHUNK_ELEMENTS // max(1, n))
    crit = float(stats.t.isf((1 - level) / 2, n - 1)) if test == "knha" else float(stats.norm.isf((1 - level) / 2))
    for start in range(0, k, size):
        rows = np.arange(start, min(k, start + size))
        keep = np.arange(n)[None, :] + (np.arange(n)[None, :] >= rows[:, None])  # each row without its own index
        yy, vv = y[keep], v[keep]
        tau2, fine = _tau2(method, yy, vv, None, control)
        w = 1.0 / (vv + tau2[:, None])
        sw = np.sum(w, axis=1)
        b = np.sum(w * yy, axis=1) / sw
        var = 1.0 / sw
        if test == "knha":
            r = yy - b[:, None]
            rss = np.sum(w * r * r, axis=1)
            var = var * np.where(rss <= np.finfo(float).eps, 0.0, rss / (n - 1))
        se = np.sqrt(var)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = b / se
        pval = 2.0 * (stats.t.sf(np.abs(stat), n - 1) if test == "knha" else stats.norm.sf(np.abs(stat)))
        w0 = 1.0 / vv
        s0 = np.sum(w0, axis=1)
        b0 = np.sum(w0 * yy, axis=1) / s0
        r0 = yy - b0[:, None]
        q = np.maximum(0.0, np.sum(w0 * r0 * r0, axis=1))
        vt = (n - 1) / (s0 - np.sum(w0 * w0, axis=1) / s0)
        if method == "EE":
            with np.errstate(divide="ignore", invalid="ignore"):
                i2 = np.where(q > 0, np.maximum(0.0, 100.0 * (q - (n - 1)) / q), 0.0)
            h2 = q / (n - 1)
        else:
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
        for name, value in (
            ("estimate", b), ("se", se), ("stat", stat), ("pval", pval), ("ci_lb", b - crit * se),
            ("ci_ub", b + crit * se), ("q", q), ("q_pval", stats.chi2.sf(q, n - 1)), ("tau2", tau2), ("i2", i2),
            ("h2", h2),
        ):  # fmt: skip
            out[name][rows] = value
        ok[rows] = fine
    return out, ok
