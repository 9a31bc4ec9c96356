"""What the extraction workbook holds: one sheet per coded table, its columns and its key.

Shared by :mod:`emmie.workbook.template` (which writes the sheets) and
:mod:`emmie.workbook.importer` (which reads them back), so both agree on the layout.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from emmie.errors import DataError, Problem
from emmie.ingest import cells
from emmie.ingest.load import NUMERIC_TYPES, load_config
from emmie.ingest.schema import Column, Table

README_SHEET = "README"
LISTS_SHEET = "lists"

# The columns that identify a row of each table: an imported row with the same key as a
# row already in the review is the same record (unchanged, or a conflict).
KEYS: dict[str, tuple[str, ...]] = {
    "studies": ("study_id",),
    "effects": ("effect_id",),
    "vocabulary": ("concept_id",),
    "cmo": ("cmo_id",),
    "implementation": ("impl_id",),
    "economics": ("econ_id",),
    "moderators": ("study_id",),
    "rob": ("study_id", "tool", "domain"),
    "prisma": ("box",),
}


def review_config(review_dir: Path) -> dict[str, Any]:
    """``review.yaml`` of the review, validated; :class:`DataError` if it is missing or invalid."""
    if not review_dir.is_dir():
        raise DataError(Problem(str(review_dir), 0, "-", str(review_dir), "a review folder (data/<review>/)"))
    config, problems = load_config(review_dir.resolve())  # "." has no name to check the id against
    if problems or config is None:
        raise DataError(problems)
    return config


def sheet_columns(table: Table, config: dict[str, Any]) -> tuple[Column, ...]:
    """The codebook's columns of ``table``, plus the moderators declared in ``review.yaml``.

    A continuous moderator is a number; a categorical one with ``levels`` is chosen from them.
    """
    columns = list(table.columns)
    if table.extra_columns:
        for moderator in config.get("moderators", []) or []:
            label = moderator.get("label", moderator["name"])
            levels = tuple(str(level) for level in moderator.get("levels", []) or [])
            if moderator["type"] == "continuous":
                columns.append(Column(moderator["name"], "float", False, f"{label} (continuous moderator)."))
            elif levels:
                columns.append(Column(moderator["name"], "enum", False, f"{label} (categorical moderator).", levels))
            else:
                columns.append(Column(moderator["name"], "text", False, f"{label} (categorical moderator)."))
    return tuple(columns)


def is_numeric(column: Column) -> bool:
    return column.type in NUMERIC_TYPES


def same_value(column: Column, a: str, b: str) -> bool:
    """Whether two cell texts hold the same value: ``"0.10"`` equals ``"0.1"`` in a number column.

    Text is compared with line endings normalised (a workbook stores a line break as ``\\n``);
    identifiers and codes ignore surrounding spaces, as the validator does.
    """
    if a == b:
        return True
    if column.type == "text":
        return _newlines(a) == _newlines(b)
    if a.strip() == b.strip():
        return True
    if is_numeric(column):
        x, problem_x = cells.parse_float(a)
        y, problem_y = cells.parse_float(b)
        return problem_x is None and problem_y is None and (x == y or (math.isnan(x) and math.isnan(y)))
    return False


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


#: The workbook's document identifier is this prefix and the review id it was made from.
WORKBOOK_ID_PREFIX = "emmie review: "
