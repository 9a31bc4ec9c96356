"""Mechanisms (and the graph side of Moderators): the context-mechanism-outcome graph.

``graph`` builds it from ``cmo.csv``; ``analysis`` reads configurations,
demi-regularities, contested and single-study links, gaps and moderating contexts
from it; ``theory`` holds the initial programme theory against it; ``export``
writes GraphML, node-link JSON and an edge list; ``layout`` and ``plots`` draw it;
``stage`` runs it all for one review.
"""

from emmie.mechanisms.analysis import (
    Configuration,
    DemiRegularity,
    Gaps,
    Link,
    ModeratingContext,
    configurations,
    contested_links,
    demi_regularities,
    gaps,
    moderating_contexts,
    single_study_links,
)
from emmie.mechanisms.export import edge_table, from_graphml, read_graphml, to_graphml, to_node_link
from emmie.mechanisms.graph import DEFAULT_WEIGHTS, build_graph, chain_links, resolve_weights
from emmie.mechanisms.theory import PropositionResult, compare_with_theory, links_beyond_theory

__all__ = [
    "DEFAULT_WEIGHTS",
    "Configuration",
    "DemiRegularity",
    "Gaps",
    "Link",
    "ModeratingContext",
    "PropositionResult",
    "build_graph",
    "chain_links",
    "compare_with_theory",
    "configurations",
    "contested_links",
    "demi_regularities",
    "edge_table",
    "from_graphml",
    "gaps",
    "links_beyond_theory",
    "moderating_contexts",
    "read_graphml",
    "resolve_weights",
    "single_study_links",
    "to_graphml",
    "to_node_link",
]
