from emmie.mechanisms.analysis import (
    configurations,
    contested_links,
    demi_regularities,
    gaps,
    moderating_contexts,
    single_study_links,
)
from emmie.mechanisms.graph import build_graph

from mechanisms_tables import cmo, studies, vocabulary


def test_configurations_ranked_by_weakest_link(small):
    G = build_graph(*small)
    confs = configurations(G)
    assert [c.path for c in confs] == [
        ("c2", "m1", "o1"),  # weakest link 2 studies, strength 1.6
        ("c1", "m1", "o1"),  # weakest link 2 studies, strength 0.49 (c1 -> m1 is contested)
        ("k1", "m1", "o1"),  # weakest link 1 study
        ("c1", "m1", "m2", "o2"),
        ("c2", "m1", "m2", "o2"),
        ("k1", "m1", "m2", "o2"),
    ]
    assert [c.rank for c in confs] == [1, 2, 3, 4, 5, 6]
    top = confs[0]
    assert top.weakest_n_studies == 2
    assert top.weakest_strength == 1.6
    assert top.n_studies == 2
    assert top.complete_in == ("s1", "s2")
    assert confs[1].n_studies == 3 and confs[1].complete_in == ("s1",)
    assert confs[1].links[0].contradicting_studies == ("s4",)
    assert confs[3].labels == ("C1", "M1", "M2", "O2")


def test_configurations_options(small):
    G = build_graph(*small)
    assert [c.path for c in configurations(G, limit=2)] == [("c2", "m1", "o1"), ("c1", "m1", "o1")]
    only_c = configurations(G, start_kinds=("context",), max_mechanisms=1)
    assert [c.path for c in only_c] == [("c2", "m1", "o1"), ("c1", "m1", "o1")]


def test_configurations_skip_contradicted_links_and_cycles():
    voc = vocabulary({"c": "context", "m1": "mechanism", "m2": "mechanism", "o": "outcome"})
    st = studies({"a": ("high", "high"), "b": ("high", "high")})
    rows = cmo(
        [
            {"study_id": "a", "context": "c", "mechanism": "m1", "enables": "m2", "outcome": "o"},
            {"study_id": "a", "mechanism": "m2", "enables": "m1"},  # a cycle m1 <-> m2
            {"study_id": "b", "mechanism": "m1", "outcome": "o", "stance": "contradicts"},
        ]
    )
    G = build_graph(rows, voc, st)
    assert [c.path for c in configurations(G)] == [("c", "m1", "m2", "o")]


def test_demi_regularities(small):
    G = build_graph(*small)
    demi = demi_regularities(G)
    assert [d.mechanism for d in demi] == ["m1"]
    d = demi[0]
    assert d.n_contexts == 2 and d.n_studies == 3
    assert [(c.context, c.studies) for c in d.contexts] == [("c1", ("s1", "s3")), ("c2", ("s1", "s2"))]
    assert d.outcomes == ("o1",)
    assert demi_regularities(G, min_contexts=3) == []


def test_demi_regularity_needs_support_not_contradiction():
    voc = vocabulary({"c1": "context", "c2": "context", "m": "mechanism"})
    st = studies({"a": ("high", "high"), "b": ("high", "high")})
    rows = cmo(
        [
            {"study_id": "a", "context": "c1", "mechanism": "m"},
            {"study_id": "b", "context": "c2", "mechanism": "m", "stance": "contradicts"},
        ]
    )
    assert demi_regularities(build_graph(rows, voc, st)) == []


def test_contested_and_single_study_links(small):
    G = build_graph(*small)
    contested = contested_links(G)
    assert [(lk.source, lk.target) for lk in contested] == [("c1", "m1")]
    assert contested[0].positive_studies == ("s1", "s3")
    single = single_study_links(G)
    assert [(lk.source, lk.target) for lk in single] == [("k1", "m1"), ("m1", "m2"), ("m2", "o2")]
    assert single[0].supporting_studies == ("s1",)


