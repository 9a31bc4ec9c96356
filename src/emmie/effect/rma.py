"""Random- and equal-effects meta-analysis (metafor's ``rma.uni`` without moderators).

References
----------
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
    Journal of Statistical Software 36(3):1-48. doi:10.18637/jss.v036.i03
Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single
    covariate. Statistics in Medicine 22:2693-2710.
Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis.
    Statistics in Medicine 21:1539-1558.
Riley RD, Higgins JPT, Deeks JJ (2011). Interpretation of random effects meta-analyses. BMJ 342:d549.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from emmie.effect.estimators import (
    Control,
    Tau2Estimate,
    estimate_tau2,
    intercept_design,
    make_control,
    normalise_method,
    typical_variance,
    wls,
)
from emmie.effect.names import METHOD_NAMES
from emmie.errors import AnalysisError

TESTS = ("z", "knha")


def as_vector(x: Any, name: str) -> np.ndarray:
    """A 1-D float array from an array-like, Series or scalar sequence; errors name the argument."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"{name} must be numeric: {exc}") from None
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    return arr


#: Estimators that metafor refuses when a sampling variance is 0 (their weights or moments need 1/vi).
ZERO_VARIANCE_REFUSED = ("EE", "DL", "HS", "PM")


def omit_missing(yi: Any, vi: Any, cluster: Any = None) -> tuple[np.ndarray, np.ndarray, Any, np.ndarray]:
    """metafor's ``na.action = "na.omit"``: the rows with a missing (NaN) ``yi`` or ``vi`` are left out.

    Returns ``yi``, ``vi`` and ``cluster`` of the rows kept, and the positions (0-based) of the rows left out."""
    y = as_vector(yi, "yi")
    v = as_vector(vi, "vi")
    if y.shape != v.shape:
        raise AnalysisError(f"yi has {y.size} values but vi has {v.size}")
    missing = np.isnan(y) | np.isnan(v)
    if not missing.any():
        return y, v, cluster, np.array([], dtype=int)
    keep = ~missing
    if cluster is not None:
        cl = np.asarray(cluster, dtype=object).reshape(-1)
        if cl.size != y.size:
            raise AnalysisError(f"cluster has {cl.size} values but yi has {y.size}")
        cluster = cl[keep]
    return y[keep], v[keep], cluster, np.flatnonzero(missing)


