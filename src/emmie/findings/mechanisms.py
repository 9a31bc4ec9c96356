"""Mechanisms findings: programme-theory verdicts that respect how the studies know, and the
moderating contexts with the role the data give them.

A proposition the graph classes as confirmed, refined or partly supported keeps that verdict only
when at least one supporting or refining coding on its links is *observed* or *tested*; resting on
asserted or described codings alone it is "plausible, untested" (Pawson 2013: a programme theory is
tested by evidence on its mechanisms, not by the presence of the programme's components).

References
----------
Pawson, R. (2013). The Science of Evaluation: A Realist Manifesto. London: Sage.
Wong, G., et al. (2013). RAMESES publication standards: realist syntheses. BMC Medicine 11, 21.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from emmie.findings.model import Finding
from emmie.findings.text import join_and, plural, words

EVIDENCE_ORDER = ("asserted", "described", "observed", "tested")
EMPIRICAL = ("observed", "tested")
CMO_FIELDS = ("context", "component", "mechanism", "enables", "outcome")
THEORY_RULE = (
    "Graph verdict (emmie.mechanisms.theory) kept only with observed or tested support; "
    "asserted or described support alone gives 'plausible, untested'; named effect-size moderator tests give "
    "'supported by a moderator test' when one survives Holm adjustment, else 'tested, not supported' "
    "(emmie.findings.mechanisms)"
)
ROLE_RULE = (
    "Role of a context as coded (enables / blocks / refines / mixed: emmie.mechanisms.analysis.moderating_contexts)"
)


STANCE_KEYS = (
    ("supporting_studies", "supports"),
    ("refining_studies", "refines"),
    ("contradicting_studies", "contradicts"),
)


def link_parts(link: dict[str, Any]) -> list[dict[str, Any]]:
    """Who supports, refines and contradicts a link: ``[{"word": "supports", "studies": [...]}, ...]``."""
    return [{"word": word, "studies": list(link[key])} for key, word in STANCE_KEYS if link.get(key)]


def _rows_on_link(cmo: pd.DataFrame, u: str, v: str) -> pd.DataFrame:
    if cmo.empty:
        return cmo
    fields = cmo[[f for f in CMO_FIELDS if f in cmo.columns]]
    return cmo[fields.eq(u).any(axis=1) & fields.eq(v).any(axis=1)]


def strongest(evidence: list[str]) -> str | None:
    ranks = [EVIDENCE_ORDER.index(e) for e in evidence if e in EVIDENCE_ORDER]
    return EVIDENCE_ORDER[max(ranks)] if ranks else None


def proposition_verdict(
    graph_status: str, positive_evidence: list[str], moderator_tests: list[bool] | None = None
) -> str:
    """The verdict a reader is given for a proposition (see the module docstring).

    ``moderator_tests`` are the outcomes (survives Holm adjustment or not) of the effect-size moderator analyses the
    proposition names: any that survives makes it "supported by a moderator test"; tests that all fail make a
    proposition with no observed or tested CMO support "tested, not supported".
    """
    empirical = strongest(positive_evidence) in EMPIRICAL
    if graph_status == "contradicted":
        return "contradicted"
    if moderator_tests:
        if any(moderator_tests):
            return "supported by a moderator test"
        if not empirical:
            return "tested, not supported"
    if graph_status in ("confirmed", "refined", "partly_supported") and not empirical:
        return "plausible, untested"
    return words(graph_status)


def _moderator_tests(prop: dict[str, Any], mods: dict[str, Any]) -> list[dict[str, Any]]:
    from emmie.findings.moderators import adjusted_p, raw_p, survives

    names = set(prop.get("moderators") or [])
    return [
        {"label": a["label"], "raw_p": raw_p(a), "adjusted_p": adjusted_p(a), "survives": survives(a)}
        for a in (mods.get("analyses") or [])
        if a.get("moderator") in names
    ]


def _theory_statement(t: dict[str, Any], verdict: str, links: list[dict[str, Any]], best: str | None, tests) -> str:
    from emmie.findings.text import fmt_p_short

    text = f"{t.get('id')}: {t.get('statement', '').rstrip('.')}: {verdict}"
    missing = [lk["text"] for lk in links if lk["status"] == "no evidence"]
    against = [lk for lk in links if lk["against"]]
    if against:
        text += (
            " ("
            + "; ".join(
                f"{join_and(lk['against'])} {'contradicts' if len(lk['against']) == 1 else 'contradict'} "
                f"{lk['text'][:1].lower() + lk['text'][1:]}, evidence {lk['against_evidence']}"
                for lk in against
            )
            + ")"
        )
    elif verdict == "plausible, untested":
        text += f" (its support is {best or 'none'} only: no study observed or tested it)"
    elif verdict == "untested":
        text += " (no coded study has evidence on " + join_and([m[:1].lower() + m[1:] for m in missing]) + ")"
    elif best and not tests:
        text += f" (strongest support: {best})"
    if tests:
        parts = [
            f"{x['label'].lower()} ({fmt_p_short(x['raw_p'])}, Holm-adjusted {fmt_p_short(x['adjusted_p'])})"
            for x in tests
        ]
        kept = [x for x in tests if x["survives"]]
        text += (
            ". Tested as effect-size moderators: "
            + "; ".join(parts)
            + (
                ": " + plural(len(kept), "survives", "survive") + " adjustment for multiple testing"
                if kept
                else ": none survives adjustment for multiple testing"
            )
        )
    return text + "."


def theory(
    review, mech: dict[str, Any], mods: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Each programme-theory proposition with a verdict that respects how the studies know, and the
    effect-size moderator tests that bear on it."""
    from emmie.ingest.labels import study_labels

    labels = study_labels(review)
    props = {p.get("id"): p for p in review.config.get("initial_theory") or []}
    views, findings = [], []
    cmo = review.cmo
    for t in mech.get("theory", []):
        positive, links = [], []
        for lk in t.get("links", []):
            rows = _rows_on_link(cmo, lk["source"], lk["target"])
            backing = rows[rows["stance"].isin(["supports", "refines"])] if len(rows) else rows
            contra = rows[rows["stance"] == "contradicts"] if len(rows) else rows
            ev = list(backing["evidence"]) if len(backing) else []
            positive += ev
            links.append(
                {
                    "text": f"{review.concept_label(lk['source'])} → {review.concept_label(lk['target'])}",
                    "status": words(lk.get("status")),
                    "evidence": words(strongest(ev)) or "none",
                    "parts": link_parts(lk),
                    "against": [labels.get(s, s) for s in lk.get("contradicting_studies") or []],
                    "against_evidence": strongest(list(contra["evidence"])) if len(contra) else None,
                }
            )
        tests = _moderator_tests(props.get(t.get("id"), {}), mods or {})
        verdict = proposition_verdict(t.get("status") or "untested", positive, [x["survives"] for x in tests])
        best = strongest(positive)
        findings.append(
            Finding(
                id=f"mechanisms.theory.{t.get('id')}",
                dimension="mechanisms",
                statement=_theory_statement(t, verdict, links, best, tests),
                certainty=verdict,
                numbers={"graph_status": t.get("status"), "strongest_evidence": best, "moderator_tests": tests},
                rule=THEORY_RULE,
                studies=tuple(t.get("studies") or ()),
                pages=("index", "practice-guide"),
            )
        )
        views.append(
            {
                "id": t.get("id"),
                "statement": t.get("statement", ""),
                "verdict": verdict,
                "links": links,
                "finding": findings[-1].id,
            }
        )
    return views, findings


