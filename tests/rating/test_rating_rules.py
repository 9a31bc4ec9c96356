import json
from pathlib import Path

import pandas as pd
import pytest

from emmie import economics, implementation
from emmie.economics import stage as economics_stage
from emmie.implementation import stage as implementation_stage
from emmie.ingest.load import empty_frame
from emmie.ingest.review import Review
from emmie.ingest.schema import TABLES
from emmie.prisma import stage as prisma_stage
from emmie.rating import DIMENSIONS, rubric
from emmie.rating import stage as rating_stage
from emmie.rating.rules import (
    apply_overrides,
    economics_rule,
    effect_rule,
    implementation_rule,
    mechanisms_rule,
    moderators_rule,
    propose_levels,
)
from emmie.rob import stage as rob_stage


def make_review(config=None, **tables) -> Review:
    """A Review built from row dicts, with the loader's conventions ("" for empty text, NaN for numbers)."""
    frames = {}
    for t in TABLES:
        base = empty_frame(t, {})
        if t.name in tables:
            new = pd.DataFrame(tables[t.name])
            for c in base.columns:
                if c not in new:
                    new[c] = float("nan") if base[c].dtype == float else ""
            base = new[list(base.columns)]
        frames[t.name] = base
    cfg = {
        "id": "t",
        "outcomes": [{"id": "care", "label": "Care", "desirable": "lower"}],
        "implementation_themes": [],
        **(config or {}),
    }
    return Review(path=Path("."), config=cfg, **frames)


def studies(designs_rob):
    return pd.DataFrame(
        [
            {
                "study_id": f"s{i}",
                "design": d,
                "rob_overall": r,
                "rob_tool": "generic",
                "rigour": "high",
                "relevance": "high",
            }
            for i, (d, r) in enumerate(designs_rob)
        ]
    )


def effects_for(st):
    return pd.DataFrame({"study_id": st["study_id"]})


def pooled(k, i2):
    return {
        "outcomes": [
            {"outcome": "care", "k": k, "pooled": True, "reason_not_pooled": None, "frequentist": {"z": {"i2": i2}}}
        ],
        "designs": {},
    }


NOT_POOLED = {"outcomes": [{"outcome": "care", "k": 1, "pooled": False, "reason_not_pooled": "k < 2"}]}


@pytest.mark.parametrize(
    ("designs", "summary", "level"),
    [
        ([("qualitative", "not_assessed")], NOT_POOLED, 0),
        ([("rct", "low")], NOT_POOLED, 1),
        ([("rct", "high"), ("quasi_experimental", "serious")], pooled(2, 10.0), 2),
        ([("rct", "low"), ("rct", "low")], pooled(2, 80.0), 2),
        ([("rct", "low"), ("quasi_experimental", "moderate")], pooled(2, 30.0), 3),
        ([("rct", "low")] * 4 + [("quasi_experimental", "moderate")], pooled(5, 20.0), 4),
        # Each side of each cut-off: I² 75 (level 2), half at high risk (2), k 5, I² 50 and a low-risk majority (4).
        ([("rct", "low"), ("rct", "low")], pooled(2, 75.0), 2),
        ([("rct", "low"), ("rct", "low")], pooled(2, 74.9), 3),
        ([("rct", "high"), ("rct", "low")], pooled(2, 10.0), 2),
        ([("rct", "high"), ("rct", "low"), ("rct", "low")], pooled(3, 10.0), 3),
        ([("rct", "low")] * 5, pooled(5, 49.9), 4),
        ([("rct", "low")] * 5, pooled(5, 50.0), 3),
        ([("rct", "low")] * 5, pooled(4, 10.0), 3),
        ([("rct", "low")] * 3 + [("rct", "moderate")] * 2, pooled(5, 10.0), 4),
        ([("rct", "low")] * 2 + [("rct", "moderate")] * 3, pooled(5, 10.0), 3),
    ],
)
def test_effect_levels(designs, summary, level):
    st = studies(designs)
    p = effect_rule(st, effects_for(st), summary)
    assert p.level == level and p.reasons
    assert p.facts["comparative_studies"] == sum(d in ("rct", "quasi_experimental") for d, _ in designs)
    assert "k_max" in p.facts and "rob_comparative" in p.facts


