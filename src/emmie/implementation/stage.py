"""The Implementation stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emmie.implementation.synthesis import matrix_plot, synthesise
from emmie.ingest.review import Review
from emmie.io import atomic_write_text, write_json


def run(review: Review, outdir: str | Path) -> dict[str, Any]:
    """Write ``implementation.json`` and ``implementation_matrix.svg`` into ``outdir``.

    JSON keys: ``review``, ``themes`` (per theme: barriers and enablers with excerpts and
    study quality, counts per level), ``cells`` (theme x level counts), ``counts`` (items,
    barriers, enablers, studies, studies_adequate_rigour, themes_with_evidence,
    levels_with_evidence, by_level), ``studies`` (design and appraisal of each study),
    ``figure``.
    """
    outdir = Path(outdir)
    result = synthesise(review.implementation, review.studies, review.config.get("implementation_themes", []))
    out = {"review": review.id, **result.to_dict(), "figure": "implementation_matrix.svg"}
    atomic_write_text(outdir / "implementation_matrix.svg", matrix_plot(result))
    write_json(outdir / "implementation.json", out)
    return out
