"""Gleser & Olkin's (2009) covariances of dependent effect sizes (issue 16, item 3), against the chapter's worked
examples (Handbook of Research Synthesis and Meta-Analysis, 2nd ed., ch. 19, pp. 360-371) as metafor's
tests/testthat/test_analysis_example_gleser2009.r quotes them: the effect sizes, the generalised least squares
estimates, their covariance matrix and QE. The chapter prints 4 decimals (3 significant for the covariances), hence
the tolerances."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emmie.effect import effect_sizes
from emmie.effect.covariance import multiple_endpoint_covariance, shared_group_covariance
from emmie.errors import AnalysisError

# three multiple-treatment studies: the shared group is ai / n1i, the other groups ci / n2i
MT = pd.DataFrame(
    {
        "study": [1, 1, 2, 3, 3, 3],
        "trt": [1, 2, 1, 1, 2, 3],
        "ai": [40, 40, 10, 150, 150, 150],
        "n1i": [1000, 1000, 200, 2000, 2000, 2000],
        "ci": [100, 150, 15, 40, 80, 50],
        "n2i": [4000, 4000, 400, 1000, 1000, 1000],
    }
)


def gls(yi, V, groups):
    """Fixed-effects multivariate estimates by generalised least squares: coefficients, their covariance, QE."""
    X = pd.get_dummies(pd.Series(groups).astype(str)).to_numpy(dtype=float)
    W = np.linalg.inv(V)
    vb = np.linalg.inv(X.T @ W @ X)
    b = vb @ X.T @ W @ yi
    r = yi - X @ b
    return b, vb, float(r @ W @ r)


@pytest.mark.parametrize(
    ("measure", "yi", "coef", "vcov", "scale", "qe"),
    [
        ("RD", [0.0150, 0.0025, 0.0125, 0.0350, -0.0050, 0.0250], [0.0200, 0.0043, 0.0211],
         [24.612, 19.954, 13.323, 19.954, 28.538, 13.255, 13.323, 13.255, 69.806], 1e6, 7.1907),
        ("OR", [0.4855, 0.0671, 0.3008, 0.6657, -0.0700, 0.4321], [0.5099, 0.0044, 0.4301],
         [0.01412, 0.00712, 0.00425, 0.00712, 0.01178, 0.00455, 0.00425, 0.00455, 0.02703], 1.0, 2.0563),
        ("RR", [0.4700, 0.0645, 0.2877, 0.6286, -0.0645, 0.4055], [0.4875, 0.0006, 0.4047],
         [0.01287, 0.00623, 0.00371, 0.00623, 0.01037, 0.00399, 0.00371, 0.00399, 0.02416], 1.0, 1.8954),
        # the chapter's arcsine difference is twice metafor's AS
        ("AS", [0.0426, 0.0065, 0.03065, 0.07605, -0.00935, 0.0519], [0.0505, 0.0051, 0.0491],
         [0.000145, 0.0001, 0.00006, 0.0001, 0.0001525, 0.0000625, 0.00006, 0.0000625, 0.0003425], 1.0, 4.2634),
    ],
)  # fmt: skip
def test_multiple_treatment_studies(measure, yi, coef, vcov, scale, qe):
    # as the chapter's Table 19.2: the shared group is the first group of each table (ai / n1i)
    es = effect_sizes(measure, ai=MT["ai"], n1i=MT["n1i"], ci=MT["ci"], n2i=MT["n2i"])
    V = shared_group_covariance(measure, es["vi"], MT["study"], xi=MT["ai"], ni=MT["n1i"])
    np.testing.assert_allclose(es["yi"], yi, atol=6e-5)
    b, vb, q = gls(es["yi"].to_numpy(), V, MT["trt"])
    np.testing.assert_allclose(b, coef, atol=6e-5)
    np.testing.assert_allclose((vb * scale).reshape(-1), vcov, rtol=2e-3, atol=6e-6 * scale)
    assert q == pytest.approx(qe, abs=6e-4)


def test_multiple_treatment_smd():
    d = pd.DataFrame(
        {
            "study": [1, 1, 2, 3, 4, 4],
            "trt": [1, 2, 1, 1, 1, 2],
            "m1i": [7.87, 4.35, 9.32, 8.08, 7.44, 5.34],
            "m2i": [-1.36, -1.36, 0.98, 1.17, 0.45, 0.45],
            "sdpi": [4.2593, 4.2593, 2.8831, 3.1764, 2.9344, 2.9344],
            "n1i": [25, 22, 38, 50, 30, 30],
            "n2i": [25, 25, 40, 50, 30, 30],
        }
    )
    total = d.groupby("study")["n1i"].transform("sum") + d["n2i"]
    yi = (d["m1i"] - d["m2i"]) / d["sdpi"]
    vi = 1 / d["n1i"] + 1 / d["n2i"] + yi**2 / (2 * total)
    np.testing.assert_allclose(yi, [2.1670, 1.3406, 2.8927, 2.1754, 2.3821, 1.6664], atol=6e-5)
    V = shared_group_covariance("SMD", vi, d["study"], ni=d["n2i"], yi=yi, n_total=total)
    b, vb, q = gls(yi.to_numpy(), V, d["trt"])
    np.testing.assert_allclose(b, [2.3743, 1.5702], atol=6e-5)
    np.testing.assert_allclose(vb.reshape(-1), [0.02257, 0.01244, 0.01244, 0.03554], atol=6e-6)
    assert q == pytest.approx(3.9447, abs=6e-4)


def test_multiple_endpoint_studies():
    d = pd.DataFrame(
        {
            "school": np.repeat(np.arange(1, 8), 2),
            "outcome": ["math", "reading"] * 7,
            "m1i": [2.3, 2.5, 2.4, 1.3, 2.5, 2.4, 3.3, 1.7, 1.1, 2.0, 2.8, 2.1, 1.7, 0.6],
            "m2i": [10.3, 6.6, 9.7, 3.1, 8.7, 3.7, 7.5, 8.5, 2.2, 2.1, 3.8, 1.4, 1.8, 3.9],
            "sdpi": [8.2, 7.3, 8.3, 8.9, 8.5, 8.3, 7.7, 9.8, 9.1, 10.4, 9.6, 7.9, 9.2, 10.2],
            "ri": np.repeat([0.55, 0.43, 0.57, 0.66, 0.51, 0.59, 0.49], 2),
            "n1i": np.repeat([22, 21, 26, 18, 38, 42, 39], 2),
            "n2i": np.repeat([24, 21, 23, 18, 36, 42, 38], 2),
        }
    )
    # the chapter rounds yi to 3 and vi and the covariances to 4 decimals before pooling; so does this test
    yi = np.round((d["m2i"] - d["m1i"]) / d["sdpi"], 3)
    vi = np.round(1 / d["n1i"] + 1 / d["n2i"] + yi**2 / (2 * (d["n1i"] + d["n2i"])), 4)
    V = multiple_endpoint_covariance(yi, vi, d["school"], n1i=d["n1i"], n2i=d["n2i"], ri=d["ri"])
    off = np.round(V[np.arange(0, 14, 2), np.arange(1, 14, 2)], 4)
    for i, o in enumerate(off):
        V[2 * i, 2 * i + 1] = V[2 * i + 1, 2 * i] = o
    b, vb, q = gls(yi.to_numpy(), V, d["outcome"])
    np.testing.assert_allclose(b, [0.3617, 0.2051], atol=6e-5)
    np.testing.assert_allclose(vb.reshape(-1), [0.01008, 0.00537, 0.00537, 0.00989], atol=6e-6)
    assert q == pytest.approx(19.6264, abs=6e-4)


def test_shared_group_must_be_the_same_group_within_a_study():
    with pytest.raises(AnalysisError, match="ni: row 1 differs from the other rows of its study"):
        shared_group_covariance("RD", [0.01, 0.02], [1, 1], xi=[4, 4], ni=[100, 90])
    with pytest.raises(AnalysisError, match="ri: row 1 is 1.5"):
        multiple_endpoint_covariance([0.1, 0.2], [0.01, 0.02], [1, 2], n1i=[20, 20], n2i=[20, 20], ri=[0.5, 1.5])


def test_sparse_matrix_equals_dense():
    dense = shared_group_covariance("OR", [0.1, 0.2, 0.3], [1, 1, 2], xi=[5, 5, 8], ni=[50, 50, 80])
    sp = shared_group_covariance("OR", [0.1, 0.2, 0.3], [1, 1, 2], xi=[5, 5, 8], ni=[50, 50, 80], sparse_matrix=True)
    np.testing.assert_array_equal(sp.toarray(), dense)
    assert dense[0, 2] == 0 and dense[0, 1] == pytest.approx(1 / (50 * 0.1 * 0.9))
