"""The PRISMA stage: counts, arithmetic problems and the flow diagram."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from emmie.ingest.review import Review
from emmie.io import atomic_write_text, write_json
from emmie.prisma.flow import check_arithmetic, counts, flow_diagram


def run(review: Review, outdir: str | Path) -> dict[str, Any]:
    """Write ``prisma.json`` and ``prisma.svg`` into ``outdir``.

    JSON keys: ``review``, ``counts`` (box -> int, or null when not reported / no row),
    ``not_reported`` (boxes with a row but no count), ``details`` (box -> detail text),
    ``problems`` (arithmetic problems as text; the loader already refuses data with
    such problems, so this is normally empty), ``figure``.
    """
    outdir = Path(outdir)
    c = counts(review.prisma)
    result = {
        "review": review.id,
        "counts": {box: (None if v is None or math.isnan(v) else int(v)) for box, v in c.items()},
        "not_reported": [box for box, v in c.items() if v is not None and math.isnan(v)],
        "details": {str(b): str(d) for b, d in zip(review.prisma["box"], review.prisma["detail"], strict=True) if d},
        "problems": [str(p) for p in check_arithmetic(review.prisma)],
        "figure": "prisma.svg",
    }
    atomic_write_text(outdir / "prisma.svg", flow_diagram(review.prisma))
    write_json(outdir / "prisma.json", result)
    return result
