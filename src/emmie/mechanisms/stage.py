"""The Mechanisms stage: build the CMO graph of a review, analyse it, write the results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx

from emmie.ingest.review import Review
from emmie.ingest.schema import CMO_EVIDENCE, CONCEPT_KINDS
from emmie.io import atomic_write_bytes, atomic_write_text, to_json, write_csv, write_json
from emmie.mechanisms.analysis import (
    configurations,
    contested_links,
    demi_regularities,
    gaps,
    moderating_contexts,
    single_study_links,
)
from emmie.mechanisms.export import edge_table, to_graphml, to_node_link
from emmie.mechanisms.graph import build_graph
from emmie.mechanisms.layout import layered_layout
from emmie.mechanisms.plots import layered_svg, view_elements
from emmie.mechanisms.theory import compare_with_theory, links_beyond_theory

#: Most configurations written to ``mechanisms.json`` (the best, by weakest-link support).
MAX_CONFIGURATIONS = 100


def summarise(G: nx.DiGraph, *, review_id: str, propositions: list[dict[str, Any]]) -> dict[str, Any]:
    """The content of ``mechanisms.json`` for a built graph (pure; plain JSON types only)."""
    codings = G.graph["codings"]
    nodes = {k: 0 for k in CONCEPT_KINDS}
    for _, d in G.nodes(data=True):
        nodes[d["kind"]] += 1
    evidence = {k: 0 for k in CMO_EVIDENCE}
    for c in codings.values():
        evidence[c["evidence"]] += 1
    summary = {
        "review": review_id,
        "n_codings": len(codings),
        "n_studies": len({c["study_id"] for c in codings.values()}),
        "nodes": nodes,
        "configurations": [c.to_dict() for c in configurations(G, limit=MAX_CONFIGURATIONS)],
        "demi_regularities": [d.to_dict() for d in demi_regularities(G)],
        "contested": [lk.to_dict() for lk in contested_links(G)],
        "single_study": [lk.to_dict() for lk in single_study_links(G)],
        "gaps": gaps(G).to_dict(),
        "moderating_contexts": [m.to_dict() for m in moderating_contexts(G)],
        "theory": [p.to_dict() for p in compare_with_theory(G, propositions)],
        "beyond_theory": [lk.to_dict() for lk in links_beyond_theory(G, propositions)],
        "evidence": evidence,
    }
    return json.loads(to_json(summary))


def run(review: Review, outdir: Path) -> dict[str, Any]:
    """Build, analyse and draw the CMO graph of ``review`` into ``outdir``.

    Writes ``cmo.graphml``, ``cmo.json`` (node-link), ``cmo_edges.csv``, ``cmo.svg``,
    ``cmo_interactive.html`` (an HTML fragment with cytoscape.js inlined, container id
    ``cmo-graph``) and ``mechanisms.json`` (keys ``review``, ``n_codings``,
    ``n_studies``, ``nodes``, ``configurations`` (best :data:`MAX_CONFIGURATIONS`),
    ``demi_regularities``, ``contested``, ``single_study``, ``gaps``,
    ``moderating_contexts``, ``theory``, ``beyond_theory``, ``evidence``). Every file
    is byte-identical across runs on the same input.

    Returns
    -------
    dict
        The content of ``mechanisms.json``.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    G = build_graph(review.cmo, review.vocabulary, review.studies, weights=review.config.get("cmo_weights"))
    propositions = list(review.config.get("initial_theory") or [])
    summary = summarise(G, review_id=review.id, propositions=propositions)
    lay = layered_layout(G)
    atomic_write_bytes(outdir / "cmo.graphml", to_graphml(G))
    atomic_write_text(outdir / "cmo.json", to_json(to_node_link(G)))
    write_csv(outdir / "cmo_edges.csv", edge_table(G))
    atomic_write_text(outdir / "cmo.svg", layered_svg(G, layout=lay))
    atomic_write_text(outdir / "cmo_view.json", to_json(view_elements(G, lay)))
    write_json(outdir / "mechanisms.json", summary)
    return summary
