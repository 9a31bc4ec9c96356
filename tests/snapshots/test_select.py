"""Which sources are in a snapshot: on both sides of each date boundary."""

from __future__ import annotations

import datetime

import pandas as pd
import pytest

from emmie.snapshots.select import as_of, classify, date_range

from support import ROOT


@pytest.mark.parametrize(
    ("published", "year", "first", "last"),
    [
        ("", 2018, "2018-01-01", "2018-12-31"),
        ("2018-06", 2018, "2018-06-01", "2018-06-30"),
        ("2016-02", 2016, "2016-02-01", "2016-02-29"),
        ("2018-06-15", 2018, "2018-06-15", "2018-06-15"),
    ],
)
def test_date_range(published, year, first, last):
    assert date_range(published, year) == (datetime.date.fromisoformat(first), datetime.date.fromisoformat(last))


class Studies:
    def __init__(self, rows):
        self.studies = pd.DataFrame(rows, columns=["study_id", "year", "published"])


@pytest.mark.parametrize(
    ("published", "year", "cut", "status"),
    [
        ("2018-06-30", 2018, "2018-06-30", "included"),  # on the day: in
        ("2018-07-01", 2018, "2018-06-30", "later"),  # the day after: out
        ("2018-06", 2018, "2018-06-30", "included"),  # the whole month lies on or before the date
        ("2018-06", 2018, "2018-06-29", "uncertain"),  # the month straddles the date
        ("", 2018, "2018-06-30", "uncertain"),  # year only, date inside that year
        ("", 2017, "2018-06-30", "included"),
        ("", 2019, "2018-06-30", "later"),
        ("", 2018, "2018-12-31", "included"),
    ],
)
def test_classify_on_both_sides_of_the_date(published, year, cut, status):
    got = classify(Studies([("s", float(year), published)]), cut)
    assert got[status] == ["s"]


def test_as_of_keeps_only_rows_of_the_sources_public_by_then():
    from emmie.ingest import load_review

    review = load_review(ROOT / "data" / "sos")
    subset, status = as_of(review, "2018-06-30")
    assert "baginsky2020" in status["later"] and "reekers2018" in status["uncertain"]
    assert "baginsky2017" in status["included"]
    kept = set(subset.studies["study_id"])
    assert kept == set(status["included"])
    for name in ("effects", "cmo", "implementation", "economics"):
        assert set(getattr(subset, name)["study_id"]) <= kept
    assert len(review.studies) == len(status["included"]) + len(status["later"]) + len(status["uncertain"])
