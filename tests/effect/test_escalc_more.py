"""The escalc measures of issue 16 item 3 against metafor 3.8-1 (tests/fixtures/metafor/escalc/escalc_more.json, made
by escalc_more_reference.R in that folder): proportions, incidence rates, change scores, PETO and AS, with zero cells,
to 1e-12 (closed forms)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emmie.effect import effect_sizes
from emmie.errors import AnalysisError

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "escalc" / "escalc_more.json").read_text())
INPUTS = {
    "PR": lambda: {k: REF["prop"][k] for k in ("xi", "ni")},
    "PLO": lambda: {k: REF["prop"][k] for k in ("xi", "ni")},
    "PAS": lambda: {k: REF["prop"][k] for k in ("xi", "ni")},
    "PFT": lambda: {k: REF["prop"][k] for k in ("xi", "ni")},
    "IRR": lambda: REF["rate"],
    "IRD": lambda: REF["rate"],
    "IRLN": lambda: {"xi": REF["rate"]["x1i"], "ti": REF["rate"]["t1i"]},
    "SMCR": lambda: {k: REF["change"][k] for k in ("m1i", "m2i", "sd1i", "ni", "ri")},
    "SMCC": lambda: REF["change"],
    "PETO": lambda: REF["tab"],
    "AS": lambda: REF["tab"],
}


@pytest.mark.parametrize("case", REF["cases"], ids=[c["measure"] for c in REF["cases"]])
def test_measure_against_metafor(case):
    got = effect_sizes(case["measure"], **INPUTS[case["measure"]]())
    np.testing.assert_allclose(got["yi"], case["yi"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got["vi"], case["vi"], rtol=1e-12, atol=1e-15)


def test_continuity_correction_only_where_metafor_applies_it():
    """A zero count gets 1/2 for PLO, IRR, IRD, IRLN and PETO; never for PAS, PFT and AS (finite at 0); to = "none"
    turns it off."""
    assert np.isfinite(effect_sizes("PLO", xi=[0], ni=[10])["yi"]).all()
    assert effect_sizes("PAS", xi=[0], ni=[10])["yi"].iloc[0] == 0.0
    assert np.isinf(effect_sizes("PLO", xi=[0], ni=[10], to="none")["yi"]).all()
    assert np.isinf(effect_sizes("IRR", x1i=[0], t1i=[10], x2i=[2], t2i=[10], to="none")["yi"]).all()
    as_ = effect_sizes("AS", ai=[0], bi=[10], ci=[2], di=[8])
    assert as_["yi"].iloc[0] == pytest.approx(-np.arcsin(np.sqrt(0.2)), rel=1e-15)


@pytest.mark.parametrize(
    ("measure", "inputs", "message"),
    [
        ("IRR", {"x1i": [-1], "t1i": [10], "x2i": [2], "t2i": [10]}, "x1i = -1; expected a count >= 0"),
        ("IRD", {"x1i": [1], "t1i": [0], "x2i": [2], "t2i": [10]}, "t1i = 0; expected a person-time > 0"),
        ("SMCC", {"m1i": [1], "m2i": [0], "sd1i": [1], "sd2i": [1], "ni": [20], "ri": [1.5]}, "ri = 1.5"),
        ("SMCR", {"m1i": [1], "m2i": [0], "sd1i": [0], "ni": [20], "ri": [0.5]}, "sd1i = 0"),
        ("IRR", {"x1i": [1], "t1i": [10]}, "needs x1i, t1i, x2i, t2i"),
    ],
)
def test_bad_inputs_name_the_row_and_what_was_expected(measure, inputs, message):
    with pytest.raises(AnalysisError, match=message.replace("(", r"\(").replace(")", r"\)")):
        effect_sizes(measure, **inputs)
