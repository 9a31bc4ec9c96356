"""Multilevel and multivariate random-effects models: metafor's ``rma.mv`` with nested random intercepts.

    meta_analysis_mv(yi, vi, random="~ 1 | study/es", data=frame)           # three-level model
    meta_analysis_mv(yi, V=V, random="~ 1 | trial/outcome", data=frame,      # known sampling covariances
                     mods=frame[["outcome"]], intercept=False)

The model is ``y = X b + sum_l Z_l u_l + e`` with ``u_l ~ N(0, sigma2_l I)`` (one random intercept per level of each
grouping, metafor's ``sigma2``) and ``e ~ N(0, V)``; ``V`` is diagonal (``vi``) or a known sampling covariance
matrix. ``random`` is metafor's formula: ``"~ 1 | a/b/c"`` gives the components ``a``, ``a/b`` and ``a/b/c`` (outer
to inner); a list of formulas adds crossed components; one ``"~ inner | outer"`` term adds a random effect per
inner level within each outer group with the covariance structure ``struct`` (CS, UN, DIAG, ID), for multivariate
models (its variances and covariances enter M linearly, so the same scoring fits them; covariances are free, a step
that leaves the term's covariance matrix indefinite is halved). The marginal covariance M is block diagonal over the groups of rows that share a level of any component or a covariance in ``V``; every
product is taken a block at a time.

Estimation: the restricted (REML) or full (ML) log-likelihood, with metafor's constants, maximised by Fisher
scoring on the variance components with an active set at 0 (a component whose score is negative at 0 stays there)
and step halving, to a change in the log-likelihood under 1e-13. Profile-likelihood intervals for each component
(metafor's ``confint``), prediction intervals (``predict``: the sum of the components), likelihood-ratio tests
between nested fits (``anova``).

References
----------
Konstantopoulos S (2011). Fixed effects and variance components estimation in three-level meta-analysis.
Research Synthesis Methods 2:61-76. doi:10.1002/jrsm.35.
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. Journal of Statistical Software
36(3):1-48. doi:10.18637/jss.v036.i03.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, optimize, sparse, stats
from scipy.sparse import csgraph

from ..errors import AnalysisError
from .metareg import design_matrix
from .rma import as_vector, check_level, prediction
from .robust import _inv_sqrt_psd, htz_test

TESTS_MV = ("z", "t")
METHODS_MV = ("REML", "ML")
_FORMULA = re.compile(r"^\s*~\s*1\s*\|\s*([A-Za-z_.][\w.]*(?:\s*/\s*[A-Za-z_.][\w.]*)*)\s*$")


@dataclass(frozen=True)
class RobustMV:
    """CR2 covariance, standard errors and Satterthwaite t tests of a multilevel fit's coefficients."""

    vcov: np.ndarray
    se: np.ndarray
    tstat: np.ndarray
    df: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    n_clusters: int
    coef: np.ndarray = field(repr=False)
    coef_names: tuple[str, ...] = field(repr=False)
    _fit: Any = field(repr=False, compare=False)
    _codes: np.ndarray = field(repr=False, compare=False)  # each effect size's cluster

    def wald_test(self, coefs: Sequence[int | str]) -> dict[str, float]:
        """Robust Wald test that several coefficients are all 0, with the HTZ small-sample correction
        (clubSandwich's ``Wald_test(..., constrain_zero(coefs), vcov = "CR2", test = "HTZ")``): the CR2 Wald
        statistic Q is referred to a Hotelling T^2 whose degrees of freedom eta match the total variance of the CR2
        covariance (standardised by its expectation) under the working model; F = Q (eta - q + 1) / (eta q) on (q, eta - q + 1) df. Pustejovsky JE,
        Tipton E (2018), Journal of Business & Economic Statistics 36:672-683, section 3.

        ``coefs``: 0-based positions or names (e.g. ``"deltypeovert"``)."""
        index = []
        for c in coefs:
            if isinstance(c, str):
                if c not in self.coef_names:
                    raise AnalysisError(f"wald_test: no coefficient {c!r} (coefficients: {', '.join(self.coef_names)})")
                index.append(self.coef_names.index(c))
            else:
                if not 0 <= int(c) < len(self.coef):
                    raise AnalysisError(f"wald_test: coefficient {c!r} is out of range 0..{len(self.coef) - 1}")
                index.append(int(c))
        if not index or len(set(index)) != len(index):
            raise AnalysisError("wald_test: name at least one coefficient, each once")
        G, theta = _dense_terms(self._fit, self._codes)  # k x k: the HTZ test is not yet block-wise
        return htz_test(self.coef, self.vcov, G, theta, index)