def test_gaps(small):
    G = build_graph(*small)
    g = gaps(G)
    assert [c.id for c in g.mechanisms_without_outcome] == ["m3", "m4"]
    assert [c.id for c in g.outcomes_without_mechanism] == ["o3"]
    assert [c.id for c in g.mechanisms_without_trigger] == ["m3", "m4"]  # m2 is reached through m1
    assert [c.id for c in g.uncoded_concepts] == ["c3", "m4", "o3"]


def test_gap_when_the_only_link_to_an_outcome_is_contradicted():
    voc = vocabulary({"m": "mechanism", "o": "outcome"})
    rows = cmo([{"study_id": "a", "mechanism": "m", "outcome": "o", "stance": "contradicts"}])
    g = gaps(build_graph(rows, voc, studies({"a": ("high", "high")})))
    assert [c.id for c in g.mechanisms_without_outcome] == ["m"]
    assert [c.id for c in g.outcomes_without_mechanism] == ["o"]


def test_moderating_contexts(small):
    G = build_graph(*small)
    mods = moderating_contexts(G)
    assert [(m.context, m.mechanism, m.role) for m in mods] == [("c1", "m1", "mixed"), ("c2", "m1", "enables")]
    assert mods[0].enabling_studies == ("s1", "s3") and mods[0].blocking_studies == ("s4",)
    assert (mods[0].n_enabling, mods[0].n_blocking) == (2, 1)
    voc = vocabulary({"c": "context", "m": "mechanism"})
    rows = cmo([{"study_id": "a", "context": "c", "mechanism": "m", "stance": "contradicts"}])
    (only,) = moderating_contexts(build_graph(rows, voc, studies({"a": ("high", "high")})))
    assert only.role == "blocks" and only.strength == -1.0
    rows = cmo([{"study_id": "a", "context": "c", "mechanism": "m", "stance": "refines"}])
    (only,) = moderating_contexts(build_graph(rows, voc, studies({"a": ("high", "high")})))
    assert only.role == "refines" and only.refining_studies == ("a",) and only.enabling_studies == ()


def test_best_first_search_matches_brute_force_ranking():
    import itertools

    from emmie.mechanisms.synthetic import synthetic_codings

    r = synthetic_codings(120, 30, n_studies=12, p_enables=0.3, seed=7)
    G = build_graph(r.cmo, r.vocabulary, r.studies)
    kind = {n: d["kind"] for n, d in G.nodes(data=True)}

    def ok(u, v):
        d = G.edges[u, v]
        return bool(d["supporting_studies"] or d["refining_studies"])

    expected = []
    for path in itertools.chain.from_iterable(
        nx_paths(G, s, kind) for s in sorted(G.nodes) if kind[s] in ("context", "component")
    ):
        links = list(zip(path[:-1], path[1:], strict=True))
        if all(ok(u, v) for u, v in links):
            n = min(len(set(G.edges[e]["supporting_studies"]) | set(G.edges[e]["refining_studies"])) for e in links)
            s = min(G.edges[e]["strength"] for e in links)
            expected.append(((-n, -s, tuple(path)), tuple(path)))
    expected = [p for _, p in sorted(expected)]
    assert len(expected) > 20
    assert [c.path for c in configurations(G, max_mechanisms=2)] == expected
    assert [c.path for c in configurations(G, max_mechanisms=2, limit=10)] == expected[:10]


def nx_paths(G, start, kind):
    """Every start -> mechanism (-> mechanism) -> outcome path, by brute force."""
    for m1 in G.successors(start):
        if kind[m1] != "mechanism":
            continue
        for x in G.successors(m1):
            if kind[x] == "outcome":
                yield [start, m1, x]
            elif kind[x] == "mechanism" and x != m1:
                for o in G.successors(x):
                    if kind[o] == "outcome":
                        yield [start, m1, x, o]
