"""PRISMA 2020 flow: the arithmetic between boxes and the flow diagram for new reviews.

References
----------
Page, M. J. et al. (2021). The PRISMA 2020 statement: an updated guideline for reporting
systematic reviews. BMJ 372, n71. doi:10.1136/bmj.n71 (Figure 1: flow diagram for new
systematic reviews which included searches of databases and registers only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from emmie.errors import Problem
from emmie.ingest.schema import PRISMA_BOXES
from emmie.palette import OKABE_ITO

FILE = "prisma.csv"

# Boxes that many flows do not use: a box with no row at all counts 0 (not part of the
# flow). A row with an empty count means "not reported" and stops every check it is in.
OPTIONAL_ZERO = ("identified_registers", "identified_other", "removed_other")
IDENTIFIED = ("identified_databases", "identified_registers", "identified_other")


@dataclass(frozen=True)
class Relation:
    """``sum(plus) - sum(minus) == result`` (or ``<=`` when ``at_most``)."""

    plus: tuple[str, ...]
    minus: tuple[str, ...]
    result: str
    at_most: bool = False


# The checks of schema.PRISMA, in order.
RELATIONS = (
    Relation(IDENTIFIED, ("duplicates_removed", "removed_other"), "records_screened"),
    Relation(("records_screened",), ("records_excluded",), "reports_sought"),
    Relation(("reports_sought",), ("reports_not_retrieved",), "reports_assessed"),
    Relation(("reports_assessed",), ("reports_excluded",), "reports_included"),
    Relation(("studies_included",), (), "reports_included", at_most=True),
)


def counts(prisma: pd.DataFrame) -> dict[str, float | None]:
    """Count per box: a number, ``nan`` when the row is there but the count empty, ``None`` when there is no row."""
    out: dict[str, float | None] = dict.fromkeys(PRISMA_BOXES)
    for box, count in zip(prisma["box"], prisma["count"], strict=True):
        out[str(box)] = float(count) if count == count else math.nan
    return out


def _lines(prisma: pd.DataFrame) -> dict[str, int]:
    lines = prisma.attrs.get("lines") or [i + 2 for i in range(len(prisma))]
    return {str(box): int(line) for box, line in zip(prisma["box"], lines, strict=False)}


def _value(c: dict[str, float | None], box: str) -> float | None:
    """The count to use in a check, or None when the check cannot be made."""
    v = c.get(box)
    if v is None:
        return 0.0 if box in OPTIONAL_ZERO else None
    return None if math.isnan(v) else v


def _term(boxes: tuple[str, ...], c: dict[str, float | None]) -> str:
    return " + ".join(f"{b} ({int(_value(c, b))})" for b in boxes if c.get(b) is not None or b not in OPTIONAL_ZERO)


def check_arithmetic(prisma: pd.DataFrame) -> list[Problem]:
    """Check the PRISMA 2020 relations between box counts.

    A relation is checked only when every count in it is present (a box that is not in
    the file at all counts 0 if it is one of ``identified_registers``,
    ``identified_other``, ``removed_other``). Each failure is one Problem on the row of
    the box the relation computes, naming all boxes involved.

    Returns
    -------
    list of :class:`emmie.errors.Problem` (file ``prisma.csv``, column ``count``).
    """
    c = counts(prisma)
    lines = _lines(prisma)
    problems = []
    for rel in RELATIONS:
        values = [_value(c, b) for b in (*rel.plus, *rel.minus, rel.result)]
        if any(v is None for v in values):
            continue
        computed = sum(_value(c, b) for b in rel.plus) - sum(_value(c, b) for b in rel.minus)
        actual = _value(c, rel.result)
        if rel.at_most:
            if computed > actual:
                problems.append(
                    Problem(
                        FILE,
                        lines.get(rel.plus[0], 0),
                        "count",
                        int(computed),
                        f"{rel.plus[0]} ({int(computed)}) <= {rel.result} ({int(actual)})",
                    )
                )
            continue
        if computed != actual:
            expr = _term(rel.plus, c)
            if rel.minus:
                expr += " - " + " - ".join(
                    f"{b} ({int(_value(c, b))})" for b in rel.minus if c.get(b) is not None or b not in OPTIONAL_ZERO
                )
            problems.append(
                Problem(
                    FILE, lines.get(rel.result, 0), "count", int(actual), f"{rel.result} = {expr} = {int(computed)}"
                )
            )
    return problems


def _n(c: dict[str, float | None], box: str) -> str:
    v = c.get(box)
    return "not reported" if v is None or math.isnan(v) else f"{int(v):,}"


@dataclass(frozen=True)
class FlowBox:
    key: str
    phase: str
    column: int  # 0 = main flow, 1 = side (removed / excluded)
    row: int
    text: str


def flow_boxes(prisma: pd.DataFrame) -> list[FlowBox]:
    """The text of every box of the diagram, with counts or "not reported"."""
    c = counts(prisma)
    details = (
        {str(b): str(d) for b, d in zip(prisma["box"], prisma["detail"], strict=True)} if "detail" in prisma else {}
    )
    identified = [f"Databases (n = {_n(c, 'identified_databases')})"]
    if c.get("identified_registers") is not None:
        identified.append(f"Registers (n = {_n(c, 'identified_registers')})")
    if c.get("identified_other") is not None:
        identified.append(f"Other methods (n = {_n(c, 'identified_other')})")
    removed = [f"Duplicate records removed (n = {_n(c, 'duplicates_removed')})"]
    if c.get("removed_other") is not None:
        removed.append(f"Records removed for other reasons (n = {_n(c, 'removed_other')})")
    excluded = f"Reports excluded (n = {_n(c, 'reports_excluded')})"
    if details.get("reports_excluded"):
        excluded += "\n" + details["reports_excluded"]
    return [
        FlowBox("identified", "Identification", 0, 0, "Records identified from:\n" + "\n".join(identified)),
        FlowBox("removed", "Identification", 1, 0, "Records removed before screening:\n" + "\n".join(removed)),
        FlowBox("records_screened", "Screening", 0, 1, f"Records screened\n(n = {_n(c, 'records_screened')})"),
        FlowBox("records_excluded", "Screening", 1, 1, f"Records excluded\n(n = {_n(c, 'records_excluded')})"),
        FlowBox("reports_sought", "Screening", 0, 2, f"Reports sought for retrieval\n(n = {_n(c, 'reports_sought')})"),
        FlowBox(
            "reports_not_retrieved", "Screening", 1, 2, f"Reports not retrieved\n(n = {_n(c, 'reports_not_retrieved')})"
        ),
        FlowBox(
            "reports_assessed",
            "Screening",
            0,
            3,
            f"Reports assessed for eligibility\n(n = {_n(c, 'reports_assessed')})",
        ),
        FlowBox("reports_excluded", "Screening", 1, 3, excluded),
        FlowBox(
            "included",
            "Included",
            0,
            4,
            f"Studies included in review\n(n = {_n(c, 'studies_included')})\n"
            f"Reports of included studies\n(n = {_n(c, 'reports_included')})",
        ),
    ]


def _wrap_lines(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.fill(line, width) if line else line for line in text.split("\n"))


def flow_diagram(prisma: pd.DataFrame) -> str:
    """PRISMA 2020 flow diagram for new reviews (SVG text)."""
    from emmie.figures import new_figure, to_svg  # matplotlib only where a figure is drawn

    boxes = flow_boxes(prisma)
    n_rows = max(b.row for b in boxes) + 1
    fig = new_figure(9.0, 1.6 * n_rows + 0.4)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 10)
    ax.set_ylim(n_rows * 2, 0)
    ax.axis("off")
    x_centre = {0: 3.7, 1: 8.0}
    width = {0: 3.6, 1: 3.4}

    def y(row: int) -> float:
        return 1.0 + 2 * row

    phases: dict[str, list[int]] = {}
    for b in boxes:
        phases.setdefault(b.phase, []).append(b.row)
        ax.text(
            x_centre[b.column],
            y(b.row),
            _wrap_lines(b.text, 44),
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "square,pad=0.5", "facecolor": "white", "edgecolor": "black", "linewidth": 0.8},
        )
        if b.column == 1:
            ax.annotate(
                "",
                xy=(x_centre[1] - width[1] / 2 - 0.05, y(b.row)),
                xytext=(x_centre[0] + width[0] / 2 - 0.1, y(b.row)),
                arrowprops={"arrowstyle": "->", "linewidth": 0.8},
            )
    for row in range(n_rows - 1):
        ax.annotate(
            "",
            xy=(x_centre[0], y(row + 1) - 0.55),
            xytext=(x_centre[0], y(row) + 0.55),
            arrowprops={"arrowstyle": "->", "linewidth": 0.8},
        )
    for phase, rows in phases.items():
        top, bottom = y(min(rows)) - 0.8, y(max(rows)) + 0.8
        ax.add_patch(_phase_patch(top, bottom))
        ax.text(0.4, (top + bottom) / 2, phase, rotation=90, ha="center", va="center", fontsize=9, fontweight="bold")
    return to_svg(fig)


def _phase_patch(top: float, bottom: float):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch(
        (0.15, top),
        0.5,
        bottom - top,
        boxstyle="round,pad=0.02",
        facecolor=OKABE_ITO["sky_blue"],
        edgecolor="none",
        alpha=0.6,
    )
