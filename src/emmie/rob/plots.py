"""Risk-of-bias figures in the style of robvis: traffic-light and weighted summary plots.

Each judgement has a colour from the Okabe-Ito palette *and* a symbol, so the plots
read the same without colour.

References
----------
McGuinness, L. A. & Higgins, J. P. T. (2021). Risk-of-bias VISualization (robvis): an R
package and Shiny web app for visualizing risk-of-bias assessments. Research Synthesis
Methods 12(1), 55-61. doi:10.1002/jrsm.1411
Sterne, J. A. C. et al. (2019). RoB 2: a revised tool for assessing risk of bias in
randomised trials. BMJ 366, l4898. doi:10.1136/bmj.l4898
Sterne, J. A. C. et al. (2016). ROBINS-I: a tool for assessing risk of bias in
non-randomised studies of interventions. BMJ 355, i4919. doi:10.1136/bmj.i4919
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from emmie.errors import EmmieError
from emmie.figures import OKABE_ITO, new_figure, to_svg

OVERALL = "Overall"

# Judgement scale of each tool, best to worst, then "no information".
SCALES: dict[str, tuple[str, ...]] = {
    "rob2": ("low", "some_concerns", "high", "no_information"),
    "robins_i": ("low", "moderate", "serious", "critical", "no_information"),
    "generic": ("low", "some_concerns", "moderate", "serious", "high", "critical", "no_information", "not_assessed"),
}
ORDER = SCALES["generic"]

LABELS = {
    "low": "Low",
    "some_concerns": "Some concerns",
    "moderate": "Moderate",
    "serious": "Serious",
    "high": "High",
    "critical": "Critical",
    "no_information": "No information",
    "not_assessed": "Not assessed",
}
SYMBOLS = {
    "low": "+",
    "some_concerns": "-",
    "moderate": "-",
    "serious": "x",
    "high": "x",
    "critical": "!",
    "no_information": "?",
    "not_assessed": "",
}
COLOURS = {
    "low": OKABE_ITO["bluish_green"],
    "some_concerns": OKABE_ITO["yellow"],
    "moderate": OKABE_ITO["yellow"],
    "serious": OKABE_ITO["orange"],
    "high": OKABE_ITO["vermillion"],
    "critical": OKABE_ITO["reddish_purple"],
    "no_information": OKABE_ITO["sky_blue"],
    "not_assessed": OKABE_ITO["light_grey"],
}


def rob_table(rob: pd.DataFrame, studies: pd.DataFrame | None = None) -> pd.DataFrame:
    """Judgements as long rows ``study_id, tool, domain, judgement``.

    Domain-level rows come from ``rob``; each study's ``rob_overall`` (from ``studies``)
    is added as the domain "Overall" unless ``rob`` already has one. When ``rob`` is
    empty the result is the overall judgements alone (one "Overall" domain).
    Studies whose tool is ``none`` and whose overall judgement is ``not_assessed`` are
    left out: nothing was assessed.
    """
    cols = ["study_id", "tool", "domain", "judgement"]
    parts = []
    if rob is not None and len(rob):
        parts.append(rob[cols].astype(str))
    if studies is not None and len(studies):
        have_overall = set()
        if parts:
            have_overall = set(parts[0].loc[parts[0]["domain"].str.lower() == OVERALL.lower(), "study_id"])
        overall = pd.DataFrame(
            {
                "study_id": studies["study_id"].astype(str),
                "tool": studies["rob_tool"].astype(str),
                "domain": OVERALL,
                "judgement": studies["rob_overall"].astype(str),
            }
        )
        assessed = ~((overall["tool"] == "none") & (overall["judgement"] == "not_assessed"))
        parts.append(overall.loc[assessed & ~overall["study_id"].isin(have_overall)])
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    out = pd.concat(parts, ignore_index=True)
    out["tool"] = out["tool"].where(out["tool"].isin(SCALES), "generic")
    return out.reset_index(drop=True)


def _domains(table: pd.DataFrame) -> list[str]:
    domains = list(dict.fromkeys(d for d in table["domain"] if d != OVERALL))
    if (table["domain"] == OVERALL).any():
        domains.append(OVERALL)
    return domains


def traffic_light_data(table: pd.DataFrame) -> pd.DataFrame:
    """Study x domain grid of judgements (empty string where a study has no judgement)."""
    if not len(table):
        return pd.DataFrame()
    grid = table.drop_duplicates(["study_id", "domain"], keep="last").pivot(
        index="study_id", columns="domain", values="judgement"
    )
    studies = list(dict.fromkeys(table["study_id"]))
    return grid.reindex(index=studies, columns=_domains(table)).fillna("")


def summary_data(table: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Share of studies (or of total weight) with each judgement, per domain.

    Parameters
    ----------
    table : DataFrame
        Long judgements as returned by :func:`rob_table`.
    weights : mapping of study_id to a weight >= 0, optional
        E.g. the studies' weights in a meta-analysis (robvis ``weighted = TRUE``). Studies
        without a weight count 0. Default: every study counts 1.

    Returns
    -------
    DataFrame with columns ``domain, judgement, n, weight, percent``; ``percent`` sums to
    100 within each domain that has any weight.
    """
    rows = []
    if not len(table):
        return pd.DataFrame(columns=["domain", "judgement", "n", "weight", "percent"])
    for domain in _domains(table):
        sub = table.loc[table["domain"] == domain].drop_duplicates("study_id", keep="last")
        if weights is None:
            w = pd.Series(1.0, index=sub.index)
        else:
            bad = [k for k, v in weights.items() if not np.isfinite(v) or v < 0]
            if bad:
                raise EmmieError(f"risk-of-bias weights must be finite and >= 0; got {bad[0]!r} = {weights[bad[0]]}")
            w = sub["study_id"].map(lambda s: float(weights.get(s, 0.0)))
        total = float(w.sum())
        for judgement in ORDER:
            hit = sub["judgement"] == judgement
            if not hit.any():
                continue
            weight = float(w[hit].sum())
            rows.append(
                {
                    "domain": domain,
                    "judgement": judgement,
                    "n": int(hit.sum()),
                    "weight": weight,
                    "percent": 100.0 * weight / total if total > 0 else float("nan"),
                }
            )
    return pd.DataFrame(rows, columns=["domain", "judgement", "n", "weight", "percent"])


