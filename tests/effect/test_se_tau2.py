"""The standard error of tau^2 under the Hedges (HE) and Sidik-Jonkman (SJ) estimators, against metafor.

Reference: tests/fixtures/metafor/se_tau2/he_sj.json, made by se_tau2/se_tau2_reference.R (R 4.2.2, metafor 3.8-1) on
dat.bcg, intercept-only and with one and two moderators. metafor writes 15 significant digits, so the tolerance is
1e-10 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emmie.effect import meta_analysis
from emmie.effect.grouped import meta_analysis_grouped
from emmie.effect.metareg import meta_regression

REFERENCE = json.loads((Path(__file__).resolve().parents[1] / "fixtures/metafor/se_tau2/he_sj.json").read_text())
YI, VI = np.array(REFERENCE["yi"]), np.array(REFERENCE["vi"])
MODS = {
    "ablat": np.column_stack([REFERENCE["ablat"]]),
    "ablat+year": np.column_stack([REFERENCE["ablat"], REFERENCE["year"]]),
}


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=lambda c: f"{c['method']}-{c['mods']}")
def test_se_tau2_matches_metafor(case):
    if case["mods"] == "none":
        fit = meta_analysis(YI, VI, method=case["method"])
    else:
        fit = meta_regression(YI, VI, MODS[case["mods"]], method=case["method"])
    assert fit.tau2 == pytest.approx(case["tau2"], rel=1e-10)
    assert fit.se_tau2 == pytest.approx(case["se_tau2"], rel=1e-10)


@pytest.mark.parametrize("method", ["HE", "SJ"])
def test_grouped_fits_give_the_same_se_tau2(method):
    frame = pd.DataFrame({"yi": [*YI, 0.3], "vi": [*VI, 0.1], "g": [0] * 6 + [1] * 7 + [2]})
    got = meta_analysis_grouped(frame, "g", method=method).set_index("g")
    for g in (0, 1):
        part = frame[frame["g"] == g]
        one = meta_analysis(part["yi"].to_numpy(), part["vi"].to_numpy(), method=method)
        assert got.loc[g, "se_tau2"] == pytest.approx(one.se_tau2, rel=1e-12)
    assert np.isnan(got.loc[2, "se_tau2"])  # one study: no heterogeneity to estimate


def test_sj_with_equal_effects_has_a_zero_standard_error_as_metafor():
    # metafor 3.8-1: rma(c(0.2, 0.2, 0.2), c(0.01, 0.02, 0.03), method = "SJ") gives tau2 0 and se.tau2 0
    fit = meta_analysis([0.2, 0.2, 0.2], [0.01, 0.02, 0.03], method="SJ")
    assert fit.tau2 == 0.0 and fit.se_tau2 == pytest.approx(0.0, abs=1e-15)
    frame = pd.DataFrame({"yi": [0.2, 0.2, 0.2], "vi": [0.01, 0.02, 0.03], "g": [1, 1, 1]})
    assert meta_analysis_grouped(frame, "g", method="SJ")["se_tau2"].iloc[0] == pytest.approx(0.0, abs=1e-15)
