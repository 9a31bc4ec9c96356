"""The findings layer: every statement a reader is told, derived by written rules from the stage results.

:func:`derive` takes the review and its stage results (and the EMMIE-Q rating) and returns the
findings document that ``results/<review>/findings.json`` holds and every page renders from: the
list of :class:`Finding` records (statement, certainty, numbers, rule, studies, pages), the
headline of each dimension, and the laid-out views (per-outcome certainty tables, moderator
tables, programme-theory verdicts, EMMIE-Q rows). Pages only lay these out; they decide no word
and format no number of their own.
"""

from __future__ import annotations

from typing import Any

from emmie.findings import costs, next_steps, published, timeline
from emmie.findings import effect as effect_findings
from emmie.findings import mechanisms as mech_findings
from emmie.findings import moderators as mod_findings
from emmie.findings.model import DIMENSION_NAMES, DIMENSIONS, PAGES, Finding
from emmie.findings.text import join_and, plural, sentence
from emmie.ingest.documents import other_documents, study_ids
from emmie.ingest.labels import study_labels
from emmie.ingest.review import Review

__all__ = ["DIMENSIONS", "PAGES", "Finding", "derive"]

GLOSSES = {
    "effect": "Does it work?",
    "mechanisms": "How does it work?",
    "moderators": "Where and for whom does it work best?",
    "implementation": "How to do it",
    "economics": "What does it cost?",
}
NAMES = {d: (DIMENSION_NAMES[d], GLOSSES[d]) for d in DIMENSIONS}
EMMIE_Q_RULE = (
    "EMMIE-Q rules in src/emmie/rating/emmie_q.yaml (Johnson, Tilley & Bowers 2015), reviewer overrides applied"
)


def subject_of(review: Review) -> str:
    return review.config.get("plain_name") or review.config.get("short_title") or review.config["intervention"]


def _implementation(review: Review) -> Finding:
    frame = review.implementation
    pages = ("index", "implementation-summary", "information-sheet", "practice-guide")
    if frame.empty:
        return Finding(
            "implementation.headline",
            "implementation",
            "No implementation evidence was coded.",
            rule="Counts of coded barriers and enablers",
            pages=pages,
            headline=True,
        )
    labels = {t["id"]: t["label"] for t in review.config.get("implementation_themes", [])}
    top = frame["theme"].value_counts()
    themes = [labels.get(t, t).lower() for t in list(top.index[:3])]
    n_b, n_e = int((frame["type"] == "barrier").sum()), int((frame["type"] == "enabler").sum())
    others = {d["study_id"] for d in other_documents(review)} & set(frame["study_id"])
    n_sources = frame["study_id"].nunique()
    where = plural(n_sources, "study", "studies")
    if others:
        where = (
            f"{plural(n_sources, 'source')} ({plural(n_sources - len(others), 'study', 'studies')} and "
            f"{plural(len(others), 'other document')}, which gave "
            f"{plural(int(frame['study_id'].isin(others).sum()), 'item')})"
        )
    text = (
        f"{plural(n_b, 'barrier')} and {plural(n_e, 'enabler')} from {where}; "
        f"most often about {', '.join(themes[:-1]) + ' and ' + themes[-1] if len(themes) > 1 else themes[0]}."
    )
    return Finding(
        "implementation.headline",
        "implementation",
        text,
        numbers={"barriers": n_b, "enablers": n_e, "themes": list(top.index[:3])},
        rule="Counts of coded barriers and enablers by theme",
        studies=tuple(sorted(set(frame["study_id"]))),
        pages=pages,
        headline=True,
    )


def _economics(econ: dict[str, Any]) -> Finding:
    counts = econ.get("counts") or {}
    if not econ.get("items"):
        text = "No economic evidence was found in the coded studies: nothing can be said about what it costs."
    else:
        text = sentence(econ.get("finding") or "no economic evidence was coded")
        if counts.get("funding") and not counts.get("cost"):
            text += (
                f" The only amounts found are {plural(counts['funding'], 'grant or funding award', 'grants or funding awards')}:"
                " what was paid to implementers, not what delivering it costs."
            )
    return Finding(
        "economics.headline",
        "economics",
        text,
        numbers={"counts": econ.get("counts"), "cost_effectiveness": len(econ.get("cost_effectiveness") or [])},
        rule="emmie.economics.synthesis: a cost-effectiveness figure only where a cost and a pooled effect on the same outcome exist",
        studies=tuple(sorted({i.get("study_id") for i in econ.get("items", []) if i.get("study_id")})),
        pages=("index", "implementation-summary", "information-sheet"),  # the toolkit gives the cost band
        headline=True,
    )


