"""The initial programme theory held against the CMO evidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import networkx as nx

from emmie.errors import DataError, Problem
from emmie.mechanisms.analysis import Link, link
from emmie.mechanisms.graph import chain_links

#: Classes a proposition can fall in, in the order of the rules that assign them.
PROPOSITION_STATUSES: tuple[str, ...] = ("untested", "contradicted", "partly_supported", "refined", "confirmed")
#: Classes of one link of a proposition.
LINK_STATUSES: tuple[str, ...] = ("no_evidence", "contradicted", "contested", "refined", "supported")

_FIELD_KIND = {
    "context": "context",
    "component": "component",
    "mechanism": "mechanism",
    "enables": "mechanism",
    "outcome": "outcome",
}


@dataclass(frozen=True)
class TheoryLink:
    """One link a proposition names and what the evidence says of it."""

    source: str
    target: str
    status: str  # one of LINK_STATUSES
    supporting_studies: tuple[str, ...]
    contradicting_studies: tuple[str, ...]
    refining_studies: tuple[str, ...]


@dataclass(frozen=True)
class PropositionResult:
    """A programme-theory proposition classified against the evidence."""

    id: str
    statement: str
    status: str  # one of PROPOSITION_STATUSES
    links: tuple[TheoryLink, ...]
    studies: tuple[str, ...]  # every study with evidence on any of its links

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _link_status(G: nx.DiGraph, u: str, v: str) -> TheoryLink:
    if not G.has_edge(u, v):
        return TheoryLink(u, v, "no_evidence", (), (), ())
    lk = link(G, u, v)
    positive = bool(lk.supporting_studies or lk.refining_studies)
    if lk.contradicting_studies:
        status = "contested" if positive else "contradicted"
    else:
        status = "refined" if lk.refining_studies else "supported"
    return TheoryLink(u, v, status, lk.supporting_studies, lk.contradicting_studies, lk.refining_studies)


def _classify(statuses: Sequence[str]) -> str:
    s = set(statuses)
    if s <= {"no_evidence"}:
        return "untested"
    if "contradicted" in s:
        return "contradicted"
    if s & {"no_evidence", "contested"}:
        return "partly_supported"
    if "refined" in s:
        return "refined"
    return "confirmed"


def compare_with_theory(G: nx.DiGraph, propositions: Sequence[Mapping[str, Any]]) -> list[PropositionResult]:
    """Classify each initial-theory proposition against the CMO evidence.

    A proposition (``review.yaml`` ``initial_theory``: concept ids ``context``,
    ``component``, ``mechanism``, ``enables``, ``outcome``) names the links of
    :func:`emmie.mechanisms.graph.chain_links`. Each link is ``supported`` (supporting
    studies only), ``refined`` (a refining study, none contradicting), ``contested``
    (supporting or refining and contradicting studies), ``contradicted``
    (contradicting studies only) or ``no_evidence``. The proposition is then, by the
    first rule that applies:

    1. ``untested`` - no link has any evidence;
    2. ``contradicted`` - a link is contradicted;
    3. ``partly_supported`` - some link has no evidence or is contested;
    4. ``refined`` - every link is supported or refined and one is refined;
    5. ``confirmed`` - every link is supported and none contradicted.

    Parameters
    ----------
    G : networkx.DiGraph
        The CMO graph.
    propositions : sequence of mapping
        ``review.yaml`` ``initial_theory``.

    Returns
    -------
    list of PropositionResult
        In the order of ``propositions``.

    Raises
    ------
    emmie.errors.DataError
        A proposition names a concept that is not in the vocabulary or has the wrong kind.

    References
    ----------
    Pawson, R. (2006). *Evidence-Based Policy: A Realist Perspective*. London: Sage
    (testing and refining programme theory).
    Wong, G. et al. (2013). RAMESES publication standards: realist syntheses. *BMC Medicine*, 11, 21.
    """
    problems: list[Problem] = []
    out: list[PropositionResult] = []
    for i, prop in enumerate(propositions):
        fields = {f: str(prop.get(f) or "").strip() for f in _FIELD_KIND}
        bad = False
        for f, kind in _FIELD_KIND.items():
            value = fields[f]
            if not value and f != "mechanism":
                continue
            if value not in G.nodes or G.nodes[value]["kind"] != kind:
                problems.append(
                    Problem("review.yaml", 0, f"initial_theory[{i}].{f}", value, f"a concept_id of kind `{kind}`")
                )
                bad = True
        if bad:
            continue
        links = tuple(_link_status(G, u, v) for u, v in chain_links(**fields))
        studies = sorted(
            {s for lk in links for s in (*lk.supporting_studies, *lk.contradicting_studies, *lk.refining_studies)}
        )
        out.append(
            PropositionResult(
                id=str(prop.get("id", f"P{i + 1}")),
                statement=str(prop.get("statement", "")),
                status=_classify([lk.status for lk in links]),
                links=links,
                studies=tuple(studies),
            )
        )
    if problems:
        raise DataError(problems)
    return out


def links_beyond_theory(G: nx.DiGraph, propositions: Sequence[Mapping[str, Any]]) -> list[Link]:
    """Links in the evidence that no proposition names, most studies first.

    These are where the synthesis adds to the initial programme theory. Sorted by
    number of studies (descending), then strength (descending), then (source, target).
    """
    named: set[tuple[str, str]] = set()
    for prop in propositions:
        fields = {f: str(prop.get(f) or "").strip() for f in _FIELD_KIND}
        if fields["mechanism"]:
            named.update(chain_links(**fields))
    out = [link(G, u, v) for u, v in G.edges if (u, v) not in named]
    out.sort(key=lambda lk: (-lk.n_studies, -lk.strength, lk.source, lk.target))
    return out
