"""Selection models for publication bias (metafor's ``selmodel``): what the pooled effect would be if studies were
published with a probability that depends on their p-value.

The random-effects model ``y_i ~ N(x_i b, v_i + tau^2)`` is combined with a selection function ``w(p)`` of each
study's one-sided (or two-sided) p-value: a study is observed with probability proportional to ``w(p_i)``, so its
likelihood is ``w(p_i) phi(y_i) / A_i`` with ``A_i = E[w(p(Y))]`` over ``Y ~ N(x_i b, v_i + tau^2)``. Maximum
likelihood over ``b``, ``tau^2`` and the selection parameters ``delta``; standard errors from the numerical
Hessian (Richardson extrapolation, as numDeriv's); a likelihood-ratio test against the model without selection
(``delta`` at its null value; both fitted by ML).

Selection functions (``type``), as metafor defines them, ``p`` clipped to ``[pval_min, 1 - pval_min]`` where metafor
clips it:

- ``"stepfun"``: a step function with cut-points ``steps`` (the last is 1): ``w = delta_j`` for ``p`` in the j-th
  interval, ``delta_1 = 1`` (Vevea & Hedges 1995; ``steps=(0.025, 1)`` is the three-parameter selection model);
  ``A_i`` in closed form from normal probabilities; ``delta`` in [0, 100].
- ``"beta"``: ``p^(delta_1 - 1) (1 - p)^(delta_2 - 1)`` (Citkowicz & Vevea 2017), ``delta`` in [1e-5, 100],
  ``pval_min = 1e-5``;
- ``"halfnorm"``, ``"negexp"``, ``"logistic"``, ``"power"``: ``exp(-delta p^2)``, ``exp(-delta p)``,
  ``2 exp(-delta p) / (1 + exp(-delta p))``, ``(1 - p)^delta`` (Preston et al. 2004), ``delta`` in [0, 100].

For the continuous functions ``A_i`` is an integral over ``y``, taken with Gauss-Legendre rules on pieces split where
the clipped p-value stops changing (400 nodes a piece over mu +- 9 sd), to about 1e-14 (checked against adaptive
quadrature). References: tests/fixtures/metafor/selmodel/selmodel_reference.R
(metafor 3.8-1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from ..errors import AnalysisError
from . import normal
from .metareg import design_matrix, meta_regression
from .rma import as_vector, check_level, meta_analysis

TYPES = ("stepfun", "beta", "halfnorm", "negexp", "logistic", "power")
ALTERNATIVES = ("greater", "less", "two.sided")
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(400)  # per piece; 96 nodes over +-12 sd erred by 3e-6


@dataclass(frozen=True)
class SelectionModel:
    """A fitted selection model: the adjusted coefficients (``estimate`` for an intercept-only model), ``tau2``, the
    selection parameters ``delta`` (for a step function ``delta[0] = 1``, the reference interval), their standard
    errors (NaN where a parameter is fixed or at a bound), and the likelihood-ratio test against no selection."""

    type: str
    steps: tuple[float, ...]
    alternative: str
    coef: np.ndarray
    coef_names: tuple[str, ...]
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    tau2: float
    se_tau2: float
    delta: np.ndarray
    se_delta: np.ndarray
    loglik: float
    loglik_unadjusted: float
    lrt: float
    lrt_df: int
    lrt_pval: float
    k: int
    level: float
    warnings: tuple[str, ...] = ()

    @property
    def estimate(self) -> float:
        if len(self.coef) != 1:
            raise AnalysisError("estimate is the adjusted effect of an intercept-only model; use coef")
        return float(self.coef[0])

    @property
    def ci(self) -> tuple[float, float]:
        return float(self.ci_lb[0]), float(self.ci_ub[0])


# The normal distribution as scipy.stats.norm computes it, called as ufuncs: the likelihood is evaluated thousands
# of times per fit, and scipy.stats' argument checks cost more than the arithmetic (49 s of 96 s in the Effect
# stage of a 1,000-study review).
_SQRT_2PI = np.sqrt(2 * np.pi)


def _cdf(x):
    return special.ndtr(x)


def _sf(x):
    return special.ndtr(-x)


def _isf(p):
    return -special.ndtri(p)


def _pdf(y, mu, s):
    z = (y - mu) / s
    return np.exp(-(z**2) / 2.0) / _SQRT_2PI / s


def _pvalues(y: np.ndarray, v: np.ndarray, alternative: str) -> np.ndarray:
    z = y / np.sqrt(v)
    if alternative == "two.sided":
        return 2 * _sf(np.abs(z))
    return _cdf(z) if alternative == "less" else _sf(z)


def _weight(kind: str, p: np.ndarray, delta: np.ndarray) -> np.ndarray:
    if kind == "beta":
        return p ** (delta[0] - 1) * (1 - p) ** (delta[1] - 1)
    d = delta[0]
    if kind == "halfnorm":
        return np.exp(-d * p * p)
    if kind == "negexp":
        return np.exp(-d * p)
    if kind == "logistic":
        return 2 * np.exp(-d * p) / (1 + np.exp(-d * p))
    return (1 - p) ** d  # power


def _pval_min(kind: str) -> float:
    return 1e-5 if kind in ("beta", "power") else 0.0


def _y_at_p(p: float, sd: np.ndarray, alternative: str) -> list[np.ndarray]:
    """The values of y where the p-value equals ``p`` (one for one-sided p-values, two for two-sided)."""
    if alternative == "two.sided":
        c = sd * _isf(p / 2)
        return [-c, c]
    c = sd * _isf(p)
    return [c] if alternative == "greater" else [-c]


def _normalisers(kind, mu, s, v, delta, steps, alternative) -> np.ndarray:
    """A_i = E[w(p(Y))] for Y ~ N(mu_i, s_i^2), each study's sampling SD sqrt(v_i) defining its p-values."""
    sd = np.sqrt(v)
    if kind == "stepfun":
        # P(p <= c) for each cut-point c, then the probability of each interval
        cum = []
        for c in steps[:-1]:
            if alternative == "two.sided":
                q = sd * _isf(c / 2)
                cum.append(_sf((q - mu) / s) + _cdf((-q - mu) / s))
            else:
                q = sd * _isf(c)
                cum.append(_sf((q - mu) / s) if alternative == "greater" else _cdf((-q - mu) / s))
        cum.append(np.ones_like(mu))
        probs = np.diff(np.vstack([np.zeros_like(mu), *cum]), axis=0)  # intervals x k
        return np.asarray(delta) @ probs
    # continuous: integrate over y in pieces, split where the clipped p-value stops changing
    lo, hi = mu - 9 * s, mu + 9 * s  # the normal mass beyond 9 sd is 2e-19
    cuts = [lo, hi]
    pmin = _pval_min(kind)
    if pmin > 0:
        cuts += _y_at_p(pmin, sd, alternative) + _y_at_p(1 - pmin, sd, alternative)
    if alternative == "two.sided":
        cuts.append(np.zeros_like(mu))
    pts = np.sort(np.clip(np.vstack(cuts), lo, hi), axis=0)  # m x k
    total = np.zeros_like(mu)
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        half = (b - a) / 2
        y = (a + b)[None, :] / 2 + half[None, :] * _NODES[:, None]  # nodes x k
        p = np.clip(_pvalues(y, v[None, :], alternative), pmin, 1 - pmin)
        f = _weight(kind, p, delta) * _pdf(y, mu[None, :], s[None, :])
        total += half * (_WEIGHTS @ f)
    return total


