"""Permutation test of a meta-regression, as metafor's ``permutest``.

References
----------
Higgins, J. P. T., & Thompson, S. G. (2004). Controlling the risk of spurious findings from meta-regression.
    Statistics in Medicine, 23, 1663-1682.
Viechtbauer, W., Lopez-Lopez, J. A., Sanchez-Meca, J., & Marin-Martinez, F. (2015). A comparison of procedures to
    test for moderators in mixed-effects meta-regression models. Psychological Methods, 20, 360-374.
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw, 36(3) (``permutest``).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from math import factorial, prod
from typing import Any

import numpy as np

from emmie.effect import meta_regression
from emmie.effect.metareg_batch import BATCHED, regression_tests
from emmie.errors import AnalysisError

# metafor's comparison tolerance (``comptol = .Machine$double.eps^0.5``).
COMPTOL = np.finfo(float).eps ** 0.5


@dataclass(frozen=True)
class PermutationTest:
    """Result of :func:`permutation_test`.

    ``qm`` is the observed omnibus statistic (chi^2 under ``z``, F under ``knha``) and ``qm_pval``
    its permutation p-value; ``pval`` holds the permutation p-values of the coefficients (two-sided,
    from ``|stat|``), in the order of ``names``. ``n_perm`` counts the permutations used (the
    observed arrangement included), ``n_failed`` the refits that failed and were left out.
    """

    names: tuple[str, ...]
    qm: float
    qm_pval: float
    stat: tuple[float, ...]
    pval: tuple[float, ...]
    n_perm: int
    n_failed: int
    exact: bool
    test: str
    method: str
    seed: int | None

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def _n_distinct_permutations(rows: np.ndarray) -> int:
    counts = Counter(map(tuple, rows))
    return factorial(len(rows)) // prod(factorial(c) for c in counts.values())


def _distinct_permutations(rows: np.ndarray) -> list[np.ndarray]:
    """All distinct orderings of the rows (as index arrays), in metafor's ``.genuperms`` order."""
    keys = [tuple(r) for r in rows]
    distinct = sorted(set(keys))
    code = np.array([distinct.index(key) for key in keys])
    pools = {c: list(np.flatnonzero(code == c)) for c in range(len(distinct))}
    out: list[np.ndarray] = []

    def extend(remaining: list[int], prefix: list[int]) -> None:
        if not remaining:
            used = {c: 0 for c in pools}
            idx = []
            for c in prefix:
                idx.append(pools[c][used[c]])
                used[c] += 1
            out.append(np.array(idx))
            return
        seen = set()
        for i, c in enumerate(remaining):
            if c in seen:
                continue
            seen.add(c)
            extend(remaining[:i] + remaining[i + 1 :], [*prefix, c])

    extend(sorted(code.tolist()), [])
    return out


