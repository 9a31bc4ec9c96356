"""Estimators of the between-study variance tau^2 in the random-effects model.

Every estimator follows R metafor's ``rma.uni`` step for step (same starting values, same
iteration, same stopping rule, same truncation at 0), so that results agree with metafor to
the precision metafor itself reports. The model is ``y = X beta + u + e`` with
``u ~ N(0, tau^2)`` and ``e ~ N(0, v_i)``; ``X`` always has full column rank.

References
----------
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
    Journal of Statistical Software 36(3):1-48. doi:10.18637/jss.v036.i03
Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
    random-effects model. Journal of Educational and Behavioral Statistics 30(3):261-293.
Brent RP (1973). Algorithms for Minimization without Derivatives, ch. 4 (zeroin).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from emmie.errors import AnalysisError

METHODS = ("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
ALIASES = {"FE": "EE", "CE": "EE"}
_EPS = np.finfo(float).eps


@dataclass(frozen=True)
class Control:
    """Settings of the iterative estimators, named as metafor's ``control`` list.

    Fisher scoring (ML, REML, EB) starts at the HE estimate and stops when tau^2 changes by
    less than ``threshold`` (absolute, as metafor); Paule-Mandel solves its estimating
    equation with Brent's method (R's ``uniroot``) to tolerance ``tol`` on ``[0, tau2_max]``.

    The defaults are those of emmie's metafor reference runs,
    ``rma(..., control=list(stepadj=0.5, maxiter=2000))``; metafor's own defaults are
    :data:`METAFOR_DEFAULTS` (``stepadj=1, maxiter=100``). Because metafor's stopping rule is
    absolute, its tau^2 can differ from the exact root of the estimating equation by up to
    about ``threshold`` (0.8 % relative for tau^2 = 0.0014 in ``dat.bcg`` risk differences);
    pass ``control={"threshold": 1e-12}`` for the exact root.
    """

    threshold: float = 1e-5
    maxiter: int = 2000
    stepadj: float = 0.5
    tol: float = _EPS**0.25
    tau2_max: float = 100.0
    ll0check: bool = True


METAFOR_DEFAULTS = Control(stepadj=1.0, maxiter=100)


def make_control(control: Mapping[str, float] | Control | None) -> Control:
    """Build a :class:`Control` from a mapping with metafor's names (``tau2.max`` or ``tau2_max``)."""
    if control is None:
        return Control()
    if isinstance(control, Control):
        return control
    known = set(Control.__dataclass_fields__)
    clean = {str(k).replace(".", "_"): v for k, v in dict(control).items()}
    unknown = sorted(set(clean) - known)
    if unknown:
        raise AnalysisError(f"unknown control setting(s) {unknown}; expected some of {sorted(known)}")
    return replace(Control(), **clean)


def normalise_method(method: str) -> str:
    m = str(method).upper()
    m = ALIASES.get(m, m)
    if m not in METHODS:
        raise AnalysisError(f"method {method!r} is not supported; expected one of {', '.join(METHODS)} (or FE)")
    return m


@dataclass(frozen=True)
class Tau2Estimate:
    """tau^2 with how it was obtained."""

    tau2: float
    se_tau2: float
    converged: bool
    iterations: int
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Weighted least squares pieces (all O(k p^2); no k x k matrices)


def intercept_design(k: int) -> np.ndarray:
    """The design of the intercept-only model: a k x 1 column of ones, as a read-only broadcast view (no memory,
    and :func:`is_intercept` recognises it, so the sums below skip every product with it)."""
    return np.broadcast_to(np.ones(1), (k, 1))


def is_intercept(X: np.ndarray) -> bool:
    """Whether ``X`` is :func:`intercept_design`'s column of ones."""
    return X.shape[1] == 1 and X.strides[0] == 0 and X[0, 0] == 1.0


