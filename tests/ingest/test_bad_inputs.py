"""The bad-input corpus: every case ends in its exact message (or a documented valid result).

Each folder under tests/fixtures/bad/ holds the files that differ from the tiny
review (and a DELETE list); expected.txt is the exact message, with the review
folder written as <review>.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from emmie.cli import main

from support import BAD, assemble_case

CASES = sorted(p for p in BAD.iterdir() if p.is_dir())


def test_corpus_is_large_enough():
    assert sum(1 for c in CASES if not c.name.startswith("ok_")) >= 40


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gives_exact_message(case: Path, tmp_path: Path, capsys):
    folder = assemble_case(case, tmp_path)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    status = main(["validate", str(folder)])
    err = capsys.readouterr().err
    expected = (case / "expected.txt").read_text()
    if expected == "valid\n":
        assert status == 0, err
    else:
        assert status == 1
        assert err.replace(str(folder), "<review>") == expected
    after = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert after == before, "validation must never modify the data"


def test_command_line_prints_message_not_traceback(tmp_path: Path):
    folder = assemble_case(BAD / "latin1_text", tmp_path)
    proc = subprocess.run([sys.executable, "-m", "emmie", "validate", str(folder)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "studies.csv:5:-: got 'byte 0xf8'" in proc.stderr


def test_yaml_alias_bomb_is_refused_within_bounded_memory(tmp_path: Path):
    """The issue's 6.7 KB alias bomb expanded to 8.4 GB before; now it is refused at its first alias.
    The bound is a resource limit on the process (2 GiB of address space), not a timing."""
    import resource

    folder = assemble_case(BAD / "yaml_alias_bomb", tmp_path)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    proc = subprocess.run(
        [sys.executable, "-m", "emmie", "validate", str(folder)],
        capture_output=True,
        text=True,
        preexec_fn=limit,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr
    assert "anchors and aliases are not allowed" in proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("over", [False, True])
def test_a_table_past_max_table_bytes_is_refused_before_it_is_read(tmp_path: Path, over: bool):
    """A table larger than MAX_TABLE_BYTES is refused by its size, before a byte of it is read: a 1 GB file (sparse,
    so it costs no disk) is refused under a 1 GiB address-space limit. Under the limit, the table is read."""
    import resource
    import shutil

    from emmie.ingest.load import MAX_TABLE_BYTES

    from support import ROOT

    for name in ("sos", "_reference"):
        shutil.copytree(ROOT / "data" / name, tmp_path / "data" / name)
    folder = tmp_path / "data" / "sos"
    effects = folder / "effects.csv"
    size = MAX_TABLE_BYTES + 1 if over else effects.stat().st_size
    with effects.open("r+b") as fh:
        fh.truncate(size)
    before = effects.stat().st_size

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    proc = subprocess.run(
        [sys.executable, "-m", "emmie", "validate", str(folder)],
        capture_output=True,
        text=True,
        preexec_fn=limit if over else None,
        timeout=300,
    )
    assert effects.stat().st_size == before
    if not over:
        assert proc.returncode == 0, proc.stderr
        return
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().endswith(
        f"effects.csv:-: got '{MAX_TABLE_BYTES + 1:,} bytes'; expected a table of at most {MAX_TABLE_BYTES:,} bytes "
        "(about 4 million effect rows; split the review, or raise emmie.ingest.load.MAX_TABLE_BYTES on a machine with "
        "the memory for it)"
    ), proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr


def test_economics_base_must_be_convertible_with_the_reference_tables(tmp_path: Path):
    """The base currency and year are checked against data/_reference/deflators.csv beside the review."""
    import shutil

    from emmie.ingest.validate import check_economics_base

    from support import ROOT

    folder = tmp_path / "data" / "x"
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "data" / "_reference", tmp_path / "data" / "_reference")
    assert check_economics_base({"economics": {"base_currency": "GBP", "base_year": 2017}}, folder) == []
    [p] = check_economics_base({"economics": {"base_currency": "XYZ", "base_year": 2017}}, folder)
    assert (p.column, p.value) == ("economics.base_currency", "XYZ") and "GBP" in p.expected
    [p] = check_economics_base({"economics": {"base_currency": "GBP", "base_year": 1901}}, folder)
    assert p.column == "economics.base_year" and p.expected.startswith("a year the GBP deflators cover (")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["template", "{tiny}", "{file}/x.xlsx"],
            "{tiny}: {file}: is a file, not a folder (check the path and its permissions)",
        ),
        (
            ["report", "{tiny}", "{tmp}/none", "{tmp}/out"],
            "emmie: {tmp}/none/emmie.json: No such file or directory",
        ),
        (
            ["toolkit", "{file}/index.html", "--results", "{tmp}", "--data", "{tmp}", "{tmp}/v.json"],
            "emmie: {file}: is a file, not a folder",
        ),
    ],
)
def test_paths_that_cannot_be_read_or_written_get_a_message(tmp_path: Path, capsys, argv: list[str], expected: str):
    """A path that cannot be written (a file where a folder should be) or read is named, with exit 1: never
    an "internal error" naming a temporary file."""
    from support import TINY

    names = {"tiny": str(TINY), "file": str(tmp_path / "afile"), "tmp": str(tmp_path)}
    (tmp_path / "afile").write_text("x")
    assert main([a.format(**names) for a in argv]) == 1
    err = capsys.readouterr().err
    assert expected.format(**names) in err and "internal error" not in err


def test_atomic_write_names_the_file_it_cannot_write(tmp_path: Path):
    from emmie.io import atomic_write_text

    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError) as err:
        atomic_write_text(tmp_path / "d", "x")
    assert err.value.filename == str(tmp_path / "d") and err.value.strerror == "is a folder, not a file"
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError) as err:
        atomic_write_text(tmp_path / "f" / "g" / "h.txt", "x")
    assert err.value.filename == str(tmp_path / "f")
