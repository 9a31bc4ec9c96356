"""Command-line entry points ``emmie template`` and ``emmie import``.

Each takes its arguments (without the sub-command name), prints a short summary and
returns 0, or prints the error message (never a traceback) to stderr and returns 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emmie.errors import EmmieError, describe


def main_template(argv: list[str]) -> int:
    """``emmie template data/<review> FILE.xlsx``: write the review's extraction workbook."""
    from emmie.workbook.template import write_template

    parser = argparse.ArgumentParser(
        prog="emmie template",
        description="Write an Excel extraction workbook for a review: one sheet per coded table, "
        "with drop-down lists, column notes and the review's existing rows.",
    )
    parser.add_argument("data", help="review folder, e.g. data/sos")
    parser.add_argument("workbook", help="the .xlsx file to write")
    parser.add_argument("--force", action="store_true", help="overwrite the workbook if it exists")
    args = parser.parse_args(argv)
    if Path(args.workbook).exists() and not args.force:
        print(
            f"{args.workbook} exists (it may hold unimported work); choose another name or add --force", file=sys.stderr
        )
        return 1
    try:
        write_template(Path(args.data), Path(args.workbook))
    except (EmmieError, OSError) as exc:
        print(f"{args.data}: {describe(exc)}", file=sys.stderr)
        return 1
    print(
        f"wrote {args.workbook}: the extraction workbook of {args.data} (fill it in, then: emmie import {args.workbook} {args.data})"
    )
    return 0


def main_import(argv: list[str]) -> int:
    """``emmie import FILE.xlsx data/<review> [--replace]``: merge a workbook into the review's CSV files."""
    from emmie.workbook.importer import import_workbook

    parser = argparse.ArgumentParser(
        prog="emmie import",
        description="Check an extraction workbook and add its new rows to the review's CSV files. "
        "Nothing is written unless the merged review is valid.",
    )
    parser.add_argument("workbook", help="the .xlsx file to import")
    parser.add_argument("data", help="review folder, e.g. data/sos")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="overwrite the review's rows whose key is in the workbook with other values",
    )
    args = parser.parse_args(argv)
    try:
        result = import_workbook(Path(args.workbook), Path(args.data), replace=args.replace)
    except (EmmieError, OSError) as exc:
        print(f"{args.workbook}: {describe(exc)}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0
