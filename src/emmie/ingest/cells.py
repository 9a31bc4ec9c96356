"""Parsing one cell of a coded table: each function returns (value, problem text or None).

Kept apart from the table logic so the same rules serve CSV files and workbooks.
"""

from __future__ import annotations

import math
import re

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
DOI_RE = re.compile(r"^10\.[0-9]{4,9}/\S+$")
URL_RE = re.compile(r"^https?://[^\s<>\"]+$")
# Spreadsheet formula text: "=SUM(A1)", "=HYPERLINK(...)", "+cmd|..." (CSV injection), "@SUM(...)", and a
# leading sign with a DDE call or a cell reference after it ("-2+3+cmd|' /C calc'!A0"): a spreadsheet reads a
# cell that starts with + or - as a formula, and "name|" (DDE) or "!A0" (a cell) makes it one that runs.
FORMULA_RE = re.compile(r"^\s*[=+@]\s*[A-Za-z_(]|^\s*=|^\s*[+-].*(\w\s*\||!\$?[A-Za-z]{1,3}\$?\d)")
DATE_RES = (
    re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T].*)?$", re.ASCII),
    re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$", re.ASCII),
)
NOT_FINITE = {
    "nan",
    "+nan",
    "-nan",
    "inf",
    "+inf",
    "-inf",
    "infinity",
    "+infinity",
    "-infinity",
    "#n/a",
    "#num!",
    "#div/0!",
    "#value!",
    "na",
    "n/a",
    "null",
    "none",
}
MAX_MAGNITUDE = 1e12
#: A number as a CSV cell may hold it: ASCII digits, an optional sign, point and exponent.
NUMBER_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def parse_text(raw: str) -> tuple[str, str | None]:
    if FORMULA_RE.match(raw) and not _is_number(raw):
        return raw, "plain text, not spreadsheet formula text (remove the leading '=', '+', '-' or '@')"
    return raw, None


def parse_id(raw: str) -> tuple[str, str | None]:
    value = raw.strip()
    if not ID_RE.match(value):
        return value, "an identifier of letters, digits, '_', '-' or '.', starting with a letter or digit"
    return value, None


def _is_number(raw: str) -> bool:
    try:
        float(raw)
    except ValueError:
        return False
    return True


def parse_float(raw: str) -> tuple[float, str | None]:
    value = raw.strip().replace("\u2212", "-")
    if value.lower() in NOT_FINITE:
        return math.nan, "a finite number (leave the cell empty when the value is missing)"
    if not NUMBER_RE.fullmatch(value):
        # float() also reads '1_9' as 19 and other scripts' digits ('１９', '١٩') as numbers: refuse them
        if "," in value and NUMBER_RE.fullmatch(value.replace(",", "")):
            return math.nan, "a number without thousands separators"
        if "_" in value and NUMBER_RE.fullmatch(value.replace("_", "")):
            return math.nan, "a number without '_' between its digits"
        if any(ch.isdigit() and not ch.isascii() for ch in value):
            return math.nan, "a number written with the digits 0-9"
        return math.nan, "a number"
    number = float(value)
    if not math.isfinite(number):
        return math.nan, "a finite number"
    if abs(number) > MAX_MAGNITUDE:
        return math.nan, f"a number of magnitude at most {MAX_MAGNITUDE:.0e}"
    return number, None


def parse_int(raw: str) -> tuple[float, str | None]:
    number, problem = parse_float(raw)
    if problem:
        return number, problem.replace("a number", "a whole number", 1) if problem == "a number" else problem
    if number < 0 or number != int(number):
        return math.nan, "a whole number >= 0"
    return number, None


def parse_year(raw: str) -> tuple[float, str | None]:
    value = raw.strip()
    if any(r.match(value) for r in DATE_RES):
        return math.nan, "a four-digit year (1900-2100), not a date"
    if re.fullmatch(r"[0-9]{5}(\.0+)?", value):
        return math.nan, "a four-digit year (1900-2100), not an Excel date serial number"
    if not re.fullmatch(r"[0-9]{4}(\.0+)?", value):
        if any(ch.isdigit() and not ch.isascii() for ch in value):
            return math.nan, "a four-digit year (1900-2100) written with the digits 0-9"
        return math.nan, "a four-digit year (1900-2100)"
    year = int(float(value))
    if not 1900 <= year <= 2100:
        return math.nan, "a four-digit year (1900-2100)"
    return float(year), None


def parse_date(raw: str) -> tuple[str, str | None]:
    """A calendar date as precise as it is known: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (kept as text)."""
    import datetime

    value = raw.strip()
    expected = "a date as YYYY, YYYY-MM or YYYY-MM-DD (as precise as it is known)"
    m = re.fullmatch(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?", value)
    if not m:
        return "", expected
    year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
    try:
        datetime.date(year, month, day)
    except ValueError:
        return "", expected + ", a real calendar date"
    if not 1900 <= year <= 2100:
        return "", expected + ", between 1900 and 2100"
    return value, None


def parse_enum(raw: str, allowed: tuple[str, ...]) -> tuple[str, str | None]:
    value = raw.strip()
    if value not in allowed:
        return value, "one of " + ", ".join(allowed)
    return value, None


def parse_url(raw: str) -> tuple[str, str | None]:
    value = raw.strip()
    if DOI_RE.match(value) or URL_RE.match(value):
        return value, None
    return value, "a DOI (10.xxxx/...) or an http(s) URL"
