"""How much of a long table a page lists.

A page lists every row of a table of up to :data:`PAGE_ROWS` rows. A longer table lists its first
:data:`PAGE_ROWS` rows and a sentence under it says how many there are and which file holds all of them (a file
of the same run, or the coded data). So a page stays a few megabytes whatever the number of studies and results
(a million coded results once made a 374 MB page that no browser could open). The reference list is bounded the
same way (:data:`REFERENCES_MAX`); a study that is not listed is named without a link.

What repeats for each outcome and each moderator analysis (figures, and the tables of results) shares one
:class:`Budget` per page: once :data:`FIGURE_BYTES_MAX` bytes of figures or :data:`DETAIL_ROWS_MAX` rows are on the
page, later figures and tables are named with their file instead of drawn, and the page says so. What is left per
outcome (its pooled table, verdict and notes) is a few kilobytes, so the number of outcomes and moderator analyses a
page lays out is bounded too (:data:`OUTCOMES_MAX`, :data:`ANALYSES_MAX`; :func:`pick` chooses which); a sentence that
names outcomes names a bounded number of them (:func:`emmie.findings.text.join_some`). The interactive graph carries at
most :data:`GRAPH_CODINGS_MAX` codings' excerpts (:func:`emmie.report.cmo_view.bounded`).

Those bounds keep a typical page well under :data:`PAGE_BYTES_MAX`; they are what a page holds at scale 1. Since
each is a count, not a size, a page could still pass it (long excerpts, many themes, a large graph and many
outcomes at once): :func:`emmie.report.render.render_review` then lays the pages out again with every bound scaled
down (:func:`scaled`, read through :func:`bound`) until they fit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

#: The size a page stays under, in bytes, whatever the size of the review (issue 15: "< 5 MB").
PAGE_BYTES_MAX = 4_800_000
#: The scales at which a page is laid out, in turn, until it fits in PAGE_BYTES_MAX.
SCALES = (1.0, 0.5, 0.25, 0.1, 0.02)

PAGE_ROWS = 100
REFERENCES_MAX = 300
#: A context-mechanism-outcome graph with more links is not drawn on the page (neither the figure nor the interactive
#: view: about 1 KB a link); the page names the files that hold it.
GRAPH_LINKS_MAX = 2_000
#: Bytes of the figures drawn for the outcomes and moderator analyses on one page.
FIGURE_BYTES_MAX = 2_500_000
#: Rows of the tables listed for the outcomes (results, and the numbers of each figure) on one page.
DETAIL_ROWS_MAX = 2_000
#: Outcomes a page gives a verdict and a section each (primary outcomes first; about 5 KB each past the budget).
OUTCOMES_MAX = 100
#: Moderator analyses a page lays out (those that survive adjustment for multiple testing first).
ANALYSES_MAX = 100
#: Codings (each with its excerpt and source, about 1.2 KB) the interactive graph carries over all its links.
GRAPH_CODINGS_MAX = 1_000

_SCALE: ContextVar[float] = ContextVar("page_scale", default=1.0)


def bound(n: int) -> int:
    """``n`` (one of the bounds above) at the current scale (:func:`scaled`), at least 1."""
    return max(1, int(n * _SCALE.get()))


@contextmanager
def scaled(factor: float) -> Iterator[None]:
    """Every bound read through :func:`bound` (and the :class:`Budget` made) in this block scaled by ``factor``."""
    token = _SCALE.set(factor)
    try:
        yield
    finally:
        _SCALE.reset(token)


def more_note(shown: int, total: int, what: str, where: str) -> str:
    """The sentence under a table that lists ``shown`` of its ``total`` rows ("" when it lists all of them)."""
    if total <= shown:
        return ""
    return f"The page lists the first {shown:,} of {total:,} {what}; all of them are in {where}."


def pick(items: Sequence[Any], most: int, first: Callable[[Any], bool] = lambda _: False) -> list[Any]:
    """At most ``most`` of ``items``: those for which ``first`` holds come first, then the others in order; the ones
    picked keep the order of ``items``."""
    order = sorted(range(len(items)), key=lambda i: not first(items[i]))  # stable: each group keeps its order
    return [items[i] for i in sorted(order[:most])]


def head(rows: Sequence[Any], what: str, where: str, limit: int | None = None) -> tuple[list[Any], str]:
    """The rows a page lists (the first ``limit``, by default :data:`PAGE_ROWS`) and the sentence that says where the
    rest are."""
    shown = list(rows[: bound(PAGE_ROWS) if limit is None else limit])
    return shown, more_note(len(shown), len(rows), what, where)


def figure_rows(data: dict[str, Any], what: str, where: str, limit: int | None = None) -> dict[str, Any]:
    """A figure's table of numbers (:mod:`emmie.report.figure_data`) bounded as :func:`head`, with its ``note``; a
    text that ends on how many rows there are (``lists_rows``) says how many the table under the chart lists."""
    rows = data.get("rows") or []
    limit = bound(PAGE_ROWS) if limit is None else limit
    out = dict(data)
    if len(rows) > limit:
        shown, note = head(rows, what, where, limit)
        out.update(rows=shown, ids=list((data.get("ids") or [])[:limit]), note=note)
    if data.get("lists_rows") and rows:
        n = len(out["rows"])
        out["text"] = data["text"] + (
            "; every result is in the table under the chart."
            if n == len(rows)
            else f"; the table under the chart lists the first {n:,}."
            if n
            else "; the note under the chart says where they are."
        )
    return out


class Budget:
    """What one page can still hold of the figures and tables repeated for each outcome and moderator analysis."""

    def __init__(self, figure_bytes: int | None = None, rows: int | None = None) -> None:
        self.figure_max = bound(FIGURE_BYTES_MAX) if figure_bytes is None else figure_bytes
        self.figure_bytes = self.figure_max
        self.rows = bound(DETAIL_ROWS_MAX) if rows is None else rows

    def figure(self, path: Path, read: Callable[[Path], Any]) -> tuple[Any, str]:
        """The figure's SVG and ""; or None and the sentence that names its file once the page holds its share; or
        None and "" when ``read`` finds no figure (it is left off, as before there was a budget). A figure is drawn
        whole once begun: each is bounded in size on its own (the plot modules)."""
        if self.figure_bytes > 0:
            svg = read(path)
            if svg is not None:
                self.figure_bytes -= len(svg)
            return svg, ""
        return None, self.skipped_note([path.name], path.parent)

    def skipped_note(self, files: Sequence[str], folder: Path) -> str:
        """One sentence for the figures of one outcome that are not drawn ("" when all of them are)."""
        if not files:
            return ""
        what = "This figure is" if len(files) == 1 else f"These {len(files)} figures are"
        return (
            f"{what} not drawn here, so that the page stays quick to open (it already holds "
            f"{self.figure_max / 1e6:g} MB of figures): {', '.join(files)}, in {folder}."
        )

    def limit(self) -> int:
        """How many rows the next table may list."""
        return max(0, min(bound(PAGE_ROWS), self.rows))

    def head(self, rows: Sequence[Any], what: str, where: str) -> tuple[list[Any], str]:
        """:func:`head` within what is left: past it a table lists no row, and the sentence says where they are."""
        shown, note = head(rows, what, where, self.limit())
        self.rows -= len(shown)
        return shown, _no_room(len(rows), what, where) if not shown and rows else note

    def figure_rows(self, data: dict[str, Any], what: str, where: str) -> dict[str, Any]:
        """:func:`figure_rows` within what is left."""
        out = figure_rows(data, what, where, self.limit())
        self.rows -= len(out.get("rows") or [])
        if not out.get("rows") and data.get("rows"):
            out["note"] = _no_room(len(data["rows"]), what, where)
        return out


def _no_room(n: int, what: str, where: str) -> str:
    """The sentence that stands for a table the page has no room left for."""
    return f"The page has no room left to list these {n:,} {what}; all of them are in {where}."
