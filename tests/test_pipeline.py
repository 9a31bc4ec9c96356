"""The whole DAG on a tiny review in a temporary folder: outputs, no-op rerun, incremental rerun,
a failing review that does not block the others, and a read-only data folder."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from support import BAD, ROOT, TINY

SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--cores", "2"]
PAGES = ("index", "practice-guide", "implementation-summary", "information-sheet")


def make_project(tmp: Path, reviews: dict[str, Path]) -> Path:
    (tmp / "config").mkdir(parents=True)
    (tmp / "config" / "config.yaml").write_text("reviews:\n" + "".join(f"  - {r}\n" for r in reviews))
    for name, src in reviews.items():
        shutil.copytree(src, tmp / "data" / name)
    shutil.copytree(ROOT / "data" / "_reference", tmp / "data" / "_reference")
    return tmp


def snakemake(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, "--directory", str(project), *args], capture_output=True, text=True, cwd=project)


def planned_jobs(project: Path, *extra: str) -> dict[str, int]:
    """Rule name -> number of jobs Snakemake would run now (dry run)."""
    proc = snakemake(project, "--dry-run", "--quiet", "rules", *extra)
    assert proc.returncode == 0, proc.stderr
    jobs = {}
    for line in (proc.stdout + proc.stderr).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("total", "job"):
            jobs[parts[0]] = int(parts[1])
    return jobs


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    project = make_project(tmp_path_factory.mktemp("pipeline"), {"tiny": TINY})
    for path in (project / "data").rglob("*"):  # the pipeline must never write under data/
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    proc = snakemake(project)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return project


def test_all_outputs_exist(built: Path):
    for page in PAGES:
        html = (built / "reports" / "tiny" / f"{page}.html").read_text(encoding="utf-8")
        assert "<html" in html and "Tiny test review" in html or "BCG" in html
    assert (built / "reports" / "index.html").is_file()
    rating = json.loads((built / "results" / "tiny" / "emmie.json").read_text())
    assert set(rating["dimensions"]) == {"effect", "mechanisms", "moderators", "implementation", "economics"}
    assert (built / "results" / "tiny" / "mechanisms" / "cmo.graphml").is_file()


def test_pooled_estimate_matches_metafor(built: Path):
    # The four BCG trials, RR, REML: metafor gives these (computed with metafor 3.8-1).
    effect = json.loads((built / "results" / "tiny" / "effect" / "effect.json").read_text())
    (tb,) = effect["outcomes"]
    assert tb["k"] == 4 and tb["pooled"]
    from emmie.effect import effect_sizes, meta_analysis

    es = effect_sizes(
        "RR", ai=[4, 6, 3, 62], bi=[119, 300, 228, 13536], ci=[11, 29, 11, 248], di=[128, 274, 209, 12619]
    )
    fit = meta_analysis(es["yi"], es["vi"], method="REML")
    assert tb["frequentist"]["z"]["estimate"] == pytest.approx(fit.estimate, rel=1e-12)


def test_second_run_has_nothing_to_do(built: Path):
    assert planned_jobs(built) == {}


def copy_of_built(built: Path, tmp_path: Path, reviews: dict[str, Path]) -> Path:
    """A copy of the built tiny project (its outputs up to date) with ``reviews`` added to it and its config."""
    project = tmp_path / "p"
    shutil.copytree(built, project, symlinks=True)  # copy2 keeps the times: tiny's outputs stay up to date
    for path in (project / "data").rglob("*"):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    config = project / "config" / "config.yaml"
    config.write_text(config.read_text() + "".join(f"  - {r}\n" for r in reviews))
    for name, src in reviews.items():
        shutil.copytree(src, project / "data" / name)
        (project / "data" / name / "review.yaml").write_text(
            (src / "review.yaml").read_text().replace("id: tiny", f"id: {name}")
        )
    return project


def test_adding_a_study_reruns_only_that_review(built: Path, tmp_path: Path):
    project = copy_of_built(built, tmp_path, {"other": TINY})
    assert snakemake(project).returncode == 0
    studies = project / "data" / "tiny" / "studies.csv"
    studies.write_text(
        studies.read_text()
        + 'fresh2020,"Fresh (2020), a test study",2020,UK,rct,none,100,children,school,generic,low,high,high,10.1000/test,no,test,1,no,\n'
    )
    jobs = planned_jobs(project)
    assert jobs.get("validate") == 1 and jobs.get("report") == 1  # one review, not two
    assert jobs.get("effect") == 1
    assert snakemake(project).returncode == 0
    html = (project / "reports" / "tiny" / "index.html").read_text(encoding="utf-8")
    assert 'id="changes"' in html and "Studies added: fresh2020" in html
    assert 'id="changes"' not in (project / "reports" / "other" / "index.html").read_text(encoding="utf-8")


#: The steps every edit of a review reruns: validation, and the steps that read the whole review.
WHOLE = {"validate", "snapshots", "findings", "report", "toolkit"}

#: What an edit of each file of the tiny review reruns (dry run), beyond WHOLE: the steps that read it
#: (src/emmie/reads.py), the steps that read their results, and the rating, which reads every stage's results.
RERUNS = {
    "studies.csv": {"effect", "mechanisms", "moderators", "implementation", "economics", "appraisal", "rate"},
    "effects.csv": {"effect", "moderators", "economics", "rate"},  # economics reads Effect's results
    "vocabulary.csv": {"mechanisms", "rate"},
    "cmo.csv": {"mechanisms", "rate"},
    "implementation.csv": {"implementation", "rate"},
    "economics.csv": {"economics", "rate"},
    "moderators.csv": {"moderators", "rate"},
    "prisma.csv": {"appraisal", "rate"},
    "../_reference/deflators.csv": {"economics", "rate"},
    "review.yaml title": set(),
    "review.yaml outcomes": {"effect", "moderators", "economics", "rate"},
    "review.yaml implementation_themes": {"implementation", "rate"},
    "review.yaml initial_theory": {"mechanisms", "rate"},
    "review.yaml moderators": {"moderators", "rate"},
}

YAML_EDITS = {
    "title": ('title: "Tiny test review: BCG vaccine trials"', 'title: "Tiny test review: the BCG vaccine trials"'),
    "outcomes": ("    label: Tuberculosis cases", "    label: Tuberculosis cases (all forms)"),
    "implementation_themes": ("    label: Vaccine supply", "    label: Supply of vaccine"),
    "initial_theory": ("    statement: Vaccination builds", "    statement: Vaccination strengthens"),
    "moderators": ("    label: Absolute latitude", "    label: Absolute latitude (degrees)"),
}


def test_an_edit_reruns_only_the_steps_that_read_it(built: Path, tmp_path: Path):
    project = copy_of_built(built, tmp_path, {})
    assert planned_jobs(project) == {}
    for edit, expected in RERUNS.items():
        name = edit.split()[0]
        path = project / "data" / "tiny" / name
        before = path.read_bytes()
        if name == "review.yaml":
            old, new = YAML_EDITS[edit.split()[1]]
            assert before.count(old.encode()) == 1, edit
            path.write_bytes(before.replace(old.encode(), new.encode()))
        else:  # one cell changed: a space after the last value of the first row
            lines = before.split(b"\n")
            lines[1] += b" "
            path.write_bytes(b"\n".join(lines))
        jobs = planned_jobs(project)
        jobs.pop("all", None)
        assert set(jobs) == WHOLE | expected, edit
        assert all(n == 1 for n in jobs.values()), edit
        path.write_bytes(before)  # back as it was: newer, but the same content, so nothing to do
    assert planned_jobs(project) == {}


def test_the_moderators_do_not_wait_for_the_effect_step(built: Path, tmp_path: Path):
    """The moderator analyses compute the effect sizes themselves, so they run beside the Effect stage: rerunning
    Effect reruns what reads its results (economics, the rating, findings, pages), not the moderators."""
    project = copy_of_built(built, tmp_path, {})
    jobs = planned_jobs(project, "--forcerun", "effect")
    jobs.pop("all", None)
    assert set(jobs) == {"effect", "economics", "rate", "findings", "report", "toolkit"}


def test_a_step_runs_on_its_valid_tables_while_another_table_is_corrected(built: Path, tmp_path: Path):
    """A step stops only on problems in what it reads, so its output never rests on a file it does not read:
    correcting one table and then another ends where a run on the corrected data ends."""
    project = copy_of_built(built, tmp_path, {})
    tiny = project / "data" / "tiny"
    good = {name: (tiny / name).read_bytes() for name in ("effects.csv", "cmo.csv")}
    shutil.copyfile(BAD / "negative_count" / "effects.csv", tiny / "effects.csv")
    shutil.copyfile(BAD / "cmo_mechanism_only" / "cmo.csv", tiny / "cmo.csv")
    assert snakemake(project).returncode == 0
    results = project / "results" / "tiny"
    assert not json.loads((results / "validation.json").read_text())["ok"]
    assert (results / "effect" / "skipped.json").is_file() and (results / "mechanisms" / "skipped.json").is_file()
    assert (results / "economics" / "skipped.json").is_file()  # it reads Effect's results
    assert not (results / "implementation" / "skipped.json").is_file()  # its tables are valid: not even rerun
    assert "did not validate" in (project / "reports" / "tiny" / "index.html").read_text(encoding="utf-8")

    (tiny / "effects.csv").write_bytes(good["effects.csv"])  # one table corrected: the review is still invalid
    jobs = planned_jobs(project)
    assert {"effect", "moderators", "economics"} <= set(jobs) and "mechanisms" not in jobs
    assert snakemake(project).returncode == 0
    assert not json.loads((results / "validation.json").read_text())["ok"]
    assert (results / "effect" / "effect.json").is_file() and (results / "mechanisms" / "skipped.json").is_file()

    (tiny / "cmo.csv").write_bytes(good["cmo.csv"])  # the other: Effect is not run again
    jobs = planned_jobs(project)
    assert "mechanisms" in jobs and "effect" not in jobs
    assert snakemake(project).returncode == 0
    for rel in ("effect/effect.json", "mechanisms/mechanisms.json", "economics/economics.json", "emmie.json"):
        assert (results / rel).read_bytes() == (built / "results" / "tiny" / rel).read_bytes(), rel
    assert "did not validate" not in (project / "reports" / "tiny" / "index.html").read_text(encoding="utf-8")


def test_snakemake_report_works(built: Path, tmp_path: Path):
    proc = snakemake(built, "--report", str(tmp_path / "workflow.html"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "workflow.html").stat().st_size > 10_000
    html = (tmp_path / "workflow.html").read_text(encoding="utf-8")
    # the captions (rules/captions/*.rst), with the review filled in, and the workflow's description
    assert "The EMMIE-Q rating of review tiny: the level proposed" in html
    assert "The pages of review tiny: the full review (index)" in html
    assert "reruns only the steps that read it" in html


#: Makes ``emmie stage effect`` fail for the review "crash" (a valid review whose analysis fails, so that its
#: later steps never run), loaded by every Python the test's Snakemake starts (PYTHONPATH): a failure injected
#: from outside, not a hook in emmie.
CRASH_REPORT = """import sys
if "stage" in sys.argv and "effect" in sys.argv and any(a.endswith("/crash") for a in sys.argv):
    sys.exit("injected failure of the effect stage")
