"""The validated review kept by ``emmie validate --validated`` for the later steps (emmie.ingest.validated)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from emmie.cli import _load_valid, main
from emmie.ingest import load_review, validated

from support import ROOT

TABLES = ("studies", "effects", "vocabulary", "cmo", "implementation", "economics", "moderators", "rob", "prisma")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    for name in ("sos", "_reference"):
        shutil.copytree(ROOT / "data" / name, tmp_path / "data" / name)
    return tmp_path / "data" / "sos"


def _same(a, b) -> None:
    assert a.config == b.config and a.files == b.files and a.path == b.path
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))


def test_a_later_step_reads_the_review_validate_kept(copy: Path, tmp_path: Path, monkeypatch):
    kept = tmp_path / "validated.pickle"
    assert main(["validate", str(copy), "--record", str(tmp_path / "v.json"), "--validated", str(kept)]) == 0
    review = validated.read(kept, copy)
    assert review is not None
    _same(review, load_review(copy))

    def no_loading(_data):  # the step must not read and check the tables again
        raise AssertionError("validated again")

    monkeypatch.setattr("emmie.cli._load", no_loading)
    _same(_load_valid(str(copy), str(kept)), review)


@pytest.mark.parametrize(
    "change",
    [
        lambda folder: (folder / "effects.csv").write_text((folder / "effects.csv").read_text() + "\n"),
        lambda folder: (folder / "review.yaml").write_text((folder / "review.yaml").read_text() + "\n# edited\n"),
        lambda folder: (folder.parent / "_reference" / "deflators.csv").write_text(
            (folder.parent / "_reference" / "deflators.csv").read_text() + "\n"
        ),
    ],
    ids=["a table", "review.yaml", "a reference table"],
)
def test_a_kept_review_that_no_longer_describes_the_data_is_not_used(copy: Path, tmp_path: Path, change):
    kept = tmp_path / "validated.pickle"
    assert main(["validate", str(copy), "--validated", str(kept)]) == 0
    change(copy)
    assert validated.read(kept, copy) is None
    _same(_load_valid(str(copy), str(kept)), load_review(copy))  # read and checked again


def test_invalid_data_are_kept_as_none_and_a_broken_file_is_ignored(copy: Path, tmp_path: Path):
    kept = tmp_path / "validated.pickle"
    (copy / "studies.csv").write_text((copy / "studies.csv").read_text().replace("study_id", "studyid", 1))
    assert main(["validate", str(copy), "--record", str(tmp_path / "v.json"), "--validated", str(kept)]) == 0
    assert kept.is_file() and validated.read(kept, copy) is None and _load_valid(str(copy), str(kept)) is None
    for junk in (b"", b"not a pickle", kept.read_bytes()[:100], b"{}\n", kept.read_bytes()[:-10]):
        kept.write_bytes(junk)
        assert validated.read(kept, copy) is None
    assert validated.read(tmp_path / "missing.pickle", copy) is None


def test_two_copies_of_the_data_keep_the_same_bytes(copy: Path, tmp_path: Path):
    other = tmp_path / "other"
    shutil.copytree(copy.parent, other / "data")
    for folder, out in ((copy, tmp_path / "a.pickle"), (other / "data" / "sos", tmp_path / "b.pickle")):
        assert main(["validate", str(folder), "--validated", str(out)]) == 0
    assert (tmp_path / "a.pickle").read_bytes() == (tmp_path / "b.pickle").read_bytes()


def test_a_file_changed_while_it_was_validated_is_not_kept(copy: Path, tmp_path: Path, monkeypatch):
    """The digests are taken before the data are read: an edit during validation keeps nothing (the later steps
    read the data again), never the old tables under the new digests."""
    from emmie import cli

    real = cli._load

    def load_then_edit(data):
        review = real(data)
        (copy / "effects.csv").write_text((copy / "effects.csv").read_text() + "\n")
        return review

    monkeypatch.setattr(cli, "_load", load_then_edit)
    kept = tmp_path / "validated.pickle"
    assert main(["validate", str(copy), "--validated", str(kept)]) == 0
    assert validated.read(kept, copy) is None


def test_a_file_kept_under_other_library_versions_is_not_unpickled(copy: Path, tmp_path: Path, monkeypatch):
    kept = tmp_path / "validated.pickle"
    assert main(["validate", str(copy), "--validated", str(kept)]) == 0
    monkeypatch.setattr(validated, "_versions", lambda: {"numpy": "0", "pandas": "0"})

    unpickled = []
    monkeypatch.setattr(validated.pickle, "load", lambda fh: unpickled.append(fh))
    assert validated.read(kept, copy) is None and unpickled == []  # refused on its first line
