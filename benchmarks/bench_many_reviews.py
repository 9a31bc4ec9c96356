"""The pipeline over many reviews: ``make report``'s DAG with 50 copies of the bundled reviews.

    .venv/bin/python benchmarks/bench_many_reviews.py [--reviews 50] [--cores 2]

Works in a temporary copy (``data/`` is never touched) and writes ``benchmarks/results/many_reviews.json``
(not committed). The copies cycle through the bundled reviews (sos-01, cbt-recidivism-02, ...; each
``review.yaml`` id set to its folder's name). Measures, each with the wall time and the peak RSS of Snakemake's
process tree:

1. planning alone (a dry run of the cold DAG: reading 50 review.yaml files, building the job graph);
2. a cold run;
3. a rerun with nothing to do;
4. a rerun after adding one study to one review (that review's steps and the toolkit page only);
5. the toolkit page: its job's time and the page's size.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_pipeline import add_study, machine, make_project, report, snakemake_cmd, timed_run  # noqa: E402

from emmie.io import write_json  # noqa: E402

BUNDLED = ("sos", "cbt-recidivism", "school-calendars")
TARGETS = {"noop_s": 2.0}


def copies(n: int) -> dict[str, Path]:
    """``n`` review ids cycling through the bundled reviews, with the folder each is copied from."""
    return {f"{BUNDLED[i % len(BUNDLED)]}-{i + 1:02d}": ROOT / "data" / BUNDLED[i % len(BUNDLED)] for i in range(n)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=50)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "many_reviews.json")
    args = parser.parse_args(argv)
    reviews = copies(args.reviews)
    result: dict = {"machine": machine(), "reviews": args.reviews, "cores": args.cores, "runs": {}}
    with tempfile.TemporaryDirectory(prefix="emmie-many-") as tmp:
        project = make_project(Path(tmp), reviews)
        for rid in reviews:  # each copy's id is its folder's name
            path = project / "data" / rid / "review.yaml"
            path.write_text(re.sub(r"(?m)^id: .*$", f"id: {rid}", path.read_text(encoding="utf-8"), count=1))
        start = time.perf_counter()
        proc = subprocess.run(
            snakemake_cmd(project, args.cores, "--dry-run", "--quiet", "rules"), capture_output=True, cwd=project
        )
        result["plan_s"] = round(time.perf_counter() - start, 2)
        print(f"planning (dry run of the cold DAG): {result['plan_s']} s, rc {proc.returncode}")
        runs = {}
        runs["cold"] = timed_run("cold", project, args.cores)
        report(runs["cold"])
        runs["noop"] = timed_run("noop", project, args.cores)
        report(runs["noop"])
        changed = next(r for r in reviews if r.startswith("cbt-recidivism"))
        result["added_study"] = {changed: add_study(project / "data" / changed)}
        runs["add_study"] = timed_run("add_study", project, args.cores)
        report(runs["add_study"])
        toolkit = project / "reports" / "index.html"
        result["toolkit_page_mb"] = round(toolkit.stat().st_size / 2**20, 2)
        result["toolkit_job_s"] = next((j.seconds for j in runs["cold"].jobs if j.command.startswith("toolkit")), None)
        cards = len(re.findall(r'<h3 id="tk-', toolkit.read_text(encoding="utf-8")))
        result["toolkit_cards"] = cards
        print(f"toolkit page: {result['toolkit_page_mb']} MB, {cards} review cards, job {result['toolkit_job_s']} s")
    result["runs"] = {name: run.__dict__ | {"jobs": [j.__dict__ for j in run.jobs[:12]]} for name, run in runs.items()}
    result["met"] = {"noop_s": runs["noop"].wall_s < TARGETS["noop_s"]}
    result["add_study_share_of_cold"] = round(runs["add_study"].wall_s / runs["cold"].wall_s, 3)
    write_json(args.out, result)
    print(json.dumps(result["met"]), "add study / cold:", result["add_study_share_of_cold"], "->", args.out)
    return 0 if all(r.returncode == 0 for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
