"""The interactive view of the context-mechanism-outcome graph (cytoscape.js, inlined; no request to any server).

The mechanisms stage computes what the view shows (``cmo_view.json``: nodes at their layered positions, links
with their studies and codings; :func:`emmie.mechanisms.plots.view_elements`); this module only turns that into
an HTML fragment for the report.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from emmie.report.html import script_json

_ELEMENT_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


@lru_cache(maxsize=1)
def cytoscape_js() -> str:
    """The text of cytoscape.min.js vendored in ``emmie/report/vendor`` (see its README for the version).

    A report that shows several interactive graphs inlines this once and calls
    :func:`interactive_html` with ``include_library=False``.
    """
    return resources.files("emmie.report").joinpath("vendor/cytoscape.min.js").read_text(encoding="utf-8")


# The viewer: cytoscape with a preset layout; clicking shows details in the side panel,
# built with textContent only (no user text ever becomes HTML).
_VIEWER_JS = """
(function () {
  var root = document.getElementById(%(id)s);
  var data = JSON.parse(document.getElementById(%(data_id)s).textContent);
  var panel = root.querySelector(".emmie-cmo-panel");
  function el(tag, text, css) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (css) { e.style.cssText = css; }
    return e;
  }
  var names = data.study_labels || {};
  var listed = data.listed_studies ? new Set(data.listed_studies) : null;  // null: every reference is on the page
  function studyLink(id) {  // a study's author-year label, linked to its entry in the references
    if (listed && !listed.has(id)) { return el("span", names[id] || id); }
    var a = el("a", names[id] || id);
    a.href = "#ref-" + encodeURIComponent(id);
    return a;
  }
  function studyList(title, ids) {
    if (!ids || !ids.length) { return null; }
    var box = el("div");
    box.appendChild(el("strong", title + " (" + ids.length + "): "));
    ids.forEach(function (id, i) {
      if (i) { box.appendChild(document.createTextNode("; ")); }
      box.appendChild(studyLink(id));
    });
    return box;
  }
  function show(parts) {
    while (panel.firstChild) { panel.removeChild(panel.firstChild); }
    parts.forEach(function (p) { if (p) { panel.appendChild(p); } });
  }
  var cy = cytoscape({
    container: root.querySelector(".emmie-cmo-canvas"),
    elements: data.nodes.concat(data.edges),
    layout: { name: "preset", fit: true, padding: 20 },
    wheelSensitivity: 0.3,
    style: [
      { selector: "node", style: {
          "shape": "round-rectangle", "width": "data(w)", "height": "data(h)",
          "background-color": "data(colour)", "background-opacity": 0.25,
          "border-width": 1.5, "border-color": "data(colour)",
          "label": "data(label)", "text-wrap": "wrap", "text-valign": "center", "text-halign": "center",
          "font-size": 12, "min-zoomed-font-size": 9, "font-family": "sans-serif", "color": "#111" } },
      { selector: "edge", style: {
          "width": "data(width)", "line-color": "data(colour)", "target-arrow-color": "data(colour)",
          "target-arrow-shape": "triangle", "curve-style": "bezier", "opacity": 0.8 } },
      { selector: "edge[style = 'contested']", style: { "line-style": "dashed" } },
      { selector: "edge[style = 'refined']", style: { "line-style": "dotted" } },
      { selector: ":selected", style: { "border-width": 3, "line-color": "#000", "target-arrow-color": "#000" } }
    ]
  });
  function where(prefix) { return prefix ? el("div", prefix, "color:#555;font-size:90%%") : null; }
  function showNode(d, prefix) {
    show([where(prefix), el("h4", d.full_label, "margin:0 0 4px"), el("div", d.kind + " \\u00b7 " + d.id, "color:#555"),
          d.description ? el("p", d.description) : null,
          studyList("Studies", d.studies)]);
  }
  cy.on("tap", "node", function (evt) { showNode(evt.target.data()); });
  cy.on("tap", "edge", function (evt) { showEdge(evt.target.data()); });
  function showEdge(d, prefix) {
    var src = cy.getElementById(d.source).data("full_label"), tgt = cy.getElementById(d.target).data("full_label");
    var line = {contested: "contested (dashed line)", refined: "refined (dotted line)"}[d.style] || "supported (solid line)";
    var parts = [where(prefix), el("h4", "Link: " + src + " \\u2192 " + tgt, "margin:0 0 4px"),
                 el("div", d.relation + " \\u00b7 strength " + d.strength + " \\u00b7 " + line, "color:#555"),
                 studyList("Supporting", d.supporting), studyList("Contradicting", d.contradicting),
                 studyList("Refining", d.refining)];
    d.codings.forEach(function (c) {
      var q = el("blockquote", c.excerpt || "(no excerpt)", "margin:6px 0;padding-left:6px;border-left:3px solid #ccc");
      var who = el("div", undefined, "font-size:90%%;color:#555");
      who.appendChild(studyLink(c.study_id));
      who.appendChild(document.createTextNode(" \\u00b7 " + c.stance + " \\u00b7 " + c.evidence +
                   (c.source ? " \\u00b7 " + c.source : "") + (c.source_page ? ", " + c.source_page : "")));
      parts.push(q, who);
    });
    if (d.more_codings) {  // the page carries a bounded number of excerpts (emmie.report.cmo_view.bounded)
      parts.push(el("p", "And " + d.more_codings + " more coding" + (d.more_codings === 1 ? "" : "s") +
                    " of this link, not carried on the page: every coding is in " + data.codings_file + "."));
    }
    show(parts);
  }
  // Keyboard: the graph takes the focus (Tab); arrow keys step through the concepts (left to right,
  // layer by layer) and then the links; Home and End jump; the side panel (a live region) reads out
  // the selection.
  var order = cy.nodes().toArray().sort(function (a, b) {
    return (a.position("x") - b.position("x")) || (a.position("y") - b.position("y"));
  }).concat(cy.edges().toArray());
  var at = -1, canvas = root.querySelector(".emmie-cmo-canvas");
  function pick(i) {
    if (!order.length) { return; }
    at = (i + order.length) %% order.length;
    cy.elements().unselect();
    var e = order[at], prefix = (at + 1) + " of " + order.length + (e.isNode() ? " (concept)" : " (link)");
    e.select();
    if (e.isNode()) { showNode(e.data(), prefix); } else { showEdge(e.data(), prefix); }
    var bb = e.renderedBoundingBox();
    if (bb.x1 < 0 || bb.y1 < 0 || bb.x2 > cy.width() || bb.y2 > cy.height()) { cy.center(e); }
  }
  canvas.addEventListener("keydown", function (ev) {
    var k = ev.key;
    if (k === "ArrowRight" || k === "ArrowDown") { pick(at + 1); }
    else if (k === "ArrowLeft" || k === "ArrowUp") { pick(at - 1); }
    else if (k === "Home") { pick(0); }
    else if (k === "End") { pick(order.length - 1); }
    else { return; }
    ev.preventDefault();
  });
})();
"""


def bounded(elements: dict[str, Any], most: int, where: str) -> dict[str, Any]:
    """``elements`` with at most ``most`` codings over all links: each link keeps its first ``c`` codings, ``c`` the
    largest that fits (so a link with few codings keeps all of them), and says how many it left out
    (``more_codings``); ``codings_file`` names the file with all of them. Unchanged when they all fit."""
    counts = [len(e["data"].get("codings") or []) for e in elements["edges"]]
    if sum(counts) <= most:
        return elements
    lo, hi = 0, max(counts)  # the largest c with sum(min(n, c)) <= most
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if sum(min(n, mid) for n in counts) <= most else (lo, mid - 1)
    edges = []
    for e, n in zip(elements["edges"], counts, strict=True):
        if n > lo:
            e = {**e, "data": {**e["data"], "codings": e["data"]["codings"][:lo], "more_codings": n - lo}}
        edges.append(e)
    return {**elements, "edges": edges, "codings_file": where}


def interactive_html(
    elements: dict[str, Any], *, element_id: str, include_library: bool = True, height_px: int = 640
) -> str:
    """An HTML fragment with an interactive view of the CMO graph.

    Pan and zoom the graph; click a node or a link to see its studies and, for a
    link, the excerpts of the codings behind it in the side panel. Nodes sit at the
    positions the mechanisms stage computed, so the view is deterministic and matches the
    SVG. The fragment makes no request to any server: cytoscape.js is inlined (or,
    with ``include_library=False``, must be inlined once by the page from
    :func:`cytoscape_js`). All user text is passed as JSON escaped for ``<script>``
    and shown with ``textContent`` only.

    Parameters
    ----------
    elements : dict
        ``cmo_view.json``: the graph as :func:`emmie.mechanisms.plots.view_elements` lays it out.
    element_id : str
        HTML id of the container (letters, digits, ``-``, ``_``; starting with a letter).
    include_library : bool
        Inline cytoscape.js in the fragment.

    References
    ----------
    Franz, M., Lopes, C. T., Huck, G., Dong, Y., Sumer, O. & Bader, G. D. (2016).
    Cytoscape.js: a graph theory library for visualisation and analysis.
    *Bioinformatics*, 32(2), 309-311.
    """
    if not _ELEMENT_ID.match(element_id):
        raise ValueError(f"element_id {element_id!r}: use letters, digits, '-' and '_', starting with a letter")
    data_id = f"{element_id}-data"
    parts = [
        f'<div class="emmie-cmo" id="{html.escape(element_id)}" '
        'style="display:flex;flex-wrap:wrap;gap:8px;align-items:stretch;font-family:sans-serif">',
        f'<div class="emmie-cmo-canvas" style="flex:3 1 24rem;min-width:0;height:{int(height_px)}px;border:1px solid #ccc" '
        'tabindex="0" role="application" aria-roledescription="graph" '
        'aria-label="Interactive context-mechanism-outcome graph: arrow keys step through the concepts and '
        'links, Home and End jump to the first and last; the panel beside it describes the selection"></div>',
        f'<aside class="emmie-cmo-panel" tabindex="0" aria-live="polite" aria-label="Selected concept or link" '
        f'style="flex:1 1 14rem;max-height:{int(height_px)}px;overflow:auto;'
        'border:1px solid #ccc;padding:8px;font-size:14px">'
        "Click a concept or a link to see its studies and excerpts; or Tab to the graph and use the arrow keys. "
        "Scroll or pinch to zoom, drag to pan.</aside>",
        "</div>",
    ]
    if include_library:
        library = cytoscape_js()
        if "</script" in library.lower():  # never true for the vendored build; guards an update
            raise ValueError("cytoscape.min.js contains '</script' and cannot be inlined")
        parts.append(f"<script>{library}</script>")
    parts.append(f'<script type="application/json" id="{html.escape(data_id)}">{script_json(elements)}</script>')
    parts.append("<script>" + _VIEWER_JS % {"id": json.dumps(element_id), "data_id": json.dumps(data_id)} + "</script>")
    return "\n".join(parts) + "\n"
