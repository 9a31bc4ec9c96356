"""Reproducibility of the whole DAG on the tiny review: two runs from scratch give the same bytes, a run
killed part-way and restarted gives the same bytes, the data folder is left exactly as it was, and
exported CSVs are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_pipeline import make_project

from emmie.io import write_csv

from support import ROOT, TINY

SNAKEMAKE = [
    sys.executable,
    "-m",
    "snakemake",
    "--snakefile",
    str(ROOT / "Snakefile"),
    "--cores",
    "2",
    "--quiet",
    "rules",
]
# Snakemake's own bookkeeping files and the rule logs (diagnostics, not results) are not compared.
IGNORED_NAMES = (".snakemake_timestamp",)
IGNORED_DIRS = ("results/logs",)


def snakemake_args(project: Path, *args: str) -> list[str]:
    return [*SNAKEMAKE, "--directory", str(project), *args]


def run(project: Path, *args: str) -> None:
    proc = subprocess.run(snakemake_args(project, *args), capture_output=True, text=True, cwd=project)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def outputs(project: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every result and report file."""
    files = {}
    for top in ("results", "reports"):
        for path in sorted((project / top).rglob("*")):
            rel = path.relative_to(project).as_posix()
            if path.is_file() and path.name not in IGNORED_NAMES and not rel.startswith(IGNORED_DIRS):
                files[rel] = path.read_bytes()
    return files


def differences(a: dict[str, bytes], b: dict[str, bytes]) -> list[str]:
    """Which files differ, and where: the first differing line of each."""
    out = [f"only in one run: {name}" for name in sorted(set(a) ^ set(b))]
    for name in sorted(set(a) & set(b)):
        if a[name] != b[name]:
            lines_a, lines_b = (
                a[name].decode("utf-8", "replace").splitlines(),
                b[name].decode("utf-8", "replace").splitlines(),
            )
            i = next(
                (i for i, (x, y) in enumerate(zip(lines_a, lines_b, strict=False)) if x != y),
                min(len(lines_a), len(lines_b)),
            )
            out.append(f"{name}:{i + 1}: {lines_a[i : i + 1]!r} != {lines_b[i : i + 1]!r}")
    return out


def snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Relative path -> (sha256, mtime in ns, mode) of everything under ``folder``, folders included."""
    out = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        out[path.relative_to(folder).as_posix()] = (digest, info.st_mtime_ns, info.st_mode)
    return out


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> tuple[Path, dict, dict]:
    """A run from scratch with data/ read-only; returns the project and snapshots of data/ before and after."""
    project = make_project(tmp_path_factory.mktemp("repro_a"), {"tiny": TINY})
    for path in (project / "data").rglob("*"):
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    before = snapshot(project / "data")
    run(project)
    return project, before, snapshot(project / "data")


@pytest.fixture(scope="module")
def second(tmp_path_factory) -> Path:
    project = make_project(tmp_path_factory.mktemp("repro_b"), {"tiny": TINY})
    run(project)
    return project


@pytest.mark.slow
def test_two_runs_from_scratch_are_byte_identical(first, second):
    a, b = outputs(first[0]), outputs(second)
    assert len(a) >= 20 and "reports/tiny/index.html" in a and "results/tiny/effect/effect.json" in a
    assert any(name.endswith(".svg") for name in a) and any(name.endswith(".csv") for name in a)
    assert differences(a, b) == []


@pytest.mark.slow
def test_outputs_carry_no_run_date(first):
    today = dt.date.today()
    stamps = {today.isoformat(), today.strftime("%d %B %Y"), today.strftime("%B %d, %Y"), today.strftime("%d/%m/%Y")}
    stamps.add(today.strftime("%d %B %Y").lstrip("0"))
    found = [
        f"{name}: {stamp}" for name, data in outputs(first[0]).items() for stamp in stamps if stamp.encode() in data
    ]
    assert found == []


@pytest.mark.slow
def test_data_tree_untouched(first):
    # Stronger than read-only permissions, which do not stop root: nothing under data/ is added,
    # removed, rewritten, touched or re-permissioned, the shared reference tables included.
    _, before, after = first
    assert any(name.startswith("_reference/") for name in before)
    assert after == before


@pytest.mark.slow
def test_killed_run_restarts_to_identical_outputs(first, tmp_path: Path):
    project = make_project(tmp_path, {"tiny": TINY})
    proc = subprocess.Popen(
        snakemake_args(project),
        cwd=project,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    marker = project / "results" / "tiny" / "effect" / "effect.json"
    deadline = time.monotonic() + 300
    try:
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # a crash: no clean-up by Snakemake
        proc.wait()
    assert marker.exists(), "the run ended or timed out before the effect stage wrote its results"
    assert not (project / "reports" / "index.html").exists(), "the run finished before it could be killed"
    # After a kill the lock and the incomplete-output records stay behind. Without help, the next run stops:
    stuck = subprocess.run(snakemake_args(project), capture_output=True, text=True, cwd=project)
    assert stuck.returncode != 0
    # What `make report` does (see the Makefile): clear a lock no live run holds, then rerun what was cut off.
    unlock = subprocess.run(
        [sys.executable, "-m", "emmie", "unlock", str(project)], capture_output=True, text=True, cwd=project
    )
    assert unlock.returncode == 0 and "cleared a stale lock" in unlock.stderr, unlock.stderr
    run(project, "--rerun-incomplete")
    assert differences(outputs(first[0]), outputs(project)) == []


def test_make_report_recovers_from_a_killed_run_by_itself():
    """The two steps of the test above are what `make report` runs, with no flag from the user."""
    recipe = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nreport:", 1)[1].split("\n\n", 1)[0]
    assert "-m emmie unlock ." in recipe and "--rerun-incomplete" in recipe
    assert recipe.index("emmie unlock") < recipe.index("snakemake")


# pandas >= 3 gives text columns built from Python strings the dtype "str"; the loader's frames use object.
@pytest.mark.parametrize("text_dtype", ["object", "str"])
def test_write_csv_neutralises_formulas(tmp_path: Path, text_dtype: str):
    frame = pd.DataFrame(
        {
            "effect_id": ["=1+1", "+cmd", "@SUM(A1)", "-2.5", "plain", "=cmd|' /C calc'!A0", "-x", "\tTAB"],
            "yi": [-1.5, 0.25, -0.0, 2.0, -3.0, 1e-9, -7.0, 0.0],
            "note": ["-12", "1e5", "a=b", "", "-", "+44 20 7946 0000", "@", "x"],
        }
    ).astype({"effect_id": text_dtype, "note": text_dtype})
    path = tmp_path / "out.csv"
    write_csv(path, frame)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [r["effect_id"] for r in rows] == [
        "'=1+1",
        "'+cmd",
        "'@SUM(A1)",
        "-2.5",
        "plain",
        "'=cmd|' /C calc'!A0",
        "'-x",
        "'\tTAB",
    ]
    # Plain (negative) numbers are left alone, in number columns and in text columns.
    assert [float(r["yi"]) for r in rows] == frame["yi"].tolist()
    assert rows[0]["yi"] == "-1.5" and rows[0]["note"] == "-12" and rows[1]["note"] == "1e5"
    assert [r["note"] for r in rows][2:] == ["a=b", "", "'-", "'+44 20 7946 0000", "'@", "x"]
    # The file is what a spreadsheet opens: no cell of the written file starts with a formula character.
    for r in rows:
        for value in r.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), value
