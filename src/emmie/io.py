"""Atomic writes: results appear whole or not at all."""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

# Cells starting with these are run as formulas by spreadsheet programs
# (OWASP "CSV injection"); exported CSVs prefix them with a quote.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename it over ``path``."""
    atomic_write_chunks(path, [data])


def atomic_write_chunks(path: str | os.PathLike, chunks: Iterable[bytes]) -> None:
    """:func:`atomic_write_bytes` of the chunks one after another (a large table need not be held whole)."""
    path = Path(path)
    for folder in (path.parent, *path.parent.parents):
        if folder.exists():
            if not folder.is_dir():  # mkdir would say only "File exists"
                raise NotADirectoryError(errno.ENOTDIR, "is a file, not a folder", str(folder))
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # name the file being written, not the temporary one
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            for data in chunks:
                fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; results are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, pd.DataFrame):
        return json.loads(obj.to_json(orient="records"))
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def _float_text(value: float) -> str:
    """A float as JSON text: its repr, or null for NaN and infinity (not JSON)."""
    return float.__repr__(value) if math.isfinite(value) else "null"


def to_json(obj: Any) -> str:
    """``json.dumps(obj, indent=2, sort_keys=True)`` with NaN and infinity written as null, in one pass.

    The standard library's indenting encoder (``json.encoder._make_iterencode``, which ``json.dumps`` uses with
    ``indent``) is given a float formatter that writes them as null, instead of first making a copy of ``obj`` with
    them replaced (a third of the time on a large review's mechanisms.json). The same text (tests/test_io_json.py).
    """
    encode = json.encoder._make_iterencode(  # noqa: SLF001 - the stdlib's own encoder, as json.dumps calls it
        {}, _json_default, json.encoder.encode_basestring_ascii, 2, _float_text, ": ", ",", True, False, True
    )
    return "".join(encode(obj, 0)) + "\n"


def write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, to_json(obj))


def neutralise_formula(value: Any) -> Any:
    """Prefix a text cell that a spreadsheet would run as a formula with a quote."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)  # a plain negative number is not a formula
            return value
        except ValueError:
            return "'" + value
    return value


def _neutralise_column(values: pd.Series) -> pd.Series:
    """:func:`neutralise_formula` on a column: only the cells that start like a formula are looked at one by one (a
    million rows: 0.3 s, not 3 s); a column the string methods do not take (dates, booleans) cell by cell."""
    values = values.astype(object)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        # One search of the column's text joined by line ends: no match, no cell starts like a formula (a match may
        # be a line inside a cell, so the cells are then looked at one by one).
        text = "\n" + "\n".join(values.dropna().tolist())
        if not any("\n" + start in text for start in _FORMULA_START):
            return values
    try:
        hit = values.str.startswith(_FORMULA_START).fillna(False).astype(bool)
    except (AttributeError, TypeError):
        return values.map(neutralise_formula)
    if hit.any():
        values = values.copy()
        values[hit] = values[hit].map(neutralise_formula)
    return values


def write_csv(path: str | os.PathLike, frame: pd.DataFrame) -> None:
    """Write a results table as CSV, safe to open in a spreadsheet."""
    safe = frame.copy()
    for col in safe.columns:
        dtype = safe[col].dtype
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):  # text, whatever its dtype
            safe[col] = _neutralise_column(safe[col])

    def by_pandas() -> None:
        buf = io.StringIO()
        safe.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        atomic_write_text(path, buf.getvalue())

    if _csv_fields(safe.iloc[:0]) is None:  # a kind of column only pandas formats alike
        by_pandas()
        return

    def chunks() -> Iterable[bytes]:
        yield (",".join(_csv_field(str(c)) for c in safe.columns) + "\n").encode("utf-8")
        for start in range(0, len(safe), CSV_CHUNK_ROWS):
            columns = _csv_fields(safe.iloc[start : start + CSV_CHUNK_ROWS])
            if columns is None:  # numbers among text further down: this table is pandas' to format
                raise _PandasFormats
            yield ("\n".join(map(",".join, zip(*columns, strict=True))) + "\n").encode("utf-8")

    try:
        atomic_write_chunks(path, chunks())
    except _PandasFormats:
        by_pandas()


#: Rows formatted at a time by :func:`write_csv` (a million-row table is never held as text whole).
CSV_CHUNK_ROWS = 50_000


class _PandasFormats(Exception):
    """A chunk of a table holds a cell only pandas' to_csv formats alike."""


