"""The small page helpers: labelled scrolling regions, study mentions linked to their references,
the toolkit's evidence-strength icon, and the numbers behind each chart."""

from __future__ import annotations

import math

import pytest

from emmie.report import figure_data
from emmie.report.context import evidence_strength
from emmie.report.html import link_mentions, scroll_regions


def test_every_table_wrapper_becomes_a_focusable_region_named_by_its_caption():
    page = (
        '<div class="table-wrap"><table><caption>A</caption></table></div>'
        '<div class="table-wrap stack"><table class="x">\n<caption>B</caption></table></div>'
    )
    out = scroll_regions(page)
    assert out.count('tabindex="0" role="region"') == 2
    assert (
        '<div class="table-wrap" tabindex="0" role="region" aria-labelledby="table-1"><table><caption id="table-1">A'
        in out
    )
    assert 'aria-labelledby="table-2"><table class="x">\n<caption id="table-2">B' in out


def test_a_wrapper_without_a_captioned_table_is_refused():
    with pytest.raises(ValueError, match="captioned table"):
        scroll_regions('<div class="table-wrap"><table><tr><td>1</td></tr></table></div>')


LABELS = {"keddell2014": "Keddell (2014)", "baginsky2020": "Baginsky (2020a)", "baginsky2020b": "Baginsky (2020b)"}


def test_mentions_link_to_the_reference_on_the_page_or_in_the_full_report():
    page = (
        "<body><p>Keddell (2014) and Baginsky (2020b) say so; Baginsky (2020a) too.</p>"
        '<ol><li id="ref-keddell2014">Keddell (2014). A paper.</li></ol></body>'
    )
    out = link_mentions(page, LABELS)
    assert '<a href="#ref-keddell2014">Keddell (2014)</a> and' in out  # its entry is on this page
    assert '<a href="index.html#ref-baginsky2020b">Baginsky (2020b)</a> say' in out  # in the full report
    assert '<a href="index.html#ref-baginsky2020">Baginsky (2020a)</a> too' in out
    assert '<li id="ref-keddell2014">Keddell (2014). A paper.</li>' in out  # the entry itself is left alone


def test_mentions_already_linked_in_headings_scripts_svg_or_attributes_are_left_alone():
    page = (
        '<body><a href="#ref-keddell2014">Keddell (2014)</a><h3>Keddell (2014)</h3>'
        '<script>var s = "Keddell (2014)" < 3;</script><svg><text>Keddell (2014)</text></svg>'
        '<div aria-label="Keddell (2014)">x</div><p>Keddell (20145) and NotKeddell (2014)</p></body>'
    )
    assert link_mentions(page, LABELS) == page


def test_mentions_in_escaped_text_are_found():
    page = "<body><p>Caffrey &amp; Browne (2023) found it.</p></body>"
    out = link_mentions(page, {"caffrey2023": "Caffrey & Browne (2023)"})
    assert '<a href="index.html#ref-caffrey2023">Caffrey &amp; Browne (2023)</a> found' in out


@pytest.mark.parametrize(
    ("certainty", "marks", "words"),
    [
        ("high", 4, "high"),
        ("moderate", 3, "moderate"),
        ("low", 2, "low"),
        ("very low", 1, "very low"),
        (None, 0, "no comparative evidence"),
        ("untested", 0, "no comparative evidence"),
    ],
)
def test_evidence_strength_icon(certainty, marks, words):
    assert evidence_strength(certainty) == {"marks": marks, "words": words}


OUTCOME = {
    "measure": "OR",
    "studies": [
        {
            "study_id": "a1990",
            "yi": math.log(2.0),
            "vi": 0.04,
            "ci_lb": math.log(1.5),
            "ci_ub": math.log(2.5),
            "weight": 60.0,
        },
        {"study_id": "b1991", "yi": 0.0, "vi": 0.09, "ci_lb": -0.5, "ci_ub": 0.5, "weight": 40.0},
    ],
    "frequentist": {
        "z": {
            "estimate": math.log(1.5),
            "ci_lb": math.log(1.2),
            "ci_ub": math.log(1.9),
            "pi_lb": math.log(0.9),
            "pi_ub": math.log(2.4),
        }
    },
    "bayes": {
        "mu": {"mean": math.log(1.4), "ci_lb": math.log(1.1), "ci_ub": math.log(1.8)},
        "pred": {"lb": math.log(0.8), "ub": math.log(2.5)},
        "tau": {"mean": 0.2, "ci_lb": 0.01, "ci_ub": 0.6},
        "priors": {"mu_prior_mean": 0.0, "mu_prior_sd": 4.0, "tau_prior": "half_normal", "tau_scale": 0.5},
        "theta": [
            {"yi": math.log(2.0), "mean": math.log(1.8), "lb": math.log(1.3), "ub": math.log(2.4)},
            {"yi": 0.0, "mean": math.log(1.2), "lb": math.log(0.8), "ub": math.log(1.7)},
        ],
    },
}


