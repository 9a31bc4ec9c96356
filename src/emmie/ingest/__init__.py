"""Ingestion: the codebook, loading and validating a review folder."""

from emmie.ingest.load import load_review
from emmie.ingest.review import Review

__all__ = ["Review", "load_review"]
