"""The Economics stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emmie.economics.convert import load_reference
from emmie.economics.synthesis import synthesise
from emmie.figures import OKABE_ITO, new_figure, to_svg
from emmie.ingest.review import Review
from emmie.io import atomic_write_text, write_json

KIND_COLOURS = {
    "cost": OKABE_ITO["vermillion"],
    "funding": OKABE_ITO["orange"],
    "outcome_value": OKABE_ITO["blue"],
    "saving": OKABE_ITO["bluish_green"],
}


def _base(review: Review) -> tuple[str, int]:
    """``review.yaml`` ``economics.base_currency/base_year``; else the most used currency and the latest price year."""
    conf = review.config.get("economics") or {}
    econ = review.economics
    currency = conf.get("base_currency") or (econ["currency"].mode().iloc[0] if len(econ) else "GBP")
    year = conf.get("base_year") or (int(econ["price_year"].max()) if len(econ) else 0)
    return str(currency), int(year)


def items_plot(result: dict[str, Any]) -> str:
    """Horizontal bars of every converted item (base currency and year), coloured and labelled by kind."""
    items = [i for i in result["items"] if i["converted"] is not None]
    fig = new_figure(8.0, 1.2 + 0.4 * len(items))
    ax = fig.add_subplot()
    for y, i in enumerate(items):
        ax.barh(y, i["converted"], color=KIND_COLOURS[i["kind"]], edgecolor="black", linewidth=0.5)
        ax.text(
            i["converted"],
            y,
            f"  {i['converted']:,.0f} ({i['kind'].replace('_', ' ')}, {i['unit'].replace('_', ' ')})",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(len(items)), [f"{i['study_id']}: {str(i['item'])[:40]}" for i in items], fontsize=8)
    ax.set_ylim(len(items) - 0.5, -0.5)
    ax.set_xlabel(f"{result['base_currency']}, {result['base_year']} prices")
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    return to_svg(fig)


def run(
    review: Review,
    outdir: str | Path,
    *,
    effect_summary: dict[str, Any] | None = None,
    deflators: str | Path | None = None,
    rates: str | Path | None = None,
) -> dict[str, Any]:
    """Write ``economics.json`` (and ``economics_items.svg`` when any item could be converted).

    Reference tables: ``deflators`` / ``rates`` arguments, else ``review.yaml``
    ``economics.deflators`` / ``economics.exchange_rates`` (relative to the review folder),
    else ``_reference/`` beside the review folder (``data/_reference/``), else the copy shipped with emmie.

    JSON keys: ``review``, ``base_currency``, ``base_year``, ``items``, ``counts``,
    ``cost_effectiveness``, ``finding``, ``reasons``, ``reference`` (tables used), ``figure``.
    """
    outdir = Path(outdir)
    conf = review.config.get("economics") or {}
    folder = Path(review.path)
    shared = folder.parent / "_reference"
    deflators = deflators or (folder / conf["deflators"] if conf.get("deflators") else None)
    rates = rates or (folder / conf["exchange_rates"] if conf.get("exchange_rates") else None)
    if deflators is None and (shared / "deflators.csv").is_file():
        deflators = shared / "deflators.csv"
    if rates is None and (shared / "exchange_rates.csv").is_file():
        rates = shared / "exchange_rates.csv"
    d, r = load_reference(deflators, rates)
    currency, year = _base(review)
    result = synthesise(
        review.economics, base_currency=currency, base_year=year, deflators=d, rates=r, effect_summary=effect_summary
    )
    figure = None
    if any(i["converted"] is not None for i in result["items"]):
        figure = "economics_items.svg"
        atomic_write_text(outdir / figure, items_plot(result))
    # File names only: results must not depend on where the project was cloned.
    out = {
        "review": review.id,
        **result,
        "reference": {"deflators": Path(d.attrs["file"]).name, "exchange_rates": Path(r.attrs["file"]).name},
        "figure": figure,
    }
    write_json(outdir / "economics.json", out)
    return out
