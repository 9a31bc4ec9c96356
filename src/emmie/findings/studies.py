"""How a study is named to a reader: an author-year label, never its coded id."""

from __future__ import annotations

from emmie.ingest.review import Review


def study_labels(review: Review) -> dict[str, str]:
    """``study_id`` -> 'Author (year)' from the citation (at most 60 characters)."""
    out = {}
    for _, s in review.studies.iterrows():
        year = "" if s["year"] != s["year"] else str(int(s["year"]))
        first = str(s["citation"]).split(",")[0].split("(")[0].strip()
        short = f"{first} ({year})" if year and year not in first else first
        out[s["study_id"]] = short[:60]
    return out
