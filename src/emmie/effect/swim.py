"""Synthesis without meta-analysis (SWiM): effect direction, sign test and effect-direction plot.

Results that cannot be pooled (a single result on an outcome, a direction-only result, a
single-arm proportion, a measure that differs from the outcome's pooling measure, ...) are
synthesised by the *direction* of their effects, as the SWiM reporting guideline and the
Cochrane Handbook (ch. 12) recommend: each result is classified as benefit / harm /
no_change / mixed / unclear, results are combined into one direction per study and outcome
domain, and the number of studies showing benefit is compared with the number showing harm
with a two-sided sign test.

Direction rule (``rule="direction"``, the default)
    A result with a comparative estimate (any measure except PROP and NONE, with a finite
    ``yi``) takes the direction of its point estimate on the analysis scale, where 0 is no
    difference: ``yi > 0`` is a benefit when the outcome's ``desirable`` is ``"higher"`` and a
    harm when it is ``"lower"`` (the reverse for ``yi < 0``); ``yi == 0`` is no_change. This is
    "vote counting based on direction of effect", the form SWiM and the Cochrane Handbook
    (section 12.2.2.5) accept; statistical significance is deliberately not used, because
    counting non-significant results as "no effect" is the vote counting they warn against.
    Whether the confidence interval excludes 0 is still reported (column ``ci_excludes_null``).
Direction rule (``rule="ci"``)
    The interval rule: the CI lies wholly on the desirable side of 0 -> benefit, wholly on the
    other side -> harm, CI includes 0 -> no_change. Offered for comparison with reviews that
    used it; not the default for the reason above.
Either rule
    A result without a usable estimate takes its coded ``direction`` (as the source reports
    it); a result with neither is ``unclear``. When a coded direction disagrees with the
    direction of the estimate the estimate wins and ``conflict`` is set.
Study direction per domain
    From the study's results in the domain (``unclear`` ones ignored): the direction shared by
    at least 70% of them; otherwise ``mixed`` (Thomson & Thomas 2013). No classifiable
    result -> ``unclear``.
Sign test
    Two-sided exact binomial test of the number of benefit studies among benefit + harm
    studies against 1/2; no_change, mixed and unclear studies are excluded. The proportion of
    benefit studies is reported with its Wilson 95% interval.

References
----------
Campbell, M., McKenzie, J. E., Sowden, A., et al. (2020). Synthesis without meta-analysis (SWiM) in systematic
    reviews: reporting guideline. BMJ, 368, l6890.
McKenzie, J. E., & Brennan, S. E. (2023). Synthesizing and presenting findings using other methods. In Cochrane
    Handbook for Systematic Reviews of Interventions, version 6.4, chapter 12.
Thomson, H. J., & Thomas, S. (2013). The effect direction plot: visual display of non-standardised effects across
    multiple outcome domains. Research Synthesis Methods, 4(1), 95-101.
Boon, M. H., & Thomson, H. (2021). The effect direction plot revisited: application of the 2019 Cochrane Handbook
    guidance on alternative synthesis methods. Research Synthesis Methods, 12(1), 29-33.
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. JASA, 22, 209-212.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from emmie.ingest.schema import COMPARATIVE_DESIGNS
from emmie.palette import OKABE_ITO

DIRECTIONS = ("benefit", "harm", "no_change", "mixed", "unclear")
RULES = ("direction", "ci")
NON_COMPARATIVE = ("PROP", "NONE")
COMPARATIVE = frozenset(COMPARATIVE_DESIGNS)
STUDY_THRESHOLD = 0.7

# Sample-size classes of the effect-direction plot (Boon & Thomson 2021): <50, 50-300, >300.
SIZE_CLASSES = ((50, "small", 8.0), (301, "medium", 11.0), (np.inf, "large", 14.0))
#: One glyph per direction, so that no direction is told apart by colour alone ("no change" and "mixed" differ).
GLYPHS = {"benefit": "\u25b2", "harm": "\u25bc", "no_change": "\u25c4\u25ba", "mixed": "\u25c6", "unclear": "?"}
COLOURS = {
    "benefit": OKABE_ITO["blue"],
    "harm": OKABE_ITO["vermillion"],
    "no_change": OKABE_ITO["grey"],
    "mixed": OKABE_ITO["orange"],
    "unclear": OKABE_ITO["grey"],
}


def _signed_direction(value: float, desirable: str) -> str:
    if value == 0:
        return "no_change"
    favours_higher = value > 0
    return "benefit" if favours_higher == (desirable == "higher") else "harm"


def result_direction(
    yi: float,
    ci_lb: float,
    ci_ub: float,
    coded: str,
    *,
    measure: str,
    desirable: str,
    rule: str = "direction",
) -> tuple[str, str]:
    """Direction of one result and where it came from (``"estimate"``, ``"coded"`` or ``"none"``).

    Parameters
    ----------
    yi, ci_lb, ci_ub : float
        Estimate and confidence limits on the analysis scale (0 = no difference); NaN when absent.
    coded : str
        The coded ``direction`` column ("" when empty).
    measure : str
        Effect-size measure; PROP and NONE results have no comparative estimate.
    desirable : {"higher", "lower"}
        Which sign of the effect is a benefit.
    rule : {"direction", "ci"}
        See the module docstring.

    Returns
    -------
    (direction, source)

    References
    ----------
    Campbell et al. (2020); McKenzie & Brennan (2023), section 12.2.2.5.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if desirable not in ("higher", "lower"):
        raise ValueError(f"desirable must be 'higher' or 'lower', got {desirable!r}")
    if measure not in NON_COMPARATIVE and np.isfinite(yi):
        if rule == "direction":
            return _signed_direction(yi, desirable), "estimate"
        if np.isfinite(ci_lb) and np.isfinite(ci_ub):
            if ci_lb > 0 or ci_ub < 0:
                return _signed_direction(ci_lb if ci_lb > 0 else ci_ub, desirable), "estimate"
            return "no_change", "estimate"
    coded = (coded or "").strip()
    if coded:
        if coded not in DIRECTIONS:
            raise ValueError(f"direction {coded!r} is not one of {DIRECTIONS}")
        return coded, "coded"
    return "unclear", "none"