@dataclass(frozen=True)
class MultilevelFit:
    """A fitted multilevel model (metafor's ``rma.mv`` object, the parts emmie reports)."""

    coef: np.ndarray
    coef_names: tuple[str, ...]
    se: np.ndarray
    zval: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    vb: np.ndarray
    sigma2: np.ndarray
    components: tuple[str, ...]
    s_nlevels: tuple[int, ...]
    method: str
    test: str
    level: float
    k: int
    p: int
    dfs: float | None
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    QE: float
    QEp: float
    QM: float | None
    QMdf: tuple[float, float | None] | None
    QMp: float | None
    parms: int
    fixed: tuple[bool, ...]
    _model: Any = field(repr=False, compare=False)
    tau2: np.ndarray | None = None  # the structured term's variances (struct UN, DIAG: one per inner level)
    rho: np.ndarray | None = None  # its correlations (UN: upper triangle, row by row; CS: one)
    struct: str | None = None
    _params: np.ndarray | None = field(default=None, repr=False, compare=False)  # sigma2, then the term's parameters

    @property
    def _theta(self) -> np.ndarray:
        """Every variance parameter, in the order of the model's A matrices."""
        return self.sigma2 if self._params is None else self._params

    @property
    def estimate(self) -> float:
        """The intercept of an intercept-only model (the pooled effect)."""
        if self.p != 1 or self.coef_names[0] != "intrcpt":
            raise AnalysisError("estimate is the pooled effect of an intercept-only model; use coef for this model")
        return float(self.coef[0])

    def predict(self) -> dict[str, float]:
        """metafor's ``predict`` for an intercept-only model: the pooled effect, its interval, and the prediction
        interval with every variance component added (``pi_lb``, ``pi_ub``)."""
        if self.struct is not None:
            raise AnalysisError(
                "predict: the prediction interval of a model with a structured term needs its inner level"
            )
        est = self.estimate
        se = float(self.se[0])
        crit = _critical(self.test, self.level, self.dfs)
        spread = math.sqrt(se * se + float(self.sigma2.sum()))
        return prediction(est, se, crit, spread)

    @property
    def pi_lb(self) -> float:
        return self.predict()["pi_lb"]

    @property
    def pi_ub(self) -> float:
        return self.predict()["pi_ub"]

    def weights(self) -> np.ndarray:
        """Each effect size's weight in percent, metafor's ``weights()`` of an ``rma.mv`` fit: the diagonal of
        M^-1 (M the fitted marginal covariance), scaled to sum to 100. Block by block."""
        w = np.empty(self.k)
        for st in self._model.stacks:
            Minv = np.linalg.inv(st.V + np.tensordot(self._theta, st.A, axes=1))
            w[st.rows] = np.einsum("gss->gs", Minv)
        return 100.0 * w / w.sum()

    def hatvalues(self) -> np.ndarray:
        """The diagonal of the hat matrix ``X (X' M^-1 X)^-1 X' M^-1`` (metafor's ``hatvalues`` of an ``rma.mv``
        fit). Block by block."""
        h = np.empty(self.k)
        for st in self._model.stacks:
            Minv = np.linalg.inv(st.V + np.tensordot(self._theta, st.A, axes=1))
            Xb = self._model.X[st.rows]  # g x s x p
            XtMinv = np.einsum("gsp,gst->gpt", Xb, Minv)
            h[st.rows] = np.einsum("gtp,pq,gqt->gt", Xb, self.vb, XtMinv)
        return h

    def i2(self) -> tuple[float, tuple[float, ...]]:
        """I² in percent, total and per variance component: ``100 sigma2_l / (sum(sigma2) + s2)`` with the typical
        sampling variance ``s2 = (k - p) / tr(P)``, ``P = W - W X (X' W X)^-1 X' W``, ``W = V^-1`` (the metafor
        FAQ, "I^2 for multilevel and multivariate models"; Nakagawa & Santos 2012). Block by block."""
        if self.struct is not None:
            raise AnalysisError(
                "i2: not defined here for a model with a structured term (its variances differ by level)"
            )
        model = self._model
        p = model.X.shape[1]
        trace_w, xtwx, xtwwx = 0.0, np.zeros((p, p)), np.zeros((p, p))
        for st in model.stacks:
            W = np.linalg.inv(st.V)
            Xb = model.X[st.rows]
            WX = W @ Xb
            trace_w += float(np.einsum("gss->", W))
            xtwx += np.einsum("gsp,gsq->pq", Xb, WX)
            xtwwx += np.einsum("gsp,gsq->pq", WX, WX)
        typical = (self.k - self.p) / (trace_w - float(np.trace(np.linalg.solve(xtwx, xtwwx))))
        total = float(self.sigma2.sum())
        return 100.0 * total / (total + typical), tuple(100.0 * float(s) / (total + typical) for s in self.sigma2)

    def robust(self, cluster: Any = None) -> RobustMV:
        """Cluster-robust (CR2) covariance of the coefficients and t tests with Satterthwaite degrees of freedom, as
        clubSandwich's ``coef_test(fit, vcov = "CR2")`` on an ``rma.mv`` fit: the working covariance is the fitted
        marginal covariance M, the weights M^-1, and the clusters the outer level of the first component unless
        ``cluster`` (one label per effect size) is given. Robust to a wrong guess in the model, such as the
        correlation of a :func:`vcalc` V. Pustejovsky JE, Tipton E (2018), Journal of Business & Economic
        Statistics 36:672-683; (2022), Prevention Science 23:425-438."""
        return _robust(self, cluster)

    def confint(self, *, tol: float = 1e-10) -> pd.DataFrame:
        """Profile-likelihood intervals of each variance component (metafor's ``confint``): the values of
        ``sigma2_l`` where the log-likelihood, maximised over the other components, is ``qchisq(level, 1) / 2``
        below its maximum. A bound that the profile does not reach within 1e6 times the data's variance is NaN
        (metafor: "cannot obtain the bound"); a lower bound at 0 means the profile stays above the cut-off there."""
        return _profile_intervals(self, tol)


def _critical(test: str, level: float, dfs: float | None) -> float:
    q = 0.5 + level / 2.0
    return float(stats.t.ppf(q, dfs)) if test == "t" else float(stats.norm.ppf(q))


# ---------------------------------------------------------------------------------------------------------------------
# The random-effects structure
# ---------------------------------------------------------------------------------------------------------------------


_STRUCT_FORMULA = re.compile(r"^\s*~\s*([A-Za-z_.][\w.]*)\s*\|\s*([A-Za-z_.][\w.]*)\s*$")
#: metafor's ``struct`` values emmie fits (covariance of the inner levels' random effects within an outer group).
STRUCTS = ("CS", "UN", "DIAG", "ID")


def _split_random(random: str | Sequence[str]) -> tuple[list[str], tuple[str, str] | None]:
    """The ``~ 1 | ...`` formulas, and the one ``~ inner | outer`` term (metafor's structured random effect)."""
    formulas = [random] if isinstance(random, str) else list(random)
    plain, structured = [], []
    for formula in formulas:
        m = _STRUCT_FORMULA.match(str(formula))
        if m and m.group(1) != "1":
            structured.append((m.group(1), m.group(2)))
        else:
            plain.append(formula)
    if len(structured) > 1:
        raise AnalysisError("random: at most one '~ inner | outer' term (one structured random effect) is supported")
    return plain, (structured[0] if structured else None)


def parse_random(random: str | Sequence[str]) -> list[tuple[str, ...]]:
    """metafor's ``random`` formulas as nested groupings: ``"~ 1 | a/b"`` -> ``[("a",), ("a", "b")]``."""
    formulas = [random] if isinstance(random, str) else list(random)
    if not formulas:
        raise AnalysisError("random: expected a formula such as '~ 1 | study/es'")
    out: list[tuple[str, ...]] = []
    for formula in formulas:
        match = _FORMULA.match(str(formula))
        if not match:
            raise AnalysisError(
                f"random = {formula!r}: expected '~ 1 | outer/inner' (random intercepts, nested with '/'; "
                "a list of such formulas for crossed effects)"
            )
        names = [n.strip() for n in match.group(1).split("/")]
        out.extend(tuple(names[: j + 1]) for j in range(len(names)))
    return out