@pytest.mark.parametrize(
    ("codings", "level"),
    [
        ([], 0),
        ([("s1", "asserted", "supports"), ("s2", "asserted", "supports")], 1),
        ([("s1", "asserted", "supports"), ("s2", "described", "supports")], 2),
        ([("s1", "observed", "supports"), ("s2", "asserted", "supports")], 2),  # observed in one study only
        ([("s1", "observed", "supports"), ("s2", "tested", "refines")], 3),
        ([("s1", "tested", "supports"), ("s2", "tested", "contradicts")], 2),  # a contradicting test raises nothing
        ([("s1", "tested", "supports"), ("s2", "tested", "supports"), ("s3", "asserted", "supports")], 4),
    ],
)
def test_mechanisms_levels(codings, level):
    cmo = [
        {"cmo_id": f"c{i}", "study_id": s, "mechanism": "m", "evidence": e, "stance": st}
        for i, (s, e, st) in enumerate(codings)
    ]
    review = make_review(cmo=cmo) if cmo else make_review()
    evidence = {}
    for _, e, _ in codings:
        evidence[e] = evidence.get(e, 0) + 1
    p = mechanisms_rule(review, {"evidence": evidence, "configurations": [1, 2]})
    assert p.level == level and p.reasons
    assert p.facts["evidence"] == evidence and p.facts["configurations"] == 2


MODERATING = {"moderating_contexts": [{"context": "c_rural", "mechanism": "m"}]}


@pytest.mark.parametrize(
    ("config", "cmo_context", "evidence", "mech", "mods", "level"),
    [
        ({}, "", "asserted", {}, {}, 0),
        (
            {"moderators": [{"name": "x", "type": "continuous"}]},
            "",
            "asserted",
            {},
            {"not_possible": [{"moderator": "x"}]},
            1,
        ),
        ({}, "c_rural", "asserted", {}, {}, 2),
        # Moderating contexts in the graph without an analysis: conditions articulated (2), not "analysed" (3).
        ({}, "c_rural", "observed", MODERATING, {}, 2),
        ({}, "", "asserted", {}, {"analyses": [{"moderator": "x"}]}, 3),
        # Analyses plus contexts that are only asserted: not theory-based, stays at 3.
        ({}, "c_rural", "asserted", MODERATING, {"analyses": [{"moderator": "x"}]}, 3),
        ({}, "c_rural", "described", MODERATING, {"analyses": [{"moderator": "x"}]}, 3),
        # Analyses plus contexts observed or tested: systematic and theory-based.
        ({}, "c_rural", "observed", MODERATING, {"analyses": [{"moderator": "x"}]}, 4),
        ({}, "c_rural", "tested", MODERATING, {"analyses": [{"moderator": "x"}]}, 4),
    ],
)
def test_moderators_levels(config, cmo_context, evidence, mech, mods, level):
    review = make_review(
        config,
        cmo=[{"cmo_id": "m1", "study_id": "s0", "context": cmo_context, "mechanism": "m", "evidence": evidence}],
    )
    p = moderators_rule(review, mech, mods)
    assert p.level == level
    assert p.facts["contexts_coded"] == (1 if cmo_context else 0)
    descriptor = rubric()["dimensions"]["moderators"]["levels"][level]["descriptor"].lower()
    if "analysis" in descriptor:  # a level whose descriptor says "analysis" needs an analysis
        assert p.facts["analyses"] > 0


def impl_summary(rows):
    st = studies([("qualitative", "not_assessed")] * 11)
    st["rigour"] = ["high", "moderate", "high", "low", "moderate", "high", "low", "low", "low", "low", "low"]
    frame = pd.DataFrame(
        [
            {"impl_id": f"i{i}", "study_id": s, "type": t, "theme": "th", "level": lv, "excerpt": "x"}
            for i, (s, t, lv) in enumerate(rows)
        ]
    )
    if frame.empty:
        frame = pd.DataFrame(columns=["impl_id", "study_id", "type", "theme", "level", "excerpt"])
    return implementation.synthesise(frame, st, [{"id": "th", "label": "Th"}]).to_dict()


