"""Predictions at new moderator values, fitted values and residuals of a meta-regression (issue 16, "the univariate
gaps") against metafor: tests/fixtures/metafor/predict/predict.json, made by predict_reference.R beside it (R 4.2.2,
metafor 3.8-1; tau^2 at a threshold of 1e-12, so the fits agree to 1e-9)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emmie.effect import meta_regression
from emmie.errors import AnalysisError

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "predict" / "predict.json").read_text())
MODS = pd.DataFrame({"ablat": REF["ablat"], "year": REF["year"]})
NEW = np.array(REF["newmods"])


def _fit(method, test, **extra):
    return meta_regression(
        REF["yi"], REF["vi"], MODS, method=method, test=test, control={"threshold": 1e-12, "maxiter": 10000}, **extra
    )


@pytest.mark.parametrize("case", REF["cases"], ids=[f"{c['method']}-{c['test']}" for c in REF["cases"]])
def test_predict_fitted_and_residuals_match_metafor(case):
    fit = _fit(case["method"], case["test"])
    got = fit.predict(NEW)
    for column in ("pred", "se", "ci_lb", "ci_ub", "pi_lb", "pi_ub"):
        if case[column] == {}:  # metafor gives no prediction interval for an equal-effects fit
            assert got[column].isna().all()
        else:
            np.testing.assert_allclose(got[column], case[column], rtol=1e-8, err_msg=column)
    np.testing.assert_allclose(fit.fitted(), case["fitted"], rtol=1e-8)
    np.testing.assert_allclose(fit.residuals(), case["residuals"], rtol=1e-7, atol=1e-10)


def test_predict_shapes_and_refusals():
    fit = _fit("REML", "z")
    one = fit.predict(NEW[1])  # several moderators: a 1-D array is one prediction
    assert len(one) == 1 and one["pred"].iloc[0] == pytest.approx(fit.predict(NEW)["pred"].iloc[1], rel=1e-14)
    single = meta_regression(REF["yi"], REF["vi"], MODS["ablat"])
    assert len(single.predict([10, 30, 50])) == 3  # one moderator: a value per prediction
    with pytest.raises(AnalysisError, match=r"newmods has 3 columns; the fit has 2 \(ablat, year\)"):
        fit.predict(np.ones((2, 3)))
    with pytest.raises(AnalysisError, match="must be finite"):
        fit.predict([[np.nan, 1960]])
    robust = _fit("REML", "z", cluster=list(range(len(REF["yi"]))))
    with pytest.raises(AnalysisError, match="cluster-robust covariance"):
        robust.predict(NEW)
