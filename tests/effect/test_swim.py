"""Synthesis without meta-analysis: direction rules, the sign test and the effect-direction plot."""

from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from emmie.effect.swim import (
    effect_direction_plot,
    result_direction,
    sign_test,
    size_class,
    study_direction,
    synthesise,
)

NAN = float("nan")


@pytest.mark.parametrize(
    ("yi", "lb", "ub", "coded", "measure", "desirable", "rule", "expected"),
    [
        (0.4, 0.1, 0.7, "", "SMD", "higher", "direction", ("benefit", "estimate")),
        (0.4, 0.1, 0.7, "", "SMD", "lower", "direction", ("harm", "estimate")),
        (-0.2, -0.9, 0.5, "", "OR", "lower", "direction", ("benefit", "estimate")),
        (-0.2, -0.9, 0.5, "", "OR", "higher", "direction", ("harm", "estimate")),
        (0.0, -0.3, 0.3, "", "MD", "higher", "direction", ("no_change", "estimate")),
        # the interval rule: a CI that includes 0 is no_change, one wholly on a side follows that side
        (-0.2, -0.9, 0.5, "", "OR", "lower", "ci", ("no_change", "estimate")),
        (0.4, 0.1, 0.7, "", "RR", "lower", "ci", ("harm", "estimate")),
        (-0.4, -0.7, -0.1, "", "RD", "lower", "ci", ("benefit", "estimate")),
        # no estimate: the coded direction, else unclear
        (NAN, NAN, NAN, "harm", "NONE", "higher", "direction", ("harm", "coded")),
        (NAN, NAN, NAN, "", "NONE", "higher", "direction", ("unclear", "none")),
        # a single-arm proportion has no comparative estimate, whatever yi says
        (0.7, 0.6, 0.8, "benefit", "PROP", "lower", "direction", ("benefit", "coded")),
        (0.7, 0.6, 0.8, "", "PROP", "lower", "direction", ("unclear", "none")),
    ],
)
def test_result_direction_rules(yi, lb, ub, coded, measure, desirable, rule, expected):
    assert result_direction(yi, lb, ub, coded, measure=measure, desirable=desirable, rule=rule) == expected


def test_result_direction_rejects_bad_arguments():
    with pytest.raises(ValueError):
        result_direction(0.1, 0, 0.2, "", measure="SMD", desirable="up")
    with pytest.raises(ValueError):
        result_direction(0.1, 0, 0.2, "", measure="SMD", desirable="higher", rule="vote")
    with pytest.raises(ValueError):
        result_direction(NAN, NAN, NAN, "better", measure="NONE", desirable="higher")


@pytest.mark.parametrize(
    ("directions", "expected"),
    [
        (["benefit", "benefit", "benefit", "harm"], "benefit"),  # 75% >= 70%
        (["benefit", "benefit", "harm"], "mixed"),  # 67% < 70%
        (["harm", "harm", "harm", "unclear"], "harm"),  # unclear ignored
        (["no_change", "no_change"], "no_change"),
        (["unclear"], "unclear"),
        (["mixed"], "mixed"),
        (["benefit", "harm"], "mixed"),
    ],
)
def test_study_direction_70_percent_rule(directions, expected):
    assert study_direction(directions) == expected


def _binom_two_sided(x: int, n: int) -> float:
    """Hand computation: double the smaller tail of Binomial(n, 1/2), capped at 1."""
    tail = sum(comb(n, j) for j in range(max(x, n - x), n + 1)) / 2**n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize(("nb", "nh"), [(7, 1), (5, 0), (3, 3), (9, 4), (0, 6), (1, 1)])
def test_sign_test_matches_hand_computation(nb, nh):
    st = sign_test(nb, nh, n_excluded=2)
    assert st.pval == pytest.approx(_binom_two_sided(nb, nb + nh), rel=1e-12)
    assert st.n == nb + nh and st.n_excluded == 2
    assert st.proportion == pytest.approx(nb / (nb + nh))
    assert st.ci_lb <= st.proportion <= st.ci_ub


def test_sign_test_known_values_and_empty():
    assert sign_test(7, 1).pval == pytest.approx(18 / 256)
    assert sign_test(5, 0).pval == pytest.approx(1 / 16)
    # Wilson interval for 7/8 (Newcombe 1998 table values: 0.529, 0.978)
    st = sign_test(7, 1)
    assert st.ci_lb == pytest.approx(0.5291, abs=5e-4) and st.ci_ub == pytest.approx(0.9776, abs=5e-4)
    empty = sign_test(0, 0, n_excluded=3)
    assert empty.n == 0 and np.isnan(empty.pval)


