"""Benchmark of multilevel models: ``meta_analysis_mv`` beside metafor's ``rma.mv`` on the same data, in one run.

    .venv/bin/python benchmarks/bench_mv.py [--sizes 500 2000 10000] [--dense-max 500]

Simulates a three-level review (5 effect sizes per study; sigma2 = 0.04 between studies, 0.01 within) at each k and
fits ``random = ~ 1 | study/es`` by REML: emmie in this process (best of three, after one warm-up fit), metafor with
``sparse = TRUE`` and, up to ``--dense-max``, with its default dense matrices, each timed inside R with
``system.time`` (when ``Rscript`` and metafor are installed). Prints a table, checks that the variance components
agree, and writes ``benchmarks/results/mv.json`` (not committed). ``--large`` sizes (default 100,000 effect sizes in
20,000 studies) are run by emmie alone in a fresh process: the fit, CR2, and the Effect stage's whole CHE analysis,
with the process's peak memory.
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

import numpy as np
import pandas as pd

from emmie.effect.multilevel import meta_analysis_mv

ROOT = Path(__file__).resolve().parents[1]

R_CODE = r"""
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
dense <- args[2] == "TRUE"
out <- list()
t <- system.time(fit <- rma.mv(yi, vi, random = ~ 1 | study/es, data = dat, sparse = TRUE))[["elapsed"]]
out$sparse <- list(seconds = t, sigma2 = fit$sigma2)
if (dense) {
  t <- system.time(fit <- rma.mv(yi, vi, random = ~ 1 | study/es, data = dat))[["elapsed"]]
  out$dense <- list(seconds = t, sigma2 = fit$sigma2)
}
cat(jsonlite::toJSON(out, digits = NA, auto_unbox = TRUE))
"""


def simulate(k: int, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    study = np.repeat(np.arange(k // 5), 5)
    vi = rng.uniform(0.01, 0.1, study.size)
    yi = 0.2 + rng.normal(0, 0.2, k // 5)[study] + rng.normal(0, 0.1, study.size) + rng.normal(0, np.sqrt(vi))
    return pd.DataFrame({"study": study, "es": np.arange(study.size), "yi": yi, "vi": vi})


def emmie_seconds(dat: pd.DataFrame) -> tuple[float, list[float]]:
    fit = meta_analysis_mv(dat["yi"], dat["vi"], random="~ 1 | study/es", data=dat)
    best = np.inf
    for _ in range(3):
        start = time.perf_counter()
        fit = meta_analysis_mv(dat["yi"], dat["vi"], random="~ 1 | study/es", data=dat)
        best = min(best, time.perf_counter() - start)
    return best, fit.sigma2.tolist()


def metafor(dat: pd.DataFrame, dense: bool) -> dict | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv, script = Path(tmp) / "dat.csv", Path(tmp) / "fit.R"
        dat.to_csv(csv, index=False)
        script.write_text(R_CODE)
        proc = subprocess.run(
            ["Rscript", str(script), str(csv), "TRUE" if dense else "FALSE"], capture_output=True, text=True
        )
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)


CHILD = r"""
import json, resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[2])
from bench_mv import simulate
from emmie.effect.dependent import che_analysis
from emmie.effect.multilevel import meta_analysis_mv
dat = simulate(int(sys.argv[1]))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
fit = meta_analysis_mv(dat["yi"], dat["vi"], random="~ 1 | study/es", data=dat)
t1 = time.perf_counter()
robust = fit.robust()
t2 = time.perf_counter()
che = che_analysis(dat["yi"], dat["vi"], dat["study"], dat["es"], rho=0.6)
t3 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"fit_seconds": t1 - t0, "cr2_seconds": t2 - t1, "che_cr2_i2_weights_seconds": t3 - t2,
                  "peak_mb": peak, "mb_before_fit": base, "sigma2": fit.sigma2.tolist(),
                  "cr2_se": float(robust.se[0]), "che_estimate": che.fit.estimate}))
"""


def large(k: int) -> dict:
    """emmie alone at a size metafor cannot reach, in a fresh process: time of the fit, of CR2, and of the Effect
    stage's whole CHE analysis (sparse V, fit, CR2, I², weights), and the process's peak memory."""
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(k), str(Path(__file__).resolve().parent)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {"k": k, **json.loads(proc.stdout)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--dense-max", type=int, default=500)
    parser.add_argument("--large", type=int, nargs="*", default=[100_000], help="emmie alone, in a fresh process")
    args = parser.parse_args(argv)
    rows = []
    for k in args.sizes:
        dat = simulate(k)
        seconds, sigma2 = emmie_seconds(dat)
        ref = metafor(dat, dense=k <= args.dense_max)
        row = {"k": k, "emmie_seconds": round(seconds, 4), "emmie_sigma2": sigma2}
        if ref is not None:
            for kind, got in ref.items():
                row[f"metafor_{kind}_seconds"] = got["seconds"]
                row[f"metafor_{kind}_sigma2_max_rel_diff"] = float(
                    np.max(np.abs(np.array(sigma2) - np.array(got["sigma2"])) / np.array(got["sigma2"]))
                )
        rows.append(row)
        print(json.dumps(row))
    big = []
    for k in args.large:
        row = large(k)
        big.append(row)
        print(json.dumps(row))
    result = {
        "large": big,
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "rows": rows,
    }
    out = ROOT / "benchmarks" / "results" / "mv.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
