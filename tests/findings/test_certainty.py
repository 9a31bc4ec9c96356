"""GRADE-style certainty rules: each cut-off checked on both sides."""

import pytest

from emmie.findings import certainty as gr


@pytest.mark.parametrize(
    ("designs", "weights", "start"),
    [
        (["rct", "quasi_experimental"], [1.0, 1.0], "high"),  # exactly half the weight: high
        (["rct", "quasi_experimental"], [0.99, 1.0], "low"),  # just under half
        (["rct", "rct", "quasi_experimental"], None, "high"),
        (["rct", "quasi_experimental", "quasi_experimental"], None, "low"),
        (["quasi_experimental"], None, "low"),
    ],
)
def test_start_level_at_half_the_weight_of_randomised_trials(designs, weights, start):
    assert gr.start_level(designs, weights)[0] == start
    assert gr.RCT_WEIGHT_FOR_HIGH == 0.5


@pytest.mark.parametrize(
    ("robs", "weights", "down"),
    [
        (["serious", "low"], [1.0, 1.0], 1),  # half the weight at high risk: down one
        (["serious", "low"], [0.99, 1.0], 0),
        (["critical", "low"], [1.0, 1.0], 2),  # half at critical: down two
        (["critical", "serious", "low"], [0.99, 0.01, 1.0], 1),  # critical just under half, high at half
        (["moderate", "low", "some_concerns"], None, 0),
        (["high", "high", "low"], None, 1),
        (["not_assessed", "not_assessed"], None, 0),
    ],
)
def test_risk_of_bias_cut_offs(robs, weights, down):
    assert gr.risk_of_bias(robs, weights).down == down


@pytest.mark.parametrize(
    ("k", "i2", "pi", "down"),
    [
        (10, 50.0, (-0.1, 0.9), 1),  # at the cut-off, PI includes 0
        (10, 49.9, (-0.1, 0.9), 0),
        (10, 80.0, (0.1, 0.9), 0),  # large I² but every setting benefits
        (10, 80.0, (-0.9, -0.1), 0),
        (1, None, (None, None), 0),  # a single study: not judged
    ],
)
def test_inconsistency_needs_i2_at_50_and_a_prediction_interval_across_no_effect(k, i2, pi, down):
    assert gr.inconsistency(k, i2, *pi).down == down


@pytest.mark.parametrize(
    ("ci", "mid", "down"),
    [
        ((0.01, 0.5), None, 0),
        ((0.0, 0.5), None, 1),  # touches no effect
        ((-0.01, 0.5), None, 1),
        ((-0.2, 0.2), 0.2, 2),  # reaches important harm and important benefit
        ((-0.19, 0.2), 0.2, 1),
        ((-0.2, 0.19), 0.2, 1),
        ((0.05, 0.9), 0.2, 0),
    ],
)
def test_imprecision_against_no_effect_and_the_mid(ci, mid, down):
    assert gr.imprecision(*ci, "higher", mid).down == down


@pytest.mark.parametrize(
    ("k", "egger", "rank", "down"),
    [
        (10, 0.099, 0.5, 1),
        (10, 0.10, 0.5, 0),
        (10, 0.5, 0.099, 1),
        (10, 0.5, 0.10, 0),
        (9, 0.001, 0.001, 0),  # fewer than ten studies: not assessable
        (10, None, None, 0),
    ],
)
def test_publication_bias_at_k10_and_p010(k, egger, rank, down):
    j = gr.publication_bias(k, egger, rank)
    assert j.down == down
    if k < 10:
        assert "not assessable" in j.reason


def test_grade_counts_down_and_stops_at_very_low():
    down1 = gr.Judgement("x", 1, "r")
    assert gr.grade("high", "", []).level == "high"
    assert gr.grade("high", "", [down1]).level == "moderate"
    assert gr.grade("high", "", [down1, down1]).level == "low"
    assert gr.grade("high", "", [down1, down1, down1]).level == "very low"
    assert gr.grade("low", "", [down1, down1, down1]).level == "very low"
    c = gr.grade("low", "why", [])
    assert c.judgements[-1].domain == "indirectness" and c.judgements[-1].down == 0


def test_reviewer_override_keeps_the_proposal_beside_it():
    c = gr.grade("low", "why", [gr.Judgement("x", 1, "r")])
    o = gr.override(c, {"level": "low", "justification": "indirectness judged not serious here", "reviewer": "AB"})
    assert (o.level, o.proposed, o.overridden, o.reviewer) == ("low", "very low", True, "AB")
    assert gr.override(c, None) is c


def test_publication_bias_reason_writes_p_values_as_the_rest_of_the_page():
    """The GRADE reason and the small-study note quote the same p-values the same way (fmt_p_short): a p of 0.00099
    is 'p < 0.001' in both, never 'p = 0.001' in one of them (the CBT page had both)."""
    j = gr.publication_bias(19, 0.0009945633361479014, 0.00826350050919089)
    assert j.reason == "funnel-plot asymmetry (Egger p < 0.001, rank test p = 0.008): small-study effects suspected"
    assert "Egger p = 0.066" in gr.publication_bias(19, 0.0657, None).reason


@pytest.mark.parametrize(
    ("robs", "clause"),
    [
        (["low", "serious"], None),
        (["low", "not_assessed"], "studies whose risk of bias was not assessed carry 50% of the weight"),
        (["no_information", "not_assessed"], "studies whose risk of bias was not assessed carry 100% of the weight"),
        (["low", ""], "studies whose risk of bias was not assessed carry 50% of the weight"),
    ],
)
def test_risk_of_bias_says_how_much_of_the_weight_was_not_assessed(robs, clause):
    j = gr.risk_of_bias(robs, [1.0, 1.0])
    assert ("not assessed" in j.reason) == (clause is not None)
    if clause:
        assert j.reason.endswith(clause)
