"""Properties of the loader (hypothesis): random valid tables load and round-trip; a random invalid cell is
caught and located at its file, row and column.

Valid tables are generated from the codebook (``emmie.ingest.schema``): each column's type and allowed
values, and for ``effects`` the inputs each ``measure`` needs. They are written into a copy of the tiny
review, whose other tables keep referring to its four studies.
"""

from __future__ import annotations

import csv
import datetime
import io
import math
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emmie.errors import DataError
from emmie.ingest import load_review
from emmie.ingest.schema import EFFECTS, STUDIES, TABLES_BY_NAME, Column
from emmie.ingest.validate import MEASURE_INPUTS

from support import TINY

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TINY_STUDIES = ("aronson1948", "ferguson1949", "rosenthal1960", "hart1977")
NUMERIC = ("int", "float", "year")

# ----------------------------------------------------------------------------- valid values

# Free text: any printable characters (quotes, commas, accents included) except the three that start a
# spreadsheet formula, with at least one non-space character.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="=+@"),
    min_size=1,
    max_size=24,
).filter(lambda s: s.strip() != "")
IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,12}", fullmatch=True)
URLS = st.one_of(
    st.builds(
        lambda reg, suffix: f"10.{reg}/{suffix}",
        st.integers(1000, 999_999_999),
        st.from_regex(r"[A-Za-z0-9._;()/:-]{1,15}", fullmatch=True),
    ),
    st.builds(lambda path: f"https://example.org/{path}", st.from_regex(r"[A-Za-z0-9._~/-]{0,15}", fullmatch=True)),
)


def cell(column: Column) -> st.SearchStrategy:
    """A valid cell for ``column`` as (text written to the file, value the loader should return)."""
    if column.type == "text":
        value = TEXT.map(lambda s: (s, s))
    elif column.type in ("id", "ref"):
        value = IDS.map(lambda s: (s, s))
    elif column.type == "enum":
        value = st.sampled_from(column.allowed).map(lambda s: (s, s))
    elif column.type == "url":
        value = URLS.map(lambda s: (s, s))
    elif column.type == "year":
        value = st.tuples(st.integers(1900, 2100), st.sampled_from(["", ".0"])).map(
            lambda t: (f"{t[0]}{t[1]}", float(t[0]))
        )
    elif column.type == "int":
        value = st.integers(0, 10**9).map(lambda n: (str(n), float(n)))
    elif column.type == "date":
        value = (
            st.dates(datetime.date(1900, 1, 1), datetime.date(2100, 12, 31))
            .flatmap(lambda d: st.sampled_from([d.isoformat(), d.isoformat()[:7], d.isoformat()[:4]]))
            .map(lambda s: (s, s))
        )
    else:
        value = st.floats(-1e9, 1e9, allow_nan=False).map(lambda x: (repr(x), x))
    if column.required:
        return value
    return st.one_of(value, st.just(("", math.nan if column.type in NUMERIC else "")))


@st.composite
def study_rows(draw) -> list[dict[str, tuple[str, object]]]:
    ids = draw(st.lists(IDS.filter(lambda s: s not in TINY_STUDIES), min_size=1, max_size=5, unique=True))
    rows = []
    for sid in ids:
        row = {c.name: draw(cell(c)) for c in STUDIES.columns if c.name != "study_id"}
        rows.append({"study_id": (sid, sid), **row})
    return rows


POSITIVE = st.floats(1e-6, 1e6)
COUNT = st.integers(0, 10_000)