def study_direction(directions: Sequence[str], *, threshold: float = STUDY_THRESHOLD) -> str:
    """One direction for a study's results in a domain: the one shared by >= ``threshold`` of them, else mixed.

    ``unclear`` results are ignored; a study with no other result is ``unclear``.

    References
    ----------
    Thomson & Thomas (2013); Boon & Thomson (2021).
    """
    known = [d for d in directions if d != "unclear"]
    if not known:
        return "unclear"
    values, counts = np.unique(known, return_counts=True)
    best = int(np.argmax(counts))
    if counts[best] / len(known) >= threshold and values[best] != "mixed":
        return str(values[best])
    return "mixed"


@dataclass(frozen=True)
class SignTest:
    """Two-sided sign test of benefit against harm (``n = n_benefit + n_harm``).

    ``proportion`` is ``n_benefit / n`` with its Wilson interval ``[ci_lb, ci_ub]``; all NaN when n = 0.
    """

    n_benefit: int
    n_harm: int
    n_excluded: int
    n: int
    pval: float
    proportion: float
    ci_lb: float
    ci_ub: float

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def sign_test(n_benefit: int, n_harm: int, *, n_excluded: int = 0, level: float = 0.95) -> SignTest:
    """Exact two-sided binomial (sign) test of ``n_benefit`` successes in ``n_benefit + n_harm`` against 1/2.

    References
    ----------
    McKenzie & Brennan (2023), section 12.4.2.3; Wilson (1927).
    """
    n = int(n_benefit) + int(n_harm)
    if n == 0:
        nan = float("nan")
        return SignTest(int(n_benefit), int(n_harm), int(n_excluded), 0, nan, nan, nan, nan)
    from scipy import stats  # here, not at import: the findings and pages use this module without SciPy

    res = stats.binomtest(int(n_benefit), n, 0.5, alternative="two-sided")
    ci = res.proportion_ci(confidence_level=level, method="wilson")
    return SignTest(
        int(n_benefit), int(n_harm), int(n_excluded), n, float(res.pvalue), n_benefit / n, float(ci.low), float(ci.high)
    )


