"""What next: research priorities that follow from the gaps the findings show.

Rules, in order (each gives one priority when its gap exists):
1. The primary outcome has no comparative study, or comparative studies give little to no
   evidence at very low or low certainty: comparative evaluations of it are a priority.
2. Outcomes in the review's question that no comparative study measured (or nothing reported).
3. Propositions of the initial programme theory with a link that no coded source observed or tested (the
   weakest link decides): test them.
(After 1: an outcome where comparative evidence points to harm and none to benefit: follow the harm up.)
4. No moderator analysis was possible: studies need to report effects by group and setting.
5. No cost of delivering the intervention was found (Economics level 0 or 1): cost it.
"""

from __future__ import annotations

from typing import Any

from emmie.findings.effect import plain_names
from emmie.findings.model import Finding
from emmie.findings.text import NAMED_MAX, join_some

RULE = "Gaps in the findings turned into research priorities (emmie.findings.next_steps)"
PAGES = ("index", "information-sheet")


def derive(
    review,
    findings: list[Finding],
    rating: dict[str, Any],
    subject: str,
    theory_views: list[dict[str, Any]] | None = None,
) -> list[Finding]:
    by_id = {f.id: f for f in findings}
    out: list[Finding] = []
    outcomes = review.config["outcomes"]
    primary = next((o for o in outcomes if o.get("primary")), outcomes[0])
    verdict = by_id.get(f"effect.verdict.{primary['id']}")
    n = (verdict.numbers if verdict else {}) or {}
    noun = plain_names(primary)["noun"]
    thin = verdict is None or not n.get("n_comparative", n.get("k")) or verdict.certainty in ("very low", "low")
    if thin:
        out.append(
            Finding(
                "next.effect",
                "effect",
                f"Comparative evaluations of the effect of {subject} on {noun} are a priority: "
                + (
                    "no comparative study has measured it."
                    if verdict is None or verdict.certainty == "no comparative evidence"
                    else f"the evidence is of {verdict.certainty} certainty."
                ),
                rule=RULE,
                pages=PAGES,
            )
        )
    harms = []
    for o in outcomes:
        f = by_id.get(f"effect.verdict.{o['id']}")
        counts = ((f.numbers or {}).get("comparative") or {}) if f else {}
        if counts.get("harm") and not counts.get("benefit"):
            harms.append((o, f, counts["harm"]))
    for o, f, n in harms[:NAMED_MAX]:
        out.append(
            Finding(
                f"next.harm.{o['id']}",
                "effect",
                f"Follow up the possible harm on {plain_names(o)['noun']}: {n} comparative "
                f"{'study' if n == 1 else 'studies'} found it, at {f.certainty} certainty; replicate it with effect "
                "sizes and their uncertainty before it is read as a finding.",
                rule=RULE,
                studies=f.studies,
                pages=PAGES,
            )
        )
    if len(harms) > NAMED_MAX:
        rest = len(harms) - NAMED_MAX
        out.append(
            Finding(
                "next.harm.more",
                "effect",
                f"Follow up, in the same way, the possible harm on {rest:,} more "
                f"{'outcome' if rest == 1 else 'outcomes'} (each outcome's verdict is in the review's findings.json).",
                rule=RULE,
                numbers={"n": rest, "outcomes": [o["id"] for o, _, _ in harms[NAMED_MAX:]]},
                pages=PAGES,
            )
        )
    unmeasured = [
        plain_names(o)["noun"]
        for o in outcomes
        if o is not primary
        and (
            by_id.get(f"effect.verdict.{o['id']}") is None
            or by_id[f"effect.verdict.{o['id']}"].certainty == "no comparative evidence"
        )
    ]
    if unmeasured:
        out.append(
            Finding(
                "next.outcomes",
                "effect",
                f"No comparative study has measured {join_some(unmeasured, 'outcomes')}.",
                rule=RULE,
                numbers={"n": len(unmeasured)},
                pages=PAGES,
            )
        )
    from emmie.findings.published import theory_holds

    links = {v["id"]: v.get("links") or [] for v in theory_views or []}
    untested = [
        f.id.removeprefix("mechanisms.theory.")
        for f in findings
        if f.id.startswith("mechanisms.theory.")
        and theory_holds(f.to_dict(), links.get(f.id.removeprefix("mechanisms.theory."))) == "untested"
    ]
    if untested:
        props = {p["id"]: p["statement"] for p in review.config.get("initial_theory") or []}
        out.append(
            Finding(
                "next.theory",
                "mechanisms",
                "Test the links of the programme theory that no coded source observed or tested: "
                + "; ".join(f"{t} ({props.get(t, '').rstrip('.')})" for t in untested)
                + ".",
                rule=RULE,
                numbers={"untested": untested},
                pages=PAGES,
            )
        )
    mods = by_id.get("moderators.headline")
    if mods is not None and not (mods.numbers or {}).get("analysed"):
        out.append(
            Finding(
                "next.moderators",
                "moderators",
                "Studies need to report effects by group and setting (with their uncertainty), so that for whom and "
                "where it works can be tested rather than only described.",
                rule=RULE,
                pages=PAGES,
            )
        )
    economics = ((rating.get("dimensions") or {}).get("economics") or {}).get("final")
    if economics is not None and economics <= 1:
        out.append(
            Finding(
                "next.economics",
                "economics",
                f"Cost {subject} as delivered (per participant and in total, including training and set-up) alongside "
                "an impact evaluation, so that cost-effectiveness can be assessed.",
                rule=RULE,
                pages=PAGES,
            )
        )
    return out
