"""Which sources were public by a date.

A source's date is its ``published`` cell (``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, as precise
as known) or else its ``year``. A date known only to the year or month spans a range: the source
is in a snapshot when the whole range lies on or before the snapshot date, out of it when the
range starts after it, and *uncertain* otherwise. Uncertain sources are left out (the snapshot
never claims a source was available when that is not known) and listed, so the page can say so.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime
from typing import Any

from emmie.ingest.review import Review

# Tables whose rows belong to a study (``study_id``) and so follow it in or out of a snapshot.
STUDY_TABLES = ("effects", "cmo", "implementation", "economics", "moderators", "rob")


def date_range(published: str, year: float) -> tuple[datetime.date, datetime.date]:
    """The first and last day a source's date can be."""
    text = published.strip() if published else ""
    if not text:
        text = str(int(year))
    parts = [int(p) for p in text.split("-")]
    if len(parts) == 3:
        day = datetime.date(*parts)
        return day, day
    if len(parts) == 2:
        y, m = parts
        return datetime.date(y, m, 1), datetime.date(y, m, calendar.monthrange(y, m)[1])
    return datetime.date(parts[0], 1, 1), datetime.date(parts[0], 12, 31)


def classify(review: Review, date: str) -> dict[str, list[str]]:
    """Study ids by status at ``date`` (YYYY-MM-DD): ``included``, ``later``, ``uncertain``."""
    cut = datetime.date.fromisoformat(date)
    out: dict[str, list[str]] = {"included": [], "later": [], "uncertain": []}
    for _, s in review.studies.iterrows():
        first, last = date_range(str(s.get("published", "") or ""), s["year"])
        status = "included" if last <= cut else ("later" if first > cut else "uncertain")
        out[status].append(str(s["study_id"]))
    return out


def as_of(review: Review, date: str) -> tuple[Review, dict[str, Any]]:
    """The review restricted to the sources public by ``date``, and which sources were left out."""
    status = classify(review, date)
    keep = set(status["included"])
    tables: dict[str, Any] = {"studies": _rows(review.studies, keep)}
    for name in STUDY_TABLES:
        tables[name] = _rows(getattr(review, name), keep)
    return dataclasses.replace(review, **tables), status


def _rows(frame, keep: set[str]):
    out = frame.loc[frame["study_id"].isin(keep)].reset_index(drop=True) if "study_id" in frame else frame
    out.attrs = {k: v for k, v in frame.attrs.items() if k != "lines"}
    return out
