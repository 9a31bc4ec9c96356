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
    Each named proposition of the initial programme theory holds in the rerun when *every* link of
    it (its weakest link) has observed or tested support and no tested study contradicts it. All
    hold: agrees; some: partly; none, and a tested study contradicts one: differs; none, with no
    contradiction (the links are only described or asserted, or have no evidence): not reproduced,
    which is absence of evidence, not disagreement.
Implementation (``claim: {themes: [ids]}``)
    Agrees when barriers and enablers were both coded and every named theme has coded evidence;
    partly when some do, or when only barriers or only enablers were coded; not reproduced when no
    named theme has evidence or nothing on implementation was coded.
Economics (``claim: {cost_effectiveness: none|found}``)
    Agrees when the rerun found cost-effectiveness evidence exactly when the published review did.

Whatever the verdict, when whether the coded studies were in the published review is unknown for
some of them, the reason says so, with the number of publications the review analysed where
``prisma.csv`` gives it: agreement or difference may come from sources the rerun does not have.
With snapshots (``review.yaml`` ``snapshots``), each conclusion is judged twice: against the
sources public at the first snapshot (for a rerun, the review's search) and against all of them.
"""

from __future__ import annotations

from typing import Any

from emmie.findings.effect import plain_names
from emmie.findings.model import DIMENSION_NAMES, Finding
from emmie.findings.text import join_and, number, plural
from emmie.ingest.labels import study_labels

VERDICT_WORDS = {
    "benefit": "a benefit",
    "harm": "harm",
    "no_effect": "no effect",
    "little_to_no_evidence": "little to no evidence of an effect",
    "no_comparative_evidence": "no comparative evidence",
}
NEIGHBOURS = {"little_to_no_evidence", "no_effect", "no_comparative_evidence"}
AGREEMENT_WORDS = {
    "agrees": "Agrees",
    "partly": "Partly agrees",
    "differs": "Differs",
    "not_reproduced": "Not reproduced",
}
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


def theory_holds(finding: dict[str, Any] | None, links: list[dict[str, Any]] | None = None) -> str:
    """'holds', 'contradicted' or 'untested' for a proposition: it holds when every link of it (``links``
    from the theory view, each with its strongest ``evidence``) was observed or tested."""
    if finding is None:
        return "untested"
    if finding.get("certainty") in ("contradicted", "tested, not supported"):
        return "contradicted"
    if links:
        return "holds" if all(link.get("evidence") in EMPIRICAL for link in links) else "untested"
    best = (finding.get("numbers") or {}).get("strongest_evidence")
    return "holds" if best in EMPIRICAL else "untested"


def agreement_of_share(held: int, total: int, contradicted: int = 0) -> str:
    if total and held == total:
        return "agrees"
    if held:
        return "partly"
    return "differs" if contradicted else "not_reproduced"


def caveat(review) -> str:
    """What the reader must know before trusting an agreement or a difference."""
    from emmie.ingest.documents import study_ids

    ids = set(study_ids(review))
    studies = review.studies[review.studies["study_id"].isin(ids)]
    unknown = int((studies["in_original_review"] == "unknown").sum())
    if not unknown:
        return ""
    prisma = review.prisma
    reported = None
    if len(prisma) and "box" in prisma and "reports_included" in set(prisma["box"]):
        reported = number(prisma.loc[prisma["box"] == "reports_included", "count"].iloc[0])
    head = (
        f"The published review analysed {int(reported)} publications, and its list of them"
        if reported
        else "The published review's list of included studies"
    )
    return (
        f"{head} could not be read: whether the {len(studies)} studies coded here were among them is unknown for "
        f"{unknown}, so agreement or difference may come from sources this rerun does not have."
    )


def compare(review, findings: list[Finding], theory_views: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """One row per published conclusion: the rerun's verdict on it, whether they agree and why."""
    published = (review.config.get("published_review") or {}).get("findings") or []
    by_id = {f.id: f.to_dict() for f in findings}
    links = {v["id"]: v.get("links") or [] for v in theory_views or []}
    headlines = {f.dimension: f for f in findings if f.headline}
    labels = study_labels(review)
    rows = []
    for item in published:
        dim, claim = item["dimension"], item["claim"]
        if dim == "effect":
            agreement, why, rerun_id = _effect(review, claim, by_id)
        elif dim in ("mechanisms", "moderators"):
            agreement, why, rerun_id = _theory(review, claim, by_id, labels, links)
        elif dim == "implementation":
            agreement, why, rerun_id = _implementation(review, claim, headlines)
        else:
            agreement, why, rerun_id = _economics(claim, headlines)
        rows.append(
            {
                "dimension": dim,
                "name": DIMENSION_NAMES[dim],
                "published": item["conclusion"],
                "source": item["source"],
                "rerun": " ".join(by_id[i]["statement"] for i in rerun_id.split() if i in by_id),
                "rerun_finding": rerun_id,
                "agreement": agreement,
                "agreement_words": AGREEMENT_WORDS[agreement],
                "why": why,
                "finding": f"published.{dim}",
            }
        )
    return rows


def findings_of(review, rows: list[dict[str, Any]], then: dict[str, Any] | None = None) -> list[Finding]:
    """The finding of each row, and the caveat that applies to them all. ``then``: the first snapshot (``label``,
    ``date``, ``rows``: its own compared rows), whose verdict is stated first, so the reader sees agreement on the
    evidence the review could have had. Sets each row's ``glance``: the verdicts in words, earliest first."""
    note = caveat(review)
    then_rows = {r["dimension"]: r for r in (then or {}).get("rows") or []}
    out = []
    if rows and note:
        out.append(Finding("published.caveat", "summary", note, rule=RULE, pages=("index", "information-sheet")))
    for r in rows:
        statement = f"{r['agreement_words']}. {r['why']}"
        agreements = {"now": r["agreement"]}
        earlier = then_rows.get(r["dimension"])
        r["glance"] = [{"when": "Now", "words": r["agreement_words"]}]
        if then and earlier:
            agreements["then"] = earlier["agreement"]
            r["glance"].insert(0, {"when": then["label"], "words": earlier["agreement_words"]})
            when = f"the sources public by {then['date']} ({then['label']})"
            if (earlier["agreement"], earlier["why"]) == (r["agreement"], r["why"]):
                statement = f"{r['agreement_words']}, both with {when} and with every source coded now. {r['why']}"
            else:
                statement = (
                    f"With {when}: {earlier['agreement_words'].lower()}. {earlier['why']} "
                    f"With every source coded now: {r['agreement_words'].lower()}. {r['why']}"
                )
        out.append(
            Finding(
                r["finding"],
                r["dimension"],
                statement,
                rule=RULE,
                numbers={"agreement": agreements},
                pages=("index",),  # the information sheet gives the verdicts only (two A4 pages)
            )
        )
    return out


def _effect(review, claim, by_id) -> tuple[str, str, str]:
    outcome = review.outcome(claim["outcome"])
    fid = f"effect.verdict.{claim['outcome']}"
    rerun = effect_verdict(by_id.get(fid), outcome["desirable"])
    shown = "effect.headline" if "effect.headline" in by_id else fid
    agreement = agreement_of_verdicts(claim["verdict"], rerun)
    noun = plain_names(outcome)["noun"]
    why = (
        f"On {noun} the published review found {VERDICT_WORDS[claim['verdict']]}; "
        f"from the sources coded here the rerun finds {VERDICT_WORDS[rerun]}."
    )
    return agreement, why, shown


def _theory(review, claim, by_id, labels, links) -> tuple[str, str, str]:
    states = {t: theory_holds(by_id.get(f"mechanisms.theory.{t}"), links.get(t)) for t in claim["theory"]}
    held = [t for t, s in states.items() if s == "holds"]
    contradicted = [t for t, s in states.items() if s == "contradicted"]
    agreement = agreement_of_share(len(held), len(states), len(contradicted))
    empirical = set(review.cmo.loc[review.cmo["evidence"].isin(EMPIRICAL), "study_id"])
    parts = []
    for t, state in states.items():
        finding = by_id.get(f"mechanisms.theory.{t}") or {}
        if state == "holds":
            behind = sorted({labels.get(x, x) for x in finding.get("studies", []) if x in empirical})
            parts.append(f"{t} has observed or tested support on every link ({join_and(behind)})")
        elif state == "contradicted":
            parts.append(f"{t} is contradicted by a tested study")
        else:
            weak = [link for link in links.get(t) or [] if link.get("evidence") not in EMPIRICAL]
            if weak and any(link.get("evidence") not in (None, "none") for link in weak):
                parts.append(
                    f"{t} is not observed or tested: "
                    + "; ".join(
                        f"{link['text']} has "
                        + (
                            f"only {link['evidence']} support"
                            if link["evidence"] not in (None, "none")
                            else "no evidence"
                        )
                        for link in weak
                    )
                )
            else:
                parts.append(f"{t} is not observed or tested in any coded source")
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
        agreement = "not_reproduced" if not len(frame) else "partly"
    else:
        agreement = agreement_of_share(len(present), len(themes)) if themes else "agrees"
    why = (
        f"The rerun coded {plural(int((frame['type'] == 'barrier').sum()), 'barrier')} and "
        f"{plural(int((frame['type'] == 'enabler').sum()), 'enabler')}"
    )
    if themes:
        missing = [labels.get(t, t) for t in themes if t not in coded]
        found = [labels.get(t, t) for t in present]
        parts = ([f"evidence on {join_and(found)}"] if found else []) + (
            [f"none on {join_and(missing)}"] if missing else []
        )
        why += "; " + ", ".join(parts) + "."
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