def test_forest_numbers_are_on_the_scale_the_chart_shows():
    d = figure_data.forest(OUTCOME)
    assert d["head"] == ["Study", "Odds ratio", "95% CI", "Weight (%)"]
    assert d["rows"] == [["a1990", "2.00", "[1.50, 2.50]", "60.0"], ["b1991", "1.00", "[0.61, 1.65]", "40.0"]]
    assert d["ids"] == ["a1990", "b1991"]
    assert d["text"].startswith(
        "Pooled odds ratio (z) 1.50 [1.20, 1.90], 95% prediction interval [0.90, 2.40], from 2 results"
    )


def test_funnel_bayes_and_prior_numbers():
    assert figure_data.funnel(OUTCOME)["rows"] == [["a1990", "2.00", "0.200"], ["b1991", "1.00", "0.300"]]
    b = figure_data.bayes_forest(OUTCOME)
    assert b["rows"][0] == ["a1990", "2.00", "1.80", "[1.30, 2.40]"]
    assert (
        b["text"]
        == "Posterior mean effect 1.40 (95% credible interval [1.10, 1.80]); predictive interval for a new study [0.80, 2.50]."
    )
    p = figure_data.prior_posterior(OUTCOME)["text"]
    assert (
        "normal, mean 0.00, SD 4.00" in p
        and "half-normal, scale 0.50" in p
        and "posterior mean 0.200 [0.010, 0.600]" in p
    )


def test_implementation_prisma_and_risk_of_bias_numbers():
    impl = {
        "cells": [
            {"theme": "t1", "level": "team", "barrier": 1, "enabler": 2},
            {"theme": "t1", "level": "system", "barrier": 0, "enabler": 0},
        ]
    }
    m = figure_data.implementation_matrix(impl, {"t1": "Leadership"})
    assert m["head"] == ["Theme", "Team", "System"] and m["rows"] == [["Leadership", "1 / 2", "–"]]
    p = figure_data.prisma({"counts": {"studies_included": 3, "records_screened": None}})
    assert p["rows"] == [["Records screened", "not reported"], ["Studies included", "3"]]  # in the flow's order
    rob = {
        "domains": ["D1", "Overall"],
        "judgements": [
            {"study_id": "a", "domain": "D1", "judgement": "low"},
            {"study_id": "a", "domain": "Overall", "judgement": "some_concerns"},
            {"study_id": "b", "domain": "D1", "judgement": "high"},
        ],
    }
    assert figure_data.rob_traffic(rob)["rows"] == [["a", "low", "some concerns"], ["b", "high", "–"]]
    assert (
        figure_data.rob_summary(rob)["text"]
        == "Studies per judgement. D1: 1 of 2 low, 1 of 2 high; Overall: 1 of 1 some concerns."
    )


def test_forest_caption_gives_the_fit_the_plot_shows():
    knha = {
        "estimate": math.log(1.5),
        "ci_lb": math.log(1.1),
        "ci_ub": math.log(2.0),
        "pi_lb": math.log(0.8),
        "pi_ub": math.log(2.8),
    }
    o = {**OUTCOME, "frequentist": {**OUTCOME["frequentist"], "knha": knha}, "headline_test": "knha"}
    assert figure_data.forest(o)["text"].startswith(
        "Pooled odds ratio (Knapp-Hartung) 1.50 [1.10, 2.00], 95% prediction interval [0.80, 2.80]"
    )


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:x",
        "//evil.example/x",
        "file:///etc/passwd",
        "www.example.org",
        "https://exa mple.org",
        "",
    ],
)
def test_links_from_the_data_are_refused_unless_http_or_doi(url: str):
    from emmie.report.html import href

    with pytest.raises(ValueError, match="refusing to write a link"):
        href(url)


def test_http_urls_and_dois_become_links():
    from emmie.report.html import href

    assert href("https://example.org/a?b=1") == "https://example.org/a?b=1"
    assert href(" 10.1007/s11292-015-9238-7 ") == "https://doi.org/10.1007/s11292-015-9238-7"


def test_a_javascript_url_that_reaches_the_renderer_stops_the_page(tmp_path):
    """Defence in depth: even if a review.yaml URL escaped validation, the page is not written with it."""
    from emmie.report.render import environment

    env = environment()
    template = env.from_string('<a href="{{ u|href }}">x</a>')
    assert template.render(u="https://example.org") == '<a href="https://example.org">x</a>'
    with pytest.raises(ValueError):
        template.render(u="javascript:alert(1)")


SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


