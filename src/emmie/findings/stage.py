"""The findings step of the pipeline: read the stage results and the rating, write ``findings.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emmie.findings import derive
from emmie.ingest.review import Review
from emmie.io import write_json
from emmie.pipeline import read_json, read_summaries


def run(review: Review, results: Path, out_json: Path) -> dict[str, Any]:
    doc = derive(review, read_summaries(results), read_json(results / "emmie.json"))
    write_json(out_json, doc)
    return doc
