"""What the three companion outputs show, drawn from the same context as the full report."""

from __future__ import annotations

from typing import Any

from emmie.findings.text import NAMED_MAX, some
from emmie.ingest.review import Review
from emmie.report import tables


def practice_rows(review: Review) -> list[dict[str, Any]]:
    """For each mechanism: the components that trigger it, the contexts it works or fails in, its outcomes."""
    cmo = review.cmo
    rows = []
    for mech in sorted(set(cmo["mechanism"])):
        part = cmo[cmo["mechanism"] == mech]

        def labels(column: str, *stances: str, frame=part) -> list[str]:
            sub = frame if not stances else frame[frame["stance"].isin(stances)]
            return sorted({review.concept_label(v) for v in sub[column] if v})

        rows.append(
            {
                "mechanism": review.concept_label(mech),
                "components": labels("component", "supports", "refines"),
                "contradicted_components": labels("component", "contradicts"),
                "works_in": labels("context", "supports"),
                "refined_by": labels("context", "refines"),
                "fails_in": labels("context", "contradicts"),
                "outcomes": labels("outcome", "supports"),
                "contradicted_outcomes": labels("outcome", "contradicts"),
                "n_studies": part["study_id"].nunique(),
                "evidence": ", ".join(f"{v} {k}" for k, v in sorted(part["evidence"].value_counts().items())),
                "studies": sorted(set(part["study_id"])),
            }
        )
    rows.sort(key=lambda r: (-r["n_studies"], r["mechanism"]))
    return rows


def _practice(review: Review) -> dict[str, Any]:
    """The practice table, bounded as any table (one row per mechanism, most studies first)."""
    rows, note = tables.head(
        practice_rows(review), "mechanisms", f"{review.path.parent.name}/{review.path.name}/cmo.csv"
    )
    lists = ("components", "contradicted_components", "works_in", "refined_by", "fails_in", "outcomes")
    lists += ("contradicted_outcomes",)
    for r in rows:  # a cell names a bounded number of concepts
        for key in lists:
            r[key] = some(r[key], most=NAMED_MAX)
    return {"practice": rows, "practice_note": note}


def _frequencies(review: Review, said: dict[str, Any]) -> dict[str, Any]:
    """The information sheet's natural-frequency sentences (the primary outcome's first; at most NAMED_MAX), then
    the outcomes no study reported on."""
    found = [f for i, f in said.items() if i.startswith("effect.frequency.")]
    primary = {o["id"] for o in review.config.get("outcomes", []) if o.get("primary")}
    shown = tables.pick(found, NAMED_MAX, lambda f: f["id"].removeprefix("effect.frequency.") in primary)
    rest = len(found) - len(shown)
    note = (
        f"{rest:,} more outcomes have such a figure: each is with its outcome in the full report, or in the review's "
        "findings.json."
        if rest
        else ""
    )
    silent = [said["effect.no_results"]] if "effect.no_results" in said else []
    return {"frequencies": shown + silent, "frequencies_note": note}


def implementation_by_level(review: Review) -> list[dict[str, Any]]:
    labels = {t["id"]: t["label"] for t in review.config.get("implementation_themes", [])}
    where = f"{review.path.parent.name}/{review.path.name}/implementation.csv"
    out = []
    for level in ("system", "organisation", "team", "practitioner"):
        part = review.implementation[review.implementation["level"] == level]
        if part.empty:
            continue
        entry: dict[str, Any] = {"level": level}
        for kind, what in (("enabler", "enablers"), ("barrier", "barriers")):
            rows = part[part["type"] == kind]
            entry[what] = [
                {"theme": labels.get(r["theme"], r["theme"]), "excerpt": r["excerpt"], "study_id": r["study_id"]}
                for _, r in rows.head(tables.bound(tables.PAGE_ROWS)).iterrows()
            ]
            entry[f"{what}_note"] = tables.more_note(
                min(len(rows), tables.bound(tables.PAGE_ROWS)), len(rows), f"{what} at this level", where
            )
        out.append(entry)
    return out


def page_contexts(review: Review, ctx: dict[str, Any]) -> dict[str, dict[str, Any]]:
    name = review.config.get("short_title") or review.config["intervention"]
    return {
        "index.html": {"kicker": "EMMIE evidence review: full report"},
        "practice-guide.html": {
            "page_title": f"{name}: practice guide",
            "kicker": "For practitioners",
            **_practice(review),
            "mech_configurations": ctx["findings"]["mechanisms"]["configurations"],
        },
        "implementation-summary.html": {
            "page_title": f"{name}: implementation summary",
            "kicker": "For leaders",
            "by_level": implementation_by_level(review),
        },
        "information-sheet.html": {
            "page_title": f"{name}: information sheet",
            "kicker": "Information sheet",
            **_frequencies(review, ctx["said"]),
        },
    }
