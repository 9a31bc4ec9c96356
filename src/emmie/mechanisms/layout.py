"""A layered (Sugiyama-style) layout of the CMO graph, left to right:
context | component -> mechanism(s) -> outcome.

The same positions serve the SVG figure and the interactive view, so both show the
graph the same way. Units are inches.
"""

from __future__ import annotations

import math
import textwrap
from bisect import bisect_right, insort
from dataclasses import dataclass

import networkx as nx

#: Node kinds in the first layer, top to bottom.
FIRST_LAYER_KINDS: tuple[str, ...] = ("context", "component")

BOX_WIDTH = 2.0
LINE_HEIGHT = 0.15
BOX_PAD = 0.12
ROW_GAP = 0.14
COLUMN_GAP = 1.3
MARGIN_X = 0.3
MARGIN_TOP = 1.25
MARGIN_BOTTOM = 0.3


@dataclass(frozen=True)
class NodeBox:
    """A node's box: centre (x, y), size, layer and wrapped label lines (y grows downwards)."""

    node: str
    layer: int
    order: int
    x: float
    y: float
    width: float
    height: float
    lines: tuple[str, ...]

    @property
    def top(self) -> float:
        return self.y - self.height / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height / 2


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, NodeBox]
    layers: tuple[tuple[str, ...], ...]  # node ids of each layer, top to bottom
    width: float
    height: float
    crossings: int  # crossings between links of adjacent layers in the chosen order


