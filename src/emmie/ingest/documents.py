"""Which sources are studies.

A review's sources include documents that are not studies: news items, funding
lists, council minutes, parliamentary answers. They stay in the review for
context, implementation and economics, but a result reported in them is not an
effect of the intervention and they are not counted as studies, unless
``review.yaml`` ``non_study_document_types`` says otherwise.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from emmie.ingest.review import Review
from emmie.ingest.schema import NOT_STUDIES

TYPE_WORDS = {
    "journal_article": "journal article",
    "report": "report",
    "thesis": "thesis",
    "book": "book",
    "presentation": "presentation",
    "administrative_data": "administrative data note",
    "web_page": "web page",
    "news": "news item",
    "funding_list": "funding list",
    "minutes": "council or committee minutes",
    "parliamentary_answer": "parliamentary answer",
}


def non_study_types(config: dict[str, Any]) -> tuple[str, ...]:
    return tuple(config.get("non_study_document_types", NOT_STUDIES))


def is_study(document_type: str, config: dict[str, Any]) -> bool:
    """An empty document type is a study (or a report of one)."""
    return document_type not in non_study_types(config)


def study_ids(review: Review) -> list[str]:
    """The sources that count as studies, in file order (one column operation: row by row took minutes at 100,000
    studies)."""
    studies = review.studies
    types = studies["document_type"].astype(str) if "document_type" in studies else pd.Series("", index=studies.index)
    return [str(s) for s in studies.loc[~types.isin(non_study_types(review.config)), "study_id"]]


def other_documents(review: Review) -> list[dict[str, str]]:
    """The sources that are not studies, each with its type in words."""
    studies = review.studies
    if "document_type" not in studies:
        return []
    types = studies["document_type"].astype(str)
    other = studies.loc[types.isin(non_study_types(review.config))]
    return [
        {"study_id": str(sid), "type": TYPE_WORDS[str(t)]}
        for sid, t in zip(other["study_id"], other["document_type"], strict=True)
    ]


def for_effect(review: Review) -> tuple[Review, list[dict[str, str]]]:
    """The review with only the results reported in studies, and the results left out (with why)."""
    keep = set(study_ids(review))
    mask = review.effects["study_id"].isin(keep)
    kinds = {d["study_id"]: d["type"] for d in other_documents(review)}
    dropped = [
        {
            "effect_id": str(r["effect_id"]),
            "study_id": str(r["study_id"]),
            "reason": f"reported in a {kinds[r['study_id']]}, not a study",
        }
        for _, r in review.effects.loc[~mask].iterrows()
    ]
    effects = review.effects.loc[mask].reset_index(drop=True)
    effects.attrs = {k: v for k, v in review.effects.attrs.items() if k != "lines"}  # line numbers no longer match
    return dataclasses.replace(review, effects=effects), dropped
