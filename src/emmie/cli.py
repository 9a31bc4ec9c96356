"""The ``emmie`` command line: the only place (with the loaders) that touches files.

Every Snakemake rule is one ``emmie <step>`` call. User errors are printed as
messages, never as tracebacks, and give exit status 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from emmie.errors import DataError, EmmieError, describe


def _load(data: str, step: str | None = None):
    from emmie.ingest import load_review
    from emmie.reads import reads

    return load_review(data, only=None if step is None else reads(step))


def _load_valid(data: str, validated: str | None = None, step: str | None = None):
    """The review, or None when its data are invalid (the validate step has reported why).

    With ``validated`` (the file ``emmie validate --validated`` wrote), the review kept there is used when it still
    describes the data (:mod:`emmie.ingest.validated`); otherwise the data are read and checked again. With
    ``step``, only what that step reads (:mod:`emmie.reads`) must be valid: the Snakefile reruns a step when those
    files change, so its output never rests on the validity of a file it does not read."""
    if validated:
        from emmie.ingest import validated as kept

        review = kept.read(validated, data)
        if review is not None:
            return review
    try:
        return _load(data, step)
    except DataError:
        return None


def cmd_validate(args: argparse.Namespace) -> int:
    from emmie.ingest import validated as kept
    from emmie.io import write_json

    read_from = kept.inputs(Path(args.data)) if args.validated else {}
    try:
        review = _load(args.data)
    except DataError as exc:
        print(f"{args.data}: {exc.render()}", file=sys.stderr)
        if args.validated:
            kept.write(args.validated, None, args.data, read_from)
        if args.record:
            write_json(
                args.record, {"review": Path(args.data).name, "ok": False, "problems": [str(p) for p in exc.problems]}
            )
            return 0
        return 1
    summary = {
        "review": review.id,
        "ok": True,
        "problems": [],
        "counts": {
            name: int(len(getattr(review, name)))
            for name in ("studies", "effects", "cmo", "implementation", "economics")
        },
    }
    print(f"{args.data}: valid ({', '.join(f'{v} {k}' for k, v in summary['counts'].items())})")
    if args.validated:
        kept.write(args.validated, review, args.data, read_from)
    if args.record:
        write_json(args.record, summary)
    return 0


def cmd_codebook(args: argparse.Namespace) -> int:
    from emmie.ingest.codebook import render

    sys.stdout.write(render())
    return 0


def cmd_stage(args: argparse.Namespace) -> int:
    from emmie import pipeline
    from emmie.allocator import keep_freed_memory

    keep_freed_memory()

    results = Path(args.results) if args.results else None
    review = (
        None if pipeline.skipped_before(args.stage, results) else _load_valid(args.data, args.validated, args.stage)
    )
    if review is None:
        pipeline.skip_stage(Path(args.out))
        return 0
    pipeline.run_stage(args.stage, review, Path(args.out), results=Path(args.results) if args.results else None)
    return 0


def cmd_rate(args: argparse.Namespace) -> int:
    from emmie import pipeline

    skipped = pipeline.skipped_before("rate", Path(args.results))
    review = None if skipped else _load_valid(args.data, args.validated, "rate")
    if review is None:
        pipeline.skip_rating(Path(args.data).resolve().name, Path(args.out))
        return 0
    pipeline.rate(review, Path(args.results), Path(args.out))
    return 0


def cmd_findings(args: argparse.Namespace) -> int:
    from emmie.findings import stage as findings_stage
    from emmie.io import write_json

    review = _load_valid(args.data, args.validated)
    if review is None:
        write_json(args.out, {"review": Path(args.data).name, "skipped": "the data did not validate", "findings": []})
        return 0
    findings_stage.run(review, Path(args.results), Path(args.out))
    return 0


def cmd_snapshots(args: argparse.Namespace) -> int:
    from emmie.io import write_json
    from emmie.snapshots import stage as snapshots_stage

    review = _load_valid(args.data, args.validated)
    out = Path(args.out)
    if review is None:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "snapshots.json", {"review": Path(args.data).name, "skipped": True, "snapshots": []})
        return 0
    snapshots_stage.run(review, out)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from emmie.report import render

    review = _load_valid(args.data, args.validated)
    if review is None:
        render.render_failed(Path(args.data).name, Path(args.results), Path(args.out))
        return 0
    render.render_review(review, Path(args.results), Path(args.out))
    return 0


def cmd_toolkit(args: argparse.Namespace) -> int:
    from emmie.report import render

    render.render_toolkit([Path(p) for p in args.validations], Path(args.results), Path(args.out), Path(args.data))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from emmie import pipeline

    return pipeline.print_status(Path(args.config))


def cmd_meta(argv: list[str]) -> int:
    from emmie.effect.cli import main as meta_main

    return meta_main(argv)


def cmd_template(argv: list[str]) -> int:
    from emmie.workbook.cli import main_template

    return main_template(argv)


def cmd_unlock(args: argparse.Namespace) -> int:
    from emmie.runlock import clear_stale_lock

    said = clear_stale_lock(args.directory)
    if said:
        print(f"emmie: {said}", file=sys.stderr)
    return 0


def cmd_import(argv: list[str]) -> int:
    from emmie.workbook.cli import main_import

    return main_import(argv)


# Commands with their own argument parsers: the rest of the line is theirs.
PASSTHROUGH = {"meta": cmd_meta, "template": cmd_template, "import": cmd_import}


VALIDATED_HELP = "read the validated review kept in this file (emmie validate --validated), when it matches the data"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emmie", description="EMMIE systematic-review pipeline")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check a review folder; list every problem as file:row:column")
    p.add_argument("data", help="review folder, e.g. data/sos")
    p.add_argument(
        "--record", help="write the outcome as JSON here and exit 0 even when invalid (used by the pipeline)"
    )
    p.add_argument("--validated", help=VALIDATED_HELP.replace("read", "write"))
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("codebook", help="print the codebook (data/README.md)")
    p.set_defaults(func=cmd_codebook)

    p = sub.add_parser("stage", help="run one analysis stage of a review")
    p.add_argument("stage", choices=["effect", "mechanisms", "moderators", "implementation", "economics", "appraisal"])
    p.add_argument("data")
    p.add_argument("out", help="output folder of the stage")
    p.add_argument("--results", help="the review's results folder (for stages that read earlier stages)")
    p.add_argument("--validated", help=VALIDATED_HELP)
    p.set_defaults(func=cmd_stage)

    p = sub.add_parser("rate", help="propose and record EMMIE-Q levels (results/<review>/emmie.json)")
    p.add_argument("data")
    p.add_argument("results")
    p.add_argument("out")
    p.add_argument("--validated", help=VALIDATED_HELP)
    p.set_defaults(func=cmd_rate)

    p = sub.add_parser("findings", help="derive what the pages tell a reader (results/<review>/findings.json)")
    p.add_argument("data")
    p.add_argument("results")
    p.add_argument("out")
    p.add_argument("--validated", help=VALIDATED_HELP)
    p.set_defaults(func=cmd_findings)

    p = sub.add_parser(
        "snapshots", help="rebuild the findings from the sources public at each review.yaml snapshot date"
    )
    p.add_argument("data")
    p.add_argument("out", help="results/<review>/snapshots")
    p.add_argument("--validated", help=VALIDATED_HELP)
    p.set_defaults(func=cmd_snapshots)

    p = sub.add_parser("report", help="render the review's four HTML outputs")
    p.add_argument("data")
    p.add_argument("results")
    p.add_argument("out", help="reports/<review>")
    p.add_argument("--validated", help=VALIDATED_HELP)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("toolkit", help="render the toolkit landing page over all reviews")
    p.add_argument("out")
    p.add_argument("--results", default="results")
    p.add_argument("--data", default="data")
    p.add_argument("validations", nargs="+")
    p.set_defaults(func=cmd_toolkit)

    p = sub.add_parser("unlock", help="clear a stale Snakemake lock left by a killed run (never one a live run holds)")
    p.add_argument("directory", nargs="?", default=".")
    p.set_defaults(func=cmd_unlock)

    p = sub.add_parser("status", help="say where each review's reports are; exit 1 if any review failed")
    p.add_argument("config", help="config/config.yaml")
    p.set_defaults(func=cmd_status)

    sub.add_parser(
        "meta", help="meta-analysis of a CSV at the shell (emmie meta FILE --yi COL --vi COL)", add_help=False
    )
    sub.add_parser(
        "template", help="write an extraction workbook (emmie template data/<review> FILE.xlsx)", add_help=False
    )
    sub.add_parser(
        "import",
        help="validate a filled workbook and merge it (emmie import FILE.xlsx data/<review> [--replace])",
        add_help=False,
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in PASSTHROUGH:
            return PASSTHROUGH[argv[0]](argv[1:])
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except EmmieError as exc:
        print(f"emmie: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("emmie: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in emmie, not the user's fault
        if isinstance(exc, OSError) and exc.filename is not None:  # a file that cannot be read or written
            print(f"emmie: {describe(exc)}", file=sys.stderr)
            return 1
        if os.environ.get("EMMIE_DEBUG"):
            traceback.print_exc()
        print(
            f"emmie: internal error: {type(exc).__name__}: {exc} (set EMMIE_DEBUG=1 for details; please report it)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
