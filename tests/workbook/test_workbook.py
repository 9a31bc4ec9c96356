"""The extraction workbook: template written as the codebook says, imports merged safely."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import range_boundaries

from emmie.errors import DataError
from emmie.ingest import load_review
from emmie.ingest.schema import DESIGNS, MEASURES, PRISMA_BOXES, ROB_TOOLS, TABLES
from emmie.workbook import ImportConflict, cell_text, import_workbook, main_import, main_template, write_template
from emmie.workbook import importer as importer_module

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "fixtures" / "reviews" / "tiny"

NEW_STUDY = {
    "study_id": "smith2000",
    "citation": "Smith (2000), a test study",
    "year": 2000,
    "country": "UK",
    "design": "rct",
    "n": 200,
    "rob_tool": "generic",
    "rob_overall": "low",
    "relevance": "high",
    "rigour": "moderate",
    "url": "https://example.org/smith2000",
    "in_original_review": "no",
    "source": "test",
    "verified": "no",
}
NEW_EFFECT = {
    "effect_id": "e5",
    "study_id": "smith2000",
    "outcome": "tb",
    "measure": "RR",
    "ai": 5.0,  # Excel stores every number as a double
    "bi": 95,
    "ci": 10,
    "di": 90,
    "source": "test",
    "source_page": "p. 1",
    "verified": "no",
}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    """The tiny review in ``tmp_path/tiny`` (the folder name must be review.yaml's id)."""
    target = tmp_path / "tiny"
    shutil.copytree(TINY, target)
    return target


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def template(tiny: Path) -> Path:
    path = tiny.parent / "tiny.xlsx"
    write_template(tiny, path)
    return path


def add_row(path: Path, sheet: str, values: dict[str, object]) -> int:
    """Append a row to a sheet under the matching headers; returns its row number."""
    workbook = load_workbook(path)
    ws = workbook[sheet]
    header = [c.value for c in ws[1]]
    row = ws.max_row + 1
    for name, value in values.items():
        ws.cell(row, header.index(name) + 1, value)
    workbook.save(path)
    return row


def set_cell(path: Path, sheet: str, key: str, column: str, value: object) -> int:
    workbook = load_workbook(path)
    ws = workbook[sheet]
    header = [c.value for c in ws[1]]
    for cells in ws.iter_rows(min_row=2):
        if cells[0].value == key:
            cells[header.index(column)].value = value
            workbook.save(path)
            return cells[0].row
    raise KeyError(key)


def list_values(workbook, formula: str) -> list[str]:
    sheet, cells = formula.split("!")
    ws = workbook[sheet.strip("'")]
    min_col, min_row, _, max_row = range_boundaries(cells.replace("$", ""))
    return [ws.cell(r, min_col).value for r in range(min_row, max_row + 1)]


def validation_of(ws, column: str):
    header = [c.value for c in ws[1]]
    cell = ws.cell(2, header.index(column) + 1).coordinate
    hits = [dv for dv in ws.data_validations.dataValidation if cell in dv.sqref]
    assert len(hits) == 1, f"{ws.title}.{column}: {len(hits)} validations"
    return hits[0]


# --------------------------------------------------------------------------- template


def test_template_has_a_sheet_per_table_with_the_codebook_header(tiny: Path) -> None:
    workbook = load_workbook(template(tiny))
    assert workbook.sheetnames == ["README", *(t.name for t in TABLES), "lists"]
    assert workbook["lists"].sheet_state == "hidden"
    assert "emmie import" in " ".join(str(c.value) for c in workbook["README"]["A"])
    for table in TABLES:
        ws = workbook[table.name]
        header = [c.value for c in ws[1]]
        expected = [c.name for c in table.columns] + (["ablat", "alloc"] if table.name == "moderators" else [])
        assert header == expected
        assert ws.freeze_panes in ("A2", "B2")
        for cell, column in zip(ws[1], table.columns, strict=False):
            note = cell.comment.text
            assert f"{table.name}.{column.name}" in note
            assert f"required: {'yes' if column.required else 'no'}" in note
            assert column.description.replace("`", "") in note


def test_template_drop_down_lists_hold_the_allowed_values(tiny: Path) -> None:
    workbook = load_workbook(template(tiny))
    cases = [
        ("effects", "measure", list(MEASURES)),
        ("studies", "design", list(DESIGNS)),
        ("prisma", "box", list(PRISMA_BOXES)),
        ("rob", "tool", list(ROB_TOOLS)),
        ("effects", "outcome", ["tb"]),
        ("implementation", "theme", ["supply", "training"]),
    ]
    for sheet, column, allowed in cases:
        dv = validation_of(workbook[sheet], column)
        assert dv.type == "list"
        assert dv.errorStyle == "stop"
        assert list_values(workbook, dv.formula1) == allowed, (sheet, column)
    # references list the key column of the referenced sheet, so new studies can be chosen at once
    study_ref = validation_of(workbook["effects"], "study_id")
    assert study_ref.type == "list" and study_ref.formula1.startswith("'studies'!$A$2:$A$")
    assert list_values(workbook, study_ref.formula1)[:4] == ["aronson1948", "ferguson1949", "rosenthal1960", "hart1977"]
    concept_ref = validation_of(workbook["cmo"], "mechanism")
    assert concept_ref.formula1.startswith("'vocabulary'!$A$2:$A$")
    year = validation_of(workbook["studies"], "year")
    assert (year.type, year.operator, year.formula1, year.formula2) == ("whole", "between", "1900", "2100")


def test_template_prefills_the_existing_rows_with_numbers_as_numbers(tiny: Path) -> None:
    workbook = load_workbook(template(tiny))
    studies = workbook["studies"]
    assert [c.value for c in studies["A"]][1:] == ["aronson1948", "ferguson1949", "rosenthal1960", "hart1977"]
    header = [c.value for c in studies[1]]
    assert studies.cell(2, header.index("year") + 1).value == 1948
    assert studies.cell(5, header.index("n") + 1).value == 26465
    assert studies.cell(2, header.index("source_page") + 1).value == "trial 1"
    assert workbook["rob"].max_row == 1  # tiny has no rob.csv: header only


def test_template_of_an_invalid_review_yaml_is_refused(tiny: Path) -> None:
    (tiny / "review.yaml").write_text("id: tiny\n")
    with pytest.raises(DataError, match="review.yaml"):
        write_template(tiny, tiny.parent / "t.xlsx")
    assert not (tiny.parent / "t.xlsx").exists()


# --------------------------------------------------------------------------- import


def test_round_trip_adds_a_study_and_an_effect(tiny: Path) -> None:
    path = template(tiny)
    before = snapshot(tiny)
    add_row(path, "studies", NEW_STUDY)
    add_row(path, "effects", NEW_EFFECT)
    result = import_workbook(path, tiny)
    assert (result.counts("studies").added, result.counts("effects").added) == (1, 1)
    assert result.counts("effects").unchanged == 4 and result.replaced == 0
    assert result.written == ("studies.csv", "effects.csv")
    review = load_review(tiny)
    assert "smith2000" in set(review.studies["study_id"])
    assert review.effects.set_index("effect_id").loc["e5", "ai"] == 5.0
    effects = (tiny / "effects.csv").read_text()
    assert effects == before["effects.csv"].decode() + "e5,smith2000,tb,,RR,5,95,10,90,test,p. 1,no\n"
    studies = (tiny / "studies.csv").read_text()
    assert studies.startswith(before["studies.csv"].decode())
    assert studies.endswith(
        'smith2000,"Smith (2000), a test study",2000,UK,rct,,200,,,generic,low,high,moderate,https://example.org/smith2000,no,test,,no,\n'
    )
    untouched = {name for name in before if name not in ("studies.csv", "effects.csv")}
    assert {name: data for name, data in snapshot(tiny).items() if name in untouched} == {
        n: before[n] for n in untouched
    }


def test_importing_the_same_workbook_twice_changes_nothing_the_second_time(tiny: Path) -> None:
    path = template(tiny)
    add_row(path, "studies", NEW_STUDY)
    add_row(path, "effects", NEW_EFFECT)
    import_workbook(path, tiny)
    after_first = snapshot(tiny)
    second = import_workbook(path, tiny)
    assert (second.added, second.replaced, second.written) == (0, 0, ())
    assert second.counts("studies").unchanged == 5 and second.counts("effects").unchanged == 5
    assert snapshot(tiny) == after_first


def test_an_untouched_template_imports_as_unchanged(tiny: Path) -> None:
    before = snapshot(tiny)
    result = import_workbook(template(tiny), tiny)
    assert result.added == result.replaced == 0
    assert result.unchanged == 4 + 4 + 4 + 2 + 1 + 4 + 13
    assert snapshot(tiny) == before


@pytest.mark.parametrize("review", ["sos", "cbt-recidivism"])
def test_bundled_reviews_round_trip_unchanged(tmp_path: Path, review: str) -> None:
    folder = tmp_path / review
    shutil.copytree(ROOT / "data" / review, folder)
    before = snapshot(folder)
    write_template(folder, tmp_path / "w.xlsx")
    result = import_workbook(tmp_path / "w.xlsx", folder)
    assert result.added == result.replaced == 0 and result.unchanged > 0
    assert snapshot(folder) == before


def test_a_changed_row_is_a_conflict_and_nothing_is_written(tiny: Path) -> None:
    path = template(tiny)
    row = set_cell(path, "effects", "e1", "ai", 5)
    add_row(path, "studies", NEW_STUDY)
    before = snapshot(tiny)
    with pytest.raises(ImportConflict) as caught:
        import_workbook(path, tiny)
    message = str(caught.value)
    assert (
        f"tiny.xlsx[effects]:{row}: effects row effect_id='e1' differs: ai is '4' in effects.csv, '5' in the workbook"
        in message
    )
    assert "--replace" in message
    assert [(c.table, c.key, c.columns) for c in caught.value.conflicts] == [("effects", ("e1",), ("ai",))]
    assert snapshot(tiny) == before


def test_replace_overwrites_the_conflicting_row_in_place(tiny: Path) -> None:
    effects = tiny / "effects.csv"
    effects.write_text(effects.read_text().replace(",4,119,", ",4,119.0,"))
    path = template(tiny)
    set_cell(path, "effects", "e1", "ai", 5)
    before = effects.read_text().splitlines()
    result = import_workbook(path, tiny, replace=True)
    assert (result.counts("effects").replaced, result.counts("effects").unchanged, result.added) == (1, 3, 0)
    after = (tiny / "effects.csv").read_text().splitlines()
    assert after[1] == "e1,aronson1948,tb,,RR,5,119.0,11,128,metafor dat.bcg,trial 1,yes"  # bi keeps its text
    assert after[0] == before[0] and after[2:] == before[2:]
    assert load_review(tiny).effects["ai"].iloc[0] == 5


def test_an_invalid_cell_is_reported_at_its_sheet_row_and_column(tiny: Path) -> None:
    path = template(tiny)
    add_row(path, "studies", NEW_STUDY)
    row = add_row(path, "effects", {**NEW_EFFECT, "ai": -3, "study_id": "nosuch"})
    before = snapshot(tiny)
    with pytest.raises(DataError) as caught:
        import_workbook(path, tiny)
    lines = str(caught.value).splitlines()
    assert f"tiny.xlsx[effects]:{row}:ai: got '-3'; expected a count >= 0" in lines
    assert f"tiny.xlsx[effects]:{row}:study_id: got 'nosuch'; expected a study_id listed in studies.csv" in lines
    assert all("effects.csv" not in line.split(":")[0] for line in lines[1:])
    assert snapshot(tiny) == before


def test_a_formula_cell_is_refused(tiny: Path) -> None:
    path = template(tiny)
    row = add_row(path, "effects", {**NEW_EFFECT, "study_id": "hart1977", "ai": "=2+3"})
    before = snapshot(tiny)
    with pytest.raises(DataError) as caught:
        import_workbook(path, tiny)
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert (problem.file, problem.row, problem.column, problem.value) == ("tiny.xlsx[effects]", row, "ai", "=2+3")
    assert "formula" in problem.expected
    assert snapshot(tiny) == before


def test_an_excel_date_in_a_year_column_is_refused(tiny: Path) -> None:
    path = template(tiny)
    row = add_row(path, "studies", {**NEW_STUDY, "year": datetime.date(2017, 1, 1)})
    before = snapshot(tiny)
    with pytest.raises(DataError) as caught:
        import_workbook(path, tiny)
    assert (
        str(caught.value.problems[0])
        == f"tiny.xlsx[studies]:{row}:year: got '2017-01-01'; expected a four-digit year (1900-2100), not a date"
    )
    assert snapshot(tiny) == before


def test_a_date_in_a_text_column_is_refused(tiny: Path) -> None:
    path = template(tiny)
    row = add_row(path, "effects", {**NEW_EFFECT, "study_id": "hart1977", "source_page": datetime.datetime(2024, 1, 3)})
    with pytest.raises(DataError) as caught:
        import_workbook(path, tiny)
    assert [(p.file, p.row, p.column) for p in caught.value.problems] == [("tiny.xlsx[effects]", row, "source_page")]


def test_duplicate_keys_in_a_sheet_and_unknown_columns_are_reported(tiny: Path) -> None:
    path = template(tiny)
    workbook = load_workbook(path)
    workbook["effects"].cell(1, workbook["effects"].max_column + 1, "colour")
    workbook.create_sheet("scratch")
    workbook.save(path)
    first = add_row(path, "effects", {**NEW_EFFECT, "study_id": "hart1977"})
    second = add_row(path, "effects", {**NEW_EFFECT, "study_id": "hart1977", "ai": 6})
    with pytest.raises(DataError) as caught:
        import_workbook(path, tiny)
    where = {(p.file, p.row, p.column): p.expected for p in caught.value.problems}
    assert where[("tiny.xlsx[effects]", 1, "colour")].startswith("one of the columns")
    assert where[("tiny.xlsx[effects]", second, "effect_id")] == f"one row per effect_id (row {first} has the same)"


def test_a_row_for_a_missing_table_creates_its_file(tiny: Path) -> None:
    path = template(tiny)
    add_row(path, "rob", {"study_id": "hart1977", "tool": "generic", "domain": "Confounding", "judgement": "low"})
    workbook = load_workbook(path)
    workbook.create_sheet("scratch")
    workbook.save(path)
    result = import_workbook(path, tiny)
    assert result.written == ("rob.csv",) and result.ignored_sheets == ("scratch",)
    assert (
        tiny / "rob.csv"
    ).read_text() == "study_id,tool,domain,judgement,support\nhart1977,generic,Confounding,low,\n"
    assert len(load_review(tiny).rob) == 1


def test_a_new_column_rewrites_the_file_and_keeps_the_crlf_and_bom(tiny: Path) -> None:
    text = (tiny / "effects.csv").read_text()
    (tiny / "effects.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    path = template(tiny)
    add_row(path, "effects", {**NEW_EFFECT, "study_id": "hart1977", "note": "checked twice"})
    import_workbook(path, tiny)
    data = (tiny / "effects.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == 6 and data.count(b"\n") == 6
    lines = data[3:].decode().splitlines()
    assert lines[0].endswith(",verified,note") and lines[1].endswith(",yes,")
    assert lines[5] == "e5,hart1977,tb,,RR,5,95,10,90,test,p. 1,no,checked twice"
    assert load_review(tiny).effects["note"].tolist()[-1] == "checked twice"


def test_a_failed_rename_puts_every_original_back(tiny: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = template(tiny)
    add_row(path, "studies", NEW_STUDY)
    add_row(path, "effects", NEW_EFFECT)
    before = snapshot(tiny)
    real_replace = importer_module.os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(importer_module.os, "replace", flaky)
    with pytest.raises(OSError, match="disk full"):
        import_workbook(path, tiny)
    monkeypatch.undo()
    assert [p.name for p in calls] == ["studies.csv", "effects.csv", "studies.csv"]  # the last one puts it back
    assert snapshot(tiny) == before  # also: no temporary files left behind


def test_not_a_workbook_is_a_data_error(tiny: Path) -> None:
    bogus = tiny.parent / "bogus.xlsx"
    bogus.write_text("not a zip")
    with pytest.raises(DataError, match=r"bogus.xlsx:-: .*expected an Excel workbook"):
        import_workbook(bogus, tiny)
    with pytest.raises(DataError, match="an existing workbook file"):
        import_workbook(tiny.parent / "missing.xlsx", tiny)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (1948, "1948"),
        (1948.0, "1948"),
        (0.1, "0.1"),
        (-2.5, "-2.5"),
        (1e-05, "1e-05"),
        (True, "TRUE"),
        ("  spaced ", "  spaced "),
        (datetime.datetime(2017, 1, 1), "2017-01-01"),
        (datetime.datetime(2017, 1, 1, 12, 30), "2017-01-01 12:30:00"),
        (datetime.date(2017, 5, 2), "2017-05-02"),
    ],
)
def test_cell_text_is_what_the_csv_would_hold(value: object, text: str) -> None:
    assert cell_text(value) == text


# --------------------------------------------------------------------------- command line


def test_command_line_entry_points(tiny: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tiny.parent / "w.xlsx"
    assert main_template([str(tiny), str(path)]) == 0
    assert "wrote" in capsys.readouterr().out
    add_row(path, "studies", NEW_STUDY)
    assert main_import([str(path), str(tiny)]) == 0
    assert "1 added" in capsys.readouterr().out
    set_cell(path, "studies", "smith2000", "country", "France")
    assert main_import([str(path), str(tiny)]) == 1
    err = capsys.readouterr().err
    assert "country is 'UK' in studies.csv, 'France' in the workbook" in err and "Traceback" not in err
    assert main_import([str(path), str(tiny), "--replace"]) == 0
    assert "1 replaced" in capsys.readouterr().out
    assert main_template([str(tiny), str(path)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main_template([str(tiny.parent / "nowhere"), str(path), "--force"]) == 1
    assert "a review folder" in capsys.readouterr().err


def test_a_sheet_without_its_key_column_is_refused_at_the_header(tiny: Path) -> None:
    path = template(tiny)
    workbook = load_workbook(path)
    workbook["rob"].delete_cols(3)  # domain
    workbook.save(path)
    add_row(path, "rob", {"study_id": "hart1977", "tool": "generic", "judgement": "low"})
    before = snapshot(tiny)
    with pytest.raises(DataError) as caught:
        import_workbook(path, tiny)
    assert [(p.file, p.row, p.column) for p in caught.value.problems] == [("tiny.xlsx[rob]", 1, "domain")]
    assert snapshot(tiny) == before


def test_problems_in_the_review_s_own_rows_keep_their_csv_line_numbers(tiny: Path) -> None:
    # A blank line and a duplicate key in effects.csv; the workbook adds a column, so the file is
    # rewritten without the blank line and the merged line numbers differ from the file's.
    lines = (tiny / "effects.csv").read_text().splitlines(keepends=True)
    (tiny / "effects.csv").write_text("".join([*lines[:3], "\n", *lines[3:], lines[4]]))
    path = template(tiny)
    add_row(path, "effects", {**NEW_EFFECT, "study_id": "hart1977", "note": "new column"})
    with pytest.raises(DataError) as caught:
        import_workbook(path, tiny)
    assert [str(p) for p in caught.value.problems] == [
        # the template pre-filled both e4 rows: the sheet holds the duplicate too
        "tiny.xlsx[effects]:6:effect_id: got 'e4'; expected one row per effect_id (row 5 has the same)",
        "effects.csv:7:effect_id: got 'e4'; expected a unique value (already used on line 6 of effects.csv)",
    ]


def test_a_renamed_table_sheet_with_data_is_refused_not_dropped(tiny: Path) -> None:
    path = template(tiny)
    add_row(path, "studies", {"study_id": "new1990", "citation": "New (1990)", "year": 1990})
    workbook = load_workbook(path)
    ws = workbook["studies"]
    ws.title = "renaming"  # openpyxl, like Excel, compares names case-insensitively
    ws.title = "Studies"
    workbook.save(path)
    before = snapshot(tiny)
    with pytest.raises(DataError) as err:
        import_workbook(path, tiny)
    assert "tiny.xlsx[Studies]:-: got 'Studies'; expected the sheet name 'studies' exactly" in err.value.render()
    assert snapshot(tiny) == before  # nothing written


def test_a_sheet_of_data_that_is_no_table_is_refused(tiny: Path) -> None:
    path = template(tiny)
    workbook = load_workbook(path)
    workbook.create_sheet("my notes").cell(1, 1, "study_id")
    workbook.save(path)
    with pytest.raises(DataError) as err:
        import_workbook(path, tiny)
    assert (
        "[my notes]" in err.value.render() and "this sheet holds data that would not be imported" in err.value.render()
    )


def test_a_workbook_made_for_another_review_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "cbt-recidivism"
    shutil.copytree(ROOT / "data" / "cbt-recidivism", other)
    path = tmp_path / "cbt.xlsx"
    write_template(other, path)
    assert load_workbook(path).properties.identifier == "emmie review: cbt-recidivism"
    sos = tmp_path / "sos"
    shutil.copytree(ROOT / "data" / "sos", sos)
    before = snapshot(sos)
    with pytest.raises(DataError) as err:
        import_workbook(path, sos)
    assert """got "a workbook made from review 'cbt-recidivism'"; expected a workbook made for review 'sos'""" in (
        err.value.render()
    )
    assert snapshot(sos) == before


def test_a_workbook_too_large_to_open_safely_is_refused_before_opening(tiny: Path, monkeypatch) -> None:
    """The limits are checked on the zip (unpacked size, declared sheet dimensions) before openpyxl
    builds a cell object per cell; a 643 KB workbook declaring 2 million rows took 5.8 GB."""
    path = template(tiny)
    monkeypatch.setattr(importer_module, "MAX_UNPACKED", 1_000)
    with pytest.raises(DataError) as err:
        import_workbook(path, tiny)
    assert (
        "bytes unpacked'; expected a workbook of at most 1,000 bytes unpacked (import it in parts)"
        in err.value.render()
    )
    monkeypatch.setattr(importer_module, "MAX_UNPACKED", 10**9)
    monkeypatch.setattr(importer_module, "MAX_CELLS", 10)
    with pytest.raises(DataError) as err:
        import_workbook(path, tiny)
    assert "cells'; expected a workbook of at most 10 cells (import it in parts)" in err.value.render()


def test_a_flood_of_problems_is_listed_up_to_a_bound():
    from emmie.errors import Problem

    error = DataError([Problem("effects.csv", i + 2, "yi", "x", "a number") for i in range(5000)])
    text = error.render().splitlines()
    assert text[0] == "5,000 problems in the coded data:" and len(text) == 1 + 200 + 1
    assert text[-1].startswith("... and 4,800 more problems, not listed")


def _import_limited(path: Path, review: Path, max_cells: int | None = None) -> subprocess.CompletedProcess:
    """``emmie import`` in a subprocess limited to 2 GiB of address space (a bound on memory, not a timing)."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    setup = f"import emmie.workbook.importer as m; m.MAX_CELLS = {max_cells}; " if max_cells else ""
    code = setup + f"from emmie.cli import main; raise SystemExit(main(['import', {str(path)!r}, {str(review)!r}]))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, preexec_fn=limit, timeout=600)


BOMBS = {
    # issue 15's 643 KB workbook of 2 million rows: refused on the rows its sheet declares
    "two_million_rows": (
        dict(header=["effect_id"], row_xml="<c><v>1</v></c>", rows=2_000_000, dimension="A1:A2000001"),
        None,
        "tiny.xlsx:-: got 'sheets declaring 2,000,626 cells'; expected a workbook of at most 1,000,000 cells "
        "(import it in parts)",
    ),
    # issue 15's 1.7 MB workbook of 10 million cells: refused on its unpacked size
    "ten_million_cells": (
        dict(header=["effect_id"], row_xml="<c><v>1</v></c>" * 10, rows=1_000_000, dimension=None),
        None,
        "tiny.xlsx:-: got '161 MB unpacked'; expected a workbook of at most 150 MB unpacked (import it in parts)",
    ),
    # a sheet declaring one cell and holding 100,000: reading stops at the bound, whatever was declared
    "dimension_understated": (
        dict(header=["effect_id", "study_id"], row_xml="<c><v>1</v></c>" * 5, rows=20_000, dimension="A1"),
        50_000,
        "tiny.xlsx[effects]:9985:-: got 'more than 50,000 cells'; expected a workbook of at most 50,000 cells "
        "(import it in parts)",
    ),
}


@pytest.mark.parametrize("bomb", sorted(BOMBS))
def test_workbook_bombs_are_refused_within_bounded_memory(tiny: Path, tmp_path: Path, bomb: str) -> None:
    from bombs import write_bomb

    shape, max_cells, message = BOMBS[bomb]
    before = snapshot(tiny)
    path = write_bomb(template(tiny), tmp_path / "bomb.xlsx", "effects", **shape)
    path = path.replace(tmp_path / "tiny.xlsx")  # messages name the workbook's file
    proc = _import_limited(path, tiny, max_cells)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.splitlines()[1:] == [message]
    assert snapshot(tiny) == before


def test_a_sheet_holding_more_than_it_declares_is_read_in_full(tiny: Path, tmp_path: Path) -> None:
    """Streaming mode stops at a sheet's declared dimension unless told otherwise; a sheet that
    understates it (as some tools write) must not lose rows silently."""
    from bombs import write_bomb

    row = "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in ("new1", "aronson1948", "tb", "RR"))
    row += "<c><v>5</v></c><c><v>95</v></c><c><v>10</v></c><c><v>90</v></c>"
    row += "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in ("test", "p. 1", "no"))
    header = [
        "effect_id",
        "study_id",
        "outcome",
        "measure",
        "ai",
        "bi",
        "ci",
        "di",
        "source",
        "source_page",
        "verified",
    ]
    path = write_bomb(template(tiny), tmp_path / "x.xlsx", "effects", header, row, 1, dimension="A1")
    result = import_workbook(path, tiny)
    assert result.counts("effects").added == 1


def test_a_flood_of_formulas_stops_reading_at_a_bound(tiny: Path, tmp_path: Path) -> None:
    from bombs import write_bomb

    path = write_bomb(
        template(tiny), tmp_path / "x.xlsx", "effects", ["effect_id", "ai"], "<c><f>1+1</f></c>" * 2, 5_000, None
    )
    with pytest.raises(DataError) as err:
        import_workbook(path, tiny)
    lines = err.value.render().splitlines()
    assert lines[0] == "200 problems in the coded data:" and len(lines) == 201
    assert lines[1].startswith("x.xlsx[effects]:2:effect_id: got '=1+1'; expected a typed value, not a formula")
    assert lines[-1] == (
        "x.xlsx[effects]:101:-: got 'more than 199 problems'; expected fewer problems: reading stopped after this row; "
        "correct the ones listed and import again"
    )


def test_exactly_the_bound_of_problems_is_listed_without_a_stop(tiny: Path, tmp_path: Path) -> None:
    """199 problems are all listed, with no claim that there were more (the bound is checked after each row)."""
    from bombs import write_bomb

    path = write_bomb(template(tiny), tmp_path / "x.xlsx", "effects", ["effect_id"], "<c><f>1+1</f></c>", 199, None)
    with pytest.raises(DataError) as err:
        import_workbook(path, tiny)
    lines = err.value.render().splitlines()
    assert sum("expected a typed value, not a formula" in line for line in lines) == 199
    assert not any("more than 199 problems" in line for line in lines)


def test_a_sheet_openpyxl_cannot_parse_is_a_data_error(tiny: Path, tmp_path: Path) -> None:
    """Streaming finds a broken sheet only while reading its rows: a number cell holding text is reported as an
    unreadable workbook, not an internal error."""
    from bombs import write_bomb

    path = write_bomb(template(tiny), tmp_path / "x.xlsx", "effects", ["effect_id"], '<c t="n"><v>abc</v></c>', 1, None)
    with pytest.raises(DataError) as err:
        import_workbook(path, tiny)
    assert "x.xlsx:-: got \"ValueError: invalid literal for int() with base 10: 'abc'\"" in err.value.render()
    assert "expected an Excel workbook (.xlsx), as written by emmie template" in err.value.render()
