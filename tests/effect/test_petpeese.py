"""PET-PEESE (issue 17, item 2) against R's lm and clubSandwich (tests/fixtures/metafor/petpeese/petpeese.json, made
by petpeese_reference.R in that folder) to 1e-8, and the conditional rule on both sides of its threshold."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emmie.effect.petpeese import pet_peese
from emmie.errors import AnalysisError

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "petpeese" / "petpeese.json").read_text())


@pytest.mark.parametrize("name", list(REF))
def test_pet_and_peese_against_r(name):
    case = REF[name]
    fit = pet_peese(case["yi"], case["vi"], cluster=case.get("cluster") or None)  # R's NULL is {} in the JSON
    for part in ("pet", "peese"):
        got, ref = getattr(fit, part), case[part]
        for mine, theirs in (("coef", "coef"), ("se", "se"), ("tstat", "tstat"), ("pval", "pval"), ("df", "df")):
            np.testing.assert_allclose(getattr(got, mine), ref[theirs], rtol=1e-8, atol=1e-12, err_msg=f"{part} {mine}")
    assert fit.cluster_robust == bool(case.get("cluster"))


def test_the_conditional_rule_on_both_sides():
    """PEESE when PET's intercept is significant one-sided at alpha, else PET: hackshaw's PET intercept has
    two-sided p = 0.954 (PET); an alpha just above and just below its one-sided p flips the choice."""
    case = REF["hackshaw"]
    fit = pet_peese(case["yi"], case["vi"])
    assert fit.chosen == "PET" and fit.estimate == pytest.approx(case["pet"]["coef"][0], rel=1e-8)
    one_sided = case["pet"]["pval"][0] / 2
    assert pet_peese(case["yi"], case["vi"], alpha=one_sided * 1.001).chosen == "PEESE"
    assert pet_peese(case["yi"], case["vi"], alpha=one_sided * 0.999).chosen == "PET"
    chosen = pet_peese(case["yi"], case["vi"], alpha=0.49)
    assert chosen.estimate == pytest.approx(case["peese"]["coef"][0], rel=1e-8)
    assert chosen.ci_lb < chosen.estimate < chosen.ci_ub


def test_bad_input():
    with pytest.raises(AnalysisError, match="at least 3 effect sizes"):
        pet_peese([0.1, 0.2], [0.01, 0.02])
    with pytest.raises(AnalysisError, match="alpha = 0.7"):
        pet_peese([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], alpha=0.7)
