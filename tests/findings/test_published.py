"""The rules that set the published review's conclusions beside the rerun's, on both sides of each."""

from __future__ import annotations

import pytest

from emmie.findings import next_steps
from emmie.findings.model import Finding
from emmie.findings.published import (
    agreement_of_share,
    agreement_of_verdicts,
    effect_verdict,
    theory_holds,
)


def verdict(numbers, certainty="very low"):
    return {"numbers": numbers, "certainty": certainty}


@pytest.mark.parametrize(
    ("numbers", "desirable", "expected"),
    [
        ({"ci_lb": 0.1, "ci_ub": 0.5}, "higher", "benefit"),
        ({"ci_lb": 0.1, "ci_ub": 0.5}, "lower", "harm"),
        ({"ci_lb": -0.5, "ci_ub": -0.01}, "lower", "benefit"),
        ({"ci_lb": -0.5, "ci_ub": 0.01}, "lower", "little_to_no_evidence"),  # CI just includes 0
        ({"ci_lb": 0.0, "ci_ub": 0.3}, "higher", "little_to_no_evidence"),  # touching 0 is not excluding it
        ({"n_comparative": 0, "comparative": {}}, "lower", "no_comparative_evidence"),
        ({"n_comparative": 1, "comparative": {"no_change": 1}}, "lower", "little_to_no_evidence"),
        ({"n_comparative": 1, "comparative": {"harm": 1}}, "higher", "harm"),
        ({"n_comparative": 1, "comparative": {"benefit": 1}}, "higher", "benefit"),
        ({"n_comparative": 2, "comparative": {"benefit": 1, "harm": 1}}, "higher", "little_to_no_evidence"),
    ],
)
def test_effect_verdict(numbers, desirable, expected):
    assert effect_verdict(verdict(numbers), desirable) == expected


def test_effect_verdict_without_a_finding_is_no_comparative_evidence():
    assert effect_verdict(None, "higher") == "no_comparative_evidence"


@pytest.mark.parametrize(
    ("published", "rerun", "expected"),
    [
        ("little_to_no_evidence", "little_to_no_evidence", "agrees"),
        ("little_to_no_evidence", "no_comparative_evidence", "partly"),
        ("no_effect", "little_to_no_evidence", "partly"),
        ("little_to_no_evidence", "benefit", "differs"),
        ("benefit", "harm", "differs"),
        ("benefit", "benefit", "agrees"),
    ],
)
def test_agreement_of_verdicts(published, rerun, expected):
    assert agreement_of_verdicts(published, rerun) == expected


@pytest.mark.parametrize(
    ("finding", "expected"),
    [
        ({"certainty": "refined", "numbers": {"strongest_evidence": "observed"}}, "holds"),
        ({"certainty": "supported", "numbers": {"strongest_evidence": "tested"}}, "holds"),
        ({"certainty": "plausible, untested", "numbers": {"strongest_evidence": "described"}}, "untested"),
        ({"certainty": "untested", "numbers": {"strongest_evidence": None}}, "untested"),
        ({"certainty": "contradicted", "numbers": {"strongest_evidence": "observed"}}, "contradicted"),
        ({"certainty": "tested, not supported", "numbers": {}}, "contradicted"),
        (None, "untested"),
    ],
)
def test_theory_holds(finding, expected):
    assert theory_holds(finding) == expected


@pytest.mark.parametrize(
    ("held", "total", "contradicted", "expected"),
    [
        (3, 3, 0, "agrees"),
        (2, 3, 0, "partly"),
        (1, 3, 1, "partly"),
        (0, 3, 1, "differs"),  # a tested study points the other way
        (0, 3, 0, "not_reproduced"),  # absence of evidence is not disagreement
        (0, 0, 0, "not_reproduced"),
    ],
)
def test_agreement_of_share(held, total, contradicted, expected):
    assert agreement_of_share(held, total, contradicted) == expected


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        (["observed", "tested"], "holds"),
        (["observed", "described"], "untested"),  # the weakest link decides
        (["described", "described"], "untested"),
        (["observed", "none"], "untested"),
    ],
)
def test_theory_holds_on_its_weakest_link(evidence, expected):
    finding = {"certainty": "refined", "numbers": {"strongest_evidence": "observed"}}
    assert theory_holds(finding, [{"text": f"l{i}", "evidence": e} for i, e in enumerate(evidence)]) == expected


class FakeReview:
    def __init__(self, outcomes, theory=()):
        self.config = {"outcomes": outcomes, "initial_theory": list(theory)}


def ids(findings):
    return {f.id for f in findings}


