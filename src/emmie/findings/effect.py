"""Effect findings: a certainty-graded verdict per outcome, and every analysis that bears on it.

The verdict of a pooled outcome is a GRADE informative statement (Santesso et al. 2020): its
verb follows the certainty (high "reduces", moderate "probably reduces", low "may reduce", very
low "the evidence is very uncertain about ..."), its object the size of the effect against the
outcome's minimal important difference (MID). Direction-only outcomes are judged on their
comparative studies alone (:func:`direction_only_statement`); uncontrolled reports are counted
apart and never carry a verdict.

References
----------
Santesso, N., et al. (2020). GRADE guidelines 26: informative statements to communicate the findings of
    systematic reviews of interventions. J Clin Epidemiol 119, 126-135.
Akl, E. A., et al. (2007). Using alternative statistical formats for presenting risks and risk reductions.
    Cochrane Database Syst Rev (natural frequencies).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from typing import Any

from emmie.effect.swim import study_direction
from emmie.findings import certainty as gr
from emmie.findings.model import Finding
from emmie.findings.text import (
    RATIO_MEASURES,
    fmt,
    fmt_effect,
    fmt_p_short,
    fmt_prob,
    join_and,
    join_some,
    number,
    on_display_scale,
    pct,
    plural,
    words,
)
from emmie.ingest.labels import study_labels
from emmie.ingest.schema import COMPARATIVE_DESIGNS

VERDICT_RULE = (
    "GRADE informative statements (Santesso et al. 2020) from the certainty rules in emmie.findings.certainty"
)
DIRECTION_RULE = (
    "Direction-only synthesis (SWiM; Campbell et al. 2020) judged on comparative studies alone; "
    "'little to no evidence' when no comparative study shows a benefit (emmie.findings.effect.direction_only_statement)"
)
UNCONTROLLED_RULE = "Uncontrolled designs cannot attribute change to the intervention (Shadish, Cook & Campbell 2002); counted apart, no verdict"
PAGES_VERDICT = ("index", "practice-guide", "information-sheet", "toolkit")


# --------------------------------------------------------------------------- words


def plain_names(outcome: dict[str, Any]) -> dict[str, str]:
    """The outcome's plain-language names, from ``review.yaml`` ``plain`` or its label and desirable direction."""
    plain = outcome.get("plain") or {}
    lower = outcome.get("desirable") == "lower"
    return {
        "noun": plain.get("noun") or _noun(str(outcome.get("label") or outcome.get("id"))),
        "benefit_verb": plain.get("benefit_verb") or ("reduces" if lower else "increases"),
        "harm_verb": plain.get("harm_verb") or ("increases" if lower else "reduces"),
        "event": plain.get("event") or "",
        "people": plain.get("people") or "people",
    }


def _noun(label: str) -> str:
    """An outcome label as a noun phrase in running text: parentheses dropped, first letter lower case."""
    text = " ".join(re.sub(r"\([^)]*\)", "", label).split()).replace(" ,", ",")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _base(verb: str) -> str:
    """'reduces' -> 'reduce', 'increases' -> 'increase', 'improves' -> 'improve'."""
    first, *rest = verb.split(" ", 1)
    if first.endswith("ies"):
        first = first[:-3] + "y"
    elif first.endswith(("shes", "ches", "sses", "xes")):
        first = first[:-2]
    elif first.endswith("s"):
        first = first[:-1]
    return " ".join([first, *rest])


def magnitude(est: float, ci_lb: float, ci_ub: float, mid: float | None) -> str:
    """'important' or 'trivial': against the MID where one is set, else whether the CI excludes no effect."""
    if mid is not None:
        return "important" if abs(est) >= mid else "trivial"
    return "important" if (ci_lb > 0 or ci_ub < 0) else "trivial"


def informative_statement(level: str, size: str, benefit: bool, subject: str, names: dict[str, str]) -> str:
    """Santesso et al. (2020), table 2, for ``level`` in GRADE's four and ``size`` 'important' or 'trivial'."""
    noun = names["noun"]
    if level == "very low":
        return f"The evidence is very uncertain about the effect of {subject} on {noun}."
    if size == "trivial":
        phrase = {"high": "results", "moderate": "probably results", "low": "may result"}[level]
        return _cap(f"{subject} {phrase} in little to no difference in {noun}.")
    verb = names["benefit_verb"] if benefit else names["harm_verb"]
    phrase = {"high": verb, "moderate": f"probably {verb}", "low": f"may {_base(verb)}"}[level]
    return _cap(f"{subject} {phrase} {noun}.")


