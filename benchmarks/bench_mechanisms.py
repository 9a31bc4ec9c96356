"""Benchmark: build and analyse a CMO graph from 20,000 synthetic codings over 500 concepts.

Run: ``.venv/bin/python benchmarks/bench_mechanisms.py`` (target: build + analysis < 10 s).
"""

from __future__ import annotations

import platform
import time

from emmie.mechanisms.analysis import (
    configurations,
    contested_links,
    demi_regularities,
    gaps,
    moderating_contexts,
    single_study_links,
)
from emmie.mechanisms.graph import build_graph
from emmie.mechanisms.stage import MAX_CONFIGURATIONS
from emmie.mechanisms.synthetic import synthetic_codings
from emmie.mechanisms.theory import compare_with_theory, links_beyond_theory

N_CODINGS = 20_000
N_CONCEPTS = 500
TARGET_S = 10.0


def main() -> int:
    data = synthetic_codings(N_CODINGS, N_CONCEPTS, seed=2015)
    t0 = time.perf_counter()
    G = build_graph(data.cmo, data.vocabulary, data.studies)
    t1 = time.perf_counter()
    mechanisms = sorted(n for n, d in G.nodes(data=True) if d["kind"] == "mechanism")
    outcomes = sorted(n for n, d in G.nodes(data=True) if d["kind"] == "outcome")
    propositions = [
        {"id": f"P{i}", "statement": "", "mechanism": m, "outcome": o}
        for i, (m, o) in enumerate(zip(mechanisms[:50], outcomes * 5, strict=False))
    ]
    steps = {
        "configurations": lambda: configurations(G, limit=MAX_CONFIGURATIONS),
        "demi_regularities": lambda: demi_regularities(G),
        "contested_links": lambda: contested_links(G),
        "single_study_links": lambda: single_study_links(G),
        "gaps": lambda: gaps(G),
        "moderating_contexts": lambda: moderating_contexts(G),
        "compare_with_theory": lambda: compare_with_theory(G, propositions),
        "links_beyond_theory": lambda: links_beyond_theory(G, propositions),
    }
    times = {}
    for name, step in steps.items():
        s = time.perf_counter()
        step()
        times[name] = time.perf_counter() - s
    total = time.perf_counter() - t0
    print(f"machine: {platform.machine()} {platform.processor() or ''} python {platform.python_version()}")
    print(f"graph: {G.number_of_nodes()} nodes, {G.number_of_edges()} edges from {N_CODINGS} codings")
    print(f"build_graph: {t1 - t0:.2f} s")
    for name, t in times.items():
        print(f"{name}: {t:.2f} s")
    print(f"total build + analysis: {total:.2f} s (target < {TARGET_S:.0f} s): {'OK' if total < TARGET_S else 'SLOW'}")
    return 0 if total < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
