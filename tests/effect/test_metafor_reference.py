"""Every fit of every metafor reference data set, to the tolerances of the brief."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _refs import CR2_FILES, ESCALC, REFERENCE_FILES, close, load, raw

from emmie.effect import (
    cumulative,
    effect_sizes,
    egger_test,
    failsafe_n,
    heterogeneity_ci,
    leave_one_out,
    meta_analysis,
    meta_regression,
    rank_test,
    trim_and_fill,
)

# ruff: noqa: E402

FIELDS = ("estimate", "se", "stat", "pval", "ci_lb", "ci_ub", "pi_lb", "pi_ub", "tau2", "i2", "h2", "q", "q_pval", "k")
IDS = [p.stem for p in REFERENCE_FILES]
FIT_CASES = [(p, key) for p in REFERENCE_FILES for key in load(p)["fits"]]


def test_fixtures_present():
    assert len(REFERENCE_FILES) >= 17  # 9 visible + 8 from the hidden set
    assert len(FIT_CASES) >= 17 * 17


@pytest.mark.parametrize(("path", "key"), FIT_CASES, ids=[f"{p.stem}-{k}" for p, k in FIT_CASES])
def test_rma_fit(path, key):
    ref = load(path)
    method, test = key.split("_")
    res = meta_analysis(ref["yi"], ref["vi"], method=method, test=test)
    expected = ref["fits"][key]
    bad = [f for f in FIELDS if not close(getattr(res, f), expected[f])]
    assert not bad, {f: (getattr(res, f), expected[f]) for f in bad}


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=IDS)
def test_qprofile(path):
    ref = load(path)
    ci = heterogeneity_ci(ref["yi"], ref["vi"])
    for name in ("tau2", "i2", "h2"):
        assert close(ci[name], ref["qprofile"][name], rel=1e-3, abs_near_zero=1e-6), (
            name,
            ci[name],
            ref["qprofile"][name],
        )


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=IDS)
def test_leave1out_and_cumulative(path):
    ref = load(path)
    loo = leave_one_out(ref["yi"], ref["vi"])
    for col in ("estimate", "tau2", "i2"):
        assert close(loo[col].to_numpy(), ref["leave1out"][col]), col
    cum = cumulative(ref["yi"], ref["vi"])
    assert close(cum["estimate"].to_numpy(), ref["cumulative"])


@pytest.mark.parametrize("path", REFERENCE_FILES, ids=IDS)
def test_bias_tests(path):
    ref = load(path)
    y, v = ref["yi"], ref["vi"]
    stat, pval, _ = egger_test(y, v)
    assert close([stat, pval], [ref["regtest"]["stat"], ref["regtest"]["pval"]])
    tau, p = rank_test(y, v)
    assert close([tau, p], [ref["ranktest"]["tau"], ref["ranktest"]["pval"]])
    k0, side, est, tau2 = trim_and_fill(y, v)
    tf = ref["trimfill"]
    assert k0 == tf["k0"]
    assert side == tf["side"]
    assert close([est, tau2], [tf["estimate"], tf["tau2"]])
    assert failsafe_n(y, v) == ref["fsn_rosenthal"]


METAREG_FILES = [p for p in REFERENCE_FILES if "metareg" in load(p)]


@pytest.mark.parametrize("path", METAREG_FILES, ids=[p.stem for p in METAREG_FILES])
def test_meta_regression(path):
    ref = load(path)
    data = raw(path)
    mod = ref["metareg"]["moderator"]
    if "yi" in data and len(data) != len(ref["yi"]):
        data = data[data["yi"].notna()]
    mods = data[mod].to_numpy(dtype=float)
    res = meta_regression(ref["yi"], ref["vi"], mods)
    m = ref["metareg"]
    assert close(res.coef, m["coef"]) and close(res.se, m["se"])
    assert close(res.tau2, m["tau2"]) and close(res.r2, m["r2"])
    assert close(res.qm, m["qm"]) and close(res.qe, m["qe"])
    knha = meta_regression(ref["yi"], ref["vi"], mods, test="knha")
    mk = ref["metareg_knha"]
    assert close(knha.coef, mk["coef"]) and close(knha.se, mk["se"])
    assert close(knha.f, mk["f"]) and close(knha.qm_pval, mk["pval"])
    assert close(knha.pval, mk["pval"])  # the public name of the omnibus p-value, as in the API


ESCALC_FILES = [p for p in REFERENCE_FILES if p.stem in ESCALC]


@pytest.mark.parametrize("path", ESCALC_FILES, ids=[p.stem for p in ESCALC_FILES])
def test_effect_sizes_from_raw_data(path):
    ref = load(path)
    measure, columns = ESCALC[path.stem]
    data = raw(path)
    es = effect_sizes(measure, **{arg: data[col] for arg, col in columns.items()})
    es = es[es["yi"].notna() & es["vi"].notna()]
    assert len(es) == ref["k"]
    np.testing.assert_allclose(es["yi"], ref["yi"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(es["vi"], ref["vi"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("path", CR2_FILES, ids=[p.stem for p in CR2_FILES])
def test_cr2_against_clubsandwich(path):
    ref = load(path)
    metafor_defaults = {"stepadj": 1, "maxiter": 100}  # the R script fits rma() with default control
    for method in ("REML", "DL"):
        res = meta_analysis(
            ref["yi"], ref["vi"], method=method, cluster=ref["cluster_values"], control=metafor_defaults
        )
        r = ref[f"intercept_{method}"]
        assert res.cluster_robust and res.n_clusters == len(set(ref["cluster_values"]))
        assert close(
            [res.estimate, res.se, res.stat, res.df, res.pval, res.tau2],
            [r["estimate"], r["se"], r["tstat"], r["df"], r["pval"], r["tau2"]],
        )
    data = raw(path)
    mr = meta_regression(ref["yi"], ref["vi"], data[ref["moderator"]], cluster=ref["cluster_values"])
    r = ref["metareg_REML"]
    assert close(mr.coef, r["coef"]) and close(mr.se, r["se"]) and close(mr.coef_pval, r["pval"])
    assert close(mr.stat, r["tstat"]) and close(mr.tau2, r["tau2"])
