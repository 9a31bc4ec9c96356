"""Effect sizes and sampling variances from study summary data (metafor's ``escalc``).

References
----------
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package.
    Journal of Statistical Software 36(3):1-48 (``escalc``, metafor 3.8-1 defaults).
Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related
    estimators. Journal of Educational Statistics 6:107-128 (SMD, exact correction).
Hedges LV, Gurevitch J, Curtis PS (1999). The meta-analysis of response ratios in
    experimental ecology. Ecology 80:1150-1156 (ROM).
Fisher RA (1921). On the probable error of a coefficient of correlation deduced from a
    small sample. Metron 1:3-32 (ZCOR).
Altman DG, Bland JM (2011). How to obtain the confidence interval from a P value. BMJ 343:d2090
    (GEN from a p-value).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from emmie.errors import AnalysisError

MEASURES = (
    "OR", "RR", "RD", "MD", "SMD", "ROM", "COR", "ZCOR", "PCOR", "GEN", "PROP",
    "PLO", "PAS", "PFT", "IRR", "IRD", "IRLN", "SMCR", "SMCC", "PETO", "AS",
)  # fmt: skip
_ALIASES = {"PR": "PROP"}


def _arr(x: Any, name: str) -> np.ndarray | None:
    if x is None:
        return None
    try:
        a = np.asarray(pd.to_numeric(pd.Series(np.asarray(x, dtype=object).reshape(-1)), errors="raise"), dtype=float)
    except (TypeError, ValueError) as exc:
        raise AnalysisError(f"{name} must be numeric: {exc}") from None
    return a


def _fail(measure: str, name: str, arr: np.ndarray, mask: np.ndarray, expected: str) -> None:
    bad = np.flatnonzero(mask & ~np.isnan(arr))
    if bad.size:
        i = int(bad[0])
        more = f" (and {bad.size - 1} more rows)" if bad.size > 1 else ""
        raise AnalysisError(f"escalc {measure}: row {i}: {name} = {arr[i]:g}; expected {expected}{more}")


def _need(measure: str, given: dict[str, np.ndarray | None], names: tuple[str, ...]) -> list[np.ndarray]:
    missing = [n for n in names if given.get(n) is None]
    if missing:
        raise AnalysisError(f"escalc {measure}: needs {', '.join(names)}; missing {', '.join(missing)}")
    arrays = [given[n] for n in names]
    sizes = {a.size for a in arrays}  # type: ignore[union-attr]
    if len(sizes) != 1:
        raise AnalysisError(f"escalc {measure}: {', '.join(names)} must all have the same length")
    return arrays  # type: ignore[return-value]


def _cmi(mi: np.ndarray) -> np.ndarray:
    """Exact small-sample correction of Hedges (1981): Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))."""
    with np.errstate(invalid="ignore"):
        out = np.exp(special.gammaln(mi / 2.0) - np.log(np.sqrt(mi / 2.0)) - special.gammaln((mi - 1.0) / 2.0))
    return np.where(mi <= 1, np.nan, out)


def _two_by_two(measure: str, g: dict[str, np.ndarray | None], add: float, to: str, drop00: bool) -> tuple:
    if g.get("bi") is None and g.get("n1i") is not None and g.get("ai") is not None:
        g["bi"] = g["n1i"] - g["ai"]  # type: ignore[operator]
    if g.get("di") is None and g.get("n2i") is not None and g.get("ci") is not None:
        g["di"] = g["n2i"] - g["ci"]  # type: ignore[operator]
    ai, bi, ci, di = (a.copy() for a in _need(measure, g, ("ai", "bi", "ci", "di")))
    for name, a in (("ai", ai), ("ci", ci)):
        _fail(measure, name, a, a < 0, "a count >= 0")
    if g.get("n1i") is not None:
        _fail(measure, "ai", ai, ai > g["n1i"], "at most n1i (events cannot exceed the group size)")  # type: ignore[operator]
    if g.get("n2i") is not None:
        _fail(measure, "ci", ci, ci > g["n2i"], "at most n2i (events cannot exceed the group size)")  # type: ignore[operator]
    for name, a in (("bi", bi), ("di", di)):
        _fail(measure, name, a, a < 0, "a count >= 0")
    if drop00:
        both = ((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0))
        for a in (ai, bi, ci, di):
            a[both] = np.nan
    if to == "all":
        zero = np.ones(ai.size, dtype=bool)
    elif to == "only0":
        zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
    elif to == "if0all":
        zero = np.full(ai.size, bool(np.any((ai == 0) | (bi == 0) | (ci == 0) | (di == 0))))
    else:
        zero = np.zeros(ai.size, dtype=bool)
    for a in (ai, bi, ci, di):
        a[zero] = a[zero] + add
    return ai, bi, ci, di


def _zero_rows(to: str, zero: np.ndarray) -> np.ndarray:
    """The rows that get the continuity correction, given the rows with a zero cell (metafor's ``to``)."""
    if to == "all":
        return np.ones(zero.size, dtype=bool)
    if to == "only0":
        return zero
    if to == "if0all":
        return np.full(zero.size, bool(np.any(zero)))
    return np.zeros(zero.size, dtype=bool)


def _peto_as(measure: str, g: dict[str, np.ndarray | None], add: float, to: str, drop00: bool) -> tuple:
    """PETO: Peto's log odds ratio (O - E) / V, variance 1 / V (Yusuf et al. 1985), after the continuity correction
    as metafor applies it; AS: the arcsine square-root risk difference, variance 1/(4 n1) + 1/(4 n2), with no
    correction (Rücker et al. 2009)."""
    a, b, c, d = _two_by_two(measure, g, add if measure == "PETO" else 0.0, to if measure == "PETO" else "none", drop00)
    n1, n2 = a + b, c + d
    _fail(measure, "n1i", n1, n1 <= 0, "a group size > 0")
    _fail(measure, "n2i", n2, n2 <= 0, "a group size > 0")
    if measure == "AS":
        return np.arcsin(np.sqrt(a / n1)) - np.arcsin(np.sqrt(c / n2)), 1 / (4 * n1) + 1 / (4 * n2)
    n = n1 + n2
    expected = n1 * (a + c) / n
    v = n1 * n2 * (a + c) * (b + d) / (n**2 * (n - 1))
    return (a - expected) / v, 1 / v


def _rates(measure: str, g: dict[str, np.ndarray | None], add: float, to: str) -> tuple:
    """Incidence rates from event counts and person-times: IRR (log rate ratio, variance 1/x1 + 1/x2), IRD (rate
    difference, variance x1/t1^2 + x2/t2^2) from ``x1i, t1i, x2i, t2i``; IRLN (log rate of one group, variance 1/x)
    from ``xi, ti``. ``add`` goes to the counts of a row with a zero count (metafor's default ``to = "only0"``)."""
    if measure == "IRLN":
        x, t = (a.copy() for a in _need(measure, g, ("xi", "ti")))
        _fail(measure, "xi", x, x < 0, "a count >= 0")
        _fail(measure, "ti", t, t <= 0, "a person-time > 0")
        zero = _zero_rows(to, x == 0)
        x[zero] += add
        return np.log(x / t), 1 / x
    x1, t1, x2, t2 = (a.copy() for a in _need(measure, g, ("x1i", "t1i", "x2i", "t2i")))
    for name, a in (("x1i", x1), ("x2i", x2)):
        _fail(measure, name, a, a < 0, "a count >= 0")
    for name, a in (("t1i", t1), ("t2i", t2)):
        _fail(measure, name, a, a <= 0, "a person-time > 0")
    zero = _zero_rows(to, (x1 == 0) | (x2 == 0))
    x1[zero] += add
    x2[zero] += add
    if measure == "IRR":
        return np.log(x1 / t1) - np.log(x2 / t2), 1 / x1 + 1 / x2
    return x1 / t1 - x2 / t2, x1 / t1**2 + x2 / t2**2


def _change(measure: str, g: dict[str, np.ndarray | None]) -> tuple:
    """Standardised mean change of one group measured twice (``m1i`` after, ``m2i`` before, correlation ``ri``),
    with Hedges' correction on ni - 1 df and metafor's large-sample variances: SMCR standardises by the raw-score
    SD ``sd1i`` (variance 2(1 - r)/n + g^2/(2n); Becker 1988), SMCC by the SD of the change scores
    sqrt(sd1^2 + sd2^2 - 2 r sd1 sd2) (variance 1/n + g^2/(2n); Gibbons et al. 1993)."""
    names = ("m1i", "m2i", "sd1i", "ni", "ri") + (("sd2i",) if measure == "SMCC" else ())
    m1, m2, s1, n, r, *rest = _need(measure, g, names)
    _fail(measure, "sd1i", s1, s1 <= 0, "a standard deviation > 0")
    _fail(measure, "ni", n, n <= 2, "a sample size > 2")
    _fail(measure, "ri", r, np.abs(r) > 1, "a correlation between -1 and 1")
    correction = _cmi(n - 1)
    if measure == "SMCR":
        yi = correction * (m1 - m2) / s1
        return yi, 2 * (1 - r) / n + yi**2 / (2 * n)
    (s2,) = rest
    _fail(measure, "sd2i", s2, s2 <= 0, "a standard deviation > 0")
    sd_change = np.sqrt(s1**2 + s2**2 - 2 * r * s1 * s2)
    yi = correction * (m1 - m2) / sd_change
    return yi, 1 / n + yi**2 / (2 * n)


def _gen(g: dict[str, np.ndarray | None], level: float) -> tuple[np.ndarray, np.ndarray]:
    est = g.get("estimate")
    if est is None:
        raise AnalysisError("escalc GEN: needs estimate (and se, or ci_lb and ci_ub, or pval)")
    vi = np.full(est.size, np.nan)
    se = g.get("se")
    if se is not None:
        _fail("GEN", "se", se, se <= 0, "a standard error > 0")
        vi = np.where(np.isnan(vi), se**2, vi)
    lb, ub = g.get("ci_lb"), g.get("ci_ub")
    if lb is not None and ub is not None:
        _fail("GEN", "ci_ub", ub, ub <= lb, "an upper CI bound above the lower bound")
        z = stats.norm.isf((1.0 - level) / 2.0)
        vi = np.where(np.isnan(vi), ((ub - lb) / (2.0 * z)) ** 2, vi)
    p = g.get("pval")
    if p is not None:
        from_p = np.isnan(vi) & ~np.isnan(p)
        _fail("GEN", "pval", p, from_p & ((p <= 0) | (p >= 1)), "a p-value strictly between 0 and 1")
        _fail("GEN", "estimate", est, from_p & (est == 0), "a non-zero estimate when the variance comes from a p-value")
        z = stats.norm.isf(p / 2.0)
        vi = np.where(from_p, (np.abs(est) / z) ** 2, vi)
    return est.copy(), vi


def effect_sizes(
    measure: str,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    m1i: Any = None,
    m2i: Any = None,
    sd1i: Any = None,
    sd2i: Any = None,
    ri: Any = None,
    ni: Any = None,
    ti: Any = None,
    mi: Any = None,
    xi: Any = None,
    x1i: Any = None,
    x2i: Any = None,
    t1i: Any = None,
    t2i: Any = None,
    estimate: Any = None,
    se: Any = None,
    ci_lb: Any = None,
    ci_ub: Any = None,
    pval: Any = None,
    level: float = 0.95,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
) -> pd.DataFrame:
    """Compute effect sizes ``yi`` and sampling variances ``vi`` exactly as metafor's ``escalc``.

    Parameters
    ----------
    measure : str
        ``OR`` (log odds ratio), ``RR`` (log risk ratio), ``RD`` (risk difference) from the 2x2
        counts ``ai, bi, ci, di`` (or ``ai, n1i, ci, n2i``); ``MD`` (raw mean difference), ``SMD``
        (Hedges' g, exact gamma-function correction, large-sample variance
        ``1/n1 + 1/n2 + g^2 / (2 (n1 + n2))``), ``ROM`` (log ratio of means) from
        ``m1i, sd1i, n1i, m2i, sd2i, n2i``; ``COR`` (raw r, variance ``(1 - r^2)^2/(n - 1)``)
        and ``ZCOR`` (Fisher's z, variance ``1/(n - 3)``) from ``ri, ni``; ``PCOR`` (partial r) from
        ``ti`` (t statistic), ``ni`` and ``mi`` (number of other predictors); ``PROP`` (alias ``PR``,
        raw proportion) from ``xi, ni``; ``GEN`` (generic) from ``estimate`` with ``se``, or a
        ``level`` CI ``ci_lb, ci_ub`` (``vi = ((ub - lb) / (2 z))^2``), or a two-sided ``pval``
        (``se = |estimate| / z_{1 - p/2}``), taken in that order of preference per row.
        Proportions from ``xi, ni``: ``PLO`` (log odds), ``PAS`` (arcsine square root), ``PFT`` (Freeman-Tukey double
        arcsine). Incidence rates: ``IRR`` (log rate ratio) and ``IRD`` (rate difference) from ``x1i, t1i, x2i,
        t2i`` (events and person-time), ``IRLN`` (log rate) from ``xi, ti`` (here ``ti`` is person-time, as in
        metafor). Change scores of one group: ``SMCR`` (by the raw-score SD ``sd1i``) and ``SMCC`` (by the SD of the
        change, needs ``sd2i``) from ``m1i, m2i, sd1i, ni, ri``. From 2x2 tables: ``PETO`` (Peto's log odds ratio)
        and ``AS`` (arcsine square-root risk difference).
    add, to, drop00 : float, str, bool
        Continuity correction of 2x2 tables (and PROP) as metafor: by default (``to="only0"``) 1/2
        is added to all four cells of a table that has a zero cell, for OR, RR and also RD
        (metafor 3.8-1 applies it to RD too). ``to`` may be ``"all"``, ``"only0"``, ``"if0all"``,
        ``"none"``. ``drop00=True`` makes tables with no events (or only events) in both groups NaN.
    level : float
        Confidence level of ``ci_lb``/``ci_ub`` for GEN.

    Returns
    -------
    pandas.DataFrame
        Columns ``yi`` and ``vi``, one row per input row (NaN where an input is missing).

    Raises
    ------
    AnalysisError
        Negative counts, events larger than the group, sd <= 0, |r| >= 1, n too small, naming the row.

    References
    ----------
    Viechtbauer W (2010). Journal of Statistical Software 36(3):1-48.
    Hedges LV (1981). Journal of Educational Statistics 6:107-128.
    Hedges LV, Gurevitch J, Curtis PS (1999). Ecology 80:1150-1156.
    """
    meas = _ALIASES.get(str(measure).upper(), str(measure).upper())
    if meas not in MEASURES:
        raise AnalysisError(f"measure {measure!r} is not supported; expected one of {', '.join(MEASURES)}")
    if to not in ("all", "only0", "if0all", "none"):
        raise AnalysisError(f"to = {to!r}; expected 'all', 'only0', 'if0all' or 'none'")
    raw = dict(
        ai=ai,
        bi=bi,
        ci=ci,
        di=di,
        n1i=n1i,
        n2i=n2i,
        m1i=m1i,
        m2i=m2i,
        sd1i=sd1i,
        sd2i=sd2i,
        ri=ri,
        ni=ni,
        ti=ti,
        mi=mi,
        xi=xi,
        x1i=x1i,
        x2i=x2i,
        t1i=t1i,
        t2i=t2i,
        estimate=estimate,
        se=se,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        pval=pval,
    )
    g = {k: _arr(v, k) for k, v in raw.items()}
    with np.errstate(divide="ignore", invalid="ignore"):
        if meas in ("PETO", "AS"):
            yi, vi = _peto_as(meas, g, add, to, drop00)
        elif meas in ("IRR", "IRD", "IRLN"):
            yi, vi = _rates(meas, g, add, to)
        elif meas in ("SMCR", "SMCC"):
            yi, vi = _change(meas, g)
        elif meas in ("OR", "RR", "RD"):
            a, b, c, d = _two_by_two(meas, g, add, to, drop00)
            n1, n2 = a + b, c + d
            _fail(meas, "n1i", n1, n1 <= 0, "a group size > 0")
            _fail(meas, "n2i", n2, n2 <= 0, "a group size > 0")
            p1, p2 = a / n1, c / n2
            if meas == "OR":
                yi = np.log(p1 / (1 - p1)) - np.log(p2 / (1 - p2))
                vi = 1 / a + 1 / b + 1 / c + 1 / d
            elif meas == "RR":
                yi = np.log(p1) - np.log(p2)
                vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
            else:
                yi = p1 - p2
                vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        elif meas in ("MD", "SMD", "ROM"):
            m1, s1, n1, m2, s2, n2 = _need(meas, g, ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"))
            _fail(meas, "sd1i", s1, s1 <= 0, "a standard deviation > 0")
            _fail(meas, "sd2i", s2, s2 <= 0, "a standard deviation > 0")
            _fail(meas, "n1i", n1, n1 <= 0, "a group size > 0")
            _fail(meas, "n2i", n2, n2 <= 0, "a group size > 0")
            if meas == "MD":
                yi = m1 - m2
                vi = s1**2 / n1 + s2**2 / n2
            elif meas == "SMD":
                mdf = n1 + n2 - 2
                _fail(meas, "n1i", n1, mdf <= 1, "n1i + n2i > 3 for Hedges' correction")
                sdp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / mdf)
                yi = _cmi(mdf) * (m1 - m2) / sdp
                vi = 1 / n1 + 1 / n2 + yi**2 / (2 * (n1 + n2))
            else:
                _fail(meas, "m1i", m1, m1 <= 0, "a positive mean (ratio of means needs a ratio scale)")
                _fail(meas, "m2i", m2, m2 <= 0, "a positive mean (ratio of means needs a ratio scale)")
                yi = np.log(m1 / m2)
                vi = s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2)
        elif meas in ("COR", "ZCOR"):
            r, n = _need(meas, g, ("ri", "ni"))
            _fail(meas, "ri", r, np.abs(r) >= 1, "a correlation strictly between -1 and 1")
            _fail(
                meas,
                "ni",
                n,
                n <= (3 if meas == "ZCOR" else 1),
                "a sample size > 3" if meas == "ZCOR" else "a sample size > 1",
            )
            if meas == "COR":
                yi = r.copy()
                vi = (1 - r**2) ** 2 / (n - 1)
            else:
                yi = 0.5 * np.log((1 + r) / (1 - r))
                vi = 1 / (n - 3)
        elif meas == "PCOR":
            t, n, m = _need(meas, g, ("ti", "ni", "mi"))
            _fail(meas, "mi", m, m < 0, "a number of predictors >= 0")
            _fail(meas, "ni", n, n - m - 1 <= 0, "ni - mi - 1 > 0")
            yi = t / np.sqrt(t**2 + (n - m - 1))
            vi = (1 - yi**2) ** 2 / (n - m - 1)
        elif meas in ("PROP", "PLO", "PAS", "PFT"):
            x, n = _need(meas, g, ("xi", "ni"))
            _fail(meas, "xi", x, x < 0, "a count >= 0")
            _fail(meas, "xi", x, x > n, "at most ni (events cannot exceed the sample size)")
            _fail(meas, "ni", n, n <= 0, "a sample size > 0")
            if meas == "PAS":  # no correction: the arcsine is finite at 0 and 1
                yi, vi = np.arcsin(np.sqrt(x / n)), 1 / (4 * n)
            elif meas == "PFT":  # Freeman-Tukey double arcsine, no correction
                yi = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
                vi = 1 / (4 * n + 2)
            else:
                x, m = x.copy(), n - x
                zero = _zero_rows(to, (x == 0) | (m == 0))
                x[zero] += add
                m[zero] += add
                n = x + m
                yi = x / n
                vi = yi * (1 - yi) / n
                if meas == "PLO":
                    yi, vi = np.log(x / m), 1 / x + 1 / m
        else:
            yi, vi = _gen(g, float(level))
    return pd.DataFrame({"yi": np.asarray(yi, dtype=float), "vi": np.asarray(vi, dtype=float)})
