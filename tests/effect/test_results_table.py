"""The Effect stage's per-result table: written beside effect.json and joined back exactly."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from emmie.effect import results_table
from emmie.io import write_csv


def _used() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "effect_id": ["NA", "e2", "e3"],
            "study_id": ["s1", "None", "s3"],
            "outcome": ["o1"] * 3,
            "measure": ["SMD"] * 3,
            "yi": [0.1, -0.2, 0.30000000000000004],
            "vi": [0.01, 0.02, 1e-300],
            "ci_lb": [-0.1, -0.5, 0.3],
            "ci_ub": [0.3, 0.1, 0.3],
            "poolable": [True] * 3,
            "reason": [""] * 3,
        }
    )


def test_rows_round_trip_through_the_csv_and_join_in_place(tmp_path):
    used = _used()
    theta = pd.DataFrame(
        {"mean": [0.11, -0.1, 0.3], "sd": [0.05, 0.06, 1e-150], "lb": [0.0, -0.2, 0.3], "ub": [0.2, 0.0, 0.3]}
    )
    rct = pd.Series([40.0, 60.0], index=["NA", "e3"])
    table = results_table.rows("o1", used, np.array([30.0, 20.0, 50.0]), theta, rct)
    other = used.iloc[:1].assign(effect_id="x1", outcome="o2")
    single = results_table.rows("o2", other, np.array([np.nan]), None, None)
    write_csv(tmp_path / "results.csv", pd.concat([table, single], ignore_index=True))
    write_csv(tmp_path / "effect_sizes.csv", pd.concat([used, other], ignore_index=True))
    assert results_table.read(tmp_path / "results.csv").columns.tolist() == results_table.COLUMNS
    back = results_table.read(tmp_path / "results.csv", tmp_path / "effect_sizes.csv")
    assert back["effect_id"].tolist() == ["NA", "e2", "e3", "x1"]  # text stays text, 'NA' is an id
    assert back["study_id"].tolist()[1] == "None"
    assert back["yi"].tolist()[:3] == used["yi"].tolist()  # floats exactly
    assert back["vi"].iloc[2] == 1e-300 and back["theta_sd"].iloc[2] == 1e-150
    effect = {
        "outcomes": [
            {"outcome": "o1", "bayes": {"k": 3}, "randomised_only": {"k": 2}},
            {"outcome": "o2", "bayes": None, "randomised_only": None},
            {"outcome": "o3", "bayes": None, "randomised_only": None},
        ]
    }
    joined = results_table.read_joined(tmp_path, effect)
    o1, o2, o3 = joined["outcomes"]
    assert [s["effect_id"] for s in o1["studies"]] == ["NA", "e2", "e3"]
    assert list(o1["studies"][0]) == results_table.STUDY_KEYS
    assert o1["studies"][0] == {
        "effect_id": "NA",
        "study_id": "s1",
        "measure": "SMD",
        "yi": 0.1,
        "vi": 0.01,
        "ci_lb": -0.1,
        "ci_ub": 0.3,
        "weight": 30.0,
    }
    assert o1["bayes"]["theta"][1] == {"yi": -0.2, "vi": 0.02, "mean": -0.1, "sd": 0.06, "lb": -0.2, "ub": 0.0}
    assert o1["randomised_only"]["studies"] == [
        {"effect_id": "NA", "study_id": "s1", "weight": 40.0},
        {"effect_id": "e3", "study_id": "s3", "weight": 60.0},
    ]
    assert o2["studies"][0]["weight"] is None  # not pooled: null, as the JSON had it
    assert o2["bayes"] is None and o3["studies"] == []
    json.dumps(joined, allow_nan=False)  # no NaN left


def test_empty_table_has_the_header(tmp_path):
    write_csv(tmp_path / "results.csv", results_table.empty())
    assert (tmp_path / "results.csv").read_text().strip() == ",".join(results_table.COLUMNS)
    assert results_table.read(tmp_path / "results.csv").empty


def test_without_the_tables_the_summary_is_unchanged(tmp_path):
    effect = {"outcomes": [{"outcome": "o1", "bayes": None}]}
    assert results_table.read_joined(tmp_path, effect) == {"outcomes": [{"outcome": "o1", "bayes": None}]}
