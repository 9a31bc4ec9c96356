"""The ``emmie meta`` command."""

from __future__ import annotations

import json
from pathlib import Path

from emmie.effect.cli import main

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "metafor" / "raudenbush1985.csv"
REF = json.loads(DATA.with_suffix(".json").read_text())


def test_summary(capsys):
    assert main([str(DATA), "--yi", "yi", "--vi", "vi", "--test", "knha"]) == 0
    out = capsys.readouterr().out
    assert "Random-Effects Model (k = 19" in out and "0.0837" in out


def test_json(capsys):
    assert main([str(DATA), "--yi", "yi", "--vi", "vi", "--method", "DL", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert abs(res["estimate"] - REF["fits"]["DL_z"]["estimate"]) < 1e-10
    assert res["method"] == "DL" and res["k"] == 19


def test_bad_column_and_file(capsys, tmp_path):
    assert main([str(DATA), "--yi", "yi", "--vi", "nope"]) == 1
    assert "no column 'nope'" in capsys.readouterr().err
    assert main([str(tmp_path / "missing.csv"), "--yi", "a", "--vi", "b"]) == 1
    assert "not found" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("yi,vi\n0.1,0.01\nx,0.02\n")
    assert main([str(bad), "--yi", "yi", "--vi", "vi"]) == 1
    assert ":3:yi" in capsys.readouterr().err
