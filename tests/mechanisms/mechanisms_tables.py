"""Builders of small hand-made CMO tables for the mechanisms tests."""

from __future__ import annotations

import pandas as pd

from emmie.ingest.schema import CMO

CMO_COLUMNS = tuple(c.name for c in CMO.columns)


def vocabulary(concepts: dict[str, str], labels: dict[str, str] | None = None) -> pd.DataFrame:
    """concept_id -> kind; label defaults to the id in capitals."""
    labels = labels or {}
    return pd.DataFrame(
        {
            "concept_id": list(concepts),
            "kind": list(concepts.values()),
            "label": [labels.get(c, c.upper()) for c in concepts],
            "description": [""] * len(concepts),
        }
    )


def studies(appraisal: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """study_id -> (rigour, relevance)."""
    return pd.DataFrame(
        {
            "study_id": list(appraisal),
            "rigour": [a[0] for a in appraisal.values()],
            "relevance": [a[1] for a in appraisal.values()],
        }
    )


def cmo(rows: list[dict[str, str]]) -> pd.DataFrame:
    """Codings; ``cmo_id`` defaults to r1, r2, ...; stance supports; evidence observed."""
    full = []
    for i, r in enumerate(rows):
        row = {c: "" for c in CMO_COLUMNS}
        row.update({"cmo_id": f"r{i + 1}", "stance": "supports", "evidence": "observed", "verified": "yes"})
        row.update(r)
        full.append(row)
    return pd.DataFrame(full, columns=list(CMO_COLUMNS))
