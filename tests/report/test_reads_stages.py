"""Each step of the bundled reviews, run on a review that holds only what the step declares it reads
(src/emmie/reads.py), writes the same files, byte for byte, as the pipeline's run on the whole review; reading
an undeclared table or review.yaml key fails the test. This is what lets the Snakefile rerun a step only when
what it reads changes."""

from __future__ import annotations

import dataclasses
import filecmp
from pathlib import Path

import pytest
from report_helpers import REVIEWS

from emmie import pipeline
from emmie.ingest import load_review
from emmie.reads import STEPS, TABLES, reads


class Undeclared(AssertionError):
    pass


class Hidden:
    """A table the step did not declare: any use of it fails."""

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def _fail(self, *_args, **_kwargs):
        raise Undeclared(f"read the undeclared table {self._name}")

    __getattr__ = __len__ = __iter__ = __getitem__ = __bool__ = __eq__ = _fail
    __hash__ = None


class DeclaredKeys(dict):
    """review.yaml with only the declared keys; asking for another key that the file has fails."""

    def __init__(self, config: dict, declared: set[str]):
        super().__init__({k: v for k, v in config.items() if k in declared})
        self._undeclared = set(config) - declared

    def _check(self, key):
        if key in self._undeclared:
            raise Undeclared(f"read the undeclared review.yaml key {key}")

    def __getitem__(self, key):
        self._check(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._check(key)
        return super().get(key, default)

    def __contains__(self, key):
        self._check(key)
        return super().__contains__(key)


def only_declared(review, step: str):
    declared = reads(step)
    hidden = {t: Hidden(t) for t in TABLES if t not in declared.tables}
    return dataclasses.replace(review, config=DeclaredKeys(review.config, set(declared.keys)), **hidden)


def differing(left: Path, right: Path) -> list[str]:
    cmp = filecmp.dircmp(left, right, ignore=[".snakemake_timestamp"])
    out = [*cmp.left_only, *cmp.right_only, *cmp.diff_files, *cmp.funny_files]
    for sub in cmp.common_dirs:
        out += [f"{sub}/{name}" for name in differing(left / sub, right / sub)]
    return out


@pytest.mark.slow
@pytest.mark.parametrize("review_id", REVIEWS)
@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_step_needs_only_what_it_declares(bundled: Path, review_id: str, step: str, tmp_path: Path):
    review = load_review(bundled / "data" / review_id)
    results = bundled / "results" / review_id
    restricted = only_declared(review, step)
    if step == "rate":
        pipeline.rate(restricted, results, tmp_path / "emmie.json")
        assert filecmp.cmp(tmp_path / "emmie.json", results / "emmie.json", shallow=False)
        return
    pipeline.run_stage(step, restricted, tmp_path / step, results=results)
    assert differing(results / step, tmp_path / step) == []
