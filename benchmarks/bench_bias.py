"""Benchmark of the small-study adjustments (issue 17): ``selection_model`` beside metafor's ``selmodel`` on the same
data in one run, and the Bayesian model averaging engine at k = 100 and 1,000.

    .venv/bin/python benchmarks/bench_bias.py

Times ``selection_model`` (best of three after a warm-up) and metafor's ``selmodel`` (inside R with ``system.time``,
at metafor's default settings and at the tight settings of the test references) on dat.hackshaw1998
(tests/fixtures/metafor/selmodel/selmodel.json), and ``bayesian_model_averaging`` on simulated data. Prints JSON lines
and writes ``benchmarks/results/bias.json`` (not committed).
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

from emmie.effect.bma import bayesian_model_averaging
from emmie.effect.selection import selection_model

ROOT = Path(__file__).resolve().parents[1]
REF = json.loads((ROOT / "tests" / "fixtures" / "metafor" / "selmodel" / "selmodel.json").read_text())
R_CODE = r"""
suppressMessages(library(metafor))
res <- rma(yi, vi, data = dat.hackshaw1998, method = "ML")
tight <- list(reltol = 1e-14, maxit = 100000, intCtrl = list(rel.tol = 1e-12, subdivisions = 10000L))
time1 <- function(f) { f(); min(replicate(3, system.time(f())[["elapsed"]])) }
out <- list(
  stepfun = time1(function() selmodel(res, type = "stepfun", steps = c(0.05, 0.10, 0.50, 1))),
  stepfun_tight = time1(function() selmodel(res, type = "stepfun", steps = c(0.05, 0.10, 0.50, 1), control = tight)),
  halfnorm = time1(function() selmodel(res, type = "halfnorm")),
  halfnorm_tight = time1(function() selmodel(res, type = "halfnorm", control = tight)),
  beta = time1(function() selmodel(res, type = "beta"))
)
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = NA))
"""


def best(fn, repeat: int = 3) -> float:
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    y, v = REF["hack"]["yi"], REF["hack"]["vi"]
    emmie = {
        "stepfun": best(lambda: selection_model(y, v, type="stepfun", steps=(0.05, 0.10, 0.50, 1))),
        "halfnorm": best(lambda: selection_model(y, v, type="halfnorm")),
        "beta": best(lambda: selection_model(y, v, type="beta")),
    }
    metafor = None
    if shutil.which("Rscript"):
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "sel.R"
            script.write_text(R_CODE)
            proc = subprocess.run(["Rscript", str(script)], capture_output=True, text=True)
        metafor = json.loads(proc.stdout) if proc.returncode == 0 else None
    rng = np.random.default_rng(2026)
    bma = {}
    for k in (100, 1000):
        vi = rng.uniform(0.01, 0.1, k)
        yi = 0.2 + rng.normal(0, 0.1, k) + rng.normal(0, np.sqrt(vi))
        bma[k] = best(lambda yi=yi, vi=vi: bayesian_model_averaging(yi, vi), repeat=10)
    result = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "python": platform.python_version(),
        "selection_model_seconds": emmie,
        "metafor_selmodel_seconds": metafor,
        "bma_seconds": bma,
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results" / "bias.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
