"""emmie.io.to_json writes what json.dumps(indent=2, sort_keys=True) writes of the object with NaN and infinity
replaced by null (how it was written before: a cleaned copy, then json.dumps)."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emmie.io import _json_default, to_json


def _cleaned(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _cleaned(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_cleaned(v) for v in obj]
    return obj


def _reference(obj) -> str:
    return json.dumps(_cleaned(obj), default=_json_default, indent=2, sort_keys=True, allow_nan=False) + "\n"


CASES = [
    {},
    [],
    {"a": [], "b": {}, "c": [{}], "d": ""},
    {"nan": float("nan"), "inf": math.inf, "-inf": -math.inf, "x": 0.1, "tiny": 1e-300, "e": 1e-05, "big": 1e22},
    {"np": [np.float64("nan"), np.float64(2.5), np.float32(0.1), np.int64(3), np.bool_(True), np.float32("inf")]},
    {"nested": {"z": [1, 2.0, (3, float("nan"))], "a": {"b": {"c": [math.inf]}}}},
    {"set": {"b", "a"}, "path": Path("x/y"), "tuple": (1, "two", None, True, False)},
    {"text": "Ünïcode – “quotes” \\ \n\t <tag> & ", "emoji": "\U0001f600"},
    {"frame": pd.DataFrame({"a": [1.0, float("nan")], "b": ["x", "y"]}), "array": np.array([[1.5, 2.0], [3.0, 4.0]])},
    {2: "int key", 1: "another"},
    [float("nan")] * 3 + [[[]]],
    "just text",
    3.0,
    float("nan"),
    None,
]


@pytest.mark.parametrize("obj", CASES, ids=range(len(CASES)))
def test_the_same_text_as_json_dumps_of_the_cleaned_object(obj):
    assert to_json(obj) == _reference(obj)


def test_a_value_it_cannot_write_is_refused():
    with pytest.raises(TypeError, match="cannot write object as JSON"):
        to_json({"a": object()})
