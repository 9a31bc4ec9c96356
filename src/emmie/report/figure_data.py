"""The text alternative of every chart: the numbers it draws, as a table or a sentence.

A chart is a picture of numbers; a reader who cannot see it (a screen reader, a phone too narrow
for it, a printout in grey) gets the same numbers here. Each builder returns a dict for the
``figure`` macro: ``text`` (a sentence shown in the caption), and optionally ``caption``, ``head``
and ``rows`` for a table under the chart (the first cell of a row may be a study id, listed in
``ids``, which the page links to its reference).
"""

from __future__ import annotations

import math
from typing import Any

from emmie.effect.names import TEST_NAMES, prior_name
from emmie.findings.text import exp, fmt, pct, plural

EXP_MEASURES = {"OR", "RR", "ROM"}
MEASURE_WORDS = {"OR": "Odds ratio", "RR": "Risk ratio", "ROM": "Ratio of means"}


def _scale(measure: str | None):
    """The function that puts a log-scale number on the scale the chart shows."""
    return exp if measure in EXP_MEASURES else (lambda x: x)


def _interval(to, lb: Any, ub: Any, digits: int = 2) -> str:
    if lb is None or ub is None:
        return "–"
    return f"[{fmt(to(lb), digits)}, {fmt(to(ub), digits)}]"


def forest(o: dict[str, Any]) -> dict[str, Any]:
    """Each result's estimate with its 95% CI and weight, then the pooled estimate and prediction interval."""
    to = _scale(o.get("measure"))
    word = MEASURE_WORDS.get(o.get("measure"), "Estimate")
    rows, ids = [], []
    several = bool(o.get("dependence"))  # several results per study: each row names its result too
    for s in o.get("studies") or []:
        rows.append(
            [
                s.get("study_id"),
                *([s.get("effect_id")] if several else []),
                fmt(to(s["yi"])),
                _interval(to, s.get("ci_lb"), s.get("ci_ub")),
                fmt(s.get("weight"), 1),
            ]
        )
        ids.append(s.get("study_id"))
    fits = o.get("frequentist") or {}
    test = o.get("headline_test") if fits.get(o.get("headline_test") or "") else "z"
    z = fits.get(test) or {}  # the fit the plot's summary row shows
    text = ""
    if z:
        how = {"z": "z", "cr2": "CR2 cluster-robust"}.get(test, TEST_NAMES.get(test, test))
        text = (
            f"Pooled {word.lower()} ({how}) {fmt(to(z['estimate']))} {_interval(to, z.get('ci_lb'), z.get('ci_ub'))}, "
            f"{pct(o.get('level'))} prediction interval {_interval(to, z.get('pi_lb'), z.get('pi_ub'))}, from "
            f"{plural(len(rows), 'result')}"  # what the table under it lists is said once it is bounded
        )
    return {
        "text": text,
        "lists_rows": bool(text),
        "caption": f"The numbers in the forest plot ({word.lower()}, {pct(o.get('level'))} CI, weight in %)",
        "head": ["Study", *(["Result"] if several else []), word, f"{pct(o.get('level'))} CI", "Weight (%)"],
        "rows": rows,
        "ids": ids,
    }


def funnel(o: dict[str, Any]) -> dict[str, Any]:
    """Each result's estimate against its standard error: the points of the funnel."""
    to = _scale(o.get("measure"))
    word = MEASURE_WORDS.get(o.get("measure"), "Estimate")
    # a multilevel model's funnel plot shows the study averages (dicts with "study"), else each result
    points = [{**a, "study_id": a["study"]} for a in o.get("study_averages") or []] or o.get("studies") or []
    rows = [[s.get("study_id"), fmt(to(s["yi"])), fmt(math.sqrt(s["vi"]), 3)] for s in points]
    what = "the study averages" if o.get("study_averages") else "the funnel plot"
    return {
        "text": "The tests for small-study effects are given in words above.",
        "caption": f"The points of {what} ({word.lower()} and its standard error on the log scale)"
        if o.get("measure") in EXP_MEASURES
        else f"The points of {what} (estimate and its standard error)",
        "head": ["Study", word, "Standard error"],
        "rows": rows,
        "ids": [s.get("study_id") for s in points],
    }


def bayes_forest(o: dict[str, Any]) -> dict[str, Any]:
    """Observed and shrunken study effects, then the posterior mean effect and predictive interval."""
    to = _scale(o.get("measure"))
    b = o.get("bayes") or {}
    theta = b.get("theta") or []
    # a multilevel model's Bayesian analysis was of the study averages
    studies = [{"study_id": a["study"]} for a in o.get("study_averages") or []] or o.get("studies") or []
    rows, ids = [], []
    for s, t in zip(studies, theta, strict=False):
        rows.append([s.get("study_id"), fmt(to(t["yi"])), fmt(to(t["mean"])), _interval(to, t.get("lb"), t.get("ub"))])
        ids.append(s.get("study_id"))
    mu, pred = b.get("mu") or {}, b.get("pred") or {}
    text = (
        f"Posterior mean effect {fmt(to(mu['mean']))} ({pct(b.get('level'))} credible interval {_interval(to, mu.get('ci_lb'), mu.get('ci_ub'))}); "
        f"predictive interval for a new study {_interval(to, pred.get('lb'), pred.get('ub'))}."
        if mu
        else ""
    )
    return {
        "text": text,
        "caption": "The numbers in the Bayesian forest plot (observed and shrunken study effects, "
        f"{pct(b.get('level'))} credible interval)",
        "head": ["Study", "Observed", "Shrunken (posterior mean)", f"{pct(b.get('level'))} credible interval"],
        "rows": rows,
        "ids": ids,
    }


