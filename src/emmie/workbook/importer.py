"""Import an extraction workbook into a review's CSV files (``emmie import``).

The workbook's rows are merged into the review's CSV files by each table's key
(:data:`emmie.workbook.layout.KEYS`): a new key adds a row, a key already present with
the same values is skipped, a key already present with other values is a conflict
(refused unless ``replace=True``). The merged review is validated as a whole, in a
temporary copy of the review folder, before anything is written; problems are reported
where the analyst can find them, as ``workbook.xlsx[sheet]:row:column``. The review's
files are then replaced together, each via a temporary file and a rename.

Rows already in a CSV file keep their exact text (quoting, line endings, byte-order mark);
added rows are appended at the end; a replaced row is rewritten in place. A file is
rewritten as a whole only when the workbook fills a column the file did not have.
"""

from __future__ import annotations

import csv
import datetime
import io
import os
import re
import shutil
import tempfile
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from emmie.errors import DataError, EmmieError, Problem
from emmie.ingest.load import cap, csv_problem, decode, load_review, read_csv_file
from emmie.ingest.schema import TABLES, TABLES_BY_NAME, Column, Table
from emmie.io import atomic_write_bytes
from emmie.workbook.layout import (
    KEYS,
    LISTS_SHEET,
    README_SHEET,
    WORKBOOK_ID_PREFIX,
    is_numeric,
    review_config,
    same_value,
    sheet_columns,
)

BOM = b"\xef\xbb\xbf"


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class TableCounts:
    """What an import did to one table."""

    table: str
    added: int = 0
    replaced: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Conflict:
    """A workbook row whose key is in the review already, with other values."""

    table: str
    key: tuple[str, ...]
    row: int  # the row in the workbook's sheet
    columns: tuple[str, ...]
    existing: tuple[str, ...]  # the CSV file's values of ``columns``
    incoming: tuple[str, ...]  # the workbook's values of ``columns``

    def describe(self, workbook: str) -> str:
        key = ", ".join(f"{k}={v!r}" for k, v in zip(KEYS[self.table], self.key, strict=True))
        diffs = "; ".join(
            f"{c} is {old!r} in {self.table}.csv, {new!r} in the workbook"
            for c, old, new in zip(self.columns, self.existing, self.incoming, strict=True)
        )
        return f"{workbook}[{self.table}]:{self.row}: {self.table} row {key} differs: {diffs}"


