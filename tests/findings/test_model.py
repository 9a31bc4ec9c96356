"""Finding.to_dict: what dataclasses.asdict gives, sharing nothing with the finding."""

from __future__ import annotations

from collections import Counter, OrderedDict, namedtuple
from dataclasses import asdict, dataclass

import numpy as np

from emmie.findings.model import Finding


@dataclass
class _Inner:
    x: float
    ys: list[int]


_Pair = namedtuple("_Pair", "first second")


class _Listed(list):
    pass


def _finding(numbers):
    return Finding(
        id="effect.o", dimension="effect", statement="A sentence.", rule="r", numbers=numbers, studies=("s1", "s2")
    )


def _expected(f: Finding) -> dict:
    d = asdict(f)
    d["studies"], d["pages"] = list(f.studies), list(f.pages)
    return d


def test_to_dict_is_asdict_with_lists_for_the_ids():
    numbers = {
        "k": 3,
        "est": np.float64(-0.25),
        "ci": (-0.5, 0.0),
        "nested": {"a": [1, {"b": None}], "flag": True, "text": "n/a"},
        "array": np.array([1.0, 2.0]),
        "inner": _Inner(1.5, [1, 2]),
        "ordered": OrderedDict(z=1, a=_Inner(2.0, [3])),
        "pair": _Pair(_Inner(0.5, []), [1, (2, 3)]),
        "listed": _Listed([_Inner(1.0, [4]), 5]),
        "counted": Counter(a=1),
        "a set": {1, 2},
        "nan": float("nan"),
    }
    f = _finding(numbers)
    got, want = f.to_dict(), _expected(f)
    assert repr(got) == repr(want)
    assert type(got["numbers"]["ordered"]) is OrderedDict and type(got["numbers"]["ci"]) is tuple
    assert got["numbers"]["ordered"]["a"] == {"x": 2.0, "ys": [3]}  # dataclasses inside containers become dicts
    assert type(got["numbers"]["pair"]) is _Pair and got["numbers"]["pair"].first == {"x": 0.5, "ys": []}
    assert type(got["numbers"]["listed"]) is _Listed and got["numbers"]["listed"][0] == {"x": 1.0, "ys": [4]}
    assert got["studies"] == ["s1", "s2"] and got["pages"] == ["index"]


def test_to_dict_shares_nothing_mutable_with_the_finding():
    f = _finding({"nested": {"a": [1, 2]}, "array": np.array([1.0])})
    d = f.to_dict()
    d["numbers"]["nested"]["a"].append(3)
    d["numbers"]["array"][0] = 9.0
    assert f.numbers["nested"]["a"] == [1, 2] and f.numbers["array"][0] == 1.0
