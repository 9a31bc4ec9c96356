"""The SLURM profile (profiles/slurm): its resources name real rules, and the DAG resolves with it (dry run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_pipeline import make_project

from support import ROOT, TINY

PROFILE = ROOT / "profiles" / "slurm"
RULES = (
    "validate",
    "effect",
    "moderators",
    "mechanisms",
    "implementation",
    "economics",
    "appraisal",
    "rate",
    "report",
    "toolkit",
)


def profile() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text(encoding="utf-8"))


def workflow_rules() -> set[str]:
    text = "\n".join(
        p.read_text(encoding="utf-8") for p in [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
    )
    return set(re.findall(r"^rule (\w+):", text, flags=re.MULTILINE))


def test_profile_settings():
    config = profile()
    assert config["executor"] == "slurm"
    assert config["rerun-incomplete"] is True and config["printshellcmds"] is True
    assert config["retries"] >= 1 and config["latency-wait"] >= 5 and config["jobs"] >= 1
    assert {"mem_mb", "runtime", "slurm_partition", "cpus_per_task"} <= set(config["default-resources"])


def test_set_resources_name_real_rules():
    rules = workflow_rules()
    assert set(RULES) <= rules  # the list above is the workflow's
    assert set(profile()["set-resources"]) <= rules


def dry_run_resources(output: str) -> dict[str, dict[str, str]]:
    """Rule name -> its job's resources, from the job listing of a dry run (one job per rule here)."""
    jobs: dict[str, dict[str, str]] = {}
    rule = None
    for line in output.splitlines():
        if match := re.match(r"^(?:local)?rule (\w+):", line):
            rule = match.group(1)
        elif rule and (match := re.match(r"^\s+resources: (.*)$", line)):
            jobs[rule] = dict(item.split("=", 1) for item in match.group(1).split(", "))
    return jobs


def test_dag_resolves_with_the_slurm_profile(tmp_path: Path):
    pytest.importorskip(
        "snakemake_executor_plugin_slurm",
        reason="snakemake-executor-plugin-slurm is not installed (pip install snakemake-executor-plugin-slurm)",
    )
    project = make_project(tmp_path, {"tiny": TINY})
    env = {**os.environ, "EMMIE_SLURM_PARTITION": "emmie_test_partition"}
    env.pop("SLURM_JOB_ID", None)
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(project)]
    proc = subprocess.run(
        [*cmd, "--profile", str(PROFILE), "--dry-run"], capture_output=True, text=True, cwd=project, env=env
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert f"Using profile {PROFILE}" in output
    jobs = dry_run_resources(output)
    assert set(RULES) <= set(jobs), sorted(jobs)
    assert {jobs[r]["slurm_partition"] for r in RULES} == {"emmie_test_partition"}
    assert all(jobs[r]["cpus_per_task"] == "1" for r in RULES)
    expected = profile()["set-resources"]
    for rule, resources in expected.items():
        for name, value in resources.items():
            assert jobs[rule][name] == str(eval(str(value), {"attempt": 1})), (rule, name)  # our own file
    assert int(jobs["effect"]["runtime"]) > int(jobs["report"]["runtime"])
    assert int(jobs["moderators"]["runtime"]) > int(jobs["report"]["runtime"])
    assert not (project / "results").exists()  # a dry run writes nothing
