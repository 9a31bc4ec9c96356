"""The CMO graph as GraphML, node-link JSON and an edge-list table.

GraphML has no list type: list attributes are written as ``;``-joined strings (ids
never contain ``;``) and the dictionaries held as graph attributes as JSON text;
:func:`from_graphml` restores both.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any

import networkx as nx
import pandas as pd

from emmie.mechanisms.graph import EDGE_LIST_ATTRS, NODE_LIST_ATTRS

_SEP = ";"
_GRAPH_JSON_ATTRS = ("codings", "studies", "weights")


def _flat(attrs: dict[str, Any], list_attrs: tuple[str, ...]) -> dict[str, Any]:
    return {k: _SEP.join(v) if k in list_attrs else v for k, v in attrs.items()}


def _unflat(attrs: dict[str, Any], list_attrs: tuple[str, ...]) -> dict[str, Any]:
    return {k: ([s for s in str(v).split(_SEP) if s] if k in list_attrs else v) for k, v in attrs.items()}


def to_graphml(G: nx.DiGraph) -> bytes:
    """GraphML of the CMO graph (node attribute ``kind``, edge attributes
    ``supporting_studies``, ``contradicting_studies``, ``refining_studies``,
    ``strength`` and the rest), as UTF-8 bytes."""
    H = nx.DiGraph()
    for k in sorted(G.graph):
        value = G.graph[k]
        H.graph[k] = json.dumps(value, sort_keys=True) if k in _GRAPH_JSON_ATTRS else value
    for n, d in G.nodes(data=True):
        H.add_node(n, **_flat(d, NODE_LIST_ATTRS))
    for u, v, d in G.edges(data=True):
        H.add_edge(u, v, **_flat(d, EDGE_LIST_ATTRS))
    buf = io.BytesIO()
    nx.write_graphml(H, buf, encoding="utf-8", prettyprint=True)
    return buf.getvalue()


def from_graphml(data: bytes | str) -> nx.DiGraph:
    """Read GraphML written by :func:`to_graphml` back into the same graph."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    H = nx.read_graphml(io.BytesIO(raw), node_type=str, force_multigraph=False)
    G = nx.DiGraph()
    for k, v in H.graph.items():
        if k in ("node_default", "edge_default"):
            continue
        G.graph[k] = json.loads(v) if k in _GRAPH_JSON_ATTRS else v
    for n, d in H.nodes(data=True):
        G.add_node(n, **_unflat(d, NODE_LIST_ATTRS))
    for u, v, d in H.edges(data=True):
        G.add_edge(u, v, **_unflat(d, EDGE_LIST_ATTRS))
    return G


def read_graphml(path: str | os.PathLike) -> nx.DiGraph:
    """Read a ``cmo.graphml`` file (see :func:`from_graphml`)."""
    with open(path, "rb") as fh:
        return from_graphml(fh.read())


def to_node_link(G: nx.DiGraph) -> dict[str, Any]:
    """Node-link data (``nodes``, ``edges``; networkx's format) of the graph, lists kept as lists."""
    return nx.node_link_data(G, edges="edges")


def edge_table(G: nx.DiGraph) -> pd.DataFrame:
    """One row per link, sorted by (source, target); list columns ``;``-joined."""
    columns = [
        "source",
        "target",
        "source_kind",
        "target_kind",
        "source_label",
        "target_label",
        "relation",
        "n_studies",
        "strength",
        "supporting_studies",
        "contradicting_studies",
        "refining_studies",
        "best_evidence",
        "evidence",
        "cmo_ids",
    ]
    rows = []
    for u, v in sorted(G.edges):
        d = G.edges[u, v]
        rows.append(
            {
                "source": u,
                "target": v,
                "source_kind": G.nodes[u]["kind"],
                "target_kind": G.nodes[v]["kind"],
                "source_label": G.nodes[u]["label"],
                "target_label": G.nodes[v]["label"],
                "relation": d["relation"],
                "n_studies": int(d["n_studies"]),
                "strength": float(d["strength"]),
                "supporting_studies": _SEP.join(d["supporting_studies"]),
                "contradicting_studies": _SEP.join(d["contradicting_studies"]),
                "refining_studies": _SEP.join(d["refining_studies"]),
                "best_evidence": d["best_evidence"],
                "evidence": _SEP.join(d["evidence"]),
                "cmo_ids": _SEP.join(d["cmo_ids"]),
            }
        )
    return pd.DataFrame(rows, columns=columns)
