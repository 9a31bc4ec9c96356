"""Certainty of a body of evidence per outcome, by written rules in the manner of GRADE.

Each domain is judged by one small function that returns a :class:`Judgement` (how many
levels to rate down, and why in words); :func:`grade` starts from the study designs and
applies them. Every cut-off is a module constant, so that the tests can check each side of it.

Rules (emmie's operationalisation; the reviewers may override a level in ``review.yaml``
``certainty_overrides`` with a justification):

start
    High when randomised trials carry at least half of the weight of the analysis, otherwise
    low (Balshem et al. 2011).
risk of bias
    Rate down one level when studies at high, serious or critical risk carry at least half of the
    weight, two when studies at critical risk alone do (Guyatt et al. 2011c).
inconsistency
    Rate down one level when I² >= 50% and the 95% prediction interval includes no effect
    (Guyatt et al. 2011d; Cochrane Handbook 10.10.2). Not judged with one study.
imprecision
    Rate down one level when the 95% CI of the headline test includes no effect, two when it
    includes both an important benefit and an important harm (beyond the outcome's MID on each
    side) (Guyatt et al. 2011b; Zeng et al. 2021, minimally contextualised).
publication bias
    With k >= 10, rate down one level when Egger's test or the rank test gives p < 0.10
    (Sterne et al. 2011; Guyatt et al. 2011a). With fewer studies it is not judged, and the
    finding says so.
indirectness
    Needs the reviewers' judgement of population, intervention and outcome; never rated down
    by a rule, and the record says so.

Randomised and non-randomised bodies
    Where an analysis mixes randomised trials with other designs, the randomised trials alone are rated too, and the
    verdict rests on the body with the higher certainty (Cuello-Garcia et al. 2022); the other is stated beside it.

Direction-only evidence (no effect size to pool) is judged on the comparative studies alone:
same start and risk-of-bias rules by number of studies, and always one level down for
imprecision, because no effect size or interval can be formed (Murad et al. 2017).

References
----------
Cuello-Garcia, C. A., et al. (2022). GRADE guidance 24: optimizing the integration of randomized and non-randomized
    studies of interventions in evidence syntheses and health guidelines. J Clin Epidemiol 142, 200-208.
Balshem, H., et al. (2011). GRADE guidelines: 3. Rating the quality of evidence. J Clin Epidemiol 64, 401-406.
Guyatt, G. H., et al. (2011a). GRADE guidelines: 5. Rating the quality of evidence - publication bias.
    J Clin Epidemiol 64, 1277-1282.
Guyatt, G. H., et al. (2011b). GRADE guidelines 6. Rating the quality of evidence - imprecision. J Clin Epidemiol 64,
    1283-1293.
Guyatt, G. H., et al. (2011c). GRADE guidelines: 4. Rating the quality of evidence - study limitations (risk of bias).
    J Clin Epidemiol 64, 407-415.
Guyatt, G. H., et al. (2011d). GRADE guidelines: 7. Rating the quality of evidence - inconsistency. J Clin Epidemiol 64,
    1294-1302.
Murad, M. H., et al. (2017). Rating the certainty in evidence in the absence of a single estimate of effect.
    Evid Based Med 22, 85-87.
Sterne, J. A. C., et al. (2011). Recommendations for examining and interpreting funnel plot asymmetry in
    meta-analyses of randomised controlled trials. BMJ 343, d4002.
Zeng, L., et al. (2021). GRADE guidelines 32: GRADE offers guidance on imprecision ratings in a minimally
    contextualized framework. J Clin Epidemiol 137, 163-175.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from emmie.findings.text import fmt_p_short

LEVELS = ("very low", "low", "moderate", "high")  # index + 1 = GRADE's 1-4
RCT_WEIGHT_FOR_HIGH = 0.5
HIGH_ROB_SHARE = 0.5
CRITICAL_ROB_SHARE = 0.5
I2_INCONSISTENT = 50.0
SMALL_STUDY_K = 10
SMALL_STUDY_P = 0.10
ROB_HIGH = frozenset({"high", "serious", "critical"})
ROB_CRITICAL = frozenset({"critical"})
#: Judgements that rate a study's risk of bias (the others, not_assessed, no_information or none, do not).
ROB_RATED = frozenset({"low", "some_concerns", "moderate", "high", "serious", "critical"})
RANDOMISED = frozenset({"rct"})


@dataclass(frozen=True)
class Judgement:
    domain: str
    down: int  # levels rated down (0, 1 or 2)
    reason: str


@dataclass(frozen=True)
class Certainty:
    level: str  # one of LEVELS
    start: str
    judgements: tuple[Judgement, ...]
    overridden: bool = False
    proposed: str | None = None
    justification: str | None = None
    reviewer: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def reasons(self) -> list[str]:
        return [f"{j.domain}: {j.reason}" for j in self.judgements if j.down]


def start_level(designs: Sequence[str], weights: Sequence[float] | None = None) -> tuple[str, str]:
    """'high' when randomised trials carry >= RCT_WEIGHT_FOR_HIGH of the weight (or of the studies), else 'low'."""
    w = list(weights) if weights is not None else [1.0] * len(designs)
    total = sum(w)
    share = sum(wi for d, wi in zip(designs, w, strict=True) if d in RANDOMISED) / total if total else 0.0
    if share >= RCT_WEIGHT_FOR_HIGH:
        return "high", _share(share, "randomised trials", weights is not None)
    return "low", _share(1 - share, "non-randomised studies", weights is not None)


def _share(share: float, who: str, weighted: bool) -> str:
    return f"{who} carry {share:.0%} of the weight" if weighted else f"{who} are {share:.0%} of the studies rated"


def risk_of_bias(judgements: Sequence[str], weights: Sequence[float] | None = None) -> Judgement:
    w = list(weights) if weights is not None else [1.0] * len(judgements)
    total = sum(w) or 1.0
    high = sum(wi for j, wi in zip(judgements, w, strict=True) if j in ROB_HIGH) / total
    critical = sum(wi for j, wi in zip(judgements, w, strict=True) if j in ROB_CRITICAL) / total
    weighted = weights is not None
    unrated = sum(wi for j, wi in zip(judgements, w, strict=True) if j not in ROB_RATED) / total
    # said, not rated down: whether unassessed risk of bias lowers certainty is the reviewers' judgement
    gap = "; " + _share(unrated, "studies whose risk of bias was not assessed", weighted) if unrated > 0 else ""
    if critical >= CRITICAL_ROB_SHARE:
        return Judgement("risk of bias", 2, _share(critical, "studies at critical risk of bias", weighted) + gap)
    if high >= HIGH_ROB_SHARE:
        return Judgement(
            "risk of bias", 1, _share(high, "studies at high, serious or critical risk of bias", weighted) + gap
        )
    return Judgement(
        "risk of bias", 0, _share(high, "studies at high, serious or critical risk of bias", weighted) + gap
    )


def inconsistency(k: int, i2: float | None, pi_lb: float | None, pi_ub: float | None) -> Judgement:
    if k < 2 or i2 is None:
        return Judgement("inconsistency", 0, "not judged (a single study)")
    crosses = pi_lb is not None and pi_ub is not None and pi_lb <= 0 <= pi_ub
    if i2 >= I2_INCONSISTENT and crosses:
        return Judgement("inconsistency", 1, f"I² = {i2:.0f}% and the prediction interval includes no effect")
    return Judgement(
        "inconsistency", 0, f"I² = {i2:.0f}%" + ("" if crosses else "; prediction interval on one side of no effect")
    )


def imprecision(ci_lb: float, ci_ub: float, desirable: str, mid: float | None) -> Judgement:
    """On the analysis scale (log for ratios); ``mid`` is an absolute difference on that scale."""
    includes_null = ci_lb <= 0 <= ci_ub
    if mid is not None and ci_lb <= -mid and ci_ub >= mid:
        return Judgement(
            "imprecision", 2, "the confidence interval includes both an important benefit and an important harm"
        )
    if includes_null:
        return Judgement("imprecision", 1, "the confidence interval includes no effect")
    return Judgement("imprecision", 0, "the whole confidence interval lies on one side of no effect")


#: An adjusted estimate "differs materially" when it keeps less than this share of the pooled benefit (or reverses it).
MATERIAL_SHARE = 0.5


def material_shift(pooled_benefit: float, adjusted_benefit: float | None) -> bool:
    """True when an estimate adjusted for small-study effects keeps less than half of the pooled benefit, or turns
    it into a harm (both on the benefit scale: a benefit is positive)."""
    if adjusted_benefit is None or not math.isfinite(adjusted_benefit) or pooled_benefit <= 0:
        return False
    return adjusted_benefit < MATERIAL_SHARE * pooled_benefit


def publication_bias(
    k: int,
    egger_p: float | None,
    rank_p: float | None,
    adjusted: Sequence[tuple[str, float | None, float | None]] = (),
    pooled_benefit: float | None = None,
) -> Judgement:
    """Down one for funnel-plot asymmetry (Egger's or the rank test p < 0.10, with 10 or more studies), or when an
    estimate adjusted for small-study effects whose own test signals them (p < 0.10) differs materially from the
    pooled one (:func:`material_shift`). ``adjusted``: (name, benefit-scale estimate, p of its test of selection or
    small-study effects)."""
    if k < SMALL_STUDY_K or (egger_p is None and rank_p is None):
        return Judgement("publication bias", 0, f"not assessable with fewer than {SMALL_STUDY_K} studies")
    ps = [p for p in (egger_p, rank_p) if p is not None]
    if min(ps) < SMALL_STUDY_P:
        tests = ", ".join(
            f"{name} {fmt_p_short(p)}" for name, p in (("Egger", egger_p), ("rank test", rank_p)) if p is not None
        )
        return Judgement("publication bias", 1, f"funnel-plot asymmetry ({tests}): small-study effects suspected")
    for name, benefit, p in adjusted:
        if (
            p is not None
            and p < SMALL_STUDY_P
            and pooled_benefit is not None
            and material_shift(pooled_benefit, benefit)
        ):
            return Judgement(
                "publication bias",
                1,
                f"the {name} estimate keeps less than half of the pooled benefit, and its test signals small-study "
                f"effects ({fmt_p_short(p)})",
            )
    return Judgement("publication bias", 0, "no funnel-plot asymmetry detected (p >= 0.10 on both tests)")


INDIRECTNESS = Judgement("indirectness", 0, "not rated down by rule: needs the reviewers' judgement")


def grade(start: str, start_reason: str, judgements: Sequence[Judgement]) -> Certainty:
    level = LEVELS.index(start) - sum(j.down for j in judgements)
    return Certainty(
        LEVELS[max(level, 0)],
        f"{start} ({start_reason})",
        (*judgements, INDIRECTNESS),
    )


def override(c: Certainty, block: Mapping | None) -> Certainty:
    """A reviewer's level (``{"level": "moderate", "justification": "...", "reviewer": "..."}``) over the proposal."""
    if not block:
        return c
    return Certainty(
        str(block["level"]),
        c.start,
        c.judgements,
        overridden=True,
        proposed=c.level,
        justification=str(block.get("justification") or ""),
        reviewer=block.get("reviewer"),
    )