@dataclass(frozen=True)
class Swim:
    """Result of :func:`synthesise`.

    Attributes
    ----------
    results : DataFrame
        One row per result, side by side: ``domain, outcome, study_id, effect_id, design, rob_overall, n,
        measure, yi, ci_lb, ci_ub, est, lb, ub`` (display scale), ``ci_excludes_null, result_text, direction,
        direction_source, conflict, reason``.
    studies : DataFrame
        The effect-direction table: one row per domain and study, ``domain, study_id, design, rob_overall, n,
        n_results, direction``.
    sign_tests : dict
        Domain -> :class:`SignTest` over the comparative studies (randomised and quasi-experimental) only.
    sign_tests_uncontrolled : dict
        Domain -> :class:`SignTest` over the other studies, kept apart: they cannot attribute a change.
    rule : str
        The direction rule used.
    """

    results: pd.DataFrame
    studies: pd.DataFrame
    sign_tests: dict[str, SignTest]
    rule: str
    sign_tests_uncontrolled: dict[str, SignTest] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        domains = []
        for domain, st in self.sign_tests.items():
            rows = self.studies[self.studies["domain"] == domain]
            counts = {d: int((rows["direction"] == d).sum()) for d in DIRECTIONS}
            domains.append(
                {
                    "domain": domain,
                    "n_studies": len(rows),
                    "counts": counts,
                    "sign_test": st.to_dict(),
                    "sign_test_uncontrolled": self.sign_tests_uncontrolled[domain].to_dict()
                    if domain in self.sign_tests_uncontrolled
                    else None,
                    "studies": rows.drop(columns="domain").to_dict(orient="records"),
                }
            )
        return {
            "rule": self.rule,
            "study_threshold": STUDY_THRESHOLD,
            "domains": domains,
            "results": self.results.to_dict(orient="records"),
        }


RESULT_COLUMNS = ("effect_id", "study_id", "outcome", "measure", "yi", "ci_lb", "ci_ub", "direction")