def direction_only_statement(
    level: str | None, counts: dict[str, int], n_studies: int, subject: str, names: dict[str, str]
) -> str:
    """The verdict from comparative studies' directions (no effect size could be pooled).

    No comparative study: nothing can be said. Otherwise the GRADE statement for the certainty (at very
    low certainty "The evidence is very uncertain about ..."; Santesso et al. 2020), then what the studies
    found: when none found a benefit or a harm, "there is little to no evidence that it <improves> ..."
    (the wording of the 2018 Signs of Safety review) with the reminder that this is not evidence of no
    effect; when some found harm and none a benefit, that possible harm is said plainly.
    """
    noun, verb = names["noun"], names["benefit_verb"]
    if n_studies == 0:
        return f"No comparative study has measured the effect of {subject} on {noun}, so the evidence cannot say whether it works."
    found = found_text(counts, "comparative study", "comparative studies")
    benefit, harm = counts.get("benefit", 0), counts.get("harm", 0)
    if level in (None, "very low"):
        head = f"The evidence is very uncertain about the effect of {subject} on {noun}."
    else:
        head = informative_statement(level, "important", benefit > harm, subject, names)
    if benefit == 0 and harm == 0:
        return (
            f"{head} There is little to no evidence that it {verb} {noun}: {found}. "
            "Lack of evidence is not evidence that it does not work."
        )
    if benefit == 0:
        return f"{head} No comparative study found a benefit, and {found}: a possible harm."
    return f"{head} {_cap(found)}."


STUDY_WORDS = {
    "benefit": "found a benefit",
    "harm": "found harm",
    "no_change": "found no change",
    "mixed": "found mixed results",
    "unclear": "had an unclear direction",
}
DIRECTION_ORDER = ("benefit", "harm", "no_change", "mixed", "unclear")


def found_text(counts: dict[str, int], one: str, many: str, verb_one: str = "found", verb_many: str = "found") -> str:
    """What the studies found, as a clause: 'the 1 comparative study found no change';
    'of 2 comparative studies, 1 found harm and 1 found no change'; 'all 3 ... found a benefit'."""
    present = [k for k in DIRECTION_ORDER if counts.get(k)]
    n = sum(counts.get(k, 0) for k in present)
    if n == 0:
        return f"no {one} gave a usable direction"
    words_of = {k: STUDY_WORDS[k].replace("found", verb_one if n == 1 else verb_many, 1) for k in present}
    if n == 1:
        return f"the one {one} {words_of[present[0]]}"
    if len(present) == 1:
        return f"{'both' if n == 2 else f'all {n}'} {many} {words_of[present[0]]}"
    return f"of {n} {many}, " + join_and([f"{counts[k]} {words_of[k]}" for k in present])


# --------------------------------------------------------------------------- pooled outcomes


def _study_info(review) -> dict[str, dict[str, str]]:
    studies = review.studies
    return {
        sid: {"design": design, "rob": rob}
        for sid, design, rob in zip(studies["study_id"], studies["design"], studies["rob_overall"], strict=True)
    }


def baseline_risk(review, effect_ids: list[str]) -> float | None:
    """Median comparison-group risk ``ci / (ci + di)`` over the 2x2 rows of an analysis (None without them)."""
    eff = review.effects
    if not {"ci", "di"} <= set(eff.columns):
        return None
    rows = eff[eff["effect_id"].isin(effect_ids)]
    risks = []
    for c_raw, d_raw in zip(rows["ci"].tolist(), rows["di"].tolist(), strict=True):
        c, d = number(c_raw), number(d_raw)
        if c is not None and d is not None and c + d > 0:
            risks.append(c / (c + d))
    return statistics.median(risks) if risks else None


def risk_with(measure: str, p0: float, x: float) -> float | None:
    """Intervention-group risk implied by a pooled ``x`` (log OR, log RR or RD) at comparison risk ``p0``."""
    x = min(max(x, -700.0), 700.0)  # beyond this the risk is 0 or 1 to double precision; exp would overflow
    if measure == "OR":
        return 1.0 / (1.0 + (1 - p0) / p0 * math.exp(-x))
    if measure == "RR":
        return min(p0 * math.exp(x), 1.0)
    if measure == "RD":
        return min(max(p0 + x, 0.0), 1.0)
    return None


def natural_frequency(measure: str, p0: float, est: float, lb: float, ub: float) -> dict[str, float] | None:
    """Per 100 in the comparison groups and per 100 with the intervention (with the bounds of ``lb``, ``ub``).

    Unrounded; the difference is computed before rounding, so '9 more per 100' is not the difference of two
    rounded figures.
    """
    if measure not in ("OR", "RR", "RD"):
        return None
    p1, p_lb, p_ub = (risk_with(measure, p0, x) for x in (est, lb, ub))
    return {
        "control": 100 * p0,
        "intervention": 100 * p1,
        "lb": 100 * min(p_lb, p_ub),
        "ub": 100 * max(p_lb, p_ub),
        "difference": 100 * (p1 - p0),
    }


