"""Bayesian model averaging over effect and heterogeneity (the four models of R's metaBMA), by quadrature.

The models, each with prior probability ``prior_models`` (default 1/4 each):

- fixed null: ``y_i ~ N(0, v_i)``;
- fixed effect: ``y_i ~ N(mu, v_i)``, ``mu ~`` the effect prior;
- random null: ``y_i ~ N(0, v_i + tau^2)``, ``tau ~`` the heterogeneity prior;
- random effect: ``y_i ~ N(mu, v_i + tau^2)``.

With a normal prior on ``mu`` (optionally truncated to one sign) the integral over ``mu`` is in closed form given
``tau``; the integral over ``tau`` is a composite Gauss-Legendre rule on ``tau = s u / (1 - u)``, in log space (no
sampling). Results: each model's log marginal likelihood, the posterior model probabilities, the inclusion Bayes
factors for an effect (BF10: the effect models against the null models) and for heterogeneity (random against
fixed), and the model-averaged effect (over the two effect models, as metaBMA's ``meta_bma``) with its credible
interval.

Reading the Bayes factor: BF10 > 3 is evidence of an effect, BF10 < 1/3 (BF01 > 3) evidence of no effect, in
between the data do not tell the two apart (Jeffreys' bands as usually quoted; Lee & Wagenmakers 2013). The
defaults are metaBMA's for standardised mean differences, ``mu ~ N(0, 0.3^2)`` and ``tau ~ inverse-gamma(1,
0.15)``; set priors on the analysis scale of the review's measure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from ..errors import AnalysisError
from . import normal
from .names import prior_name
from .rma import as_vector, check_level

MODELS = ("fixed_null", "fixed", "random_null", "random")
_U, _UW = np.polynomial.legendre.leggauss(24)


@dataclass(frozen=True)
class EffectPrior:
    """``mu ~ N(mean, sd^2)``, truncated to ``mu > 0`` (``side="positive"``), ``mu < 0`` (``"negative"``) or not."""

    mean: float = 0.0
    sd: float = 0.3
    side: str = "both"

    def __post_init__(self) -> None:
        if not self.sd > 0:
            raise AnalysisError(f"effect prior: sd = {self.sd!r}; expected > 0")
        if self.side not in ("both", "positive", "negative"):
            raise AnalysisError(f"effect prior: side = {self.side!r}; expected both, positive or negative")

    def log_mass(self) -> float:
        """log P(prior mu on the allowed side)."""
        if self.side == "both":
            return 0.0
        z = self.mean / self.sd
        return float(stats.norm.logcdf(z if self.side == "positive" else -z))


@dataclass(frozen=True)
class HeterogeneityPrior:
    """The prior of tau: ``"invgamma"`` (shape, scale: metaBMA's default 1, 0.15), ``"half_normal"`` or
    ``"half_cauchy"`` (scale)."""

    family: str = "invgamma"
    scale: float = 0.15
    shape: float = 1.0

    def __post_init__(self) -> None:
        if self.family not in ("invgamma", "half_normal", "half_cauchy"):
            raise AnalysisError(f"tau prior: {self.family!r}; expected invgamma, half_normal or half_cauchy")
        if not (self.scale > 0 and self.shape > 0):
            raise AnalysisError("tau prior: scale and shape must be > 0")

    def logpdf(self, tau: np.ndarray) -> np.ndarray:
        if self.family == "invgamma":
            return stats.invgamma.logpdf(tau, self.shape, scale=self.scale)
        if self.family == "half_normal":
            return stats.halfnorm.logpdf(tau, scale=self.scale)
        return stats.halfcauchy.logpdf(tau, scale=self.scale)

    def label(self) -> str:
        if self.family == "invgamma":
            return f"inverse-gamma({self.shape:.3g}, {self.scale:.3g})"
        return f"{prior_name(self.family)}({self.scale:.3g})"


@dataclass(frozen=True)
class BMAResult:
    """The four models' evidence, the inclusion Bayes factors and the model-averaged effect."""

    logml: dict[str, float]
    prior_models: dict[str, float]
    posterior_models: dict[str, float]
    bf_effect: float  # inclusion BF10: effect models against null models
    bf_heterogeneity: float  # inclusion BF: random against fixed models
    mu_mean: float
    mu_ci_lb: float
    mu_ci_ub: float
    tau_mean: float  # under the random-effect model
    tau_ci_lb: float
    tau_ci_ub: float
    level: float
    k: int
    effect_prior: EffectPrior = field(repr=False)
    tau_prior: HeterogeneityPrior = field(repr=False)

    @property
    def bf01(self) -> float:
        """Evidence of no effect: 1 / BF10."""
        return 1.0 / self.bf_effect

    def evidence(self, bound: float = 3.0) -> str:
        """``"effect"`` when BF10 >= bound, ``"no effect"`` when BF01 >= bound, else ``"uninformative"``."""
        if self.bf_effect >= bound:
            return "effect"
        if self.bf01 >= bound:
            return "no effect"
        return "uninformative"


def _tau_nodes(y: np.ndarray, v: np.ndarray, prior: HeterogeneityPrior, panels: int) -> tuple[np.ndarray, np.ndarray]:
    """tau nodes and log weights (quadrature weight, Jacobian and prior) on ``tau = s u / (1 - u)``."""
    s = max(prior.scale, float(np.std(y)), float(np.sqrt(np.median(v))), 1e-3)
    edges = np.linspace(0.0, 1.0, panels + 1)
    half = np.diff(edges) / 2
    u = (edges[:-1, None] + edges[1:, None]) / 2 + half[:, None] * _U[None, :]
    w = half[:, None] * _UW[None, :]
    u, w = u.ravel(), w.ravel()
    tau = s * u / (1 - u)
    jac = s / (1 - u) ** 2
    with np.errstate(divide="ignore"):
        logw = np.log(w) + np.log(jac) + prior.logpdf(tau)
    return tau, logw


_LAST_TAU_TERMS: dict[tuple, tuple] = {}  # the last one only: a prior-sensitivity table varies mu's prior in turn


def _tau_terms(y: np.ndarray, v: np.ndarray, tp: HeterogeneityPrior, panels: int) -> tuple:
    """The nodes over tau and what the models with heterogeneity take from the data there, whatever mu's prior:
    ``tau, logw`` (:func:`_tau_nodes`), the random-null model's log likelihood at each node, and ``_data_terms``.
    Kept for the last (data, tau prior, panels), so that refitting with another prior on mu (the sensitivity
    table's rows with the same tau prior) does not compute them again: the same arrays, so the same bits."""
    key = (y.tobytes(), v.tobytes(), tp, panels)
    if key not in _LAST_TAU_TERMS:
        tau, logw = _tau_nodes(y, v, tp, panels)
        ll_null = normal.logpdf(y[None, :], 0.0, np.sqrt(v[None, :] + tau[:, None] ** 2)).sum(axis=1)
        terms = (tau, logw, ll_null, *_data_terms(y, v, tau**2))
        for array in terms:
            array.flags.writeable = False  # shared between fits: read-only
        _LAST_TAU_TERMS.clear()
        _LAST_TAU_TERMS[key] = (*terms[:3], terms[3:])
    return _LAST_TAU_TERMS[key]


def _data_terms(y: np.ndarray, v: np.ndarray, tau2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Given tau^2 (an array), what the marginal likelihood takes from the data whatever mu's prior: the total weight
    ``W``, the weighted mean ``mhat`` and the log likelihood's part that does not depend on mu (``base``)."""
    w = 1.0 / (v[None, :] + tau2[:, None])  # nodes x k
    W = w.sum(axis=1)
    mhat = (w * y[None, :]).sum(axis=1) / W
    Q = (w * (y[None, :] - mhat[:, None]) ** 2).sum(axis=1)
    k = y.size
    base = -0.5 * k * math.log(2 * math.pi) + 0.5 * np.log(w).sum(axis=1) - 0.5 * Q
    return W, mhat, base


def _fixed_mu_terms(
    y: np.ndarray, v: np.ndarray, tau2: np.ndarray, prior: EffectPrior, data: tuple | None = None
) -> dict[str, np.ndarray]:
    """Given tau^2 (an array), the log marginal likelihood with mu integrated out (normal prior, truncated as the
    prior is) and the normal posterior of mu (before truncation): ``logml, mean, sd``. ``data``: ``_data_terms`` of
    the same arguments, when already computed."""
    W, mhat, base = data if data is not None else _data_terms(y, v, tau2)
    # integral over mu of exp(-W (mu - mhat)^2 / 2) N(mu; m, s^2) = sqrt(2 pi / W) N(mhat; m, s^2 + 1/W)
    logml = base + 0.5 * np.log(2 * math.pi / W) + stats.norm.logpdf(mhat, prior.mean, np.sqrt(prior.sd**2 + 1 / W))
    post_var = 1.0 / (W + 1.0 / prior.sd**2)
    post_mean = post_var * (W * mhat + prior.mean / prior.sd**2)
    post_sd = np.sqrt(post_var)
    if prior.side != "both":
        z = post_mean / post_sd
        logml = logml + (stats.norm.logcdf(z) if prior.side == "positive" else stats.norm.logcdf(-z)) - prior.log_mass()
    return {"logml": logml, "mean": post_mean, "sd": post_sd}


def _mixture_cdf(x: float, weights: np.ndarray, means: np.ndarray, sds: np.ndarray, side: str) -> float:
    """CDF at x of a mixture of normals, each truncated to the prior's side."""
    if side == "both":
        return float(np.sum(weights * stats.norm.cdf((x - means) / sds)))
    if side == "positive":
        if x <= 0:
            return 0.0
        lo = stats.norm.cdf(-means / sds)
        return float(np.sum(weights * (stats.norm.cdf((x - means) / sds) - lo) / (1 - lo)))
    if x >= 0:
        return 1.0
    hi = stats.norm.cdf(-means / sds)
    return float(np.sum(weights * stats.norm.cdf((x - means) / sds) / hi))


def _truncated_means(means: np.ndarray, sds: np.ndarray, side: str) -> np.ndarray:
    if side == "both":
        return means
    a = -means / sds
    if side == "positive":  # E[X | X > 0]
        return means + sds * np.exp(stats.norm.logpdf(a) - stats.norm.logsf(a))
    return means - sds * np.exp(stats.norm.logpdf(a) - stats.norm.logcdf(a))


def bayesian_model_averaging(
    yi: Any,
    vi: Any,
    *,
    effect_prior: EffectPrior | None = None,
    tau_prior: HeterogeneityPrior | None = None,
    prior_models: dict[str, float] | None = None,
    level: float = 0.95,
    panels: int = 64,
) -> BMAResult:
    """Model-average the four meta-analytic models by quadrature (module docstring).

    Parameters
    ----------
    yi, vi : array_like
        Effect sizes and sampling variances (on the scale the priors are set on).
    effect_prior, tau_prior : optional
        :class:`EffectPrior` and :class:`HeterogeneityPrior`; metaBMA's defaults when omitted.
    prior_models : dict, optional
        Prior probability of each model (keys ``fixed_null, fixed, random_null, random``; default 1/4 each).
    level : float
        Level of the credible intervals.
    panels : int
        Gauss-Legendre panels of 24 nodes for the integral over tau (64: error under 1e-10 in the tests).
    """
    y, v = as_vector(yi, "yi"), as_vector(vi, "vi")
    if y.size != v.size or y.size == 0 or np.any(~np.isfinite(y)) or np.any(~(v > 0)):
        raise AnalysisError("bayesian_model_averaging: yi and vi must be finite, of equal length (>= 1), with vi > 0")
    level = check_level(level)
    ep = effect_prior or EffectPrior()
    tp = tau_prior or HeterogeneityPrior()
    pm = dict(prior_models or {m: 0.25 for m in MODELS})
    if set(pm) != set(MODELS) or any(p < 0 for p in pm.values()) or not math.isclose(sum(pm.values()), 1.0):
        raise AnalysisError(f"prior_models: one probability >= 0 per model ({', '.join(MODELS)}), summing to 1")
    k = y.size
    tau, logw, ll_null, data = _tau_terms(y, v, tp, panels)
    # fixed null and fixed effect
    logml = {"fixed_null": float(np.sum(normal.logpdf(y, 0.0, np.sqrt(v))))}
    fixed = _fixed_mu_terms(y, v, np.zeros(1), ep)
    logml["fixed"] = float(fixed["logml"][0])
    # random null: integral over tau of prod N(y; 0, v + tau^2)
    logml["random_null"] = float(special.logsumexp(logw + ll_null))
    random = _fixed_mu_terms(y, v, tau**2, ep, data)
    node = logw + random["logml"]
    logml["random"] = float(special.logsumexp(node))
    # posterior model probabilities
    with np.errstate(divide="ignore"):
        lp = {m: logml[m] + math.log(pm[m]) if pm[m] > 0 else -np.inf for m in MODELS}
    top = max(lp.values())
    total = sum(math.exp(x - top) for x in lp.values())
    post = {m: math.exp(lp[m] - top) / total for m in MODELS}

    def inclusion(yes: tuple[str, str], no: tuple[str, str]) -> float:
        if sum(pm[m] for m in yes) == 0 or sum(pm[m] for m in no) == 0:
            return float("nan")  # no prior mass on one side: the Bayes factor is not defined
        num = special.logsumexp([logml[m] + math.log(pm[m]) for m in yes if pm[m] > 0])
        den = special.logsumexp([logml[m] + math.log(pm[m]) for m in no if pm[m] > 0])
        prior_odds = sum(pm[m] for m in yes) / sum(pm[m] for m in no)
        return float(math.exp(num - den) / prior_odds)

    bf_effect = inclusion(("fixed", "random"), ("fixed_null", "random_null"))
    bf_het = inclusion(("random", "random_null"), ("fixed", "fixed_null"))
    # the averaged posterior of mu over the two effect models: a mixture of (truncated) normals
    h1 = post["fixed"] + post["random"]
    node_w = np.exp(node - logml["random"])  # posterior weight of each tau node under the random model
    weights = np.concatenate([[post["fixed"] / h1], post["random"] / h1 * node_w]) if h1 > 0 else None
    if weights is None:
        raise AnalysisError("no prior probability on a model with an effect")
    means = np.concatenate([fixed["mean"], random["mean"]])
    sds = np.concatenate([fixed["sd"], random["sd"]])
    keep = weights > 1e-300
    weights, means, sds = weights[keep] / weights[keep].sum(), means[keep], sds[keep]
    mu_mean = float(np.sum(weights * _truncated_means(means, sds, ep.side)))
    spread = float(np.max(np.abs(means)) + 12 * np.max(sds)) + 1.0

    def quantile(q: float) -> float:
        return float(optimize.brentq(lambda x: _mixture_cdf(x, weights, means, sds, ep.side) - q, -spread, spread,
                                     xtol=1e-13, rtol=1e-13))  # fmt: skip

    a = (1 - level) / 2
    # tau under the random-effect model: a weighted sample on the nodes, quantiles by interpolating the CDF
    order = np.argsort(tau)
    cdf = np.cumsum(node_w[order])
    tau_q = np.interp([a, 1 - a], cdf, tau[order])
    return BMAResult(
        logml=logml, prior_models=pm, posterior_models=post, bf_effect=bf_effect, bf_heterogeneity=bf_het,
        mu_mean=mu_mean, mu_ci_lb=quantile(a), mu_ci_ub=quantile(1 - a),
        tau_mean=float(np.sum(node_w * tau)), tau_ci_lb=float(tau_q[0]), tau_ci_ub=float(tau_q[1]),
        level=level, k=k, effect_prior=ep, tau_prior=tp,
    )  # fmt: skip
