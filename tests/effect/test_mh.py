"""Mantel-Haenszel and Peto pooling (issue 16, item 3) against metafor 3.8-1's rma.mh and rma.peto
(tests/fixtures/metafor/mh/mh.json, made by mh_reference.R in that folder): dat.bcg, dat.nielweise2007 (zero cells,
one table with no events) and dat.hart1999 (person-time). Closed forms: 1e-10."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emmie.effect.mh import meta_analysis_mh, meta_analysis_peto
from emmie.errors import AnalysisError

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "mh" / "mh.json").read_text())


@pytest.mark.parametrize("case", REF["cases"], ids=[c["name"] for c in REF["cases"]])
def test_against_metafor(case):
    data = REF[case["data"]]
    fit = meta_analysis_peto(**data) if case["method"] == "PETO" else meta_analysis_mh(case["measure"], **data)
    got = [fit.estimate, fit.se, fit.zval, fit.pval, fit.ci_lb, fit.ci_ub, fit.q, fit.q_pval, fit.i2, fit.h2]
    want = [case[k] for k in ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "QE", "QEp", "I2", "H2")]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    assert fit.k == case["k"]
    if (case.get("CMH") or {}).get("stat") is not None:
        np.testing.assert_allclose([fit.cmh, fit.cmh_pval], [case["CMH"]["stat"], case["CMH"]["pval"]], rtol=1e-10)
    if (case.get("cochran") or {}).get("stat") is not None:
        ref = [case["cochran"]["stat"], case["cochran"]["pval"], case["tarone"]["stat"], case["tarone"]["pval"]]
        np.testing.assert_allclose([fit.cochran, fit.cochran_pval, fit.tarone, fit.tarone_pval], ref, rtol=1e-9)


def test_cmh_continuity_correction_both_ways():
    data = REF["bcg"]
    with_cc, without = meta_analysis_mh("OR", **data), meta_analysis_mh("OR", **data, correct=False)
    assert without.cmh > with_cc.cmh and with_cc.estimate == without.estimate


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: meta_analysis_mh("SMD", ai=[1], bi=[2], ci=[3], di=[4]), "takes OR, RR, RD, IRR, IRD"),
        (
            lambda: meta_analysis_mh("OR", ai=[1, -1], bi=[2, 2], ci=[3, 3], di=[4, 4]),
            "ai: row 1 is -1; expected a count >= 0",
        ),
        (lambda: meta_analysis_mh("IRR", x1i=[1], t1i=[10]), "needs x1i, t1i, x2i, t2i"),
        (lambda: meta_analysis_peto(ai=[1], ci=[2]), "missing bi, di"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(AnalysisError, match=message):
        call()