def _results() -> tuple[pd.DataFrame, pd.DataFrame]:
    results = pd.DataFrame(
        {
            "effect_id": ["e1", "e2", "e3", "e4", "e5", "e6"],
            "study_id": ["s1", "s1", "s2", "s3", "s4", "s5"],
            "outcome": ["reentry", "reentry", "reentry", "reentry", "safety", "safety"],
            "domain": ["child safety", "child safety", "child safety", "child safety", "family", "family"],
            "desirable": ["lower", "lower", "lower", "lower", "higher", "higher"],
            "measure": ["OR", "GEN", "NONE", "NONE", "PROP", "SMD"],
            "yi": [-0.5, -0.2, NAN, NAN, 0.6, -0.1],
            "ci_lb": [-0.9, -0.5, NAN, NAN, 0.5, -0.4],
            "ci_ub": [-0.1, 0.1, NAN, NAN, 0.7, 0.2],
            "direction": ["", "harm", "benefit", "", "benefit", ""],
            "result_text": ["fewer re-entries", "", "reported improvement", "not reported", "70% safe", ""],
            "reason": ["only 1 poolable result"] * 6,
        }
    )
    studies = pd.DataFrame(
        {
            "study_id": ["s1", "s2", "s3", "s4", "s5"],
            "design": ["quasi_experimental", "before_after", "case_study", "cohort", "rct"],
            "rob_overall": ["serious", "critical", "no_information", "high", "low"],
            "n": [400.0, 120.0, NAN, 30.0, 80.0],
        }
    )
    return results, studies


def test_synthesise_tables_and_sign_tests():
    results, studies = _results()
    swim = synthesise(results, studies)
    t = swim.results.set_index("effect_id")
    assert list(t["direction"]) == ["benefit", "benefit", "benefit", "unclear", "benefit", "harm"]
    assert list(t["direction_source"]) == ["estimate", "estimate", "coded", "none", "coded", "estimate"]
    # e2 is coded harm but its estimate (-0.2 with desirable lower) is a benefit: flagged
    assert bool(t.at["e2", "conflict"]) and not bool(t.at["e1", "conflict"])
    assert bool(t.at["e1", "ci_excludes_null"]) and not bool(t.at["e2", "ci_excludes_null"])
    assert t.at["e1", "est"] == pytest.approx(np.exp(-0.5))  # OR shown as a ratio
    assert t.at["e1", "design"] == "quasi_experimental" and t.at["e4", "rob_overall"] == "no_information"
    s = swim.studies.set_index(["domain", "study_id"])
    assert s.at[("child safety", "s1"), "direction"] == "benefit"
    assert s.at[("child safety", "s1"), "n_results"] == 2
    assert s.at[("child safety", "s3"), "direction"] == "unclear"
    # Comparative studies (s1 quasi-experimental, s5 RCT) and uncontrolled ones are tested apart, never pooled.
    cs = swim.sign_tests["child safety"]
    assert (cs.n_benefit, cs.n_harm, cs.n_excluded) == (1, 0, 0)
    assert cs.pval == pytest.approx(1.0)
    cu = swim.sign_tests_uncontrolled["child safety"]
    assert (cu.n_benefit, cu.n_harm, cu.n_excluded) == (1, 0, 1)
    fam = swim.sign_tests["family"]
    assert (fam.n_benefit, fam.n_harm) == (0, 1) and fam.pval == pytest.approx(1.0)
    assert (swim.sign_tests_uncontrolled["family"].n_benefit, swim.sign_tests_uncontrolled["family"].n_harm) == (1, 0)
    d = swim.to_dict()
    assert [x["domain"] for x in d["domains"]] == ["child safety", "family"]
    assert d["domains"][0]["counts"]["benefit"] == 2 and d["rule"] == "direction"
    assert len(d["results"]) == len(results)


def test_synthesise_ci_rule_changes_counts():
    results, studies = _results()
    swim = synthesise(results, studies, rule="ci")
    t = swim.results.set_index("effect_id")
    assert t.at["e2", "direction"] == "no_change" and t.at["e6", "direction"] == "no_change"
    assert swim.sign_tests["family"].n_harm == 0


def test_synthesise_requires_columns():
    results, studies = _results()
    with pytest.raises(ValueError, match="domain"):
        synthesise(results.drop(columns="domain"), studies)


def test_size_class_boundaries():
    assert size_class(49)[0] == "small" and size_class(50)[0] == "medium"
    assert size_class(300)[0] == "medium" and size_class(301)[0] == "large"
    assert size_class(NAN)[0] == "unknown"


def test_effect_direction_plot_svg():
    results, studies = _results()
    swim = synthesise(results, studies)
    svg = effect_direction_plot(swim)
    assert svg == effect_direction_plot(swim)
    assert "<title>Effect direction plot</title>" in svg
    assert "\u25b2" in svg and "\u25bc" in svg and "Child safety" in svg  # domain heads as words
    assert "1/1, p = 1" in svg  # the comparative studies only


@given(st.integers(0, 40), st.integers(0, 40))
def test_sign_test_is_symmetric_and_a_probability(nb, nh):
    a, b = sign_test(nb, nh), sign_test(nh, nb)
    if nb + nh == 0:
        assert np.isnan(a.pval)
    else:
        assert 0 < a.pval <= 1
        assert a.pval == pytest.approx(b.pval)
        assert a.pval == pytest.approx(_binom_two_sided(nb, nb + nh), rel=1e-9)


def test_every_direction_has_its_own_glyph():
    """No direction is told apart by colour alone: 'no change' and 'mixed' differ in shape too."""
    from emmie.effect.swim import GLYPHS

    assert len(set(GLYPHS.values())) == len(GLYPHS)
