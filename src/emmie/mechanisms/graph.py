"""The context-mechanism-outcome (CMO) graph built from ``cmo.csv``.

One concept coded in two studies is one node; one link coded in two studies is
one edge carrying both studies. Every later analysis of the Mechanisms (and the
graph side of the Moderators) reads this graph and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx
import pandas as pd

from emmie.errors import DataError, Problem
from emmie.ingest.schema import APPRAISAL, CMO, CMO_EVIDENCE, CONCEPT_KINDS, STANCES

#: Default weight of a study's evidence by its realist appraisal.
DEFAULT_WEIGHTS: dict[str, Any] = {
    "rigour": {"high": 1.0, "moderate": 0.6, "low": 0.3},
    "relevance": {"high": 1.0, "moderate": 0.6, "low": 0.3},
    "contradicts": -1.0,
}

#: Name of the link between two kinds of concept.
RELATIONS: dict[tuple[str, str], str] = {
    ("component", "mechanism"): "triggers",
    ("context", "mechanism"): "conditions",
    ("mechanism", "mechanism"): "enables",
    ("mechanism", "outcome"): "generates",
}

#: Evidence levels, weakest first.
EVIDENCE_ORDER: tuple[str, ...] = CMO_EVIDENCE

#: The edge attributes that hold lists (sorted study or coding ids).
EDGE_LIST_ATTRS: tuple[str, ...] = (
    "supporting_studies",
    "contradicting_studies",
    "refining_studies",
    "studies",
    "cmo_ids",
    "evidence",
)
#: The node attributes that hold lists.
NODE_LIST_ATTRS: tuple[str, ...] = ("studies", "cmo_ids")

_STRENGTH_DIGITS = 6
_CMO_FILE = "cmo.csv"


def resolve_weights(weights: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The default appraisal weights overridden by ``review.yaml`` ``cmo_weights``.

    Parameters
    ----------
    weights : mapping, optional
        ``{"rigour": {level: w}, "relevance": {level: w}, "contradicts": sign}``; any
        part left out keeps its default.

    Returns
    -------
    dict
        A complete weights mapping (a new object; the input is not changed).
    """
    out: dict[str, Any] = {
        "rigour": dict(DEFAULT_WEIGHTS["rigour"]),
        "relevance": dict(DEFAULT_WEIGHTS["relevance"]),
        "contradicts": float(DEFAULT_WEIGHTS["contradicts"]),
    }
    if weights:
        for part in ("rigour", "relevance"):
            out[part].update({str(k): float(v) for k, v in (weights.get(part) or {}).items()})
        if weights.get("contradicts") is not None:
            out["contradicts"] = float(weights["contradicts"])
    return out


def chain_links(
    *, mechanism: str, context: str = "", component: str = "", enables: str = "", outcome: str = ""
) -> tuple[tuple[str, str], ...]:
    """The links that one coding (or one programme-theory proposition) asserts.

    A row ``context, component, mechanism, enables, outcome`` is read as the chain
    ``component -> mechanism``, ``context -> mechanism``, ``mechanism -> enables``
    and ``(enables or mechanism) -> outcome``: when the mechanism enables a further
    mechanism, the outcome is produced at the end of that chain. Empty cells add no
    link.

    Returns
    -------
    tuple of (source, target)
        In the order component, context, enables, outcome.
    """
    links: list[tuple[str, str]] = []
    if component:
        links.append((component, mechanism))
    if context:
        links.append((context, mechanism))
    last = mechanism
    if enables and enables != mechanism:
        links.append((mechanism, enables))
        last = enables
    if outcome:
        links.append((last, outcome))
    return tuple(links)


def study_weight(rigour: str, relevance: str, weights: Mapping[str, Any]) -> float:
    """Weight ``w_rigour * w_relevance`` of one study's CMO evidence."""
    return float(weights["rigour"][rigour]) * float(weights["relevance"][relevance])


