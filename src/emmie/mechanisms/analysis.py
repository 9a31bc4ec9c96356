"""What the CMO graph says: configurations, demi-regularities, contested and thin links, gaps,
and the contexts that moderate mechanisms.

Every function reads a graph made by :func:`emmie.mechanisms.graph.build_graph` and
returns frozen dataclasses in a deterministic order.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass
from typing import Any

import networkx as nx


@dataclass(frozen=True)
class Link:
    """One edge of the graph and the studies behind it."""

    source: str
    target: str
    source_label: str
    target_label: str
    relation: str
    supporting_studies: tuple[str, ...]
    contradicting_studies: tuple[str, ...]
    refining_studies: tuple[str, ...]
    n_studies: int
    strength: float
    best_evidence: str

    @property
    def positive_studies(self) -> tuple[str, ...]:
        """Studies that support or refine the link."""
        return tuple(sorted(set(self.supporting_studies) | set(self.refining_studies)))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def link(G: nx.DiGraph, source: str, target: str) -> Link:
    """The :class:`Link` record of edge ``source -> target``."""
    d = G.edges[source, target]
    return Link(
        source=source,
        target=target,
        source_label=G.nodes[source]["label"],
        target_label=G.nodes[target]["label"],
        relation=d["relation"],
        supporting_studies=tuple(d["supporting_studies"]),
        contradicting_studies=tuple(d["contradicting_studies"]),
        refining_studies=tuple(d["refining_studies"]),
        n_studies=int(d["n_studies"]),
        strength=float(d["strength"]),
        best_evidence=d["best_evidence"],
    )


def _positive(d: dict[str, Any]) -> int:
    return len(set(d["supporting_studies"]) | set(d["refining_studies"]))


def _kind(G: nx.DiGraph, node: str) -> str:
    return G.nodes[node]["kind"]


@dataclass(frozen=True)
class Configuration:
    """A chain start -> mechanism (-> mechanism ...) -> outcome through supported links."""

    rank: int
    path: tuple[str, ...]
    labels: tuple[str, ...]
    start_kind: str
    links: tuple[Link, ...]
    n_studies: int  # distinct studies supporting or refining any link
    weakest_n_studies: int  # supporting or refining studies of the least supported link
    weakest_strength: float  # strength of the weakest link
    complete_in: tuple[str, ...]  # studies that support or refine every link themselves

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def configurations(
    G: nx.DiGraph,
    *,
    start_kinds: tuple[str, ...] = ("context", "component"),
    max_mechanisms: int = 4,
    limit: int | None = None,
) -> list[Configuration]:
    """CMO configurations: chains from a context (or component) through one or more
    mechanisms to an outcome, ranked by support.

    Only links that at least one study supports or refines are walked; a link that
    only contradicting studies name is not part of any configuration. A chain is as
    well supported as its weakest link, so chains are ranked by the number of distinct
    supporting or refining studies of their weakest link, then by the weakest link's
    strength, then by their node ids. The chains are found best-first (a partial chain
    never gains support by growing), so ``limit`` stops the search early and the top
    configurations of a large graph cost little.

    Parameters
    ----------
    G : networkx.DiGraph
        The CMO graph.
    start_kinds : tuple of str
        Kinds a chain may start from: ``"context"`` (C-M-O, the realist configuration)
        and/or ``"component"`` (intervention component -> mechanism -> outcome).
    max_mechanisms : int
        Longest mechanism chain (M -> M -> ...) considered, >= 1.
    limit : int, optional
        Return only the best ``limit`` configurations.

    Returns
    -------
    list of Configuration
        Best first, ``rank`` from 1.

    References
    ----------
    Pawson, R. & Tilley, N. (1997). *Realistic Evaluation*. London: Sage (C + M = O).
    Pawson, R. (2006). *Evidence-Based Policy: A Realist Perspective*. London: Sage.
    """
    if max_mechanisms < 1:
        raise ValueError("max_mechanisms must be >= 1")
    if limit is not None and limit < 1:
        return []
    # key: (-weakest positive studies, -weakest strength, path); lexicographic path order
    # makes ties resolve depth-first, so complete chains surface quickly.
    heap: list[tuple[int, float, tuple[str, ...]]] = []
    inf = float("inf")
    for node in sorted(G.nodes):
        if _kind(G, node) in start_kinds:
            heap.append((-(10**9), -inf, (node,)))
    heapq.heapify(heap)
    out: list[Configuration] = []
    while heap and (limit is None or len(out) < limit):
        neg_n, neg_s, path = heapq.heappop(heap)
        last = path[-1]
        if _kind(G, last) == "outcome":
            out.append(_configuration(G, path, len(out) + 1))
            continue
        n_mech = len(path) - 1
        for nxt in sorted(G.successors(last)):
            kind = _kind(G, nxt)
            if nxt in path or kind not in ("mechanism", "outcome"):
                continue
            if kind == "mechanism" and n_mech >= max_mechanisms:
                continue
            d = G.edges[last, nxt]
            pos = _positive(d)
            if pos == 0:
                continue
            heapq.heappush(heap, (max(neg_n, -pos), max(neg_s, -float(d["strength"])), (*path, nxt)))
    return out


def _configuration(G: nx.DiGraph, path: tuple[str, ...], rank: int) -> Configuration:
    links = tuple(link(G, u, v) for u, v in zip(path[:-1], path[1:], strict=True))
    positive = [set(lk.positive_studies) for lk in links]
    return Configuration(
        rank=rank,
        path=path,
        labels=tuple(G.nodes[n]["label"] for n in path),
        start_kind=_kind(G, path[0]),
        links=links,
        n_studies=len(set().union(*positive)),
        weakest_n_studies=min(len(p) for p in positive),
        weakest_strength=min(lk.strength for lk in links),
        complete_in=tuple(sorted(set.intersection(*positive))),
    )


@dataclass(frozen=True)
class ContextEvidence:
    context: str
    label: str
    studies: tuple[str, ...]


@dataclass(frozen=True)
class DemiRegularity:
    """A mechanism seen to fire in several distinct contexts."""

    mechanism: str
    label: str
    n_contexts: int
    n_studies: int
    contexts: tuple[ContextEvidence, ...]
    outcomes: tuple[str, ...]  # outcomes the mechanism leads to directly through supported links

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def demi_regularities(G: nx.DiGraph, *, min_contexts: int = 2) -> list[DemiRegularity]:
    """Mechanisms that studies see firing in at least ``min_contexts`` distinct contexts.

    A context counts for a mechanism when at least one study supports or refines the
    link context -> mechanism. Sorted by number of contexts, then of studies (both
    descending), then mechanism id.

    References
    ----------
    Lawson, T. (1997). *Economics and Reality*. London: Routledge (demi-regularities).
    Pawson, R. (2006). *Evidence-Based Policy: A Realist Perspective*. London: Sage.
    """
    out: list[DemiRegularity] = []
    for m in sorted(G.nodes):
        if _kind(G, m) != "mechanism":
            continue
        contexts = []
        for c in sorted(G.predecessors(m)):
            if _kind(G, c) != "context":
                continue
            lk = link(G, c, m)
            if lk.positive_studies:
                contexts.append(ContextEvidence(c, lk.source_label, lk.positive_studies))
        if len(contexts) < min_contexts:
            continue
        outcomes = tuple(
            o for o in sorted(G.successors(m)) if _kind(G, o) == "outcome" and _positive(G.edges[m, o]) > 0
        )
        studies = set().union(*(set(ce.studies) for ce in contexts))
        out.append(DemiRegularity(m, G.nodes[m]["label"], len(contexts), len(studies), tuple(contexts), outcomes))
    out.sort(key=lambda d: (-d.n_contexts, -d.n_studies, d.mechanism))
    return out


def _links_sorted(G: nx.DiGraph, keep) -> list[Link]:
    return [link(G, u, v) for u, v in sorted(G.edges) if keep(G.edges[u, v])]


def contested_links(G: nx.DiGraph) -> list[Link]:
    """Links that at least one study contradicts (whether or not others support them).

    A link with both supporting (or refining) and contradicting studies is contested;
    one that only contradicting studies name is contradicted. Both are returned,
    sorted by (source, target); ``Link.positive_studies`` tells them apart.
    """
    return _links_sorted(G, lambda d: bool(d["contradicting_studies"]))


def single_study_links(G: nx.DiGraph) -> list[Link]:
    """Links that rest on one study only (any stance), sorted by (source, target)."""
    return _links_sorted(G, lambda d: d["n_studies"] == 1)


@dataclass(frozen=True)
class Concept:
    id: str
    label: str
    kind: str


@dataclass(frozen=True)
class Gaps:
    """Where the evidence stops short of a programme theory.

    ``mechanisms_without_outcome``: mechanisms with no path through supported links to
    any outcome. ``outcomes_without_mechanism``: outcomes that no supported link from
    a mechanism reaches. ``mechanisms_without_trigger``: mechanisms that no path of
    supported links from a context or component reaches. ``uncoded_concepts``: vocabulary
    concepts no coding uses.
    """

    mechanisms_without_outcome: tuple[Concept, ...]
    outcomes_without_mechanism: tuple[Concept, ...]
    mechanisms_without_trigger: tuple[Concept, ...]
    uncoded_concepts: tuple[Concept, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _reachable(G: nx.DiGraph, sources: list[str]) -> set[str]:
    """Nodes reached from any of ``sources`` by a path of one or more edges."""
    seen: set[str] = set()
    stack = [v for s in sources for v in G.successors(s)]
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(G.successors(n))
    return seen


def gaps(G: nx.DiGraph) -> Gaps:
    """Mechanisms that lead nowhere, outcomes nothing leads to, and unused concepts.

    A link counts when at least one study supports or refines it.
    """

    def concept(n: str) -> Concept:
        return Concept(n, G.nodes[n]["label"], _kind(G, n))

    supported = nx.DiGraph()
    supported.add_nodes_from(G.nodes)
    supported.add_edges_from((u, v) for u, v, d in G.edges(data=True) if _positive(d) > 0)
    outcomes = [n for n in G.nodes if _kind(G, n) == "outcome"]
    mechanisms = [n for n in G.nodes if _kind(G, n) == "mechanism"]
    reaches_outcome = _reachable(supported.reverse(copy=False), outcomes)
    triggered = _reachable(supported, [n for n in G.nodes if _kind(G, n) in ("context", "component")])
    return Gaps(
        mechanisms_without_outcome=tuple(concept(m) for m in sorted(mechanisms) if m not in reaches_outcome),
        outcomes_without_mechanism=tuple(
            concept(o)
            for o in sorted(outcomes)
            if not any(_kind(G, p) == "mechanism" for p in supported.predecessors(o))
        ),
        mechanisms_without_trigger=tuple(concept(m) for m in sorted(mechanisms) if m not in triggered),
        uncoded_concepts=tuple(concept(n) for n in sorted(G.nodes) if not G.nodes[n]["studies"]),
    )


@dataclass(frozen=True)
class ModeratingContext:
    """How one context bears on one mechanism, by study."""

    context: str
    context_label: str
    mechanism: str
    mechanism_label: str
    role: str  # enables | refines | blocks | mixed
    enabling_studies: tuple[str, ...]  # support the context -> mechanism link
    refining_studies: tuple[str, ...]  # qualify it
    blocking_studies: tuple[str, ...]  # contradict it
    n_enabling: int
    n_refining: int
    n_blocking: int
    strength: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def moderating_contexts(G: nx.DiGraph) -> list[ModeratingContext]:
    """Which contexts enable or block which mechanisms, and by how many studies.

    This is the Moderators evidence that the graph holds: a context in which studies
    see a mechanism fire (supporting codings) ``enables`` it; one in which they see it
    fail (contradicting codings) ``blocks`` it; ``refines`` when studies only qualify
    the link (read their excerpts: a refinement may say the context works against the
    mechanism); ``mixed`` when some contradict and others support or refine. Sorted
    by mechanism, then by number of studies (descending), then context.

    References
    ----------
    Johnson, S. D., Tilley, N. & Bowers, K. J. (2015). Introducing EMMIE. *Journal of
    Experimental Criminology*, 11, 459-473 (Moderators: contexts that activate mechanisms).
    """
    out = []
    for c, m in sorted(G.edges):
        if _kind(G, c) != "context":
            continue
        lk = link(G, c, m)
        enabling, refining, blocking = lk.supporting_studies, lk.refining_studies, lk.contradicting_studies
        if blocking:
            role = "mixed" if enabling or refining else "blocks"
        else:
            role = "enables" if enabling else "refines"
        out.append(
            ModeratingContext(
                context=c,
                context_label=lk.source_label,
                mechanism=m,
                mechanism_label=lk.target_label,
                role=role,
                enabling_studies=enabling,
                refining_studies=refining,
                blocking_studies=blocking,
                n_enabling=len(enabling),
                n_refining=len(refining),
                n_blocking=len(blocking),
                strength=lk.strength,
            )
        )
    out.sort(
        key=lambda r: (r.mechanism, -len(set(r.enabling_studies + r.refining_studies + r.blocking_studies)), r.context)
    )
    return out