@st.composite
def measure_inputs(draw, measure: str) -> dict[str, float | str]:
    """Inputs that satisfy the codebook's checks for ``measure`` (counts, ranges, intervals)."""
    if measure in ("OR", "RR", "RD"):
        ai, bi, ci, di = (draw(COUNT) for _ in range(4))
        bi, di = (bi or 1) if ai == 0 else bi, (di or 1) if ci == 0 else di  # each group has a participant
        if draw(st.booleans()):
            return {"ai": ai, "n1i": ai + bi, "ci": ci, "n2i": ci + di}
        return {"ai": ai, "bi": bi, "ci": ci, "di": di}
    if measure in ("MD", "SMD", "ROM"):
        means = st.floats(-1e6, 1e6, allow_nan=False)
        return {
            "m1i": draw(means),
            "m2i": draw(means),
            "sd1i": draw(POSITIVE),
            "sd2i": draw(POSITIVE),
            "n1i": draw(st.integers(1, 10_000)),
            "n2i": draw(st.integers(1, 10_000)),
        }
    if measure in ("COR", "ZCOR"):
        return {"ri": draw(st.floats(-0.999, 0.999)), "ni": draw(st.integers(1, 10_000))}
    if measure == "PCOR":
        mi = draw(st.integers(0, 20))
        return {"ti": draw(st.floats(-50, 50)), "mi": mi, "ni": draw(st.integers(mi + 2, 10_000))}
    if measure == "PROP":
        ni = draw(st.integers(1, 10_000))
        return {"xi": draw(st.integers(0, ni)), "ni": ni}
    if measure == "GEN":
        estimate = draw(st.floats(-100, 100))
        form = draw(st.sampled_from(["se", "ci", "pval"]))
        if form == "se":
            return {"estimate": estimate, "se": draw(POSITIVE)}
        if form == "pval":
            return {"estimate": estimate, "pval": draw(st.floats(1e-12, 1.0))}
        below, above = draw(st.floats(0, 10)), draw(st.floats(1e-3, 10))
        return {"estimate": estimate, "ci_lb": estimate - below, "ci_ub": estimate + above}
    return {"direction": draw(st.sampled_from(EFFECTS.column("direction").allowed))}


EFFECT_TEXT = ("timepoint", "result_text", "note")


@st.composite
def effect_rows(draw, study_ids: list[str]) -> list[dict[str, tuple[str, object]]]:
    ids = draw(st.lists(IDS, min_size=1, max_size=6, unique=True))
    rows = []
    for eid in ids:
        measure = draw(st.sampled_from(tuple(MEASURE_INPUTS)))
        inputs = draw(measure_inputs(measure))
        row = {
            "effect_id": (eid, eid),
            "study_id": (sid := draw(st.sampled_from(study_ids)), sid),
            "outcome": ("tb", "tb"),
            "measure": (measure, measure),
        }
        for name, value in inputs.items():
            row[name] = (
                value if isinstance(value, str) else repr(float(value)) if draw(st.booleans()) else str(value),
                value if isinstance(value, str) else float(value),
            )
        for name in ("source", "source_page", "verified", *EFFECT_TEXT):
            row[name] = draw(cell(EFFECTS.column(name)))
        rows.append(row)
    return rows


def write_table(path: Path, header: list[str], rows: list[dict[str, tuple[str, object]]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row[c][0] if c in row else "" for c in header])
    path.write_text(buf.getvalue(), encoding="utf-8")


def assert_round_trip(frame, rows: list[dict[str, tuple[str, object]]], key: str) -> None:
    loaded = frame.set_index(key, drop=False)
    for row in rows:
        got = loaded.loc[row[key][1]]
        for name, (_, expected) in row.items():
            value = got[name]
            if isinstance(expected, float) and math.isnan(expected):
                assert math.isnan(value), (name, value)
            else:
                assert value == expected, (name, value, expected)


def tiny_copy(workdir: str) -> Path:
    folder = Path(workdir) / "tiny"
    shutil.copytree(TINY, folder)
    return folder


@SETTINGS
@given(data=st.data())
def test_random_valid_tables_load_and_round_trip(data):
    studies = data.draw(study_rows())
    study_ids = [*TINY_STUDIES, *(r["study_id"][1] for r in studies)]
    effects = data.draw(effect_rows(study_ids))
    # Any column order; optional columns that hold nothing may be left out.
    study_header = data.draw(st.permutations([c.name for c in STUDIES.columns]))
    used = {name for row in effects for name, (text, _) in row.items() if text != ""}
    optional = data.draw(st.lists(st.sampled_from([c.name for c in EFFECTS.columns]), max_size=6))
    effect_header = data.draw(
        st.permutations(sorted(used | {c.name for c in EFFECTS.columns if c.required} | set(optional)))
    )
    with tempfile.TemporaryDirectory() as workdir:
        folder = tiny_copy(workdir)
        with (folder / "studies.csv").open(newline="", encoding="utf-8") as fh:
            tiny_rows = [{k: (v, v) for k, v in r.items()} for r in csv.DictReader(fh)]
        write_table(folder / "studies.csv", study_header, tiny_rows + studies)
        write_table(folder / "effects.csv", effect_header, effects)
        review = load_review(folder)
    assert list(review.studies["study_id"]) == study_ids
    assert list(review.effects["effect_id"]) == [r["effect_id"][1] for r in effects]
    assert_round_trip(review.studies, studies, "study_id")
    assert_round_trip(review.effects, effects, "effect_id")
    assert list(review.effects.attrs["lines"]) == list(range(2, len(effects) + 2))


