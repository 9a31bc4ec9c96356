"""The EMMIE-Q rating stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emmie.ingest.review import Review
from emmie.io import write_json
from emmie.rating.rules import apply_overrides, propose_levels, rubric


def run(review: Review, summaries: dict[str, dict[str, Any]], out_json: str | Path) -> dict[str, Any]:
    """Write ``emmie.json``: per dimension the proposed and final level side by side.

    JSON keys: ``review``, ``rubric`` (citation, verification_note), ``dimensions``
    (dimension -> ``proposed, final, overridden, justification, reviewer, reasons, facts,
    descriptor, proposed_descriptor, rule``).
    """
    proposals = propose_levels(review, summaries)
    r = rubric()
    result = {
        "review": review.id,
        "rubric": {"citation": r["citation"], "verification_note": r["verification_note"]},
        "dimensions": apply_overrides(proposals, review.config.get("emmie_overrides")),
    }
    write_json(out_json, result)
    return result