def test_next_steps_follow_the_gaps_and_only_the_gaps():
    outcomes = [
        {"id": "a", "label": "Outcome A", "desirable": "higher", "primary": True},
        {"id": "b", "label": "Outcome B", "desirable": "higher"},
    ]
    review = FakeReview(outcomes, [{"id": "P1", "statement": "X works"}])
    thin = [
        Finding("effect.verdict.a", "effect", "s", rule="r", certainty="very low", numbers={"n_comparative": 1}),
        Finding(
            "mechanisms.theory.P1",
            "mechanisms",
            "s",
            rule="r",
            certainty="untested",
            numbers={"strongest_evidence": None},
        ),
        Finding("moderators.headline", "moderators", "s", rule="r", numbers={"analysed": 0}),
    ]
    thin.append(
        Finding(
            "effect.verdict.b",
            "effect",
            "s",
            rule="r",
            certainty="very low",
            numbers={"n_comparative": 1, "comparative": {"harm": 1}},
        )
    )
    got = next_steps.derive(review, thin, {"dimensions": {"economics": {"final": 1}}}, "X")
    assert ids(got) == {"next.effect", "next.theory", "next.harm.b", "next.moderators", "next.economics"}
    thin[-1] = Finding(
        "effect.verdict.b",
        "effect",
        "s",
        rule="r",
        certainty="very low",
        numbers={"n_comparative": 2, "comparative": {"harm": 1, "benefit": 1}},
    )
    got = next_steps.derive(review, thin, {"dimensions": {"economics": {"final": 1}}}, "X")
    assert "next.harm.b" not in ids(got)
    assert "next.outcomes" not in ids(got)  # b was measured by comparative studies
    got = next_steps.derive(review, thin[:3], {"dimensions": {"economics": {"final": 1}}}, "X")
    assert "next.outcomes" in ids(got)  # b never measured
    strong = [
        Finding("effect.verdict.a", "effect", "s", rule="r", certainty="moderate", numbers={"k": 12}),
        Finding("effect.verdict.b", "effect", "s", rule="r", certainty="low", numbers={"k": 3}),
        Finding(
            "mechanisms.theory.P1",
            "mechanisms",
            "s",
            rule="r",
            certainty="supported",
            numbers={"strongest_evidence": "tested"},
        ),
        Finding("moderators.headline", "moderators", "s", rule="r", numbers={"analysed": 4}),
    ]
    assert next_steps.derive(review, strong, {"dimensions": {"economics": {"final": 2}}}, "X") == []


def test_context_statement_splits_roles_only_when_studies_disagree():
    import pandas as pd

    from emmie.findings.mechanisms import context_roles

    class R:
        cmo = pd.DataFrame(
            {
                "context": ["c", "c", "d"],
                "mechanism": ["m", "m", "m"],
                "study_id": ["s1", "s2", "s3"],
                "evidence": ["described", "observed", "observed"],
            }
        )

    def ctx(name, enabling, refining):
        return {
            "context": name,
            "mechanism": "m",
            "context_label": name.upper(),
            "mechanism_label": "Mech",
            "role": "enables",
            "enabling_studies": enabling,
            "refining_studies": refining,
        }

    views, found = context_roles(R(), {"moderating_contexts": [ctx("c", ["s1"], ["s2"]), ctx("d", ["s3"], [])]})
    text = {f.id: f.statement for f in found}
    assert text["mechanisms.context.c.m"] == (
        "C enables mech (2 studies: 1 enabling, 1 refining; strongest evidence enabling described, refining observed)."
    )
    assert text["mechanisms.context.d.m"] == "D enables mech (1 study; evidence observed)."


def test_implementation_reason_names_the_themes_with_and_without_evidence():
    import pandas as pd

    from emmie.findings.published import _implementation

    class R:
        config = {"implementation_themes": [{"id": "a", "label": "Alpha"}, {"id": "b", "label": "Beta"}]}
        implementation = pd.DataFrame({"theme": ["a", "a"], "type": ["barrier", "enabler"], "study_id": ["s", "t"]})

    assert _implementation(R(), {"themes": ["a", "b"]}, {})[:2] == (
        "partly",
        "The rerun coded 1 barrier and 1 enabler; evidence on alpha, none on beta.",
    )
    assert _implementation(R(), {"themes": ["b"]}, {})[:2] == (
        "not_reproduced",
        "The rerun coded 1 barrier and 1 enabler; none on beta.",
    )
    assert _implementation(R(), {"themes": ["a"]}, {})[0] == "agrees"


def test_implementation_with_nothing_coded_is_not_reproduced():
    import pandas as pd

    from emmie.findings.published import _implementation

    class R:
        config = {"implementation_themes": [{"id": "a", "label": "Alpha"}]}
        implementation = pd.DataFrame({"theme": [], "type": [], "study_id": []})

    assert _implementation(R(), {"themes": ["a"]}, {})[0] == "not_reproduced"


def _harm(oid: str) -> Finding:
    return Finding(
        f"effect.verdict.{oid}",
        "effect",
        "s",
        rule="r",
        certainty="very low",
        numbers={"n_comparative": 1, "comparative": {"harm": 1}},
    )


@pytest.mark.parametrize("n_harms", [3, 4])
def test_next_steps_name_at_most_named_max_harms_then_count_the_rest(n_harms, monkeypatch):
    """Three outcomes with a possible harm and NAMED_MAX = 3: each has its own priority; a fourth is counted in
    one more sentence (a review may have hundreds of outcomes; the page stays bounded)."""
    monkeypatch.setattr(next_steps, "NAMED_MAX", 3)
    outcomes = [{"id": "a", "label": "Outcome A", "desirable": "higher", "primary": True}] + [
        {"id": f"h{i}", "label": f"Outcome H{i}", "desirable": "higher"} for i in range(n_harms)
    ]
    found = [Finding("effect.verdict.a", "effect", "s", rule="r", certainty="moderate", numbers={"k": 12})]
    found += [_harm(f"h{i}") for i in range(n_harms)]
    got = {
        f.id: f
        for f in next_steps.derive(FakeReview(outcomes), found, {"dimensions": {"economics": {"final": 1}}}, "X")
    }
    assert {i for i in got if i.startswith("next.harm.")} == {"next.harm.h0", "next.harm.h1", "next.harm.h2"} | (
        {"next.harm.more"} if n_harms == 4 else set()
    )
    if n_harms == 4:
        assert got["next.harm.more"].statement == (
            "Follow up, in the same way, the possible harm on 1 more outcome (each outcome's verdict is in the "
            "review's findings.json)."
        )
        assert got["next.harm.more"].numbers == {"n": 1, "outcomes": ["h3"]}
