"""Glue between the command line and the stage functions of each dimension.

Each stage reads the review (and, where it needs them, earlier stages' JSON) and
writes into its own results folder; this module only routes and reads JSON.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the Snakefile imports this module: it stays free of pandas at planning time
    from emmie.ingest.review import Review

STAGE_JSON = {
    "effect": "effect/effect.json",
    "mechanisms": "mechanisms/mechanisms.json",
    "moderators": "moderators/moderators_effect.json",
    "implementation": "implementation/implementation.json",
    "economics": "economics/economics.json",
    "rob": "appraisal/rob.json",
    "prisma": "appraisal/prisma.json",
}


def read_json(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_summaries(results: Path) -> dict[str, dict[str, Any]]:
    """Every stage's JSON under ``results/<review>/`` that exists, by stage name; the Effect stage's per-result
    table (``effect/results.csv``) is joined into its outcomes (:func:`emmie.effect.results_table.join`)."""
    out = {name: read_json(results / rel) for name, rel in STAGE_JSON.items() if (results / rel).is_file()}
    if "effect" in out:
        from emmie.effect import results_table

        out["effect"] = results_table.read_joined(results / "effect", out["effect"])
    return out


# The earlier results each stage reads: checked before anything is written.
NEEDS = {"economics": STAGE_JSON["effect"]}


def run_stage(stage: str, review: Review, out: Path, *, results: Path | None = None) -> dict[str, Any]:
    if stage in NEEDS:
        _need(results, NEEDS[stage])
    out.mkdir(parents=True, exist_ok=True)
    if stage == "effect":
        from emmie.effect import stage as effect_stage

        return effect_stage.run(review, out)
    if stage == "mechanisms":
        from emmie.mechanisms import stage as mechanisms_stage

        return mechanisms_stage.run(review, out)
    if stage == "moderators":
        from emmie.moderators import stage as moderators_stage

        return moderators_stage.run(review, out)
    if stage == "implementation":
        from emmie.implementation import stage as implementation_stage

        return implementation_stage.run(review, out)
    if stage == "economics":
        from emmie.economics import stage as economics_stage

        effect = read_json(_need(results, STAGE_JSON["effect"]))
        return economics_stage.run(review, out, effect_summary=effect)
    if stage == "appraisal":
        from emmie.prisma import stage as prisma_stage
        from emmie.rob import stage as rob_stage

        return {"rob": rob_stage.run(review, out), "prisma": prisma_stage.run(review, out)}
    raise ValueError(stage)


def _need(results: Path | None, rel: str) -> Path:
    from emmie.errors import AnalysisError

    if results is None:
        raise AnalysisError(
            f"this stage reads {rel} from an earlier stage: give the review's results folder with --results"
        )
    path = results / rel
    if not path.is_file():
        raise AnalysisError(f"{path}: not found; run the stage that writes it first (expected {rel} under --results)")
    return path


#: The stages, in the order they can run (their folders under ``results/<review>/``); the rating reads them all.
STAGES = ("effect", "mechanisms", "moderators", "implementation", "economics", "appraisal")


def skipped_before(stage: str, results: Path | None) -> bool:
    """Whether a stage whose results ``stage`` reads was skipped (its own tables did not validate): then
    ``stage`` is skipped too. Those folders are the rule's inputs, so this changes only with them."""
    folders = STAGES if stage == "rate" else [NEEDS[stage].split("/")[0]] if stage in NEEDS else []
    return results is not None and any((Path(results) / f / "skipped.json").is_file() for f in folders)


def skip_stage(out: Path) -> None:
    """A stage of a review that failed validation: an empty folder that says so."""
    from emmie.io import write_json

    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "skipped.json", {"skipped": True, "reason": "the review's coded data did not validate"})


def skip_rating(review_id: str, out: Path) -> None:
    """The rating of a review whose tables the rating reads did not validate. The problems are in the review's
    ``validation.json`` (which the pages read), not copied here: this file depends only on what the rating reads."""
    from emmie.io import write_json

    write_json(out, {"review": review_id, "skipped": True, "reason": "the review's coded data did not validate"})


def rate(review: Review, results: Path, out: Path) -> dict[str, Any]:
    from emmie.rating import stage as rating_stage

    rating = rating_stage.run(review, read_summaries(results), out)
    return rating


#: The folders config/config.yaml may set, with their defaults (as rules/schemas/config.schema.yaml).
FOLDERS = {"data_dir": "data", "results_dir": "results", "reports_dir": "reports"}

#: Folder names a review id may not take: they are the pipeline's own (logs, shared tables, the toolkit page).
RESERVED_IDS = {"logs", "_reference", "index", "snapshots"}
REVIEW_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def check_config(config: Any) -> list[str]:
    """What is wrong with config/config.yaml, one line each ([] when it is fine)."""
    if not isinstance(config, dict):
        return [f"got {type(config).__name__}; expected a mapping with the key 'reviews'"]
    reviews = config.get("reviews")
    if not isinstance(reviews, list) or not reviews:
        return [f"reviews: got {str(reviews)[:80]!r}; expected a list of review ids (folders of data/), e.g. [sos]"]
    problems = []
    for i, r in enumerate(reviews):
        if not isinstance(r, str) or not REVIEW_ID.match(r):
            problems.append(
                f"reviews[{i}]: got {str(r)[:80]!r}; expected a review id: ASCII letters, digits, '_' and '-', "
                "starting with a letter or digit"
            )
        elif r in RESERVED_IDS or r in ("effect", "mechanisms", "moderators"):
            problems.append(f"reviews[{i}]: got {r!r}; expected an id that is not one of the pipeline's own folders")
        elif reviews.index(r) != i:
            problems.append(f"reviews[{i}]: got {r!r} again; expected each review once")
    for key, default in FOLDERS.items():
        if key in config and (not isinstance(config[key], str) or not config[key].strip()):
            problems.append(f"{key}: got {str(config[key])[:80]!r}; expected a folder name, e.g. {default}")
    extra = sorted(set(config) - {"reviews", *FOLDERS})
    if extra:
        problems.append(f"got the key(s) {', '.join(extra)}; expected only reviews, data_dir, results_dir, reports_dir")
    return problems


