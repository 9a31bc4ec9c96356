"""Resources: every rule states its threads, memory and time (rules/*.smk); the SLURM profile (profiles/slurm)
adds the partition, and the DAG resolves with it (dry run)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml
from test_pipeline import make_project

from support import ROOT, TINY

PROFILE = ROOT / "profiles" / "slurm"
RULES = (
    "validate",
    "snapshots",
    "findings",
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
    assert set(config["default-resources"]) == {"slurm_partition"}  # the rest is each rule's own
    assert set(config.get("set-resources") or {}) <= workflow_rules()


def rule_resources() -> dict[str, tuple[int, int, int]]:
    """Rule -> (threads, mem_mb, runtime) at the first attempt, as rules/*.smk state them."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "rules").glob("*.smk")))
    found = re.findall(
        r"^rule (\w+):\n(?:    .*\n|        .*\n)*?    threads: (\d+)\n(?:    priority: \d+.*\n)?    resources:\n"
        r"        mem_mb=per_attempt\((\d+)\),\n        runtime=per_attempt\((\d+)\),\n",
        text,
        flags=re.MULTILINE,
    )
    return {rule: (int(t), int(m), int(r)) for rule, t, m, r in found}


def test_every_rule_states_its_threads_memory_and_time():
    assert workflow_rules() == {*RULES, "all"}  # the list above is the workflow's
    assert set(rule_resources()) == set(RULES)
    resources = rule_resources()
    assert resources["effect"][0] == 1  # two would keep a 2-core machine from running anything beside it
    assert resources["effect"][2] > resources["report"][2] and resources["moderators"][2] > resources["report"][2]
    snakefile = (ROOT / "Snakefile").read_text(encoding="utf-8")
    assert "localrules:\n    all,\n    toolkit,\n" in snakefile and 'min_version("9.27")' in snakefile


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


def test_local_runs_do_not_load_the_slurm_executor():
    """Installed, the executor asks scontrol for the cluster's settings at every Snakemake start (10 s where
    SLURM's commands are present and no controller answers): local runs must not load it."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib.util; print(importlib.util.find_spec('snakemake_executor_plugin_slurm'))",
        ],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert proc.stdout.strip() == "None"


def test_dag_resolves_with_the_slurm_profile(tmp_path: Path):
    # make installs the SLURM executor apart from the environment (pyproject.toml, extra slurm): never a skip
    plugins = ROOT / ".venv" / "slurm-plugin"
    assert (plugins / "snakemake_executor_plugin_slurm").is_dir(), f"{plugins} is missing: run make .venv/.installed"
    project = make_project(tmp_path, {"tiny": TINY})
    env = {**os.environ, "EMMIE_SLURM_PARTITION": "emmie_test_partition", "PYTHONPATH": str(plugins)}
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
    for rule, (_threads, mem_mb, runtime) in rule_resources().items():
        assert (jobs[rule]["mem_mb"], jobs[rule]["runtime"]) == (str(mem_mb), str(runtime)), rule
    assert not (project / "results").exists()  # a dry run writes nothing