def wrap_label(label: str, *, width: int = 26, max_lines: int = 3) -> tuple[str, ...]:
    """Wrap a label into at most ``max_lines`` lines of ``width`` characters (ellipsis if cut)."""
    lines = textwrap.wrap(label, width=width, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "\u2026"
    return tuple(lines)


def assign_layers(G: nx.DiGraph) -> dict[str, int]:
    """Layer of each node: contexts and components 0; a mechanism 1 + the length of the
    longest enabling chain leading to it (cycles collapsed); outcomes last."""
    mech = [n for n in G.nodes if G.nodes[n]["kind"] == "mechanism"]
    sub = G.subgraph(mech)
    cond = nx.condensation(sub)
    depth: dict[int, int] = {}
    for c in nx.topological_sort(cond):
        preds = list(cond.predecessors(c))
        depth[c] = 1 + max(depth[p] for p in preds) if preds else 0
    layer: dict[str, int] = {}
    for n in mech:
        layer[n] = 1 + depth[cond.graph["mapping"][n]]
    last = 1 + (max(layer.values()) if layer else 0)
    for n in G.nodes:
        kind = G.nodes[n]["kind"]
        if kind in FIRST_LAYER_KINDS:
            layer[n] = 0
        elif kind == "outcome":
            layer[n] = last
    return layer


def count_crossings(G: nx.DiGraph, layer: dict[str, int], position: dict[str, int]) -> int:
    """Crossings between links joining the same pair of layers (inversion count)."""
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for u, v in G.edges:
        a, b = (u, v) if layer[u] <= layer[v] else (v, u)
        if layer[a] == layer[b]:
            continue
        groups.setdefault((layer[a], layer[b]), []).append((position[a], position[b]))
    total = 0
    for pairs in groups.values():
        pairs.sort()
        seen: list[int] = []
        for _, t in pairs:
            total += len(seen) - bisect_right(seen, t)
            insort(seen, t)
    return total


def _barycentre(und: nx.Graph, n: str, layer: dict[str, int], pos: dict[str, float], *, before: bool) -> float:
    """Mean position of ``n``'s neighbours in earlier (``before``) or later layers; its own if none."""
    li = layer[n]
    nbrs = [m for m in und.neighbors(n) if (layer[m] < li if before else layer[m] > li)]
    if not nbrs:
        return pos[n]
    # fsum: the sum rounded once, whatever the order. The undirected view lists a node's neighbours in the order of
    # a set of strings, which changes with each process's hash seed; a plain sum then differed in its last bit from
    # run to run, and on a large graph that broke ties differently (a different layout at each run).
    return math.fsum(pos[m] for m in nbrs) / len(nbrs)


def _order_layers(G: nx.DiGraph, layer: dict[str, int], sweeps: int) -> tuple[list[list[str]], int]:
    n_layers = 1 + max(layer.values(), default=0)
    group = {n: (FIRST_LAYER_KINDS.index(G.nodes[n]["kind"]) if layer[n] == 0 else 0) for n in G.nodes}
    layers: list[list[str]] = [[] for _ in range(n_layers)]
    for n in sorted(G.nodes, key=lambda n: (group[n], G.nodes[n]["label"].lower(), n)):
        layers[layer[n]].append(n)
    und = G.to_undirected(as_view=True)

    def positions(ls: list[list[str]]) -> dict[str, int]:
        return {n: i for lay in ls for i, n in enumerate(lay)}

    def norm(ls: list[list[str]]) -> dict[str, float]:
        return {n: (i + 0.5) / len(lay) for lay in ls for i, n in enumerate(lay)}

    best = [list(lay) for lay in layers]
    best_cross = count_crossings(G, layer, positions(best))
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        order = range(1, n_layers) if forward else range(n_layers - 2, -1, -1)
        for li in order:
            pos = norm(layers)
            key = {n: (group[n], _barycentre(und, n, layer, pos, before=forward), i) for i, n in enumerate(layers[li])}
            layers[li] = sorted(layers[li], key=key.__getitem__)
        cross = count_crossings(G, layer, positions(layers))
        if cross < best_cross:
            best, best_cross = [list(lay) for lay in layers], cross
    return best, best_cross


def layered_layout(G: nx.DiGraph, *, wrap: int = 26, max_lines: int = 3, sweeps: int = 8) -> Layout:
    """Positions of every node's box in a left-to-right layered drawing.

    Layers come from :func:`assign_layers`; within a layer, nodes are ordered by the
    barycentre heuristic (alternating sweeps, keeping the order with fewest crossings)
    and stacked without overlap. Labels wrap at ``wrap`` characters, ``max_lines`` lines.

    References
    ----------
    Sugiyama, K., Tagawa, S. & Toda, M. (1981). Methods for visual understanding of
    hierarchical system structures. *IEEE Transactions on Systems, Man, and Cybernetics*,
    11(2), 109-125.
    """
    if G.number_of_nodes() == 0:
        return Layout({}, (), 2 * MARGIN_X + BOX_WIDTH, MARGIN_TOP + MARGIN_BOTTOM, 0)
    layer = assign_layers(G)
    layers, crossings = _order_layers(G, layer, sweeps)
    lines = {n: wrap_label(G.nodes[n]["label"], width=wrap, max_lines=max_lines) for n in G.nodes}
    heights = {n: len(lines[n]) * LINE_HEIGHT + BOX_PAD for n in G.nodes}
    column_height = [sum(heights[n] for n in lay) + ROW_GAP * max(len(lay) - 1, 0) for lay in layers]
    inner = max(column_height)
    boxes: dict[str, NodeBox] = {}
    for li, lay in enumerate(layers):
        x = MARGIN_X + BOX_WIDTH / 2 + li * (BOX_WIDTH + COLUMN_GAP)
        y = MARGIN_TOP + (inner - column_height[li]) / 2
        for i, n in enumerate(lay):
            h = heights[n]
            boxes[n] = NodeBox(n, li, i, x, y + h / 2, BOX_WIDTH, h, lines[n])
            y += h + ROW_GAP
    width = 2 * MARGIN_X + len(layers) * BOX_WIDTH + (len(layers) - 1) * COLUMN_GAP
    return Layout(boxes, tuple(tuple(lay) for lay in layers), width, MARGIN_TOP + inner + MARGIN_BOTTOM, crossings)
