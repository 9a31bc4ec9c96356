"""Mantel-Haenszel and Peto pooling of 2x2 tables and incidence data (metafor's ``rma.mh`` and ``rma.peto``).

Equal-effects methods that work on the counts rather than on each study's estimate, so tables with few or no events
contribute without a continuity correction of the pooled estimate: Cochrane's default for sparse binary data.

- Mantel-Haenszel: the odds ratio (variance of its log: Robins, Breslow & Greenland 1986), risk ratio (Greenland &
  Robins 1985), risk difference (Sato, Greenland & Robins 1989), incidence rate ratio and difference (Greenland &
  Robins 1985); with the odds ratio, the Cochran-Mantel-Haenszel test (continuity-corrected by default; Cochran's
  version, whose variance divides by n instead of n - 1, beside it) and Tarone's test for heterogeneity (the
  Breslow-Day statistic with Tarone's 1985 correction); with the rate ratio, the Mantel-Haenszel test.
- Peto: the one-step log odds ratio, sum(O - E) / sum(V), variance 1 / sum(V) (Yusuf et al. 1985).

The test for heterogeneity (Q) compares each table's own estimate (metafor's ``escalc``, 1/2 added to tables with a
zero cell, tables with no events or only events in both groups left out) with the pooled one, as metafor does.
References: tests/fixtures/metafor/mh/mh_reference.R (metafor 3.8-1).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..errors import AnalysisError
from .escalc import effect_sizes
from .rma import check_level

MH_MEASURES = ("OR", "RR", "RD", "IRR", "IRD")


@dataclass(frozen=True)
class PooledCounts:
    """A Mantel-Haenszel or Peto fit: the pooled effect (log scale for OR, RR, IRR, PETO), its test and interval,
    the heterogeneity test, and for the MH odds ratio the CMH and Tarone tests."""

    measure: str
    method: str
    k: int
    estimate: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    q: float
    q_df: int
    q_pval: float
    i2: float
    h2: float
    level: float
    cmh: float | None = None
    cmh_pval: float | None = None
    cochran: float | None = None
    cochran_pval: float | None = None
    tarone: float | None = None
    tarone_pval: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _arrays(**given: Any) -> dict[str, np.ndarray | None]:
    return {k: (None if v is None else np.asarray(v, dtype=float).reshape(-1)) for k, v in given.items()}


def _tables(ai, bi, ci, di, n1i, n2i) -> tuple[np.ndarray, ...]:
    g = _arrays(ai=ai, bi=bi, ci=ci, di=di, n1i=n1i, n2i=n2i)
    if g["bi"] is None and g["n1i"] is not None and g["ai"] is not None:
        g["bi"] = g["n1i"] - g["ai"]
    if g["di"] is None and g["n2i"] is not None and g["ci"] is not None:
        g["di"] = g["n2i"] - g["ci"]
    missing = [n for n in ("ai", "bi", "ci", "di") if g[n] is None]
    if missing:
        raise AnalysisError(f"needs ai, bi, ci, di (or ai, n1i, ci, n2i); missing {', '.join(missing)}")
    a, b, c, d = (g[n] for n in ("ai", "bi", "ci", "di"))
    if len({x.size for x in (a, b, c, d)}) != 1:
        raise AnalysisError("ai, bi, ci, di must have the same length")
    for name, x in (("ai", a), ("bi", b), ("ci", c), ("di", d)):
        bad = np.flatnonzero(~np.isfinite(x) | (x < 0))
        if bad.size:
            raise AnalysisError(f"{name}: row {int(bad[0])} is {float(x[bad[0]]):g}; expected a count >= 0")
    return a, b, c, d


def _finish(measure, method, k, est, var, q, q_df, level, **tests) -> PooledCounts:
    se = math.sqrt(var)
    z = est / se
    crit = float(stats.norm.isf((1 - level) / 2))
    q_p = float(stats.chi2.sf(q, q_df)) if q_df > 0 else float("nan")
    i2 = max(0.0, (q - q_df) / q) * 100 if q_df > 0 and q > 0 else 0.0
    h2 = q / q_df if q_df > 0 else float("nan")
    return PooledCounts(
        measure, method, k, est, se, z, float(2 * stats.norm.sf(abs(z))), est - crit * se, est + crit * se,
        float(q), int(q_df), q_p, i2, h2, level, **tests,
    )  # fmt: skip


def _heterogeneity(measure: str, est: float, **counts: Any) -> tuple[float, int]:
    """Q of the tables' own estimates (escalc: 1/2 added to tables with a zero cell; tables with no events, or only
    events, in both groups left out) around the pooled estimate, and its df."""
    es = effect_sizes(measure, **counts, drop00=True)
    y, v = es["yi"].to_numpy(), es["vi"].to_numpy()
    ok = np.isfinite(y) & np.isfinite(v) & (v > 0)
    return float(np.sum((y[ok] - est) ** 2 / v[ok])), int(ok.sum()) - 1


def meta_analysis_mh(
    measure: str,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    x1i: Any = None,
    x2i: Any = None,
    t1i: Any = None,
    t2i: Any = None,
    level: float = 0.95,
    correct: bool = True,
) -> PooledCounts:
    """Mantel-Haenszel pooling (metafor's ``rma.mh``): ``measure`` OR, RR or RD from 2x2 tables (``ai, bi, ci, di``
    or ``ai, n1i, ci, n2i``), IRR or IRD from events and person-time (``x1i, t1i, x2i, t2i``). ``correct``: the
    continuity correction of the CMH test (OR)."""
    m = str(measure).upper()
    if m not in MH_MEASURES:
        raise AnalysisError(f"measure {measure!r}: Mantel-Haenszel pooling takes {', '.join(MH_MEASURES)}")
    level = check_level(level)
    if m in ("IRR", "IRD"):
        g = _arrays(x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i)
        missing = [n for n, v in g.items() if v is None]
        if missing:
            raise AnalysisError(f"{m}: needs x1i, t1i, x2i, t2i; missing {', '.join(missing)}")
        x1, t1, x2, t2 = g["x1i"], g["t1i"], g["x2i"], g["t2i"]
        t = t1 + t2
        if m == "IRR":
            R, S = np.sum(x1 * t2 / t), np.sum(x2 * t1 / t)
            est = math.log(R / S)
            var = float(np.sum(t1 * t2 * (x1 + x2) / t**2) / (R * S))
        else:
            w = np.sum(t1 * t2 / t)
            est = float(np.sum((x1 * t2 - x2 * t1) / t) / w)
            var = float(np.sum((t1 * t2 / t) ** 2 * (x1 / t1**2 + x2 / t2**2)) / w**2)
        q, q_df = _heterogeneity(m, est, x1i=x1, t1i=t1, x2i=x2, t2i=t2)
        tests = {}
        if m == "IRR":  # the Mantel-Haenszel test of no association for person-time data
            dev = abs(np.sum(x1 - (x1 + x2) * t1 / t)) - (0.5 if correct else 0.0)
            tests["cmh"] = float(dev**2 / np.sum((x1 + x2) * (t1 / t) * (t2 / t)))
            tests["cmh_pval"] = float(stats.chi2.sf(tests["cmh"], 1))
        return _finish(m, "MH", x1.size, est, var, q, q_df, level, **tests)
    a, b, c, d = _tables(ai, bi, ci, di, n1i, n2i)
    n1, n2 = a + b, c + d
    n = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        if m == "OR":
            R, S = np.sum(a * d / n), np.sum(b * c / n)
            P, Q = (a + d) / n, (b + c) / n
            est = math.log(R / S)
            var = float(
                np.sum(P * a * d / n) / (2 * R**2)
                + np.sum(P * b * c / n + Q * a * d / n) / (2 * R * S)
                + np.sum(Q * b * c / n) / (2 * S**2)
            )
            tests = _cmh_tarone(a, b, c, d, R / S, correct)
        elif m == "RR":
            R, S = np.sum(a * n2 / n), np.sum(c * n1 / n)
            est = math.log(R / S)
            var = float(np.sum((n1 * n2 * (a + c) - a * c * n) / n**2) / (R * S))
            tests = {}
        else:
            w = np.sum(n1 * n2 / n)
            est = float(np.sum((a * n2 - c * n1) / n) / w)
            P = np.sum((n1**2 * c - n2**2 * a + n1 * n2 * (n2 - n1) / 2) / n**2)
            Q = np.sum((a * (n2 - c) + c * (n1 - a)) / (2 * n))
            var = float((est * P + Q) / w**2)
            tests = {}
    q, q_df = _heterogeneity(m, est, ai=a, bi=b, ci=c, di=d)
    return _finish(m, "MH", a.size, est, var, q, q_df, level, **tests)


def _cmh_tarone(a, b, c, d, psi: float, correct: bool) -> dict[str, float]:
    """The Cochran-Mantel-Haenszel test of no association (1 df) and Tarone's test of a common odds ratio."""
    n1, n2, m1 = a + b, c + d, a + c
    n = n1 + n2
    expected = n1 * m1 / n
    variance = n1 * n2 * m1 * (b + d) / (n**2 * (n - 1))
    dev = abs(np.sum(a - expected)) - (0.5 if correct else 0.0)
    cmh = float(dev**2 / np.sum(variance))
    cochran = float(dev**2 / np.sum(n1 * n2 * m1 * (b + d) / n**3))  # Cochran's variance: n, not n - 1
    # Breslow-Day: each informative table's expected a under the common odds ratio psi, a root of
    # (1 - psi) A^2 + (n2 - m1 + psi (n1 + m1)) A - psi n1 m1 = 0 inside the table's bounds
    inform = (m1 > 0) & (b + d > 0)
    A = np.empty(int(inform.sum()))
    for i, (x1, x2, mm) in enumerate(zip(n1[inform], n2[inform], m1[inform], strict=True)):
        lo, hi = max(0.0, mm - x2), min(x1, mm)
        qa, qb, qc = 1 - psi, x2 - mm + psi * (x1 + mm), -psi * x1 * mm
        if abs(qa) < 1e-12:
            A[i] = -qc / qb
            continue
        roots = np.roots([qa, qb, qc]).real
        A[i] = roots[(roots >= lo - 1e-9) & (roots <= hi + 1e-9)][0]
    ai_, n1_, n2_, m1_ = a[inform], n1[inform], n2[inform], m1[inform]
    vA = 1 / (1 / A + 1 / (n1_ - A) + 1 / (m1_ - A) + 1 / (n2_ - m1_ + A))
    bd = float(np.sum((ai_ - A) ** 2 / vA))
    tarone = bd - float(np.sum(ai_ - A) ** 2 / np.sum(vA))
    df = A.size - 1
    return {
        "cmh": cmh,
        "cmh_pval": float(stats.chi2.sf(cmh, 1)),
        "cochran": cochran,
        "cochran_pval": float(stats.chi2.sf(cochran, 1)),
        "tarone": tarone,
        "tarone_pval": float(stats.chi2.sf(tarone, df)) if df > 0 else float("nan"),
    }


def meta_analysis_peto(
    *, ai: Any = None, bi: Any = None, ci: Any = None, di: Any = None, n1i: Any = None, n2i: Any = None,
    level: float = 0.95,
) -> PooledCounts:  # fmt: skip
    """Peto's one-step odds ratio (metafor's ``rma.peto``): log OR = sum(O - E) / sum(V), variance 1 / sum(V), and
    Q = sum((O - E)^2 / V) - sum(O - E)^2 / sum(V) over the tables with V > 0."""
    level = check_level(level)
    a, b, c, d = _tables(ai, bi, ci, di, n1i, n2i)
    n1, n2, m1 = a + b, c + d, a + c
    n = n1 + n2
    expected = n1 * m1 / n
    V = n1 * n2 * m1 * (b + d) / (n**2 * (n - 1))
    keep = V > 0
    O_E, V = (a - expected)[keep], V[keep]
    est = float(O_E.sum() / V.sum())
    q = float(np.sum(O_E**2 / V) - O_E.sum() ** 2 / V.sum())
    return _finish("PETO", "PETO", a.size, est, 1 / float(V.sum()), q, int(keep.sum()) - 1, level)
