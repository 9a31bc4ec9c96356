"""Reports built once per test session: the tiny review (HTML and browser tests) and both bundled
reviews (what their pages say, and the pages in a browser)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from report_helpers import REVIEWS, make_project, run_pipeline

from support import ROOT


@pytest.fixture(scope="session")
def report_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = make_project(tmp_path_factory.mktemp("report"))
    proc = run_pipeline(project)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return project


@pytest.fixture(scope="session")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bundled")
    (root / "config").mkdir()
    (root / "config" / "config.yaml").write_text("reviews:\n" + "".join(f"  - {r}\n" for r in REVIEWS))
    for name in (*REVIEWS, "_reference"):
        shutil.copytree(ROOT / "data" / name, root / "data" / name)
    proc = run_pipeline(root)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root


@pytest.fixture(scope="session")
def browser_tools() -> tuple[str, str, str]:
    """(Chromium, ChromeDriver, axe-core source): installed when missing; under CI=true a failure, else a skip."""
    from browser import ensure_axe, ensure_browser, require

    paths = require(*ensure_browser())
    axe = require(*ensure_axe())
    return paths[0], paths[1], axe


@pytest.fixture(scope="module")
def browser(browser_tools, tmp_path_factory: pytest.TempPathFactory):
    """One headless Chromium per test module (Selenium; axe-core loaded on demand)."""
    from browser import Browser

    binary, driver, axe = browser_tools
    with Browser(binary, driver, tmp_path_factory.mktemp("profile"), axe=axe) as b:
        yield b