def _loglik(theta, kind, y, v, X, p_obs, steps, alternative) -> float:
    q = X.shape[1]
    beta, tau2 = theta[:q], theta[q]
    delta = theta[q + 1 :]
    if kind == "stepfun":
        delta = np.concatenate([[1.0], delta])
    mu = X @ beta
    s = np.sqrt(v + tau2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if kind == "stepfun":
            idx = np.searchsorted(np.asarray(steps), p_obs, side="left")  # first cut-point >= p
            w = delta[np.minimum(idx, len(steps) - 1)]
        else:
            pm = _pval_min(kind)
            w = _weight(kind, np.clip(p_obs, pm, 1 - pm), delta)
        A = _normalisers(kind, mu, s, v, delta, steps, alternative)
        ll = np.sum(np.log(w) + normal.logpdf(y, mu, s) - np.log(A))
    return float(ll) if np.isfinite(ll) else -np.inf


def _hessian(f, x: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Hessian of f at x over the ``free`` coordinates by central differences with Richardson extrapolation (four
    halvings of a step of 0.3% of the parameter, at least 3e-4: a step scaled by a value near 0 drowned the
    curvature in rounding), in the manner of numDeriv's ``hessian``."""
    idx = np.flatnonzero(free)
    n = idx.size
    H = np.full((x.size, x.size), np.nan)
    base = f(x)
    h0 = 3e-3 * np.maximum(np.abs(x), 0.1)

    def second(i: int, j: int, h: np.ndarray) -> float:
        ei = np.zeros_like(x)
        ej = np.zeros_like(x)
        ei[i], ej[j] = h[i], h[j]
        if i == j:
            return (f(x + ei) - 2 * base + f(x - ei)) / (h[i] * h[i])
        return (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])

    for a in range(n):
        for b in range(a, n):
            i, j = idx[a], idx[b]
            table = [second(i, j, h0 / 2**m) for m in range(4)]
            for m in range(1, 4):  # Richardson: error O(h^2) -> O(h^4) -> ...
                table = [(4**m * table[t + 1] - table[t]) / (4**m - 1) for t in range(len(table) - 1)]
            H[i, j] = H[j, i] = table[0]
    return H


def selection_model(
    yi: Any,
    vi: Any,
    *,
    type: str = "stepfun",  # noqa: A002 - metafor's name
    steps: Any = (0.025, 1.0),
    alternative: str = "greater",
    mods: Any = None,
    level: float = 0.95,
) -> SelectionModel:
    """Fit a selection model (metafor's ``selmodel`` on an ``rma(yi, vi, mods, method = "ML")`` fit).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances.
    type : {"stepfun", "beta", "halfnorm", "negexp", "logistic", "power"}
        The selection function (module docstring).
    steps : sequence
        Cut-points of the step function's p-value intervals (1 is added when missing); not used by the others.
    alternative : {"greater", "less", "two.sided"}
        How the p-values are computed: one-sided for positive effects (metafor's default), for negative ones, or
        two-sided.
    mods : optional
        Moderators, as :func:`emmie.effect.meta_regression` (an intercept is added).
    level : float
        Level of the Wald intervals of the coefficients.
    """
    kind = str(type)
    if kind not in TYPES:
        raise AnalysisError(f"type = {type!r}; expected one of {', '.join(TYPES)}")
    if alternative not in ALTERNATIVES:
        raise AnalysisError(f"alternative = {alternative!r}; expected one of {', '.join(ALTERNATIVES)}")
    level = check_level(level)
    y, v = as_vector(yi, "yi"), as_vector(vi, "vi")
    k = y.size
    if v.size != k or np.any(~np.isfinite(y)) or np.any(~(v > 0)):
        raise AnalysisError("selection_model: yi and vi must be finite, of equal length, with vi > 0")
    X, names = (np.ones((k, 1)), ("intrcpt",)) if mods is None else design_matrix(mods, k)
    q = X.shape[1]
    cut = tuple(float(c) for c in np.atleast_1d(steps))
    if kind == "stepfun":
        if any(not 0 < c <= 1 for c in cut) or list(cut) != sorted(set(cut)):
            raise AnalysisError(f"steps = {steps!r}; expected increasing cut-points in (0, 1]")
        if cut[-1] != 1.0:
            cut = (*cut, 1.0)
        n_delta = len(cut) - 1
        delta0, bounds_d = [1.0] * n_delta, [(0.0, 100.0)] * n_delta
    elif kind == "beta":
        n_delta, delta0, bounds_d = 2, [1.0, 1.0], [(1e-5, 100.0)] * 2
    else:
        n_delta, delta0, bounds_d = 1, [1.0], [(0.0, 100.0)]
    p_obs = _pvalues(y, v, alternative)
    notes: list[str] = []
    if kind == "stepfun":
        counts = np.bincount(np.searchsorted(np.asarray(cut), p_obs, side="left"), minlength=len(cut))
        if np.any(counts[: len(cut)] == 0):
            empty = int(np.flatnonzero(counts[: len(cut)] == 0)[0])
            notes.append(
                f"no study has a p-value in interval {empty + 1} of the step function: its delta goes to a bound and "
                "the adjusted estimate is unreliable (consider merging the cut-points)"
            )
    # the model without selection, by ML: the start and the LRT's reference
    base = meta_analysis(y, v, method="ML") if q == 1 else meta_regression(y, v, X[:, 1:], method="ML")
    b0 = np.array([base.estimate]) if q == 1 else np.asarray(base.coef, dtype=float)
    t0 = float(base.tau2)
    ll0 = float(np.sum(stats.norm.logpdf(y, X @ b0, np.sqrt(v + t0))))

    def negll(theta: np.ndarray) -> float:
        value = _loglik(theta, kind, y, v, X, p_obs, cut, alternative)
        return -value if np.isfinite(value) else 1e300

    bounds = [(None, None)] * q + [(0.0, None)] + bounds_d
    start = np.concatenate([b0, [t0], delta0])
    best = None
    for guess in (start, np.concatenate([b0, [t0 + 1e-3], np.asarray(delta0) * 0.8 + 0.1])):
        res = optimize.minimize(
            negll, guess, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 5000}
        )
        # polish: a derivative-free search from the quasi-Newton end point, to a change in -loglik of 1e-14 of its
        # size (an absolute 1e-14 is below the rounding of a sum over hundreds of studies: at k = 1,000 the search
        # then ran to its 80,000 evaluations, gaining 3e-13)
        res2 = optimize.minimize(
            negll, res.x, method="Nelder-Mead",
            options={"xatol": 1e-11, "fatol": 1e-14 * max(1.0, abs(res.fun)), "maxiter": 40000, "maxfev": 80000},
        )  # fmt: skip
        x = np.clip(res2.x, [b[0] if b[0] is not None else -np.inf for b in bounds],
                    [b[1] if b[1] is not None else np.inf for b in bounds])  # fmt: skip
        res3 = optimize.minimize(
            negll, x, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 5000}
        )
        for cand in (x, res3.x):
            if best is None or negll(cand) < negll(best):
                best = cand
    theta = best
    ll = -negll(theta)
    lo = np.array([b[0] if b[0] is not None else -np.inf for b in bounds])
    hi = np.array([b[1] if b[1] is not None else np.inf for b in bounds])
    with np.errstate(invalid="ignore"):
        free = (theta > lo + 1e-8) & (theta < hi - 1e-8)  # a parameter at a bound gets no standard error
    free[:q] = True
    H = _hessian(lambda t: -negll(t), theta, free)
    cov = np.full_like(H, np.nan)
    idx = np.flatnonzero(free)
    try:
        cov[np.ix_(idx, idx)] = np.linalg.inv(-H[np.ix_(idx, idx)])
    except np.linalg.LinAlgError:
        pass
    se_all = np.sqrt(np.diag(cov))
    coef, se = theta[:q], se_all[:q]
    z = coef / se
    crit = float(stats.norm.isf((1 - level) / 2))
    delta = theta[q + 1 :]
    se_delta = se_all[q + 1 :]
    if kind == "stepfun":
        delta, se_delta = np.concatenate([[1.0], delta]), np.concatenate([[np.nan], se_delta])
    lrt = max(2 * (ll - ll0), 0.0)
    return SelectionModel(
        type=kind, steps=cut if kind == "stepfun" else (), alternative=alternative,
        coef=coef, coef_names=names, se=se, zval=z, pval=2 * stats.norm.sf(np.abs(z)),
        ci_lb=coef - crit * se, ci_ub=coef + crit * se, tau2=float(theta[q]), se_tau2=float(se_all[q]),
        delta=delta, se_delta=se_delta, loglik=ll, loglik_unadjusted=ll0, lrt=lrt, lrt_df=n_delta,
        lrt_pval=float(stats.chi2.sf(lrt, n_delta)), k=k, level=level, warnings=tuple(notes),
    )  # fmt: skip
