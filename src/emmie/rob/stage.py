"""The risk-of-bias stage: judgements, summary shares and the two robvis-style figures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emmie.ingest.labels import study_labels
from emmie.ingest.review import Review
from emmie.io import atomic_write_text, write_json
from emmie.rob.plots import rob_table, summary_data, summary_plot, traffic_light_data, traffic_light_plot

#: The traffic-light plot has one row per study (0.42 inch each, one marker per domain); past this many studies it
#: is not drawn (it would be metres tall and take minutes) and the summary plot carries the shares.
TRAFFIC_LIGHT_MAX_STUDIES = 100


def run(review: Review, outdir: str | Path) -> dict[str, Any]:
    """Write ``rob.json``, ``rob_traffic.svg`` and ``rob_summary.svg`` into ``outdir``.

    Returns the JSON dict: ``review``, ``source`` (``rob.csv`` or ``studies.rob_overall`` when
    rob.csv has no rows), ``tools``, ``domains``, ``studies``, ``judgements`` (long rows),
    ``summary`` (domain, judgement, n, weight, percent), ``figures`` (empty when there is
    nothing to plot) and ``traffic_light_skipped`` (why the traffic-light plot was not drawn, or None).
    """
    outdir = Path(outdir)
    table = rob_table(review.rob, review.studies)
    grid = traffic_light_data(table)
    figures: dict[str, str] = {}
    skipped = None
    if len(table) and len(grid) > TRAFFIC_LIGHT_MAX_STUDIES:
        skipped = (
            f"not drawn: {len(grid):,} studies, more than {TRAFFIC_LIGHT_MAX_STUDIES:,} (one row per study); the "
            "summary plot shows the share of studies at each judgement"
        )
    elif len(table):
        atomic_write_text(outdir / "rob_traffic.svg", traffic_light_plot(table, study_labels(review)))
        figures["traffic_light"] = "rob_traffic.svg"
    if len(table):
        atomic_write_text(outdir / "rob_summary.svg", summary_plot(table))
        figures["summary"] = "rob_summary.svg"
    result = {
        "review": review.id,
        "source": "rob.csv" if len(review.rob) else "studies.rob_overall",
        "tools": sorted(set(table["tool"])),
        "domains": list(grid.columns),
        "studies": list(grid.index),
        "judgements": table.to_dict(orient="records"),
        "summary": summary_data(table).to_dict(orient="records"),
        "figures": figures,
        "traffic_light_skipped": skipped,
    }
    write_json(outdir / "rob.json", result)
    return result
