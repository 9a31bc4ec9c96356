"""What was known at each snapshot date against what is known now (a living review's timeline).

Each snapshot's findings are derived by the same rules as the review's own
(:mod:`emmie.snapshots.stage`); this module sets them side by side per dimension: the
EMMIE-Q level and the headline at each date, whether either changed, and which sources
arrived in between. For outcomes with a pooled estimate it gives the estimate at each date
(a cumulative meta-analysis at the snapshot dates).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emmie.findings.model import DIMENSION_NAMES, DIMENSIONS, Finding
from emmie.findings.text import fmt_effect, join_some, plural

RULE = "Findings rebuilt from the sources public at each snapshot date (emmie.snapshots; emmie.findings.timeline)"


def _levels(doc: dict[str, Any]) -> dict[str, int]:
    return {r["key"]: r["final"] for r in doc.get("emmie_q", [])}


def _headline(doc: dict[str, Any], dim: str) -> str:
    fid = (doc.get("headlines") or {}).get(dim)
    for f in doc.get("findings", []):
        if f["id"] == fid:
            return f["statement"]
    return ""


def _pooled(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for f in doc.get("findings", []):
        n = f.get("numbers") or {}
        if f["id"].startswith("effect.verdict.") and n.get("k") and n.get("estimate") is not None:
            out[f["id"].removeprefix("effect.verdict.")] = n
    return out


def build(
    snapshots: list[dict[str, Any]],
    current: dict[str, Any],
    labels: dict[str, str],
    is_study: Callable[[str], bool] = lambda _: True,
) -> tuple[dict[str, Any], list[Finding]]:
    """``snapshots``: entries of ``snapshots.json``, each with ``doc`` (its findings document, or None when
    it is the review itself: then ``current`` is used). ``labels``: study id -> author-year label;
    ``is_study``: whether a source counts as a study (:mod:`emmie.ingest.documents`)."""
    if not snapshots:
        return {}, []
    docs = [s.get("doc") or current for s in snapshots]
    columns = [
        {
            "id": s["id"],
            "label": s["label"],
            "date": s["date"],
            "note": s.get("note", ""),
            "n_sources": len(s["sources"]["included"]),
            "n_studies": sum(1 for i in s["sources"]["included"] if is_study(i)),
            "uncertain": [labels.get(i, i) for i in s["sources"]["uncertain"]],
        }
        for s in snapshots
    ]
    for i in range(1, len(snapshots)):
        # a source left out earlier only because its date is uncertain was not "added" later
        before = set(snapshots[i - 1]["sources"]["included"]) | set(snapshots[i - 1]["sources"]["uncertain"])
        columns[i]["added"] = sorted(labels.get(x, x) for x in snapshots[i]["sources"]["included"] if x not in before)
    rows, findings = [], []
    for dim in DIMENSIONS:
        levels = [_levels(d).get(dim) for d in docs]
        heads = [_headline(d, dim) for d in docs]
        steps = "; ".join(f"{c['label']} {lv}/4" for c, lv in zip(columns, levels, strict=True))
        if len(set(levels)) > 1:
            change = "The level and the headline changed (both are in the table)."
        elif len(set(heads)) > 1:
            change = "Same level; the headline differs (both are in the table)."
        else:
            change = "Unchanged."
        fid = f"timeline.{dim}"
        findings.append(
            Finding(
                fid,
                dim,
                f"{DIMENSION_NAMES[dim]}, evidence quality by date: {steps}. {change}",
                rule=RULE,
                numbers={"levels": levels, "changed": change != "Unchanged."},
                pages=("index",),
            )
        )
        rows.append(
            {"dimension": dim, "name": DIMENSION_NAMES[dim], "levels": levels, "headlines": heads, "finding": fid}
        )
    pooled = [_pooled(d) for d in docs]
    pooled_rows = []
    for outcome in sorted(set().union(*pooled)):
        cells = []
        for p in pooled:
            n = p.get(outcome)
            cells.append(
                f"k = {n['k']}: {fmt_effect(n.get('measure'), n.get('estimate'), n.get('ci_lb'), n.get('ci_ub'))}"
                if n
                else "not pooled"
            )
        pooled_rows.append({"outcome": outcome, "cells": cells})
    if len(columns) > 1:
        first, last = columns[0], columns[-1]
        added = last.get("added") or []
        text = (
            f"{plural(len(added), 'source')} published after {first['date']} ({first['label']}) "
            f"{'is' if len(added) == 1 else 'are'} in {last['label']} ({last['date']})"
            + (f": {join_some(added, 'sources')}." if added else ".")
        )
        if first["uncertain"]:
            text += (
                f" {join_some(first['uncertain'], 'sources')}, whose date could not be placed before {first['date']}, "
                f"{'is' if len(first['uncertain']) == 1 else 'are'} left out of that snapshot and counted in "
                f"{last['label']}."
            )
        findings.append(
            Finding("timeline.sources", "summary", text, rule=RULE, numbers={"added": len(added)}, pages=("index",))
        )
    return {"columns": columns, "rows": rows, "pooled": pooled_rows}, findings
