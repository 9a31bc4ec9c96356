"""Multivariate models with a structured random effect (metafor's rma.mv with random = ~ outcome | trial and
struct = UN, CS, DIAG) on dat.berkey1998, against metafor 3.8-1 and clubSandwich 0.5.8
(tests/fixtures/metafor/mv/struct.json, made by struct_reference.R in that folder). Tolerance 1e-5 relative: for
some structures nlminb reports non-convergence at tight settings, and the script then keeps metafor's defaults,
which stop within about 1e-6 of the maximum; the log-likelihood agrees to 1e-9 and emmie's is never the lower."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emmie.effect.multilevel import meta_analysis_mv
from emmie.errors import AnalysisError

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "mv" / "struct.json").read_text())
DATA = pd.DataFrame({"trial": REF["trial"], "outcome": REF["outcome"]})
V = np.array(REF["V"], dtype=float)


def fit(struct: str, method: str = "REML"):
    return meta_analysis_mv(
        REF["yi"], V=V, random="~ outcome | trial", struct=struct, data=DATA, mods=DATA[["outcome"]],
        intercept=False, method=method,
    )  # fmt: skip


@pytest.mark.parametrize("case", REF["cases"], ids=[f"{c['struct']} {c['method']}" for c in REF["cases"]])
def test_structured_model_against_metafor(case):
    f = fit(case["struct"], case["method"])
    np.testing.assert_allclose(f.coef, case["coef"], rtol=1e-5)
    np.testing.assert_allclose(f.se, case["se"], rtol=1e-5)
    np.testing.assert_allclose(f.tau2, np.atleast_1d(case["tau2"]), rtol=1e-5)
    if case["struct"] in ("UN", "CS"):
        np.testing.assert_allclose(f.rho, np.atleast_1d(case["rho"]), rtol=1e-5)
    else:
        assert f.rho is None and case["rho"] == 0
    assert f.loglik >= case["loglik"] - 1e-9 and f.loglik == pytest.approx(case["loglik"], abs=1e-7)
    assert f.QE == pytest.approx(case["QE"], rel=1e-9)
    assert f.QM == pytest.approx(case["QM"], rel=1e-5)
    r = f.robust()
    np.testing.assert_allclose(r.se, case["cr2_se"], rtol=1e-5)
    np.testing.assert_allclose(r.df, case["cr2_df"], rtol=1e-5)


def test_structured_term_input_errors():
    with pytest.raises(AnalysisError, match="struct = 'HCS'; expected one of CS, UN, DIAG, ID"):
        fit("HCS")
    with pytest.raises(AnalysisError, match="at most one '~ inner | outer' term"):
        meta_analysis_mv(REF["yi"], V=V, random=["~ outcome | trial", "~ outcome | trial"], data=DATA)
    with pytest.raises(AnalysisError, match="column 'arm' is not in data"):
        meta_analysis_mv(REF["yi"], V=V, random="~ arm | trial", data=DATA)
    with pytest.raises(AnalysisError, match="needs its inner level"):
        fit("UN").predict()
