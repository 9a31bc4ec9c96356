"""Drawings of the CMO graph: a layered SVG for the report and print, and the elements of the
interactive view (positions, links, studies, codings), which :mod:`emmie.report.cmo_view` draws.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")

import networkx as nx  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch  # noqa: E402

from emmie.figures import to_svg  # noqa: E402
from emmie.mechanisms.layout import Layout, layered_layout  # noqa: E402

#: Okabe-Ito colours (Okabe & Ito 2008), safe for the common colour-vision deficiencies.
KIND_COLOURS: dict[str, str] = {
    "context": "#E69F00",  # orange
    "component": "#56B4E9",  # sky blue
    "mechanism": "#009E73",  # bluish green
    "outcome": "#CC79A7",  # reddish purple
}
LINK_COLOURS: dict[str, str] = {
    "supported": "#4D4D4D",  # dark grey
    "refined": "#0072B2",  # blue
    "contested": "#D55E00",  # vermillion
}
# Line style as well as colour, so that a link's status is not told by colour alone (WCAG 1.4.1).
LINK_DASHES: dict[str, str] = {"supported": "-", "refined": ":", "contested": "--"}

KIND_NAMES = {"context": "Context", "component": "Component", "mechanism": "Mechanism", "outcome": "Outcome"}
_PX_PER_INCH = 72.0


def link_style(d: dict[str, Any]) -> str:
    """``contested`` if any study contradicts the link, ``refined`` if one refines it, else ``supported``."""
    if d["contradicting_studies"]:
        return "contested"
    if d["refining_studies"]:
        return "refined"
    return "supported"


def _tint(colour: str, share: float = 0.3) -> str:
    """``colour`` mixed with white (an opaque pastel, so links pass behind boxes)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - share * (255 - c)):02X}" for c in rgb)


def _line_width(strength: float, top: float) -> float:
    return 0.6 + 3.0 * abs(strength) / top if top > 0 else 0.6


def layered_svg(G: nx.DiGraph, *, title: str = "", layout: Layout | None = None) -> str:
    """The CMO graph drawn in layers, left to right: context | component -> mechanism(s) -> outcome.

    Node colour gives the kind; link width the absolute strength; contested links
    (any contradicting study) are dashed vermillion, refined links dotted blue. Within a
    layer the nodes are ordered to reduce crossings (:func:`layered_layout`). The SVG
    is byte-reproducible (fixed hash salt, no date).

    References
    ----------
    Sugiyama, K., Tagawa, S. & Toda, M. (1981). Methods for visual understanding of
    hierarchical system structures. *IEEE Trans. Systems, Man, and Cybernetics*, 11(2), 109-125.
    Okabe, M. & Ito, K. (2008). Color Universal Design (CUD): how to make figures and
    presentations that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
    """
    fig = layered_figure(G, title=title, layout=layout)
    return to_svg(fig, title=title or None, tight=False, rc=None)


def layered_figure(G: nx.DiGraph, *, title: str = "", layout: Layout | None = None) -> Figure:
    """The matplotlib figure behind :func:`layered_svg` (outside pyplot: nothing to close)."""
    lay = layout or layered_layout(G)
    width, height = max(lay.width, 6.0), max(lay.height, 2.0)
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    if G.number_of_nodes() == 0 or not lay.boxes:
        ax.text(width / 2, height / 2, "No concepts coded.", ha="center", va="center", fontsize=10)
    else:
        _draw(ax, G, lay)
    if title:
        ax.text(0.2, 0.18, title, fontsize=11, fontweight="bold", va="center", ha="left")
    return fig


#: Past this many links the static graph draws its links as one image of straight lines, without arrowheads (the
#: layers read left to right), instead of one arrow path each (about 550 bytes: a graph of 8,772 links made a
#: 4.8 MB SVG); boxes and labels stay text. The interactive view has every link with its direction.
VECTOR_LINKS_MAX = 400