SYSTEMATIC = [
    ("s0", "barrier", "team"),
    ("s1", "enabler", "team"),
    ("s2", "barrier", "system"),
    ("s4", "enabler", "system"),
    ("s5", "barrier", "practitioner"),
    ("s0", "enabler", "practitioner"),
]


@pytest.mark.parametrize(
    ("rows", "level"),
    [
        ([], 0),
        ([("s0", "barrier", "team"), ("s0", "enabler", "system")], 1),
        ([("s0", "barrier", "team"), ("s1", "barrier", "team")], 2),
        ([("s0", "barrier", "team"), ("s3", "enabler", "system")], 2),  # s3 low rigour: one adequate study
        ([("s0", "barrier", "team"), ("s1", "enabler", "system")], 3),
        (
            [("s0", "barrier", "team"), ("s1", "enabler", "system"), ("s2", "barrier", "practitioner")],
            3,
        ),  # not systematic
        (SYSTEMATIC, 4),  # five adequate studies, both kinds at three levels
        (
            SYSTEMATIC + [(f"s{i}", "barrier", "team") for i in (3, 6, 7, 8, 9, 10)],
            3,
        ),  # low-rigour studies are the majority
    ],
)
def test_implementation_levels(rows, level):
    p = implementation_rule(impl_summary(rows))
    assert p.level == level and p.facts["items"] == len(rows)


def econ_summary(kinds, ce=0, tied=False):
    items = [
        {"kind": k, "outcome": "care" if tied and k == "cost" else "", "per_unit": 10.0, "per_unit_basis": "per_child"}
        for k in kinds
    ]
    counts = {k: kinds.count(k) for k in ("cost", "funding", "outcome_value", "saving")}
    return {"items": items, "counts": counts, "cost_effectiveness": [{}] * ce, "finding": "", "reasons": []}


@pytest.mark.parametrize(
    ("summary", "level"),
    [
        (econ_summary([]), 0),
        # Grants and funding are not delivery costs: "direct costs only" needs a cost item.
        (econ_summary(["funding"]), 0),
        (econ_summary(["funding", "funding", "saving"]), 0),
        (econ_summary(["cost"]), 1),
        (econ_summary(["cost", "funding"]), 1),
        (econ_summary(["funding", "saving"]), 0),
        (econ_summary(["cost", "saving"]), 2),
        (econ_summary(["cost"], tied=True), 3),
        (econ_summary(["cost"], ce=1, tied=True), 4),
    ],
)
def test_economics_levels(summary, level):
    p = economics_rule(summary)
    assert p.level == level and p.facts["counts"] == summary["counts"]


def test_rubric_has_every_level_with_source_and_verification_flag():
    r = rubric()
    for dim in DIMENSIONS:
        levels = r["dimensions"][dim]["levels"]
        assert sorted(levels) == [0, 1, 2, 3, 4]
        for entry in levels.values():
            assert entry["descriptor"] and entry["source"] and entry["verified"] is False
        assert r["dimensions"][dim]["rule"]


def test_overrides_side_by_side():
    review = make_review()
    proposals = propose_levels(review, {})
    out = apply_overrides(
        proposals, {"economics": {"level": 1, "justification": "Funding figures reported by the developer only."}}
    )
    assert out["economics"]["proposed"] == 0 and out["economics"]["final"] == 1 and out["economics"]["overridden"]
    assert (
        out["economics"]["descriptor"]["descriptor"] == rubric()["dimensions"]["economics"]["levels"][1]["descriptor"]
    )
    assert out["effect"]["overridden"] is False and out["effect"]["final"] == out["effect"]["proposed"] == 0


