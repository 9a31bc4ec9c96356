"""Moderator findings: every analysis that was run, laid out with its numbers, and a headline that
names only moderators surviving the multiplicity adjustment (Holm 1979) or says that none does.

References
----------
Higgins, J. P. T., & Thompson, S. G. (2004). Controlling the risk of spurious findings from meta-regression.
    Statistics in Medicine 23, 1663-1682.
Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scand J Statist 6, 65-70.
"""

from __future__ import annotations

from typing import Any

from emmie.findings.model import Finding
from emmie.findings.text import NAMED_MAX, fmt, fmt_p, fmt_p_short, join_and, number, pct, plural, some

ALPHA = 0.05
HEADLINE_RULE = (
    "A moderator is named only when its Holm-adjusted p-value (permutation test where run, else Knapp-Hartung) "
    f"is below {ALPHA} (Holm 1979; Higgins & Thompson 2004)"
)
PAGES_HEADLINE = ("index", "practice-guide", "information-sheet", "toolkit")


def adjusted_p(a: dict[str, Any]) -> float | None:
    """The p-value the headline rule uses: Holm-adjusted permutation p, else Holm-adjusted Knapp-Hartung p."""
    m = a.get("multiplicity") or {}
    for key in ("pval_permutation_holm", "pval_knha_holm"):
        v = number(m.get(key))
        if v is not None:
            return v
    return None


def raw_p(a: dict[str, Any]) -> float | None:
    """The unadjusted p-value of the same test :func:`adjusted_p` adjusts (permutation where run, else Knapp-Hartung)."""
    m = a.get("multiplicity") or {}
    reg = a.get("regression") or {}
    if (
        number(m.get("pval_permutation_holm")) is not None
        and number((reg.get("permutation") or {}).get("qm_pval")) is not None
    ):
        return number(reg["permutation"]["qm_pval"])
    return number((reg.get("knha") or reg.get("z") or {}).get("qm_pval"))


def survives(a: dict[str, Any], alpha: float = ALPHA) -> bool:
    p = adjusted_p(a)
    return p is not None and p < alpha


def analysis_view(a: dict[str, Any], measure: str | None, outcome_label: str | None = None) -> dict[str, Any]:
    """One analysis as the report lays it out: a subgroup table or coefficient table, and its tests in words.

    Raises KeyError when a key the layout needs is missing, so that a renamed result fails loudly.
    """
    reg = a["regression"]
    head = reg["knha"]
    view: dict[str, Any] = {
        "title": f"{a['label']} ({a['moderator']}), {outcome_label or a['outcome']}: k = {a['k']}",
        "moderator": a["moderator"],
        "outcome": a["outcome"],
        "figure": a.get("figure"),
    }
    sub = a.get("subgroups")
    if sub:
        view["table"] = {
            "caption": "subgroup meta-analyses"
            + (f" (estimates on the log {measure} scale)" if measure in ("OR", "RR", "ROM") else ""),
            "columns": ["Level", "k", "Estimate", f"{pct(a.get('level'))} CI", "tau²", "I² (%)"],
            "rows": [
                [
                    s["level"],
                    str(s["k"]),
                    fmt(s["estimate"], 3),
                    f"{fmt(s['ci_lb'], 3)} to {fmt(s['ci_ub'], 3)}",
                    fmt(s["tau2"], 4),
                    fmt(s.get("i2"), 1),
                ]
                for s in sub["subgroups"]
            ],
        }
        tod = sub["test_of_differences"]
        sep = sub.get("separate_tau2") or {}
        tests = (
            f"Test of subgroup differences (common tau²): F({tod['df']}, {fmt(tod.get('df2'), 0)}) = {fmt(tod['qm'], 2)}, {fmt_p_short(tod['pval'])}"
            + (
                f"; with separate tau² per subgroup, Q = {fmt(sep.get('q_between'), 2)} (df {sep.get('df')}), {fmt_p_short(sep.get('pval'))}"
                if sep
                else ""
            )
        )
    else:
        view["table"] = {
            "caption": "meta-regression coefficients (Knapp-Hartung)"
            + (f", on the log {measure} scale" if measure in ("OR", "RR", "ROM") else ""),
            "columns": ["Term", "Coefficient", "SE", f"{pct(a.get('level'))} CI", "p"],
            "rows": [
                [
                    "intercept" if name == "intrcpt" else name,
                    fmt(c, 4),
                    fmt(se, 4),
                    f"{fmt(lo, 4)} to {fmt(hi, 4)}",
                    fmt_p(p),
                ]
                for name, c, se, lo, hi, p in zip(
                    head["names"], head["coef"], head["se"], head["ci_lb"], head["ci_ub"], head["pval"], strict=True
                )
            ],
        }
        tests = f"Meta-regression (Knapp-Hartung): F({head['qm_df']}, {fmt(head.get('df'), 0)}) = {fmt(head['qm'], 2)}, {fmt_p_short(head['qm_pval'])}; R² = {fmt(head.get('r2'), 0)}%"
    perm = reg.get("permutation") or {}
    if perm:
        tests += f"; permutation test {fmt_p_short(perm.get('qm_pval'))} ({perm.get('n_perm')} permutations)"
    m = a.get("multiplicity") or {}
    if m and m.get("n_tests") != 1:  # one moderator: Holm's adjustment leaves its p as it is
        tests += (
            f". Holm-adjusted over the {m.get('n_tests')} moderators of this outcome: "
            f"{fmt_p_short(m.get('pval_knha_holm'))} (Knapp-Hartung)"
            + (
                f", {fmt_p_short(m.get('pval_permutation_holm'))} (permutation)"
                if m.get("pval_permutation_holm") is not None
                else ""
            )
        )
    if a.get("on") == "study averages":
        tests += (
            f". Analysed on one average per study ({a['k']} studies), because the studies gave several results "
            "on this outcome"
        )
    view["tests"] = tests + "."
    view["survives"] = survives(a)
    view["adjusted_p"] = adjusted_p(a)
    return view