# ----------------------------------------------------------------------------- invalid values

FORMULAS = ("=1+1", "=cmd|' /C calc'!A0", "@SUM(A1)", "+cmd", ' =HYPERLINK("http://x")')


def invalid(column_type: str, allowed: tuple[str, ...], required: bool) -> st.SearchStrategy[str]:
    """A cell value that is wrong for a column of this type."""
    options: list[st.SearchStrategy[str]] = [st.just("")] if required else []
    if column_type in NUMERIC:
        options.append(
            st.sampled_from(["abc", "twelve", "1,234", "12 kg", "n/a", "inf", "#DIV/0!", "1e400", "1_9", "１９"])
        )
    if column_type == "int":
        options.append(st.integers(-(10**6), -1).map(str))  # a negative count
        options.append(st.floats(0.01, 0.99).map(lambda f: f"{3 + f:.2f}"))  # not a whole number
    if column_type == "year":
        options.append(st.dates().map(lambda d: d.isoformat()))
        options.append(st.dates().map(lambda d: d.strftime("%d/%m/%Y")))
        options.append(st.sampled_from(["1899", "2101", "43101", "'99"]))
    if column_type == "enum":
        options.append(TEXT.filter(lambda s: s.strip() not in allowed))
    if column_type in ("id", "ref"):
        options.append(st.sampled_from(["two words", "_leading", "a/b", "x#1", "é"]))
    if column_type == "ref":
        options.append(IDS.map(lambda s: f"zz_unknown_{s}"))  # well formed, refers to nothing
    if column_type == "url":
        options.append(
            st.sampled_from(["not a url", "www.example.org", "ftp://example.org/x", "doi:10.1000/x", "10.12/x"])
        )
    if column_type == "text":
        options.append(st.sampled_from(FORMULAS))
    if column_type == "date":
        options.append(st.sampled_from(["2018-02-30", "2018-13", "18-06", "June 2018", "2018/06/30", "1899", "2018-6"]))
    return st.one_of(options)


def tiny_columns() -> list[tuple[str, str, str, tuple[str, ...], bool]]:
    """(table, column, type, allowed, required) for every column of every non-empty table of the tiny review."""
    config = yaml.safe_load((TINY / "review.yaml").read_text(encoding="utf-8"))
    moderators = {m["name"]: ("float" if m["type"] == "continuous" else "text") for m in config["moderators"]}
    out = []
    for path in sorted(TINY.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            header, *rows = list(csv.reader(fh))
        if not rows:
            continue
        table = TABLES_BY_NAME[path.stem]
        for name in header:
            if name in moderators and table.extra_columns:
                out.append((path.stem, name, moderators[name], (), False))
            else:
                c = table.column(name)
                out.append((path.stem, name, c.type, c.allowed, c.required))
    return out


COLUMNS = tiny_columns()


def test_every_column_type_is_exercised():
    assert {t for _, _, t, _, _ in COLUMNS} == {"text", "id", "ref", "int", "float", "year", "enum", "url"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_invalid_cell_is_located(data):
    table, column, column_type, allowed, required = data.draw(st.sampled_from(COLUMNS), label="column")
    value = data.draw(invalid(column_type, allowed, required), label="value")
    with tempfile.TemporaryDirectory() as workdir:
        folder = tiny_copy(workdir)
        path = folder / f"{table}.csv"
        with path.open(newline="", encoding="utf-8") as fh:
            header, *rows = list(csv.reader(fh))
        i = data.draw(st.integers(0, len(rows) - 1), label="row")
        rows[i][header.index(column)] = value
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows([header, *rows])
        path.write_text(buf.getvalue(), encoding="utf-8")
        with pytest.raises(DataError) as err:
            load_review(folder)
    where = {(p.file, p.row, p.column) for p in err.value.problems}
    assert (f"{table}.csv", i + 2, column) in where, err.value.render()
