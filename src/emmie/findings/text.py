"""How numbers are written for a reader: the one place pages get their numbers from.

Pages never format a number of their own; the findings layer formats every number it
states with these functions, so two pages cannot print the same number differently.
"""

from __future__ import annotations

import math
from typing import Any

RATIO_MEASURES = frozenset({"OR", "RR", "ROM", "HR", "IRR"})
MEASURE_NAMES = {
    "OR": "odds ratio",
    "RR": "risk ratio",
    "ROM": "ratio of means",
    "RD": "risk difference",
    "SMD": "standardised mean difference",
    "MD": "mean difference",
    "ZCOR": "Fisher-z correlation",
    "COR": "correlation",
    "GEN": "effect size",
}


def number(x: Any) -> float | None:
    """A finite float, or None for anything else (None, NaN, text)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def fmt(x: Any, digits: int = 2) -> str:
    v = number(x)
    return "–" if v is None else f"{v:.{digits}f}"


def fmt_amount(x: Any) -> str:
    """A money amount with thousands separators: '1,950,000'."""
    v = number(x)
    return "–" if v is None else f"{v:,.0f}"


def fmt_p(p: Any) -> str:
    """A p-value: four decimals, '< 0.0001' below that, '–' when absent."""
    v = number(p)
    if v is None:
        return "–"
    return "< 0.0001" if v < 0.0001 else f"{v:.4f}"


def fmt_p_short(p: Any) -> str:
    """A p-value in running text: 'p = 0.007', 'p < 0.001'."""
    v = number(p)
    if v is None:
        return "p not available"
    if v < 0.001:
        return "p < 0.001"
    return f"p = {v:.3f}" if v < 0.1 else f"p = {v:.2f}"


def fmt_prob(p: Any) -> str:
    """A probability in words that never rounds to certainty."""
    v = number(p)
    if v is None:
        return "–"
    if v > 0.99:
        return "more than 99%"
    if v < 0.01:
        return "less than 1%"
    return f"{v:.0%}"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def words(value: str | None) -> str:
    """A coded value as words: 'quasi_experimental' -> 'quasi experimental'."""
    return (value or "").replace("_", " ")


def exp(x: float) -> float:
    """``math.exp`` that gives infinity for a log ratio past the float range instead of raising."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def on_display_scale(measure: str | None, x: Any) -> float | None:
    """An estimate on the scale a reader knows: ratio measures back-transformed from the log scale."""
    v = number(x)
    if v is None:
        return None
    return exp(v) if (measure or "").upper() in RATIO_MEASURES else v


def _two(x: float) -> str:
    """Two decimals; an infinite value (an overflowing ratio) as 'more than 1e308'."""
    return f"{x:.2f}" if math.isfinite(x) else ("more than 1e308" if x > 0 else "less than -1e308")


def pct(level: Any) -> str:
    """An interval's level as the pages write it: 0.95 -> '95%', 0.9 -> '90%' (95% when not given)."""
    value = number(level)
    return f"{100 * (value if value is not None else 0.95):g}%"


def fmt_effect(measure: str | None, est: Any, lb: Any, ub: Any, *, level: str = "95% CI") -> str:
    """'OR 1.53 (95% CI 1.35 to 1.72)' on the reader's scale."""
    name = (measure or "").upper()
    e, lo, hi = (on_display_scale(name, v) for v in (est, lb, ub))
    if e is None:
        return "no estimate"
    label = name if name in RATIO_MEASURES or name in ("RD", "SMD", "MD") else MEASURE_NAMES.get(name, name)
    text = f"{label} {_two(e)}".strip()
    if lo is not None and hi is not None:
        text += f" ({level} {_two(lo)} to {_two(hi)})"
    return text


def join_and(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


#: Items a sentence names before it says how many more there are (a review may have hundreds of outcomes).
NAMED_MAX = 20


def some(items: list[str], more: str = "", most: int = NAMED_MAX) -> list[str]:
    """The first ``most`` items, then "N more <more>" for the rest; one item past ``most`` is named rather than
    counted."""
    items = [i for i in items if i]
    if len(items) <= most + 1:
        return items
    return [*items[:most], f"{len(items) - most:,} more" + (f" {more}" if more else "")]


def join_some(items: list[str], more: str, most: int = NAMED_MAX) -> str:
    """:func:`join_and` of :func:`some` of the items ("a, b and 3 more outcomes")."""
    return join_and(some(items, more, most))
