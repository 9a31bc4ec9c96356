"""Influence diagnostics (issue 16, item 3) against metafor 3.8-1 (tests/fixtures/metafor/influence/influence.json,
made by influence_reference.R in that folder): influence() of rma.uni fits on dat.bcg, and the cluster-level Cook's
distances and DFBETAS and the hat values of a multilevel fit on dat.konstantopoulos2011. Tolerance 1e-6: tau^2 is
iterated in both (metafor to 1e-12 here)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emmie.effect.influence import influence, influence_mv
from emmie.effect.multilevel import meta_analysis_mv

REF = json.loads((Path(__file__).parents[1] / "fixtures" / "metafor" / "influence" / "influence.json").read_text())
COLUMNS = ("rstudent", "dffits", "cook_d", "cov_r", "tau2_del", "qe_del", "hat", "weight")


@pytest.mark.parametrize("case", REF["cases"], ids=[c["name"] for c in REF["cases"]])
def test_influence_against_metafor(case):
    mods = np.asarray(REF["ablat"], dtype=float) if "ablat" in case["name"] else None
    control = {"threshold": 1e-12, "maxiter": 10000}  # as the reference runs
    got = influence(REF["yi"], REF["vi"], mods=mods, method=case["method"], test=case["test"], control=control)
    for col in COLUMNS:
        np.testing.assert_allclose(got[col], case[col], rtol=1e-6, atol=1e-9, err_msg=col)
    dfb = got[[c for c in got.columns if c.startswith("dfbetas_")]].to_numpy()
    np.testing.assert_allclose(dfb, np.asarray(case["dfbetas"], dtype=float), rtol=1e-6, atol=1e-9)
    assert list(got["influential"]) == case["influential"]


def test_the_influence_flag_on_both_sides_of_its_rules():
    """An outlying, precise study is flagged; with it made ordinary, none is."""
    yi = np.array([0.1, 0.15, 0.2, 0.12, 0.18, 0.14, 0.16, 1.5])
    vi = np.array([0.02] * 7 + [0.002])
    flagged = influence(yi, vi)
    assert bool(flagged["influential"].iloc[-1]) and not flagged["influential"].iloc[:-1].any()
    yi[-1] = 0.15
    vi[-1] = 0.02
    assert not influence(yi, vi)["influential"].any()


def test_cluster_level_influence_of_a_multilevel_model():
    mv = REF["mv"]
    data = pd.DataFrame({"district": mv["district"], "school": mv["school"]})
    result = influence_mv(mv["yi"], mv["vi"], random="~ 1 | district/school", data=data)
    got = result.clusters.set_index("cluster")
    for label, cook, dfb in zip(mv["clusters"], mv["cook_d"], mv["dfbetas"], strict=True):
        if cook == "NA":  # metafor's refit without district 12 did not converge; emmie's did
            assert np.isfinite(got.at[label, "cook_d"])
            continue
        np.testing.assert_allclose(got.at[label, "cook_d"], cook, rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(got.at[label, "dfbetas_intrcpt"], dfb, rtol=1e-5, atol=1e-9)
    fit = meta_analysis_mv(mv["yi"], mv["vi"], random="~ 1 | district/school", data=data)
    np.testing.assert_allclose(fit.hatvalues(), mv["hat"], rtol=1e-6)

    # metafor's rstudent(fit, cluster = district): each effect size's deleted residual and the cluster's X2; metafor's
    # refits of districts 12, 86 and 91 did not converge (NA), emmie's did
    for label, x2 in zip(mv["X2_clusters"], mv["X2"], strict=True):
        if x2 == "NA":
            assert np.isfinite(got.at[label, "X2"])
        else:
            np.testing.assert_allclose(got.at[label, "X2"], x2, rtol=1e-5)
    ok = [i for i, z in enumerate(mv["rstudent_z"]) if z != "NA"]
    np.testing.assert_allclose(result.rows["z"].to_numpy()[ok], [mv["rstudent_z"][i] for i in ok], rtol=1e-5)
    np.testing.assert_allclose(result.rows["se"].to_numpy()[ok], [mv["rstudent_se"][i] for i in ok], rtol=1e-5)
