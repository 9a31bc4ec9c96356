"""``emmie meta``: pool effect sizes from a CSV file and print the summary (or JSON)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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


def main(argv: list[str] | None = None) -> int:
    """Run ``emmie meta``; returns the exit status (0 ok, 1 user error)."""
    args = _parser().parse_args(argv)
    path = Path(args.file)
    try:
        try:
            frame = pd.read_csv(path)
        except FileNotFoundError:
            raise EmmieError(f"{path}: file not found") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise EmmieError(f"{path}: cannot read as CSV ({exc})") from None
        cols = [args.yi, args.vi] + ([args.cluster] if args.cluster else [])
        for col in cols:
            if col not in frame.columns:
                raise EmmieError(f"{path}: no column {col!r}; columns are {', '.join(map(str, frame.columns))}")
        for col in (args.yi, args.vi):
            values = pd.to_numeric(frame[col], errors="coerce")
            bad = values.isna()
            if bad.any():
                row = int(bad.to_numpy().nonzero()[0][0])
                raise EmmieError(
                    f"{path}:{row + 2}:{col}: got {frame[col].iloc[row]!r}; expected a number (line {row + 2} of the file)"
                )
        yi, vi = frame[args.yi].astype(float), frame[args.vi].astype(float)
        for col, values in ((args.yi, yi), (args.vi, vi)):
            bad = ~np.isfinite(values.to_numpy())
            if bad.any():
                row = int(bad.nonzero()[0][0])
                raise EmmieError(f"{path}:{row + 2}:{col}: got {str(frame[col].iloc[row])!r}; expected a finite number")
        try:
            with np.errstate(all="ignore"):
                res = meta_analysis(
                    yi,
                    vi,
                    method=args.method,
                    test=args.test,
                    level=args.level,
                    cluster=frame[args.cluster].to_numpy() if args.cluster else None,
                )
        except NUMERIC_ERRORS as exc:
            lo, hi = int(vi.to_numpy().argmin()), int(np.abs(yi.to_numpy()).argmax())
            raise EmmieError(
                f"{path}: the {args.method} fit failed on these values ({exc}); the smallest {args.vi} is "
                f"{vi.iloc[lo]:.3g} (line {lo + 2}) and the largest |{args.yi}| is {abs(yi.iloc[hi]):.3g} "
                f"(line {hi + 2}): check those rows"
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