def synthesise(
    results: pd.DataFrame,
    studies: pd.DataFrame,
    *,
    rule: str = "direction",
    level: float = 0.95,
) -> Swim:
    """Effect-direction synthesis of results that were not pooled, per outcome domain.

    Parameters
    ----------
    results : DataFrame
        One row per result with ``effect_id, study_id, outcome, domain, desirable, measure, yi, ci_lb, ci_ub``
        (analysis scale, NaN when absent), ``direction`` (coded, "" when empty) and optionally
        ``result_text`` and ``reason`` (why the result was not pooled).
    studies : DataFrame
        The studies table (``study_id, design, rob_overall, n``).
    rule : {"direction", "ci"}
        Direction rule (module docstring).
    level : float
        Confidence level of the Wilson interval of the sign test.

    Returns
    -------
    Swim

    References
    ----------
    Campbell et al. (2020); McKenzie & Brennan (2023); Thomson & Thomas (2013).
    """
    from emmie.effect.plots import default_transf

    missing = [c for c in (*RESULT_COLUMNS, "domain", "desirable") if c not in results.columns]
    if missing:
        raise ValueError(f"results lack column(s) {missing}")
    info = studies.set_index("study_id")
    rows = []
    for r in results.itertuples(index=False):
        yi, lb, ub = (float(x) if x is not None else np.nan for x in (r.yi, r.ci_lb, r.ci_ub))
        coded = str(r.direction) if isinstance(r.direction, str) else ""
        direction, source = result_direction(yi, lb, ub, coded, measure=r.measure, desirable=r.desirable, rule=rule)
        conflict = False
        if source == "estimate" and coded and coded not in ("mixed", "unclear"):
            conflict = coded != direction
        show = default_transf(r.measure) or (lambda x: x)
        comparative = r.measure not in NON_COMPARATIVE
        excludes = bool(comparative and np.isfinite(lb) and np.isfinite(ub) and (lb > 0 or ub < 0))
        sid = r.study_id
        rows.append(
            {
                "domain": r.domain,
                "outcome": r.outcome,
                "study_id": sid,
                "effect_id": r.effect_id,
                "design": str(info.at[sid, "design"]) if sid in info.index else "",
                "rob_overall": str(info.at[sid, "rob_overall"]) if sid in info.index else "",
                "n": float(info.at[sid, "n"]) if sid in info.index and "n" in info.columns else np.nan,
                "measure": r.measure,
                "yi": yi,
                "ci_lb": lb,
                "ci_ub": ub,
                "est": float(show(yi)) if np.isfinite(yi) else np.nan,
                "lb": float(show(lb)) if np.isfinite(lb) else np.nan,
                "ub": float(show(ub)) if np.isfinite(ub) else np.nan,
                "ci_excludes_null": excludes,
                "result_text": str(getattr(r, "result_text", "") or ""),
                "direction": direction,
                "direction_source": source,
                "conflict": conflict,
                "reason": str(getattr(r, "reason", "") or ""),
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "domain",
            "outcome",
            "study_id",
            "effect_id",
            "design",
            "rob_overall",
            "n",
            "measure",
            "yi",
            "ci_lb",
            "ci_ub",
            "est",
            "lb",
            "ub",
            "ci_excludes_null",
            "result_text",
            "direction",
            "direction_source",
            "conflict",
            "reason",
        ],
    )
    per_study = []
    sign_tests: dict[str, SignTest] = {}
    uncontrolled_tests: dict[str, SignTest] = {}
    for domain in sorted(table["domain"].unique()):
        sub = table[table["domain"] == domain]
        for sid in sorted(sub["study_id"].unique()):
            mine = sub[sub["study_id"] == sid]
            first = mine.iloc[0]
            per_study.append(
                {
                    "domain": domain,
                    "study_id": sid,
                    "design": first["design"],
                    "rob_overall": first["rob_overall"],
                    "n": first["n"],
                    "n_results": len(mine),
                    "direction": study_direction(list(mine["direction"])),
                }
            )
        # Comparative and uncontrolled studies answer different questions: a sign test never pools them.
        dirs = [p["direction"] for p in per_study if p["domain"] == domain and p["design"] in COMPARATIVE]
        nb, nh = dirs.count("benefit"), dirs.count("harm")
        sign_tests[domain] = sign_test(nb, nh, n_excluded=len(dirs) - nb - nh, level=level)
        dirs = [p["direction"] for p in per_study if p["domain"] == domain and p["design"] not in COMPARATIVE]
        nb, nh = dirs.count("benefit"), dirs.count("harm")
        uncontrolled_tests[domain] = sign_test(nb, nh, n_excluded=len(dirs) - nb - nh, level=level)
    studies_frame = pd.DataFrame(
        per_study, columns=["domain", "study_id", "design", "rob_overall", "n", "n_results", "direction"]
    )
    return Swim(
        results=table,
        studies=studies_frame,
        sign_tests=sign_tests,
        rule=rule,
        sign_tests_uncontrolled=uncontrolled_tests,
    )


def size_class(n: float) -> tuple[str, float]:
    """Sample-size class and glyph size of the effect-direction plot (Boon & Thomson 2021)."""
    if not np.isfinite(n):
        return "unknown", SIZE_CLASSES[0][2]
    for upper, name, size in SIZE_CLASSES:
        if n < upper:
            return name, size
    return SIZE_CLASSES[-1][1], SIZE_CLASSES[-1][2]


