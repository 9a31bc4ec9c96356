"""Rebuild the review as of each snapshot date (``review.yaml`` ``snapshots``).

For each snapshot the sources public by its date (:mod:`emmie.snapshots.select`) go through every
stage, the EMMIE-Q rating and the findings, into ``<out>/<snapshot id>/``, exactly as the whole
review does. A snapshot that holds every source is the review itself and is not run twice
(``same_as_review``). ``<out>/snapshots.json`` lists the snapshots with the sources in each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emmie.ingest.review import Review
from emmie.io import write_json
from emmie.snapshots.select import as_of


def run(review: Review, out: Path) -> dict[str, Any]:
    from emmie import pipeline
    from emmie.findings import stage as findings_stage

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for snapshot in review.config.get("snapshots") or []:
        subset, status = as_of(review, snapshot["date"])
        entry = {**snapshot, "sources": status, "same_as_review": not status["later"] and not status["uncertain"]}
        if not entry["same_as_review"]:
            folder = out / snapshot["id"]
            for stage in pipeline.STAGES:
                pipeline.run_stage(stage, subset, folder / stage, results=folder)
            pipeline.rate(subset, folder, folder / "emmie.json")
            findings_stage.run(subset, folder, folder / "findings.json")
            entry["findings"] = f"{snapshot['id']}/findings.json"
        entries.append(entry)
    doc = {"review": review.id, "snapshots": entries}
    write_json(out / "snapshots.json", doc)
    return doc
