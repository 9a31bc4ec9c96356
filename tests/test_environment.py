"""environment.yml (conda) and pyproject.toml (pip) list the same runtime dependencies."""

from __future__ import annotations

import re
import tomllib

import yaml

from support import ROOT


def _split(spec: str) -> tuple[str, str]:
    name, bound = re.match(r"^([A-Za-z0-9_.-]+)\s*(.*)$", spec.strip()).groups()
    return name.lower().replace("_", "-"), bound.replace(" ", "")


def test_conda_and_pip_dependencies_agree():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # the runtime dependencies and JupyterLab (extra "lab"), which the conda environment installs too
    pip = dict(_split(s) for s in [*project["dependencies"], *project["optional-dependencies"]["lab"]])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(
        _split(s.split("#")[0])
        for s in env["dependencies"]
        if isinstance(s, str) and not s.startswith(("python", "pip"))
    )
    assert conda == pip


def test_ci_runs_make_test():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "make cluster-test" in ci


def test_make_lab_installs_jupyterlab_apart_and_opens_the_notebooks():
    makefile = (ROOT / "Makefile").read_text()
    # the pipeline's environment stays without JupyterLab (its dependencies slow every Python start by ~1 s)
    assert "pip install --quiet -e '.[dev]'" in makefile and "'.[dev,lab]'" not in makefile
    assert "$(LAB)/bin/python -m pip install --quiet -e '.[lab]'" in makefile
    assert "$(LAB)/bin/jupyter lab --notebook-dir=notebooks $(LAB_ARGS)" in makefile
