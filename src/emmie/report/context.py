"""Turn a review's results (stage JSON, SVGs, emmie.json) into what the templates show.

Pure functions of already-read data, apart from reading the SVG files a stage
named; the wording of the plain-language text lives here.
"""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from markupsafe import Markup

from emmie.effect.names import TEST_NAMES
from emmie.effect.swim import GLYPHS
from emmie.findings.effect import BF_WORDS, bf_text
from emmie.findings.mechanisms import link_parts
from emmie.findings.text import exp, fmt, fmt_amount, fmt_p, fmt_prob, pct, plural
from emmie.findings.text import number as _f
from emmie.ingest.documents import TYPE_WORDS, is_study, other_documents, study_ids
from emmie.ingest.labels import study_labels
from emmie.ingest.review import Review
from emmie.report import cmo_view, figure_data, tables
from emmie.report.cmo_view import interactive_html
from emmie.report.figure_data import EXP_MEASURES
from emmie.report.html import read_svg

DIMENSIONS = (
    ("effect", "Effect", "Does it work?", "effect"),
    ("mechanisms", "Mechanisms", "How does it work?", "mechanisms"),
    ("moderators", "Moderators", "Where and for whom does it work best?", "moderators"),
    ("implementation", "Implementation", "How to do it", "implementation"),
    ("economics", "Economics", "What does it cost?", "economics"),
)
SOFTWARE = ("numpy", "scipy", "pandas", "statsmodels", "pymc", "arviz", "networkx", "matplotlib", "jinja2", "snakemake")


# --------------------------------------------------------------------------- studies


def data_folder(review: Review) -> str:
    """The review's data folder as the pages name it (``data/<review>`` by default)."""
    return f"{review.path.parent.name}/{review.path.name}"


