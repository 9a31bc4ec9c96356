"""BLUPs of the studies' true effects against metafor 3.8-1's blup() (issue 16, "the univariate gaps"):
fixtures/metafor/blup/blup.json, made by blup_reference.R in the same folder (dat.bcg; REML with z and Knapp-Hartung,
DL, EE, and REML with a missing yi)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emmie.effect import blup, meta_analysis, ranef

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "blup" / "blup.json").read_text())
YI, VI = np.array(REF["yi"]), np.array(REF["vi"])
TIGHT = {"threshold": 1e-12, "maxiter": 10_000}


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: f"{c['method']}-{c['test']}-{len(c['pred'])}")
def test_blups_as_metafor(case):
    yi = YI.copy()
    if "missing_yi_row" in case:
        yi[case["missing_yi_row"] - 1] = np.nan
    got = blup(yi, VI, method=case["method"], test=case["test"], control=TIGHT)
    for ours, theirs in (("pred", "pred"), ("se", "se"), ("pi_lb", "pi_lb"), ("pi_ub", "pi_ub")):
        np.testing.assert_allclose(got[ours], case[theirs], rtol=1e-8, atol=1e-12, err_msg=ours)
    expected_rows = [i for i in range(YI.size) if i != case.get("missing_yi_row", 0) - 1]
    assert got["row"].tolist() == expected_rows


def test_blups_shrink_each_estimate_towards_the_pooled_one():
    fit = meta_analysis(YI, VI)
    got = blup(YI, VI)
    between = (np.minimum(YI, fit.estimate) <= got["pred"]) & (got["pred"] <= np.maximum(YI, fit.estimate))
    assert between.all()
    # more precise studies are shrunk less: the share of the study's own estimate is tau^2 / (tau^2 + vi)
    share = (got["pred"] - fit.estimate) / (YI - fit.estimate)
    np.testing.assert_allclose(share, fit.tau2 / (fit.tau2 + VI), rtol=1e-10)


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: f"{c['method']}-{c['test']}-{len(c['pred'])}")
def test_random_effects_as_metafor(case):
    yi = YI.copy()
    if "missing_yi_row" in case:
        yi[case["missing_yi_row"] - 1] = np.nan
    got = ranef(yi, VI, method=case["method"], test=case["test"], control=TIGHT)
    for name in ("pred", "se", "pi_lb", "pi_ub"):
        np.testing.assert_allclose(got[name], case["ranef"][name], rtol=1e-8, atol=1e-12, err_msg=name)
    # a study's BLUP is mu plus its random effect
    fit = meta_analysis(yi, VI, method=case["method"], test=case["test"], control=TIGHT)
    true = blup(yi, VI, method=case["method"], test=case["test"], control=TIGHT)
    np.testing.assert_allclose(true["pred"], fit.estimate + got["pred"], rtol=1e-12, atol=1e-14)
