import io

import networkx as nx
import pandas as pd

from emmie.io import write_csv
from emmie.mechanisms.export import edge_table, read_graphml, to_graphml, to_node_link
from emmie.mechanisms.graph import build_graph


def _same(G: nx.DiGraph, H: nx.DiGraph) -> None:
    assert list(G.nodes) == list(H.nodes)
    assert dict(G.nodes(data=True)) == dict(H.nodes(data=True))
    assert list(G.edges) == list(H.edges)
    for u, v in G.edges:
        assert G.edges[u, v] == H.edges[u, v], (u, v)
    assert G.graph == H.graph


def test_graphml_round_trip_restores_lists(small, tmp_path):
    G = build_graph(*small)
    G.graph["codings"]["r1"]["excerpt"] = 'quote "x" </script> & ; semicolon'
    data = to_graphml(G)
    path = tmp_path / "cmo.graphml"
    path.write_bytes(data)
    H = read_graphml(path)
    _same(G, H)
    assert H.edges["c1", "m1"]["supporting_studies"] == ["s1", "s3"]
    assert H.edges["m1", "m2"]["refining_studies"] == []
    assert isinstance(H.edges["c1", "m1"]["strength"], float)


def test_graphml_is_plain_graphml_for_other_tools(small):
    data = to_graphml(build_graph(*small))
    raw = nx.read_graphml(io.BytesIO(data))  # networkx alone, no emmie decoding
    assert raw.nodes["k1"]["kind"] == "component"
    assert raw.edges["c1", "m1"]["supporting_studies"] == "s1;s3"
    assert raw.edges["c1", "m1"]["contradicting_studies"] == "s4"
    assert raw.edges["c1", "m1"]["strength"] == 0.49
    assert to_graphml(build_graph(*small)) == data  # reproducible


def test_node_link_and_edge_table(small, tmp_path):
    G = build_graph(*small)
    nl = to_node_link(G)
    assert {n["id"] for n in nl["nodes"]} == set(G.nodes)
    assert len(nl["edges"]) == G.number_of_edges()
    assert nx.node_link_graph(nl, edges="edges").edges["c1", "m1"]["supporting_studies"] == ["s1", "s3"]
    table = edge_table(G)
    assert list(table[["source", "target"]].itertuples(index=False, name=None)) == sorted(G.edges)
    row = table.set_index(["source", "target"]).loc[("c1", "m1")]
    assert row["contradicting_studies"] == "s4" and row["n_studies"] == 3
    write_csv(tmp_path / "e.csv", table)
    back = pd.read_csv(tmp_path / "e.csv", keep_default_na=False)
    assert back.shape == table.shape