def study_index(review: Review, listed: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """Each study's label and citation, and whether its reference is ``listed`` on the page (None: all are)."""
    labels = study_labels(review)
    return {
        sid: {"short": labels[sid], "citation": citation, "listed": listed is None or sid in listed}
        for sid, citation in zip(review.studies["study_id"], review.studies["citation"], strict=True)
    }


#: A reference names at most this many of the study's coded rows of each kind, then how many more.
CODED_IDS_MAX = 20


def references(review: Review) -> list[dict[str, Any]]:
    # Whether each source was in the published review is worth a word only when it is not "yes" for all.
    show_inclusion = bool(review.config.get("published_review")) and bool(
        (review.studies["in_original_review"] != "yes").any()
    )
    coded_by: dict[str, dict[str, list[str]]] = {}
    for name, key in (
        ("effects", "effect_id"),
        ("cmo", "cmo_id"),
        ("implementation", "impl_id"),
        ("economics", "econ_id"),
    ):
        frame = getattr(review, name)
        coded_by[name] = {str(sid): list(ids) for sid, ids in frame.groupby("study_id", sort=False)[key]}
    rows = []
    for s in review.studies.sort_values(["citation", "study_id"]).to_dict("records"):
        sid = s["study_id"]
        url = s["url"]
        coded = {name: coded_by[name].get(str(sid), []) for name in coded_by}
        most = tables.bound(CODED_IDS_MAX)
        more = {name: max(0, len(ids) - most) for name, ids in coded.items()}
        coded = {name: ids[:most] for name, ids in coded.items()}
        rows.append(
            {
                "study_id": sid,
                "citation": s["citation"],
                "url": url,
                "design": s["design"].replace("_", " "),
                "rob": s["rob_overall"].replace("_", " "),
                "relevance": s["relevance"],
                "rigour": s["rigour"],
                "verified": s["verified"],
                "source": s["source"],
                "rows": coded,
                "more_rows": more,
                "document": TYPE_WORDS.get(str(s.get("document_type", "")), ""),
                "is_study": is_study(str(s.get("document_type", "")), review.config),
                "published": str(s.get("published", "")),
                "in_original_review": s["in_original_review"] if show_inclusion else "",
                "inclusion_basis": str(s.get("inclusion_basis", "")),
            }
        )
    return rows


def _sources_text(review: Review) -> str:
    others = other_documents(review)
    text = f"{len(study_ids(review))} studies"
    if others:
        text += f" and {len(others)} other documents (not studies: {', '.join(sorted({d['type'] for d in others}))})"
    return text


# --------------------------------------------------------------------------- Effect


FIGURES = (
    (
        "forest",
        "Forest plot for {label}",
        "Forest plot: each study's estimate with its 95% CI, the pooled estimate (diamond) and the 95% prediction interval.",
    ),
    (
        "funnel",
        "Contour-enhanced funnel plot for {label}",
        "Contour-enhanced funnel plot (shaded: p < 0.10, 0.05, 0.01).",
    ),
    (
        "bayes_forest",
        "Bayesian forest plot for {label}",
        "Bayesian forest plot: observed estimates and shrunken study effects, with the pooled effect and predictive interval.",
    ),
    (
        "prior_posterior",
        "Prior and posterior distributions for {label}",
        "Prior (dashed) and posterior densities: how much the data moved the prior.",
    ),
)
MULTILEVEL_CAPTIONS = {
    "forest": "Forest plot: each result's estimate with its 95% CI, grouped by study, the pooled estimate of the "
    "multilevel model (diamond) and the 95% prediction interval.",
    "funnel": "Contour-enhanced funnel plot of the study averages (shaded: p < 0.10, 0.05, 0.01).",
    "bayes_forest": "Bayesian forest plot: the observed study averages and the shrunken study effects, with the "
    "pooled effect and predictive interval.",
}
OUTCOME_KEYS = ("outcome", "label", "measure", "desirable", "k", "n_results", "pooled", "reason_not_pooled")


#: The file of the Effect stage that holds all the numbers of each figure's table.
FIGURE_FILES = {
    "forest": (("effect_sizes.csv", "estimates and intervals"), ("results.csv", "weights")),
    "funnel": (("effect_sizes.csv", ""),),
    "bayes_forest": (("effect_sizes.csv", "observed estimates"), ("results.csv", "shrunken estimates")),
    "prior_posterior": (("effect.json", ""),),
}


def files_text(folder: Path, files: tuple[tuple[str, str], ...]) -> str:
    """'<folder>/a.csv (what) and <folder>/b.csv (what)': where the numbers of a table are."""
    return " and ".join(f"{folder / name}" + (f" ({what})" if what else "") for name, what in files)


def _outcome_figures(o: dict[str, Any], folder: Path, budget: tables.Budget) -> tuple[list[dict[str, Any]], str]:
    """The outcome's figures that the page has room for, and one sentence naming the files of the others."""
    names = o.get("figures") or {}
    out, skipped = [], []
    for key, alt, caption in FIGURES:
        if not names.get(key):
            continue
        svg, note = budget.figure(folder / names[key], read_svg)
        if svg is None:
            if note:  # past the budget (a file that is not there is left off, as always)
                skipped.append(names[key])
            continue
        if o.get("dependence"):  # a multilevel model: each result in the forest plot, study averages elsewhere
            caption = MULTILEVEL_CAPTIONS.get(key, caption)
        caption = caption.replace("95%", pct(o.get("level")))  # the outcome's level (review.yaml `level`)
        data = figure_data.OUTCOME_FIGURES[key](o)
        where = files_text(folder, FIGURE_FILES.get(key, (("effect.json", ""),)))
        out.append(
            {
                "svg": svg,
                "alt": alt.format(label=o.get("label")),
                "caption": caption,
                "data": budget.figure_rows(data, "results", where),
            }
        )
    return out, budget.skipped_note(skipped, folder)


def _outcome_layout(
    o: dict[str, Any], view: dict[str, Any], said: dict[str, Any], folder: Path, budget: tables.Budget
) -> dict[str, Any]:
    """One outcome's tables and figures; its verdict and the findings behind it come from ``findings.json``."""
    freq = o.get("frequentist") or {}
    warnings = [w for t in TEST_NAMES for w in (freq.get(t) or {}).get("warnings", [])]
    sens = _sensitivity_rows((o.get("bayes") or {}).get("prior_sensitivity"), o.get("level"))
    figures, figures_note = _outcome_figures(o, folder, budget)  # page order: the figures, then the results
    studies, studies_note = budget.head(
        o.get("studies") or [],
        "results",
        files_text(folder, (("effect_sizes.csv", "yi, vi"), ("results.csv", "weights"))),
    )
    return {
        **{k: o.get(k) for k in OUTCOME_KEYS},
        "frequentist": {t: freq[t] for t in TEST_NAMES if freq.get(t)} or None,
        "test_names": TEST_NAMES,
        "level_pct": pct(o.get("level")),
        "dependence": _dependence_text(o),
        "fit_warnings": list(dict.fromkeys(warnings)),
        "transformed": transformed_text(o),
        "scale_note": f"estimates on the log scale of the {o.get('measure')}"
        if o.get("measure") in EXP_MEASURES
        else "",
        "interpretation": bool(view) and bool(o.get("pooled")),
        "verdict": view.get("verdict"),
        "certainty": (view.get("certainty") or {}).get("level"),
        "notes": [said[i]["statement"] for i in view.get("findings", []) if not i.startswith("effect.verdict.")],
        "sensitivity": sens,
        "bma_sensitivity": _bma_rows(o.get("bma")),
        "figures": figures,
        "figures_note": figures_note,
        "studies": studies,
        "studies_note": studies_note,
        "n_studies_rows": len(o.get("studies") or []),
    }


METHOD_NAMES = {
    "REML": "restricted maximum likelihood (REML; Viechtbauer 2005)",
    "ML": "maximum likelihood (ML)",
    "DL": "the DerSimonian-Laird estimator (DL)",
    "PM": "the Paule-Mandel estimator (PM)",
    "HE": "the Hedges estimator (HE)",
    "SJ": "the Sidik-Jonkman estimator (SJ)",
    "HS": "the Hunter-Schmidt estimator (HS)",
    "EB": "the empirical Bayes estimator (EB)",
}


def _adjusted_methods(o: dict[str, Any]) -> str:
    """The estimates adjusted for small-study effects and the Bayesian model averaging, in the methods' words."""
    ss = o.get("small_study") or {}
    text = ""
    if ss.get("pet_peese"):
        text += (
            " Estimates adjusted for small-study effects: the three-parameter selection model (Vevea & Hedges 1995; one "
            "cut-point at one-sided p = 0.025 in the desirable direction, maximum likelihood as metafor's selmodel) "
            "and conditional PET-PEESE (Stanley & Doucouliagos 2014; PEESE when PET's intercept is significant "
            "one-sided at 5%). Certainty is rated down for publication bias also when an adjusted estimate whose own "
            "test signals small-study effects (p < 0.10) keeps less than half of the pooled benefit."
        )
    bma = o.get("bma") or {}
    if bma.get("bf10") is not None:
        text += (
            " Bayesian model averaging over the fixed- and random-effects models with and without an effect (as "
            f"metaBMA, by quadrature; each model a priori 1/4; priors: {bma.get('prior_source')}) gives inclusion "
            "Bayes factors for an effect and for heterogeneity; BF10 of 3 or more is read as evidence of an effect, "
            "BF01 of 3 or more as evidence of no effect, and in between the data do not tell the two apart."
        )
    return text


def _multilevel_methods(o: dict[str, Any]) -> str:
    """How the dependence between a study's results was handled (Campbell's methods guidance asks for it)."""
    dep = o["dependence"]
    fit = (o.get("frequentist") or {}).get("cr2") or {}
    rho = fit.get("rho", dep.get("rho"))
    source = dep.get("rho_source") or ""
    return (
        f"{o['label']}: {dep['k']} results from {dep['n_studies']} studies were pooled on the {o.get('measure')} scale; "
        f"{dep['n_studies_several']} of the studies gave more than one result (at most {dep['max_per_study']}), so the "
        "results are not independent. They were pooled in a multilevel model with the correlated and hierarchical "
        "effects (CHE) working model (Pustejovsky & Tipton 2022): a random effect for each study and one for each "
        "result within a study, and the sampling errors of a study's results correlated at an assumed "
        f"rho = {float(rho):g} ({source}). The two variance components were estimated by "
        f"{METHOD_NAMES.get(dep.get('method'), dep.get('method'))}, with profile-likelihood intervals, and I² per level "
        "as in the metafor FAQ. The pooled effect's confidence interval and test are cluster-robust (CR2 with "
        "Satterthwaite degrees of freedom, clustered by study; Pustejovsky & Tipton 2018), so they stay valid if the "
        "assumed correlation is wrong; the model-based z test is shown beside it. The prediction interval uses the "
        "robust standard error, the total of the two variance components and t on the Satterthwaite degrees of "
        "freedom. The analyses that assume one result per study (the Bayesian model, Egger's and the rank test, "
        "trim-and-fill, the fail-safe N and the funnel plot) were run on study averages: each study's results "
        "combined under the same assumed correlation and the fitted within-study variance, which reproduces the "
        "multilevel model's estimate. Leave-one-out analyses leave out one study, with all its results, at a time."
        + _adjusted_methods(o)
    )


def _dependence_text(o: dict[str, Any]) -> str:
    """One sentence under the pooled table of a multilevel model: how many results from how many studies, and the
    two variance components with their I²."""
    dep = o.get("dependence") or {}
    fit = (o.get("frequentist") or {}).get("cr2") or {}
    if not dep or not fit:
        return ""
    s2 = fit.get("sigma2") or [None, None]
    i2 = fit.get("i2_levels") or [None, None]
    het = o.get("heterogeneity_ci") or {}

    def part(name: str, j: int) -> str:
        ci = het.get(f"sigma2_{name}") or {}
        interval = f" ({pct(o.get('level'))} CI {fmt(ci.get('ci_lb'), 4)} to {fmt(ci.get('ci_ub'), 4)})" if ci else ""
        return f"σ² = {fmt(s2[j], 4)}{interval}, I² = {fmt(i2[j], 1)}%"

    return (
        f"{dep['k']} results from {dep['n_studies']} studies ({dep['n_studies_several']} with more than one result, "
        f"at most {dep['max_per_study']}): a multilevel model. Between studies {part('study', 0)}; between the "
        f"results of one study {part('result', 1)}; the table's tau² is their total. The CR2 row is the headline: its interval holds whatever the "
        f"correlation between a study's results (assumed {float(dep['rho']):g}); t on "
        f"{fmt(fit.get('df'), 1)} degrees of freedom, from {fit.get('n_clusters')} studies."
    )


def _swim_layout(effect: dict[str, Any], said: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The direction-only tables per outcome domain; the counts and tests in words come from ``findings.json``."""
    swim = effect.get("swim") or {}
    labels = {o.get("outcome"): o.get("label") for o in effect.get("outcomes", [])}
    by_domain: dict[Any, list[dict[str, Any]]] = {}
    for r in swim.get("results", []):
        by_domain.setdefault(r.get("domain"), []).append(r)
    domains = []
    for d in swim.get("domains", []):
        rows, note = tables.head(by_domain.get(d.get("domain"), []), "results", str(folder / "effect.json"))
        domains.append(
            {
                "domain": d.get("domain"),
                "sign_test": said[f"effect.swim.{d.get('domain')}"]["statement"],
                "rows": [swim_row({**r, "outcome_label": labels.get(r.get("outcome"))}) for r in rows],
                "note": note,
            }
        )
    figures = (
        [
            {
                "svg": read_svg(folder / swim["figure"]),
                "alt": "Effect-direction plot of the results that could not be pooled, by outcome domain and study",
                "caption": "Effect direction by study and outcome domain (▲ benefit, ▼ harm, ◄► no change, ◆ mixed, ? unclear).",
                "data": {
                    "text": "Each result's direction, and the result as reported, are in the tables under the chart."
                },
            }
        ]
        if swim.get("figure")
        else []
    )
    return {"swim": bool(domains), "swim_domains": domains, "swim_figures": figures}


def _verdict_rows(findings: dict[str, Any], said: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for v in findings["effect"]["outcomes"]:
        cert = v.get("certainty") or {}
        rows.append(
            {
                "outcome": v["outcome"],
                "label": v["label"],
                "certainty": said[f"effect.verdict.{v['outcome']}"]["certainty"],
                "verdict": v["verdict"],
                "certainty_rows": v.get("certainty_rows") or [],
                "start": cert.get("start"),
                "body": v.get("body") or "the comparative studies",
                "override": cert if cert.get("overridden") else None,
                "notes": [said[i]["statement"] for i in v["findings"] if i.startswith("effect.uncontrolled.")],
            }
        )
    return rows


def effect_section(
    review: Review,
    effect: dict[str, Any],
    folder: Path,
    findings: dict[str, Any],
    said: dict[str, Any],
    budget: tables.Budget | None = None,
) -> dict[str, Any]:
    """The Effect section: verdicts per outcome, then each analysed outcome's tables and figures, then SWiM. The
    outcomes' figures and tables share ``budget`` (:class:`emmie.report.tables.Budget`): primary outcomes draw on it
    first, then the others in the order of review.yaml."""
    views = {v["outcome"]: v for v in findings["effect"]["outcomes"]}
    budget = budget or tables.Budget()
    # primary outcomes draw on the page's budget first; the page keeps review.yaml's order
    listed = effect.get("outcomes", [])
    first = sorted(range(len(listed)), key=lambda i: not listed[i].get("primary"))
    laid = {
        i: _outcome_layout(listed[i], views.get(listed[i].get("outcome")) or {}, said, folder, budget) for i in first
    }
    outcomes = [laid[i] for i in range(len(listed))]
    analysed = [o for o in outcomes if o["pooled"] or o["interpretation"] or o["figures"] or o["figures_note"]]
    primary = {o.get("outcome") for o in listed if o.get("primary")}
    shown = tables.pick(analysed, tables.bound(tables.OUTCOMES_MAX), lambda o: o["outcome"] in primary)
    verdicts = _verdict_rows(findings, said)
    shown_verdicts = tables.pick(verdicts, tables.bound(tables.OUTCOMES_MAX), lambda v: v["outcome"] in primary)
    not_analysed, not_analysed_note = tables.head(
        [o for o in outcomes if o not in analysed], "outcomes", files_text(folder, (("effect.json", ""),))
    )
    warnings, warnings_note = tables.head(
        effect.get("warnings", []), "warnings", files_text(folder, (("effect.json", ""),))
    )
    return {
        "headline": said["effect.headline"]["statement"],
        "verdicts": shown_verdicts,
        "verdicts_note": _outcomes_note(
            len(shown_verdicts), len(verdicts), "gives the verdicts on", str(folder.parent / "findings.json")
        ),
        "overrides": [v for v in verdicts if v["override"]],
        "outcomes": shown,
        "outcomes_note": _outcomes_note(
            len(shown), len(analysed), "has a section for", files_text(folder, (("effect.json", ""),))
        ),
        "not_analysed": [
            {
                "outcome": o["outcome"],
                "label": o["label"],
                "n_results": o["n_results"],
                "reason": o["reason_not_pooled"],
            }
            for o in not_analysed
        ],
        "not_analysed_note": not_analysed_note,
        "warnings": warnings,
        "warnings_note": warnings_note,
        **_swim_layout(effect, said, folder),
        "swim_intro": "Results that could not be combined in a meta-analysis are shown side by side, with the direction "
        "of each result. Comparative studies and studies without a comparison group are counted apart, and a sign test "
        "is run on the comparative studies only (SWiM; Campbell et al. 2020).",
    }


def _outcomes_note(shown: int, total: int, what: str, where: str) -> str:
    """The sentence that says the page covers ``shown`` of ``total`` outcomes, which, and where all of them are."""
    if shown >= total:
        return ""
    return (
        f"The page {what} {shown:,} of the {total:,} outcomes (primary outcomes first, then in the order of "
        f"review.yaml), so that it stays quick to open; all of them are in {where}."
    )


SENSITIVITY_COLUMNS = (
    ("prior", "tau prior"),
    ("mu_median", "median effect"),
    ("mu_ci_lb", "{level} CrI lower"),
    ("mu_ci_ub", "{level} CrI upper"),
    ("tau_median", "median tau"),
    ("p_benefit", "P(any benefit)"),
    ("p_benefit_mid", "P(benefit >= MID)"),
)


def _bma_rows(bma: dict[str, Any] | None) -> dict[str, Any] | None:
    """The Bayes factors of the model averaging under other priors (columns and rows for the page)."""
    rows = (bma or {}).get("sensitivity") or []
    if not rows:
        return None
    return {
        "columns": ["Priors", "Effect prior", "tau prior", "BF10 (effect)", "BF (heterogeneity)", "Reading"],
        "rows": [
            [
                r["priors"],
                r["effect_prior"],
                r["tau_prior"],
                bf_text(r["bf10"]),
                bf_text(r["bf_heterogeneity"]),
                BF_WORDS[r["evidence"]].split(" (")[0],
            ]
            for r in rows
        ],
    }


def _sensitivity_rows(records: list[dict[str, Any]] | None, level: Any = 0.95) -> dict[str, Any] | None:
    """The prior-sensitivity table with its numbers written out (probabilities never round to certainty)."""
    if not records:
        return None
    columns = [(k, label) for k, label in SENSITIVITY_COLUMNS if any(r.get(k) is not None for r in records)]
    cell = lambda k, v: fmt_prob(v) if k.startswith("p_") else (v if isinstance(v, str) else fmt(v, 3))  # noqa: E731
    return {
        "columns": [label.format(level=pct(level)) for _, label in columns],
        "rows": [[cell(k, r.get(k)) for k, _ in columns] for r in records],
    }


SYMBOL = GLYPHS  # the table shows the glyphs of the effect-direction plot


def swim_row(r: dict[str, Any]) -> dict[str, Any]:
    direction = r.get("direction") or "unclear"
    return {
        "effect_id": r.get("effect_id"),
        "study_id": r.get("study_id"),
        "outcome_label": r.get("outcome_label") or r.get("outcome"),
        "design": (r.get("design") or "").replace("_", " "),
        "rob": (r.get("rob") or r.get("rob_overall") or "").replace("_", " "),
        "direction": direction.replace("_", " "),
        "direction_symbol": SYMBOL.get(direction, "○"),
        "result_text": r.get("result_text") or r.get("result") or "",
        "reason": r.get("reason") or "",
    }


def transformed_text(o: dict[str, Any]) -> str:
    if o.get("measure") not in EXP_MEASURES or not o.get("frequentist"):
        return ""
    fits = o["frequentist"]
    f = fits.get(o.get("headline_test") or "knha") or fits.get("knha") or fits.get("z")
    if not f or _f(f.get("estimate")) is None:
        return ""
    e = lambda x: fmt(exp(x), 2) if _f(x) is not None else "–"  # noqa: E731
    return f"{o['measure']} {e(f['estimate'])} ({pct(o.get('level'))} CI {e(f['ci_lb'])} to {e(f['ci_ub'])}; prediction interval {e(f.get('pi_lb'))} to {e(f.get('pi_ub'))})"


# --------------------------------------------------------------------------- Mechanisms and Moderators


def label_of(review: Review, concept: str | None) -> str:
    return review.concept_label(concept) if concept else ""


def _link_studies(link: dict[str, Any]) -> list[str]:
    return sorted(
        set(link.get("supporting_studies", []))
        | set(link.get("refining_studies", []))
        | set(link.get("contradicting_studies", []))
    )


def _link_text(review: Review, link: dict[str, Any]) -> str:
    src = link.get("source_label") or label_of(review, link.get("source"))
    dst = link.get("target_label") or label_of(review, link.get("target"))
    return f"{src} → {dst}"


def _names(ids: list[str], labels: dict[str, str], most: int = 8) -> str:
    """Studies by label, the first ``most`` of a longer list and how many more (a link can rest on thousands)."""
    named = "; ".join(labels.get(s, s) for s in ids[:most])
    return named + (f"; and {len(ids) - most:,} more" if len(ids) > most else "")


def _link_detail(link: dict[str, Any], labels: dict[str, str]) -> str:
    parts = link_parts(link)
    return "; ".join(f"{_names(p['studies'], labels)} {p['word']}" for p in parts) or "no study"


def mechanisms_section(
    review: Review, mech: dict[str, Any], folder: Path, listed: set[str] | None = None
) -> dict[str, Any]:
    """The mechanisms section; ``listed`` is the set of studies whose reference is on the page (None: all)."""
    names = study_labels(review)
    configs = []
    for c in mech.get("configurations", [])[:25]:
        labels = c.get("labels") or [label_of(review, n) for n in c.get("path", [])]
        links = [
            {"text": _link_text(review, link), "studies": _link_studies(link), "parts": link_parts(link)}
            for link in c.get("links", [])
        ]
        configs.append(
            {
                "text": " → ".join(labels),
                "n_studies": c.get("n_studies", 0),
                "weakest_n": c.get("weakest_n_studies"),
                "strength": c.get("weakest_strength"),
                "complete_in": c.get("complete_in", []),
                "links": links,
            }
        )
    theory = []
    for t in mech.get("theory", []):
        links = [
            {
                "text": _link_text(review, link),
                "status": (link.get("status") or "").replace("_", " "),
                "parts": link_parts(link),
            }
            for link in t.get("links", [])
        ]
        theory.append(
            {
                "id": t.get("id"),
                "statement": t.get("statement", ""),
                "status": (t.get("status") or "").replace("_", " "),
                "links": links,
            }
        )
    lists = [
        {
            "title": "Demi-regularities: mechanisms seen in two or more contexts",
            "items": [_demi(d, names) for d in mech.get("demi_regularities", [])],
            "empty": "No mechanism was seen to fire in two or more distinct contexts.",
        },
        {
            "title": "Contested links (supported and contradicted)",
            "items": [f"{_link_text(review, d)} ({_link_detail(d, names)})" for d in mech.get("contested", [])],
            "empty": "No link is both supported and contradicted.",
        },
        {
            "title": "Links resting on a single study",
            "items": [f"{_link_text(review, d)} ({_link_detail(d, names)})" for d in mech.get("single_study", [])],
            "empty": "Every link rests on two or more studies.",
        },
        {
            "title": "Gaps",
            "items": _gaps(mech.get("gaps", {})),
            "empty": "Every mechanism links to an outcome and every outcome to a mechanism.",
        },
        {
            "title": "Links the evidence adds beyond the initial theory",
            "items": [f"{_link_text(review, d)} ({_link_detail(d, names)})" for d in mech.get("beyond_theory", [])],
            "empty": "The evidence adds no link that the initial theory lacks.",
        },
    ]
    view = folder / "cmo_view.json"
    elements = json.loads(view.read_text(encoding="utf-8")) if view.is_file() else None
    n_links = len(elements["edges"]) if elements else 0
    too_many = n_links > tables.bound(tables.GRAPH_LINKS_MAX)
    graph_note = (
        f"The graph has {n_links:,} links among {len(elements['nodes']):,} concepts: too many to draw on a page. Every "
        f"link, with its studies and codings, is in {folder / 'cmo_edges.csv'}, and the whole graph in "
        f"{folder / 'cmo.graphml'} (it opens in Gephi or Cytoscape)."
        if too_many
        else ""
    )
    for block in lists:
        block["items"], block["note"] = tables.head(block["items"], "items", str(folder / "mechanisms.json"))
    ev = mech.get("evidence", {})
    intro = (
        f"{mech.get('n_codings', len(review.cmo))} context-mechanism-outcome codings from {mech.get('n_studies', review.cmo['study_id'].nunique())} studies. "
        f"How the studies know: {', '.join(f'{v} {k}' for k, v in sorted(ev.items()))}."
        if ev
        else "No context-mechanism-outcome configuration was coded."
    )
    return {
        "svg": None if too_many else read_svg(folder / "cmo.svg"),
        "graph_note": graph_note,
        "alt": "Layered graph of contexts and intervention components, mechanisms and outcomes",
        "data": {
            "text": "Every link, with its support and the studies behind it, is in the configurations and "
            "programme-theory tables below."
        },
        "interactive": Markup(
            interactive_html(
                {
                    **cmo_view.bounded(elements, tables.bound(tables.GRAPH_CODINGS_MAX), str(folder / "cmo_edges.csv")),
                    "study_labels": names,
                    "listed_studies": sorted(listed) if listed is not None else None,
                },
                element_id="cmo-graph",
            )
        )
        if elements and not too_many
        else None,
        "configurations": configs,
        "theory": theory,
        "lists": lists,
        "intro": intro,
    }


def _demi(d: dict[str, Any], labels: dict[str, str]) -> str:
    contexts = "; ".join(f"{c.get('label')} ({_names(c.get('studies', []), labels)})" for c in d.get("contexts", []))
    return f"{d.get('label')}: in {d.get('n_contexts', len(d.get('contexts', [])))} contexts: {contexts}"


def _gaps(gaps: dict[str, Any]) -> list[str]:
    items = []
    for key, text in (
        ("mechanisms_without_outcome", "Mechanism with no evidence linking it to an outcome"),
        ("mechanisms_without_trigger", "Mechanism with no context or component that triggers it"),
        ("outcomes_without_mechanism", "Outcome with no mechanism"),
        ("uncoded_concepts", "Concept in the vocabulary that no study codes"),
    ):
        for c in gaps.get(key, []):
            items.append(f"{text}: {c.get('label') if isinstance(c, dict) else c}")
    return items


def moderators_section(
    findings: dict[str, Any], folder: Path, said: dict[str, Any], budget: tables.Budget | None = None
) -> dict[str, Any]:
    """Every moderator analysis with its table and tests, the contexts with their coded roles, the headline. The
    bubble plots share ``budget`` with the outcomes' figures."""
    m = findings["moderators"]
    budget = budget or tables.Budget()
    analyses = []
    chosen = tables.pick(m["analyses"], tables.bound(tables.ANALYSES_MAX), lambda v: bool(v.get("survives")))
    for v in chosen:
        svg, skipped = budget.figure(folder / v["figure"], read_svg) if v.get("figure") else (None, "")
        analyses.append(
            {
                **v,
                "svg": svg,
                "skipped": skipped,
                "alt": f"Bubble plot of effect size against {v.get('label') or v['moderator']}",
                "data": {
                    "text": "The meta-regression the chart shows (its slope, CI and tests) is in the table above."
                },
            }
        )
    contexts, note = tables.head(m["contexts"], "contexts", str(folder.parent / "findings.json"))
    not_possible, not_possible_note = tables.head(
        m["not_possible"], "analyses that could not be run", str(folder.parent / "findings.json")
    )
    return {
        "headline": said[m["headline"]]["statement"],
        "contexts": contexts,
        "contexts_note": note,
        "analyses": analyses,
        "analyses_note": (
            f"The page lays out {len(chosen):,} of the {len(m['analyses']):,} moderator analyses (those that survive "
            "adjustment for multiple testing first, then in order), so that it stays quick to open; all of them are in "
            f"{folder / 'moderators_effect.json'}."
            if len(chosen) < len(m["analyses"])
            else ""
        ),
        "not_possible": not_possible,
        "not_possible_note": not_possible_note,
    }


# --------------------------------------------------------------------------- Implementation, Economics, appraisal


def implementation_section(review: Review, impl: dict[str, Any], folder: Path) -> dict[str, Any]:
    quality = {
        s[
            "study_id"
        ]: f"rigour {s['rigour']}, relevance {s['relevance']}, risk of bias {s['rob_overall'].replace('_', ' ')}"
        for _, s in review.studies.iterrows()
    }
    themes = []
    labels = {t["id"]: t["label"] for t in review.config.get("implementation_themes", [])}
    frame = review.implementation
    where = f"{data_folder(review)}/implementation.csv"
    for theme_id in [t["id"] for t in review.config.get("implementation_themes", [])]:
        rows = frame[frame["theme"] == theme_id]
        if rows.empty:
            continue
        note = tables.more_note(
            min(len(rows), tables.bound(tables.PAGE_ROWS)), len(rows), "codings of this theme", where
        )
        rows = rows.sort_values(["type", "level", "study_id", "impl_id"]).head(tables.bound(tables.PAGE_ROWS))
        themes.append(
            {
                "label": labels[theme_id],
                "note": note,
                "rows": [
                    {
                        "impl_id": r["impl_id"],
                        "type": r["type"],
                        "level": r["level"],
                        "study_id": r["study_id"],
                        "excerpt": r["excerpt"],
                        "quality": quality.get(r["study_id"], ""),
                    }
                    for _, r in rows.iterrows()
                ],
            }
        )
    n_b = int((frame["type"] == "barrier").sum())
    n_e = int((frame["type"] == "enabler").sum())
    intro = (
        f"{plural(n_b, 'barrier')} and {plural(n_e, 'enabler')} coded from {plural(frame['study_id'].nunique(), 'study', 'studies')}, "
        f"across {plural(len(themes), 'theme')}."
        if len(frame)
        else "No implementation evidence was coded."
    )
    return {
        "intro": impl.get("intro") or intro,
        "svg": read_svg(folder / "implementation_matrix.svg") if len(frame) else None,  # no empty matrix
        "alt": "Matrix of implementation themes by level, with counts of barriers and enablers",
        "data": figure_data.implementation_matrix(impl, labels),
        "themes": themes,
    }


def economics_section(review: Review, econ: dict[str, Any], folder: Path) -> dict[str, Any]:
    rows = []
    items, note = tables.head(econ.get("items", []), "cost and funding items", f"{data_folder(review)}/economics.csv")
    for r in items:
        rows.append(
            {
                "econ_id": r.get("econ_id"),
                "study_id": r.get("study_id"),
                "item": r.get("item"),
                "kind": (r.get("kind") or "").replace("_", " "),
                "reported": f"{r.get('currency')} {fmt_amount(r.get('amount'))} ({int(r['price_year']) if r.get('price_year') else ''} prices)",
                "converted": fmt_amount(r.get("converted"))
                if r.get("converted") is not None
                else (r.get("conversion_note") or "–"),
                "unit": (r.get("unit") or "").replace("_", " ")
                + (f" of {fmt(r.get('n_units'), 0)}" if r.get("n_units") else ""),
            }
        )
    figures = [
        {
            "svg": read_svg(folder / f),
            "alt": "Cost-effectiveness plane",
            "caption": "",
            "data": {"text": "The costs and effects it plots are in the table above."},
        }
        for f in econ.get("figures", [])
    ]
    base = econ.get("base") or econ.get("base_currency") or ""
    if isinstance(base, dict):
        base = f"{base.get('currency')} {base.get('year')} prices"
    return {
        "finding": econ.get("finding") or "",
        "reasons": econ.get("reasons", []),
        "rows": rows,
        "note": note,
        "base": base,
        "figures": figures,
    }


def appraisal_section(folder: Path, prisma: dict[str, Any]) -> dict[str, Any]:
    rob_json = folder / "rob.json"
    rob = json.loads(rob_json.read_text(encoding="utf-8")) if rob_json.is_file() else {}
    return {
        "prisma_svg": read_svg(folder / "prisma.svg"),
        "prisma_note": prisma.get("note") or "PRISMA 2020 flow; boxes without a reported count say so.",
        "rob_traffic": read_svg(folder / "rob_traffic.svg") if "traffic_light" in (rob.get("figures") or {}) else None,
        "rob_traffic_skipped": rob.get("traffic_light_skipped"),
        "rob_summary": read_svg(folder / "rob_summary.svg"),
        "prisma_data": figure_data.prisma(prisma),
        "rob_traffic_data": figure_data.rob_traffic(rob),
        "rob_summary_data": figure_data.rob_summary(rob),
    }


# --------------------------------------------------------------------------- the summary and the rating


def dimension_rows(findings: dict[str, Any], headline: dict[str, str]) -> list[dict[str, Any]]:
    """The EMMIE table: per dimension its headline finding and its EMMIE-Q row (both from findings.json)."""
    anchors = {key: key for key, *_ in DIMENSIONS}
    return [{**row, "says": headline[row["key"]], "anchor": anchors[row["key"]]} for row in findings["emmie_q"]]


def _timeline(timeline: dict[str, Any], where: Path) -> dict[str, Any]:
    """The snapshot timeline, its table of pooled estimates bounded as any table (one row per outcome)."""
    if not timeline.get("pooled"):
        return timeline
    pooled, note = tables.head(timeline["pooled"], "outcomes", str(where))
    return {**timeline, "pooled": pooled, "pooled_note": note}


def _skipped_sensitivity(outcomes: list[dict[str, Any]]) -> str:
    """Which outcomes had no prior-sensitivity table and why (the first tables.OUTCOMES_MAX by name)."""
    most = tables.bound(tables.OUTCOMES_MAX)
    text = "".join(
        f" {o['label']}: the prior-sensitivity table was {o['bayes']['prior_sensitivity_skipped']}."
        for o in outcomes[:most]
    )
    if len(outcomes) > most:
        text += f" Nor was it for {len(outcomes) - most:,} more outcomes, for the same reason."
    return text


def methods_paragraphs(
    review: Review,
    effect: dict[str, Any],
    mech: dict[str, Any],
    mods: dict[str, Any],
    econ: dict[str, Any] | None = None,
) -> list[str]:
    """What was run, in words, in the manner of metafor's ``reporter()``: built from the results, not a template."""
    outcomes = effect.get("outcomes", [])
    pooled = [o for o in outcomes if o.get("pooled")]
    bayes = [o for o in outcomes if o.get("bayes")]
    measures = sorted({str(o.get("measure")) for o in outcomes if o.get("measure") and o.get("k")})
    computed = (
        f"Effect sizes were computed from the coded raw inputs with metafor's formulas ({', '.join(measures)}), adding 1/2 "
        "to every cell of a 2x2 table with a zero cell; "
        + (
            "a study contributes at most one result to each univariate meta-analysis, and where a study gives several "
            "results on an outcome they are pooled in a multilevel model (below)."
            if any(o.get("dependence") for o in pooled)
            else "a study contributes at most one result to each meta-analysis."
        )
        if measures
        else "No coded result gave an effect size with its variance, so no effect size was computed and nothing was pooled."
    )
    paras = [
        f"The coded data ({_sources_text(review)}, {len(review.effects)} extracted results, {len(review.cmo)} context-mechanism-outcome "
        f"codings, {len(review.implementation)} implementation and {len(review.economics)} economics items) were validated against the "
        f"codebook before any analysis. {computed}"
    ]
    left_out = (effect.get("accounting") or {}).get("not_studies") or []
    if left_out:
        labels = study_labels(review)
        kinds = {d["study_id"]: d["type"] for d in other_documents(review)}
        paras[0] += (
            f" {len(left_out)} of the extracted results {'was' if len(left_out) == 1 else 'were'} left out of the Effect "
            "synthesis because "
            + ("it was" if len(left_out) == 1 else "they were")
            + " reported in a document that is not a study ("
            + "; ".join(f"{labels[d['study_id']]}: a {kinds[d['study_id']]}" for d in left_out)
            + ")."
        )
    described = tables.pick(pooled, tables.bound(tables.OUTCOMES_MAX), lambda o: bool(o.get("primary")))
    for o in described:
        level_note = (
            f" Its intervals are {pct(o.get('level'))} intervals, as review.yaml sets for this outcome; the verdict "
            "and certainty rules read them as they are, whereas GRADE defines its imprecision domain on 95% intervals."
            if o.get("level") not in (None, 0.95)
            else ""
        )
        if o.get("dependence"):
            paras.append(_multilevel_methods(o) + level_note)
            continue
        f = (o.get("frequentist") or {}).get("z") or {}
        het = o.get("heterogeneity_ci") or {}
        tau = het.get("tau2") or {}
        text = (
            f"{o['label']}: {o['k']} results were pooled on the {o.get('measure')} scale in a random-effects model; tau² was estimated by "
            f"restricted maximum likelihood (REML; Viechtbauer 2005) as {fmt(f.get('tau2'), 4)}"
            + (
                f" ({pct(o.get('level'))} Q-profile CI {fmt(tau.get('ci_lb'), 4)} to {fmt(tau.get('ci_ub'), 4)}; Viechtbauer 2007)"
                if tau
                else ""
            )
            + f", I² = {fmt(f.get('i2'), 1)}%, Q({o['k'] - 1}) = {fmt(f.get('q'), 2)}, p {fmt_p(f.get('q_pval'))}. "
            "Tests and confidence intervals are given both as Wald-type z and with the Knapp-Hartung adjustment "
            f"(Knapp & Hartung 2003), the headline being {'Knapp-Hartung' if o.get('headline_test') == 'knha' else 'z'}; "
            "the prediction interval uses the normal quantile under z and t with k-1 df under Knapp-Hartung."
        )
        text += level_note
        if o.get("small_study"):
            text += " Funnel-plot asymmetry was examined with Egger's regression test, the rank correlation test and trim-and-fill (L0 estimator), and Rosenthal's fail-safe N was computed."
            text += _adjusted_methods(o)
        if o.get("leave_one_out"):
            text += " Leave-one-out analyses show the influence of each study."
        elif o.get("leave_one_out_skipped"):
            text += f" Leave-one-out analyses were {o['leave_one_out_skipped']}."
        paras.append(text)
    if len(described) < len(pooled):
        rest = len(pooled) - len(described)
        paras.append(
            f"The other {rest:,} pooled outcomes were analysed in the same way (each outcome's model, estimator and "
            "numbers are in its entry of the Effect stage's effect.json)."
        )
    if bayes:
        priors = sorted({str(o["bayes"].get("prior_source") or "") for o in bayes} - {""})
        paras.append(
            f"{len(bayes)} outcome(s) with at least one poolable result had a Bayesian random-effects analysis: y_i ~ N(theta_i, v_i), "
            "theta_i ~ N(mu, tau²), with the posterior computed by numerical integration over tau (exact to 1e-4; the approach of "
            "Röver 2020, bayesmeta) and a prior-sensitivity table over alternative heterogeneity priors. Priors: "
            + "; ".join(priors)
            + ". Probabilities of benefit are posterior probabilities that the average effect lies in the desirable direction."
            + _skipped_sensitivity([o for o in bayes if o["bayes"].get("prior_sensitivity_skipped")])
        )
    swim = effect.get("swim") or {}
    if swim.get("results"):
        rule = (
            "the sign of the point estimate, or the direction the source reports"
            if swim.get("rule") == "direction"
            else "whether the confidence interval excludes no effect"
        )
        paras.append(
            f"{len(swim['results'])} results that could not be pooled were synthesised without meta-analysis following the SWiM guideline "
            f"(Campbell et al. 2020): each result's direction was classed by {rule}; a study's direction per outcome domain is the "
            f"direction of at least {int(100 * (swim.get('study_threshold') or 0.7))}% of its results, else mixed; where comparative "
            "studies show a benefit or a harm, a two-sided sign test compares the two among comparative studies only "
            "(Boon & Thomson 2021); studies without a comparison group are counted apart."
        )
    if mods.get("analyses"):
        paras.append(
            f"{plural(len(mods['analyses']), 'moderator analysis', 'moderator analyses')} of the effect sizes used meta-regression (REML) with Knapp-Hartung tests and "
            f"permutation tests of the moderator (up to {mods.get('n_perm')} permutations, seed {mods.get('seed')}, as metafor's permutest, "
            f"stopping once {mods.get('stop_after')} reach the observed statistic: Besag & Clifford 1991), "
            "and for categorical moderators a test of subgroup differences; p-values are also given Holm-adjusted across the moderators of an outcome."
            + (
                " Where a study gave several results on an outcome, its moderators (study characteristics) were analysed "
                "on one average per study, the study averages of the multilevel model, so that k counts studies."
                if any(a.get("on") == "study averages" for a in mods["analyses"])
                else ""
            )
        )
    weights = review.config.get("cmo_weights") or {}
    weight_text = (
        "; ".join(
            f"{kind} " + ", ".join(f"{lvl} {w:g}" for lvl, w in levels.items())
            for kind, levels in weights.items()
            if isinstance(levels, dict)
        )
        or "rigour and relevance: high 1.0, moderate 0.6, low 0.3"
    )
    paras.append(
        f"The {len(review.cmo)} context-mechanism-outcome codings were built into a directed graph (networkx) of contexts, intervention components, "
        "mechanisms and outcomes. The strength of a link sums, over distinct studies, the product of the weights of the study's rigour and relevance "
        f"({weight_text}), a contradicting study counting negatively. Configurations are ranked by the number of studies behind their weakest link, then by that link's strength; "
        "the initial programme theory is classed proposition by proposition as confirmed, refined, partly supported, contradicted or untested."
    )
    if econ and econ.get("base_currency") and econ.get("items"):
        paras.append(
            f"Costs were converted to {econ['base_currency']} at {econ.get('base_year')} prices, first inflating within the source currency "
            "with a GDP deflator, then converting at that year's exchange rate (Shemilt et al. 2010), using the reference tables in data/_reference."
        )
    paras.append(
        "The certainty of the evidence on each outcome was rated by written rules in the manner of GRADE (emmie.findings.certainty): "
        "starting high when randomised trials carry at least half of the weight and low otherwise (Balshem et al. 2011), and rated "
        "down for risk of bias (studies at high, serious or critical risk carrying half the weight), inconsistency (I² >= 50% with a "
        "prediction interval that includes no effect), imprecision (a confidence interval that includes no effect; two levels when it "
        "includes important benefit and harm), and publication bias (Egger's or the rank test p < 0.10, with 10 or more studies). "
        "Indirectness is left to the reviewers. Where an analysis mixes randomised trials with other designs, the randomised "
        "trials alone are analysed and rated too, and the verdict rests on the body with the higher certainty "
        "(Cuello-Garcia et al. 2022). Direction-only outcomes were rated on their comparative studies and always rated down "
        "for imprecision (Murad et al. 2017). Verdicts use GRADE's informative statements (Santesso et al. 2020). GRADE certainty "
        "(how sure we can be of the effect) and the EMMIE-Q Effect level (how well the evidence on effect was gathered and analysed) "
        "answer different questions, so a well-conducted meta-analysis can rate 3/4 on EMMIE-Q while its certainty is very low."
    )
    paras.append(
        "EMMIE-Q levels were proposed by the written rules in src/emmie/rating/emmie_q.yaml from the stage results, with the reasons shown beside each level, and may "
        "be overridden by the reviewers with a justification; the report shows both."
    )
    return paras


def software_versions() -> list[tuple[str, str]]:
    rows = [("python", platform.python_version())]
    for name in SOFTWARE:
        try:
            rows.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return rows


def build(
    review: Review,
    results: Path,
    summaries: dict[str, dict[str, Any]],
    rating: dict[str, Any],
    findings: dict[str, Any],
) -> dict[str, Any]:
    """What the templates lay out. Every statement comes from ``findings`` (results/<review>/findings.json)."""
    effect = summaries.get("effect", {})
    mech = summaries.get("mechanisms", {})
    mods = summaries.get("moderators", {})
    impl = summaries.get("implementation", {})
    econ = summaries.get("economics", {})
    said = {f["id"]: f for f in findings["findings"]}
    headline = {dim: said[fid]["statement"] for dim, fid in findings["headlines"].items()}
    dims = dimension_rows(findings, headline)
    refs, refs_note = tables.head(
        references(review),
        "references",
        f"{data_folder(review)}/studies.csv",
        limit=tables.bound(tables.REFERENCES_MAX),
    )
    listed = {r["study_id"] for r in refs} if refs_note else None
    mech_ctx = mechanisms_section(review, mech, results / "mechanisms", listed)
    mech_ctx["theory"] = findings["mechanisms"]["theory"]
    budget = tables.Budget()  # the outcomes' and moderator analyses' figures and tables, in page order
    ctx = {
        "page_title": review.config["title"],
        "short_name": review.config.get("short_title") or review.config["intervention"],
        "review": {
            k: review.config.get(k)
            for k in ("id", "title", "question", "intervention", "comparison", "population", "published_review")
        },
        "scope": said["summary.scope"]["statement"],
        "plain_summary": [said["summary.scope"]["statement"]]
        + [
            f"{d['name']} ({d['gloss'].lower().rstrip('?')}): {d['says']} Quality of this evidence: {d['final']} out of 4."
            for d in dims
        ],
        "dimensions": dims,
        "effect": effect_section(review, effect, results / "effect", findings, said, budget),
        "mech": mech_ctx,
        "moderators": moderators_section(findings, results / "moderators", said, budget),
        "implementation": implementation_section(review, impl, results / "implementation"),
        "economics": economics_section(review, econ, results / "economics"),
        "appraisal": appraisal_section(results / "appraisal", summaries.get("prisma", {})),
        "methods": methods_paragraphs(review, effect, mech, mods, econ)
        + [
            "The EMMIE-Q level descriptors shown here are emmie's paraphrases: they could not be checked against the "
            "published table of Johnson, Tilley & Bowers (2015), and are marked as unverified in the rubric."
        ],
        "emmie_q_reviewers": [d for d in dims if d["overridden"]],
        "software": software_versions(),
        "references": refs,
        "references_note": refs_note,
        # the coded rows the reference list names (an id shown there has an anchor to link to)
        "anchored": {i for r in refs for ids in r["rows"].values() for i in ids},
        "studies": study_index(review, listed),
        "scripts": "",
        "said": said,
        "findings": findings,
        "subject": findings["subject"],
        "published": findings.get("published") or [],
        "timeline": _timeline(findings.get("timeline") or {}, results / "findings.json"),
        "next_steps": [said[i] for i in findings.get("next_steps") or []],
    }
    from emmie.report import pages

    ctx["pages"] = pages.page_contexts(review, ctx)
    return ctx


# --------------------------------------------------------------------------- what changed, and the toolkit page


def snapshot(review: Review, summaries: dict[str, Any], rating: dict[str, Any], digest: str) -> dict[str, Any]:
    estimates = {}
    for o in summaries.get("effect", {}).get("outcomes", []):
        f = (o.get("frequentist") or {}).get("z") or {}
        estimates[o["outcome"]] = {
            "k": o.get("k"),
            "estimate": f.get("estimate"),
            "ci_lb": f.get("ci_lb"),
            "ci_ub": f.get("ci_ub"),
        }
    dims = rating.get("dimensions", rating)
    return {
        "digest": digest,
        "studies": sorted(review.studies["study_id"]),
        "estimates": estimates,
        "levels": {k: dims.get(k, {}).get("final") for k, *_ in DIMENSIONS},
    }


def _ids(ids: list[str], most: int = 20) -> str:
    """Ids in a sentence: the first ``most`` of a longer list, and how many more."""
    return ", ".join(ids[:most]) + (f" and {len(ids) - most:,} more" if len(ids) > most else "")


def changes(previous: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    items = []
    added = sorted(set(current["studies"]) - set(previous.get("studies", [])))
    removed = sorted(set(previous.get("studies", [])) - set(current["studies"]))
    if added:
        items.append("Studies added: " + _ids(added))
    if removed:
        items.append("Studies removed: " + _ids(removed))
    moved = []
    for outcome, now in current["estimates"].items():
        before = previous.get("estimates", {}).get(outcome)
        if before is None:
            moved.append(f"New analysis of {outcome} (k = {now['k']}).")
        elif before != now:
            moved.append(
                f"{outcome}: k {before.get('k')} → {now.get('k')}; estimate {fmt(before.get('estimate'), 3)} → {fmt(now.get('estimate'), 3)}."
            )
    most = tables.bound(tables.OUTCOMES_MAX)
    items += moved[:most]
    if len(moved) > most:
        items.append(f"And {len(moved) - most:,} more outcomes whose analysis is new or changed.")
    for dim, level in current["levels"].items():
        old = previous.get("levels", {}).get(dim)
        if old != level:
            items.append(f"EMMIE-Q {dim}: {old} → {level}.")
    return {"previous_digest": previous.get("digest"), "items": items}


def toolkit_row(
    record: dict[str, Any],
    rating: dict[str, Any] | None,
    findings: dict[str, Any] | None,
    config: dict[str, Any] | None = None,
    *,
    stale: bool = False,
    logs: str = "",
) -> dict[str, Any]:
    """One review's card on the toolkit page (its results only when ``rating`` and ``findings`` are given).
    ``stale``: the review's data changed after its findings and report were made and a later step failed, so they
    are not shown; ``logs`` is where to look."""
    row = {
        "review": record["review"],
        "ok": record["ok"],
        "problems": record.get("problems", []),
        "stale": stale,
        "logs": logs,
        "not_run": bool(record.get("not_run")),
    }
    if rating is None or not findings or not findings.get("findings"):
        return row
    said = {f["id"]: f for f in findings["findings"]}
    dims = rating.get("dimensions", rating)
    impact, certainty = impact_statement(findings, said)
    cost = said.get("economics.cost_band") or {"statement": "No cost evidence.", "numbers": {}}
    head, _, rest = impact.partition(". ")
    row.update(
        {
            "title": (config or {}).get("title") or record["review"],
            "intervention": (config or {}).get("short_title") or (config or {}).get("intervention") or record["review"],
            "impact_head": head + ("." if rest else ""),
            "impact_rest": rest,
            "strength": evidence_strength(certainty),
            "cost": cost["statement"],
            "cost_sort": (cost.get("numbers") or {}).get("median"),
            "moderators": said[findings["headlines"]["moderators"]]["statement"],
            "levels": [(key, name, dims[key]["final"]) for key, name, *_ in DIMENSIONS],
            "href": f"{record['review']}/index.html",
        }
    )
    return row


def rubric_levels() -> dict[str, Any]:
    """The EMMIE-Q level descriptors per dimension for the toolkit's key, and the note on their verification."""
    from emmie.rating.rules import rubric

    r = rubric()
    rows = [
        {"name": name, "levels": [r["dimensions"][key]["levels"][lv]["descriptor"] for lv in range(5)]}
        for key, name, *_ in DIMENSIONS
    ]
    verified = all(r["dimensions"][k]["levels"][lv].get("verified") is True for k, *_ in DIMENSIONS for lv in range(5))
    return {"rows": rows, "verified": verified, "citation": r.get("citation", "")}


#: GRADE certainty as the toolkit's evidence-strength icon: filled marks out of 4 (0: no comparative evidence).
STRENGTH = {"high": 4, "moderate": 3, "low": 2, "very low": 1}


def evidence_strength(certainty: str | None) -> dict[str, Any]:
    """The icon's marks and words for a GRADE certainty level (None or unknown: no comparative evidence)."""
    marks = STRENGTH.get((certainty or "").strip().lower(), 0)
    return {"marks": marks, "words": certainty if marks else "no comparative evidence"}


def impact_statement(findings: dict[str, Any], said: dict[str, Any]) -> tuple[str, str | None]:
    """The Effect headline (the verdict on the review's primary outcome, with any possible harm) and its certainty."""
    head = said[findings["headlines"]["effect"]]
    return head["statement"], head.get("certainty")
