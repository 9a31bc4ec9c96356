"""Currency and price-year conversion with user-replaceable reference tables.

Order of operations (as in the CCEMG - EPPI-Centre Cost Converter): first adjust the
amount for inflation *within its own currency* from ``price_year`` to ``to_year`` with that
currency's GDP deflator, then convert the result to ``to_currency`` at the annual average
exchange rate of ``to_year``. The CCEMG tool converts with PPP factors by default; the
shipped tables hold market exchange rates, so results are market-rate conversions.

References
----------
Shemilt, I., Thomas, J. & Morciano, M. (2010). A web-based tool for adjusting costs to a
specific target currency and price year. Evidence & Policy 6(1), 51-59.
doi:10.1332/174426410X482999
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from emmie.errors import EmmieError

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "data" / "_reference"
DEFLATOR_COLUMNS = ("currency", "year", "index")
RATE_COLUMNS = ("currency", "year", "value", "quote")
QUOTES = ("units_per_usd", "usd_per_unit")


@dataclass(frozen=True)
class Conversion:
    """One converted amount and the two factors that produced it (``value = amount * inflation * exchange``)."""

    amount: float
    currency: str
    price_year: int
    to_currency: str
    to_year: int
    inflation: float
    exchange: float
    value: float


def _read(path: str | Path, required: tuple[str, ...]) -> pd.DataFrame:
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype={"currency": str})
    except FileNotFoundError:
        raise EmmieError(f"{path}: reference table not found") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise EmmieError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise EmmieError(f"{path}: missing column(s) {', '.join(missing)}; expected at least {', '.join(required)}")
    for col in ("year", *[c for c in ("index", "value") if c in required]):
        values = pd.to_numeric(frame[col], errors="coerce")
        bad = frame.index[values.isna() | (values <= 0)]
        if len(bad):
            raise EmmieError(f"{path}:{bad[0] + 2}:{col}: got {frame.loc[bad[0], col]!r}; expected a number > 0")
        frame[col] = values
    frame["year"] = frame["year"].astype(int)
    frame.attrs["file"] = str(path)
    return frame


def read_deflators(path: str | Path | None = None) -> pd.DataFrame:
    """The GDP deflator table (default ``data/_reference/deflators.csv``): currency, year, index."""
    return _read(path or REFERENCE_DIR / "deflators.csv", DEFLATOR_COLUMNS)


def load_reference(
    deflators: str | Path | None = None, rates: str | Path | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the deflator and exchange-rate tables (defaults: ``data/_reference/*.csv``)."""
    d = read_deflators(deflators)
    r = _read(rates or REFERENCE_DIR / "exchange_rates.csv", RATE_COLUMNS)
    bad = r.loc[~r["quote"].isin(QUOTES)]
    if len(bad):
        raise EmmieError(
            f"{r.attrs['file']}:{bad.index[0] + 2}:quote: got {bad['quote'].iloc[0]!r}; expected one of {', '.join(QUOTES)}"
        )
    return d, r


def _lookup(table: pd.DataFrame, currency: str, year: int, column: str, what: str) -> pd.Series:
    hit = table.loc[(table["currency"] == currency) & (table["year"] == year)]
    if not len(hit):
        years = sorted(table.loc[table["currency"] == currency, "year"])
        have = f"{currency} has years {years[0]}-{years[-1]}" if years else f"{currency} is not in the table"
        raise EmmieError(
            f"{table.attrs.get('file', what)}: no {what} for {currency} in {year} ({have}); "
            f"add a sourced row or choose another base year"
        )
    return hit.iloc[0]


def _per_usd(rates: pd.DataFrame, currency: str, year: int) -> float:
    row = _lookup(rates, currency, year, "value", "exchange rate")
    return float(row["value"]) if row["quote"] == "units_per_usd" else 1.0 / float(row["value"])


def convert(
    amount: float,
    currency: str,
    price_year: int,
    *,
    to_currency: str,
    to_year: int,
    deflators: pd.DataFrame,
    rates: pd.DataFrame,
) -> Conversion:
    """Express ``amount`` (``currency`` at ``price_year`` prices) in ``to_currency`` at ``to_year`` prices.

    Parameters
    ----------
    amount : float
        Amount in ``currency`` at ``price_year`` prices.
    currency, to_currency : str
        ISO 4217 codes.
    price_year, to_year : int
        Price years.
    deflators, rates : DataFrame
        Tables from :func:`load_reference` (or of the same shape).

    Returns
    -------
    Conversion
        ``value = amount * D[currency, to_year] / D[currency, price_year] * X[to_currency, to_year] / X[currency, to_year]``
        with D the GDP deflator and X units of currency per US dollar.

    Raises
    ------
    EmmieError
        When a needed deflator or exchange-rate row is missing (nothing is extrapolated).
    """
    price_year, to_year = int(price_year), int(to_year)
    inflation = 1.0
    if price_year != to_year:
        hi = _lookup(deflators, currency, to_year, "index", "GDP deflator")["index"]
        lo = _lookup(deflators, currency, price_year, "index", "GDP deflator")["index"]
        inflation = float(hi) / float(lo)
    exchange = 1.0
    if currency != to_currency:
        exchange = _per_usd(rates, to_currency, to_year) / _per_usd(rates, currency, to_year)
    return Conversion(
        float(amount),
        currency,
        price_year,
        to_currency,
        to_year,
        inflation,
        exchange,
        float(amount) * inflation * exchange,
    )
