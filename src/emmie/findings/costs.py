"""The toolkit's cost band: what delivering the intervention costs per participant, in a few words.

Only ``kind = cost`` items count: a grant or funding award says what was paid to implementers, not
what delivering the intervention costs, and is never turned into a band. A cost counts when it can be
put per participant (``unit`` per_child or per_family, or a total with ``n_units``) at the review's
base currency and price year (:mod:`emmie.economics.synthesis`).

Bands are the reviewers' to set (``review.yaml`` ``cost_bands``: ascending upper limits per
participant at base prices, each with a label, the last without a limit), as the What Works
toolkits set theirs for their own field; emmie has no defaults to invent. With no bands set, the
band is the range of the per-participant costs itself. The median cost decides the band; a
cost equal to a limit falls in the band the limit closes ("up to and including").
"""

from __future__ import annotations

import statistics
from typing import Any

from emmie.economics import synthesis
from emmie.findings.model import Finding
from emmie.findings.text import fmt_amount, plural

RULE = (
    "emmie.findings.costs: kind = cost items per participant at base prices; the median decides the "
    "review.yaml cost_bands band (a limit closes its band); funding amounts are never a cost"
)
# The per-participant units of the economics stage, and a total divided by its n_units.
PER_PARTICIPANT = (*synthesis.PER_PARTICIPANT, "unit of n_units")


def per_participant(econ: dict[str, Any]) -> list[tuple[str, float]]:
    """(econ_id, cost per participant at base prices) of every cost item that has one."""
    out = []
    for i in econ.get("items") or []:
        if i.get("kind") == "cost" and i.get("per_unit") is not None and i.get("per_unit_basis") in PER_PARTICIPANT:
            out.append((i["econ_id"], float(i["per_unit"])))
    return out


def band_of(value: float, bands: list[dict[str, Any]]) -> int:
    """The index of the band ``value`` falls in: the first whose ``upto`` is >= value (None: no limit)."""
    for k, b in enumerate(bands):
        if b.get("upto") is None or value <= float(b["upto"]):
            return k
    return len(bands) - 1


def cost_band(econ: dict[str, Any], bands: list[dict[str, Any]] | None = None) -> Finding:
    """The cost band as a finding for the toolkit (``numbers``: band index and label, median, range)."""
    costs = per_participant(econ)
    counts = econ.get("counts") or {}
    currency, year = econ.get("base_currency") or "", econ.get("base_year") or ""
    numbers: dict[str, Any] = {"n": len(costs), "currency": currency, "year": year, "band": None, "label": None}
    if not costs:
        text = "No cost evidence"
        if counts.get("funding") and not counts.get("cost"):
            text += " (funding amounts only: what was granted, not what delivering it cost)"
        elif counts.get("cost"):
            text += " per participant (the costs coded could not be put per participant)"
        statement = text + "."
    else:
        values = [v for _, v in costs]
        med, lo, hi = statistics.median(values), min(values), max(values)
        amount = f"{currency} {fmt_amount(lo)}" + (f" to {fmt_amount(hi)}" if hi > lo else "")
        where = f"{amount} per participant ({plural(len(values), 'costing')}, {year} prices)"
        numbers.update(median=med, min=lo, max=hi)
        if bands:
            k = band_of(med, bands)
            numbers.update(band=k, label=bands[k]["label"], n_bands=len(bands))
            statement = f"{bands[k]['label']} cost: {where}."
        else:
            statement = f"{where[0].upper()}{where[1:]}; no cost bands are set for this review."
    return Finding(
        "economics.cost_band",
        "economics",
        statement,
        numbers=numbers,
        rule=RULE,
        studies=tuple(sorted({i.get("study_id") for i in econ.get("items") or [] if i.get("kind") == "cost"})),
        pages=("toolkit",),
    )
