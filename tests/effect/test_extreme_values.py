"""Values the validator accepts but that break naive arithmetic: a tiny SE, a zero-width CI, a huge
estimate. The analysis goes on, says which analysis could not be computed and which results to
check; it never ends in an internal error (issue: hostile and careless inputs)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from test_stage import make_review

from emmie.effect.cli import main as meta_main
from emmie.effect.stage import run
from emmie.findings.effect import natural_frequency, risk_with
from emmie.findings.text import fmt_effect

rng_yi = [0.21, -0.05, 0.33, 0.12, 0.48, 0.02, 0.27, 0.15, 0.39, -0.11, 0.25, 0.08]
rng_se = [0.20, 0.25, 0.18, 0.30, 0.22, 0.35, 0.19, 0.28, 0.24, 0.31, 0.21, 0.26]


def review_with(first: dict):
    studies = [{"study_id": f"s{i}", "year": 2000 + i, "citation": f"Author{i} ({2000 + i})"} for i in range(12)]
    effects = [
        {"effect_id": f"e{i}", "study_id": f"s{i}", "outcome": "o", "measure": "GEN", "estimate": y, "se": s}
        for i, (y, s) in enumerate(zip(rng_yi, rng_se, strict=True))
    ]
    effects[0] = {**effects[0], **first}
    config = {
        "id": "x",
        "title": "X",
        "intervention": "X",
        "outcomes": [{"id": "o", "label": "An outcome", "desirable": "higher", "measure": "GEN"}],
    }
    return make_review(studies, effects, config)


@pytest.mark.parametrize(
    ("case", "first"),
    [
        ("tiny SE", {"estimate": 0.3, "se": 1e-6}),
        ("zero-width CI", {"estimate": 0.3, "se": math.nan, "ci_lb": 0.3, "ci_ub": 0.30000000000000004}),
        ("huge estimate", {"estimate": 1e12, "se": 0.1}),
    ],
)
def test_extreme_but_valid_values_do_not_stop_the_effect_stage(tmp_path: Path, case: str, first: dict):
    run(review_with(first), tmp_path)
    doc = json.loads((tmp_path / "effect.json").read_text())
    o = doc["outcomes"][0]
    said = " | ".join(doc["warnings"])
    assert o["pooled"] or o["reason_not_pooled"], case
    if case != "huge estimate":  # the sampling variances span more than metafor's 1e7
        assert "times the smallest (e0, vi = " in said and "metafor warns at 1e7" in said
    # Whatever could not be computed is named, with the outcome; the rest stands.
    for w in doc["warnings"]:
        if "could not be computed" in w:
            assert w.startswith("o: ") and w.endswith("the rest of the analysis stands")


def test_natural_frequencies_and_ratios_never_overflow():
    assert risk_with("OR", 0.4, 1e12) == 1.0 and risk_with("OR", 0.4, -1e12) == pytest.approx(0.0, abs=1e-300)
    assert risk_with("OR", 0.4, math.log(2)) == pytest.approx(0.8 / 1.4)
    assert natural_frequency("OR", 0.4, 1e12, 1e11, 1e13)["intervention"] == 100.0
    assert fmt_effect("OR", 1e12, 1e11, 1e13) == "OR more than 1e308 (95% CI more than 1e308 to more than 1e308)"
    assert fmt_effect("OR", math.log(2), 0.0, math.log(4)) == "OR 2.00 (95% CI 1.00 to 4.00)"


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ("0.1,0.01\n0.2,1e-300\n0.3,0.02\n", "the smallest vi is 1e-300 (line 3)"),
        ("0.1,0.01\n1e300,0.02\n0.3,0.02\n", "m.csv:3:yi: got '1e300'; expected a number of magnitude at most 1e+12"),
        ("0.1,0.01\n0.2,inf\n", ":3:vi: got 'inf'; expected a finite number"),
    ],
)
def test_meta_command_names_the_rows_that_break_the_fit(tmp_path: Path, capsys, rows: str, expected: str):
    err = meta_error(tmp_path, capsys, "yi,vi\n" + rows)
    assert expected in err and "internal error" not in err and "Traceback" not in err


def meta_error(tmp_path: Path, capsys, text: str) -> str:
    """What ``emmie meta`` says on stderr for a CSV file holding ``text`` (it must exit 1)."""
    f = tmp_path / "m.csv"
    f.write_text(text)
    assert meta_main([str(f), "--yi", "yi", "--vi", "vi"]) == 1
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # blank lines and a quoted line break are counted: the bad value is on line 6 of the file
        ('note,yi,vi\n\nx,0.1,0.01\n"two\nlines",0.2,0.02\n,True,0.03\n', "m.csv:6:yi: got 'True'; expected a number"),
        ("yi,vi\n1_0,0.01\n", "m.csv:2:yi: got '1_0'; expected a number without '_' between its digits"),
        ("yi,vi,yi\n0.1,0.01,0.5\n", "m.csv:1:yi: got the column 'yi' 2 times; expected it once"),
        ("yi,vi\n,0.01\n", "m.csv: no row has both yi and vi; expected at least one effect size"),
        ('yi,vi\n0.1,"0.01\n', "m.csv:2:-: got 'a quote that is never closed'; expected a closing quote"),
    ],
)
def test_meta_command_reads_its_csv_as_the_review_tables_are_read(tmp_path: Path, capsys, text: str, expected: str):
    err = meta_error(tmp_path, capsys, text)
    assert f"emmie meta: {tmp_path}/{expected}" in err, err


def test_meta_command_leaves_out_rows_without_a_value_with_a_warning(tmp_path: Path, capsys):
    """As metafor's na.omit: rows with an empty yi or vi are left out, and the warning counts them."""
    f = tmp_path / "m.csv"
    f.write_text("yi,vi\n0.1,0.01\n,0.02\n0.3,\n0.2,0.03\n0.25,0.02\n")
    assert meta_main([str(f), "--yi", "yi", "--vi", "vi", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "emmie meta: warning: 2 rows without yi or vi left out (lines 3, 4), as metafor's na.omit" in err
    assert json.loads(out)["k"] == 3