def _levels(data: pd.DataFrame, groups: list[tuple[str, ...]], k: int) -> list[np.ndarray]:
    """One integer code per row for each component (the rows sharing a code share the random intercept)."""
    codes = []
    for group in groups:
        for name in group:
            if name not in data.columns:
                raise AnalysisError(f"random: column {name!r} is not in data (columns: {', '.join(map(str, data))})")
        frame = data[list(group)]
        if len(frame) != k:
            raise AnalysisError(f"data has {len(frame)} rows but there are {k} effect sizes")
        missing = frame.isna().any(axis=1).to_numpy()
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise AnalysisError(f"random: row {i} has no value in {', '.join(group)}")
        # one code per distinct combination, in order of first appearance (a row-wise string join took 5 s at
        # k = 100,000)
        key = np.zeros(k, dtype=np.int64)
        for name in group:
            col, uniques = pd.factorize(frame[name].astype(str).to_numpy())
            key = pd.factorize(key * len(uniques) + col)[0].astype(np.int64)  # renumbered: never overflows
        codes.append(key)
    return codes


def _blocks(codes: list[np.ndarray], V: Any, k: int) -> list[np.ndarray]:
    """Groups of rows that M couples: rows sharing a level of any component, or a covariance in V (the connected
    components of that graph)."""
    heads, tails = [], []
    for code in codes:
        first = np.full(int(code.max()) + 1, -1, dtype=np.int64)
        first[code[::-1]] = np.arange(k - 1, -1, -1)  # each level's first row
        heads.append(np.arange(k))
        tails.append(first[code])
    if V is not None:  # the sampling covariances given (never formed from vi: k x k at large k)
        coo = V.tocoo() if sparse.issparse(V) else sparse.coo_matrix(np.triu(V, 1))
        off = coo.row != coo.col
        heads.append(coo.row[off].astype(np.int64))
        tails.append(coo.col[off].astype(np.int64))
    head, tail = np.concatenate(heads), np.concatenate(tails)
    graph = sparse.coo_matrix((np.ones(head.size), (head, tail)), shape=(k, k))
    _, labels = csgraph.connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    cuts = np.flatnonzero(np.diff(labels[order])) + 1
    return np.split(order, cuts)


@dataclass
class _Stack:
    """The blocks of one size, stacked: their rows (g x s), V (g x s x s) and, per component, the indicator of
    "same level" (q x g x s x s). Products over a stack are batched, so a model of 10,000 blocks costs a few
    array operations per iteration, not 10,000 Python steps."""

    rows: np.ndarray
    V: np.ndarray
    A: np.ndarray


@dataclass
class _Model:
    y: np.ndarray
    X: np.ndarray
    stacks: list[_Stack]
    reml: bool
    logdet_xtx: float
    codes: list[np.ndarray] = field(default_factory=list)  # each component's level per row
    lower: np.ndarray | None = None  # per parameter: 0 for a variance, -inf for a covariance
    struct: tuple[str, int, int] | None = None  # (struct, number of inner levels, first parameter of the term)


def _struct_parameters(struct: str, q: int) -> list[tuple[int, int]]:
    """The structured term's parameters as (j, l) pairs of inner levels: (j, j) a variance, j != l a covariance.
    CS and ID use (-1, -1) for the common variance and CS (-1, -2) for the common covariance."""
    if struct == "UN":
        return [(j, j) for j in range(q)] + [(j, m) for j in range(q) for m in range(j + 1, q)]
    if struct == "DIAG":
        return [(j, j) for j in range(q)]
    if struct == "CS":
        return [(-1, -1), (-1, -2)]
    return [(-1, -1)]  # ID


