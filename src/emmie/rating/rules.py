"""EMMIE-Q: rules that propose a quality level (0-4) per dimension from the coded data and stage results.

Each rule is a documented function returning a :class:`Proposal` with the level, the
reasons in words and the facts it used; the rubric (descriptors, their sources and the
prose of each rule) is data, in ``emmie_q.yaml``. A reviewer can override any level in
``review.yaml`` ``emmie_overrides`` (level + justification); both are reported.

References
----------
Johnson, S. D., Tilley, N. & Bowers, K. J. (2015). Introducing EMMIE: an evidence rating
scale to encourage mixed-method crime prevention synthesis reviews. Journal of Experimental
Criminology 11(3), 459-473. doi:10.1007/s11292-015-9238-7
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd
import yaml

from emmie.ingest.documents import for_effect
from emmie.ingest.review import Review
from emmie.ingest.schema import COMPARATIVE_DESIGNS

DIMENSIONS = ("effect", "mechanisms", "moderators", "implementation", "economics")
ROB_LOW = ("low",)
ROB_MODERATE = ("some_concerns", "moderate")
ROB_HIGH = ("serious", "high", "critical")


@dataclass(frozen=True)
class Proposal:
    dimension: str
    level: int
    reasons: list[str]
    facts: dict[str, Any] = field(default_factory=dict)


@cache
def rubric() -> dict[str, Any]:
    """The EMMIE-Q rubric (``emmie_q.yaml``)."""
    return yaml.safe_load(resources.files("emmie.rating").joinpath("emmie_q.yaml").read_text(encoding="utf-8"))


def descriptor(dimension: str, level: int) -> dict[str, Any]:
    return dict(rubric()["dimensions"][dimension]["levels"][level])


def _n(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


def effect_rule(studies: pd.DataFrame, effects: pd.DataFrame, effect: dict[str, Any]) -> Proposal:
    """Effect: comparative designs, their risk of bias, whether a meta-analysis was possible, k and I^2."""
    with_effects = set(effects["study_id"]) if len(effects) else set()
    comp = studies.loc[studies["design"].isin(COMPARATIVE_DESIGNS) & studies["study_id"].isin(with_effects)]
    rob = comp["rob_overall"].value_counts().to_dict()
    n_comp = int(len(comp))
    n_low = sum(rob.get(j, 0) for j in ROB_LOW)
    n_mod = sum(rob.get(j, 0) for j in ROB_MODERATE)
    n_high = sum(rob.get(j, 0) for j in ROB_HIGH)
    outcomes = effect.get("outcomes", []) or []
    pooled = [o for o in outcomes if o.get("pooled")]
    i2 = [((o.get("frequentist") or {}).get("z") or {}).get("i2") for o in pooled]
    i2 = [float(x) for x in i2 if x is not None]
    # k counts studies: a multilevel model's results come from fewer studies than it has results
    k_of = {o.get("outcome"): int((o.get("dependence") or {}).get("n_studies") or o.get("k") or 0) for o in pooled}
    k_max = max(k_of.values(), default=0)
    widest = next((o for o in pooled if k_of[o.get("outcome")] == k_max), {})
    k_words = f"{k_max} (studies; {widest['dependence']['k']} results)" if widest.get("dependence") else f"{k_max}"
    facts = {
        "comparative_studies": n_comp,
        "designs": {d: int((comp["design"] == d).sum()) for d in COMPARATIVE_DESIGNS},
        "designs_with_effects": effect.get("designs", {}),
        "rob_comparative": {
            "low": n_low,
            "moderate": n_mod,
            "high": n_high,
            "unclear": n_comp - n_low - n_mod - n_high,
        },
        "outcomes": len(outcomes),
        "outcomes_pooled": [o.get("outcome") for o in pooled],
        "k_max": k_max,
        "i2_max": max(i2) if i2 else None,
        "reasons_not_pooled": {o.get("outcome"): o.get("reason_not_pooled") for o in outcomes if not o.get("pooled")},
    }
    if n_comp == 0:
        return Proposal("effect", 0, ["no randomised or quasi-experimental study with effect data"], facts)
    if not pooled:
        return Proposal(
            "effect",
            1,
            [f"{n_comp} comparative stud{'y' if n_comp == 1 else 'ies'} but no outcome could be pooled"],
            facts,
        )
    i2_max = max(i2) if i2 else 0.0
    reasons = [
        f"meta-analysis possible for {_n(len(pooled), 'outcome')}, largest k = {k_words}",
        f"risk of bias of comparative studies: {n_low} low, {n_mod} moderate, {n_high} high",
        f"largest I² = {i2_max:.0f}%",
    ]
    if n_high * 2 >= n_comp or i2_max >= 75:
        return Proposal("effect", 2, [*reasons, "most comparative studies at high risk of bias or I² >= 75%"], facts)
    if k_max >= 5 and n_low * 2 > n_comp and i2_max < 50:
        return Proposal("effect", 4, [*reasons, "k >= 5, most studies at low risk of bias and I² < 50%"], facts)
    return Proposal(
        "effect", 3, [*reasons, "most comparative studies at low or moderate risk of bias and I² < 75%"], facts
    )


EVIDENCE_ORDER = ("asserted", "described", "observed", "tested")


def mechanisms_rule(review: Review, mechanisms: dict[str, Any]) -> Proposal:
    """Mechanisms: are they only asserted, described, observed, or tested - and by how many studies?

    Counts distinct studies whose codings support or refine a configuration (a contradicting
    study tests the theory but is not evidence that the mechanism operates), by the
    strongest kind of evidence each study gives: 4 tested in two or more studies; 3 observed
    or tested in two or more studies; 2 described, observed or tested in at least one study;
    1 only asserted; 0 no codings.
    """
    cmo = review.cmo
    evidence = {k: int(v) for k, v in (mechanisms.get("evidence") or {}).items()}
    backing = cmo[cmo["stance"].isin(["supports", "refines"])] if len(cmo) else cmo
    strongest: dict[str, int] = {}
    for study, part in backing.groupby("study_id") if len(backing) else []:
        strongest[study] = max(EVIDENCE_ORDER.index(e) for e in part["evidence"])
    studies_by = {
        kind: sorted(s for s, i in strongest.items() if i >= EVIDENCE_ORDER.index(kind)) for kind in EVIDENCE_ORDER
    }
    facts = {
        "evidence": evidence,
        "configurations": len(mechanisms.get("configurations") or []),
        "demi_regularities": len(mechanisms.get("demi_regularities") or []),
        "studies_at_least": {k: len(v) for k, v in studies_by.items()},
        "contradicting_studies": sorted(set(cmo.loc[cmo["stance"] == "contradicts", "study_id"])) if len(cmo) else [],
    }
    n_tested, n_observed, n_described = (
        len(studies_by["tested"]),
        len(studies_by["observed"]),
        len(studies_by["described"]),
    )
    if n_tested >= 2:
        return Proposal("mechanisms", 4, [f"mechanisms tested with data in {n_tested} supporting studies"], facts)
    if n_observed >= 2:
        return Proposal(
            "mechanisms",
            3,
            [
                f"mechanisms observed or tested in {n_observed} supporting studies"
                + (f", tested in {n_tested} of them" if n_tested else ", none of them testing it")
            ],
            facts,
        )
    if n_described >= 1:
        return Proposal(
            "mechanisms",
            2,
            [
                f"mechanisms described (or observed) in {n_described} supporting stud{'y' if n_described == 1 else 'ies'}, observed or tested in fewer than two"
            ],
            facts,
        )
    if len(cmo):
        return Proposal("mechanisms", 1, ["mechanisms only asserted as theory"], facts)
    return Proposal("mechanisms", 0, ["no CMO codings"], facts)


def moderators_rule(review: Review, mechanisms: dict[str, Any], moderators: dict[str, Any]) -> Proposal:
    """Moderators: none / mentioned / conditions articulated / moderator data analysed / systematic and theory-based.

    4 effect-size moderator analyses and moderating contexts in the CMO graph backed by observed or tested
    evidence (systematic and theory-based); 3 at least one effect-size moderator analysis (some moderator data
    analysed); 2 contexts coded in CMO configurations (conditions articulated, not analysed); 1 moderators named
    or attempted but no context coded; 0 nothing.
    """
    cmo = review.cmo
    contexts = int((cmo["context"] != "").sum()) if len(cmo) else 0
    n_contexts = int(cmo.loc[cmo["context"] != "", "context"].nunique()) if len(cmo) else 0
    declared = [m.get("name") for m in review.config.get("moderators", []) or []]
    analyses = moderators.get("analyses") or []
    not_possible = moderators.get("not_possible") or []
    moderating = mechanisms.get("moderating_contexts") or []
    backed = cmo.loc[cmo["evidence"].isin(["observed", "tested"])] if len(cmo) else cmo
    backed_pairs = set(zip(backed["context"], backed["mechanism"], strict=True)) if len(cmo) else set()
    # a context-mechanism pair coded at least once with observed or tested evidence (one pass over the codings)
    empirical = [m for m in moderating if (m.get("context"), m.get("mechanism")) in backed_pairs]
    facts = {
        "contexts_coded": contexts,
        "moderators_declared": len(declared),
        "analyses": len(analyses),
        "not_possible": len(not_possible),
        "moderating_contexts": len(moderating),
        "moderating_contexts_observed_or_tested": len(empirical),
    }
    if analyses and empirical:
        return Proposal(
            "moderators",
            4,
            [
                f"{len(analyses)} effect-size moderator analyses and {len(empirical)} moderating contexts observed or tested in the CMO evidence"
            ],
            facts,
        )
    if analyses:
        why = [f"{len(analyses)} effect-size moderator {'analysis' if len(analyses) == 1 else 'analyses'}"]
        if moderating:
            why.append(
                f"not systematic and theory-based: none of the {len(moderating)} moderating contexts in the CMO graph is observed or tested"
            )
        return Proposal("moderators", 3, why, facts)
    if contexts:
        return Proposal(
            "moderators",
            2,
            [
                f"conditions articulated: {_n(n_contexts, 'context')} named in {_n(contexts, 'CMO coding')}, but no moderator "
                "analysis of the effect was possible"
            ],
            facts,
        )
    if declared or not_possible:
        return Proposal("moderators", 1, ["moderators named but no context coded and no analysis possible"], facts)
    return Proposal("moderators", 0, ["no contexts coded and no moderators declared"], facts)


def implementation_rule(implementation: dict[str, Any]) -> Proposal:
    """Implementation: none / remarks / barriers-enablers from several studies / systematic by level and rigour.

    4 needs a systematic account: barriers AND enablers at three or more levels, from five or more studies of
    adequate rigour that are the majority of the studies; 3 barriers and enablers from two or more studies at two or
    more levels, two of them of adequate rigour; 2 observations from two or more studies; 1 a single study.
    """
    counts = implementation.get("counts") or {}
    by_level = counts.get("by_level") or {}
    n_studies = int(counts.get("studies", 0))
    adequate = int(counts.get("studies_adequate_rigour", 0))
    levels_any = [lv for lv, c in by_level.items() if c.get("barrier", 0) + c.get("enabler", 0) > 0]
    levels_both = [lv for lv, c in by_level.items() if c.get("barrier", 0) > 0 and c.get("enabler", 0) > 0]
    facts = {
        k: counts.get(k, 0)
        for k in ("items", "barriers", "enablers", "studies", "studies_adequate_rigour", "themes_with_evidence")
    }
    facts["levels_with_evidence"] = levels_any
    facts["levels_with_barriers_and_enablers"] = levels_both
    both = counts.get("barriers", 0) > 0 and counts.get("enablers", 0) > 0
    if not counts.get("items"):
        return Proposal("implementation", 0, ["no implementation barriers or enablers coded"], facts)
    if n_studies < 2:
        return Proposal("implementation", 1, ["implementation remarks from a single study"], facts)
    if len(levels_both) >= 3 and adequate >= 5 and 2 * adequate > n_studies:
        return Proposal(
            "implementation",
            4,
            [
                f"barriers and enablers at {len(levels_both)} levels, from {adequate} of {n_studies} sources of adequate rigour"
            ],
            facts,
        )
    if both and len(levels_any) >= 2 and adequate >= 2:
        return Proposal(
            "implementation",
            3,
            [
                f"barriers and enablers from {n_studies} sources ({adequate} of adequate rigour) at {len(levels_any)} levels",
                "not yet systematic: "
                + "; ".join(
                    why
                    for why, failed in (
                        (f"{adequate} studies of adequate rigour, fewer than five", adequate < 5),
                        (
                            f"adequate-rigour sources are not the majority ({adequate} of {n_studies})",
                            2 * adequate <= n_studies,
                        ),
                        (
                            f"both barriers and enablers at {len(levels_both)} levels, fewer than three",
                            len(levels_both) < 3,
                        ),
                    )
                    if failed
                ),
            ],
            facts,
        )
    return Proposal(
        "implementation",
        2,
        [f"implementation observations from {n_studies} studies ({adequate} of adequate rigour)"],
        facts,
    )


def economics_rule(economics: dict[str, Any]) -> Proposal:
    """Economics: none / direct costs / direct + indirect / marginal / full CEA-CBA (item kinds as proxies).

    Only items of kind ``cost`` (what delivering the intervention cost) count as costs: grants and other
    ``funding`` amounts say what was paid to an implementer, not what delivery costs, so alone they give 0.
    """
    counts = economics.get("counts") or {}
    ce = economics.get("cost_effectiveness") or []
    items = economics.get("items") or []
    per_unit_tied = [
        i
        for i in items
        if i.get("kind") == "cost"
        and i.get("outcome")
        and i.get("per_unit") is not None
        and i.get("per_unit_basis") in ("per_child", "per_family", "unit of n_units")
    ]
    facts = {
        "counts": counts,
        "cost_effectiveness": len(ce),
        "per_participant_costs_tied_to_outcome": len(per_unit_tied),
        "finding": economics.get("finding"),
        "reasons": economics.get("reasons", []),
    }
    if ce:
        return Proposal(
            "economics",
            4,
            [f"{_n(len(ce), 'cost-effectiveness figure')} from a cost and a pooled effect on the same outcome"],
            facts,
        )
    if per_unit_tied:
        return Proposal(
            "economics",
            3,
            ["per-participant cost tied to an outcome, but no cost-effectiveness figure could be formed"],
            facts,
        )
    if counts.get("cost", 0) and (counts.get("outcome_value", 0) or counts.get("saving", 0)):
        return Proposal("economics", 2, ["delivery costs and outcome valuations or savings reported"], facts)
    if counts.get("cost", 0):
        return Proposal("economics", 1, [f"direct delivery costs only ({_n(counts['cost'], 'item')})"], facts)
    if sum(counts.values()):
        kinds = ", ".join(_n(v, f"{k.replace('_', ' ')} item") for k, v in sorted(counts.items()) if v)
        return Proposal(
            "economics",
            0,
            [f"no cost of delivering the intervention: only {kinds}; grants and funding are not delivery costs"],
            facts,
        )
    return Proposal("economics", 0, ["no economic items coded"], facts)


def propose_levels(review: Review, summaries: dict[str, dict[str, Any]]) -> dict[str, Proposal]:
    """Propose an EMMIE-Q level per dimension. ``summaries`` maps stage name to its JSON dict (missing = empty)."""
    s = {k: (summaries.get(k) or {}) for k in ("effect", "mechanisms", "moderators", "implementation", "economics")}
    studies_only, _ = for_effect(review)
    return {
        "effect": effect_rule(review.studies, studies_only.effects, s["effect"]),
        "mechanisms": mechanisms_rule(review, s["mechanisms"]),
        "moderators": moderators_rule(review, s["mechanisms"], s["moderators"]),
        "implementation": implementation_rule(s["implementation"]),
        "economics": economics_rule(s["economics"]),
    }


def apply_overrides(
    proposals: dict[str, Proposal], overrides: dict[str, dict[str, Any]] | None
) -> dict[str, dict[str, Any]]:
    """Proposed and final level side by side; ``overrides`` is ``review.yaml`` ``emmie_overrides``."""
    out = {}
    for dim in DIMENSIONS:
        p = proposals[dim]
        o = (overrides or {}).get(dim)
        final = int(o["level"]) if o else p.level
        out[dim] = {
            "proposed": p.level,
            "final": final,
            "overridden": bool(o),
            "justification": o.get("justification") if o else None,
            "reviewer": o.get("reviewer") if o else None,
            "reasons": list(p.reasons),
            "facts": p.facts,
            "descriptor": descriptor(dim, final),
            "proposed_descriptor": descriptor(dim, p.level),
            "rule": rubric()["dimensions"][dim]["rule"],
        }
    return out
