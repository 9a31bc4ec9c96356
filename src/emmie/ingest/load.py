"""Load and validate a review folder.

:func:`load_review` reads ``review.yaml`` and every coded table, checks all of it
(types, allowed values, references between files, arithmetic) and either returns a
:class:`~emmie.ingest.review.Review` or raises one :class:`~emmie.errors.DataError`
listing every problem found, each located as ``file:row:column``.
It only reads: nothing under the review folder is ever written.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import yaml

from emmie.errors import DataError, Problem
from emmie.ingest import cells
from emmie.ingest.review import Review
from emmie.ingest.schema import TABLES, Column, Table
from emmie.ingest.yamlfile import read_yaml
from emmie.reads import Reads

NUMERIC_TYPES = ("int", "float", "year")


class Shared(tuple):
    """Row bookkeeping kept in ``DataFrame.attrs``: pandas deep-copies attrs on every
    operation, which made loading quadratic in the number of rows; this is immutable,
    so a copy can be the object itself."""

    def __deepcopy__(self, memo: dict) -> Shared:
        return self

    def __copy__(self) -> Shared:
        return self


@dataclass
class RawTable:
    """A table as read: header, rows of strings, and each row's line number."""

    name: str
    file: str
    header: list[str]
    rows: list[list[str]]
    lines: list[int]
    digest: str