def _struct_A(outer: np.ndarray, inner: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """For rows of one stack (g x s), the matrices A of the structured term's parameters (len(pairs) x g x s x s)."""
    same = outer[:, :, None] == outer[:, None, :]
    a, b = inner[:, :, None], inner[:, None, :]
    out = []
    for j, m in pairs:
        if (j, m) == (-1, -1):
            hit = a == b
        elif (j, m) == (-1, -2):
            hit = a != b
        elif j == m:
            hit = (a == j) & (b == j)
        else:
            hit = ((a == j) & (b == m)) | ((a == m) & (b == j))
        out.append((same & hit).astype(float))
    return np.stack(out) if out else np.zeros((0, *same.shape))


def _stacks(
    blocks: list[np.ndarray],
    codes: list[np.ndarray],
    vi: np.ndarray | None,
    V: np.ndarray | None,
    structured: tuple[np.ndarray, np.ndarray, list[tuple[int, int]]] | None = None,
) -> list:
    by_size: dict[int, list[np.ndarray]] = {}
    for rows in blocks:
        by_size.setdefault(rows.size, []).append(np.sort(rows))
    out = []
    for _size, group in sorted(by_size.items()):
        rows = np.stack(group)
        if V is not None and sparse.issparse(V):
            g, size = rows.shape
            sub = V[rows.reshape(-1)][:, rows.reshape(-1)].tocoo()  # entries only within blocks
            Vs = np.zeros((g, size, size))
            Vs[sub.row // size, sub.row % size, sub.col % size] = sub.data
        elif V is not None:
            Vs = V[rows[:, :, None], rows[:, None, :]]
        else:
            Vs = np.zeros((*rows.shape, rows.shape[1]))
            idx = np.arange(rows.shape[1])
            Vs[:, idx, idx] = vi[rows]
        parts = [(c[rows][:, :, None] == c[rows][:, None, :]).astype(float) for c in codes]
        A = np.stack(parts) if parts else np.zeros((0, *rows.shape, rows.shape[1]))
        if structured is not None:
            outer, inner, pairs = structured
            A = np.concatenate([A, _struct_A(outer[rows], inner[rows], pairs)])
        out.append(_Stack(rows, Vs, A))
    return out


def _pieces(model: _Model, sigma2: np.ndarray, *, scores: bool) -> dict[str, Any]:
    """Log-likelihood at sigma2 (with the GLS coefficients), and its score and expected information."""
    X, y = model.X, model.y
    p, q = X.shape[1], len(sigma2)
    if model.struct is not None and not _struct_pd(model, sigma2):
        return {"ll": -np.inf}
    xtwx = np.zeros((p, p))
    xtwy = np.zeros(p)
    logdet = 0.0
    parts = []
    for st in model.stacks:
        M = st.V + np.tensordot(sigma2, st.A, axes=1)
        sign, logdets = np.linalg.slogdet(M)
        if np.any(sign <= 0):
            return {"ll": -np.inf}
        try:
            Minv = np.linalg.inv(M)
        except np.linalg.LinAlgError:
            return {"ll": -np.inf}
        logdet += float(logdets.sum())
        Xb, yb = X[st.rows], y[st.rows]  # g x s x p, g x s
        WX = Minv @ Xb
        xtwx += np.einsum("gsp,gsq->pq", Xb, WX)
        xtwy += np.einsum("gsp,gs->p", WX, yb)
        parts.append((st, Minv, Xb, yb, WX))
    try:
        H = linalg.inv(xtwx, check_finite=True)
    except (linalg.LinAlgError, ValueError):
        return {"ll": -np.inf}
    H = 0.5 * (H + H.T)
    beta = H @ xtwy
    rss = 0.0
    Prs = []
    for _st, Minv, Xb, yb, _WX in parts:
        r = yb - Xb @ beta
        Pr = np.einsum("gst,gt->gs", Minv, r)
        rss += float(np.einsum("gs,gs->", r, Pr))
        Prs.append(Pr)
    k = y.size
    if model.reml:
        _, logdet_xtwx = np.linalg.slogdet(xtwx)
        ll = -0.5 * (k - p) * math.log(2 * math.pi) + 0.5 * model.logdet_xtx - 0.5 * logdet - 0.5 * logdet_xtwx
        ll -= 0.5 * rss
    else:
        ll = -0.5 * k * math.log(2 * math.pi) - 0.5 * logdet - 0.5 * rss
    out = {"ll": float(ll), "beta": beta, "vb": H, "rss": rss}
    if not scores:
        return out
    score = np.zeros(q)
    info = np.zeros((q, q))
    G = np.zeros((q, p, p))
    cross = np.zeros((q, q))
    for (st, Minv, _Xb, _yb, WX), Pr in zip(parts, Prs, strict=True):
        MiA = Minv[None] @ st.A  # q x g x s x s: M^-1 A_l
        AWX = st.A @ WX[None]  # q x g x s x p
        score += 0.5 * np.einsum("gs,lgst,gt->l", Pr, st.A, Pr) - 0.5 * np.einsum("lgss->l", MiA)
        G += np.einsum("gsp,lgsq->lpq", WX, AWX)
        info += 0.5 * np.einsum("lgst,mgts->lm", MiA, MiA)
        if model.reml:
            # tr(H X'M^-1 A_l M^-1 A_m M^-1 X) = sum over blocks of (A_l WX)' M^-1 A_m WX, traced with H
            MiAWX = MiA @ WX[None]  # q x g x s x p: M^-1 A_m M^-1 X
            cross += np.einsum("lgsp,mgsq,qp->lm", AWX, MiAWX, H)
    if model.reml:
        HG = H[None] @ G  # q x p x p
        score += 0.5 * np.einsum("lpp->l", HG)
        info += -0.5 * (cross + cross.T) + 0.5 * np.einsum("lpq,mqp->lm", HG, HG)
    info = 0.5 * (info + info.T)
    out.update(score=score, info=info)
    return out


def _struct_matrix(model: _Model, params: np.ndarray) -> np.ndarray:
    """The structured term's covariance matrix T of the inner levels (q x q) at ``params``."""
    struct, q, first = model.struct  # type: ignore[misc]
    theta = params[first:]
    if struct == "UN":
        T = np.diag(theta[:q])
        iu = np.triu_indices(q, 1)
        T[iu] = theta[q:]
        T[(iu[1], iu[0])] = theta[q:]
        return T
    if struct == "DIAG":
        return np.diag(theta[:q])
    if struct == "CS":
        return theta[0] * np.eye(q) + theta[1] * (np.ones((q, q)) - np.eye(q))
    return theta[0] * np.eye(q)


def _struct_pd(model: _Model, params: np.ndarray) -> bool:
    """T must be a covariance matrix (positive semi-definite) with correlations within [-1, 1]."""
    T = _struct_matrix(model, params)
    return bool(np.all(np.linalg.eigvalsh(T) >= -1e-12 * max(1.0, float(np.abs(T).max()))))


def _maximise(model: _Model, start: np.ndarray, fixed: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """Fisher scoring on the free components (those not ``fixed``), variances kept >= 0 with an active set,
    covariances free (a step that leaves the structured term's covariance not positive semi-definite is halved)."""
    lower = model.lower if model.lower is not None else np.zeros(start.size)
    s = np.where(fixed, start, np.maximum(start, lower))
    cur = _pieces(model, s, scores=True)
    if not np.isfinite(cur["ll"]):
        raise AnalysisError("the multilevel model cannot be fitted: its marginal covariance is not positive definite")
    free = ~fixed
    for _ in range(500):
        active = free & ~((s <= lower) & (cur["score"] <= 0.0))
        if not active.any():
            break
        idx = np.flatnonzero(active)
        sub = cur["info"][np.ix_(idx, idx)]
        try:
            step = np.linalg.solve(sub, cur["score"][idx])
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(sub, cur["score"][idx], rcond=None)[0]
        t = 1.0
        for _ in range(60):
            trial = s.copy()
            trial[idx] = np.maximum(s[idx] + t * step, lower[idx])
            new = _pieces(model, trial, scores=True)
            if new["ll"] >= cur["ll"] - 1e-12 * abs(cur["ll"]):
                break
            t *= 0.5
        else:
            break
        change = new["ll"] - cur["ll"]
        moved = float(np.max(np.abs(trial - s) / (1.0 + np.abs(s))))
        s, cur = trial, new
        if abs(change) < 1e-13 * (1.0 + abs(cur["ll"])) and moved < 1e-10:
            break
    return s, cur


# ---------------------------------------------------------------------------------------------------------------------
# The public functions
# ---------------------------------------------------------------------------------------------------------------------


def meta_analysis_mv(
    yi: Any,
    vi: Any = None,
    *,
    V: Any = None,
    random: str | Sequence[str] = "~ 1 | study/es",
    data: pd.DataFrame | None = None,
    mods: Any = None,
    intercept: bool = True,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    sigma2: Sequence[float | None] | None = None,
    struct: str = "CS",
) -> MultilevelFit:
    """Multilevel / multivariate random-effects model with nested random intercepts (metafor's ``rma.mv``).

    Parameters
    ----------
    yi : array_like
        Effect sizes.
    vi : array_like, optional
        Sampling variances (``V = diag(vi)``); give ``vi`` or ``V``.
    V : array_like, optional
        Known sampling covariance matrix (k x k, symmetric), e.g. from :func:`emmie.effect.vcalc`-type working models.
    random : str or list of str
        metafor's formula, ``"~ 1 | outer/inner"``; the columns are looked up in ``data``.
    data : DataFrame
        Holds the grouping columns, one row per effect size.
    mods : DataFrame, Series or array_like, optional
        Moderators (categorical columns become dummies with the first level dropped, as R's treatment contrasts).
    intercept : bool
        Add an intercept (metafor's ``mods = ~ x`` versus ``~ x - 1``).
    method : {"REML", "ML"}
    test : {"z", "t"}
        ``"t"``: t and F tests on k - p degrees of freedom (metafor's ``dfs = "residual"``).
    level : float
    sigma2 : sequence, optional
        Fix components: a number fixes that component (``None`` leaves it estimated), as metafor's ``sigma2``.
    struct : {"CS", "UN", "DIAG", "ID"}
        The covariance structure of a ``"~ inner | outer"`` term in ``random`` (metafor's ``struct``, default CS): a
        random effect per level of ``inner`` within each ``outer`` group (e.g. ``"~ outcome | trial"`` for a
        multivariate model), with a common variance and correlation (CS), a free covariance matrix (UN),
        a variance per level and no correlation (DIAG), or one variance (ID). Its estimates are ``tau2`` and
        ``rho`` (inner levels in sorted order, as R's factor levels).

    Returns
    -------
    MultilevelFit
    """
    method = str(method).upper()
    if method not in METHODS_MV:
        raise AnalysisError(f"method {method!r} is not supported for multilevel models; expected 'REML' or 'ML'")
    test = str(test).lower()
    if test not in TESTS_MV:
        raise AnalysisError(f"test {test!r} is not supported for multilevel models; expected 'z' or 't'")
    level = check_level(level)
    y = as_vector(yi, "yi")
    k = y.size
    if k == 0:
        raise AnalysisError("no effect sizes to pool (k = 0)")
    if (vi is None) == (V is None):
        raise AnalysisError("give the sampling variances vi or the sampling covariance matrix V (one of them)")
    if V is not None:
        Vm = sparse.csr_matrix(V, dtype=float) if sparse.issparse(V) else np.asarray(V, dtype=float)
        if Vm.ndim != 2 or Vm.shape != (k, k):
            shape = Vm.shape if Vm.ndim == 2 else (Vm.shape[0], 1)
            raise AnalysisError(f"V is {shape[0]} x {shape[1]}; expected {k} x {k}")
        scale = max(1.0, float(abs(Vm).max()))
        asym = float(abs(Vm - Vm.T).max()) if sparse.issparse(Vm) else float(np.abs(Vm - Vm.T).max())
        if asym > 1e-12 * scale:
            raise AnalysisError("V is not symmetric")
    else:
        v = as_vector(vi, "vi")
        if v.size != k:
            raise AnalysisError(f"yi has {k} values but vi has {v.size}")
        if np.any(~np.isfinite(v)) or np.any(v < 0):
            i = int(np.flatnonzero(~np.isfinite(v) | (v < 0))[0])
            raise AnalysisError(f"vi[{i}] = {float(v[i])!r}; sampling variances must be finite and >= 0")
        Vm = None
    if np.any(~np.isfinite(y)):
        i = int(np.flatnonzero(~np.isfinite(y))[0])
        raise AnalysisError(f"yi[{i}] is {float(y[i])!r}; expected a finite number")
    if data is None:
        raise AnalysisError("data: a DataFrame with the columns named in random is needed")
    data = data.reset_index(drop=True)
    plain, term = _split_random(random)
    groups = parse_random(plain) if plain else []
    if not groups and term is None:
        raise AnalysisError("random: expected a formula such as '~ 1 | study/es' or '~ outcome | trial'")
    codes = _levels(data, groups, k) if groups else []
    structured = None
    if term is not None:
        struct = str(struct).upper()
        if struct not in STRUCTS:
            raise AnalysisError(f"struct = {struct!r}; expected one of {', '.join(STRUCTS)}")
        for name in term:
            if name not in data.columns:
                raise AnalysisError(f"random: column {name!r} is not in data (columns: {', '.join(map(str, data))})")
        inner_values = data[term[0]].astype(str)
        inner_levels = sorted(inner_values.unique())
        inner = inner_values.map({lv: j for j, lv in enumerate(inner_levels)}).to_numpy()
        outer = pd.factorize(data[term[1]].astype(str).to_numpy())[0]
        structured = (outer, inner, _struct_parameters(struct, len(inner_levels)))
    if mods is None:
        if not intercept:
            raise AnalysisError("a model without an intercept needs moderators")
        X, names = np.ones((k, 1)), ("intrcpt",)
    else:
        X, names = design_matrix(mods, k)
        if not intercept:
            X, names = X[:, 1:], names[1:]
            if isinstance(mods, pd.Series | pd.DataFrame):  # R's ~ f - 1 keeps every level of a factor
                frame = mods.to_frame() if isinstance(mods, pd.Series) else mods
                full = pd.get_dummies(frame, drop_first=False, dtype=float)
                X, names = full.to_numpy(dtype=float), tuple(str(c) for c in full.columns)
    p = X.shape[1]
    if np.linalg.matrix_rank(X) < p:
        raise AnalysisError("the moderators are collinear (design matrix not of full rank); drop redundant columns")
    if k <= p:
        raise AnalysisError(f"k = {k} effect sizes cannot support {p} coefficients")
    q = len(groups)
    fix = [None] * q if sigma2 is None else list(sigma2)
    if len(fix) != q:
        raise AnalysisError(f"sigma2 has {len(fix)} values but the model has {q} variance components")
    pairs = structured[2] if structured is not None else []
    fixed = np.array([f is not None for f in fix] + [False] * len(pairs), dtype=bool)
    variance = np.array([True] * q + [j == m for j, m in pairs], dtype=bool)
    model = _Model(
        y=y,
        X=X,
        stacks=_stacks(
            _blocks(codes + ([structured[0]] if structured else []), Vm, k),
            codes,
            None if Vm is not None else v,
            Vm,
            structured,
        ),
        codes=codes + ([structured[0]] if structured else []),
        reml=method == "REML",
        logdet_xtx=float(np.linalg.slogdet(X.T @ X)[1]),
        lower=np.where(variance, 0.0, -np.inf),
        struct=(struct, int(structured[1].max()) + 1, q) if structured is not None else None,
    )
    mean_v = float(np.mean(Vm.diagonal())) if Vm is not None else float(np.mean(v))
    guess = max(float(np.var(y)) - mean_v, 0.01) / max(int(variance.sum()), 1)
    start = np.array([float(f) if f is not None else guess for f in fix] + [guess if j == m else 0.0 for j, m in pairs])
    params, cur = _maximise(model, start, fixed)
    return _finish(model, params, cur, fixed, groups, codes, names, method, test, level)


def _finish(
    model: _Model,
    params: np.ndarray,
    cur: dict[str, Any],
    fixed: np.ndarray,
    groups: list[tuple[str, ...]],
    codes: list[np.ndarray],
    names: tuple[str, ...],
    method: str,
    test: str,
    level: float,
) -> MultilevelFit:
    X, y = model.X, model.y
    k, p = X.shape
    q = len(groups)
    s2 = params[:q]
    tau2 = rho = None
    if model.struct is not None:
        T = _struct_matrix(model, params)
        kind = model.struct[0]
        d = np.sqrt(np.clip(np.diag(T), 0.0, None))
        with np.errstate(divide="ignore", invalid="ignore"):
            R = T / np.outer(d, d)
        if kind in ("CS", "ID"):
            tau2 = np.array([T[0, 0]])
            rho = np.array([R[0, 1]]) if kind == "CS" and T.shape[0] > 1 else None
        else:
            tau2 = np.diag(T).copy()
            rho = R[np.triu_indices(T.shape[0], 1)] if kind == "UN" else None
    beta, vb = cur["beta"], cur["vb"]
    se = np.sqrt(np.diag(vb))
    dfs = float(k - p) if test == "t" else None
    stat = beta / se
    if test == "t":
        pval = 2.0 * stats.t.sf(np.abs(stat), dfs)
    else:
        pval = 2.0 * stats.norm.sf(np.abs(stat))
    crit = _critical(test, level, dfs)
    # QE: residual heterogeneity, the GLS fit under V alone (a stack of blocks at a time)
    xtvx, xtvy, logdet_v, pieces = np.zeros((p, p)), np.zeros(p), 0.0, []
    for st in model.stacks:
        sign, logdets = np.linalg.slogdet(st.V)
        if np.any(sign <= 0):
            raise AnalysisError(
                "the sampling covariance matrix is not positive definite (a sampling variance of 0, or V singular)"
            )
        Vinv = np.linalg.inv(st.V)
        Xb, yb = X[st.rows], y[st.rows]
        VX = Vinv @ Xb
        xtvx += np.einsum("gsp,gsq->pq", Xb, VX)
        xtvy += np.einsum("gsp,gs->p", VX, yb)
        logdet_v += float(logdets.sum())
        pieces.append((Vinv, Xb, yb))
    b_fe = np.linalg.solve(xtvx, xtvy)
    QE = 0.0
    for Vinv, Xb, yb in pieces:
        r_fe = yb - Xb @ b_fe
        QE += float(np.einsum("gs,gst,gt->", r_fe, Vinv, r_fe))
    QEp = float(stats.chi2.sf(QE, k - p)) if k > p else float("nan")
    # QM: the coefficients other than the intercept; all of them without one, or when it is the only one (metafor)
    btt = [j for j, n in enumerate(names) if n != "intrcpt"] or [0]
    QM = QMp = None
    QMdf = None
    if btt:
        bb = beta[btt]
        QM = float(bb @ np.linalg.solve(vb[np.ix_(btt, btt)], bb))
        if test == "t":
            QM /= len(btt)
            QMdf = (float(len(btt)), dfs)
            QMp = float(stats.f.sf(QM, len(btt), dfs))
        else:
            QMdf = (float(len(btt)), None)
            QMp = float(stats.chi2.sf(QM, len(btt)))
    parms = p + int((~fixed).sum())
    ll = cur["ll"]
    if method == "ML":
        ll_qe = -0.5 * k * math.log(2 * math.pi) - 0.5 * logdet_v
        deviance = -2.0 * (ll - ll_qe)
        n_eff = k
    else:
        deviance = -2.0 * ll
        n_eff = k - p
    aic = -2.0 * ll + 2 * parms
    bic = -2.0 * ll + parms * math.log(n_eff)
    top = max(n_eff, parms + 2)
    aicc = -2.0 * ll + 2 * parms * top / (top - parms - 1)
    return MultilevelFit(
        coef=beta,
        coef_names=names,
        se=se,
        zval=stat,
        pval=pval,
        ci_lb=beta - crit * se,
        ci_ub=beta + crit * se,
        vb=vb,
        sigma2=s2,
        components=tuple("/".join(g) for g in groups),
        s_nlevels=tuple(int(c.max()) + 1 for c in codes[:q]),
        method=method,
        test=test,
        level=level,
        k=k,
        p=p,
        dfs=dfs,
        loglik=ll,
        deviance=deviance,
        aic=aic,
        bic=bic,
        aicc=aicc,
        QE=QE,
        QEp=QEp,
        QM=QM,
        QMdf=QMdf,
        QMp=QMp,
        parms=parms,
        fixed=tuple(bool(f) for f in fixed[:q]),
        _model=model,
        tau2=tau2,
        rho=rho,
        struct=model.struct[0] if model.struct is not None else None,
        _params=params,
    )


def _profile_intervals(fit: MultilevelFit, tol: float) -> pd.DataFrame:
    model = fit._model
    cut = fit.loglik - 0.5 * float(stats.chi2.ppf(fit.level, 1))
    ceiling = 1e6 * max(float(np.var(model.y)), 1e-12)
    rows = []
    for j, name in enumerate(fit.components):
        if fit.fixed[j]:
            rows.append({"component": name, "estimate": fit.sigma2[j], "ci_lb": np.nan, "ci_ub": np.nan})
            continue

        def gap(x: float, j: int = j) -> float:
            fixed = np.zeros(fit._theta.size, dtype=bool)
            fixed[: len(fit.fixed)] = fit.fixed
            fixed[j] = True
            start = fit._theta.copy()
            start[j] = x
            _, cur = _maximise(model, start, fixed)
            return cur["ll"] - cut

        est = float(fit.sigma2[j])
        if est <= 0.0 or gap(0.0) > 0.0:
            lb = 0.0
        else:
            lb = optimize.brentq(gap, 0.0, est, xtol=tol * max(est, 1e-12), rtol=1e-14)
        hi = max(est, 1e-4 * math.sqrt(ceiling)) * 2.0
        while gap(hi) > 0.0 and hi < ceiling:
            hi *= 4.0
        if gap(hi) > 0.0:
            ub = np.nan
        else:
            ub = optimize.brentq(gap, est, hi, xtol=tol * max(est, 1e-12), rtol=1e-14)
        rows.append({"component": name, "estimate": est, "ci_lb": lb, "ci_ub": ub})
    return pd.DataFrame(rows)


def anova(full: MultilevelFit, reduced: MultilevelFit) -> dict[str, float]:
    """Likelihood-ratio test between nested fits (metafor's ``anova(full, reduced)``): ``LRT``, ``df`` (the
    difference in estimated parameters) and ``pval``. Fits by REML must have the same fixed effects."""
    if full.method != reduced.method:
        raise AnalysisError("anova: both fits must use the same method (REML or ML)")
    if full.k != reduced.k or not np.array_equal(full._model.y, reduced._model.y):
        raise AnalysisError("anova: the two fits must be of the same data")
    if full.method == "REML" and not np.array_equal(full._model.X, reduced._model.X):
        raise AnalysisError("anova: REML fits with different moderators cannot be compared; refit with method='ML'")
    df = full.parms - reduced.parms
    if df <= 0:
        raise AnalysisError("anova: the first fit must have more estimated parameters than the second")
    lrt = max(2.0 * (full.loglik - reduced.loglik), 0.0)
    return {"LRT": lrt, "df": float(df), "pval": float(stats.chi2.sf(lrt, df))}


def vcalc(vi: Any, cluster: Any, *, rho: float, obs: Any = None, sparse_matrix: bool = False) -> Any:
    """Sampling covariance matrix from an assumed correlation between the effect sizes of a cluster (metafor's
    ``vcalc(vi, cluster, obs, rho)`` for one correlation): ``V[i, j] = rho * sqrt(vi[i] * vi[j])`` for two effect
    sizes of the same cluster, 0 across clusters. With ``random = "~ 1 | cluster/obs"`` this is the correlated and
    hierarchical effects ("CHE") working model of Pustejovsky & Tipton (2022), Prevention Science 23:425-438,
    doi:10.1007/s11121-021-01246-3; pair it with cluster-robust inference, since rho is a guess.

    ``obs`` (optional) names each effect size within its cluster; two rows with the same cluster and ``obs`` are
    refused (metafor reads them as one observation). ``sparse_matrix=True`` returns a ``scipy.sparse`` CSR matrix
    (metafor's ``sparse = TRUE``), which :func:`meta_analysis_mv` takes as ``V`` at any k."""
    v = as_vector(vi, "vi")
    if np.any(~np.isfinite(v)) or np.any(v < 0):
        i = int(np.flatnonzero(~np.isfinite(v) | (v < 0))[0])
        raise AnalysisError(f"vi[{i}] = {float(v[i])!r}; sampling variances must be finite and >= 0")
    rho = float(rho)
    if not -1.0 <= rho <= 1.0:
        raise AnalysisError(f"rho = {rho!r}; a correlation must lie in [-1, 1]")
    cl = pd.Series(np.asarray(cluster, dtype=object).reshape(-1))
    if cl.size != v.size:
        raise AnalysisError(f"cluster has {cl.size} values but vi has {v.size}")
    if cl.isna().any():
        raise AnalysisError(f"cluster: row {int(np.flatnonzero(cl.isna())[0])} has no value")
    if obs is not None:
        ob = pd.Series(np.asarray(obs, dtype=object).reshape(-1))
        if ob.size != v.size:
            raise AnalysisError(f"obs has {ob.size} values but vi has {v.size}")
        twice = pd.DataFrame({"c": cl.astype(str), "o": ob.astype(str)}).duplicated()
        if twice.any():
            i = int(np.flatnonzero(twice)[0])
            raise AnalysisError(f"row {i}: cluster {cl[i]!r} has obs {ob[i]!r} twice; each effect size needs its own")
    code = cl.astype(str).factorize()[0]
    sd = np.sqrt(v)
    if sparse_matrix:  # metafor's sparse = TRUE: only the within-cluster entries, never k x k
        order = np.argsort(code, kind="stable")
        n = np.bincount(code)
        start = np.cumsum(n) - n
        reps = n[code[order]]
        rows = np.repeat(order, reps)
        within = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
        cols = order[np.repeat(start[code[order]], reps) + within]
        data = np.where(rows == cols, v[rows], rho * sd[rows] * sd[cols])
        return sparse.csr_matrix((data, (rows, cols)), shape=(v.size, v.size))
    same = code[:, None] == code[None, :]
    V = np.where(same, rho * np.outer(sd, sd), 0.0)
    np.fill_diagonal(V, v)
    return V


def _marginal(fit: MultilevelFit) -> np.ndarray:
    """The fitted marginal covariance M as a k x k matrix (block diagonal)."""
    model = fit._model
    k = model.y.size
    M = np.zeros((k, k))
    for st in model.stacks:
        Ms = st.V + np.tensordot(fit._theta, st.A, axes=1)
        M[st.rows[:, :, None], st.rows[:, None, :]] = Ms
    return M


def cluster_codes(cluster: Any, k: int) -> np.ndarray:
    """One integer per effect size for its cluster label (in order of first appearance); a label missing or a
    length other than k is refused."""
    labels = pd.Series(np.asarray(cluster, dtype=object).reshape(-1))
    if labels.size != k:
        raise AnalysisError(f"cluster has {labels.size} values but there are {k} effect sizes")
    if labels.isna().any():
        raise AnalysisError(f"cluster: row {int(np.flatnonzero(labels.isna().to_numpy())[0])} has no value")
    return labels.astype(str).factorize()[0]


def _cluster_codes(fit: MultilevelFit, cluster: Any) -> np.ndarray:
    model = fit._model
    return model.codes[0] if cluster is None else cluster_codes(cluster, model.y.size)


def _cluster_groups(fit: MultilevelFit, codes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The clusters, stacked by size: per size, the clusters' numbers (g), their rows (g x s) and their blocks of the
    fitted marginal covariance M (g x s x s). A cluster holds whole model blocks; when each holds one (clusters
    at the outer level, the usual case) the model's own stacks are used, else each cluster's blocks are joined."""
    model = fit._model
    parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    stacks = []
    for st in model.stacks:
        Ms = st.V + np.tensordot(fit._theta, st.A, axes=1)
        cl = codes[st.rows]
        if np.any(cl != cl[:, :1]):
            raise AnalysisError(
                "cluster: the model couples effect sizes of different clusters; cluster by the outer level"
            )
        stacks.append((cl[:, 0], st.rows, Ms))
    owners = np.concatenate([c for c, _, _ in stacks])
    if np.unique(owners).size == owners.size:  # one block per cluster
        return stacks
    for cl, rows, Ms in stacks:
        for g in range(rows.shape[0]):
            parts.setdefault(int(cl[g]), []).append((rows[g], Ms[g]))
    by_size: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}
    for j in range(int(codes.max()) + 1):
        blocks = parts[j]
        idx = np.concatenate([r for r, _ in blocks])
        by_size.setdefault(idx.size, []).append((j, idx, linalg.block_diag(*[m for _, m in blocks])))
    return [
        (np.array([j for j, _, _ in group]), np.stack([i for _, i, _ in group]), np.stack([m for _, _, m in group]))
        for _, group in sorted(by_size.items())
    ]


def _inv_sqrt_psd_stack(S: np.ndarray) -> np.ndarray:
    """:func:`emmie.effect.robust._inv_sqrt_psd` for a stack of matrices (g x s x s)."""
    vals, vecs = np.linalg.eigh((S + np.swapaxes(S, 1, 2)) / 2.0)
    tol = np.max(np.abs(vals), axis=1, keepdims=True) * S.shape[1] * np.finfo(float).eps
    inv = np.where(vals > tol, 1.0 / np.sqrt(np.where(vals > tol, vals, 1.0)), 0.0)
    return (vecs * inv[:, None, :]) @ np.swapaxes(vecs, 1, 2)


def _robust(fit: MultilevelFit, cluster: Any) -> RobustMV:
    """CR2, clusters of one size at a time as stacked arrays. The Satterthwaite df of coefficient c needs
    S = G_c Theta G_c' (J x J); with a_j = row c of B X_j' W_j A_j and c_j = a_j X_j, (I - H) expands to
    S = diag(a_j Theta_j a_j') - C B C', so its trace and squared norm cost O(J p^2) and memory stays
    O(k x largest cluster) (B = (X' W X)^-1)."""
    model = fit._model
    X, y = model.X, model.y
    k, p = X.shape
    codes = _cluster_codes(fit, cluster)
    J = int(codes.max()) + 1
    if J < 2:
        raise AnalysisError("cluster-robust inference needs at least 2 clusters")
    bread = fit.vb  # (X' W X)^-1
    e = y - X @ fit.coef
    meat = np.zeros((p, p))
    d = np.empty((J, p))
    C = np.empty((p, J, p))
    for js, rows, T in _cluster_groups(fit, codes):
        size = rows.shape[1]
        W = np.linalg.inv(T)
        Xg = X[rows]  # g x s x p
        IH = np.eye(size)[None] - np.einsum("gsp,pq,gtq->gst", Xg, bread, Xg) @ W  # (I - H)_jj
        D = np.swapaxes(np.linalg.cholesky(T), 1, 2)  # upper: D'D = Theta_j
        Dt = np.swapaxes(D, 1, 2)
        # clubSandwich's A_j = D' (D (I-H)_jj Theta_j D')^(-1/2) D, so that A_j Var(e_j) A_j' = Theta_j
        A = Dt @ _inv_sqrt_psd_stack(D @ IH @ T @ Dt) @ D
        XW = np.swapaxes(Xg, 1, 2) @ W  # g x p x s
        u = np.einsum("gps,gs->gp", XW @ A, e[rows])
        meat += u.T @ u
        a = bread[None] @ XW @ A  # g x p x s
        d[js] = np.einsum("gcs,gst,gct->gc", a, T, a)
        C[:, js, :] = np.swapaxes(a @ Xg, 0, 1)  # p x g x p
    vcov = bread @ meat @ bread
    se = np.sqrt(np.diag(vcov))
    df = np.empty(p)
    for c in range(p):
        Cc = C[c]
        CB = Cc @ bread
        low_diag = np.einsum("jp,jp->j", CB, Cc)  # (C B C')_jj
        CtC = Cc.T @ Cc
        M2 = bread @ CtC
        trace = d[:, c].sum() - np.trace(M2)
        square = float(d[:, c] @ d[:, c] - 2.0 * d[:, c] @ low_diag + np.sum(M2 * M2.T))
        df[c] = trace**2 / square
    tstat = fit.coef / se
    pval = 2.0 * stats.t.sf(np.abs(tstat), df)
    crit = stats.t.isf((1.0 - fit.level) / 2.0, df)
    return RobustMV(
        vcov, se, tstat, df, pval, fit.coef - crit * se, fit.coef + crit * se, J, fit.coef, fit.coef_names, fit, codes
    )


def _dense_terms(fit: MultilevelFit, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """G (p x J x k: bread X_j' W_j A_j (I - H)_j. per cluster j) and the working covariance as k x k matrices,
    for the HTZ test of several coefficients (:func:`emmie.effect.robust.htz_test`)."""
    model = fit._model
    X = model.X
    k, p = X.shape
    theta = _marginal(fit)
    W = np.linalg.inv(theta)
    bread = fit.vb
    IH = np.eye(k) - X @ bread @ X.T @ W
    J = int(codes.max()) + 1
    G = np.zeros((p, J, k))
    for j in range(J):
        idx = np.flatnonzero(codes == j)
        Tj = theta[np.ix_(idx, idx)]
        D = linalg.cholesky(Tj, lower=False)
        Aj = D.T @ _inv_sqrt_psd(D @ IH[np.ix_(idx, idx)] @ Tj @ D.T) @ D
        G[:, j, :] = bread @ X[idx].T @ W[np.ix_(idx, idx)] @ Aj @ IH[idx, :]
    return G, theta