def build_graph(
    cmo: pd.DataFrame,
    vocabulary: pd.DataFrame,
    studies: pd.DataFrame,
    *,
    weights: Mapping[str, Any] | None = None,
) -> nx.DiGraph:
    """Build the CMO graph of a review.

    Nodes are the concepts of ``vocabulary.csv`` (attributes ``kind``, ``label``,
    ``description``, ``studies``, ``n_studies``, ``cmo_ids``); concepts that no coding
    uses are kept as isolated nodes so that gaps can be reported. Each coding adds
    the links of :func:`chain_links`: component -> mechanism (relation ``triggers``),
    context -> mechanism (``conditions``), mechanism -> mechanism (``enables``) and
    mechanism -> outcome (``generates``).

    Each edge carries the sorted ids of the studies that support, contradict and
    refine it (``supporting_studies``, ``contradicting_studies``,
    ``refining_studies``), all its studies (``studies``, ``n_studies``), the codings
    behind it (``cmo_ids``), the evidence levels seen (``evidence``, weakest first;
    ``best_evidence``) and a ``strength``:

    .. math:: s = \\sum_{j \\in \\text{studies}} w^{rig}_j \\, w^{rel}_j \\, \\sigma_j

    where a study counts once per edge however many of its codings name the link,
    ``w^rig`` and ``w^rel`` are the weights of its realist appraisal (default high 1.0,
    moderate 0.6, low 0.3, overridable by ``review.yaml`` ``cmo_weights``) and
    ``sigma_j`` is the mean sign of the distinct stances the study takes on the link:
    +1 for ``supports`` and ``refines`` (a refinement still holds that the link
    exists), ``cmo_weights.contradicts`` (default -1) for ``contradicts``. A study
    that both supports and contradicts a link therefore adds 0 by default.
    Strengths are rounded to 6 decimals so that output does not depend on float
    summation noise.

    The graph attributes hold ``codings`` (cmo_id -> study_id, stance, evidence,
    excerpt, source, source_page, verified), ``studies`` (study_id -> rigour,
    relevance, weight) and the resolved ``weights``.

    Parameters
    ----------
    cmo, vocabulary, studies : DataFrame
        The review's tables as :class:`emmie.ingest.review.Review` holds them.
    weights : mapping, optional
        ``review.yaml`` ``cmo_weights``; see :func:`resolve_weights`.

    Returns
    -------
    networkx.DiGraph
        Nodes and edges inserted in sorted order, so exports are byte-reproducible.

    Raises
    ------
    emmie.errors.DataError
        A coding names an unknown study or concept, a concept of the wrong kind, an
        unknown stance or evidence level, or a study's appraisal has no weight.

    References
    ----------
    Pawson, R. & Tilley, N. (1997). *Realistic Evaluation*. London: Sage.
    Wong, G., Greenhalgh, T., Westhorp, G., Buckingham, J. & Pawson, R. (2013). RAMESES
    publication standards: realist syntheses. *BMC Medicine*, 11, 21 (relevance and rigour).
    Johnson, S. D., Tilley, N. & Bowers, K. J. (2015). Introducing EMMIE: an evidence rating
    scale to encourage mixed-method crime prevention synthesis reviews. *Journal of
    Experimental Criminology*, 11, 459-473.
    """
    w = resolve_weights(weights)
    concepts = _concepts(vocabulary)
    study_info = _studies(studies, cmo, w)
    codings = _codings(cmo, concepts, study_info)

    # (u, v) -> study -> set of stances; plus coding ids and evidence levels
    stances: dict[tuple[str, str], dict[str, set[str]]] = {}
    edge_codings: dict[tuple[str, str], set[str]] = {}
    edge_evidence: dict[tuple[str, str], set[str]] = {}
    node_studies: dict[str, set[str]] = {}
    node_codings: dict[str, set[str]] = {}
    for c in codings:
        links = chain_links(
            mechanism=c["mechanism"],
            context=c["context"],
            component=c["component"],
            enables=c["enables"],
            outcome=c["outcome"],
        )
        for key in links:
            stances.setdefault(key, {}).setdefault(c["study_id"], set()).add(c["stance"])
            edge_codings.setdefault(key, set()).add(c["cmo_id"])
            edge_evidence.setdefault(key, set()).add(c["evidence"])
        for col in ("context", "component", "mechanism", "enables", "outcome"):
            if c[col]:
                node_studies.setdefault(c[col], set()).add(c["study_id"])
                node_codings.setdefault(c[col], set()).add(c["cmo_id"])

    G = nx.DiGraph()
    G.graph["codings"] = {c["cmo_id"]: _public_coding(c) for c in sorted(codings, key=lambda c: c["cmo_id"])}
    G.graph["studies"] = {sid: study_info[sid] for sid in sorted(study_info)}
    G.graph["weights"] = w
    for cid in sorted(concepts):
        info = concepts[cid]
        used = sorted(node_studies.get(cid, ()))
        G.add_node(
            cid,
            kind=info["kind"],
            label=info["label"],
            description=info["description"],
            studies=used,
            n_studies=len(used),
            cmo_ids=sorted(node_codings.get(cid, ())),
        )
    for key in sorted(stances):
        by_study = stances[key]
        u, v = key
        strength = 0.0
        for sid in sorted(by_study):
            signs = [w["contradicts"] if s == "contradicts" else 1.0 for s in sorted(by_study[sid])]
            strength += study_info[sid]["weight"] * sum(signs) / len(signs)
        evidence = sorted(edge_evidence[key], key=EVIDENCE_ORDER.index)
        G.add_edge(
            u,
            v,
            relation=RELATIONS[(concepts[u]["kind"], concepts[v]["kind"])],
            supporting_studies=sorted(s for s, st in by_study.items() if "supports" in st),
            contradicting_studies=sorted(s for s, st in by_study.items() if "contradicts" in st),
            refining_studies=sorted(s for s, st in by_study.items() if "refines" in st),
            studies=sorted(by_study),
            n_studies=len(by_study),
            cmo_ids=sorted(edge_codings[key]),
            evidence=evidence,
            best_evidence=evidence[-1],
            strength=round(strength, _STRENGTH_DIGITS) + 0.0,  # + 0.0 turns -0.0 into 0.0
        )
    return G


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value).strip()