def review_schema() -> dict[str, Any]:
    text = resources.files("emmie.ingest").joinpath("review_schema.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


# --------------------------------------------------------------------------- reading


def _utf16(data: bytes) -> bool:
    """A UTF-16 file: its byte-order mark, or a NUL in every other byte of its start (ASCII text as UTF-16)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    head = data[:200]
    if len(head) < 4:
        return False
    odd, even = head[1::2], head[0::2]
    zeros = odd.count(0) >= 0.9 * len(odd), even.count(0) >= 0.9 * len(even)
    return zeros[0] != zeros[1]  # NULs in one half only: all-NUL bytes are a binary file, not UTF-16


def decode(data: bytes, file: str) -> tuple[str | None, list[Problem]]:
    """UTF-8 text, with a byte-order mark tolerated (Excel writes one) and removed."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if _utf16(data):
        return None, [
            Problem(
                file,
                1,
                "-",
                "UTF-16 text",
                "UTF-8 text (save it as UTF-8, in Excel as 'CSV UTF-8', or convert it: iconv -f UTF-16 -t UTF-8)",
            )
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1]
        return None, [
            Problem(
                file,
                line,
                "-",
                f"byte 0x{bad.hex()}",
                "UTF-8 text (the file looks like Latin-1/Windows-1252: save it as UTF-8)",
            )
        ]
    if "\x00" in text:
        return None, [Problem(file, 0, "-", "a NUL byte", "a text file (CSV), not a binary file")]
    return text, []


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` with their endings, for csv.reader: as io.StringIO(text, newline="") gives them,
    without its copy of the whole text (four bytes a character: about 1 GB for a million effects)."""
    if text.count("\r") != text.count("\r\n"):  # lone carriage returns end lines too: let io split them
        yield from io.StringIO(text, newline="")
        return
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


class CsvRecords:
    """A CSV file opened for reading record by record: ``header``, ``digest``, and, when iterated, its non-blank
    records as (line the record starts on, cells). A syntax error ends the iteration and is kept in ``problem``."""

    def __init__(self, name: str, file: str, header: list[str], digest: str, reader: Any, start: int):
        self.name, self.file, self.header, self.digest = name, file, header, digest
        self._reader, self._start = reader, start
        self.problem: Problem | None = None

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader, start = self._reader, self._start
        try:
            for row in reader:
                # blank: no cell but white space (most records show it by their first cell, without a generator)
                if row and (row[0].strip() or any(cell.strip() for cell in row)):
                    yield start, row
                start = reader.line_num + 1
        except csv.Error as exc:
            self.problem = csv_problem(self.file, start, exc)


#: The largest table emmie reads, checked before reading it: about 4 million effect rows. A million effect rows
#: (236 MB) validate in under a minute in 1.1 GB; validation memory grows with the table, about 4.5 times its size.
MAX_TABLE_BYTES = 1_000_000_000


def open_csv(path: Path, name: str) -> tuple[CsvRecords | None, list[Problem]]:
    """The file at ``path`` decoded and its header read (None and the problems when it cannot be)."""
    file = path.name
    size = path.stat().st_size
    if size > MAX_TABLE_BYTES:
        return None, [
            Problem(
                file,
                0,
                "-",
                f"{size:,} bytes",
                f"a table of at most {MAX_TABLE_BYTES:,} bytes (about 4 million effect rows; split the review, or "
                "raise emmie.ingest.load.MAX_TABLE_BYTES on a machine with the memory for it)",
            )
        ]
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    text, problems = decode(data, file)
    del data  # a large table: hold one copy of its text, not two
    if text is None:
        return None, problems
    if not text.strip():
        return None, [Problem(file, 0, "-", "an empty file", "a header row naming the columns (see data/README.md)")]
    reader = csv.reader(_lines(text), strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        return None, [csv_problem(file, 1, exc)]
    return CsvRecords(name, file, [h.strip() for h in header], digest, reader, reader.line_num + 1), []


def read_csv_file(path: Path, name: str) -> tuple[RawTable | None, list[Problem]]:
    """The whole table as text (for the workbook and ``emmie meta``; the loader streams it instead)."""
    records, problems = open_csv(path, name)
    if records is None:
        return None, problems
    rows: list[list[str]] = []
    lines: list[int] = []
    for line, row in records:
        lines.append(line)
        rows.append(row)
    if records.problem:
        return None, [records.problem]
    return RawTable(name, records.file, records.header, rows, lines, records.digest), []


def csv_problem(file: str, line: int, exc: csv.Error) -> Problem:
    """A CSV syntax error at the record that starts on ``line``, in words."""
    text = str(exc)
    if "field larger than field limit" in text:
        limit = csv.field_size_limit()
        return Problem(
            file,
            line,
            "-",
            f"a field longer than {limit:,} characters",
            f"fields of at most {limit:,} characters: a quote opened in the record starting on this line is "
            "probably not closed",
        )
    if "unexpected end of data" in text:
        return Problem(
            file, line, "-", "a quote that is never closed", "a closing quote for the field opened on this line"
        )
    return Problem(file, line, "-", text, "well-formed CSV (check the quotes in the record starting on this line)")


# --------------------------------------------------------------------------- checking one table


def check_header(raw: RawTable | CsvRecords, table: Table, declared_extra: tuple[str, ...]) -> list[Problem]:
    problems = []
    seen: set[str] = set()
    for h in raw.header:
        if h in seen:
            problems.append(Problem(raw.file, 1, h, h, "each column once"))
        seen.add(h)
    known = {c.name for c in table.columns}
    for c in table.columns:
        if c.required and c.name not in seen:
            problems.append(Problem(raw.file, 1, c.name, None, f"a column named '{c.name}' ({c.description})"))
    allowed_extra = set(declared_extra) if table.extra_columns else set()
    for h in raw.header:
        if h not in known and h not in allowed_extra:
            if table.extra_columns:
                expected = "a moderator declared in review.yaml `moderators`"
            else:
                expected = "one of the columns " + ", ".join(sorted(known))
            problems.append(Problem(raw.file, 1, h or "(blank)", h, expected))
    return problems


def parse_cell(column: Column, raw: str) -> tuple[Any, str | None]:
    if raw.strip() == "":
        if column.required:
            return ("" if column.type not in NUMERIC_TYPES else math.nan), "a value (this column is required)"
        return ("" if column.type not in NUMERIC_TYPES else math.nan), None
    if column.type == "text":
        return cells.parse_text(raw)
    if column.type in ("id", "ref"):
        return cells.parse_id(raw)
    if column.type == "float":
        return cells.parse_float(raw)
    if column.type == "int":
        return cells.parse_int(raw)
    if column.type == "year":
        return cells.parse_year(raw)
    if column.type == "enum":
        return cells.parse_enum(raw, column.allowed)
    if column.type == "url":
        return cells.parse_url(raw)
    if column.type == "date":
        return cells.parse_date(raw)
    raise AssertionError(column.type)


#: Records parsed at a time: the text of a chunk is dropped once its cells are parsed, so that a million effects
#: are never held as 34 million Python strings at once.
CHUNK = 100_000


def _grid(rows: list[list[str]], width: int) -> np.ndarray:
    """The records as a (records x columns) array of their texts, a record with fewer cells than the header padded
    with "" (one with more is reported by the caller; its extra cells are kept but never read)."""
    if all(len(row) == width for row in rows):  # the usual case, built in one step
        return np.array(rows, dtype=object).reshape(len(rows), width)
    columns = list(itertools.zip_longest(*rows, fillvalue=""))
    grid = np.full((len(rows), max(width, len(columns))), "", dtype=object)
    for i, column in enumerate(columns):
        grid[:, i] = column
    return grid


def _factorize(texts: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each text's position among the distinct texts, in order of first appearance, and those texts (as
    pandas.factorize, a little faster on strings)."""
    seen: dict[str, int] = {}
    codes = np.array([seen.setdefault(t, len(seen)) for t in texts], dtype=np.intp)
    return codes, list(seen)


def records_frame(
    file: str, header: list[str], records: Iterable[tuple[int, list[str]]], table: Table, extra: dict[str, str]
) -> tuple[pd.DataFrame, list[Problem]]:
    """The typed table from (line, cells) records, read :data:`CHUNK` records at a time, and the problems found;
    ``extra`` maps declared extra columns to 'continuous'/'categorical'."""
    columns = {c.name: c for c in table.columns}
    for name, kind in extra.items():
        columns[name] = Column(name, "float" if kind == "continuous" else "text", False, "moderator")
    parts: dict[str, list[np.ndarray]] = {name: [] for name in columns}
    index = {h: i for i, h in enumerate(header)}
    invalid: set[tuple[int, str]] = set()
    found: list[tuple[int, int, Problem]] = []  # (line, column position, problem): sorted row by row below
    width = len(header)
    all_lines: list[int] = []
    records = iter(records)
    while chunk := list(itertools.islice(records, CHUNK)):
        lines = [line for line, _ in chunk]
        rows = [row for _, row in chunk]
        del chunk
        all_lines += lines
        for line, row in zip(lines, rows, strict=True):
            if len(row) > width:
                found.append(
                    (
                        line,
                        -1,
                        Problem(file, line, "-", f"{len(row)} cells", f"at most {width} cells, as many as the header"),
                    )
                )
        # Column by column, each distinct text parsed once (pandas' factorize finds them): most cells of a large
        # table repeat (empty cells, ids, codes, sources), and parsing 31 million cells one by one took most of
        # the time of validating a million effects.
        n = len(rows)
        cells = _grid(rows, width)
        del rows
        for position, (name, column) in enumerate(columns.items()):
            numeric = column.type in NUMERIC_TYPES
            i = index.get(name)
            if i is None:  # a missing column is reported once, from the header
                parts[name].append(np.full(n, parse_cell(column, "")[0], dtype=float if numeric else object))
                continue
            codes, distinct = _factorize(cells[:, i])
            parsed = [parse_cell(column, text) for text in distinct]
            values = np.array([v for v, _ in parsed], dtype=float if numeric else object)
            parts[name].append(values[codes])
            bad = np.array([p is not None for _, p in parsed], dtype=bool)
            if bad.any():
                for r in np.flatnonzero(bad[codes]):
                    line, text = lines[r], str(distinct[codes[r]])
                    found.append((line, position, Problem(file, line, name, text, parsed[codes[r]][1])))
                    invalid.add((line, name))
        del cells
    problems = [p for _, _, p in sorted(found, key=lambda f: (f[0], f[1]))]
    frame = pd.DataFrame(
        {
            name: pd.Series(
                np.concatenate(chunks) if chunks else [],
                dtype=float if columns[name].type in NUMERIC_TYPES else object,
                copy=False,
            )
            for name, chunks in parts.items()
        }
    )
    frame.attrs["lines"] = Shared(all_lines)
    frame.attrs["file"] = file
    frame.attrs["present"] = True
    frame.attrs["invalid"] = frozenset(invalid)
    return frame, problems


def empty_frame(table: Table, extra: dict[str, str]) -> pd.DataFrame:
    data = {c.name: pd.Series([], dtype=float if c.type in NUMERIC_TYPES else object) for c in table.columns}
    for name, kind in extra.items():
        data[name] = pd.Series([], dtype=float if kind == "continuous" else object)
    frame = pd.DataFrame(data)
    frame.attrs["lines"] = Shared()
    frame.attrs["file"] = f"{table.name}.csv"
    frame.attrs["present"] = False
    frame.attrs["invalid"] = frozenset()
    frame.attrs["unreadable"] = True
    return frame


def check_unique(frame: pd.DataFrame, table: Table) -> list[Problem]:
    problems = []
    for column in table.columns:
        if not column.unique:
            continue
        seen: dict[str, int] = {}
        for value, line in zip(frame[column.name], frame.attrs["lines"], strict=True):
            if value == "":
                continue
            if value in seen:
                problems.append(
                    Problem(
                        frame.attrs["file"],
                        line,
                        column.name,
                        value,
                        f"a unique value (already used on line {seen[value]})",
                    )
                )
            else:
                seen[value] = line
    return problems


# --------------------------------------------------------------------------- the review


#: review.yaml holds the review's settings, not its data: the bundled ones are about 10 KB.
MAX_YAML_BYTES = 1_000_000


def load_config(
    folder: Path, keep: Callable[[Problem], bool] | None = None
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """``review.yaml`` read and checked against its schema: (the mapping, or None when it has problems; the
    problems). ``keep``: only the problems it keeps count (the mapping is returned when there are none)."""
    path = folder / "review.yaml"
    if not path.is_file():
        return None, [Problem("review.yaml", 0, "-", None, f"a file review.yaml in {folder} (see data/README.md)")]
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        return None, [
            Problem(
                "review.yaml",
                0,
                "-",
                f"{size:,} bytes",
                f"a review.yaml of at most {MAX_YAML_BYTES:,} bytes (the coded data belong in the CSV tables; "
                "a 55 MB review.yaml took over two minutes to read)",
            )
        ]
    text, problems = decode(path.read_bytes(), "review.yaml")
    if text is None:
        return None, problems
    try:
        config = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        return None, [Problem("review.yaml", line, "-", getattr(exc, "problem", str(exc)), "valid YAML")]
    if not isinstance(config, dict):
        return None, [
            Problem("review.yaml", 0, "-", type(config).__name__, "a mapping of keys such as id, title, outcomes")
        ]
    validator = jsonschema.Draft202012Validator(review_schema())
    missing: set[str] = set()  # jsonschema gives one "required" error per missing key, each naming them all
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            for key in error.validator_value:
                name = f"{where}.{key}" if where else key
                if isinstance(error.instance, dict) and key not in error.instance and name not in missing:
                    missing.add(name)
                    problems.append(
                        Problem(
                            "review.yaml",
                            0,
                            name,
                            None,
                            f"a key '{key}' (see data/README.md)",
                        )
                    )
            continue
        value = ", ".join(_unknown_keys(error)) if error.validator == "additionalProperties" else _short(error.instance)
        problems.append(Problem("review.yaml", 0, where or "-", value, _expected(error)))
    if keep is not None:
        problems = [p for p in problems if keep(p)]
    if not problems and config.get("id") != folder.name:
        problems.append(Problem("review.yaml", 0, "id", config.get("id"), f"the folder name '{folder.name}'"))
    return (config if not problems else None), problems


#: The longest value a message quotes: a huge value is shown by its start and its length.
QUOTE_MAX = 200


def _short(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        value = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return cap(value)


def cap(value: Any) -> Any:
    if isinstance(value, str) and len(value) > QUOTE_MAX:
        return f"{value[:QUOTE_MAX]}... ({len(value):,} characters)"
    return value


#: review.yaml's patterns (review_schema.yaml) in words.
PATTERN_WORDS = {
    "^[a-z0-9][a-z0-9_-]*$": "an id of lower-case ASCII letters, digits, '_' and '-', starting with a letter or digit",
    "^[A-Za-z0-9_.-]+$": "an id of ASCII letters, digits, '_', '.' and '-'",
    "^[A-Za-z0-9_.]+$": "a name of ASCII letters, digits, '_' and '.'",
    "^[A-Z]{3}$": "a three-letter ISO 4217 currency code in capitals, such as GBP",
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "a date written YYYY-MM-DD",
    "^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$": "a date written YYYY, YYYY-MM or YYYY-MM-DD",
}


def _allowed_keys(error: jsonschema.ValidationError) -> list[str]:
    allowed = list((error.schema.get("properties") or {}).keys())
    for pattern in error.schema.get("patternProperties") or {}:  # "^(a|b|c)$" in words: a, b, c
        m = re.fullmatch(r"\^\(([\w|]+)\)\$", pattern)
        allowed += m.group(1).split("|") if m else []
    return allowed


def _unknown_keys(error: jsonschema.ValidationError) -> list[str]:
    allowed = _allowed_keys(error)
    patterns = list(error.schema.get("patternProperties") or {})
    return [
        str(k)
        for k in (error.instance if isinstance(error.instance, dict) else {})
        if k not in allowed and not any(re.search(p, str(k)) for p in patterns)
    ]


def _known_keys(error: jsonschema.ValidationError) -> str:
    """ "only known keys: 'x' is not one (did you mean 'y'?); the keys are a, b, c": the unknown key comes first,
    so that a long list of keys cut short by :func:`cap` never hides it."""
    import difflib

    allowed = _allowed_keys(error)
    said = []
    for key in _unknown_keys(error):
        near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.75)
        said.append(f"'{key}' is not one" + (f" (did you mean '{near[0]}'?)" if near else ""))
    keys = ", ".join(allowed) if allowed else "none"
    return f"only known keys: {'; '.join(said)}; the keys are {keys}"


def _expected(error: jsonschema.ValidationError) -> str:
    if error.validator == "enum":
        return "one of " + ", ".join(map(str, error.validator_value))
    if error.validator == "additionalProperties":
        return cap(_known_keys(error))
    if error.validator == "type":
        return f"a value of type {error.validator_value}"
    bound = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "above", "exclusiveMaximum": "below"}
    if error.validator in bound:
        return f"a number {bound[error.validator]} {error.validator_value}"
    if error.validator == "minLength" and error.validator_value >= 20:
        return f"a justification of at least {error.validator_value} characters"
    n = error.validator_value
    words = {
        "minLength": lambda: "some text" if n == 1 else f"text of at least {n} characters",
        "maxLength": lambda: f"text of at most {n} characters",
        "minItems": lambda: f"a list of at least {n} item{'s' if n != 1 else ''}",
        "maxItems": lambda: f"a list of at most {n} items",
        "uniqueItems": lambda: "a list with each item once",
        "pattern": lambda: PATTERN_WORDS.get(n, f"text matching the regular expression {n} (see data/README.md)"),
        "const": lambda: f"the value {n!r}",
        "minProperties": lambda: f"a mapping of at least {n} key{'s' if n != 1 else ''}",
        "not": lambda: "another value (see data/README.md)",
        "oneOf": lambda: "a value of one of the forms data/README.md gives",
        "anyOf": lambda: "a value of one of the forms data/README.md gives",
    }
    if error.validator in words:
        return words[error.validator]()
    return cap(error.message)


def _concerns(problem: Problem, only: Reads) -> bool:
    """Whether ``problem`` is in what ``only`` reads: one of its tables, or one of its review.yaml keys (or the
    file as a whole), or, for a step that reads them, the shared reference tables."""
    if problem.file == "review.yaml":
        top = problem.column.split(".")[0]
        return top == "-" or top in (only.keys or ())
    if problem.file.endswith(".csv") and problem.file[:-4] in only.tables:
        return True
    return only.reference and problem.file not in {f"{t.name}.csv" for t in TABLES}


def load_review(folder: str | Path, only: Reads | None = None) -> Review:
    """The review in ``folder``, read and checked; :class:`DataError` with every problem found.

    ``only`` (what one step reads, :func:`emmie.reads.reads`): read and check just those tables and
    ``review.yaml`` keys, and raise only for problems in them; the other tables are empty. A step of the
    pipeline whose own inputs are valid thus runs while another table of the review is being corrected."""
    from emmie.ingest.validate import check_review

    folder = Path(folder).resolve()  # "." must still have the folder's name
    if not folder.is_dir():
        raise DataError(Problem(str(folder), 0, "-", str(folder), "a review folder (data/<review>/)"))
    if only is not None and only.keys is None and set(only.tables) == {t.name for t in TABLES}:
        only = None  # all of it
    config, problems = load_config(folder, keep=None if only is None else lambda p: _concerns(p, only))
    declared = {m["name"]: m["type"] for m in (config or {}).get("moderators", [])}
    frames: dict[str, pd.DataFrame] = {}
    digests: dict[str, str] = {}
    for table in TABLES:
        path = folder / f"{table.name}.csv"
        extra = declared if table.extra_columns else {}
        if only is not None and table.name not in only.tables:
            frames[table.name] = empty_frame(table, extra)
            continue
        if not path.is_file():
            if table.required:
                problems.append(
                    Problem(
                        f"{table.name}.csv",
                        0,
                        "-",
                        None,
                        f"a file {table.name}.csv ({table.description}; may hold only the header row)",
                    )
                )
            frames[table.name] = empty_frame(table, extra)
            continue
        raw, read_problems = open_csv(path, table.name)
        problems += read_problems
        if raw is not None:
            frame, cell_problems = records_frame(
                raw.file, raw.header, raw, table, {k: v for k, v in extra.items() if k in raw.header}
            )
        if raw is None or raw.problem:  # unreadable, or a syntax error part-way: that is the one problem
            problems += [raw.problem] if raw is not None else []
            frames[table.name] = empty_frame(table, extra)
            frames[table.name].attrs["present"] = True
            continue
        digests[table.name] = raw.digest
        # With review.yaml unreadable the declared moderators are unknown: don't flag their columns.
        problems += check_header(
            raw, table, tuple(extra) if config is not None or not table.extra_columns else tuple(raw.header)
        )
        problems += cell_problems
        problems += check_unique(frame, table)
        frames[table.name] = frame
    if config is not None:
        problems += check_review(config, frames, folder)
    if only is not None:
        problems = [p for p in problems if _concerns(p, only)]
    if problems:
        raise DataError(problems)
    for table in TABLES:  # declared moderators missing from the file still get a column
        if table.extra_columns:
            for name, kind in declared.items():
                if name not in frames[table.name]:
                    frames[table.name][name] = pd.Series(
                        [math.nan if kind == "continuous" else ""] * len(frames[table.name]),
                        dtype=float if kind == "continuous" else object,
                    )
    return Review(path=folder, config=config, files=digests, **frames)
