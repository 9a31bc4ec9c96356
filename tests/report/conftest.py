"""The tiny review's report, built once per test session for the HTML and browser tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_helpers import make_project, run_pipeline


@pytest.fixture(scope="session")
def report_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_project(tmp_path_factory.mktemp("report"))
    proc = run_pipeline(project)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return project
