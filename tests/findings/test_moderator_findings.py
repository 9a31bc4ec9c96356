"""Moderator headlines name only what survives Holm adjustment; a missing result key fails loudly."""

import copy

import pytest

from emmie.findings import moderators as mf


def analysis(name, raw, holm, kind="continuous"):
    reg = {
        "kind": kind,
        "knha": {
            "names": ["intrcpt", name],
            "coef": [0.1, 0.2],
            "se": [0.05, 0.1],
            "ci_lb": [0.0, 0.0],
            "ci_ub": [0.2, 0.4],
            "pval": [0.04, raw],
            "qm": 4.0,
            "qm_df": 1,
            "qm_pval": raw,
            "df": 20.0,
            "r2": 10.0,
        },
        "permutation": {"qm_pval": raw, "n_perm": 1000},
    }
    a = {
        "outcome": "o",
        "moderator": name,
        "label": name.title(),
        "k": 22,
        "regression": reg,
        "multiplicity": {"n_tests": 2, "pval_knha_holm": holm, "pval_permutation_holm": holm},
        "studies": ["s1", "s2"],
    }
    if kind == "categorical":
        a["subgroups"] = {
            "subgroups": [
                {"level": "a", "k": 10, "estimate": 0.1, "ci_lb": 0.0, "ci_ub": 0.2, "tau2": 0.01, "i2": 10.0},
                {"level": "b", "k": 12, "estimate": 0.3, "ci_lb": 0.2, "ci_ub": 0.4, "tau2": 0.02, "i2": 20.0},
            ],
            "test_of_differences": {"df": 1, "df2": 20.0, "qm": 5.1, "pval": raw},
            "separate_tau2": {"q_between": 6.0, "df": 1, "pval": 0.014},
        }
    return a


@pytest.mark.parametrize(("holm", "named"), [(0.0499, True), (0.05, False)])
def test_headline_names_a_moderator_only_below_005_after_holm(holm, named):
    a = analysis("dose", 0.01, holm)
    f = mf.headline([a, analysis("age", 0.5, 1.0)], [], {})
    assert f.statement.startswith("The effect varies with dose") == named
    assert f.numbers["surviving"] == (["dose"] if named else [])
    if not named:
        assert f.statement.startswith("None of the 2 moderators analysed survives adjustment")
        assert "the closest, dose (p = 0.010 unadjusted), has a Holm-adjusted p = 0.050" in f.statement


def test_a_coding_artefact_context_never_heads_the_moderators():
    contexts = [
        {"context": "Community setting", "role": "enables", "mechanism": "Thinking", "evidence": "asserted", "n": 31}
    ]
    f = mf.headline([analysis("setting", 0.16, 1.0)], contexts, {})
    assert "Community setting" not in f.statement
    assert f.statement.startswith(
        "The one moderator analysed, setting, is not clearly associated with the effect (p = 1.00). With one "
        "characteristic tested"
    )
    assert "The 1 context-mechanism link in the coded theory rests on asserted evidence only." in f.statement
    observed = [{**contexts[0], "evidence": "observed", "n": 2}]
    assert "community setting enables thinking" in mf.headline([], observed, {}, pooled=False).statement


def test_every_analysis_is_laid_out_with_its_numbers():
    view = mf.analysis_view(analysis("setting", 0.16, 1.0, kind="categorical"), "OR", "Reoffending")
    assert view["table"]["columns"][:3] == ["Level", "k", "Estimate"]
    assert view["table"]["rows"][1] == ["b", "12", "0.300", "0.200 to 0.400", "0.0200", "20.0"]
    assert "F(1, 20) = 5.10, p = 0.16" in view["tests"] and "Holm-adjusted" in view["tests"]
    reg = mf.analysis_view(analysis("dose", 0.01, 0.02), None)
    assert reg["table"]["rows"][1][0] == "dose" and "permutation test p = 0.010" in reg["tests"]


@pytest.mark.parametrize("key", ["regression", "label", "k"])
def test_a_missing_result_key_fails_loudly(key):
    a = copy.deepcopy(analysis("setting", 0.16, 1.0, kind="categorical"))
    del a[key]
    with pytest.raises(KeyError):
        mf.analysis_view(a, "OR")
    broken = copy.deepcopy(analysis("setting", 0.16, 1.0, kind="categorical"))
    del broken["subgroups"]["test_of_differences"]
    with pytest.raises(KeyError):
        mf.analysis_view(broken, "OR")


@pytest.mark.parametrize(("n", "tail"), [(3, "c (Holm-adjusted p = 0.010)"), (4, "2 more")])
def test_headline_names_at_most_named_max_surviving_moderators_then_counts_the_rest(n, tail, monkeypatch):
    """NAMED_MAX = 2: three survivors are all named (one past the limit is named, not counted); four name two."""
    monkeypatch.setattr(mf, "NAMED_MAX", 2)
    f = mf.headline([analysis(name, 0.001, 0.01) for name in "abcd"[:n]], [], {})
    assert f.statement == (
        f"The effect varies with a (Holm-adjusted p = 0.010); b (Holm-adjusted p = 0.010); {tail}, out of {n} "
        "moderators analysed."
    )