def _require(frame: pd.DataFrame, file: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError([Problem(file, 0, c, None, "this column (see the codebook, data/README.md)") for c in missing])


def _concepts(vocabulary: pd.DataFrame) -> dict[str, dict[str, str]]:
    _require(vocabulary, "vocabulary.csv", ("concept_id", "kind", "label"))
    problems: list[Problem] = []
    out: dict[str, dict[str, str]] = {}
    for i, row in enumerate(vocabulary.to_dict("records")):
        cid, kind = _text(row["concept_id"]), _text(row["kind"])
        if kind not in CONCEPT_KINDS:
            problems.append(Problem("vocabulary.csv", i + 2, "kind", kind, "one of " + ", ".join(CONCEPT_KINDS)))
            continue
        if cid in out:
            problems.append(Problem("vocabulary.csv", i + 2, "concept_id", cid, "a concept_id not used before"))
            continue
        out[cid] = {"kind": kind, "label": _text(row["label"]) or cid, "description": _text(row.get("description"))}
    if problems:
        raise DataError(problems)
    return out


def _studies(studies: pd.DataFrame, cmo: pd.DataFrame, weights: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Appraisal and weight of every study that has a CMO coding."""
    _require(studies, "studies.csv", ("study_id", "rigour", "relevance"))
    used = {_text(s) for s in cmo["study_id"]} if "study_id" in cmo.columns else set()
    problems: list[Problem] = []
    out: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(studies.to_dict("records")):
        sid = _text(row["study_id"])
        if sid not in used:
            continue
        rig, rel = _text(row["rigour"]), _text(row["relevance"])
        bad = False
        for col, level in (("rigour", rig), ("relevance", rel)):
            if level not in weights[col]:
                expected = (
                    "one of " + ", ".join(sorted(weights[col])) + f" (levels with a weight; codebook: {APPRAISAL})"
                )
                problems.append(Problem("studies.csv", i + 2, col, level, expected))
                bad = True
        if not bad:
            out[sid] = {"rigour": rig, "relevance": rel, "weight": study_weight(rig, rel, weights)}
    if problems:
        raise DataError(problems)
    return out


_KIND_OF_COLUMN = {
    "context": "context",
    "component": "component",
    "mechanism": "mechanism",
    "enables": "mechanism",
    "outcome": "outcome",
}


def _codings(
    cmo: pd.DataFrame, concepts: Mapping[str, Mapping[str, str]], study_info: Mapping[str, Any]
) -> list[dict[str, str]]:
    _require(cmo, _CMO_FILE, ("cmo_id", "study_id", "mechanism", "stance", "evidence"))
    problems: list[Problem] = []
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    fields = tuple(c.name for c in CMO.columns)
    for i, row in enumerate(cmo.to_dict("records")):
        line = i + 2
        c = {f: _text(row.get(f)) for f in fields}
        ok = True
        if not c["cmo_id"] or c["cmo_id"] in seen:
            problems.append(Problem(_CMO_FILE, line, "cmo_id", c["cmo_id"], "a unique, non-empty id"))
            ok = False
        seen.add(c["cmo_id"])
        if c["study_id"] not in study_info:
            problems.append(Problem(_CMO_FILE, line, "study_id", c["study_id"], "a study_id of studies.csv"))
            ok = False
        if c["stance"] not in STANCES:
            problems.append(Problem(_CMO_FILE, line, "stance", c["stance"], "one of " + ", ".join(STANCES)))
            ok = False
        if c["evidence"] not in CMO_EVIDENCE:
            problems.append(Problem(_CMO_FILE, line, "evidence", c["evidence"], "one of " + ", ".join(CMO_EVIDENCE)))
            ok = False
        for col, kind in _KIND_OF_COLUMN.items():
            value = c[col]
            if not value and col != "mechanism":
                continue
            if value not in concepts or concepts[value]["kind"] != kind:
                problems.append(
                    Problem(_CMO_FILE, line, col, value, f"a concept_id of kind `{kind}` in vocabulary.csv")
                )
                ok = False
        if ok:
            out.append(c)
    if problems:
        raise DataError(problems)
    return out


def _public_coding(c: Mapping[str, str]) -> dict[str, str]:
    keys = ("study_id", "stance", "evidence", "excerpt", "source", "source_page", "verified")
    return {k: c[k] for k in keys}
