"""emmie.effect.normal.logpdf gives scipy.stats.norm.logpdf's bits (the same operations in the same order)."""

import numpy as np
from scipy import stats

from emmie.effect import normal


def test_the_same_bits_as_scipy():
    rng = np.random.default_rng(7)
    y = rng.normal(0, 2, 1000)
    v = rng.uniform(1e-4, 3, 1000)
    tau = rng.uniform(0, 2, 64)
    scale = np.sqrt(v[None, :] + tau[:, None] ** 2)
    assert np.array_equal(normal.logpdf(y[None, :], 0.0, scale), stats.norm.logpdf(y[None, :], 0.0, scale))
    assert np.array_equal(normal.logpdf(y, 0.3, np.sqrt(v)), stats.norm.logpdf(y, 0.3, np.sqrt(v)))
    assert normal.logpdf(1.5, -0.2, 0.7) == stats.norm.logpdf(1.5, -0.2, 0.7)
    with np.errstate(over="ignore"):  # -inf far out, as scipy
        far = normal.logpdf(np.array([1e300, -40.0]), 0.0, 1.0).tolist()
        assert far == stats.norm.logpdf([1e300, -40.0]).tolist() and far[0] == -np.inf
