"""PET-PEESE: the effect a study of infinite precision would find, from the regression of the effect sizes on their
standard errors (PET) or variances (PEESE); Stanley & Doucouliagos (2014), Research Synthesis Methods 5:60-78.

Both are weighted least-squares regressions with weights 1/v_i and a multiplicative residual variance ("unrestricted
WLS", R's ``lm(yi ~ sqrt(vi), weights = 1/vi)``); the intercept is the adjusted effect. The conditional estimator
uses PEESE when PET's intercept differs from 0 in a one-sided test at ``alpha`` in the direction of its estimate
(PET finds an effect, and PEESE is less biased when there is one), else PET. With ``cluster`` (several effect sizes
per study), the tests are cluster-robust: CR2 with Satterthwaite degrees of freedom, the working model the same
weights, and working variances 1 (clubSandwich's ``coef_test`` on the ``lm`` fit). References: tests/fixtures/metafor/petpeese/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..errors import AnalysisError
from .rma import as_vector, check_level
from .robust import robust_test


@dataclass(frozen=True)
class Regression:
    """One of the two regressions: intercept (the adjusted effect) and slope, with their tests."""

    coef: np.ndarray
    se: np.ndarray
    tstat: np.ndarray
    df: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray

    @property
    def estimate(self) -> float:
        return float(self.coef[0])


@dataclass(frozen=True)
class PetPeese:
    """PET, PEESE, and the conditional estimate (``estimate``, ``ci_lb``, ``ci_ub``, ``chosen``)."""

    pet: Regression
    peese: Regression
    chosen: str  # "PET" or "PEESE"
    alpha: float
    cluster_robust: bool
    k: int

    @property
    def estimate(self) -> float:
        return (self.peese if self.chosen == "PEESE" else self.pet).estimate

    @property
    def ci_lb(self) -> float:
        return float((self.peese if self.chosen == "PEESE" else self.pet).ci_lb[0])

    @property
    def ci_ub(self) -> float:
        return float((self.peese if self.chosen == "PEESE" else self.pet).ci_ub[0])


def _wls(y: np.ndarray, v: np.ndarray, x: np.ndarray, cluster: Any, level: float) -> Regression:
    X = np.column_stack([np.ones(y.size), x])
    w = 1.0 / v
    XtW = X.T * w
    beta = np.linalg.solve(XtW @ X, XtW @ y)
    k, p = X.shape
    if cluster is not None:
        # clubSandwich on lm(..., weights = 1/vi): weights 1/vi, working variances 1 (its target for weighted lm)
        r = robust_test(y, v, X, w, cluster, level=level, beta=beta, target=np.ones(k))
        return Regression(beta, r.se, r.stat, r.df, r.pval, r.ci_lb, r.ci_ub)
    resid = y - X @ beta
    s2 = float(np.sum(w * resid**2) / (k - p))
    se = np.sqrt(np.diag(s2 * np.linalg.inv(XtW @ X)))
    t = beta / se
    df = np.full(p, float(k - p))
    crit = stats.t.isf((1 - level) / 2, df)
    return Regression(beta, se, t, df, 2 * stats.t.sf(np.abs(t), df), beta - crit * se, beta + crit * se)


def pet_peese(yi: Any, vi: Any, *, cluster: Any = None, alpha: float = 0.05, level: float = 0.95) -> PetPeese:
    """Fit PET and PEESE and choose between them (module docstring). ``cluster``: the study of each effect size,
    for CR2 tests when studies give several."""
    y, v = as_vector(yi, "yi"), as_vector(vi, "vi")
    level = check_level(level)
    if y.size != v.size or np.any(~np.isfinite(y)) or np.any(~(v > 0)):
        raise AnalysisError("pet_peese: yi and vi must be finite, of equal length, with vi > 0")
    if y.size < 3:
        raise AnalysisError(f"pet_peese needs at least 3 effect sizes (k = {y.size})")
    if not 0 < alpha < 0.5:
        raise AnalysisError(f"alpha = {alpha!r}; expected a one-sided level between 0 and 0.5")
    pet = _wls(y, v, np.sqrt(v), cluster, level)
    peese = _wls(y, v, v, cluster, level)
    one_sided = float(stats.t.sf(abs(pet.tstat[0]), pet.df[0]))
    chosen = "PEESE" if one_sided < alpha else "PET"
    return PetPeese(pet, peese, chosen, alpha, cluster is not None, int(y.size))
