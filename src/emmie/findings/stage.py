"""The findings step of the pipeline: read the stage results and the rating, write ``findings.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emmie.errors import AnalysisError
from emmie.findings import derive
from emmie.ingest.review import Review
from emmie.io import write_json
from emmie.pipeline import read_json, read_summaries


def run(review: Review, results: Path, out_json: Path) -> dict[str, Any]:
    """Derive the findings; a stage result that lacks a key they need is an error, never an empty page."""
    rating = results / "emmie.json"
    if not rating.is_file():
        raise AnalysisError(f"{rating}: not found; run `emmie rate` first")
    snapshots = _snapshots(results)
    try:
        doc = derive(review, read_summaries(results), read_json(rating), snapshots)
    except KeyError as exc:
        raise AnalysisError(
            f"{results}: a stage result lacks the key {exc}; the results are from another emmie version or damaged: "
            "rerun the pipeline"
        ) from exc
    write_json(out_json, doc)
    return doc


def _snapshots(results: Path) -> list[dict[str, Any]]:
    """The snapshot entries with their findings documents (None for the snapshot that is the review)."""
    index = results / "snapshots" / "snapshots.json"
    if not index.is_file():
        return []
    entries = read_json(index).get("snapshots") or []
    for entry in entries:
        entry["doc"] = None if entry.get("same_as_review") else read_json(results / "snapshots" / entry["findings"])
    return entries
