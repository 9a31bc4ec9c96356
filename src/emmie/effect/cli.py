"""``emmie meta``: pool effect sizes from a CSV file and print the summary (or JSON)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from emmie.effect.estimators import METHODS
from emmie.effect.rma import meta_analysis
from emmie.errors import NUMERIC_ERRORS, EmmieError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="emmie meta", description="Meta-analysis of effect sizes in a CSV file (as metafor's rma)."
    )
    p.add_argument("file", help="CSV file with one row per effect size")
    p.add_argument("--yi", required=True, help="column of effect sizes")
    p.add_argument("--vi", required=True, help="column of sampling variances")
    p.add_argument(
        "--method", default="REML", type=str.upper, choices=[*METHODS, "FE"], help="tau^2 estimator (default REML)"
    )
    p.add_argument("--test", default="z", choices=["z", "knha"], help="z test or Knapp-Hartung (default z)")
    p.add_argument("--level", default=0.95, type=float, help="confidence level (default 0.95)")
    p.add_argument("--cluster", default=None, help="column of cluster labels for CR2 cluster-robust inference")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def read_meta_csv(
    path: Path, yi_col: str, vi_col: str, cluster_col: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[int]]:
    """The columns ``emmie meta`` pools, read as the review tables are (UTF-8, numbers in ASCII digits only, each
    problem at its line in the file, blank lines and quoted line breaks counted). Rows with an empty ``yi`` or
    ``vi`` are left out with a warning, as metafor's ``na.omit`` does; anything else that is not a finite number
    is an error at its line."""
    from emmie.ingest.cells import parse_float
    from emmie.ingest.load import read_csv_file

    if not path.is_file():
        raise EmmieError(f"{path}: file not found")
    raw, problems = read_csv_file(path, "meta")
    if problems:
        p = problems[0]
        raise EmmieError(str(p).replace(p.file, str(path), 1))
    header = raw.header
    for col in (yi_col, vi_col, *([cluster_col] if cluster_col else [])):
        if col not in header:
            raise EmmieError(f"{path}: no column {col!r}; columns are {', '.join(header)}")
        if header.count(col) > 1:
            raise EmmieError(f"{path}:1:{col}: got the column {col!r} {header.count(col)} times; expected it once")
    at = {col: header.index(col) for col in header[::-1]}
    yi: list[float] = []
    vi: list[float] = []
    cluster: list[str] = []
    kept: list[int] = []
    dropped: list[int] = []
    for row, line in zip(raw.rows, raw.lines, strict=True):
        cells = {col: (row[at[col]].strip() if at[col] < len(row) else "") for col in (yi_col, vi_col)}
        if not cells[yi_col] or not cells[vi_col]:
            dropped.append(line)
            continue
        values = []
        for col in (yi_col, vi_col):
            number, problem = parse_float(cells[col])
            if problem:
                raise EmmieError(f"{path}:{line}:{col}: got {cells[col]!r}; expected {problem}")
            values.append(number)
        if cluster_col:
            label = row[at[cluster_col]].strip() if at[cluster_col] < len(row) else ""
            if not label:
                raise EmmieError(f"{path}:{line}:{cluster_col}: got nothing; expected a cluster label")
            cluster.append(label)
        yi.append(values[0])
        vi.append(values[1])
        kept.append(line)
    if dropped:
        shown = ", ".join(map(str, dropped[:10])) + (", ..." if len(dropped) > 10 else "")
        print(
            f"emmie meta: warning: {len(dropped)} row{'s' if len(dropped) != 1 else ''} without {yi_col} or {vi_col} "
            f"left out (line{'s' if len(dropped) != 1 else ''} {shown}), as metafor's na.omit",
            file=sys.stderr,
        )
    if not kept:
        raise EmmieError(f"{path}: no row has both {yi_col} and {vi_col}; expected at least one effect size")
    return np.array(yi), np.array(vi), (np.array(cluster, dtype=object) if cluster_col else None), kept


def main(argv: list[str] | None = None) -> int:
    """Run ``emmie meta``; returns the exit status (0 ok, 1 user error)."""
    args = _parser().parse_args(argv)
    path = Path(args.file)
    try:
        yi, vi, cluster, lines = read_meta_csv(path, args.yi, args.vi, args.cluster)
        try:
            with np.errstate(all="ignore"):
                res = meta_analysis(
                    yi,
                    vi,
                    method=args.method,
                    test=args.test,
                    level=args.level,
                    cluster=cluster,
                )
        except NUMERIC_ERRORS as exc:
            lo, hi = int(vi.argmin()), int(np.abs(yi).argmax())
            raise EmmieError(
                f"{path}: the {args.method} fit failed on these values ({exc}); the smallest {args.vi} is "
                f"{vi[lo]:.3g} (line {lines[lo]}) and the largest |{args.yi}| is {abs(yi[hi]):.3g} "
                f"(line {lines[hi]}): check those rows"
            ) from None
    except EmmieError as exc:
        print(f"emmie meta: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(_clean(res.to_dict()), indent=2))
    else:
        print(res)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
