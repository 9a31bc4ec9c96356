"""Benchmark of the Bayesian engine: exact-engine time per analysis for k = 2, 10, 100, and one NUTS run.

Run: ``python benchmarks/bench_bayes.py`` (from the repository root, with the project's virtual environment).
Prints a Markdown table for the "Bayesian engine" section of ``benchmarks/README.md``. Data are simulated with a
fixed seed (log odds ratio-like: true mean 0.3, tau 0.3, within-study variances uniform on [0.01, 0.3]); priors are
``default_priors("OR")``.
"""

from __future__ import annotations

import datetime
import platform
import statistics
import time

import numpy as np

from emmie.effect.bayes import bayesian_meta_analysis, default_priors

PRIORS = {k: v for k, v in default_priors("OR").items() if k != "source"}
NUTS_K = 10


def simulate(k: int, seed: int = 2024) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vi = rng.uniform(0.01, 0.3, k)
    yi = rng.normal(0.3, 0.3, k) + rng.normal(0.0, np.sqrt(vi))
    return yi, vi


def time_exact(k: int, repeats: int = 50) -> float:
    """Median wall time of one exact analysis, in seconds."""
    yi, vi = simulate(k)
    bayesian_meta_analysis(yi, vi, **PRIORS)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        bayesian_meta_analysis(yi, vi, **PRIORS)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_nuts(k: int) -> tuple[float, float]:
    """Wall time of a first NUTS run (includes PyTensor compilation unless cached) and of a second one."""
    yi, vi = simulate(k)
    out = []
    for seed in (1, 2):
        start = time.perf_counter()
        bayesian_meta_analysis(yi, vi, **PRIORS, engine="nuts", seed=seed, draws=1000, tune=1000, chains=4)
        out.append(time.perf_counter() - start)
    return out[0], out[1]


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main() -> None:
    exact = {k: time_exact(k) for k in (2, 10, 100)}
    first, second = time_nuts(NUTS_K)
    print(f"Machine: {cpu_name()}, {platform.system()} {platform.release()}, Python {platform.python_version()}")
    print(f"Date: {datetime.date.today().isoformat()}")
    print()
    print("| analysis | time per analysis | NUTS / exact (k = 10) |")
    print("|---|---|---|")
    for k, t in exact.items():
        print(f"| exact engine, k = {k} | {1000 * t:.1f} ms (median of 50) | |")
    print(
        f"| NUTS, k = {NUTS_K}, 4 chains x 1000 draws (+1000 tuning), first run | {first:.1f} s | {first / exact[10]:,.0f}x |"
    )
    print(f"| NUTS, same, second run (model compiled) | {second:.1f} s | {second / exact[10]:,.0f}x |")


if __name__ == "__main__":
    main()