def pooled_certainty(review, o: dict[str, Any], benefit_ci: tuple[float, float]) -> gr.Certainty:
    """GRADE-style certainty of a meta-analysed outcome (rules in :mod:`emmie.findings.certainty`)."""
    head = (o.get("frequentist") or {}).get(o.get("headline_test") or "knha") or {}
    rows = o.get("studies") or []
    weights = [number(s.get("weight")) or 0.0 for s in rows]
    info = _study_info(review)
    k = int(o.get("k") or 0)
    ss = o.get("small_study") or {}
    start, start_why = gr.start_level([info.get(s["study_id"], {}).get("design", "") for s in rows], weights)
    judgements = [
        gr.risk_of_bias([info.get(s["study_id"], {}).get("rob", "") for s in rows], weights),
        gr.inconsistency(k, number(head.get("i2")), number(head.get("pi_lb")), number(head.get("pi_ub"))),
        gr.imprecision(*benefit_ci, "higher", number(o.get("mid"))),
        gr.publication_bias(
            k,
            number((ss.get("egger") or {}).get("pval")),
            number((ss.get("rank") or {}).get("pval")),
            adjusted_benefits(ss, o.get("desirable")),
            _benefit(number(head.get("estimate")), o.get("desirable")),
        ),
    ]
    return gr.grade(start, start_why, judgements)


def _benefit(x: float | None, desirable: str | None) -> float | None:
    return None if x is None else (-x if desirable == "lower" else x)


def adjusted_benefits(ss: dict[str, Any], desirable: str | None) -> list[tuple[str, float | None, float | None]]:
    """The estimates adjusted for small-study effects, on the benefit scale, each with the p of its own test of
    small-study effects: the selection model's likelihood-ratio test, PET's slope (Stanley & Doucouliagos 2014)."""
    out = []
    sel = ss.get("selection") or {}
    if sel:
        out.append(
            ("selection model (3PSM)", _benefit(number(sel.get("estimate")), desirable), number(sel.get("lrt_pval")))
        )
    pp = ss.get("pet_peese") or {}
    if pp:
        out.append((f"PET-PEESE ({pp.get('chosen')})", _benefit(number(pp.get("estimate")), desirable),
                    number(pp.get("pet_slope_pval"))))  # fmt: skip
    return out


def benefit_scale(body: dict[str, Any], desirable: str | None) -> tuple[float, float, float, float, float, float]:
    """``(est, lb, ub)`` of a body's headline fit on the analysis scale, and the same on the benefit scale
    (a benefit is a positive number whichever direction is desirable)."""
    head = (body.get("frequentist") or {}).get(body.get("headline_test") or "knha") or {}
    est, lb, ub = (number(head.get(k)) for k in ("estimate", "ci_lb", "ci_ub"))
    sign = -1.0 if desirable == "lower" else 1.0
    return est, lb, ub, sign * est, min(sign * lb, sign * ub), max(sign * lb, sign * ub)


def choose_body(all_studies: gr.Certainty, randomised: gr.Certainty | None) -> str:
    """'randomised' when the randomised trials alone give the higher certainty, else 'all'
    (GRADE rates the two bodies separately and reports the one with the higher certainty;
    Cuello-Garcia et al. 2022). On a tie the fuller body is kept."""
    if randomised is not None and gr.LEVELS.index(randomised.level) > gr.LEVELS.index(all_studies.level):
        return "randomised"
    return "all"


def _frequency_finding(
    review, o, names, subject, cert_level, estimate, small_study: bool, basis: str = ""
) -> Finding | None:
    """Natural frequencies where the comparison groups give a baseline risk, with the spread between settings
    (prediction interval) and, where small-study effects are suspected, the trim-and-fill figure. ``basis``
    names the pooled estimate they come from, so the figures are tied to a number on the page."""
    rows = o.get("studies") or []
    p0 = baseline_risk(review, [s["effect_id"] for s in rows])
    measure = str(o.get("measure") or "")
    nf = natural_frequency(measure, p0, *estimate) if p0 is not None and estimate[0] is not None else None
    if not nf:
        return None
    event = names["event"] or f"had the outcome ({names['noun']})"
    # The shown figure is the rounded comparison figure plus the rounded difference, so the three agree.
    diff = round(nf["difference"])
    text = (
        (f"From {basis}: of" if basis else "Of")
        + f" every 100 {names['people']} in the comparison groups, about {round(nf['control'])} {event}. "
        f"With {subject} the figure would be about {round(nf['control']) + diff} ({pct(o.get('level'))} CI {round(nf['lb'])} to "
        f"{round(nf['ub'])}): about {abs(diff)} {'more' if diff >= 0 else 'fewer'} per 100"
        + (", but the evidence is very uncertain" if cert_level == "very low" else "")
        + "."
    )
    head = (o.get("frequentist") or {}).get(o.get("headline_test") or "knha") or {}
    pi = (
        natural_frequency(measure, p0, estimate[0], number(head.get("pi_lb")), number(head.get("pi_ub")))
        if number(head.get("pi_lb")) is not None
        else None
    )
    if pi:
        text += f" In a particular service it could be anywhere from about {round(pi['lb'])} to {round(pi['ub'])} ({pct(o.get('level'))} prediction interval)."
    tf = (o.get("small_study") or {}).get("trim_and_fill") or {}
    adjusted = None
    if small_study and number(tf.get("estimate")) is not None:
        adjusted = natural_frequency(measure, p0, tf["estimate"], tf["estimate"], tf["estimate"])
        text += (
            f" Allowing for missing small studies (trim-and-fill) it would be about {round(nf['control']) + round(adjusted['difference'])}: "
            f"{abs(round(adjusted['difference']))} {'more' if adjusted['difference'] >= 0 else 'fewer'} per 100."
        )
    text += " The comparison-group figure is the median of the studies' comparison groups."
    return Finding(
        id=f"effect.frequency.{o['outcome']}",
        dimension="effect",
        statement=text,
        certainty=cert_level,
        numbers={"baseline_risk": p0, **nf, "prediction": pi, "trim_and_fill": adjusted},
        rule="Natural frequencies (Akl et al. 2007) from the pooled estimate and the median comparison-group risk",
        studies=tuple(s["study_id"] for s in rows),
        pages=("index", "information-sheet"),
    )


