"""Write the extraction workbook of a review (``emmie template``).

One sheet per coded table, with the codebook's column names as the header, a note
(comment) on each header cell giving the column's type, whether it is required and
what it means, drop-down lists of the allowed values, and the review's existing rows
pre-filled so that analysts see what is already coded. Importing a pre-filled row
that nobody changed is a no-op (:func:`emmie.workbook.importer.import_workbook`
skips identical rows), so analysts add rows below the existing ones.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from emmie.errors import DataError
from emmie.ingest import cells
from emmie.ingest.codebook import TYPE_TEXT
from emmie.ingest.load import read_csv_file
from emmie.ingest.schema import TABLES, TABLES_BY_NAME, Column, Table
from emmie.io import atomic_write_bytes
from emmie.workbook.layout import (
    KEYS,
    LISTS_SHEET,
    README_SHEET,
    WORKBOOK_ID_PREFIX,
    is_numeric,
    review_config,
    sheet_columns,
)

# Rows below the existing ones that carry the drop-down lists and number checks.
EMPTY_ROWS = 1000
TEXT_FORMAT = "@"  # Excel "Text": stops Excel turning "1-3" (a page range) into a date
HEADER_FILL = PatternFill("solid", fgColor="DDDDDD")
REQUIRED_FONT = Font(bold=True)
OPTIONAL_FONT = Font(bold=True, italic=True, color="555555")
WIDE_COLUMNS = ("citation", "excerpt", "result_text", "source", "note", "description", "support", "detail", "item")
MAX_NUMBER = 1e12  # emmie.ingest.cells.MAX_MAGNITUDE


def write_template(review_dir: Path, path: Path) -> None:
    """Write the extraction workbook of the review in ``review_dir`` to ``path``.

    Parameters
    ----------
    review_dir : Path
        The review folder (``data/<review>/``), holding ``review.yaml`` and the coded CSV files.
        The files need not pass validation (the workbook can be used to fix them), but
        ``review.yaml`` must, and every CSV file must be readable.
    path : Path
        The ``.xlsx`` file to write, atomically (a temporary file renamed over ``path``).

    Raises
    ------
    DataError
        ``review.yaml`` is missing or invalid, or a CSV file cannot be read.

    Notes
    -----
    Sheets: ``README`` (how to fill it in), then one sheet per table of the codebook
    (:data:`emmie.ingest.schema.TABLES`; ``moderators`` with the moderators declared in
    ``review.yaml``), then a hidden sheet ``lists`` holding the drop-down lists.
    Enumerated columns get a drop-down list of the allowed values (entries outside the list
    are refused); columns referring to ``review.yaml`` (outcomes, implementation themes) a
    list of its ids; columns referring to another table (``study_id``, concept ids) a list
    over that sheet's key column, so a study added on the ``studies`` sheet can be chosen at
    once (other values raise a warning only). Number and year columns refuse text and dates.
    """
    review_dir = Path(review_dir)
    config = review_config(review_dir)
    existing = {table.name: _existing_rows(review_dir, table) for table in TABLES}
    last_row = 1 + max(len(rows) for rows in existing.values()) + EMPTY_ROWS

    workbook = Workbook()
    readme = workbook.active
    readme.title = README_SHEET
    _write_readme(readme, config)
    lists = _Lists(workbook.create_sheet(LISTS_SHEET))
    sheets = {table.name: workbook.create_sheet(table.name, index=len(workbook.sheetnames) - 1) for table in TABLES}
    for table in TABLES:
        _write_table(sheets[table.name], table, config, existing[table.name], lists, last_row)
    lists.sheet.sheet_state = "hidden"
    workbook.active = 1  # open on the first table, not the README
    # Which review the workbook was made from: `emmie import` refuses it for any other review.
    workbook.properties.identifier = f"{WORKBOOK_ID_PREFIX}{config.get('id', review_dir.name)}"

    buffer = io.BytesIO()
    workbook.save(buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _existing_rows(review_dir: Path, table: Table) -> list[dict[str, str]]:
    path = review_dir / f"{table.name}.csv"
    if not path.is_file():
        return []
    raw, problems = read_csv_file(path, table.name)
    if raw is None:
        raise DataError(problems)
    return [dict(zip(raw.header, row + [""] * (len(raw.header) - len(row)), strict=False)) for row in raw.rows]


class _Lists:
    """The hidden sheet of drop-down lists: one column per distinct list."""

    def __init__(self, sheet: Worksheet):
        self.sheet = sheet
        self.ranges: dict[tuple[str, ...], str] = {}

    def range_of(self, name: str, values: tuple[str, ...]) -> str:
        if values not in self.ranges:
            col = len(self.ranges) + 1
            letter = get_column_letter(col)
            self.sheet.cell(1, col, name).font = REQUIRED_FONT
            for i, value in enumerate(values, start=2):
                cell = self.sheet.cell(i, col, value)
                cell.data_type = "s"  # never a formula, whatever the text
            self.ranges[values] = f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(values) + 1}"
        return self.ranges[values]


def _write_table(
    sheet: Worksheet, table: Table, config: dict[str, Any], rows: list[dict[str, str]], lists: _Lists, last_row: int
) -> None:
    columns = sheet_columns(table, config)
    for j, column in enumerate(columns, start=1):
        letter = get_column_letter(j)
        cell = sheet.cell(1, j, column.name)
        cell.font = REQUIRED_FONT if column.required else OPTIONAL_FONT
        cell.fill = HEADER_FILL
        cell.comment = _note(table, column)
        width = 40 if column.name in WIDE_COLUMNS else max(12, min(30, len(column.name) + 4))
        sheet.column_dimensions[letter].width = width
        if not is_numeric(column):
            sheet.column_dimensions[letter].number_format = TEXT_FORMAT
        validation = _validation(column, config, lists, last_row)
        if validation is not None:
            validation.add(f"{letter}2:{letter}{last_row}")
            sheet.add_data_validation(validation)
        for i, row in enumerate(rows, start=2):
            _fill(sheet.cell(i, j), column, row.get(column.name, ""))
    sheet.freeze_panes = "B2" if KEYS[table.name] == (columns[0].name,) else "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(len(rows) + 1, 2)}"


def _fill(cell, column: Column, text: str) -> None:
    if text == "":
        return
    if is_numeric(column):
        number, problem = cells.parse_float(text)
        if problem is None:
            cell.value = int(number) if number.is_integer() and abs(number) < 2**53 else number
            return
    cell.value = text
    cell.data_type = "s"  # text that starts with "=" stays text
    cell.number_format = TEXT_FORMAT


def _note(table: Table, column: Column) -> Comment:
    lines = [
        f"{table.name}.{column.name}",
        f"type: {TYPE_TEXT[column.type]}".replace("`", ""),
        f"required: {'yes' if column.required else 'no (leave empty if not reported)'}",
    ]
    if column.name in KEYS[table.name]:
        lines.append("part of the row's key" if len(KEYS[table.name]) > 1 else "the row's key")
    if column.allowed:
        lines.append("allowed: " + ", ".join(column.allowed))
    if column.ref:
        lines.append(f"refers to: {column.ref}")
    lines.append(column.description.replace("`", ""))
    note = Comment("\n".join(lines), "emmie")
    note.width = 320
    note.height = 60 + 16 * sum(1 + len(line) // 45 for line in lines)
    return note


def _validation(column: Column, config: dict[str, Any], lists: _Lists, last_row: int) -> DataValidation | None:
    name = column.name
    if column.type == "enum":
        return _list(lists.range_of(name, column.allowed), name, "one of the values in the drop-down list")
    if column.type == "ref":
        target, _, key = column.ref.partition(".")
        if target == "review":
            ids = tuple(str(item["id"]) for item in config.get(key, []) or [])
            if not ids:
                return None
            return _list(lists.range_of(f"review.{key}", ids), name, f"an id from review.yaml {key}")
        letter = get_column_letter(1 + [c.name for c in sheet_columns(TABLES_BY_NAME[target], config)].index(key))
        where = f"{quote_sheetname(target)}!${letter}$2:${letter}${last_row}"
        return _list(where, name, f"a {key} from the {target} sheet", stop=False)
    if column.type == "int":
        return _number("whole", name, "greaterThanOrEqual", "0", None, "a whole number >= 0")
    if column.type == "year":
        return _number(
            "whole", name, "between", "1900", "2100", "a four-digit year (1900-2100), typed as a number, not a date"
        )
    if column.type == "float":
        return _number(
            "decimal", name, "between", f"{-MAX_NUMBER:.0f}", f"{MAX_NUMBER:.0f}", "a number (no text, no dates)"
        )
    return None


def _list(formula: str, name: str, expected: str, *, stop: bool = True) -> DataValidation:
    validation = DataValidation(type="list", formula1=formula, allow_blank=True, showDropDown=False)
    validation.errorStyle = "stop" if stop else "warning"
    validation.showErrorMessage = True
    validation.errorTitle = f"{name}: not in the list"
    validation.error = f"{name}: expected {expected}."
    return validation


def _number(kind: str, name: str, operator: str, low: str, high: str | None, expected: str) -> DataValidation:
    validation = DataValidation(type=kind, operator=operator, formula1=low, formula2=high, allow_blank=True)
    validation.errorStyle = "stop"
    validation.showErrorMessage = True
    validation.errorTitle = f"{name}: not accepted"
    validation.error = f"{name}: expected {expected}."
    return validation


def _write_readme(sheet: Worksheet, config: dict[str, Any]) -> None:
    review = config["id"]
    lines = [
        (f"emmie extraction workbook: {config['title']}", True),
        (f"Review folder: data/{review}/ . The codebook (columns, types, allowed values) is data/README.md.", False),
        ("", False),
        ("How to fill it in", True),
        (
            "- One sheet per coded table. Each row is one record; the header row holds the codebook's column names: do not rename, reorder or delete them.",
            False,
        ),
        (
            "- Hover over a header cell for the column's type, whether it is required, the allowed values and its meaning. Bold headers are required, italic ones optional.",
            False,
        ),
        (
            "- The rows already in the review are filled in. Add new rows below them. Leave the existing rows as they are unless you mean to change them.",
            False,
        ),
        (
            "- Each row is identified by its key (studies: study_id; effects: effect_id; vocabulary: concept_id; cmo: cmo_id; implementation: impl_id; "
            "economics: econ_id; moderators: study_id; rob: study_id + tool + domain; prisma: box).",
            False,
        ),
        (
            "- Columns with a drop-down list take one of its values. study_id and concept columns list the ids on the studies and vocabulary sheets: add a study or concept there first.",
            False,
        ),
        ("- Leave a cell empty when the value is not reported. Never type NA, n/a, NaN or inf.", False),
        (
            "- Type values, not formulas: cells that hold a formula (=...) are refused. Paste with 'Paste values'.",
            False,
        ),
        ("- Years are four-digit numbers (2017), not dates. Numbers have no thousands separators.", False),
        (
            "- Every number and excerpt needs its provenance: source, source_page and verified (yes / partial / no).",
            False,
        ),
        ("", False),
        ("Importing", True),
        (
            f"- emmie import THIS_FILE.xlsx data/{review}   adds the new rows to the review's CSV files, after checking the whole review as emmie validate does.",
            False,
        ),
        (
            "- Nothing is written unless everything is valid. Problems are listed as workbook.xlsx[sheet]:row:column.",
            False,
        ),
        (
            "- A row whose key is already in the review but whose values differ is a conflict: the import is refused and lists it. "
            "Add --replace to overwrite the review's row with the workbook's.",
            False,
        ),
        (
            "- Rows that are unchanged are skipped. Deleting a row from the workbook does not delete it from the review.",
            False,
        ),
        ("- Sheets other than the table sheets (and this README) are ignored.", False),
    ]
    sheet.column_dimensions["A"].width = 150
    for i, (text, heading) in enumerate(lines, start=1):
        cell = sheet.cell(i, 1, text)
        cell.data_type = "s"
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if heading:
            cell.font = REQUIRED_FONT