@pytest.mark.parametrize(
    "text",
    [
        "Parents trust social workers online = 24/7 support",
        "javascript: tutorial",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "onload=alert(1)",
    ],
)
def test_svg_text_that_merely_mentions_script_is_inlined(text: str):
    from emmie.report.html import inline_svg

    svg = f"<svg {SVG_NS}><text>{text}</text><g id='x'><title>{text}</title></g></svg>"
    assert inline_svg(svg) == svg


@pytest.mark.parametrize(
    ("svg", "why"),
    [
        ("<script>alert(1)</script>", "a <script> element"),
        ("<foreignObject><div/></foreignObject>", "a <foreignobject> element"),
        ('<g onload="alert(1)"/>', "event-handler attribute 'onload'"),
        ('<a xlink:href="javascript:alert(1)"><text>x</text></a>', "a link to 'javascript:alert(1)'"),
        ('<a href=" java&#9;script:alert(1)"/>', "a link to"),
        ('<image href="data:image/svg+xml;base64,PHN2Zz4="/>', "a link to 'data:"),
        ('<a href="data:image/png;base64,iVBORw0KGgo="><text>x</text></a>', "a link to 'data:"),
        ('<image href="data:image/png;base64,iVBOR&lt;script&gt;"/>', "a link to 'data:"),
        ('<image href="data:text/html;base64,PHNjcmlwdD4="/>', "a link to 'data:"),
    ],
)
def test_svg_that_could_run_script_is_refused(svg: str, why: str):
    from emmie.report.html import inline_svg

    with pytest.raises(ValueError, match="could run script") as err:
        inline_svg(f"<svg {SVG_NS}>{svg}</svg>")
    assert why in str(err.value)


def test_a_figure_drawn_partly_as_an_image_is_inlined():
    """A caterpillar plot draws its many results as one base64 PNG in an <image>: that cannot run script."""
    import numpy as np

    from emmie.effect import meta_analysis
    from emmie.effect.plots import FOREST_MAX_ROWS, forest_plot
    from emmie.report.html import inline_svg

    k = FOREST_MAX_ROWS + 1
    yi, vi = np.linspace(-1, 1, k), np.full(k, 0.04)
    svg = forest_plot(yi, vi, [str(i) for i in range(k)], meta_analysis(yi, vi), measure="SMD")
    assert "data:image/png;base64," in svg and "<image" in inline_svg(svg)
    assert inline_svg(f'<svg {SVG_NS}><image href="data:image/png;base64,iVBORw0KGgo="/></svg>')


def test_dollar_signs_in_labels_are_text_not_mathtext():
    from emmie.figures import new_figure, to_svg

    fig = new_figure(4, 1)
    ax = fig.add_subplot()
    ax.text(0, 0.5, "Income under $20,000 and over $50,000")
    ax.text(0, 0.2, r"$\notamacro$")  # mathtext would raise ValueError: Unknown symbol
    svg = to_svg(fig)
    assert "Income under $20,000 and over $50,000" in svg and r"$\notamacro$" in svg


DEPENDENT = {
    **OUTCOME,
    "dependence": {"k": 3, "n_studies": 2},
    "studies": [
        {**OUTCOME["studies"][0], "effect_id": "a1"},
        {**OUTCOME["studies"][0], "effect_id": "a2"},
        {**OUTCOME["studies"][1], "effect_id": "b1"},
    ],
    "frequentist": {"cr2": OUTCOME["frequentist"]["z"]},
    "headline_test": "cr2",
    "study_averages": [
        {"study": "a1990", "yi": math.log(2.0), "vi": 0.02},
        {"study": "b1991", "yi": 0.0, "vi": 0.09},
    ],
}


def test_forest_of_a_multilevel_model_names_each_result():
    d = figure_data.forest(DEPENDENT)
    assert d["head"] == ["Study", "Result", "Odds ratio", "95% CI", "Weight (%)"]
    assert [r[:2] for r in d["rows"]] == [["a1990", "a1"], ["a1990", "a2"], ["b1991", "b1"]]
    assert d["text"].startswith("Pooled odds ratio (CR2 cluster-robust) 1.50 [1.20, 1.90]")


def test_funnel_and_bayes_forest_of_a_multilevel_model_list_the_study_averages():
    f = figure_data.funnel(DEPENDENT)
    assert f["rows"] == [["a1990", "2.00", "0.141"], ["b1991", "1.00", "0.300"]]
    assert f["caption"].startswith("The points of the study averages")
    assert figure_data.funnel(OUTCOME)["caption"].startswith("The points of the funnel plot")
    assert figure_data.bayes_forest(DEPENDENT)["ids"] == ["a1990", "b1991"]


def test_prior_text_names_the_log_scale_for_ratio_measures_only():
    assert "(log scale)" in figure_data.prior_posterior(OUTCOME)["text"]
    assert "(log scale)" not in figure_data.prior_posterior({**OUTCOME, "measure": "SMD"})["text"]