def pooled_count(o: dict[str, Any]) -> str:
    """What an outcome's pooled estimate is pooled over: "12 studies", or "56 results from 11 studies" when some
    study gives several results (a multilevel model)."""
    dep = o.get("dependence") or {}
    if dep:
        return f"{plural(int(dep['k']), 'result')} from {plural(int(dep['n_studies']), 'study', 'studies')}"
    return plural(int(o["k"]), "study", "studies")


def pooled_outcome(review, o: dict[str, Any], subject: str) -> tuple[dict[str, Any], list[Finding]]:
    """The verdict on a meta-analysed outcome and the findings of every analysis that bears on it.

    With randomised and non-randomised studies in the analysis, both bodies are rated and the verdict rests on the
    one with the higher certainty; the other is stated beside it.
    """
    oid = o["outcome"]
    names = plain_names({**_config_outcome(review, oid), **{k: o.get(k) for k in ("label", "desirable")}})
    measure = str(o.get("measure") or "")
    desirable = o.get("desirable")
    est, lb, ub, *benefit = benefit_scale(o, desirable)
    cert_all = pooled_certainty(review, o, tuple(benefit[1:]))
    rct = {**o, **o["randomised_only"]} if o.get("randomised_only") else None
    cert_rct = pooled_certainty(review, rct, tuple(benefit_scale(rct, desirable)[4:])) if rct else None
    body_name = choose_body(cert_all, cert_rct)
    body, proposed = (rct, cert_rct) if body_name == "randomised" else (o, cert_all)
    cert = gr.override(proposed, (review.config.get("certainty_overrides") or {}).get(oid))
    b_est, b_lb, b_ub, bb_est, bb_lb, bb_ub = benefit_scale(body, desirable)
    statement = informative_statement(
        cert.level, magnitude(bb_est, bb_lb, bb_ub, number(o.get("mid"))), bb_est > 0, subject, names
    )
    coded = _noun(str(o.get("label") or oid))
    scale = f" for {coded}" if coded != names["noun"] else ""  # the pooled measure is of the outcome as coded
    ci = f"{pct(o.get('level'))} CI"
    all_text = f"{pooled_count(o)}: {fmt_effect(measure, est, lb, ub, level=ci)}{scale}"
    if body_name == "randomised":
        statement += (
            f" Randomised trials ({body['k']}): {fmt_effect(measure, b_est, b_lb, b_ub, level=ci)}{scale}, certainty {cert.level}."
            f" All {all_text}, certainty {cert_all.level}: the non-randomised studies add less certain evidence."
        )
    else:
        statement += f" Pooled over {all_text}."
        if cert_rct is not None:
            r_est, r_lb, r_ub = benefit_scale(rct, desirable)[:3]
            statement += f" Randomised trials alone ({rct['k']}): {fmt_effect(measure, r_est, r_lb, r_ub, level=ci)}, certainty {cert_rct.level}."
    bma = o.get("bma") or {}
    if bma.get("bf10") is not None:  # absence of evidence or evidence of absence: the Bayes factor tells them apart
        over = " (all studies)" if body_name == "randomised" else ""
        statement += (
            f" Bayes factor for an effect{over}: {bf_text(bma['bf10'])} ({BF_WORDS[bma['evidence']].split(' (')[0]})."
        )
    ss = body.get("small_study") or {}
    tf = ss.get("trim_and_fill") or {}
    small_study = next(j for j in proposed.judgements if j.domain == "publication bias").down > 0
    if small_study and number(tf.get("estimate")) is not None:
        statement += (
            " Small-study effects suggest the effect may be smaller than pooled "
            f"(trim-and-fill {fmt_effect(measure, tf['estimate'], None, None)})."
        )
    studies = [s["study_id"] for s in body.get("studies") or []]
    numbers = {
        "estimate": b_est,
        "ci_lb": b_lb,
        "ci_ub": b_ub,
        "k": body.get("k"),
        "measure": measure,
        "body": body_name,
    }
    findings = [
        Finding(
            id=f"effect.verdict.{oid}",
            dimension="effect",
            statement=statement,
            certainty=cert.level,
            numbers={
                **numbers,
                "certainty": cert.to_dict(),
                "certainty_all_studies": cert_all.to_dict(),
                "certainty_randomised": cert_rct.to_dict() if cert_rct else None,
            },
            rule=VERDICT_RULE,
            studies=tuple(studies),
            pages=("index",),
        ),
        _frequency_finding(
            review,
            body,
            names,
            subject,
            cert.level,
            (b_est, b_lb, b_ub),
            small_study,
            basis=(
                f"the randomised trials, {fmt_effect(measure, b_est, b_lb, b_ub, level=ci)}"
                if body_name == "randomised"
                else f"all {pooled_count(o)}, {fmt_effect(measure, b_est, b_lb, b_ub, level=ci)}"
            ),
        ),
        _small_study_finding(oid, measure, est, o["small_study"], [s["study_id"] for s in o["studies"]])
        if o.get("small_study")
        else None,
        # The verdict rests on the randomised trials: their own funnel-plot tests are shown too.
        _small_study_finding(oid, measure, b_est, ss, studies, body="randomised trials")
        if body_name == "randomised" and ss
        else None,
        _loo_finding(oid, measure, lb, ub, o["leave_one_out"], [s["study_id"] for s in o["studies"]], review)
        if o.get("leave_one_out")
        else None,
        _bayes_finding(oid, measure, o["interpretation"], o.get("bayes") or {}, small_study, studies)
        if o.get("interpretation")
        else None,
        _adjusted_finding(oid, measure, o, [s["study_id"] for s in o["studies"]])
        if (o.get("small_study") or {}).get("pet_peese")
        else None,
        _bma_finding(oid, o["bma"], studies) if (o.get("bma") or {}).get("bf10") is not None else None,
    ]
    findings = [f for f in findings if f is not None]
    view = {
        "outcome": oid,
        "label": o.get("label"),
        "certainty": cert.to_dict(),
        "certainty_rows": [{"domain": j.domain, "down": j.down, "reason": j.reason} for j in cert.judgements],
        "body": "randomised trials only" if body_name == "randomised" else "all studies",
        "verdict": statement,
        "findings": [f.id for f in findings],
    }
    return view, findings