class ImportConflict(EmmieError):
    """The workbook would overwrite rows already in the review."""

    def __init__(self, workbook: str, conflicts: list[Conflict]):
        self.workbook = workbook
        self.conflicts = list(conflicts)
        n = len(self.conflicts)
        lines = [
            f"{n} row{'s' if n != 1 else ''} of {workbook} {'have keys' if n != 1 else 'has a key'} already in the review, "
            "with different values; nothing was written:",
            *(c.describe(workbook) for c in self.conflicts),
            "To overwrite the review's rows with the workbook's, import again with --replace.",
        ]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_workbook` did.

    Attributes
    ----------
    workbook, review : str
        The workbook's file name and the review folder.
    tables : tuple of TableCounts
        One entry per table sheet read, in codebook order.
    written : tuple of str
        The CSV files replaced or created (empty when nothing changed).
    ignored_sheets : tuple of str
        Sheets that are not tables of the codebook (left unread).
    """

    workbook: str
    review: str
    tables: tuple[TableCounts, ...]
    written: tuple[str, ...] = ()
    ignored_sheets: tuple[str, ...] = ()

    def counts(self, table: str) -> TableCounts:
        for counts in self.tables:
            if counts.table == table:
                return counts
        return TableCounts(table)

    @property
    def added(self) -> int:
        return sum(t.added for t in self.tables)

    @property
    def replaced(self) -> int:
        return sum(t.replaced for t in self.tables)

    @property
    def unchanged(self) -> int:
        return sum(t.unchanged for t in self.tables)

    def summary(self) -> str:
        lines = [
            f"{self.workbook} -> {self.review}: {self.added} added, {self.replaced} replaced, {self.unchanged} unchanged"
        ]
        for t in self.tables:
            if t.added or t.replaced or t.unchanged:
                lines.append(f"  {t.table}: {t.added} added, {t.replaced} replaced, {t.unchanged} unchanged")
        lines.append(
            "  wrote " + ", ".join(self.written)
            if self.written
            else "  nothing to write: every row is in the review already"
        )
        if self.ignored_sheets:
            lines.append("  ignored sheets: " + ", ".join(self.ignored_sheets))
        return "\n".join(lines)


# --------------------------------------------------------------------------- reading the workbook


@dataclass(frozen=True)
class SheetRow:
    row: int  # line in the sheet, the header being row 1
    values: dict[str, str]  # column -> the text the CSV file would hold


@dataclass(frozen=True)
class Sheet:
    table: str
    header: tuple[str, ...]  # the known columns, in sheet order
    rows: tuple[SheetRow, ...]


def cell_text(value: Any) -> str:
    """The text a CSV file would hold for a cell value read by openpyxl.

    Whole numbers lose Excel's ``.0`` (``1948.0`` -> ``"1948"``); other numbers are written
    in Python's shortest round-trip form. Dates become ISO text (``"2017-01-01"``), which the
    validator refuses in year and number columns.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)


def _cell_problem(cell: Any, column: Column) -> str | None:
    value = cell.value
    if (
        cell.data_type == "f"
        or isinstance(value, (ArrayFormula, DataTableFormula))
        or (isinstance(value, str) and value.startswith("="))
    ):
        return "a typed value, not a formula (copy the cells and use 'Paste values')"
    if cell.data_type == "e":
        return "a value, not a spreadsheet error such as #N/A or #REF!"
    if isinstance(value, (datetime.date, datetime.time)) and not is_numeric(column):
        return "text, not a date (Excel turned what was typed into a date: format the cells as Text and type it again)"
    return None


def _formula_text(value: Any) -> str:
    return getattr(value, "text", None) or str(value)


#: Limits on a workbook: its unpacked size and the cells its sheets declare are checked before it is opened,
#: and the cells actually read are counted while it is streamed (a sheet can declare less than it holds).
#: The template of the synthetic benchmark review (1,000 studies, 10,000 effects, 5,000 CMO codings: larger
#: than any real one we know) unpacks to 15 MB and holds about 420,000 cells, which import in about 14 s; a 643 KB "workbook bomb" declaring 2 million
#: rows took 5.8 GB to open before these limits.
MAX_UNPACKED = 150_000_000
MAX_CELLS = 1_000_000
_DIMENSION = re.compile(rb'<dimension ref="[A-Z]+\d+(?::([A-Z]+)(\d+))?"')
#: Reading stops after this many problems, so that every one is listed with the line saying where reading
#: stopped (a workbook of 10 million bad cells gave millions of messages).
MAX_PROBLEMS = DataError.MAX_LISTED - 1


def _size(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 10_000_000 else f"{n:,} bytes"


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def check_size(path: Path) -> None:
    """Refuse a workbook too large to open safely, before opening it (DataError with its size)."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            unpacked = sum(i.file_size for i in infos)
            cells = 0
            for info in infos:
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with z.open(info) as fh:
                        m = _DIMENSION.search(fh.read(4096))
                    if m and m.group(1):
                        cells += _column_number(m.group(1).decode()) * int(m.group(2))
    except (OSError, zipfile.BadZipFile):
        return  # not a zip: opening it gives the proper message
    if unpacked > MAX_UNPACKED:
        raise DataError(
            Problem(
                path.name,
                0,
                "-",
                f"{_size(unpacked)} unpacked",
                f"a workbook of at most {_size(MAX_UNPACKED)} unpacked (import it in parts)",
            )
        )
    if cells > MAX_CELLS:
        raise DataError(
            Problem(
                path.name,
                0,
                "-",
                f"sheets declaring {cells:,} cells",
                f"a workbook of at most {MAX_CELLS:,} cells (import it in parts)",
            )
        )


def read_workbook(path: Path, config: dict[str, Any]) -> tuple[dict[str, Sheet], tuple[str, ...], list[Problem]]:
    """The table sheets of the workbook at ``path``, the names of the other sheets, and the problems found.

    Cells are read as typed (``data_only=False``), so a formula is seen as a formula and refused. The
    workbook is streamed (openpyxl's read-only mode) and reading stops at :data:`MAX_CELLS` cells read,
    whatever the sheets declare, or at :data:`MAX_PROBLEMS` problems.
    """
    path = Path(path)
    check_size(path)
    try:
        return _read_workbook(path, config)
    except _TooLarge as stop:
        raise DataError(stop.problem) from None


class _TooLarge(Exception):
    def __init__(self, problem: Problem | list[Problem]):
        self.problem = problem


class _Budget:
    """Counts the cells read and the problems found across a workbook; stops reading past the bounds."""

    def __init__(self, name: str):
        self.name = name
        self.cells = 0

    def read(self, n: int, where: str, row: int) -> None:
        self.cells += n
        if self.cells > MAX_CELLS:
            raise _TooLarge(
                Problem(
                    where,
                    row,
                    "-",
                    f"more than {MAX_CELLS:,} cells",
                    f"a workbook of at most {MAX_CELLS:,} cells (import it in parts)",
                )
            )


def _read_workbook(path: Path, config: dict[str, Any]) -> tuple[dict[str, Sheet], tuple[str, ...], list[Problem]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # openpyxl warns about Excel features it drops
            # Streaming mode: rows are read one at a time from the sheet's XML, never as a grid of cell objects.
            workbook = load_workbook(path, read_only=True, data_only=False)
    except FileNotFoundError:
        raise DataError(Problem(path.name, 0, "-", str(path), "an existing workbook file")) from None
    except (OSError, InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise DataError(
            Problem(
                path.name,
                0,
                "-",
                f"{type(exc).__name__}: {exc}",
                "an Excel workbook (.xlsx), as written by emmie template",
            )
        ) from None
    try:
        sheets: dict[str, Sheet] = {}
        ignored: list[str] = []
        problems: list[Problem] = []
        budget = _Budget(path.name)
        made_for = str(workbook.properties.identifier or "")
        review = str(config.get("id", ""))
        if made_for.startswith(WORKBOOK_ID_PREFIX) and review and made_for[len(WORKBOOK_ID_PREFIX) :] != review:
            problems.append(
                Problem(
                    path.name,
                    0,
                    "-",
                    f"a workbook made from review '{made_for[len(WORKBOOK_ID_PREFIX) :]}'",
                    f"a workbook made for review '{review}' (emmie template data/{review} FILE.xlsx); nothing was imported",
                )
            )
            return {}, (), problems
        names = ", ".join(t.name for t in TABLES)
        for ws in workbook.worksheets:
            # Read every row the sheet holds, whatever its <dimension> says: in streaming mode openpyxl stops
            # at the declared last row and column, and a wrong declaration would drop data silently.
            ws.reset_dimensions()
            table = TABLES_BY_NAME.get(ws.title)
            if table is None:
                if ws.title not in (README_SHEET, LISTS_SHEET):
                    if _holds_data(ws, budget, f"{path.name}[{ws.title}]"):
                        near = next((t.name for t in TABLES if t.name.lower() == ws.title.strip().lower()), None)
                        problems.append(
                            Problem(
                                f"{path.name}[{ws.title}]",
                                0,
                                "-",
                                ws.title,
                                (
                                    f"the sheet name '{near}' exactly (names are case-sensitive)"
                                    if near
                                    else f"a sheet named after one of the tables ({names}): this sheet holds data that would not "
                                    "be imported"
                                ),
                            )
                        )
                    ignored.append(ws.title)
                continue
            sheet, sheet_problems = _read_sheet(ws, table, config, f"{path.name}[{ws.title}]", budget, problems)
            sheets[table.name] = sheet
            problems += sheet_problems
        if not sheets:
            names = ", ".join(t.name for t in TABLES)
            problems.append(
                Problem(
                    path.name,
                    0,
                    "-",
                    ", ".join(workbook.sheetnames),
                    f"a workbook with sheets named after the tables ({names}), as written by emmie template",
                )
            )
        return sheets, tuple(ignored), problems
    except _UNREADABLE as exc:  # streaming: a broken sheet is found while its rows are read
        raise DataError(
            Problem(
                path.name,
                0,
                "-",
                cap(f"{type(exc).__name__}: {exc}"),
                "an Excel workbook (.xlsx), as written by emmie template",
            )
        ) from None
    finally:
        workbook.close()  # read-only mode keeps the file open


#: What openpyxl raises on a sheet it cannot parse (a value of the wrong type, truncated XML, a bad zip stream).
_UNREADABLE = (ValueError, KeyError, TypeError, EOFError, zlib.error, ElementTree.ParseError, zipfile.BadZipFile)


def _holds_data(ws: Any, budget: _Budget, where: str) -> bool:
    """Whether a worksheet has any non-empty cell (read lazily: stops at the first)."""
    for i, row in enumerate(ws.iter_rows(values_only=True), start=1):
        budget.read(len(row), where, i)
        if any(v is not None and str(v).strip() for v in row):
            return True
    return False


def _read_sheet(
    ws: Any, table: Table, config: dict[str, Any], where: str, budget: _Budget, earlier: list[Problem]
) -> tuple[Sheet, list[Problem]]:
    columns = {c.name: c for c in sheet_columns(table, config)}
    problems: list[Problem] = []
    rows = ws.iter_rows()
    names: list[str | None] = []  # per sheet column: the known column it holds, or None
    blank_header: list[int] = []
    for j, cell in enumerate(next(rows, ()), start=1):
        name = cell_text(cell.value).strip()
        if name == "":
            names.append(None)
            blank_header.append(j)
        elif name not in columns:
            expected = (
                "a moderator declared in review.yaml `moderators`"
                if table.extra_columns
                else "one of the columns " + ", ".join(sorted(columns))
            )
            problems.append(Problem(where, 1, name, name, expected))
            names.append(None)
        elif name in names:
            problems.append(Problem(where, 1, name, name, "each column once"))
            names.append(None)
        else:
            names.append(name)
    out: list[SheetRow] = []
    filled_blank: set[int] = set()
    for i, cells in enumerate(rows, start=2):
        budget.read(len(cells), where, i)
        values: dict[str, str] = {}
        row_problems: list[Problem] = []
        for j, cell in enumerate(cells, start=1):
            name = names[j - 1] if j <= len(names) else None
            if name is None:
                if cell.value is not None and (j > len(names) or j in blank_header):
                    filled_blank.add(j)
                continue
            column = columns[name]
            problem = _cell_problem(cell, column)
            text = _formula_text(cell.value) if problem and cell.data_type == "f" else cell_text(cell.value)
            if problem:
                row_problems.append(Problem(where, i, name, text, problem))
            values[name] = text
        if row_problems or any(v.strip() for v in values.values()):  # the loader skips blank rows too
            problems += row_problems
            out.append(SheetRow(i, values))
        if row_problems and len(earlier) + len(problems) > MAX_PROBLEMS:  # this row's problems passed the bound
            raise _TooLarge(
                [
                    *[*earlier, *problems][:MAX_PROBLEMS],
                    Problem(
                        where,
                        i,
                        "-",
                        f"more than {MAX_PROBLEMS:,} problems",
                        "fewer problems: reading stopped after this row; correct the ones listed and import again",
                    ),
                ]
            )
    if out:
        for column in columns.values():
            if column.required and column.name not in names:
                problems.append(
                    Problem(where, 1, column.name, None, f"a column named '{column.name}' ({column.description})")
                )
    for j in sorted(filled_blank):
        problems.append(
            Problem(
                where,
                1,
                get_column_letter(j),
                None,
                "a column name in the header row (the column below it holds values)",
            )
        )
    header = tuple(name for name in names if name is not None)
    return Sheet(table.name, header, tuple(out)), problems


# --------------------------------------------------------------------------- the review's CSV files


@dataclass(frozen=True)
class _Record:
    raw: str  # the record's text in the file, with its line ending
    fields: dict[str, str] | None  # None for a blank line
    line: int


@dataclass(frozen=True)
class _Original:
    path: Path
    data: bytes | None  # None: the file does not exist
    header: tuple[str, ...] = ()
    header_raw: str = ""
    records: tuple[_Record, ...] = ()
    bom: str = ""
    newline: str = "\n"


def _read_original(path: Path) -> tuple[_Original, list[Problem]]:
    if not path.is_file():
        return _Original(path, None), []
    data = path.read_bytes()
    text, problems = decode(data, path.name)
    if text is None:
        return _Original(path, data), problems
    lines = list(io.StringIO(text, newline=""))
    reader = csv.reader(iter(lines), strict=True)
    consumed = 0
    try:
        header_cells = next(reader, None)
        if header_cells is None:
            return _Original(path, data, bom="\ufeff" if data.startswith(BOM) else ""), []
        header = tuple(h.strip() for h in header_cells)
        consumed = header_end = reader.line_num
        records = []
        for row in reader:
            fields = dict(zip(header, row, strict=False)) if any(cell.strip() for cell in row) else None
            records.append(_Record("".join(lines[consumed : reader.line_num]), fields, consumed + 1))
            consumed = reader.line_num
    except csv.Error as exc:
        return _Original(path, data), [csv_problem(path.name, consumed + 1, exc)]
    header_raw = "".join(lines[:header_end])
    newline = "\r\n" if header_raw.endswith("\r\n") else "\r" if header_raw.endswith("\r") else "\n"
    return _Original(
        path, data, header, header_raw, tuple(records), "\ufeff" if data.startswith(BOM) else "", newline
    ), []


# --------------------------------------------------------------------------- merging


@dataclass
class _Merged:
    table: str
    text: str | None  # the new file text; None when the file does not change
    origins: list[tuple[str, int]]  # per non-blank record of the new text: ("csv", line) or ("sheet", row)
    created: bool  # the file did not exist (or was empty): its header comes from the sheet
    counts: TableCounts
    conflicts: list[Conflict] = field(default_factory=list)


def _key(values: dict[str, str], keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(values.get(k, "").strip() for k in keys)


def _render(cells: list[str], newline: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=newline).writerow(cells)
    return buffer.getvalue()


def _merge(
    table: Table,
    columns: dict[str, Column],
    original: _Original,
    sheet: Sheet,
    replace: bool,
    where: str,
    problems: list[Problem],
) -> _Merged:
    keys = KEYS[table.name]
    index: dict[tuple[str, ...], int] = {}
    for i, record in enumerate(original.records):
        if record.fields is not None:
            key = _key(record.fields, keys)
            if all(key):
                index.setdefault(key, i)
    replacements: dict[int, SheetRow] = {}
    additions: list[SheetRow] = []
    seen: dict[tuple[str, ...], int] = {}
    conflicts: list[Conflict] = []
    unchanged = 0
    for row in sheet.rows:
        key = _key(row.values, keys)
        if all(key):
            if key in seen:
                problems.append(
                    Problem(
                        where,
                        row.row,
                        keys[-1],
                        row.values.get(keys[-1], ""),
                        f"one row per {' + '.join(keys)} (row {seen[key]} has the same)",
                    )
                )
                continue
            seen[key] = row.row
        if all(key) and key in index:
            fields = original.records[index[key]].fields or {}
            differ = tuple(
                c for c in sheet.header if not same_value(columns[c], fields.get(c, ""), row.values.get(c, ""))
            )
            if not differ:
                unchanged += 1
                continue
            conflicts.append(
                Conflict(
                    table.name,
                    key,
                    row.row,
                    differ,
                    tuple(fields.get(c, "") for c in differ),
                    tuple(row.values.get(c, "") for c in differ),
                )
            )
            if replace:
                replacements[index[key]] = row
            continue
        additions.append(row)
    counts = TableCounts(table.name, len(additions), len(replacements), unchanged)
    if not additions and not replacements:
        origins = [("csv", r.line) for r in original.records if r.fields is not None]
        return _Merged(table.name, None, origins, False, counts, conflicts)

    changed_rows = [*additions, *replacements.values()]
    created = original.data is None or not original.header
    if created:
        header, rewrite = list(sheet.header), True
    else:
        new_columns = [
            c for c in sheet.header if c not in original.header and any(r.values.get(c, "") for r in changed_rows)
        ]
        header, rewrite = list(original.header) + new_columns, bool(new_columns)
    newline = original.newline
    parts = [original.bom, _render(header, newline) if rewrite else original.header_raw]
    origins: list[tuple[str, int]] = []
    for i, record in enumerate(original.records):
        if record.fields is None:
            if not rewrite:
                parts.append(record.raw)
            continue
        if i in replacements:
            incoming = replacements[i].values  # values equal to the file's keep the file's text ("0.10", not "0.1")
            fields = {
                **record.fields,
                **{c: v for c, v in incoming.items() if not same_value(columns[c], record.fields.get(c, ""), v)},
            }
            parts.append(_render([fields.get(c, "") for c in header], newline))
            origins.append(("sheet", replacements[i].row))
        else:
            parts.append(_render([record.fields.get(c, "") for c in header], newline) if rewrite else record.raw)
            origins.append(("csv", record.line))
    if not parts[-1].endswith(("\n", "\r")):
        parts[-1] += newline
    for row in additions:
        parts.append(_render([row.values.get(c, "") for c in header], newline))
        origins.append(("sheet", row.row))
    return _Merged(table.name, "".join(parts), origins, created, counts, conflicts)


# --------------------------------------------------------------------------- locating problems


class _Locator:
    """Maps a problem in a merged CSV file back to the workbook row (or original CSV line) it came from."""

    def __init__(self, workbook: str):
        self.workbook = workbook
        self.maps: dict[str, tuple[_Merged, Sheet, dict[int, tuple[str, int]]]] = {}

    def add(self, merged: _Merged, sheet: Sheet, merged_path: Path) -> None:
        raw, _ = read_csv_file(merged_path, merged.table)
        lines = raw.lines if raw is not None else []
        self.maps[f"{merged.table}.csv"] = (merged, sheet, dict(zip(lines, merged.origins, strict=False)))

    def _place(self, file: str, line: int) -> tuple[str, int]:
        merged, _, origins = self.maps[file]
        kind, where = origins.get(line, ("csv", line))
        return (f"{self.workbook}[{merged.table}]", where) if kind == "sheet" else (file, where)

    def locate(self, problem: Problem) -> Problem:
        if problem.file not in self.maps or problem.row == 0:
            return problem
        merged, sheet, _ = self.maps[problem.file]
        expected = re.sub(r"\bline (\d+)\b", lambda m: self._describe(problem.file, int(m.group(1))), problem.expected)
        if problem.row == 1:  # the header: the workbook's only when the file is new
            file = f"{self.workbook}[{merged.table}]" if merged.created else problem.file
            return Problem(file, 1, problem.column, problem.value, expected)
        file, row = self._place(problem.file, problem.row)
        return Problem(file, row, problem.column, problem.value, expected)

    def _describe(self, file: str, line: int) -> str:
        where, row = self._place(file, line)
        return f"line {row} of {where}" if where == file else f"row {row} of {where}"


# --------------------------------------------------------------------------- writing


def _commit(contents: dict[Path, bytes], originals: dict[Path, bytes | None]) -> None:
    """Replace the files together: stage each beside its target, check nobody changed the
    originals meanwhile, rename all, and put the originals back if a rename fails."""
    staged: dict[Path, str] = {}
    umask = os.umask(0)
    os.umask(umask)
    try:
        for path, data in contents.items():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged[path] = tmp
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~umask)
        for path in contents:
            now = path.read_bytes() if path.is_file() else None
            if now != originals[path]:
                raise EmmieError(
                    f"{path} changed while the workbook was being imported; nothing was written. Import again."
                )
        done: list[Path] = []
        try:
            for path, tmp in staged.items():
                os.replace(tmp, path)
                done.append(path)
        except BaseException:
            for path in done:
                before = originals[path]
                if before is None:
                    path.unlink()
                else:
                    atomic_write_bytes(path, before)
            raise
    finally:
        for tmp in staged.values():
            if os.path.exists(tmp):
                os.unlink(tmp)


# --------------------------------------------------------------------------- the import


def import_workbook(path: Path, review_dir: Path, *, replace: bool = False) -> ImportResult:
    """Merge the rows of an extraction workbook into the review's CSV files.

    Parameters
    ----------
    path : Path
        The workbook (``.xlsx``), usually written by :func:`emmie.workbook.write_template`.
        Its sheets named after the codebook's tables are read; ``README``, ``lists`` and any
        other sheet are ignored.
    review_dir : Path
        The review folder (``data/<review>/``).
    replace : bool, default False
        Whether a workbook row whose key is already in the review with other values
        overwrites that row. If False such rows are conflicts and nothing is written.

    Returns
    -------
    ImportResult
        Per table, the rows added, replaced and unchanged (identical rows are skipped), and
        the files written.

    Raises
    ------
    DataError
        A cell of the workbook is invalid (formula, date in a year column, a value the
        codebook does not allow, a broken reference...), or the review would not validate
        once merged. Every problem is listed, located as ``workbook.xlsx[sheet]:row:column``
        when it lies in a workbook row and ``file.csv:line:column`` otherwise.
    ImportConflict
        ``replace`` is False and some workbook rows differ from rows with the same key.

    Notes
    -----
    Rows of the review missing from the workbook are kept: an import never deletes.
    Nothing is written unless the merged review validates; then the changed files are
    replaced together, each through a temporary file and a rename.
    """
    path, review_dir = Path(path), Path(review_dir)
    config = review_config(review_dir)
    sheets, ignored, problems = read_workbook(path, config)
    originals: dict[str, _Original] = {}
    read_problems: list[Problem] = []
    for name in sheets:
        originals[name], found = _read_original(review_dir / f"{name}.csv")
        read_problems += found
    if read_problems:
        raise DataError(read_problems + problems)

    merged: dict[str, _Merged] = {}
    for table in TABLES:
        if table.name in sheets and all(k in sheets[table.name].header for k in KEYS[table.name]):
            columns = {c.name: c for c in sheet_columns(table, config)}
            where = f"{path.name}[{table.name}]"
            merged[table.name] = _merge(
                table, columns, originals[table.name], sheets[table.name], replace, where, problems
            )
    changed = {name: m for name, m in merged.items() if m.text is not None}
    contents = {review_dir / f"{name}.csv": m.text.encode("utf-8") for name, m in changed.items() if m.text is not None}

    located = {(p.file, p.row, p.column) for p in problems}
    locator = _Locator(path.name)
    with tempfile.TemporaryDirectory(prefix="emmie-import-") as tmp:
        copy = Path(tmp) / review_dir.resolve().name  # load_review checks the folder name against the id
        copy.mkdir()
        shutil.copyfile(review_dir / "review.yaml", copy / "review.yaml")
        for table in TABLES:
            source = review_dir / f"{table.name}.csv"
            target = copy / source.name
            if table.name in changed:
                target.write_bytes(contents[source])
                locator.add(changed[table.name], sheets[table.name], target)
            elif source.is_file():
                shutil.copyfile(source, target)
        try:
            load_review(copy)
        except DataError as exc:
            for problem in map(locator.locate, exc.problems):
                if (problem.file, problem.row, problem.column) not in located:
                    problems.append(problem)
    if problems:
        raise DataError(problems)
    conflicts = [c for m in merged.values() for c in m.conflicts]
    if conflicts and not replace:
        raise ImportConflict(path.name, conflicts)
    if contents:
        _commit(contents, {review_dir / f"{name}.csv": originals[name].data for name in changed})
    return ImportResult(
        workbook=path.name,
        review=str(review_dir),
        tables=tuple(m.counts for m in merged.values()),
        written=tuple(f"{name}.csv" for name in changed),
        ignored_sheets=ignored,
    )