def effect_direction_plot(
    swim: Swim, *, title: str = "Effect direction plot", labels: dict[str, str] | None = None
) -> str:
    """Effect-direction plot: one row per study, one column per outcome domain, as SVG text.

    Each cell shows the study's direction in the domain (up triangle = benefit, down triangle = harm,
    left-right triangles = no change, diamond = mixed, ? = unclear), sized by the study's sample size
    (< 50, 50-300, > 300) and coloured by direction; the last row gives each domain's sign test.

    References
    ----------
    Thomson & Thomas (2013); Boon & Thomson (2021).
    """
    from emmie.effect.plots import figure_to_svg, new_figure

    table = swim.studies
    domains = list(swim.sign_tests)
    study_ids = sorted(table["study_id"].unique()) if len(table) else []
    n_rows, n_cols = len(study_ids), max(len(domains), 1)
    height = max(2.6, 0.3 * (n_rows + 5))
    names = {sid: str((labels or {}).get(sid, sid))[:28] for sid in study_ids}
    # The study column as wide as its longest label (about 0.08 in a character at this size).
    study_w = max(1.45, 0.08 * max((len(n) for n in names.values()), default=0) + 0.2)
    shift = study_w - 1.45
    width = 4.2 + shift + 1.5 * n_cols
    fig = new_figure(width, height)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_axis_off()
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    top = height - 0.55
    x_study, x_design, x_rob, x0 = 0.15, 1.6 + shift, 3.1 + shift, 4.3 + shift
    ink = OKABE_ITO["black"]
    ax.text(x_study, top, "Study", fontweight="bold", va="center", color=ink)
    ax.text(x_design, top, "Design", fontweight="bold", va="center", color=ink)
    ax.text(x_rob, top, "Risk of bias", fontweight="bold", va="center", color=ink)
    for j, domain in enumerate(domains):
        head = str(domain).replace("_", " ").capitalize()[:22]
        ax.text(x0 + 1.5 * j + 0.75, top, head, fontweight="bold", ha="center", va="center", color=ink)
    for i, sid in enumerate(study_ids):
        y = top - 0.3 * (i + 1)
        mine = table[table["study_id"] == sid]
        first = mine.iloc[0]
        ax.text(x_study, y, names[sid], va="center", color=ink)
        ax.text(x_design, y, str(first["design"]).replace("_", " ")[:18], va="center", color=ink)
        ax.text(x_rob, y, str(first["rob_overall"]).replace("_", " ")[:14], va="center", color=ink)
        for j, domain in enumerate(domains):
            cell = mine[mine["domain"] == domain]
            if not len(cell):
                continue
            direction = str(cell.iloc[0]["direction"])
            _, size = size_class(float(cell.iloc[0]["n"]))
            ax.text(
                x0 + 1.5 * j + 0.75,
                y,
                GLYPHS[direction],
                ha="center",
                va="center",
                fontsize=size,
                color=COLOURS[direction],
            )
    y = top - 0.3 * (n_rows + 1) - 0.1
    ax.plot([x_study, width - 0.1], [y + 0.15, y + 0.15], color=OKABE_ITO["grey"], lw=0.6)
    ax.text(
        x_study,
        y,
        "Sign test, comparative studies (benefit / benefit + harm)",
        va="center",
        color=ink,
        fontstyle="italic",
    )
    for j, domain in enumerate(domains):
        st = swim.sign_tests[domain]
        txt = f"{st.n_benefit}/{st.n}, p = {st.pval:.3g}" if st.n else "no test (n = 0)"
        ax.text(x0 + 1.5 * j + 0.75, y, txt, ha="center", va="center", fontsize=7, color=ink)
    legend = (
        "\u25b2 benefit (blue)   \u25bc harm (vermillion)   \u25c4\u25ba no change (grey)   \u25c6 mixed (orange)   "
        "? unclear;   size: n < 50, 50-300, > 300 or unknown (smallest)"
    )
    ax.text(x_study, 0.2, legend, va="bottom", fontsize=7, color=ink)
    ax.text(x_study, height - 0.2, title, va="center", fontsize=9, fontweight="bold", color=ink)
    return figure_to_svg(fig, title)