def _config_outcome(review, oid: str) -> dict[str, Any]:
    return next((x for x in review.config.get("outcomes", []) if x.get("id") == oid), {})


def bf_text(x: float) -> str:
    """A Bayes factor as the pages write it: two significant figures, 'more than 1,000' past it."""
    if not math.isfinite(x):
        return "not defined"
    if x >= 1000:
        return "more than 1,000"
    if x < 0.001:
        return "less than 1/1,000"
    return f"{x:.2g}" if x < 10 else f"{x:.0f}"


#: What a Bayes factor for an effect says, in words (BF10 >= 3, BF01 >= 3, else in between; Jeffreys' bands).
BF_WORDS = {
    "effect": "the data favour an effect",
    "no effect": "the data favour no effect",
    "uninformative": "the data cannot distinguish an effect from no effect (the Bayes factor lies between 1/3 and 3)",
}


def _bma_finding(oid: str, bma: dict[str, Any], studies) -> Finding:
    bf10, bf01 = number(bma.get("bf10")), number(bma.get("bf01"))
    evidence = str(bma.get("evidence"))
    text = (
        "Bayesian model averaging over fixed- and random-effects models with and without an effect (priors: effect "
        f"{bma.get('effect_prior')}, tau {bma.get('tau_prior')}): {BF_WORDS[evidence]}; "
        + (
            f"they are {bf_text(bf10)} times as likely with an effect as without (BF10)"
            if evidence == "effect"
            else f"they are {bf_text(bf01)} times as likely without an effect as with one (BF01)"
            if evidence == "no effect"
            else f"BF10 = {bf_text(bf10)}"
        )
        + f". The Bayes factor for heterogeneity is {bf_text(number(bma.get('bf_heterogeneity')))}."
    )
    sens = bma.get("sensitivity") or []
    words = {r.get("evidence") for r in sens}
    if len(sens) > 1:
        text += (
            f" Under {len(sens)} prior choices the reading "
            + (
                "stays the same."
                if len(words) == 1
                else "changes with the prior: " + join_and(sorted({BF_WORDS[w].split(" (")[0] for w in words})) + "."
            )  # fmt: skip
        )
    return Finding(
        id=f"effect.bma.{oid}",
        dimension="effect",
        statement=text,
        numbers={k: bma.get(k) for k in ("bf10", "bf01", "bf_heterogeneity", "evidence", "posterior_models")},
        rule="Inclusion Bayes factors by model averaging (as metaBMA); BF10 >= 3 an effect, BF01 >= 3 no effect, "
        "else uninformative",
        studies=tuple(studies),
        pages=("index",),
    )