def derive(
    mods: dict[str, Any], outcomes: dict[str, dict[str, Any]], context_views: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[Finding]]:
    analyses = mods.get("analyses") or []
    views = [
        analysis_view(
            a, (outcomes.get(a["outcome"]) or {}).get("measure"), (outcomes.get(a["outcome"]) or {}).get("label")
        )
        for a in analyses
    ]
    findings = [
        Finding(
            id=f"moderators.analysis.{v['outcome']}.{v['moderator']}",
            dimension="moderators",
            statement=v["tests"],
            certainty=None,
            numbers={"adjusted_p": v["adjusted_p"], "raw_p": raw_p(a)},
            rule=HEADLINE_RULE,
            studies=tuple(a.get("studies") or ()),
            pages=("index",),
        )
        for v, a in zip(views, analyses, strict=True)
    ]
    pooled = any(o.get("pooled") for o in outcomes.values())
    findings.append(headline(analyses, context_views, mods, pooled))
    not_possible = [
        f"{n.get('moderator')} ({n.get('outcome')}): {n.get('reason')}" for n in mods.get("not_possible", [])
    ]
    return {"analyses": views, "not_possible": not_possible, "headline": "moderators.headline"}, findings


def headline(
    analyses: list[dict[str, Any]], contexts: list[dict[str, Any]], mods: dict[str, Any], pooled: bool = True
) -> Finding:
    kept = [a for a in analyses if survives(a)]
    empirical = [c for c in contexts if c["evidence"] in ("observed", "tested")]
    if kept:
        names = [f"{a['label'].lower()} (Holm-adjusted {fmt_p_short(adjusted_p(a))})" for a in kept]
        names = some(names, most=NAMED_MAX)  # a sentence names a bounded number (the page lists the analyses)
        text = "The effect varies with " + "; ".join(names) + f", out of {plural(len(analyses), 'moderator')} analysed."
    elif len(analyses) == 1:  # one test: nothing to adjust for
        (only,) = analyses
        text = (
            f"The one moderator analysed, {only['label'].lower()}, is not clearly associated with the effect "
            f"({fmt_p_short(adjusted_p(only))}). With one characteristic tested, that is not evidence that the effect "
            "is the same for everyone."
        )
    elif analyses:
        smallest = min(analyses, key=lambda a: (adjusted_p(a) if adjusted_p(a) is not None else 1.0, raw_p(a) or 1.0))
        text = (
            f"None of the {len(analyses)} moderators analysed survives adjustment for multiple testing (Holm): "
            f"the closest, {smallest['label'].lower()} ({fmt_p_short(raw_p(smallest))} unadjusted), has a Holm-adjusted "
            f"{fmt_p_short(adjusted_p(smallest))}. No moderator is clearly supported, which with tests of one "
            "characteristic at a time is not evidence that the effect is the same for everyone."
        )
    elif not pooled:
        text = (
            "No study gave numbers that could be combined, so whether the effect differs between groups or settings "
            "could not be tested."
        )
    else:
        text = "No moderator of the effect size was analysed" + (
            ": the review declared none." if mods.get("note") else ": none had enough comparable results."
        )
    if not kept and empirical:
        top = max(empirical, key=lambda c: (c["n"], c["evidence"] == "tested"))
        said = top.get("statement") or (
            f"{top['context']} {top['role']} {top['mechanism'][0].lower() + top['mechanism'][1:]} "
            f"({plural(top['n'], 'study', 'studies')}, {top['evidence']})."
        )
        text += f" From the qualitative evidence: {said[0].lower() + said[1:]}"
    elif not kept and contexts:
        kinds = sorted({c["evidence"] for c in contexts if c["evidence"] != "not stated"})
        text += (
            f" The {plural(len(contexts), 'context-mechanism link')} in the coded theory "
            f"{'rests' if len(contexts) == 1 else 'rest'} on "
            f"{join_and(kinds) or 'unstated'} evidence only."
        )
    return Finding(
        "moderators.headline",
        "moderators",
        text,
        certainty=None,
        numbers={"analysed": len(analyses), "surviving": [a["moderator"] for a in kept]},
        rule=HEADLINE_RULE,
        pages=PAGES_HEADLINE,
        headline=True,
    )
