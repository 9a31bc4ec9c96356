"""Numbers into words: GRADE informative statements, direction-only verdicts, natural frequencies."""

import math

import pytest

from emmie.effect.bayes import CONFIDENT, RULED_OUT, decide
from emmie.findings import certainty as gr
from emmie.findings.effect import (
    choose_body,
    direction_only_statement,
    found_text,
    informative_statement,
    magnitude,
    natural_frequency,
    plain_names,
)
from emmie.findings.mechanisms import proposition_verdict
from emmie.findings.text import fmt_p_short, fmt_prob, join_some

NAMES = plain_names({"label": "Reoffending (any)", "desirable": "lower"})


def test_plain_names_from_the_label_and_direction():
    assert NAMES["noun"] == "reoffending" and NAMES["benefit_verb"] == "reduces" and NAMES["harm_verb"] == "increases"
    up = plain_names({"label": "Kinship placement", "desirable": "higher", "plain": {"noun": "kinship care"}})
    assert up["noun"] == "kinship care" and up["benefit_verb"] == "increases"


@pytest.mark.parametrize(
    ("level", "size", "benefit", "text"),
    [
        ("high", "important", True, "CBT reduces reoffending."),
        ("moderate", "important", True, "CBT probably reduces reoffending."),
        ("low", "important", True, "CBT may reduce reoffending."),
        ("low", "important", False, "CBT may increase reoffending."),
        ("high", "trivial", True, "CBT results in little to no difference in reoffending."),
        ("moderate", "trivial", False, "CBT probably results in little to no difference in reoffending."),
        ("low", "trivial", True, "CBT may result in little to no difference in reoffending."),
        ("very low", "important", True, "The evidence is very uncertain about the effect of CBT on reoffending."),
        ("very low", "trivial", False, "The evidence is very uncertain about the effect of CBT on reoffending."),
    ],
)
def test_informative_statements_santesso_2020(level, size, benefit, text):
    assert informative_statement(level, size, benefit, "CBT", NAMES) == text


@pytest.mark.parametrize(
    ("est", "ci", "mid", "size"),
    [
        (0.2, (0.1, 0.3), 0.2, "important"),  # at the MID
        (0.19, (0.1, 0.3), 0.2, "trivial"),
        (0.3, (0.01, 0.6), None, "important"),  # no MID: the CI excludes no effect
        (0.3, (0.0, 0.6), None, "trivial"),
    ],
)
def test_magnitude_against_the_mid_or_no_effect(est, ci, mid, size):
    assert magnitude(est, *ci, mid) == size


def test_little_to_no_evidence_when_no_comparative_study_shows_a_benefit():
    text = direction_only_statement("very low", {"no_change": 1}, 1, "Signs of Safety", NAMES)
    assert text.startswith("The evidence is very uncertain about the effect of Signs of Safety on reoffending.")
    assert (
        "There is little to no evidence that it reduces reoffending: the one comparative study found no change." in text
    )
    assert "not evidence that it does not work" in text
    # Harm and no benefit: a possible harm, said plainly, never "lack of evidence".
    text = direction_only_statement("very low", {"no_change": 1, "harm": 1}, 2, "SoS", NAMES)
    assert (
        "No comparative study found a benefit, and of 2 comparative studies, 1 found harm and 1 found no change" in text
    )
    assert text.endswith("a possible harm.") and "little to no evidence" not in text
    # One benefit among them: no longer "little to no evidence".
    text = direction_only_statement("very low", {"benefit": 1, "harm": 1}, 2, "SoS", NAMES)
    assert text.startswith("The evidence is very uncertain about the effect of SoS on reoffending.")
    assert (
        "little to no evidence" not in text and "Of 2 comparative studies, 1 found a benefit and 1 found harm." in text
    )
    text = direction_only_statement("low", {"benefit": 2, "harm": 1}, 3, "SoS", NAMES)
    assert text.startswith("SoS may reduce reoffending.")
    text = direction_only_statement("low", {"benefit": 1, "harm": 2}, 3, "SoS", NAMES)
    assert text.startswith("SoS may increase reoffending.")
    text = direction_only_statement(None, {}, 0, "SoS", NAMES)
    assert text.startswith("No comparative study has measured")


@pytest.mark.parametrize(
    ("counts", "text"),
    [
        ({"benefit": 1}, "the one study found a benefit"),
        ({"benefit": 2}, "both studies found a benefit"),
        ({"benefit": 3}, "all 3 studies found a benefit"),
        ({"benefit": 1, "mixed": 1}, "of 2 studies, 1 found a benefit and 1 found mixed results"),
        ({}, "no study gave a usable direction"),
    ],
)
def test_found_text_reads_as_english(counts, text):
    assert found_text(counts, "study", "studies") == text


