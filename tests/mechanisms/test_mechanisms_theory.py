import pytest

from emmie.errors import DataError
from emmie.mechanisms.graph import build_graph
from emmie.mechanisms.theory import compare_with_theory, links_beyond_theory

from mechanisms_tables import cmo, studies, vocabulary


@pytest.fixture
def graph():
    voc = vocabulary(
        {
            "c1": "context",
            "c2": "context",
            "k1": "component",
            "k2": "component",
            "m1": "mechanism",
            "m2": "mechanism",
            "m3": "mechanism",
            "o1": "outcome",
            "o2": "outcome",
        }
    )
    st = studies({s: ("high", "high") for s in ("s1", "s2", "s3", "s4", "s5")})
    rows = cmo(
        [
            {"study_id": "s1", "context": "c1", "mechanism": "m1", "outcome": "o1"},
            {"study_id": "s2", "component": "k1", "mechanism": "m1", "stance": "refines"},
            {"study_id": "s3", "context": "c2", "mechanism": "m2", "stance": "contradicts"},
            {"study_id": "s4", "context": "c1", "mechanism": "m1", "stance": "contradicts"},
            {"study_id": "s5", "mechanism": "m2", "outcome": "o2"},
        ]
    )
    return build_graph(rows, voc, st)


PROPOSITIONS = [
    {"id": "P1", "statement": "m1 produces o1", "mechanism": "m1", "outcome": "o1"},
    {"id": "P2", "statement": "k1 triggers m1 for o1", "component": "k1", "mechanism": "m1", "outcome": "o1"},
    {"id": "P3", "statement": "c2 activates m2", "context": "c2", "mechanism": "m2", "outcome": "o2"},
    {"id": "P4", "statement": "k2 triggers m1 for o1", "component": "k2", "mechanism": "m1", "outcome": "o1"},
    {"id": "P5", "statement": "in c1, m1 produces o1", "context": "c1", "mechanism": "m1", "outcome": "o1"},
    {"id": "P6", "statement": "m3 produces o2", "mechanism": "m3", "outcome": "o2"},
]


def test_each_class(graph):
    res = compare_with_theory(graph, PROPOSITIONS)
    assert [(r.id, r.status) for r in res] == [
        ("P1", "confirmed"),
        ("P2", "refined"),
        ("P3", "contradicted"),  # c2 -> m2 contradicted, m2 -> o2 supported
        ("P4", "partly_supported"),  # k2 -> m1 has no evidence
        ("P5", "partly_supported"),  # c1 -> m1 contested
        ("P6", "untested"),
    ]
    p2 = res[1]
    assert [(lk.source, lk.target, lk.status) for lk in p2.links] == [
        ("k1", "m1", "refined"),
        ("m1", "o1", "supported"),
    ]
    assert p2.studies == ("s1", "s2")
    assert res[2].links[0].contradicting_studies == ("s3",)
    assert res[4].links[0].status == "contested"
    assert res[5].studies == ()


def test_links_beyond_theory(graph):
    beyond = links_beyond_theory(graph, PROPOSITIONS[:2])
    assert {(lk.source, lk.target) for lk in beyond} == {("c1", "m1"), ("c2", "m2"), ("m2", "o2")}
    assert beyond[0].source == "c1"  # two studies: first
    assert links_beyond_theory(graph, PROPOSITIONS) == []


def test_unknown_concept_in_a_proposition(graph):
    with pytest.raises(DataError, match=r"initial_theory\[0\]\.outcome"):
        compare_with_theory(graph, [{"id": "P", "statement": "x", "mechanism": "m1", "outcome": "m2"}])
