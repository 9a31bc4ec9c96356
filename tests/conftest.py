"""Shared fixtures; paths and helpers live in tests/support.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support import TINY


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    target = tmp_path / "tiny"
    shutil.copytree(TINY, target)
    return target
