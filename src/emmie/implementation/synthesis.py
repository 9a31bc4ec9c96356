"""Implementation: barriers and enablers by theme and level, with the quality of the studies behind them.

The synthesis is a framework synthesis: coded excerpts are grouped under the review's
implementation themes (``review.yaml`` ``implementation_themes``) and the level at which
they act (practitioner, team, organisation, system), keeping for each the study's design
and realist appraisal so a reader sees how well supported every cell is.

References
----------
Johnson, S. D., Tilley, N. & Bowers, K. J. (2015). Introducing EMMIE: an evidence rating
scale to encourage mixed-method crime prevention synthesis reviews. Journal of Experimental
Criminology 11(3), 459-473. doi:10.1007/s11292-015-9238-7
Wong, G. et al. (2013). RAMESES publication standards: realist syntheses. BMC Medicine 11, 21
(relevance and rigour appraisal). doi:10.1186/1741-7015-11-21
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from emmie.figures import OKABE_ITO, new_figure, to_svg
from emmie.ingest.schema import IMPL_LEVELS, IMPL_TYPES

ADEQUATE_RIGOUR = ("high", "moderate")


@dataclass(frozen=True)
class ImplementationSynthesis:
    """Result of :func:`synthesise`.

    Attributes
    ----------
    themes : list of dict
        Per theme: ``theme``, ``label``, ``description``, ``n_items``, ``n_studies``,
        ``studies``, ``barriers`` and ``enablers`` (lists of items, each with the excerpt,
        level, provenance and the study's ``quality``), and ``levels`` (level -> counts).
    cells : DataFrame
        One row per theme x level: ``theme, level, barrier, enabler, studies`` (counts of
        items, and the study ids behind them).
    counts : dict
        Totals: items, barriers, enablers, studies, studies of adequate rigour, per level.
    """

    themes: list[dict[str, Any]]
    cells: pd.DataFrame
    counts: dict[str, Any]
    studies: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        cells = self.cells.assign(studies=self.cells["studies"].map(list))
        return {
            "themes": self.themes,
            "cells": cells.to_dict(orient="records"),
            "counts": self.counts,
            "studies": self.studies,
        }


def _quality(studies: pd.DataFrame) -> dict[str, dict[str, str]]:
    cols = ["design", "rigour", "relevance", "rob_overall"]
    if studies is None or not len(studies):
        return {}
    return {str(r["study_id"]): {c: str(r[c]) for c in cols if c in studies} for _, r in studies.iterrows()}


def synthesise(
    implementation: pd.DataFrame, studies: pd.DataFrame, themes: Sequence[dict[str, Any]]
) -> ImplementationSynthesis:
    """Group implementation barriers and enablers by theme and level.

    Parameters
    ----------
    implementation : DataFrame
        The coded ``implementation`` table (impl_id, study_id, type, theme, level, excerpt, ...).
    studies : DataFrame
        The ``studies`` table, for each study's design, rigour, relevance and risk of bias.
    themes : sequence of dict
        ``review.yaml`` ``implementation_themes`` (id, label, description); themes used in
        the data but not declared are kept, labelled with their id.

    Returns
    -------
    ImplementationSynthesis
    """
    quality = _quality(studies)
    declared = [dict(t) for t in themes]
    known = {t["id"] for t in declared}
    for extra in dict.fromkeys(implementation["theme"] if len(implementation) else []):
        if extra not in known:
            declared.append({"id": extra, "label": extra})
            known.add(extra)

    out_themes, cell_rows = [], []
    for theme in declared:
        rows = implementation.loc[implementation["theme"] == theme["id"]] if len(implementation) else implementation
        entry: dict[str, Any] = {
            "theme": theme["id"],
            "label": theme.get("label", theme["id"]),
            "description": theme.get("description", ""),
            "n_items": int(len(rows)),
            "studies": sorted(set(rows["study_id"])) if len(rows) else [],
        }
        entry["n_studies"] = len(entry["studies"])
        for kind in IMPL_TYPES:
            items = []
            for _, r in rows.loc[rows["type"] == kind].iterrows() if len(rows) else []:
                items.append(
                    {
                        "impl_id": r["impl_id"],
                        "study_id": r["study_id"],
                        "level": r["level"],
                        "excerpt": r["excerpt"],
                        "source": r.get("source", ""),
                        "source_page": r.get("source_page", ""),
                        "verified": r.get("verified", ""),
                        "quality": quality.get(str(r["study_id"]), {}),
                    }
                )
            entry[kind + "s"] = items
        entry["levels"] = {}
        for level in IMPL_LEVELS:
            at = rows.loc[rows["level"] == level] if len(rows) else rows
            n = {kind: int((at["type"] == kind).sum()) if len(at) else 0 for kind in IMPL_TYPES}
            entry["levels"][level] = n
            cell_rows.append(
                {
                    "theme": theme["id"],
                    "level": level,
                    **n,
                    "studies": tuple(sorted(set(at["study_id"]))) if len(at) else (),
                }
            )
        out_themes.append(entry)

    cells = pd.DataFrame(cell_rows, columns=["theme", "level", *IMPL_TYPES, "studies"])
    study_ids = sorted(set(implementation["study_id"])) if len(implementation) else []
    adequate = [s for s in study_ids if quality.get(s, {}).get("rigour") in ADEQUATE_RIGOUR]
    by_level = {}
    for level in IMPL_LEVELS:
        at = implementation.loc[implementation["level"] == level] if len(implementation) else implementation
        by_level[level] = {kind: int((at["type"] == kind).sum()) if len(at) else 0 for kind in IMPL_TYPES}
        by_level[level]["studies"] = len(set(at["study_id"])) if len(at) else 0
        by_level[level]["studies_adequate_rigour"] = len(set(at["study_id"]) & set(adequate)) if len(at) else 0
    counts = {
        "items": int(len(implementation)),
        "barriers": int((implementation["type"] == "barrier").sum()) if len(implementation) else 0,
        "enablers": int((implementation["type"] == "enabler").sum()) if len(implementation) else 0,
        "studies": len(study_ids),
        "studies_adequate_rigour": len(adequate),
        "themes_with_evidence": sum(1 for t in out_themes if t["n_items"]),
        "levels_with_evidence": sum(1 for lv in by_level.values() if lv["barrier"] + lv["enabler"]),
        "by_level": by_level,
    }
    studies_out = [{"study_id": s, **quality.get(s, {})} for s in study_ids]
    return ImplementationSynthesis(themes=out_themes, cells=cells, counts=counts, studies=studies_out)


def matrix_data(synthesis: ImplementationSynthesis) -> pd.DataFrame:
    """Theme x level counts plotted by :func:`matrix_plot` (columns ``theme, label, level, barrier, enabler``)."""
    labels = {t["theme"]: t["label"] for t in synthesis.themes}
    out = synthesis.cells[["theme", "level", *IMPL_TYPES]].copy()
    out.insert(1, "label", out["theme"].map(labels))
    return out


def matrix_plot(synthesis: ImplementationSynthesis) -> str:
    """Themes x levels grid (SVG text); each cell is split: barriers left (vermillion), enablers right (bluish green).

    The count is written in each half, so the figure does not depend on colour; the shade
    deepens with the count.
    """
    data = matrix_data(synthesis)
    themes = list(dict.fromkeys(data["theme"]))
    labels = dict(zip(data["theme"], data["label"], strict=False))
    n_t, n_l = len(themes), len(IMPL_LEVELS)
    fig = new_figure(2.6 + 1.5 * n_l, 1.3 + 0.5 * max(n_t, 1))
    ax = fig.add_subplot()
    top = max(int(data[list(IMPL_TYPES)].to_numpy().max()) if len(data) else 0, 1)
    colours = {"barrier": OKABE_ITO["vermillion"], "enabler": OKABE_ITO["bluish_green"]}
    from matplotlib.patches import Rectangle

    for _, row in data.iterrows():
        i, j = themes.index(row["theme"]), IMPL_LEVELS.index(row["level"])
        for k, kind in enumerate(IMPL_TYPES):
            n = int(row[kind])
            alpha = 0.0 if n == 0 else 0.25 + 0.75 * n / top
            ax.add_patch(Rectangle((j + 0.5 * k, i), 0.5, 1, facecolor=colours[kind], alpha=alpha, edgecolor="none"))
            ax.text(
                j + 0.25 + 0.5 * k,
                i + 0.5,
                str(n) if n else "\u00b7",
                ha="center",
                va="center",
                fontsize=9,
                color="black",
                fontweight="bold" if n else "normal",
            )
        ax.add_patch(Rectangle((j, i), 1, 1, facecolor="none", edgecolor="#666666", linewidth=0.6))
    ax.set_xlim(0, n_l)
    ax.set_ylim(max(n_t, 1), 0)
    ax.set_xticks(np.arange(n_l) + 0.5, [lv.capitalize() for lv in IMPL_LEVELS], fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks(np.arange(n_t) + 0.5, [labels[t] for t in themes], fontsize=9)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    from matplotlib.patches import Patch

    ax.legend(
        handles=[
            Patch(facecolor=colours["barrier"], label="Barriers (left half)"),
            Patch(facecolor=colours["enabler"], label="Enablers (right half)"),
        ],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.02),
        ncol=2,
        frameon=False,
        fontsize=8,
    )
    ax.set_title("Number of coded barriers and enablers, by theme and level", fontsize=10, pad=24)
    return to_svg(fig)