def _adjusted_finding(oid: str, measure: str, o: dict[str, Any], studies: list[str]) -> Finding:
    ss = o["small_study"]
    ci = f"{pct(o.get('level'))} CI"
    pp = ss["pet_peese"]
    sel = ss.get("selection") or {}
    text = "Allowing for small-study effects"
    if ss.get("on") == "study averages":
        text += " (on the study averages)"
    if sel:
        text += (
            ", the three-parameter selection model (studies with one-sided p < 0.025 published more readily) gives "
            f"{fmt_effect(measure, sel['estimate'], sel['ci_lb'], sel['ci_ub'], level=ci)} (likelihood-ratio test of "
            f"selection {fmt_p_short(sel.get('lrt_pval'))}), and"
        )
    text += (
        f" PET-PEESE ({pp['chosen']}) gives {fmt_effect(measure, pp['estimate'], pp['ci_lb'], pp['ci_ub'], level=ci)} "
        f"(PET's test of small-study effects {fmt_p_short(pp.get('pet_slope_pval'))})."
    )
    if ss.get("selection_skipped"):
        text += f" The selection model was {ss['selection_skipped']}."
    return Finding(
        id=f"effect.adjusted.{oid}",
        dimension="effect",
        statement=text,
        numbers={"selection": sel or None, "pet_peese": pp},
        rule="Vevea & Hedges (1995) selection model with a cut-point at one-sided p = 0.025; conditional PET-PEESE "
        "(Stanley & Doucouliagos 2014)",
        studies=tuple(studies),
        pages=("index",),
    )


def _small_study_finding(
    oid: str, measure: str, est: float, ss: dict[str, Any], studies: list[str], body: str | None = None
) -> Finding:
    eg, rk, tf = ss.get("egger") or {}, ss.get("rank") or {}, ss.get("trim_and_fill") or {}
    k0 = int(tf.get("k0") or 0)
    asym = min(p for p in (number(eg.get("pval")), number(rk.get("pval")), 1.0) if p is not None) < gr.SMALL_STUDY_P
    text = (
        (f"{_cap(body)} only: funnel" if body else "Funnel")
        + f"-plot asymmetry: Egger's regression test {fmt_p_short(eg.get('pval'))}, rank correlation test "
        f"{fmt_p_short(rk.get('pval'))} ({'small-study effects suspected' if asym else 'no asymmetry detected'}). "
    )
    if k0:
        text += (
            f"Trim-and-fill imputes {plural(k0, 'missing study', 'missing studies')} on the {tf.get('side')} side and moves the "
            f"estimate from {fmt_effect(measure, est, None, None)} to {fmt_effect(measure, tf.get('estimate'), None, None)}. "
        )
    else:
        text += "Trim-and-fill imputes no missing study. "
    text += f"Rosenthal's fail-safe N is {ss.get('failsafe_n')}; it ignores heterogeneity and is not a test of bias (Becker 2005)."
    return Finding(
        id=f"effect.small_study.{oid}" + (".randomised" if body else ""),
        dimension="effect",
        statement=text,
        certainty=None,
        numbers={
            "egger_p": eg.get("pval"),
            "rank_p": rk.get("pval"),
            "trim_and_fill": tf,
            "failsafe_n": ss.get("failsafe_n"),
        },
        rule="Egger et al. 1997; Begg & Mazumdar 1994; Duval & Tweedie 2000 (L0); Rosenthal 1979; p < 0.10 (Sterne et al. 2011)",
        studies=tuple(studies),
        pages=("index",),
    )


def _loo_finding(oid, measure, lb, ub, loo, studies, review) -> Finding:
    ests = [number(r.get("estimate")) for r in loo]
    ests = [e for e in ests if e is not None]
    excludes_before = lb > 0 or ub < 0
    flips = [
        r.get("omitted_study_id")
        for r in loo
        if number(r.get("ci_lb")) is not None
        and ((number(r["ci_lb"]) > 0 or number(r["ci_ub"]) < 0) != excludes_before)
    ]
    lo, hi = min(ests), max(ests)
    text = (
        f"Leaving out one study at a time, the pooled estimate ranges from {fmt_effect(measure, lo, None, None)} to "
        f"{fmt_effect(measure, hi, None, None)}; "
    )
    if flips:
        text += (
            "leaving out "
            + join_some(sorted({study_labels(review).get(str(s), str(s)) for s in flips}), "studies")
            + " changes whether the confidence interval includes no effect."
        )
    else:
        text += "no single study changes whether the confidence interval includes no effect."
    return Finding(
        id=f"effect.influence.{oid}",
        dimension="effect",
        statement=text,
        numbers={"min": lo, "max": hi, "changes_conclusion": flips},
        rule="Leave-one-out analysis (Viechtbauer & Cheung 2010)",
        studies=tuple(studies),
        pages=("index",),
    )


def _span(measure: str, lb: Any, ub: Any) -> str:
    lo, hi = on_display_scale(measure, lb), on_display_scale(measure, ub)
    prefix = f"{measure} " if measure in RATIO_MEASURES else ""
    return f"{prefix}{fmt(lo)} to {fmt(hi)}"


