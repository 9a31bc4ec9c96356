import pytest

from emmie.errors import DataError
from emmie.mechanisms.graph import build_graph, chain_links, resolve_weights

from mechanisms_tables import cmo, studies, vocabulary


def test_nodes_are_the_vocabulary_with_kinds(small):
    G = build_graph(*small)
    assert set(G.nodes) == {"c1", "c2", "c3", "k1", "m1", "m2", "m3", "m4", "o1", "o2", "o3"}
    assert G.nodes["k1"]["kind"] == "component"
    assert G.nodes["m1"]["label"] == "M1"
    assert G.nodes["m1"]["studies"] == ["s1", "s2", "s3", "s4"]
    assert G.nodes["m4"]["studies"] == []


def test_edges_relations_and_studies(small):
    G = build_graph(*small)
    assert set(G.edges) == {("k1", "m1"), ("c1", "m1"), ("c2", "m1"), ("m1", "o1"), ("m1", "m2"), ("m2", "o2")}
    e = G.edges["c1", "m1"]
    assert e["relation"] == "conditions"
    assert e["supporting_studies"] == ["s1", "s3"]
    assert e["contradicting_studies"] == ["s4"]
    assert e["refining_studies"] == []
    assert e["cmo_ids"] == ["r1", "r3", "r4"]
    assert e["best_evidence"] == "tested"
    assert G.edges["k1", "m1"]["relation"] == "triggers"
    assert G.edges["m1", "m2"]["relation"] == "enables"
    # with `enables`, the outcome hangs off the end of the chain, not off the first mechanism
    assert G.edges["m2", "o2"]["relation"] == "generates"
    assert not G.has_edge("m1", "o2")


def test_strength_default_weights_and_a_study_counts_once(small):
    G = build_graph(*small)
    # s1 1.0*1.0 + s3 0.3*0.3 - s4 1.0*0.6
    assert G.edges["c1", "m1"]["strength"] == pytest.approx(1.0 + 0.09 - 0.6)
    # s1 codes m1 -> o1 twice (r1, r6) and counts once; s2 0.6*1.0
    assert G.edges["m1", "o1"]["strength"] == pytest.approx(1.6)
    assert G.edges["m1", "o1"]["n_studies"] == 2
    assert G.edges["m1", "o1"]["cmo_ids"] == ["r1", "r2", "r6"]


def test_strength_weights_from_review_yaml(small):
    rows, voc, st = small
    G = build_graph(rows, voc, st, weights={"rigour": {"low": 0.5}, "contradicts": -0.5})
    # s1 1.0 + s3 0.5*0.3 - 0.5 * s4 (1.0*0.6)
    assert G.edges["c1", "m1"]["strength"] == pytest.approx(1.0 + 0.15 - 0.3)
    assert G.graph["weights"]["rigour"] == {"high": 1.0, "moderate": 0.6, "low": 0.5}
    assert resolve_weights(None)["rigour"]["low"] == 0.3  # the default is not changed


def test_a_study_that_supports_and_contradicts_a_link_adds_nothing():
    voc = vocabulary({"c": "context", "m": "mechanism"})
    st = studies({"a": ("high", "high"), "b": ("moderate", "moderate")})
    rows = cmo(
        [
            {"study_id": "a", "context": "c", "mechanism": "m"},
            {"study_id": "a", "context": "c", "mechanism": "m", "stance": "contradicts"},
            {"study_id": "b", "context": "c", "mechanism": "m", "stance": "refines"},
        ]
    )
    e = build_graph(rows, voc, st).edges["c", "m"]
    assert e["strength"] == pytest.approx(0.36)
    assert e["supporting_studies"] == ["a"] and e["contradicting_studies"] == ["a"]
    assert e["n_studies"] == 2


def test_chain_links():
    assert chain_links(mechanism="m") == ()
    assert chain_links(mechanism="m", context="c", component="k", enables="m2", outcome="o") == (
        ("k", "m"),
        ("c", "m"),
        ("m", "m2"),
        ("m2", "o"),
    )


def test_bad_codings_are_reported_with_row_and_column(small):
    rows, voc, st = small
    rows = rows.copy()
    rows.loc[1, "context"] = "m2"  # a mechanism in the context column
    rows.loc[2, "study_id"] = "nobody"
    rows.loc[3, "stance"] = "maybe"
    with pytest.raises(DataError) as err:
        build_graph(rows, voc, st)
    text = str(err.value)
    assert "cmo.csv:3:context" in text and "kind `context`" in text
    assert "cmo.csv:4:study_id" in text
    assert "cmo.csv:5:stance" in text
    assert len(err.value.problems) == 3


def test_appraisal_without_weight_is_a_data_error(small):
    rows, voc, st = small
    st = st.copy()
    st.loc[0, "rigour"] = "excellent"
    with pytest.raises(DataError, match="studies.csv:2:rigour"):
        build_graph(rows, voc, st)


def test_empty_cmo_gives_isolated_vocabulary():
    voc = vocabulary({"c": "context", "m": "mechanism"})
    G = build_graph(cmo([]), voc, studies({"a": ("high", "high")}))
    assert G.number_of_nodes() == 2 and G.number_of_edges() == 0
    assert G.graph["codings"] == {}
