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
            "measure": ["SMD"] * 3,
            "yi": [0.1, -0.2, 0.30000000000000004],
            "vi": [0.01, 0.02, 1e-300],
            "ci_lb": [-0.1, -0.5, 0.3],
            "ci_ub": [0.3, 0.1, 0.3],
        }
    )


def test_rows_round_trip_through_the_csv_and_join_in_place(tmp_path):
    used = _used()
    timepoints = pd.Series({"NA": "12 months", "e2": "nan", "e3": "6 months"})
    theta = pd.DataFrame(
        {"mean": [0.11, -0.1, 0.3], "sd": [0.05, 0.06, 1e-150], "lb": [0.0, -0.2, 0.3], "ub": [0.2, 0.0, 0.3]}
    )
    rct = pd.Series([40.0, 60.0], index=["NA", "e3"])
    table = results_table.rows("o1", used, timepoints, np.array([30.0, 20.0, 50.0]), theta, rct)
    single = results_table.rows("o2", used.iloc[:1].assign(effect_id="x1"), timepoints, np.array([np.nan]), None, None)
    write_csv(tmp_path / "results.csv", pd.concat([table, single], ignore_index=True))
    back = results_table.read(tmp_path / "results.csv")
    assert list(back.columns) == results_table.COLUMNS
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
    joined = results_table.join(effect, back)
    o1, o2, o3 = joined["outcomes"]
    assert [s["effect_id"] for s in o1["studies"]] == ["NA", "e2", "e3"]
    assert list(o1["studies"][0]) == results_table.STUDY_KEYS
    assert o1["studies"][0]["weight"] == 30.0 and o1["studies"][1]["timepoint"] == "nan"
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