def _draw(ax: Any, G: nx.DiGraph, lay: Layout) -> None:
    boxes = lay.boxes
    raster = G.number_of_edges() > VECTOR_LINKS_MAX
    top = max((abs(d["strength"]) for _, _, d in G.edges(data=True)), default=0.0)
    n_layers = len(lay.layers)
    for li in range(n_layers):
        kinds = {G.nodes[n]["kind"] for n in lay.layers[li]}
        if li == 0:
            heading = "Context / component"
        elif li == n_layers - 1 and kinds <= {"outcome"}:
            heading = "Outcome"
        else:
            heading = "Mechanism" if n_layers <= 3 else f"Mechanism ({li})"
        if lay.layers[li]:
            ax.text(
                boxes[lay.layers[li][0]].x,
                1.0,
                heading,
                ha="center",
                va="center",
                fontsize=9,
                fontweight="bold",
                color="#333333",
            )
    if raster:
        segments, colours, widths, dashes = [], [], [], []
        for u, v in sorted(G.edges):
            d, a, b = G.edges[u, v], boxes[u], boxes[v]
            style = link_style(d)
            end_x = b.x - b.width / 2 if b.layer > a.layer else b.x + b.width / 2
            segments.append([(a.x + a.width / 2, a.y), (end_x, b.y)])
            colours.append(LINK_COLOURS[style])
            widths.append(_line_width(float(d["strength"]), top))
            dashes.append(LINK_DASHES.get(style, "-"))
        links = LineCollection(segments, colors=colours, linewidths=widths, linestyles=dashes, alpha=0.5, zorder=1)
        links.set_rasterized(True)
        ax.add_collection(links)
    for u, v in sorted(G.edges) if not raster else ():
        d = G.edges[u, v]
        a, b = boxes[u], boxes[v]
        style = link_style(d)
        if b.layer > a.layer:
            start, end, rad = (a.x + a.width / 2, a.y), (b.x - b.width / 2, b.y), 0.0
        else:  # a link back or within a layer (a cycle of mechanisms): arc beside the boxes
            start, end, rad = (a.x + a.width / 2, a.y), (b.x + b.width / 2, b.y), -0.5
        ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                mutation_scale=8,
                connectionstyle=f"arc3,rad={rad}",
                linewidth=_line_width(float(d["strength"]), top),
                linestyle=LINK_DASHES.get(style, "-"),
                color=LINK_COLOURS[style],
                alpha=0.75,
                shrinkA=0,
                shrinkB=1,
                zorder=1,
            )
        )
    for n in sorted(boxes):
        bx = boxes[n]
        kind = G.nodes[n]["kind"]
        ax.add_patch(
            FancyBboxPatch(
                (bx.x - bx.width / 2, bx.top),
                bx.width,
                bx.height,
                boxstyle="round,pad=0,rounding_size=0.05",
                facecolor=_tint(KIND_COLOURS[kind]),
                edgecolor=KIND_COLOURS[kind],
                linewidth=1.0 if G.nodes[n]["studies"] else 0.6,
                linestyle="-" if G.nodes[n]["studies"] else ":",
                zorder=2,
            )
        )
        ax.text(bx.x, bx.y, "\n".join(bx.lines), ha="center", va="center", fontsize=8, linespacing=1.1, zorder=3)
    handles = [
        Patch(facecolor=_tint(KIND_COLOURS[k]), edgecolor=KIND_COLOURS[k], label=KIND_NAMES[k]) for k in KIND_COLOURS
    ]
    handles += [
        Line2D([], [], color=LINK_COLOURS["supported"], lw=1.5, label="supported link"),
        Line2D([], [], color=LINK_COLOURS["refined"], lw=1.5, ls=":", label="refined link (dotted)"),
        Line2D(
            [], [], color=LINK_COLOURS["contested"], lw=1.5, ls="--", label="contested (dashed: a study contradicts)"
        ),
        Line2D([], [], color="#999999", lw=3.6, label="width: strength"),
    ]
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.2, 0.32),
        bbox_transform=ax.transData,
        ncol=4,
        fontsize=7,
        frameon=False,
        handlelength=2.2,
        borderaxespad=0.3,
    )


def view_elements(G: nx.DiGraph, lay: Layout | None = None) -> dict[str, Any]:
    """The CMO graph as the interactive view draws it: nodes at the positions of :func:`layered_layout`
    (so the view matches the SVG), links with their studies and the codings behind them.

    The mechanisms stage writes this as ``cmo_view.json``; :mod:`emmie.report.cmo_view` turns it into HTML.
    """
    lay = lay or layered_layout(G)
    codings = G.graph.get("codings", {})
    studies = G.graph.get("studies", {})
    top = max((abs(d["strength"]) for _, _, d in G.edges(data=True)), default=0.0)
    nodes = []
    for n in sorted(G.nodes):
        d, bx = G.nodes[n], lay.boxes[n]
        nodes.append(
            {
                "data": {
                    "id": n,
                    "label": "\n".join(bx.lines),
                    "full_label": d["label"],
                    "kind": d["kind"],
                    "description": d.get("description", ""),
                    "studies": list(d["studies"]),
                    "colour": KIND_COLOURS[d["kind"]],
                    "h": round(bx.height * _PX_PER_INCH, 2),
                    "w": round(bx.width * _PX_PER_INCH, 2),
                },
                "position": {"x": round(bx.x * _PX_PER_INCH, 2), "y": round(bx.y * _PX_PER_INCH, 2)},
            }
        )
    edges = []
    for i, (u, v) in enumerate(sorted(G.edges)):
        d = G.edges[u, v]
        style = link_style(d)
        edges.append(
            {
                "data": {
                    "id": f"e{i}",
                    "source": u,
                    "target": v,
                    "relation": d["relation"],
                    "strength": d["strength"],
                    "supporting": list(d["supporting_studies"]),
                    "contradicting": list(d["contradicting_studies"]),
                    "refining": list(d["refining_studies"]),
                    "codings": [dict(codings[c], cmo_id=c) for c in d["cmo_ids"] if c in codings],
                    "style": style,
                    "colour": LINK_COLOURS[style],
                    "width": round(_line_width(float(d["strength"]), top) * 1.4, 2),
                }
            }
        )
    return {"nodes": nodes, "edges": edges, "studies": studies}