def prior_posterior(o: dict[str, Any]) -> dict[str, Any]:
    b = o.get("bayes") or {}
    mu, tau, priors = b.get("mu") or {}, b.get("tau") or {}, b.get("priors") or {}
    if not mu:
        return {"text": ""}
    return {
        "text": (
            "Prior for the mean effect"
            + (" (log scale)" if o.get("measure") in EXP_MEASURES else "")
            + f": normal, mean {fmt(priors.get('mu_prior_mean'))}, "
            f"SD {fmt(priors.get('mu_prior_sd'))}; posterior mean {fmt(mu.get('mean'), 3)} "
            f"[{fmt(mu.get('ci_lb'), 3)}, {fmt(mu.get('ci_ub'), 3)}]. Prior for tau: "
            f"{prior_name(str(priors.get('tau_prior', '')))}, scale {fmt(priors.get('tau_scale'))}; "
            f"posterior mean {fmt(tau.get('mean'), 3)} [{fmt(tau.get('ci_lb'), 3)}, {fmt(tau.get('ci_ub'), 3)}]."
        )
    }


OUTCOME_FIGURES = {"forest": forest, "funnel": funnel, "bayes_forest": bayes_forest, "prior_posterior": prior_posterior}


def implementation_matrix(impl: dict[str, Any], theme_labels: dict[str, str]) -> dict[str, Any]:
    """Barriers and enablers per theme and level: the matrix's cells."""
    cells = impl.get("cells") or []
    levels = list(dict.fromkeys(c["level"] for c in cells))
    themes = list(dict.fromkeys(c["theme"] for c in cells))
    by = {(c["theme"], c["level"]): c for c in cells}
    rows = []
    for t in themes:
        row = [theme_labels.get(t, t)]
        for lv in levels:
            c = by.get((t, lv)) or {}
            b, e = c.get("barrier", 0), c.get("enabler", 0)
            row.append(f"{b} / {e}" if b or e else "–")
        rows.append(row)
    return {
        "text": "",
        "caption": "The numbers in the matrix: barriers / enablers coded per theme and level",
        "head": ["Theme", *(lv.capitalize() for lv in levels)],
        "rows": rows,
        "ids": [],
    }


PRISMA_WORDS = {
    "identified_databases": "Records identified from databases",
    "identified_registers": "Records identified from registers",
    "identified_other": "Records identified by other methods",
    "duplicates_removed": "Duplicate records removed",
    "removed_other": "Records removed for other reasons",
    "records_screened": "Records screened",
    "records_excluded": "Records excluded",
    "reports_sought": "Reports sought for retrieval",
    "reports_not_retrieved": "Reports not retrieved",
    "reports_assessed": "Reports assessed for eligibility",
    "reports_excluded": "Reports excluded",
    "studies_included": "Studies included",
    "reports_included": "Reports included",
}


def prisma(p: dict[str, Any]) -> dict[str, Any]:
    counts = p.get("counts") or {}
    order = [k for k in PRISMA_WORDS if k in counts] + [k for k in counts if k not in PRISMA_WORDS]
    rows = [[PRISMA_WORDS.get(k, k), "not reported" if counts[k] is None else str(counts[k])] for k in order]
    return {
        "text": "",
        "caption": "The counts in the flow diagram",
        "head": ["Stage", "Count"],
        "rows": rows,
        "ids": [],
    }


def rob_traffic(rob: dict[str, Any]) -> dict[str, Any]:
    """Each study's judgement per risk-of-bias domain; the summary chart is their share per domain."""
    domains = rob.get("domains") or []
    by: dict[str, dict[str, str]] = {}
    for j in rob.get("judgements") or []:
        by.setdefault(j["study_id"], {})[j["domain"]] = str(j.get("judgement", "")).replace("_", " ")
    ids = list(by)
    rows = [[sid, *(by[sid].get(d, "–") for d in domains)] for sid in ids]
    return {
        "text": "",
        "caption": "The judgements in the traffic-light plot, by study and domain",
        "head": ["Study", *domains],
        "rows": rows,
        "ids": ids,
    }


def rob_summary(rob: dict[str, Any]) -> dict[str, Any]:
    domains = rob.get("domains") or []
    counts: dict[str, dict[str, int]] = {d: {} for d in domains}
    for j in rob.get("judgements") or []:
        word = str(j.get("judgement", "")).replace("_", " ")
        counts.setdefault(j["domain"], {})
        counts[j["domain"]][word] = counts[j["domain"]].get(word, 0) + 1
    parts = []
    for d in domains:
        c = counts.get(d) or {}
        n = sum(c.values())
        if n:
            parts.append(f"{d}: " + ", ".join(f"{v} of {n} {k}" for k, v in sorted(c.items(), key=lambda kv: -kv[1])))
    return {"text": ("Studies per judgement. " + "; ".join(parts) + ".") if parts else ""}
