"""The published review's conclusions beside the rerun's, per EMMIE dimension.

``review.yaml`` ``published_review.findings`` quotes each published conclusion with its source
and states what it asserts in terms the rerun can check (``claim``). The rules below compare
that claim with the rerun's findings and say whether they agree, partly agree or differ, and
why. They are deliberately literal: a published conclusion "agrees" only when the rerun's own
rule reaches the same verdict from the coded sources.

Rules
-----
Effect (``claim: {outcome, verdict}``)
    The rerun's verdict on the outcome: from a pooled estimate, benefit or harm when the 95% CI
    excludes no effect in that direction, else little to no evidence; from directions alone,
    benefit / harm when comparative studies found only that, little to no evidence when none
    found either, no comparative evidence when no comparative study reported on it. Same verdict:
    agrees. "Little to no evidence", "no effect" and "no comparative evidence" are neighbours
    (none shows an effect): partly. Anything else: differs.
Mechanisms and moderators (``claim: {theory: [ids]}``)
    Each named proposition of the initial programme theory holds in the rerun when its strongest
    supporting evidence was observed or tested and no tested study contradicts it. All hold:
    agrees; some: partly; none: differs.
Implementation (``claim: {themes: [ids]}``)
    Agrees when barriers and enablers were both coded and every named theme has coded evidence;
    partly when some do; differs when none does.
Economics (``claim: {cost_effectiveness: none|found}``)
    Agrees when the rerun found cost-effectiveness evidence exactly when the published review did.

Whatever the verdict, when whether the coded sources were in the published review is unknown
for some of them, the reason says so: a difference may come from sources the rerun could not see.
"""

from __future__ import annotations

from typing import Any

from emmie.findings.effect import plain_names
from emmie.findings.model import Finding
from emmie.findings.studies import study_labels
from emmie.findings.text import join_and, number, plural

NAMES = {
    "effect": "Effect",
    "mechanisms": "Mechanisms",
    "moderators": "Moderators",
    "implementation": "Implementation",
    "economics": "Economics",
}
VERDICT_WORDS = {
    "benefit": "a benefit",
    "harm": "harm",
    "no_effect": "no effect",
    "little_to_no_evidence": "little to no evidence of an effect",
    "no_comparative_evidence": "no comparative evidence",
}
NEIGHBOURS = {"little_to_no_evidence", "no_effect", "no_comparative_evidence"}
AGREEMENT_WORDS = {"agrees": "Agrees", "partly": "Partly agrees", "differs": "Differs"}
AGREEMENT_WITH = {"agrees": "agrees with", "partly": "partly agrees with", "differs": "differs from"}
EMPIRICAL = ("observed", "tested")
RULE = "Published conclusion compared with the rerun's findings (emmie.findings.published)"


def effect_verdict(finding: dict[str, Any] | None, desirable: str) -> str:
    """The rerun's verdict on an outcome from its ``effect.verdict.<outcome>`` finding."""
    if finding is None:
        return "no_comparative_evidence"
    n = finding.get("numbers") or {}
    lb, ub = number(n.get("ci_lb")), number(n.get("ci_ub"))
    if lb is not None and ub is not None:
        good_up = desirable == "higher"
        if lb > 0:
            return "benefit" if good_up else "harm"
        if ub < 0:
            return "harm" if good_up else "benefit"
        return "little_to_no_evidence"
    if not n.get("n_comparative"):
        return "no_comparative_evidence"
    counts = n.get("comparative") or {}
    benefit, harm = counts.get("benefit", 0), counts.get("harm", 0)
    if benefit and not harm:
        return "benefit"
    if harm and not benefit:
        return "harm"
    return "little_to_no_evidence"


def agreement_of_verdicts(published: str, rerun: str) -> str:
    if published == rerun:
        return "agrees"
    if published in NEIGHBOURS and rerun in NEIGHBOURS:
        return "partly"
    return "differs"


def theory_holds(finding: dict[str, Any] | None) -> str:
    """'holds', 'contradicted' or 'untested' for a proposition's finding."""
    if finding is None:
        return "untested"
    if finding.get("certainty") in ("contradicted", "tested, not supported"):
        return "contradicted"
    best = (finding.get("numbers") or {}).get("strongest_evidence")
    return "holds" if best in EMPIRICAL else "untested"


def agreement_of_share(held: int, total: int) -> str:
    if total and held == total:
        return "agrees"
    return "partly" if held else "differs"


def _unknown_inclusion(review) -> str:
    unknown = int((review.studies["in_original_review"] == "unknown").sum())
    if not unknown:
        return ""
    return (
        f" Whether the sources coded here were in the published review is unknown for {unknown} of "
        f"{len(review.studies)} (its included-study list could not be read), so a difference may come from "
        "studies this rerun could not see."
    )


