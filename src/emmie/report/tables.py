"""How much of a long table a page lists.

A page lists every row of a table of up to :data:`PAGE_ROWS` rows. A longer table lists its first
:data:`PAGE_ROWS` rows and a sentence under it says how many there are and which file holds all of them (a file
of the same run, or the coded data). So a page stays a few megabytes whatever the number of studies and results
(a million coded results once made a 374 MB page that no browser could open); it still grows with the number of
outcomes and moderator analyses. The reference list is bounded the same way (:data:`REFERENCES_MAX`); a study
that is not listed is named without a link.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

PAGE_ROWS = 100
REFERENCES_MAX = 300
#: A context-mechanism-outcome graph with more links is not drawn on the page (neither the figure nor the interactive
#: view: about 1 KB a link); the page names the files that hold it.
GRAPH_LINKS_MAX = 2_000


def more_note(shown: int, total: int, what: str, where: str) -> str:
    """The sentence under a table that lists ``shown`` of its ``total`` rows ("" when it lists all of them)."""
    if total <= shown:
        return ""
    return f"The page lists the first {shown:,} of {total:,} {what}; all of them are in {where}."


def head(rows: Sequence[Any], what: str, where: str, limit: int | None = None) -> tuple[list[Any], str]:
    """The rows a page lists (the first ``limit``, by default :data:`PAGE_ROWS`) and the sentence that says where the
    rest are."""
    shown = list(rows[: PAGE_ROWS if limit is None else limit])
    return shown, more_note(len(shown), len(rows), what, where)


def figure_rows(data: dict[str, Any], what: str, where: str, limit: int | None = None) -> dict[str, Any]:
    """A figure's table of numbers (:mod:`emmie.report.figure_data`) bounded as :func:`head`, with its ``note``."""
    rows = data.get("rows") or []
    limit = PAGE_ROWS if limit is None else limit
    if len(rows) <= limit:
        return data
    shown, note = head(rows, what, where, limit)
    return {**data, "rows": shown, "ids": list((data.get("ids") or [])[:limit]), "note": note}