def test_stages_end_to_end(tmp_path):
    st = studies([("rct", "low"), ("quasi_experimental", "moderate")])
    review = make_review(
        {
            "implementation_themes": [{"id": "lead", "label": "Leadership"}],
            "economics": {"base_currency": "GBP", "base_year": 2020},
            "emmie_overrides": {
                "mechanisms": {"level": 2, "justification": "Theory drawn from developer accounts only."}
            },
        },
        studies=st.assign(
            rob_tool="rob2",
            citation="",
            year=2000.0,
            country="UK",
            url="",
            in_original_review="yes",
            source="x",
            verified="no",
        ),
        effects=[
            {"effect_id": "e1", "study_id": "s0", "outcome": "care"},
            {"effect_id": "e2", "study_id": "s1", "outcome": "care"},
        ],
        implementation=[
            {"impl_id": "i1", "study_id": "s0", "type": "barrier", "theme": "lead", "level": "team", "excerpt": "x"},
            {"impl_id": "i2", "study_id": "s1", "type": "enabler", "theme": "lead", "level": "system", "excerpt": "y"},
        ],
        economics=[
            {
                "econ_id": "c1",
                "study_id": "s0",
                "item": "grant",
                "kind": "funding",
                "amount": 1.0e6,
                "currency": "GBP",
                "price_year": 2017.0,
                "unit": "total",
                "n_units": 10.0,
            }
        ],
        rob=[{"study_id": "s0", "tool": "rob2", "domain": "D1", "judgement": "low"}],
        cmo=[
            {"cmo_id": "m1", "study_id": "s0", "mechanism": "m", "evidence": "observed", "stance": "supports"},
            {"cmo_id": "m2", "study_id": "s1", "mechanism": "m", "evidence": "observed", "stance": "supports"},
        ],
        prisma=[
            {"box": "identified_databases", "count": 10.0},
            {"box": "duplicates_removed", "count": 2.0},
            {"box": "records_screened", "count": 8.0},
        ],
    )
    impl = implementation_stage.run(review, tmp_path)
    econ = economics_stage.run(review, tmp_path, effect_summary=None)
    rb = rob_stage.run(review, tmp_path)
    pr = prisma_stage.run(review, tmp_path)
    for name in (
        "implementation.json",
        "implementation_matrix.svg",
        "economics.json",
        "economics_items.svg",
        "rob.json",
        "rob_traffic.svg",
        "rob_summary.svg",
        "prisma.json",
        "prisma.svg",
    ):
        assert (tmp_path / name).exists(), name
    assert econ["finding"] == economics.NO_EVIDENCE and econ["items"][0]["converted"] == pytest.approx(
        1e6 * 85.2137 / 77.6367
    )
    assert rb["domains"] == ["D1", "Overall"] and pr["counts"]["records_screened"] == 8 and pr["problems"] == []
    summaries = {
        "effect": pooled(2, 30.0),
        "mechanisms": {"evidence": {"observed": 2}},
        "moderators": {},
        "implementation": impl,
        "economics": econ,
    }
    out = rating_stage.run(review, summaries, tmp_path / "emmie.json")
    saved = json.loads((tmp_path / "emmie.json").read_text())
    assert saved == json.loads(json.dumps(out))
    dims = saved["dimensions"]
    # The only economics item is a grant: funding, not a delivery cost, so Economics stays at 0.
    assert (dims["effect"]["proposed"], dims["implementation"]["proposed"], dims["economics"]["proposed"]) == (3, 3, 0)
    assert dims["mechanisms"]["proposed"] == 3 and dims["mechanisms"]["final"] == 2
    assert dims["mechanisms"]["justification"].startswith("Theory")
    for d in DIMENSIONS:
        assert set(dims[d]) >= {"proposed", "final", "overridden", "justification", "reasons", "facts", "descriptor"}


def _pooled_dependent(n_studies, i2, k=40):
    out = pooled(k, i2)
    out["outcomes"][0]["dependence"] = {"k": k, "n_studies": n_studies}
    return out


@pytest.mark.parametrize(("n_studies", "level"), [(4, 3), (5, 4)])
def test_effect_k_counts_studies_of_a_multilevel_model(n_studies, level):
    """k >= 5 for level 4 counts studies: 40 results from 4 studies are 4 studies (one side), from 5 are 5."""
    st = studies([("rct", "low")] * n_studies)
    p = effect_rule(st, effects_for(st), _pooled_dependent(n_studies, 10.0))
    assert p.level == level and p.facts["k_max"] == n_studies
    assert f"largest k = {n_studies} (studies; 40 results)" in p.reasons[0]
