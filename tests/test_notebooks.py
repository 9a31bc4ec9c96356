"""The notebooks in notebooks/ run from top to bottom against the current package, so they cannot rot.

Each is executed with nbclient in a fresh ``python3`` kernel (the ipykernel of the Python running
the tests), with the notebooks folder as working directory. The files themselves are kept without
outputs and use only emmie's public API.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbclient
import nbformat
import pytest

from support import ROOT

NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 300  # seconds; notebook 03 runs the whole pipeline twice in one notebook
# Text each notebook must produce: evidence that it did its job, not only that it did not fail.
EXPECT = {
    "01_effect.ipynb": ("k = 58 results", "Knapp-Hartung", "Bayesian random-effects meta-analysis (k = 58"),
    "02_cmo_graph.ipynb": (
        "CMO codings from",
        "Cooperative worker-family relationship",
        "supported links are not in the initial theory",
    ),
    "03_add_a_study.ipynb": ("effects.csv:6:ci", "Studies added: frimodtmoller1973", "k 4 → 5"),
}
PRIVATE_IMPORT = re.compile(
    r"^\s*(from\s+emmie[\w.]*\._\w*|from\s+emmie[\w.]*\s+import\s+.*\b_\w+|import\s+emmie[\w.]*\._)", re.M
)


def notebook_paths() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out["text"])
            elif "data" in out:
                parts.append(str(out["data"].get("text/plain", "")))
    return "\n".join(parts)


def test_every_notebook_is_tested():
    assert {p.name for p in notebook_paths()} == set(EXPECT)


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_notebook_is_clean_and_uses_the_public_api(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs are committed"
        assert not PRIVATE_IMPORT.search(cell.source), f"{path.name}: private import in\n{cell.source}"


@pytest.mark.parametrize(
    "name",
    [
        "01_effect.ipynb",
        "02_cmo_graph.ipynb",
        pytest.param("03_add_a_study.ipynb", marks=pytest.mark.slow),  # runs the pipeline twice (~45 s)
    ],
)
def test_notebook_runs(name: str):
    path = NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{name} failed:\n{exc}")
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    text = outputs_text(nb)
    for expected in EXPECT[name]:
        assert expected in text, f"{name}: no {expected!r} in its outputs"
    if name != "03_add_a_study.ipynb":  # both draw a figure as SVG
        assert any("image/svg+xml" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