def wls(y: np.ndarray, w: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares: returns ``beta``, ``(X'WX)^-1`` and residuals ``y - X beta``."""
    if is_intercept(X):  # the weighted mean: two passes over the data
        a = float(np.sum(w))
        b = float(np.dot(w, y)) / a
        return np.array([b]), np.array([[1.0 / a]]), y - b
    if X.shape[1] == 1:  # one column (the intercept-only model): plain dot products, no temporaries
        x = X[:, 0]
        wx = w * x
        a = float(np.dot(wx, x))
        b = float(np.dot(wx, y)) / a
        return np.array([b]), np.array([[1.0 / a]]), y - b * x
    A = X.T @ (w[:, None] * X)
    Ainv = np.linalg.inv(A)
    beta = Ainv @ (X.T @ (w * y))
    return beta, Ainv, y - X @ beta


def q_stat(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Generalised Q: ``Y'P Y`` with weights ``1 / (v + tau2)``."""
    w = 1.0 / (v + tau2)
    _, _, r = wls(y, w, X)
    return float(np.sum(w * r * r))


def _trace_p(w: np.ndarray, X: np.ndarray, Ainv: np.ndarray) -> float:
    if is_intercept(X):
        return float(np.sum(w) - Ainv[0, 0] * np.dot(w, w))
    if X.shape[1] == 1:
        wx = w * X[:, 0]
        return float(np.sum(w) - Ainv[0, 0] * np.dot(wx, wx))
    return float(np.sum(w) - np.trace(Ainv @ (X.T @ ((w * w)[:, None] * X))))


def _trace_pp(w: np.ndarray, X: np.ndarray, Ainv: np.ndarray) -> float:
    if is_intercept(X):
        w2 = w * w
        s2 = float(np.sum(w2))
        b2 = Ainv[0, 0] * s2
        b3 = Ainv[0, 0] * float(np.dot(w2, w))
        return s2 - 2.0 * b3 + b2 * b2
    if X.shape[1] == 1:
        x = X[:, 0]
        wx = w * x
        w2 = np.dot(wx, wx)
        b2 = Ainv[0, 0] * w2
        b3 = Ainv[0, 0] * np.dot(wx * w, wx)
        return float(np.dot(w, w) - 2.0 * b3 + b2 * b2)
    B2 = Ainv @ (X.T @ ((w * w)[:, None] * X))
    B3 = Ainv @ (X.T @ ((w**3)[:, None] * X))
    return float(np.sum(w * w) - 2.0 * np.trace(B3) + np.sum(B2 * B2.T))


def _sum_p_squared(w: np.ndarray, X: np.ndarray, Ainv: np.ndarray) -> float:
    return _trace_pp(w, X, Ainv)  # P is symmetric, so sum(P * P) = tr(PP)


def _moment_se_traces(w: np.ndarray, v: np.ndarray, X: np.ndarray) -> tuple[float, float, float, float]:
    """``tr(PVPV), tr(PPV), tr(PP), tr(PV)`` for ``P = W - W X (X'WX)^-1 X'W``, ``W = diag(w)``, ``V = diag(v)``, in
    O(k p^2) (no k x k matrix): the pieces of the standard error of a method-of-moments tau^2 (P symmetric, so
    ``sum(PV * t(PV)) = tr(PVPV)`` and ``sum(PV * P) = tr(PPV)``)."""
    A = np.linalg.inv(X.T @ (w[:, None] * X))

    def xdx(d: np.ndarray) -> np.ndarray:
        return X.T @ (d[:, None] * X)

    B = A @ xdx(w * w * v)  # A X' W V W X
    tr_pvpv = float(np.sum((w * v) ** 2) - 2.0 * np.trace(A @ xdx(w**3 * v**2)) + np.sum(B * B.T))
    tr_ppv = float(np.sum(w * w * v) - 2.0 * np.trace(A @ xdx(w**3 * v)) + np.trace(A @ xdx(w * w) @ B))
    tr_pv = float(np.sum(w * v) - np.trace(B))
    return tr_pvpv, tr_ppv, _sum_p_squared(w, X, A), tr_pv


def typical_variance(v: np.ndarray, X: np.ndarray) -> float:
    """Higgins & Thompson's 'typical' within-study variance ``(k - p) / tr(P)`` with weights ``1/v``."""
    w = 1.0 / v
    if is_intercept(X):
        return (len(v) - 1) / _trace_p(w, X, np.array([[1.0 / float(np.sum(w))]]))
    _, Ainv, _ = wls(np.zeros(len(v)), w, X)
    return (len(v) - X.shape[1]) / _trace_p(w, X, Ainv)


# ---------------------------------------------------------------------------------------------
# Brent's root finder exactly as R's uniroot() (R_zeroin2), so PM matches metafor digit for digit


def zeroin(f: Callable[[float], float], a: float, b: float, fa: float, fb: float, tol: float, maxiter: int) -> float:
    """Root of ``f`` on ``[a, b]`` by Brent's zeroin, a line-by-line port of R's ``R_zeroin2``.

    References
    ----------
    Brent RP (1973). Algorithms for Minimization without Derivatives. Prentice-Hall, ch. 4.
    """
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    c, fc = a, fa
    for _ in range(maxiter + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0 and fc > 0) or (fb < 0 and fc < 0):
            c, fc = a, fa
    raise _NoConvergence


class _NoConvergence(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# The estimators


def _he(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> tuple[float, float, float]:
    """Hedges (1983) method-of-moments estimator; returns tau2, RSS, tr(PV)."""
    k, p = X.shape
    if is_intercept(X):  # ordinary least squares: the mean, and hat values 1/k
        r = y - float(np.mean(y))
        rss = float(r @ r)
        tr_pv = float(np.sum(v)) * (1.0 - 1.0 / k)
        return (rss - tr_pv) / (k - 1), rss, tr_pv
    _, XtXinv, r = wls(y, np.ones(k), X)
    if p == 1:
        hat = X[:, 0] ** 2 * XtXinv[0, 0]
    else:
        hat = np.einsum("ij,jk,ik->i", X, XtXinv, X)
    rss = float(r @ r)
    tr_pv = float(np.sum(v * (1.0 - hat)))
    return (rss - tr_pv) / (k - p), rss, tr_pv


def _reml_loglik(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray, ml: bool) -> float:
    k, p = X.shape
    w = 1.0 / (v + tau2)
    _, Ainv, r = wls(y, w, X)
    rss = float(np.sum(w * r * r))
    if ml:
        return -0.5 * k * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + tau2)) - 0.5 * rss
    if is_intercept(X):
        logdet = np.log(np.sum(w))
    else:
        logdet = np.log(np.dot(w * X[:, 0], X[:, 0])) if p == 1 else np.linalg.slogdet(X.T @ (w[:, None] * X))[1]
    return -0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * np.sum(np.log(v + tau2)) - 0.5 * logdet - 0.5 * rss


def _scoring_step(method: str, tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    k, p = X.shape
    if method in ("ML", "REML") and is_intercept(X):  # the same step in as few passes over the data as it takes
        w = v + tau2
        np.reciprocal(w, out=w)
        s1 = float(np.sum(w))
        py = y - float(np.dot(w, y)) / s1
        np.multiply(py, w, out=py)
        pypy = float(np.dot(py, py))
        if method == "ML":
            return (pypy - s1) / float(np.dot(w, w))
        return (pypy - _trace_p(w, X, np.array([[1.0 / s1]]))) / _trace_pp(w, X, np.array([[1.0 / s1]]))
    w = 1.0 / (v + tau2)
    _, Ainv, r = wls(y, w, X)
    py = w * r
    if method == "ML":
        return (float(py @ py) - float(np.sum(w))) / float(np.sum(w * w))
    if method == "REML":
        return (float(py @ py) - _trace_p(w, X, Ainv)) / _trace_pp(w, X, Ainv)
    # EB (Morris 1983): scoring towards k/(k-p) Q(tau2) = k
    return (float(np.sum(w * r * r)) * k / (k - p) - k) / float(np.sum(w))


def _solve_equation(method: str, y: np.ndarray, v: np.ndarray, X: np.ndarray, upper: float) -> float:
    """Fallback: solve the estimating equation of ``method`` by bisection-safe Brent to 1e-12."""
    from scipy.optimize import brentq

    def g(t: float) -> float:
        return _scoring_step(method, t, y, v, X)

    if g(0.0) <= 0.0:
        return 0.0
    hi = max(upper, 1.0)
    while g(hi) > 0.0:
        hi *= 10.0
        if hi > 1e15:
            raise AnalysisError(f"{method} estimating equation for tau^2 has no root below {hi:g}")
    return float(brentq(g, 0.0, hi, xtol=1e-14, rtol=1e-13, maxiter=1000))


def estimate_tau2(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, control: Control) -> Tau2Estimate:
    """Estimate tau^2 by ``method`` as metafor's ``rma.uni`` does.

    Parameters
    ----------
    y, v : ndarray
        Effect sizes and sampling variances (all ``v > 0``).
    X : ndarray
        Design matrix (k x p, full column rank, ``k > p``).
    method : str
        One of ``EE, DL, HE, HS, SJ, ML, REML, EB, PM``.
    control : Control
        Iteration settings.

    References
    ----------
    DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Controlled Clinical Trials 7:177-188 (DL).
    Hedges LV (1983). A random effects model for effect sizes. Psychological Bulletin 93:388-395 (HE).
    Hunter JE, Schmidt FL (2004). Methods of Meta-Analysis, 2nd ed. Sage (HS).
    Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for meta-analysis.
        Journal of the Royal Statistical Society C 54:367-384 (SJ).
    Hardy RJ, Thompson SG (1996). A likelihood approach to meta-analysis with random effects.
        Statistics in Medicine 15:619-629 (ML).
    Viechtbauer W (2005), op. cit. (REML by Fisher scoring).
    Morris CN (1983). Parametric empirical Bayes inference. JASA 78:47-55 (EB).
    Paule RC, Mandel J (1982). Consensus values and weighting factors. Journal of Research of the
        National Bureau of Standards 87:377-385 (PM).
    """
    k, p = X.shape
    if method == "EE":
        return Tau2Estimate(0.0, np.nan, True, 0)
    if k <= p:
        return Tau2Estimate(0.0, np.nan, True, 0)
    notes: list[str] = []
    converged, iterations = True, 0
    w0 = 1.0 / v
    if method == "HS":
        _, Ainv0, r0 = wls(y, w0, X)
        rss = float(np.sum(w0 * r0 * r0))
        tau2 = max(0.0, (rss - k) / float(np.sum(w0)))
        se = np.sqrt(
            (2 * (k - p) + 4 * tau2 * _trace_p(w0, X, Ainv0) + 2 * tau2**2 * _sum_p_squared(w0, X, Ainv0))
            / np.sum(w0) ** 2
        )
        return Tau2Estimate(tau2, float(se), True, 0)
    if method == "DL":
        _, Ainv0, r0 = wls(y, w0, X)
        rss = float(np.sum(w0 * r0 * r0))
        tr_p = _trace_p(w0, X, Ainv0)
        tau2 = max(0.0, (rss - (k - p)) / tr_p)
        se = np.sqrt((2 * (k - p) + 4 * tau2 * tr_p + 2 * tau2**2 * _sum_p_squared(w0, X, Ainv0)) / tr_p**2)
        return Tau2Estimate(tau2, float(se), True, 0)
    if method == "SJ":
        # equal effect sizes checked exactly: their mean can differ from them in the last bit (numpy 2.4's summation)
        tau2_0 = 0.0 if np.ptp(y) == 0.0 else float(np.mean((y - y.mean()) ** 2))
        if tau2_0 <= 0.0:
            # metafor's standard error is then tau2_0 times the rest: 0
            return Tau2Estimate(0.0, 0.0, True, 0, ("all effect sizes are equal: SJ estimate set to 0",))
        w = 1.0 / (v + tau2_0)
        _, _, r = wls(y, w, X)
        tau2 = max(0.0, tau2_0 * float(np.sum(w * r * r)) / (k - p))
        # Its variance as metafor gives it: tau2 = tau2_0 Y'PY / (k - p) with P at the fixed weights 1/(v + tau2_0)
        tr_pvpv, tr_ppv, tr_pp, _ = _moment_se_traces(w, v, X)
        se = tau2_0 / (k - p) * np.sqrt(2 * tr_pvpv + 4 * tau2 * tr_ppv + 2 * tau2**2 * tr_pp)
        return Tau2Estimate(tau2, float(se), True, 1)
    if method == "PM":
        return _paule_mandel(y, v, X, control)
    # HE, and the start of ML / REML / EB
    tau2_he, _, _ = _he(y, v, X)
    if method == "HE":
        # Var(Y'PY) with P the ordinary least-squares residual maker (W = I): tr(PP) = k - p
        tau2 = max(0.0, tau2_he)
        tr_pvpv, _, _, tr_pv = _moment_se_traces(np.ones(k), v, X)
        se = np.sqrt(2 * tr_pvpv + 4 * tau2 * tr_pv + 2 * tau2**2 * (k - p)) / (k - p)
        return Tau2Estimate(tau2, float(se), True, 0)
    tau2 = max(0.0, tau2_he)
    change = control.threshold + 1.0
    while change > control.threshold:
        iterations += 1
        old = tau2
        adj = _scoring_step(method, tau2, y, v, X) * control.stepadj
        if not np.isfinite(adj):  # the step broke down (weights so unequal that its terms cancel): stop here
            adj = 0.0
        while tau2 + adj < 0.0:
            adj /= 2.0
        tau2 = tau2 + adj
        change = abs(old - tau2)
        if iterations > control.maxiter:
            converged = False
            break
    if not converged:
        tau2 = _solve_equation(method, y, v, X, control.tau2_max)
        notes.append(
            f"Fisher scoring for {method} did not converge in {control.maxiter} iterations; "
            "tau^2 was obtained instead by solving the estimating equation with Brent's method"
        )
    elif method in ("ML", "REML") and control.ll0check and tau2 > control.threshold:
        ll0 = _reml_loglik(0.0, y, v, X, ml=method == "ML")
        ll = _reml_loglik(tau2, y, v, X, ml=method == "ML")
        if ll0 - ll > control.tol:
            notes.append("Fisher scoring may have stopped at a local maximum; tau^2 set to 0 (as metafor)")
            tau2 = 0.0
    tau2 = max(0.0, tau2)
    w = 1.0 / (v + tau2)
    if method == "ML":
        se = np.sqrt(2.0 / np.sum(w * w))
    elif method == "REML":
        _, Ainv, _ = wls(np.zeros(k), w, X)
        se = np.sqrt(2.0 / _sum_p_squared(w, X, Ainv))
    else:
        se = np.sqrt(2.0 * k**2 / (k - p) / np.sum(w) ** 2)
    return Tau2Estimate(tau2, float(se), True, iterations, tuple(notes))


def _paule_mandel(y: np.ndarray, v: np.ndarray, X: np.ndarray, control: Control) -> Tau2Estimate:
    k, p = X.shape
    target = k - p

    def f(t: float) -> float:
        return q_stat(t, y, v, X) - target

    notes: list[str] = []
    f0 = f(0.0)
    if f0 < 0:
        tau2 = 0.0
    else:
        upper = control.tau2_max
        fu = f(upper)
        while fu > 0:
            notes.append(f"Paule-Mandel: tau^2 exceeds tau2_max = {upper:g}; search interval extended")
            upper *= 10.0
            if upper > 1e15:
                raise AnalysisError("Paule-Mandel estimating equation has no root below 1e15")
            fu = f(upper)
        try:
            tau2 = zeroin(f, 0.0, upper, f0, fu, control.tol, control.maxiter)
        except _NoConvergence:
            from scipy.optimize import brentq

            tau2 = float(brentq(f, 0.0, upper, xtol=1e-14, rtol=1e-13, maxiter=1000))
            notes.append("Paule-Mandel root search did not converge; solved again with scipy brentq")
    tau2 = max(0.0, tau2)
    w = 1.0 / (v + tau2)
    se = np.sqrt(2.0 * k**2 / (k - p) / np.sum(w) ** 2)
    return Tau2Estimate(float(tau2), float(se), True, 0, tuple(notes))