def _bayes_finding(oid, measure, interp, bayes, small_study: bool, studies) -> Finding:
    ci = interp.get("interval") or {}
    text = (
        f"Bayesian random-effects analysis of all {plural(int(bayes.get('k') or 0), 'study', 'studies')}"
        + (" (each study's results averaged, as the model takes one result per study)" if bayes.get("on") else "")
        + f": probability of any benefit {fmt_prob(interp.get('p_benefit'))}"
        + (
            f", of a benefit at least the minimal important difference {fmt_prob(interp.get('p_benefit_mid'))}"
            if interp.get("p_benefit_mid") is not None
            else ""
        )
        + f"; {pct(bayes.get('level'))} credible interval {_span(measure, ci.get('lb'), ci.get('ub'))}."
    )
    sens = bayes.get("prior_sensitivity") or []
    ps = [number(r.get("p_benefit")) for r in sens if number(r.get("p_benefit")) is not None]
    if len(ps) > 1:
        lo, hi = fmt_prob(min(ps)), fmt_prob(max(ps))
        text += (
            f" Under each of the {len(ps)} heterogeneity priors tried, the probability of any benefit is {lo}."
            if lo == hi
            else f" Across {len(ps)} heterogeneity priors the probability of any benefit ranges from {lo} to {hi}."
        )
    elif bayes.get("prior_sensitivity_skipped"):
        text += f" Other heterogeneity priors were {bayes['prior_sensitivity_skipped']}."
    if small_study:
        text += " These probabilities assume the studies are unbiased; the small-study effects above mean they overstate the benefit."
    if int(bayes.get("k") or 0) < 5:
        text += " With so few studies the result leans on the prior."
    return Finding(
        id=f"effect.bayes.{oid}",
        dimension="effect",
        statement=text,
        numbers={k: interp.get(k) for k in ("p_benefit", "p_benefit_mid", "p_harm", "conclusion")},
        rule="Exact Bayesian random-effects model (Röver 2020); 0.95/0.05 decision thresholds in emmie.effect.bayes.interpret",
        studies=tuple(studies),
        pages=("index",),
    )


# --------------------------------------------------------------------------- direction-only outcomes


def direction_only_outcome(
    review, outcome: dict[str, Any], results: list[dict[str, Any]], subject: str
) -> tuple[dict[str, Any], list[Finding]]:
    oid = outcome["outcome"]
    names = plain_names({**_config_outcome(review, oid), **{k: outcome.get(k) for k in ("label", "desirable")}})
    info = _study_info(review)
    by_study: dict[str, list[str]] = {}
    for r in results:
        by_study.setdefault(r["study_id"], []).append(r.get("direction") or "unclear")
    direction = {s: study_direction(d) for s, d in by_study.items()}
    comparative = sorted(s for s in direction if info.get(s, {}).get("design") in COMPARATIVE_DESIGNS)
    uncontrolled = sorted(s for s in direction if s not in comparative)
    counts = Counter(direction[s] for s in comparative)
    level = None
    cert = None
    if comparative:
        start, why = gr.start_level([info[s]["design"] for s in comparative])
        rob = gr.risk_of_bias([info[s]["rob"] for s in comparative])
        impr = gr.Judgement(
            "imprecision", 1, "direction only: no effect size or interval could be formed (Murad et al. 2017)"
        )
        cert = gr.override(gr.grade(start, why, [rob, impr]), (review.config.get("certainty_overrides") or {}).get(oid))
        level = cert.level
    statement = direction_only_statement(level, dict(counts), len(comparative), subject, names)
    findings = [
        Finding(
            id=f"effect.verdict.{oid}",
            dimension="effect",
            statement=statement,
            certainty=level or "no comparative evidence",
            numbers={
                "comparative": dict(counts),
                "n_comparative": len(comparative),
                "certainty": cert.to_dict() if cert else None,
            },
            rule=DIRECTION_RULE,
            studies=tuple(comparative),
            pages=("index",),
        )
    ]
    if uncontrolled:
        u_counts = Counter(direction[s] for s in uncontrolled)
        designs = sorted({words(info.get(s, {}).get("design")) for s in uncontrolled})
        robs = Counter(info.get(s, {}).get("rob") for s in uncontrolled)
        rob_text = ", ".join(f"{v} {words(k)}" for k, v in sorted(robs.items()) if k)
        findings.append(
            Finding(
                id=f"effect.uncontrolled.{oid}",
                dimension="effect",
                statement=(
                    f"{_cap(found_text(dict(u_counts), 'report without a comparison group', 'reports without a comparison group', 'reported', 'reported'))} "
                    f"for {names['noun']} ({', '.join(designs)}; risk of bias {rob_text}). Without a comparison group "
                    f"{'it' if len(uncontrolled) == 1 else 'they'} cannot show that {subject} caused a change, so "
                    f"{'it carries' if len(uncontrolled) == 1 else 'they carry'} no verdict."
                ),
                certainty=None,
                numbers={"uncontrolled": dict(u_counts), "n_uncontrolled": len(uncontrolled)},
                rule=UNCONTROLLED_RULE,
                studies=tuple(uncontrolled),
                pages=("index",),
            )
        )
    view = {
        "outcome": oid,
        "label": outcome.get("label"),
        "certainty": cert.to_dict() if cert else None,
        "certainty_rows": [{"domain": j.domain, "down": j.down, "reason": j.reason} for j in cert.judgements]
        if cert
        else [],
        "verdict": statement,
        "findings": [f.id for f in findings],
    }
    return view, findings