def check_yi_vi(yi: Any, vi: Any, *, zero_ok: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Validate effect sizes and sampling variances; return them as float arrays. With ``zero_ok``, a sampling
    variance of 0 is accepted (as metafor's rma with the estimators that allow it)."""
    y = as_vector(yi, "yi")
    v = as_vector(vi, "vi")
    if y.shape != v.shape:
        raise AnalysisError(f"yi has {y.size} values but vi has {v.size}")
    if y.size == 0:
        raise AnalysisError("no effect sizes to pool (k = 0)")
    for name, arr in (("yi", y), ("vi", v)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise AnalysisError(
                f"{name}[{i}] is {float(arr[i])!r}; expected a finite number (drop or impute missing rows first)"
            )
    bad = np.flatnonzero(v < 0 if zero_ok else v <= 0)
    if bad.size:
        i = int(bad[0])
        raise AnalysisError(f"vi[{i}] = {float(v[i])!r}; sampling variances must be {'>= 0' if zero_ok else '> 0'}")
    return y, v


def check_test(test: str) -> str:
    t = str(test).lower()
    if t not in TESTS:
        raise AnalysisError(f"test {test!r} is not supported; expected 'z' or 'knha'")
    return t


def check_level(level: float) -> float:
    lev = float(level)
    if lev > 1.0:
        lev = lev / 100.0  # metafor accepts 95 for 0.95
    if not 0.0 < lev < 1.0:
        raise AnalysisError(f"level = {level!r}; expected a confidence level between 0 and 1 (e.g. 0.95)")
    return lev


@dataclass(frozen=True)
class LinearFit:
    """Everything computed by one ``rma.uni`` fit with a design matrix (internal)."""

    k: int
    p: int
    beta: np.ndarray
    vb: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    crit: float
    df: float | None
    tau: Tau2Estimate
    qe: float
    qe_pval: float
    i2: float
    h2: float
    vt: float
    weights: np.ndarray
    s2w: float
    warnings: tuple[str, ...]


def fit_linear(
    y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, test: str, level: float, control: Control
) -> LinearFit:
    """Fit ``y = X beta + u + e`` as metafor's ``rma.uni`` (validated inputs)."""
    k, p = X.shape
    notes: list[str] = []
    tau = estimate_tau2(y, v, X, method, control) if k > p else Tau2Estimate(0.0, np.nan, True, 0)
    notes.extend(tau.warnings)
    tau2 = tau.tau2
    w = 1.0 / (v + tau2)
    beta, vb, r = wls(y, w, X)
    s2w = 1.0
    df: float | None = None
    if test == "knha":
        rss = float(np.sum(w * r * r))
        s2w = 0.0 if rss <= np.finfo(float).eps else rss / (k - p)
        vb = s2w * vb
        df = float(k - p)
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    alpha = 1.0 - level
    if test == "knha":
        if k - p > 0:
            pval = 2.0 * stats.t.sf(np.abs(stat), df)
            crit = float(stats.t.isf(alpha / 2.0, df))
        else:
            pval = np.full(p, np.nan)
            crit = np.nan
    else:
        pval = 2.0 * stats.norm.sf(np.abs(stat))
        crit = float(stats.norm.isf(alpha / 2.0))
    ci_lb = beta - crit * se
    ci_ub = beta + crit * se
    if k > p:
        w0 = 1.0 / v
        _, _, r0 = wls(y, w0, X)
        qe = max(0.0, float(np.sum(w0 * r0 * r0)))
        qe_pval = float(stats.chi2.sf(qe, k - p))
        vt = typical_variance(v, X)
        if method == "EE":
            i2 = max(0.0, 100.0 * (qe - (k - p)) / qe) if qe > 0 else 0.0
            h2 = qe / (k - p)
        else:
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
    else:
        qe, qe_pval, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0
    return LinearFit(
        k=k,
        p=p,
        beta=beta,
        vb=vb,
        se=se,
        stat=stat,
        pval=np.asarray(pval, dtype=float),
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        crit=crit,
        df=df,
        tau=tau,
        qe=qe,
        qe_pval=qe_pval,
        i2=float(i2),
        h2=float(h2),
        vt=float(vt),
        weights=w,
        s2w=s2w,
        warnings=tuple(notes),
    )


@dataclass(frozen=True, eq=False)
class MetaAnalysis:
    """Result of :func:`meta_analysis` (fields named as in metafor's ``rma`` object).

    ``i2`` is in percent. ``pi_lb``/``pi_ub`` are the prediction interval for the true
    effect in a new study (NaN for the equal-effects model, as metafor). ``weights`` are
    the percentage weights of the studies. ``df`` is the t degrees of freedom under
    ``test="knha"`` (or the Satterthwaite df with ``cluster=``), None under ``z``.
    ``extra`` holds ``vt`` (typical within-study variance) and ``s2w`` (Knapp-Hartung factor).
    """

    k: int
    estimate: float
    se: float
    stat: float
    pval: float
    ci_lb: float
    ci_ub: float
    pi_lb: float
    pi_ub: float
    tau2: float
    se_tau2: float
    i2: float
    h2: float
    q: float
    q_pval: float
    method: str
    test: str
    level: float
    df: float | None
    weights: np.ndarray
    converged: bool
    iterations: int
    warnings: tuple[str, ...] = ()
    cluster_robust: bool = False
    n_clusters: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-ready: tuples become lists, NaN stays NaN for the writer to handle)."""
        d = asdict(self)
        d["weights"] = self.weights.tolist()
        d["warnings"] = list(self.warnings)
        d["extra"] = dict(self.extra)
        return d

    def __str__(self) -> str:
        return format_meta_analysis(self)

    def __repr__(self) -> str:
        return format_meta_analysis(self)


def prediction(pred: Any, se: Any, crit: float, spread: Any) -> dict[str, Any]:
    """metafor's ``predict`` columns: the estimate, its confidence interval (``pred +/- crit * se``) and the
    prediction interval of a true effect (``pred +/- crit * spread``, ``spread = sqrt(se^2 + heterogeneity)``)."""
    return {
        "pred": pred,
        "se": se,
        "ci_lb": pred - crit * se,
        "ci_ub": pred + crit * se,
        "pi_lb": pred - crit * spread,
        "pi_ub": pred + crit * spread,
    }


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "NA"
    return f"{x:.{digits}f}"


def _fmt_p(p: float) -> str:
    if p is None or np.isnan(p):
        return "NA"
    return "<.0001" if p < 1e-4 else f"{p:.4f}"


def format_meta_analysis(res: MetaAnalysis) -> str:
    """A readable summary in the layout of metafor's ``print.rma.uni``."""
    level_pct = f"{100 * res.level:g}%"
    if res.method == "EE":
        head = f"Equal-Effects Model (k = {res.k})"
    else:
        head = f"Random-Effects Model (k = {res.k}; tau^2 estimator: {res.method} = {METHOD_NAMES[res.method]})"
    lines = [head, ""]
    if res.method != "EE":
        lines += [
            f"tau^2 (estimated amount of total heterogeneity): {_fmt(res.tau2)}"
            + (f" (SE = {_fmt(res.se_tau2)})" if not np.isnan(res.se_tau2) else ""),
            f"tau (square root of estimated tau^2 value):      {_fmt(res.tau)}",
        ]
    lines += [
        f"I^2 (total heterogeneity / total variability):   {res.i2:.2f}%",
        f"H^2 (total variability / sampling variability):  {res.h2:.2f}",
        "",
        f"Test for Heterogeneity:\nQ(df = {res.k - 1}) = {_fmt(res.q)}, p-val = {_fmt_p(res.q_pval)}",
        "",
        "Model Results:",
        "",
    ]
    stat_name = "zval" if res.test == "z" and not res.cluster_robust else "tval"
    hdr = f"{'estimate':>10} {'se':>8} {stat_name:>9} {'df':>7} {'pval':>8} {'ci.lb':>9} {'ci.ub':>9}"
    df_txt = "" if res.df is None else f"{res.df:.4g}"
    row = (
        f"{_fmt(res.estimate):>10} {_fmt(res.se):>8} {_fmt(res.stat):>9} {df_txt:>7} {_fmt_p(res.pval):>8} "
        f"{_fmt(res.ci_lb):>9} {_fmt(res.ci_ub):>9}"
    )
    lines += [hdr, row, ""]
    if res.method != "EE":
        lines.append(f"{level_pct} prediction interval: [{_fmt(res.pi_lb)}, {_fmt(res.pi_ub)}]")
    if res.cluster_robust:
        lines.append(f"Cluster-robust (CR2) inference with {res.n_clusters} clusters, Satterthwaite df.")
    elif res.test == "knha":
        lines.append("Test and CI use the Knapp-Hartung adjustment (t distribution).")
    for w in res.warnings:
        lines.append(f"Warning: {w}")
    return "\n".join(lines)


def meta_analysis(
    yi: Any,
    vi: Any,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    cluster: Sequence[Any] | np.ndarray | None = None,
    control: Mapping[str, float] | Control | None = None,
    weights: Sequence[float] | np.ndarray | None = None,
) -> MetaAnalysis:
    """Pool effect sizes with an equal- or random-effects model, as metafor's ``rma(yi, vi)``.

    Parameters
    ----------
    yi : array-like
        Observed effect sizes (e.g. log odds ratios, Hedges' g).
    vi : array-like
        Their sampling variances (>= 0). A variance of 0 is accepted by REML, ML, EB, HE and SJ, as metafor (all
        zero reproduces ``lm(yi ~ 1)``); the Q-test, I^2 and H^2 are then NaN, and EE, DL, HS and PM refuse it, as
        does any estimator that puts tau^2 at 0. A row with a missing (NaN) ``yi`` or ``vi`` is left out with a
        note that counts them (metafor's ``na.action = "na.omit"``); ``weights`` are those of the rows kept.
    method : str, default "REML"
        Estimator of tau^2: ``EE`` (alias ``FE``, equal effects), ``DL``, ``HE``, ``HS``, ``SJ``,
        ``ML``, ``REML``, ``EB`` or ``PM``.
    test : {"z", "knha"}, default "z"
        Normal-theory Wald test, or the Knapp & Hartung (2003) adjustment with t(k-1).
    level : float, default 0.95
        Confidence level of the CI and the prediction interval.
    cluster : array-like, optional
        Cluster (e.g. study) of each effect size. When given, SE, test and CI are replaced by
        cluster-robust CR2 inference with Satterthwaite degrees of freedom (see
        :func:`emmie.effect.robust.robust_test`); the model itself is fitted as without clusters.
    control : mapping, optional
        Iteration settings with metafor's names (``threshold``, ``maxiter``, ``stepadj``,
        ``tol``, ``tau2_max``, ``ll0check``); defaults are metafor's.
    weights : array-like, optional
        User weights (>= 0, finite, not all 0), as metafor's ``rma(..., weights = w)``: tau^2 is estimated as
        without them; the estimate is the ``w``-weighted mean and its variance ``sum(w^2 (vi + tau^2)) / sum(w)^2``
        (times the Knapp-Hartung factor of the usual fit under ``knha``); Q, I^2 and H^2 are those of the usual
        weights; ``weights`` in the result are the user's, in percent. A row with a missing weight is left out as
        one with a missing ``yi``. Not with ``cluster``.

    Returns
    -------
    MetaAnalysis
        Frozen result; ``str(result)`` prints a metafor-style summary.

    Notes
    -----
    I^2 and H^2 follow metafor: for ``EE`` they come from Q; otherwise
    ``I^2 = 100 tau^2 / (tau^2 + s^2)`` and ``H^2 = tau^2 / s^2 + 1`` with the typical
    within-study variance ``s^2 = (k - 1) sum(w) / ((sum w)^2 - sum(w^2))``. The
    prediction interval is ``estimate +/- crit * sqrt(se^2 + tau^2)`` with the normal
    quantile under ``z`` and t(k-1) under ``knha``. With k = 1 the estimate is the single
    effect size and tau^2 = 0, as in metafor.

    References
    ----------
    DerSimonian R, Laird N (1986). Controlled Clinical Trials 7:177-188.
    Viechtbauer W (2005). Journal of Educational and Behavioral Statistics 30:261-293.
    Knapp G, Hartung J (2003). Statistics in Medicine 22:2693-2710.
    Higgins JPT, Thompson SG (2002). Statistics in Medicine 21:1539-1558.
    Pustejovsky JE, Tipton E (2018). Small-sample methods for cluster-robust variance estimation and
        hypothesis testing in fixed effects models. Journal of Business & Economic Statistics 36:672-683.
    """
    user = None
    if weights is not None:
        if cluster is not None:
            raise AnalysisError("weights and cluster together are not supported (metafor's rma has no cluster)")
        user = as_vector(weights, "weights")
        y0 = as_vector(yi, "yi")
        if user.size != y0.size:
            raise AnalysisError(f"weights has {user.size} values but yi has {y0.size}")
        bad = np.flatnonzero(np.isinf(user) | (user < 0))  # positions in the input, before rows are left out
        if bad.size:
            raise AnalysisError(
                f"weights[{int(bad[0])}] = {float(user[bad[0]])!r}; user weights must be finite and >= 0 (as metafor)"
            )
        # a missing weight leaves its row out, as a missing yi does (metafor's has.na)
        yi = np.where(np.isnan(user), np.nan, y0)
    y, v, cluster, omitted = omit_missing(yi, vi, cluster)
    if user is not None:
        user = np.delete(user, omitted)
        if user.size and not user.any():
            raise AnalysisError("every user weight is 0: there is nothing to weight the estimate by")
    if y.size == 0 and omitted.size:
        raise AnalysisError(f"no effect sizes to pool (k = 0): all {omitted.size} rows have a missing yi or vi")
    y, v = check_yi_vi(y, v, zero_ok=True)
    m = normalise_method(method)
    t = check_test(test)
    lev = check_level(level)
    con = make_control(control)
    k = y.size
    zeros = int(np.count_nonzero(v == 0))
    if zeros and m in ZERO_VARIANCE_REFUSED:
        raise AnalysisError(
            f"{zeros} result(s) with sampling variance 0: the {m} "
            + ("model's inverse-variance weights 1/vi are infinite" if m == "EE" else "estimator needs 1/vi")
            + " (metafor refuses it too); use REML, ML, EB, HE or SJ"
        )
    X = intercept_design(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = fit_linear(y, v, X, m, t, lev, con)
    if zeros and fit.tau.tau2 == 0.0:
        raise AnalysisError(
            f"tau^2 was estimated at 0, so the {zeros} result(s) with sampling variance 0 would get infinite weight "
            "(metafor refuses it too: 'Division by zero when computing the inverse variance weights')"
        )
    notes = []
    if omitted.size:
        notes.append(
            f"{omitted.size} result(s) with a missing yi or vi left out (rows {', '.join(str(i + 1) for i in omitted)};"
            f" metafor's na.action = 'na.omit'): k = {k}"
        )
    notes.extend(fit.warnings)
    q, q_pval, i2, h2 = fit.qe, fit.qe_pval, fit.i2, fit.h2
    if zeros:
        q = q_pval = i2 = h2 = float("nan")
        notes.append(
            f"{zeros} result(s) with sampling variance 0: the Q-test, I^2 and H^2 cannot be computed (as metafor)"
        )
    if k < 5 and t == "z" and m != "EE":
        notes.append(
            f"only k = {k} studies: the z test understates uncertainty; prefer test='knha' "
            "(Knapp-Hartung) and check the Bayesian analysis"
        )
    if m != "EE" and k > 1 and fit.tau.tau2 == 0.0:
        notes.append("tau^2 was estimated at the boundary 0 (no detectable between-study heterogeneity)")
    if m == "EE" and t == "knha":
        notes.append("Knapp-Hartung is not meant for equal-effects models (as metafor warns)")
    estimate, se, stat, pval = float(fit.beta[0]), float(fit.se[0]), float(fit.stat[0]), float(fit.pval[0])
    ci_lb, ci_ub, crit, df = float(fit.ci_lb[0]), float(fit.ci_ub[0]), fit.crit, fit.df
    if user is not None:
        total = float(user.sum())
        estimate = float(user @ y) / total
        variance = float(user * user @ (v + fit.tau.tau2)) / total**2
        if t == "knha":
            variance *= fit.s2w  # the Knapp-Hartung factor of the inverse-variance fit, as metafor
        se = math.sqrt(variance)
        stat = estimate / se if se > 0 else float("nan")
        if t == "knha":
            pval = float(2.0 * stats.t.sf(abs(stat), df)) if df and df > 0 else float("nan")
        else:
            pval = float(2.0 * stats.norm.sf(abs(stat)))
        ci_lb, ci_ub = estimate - crit * se, estimate + crit * se
    robust = False
    n_clusters = None
    if cluster is not None:
        from emmie.effect.robust import robust_test

        rt = robust_test(y, v, X, fit.weights, cluster, level=lev, beta=fit.beta)
        se, stat, pval, df = float(rt.se[0]), float(rt.stat[0]), float(rt.pval[0]), float(rt.df[0])
        ci_lb, ci_ub = float(rt.ci_lb[0]), float(rt.ci_ub[0])
        crit = float(stats.t.isf((1 - lev) / 2, df))
        robust, n_clusters = True, rt.n_clusters
    if m == "EE":
        pi_lb = pi_ub = float("nan")
    else:
        half = crit * np.sqrt(se**2 + fit.tau.tau2)
        pi_lb, pi_ub = estimate - half, estimate + half
    shown = fit.weights if user is None else user
    wpct = 100.0 * shown / shown.sum()
    return MetaAnalysis(
        k=k,
        estimate=estimate,
        se=se,
        stat=stat,
        pval=pval,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        pi_lb=float(pi_lb),
        pi_ub=float(pi_ub),
        tau2=float(fit.tau.tau2),
        se_tau2=float(fit.tau.se_tau2),
        i2=i2,
        h2=h2,
        q=q,
        q_pval=q_pval,
        method=m,
        test=t,
        level=lev,
        df=df,
        weights=_readonly(wpct),
        converged=fit.tau.converged,
        iterations=fit.tau.iterations,
        warnings=tuple(notes),
        cluster_robust=robust,
        n_clusters=n_clusters,
        extra={"vt": fit.vt, "s2w": fit.s2w},
    )