def permutation_test(
    yi: Any,
    vi: Any,
    mods: Any,
    *,
    n_perm: int = 1000,
    seed: int | None = None,
    method: str = "REML",
    test: str = "z",
    exact: bool | None = None,
    stop_after: int | None = None,
) -> PermutationTest:
    """Permutation test of the moderators of a meta-regression (metafor's ``permutest``).

    The rows of the moderator matrix are permuted relative to ``(yi, vi)``, the model refitted and
    the omnibus statistic QM (and each coefficient's test statistic) recorded. The p-value is the
    share of permutations whose statistic is at least the observed one (within metafor's tolerance
    ``sqrt(machine eps)``). When the number of distinct permutations is at most ``n_perm`` (or
    ``exact=True``) every distinct permutation is used once (exact test, as metafor); otherwise
    ``n_perm`` random permutations are drawn with ``numpy.random.default_rng(seed)`` and, as in
    metafor, the first is replaced by the observed arrangement. Refits that fail are left out (as
    metafor's ``na.rm``).

    Parameters
    ----------
    yi, vi : array-like
        Effect sizes and sampling variances.
    mods : array-like (k,) or (k, m)
        Moderator values, numeric (dummy-code categorical moderators first); an intercept is added.
    n_perm : int
        Number of random permutations (metafor's ``iter``), >= 2.
    seed : int, optional
        Seed of the permutations.
    method, test : str
        As :func:`emmie.effect.meta_regression`; under ``test="knha"`` QM is the F statistic.
    exact : bool, optional
        Force (True) the exact test; None chooses it when it needs no more than ``n_perm`` refits.
    stop_after : int, optional
        Sequential Monte Carlo p-value (Besag & Clifford 1991): stop drawing random permutations once
        ``stop_after`` of them reach the observed QM, and report the omnibus p-value as ``stop_after``
        over the permutations used. A clearly non-significant moderator then costs tens of refits, not
        ``n_perm``; one with a small p-value still gets all ``n_perm``. None (default) draws all, as
        metafor does. The coefficients' p-values use the permutations drawn.

    Returns
    -------
    PermutationTest

    References
    ----------
    Higgins & Thompson (2004); Viechtbauer et al. (2015); Viechtbauer (2010), ``permutest``;
    Besag, J. & Clifford, P. (1991). Sequential Monte Carlo p-values. Biometrika, 78, 301-304.
    """
    if int(n_perm) < 2:
        raise AnalysisError(f"n_perm = {n_perm}; a permutation test needs at least 2 permutations")
    y = np.asarray(yi, dtype=float)
    v = np.asarray(vi, dtype=float)
    M = np.asarray(mods, dtype=float)
    if M.ndim == 1:
        M = M[:, None]
    if np.isnan(M).any():
        raise AnalysisError("moderator values are missing; drop those studies before the permutation test")
    observed = meta_regression(y, v, M, method=method, test=test)
    k = y.size
    n_distinct = _n_distinct_permutations(M)
    use_exact = bool(exact) or (exact is None and n_distinct <= n_perm)
    if use_exact and n_distinct > 100_000:
        raise AnalysisError(f"an exact permutation test would need {n_distinct} refits; use exact=False")
    qm_obs = observed.qm
    stat_obs = np.abs(np.asarray(observed.stat))

    def refit(order: np.ndarray) -> tuple[float, np.ndarray] | None:
        try:
            r = meta_regression(y, v, M[order], method=method, test=test)
        except AnalysisError:
            return None
        return r.qm, np.abs(np.asarray(r.stat))

    def refits(orders: list[np.ndarray]) -> list[tuple[float, np.ndarray] | None]:
        """The refits of ``orders``, vectorised (emmie.effect.metareg_batch) where the method allows; a fit the
        vectorised scoring cannot finish is redone one by one, as is every fit of another method."""
        X = observed.X
        if observed.method not in BATCHED or X.shape[0] != k or not orders:
            return [refit(o) for o in orders]
        idx = np.asarray(orders)
        designs = np.concatenate([np.broadcast_to(X[:, :1], (len(orders), k, 1)), X[idx][:, :, 1:]], axis=2)
        try:
            batch = regression_tests(y, v, designs, method=observed.method, test=observed.test)
        except np.linalg.LinAlgError:
            return [refit(o) for o in orders]
        return [(float(batch.qm[i]), np.abs(batch.stat[i])) if batch.ok[i] else refit(o) for i, o in enumerate(orders)]

    qms: list[float] = []
    stats_: list[np.ndarray] = []
    failed = 0
    if use_exact:
        for got in refits(_distinct_permutations(M)):
            if got is None:
                failed += 1
                continue
            qms.append(got[0])
            stats_.append(got[1])
    else:
        rng = np.random.default_rng(seed)
        qms.append(qm_obs)
        stats_.append(stat_obs)
        attempts = 0
        reached = 0
        pending: deque[tuple[float, np.ndarray] | None] = deque()
        chunk = 64  # permutations are drawn in the order one-by-one refits would draw them, fitted in chunks
        while len(qms) < n_perm and (stop_after is None or reached < stop_after):
            attempts += 1
            if attempts > 10 * n_perm:
                raise AnalysisError("too many failed refits in the permutation test")
            if not pending:
                size = min(chunk, max(1, n_perm - len(qms)))
                pending.extend(refits([rng.permutation(k) for _ in range(size)]))
                chunk *= 2  # a sequential test that stops early fits few more than it uses
            got = pending.popleft()
            if got is None:
                failed += 1
                continue
            qms.append(got[0])
            stats_.append(got[1])
            reached += got[0] >= qm_obs - COMPTOL
    qm_perm = np.asarray(qms)
    stat_perm = np.vstack(stats_)
    qm_pval = float(np.mean(qm_perm >= qm_obs - COMPTOL))
    pval = tuple(float(x) for x in np.mean(stat_perm >= stat_obs - COMPTOL, axis=0))
    return PermutationTest(
        names=observed.names,
        qm=float(qm_obs),
        qm_pval=qm_pval,
        stat=tuple(float(s) for s in observed.stat),
        pval=pval,
        n_perm=len(qms),
        n_failed=failed,
        exact=use_exact,
        test=observed.test,
        method=observed.method,
        seed=seed,
    )
