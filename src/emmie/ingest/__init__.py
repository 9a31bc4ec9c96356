"""Ingestion: the codebook, loading and validating a review folder.

``load_review`` and ``Review`` are imported on first use (PEP 562): the Snakefile reads review.yaml through
:mod:`emmie.ingest.yamlfile` while planning, which must not pay for pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emmie.ingest.load import load_review
    from emmie.ingest.review import Review

__all__ = ["Review", "load_review"]


def __getattr__(name: str) -> Any:
    if name == "load_review":
        from emmie.ingest.load import load_review

        return load_review
    if name == "Review":
        from emmie.ingest.review import Review

        return Review
    raise AttributeError(f"module 'emmie.ingest' has no attribute {name!r}")
