"""Benchmarks of the Effect engine.

Run ``python benchmarks/bench_effect.py``; prints a table and writes ``benchmarks/results/effect.json``.

1. 1,000 meta-analyses of k = 20 (REML, z): ``meta_analysis_grouped`` vs a loop of ``meta_analysis``
   vs a loop of statsmodels ``combine_effects`` (Paule-Mandel, its closest estimator: it has no REML)
   vs a loop of R metafor ``rma(method="REML")`` timed inside R with ``system.time`` (when Rscript exists).
2. Single REML fits at k = 2,000 and k = 1,000,000 with peak traced memory (tracemalloc).
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from emmie.effect import meta_analysis, meta_analysis_grouped  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "effect.json"


def make_groups(n_groups: int, k: int, seed: int = 2024) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), k)
    vi = rng.uniform(0.01, 0.2, n_groups * k)
    theta = rng.normal(0.2, 0.1, n_groups)[g]
    tau = np.sqrt(rng.uniform(0.0, 0.1, n_groups))[g]
    yi = rng.normal(theta, np.sqrt(vi + tau**2))
    return pd.DataFrame({"g": g, "yi": yi, "vi": vi})


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_batch(df: pd.DataFrame) -> dict[str, float | None]:
    groups = [(sub.yi.to_numpy(), sub.vi.to_numpy()) for _, sub in df.groupby("g")]
    res: dict[str, float | None] = {}
    res["grouped"] = best_of(lambda: meta_analysis_grouped(df, "g", method="REML"))
    res["loop_meta_analysis"] = best_of(lambda: [meta_analysis(y, v, method="REML") for y, v in groups], repeat=1)
    try:
        from statsmodels.stats.meta_analysis import combine_effects

        res["loop_statsmodels_pm"] = best_of(
            lambda: [combine_effects(y, v, method_re="iterated") for y, v in groups], repeat=1
        )
    except ImportError:
        res["loop_statsmodels_pm"] = None
    res["loop_metafor"] = bench_metafor(df)
    return res


def bench_metafor(df: pd.DataFrame) -> float | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "groups.csv"
        df.to_csv(path, index=False)
        script = (
            "suppressMessages(library(metafor)); d <- read.csv(commandArgs(TRUE)[1]); s <- split(d, d$g); "
            "ctl <- list(stepadj=0.5, maxiter=2000); "
            "t <- system.time(for (x in s) try(rma(x$yi, x$vi, method='REML', control=ctl), silent=TRUE))[['elapsed']]; cat(t)"
        )
        try:
            out = subprocess.run(
                ["Rscript", "-e", script, str(path)], capture_output=True, text=True, check=True, timeout=600
            )
        except (subprocess.SubprocessError, OSError):
            return None
        try:
            return float(out.stdout.strip().split()[-1])
        except (ValueError, IndexError):
            return None


METAFOR_SINGLE_MAX_K = 2_000  # rma() builds k x k matrices: k = 1e6 would need terabytes


def bench_single(k: int) -> dict[str, float | None]:
    rng = np.random.default_rng(k)
    vi = rng.uniform(0.01, 0.2, k)
    yi = rng.normal(0.2, np.sqrt(vi + 0.05))
    meta_analysis(yi[:100], vi[:100])  # warm-up
    t = best_of(lambda: meta_analysis(yi, vi, method="REML"), repeat=3)
    tracemalloc.start()
    meta_analysis(yi, vi, method="REML")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    try:
        from statsmodels.stats.meta_analysis import combine_effects

        t_sm = best_of(lambda: combine_effects(yi, vi, method_re="iterated"), repeat=3)
    except ImportError:
        t_sm = None
    t_r = bench_metafor(pd.DataFrame({"g": 0, "yi": yi, "vi": vi})) if k <= METAFOR_SINGLE_MAX_K else None
    return {
        "seconds": t,
        "peak_mb": peak / 2**20,
        "input_mb": (yi.nbytes + vi.nbytes) / 2**20,
        "statsmodels_pm_seconds": t_sm,
        "metafor_seconds": t_r,
    }


def main() -> int:
    df = make_groups(1000, 20)
    meta_analysis_grouped(df.head(200), "g")  # warm-up
    batch = bench_batch(df)
    singles = {str(k): bench_single(k) for k in (2_000, 1_000_000, 10_000_000)}
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": __import__("os").cpu_count(),
        },
        "batch_1000_k20_reml_seconds": batch,
        "speedup_grouped_vs": {
            name: (t / batch["grouped"] if t else None) for name, t in batch.items() if name != "grouped"
        },
        "single_reml": singles,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(f"{'1,000 meta-analyses, k = 20, REML':<40} {'seconds':>10} {'grouped is x faster':>20}")
    for name, t in batch.items():
        sp = "" if name == "grouped" or not t else f"{t / batch['grouped']:.1f}"
        print(f"{name:<40} {('n/a' if t is None else f'{t:.4f}'):>10} {sp:>20}")
    print(f"\n{'single REML fit':<24} {'emmie s':>10} {'peak MB':>10} {'statsmodels PM s':>18} {'metafor s':>10}")
    for k, r in singles.items():
        sm = "n/a" if r["statsmodels_pm_seconds"] is None else f"{r['statsmodels_pm_seconds']:.4f}"
        mf = "n/a" if r["metafor_seconds"] is None else f"{r['metafor_seconds']:.2f}"
        print(f"k = {int(k):<20,} {r['seconds']:>10.4f} {r['peak_mb']:>10.1f} {sm:>18} {mf:>10}")
    print(f"\nwritten {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
