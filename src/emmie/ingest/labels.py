"""How a study is named to a reader: an author-year label, never its coded id."""

from __future__ import annotations

from emmie.ingest.review import Review


def study_labels(review: Review) -> dict[str, str]:
    """``study_id`` -> 'Author (year)' from the citation; studies that would share a label get 'a', 'b', ..."""
    out = {}
    studies = review.studies
    for sid, year, citation in zip(studies["study_id"], studies["year"], studies["citation"], strict=True):
        first = str(citation).split(",")[0].split("(")[0].strip()[:50]
        out[sid] = (first, "" if year != year else str(int(year)))  # year != year: no year (NaN)
    # Two studies that would read alike ("Barnoski (2002)") become 2002a, 2002b, in study_id order.
    groups: dict[tuple[str, str], list[str]] = {}
    for sid, key in out.items():
        groups.setdefault(key, []).append(sid)
    labels = {}
    for (first, year), ids in groups.items():
        for i, sid in enumerate(sorted(ids)):
            suffix = "abcdefghijklmnopqrstuvwxyz"[i] if len(ids) > 1 and i < 26 else ""
            if year and year not in first:
                labels[sid] = f"{first} ({year}{suffix})"
            else:
                labels[sid] = f"{first}{f' ({suffix})' if suffix else ''}"
    return labels
