"""Economics: costs on one currency and price year, unit costs, and cost-effectiveness only where it can be had.

A cost-effectiveness figure is computed only when a cost item is tied to an outcome
(``economics.outcome``), that outcome has a pooled effect (``effect.json``) on an absolute
scale (RD: events per participant; MD: outcome units) whose confidence interval excludes no
effect in the desirable direction, and the cost is per participant (``per_child`` /
``per_family``, or ``total`` with ``n_units``). Otherwise the finding is the explicit
statement that there is no economic evidence of sufficient quality to assess
cost-effectiveness, with the reasons.

References
----------
Shemilt, I., Mugford, M., Vale, L., Marsh, K. & Donaldson, C. (eds) (2010). Evidence-Based
Decisions and Economics: Health Care, Social Welfare, Education and Criminal Justice.
Wiley-Blackwell / BMJ Books. doi:10.1002/9781444320398
Drummond, M. F. et al. (2015). Methods for the Economic Evaluation of Health Care
Programmes, 4th ed. Oxford University Press (incremental cost-effectiveness ratio).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from emmie.economics.convert import convert
from emmie.errors import EmmieError

NO_EVIDENCE = "no economic evidence of sufficient quality to assess cost-effectiveness"
PER_PARTICIPANT = ("per_child", "per_family")
ABSOLUTE_MEASURES = ("RD", "MD")


def _num(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def pooled_effects(effect_summary: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Outcome id -> ``{measure, desirable, estimate, ci_lb, ci_ub, k}`` for pooled outcomes of ``effect.json``."""
    out = {}
    for o in (effect_summary or {}).get("outcomes", []) or []:
        if not o.get("pooled"):
            continue
        fit = ((o.get("frequentist") or {}).get("z")) or {}
        out[str(o.get("outcome"))] = {
            "measure": o.get("measure"),
            "desirable": o.get("desirable"),
            "k": o.get("k"),
            "estimate": _num(fit.get("estimate")),
            "ci_lb": _num(fit.get("ci_lb")),
            "ci_ub": _num(fit.get("ci_ub")),
        }
    return out


def _beneficial(effect: dict[str, Any]) -> bool:
    if effect["desirable"] == "lower":
        return effect["ci_ub"] < 0
    if effect["desirable"] == "higher":
        return effect["ci_lb"] > 0
    return False


def synthesise(
    economics: pd.DataFrame,
    *,
    base_currency: str,
    base_year: int,
    deflators: pd.DataFrame,
    rates: pd.DataFrame,
    effect_summary: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Convert every economic item to ``base_currency`` at ``base_year`` prices and assess cost-effectiveness.

    Returns
    -------
    dict with ``base_currency``, ``base_year``, ``items`` (each with ``converted`` and
    ``per_unit`` in base terms, or ``conversion_problem``), ``counts`` (by kind),
    ``cost_effectiveness`` (list of computed figures), ``finding`` and ``reasons``.
    """
    items = []
    for _, r in economics.iterrows():
        item = {
            k: r.get(k)
            for k in (
                "econ_id",
                "study_id",
                "item",
                "kind",
                "amount",
                "currency",
                "price_year",
                "unit",
                "n_units",
                "outcome",
                "source",
                "source_page",
                "verified",
            )
        }
        try:
            c = convert(
                r["amount"],
                r["currency"],
                int(r["price_year"]),
                to_currency=base_currency,
                to_year=base_year,
                deflators=deflators,
                rates=rates,
            )
            item.update(
                converted=c.value, inflation_factor=c.inflation, exchange_factor=c.exchange, conversion_problem=None
            )
        except EmmieError as exc:
            item.update(converted=None, inflation_factor=None, exchange_factor=None, conversion_problem=str(exc))
        per_unit, per = None, None
        if item["converted"] is not None:
            if r["unit"] == "total" and _num(r.get("n_units")) > 0:
                per_unit, per = item["converted"] / float(r["n_units"]), "unit of n_units"
            elif r["unit"] != "total":
                per_unit, per = item["converted"], r["unit"]
        item.update(per_unit=per_unit, per_unit_basis=per)
        items.append(item)

    kinds = economics["kind"].value_counts().to_dict() if len(economics) else {}
    counts = {k: int(kinds.get(k, 0)) for k in ("cost", "funding", "outcome_value", "saving")}
    effects = pooled_effects(effect_summary)
    ce, reasons = [], []
    costs = [i for i in items if i["kind"] == "cost"]
    tied = [i for i in costs if i["outcome"]]
    for i in tied:
        effect = effects.get(i["outcome"])
        why = None
        if effect is None:
            why = f"no pooled effect on outcome {i['outcome']!r}"
        elif effect["measure"] not in ABSOLUTE_MEASURES:
            why = (
                f"the pooled effect on {i['outcome']!r} is a {effect['measure']}, not an absolute difference (RD or MD)"
            )
        elif not _beneficial(effect):
            why = f"the pooled effect on {i['outcome']!r} does not show a benefit (CI includes no effect or harm)"
        elif i["converted"] is None:
            why = f"cost {i['econ_id']} could not be converted: {i['conversion_problem']}"
        elif i["unit"] not in PER_PARTICIPANT and not (i["unit"] == "total" and _num(i["n_units"]) > 0):
            why = f"cost {i['econ_id']} is not per participant (unit {i['unit']!r} without n_units)"
        if why:
            reasons.append(why)
            continue
        ce.append(
            {
                "econ_id": i["econ_id"],
                "outcome": i["outcome"],
                "measure": effect["measure"],
                "cost_per_participant": i["per_unit"],
                "effect": effect["estimate"],
                "ratio": i["per_unit"] / abs(effect["estimate"]),
                "ratio_meaning": (
                    "cost per outcome event avoided or gained"
                    if effect["measure"] == "RD"
                    else "cost per unit of outcome change"
                ),
                "caveat": "gross intervention cost per participant; no comparator costs are coded, so this is not an incremental ratio",
            }
        )
    if not ce:
        if not items:
            reasons.insert(0, "no economic items were coded")
        else:
            if counts["funding"] and not counts["cost"]:
                reasons.insert(0, "funding amounts only: what was granted, not what delivering the intervention cost")
            if not counts["cost"] and not counts["funding"]:
                reasons.append("no cost items")
            if not counts["outcome_value"] and not counts["saving"]:
                reasons.append("no outcome valuation (no outcome_value or saving items)")
            if costs and not tied:
                reasons.append("no cost is tied to an outcome")
            reasons.append("no comparator (usual-care) costs are coded, so incremental costs cannot be established")
    return {
        "base_currency": base_currency,
        "base_year": int(base_year),
        "items": items,
        "counts": counts,
        "cost_effectiveness": ce,
        "finding": "cost-effectiveness figures computed" if ce else NO_EVIDENCE,
        "reasons": list(dict.fromkeys(reasons)),
    }