def compare(review, findings: list[Finding]) -> tuple[list[dict[str, Any]], list[Finding]]:
    """One row per published conclusion, and its finding (``published.<dimension>``)."""
    published = (review.config.get("published_review") or {}).get("findings") or []
    by_id = {f.id: f.to_dict() for f in findings}
    headlines = {f.dimension: f for f in findings if f.headline}
    labels = study_labels(review)
    rows, out = [], []
    for item in published:
        dim, claim = item["dimension"], item["claim"]
        if dim == "effect":
            agreement, why, rerun_id = _effect(review, claim, by_id)
        elif dim in ("mechanisms", "moderators"):
            agreement, why, rerun_id = _theory(review, claim, by_id, labels)
        elif dim == "implementation":
            agreement, why, rerun_id = _implementation(review, claim, headlines)
        else:
            agreement, why, rerun_id = _economics(claim, headlines)
        why += _unknown_inclusion(review) if agreement != "agrees" else ""
        fid = f"published.{dim}"
        statement = f"{AGREEMENT_WORDS[agreement]}: this rerun {AGREEMENT_WITH[agreement]} the published review on {NAMES[dim]}. {why}"
        out.append(
            Finding(
                fid,
                dim,
                statement,
                rule=RULE,
                certainty=None,
                numbers={"agreement": agreement, "claim": claim},
                pages=("index", "information-sheet"),
            )
        )
        rows.append(
            {
                "dimension": dim,
                "name": NAMES[dim],
                "published": item["conclusion"],
                "source": item["source"],
                "rerun": " ".join(by_id[i]["statement"] for i in rerun_id.split() if i in by_id),
                "rerun_finding": rerun_id,
                "agreement": agreement,
                "agreement_words": AGREEMENT_WORDS[agreement],
                "finding": fid,
            }
        )
    return rows, out


def _effect(review, claim, by_id) -> tuple[str, str, str]:
    outcome = review.outcome(claim["outcome"])
    fid = f"effect.verdict.{claim['outcome']}"
    rerun = effect_verdict(by_id.get(fid), outcome["desirable"])
    agreement = agreement_of_verdicts(claim["verdict"], rerun)
    noun = plain_names(outcome)["noun"]
    why = (
        f"On {noun} the published review found {VERDICT_WORDS[claim['verdict']]}; "
        f"from the sources coded here the rerun finds {VERDICT_WORDS[rerun]}."
    )
    return agreement, why, fid


def _theory(review, claim, by_id, labels) -> tuple[str, str, str]:
    states = {t: theory_holds(by_id.get(f"mechanisms.theory.{t}")) for t in claim["theory"]}
    held = [t for t, s in states.items() if s == "holds"]
    agreement = agreement_of_share(len(held), len(states))
    parts = []
    for state, words in (
        ("holds", "observed or tested in a coded study"),
        ("untested", "not observed or tested in any coded source"),
        ("contradicted", "contradicted by a tested study"),
    ):
        ids = [t for t, s in states.items() if s == state]
        if ids:
            text = f"{join_and(ids)} {'is' if len(ids) == 1 else 'are'} {words}"
            if state == "holds":
                empirical = set(review.cmo.loc[review.cmo["evidence"].isin(EMPIRICAL), "study_id"])
                behind = sorted(
                    {
                        labels.get(x, x)
                        for t in ids
                        for x in by_id[f"mechanisms.theory.{t}"]["studies"]
                        if x in empirical
                    }
                )
                text += f" (resting on {plural(len(behind), 'study', 'studies')}: {join_and(behind)})"
            parts.append(text)
    why = "Of the propositions behind it, " + "; ".join(parts) + "."
    props = {p["id"]: p for p in review.config.get("initial_theory") or []}
    for t, state in states.items():
        context = props.get(t, {}).get("context")
        if state != "holds" and context:
            nearby = [f["statement"] for k, f in by_id.items() if k.startswith(f"mechanisms.context.{context}.")]
            if nearby:
                why += " Coded evidence on the same context: " + " ".join(nearby)
    return agreement, why, " ".join(f"mechanisms.theory.{t}" for t in claim["theory"])


def _implementation(review, claim, headlines) -> tuple[str, str, str]:
    frame = review.implementation
    coded = set(frame["theme"])
    both = bool((frame["type"] == "barrier").any() and (frame["type"] == "enabler").any())
    themes = claim.get("themes") or []
    present = [t for t in themes if t in coded]
    labels = {t["id"]: t["label"].lower() for t in review.config.get("implementation_themes", [])}
    if not both:
        agreement = "differs" if not len(frame) else "partly"
    else:
        agreement = agreement_of_share(len(present), len(themes)) if themes else "agrees"
    why = (
        f"The rerun coded {plural(int((frame['type'] == 'barrier').sum()), 'barrier')} and "
        f"{plural(int((frame['type'] == 'enabler').sum()), 'enabler')}"
    )
    if themes:
        missing = [labels.get(t, t) for t in themes if t not in coded]
        why += f"; evidence on {join_and([labels.get(t, t) for t in present]) or 'none of the named themes'}"
        why += f", none on {join_and(missing)}." if missing else "."
    else:
        why += "."
    head = headlines.get("implementation")
    return agreement, why, head.id if head else ""


def _economics(claim, headlines) -> tuple[str, str, str]:
    head = headlines.get("economics")
    found = bool(((head.numbers if head else {}) or {}).get("cost_effectiveness"))
    rerun = "found" if found else "none"
    agreement = "agrees" if rerun == claim["cost_effectiveness"] else "differs"
    why = (
        "Neither found cost-effectiveness evidence of sufficient quality."
        if agreement == "agrees" and not found
        else f"The published review {'found' if claim['cost_effectiveness'] == 'found' else 'found no'} cost-effectiveness "
        f"evidence; the rerun {'found some' if found else 'found none'}."
    )
    return agreement, why, head.id if head else ""