def _legend(ax, judgements: list[str], **kwargs) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [0],
            [0],
            marker="o",
            linestyle="",
            markersize=11,
            markerfacecolor=COLOURS[j],
            markeredgecolor="black",
            label=f"{SYMBOLS[j] or ' '}  {LABELS[j]}",
        )
        for j in judgements
    ]
    ax.legend(handles=handles, frameon=False, **kwargs)


def traffic_light_plot(table: pd.DataFrame, labels: Mapping[str, str] | None = None) -> str:
    """robvis-style traffic-light plot (SVG text): one row per study, one column per domain.

    ``labels`` maps ``study_id`` to the label the reader sees elsewhere (author-year, with a/b)."""
    grid = traffic_light_data(table)
    if grid.empty:
        raise EmmieError("no risk-of-bias judgements to plot: rob.csv is empty and no study has an overall judgement")
    n_studies, n_domains = grid.shape
    fig = new_figure(1.6 + 1.1 * n_domains, 1.4 + 0.42 * n_studies)
    ax = fig.add_subplot()
    used = []
    for i, study in enumerate(grid.index):
        for j, domain in enumerate(grid.columns):
            judgement = grid.loc[study, domain]
            if not judgement:
                continue
            used.append(judgement)
            ax.scatter([j], [i], s=420, color=COLOURS[judgement], edgecolors="black", linewidths=0.6, zorder=2)
            ax.text(j, i, SYMBOLS[judgement], ha="center", va="center", fontsize=12, fontweight="bold", zorder=3)
    ax.set_xticks(range(n_domains), [_wrap(d) for d in grid.columns], fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks(range(n_studies), [(labels or {}).get(s, s) for s in grid.index], fontsize=9)
    ax.set_xlim(-0.6, n_domains - 0.4)
    ax.set_ylim(n_studies - 0.5, -0.5)
    for side in ("right", "bottom", "left", "top"):
        ax.spines[side].set_visible(False)
    ax.tick_params(length=0)
    ax.grid(True, color="#DDDDDD", linewidth=0.5, zorder=0)
    _legend(
        ax, [j for j in ORDER if j in used], loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, title="Judgement"
    )
    return to_svg(fig)


def summary_plot(table: pd.DataFrame, weights: Mapping[str, float] | None = None) -> str:
    """robvis-style summary plot (SVG text): stacked bars of the % of studies per judgement per domain."""
    data = summary_data(table, weights)
    if data.empty:
        raise EmmieError("no risk-of-bias judgements to plot: rob.csv is empty and no study has an overall judgement")
    domains = list(dict.fromkeys(data["domain"]))
    fig = new_figure(8.0, 1.2 + 0.45 * len(domains))
    ax = fig.add_subplot()
    used = [j for j in ORDER if j in set(data["judgement"])]
    for i, domain in enumerate(domains):
        left = 0.0
        for _, row in data.loc[data["domain"] == domain].iterrows():
            pct = 0.0 if np.isnan(row["percent"]) else row["percent"]
            ax.barh(i, pct, left=left, color=COLOURS[row["judgement"]], edgecolor="black", linewidth=0.5, height=0.7)
            if pct >= 6:
                ax.text(
                    left + pct / 2,
                    i,
                    SYMBOLS[row["judgement"]],
                    ha="center",
                    va="center",
                    fontsize=10,
                    fontweight="bold",
                )
            left += pct
    ax.set_yticks(range(len(domains)), [_wrap(d, 40) for d in domains], fontsize=8)
    ax.set_ylim(len(domains) - 0.5, -0.5)
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel("Share of studies" + (" (weighted)" if weights is not None else ""))
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    _legend(
        ax,
        used,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.25 - 0.5 / max(len(domains), 1)),
        ncol=min(len(used), 4),
        fontsize=8,
    )
    return to_svg(fig)


def _wrap(text: str, width: int = 14) -> str:
    words, lines, line = str(text).split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines)
