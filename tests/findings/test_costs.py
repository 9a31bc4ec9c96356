"""The toolkit's cost band: only costs count, per participant, and the median picks the band, with a
cost equal to a limit in the band the limit closes (both sides of every limit checked)."""

from __future__ import annotations

import pytest

from emmie.findings.costs import band_of, cost_band, per_participant
from emmie.ingest.validate import check_cost_bands

BANDS = [{"upto": 100, "label": "Very low"}, {"upto": 500, "label": "Low"}, {"upto": None, "label": "High"}]


def item(econ_id: str, kind: str, per_unit: float | None, basis: str | None = "per_child", study: str = "s1") -> dict:
    return {"econ_id": econ_id, "kind": kind, "per_unit": per_unit, "per_unit_basis": basis, "study_id": study}


def econ(*items: dict, counts: dict | None = None) -> dict:
    kinds = {}
    for i in items:
        kinds[i["kind"]] = kinds.get(i["kind"], 0) + 1
    return {"items": list(items), "counts": counts or kinds, "base_currency": "GBP", "base_year": 2023}


@pytest.mark.parametrize(
    ("value", "band"),
    [(99.99, 0), (100.0, 0), (100.01, 1), (499.99, 1), (500.0, 1), (500.01, 2), (1e9, 2)],
)
def test_band_limits_are_closed_above(value: float, band: int):
    assert band_of(value, BANDS) == band


def test_only_costs_per_participant_count():
    e = econ(
        item("c1", "cost", 250.0),
        item("c2", "cost", 90.0, "unit of n_units"),
        item("g1", "funding", 1_950_000.0, "per_authority"),
        item("c3", "cost", 40_000.0, "per_authority"),  # a cost, but not per participant
        item("c4", "cost", None, None),  # could not be converted
    )
    assert per_participant(e) == [("c1", 250.0), ("c2", 90.0)]


def test_median_picks_the_band_and_the_statement_says_the_range():
    f = cost_band(econ(item("c1", "cost", 90.0), item("c2", "cost", 450.0), item("c3", "cost", 4_000.0)), BANDS)
    assert f.numbers["band"] == 1 and f.numbers["label"] == "Low" and f.numbers["median"] == 450.0
    assert f.statement == "Low cost: GBP 90 to 4,000 per participant (3 costings, 2023 prices)."
    assert f.pages == ("toolkit",) and f.id == "economics.cost_band"


def test_without_bands_the_range_itself_is_given():
    f = cost_band(econ(item("c1", "cost", 1_200.0)))
    assert f.numbers["band"] is None
    assert f.statement == "GBP 1,200 per participant (1 costing, 2023 prices); no cost bands are set for this review."


def test_funding_is_never_a_cost():
    f = cost_band(econ(item("g1", "funding", 1_950_000.0, "total"), item("g2", "funding", 2_000.0, "per_child")), BANDS)
    assert f.statement == "No cost evidence (funding amounts only: what was granted, not what delivering it cost)."
    assert f.numbers["n"] == 0 and f.numbers["band"] is None


def test_no_items_and_costs_not_per_participant():
    assert cost_band(econ()).statement == "No cost evidence."
    f = cost_band(econ(item("c1", "cost", 40_000.0, "per_authority")), BANDS)
    assert f.statement == "No cost evidence per participant (the costs coded could not be put per participant)."


def test_cost_bands_are_validated():
    assert check_cost_bands({"cost_bands": BANDS}) == []
    problems = check_cost_bands({"cost_bands": [{"upto": 500, "label": "A"}, {"upto": 200, "label": "B"}, BANDS[2]]})
    assert [(p.column, p.expected) for p in problems] == [("cost_bands", "limits that rise from band to band")]
    problems = check_cost_bands({"cost_bands": [{"upto": None, "label": "A"}, {"upto": 200, "label": "B"}]})
    assert [p.column for p in problems] == ["cost_bands[0].upto", "cost_bands[1].upto"]