def emmie_q_rows(rating: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Finding]]:
    dims = rating.get("dimensions", rating)
    rows, findings = [], []
    for key in DIMENSIONS:
        d = dims.get(key) or {}
        name, gloss = NAMES[key]
        descriptor = (d.get("descriptor") or {}).get("descriptor", "")
        reason = "; ".join(d.get("reasons") or [])
        final = int(d.get("final", d.get("proposed", 0)))
        statement = f"{name}: evidence quality {final}/4 ({descriptor.rstrip('.')}): {reason}."
        if d.get("overridden"):
            statement += f" Proposed {d.get('proposed')}/4 by the rules; set to {final}/4 by {d.get('reviewer') or 'the reviewers'}: {d.get('justification')}"
        fid = f"emmie_q.{key}"
        findings.append(
            Finding(
                fid,
                key,
                sentence(statement),
                certainty=f"{final}/4",
                numbers={"proposed": d.get("proposed"), "final": final},
                rule=EMMIE_Q_RULE,
                pages=("index",),
            )
        )
        rows.append(
            {
                "key": key,
                "name": name,
                "gloss": gloss,
                "proposed": int(d.get("proposed", 0)),
                "final": final,
                "overridden": bool(d.get("overridden")),
                "reviewer": d.get("reviewer") or "",
                "justification": d.get("justification") or "",
                "reason": reason,
                "descriptor": descriptor,
                "finding": fid,
            }
        )
    return rows, findings


def _plain_summary(review: Review, headlines: dict[str, Finding], rows: list[dict[str, Any]]) -> Finding:
    ids = study_ids(review)
    others = other_documents(review)
    n = len(ids)
    studies = review.studies[review.studies["study_id"].isin(ids)]
    comparative = int(studies["design"].isin(["rct", "quasi_experimental"]).sum())
    name = subject_of(review)
    low = [r["name"] for r in rows if r["final"] <= 1]
    text = (
        f"We looked at {plural(n, 'study or report', 'studies and reports')}; {comparative} of them compared people or places "
        f"receiving {name} with a comparison group that did not."
    )
    if others:
        kinds = sorted({d["type"] for d in others})
        verb = "is" if len(others) == 1 else "are"
        text += (
            f" {plural(len(others), 'other document').capitalize()} ({join_and(kinds)}) {verb} kept for context, "
            "implementation and costs but not counted as studies or used for the effect."
        )
    if low:
        text += (
            " Where the evidence is thin ("
            + ", ".join(low)
            + "), that is itself the finding: a lack of evidence is not "
            "evidence that the intervention does not work."
        )
    return Finding(
        "summary.scope",
        "summary",
        text,
        numbers={"studies": n, "comparative": comparative, "other_documents": len(others), "thin": low},
        rule="Counts of coded studies and designs (documents that are not studies apart: emmie.ingest.documents); EMMIE-Q levels of 1 or less are called thin",
        pages=("index", "information-sheet"),
    )


def derive(
    review: Review,
    summaries: dict[str, dict[str, Any]],
    rating: dict[str, Any],
    snapshots: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The findings document of a review (see the module docstring). ``snapshots``: the entries of
    ``snapshots.json``, each with ``doc``, its own findings document (None for the review itself)."""
    subject = subject_of(review)
    effect = summaries.get("effect") or {}
    mech = summaries.get("mechanisms") or {}
    mods = summaries.get("moderators") or {}
    econ = summaries.get("economics") or {}
    findings: list[Finding] = []
    effect_view, fs = effect_findings.derive(review, effect, subject)
    findings += fs
    theory_views, fs = mech_findings.theory(review, mech, mods)
    findings += fs
    context_views, fs = mech_findings.context_roles(review, mech)
    findings += fs
    findings.append(mech_findings.headline(review, mech, theory_views))
    config_views, f = mech_findings.configurations(review, mech)
    findings.append(f)
    outcomes = {o["outcome"]: o for o in effect.get("outcomes", [])}
    mod_view, fs = mod_findings.derive(mods, outcomes, context_views)
    findings += fs
    findings.append(_implementation(review))
    findings.append(_economics(econ))
    findings.append(costs.cost_band(econ, review.config.get("cost_bands")))
    rows, fs = emmie_q_rows(rating)
    findings += fs
    headlines = {f.dimension: f for f in findings if f.headline}
    findings.append(_plain_summary(review, headlines, rows))
    findings += next_steps.derive(review, findings, rating, subject, theory_views)
    published_rows = published.compare(review, findings, theory_views)
    first = (snapshots or [None])[0]
    then = (
        {"label": first["label"], "date": first["date"], "rows": first["doc"].get("published") or []}
        if first and first.get("doc")
        else None
    )
    findings += published.findings_of(review, published_rows, then)
    doc_so_far = {
        "findings": [f.to_dict() for f in findings],
        "headlines": {k: v.id for k, v in headlines.items()},
        "emmie_q": rows,
    }
    studies_set = set(study_ids(review))
    timeline_view, fs = timeline.build(snapshots or [], doc_so_far, study_labels(review), studies_set.__contains__)
    findings += fs
    ids = [f.id for f in findings]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"duplicate finding ids: {dupes}")
    return {
        "review": review.id,
        "subject": subject,
        "findings": [f.to_dict() for f in findings],
        "headlines": {k: v.id for k, v in headlines.items()},
        "effect": effect_view,
        "mechanisms": {"theory": theory_views, "configurations": config_views},
        "moderators": {**mod_view, "contexts": context_views},
        "emmie_q": rows,
        "emmie_q_note": (rating.get("rubric") or {}).get("verification_note", ""),
        "published": published_rows,
        "timeline": timeline_view,
        "next_steps": [f.id for f in findings if f.id.startswith("next.")],
    }
