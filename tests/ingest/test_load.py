"""Loading good data: the bundled reviews, the tiny review, and the codebook."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emmie.errors import DataError
from emmie.ingest import load_review
from emmie.ingest.codebook import render
from emmie.ingest.schema import TABLES

from support import ROOT, TINY


@pytest.mark.parametrize("name", ["sos", "cbt-recidivism"])
def test_bundled_reviews_validate(name):
    review = load_review(ROOT / "data" / name)
    assert review.id == name
    assert len(review.studies) >= 12
    # Every study carries a source and a verification status.
    assert (review.studies["source"] != "").all()
    assert review.studies["verified"].isin(["yes", "partial", "no"]).all()


def test_sos_is_thin_and_honest():
    review = load_review(ROOT / "data" / "sos")
    assert (review.effects["source"] != "").all() and (review.effects["source_page"] != "").all()
    # Every effect row either has the inputs its measure needs or is a direction-only result.
    assert set(review.effects["measure"]) <= {"NONE", "GEN", "PROP", "OR", "RR", "RD", "MD", "SMD"}


def test_cbt_counts_match_source():
    import pandas as pd

    review = load_review(ROOT / "data" / "cbt-recidivism")
    source = pd.read_csv(ROOT / "tests" / "fixtures" / "metafor" / "landenberger2005_or.csv")
    assert len(review.effects) == len(source) == 58
    assert review.effects["ai"].sum() == source["n.cbt.non"].sum()
    assert review.effects["di"].sum() == source["n.ctrl.rec"].sum()


def test_tiny_types():
    review = load_review(TINY)
    assert review.studies["year"].dtype == float
    assert review.effects["ai"].tolist() == [4.0, 6.0, 3.0, 62.0]
    assert review.effects["timepoint"].tolist() == ["", "", "", ""]
    assert math.isnan(review.effects["m1i"].iloc[0])
    assert review.moderators["alloc"].tolist() == ["random"] * 4


def test_missing_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError) as err:
        load_review(tmp_path / "nope")
    assert "a review folder" in str(err.value)


def test_codebook_is_in_step_with_schema():
    assert (ROOT / "data" / "README.md").read_text(encoding="utf-8") == render()
    for table in TABLES:
        assert f"## {table.name}.csv" in render()


def test_problem_lists_every_problem(tiny):
    (tiny / "studies.csv").write_text((tiny / "studies.csv").read_text().replace(",rct,", ",RCT,"))
    with pytest.raises(DataError) as err:
        load_review(tiny)
    assert len(err.value.problems) == 4
    assert all(p.column == "design" for p in err.value.problems)


def test_the_column_wise_prefilter_of_effect_rules_misses_no_problem(monkeypatch):
    """check_effects checks its rules row by row only on the rows a column-wise pass finds suspect; on every
    effects.csv of the bad-input corpus (and the tiny review's) the problems are the same as checking every row."""
    from emmie.ingest import validate
    from emmie.ingest.load import open_csv, records_frame
    from emmie.ingest.schema import TABLES_BY_NAME

    from support import BAD

    files = [TINY / "effects.csv", *sorted(BAD.glob("*/effects.csv"))]
    assert len(files) >= 10
    compared = 0
    for path in files:
        raw, _ = open_csv(path, "effects")
        if raw is None:
            continue
        frame, _ = records_frame(raw.file, raw.header, raw, TABLES_BY_NAME["effects"], {})
        fast = validate.check_effects(frame, {})
        with monkeypatch.context() as m:
            m.setattr(validate, "_suspect_effects", lambda f: np.ones(len(f), dtype=bool))
            assert validate.check_effects(frame, {}) == fast, path
        compared += bool(fast)
    assert compared >= 5  # cases where the rules find something
