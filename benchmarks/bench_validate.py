"""Wall time and peak memory of ``emmie validate`` on a large synthetic review.

    .venv/bin/python benchmarks/bench_validate.py [--studies 100000] [--outcomes 10] [--tau 0.2]

Writes the synthetic review (``benchmarks/synthetic_review.py``: ``studies x outcomes`` effect sizes, by
default 1,000,000) to a temporary folder with a copy of ``data/_reference``, runs ``emmie validate`` on it
in a fresh Python process and reports its wall time and peak resident memory (``getrusage`` in that process), and
then the Effect stage (``emmie stage effect``: it reads the review validate kept, pools every outcome and draws
its figures) in another, as the pipeline runs them. The
same run is timed for a plain ``pandas.read_csv`` of the same ``effects.csv`` (all columns as text), the
floor any CSV-based validator starts from. Writes ``benchmarks/results/validate.json`` (not committed).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(code: str, cwd: Path) -> dict[str, float | int]:
    """Wall seconds and peak resident memory (MB) of ``code`` run in a fresh Python process."""
    probe = (
        "\nimport resource, sys\nsys.stderr.write(f'\\nMAXRSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n')"
    )
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code + probe], cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    peak_kb = int(proc.stderr.rsplit("MAXRSS ", 1)[1].split()[0])
    return {"seconds": round(seconds, 2), "peak_mb": round(peak_kb / 1024)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--outcomes", type=int, default=10)
    parser.add_argument("--tau", type=float, default=0.2, help="SD of the true effects (0: no heterogeneity)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        parent = Path(tmp)
        # in a child process: a large parent's peak memory would be inherited by the measured children
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "synthetic_review.py"),
                str(parent),
                "--studies",
                str(args.studies),
                "--outcomes",
                str(args.outcomes),
                "--tau",
                str(args.tau),
            ],
            check=True,
            capture_output=True,
        )
        folder = parent / "synthetic"
        shutil.copytree(ROOT / "data" / "_reference", parent / "_reference")
        size = (folder / "effects.csv").stat().st_size
        validate = timed(
            "from emmie.cli import main\nassert main(['validate', 'synthetic', '--validated', 'validated.pickle']) == 0",
            parent,
        )
        read = timed(
            "import pandas as pd\npd.read_csv('synthetic/effects.csv', dtype=str, keep_default_na=False)", parent
        )
        # The Effect stage as the pipeline runs it: the review validate kept, then every analysis and figure.
        effect = timed(
            "from emmie.cli import main\n"
            "assert main(['stage', 'effect', 'synthetic', 'effect', '--validated', 'validated.pickle']) == 0",
            parent,
        )
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "effects": args.studies * args.outcomes,
        "studies": args.studies,
        "tau": args.tau,
        "effects_csv_mb": round(size / 1e6),
        "emmie_validate": validate,
        "pandas_read_csv_as_text": read,
        "emmie_stage_effect": effect,
    }
    out = ROOT / "benchmarks" / "results" / "validate.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