def context_roles(review, mech: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Each moderating context with its coded role and the strongest evidence behind it."""
    cmo = review.cmo
    views, findings = [], []
    # (study, evidence) of each coding of a context-mechanism pair, in file order: one pass over the codings, not
    # one scan of them per pair
    pairs: dict[tuple[Any, Any], list[tuple[Any, Any]]] = {}
    for context, mechanism, study, evidence in zip(
        cmo["context"], cmo["mechanism"], cmo["study_id"], cmo["evidence"], strict=True
    ):
        pairs.setdefault((context, mechanism), []).append((study, evidence))
    for r in mech.get("moderating_contexts", []):
        studies = sorted(
            set(r.get("enabling_studies", [])) | set(r.get("blocking_studies", [])) | set(r.get("refining_studies", []))
        )
        rows = pairs.get((r.get("context"), r.get("mechanism")), [])
        best = strongest([e for _, e in rows]) if rows else None
        role = r.get("role") or "conditions"
        ctx, mechanism = r.get("context_label"), r.get("mechanism_label")
        kinds = [
            (len(set(r.get(f"{kind}_studies", []))), word)
            for kind, word in (("enabling", "enabling"), ("blocking", "blocking"), ("refining", "refining"))
        ]
        split = [f"{n} {word}" for n, word in kinds if n]
        behind = plural(len(studies), "study", "studies") + (f": {', '.join(split)}" if len(split) > 1 else "")
        evidence = {
            word: strongest([e for study, e in rows if study in named])
            for kind, word in (("enabling", "enabling"), ("blocking", "blocking"), ("refining", "refining"))
            if rows and (named := set(r.get(f"{kind}_studies") or ()))
        }
        strength = (
            "; strongest evidence " + ", ".join(f"{w} {e}" for w, e in evidence.items())
            if len(evidence) > 1
            else f"; evidence {best or 'not stated'}"
        )
        statement = f"{ctx} {role} {mechanism[0].lower() + mechanism[1:] if mechanism else ''} ({behind}{strength})."
        fid = f"mechanisms.context.{r.get('context')}.{r.get('mechanism')}"
        findings.append(
            Finding(
                id=fid,
                dimension="moderators",
                statement=statement,
                certainty=best,
                numbers={k: r.get(k) for k in ("n_enabling", "n_blocking", "n_refining", "strength")},
                rule=ROLE_RULE,
                studies=tuple(studies),
                pages=("index", "practice-guide"),
            )
        )
        views.append(
            {
                "context": ctx,
                "mechanism": mechanism,
                "role": role,
                "evidence": best or "not stated",
                "studies": studies,
                "n": len(studies),
                "finding": fid,
                "statement": statement,
            }
        )
    return views, findings


def studies_by_evidence(cmo: pd.DataFrame) -> dict[str, int]:
    """Distinct studies by the strongest evidence their supporting or refining codings give (at least that kind)."""
    backing = cmo[cmo["stance"].isin(["supports", "refines"])] if len(cmo) else cmo
    best = {s: strongest(list(p["evidence"])) for s, p in backing.groupby("study_id")} if len(backing) else {}
    return {
        k: sum(1 for b in best.values() if b and EVIDENCE_ORDER.index(b) >= EVIDENCE_ORDER.index(k))
        for k in EVIDENCE_ORDER
    }


def configurations(review, mech: dict[str, Any], top: int = 10) -> tuple[list[dict[str, Any]], Finding]:
    """The best-ranked configurations with the strongest evidence behind each, and what a practitioner should
    take them for: supported chains only where a study observed or tested them."""
    cmo = review.cmo
    views = []
    for c in (mech.get("configurations") or [])[:top]:
        evidence: list[str] = []
        links = []
        for lk in c.get("links", []):
            rows = _rows_on_link(cmo, lk["source"], lk["target"])
            backing = rows[rows["stance"].isin(["supports", "refines"])] if len(rows) else rows
            evidence += list(backing["evidence"]) if len(backing) else []
            links.append(
                {
                    "text": f"{review.concept_label(lk['source'])} → {review.concept_label(lk['target'])}",
                    "parts": link_parts(lk),
                }
            )
        labels = c.get("labels") or [review.concept_label(n) for n in c.get("path", [])]
        views.append(
            {
                "text": " → ".join(labels),
                "n_studies": int(c.get("n_studies", 0)),
                "evidence": strongest(evidence) or "none",
                "links": links,
            }
        )
    empirical = [v for v in views if v["evidence"] in EMPIRICAL]
    if not views:
        text = "No configuration of context, mechanism and outcome was coded."
    elif not empirical:
        text = (
            "These chains are what the programme theory assumes: the studies describe or assert them, "
            "but none observed or tested them. Read them as hypotheses, not as findings."
        )
    else:
        text = (
            f"{plural(len(empirical), 'chain is', 'chains are')} backed by a study that observed or tested a link; "
            "the others are described or asserted only. The strongest evidence behind each chain is given beside it."
        )
    finding = Finding(
        "mechanisms.configurations",
        "mechanisms",
        text,
        numbers={"shown": len(views), "observed_or_tested": len(empirical)},
        rule="Strongest evidence kind of the supporting or refining codings on a configuration's links",
        pages=("practice-guide",),
    )
    return views, finding


def headline(review, mech: dict[str, Any], theory_views: list[dict[str, Any]]) -> Finding:
    cmo = review.cmo
    if cmo.empty or not mech.get("configurations"):
        return Finding(
            "mechanisms.headline",
            "mechanisms",
            "No context-mechanism-outcome configuration was coded.",
            rule=THEORY_RULE,
            pages=("index", "practice-guide", "information-sheet"),
            headline=True,
        )
    n_studies = cmo["study_id"].nunique()
    at_least = studies_by_evidence(cmo)
    n_tested_against = int(((cmo["stance"] == "contradicts") & (cmo["evidence"] == "tested")).sum())
    top = mech["configurations"][0]
    labels = top.get("labels") or [review.concept_label(n) for n in top.get("path", [])]
    counts = {
        v: sum(1 for t in theory_views if t["verdict"] == v) for v in dict.fromkeys(t["verdict"] for t in theory_views)
    }
    theory_text = " Programme theory: " + join_and([f"{n} {v}" for v, n in counts.items()]) + "." if counts else ""
    if at_least["observed"] == 0:
        text = (
            f"No coded study observed or tested a mechanism: the {plural(len(cmo), 'coding')} from "
            f"{plural(n_studies, 'study', 'studies')} are {join_and(sorted(set(cmo['evidence'])))} only, so the programme theory is plausible but untested by these data."
        )
    else:
        text = (
            f"Best-supported configuration: {' → '.join(labels)} ({plural(int(top.get('n_studies', 0)), 'study', 'studies')}). "
            f"{at_least['observed']} of {n_studies} studies give observed or tested support "
            + (f"({at_least['tested']} from a test)" if at_least["tested"] else "(none of it from a test)")
            + "; the rest describe or assert it."
            + (
                f" {plural(n_tested_against, 'tested coding contradicts', 'tested codings contradict')} a link."
                if n_tested_against
                else ""
            )
        )
    return Finding(
        "mechanisms.headline",
        "mechanisms",
        text + theory_text,
        certainty=None,
        numbers={"studies_at_least": at_least, "n_studies": n_studies, "theory": counts},
        rule="Studies counted by the strongest evidence of their supporting or refining codings (as EMMIE-Q Mechanisms)",
        studies=tuple(sorted(set(cmo["study_id"]))),
        pages=("index", "practice-guide", "information-sheet"),
        headline=True,
    )
