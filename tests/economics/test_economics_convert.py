import math

import pandas as pd
import pytest

from emmie.economics import NO_EVIDENCE, convert, load_reference, synthesise
from emmie.errors import EmmieError
from emmie.ingest.schema import ECONOMICS


@pytest.fixture(scope="module")
def ref():
    return load_reference()


def test_hand_computed_gbp_2014_to_eur_2018(ref):
    d, r = ref
    # deflators.csv: GBP 2014 = 74.6524, 2018 = 79.1606 (2024 = 100)
    # exchange_rates.csv 2018: GBP 1.3363 USD per pound (AEXUSUK); EUR 0.8462 euro per USD
    c = convert(1000, "GBP", 2014, to_currency="EUR", to_year=2018, deflators=d, rates=r)
    assert c.inflation == pytest.approx(79.1606 / 74.6524)
    assert c.exchange == pytest.approx(1.3363 * 0.8462)
    assert c.value == pytest.approx(1000 * 79.1606 / 74.6524 * 1.3363 * 0.8462)
    assert c.value == pytest.approx(1199.06, abs=0.01)


def test_same_currency_and_year_is_identity(ref):
    d, r = ref
    assert convert(123.0, "SEK", 2030, to_currency="SEK", to_year=2030, deflators=d, rates=r).value == 123.0


def test_exchange_only_uses_target_year_rate(ref):
    d, r = ref
    c = convert(100, "DKK", 2016, to_currency="SEK", to_year=2016, deflators=d, rates=r)
    assert c.inflation == 1.0 and c.value == pytest.approx(100 * 8.5541 / 6.7276)


def test_missing_rows_raise_clear_errors(ref):
    d, r = ref
    with pytest.raises(EmmieError, match="no GDP deflator for AUD in 2018"):
        convert(1, "AUD", 2015, to_currency="GBP", to_year=2018, deflators=d, rates=r)
    with pytest.raises(EmmieError, match="no exchange rate for GBP in 2024"):
        convert(1, "GBP", 2024, to_currency="USD", to_year=2024, deflators=d, rates=r)


def test_every_reference_row_has_provenance(ref):
    for table in ref:
        assert table["source"].fillna("").str.len().min() > 0
        assert set(table["verified"]) <= {"yes", "partial", "no"}


def test_bad_reference_file(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("currency,year\nGBP,2020\n")
    with pytest.raises(EmmieError, match="missing column"):
        load_reference(p, None)
    with pytest.raises(EmmieError, match="not found"):
        load_reference(tmp_path / "nope.csv", None)


def econ(rows):
    """An economics table as the loader gives it: every codebook column, text "" and numbers NaN when empty."""
    f = pd.DataFrame(rows)
    for c in ECONOMICS.columns:
        if c.name not in f:
            f[c.name] = math.nan if c.type in ("int", "float", "year") else ""
    return f[[c.name for c in ECONOMICS.columns]]


def effect(measure, est, lb, ub, desirable="lower"):
    return {
        "outcomes": [
            {
                "outcome": "care",
                "measure": measure,
                "desirable": desirable,
                "k": 3,
                "pooled": True,
                "frequentist": {"z": {"estimate": est, "ci_lb": lb, "ci_ub": ub, "i2": 10.0}},
            }
        ]
    }


def test_funding_only_gives_explicit_no_evidence_finding(ref):
    d, r = ref
    f = econ(
        [
            {
                "econ_id": "e1",
                "study_id": "s",
                "item": "grant",
                "kind": "funding",
                "amount": 1.95e6,
                "currency": "GBP",
                "price_year": 2017,
                "unit": "total",
                "n_units": 10.0,
            }
        ]
    )
    out = synthesise(f, base_currency="GBP", base_year=2020, deflators=d, rates=r)
    assert out["finding"] == NO_EVIDENCE and out["cost_effectiveness"] == []
    assert any("funding amounts only" in x for x in out["reasons"])
    assert any("outcome valuation" in x for x in out["reasons"])
    item = out["items"][0]
    assert item["converted"] == pytest.approx(1.95e6 * 85.2137 / 77.6367)
    assert item["per_unit"] == pytest.approx(item["converted"] / 10)


def test_cost_effectiveness_only_with_cost_and_effect_on_same_outcome(ref):
    d, r = ref
    f = econ(
        [
            {
                "econ_id": "c1",
                "study_id": "s",
                "item": "delivery",
                "kind": "cost",
                "amount": 500.0,
                "currency": "GBP",
                "price_year": 2020,
                "unit": "per_child",
                "outcome": "care",
            }
        ]
    )
    out = synthesise(
        f, base_currency="GBP", base_year=2020, deflators=d, rates=r, effect_summary=effect("RD", -0.05, -0.08, -0.02)
    )
    assert len(out["cost_effectiveness"]) == 1
    assert out["cost_effectiveness"][0]["ratio"] == pytest.approx(500 / 0.05)
    # no benefit, ratio scale or no pooled effect: no figure, with the reason
    for summary, reason in [
        (effect("RD", -0.01, -0.05, 0.03), "does not show a benefit"),
        (effect("OR", 0.8, 0.6, 0.9), "not an absolute difference"),
        (None, "no pooled effect"),
    ]:
        out = synthesise(f, base_currency="GBP", base_year=2020, deflators=d, rates=r, effect_summary=summary)
        assert out["finding"] == NO_EVIDENCE and any(reason in x for x in out["reasons"])


def test_conversion_problem_is_kept_per_item(ref):
    d, r = ref
    f = econ(
        [
            {
                "econ_id": "c1",
                "study_id": "s",
                "item": "x",
                "kind": "cost",
                "amount": 1.0,
                "currency": "AUD",
                "price_year": 2015,
                "unit": "total",
            }
        ]
    )
    out = synthesise(f, base_currency="GBP", base_year=2020, deflators=d, rates=r)
    assert out["items"][0]["converted"] is None and "AUD" in out["items"][0]["conversion_problem"]