def check_outputs(config: dict[str, Any], root: Path = Path(".")) -> list[str]:
    """Output folders the pipeline could not write, one line each ([] when all can be written).

    Checked before planning because Snakemake itself stops with a traceback when an output's folder is a
    file or cannot be written (it prepares output folders before the job runs).
    """
    results = root / config.get("results_dir", "results")
    reports = root / config.get("reports_dir", "reports")
    folders = [results, results / "logs", reports]
    for r in config["reviews"]:
        folders += [results / r, results / "logs" / r, reports / r]
    problems = []
    for folder in folders:
        existing = folder
        while not existing.exists() and existing != existing.parent:
            if existing.is_symlink():  # a dangling link
                break
            existing = existing.parent
        shown = os.path.relpath(existing, root)
        if existing.exists() and not existing.is_dir():
            problems.append(f"{shown}: got a file; expected a folder (or nothing) where emmie writes its outputs")
        elif not existing.exists():
            problems.append(f"{shown}: got a broken link; expected a folder where emmie writes its outputs")
        elif not os.access(existing, os.W_OK | os.X_OK):
            problems.append(f"{shown}: got a folder emmie may not write to; expected a writable folder")
    return list(dict.fromkeys(problems))


#: The module whose timers :func:`cancel_scheduler_timers` cancels (where Snakemake 9 starts them).
SCHEDULER_MODULE = "snakemake.scheduling.job_scheduler"


def cancel_scheduler_timers() -> int:
    """Cancel the ``threading.Timer`` threads that Snakemake's scheduler left waiting; returns how many.

    Called from the Snakefile's ``onsuccess``/``onerror`` hooks. The scheduler starts a one-second Timer after each
    pass over the queue (to honour ``--max-jobs-per-timespan``; all it does is wake the scheduler), and the
    interpreter waits for every non-daemon thread before it exits, so each run that executed a job lingered for up
    to a second after its last job. When the hooks run, the scheduler is done and nothing waits for those timers.
    Other code's timers (a library's watchdog, say) are left alone.
    """
    timers = [
        t
        for t in threading.enumerate()
        if isinstance(t, threading.Timer)
        and t.is_alive()
        and getattr(t.function, "__module__", None) == SCHEDULER_MODULE
    ]
    for t in timers:
        t.cancel()
    return len(timers)


def project_root(config_path: Path) -> Path:
    """The folder Snakemake runs in for ``config_path``: the parent of its ``config/`` folder."""
    config_path = Path(config_path).absolute()
    return config_path.parent.parent if config_path.parent.name == "config" else config_path.parent


def print_status(config_path: Path) -> int:
    """After a run: where each review's reports are, or why it failed."""
    from emmie.ingest.yamlfile import read_yaml

    config = read_yaml(config_path.read_text(encoding="utf-8"))
    # Paths are the project's (relative to the folder Snakemake ran in), shown as given when run from there.
    root = project_root(config_path)
    here = Path.cwd().resolve() == root.resolve()

    def where(*parts: str) -> Path:
        path = Path(*parts)
        return path if here or path.is_absolute() else root / path

    results = where(config.get("results_dir", "results"))
    reports = where(config.get("reports_dir", "reports"))
    failed = 0
    toolkit = reports / "index.html"
    # A review whose data changed but whose later steps failed leaves the toolkit page as it was: say so.
    stale = [
        r
        for r in config["reviews"]
        if toolkit.is_file()
        and (results / r / "validation.json").is_file()
        and (results / r / "validation.json").stat().st_mtime > toolkit.stat().st_mtime
    ]
    if toolkit.is_file() and stale:
        failed += 1
        print(
            f"Toolkit page: {toolkit} is out of date: {', '.join(stale)} changed after it was made and a later step "
            f"failed (see {results / 'logs'})",
            file=sys.stderr,
        )
    elif toolkit.is_file():
        print(f"Toolkit page: {toolkit}")
    else:
        failed += 1
        print(f"Toolkit page: not made (see {results / 'logs' / 'toolkit.log'})", file=sys.stderr)
    for review in config["reviews"]:
        path = results / review / "validation.json"
        if not path.is_file():
            failed += 1
            print(f"  {review}: not run (see {results / 'logs' / review})", file=sys.stderr)
            continue
        record = read_json(path)
        index = reports / review / "index.html"
        if record["ok"] and index.is_file() and index.stat().st_mtime < path.stat().st_mtime:
            failed += 1
            print(
                f"  {review}: valid, but the report was not remade after the data changed; {index} is out of date "
                f"(see {results / 'logs' / review})",
                file=sys.stderr,
            )
        elif record["ok"] and index.is_file():
            print(f"  {review}: {index}")
        elif record["ok"]:
            failed += 1
            print(f"  {review}: valid, but the report was not made (see {results / 'logs' / review})", file=sys.stderr)
        else:
            failed += 1
            print(
                f"  {record['review']}: FAILED validation ({len(record['problems'])} problems), not reported:",
                file=sys.stderr,
            )
            for problem in record["problems"]:
                print(f"    {problem}", file=sys.stderr)
    return 1 if failed else 0
