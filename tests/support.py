"""Paths and helpers shared by the tests (import as `from support import ...`)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
TINY = FIXTURES / "reviews" / "tiny"
BAD = FIXTURES / "bad"


def assemble_case(case: Path, workdir: Path) -> Path:
    """The tiny review with a bad-input case laid over it, in ``workdir/tiny``."""
    target = workdir / "tiny"
    shutil.copytree(TINY, target)
    for path in case.iterdir():
        if path.name in ("DELETE", "expected.txt"):
            continue
        shutil.copyfile(path, target / path.name)
    delete = case / "DELETE"
    if delete.is_file():
        for name in delete.read_text().split():
            (target / name).unlink()
    return target
