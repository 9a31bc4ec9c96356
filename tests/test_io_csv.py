"""write_csv writes exactly what pandas' to_csv would (after neutralising formulas), faster."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from emmie import io as eio


def _pandas(frame: pd.DataFrame) -> str:
    safe = frame.copy()
    for col in safe.columns:
        if not (pd.api.types.is_numeric_dtype(safe[col].dtype) or pd.api.types.is_bool_dtype(safe[col].dtype)):
            safe[col] = safe[col].map(eio.neutralise_formula)
    buf = io.StringIO()
    safe.to_csv(buf, index=False, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    return buf.getvalue()


FRAMES = {
    "mixed": pd.DataFrame(
        {
            "flag": [True, False, True],
            "n": [1, -2, 3],
            "x": [0.1, np.nan, 1e-300],
            "big": [1e20, -0.0, np.inf],
            "text": ["x,y", 'say "hi"', None],
            "lines": ["a\nb", "a\rb", ""],
            "formula": ["=1+1", "-2", "-2+3"],
            "odd name, quoted": [" lead", "tab\tx", "\x00"],
        }
    ),
    "strings": pd.DataFrame({"a": pd.Series(["x", None], dtype="str"), "b": ["NA", "None"]}),
    "one column": pd.DataFrame({"a": ["", None]}),  # pandas' own path: an empty row is written ""
    "nullable ints": pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": [1.5, 2.5]}),
    "numbers among text": pd.DataFrame({"a": pd.Series([1, "x"], dtype=object), "b": [1, 2]}),
    "dates": pd.DataFrame({"a": pd.to_datetime(["2020-01-01", "2021-06-30"]), "b": ["p", "q"]}),
    "empty": pd.DataFrame({"a": [], "b": []}),
    "unnamed column": pd.DataFrame({None: [1], "b": [2]}),
}


@pytest.mark.parametrize("name", list(FRAMES))
def test_write_csv_matches_pandas_to_csv_byte_for_byte(name, tmp_path):
    frame = FRAMES[name]
    eio.write_csv(tmp_path / "t.csv", frame)
    assert (tmp_path / "t.csv").read_bytes() == _pandas(frame).encode("utf-8")


def test_fast_path_is_taken_for_plain_tables_and_left_for_the_rest():
    assert eio._csv_fields(FRAMES["mixed"]) is not None and eio._csv_fields(FRAMES["strings"]) is not None
    for name in ("one column", "nullable ints", "numbers among text", "dates", "unnamed column"):
        assert eio._csv_fields(FRAMES[name]) is None, name


@pytest.mark.parametrize("name", ["mixed", "strings", "numbers among text"])
def test_chunked_writing_gives_the_same_bytes(name, tmp_path, monkeypatch):
    monkeypatch.setattr(eio, "CSV_CHUNK_ROWS", 1)
    frame = FRAMES[name]
    eio.write_csv(tmp_path / "t.csv", frame)
    assert (tmp_path / "t.csv").read_bytes() == _pandas(frame).encode("utf-8")


def test_a_number_among_text_past_the_first_chunk_hands_the_table_to_pandas(tmp_path, monkeypatch):
    monkeypatch.setattr(eio, "CSV_CHUNK_ROWS", 2)
    frame = pd.DataFrame({"a": pd.Series(["x", "y", "z", 4.5], dtype=object), "b": [1.0, np.nan, 3.0, 4.0]})
    eio.write_csv(tmp_path / "t.csv", frame)
    assert (tmp_path / "t.csv").read_bytes() == _pandas(frame).encode("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary file left behind


def _edge_floats() -> np.ndarray:
    """Both sides of where ``repr`` switches to an exponent (1e-4, 1e16), zeros, the extremes, inf and NaN, and a
    spread of ordinary and tiny/huge values."""
    tiny = np.nextafter(1e-4, 0.0)
    huge = np.nextafter(1e16, 0.0)
    edges = [0.0, -0.0, 1e-4, -1e-4, tiny, -tiny, 1e16, -1e16, huge, -huge, 1e15, 123456789012345678.0, 5e-324,
             2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308, np.inf, -np.inf, np.nan,
             0.1, 100.0, 1e-5, 9.999999999999999e-05, 0.30000000000000004]  # fmt: skip
    rng = np.random.default_rng(20261202)
    spread = rng.normal(size=20_000) * 10.0 ** rng.integers(-30, 30, 20_000)
    return np.concatenate([edges, spread, rng.normal(size=20_000)])


def test_float_fields_are_repr_on_both_sides_of_the_exponent_thresholds():
    values = _edge_floats()
    expected = ["" if np.isnan(x) else repr(float(x)) for x in values]
    assert eio._float_fields(values) == expected
    assert eio._float_fields(values[::3]) == expected[::3]  # a strided (non-contiguous) column
    assert eio._float_fields(np.array([])) == []


def test_a_float_table_matches_pandas_byte_for_byte(tmp_path, monkeypatch):
    values = _edge_floats()
    frame = pd.DataFrame({"x": values, "y": values[::-1], "id": [f"r{i}" for i in range(values.size)]})
    monkeypatch.setattr(eio, "CSV_CHUNK_ROWS", 7_001)  # chunks start mid-column: views, not whole columns
    eio.write_csv(tmp_path / "t.csv", frame)
    assert (tmp_path / "t.csv").read_bytes() == _pandas(frame).encode("utf-8")