"""


def test_failing_review_does_not_block_others(built: Path, tmp_path: Path):
    project = copy_of_built(built, tmp_path, {"broken": TINY, "crash": TINY})
    shutil.copyfile(BAD / "negative_count" / "effects.csv", project / "data" / "broken" / "effects.csv")
    # A review listed in the config whose folder does not exist fails on its own, too.
    config = project / "config" / "config.yaml"
    config.write_text(config.read_text() + "  - doesnotexist\n")
    (tmp_path / "inject").mkdir()
    (tmp_path / "inject" / "sitecustomize.py").write_text(CRASH_REPORT)
    proc = subprocess.run(
        [*SNAKEMAKE, "--directory", str(project), "--keep-going"],
        capture_output=True,
        text=True,
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "inject")},
    )
    assert proc.returncode == 1, proc.stderr[-2000:]  # the crash review's effect stage failed
    assert (project / "reports" / "tiny" / "index.html").is_file()
    # The toolkit page is made even so (the workflow's onerror), and says what happened to each review.
    toolkit = (project / "reports" / "index.html").read_text(encoding="utf-8")
    assert "did not validate" in toolkit and "effects.csv:3:ai" in toolkit
    assert 'href="tiny/index.html"' in toolkit
    assert (
        '<h3 id="tk-crash">crash</h3><p><strong>Not reported: the coded data are valid, but a step of the analysis '
        "failed.</strong> See the logs in <code>results/logs/crash</code>." in toolkit
    )
    assert "did not validate" in (project / "reports" / "broken" / "index.html").read_text(encoding="utf-8")
    status = subprocess.run(
        [sys.executable, "-m", "emmie", "status", "config/config.yaml"], cwd=project, capture_output=True, text=True
    )
    assert status.returncode == 1 and "broken: FAILED validation" in status.stderr
    assert "doesnotexist: FAILED validation" in status.stderr and "expected a review folder" in status.stderr
    assert "crash: valid, but the report was not made (see results/logs/crash)" in status.stderr
    assert "Toolkit page: reports/index.html" in status.stdout
    assert "  tiny: reports/tiny/index.html" in status.stdout
    # Run from elsewhere, status finds the project's folders from the config file's place.
    elsewhere = subprocess.run(
        [sys.executable, "-m", "emmie", "status", str(config)], cwd=tmp_path, capture_output=True, text=True
    )
    assert f"  tiny: {project / 'reports' / 'tiny' / 'index.html'}" in elsewhere.stdout


def test_an_output_folder_that_cannot_be_written_stops_before_planning(tmp_path: Path):
    """Snakemake stops with a traceback when an output folder is a file; emmie says which, before planning."""
    project = make_project(tmp_path, {"tiny": TINY})
    (project / "reports").mkdir()
    (project / "reports" / "tiny").write_text("not a folder")
    proc = snakemake(project)
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert (
        "emmie cannot write its outputs:\nreports/tiny: got a file; expected a folder (or nothing) where emmie "
        "writes its outputs" in out
    )
    assert "Traceback" not in out


def test_check_outputs_names_each_folder_it_cannot_write(tmp_path: Path):
    from emmie.pipeline import check_outputs

    config = {"reviews": ["a"]}
    assert check_outputs(config, tmp_path) == []
    (tmp_path / "results").write_text("x")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "a").symlink_to(tmp_path / "nowhere")
    assert check_outputs(config, tmp_path) == [
        "results: got a file; expected a folder (or nothing) where emmie writes its outputs",
        "reports/a: got a broken link; expected a folder where emmie writes its outputs",
    ]
    (tmp_path / "results").unlink()
    (tmp_path / "reports" / "a").unlink()
    (tmp_path / "reports").chmod(0o555)
    try:
        expected = (
            [] if os.geteuid() == 0 else ["reports: got a folder emmie may not write to; expected a writable folder"]
        )
        assert check_outputs(config, tmp_path) == expected  # root may write anywhere
    finally:
        (tmp_path / "reports").chmod(0o755)


def test_data_left_read_only_and_unchanged(built: Path):
    for path in (built / "data" / "tiny").iterdir():
        assert path.read_bytes() == (TINY / path.name).read_bytes()
        assert not os.access(path, os.W_OK) or os.geteuid() == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"reviews": "sos"}, "reviews: got 'sos'; expected a list of review ids"),
        ({"reviews": []}, "reviews: got '[]'; expected a list of review ids"),
        ({"reviews": [3]}, "reviews[0]: got '3'; expected a review id"),
        ({"reviews": ["sos", "sos"]}, "reviews[1]: got 'sos' again; expected each review once"),
        ({"reviews": ["logs"]}, "reviews[0]: got 'logs'; expected an id that is not one of the pipeline's own folders"),
        ({"reviews": ["../x"]}, "reviews[0]: got '../x'; expected a review id"),
        ({"reviews": ["é"]}, "reviews[0]: got 'é'; expected a review id"),
        ({"reviews": ["sos"], "review": 1}, "got the key(s) review; expected only reviews"),
        (["sos"], "got list; expected a mapping with the key 'reviews'"),
    ],
)
def test_config_problems_are_one_message_each(config, message):
    from emmie.pipeline import check_config

    assert check_config({"reviews": ["sos", "cbt-recidivism"]}) == []
    problems = check_config(config)
    assert len(problems) == 1 and problems[0].startswith(message), problems


def test_a_bad_config_stops_before_planning_with_its_message(tmp_path: Path):
    project = make_project(tmp_path, {"tiny": TINY})
    (project / "config" / "config.yaml").write_text("reviews: tiny\n")
    proc = snakemake(project)
    assert proc.returncode != 0
    assert "config/config.yaml: reviews: got 'tiny'; expected a list of review ids" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_status_says_when_the_toolkit_page_is_missing_or_out_of_date(tmp_path: Path, monkeypatch):
    import json
    import os

    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("reviews: [a]\n")
    (tmp_path / "results" / "a").mkdir(parents=True)
    (tmp_path / "reports" / "a").mkdir(parents=True)
    (tmp_path / "results" / "a" / "validation.json").write_text(json.dumps({"review": "a", "ok": True, "problems": []}))
    (tmp_path / "reports" / "a" / "index.html").write_text("x")
    status = [sys.executable, "-m", "emmie", "status", "config/config.yaml"]
    proc = subprocess.run(status, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1 and "Toolkit page: not made" in proc.stderr
    toolkit = tmp_path / "reports" / "index.html"
    toolkit.write_text("x")
    os.utime(toolkit, (1_000_000, 1_000_000))  # older than the review's validation record
    proc = subprocess.run(status, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1 and "is out of date: a changed after it was made" in proc.stderr
    os.utime(toolkit, None)  # made after it
    proc = subprocess.run(status, capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0 and "Toolkit page: reports/index.html" in proc.stdout