def swim_domain_finding(domain: dict[str, Any]) -> Finding:
    """A SWiM domain's study directions in words: comparative studies and their sign test, the rest apart."""
    st = domain.get("sign_test") or {}
    su = domain.get("sign_test_uncontrolled") or {}
    text = (
        f'Outcome domain "{domain.get("domain")}", by study: comparative studies with a benefit {st.get("n_benefit", 0)}, '
        f"with harm {st.get('n_harm', 0)}, with mixed results, no change or an unclear direction {st.get('n_excluded', 0)}; "
        + (
            f"sign test {fmt_p_short(st.get('pval'))}."
            if number(st.get("pval")) is not None
            else "no sign test (no comparative study with a benefit or harm)."
        )
    )
    if su.get("n", 0) or su.get("n_excluded", 0):
        text += (
            " Studies without a comparison group, counted apart and carrying no verdict: with a benefit "
            f"{su.get('n_benefit', 0)}, with harm {su.get('n_harm', 0)}, with mixed results, no change or an unclear "
            f"direction {su.get('n_excluded', 0)}."
        )
    return Finding(
        id=f"effect.swim.{domain.get('domain')}",
        dimension="effect",
        statement=text,
        numbers={"comparative": st, "uncontrolled": su},
        rule="SWiM sign test on comparative studies only (Campbell et al. 2020; McKenzie & Brennan 2023)",
        studies=tuple(s.get("study_id") for s in domain.get("studies", [])),
        pages=("index",),
    )


def derive(review, effect: dict[str, Any], subject: str) -> tuple[dict[str, Any], list[Finding]]:
    """Every Effect finding, and the per-outcome views the pages lay out."""
    views, findings = [], []
    swim_results = (effect.get("swim") or {}).get("results") or []
    for o in effect.get("outcomes", []):
        if o.get("pooled") and o.get("frequentist"):
            view, fs = pooled_outcome(review, o, subject)
        else:
            mine = [r for r in swim_results if r.get("outcome") == o["outcome"]]
            if not mine:
                continue
            view, fs = direction_only_outcome(review, o, mine, subject)
        view["primary"] = bool(o.get("primary"))
        views.append(view)
        findings.extend(fs)
    findings += [swim_domain_finding(d) for d in (effect.get("swim") or {}).get("domains", [])]
    silent = [o for o in effect.get("outcomes", []) if not o.get("n_results")]
    if silent:
        findings.append(
            Finding(
                id="effect.no_results",
                dimension="effect",
                statement="No coded study reported on "
                + join_some([_noun(str(o.get("label") or o["outcome"])) for o in silent], "outcomes")
                + ": the evidence says nothing about "
                + ("it." if len(silent) == 1 else "them."),
                numbers={"outcomes": [o["outcome"] for o in silent]},
                rule="Outcomes of the review question with no coded result",
                pages=("index", "information-sheet"),
            )
        )
    headline = _headline(effect, views, findings, subject)
    findings.append(headline)
    return {"outcomes": views, "headline": headline.id}, findings


def _headline(effect, views, findings, subject) -> Finding:
    by_id = {f.id: f for f in findings}
    primary = next((v for v in views if v.get("primary")), views[0] if views else None)
    if primary is None:
        return Finding(
            id="effect.headline",
            dimension="effect",
            statement=f"No result on any outcome was coded, so nothing can be said about the effect of {subject}.",
            rule=VERDICT_RULE,
            pages=PAGES_VERDICT,
            headline=True,
        )
    verdict = by_id[f"effect.verdict.{primary['outcome']}"]
    text = verdict.statement
    harms = [
        v
        for v in views
        if v is not primary
        and (by_id[f"effect.verdict.{v['outcome']}"].numbers.get("comparative") or {}).get("harm", 0)
        and not (by_id[f"effect.verdict.{v['outcome']}"].numbers.get("comparative") or {}).get("benefit", 0)
    ]
    if harms:
        text += (
            " Comparative evidence points to a possible harm on "
            + join_some([_noun(str(v["label"] or v["outcome"])) for v in harms], "outcomes")
            + " (see the full report)."
        )
    return Finding(
        id="effect.headline",
        dimension="effect",
        statement=text,
        certainty=verdict.certainty,
        numbers={"outcome": primary["outcome"]},
        rule="The verdict on the review's primary outcome",
        studies=verdict.studies,
        pages=PAGES_VERDICT,
        headline=True,
    )