@pytest.mark.parametrize(
    ("rct", "all_", "body"),
    [("moderate", "very low", "randomised"), ("low", "low", "all"), ("low", "moderate", "all"), (None, "low", "all")],
)
def test_the_verdict_rests_on_the_body_with_higher_certainty(rct, all_, body):
    def cert(level):
        return None if level is None else gr.Certainty(level, "", ())

    assert choose_body(cert(all_), cert(rct)) == body


@pytest.mark.parametrize(
    ("measure", "p0", "x", "expected"),
    [
        ("OR", 0.5, math.log(3.0), 75),  # odds 1 -> 3
        ("RR", 0.2, math.log(1.5), 30),
        ("RD", 0.4, -0.1, 30),
    ],
)
def test_natural_frequencies_by_hand(measure, p0, x, expected):
    nf = natural_frequency(measure, p0, x, x, x)
    assert nf["control"] == pytest.approx(100 * p0) and nf["intervention"] == pytest.approx(expected)
    assert nf["difference"] == pytest.approx(expected - 100 * p0)
    assert natural_frequency("SMD", 0.5, 0.2, 0.1, 0.3) is None


def test_natural_frequency_interval_is_ordered():
    nf = natural_frequency("OR", 0.3, math.log(0.5), math.log(0.3), math.log(0.9))
    assert nf["lb"] <= nf["intervention"] <= nf["ub"]


@pytest.mark.parametrize(
    ("status", "evidence", "verdict"),
    [
        ("confirmed", ["asserted", "asserted"], "plausible, untested"),
        ("confirmed", ["described"], "plausible, untested"),
        ("confirmed", ["asserted", "observed"], "confirmed"),
        ("refined", ["tested"], "refined"),
        ("partly_supported", ["asserted"], "plausible, untested"),
        ("untested", [], "untested"),
        ("contradicted", ["asserted"], "contradicted"),
    ],
)
def test_confirmed_needs_observed_or_tested_support(status, evidence, verdict):
    assert proposition_verdict(status, evidence) == verdict


@pytest.mark.parametrize(
    ("p_benefit", "p_mid", "p_harm", "mid", "conclusion"),
    [
        (0.99, CONFIDENT, 0.0, 0.1, "important_benefit"),
        (0.99, CONFIDENT - 1e-9, 0.0, 0.1, "benefit"),
        (CONFIDENT, None, 0.0, None, "benefit"),
        (CONFIDENT - 1e-9, None, 0.0, None, "inconclusive"),
        (0.01, 0.0, CONFIDENT, 0.1, "harm"),
        (0.04, 0.0, CONFIDENT - 1e-9, 0.1, "evidence_of_absence"),
        (0.5, RULED_OUT - 1e-9, 0.4, 0.1, "evidence_of_absence"),
        (0.5, RULED_OUT, 0.4, 0.1, "absence_of_evidence"),
    ],
)
def test_bayesian_decision_thresholds_both_sides(p_benefit, p_mid, p_harm, mid, conclusion):
    assert (CONFIDENT, RULED_OUT) == (0.95, 0.05)
    assert decide(p_benefit, p_mid, p_harm, mid)[0] == conclusion


@pytest.mark.parametrize(
    ("p", "text"), [(0.991, "more than 99%"), (0.99, "99%"), (0.01, "1%"), (0.0099, "less than 1%"), (None, "–")]
)
def test_probabilities_never_round_to_certainty(p, text):
    assert fmt_prob(p) == text


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0009, "p < 0.001"), (0.001, "p = 0.001"), (0.0999, "p = 0.100"), (0.1, "p = 0.10"), (None, "p not available")],
)
def test_p_values_in_running_text(p, text):
    assert fmt_p_short(p) == text


def test_plural_counts_read_with_thousands_separators():
    from emmie.findings.text import plural

    assert plural(1, "study", "studies") == "1 study"
    assert plural(999, "result") == "999 results"
    assert plural(1000, "result") == "1,000 results"
    assert plural(10_000, "study", "studies") == "10,000 studies"


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (2, "o0 and o1"),
        (3, "o0, o1 and o2"),
        (4, "o0, o1, o2 and o3"),
        (5, "o0, o1, o2 and 2 more outcomes"),
        (1_003, "o0, o1, o2 and 1,000 more outcomes"),
    ],
)
def test_join_some_names_at_most_its_limit_then_counts_the_rest(n, expected):
    assert join_some([f"o{i}" for i in range(n)], "outcomes", most=3) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [(3, ["o0", "o1", "o2"]), (4, ["o0", "o1", "o2", "o3"]), (5, ["o0", "o1", "o2", "2 more"])],
)
def test_some_keeps_one_item_past_its_limit_and_counts_more(n, expected):
    from emmie.findings.text import some

    assert some([f"o{i}" for i in range(n)], most=3) == expected
