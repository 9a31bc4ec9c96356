import json
import os
import re
import subprocess
import sys

import pytest

from emmie.mechanisms.graph import build_graph
from emmie.mechanisms.layout import count_crossings, layered_layout, wrap_label
from emmie.mechanisms.plots import layered_svg, view_elements
from emmie.mechanisms.synthetic import synthetic_codings
from emmie.report.cmo_view import cytoscape_js, interactive_html
from emmie.report.html import script_json


@pytest.fixture(scope="module")
def big():
    r = synthetic_codings(90, 60, n_studies=15, seed=1, p_enables=0.05)
    return build_graph(r.cmo, r.vocabulary, r.studies)


def test_layout_of_60_nodes_has_no_overlap_within_a_layer(big):
    assert big.number_of_nodes() == 60
    lay = layered_layout(big)
    assert set(lay.boxes) == set(big.nodes)
    for layer in lay.layers:
        boxes = sorted((lay.boxes[n] for n in layer), key=lambda b: b.y)
        assert len({b.x for b in boxes}) <= 1
        for upper, lower in zip(boxes, boxes[1:], strict=False):
            assert upper.bottom < lower.top
        assert all(0 < b.top and b.bottom < lay.height for b in boxes)
    # kinds go to their layers, left to right
    first, last = lay.layers[0], lay.layers[-1]
    assert {big.nodes[n]["kind"] for n in first} == {"context", "component"}
    assert {big.nodes[n]["kind"] for n in last} == {"outcome"}
    for u, v in big.edges:
        if big.nodes[u]["kind"] != "mechanism" or big.nodes[v]["kind"] != "mechanism":
            assert lay.boxes[u].layer < lay.boxes[v].layer


def test_barycentre_ordering_reduces_crossings(big):
    lay = layered_layout(big)
    unordered = layered_layout(big, sweeps=0)
    assert lay.crossings < unordered.crossings
    position = {n: b.order for n, b in lay.boxes.items()}
    layer = {n: b.layer for n, b in lay.boxes.items()}
    assert count_crossings(big, layer, position) == lay.crossings


def test_svg_of_60_nodes_is_reproducible(big):
    svg = layered_svg(big)
    assert svg.startswith("<?xml") and "</svg>" in svg
    assert "<dc:date>" not in svg
    assert layered_svg(big) == svg
    assert "Mechanism" in svg  # layer headings and legend are text elements' ids or paths
    assert re.search(r"stroke-dasharray", svg)  # contested links are dashed


@pytest.mark.parametrize("over", [False, True])
def test_links_past_vector_links_max_are_drawn_as_one_image(big, monkeypatch, over):
    """One arrow path per link up to VECTOR_LINKS_MAX links; past it the links are one image (the boxes and their
    labels stay text), which the report inlines (a base64 PNG cannot run script)."""
    from emmie.mechanisms import plots
    from emmie.report.html import inline_svg

    n = big.number_of_edges()
    monkeypatch.setattr(plots, "VECTOR_LINKS_MAX", n - 1 if over else n)
    svg = layered_svg(big)
    assert ("<image" in svg) is over
    label = next(iter(big.nodes(data=True)))[1]["label"].split()[0]
    assert label in svg  # labels are text either way
    assert inline_svg(svg) is not None


def test_wrap_label():
    assert wrap_label("short") == ("short",)
    lines = wrap_label("a very long label " * 10, width=20, max_lines=3)
    assert len(lines) == 3 and lines[-1].endswith("\u2026") and all(len(s) <= 20 for s in lines)


def test_interactive_escapes_script_in_excerpts(small):
    rows, voc, st = small
    rows = rows.copy()
    evil = '</script><script>alert("x")</script><!-- \u2028 &'
    rows.loc[0, "excerpt"] = evil
    voc = voc.copy()
    voc.loc[0, "label"] = "<b>C1</b>"
    G = build_graph(rows, voc, st)
    frag = interactive_html(view_elements(G), element_id="cmo-1", include_library=False)
    assert frag.count("</script>") == frag.count("<script") == 2
    assert "<!--" not in frag and "<b>" not in frag and "\u2028" not in frag
    data = re.search(r'<script type="application/json" id="cmo-1-data">(.*?)</script>', frag, re.S).group(1)
    decoded = json.loads(data)
    excerpts = [c["excerpt"] for e in decoded["edges"] for c in e["data"]["codings"]]
    assert evil in excerpts
    assert {n["data"]["full_label"] for n in decoded["nodes"]} >= {"<b>C1</b>"}
    assert "innerHTML" not in frag


def test_interactive_is_self_contained_and_uses_preset_positions(small):
    G = build_graph(*small)
    frag = interactive_html(view_elements(G), element_id="g")
    assert cytoscape_js() in frag
    assert len(cytoscape_js()) > 100_000
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", frag)
    assert "@import" not in frag and "url(" not in frag.replace(cytoscape_js(), "")
    assert 'name: "preset"' in frag
    data = json.loads(re.search(r'id="g-data">(.*?)</script>', frag, re.S).group(1))
    lay = layered_layout(G)
    pos = {n["data"]["id"]: n["position"] for n in data["nodes"]}
    assert pos["m1"]["x"] == pytest.approx(lay.boxes["m1"].x * 72, abs=0.01)
    assert interactive_html(view_elements(G), element_id="g") == frag


def test_interactive_rejects_unsafe_element_id(small):
    with pytest.raises(ValueError):
        interactive_html(view_elements(build_graph(*small)), element_id='x" onload="alert(1)')


def test_script_json():
    assert script_json({"a": "</script>&"}) == '{"a": "\\u003c/script\\u003e\\u0026"}'
    assert json.loads(script_json({"a": "</script>&"})) == {"a": "</script>&"}


def test_link_status_is_told_by_line_style_not_colour_alone(big):
    from emmie.mechanisms.plots import LINK_COLOURS, LINK_DASHES

    # each status has its own line style, so a reader who cannot tell the colours apart can tell the lines apart
    assert set(LINK_DASHES) == set(LINK_COLOURS) and len(set(LINK_DASHES.values())) == 3
    svg = layered_svg(big)
    assert "refined link (dotted)" in svg and "contested (dashed: a study contradicts)" in svg
    assert "stroke-dasharray" in svg
    from emmie.report.cmo_view import _VIEWER_JS

    assert "edge[style = 'refined']" in _VIEWER_JS and '"line-style": "dotted"' in _VIEWER_JS


_LAYOUT_SCRIPT = """
import json
from emmie.mechanisms.graph import build_graph
from emmie.mechanisms.layout import layered_layout
from emmie.mechanisms.synthetic import synthetic_codings
r = synthetic_codings(1000, 150, n_studies=200, seed=3)
lay = layered_layout(build_graph(r.cmo, r.vocabulary, r.studies))
print(json.dumps({"layers": lay.layers, "y": {n: b.y for n, b in sorted(lay.boxes.items())}}))
"""


def test_the_layout_is_the_same_whatever_the_hash_seed():
    """Each Python process salts string hashes differently. A graph this size was laid out differently from run to
    run (the neighbours' barycentres were summed in set order, and their last bits broke ties); now it is not."""
    outs = {
        subprocess.run(
            [sys.executable, "-c", _LAYOUT_SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outs) == 1
    assert json.loads(outs.pop())["layers"]