_CSV_SPECIAL_CHARS = ',"\r\n\x00'  # a field with any of these is quoted
_CSV_SPECIAL = re.compile(f"[{re.escape(_CSV_SPECIAL_CHARS)}]")


def _csv_field(value: str) -> str:
    """One text field as the csv module writes it (QUOTE_MINIMAL, "\\n" line ends); only a field with a character
    that may need quoting is handed to the csv module."""
    if not _CSV_SPECIAL.search(value):
        return value
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerow([value, ""])
    return buf.getvalue()[:-2]  # the field, without the empty second field and the line end


def _float_fields(arr: np.ndarray) -> list[str]:
    """Each float as ``repr`` writes it (as pandas' ``to_csv`` does), NaN as an empty field.

    orjson formats a whole column in C, 5 times faster than ``repr`` one float at a time, and gives ``repr``'s
    digits (both write the shortest text that reads back as the same float, the nearest one on a tie); it writes
    the exponent differently (``1e-5`` for ``1e-05``, ``0.00001`` where ``repr`` has ``1e-05``) and writes inf and
    NaN as ``null``, so every value outside [1e-4, 1e16) in size, other than zero, is formatted by ``repr`` itself.
    """
    arr = np.ascontiguousarray(arr, dtype=np.float64)  # orjson takes C-ordered arrays only
    nan = np.isnan(arr)
    if nan.all():  # an empty or all-missing column
        return [""] * arr.size
    fields = orjson.dumps(arr, option=orjson.OPT_SERIALIZE_NUMPY)[1:-1].decode("ascii").split(",")
    size = np.abs(arr)
    with np.errstate(invalid="ignore"):
        own = ~(((size >= 1e-4) & (size < 1e16)) | (size == 0) | nan)
    for i in np.flatnonzero(own).tolist():
        fields[i] = repr(float(arr[i]))
    for i in np.flatnonzero(nan).tolist():
        fields[i] = ""
    return fields


def _csv_fields(frame: pd.DataFrame) -> list[list[str]] | None:
    """Each column as the list of its CSV fields, exactly as pandas' ``to_csv`` writes them (floats by ``repr``,
    NaN and None empty, text quoted where needed), or None when only pandas formats a column alike (dates, nullable
    integers, numbers among text) or the frame has one column (an empty row is then written ``""``). A million rows
    of 10 columns: about 5 s, against 20 s through ``to_csv`` (floats are formatted by :func:`_float_fields`)."""
    if (
        len(frame.columns) < 2
        or not frame.columns.is_unique
        or frame.columns.nlevels != 1
        or not all(isinstance(c, str) for c in frame.columns)  # pandas writes a None or NaN name as an empty field
    ):
        return None
    out = []
    for col in frame.columns:
        values = frame[col]
        dtype = values.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in "biu":
            out.append(list(map(str, values.to_numpy().tolist())))
        elif isinstance(dtype, np.dtype) and dtype == np.float64:
            out.append(_float_fields(values.to_numpy()))
        elif (isinstance(dtype, np.dtype) and dtype.kind == "O") or isinstance(dtype, pd.StringDtype):
            cells = values.to_numpy(dtype=object, copy=True)
            missing = pd.isna(values).to_numpy()
            if pd.api.types.infer_dtype(cells, skipna=True) not in ("string", "empty"):
                return None  # numbers or other objects among text: pandas' own formatting
            cells[missing] = ""
            text = cells.tolist()
            # One search of the joined column finds whether any field needs quoting (most columns: none).
            joined = "".join(text)
            out.append(list(map(_csv_field, text)) if any(c in joined for c in _CSV_SPECIAL_CHARS) else text)
        else:
            return None
    return out
