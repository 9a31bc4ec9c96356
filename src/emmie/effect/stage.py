"""The Effect stage of the pipeline: effect sizes, meta-analyses, Bayesian analyses, SWiM, figures.

What happens to each coded result (``effects`` row), in order:

1. Its effect size ``yi`` and sampling variance ``vi`` are computed from its raw inputs for its
   ``measure`` (metafor's ``escalc``). A result is *poolable* when both are finite, ``vi > 0``, the
   measure is comparative (not ``NONE``, not the single-arm ``PROP``), the measure is the outcome's
   pooling measure (``measure`` in ``review.yaml``; ``GEN`` results are on the analysis scale and
   join any outcome; without a declared measure the most frequent computable one is used). With
   ``model: univariate`` (review.yaml, per outcome) only the study's first such result on the outcome is
   poolable (one result per study and outcome, so that no study is counted twice; later rows go to the SWiM
   table with that reason); by default (``model: auto``) every one is.
2. An outcome with k >= 2 poolable results is meta-analysed. When no study gives two of them: the univariate
   random-effects model (REML unless review.yaml's ``method`` says otherwise) with the z test and with the
   Knapp-Hartung (``knha``) test, Q-profile intervals for the heterogeneity, leave-one-out, and
   with k >= 10 Egger's and the rank test, trim-and-fill, the fail-safe N and a funnel plot. When a study gives
   several (dependent effect sizes): the CHE multilevel model with cluster-robust CR2 inference
   (:mod:`emmie.effect.dependent`), profile-likelihood intervals for its two variance components and
   leave-one-study-out; the small-study analyses and the funnel plot use the study-level averages.
   Where the analysis mixes randomised trials (at least 2) with other designs, the same analysis (and, with
   k >= 10, the small-study tests) is run on the randomised trials alone (``randomised_only``), so that the two
   bodies of evidence can be rated apart (Cuello-Garcia et al. 2022).
   The *headline* test is Knapp-Hartung, for every k: its coverage is close to nominal where the
   z test's is too low, most of all with few studies (IntHout et al. 2014); both are reported (review.yaml's
   ``test`` can make z the headline). A multilevel model's headline is the CR2 test.
3. Every outcome with k >= 1 poolable results gets the Bayesian random-effects analysis (exact
   engine; of the study-level averages when a study gives several results) with the priors of ``review.yaml`` ``bayes`` (applied to every outcome) or the
   measure's defaults, a prior-sensitivity table, the plain-language interpretation against the
   outcome's MID, and the prior-vs-posterior plot, which shows how much the prior drives a
   result from one or two studies.
4. Every result that is not in a meta-analysis goes to the synthesis without meta-analysis
   (:mod:`emmie.effect.swim`) with the reason it was not pooled. The stage checks that each
   ``effects`` row is in exactly one of the two.

Outputs in ``outdir``: ``effect_sizes.csv``, ``effect.json``, ``results.csv`` (each meta-analysed result's weight
and shrunken Bayesian estimate: :mod:`emmie.effect.results_table`) and the SVG figures named in
``effect.json`` (``forest_<outcome>.svg``, ``funnel_<outcome>.svg``, ``bayes_forest_<outcome>.svg``,
``prior_posterior_<outcome>.svg``, ``swim_direction.svg``). Same inputs, same bytes.

References
----------
IntHout, J., Ioannidis, J. P. A., & Borm, G. F. (2014). The Hartung-Knapp-Sidik-Jonkman method for random effects
    meta-analysis is straightforward and considerably outperforms the standard DerSimonian-Laird method. BMC
    Medical Research Methodology, 14, 25.
Viechtbauer, W. (2007). Confidence intervals for the amount of heterogeneity in meta-analysis. Statistics in
    Medicine, 26, 37-52.
Sterne, J. A. C., et al. (2011). Recommendations for examining and interpreting funnel plot asymmetry in
    meta-analyses of randomised controlled trials. BMJ, 343, d4002 (tests only with k >= 10).
Cuello-Garcia, C. A., et al. (2022). GRADE guidance 24: optimizing the integration of randomized and non-randomized
    studies of interventions in evidence syntheses and health guidelines. J Clin Epidemiol 142, 200-208.
Campbell, M., et al. (2020). Synthesis without meta-analysis (SWiM) in systematic reviews. BMJ, 368, l6890.
Higgins, J. P. T., et al. (eds) (2023). Cochrane Handbook, version 6.4, section 6.2 (unit-of-analysis issues).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from emmie.effect import (
    effect_sizes,
    egger_test,
    failsafe_n,
    heterogeneity_ci,
    leave_one_out,
    meta_analysis,
    rank_test,
    results_table,
    trim_and_fill,
)
from emmie.effect.bayes import bayesian_meta_analysis, default_priors, interpret, prior_sensitivity
from emmie.effect.bayes_plots import bayes_forest_plot, prior_posterior_plot
from emmie.effect.bma import EffectPrior, HeterogeneityPrior, bayesian_model_averaging
from emmie.effect.dependent import (
    DEFAULT_RHO,
    LEAVE_ONE_STUDY_OUT_MAX,
    RHO_SOURCE,
    che_analysis,
    has_dependence,
    leave_one_study_out,
    study_level,
)
from emmie.effect.petpeese import pet_peese
from emmie.effect.plots import FOREST_MAX_ROWS, MEASURE_LABELS, RATIO_MEASURES, forest_plot, funnel_plot
from emmie.effect.selection import selection_model
from emmie.effect.swim import effect_direction_plot, synthesise
from emmie.errors import NUMERIC_ERRORS, AnalysisError, EmmieError
from emmie.ingest import documents
from emmie.ingest.labels import study_labels
from emmie.ingest.review import Review
from emmie.ingest.schema import MEASURES
from emmie.io import atomic_write_text, write_csv, write_json

INPUT_COLUMNS = (
    "ai",
    "bi",
    "ci",
    "di",
    "n1i",
    "n2i",
    "m1i",
    "m2i",
    "sd1i",
    "sd2i",
    "ri",
    "ni",
    "ti",
    "mi",
    "xi",
    "estimate",
    "se",
    "ci_lb",
    "ci_ub",
    "pval",
)
SIZE_COLUMNS = ["effect_id", "study_id", "outcome", "measure", "yi", "vi", "ci_lb", "ci_ub", "poolable", "reason"]
NON_COMPARATIVE = ("NONE", "PROP")
SMALL_STUDY_K = 10
HEADLINE_TEST = "knha"
LEVEL = 0.95


def _row_effect_size(row: pd.Series) -> tuple[float, float, str]:
    """(yi, vi, reason): the effect size of one row, with a reason when it cannot be used."""
    measure = str(row["measure"])
    if measure == "NONE":
        return np.nan, np.nan, "the source gives a direction only (no effect size with a variance)"
    inputs = {c: [float(row[c])] for c in INPUT_COLUMNS if c in row.index and np.isfinite(row[c])}
    try:
        es = effect_sizes(measure, **inputs)
    except EmmieError as exc:
        return np.nan, np.nan, f"no effect size could be computed for {measure}: {exc}"
    yi, vi = float(es["yi"].iloc[0]), float(es["vi"].iloc[0])
    if not (np.isfinite(yi) and np.isfinite(vi)):
        return np.nan, np.nan, f"the inputs for {measure} are incomplete (no finite effect size or variance)"
    if vi <= 0:
        return yi, vi, f"sampling variance {vi:g} is not > 0"
    if measure == "PROP":
        return yi, vi, "single-arm proportion (PROP): no comparison group to pool against"
    return yi, vi, ""


def _effect_sizes_by_group(eff: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """:func:`_row_effect_size` for every row, computed once per group of rows with the same measure and the same
    inputs present (escalc is elementwise with ``to="only0"``); a group whose computation fails falls back to
    row by row, so that each row gets its own reason. A million rows took minutes one by one."""
    n = len(eff)
    yi, vi = np.full(n, np.nan), np.full(n, np.nan)
    reasons = [""] * n
    if n == 0:
        return yi, vi, reasons
    columns = [c for c in INPUT_COLUMNS if c in eff]
    values = eff[columns].to_numpy(dtype=float)
    finite = np.isfinite(values)
    # One integer per row for (measure, which inputs are present); a float product is exact below 2^53 and runs in
    # BLAS (an integer product of a million rows took a second).
    codes, names = pd.factorize(eff["measure"].astype(str).to_numpy())
    signature = (finite.astype(float) @ (2.0 ** np.arange(len(columns)))).astype(np.int64)
    key = codes.astype(np.int64) * (1 << len(columns)) + signature
    for value, index in pd.Series(key).groupby(key, sort=False).indices.items():
        measure = names[value >> len(columns)]
        if measure == "NONE":
            for i in index:
                reasons[i] = "the source gives a direction only (no effect size with a variance)"
            continue
        used = [j for j, c in enumerate(columns) if finite[index[0], j]]
        try:
            es = effect_sizes(measure, **{columns[j]: values[index, j] for j in used})
        except EmmieError:
            for i in index:
                yi[i], vi[i], reasons[i] = _row_effect_size(eff.iloc[i])
            continue
        y, v = es["yi"].to_numpy(dtype=float), es["vi"].to_numpy(dtype=float)
        ok = np.isfinite(y) & np.isfinite(v)
        yi[index[ok]], vi[index[ok]] = y[ok], v[ok]
        for i in index[~ok].tolist():
            reasons[i] = f"the inputs for {measure} are incomplete (no finite effect size or variance)"
        for i, b in zip(index[ok & (v <= 0)].tolist(), v[ok & (v <= 0)].tolist(), strict=True):
            reasons[i] = f"sampling variance {b:g} is not > 0"
        if measure == "PROP":
            for i in index[ok & (v > 0)].tolist():
                reasons[i] = "single-arm proportion (PROP): no comparison group to pool against"
    return yi, vi, reasons


def pooling_measure(outcome: dict[str, Any], measures: pd.Series) -> str | None:
    """The measure an outcome is pooled on: declared in review.yaml, else the most frequent computable one.

    Ties are broken by the codebook's order of measures; ``GEN`` only when no other measure is present.
    """
    if outcome.get("measure"):
        return str(outcome["measure"])
    comparative = [m for m in measures if m not in NON_COMPARATIVE]
    specific = [m for m in comparative if m != "GEN"]
    pool = specific or comparative
    if not pool:
        return None
    counts = pd.Series(pool).value_counts()
    best = counts[counts == counts.max()].index
    return min(best, key=MEASURES.index)


def compute_effect_sizes(review: Review) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """Effect size, variance, 95% CI, poolability and reason for every ``effects`` row, in file order.

    See the module docstring for the rules.

    Returns
    -------
    (sizes, measures)
        ``sizes`` has columns ``effect_id, study_id, outcome, measure, yi, vi, ci_lb, ci_ub, poolable, reason``
        (``reason`` is "" for a poolable row); ``measures`` maps each outcome id to its pooling measure (None when
        no result has a comparative effect size).
    """
    eff = review.effects
    yi, vi, reasons = _effect_sizes_by_group(eff)
    sizes = pd.DataFrame(
        {
            "effect_id": eff["effect_id"].to_numpy(),
            "study_id": eff["study_id"].to_numpy(),
            "outcome": eff["outcome"].to_numpy(),
            "measure": eff["measure"].to_numpy(),
            "yi": yi,
            "vi": vi,
            "reason": reasons,
        },
        columns=[c for c in SIZE_COLUMNS if c not in ("ci_lb", "ci_ub", "poolable")],
    )
    # each result's interval at its outcome's level (review.yaml `level`; 95% by default)
    levels = sizes["outcome"].map({o["id"]: settings(o)["level"] for o in review.config["outcomes"]}).fillna(LEVEL)
    half = stats.norm.isf((1 - levels.to_numpy(dtype=float)) / 2) * np.sqrt(sizes["vi"].where(sizes["vi"] > 0))
    sizes["ci_lb"] = sizes["yi"] - half
    sizes["ci_ub"] = sizes["yi"] + half
    sizes["poolable"] = False
    measures: dict[str, str | None] = {}
    for outcome in review.config["outcomes"]:
        mask = sizes["outcome"] == outcome["id"]
        computable = mask & (sizes["reason"] == "")
        target = pooling_measure(outcome, sizes.loc[computable, "measure"])
        measures[outcome["id"]] = target
        rows = sizes.index[computable]
        measure = sizes.loc[rows, "measure"]
        other = ((measure != target) & (measure != "GEN")).to_numpy()
        sizes.loc[rows[other], "reason"] = (
            "measure " + measure[other] + f" differs from the outcome's pooling measure {target}"
        )
        rows = rows[~other]
        sid = sizes.loc[rows, "study_id"].astype(str)
        if settings(outcome)["model"] == "univariate":  # one result per study; else the multilevel model
            later = sid.duplicated(keep="first").to_numpy()
            first = pd.Series(sizes.loc[rows[~later], "effect_id"].to_numpy(), index=sid[~later].to_numpy())
            sizes.loc[rows[later], "reason"] = (
                "study "
                + sid[later]
                + " already contributes result "
                + sid[later].map(first).astype(str)
                + " to this outcome (model: univariate, one result per study; the first coded row is pooled)"
            )
            rows = rows[~later]
        sizes.loc[rows, "poolable"] = True
    unknown = ~sizes["outcome"].isin(list(measures))
    sizes.loc[unknown, "reason"] = "outcome not declared in review.yaml"
    return sizes[SIZE_COLUMNS], measures


def settings(outcome: dict[str, Any]) -> dict[str, Any]:
    """The outcome's analysis choices from review.yaml, with their defaults."""
    return {
        "model": str(outcome.get("model") or "auto"),
        "method": str(outcome.get("method") or "REML"),
        "test": str(outcome.get("test") or HEADLINE_TEST),
        "rho": float(outcome["rho"]) if outcome.get("rho") is not None else DEFAULT_RHO,
        "rho_given": outcome.get("rho") is not None,
        "level": float(outcome["level"]) if outcome.get("level") is not None else LEVEL,
    }


def multilevel_used(outcome: dict[str, Any], used: pd.DataFrame) -> bool:
    """The multilevel model is used when the outcome does not ask for the univariate one and a study gives several
    poolable results (``model: multilevel`` without such a study falls back to the univariate model, with a
    warning)."""
    return settings(outcome)["model"] != "univariate" and has_dependence(used["study_id"].astype(str))


def _fit_dict(res: Any) -> dict[str, Any]:
    """A fit's summary for effect.json; its weights (one per result) go to results.csv."""
    d = res.to_dict()
    d.pop("extra", None)
    d.pop("weights", None)
    return d


def _bayes_priors(review: Review, measure: str) -> tuple[dict[str, Any], str]:
    block = review.config.get("bayes")
    if block:
        priors = {k: block[k] for k in ("mu_prior_mean", "mu_prior_sd", "tau_prior", "tau_scale") if k in block}
        missing = [k for k in ("mu_prior_sd", "tau_scale") if k not in priors]
        if missing:
            raise AnalysisError(f"review.yaml bayes: is missing {', '.join(missing)}")
        return priors, str(block.get("source", "review.yaml bayes block"))
    d = default_priors(measure)
    source = d.pop("source")
    return d, source


def _bayes(
    review: Review,
    outcome: dict[str, Any],
    measure: str,
    yi: np.ndarray,
    vi: np.ndarray,
    labels: list[str],
    outdir: Path,
    warnings: list[str],
) -> tuple[dict | None, dict | None, dict[str, str], pd.DataFrame | None]:
    """The Bayesian analysis' summary, its interpretation, its figures and each result's shrunken effect."""
    oid = outcome["id"]
    try:
        priors, source = _bayes_priors(review, measure)
    except AnalysisError as exc:
        warnings.append(f"{oid}: no Bayesian analysis: {exc}")
        return None, None, {}, None
    mid = outcome.get("mid")
    desirable = outcome["desirable"]
    level = settings(outcome)["level"]
    res = bayesian_meta_analysis(yi, vi, **priors, engine="exact", level=level, seed=int(review.config["seed"]))
    bayes = res.to_dict(theta=False)  # each result's shrunken effect goes to results.csv
    bayes["prior_source"] = source
    bayes["prob_mu_below_0"] = res.prob_mu_below(0.0)
    bayes["prob_mu_above_0"] = res.prob_mu_above(0.0)
    if len(yi) <= PRIOR_SENSITIVITY_MAX_K:
        sens = prior_sensitivity(yi, vi, measure=measure, mid=mid, desirable=desirable, priors=priors, level=level)
        bayes["prior_sensitivity"] = sens.to_dict(orient="records")
    else:
        bayes["prior_sensitivity"] = None
        bayes["prior_sensitivity_skipped"] = (
            f"not run: k = {len(yi):,} results, more than {PRIOR_SENSITIVITY_MAX_K:,} (four more exact fits of "
            "every result; with this many results the data, not the prior, set the heterogeneity)"
        )
        warnings.append(f"{oid}: the prior-sensitivity table was {bayes['prior_sensitivity_skipped']}")
    bayes["warnings"] = list(res.warnings)
    warnings.extend(f"{oid} (Bayesian): {w}" for w in res.warnings)
    interpretation = interpret(res, mid=mid, desirable=desirable, measure=measure)
    figures = {"prior_posterior": f"prior_posterior_{oid}.svg", "bayes_forest": f"bayes_forest_{oid}.svg"}
    atomic_write_text(outdir / figures["prior_posterior"], prior_posterior_plot(res))
    xlabel = (
        f"log {MEASURE_LABELS[measure].lower()}" if measure in RATIO_MEASURES else MEASURE_LABELS.get(measure, measure)
    )
    atomic_write_text(outdir / figures["bayes_forest"], bayes_forest_plot(res, labels, xlabel=xlabel))
    return bayes, interpretation, figures, res.theta


#: Bayesian model averaging: quadrature over tau for each of the four models, O(k x 1,536) each; past this k the
#: effect's evidence is settled by the data and the run time would grow with no gain.
BMA_MAX_K = 20_000
#: metaBMA's default priors for standardised mean differences (meta_bma: d ~ N(0, 0.3^2), tau ~ inverse-gamma(1,
#: 0.15)), and the factor that carries them to the log odds ratio scale (Chinn 2000: ln OR = d pi / sqrt(3)).
BMA_SCALE = {"SMD": 1.0, "OR": float(np.pi / np.sqrt(3.0))}


def bma_priors(review: Review, measure: str) -> tuple[EffectPrior, HeterogeneityPrior, str] | None:
    """The priors of the Bayesian model averaging: review.yaml's ``bma`` block, else metaBMA's defaults on the
    SMD scale (converted for log odds ratios); None for another measure without a block."""
    block = review.config.get("bma")
    if block:
        ep = EffectPrior(float(block.get("mu_mean", 0.0)), float(block["mu_sd"]), str(block.get("mu_side", "both")))
        tp = HeterogeneityPrior(
            str(block.get("tau_prior", "invgamma")), float(block["tau_scale"]), float(block.get("tau_shape", 1.0))
        )
        return ep, tp, str(block.get("source", "review.yaml bma block"))
    c = BMA_SCALE.get(measure)
    if c is None:
        return None
    source = (
        "metaBMA's default priors for standardised mean differences, d ~ N(0, 0.3²) and tau ~ inverse-gamma(1, 0.15)"
    )
    if measure == "OR":
        source += ", on the log odds ratio scale by Chinn's (2000) factor π/√3 = 1.81"
    return EffectPrior(0.0, 0.3 * c), HeterogeneityPrior("invgamma", 0.15 * c, 1.0), source


def _bma(review: Review, measure: str, yi: np.ndarray, vi: np.ndarray, level: float) -> dict[str, Any] | None:
    """The model-averaged evidence for an effect and for heterogeneity, with a prior-sensitivity table."""
    priors = bma_priors(review, measure)
    if priors is None:
        return {"skipped": f"no default priors for {measure}: set them in review.yaml (bma)"}
    ep, tp, source = priors
    fit = bayesian_model_averaging(yi, vi, effect_prior=ep, tau_prior=tp, level=level)
    sens = []
    for label, e, t in (
        ("as above", ep, tp),
        ("effect prior SD halved", EffectPrior(ep.mean, ep.sd / 2, ep.side), tp),
        ("effect prior SD doubled", EffectPrior(ep.mean, ep.sd * 2, ep.side), tp),
        ("tau ~ half-normal(2 × scale)", ep, HeterogeneityPrior("half_normal", 2 * tp.scale)),
        ("tau ~ half-Cauchy(scale)", ep, HeterogeneityPrior("half_cauchy", tp.scale)),
    ):
        alt = fit if label == "as above" else bayesian_model_averaging(yi, vi, effect_prior=e, tau_prior=t, level=level)
        sens.append(
            {
                "priors": label,
                "effect_prior": f"N({e.mean:g}, {e.sd:.3g}²)" + ("" if e.side == "both" else f", {e.side}"),
                "tau_prior": t.label(),
                "bf10": alt.bf_effect,
                "bf_heterogeneity": alt.bf_heterogeneity,
                "evidence": alt.evidence(),
            }
        )
    return {
        "k": int(len(yi)),
        "bf10": fit.bf_effect,
        "bf01": fit.bf01,
        "bf_heterogeneity": fit.bf_heterogeneity,
        "evidence": fit.evidence(),
        "posterior_models": fit.posterior_models,
        "mu": {"mean": fit.mu_mean, "ci_lb": fit.mu_ci_lb, "ci_ub": fit.mu_ci_ub},
        "tau": {"mean": fit.tau_mean, "ci_lb": fit.tau_ci_lb, "ci_ub": fit.tau_ci_ub},
        "level": level,
        "effect_prior": sens[0]["effect_prior"],
        "tau_prior": tp.label(),
        "prior_source": source,
        "sensitivity": sens,
    }


FOREST_ORDERS = {"weight": "sorted by weight", "effect": "sorted by effect size", "data": "in data order"}


#: Leave-one-out refits the model k times on k - 1 results (O(k^2), as metafor's leave1out): 1 s at k = 1,000,
#: about 2 minutes at k = 10,000 and hours at k = 100,000, where one result's influence is negligible anyway.
LEAVE_ONE_OUT_MAX_K = 2_000
#: The prior-sensitivity table refits the exact Bayesian model under four more priors, each fit O(k) on a grid of
#: thousands of points (about 0.6 s at k = 10,000); past this k the heterogeneity is set by the data, not the prior.
PRIOR_SENSITIVITY_MAX_K = 2_000


def forest_order(order: str, yi: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row order of a forest plot: largest weight first, smallest effect first, or as coded (stable ties)."""
    if order == "weight":
        return np.argsort(-np.asarray(weights, dtype=float), kind="stable")
    if order == "effect":
        return np.argsort(np.asarray(yi, dtype=float), kind="stable")
    return np.arange(len(yi))


def _guarded(what: str, oid: str, warnings: list[str], fn, *args, **kwargs):  # noqa: ANN001
    """``fn(*args)``, or None with a warning naming the outcome and the analysis when it fails numerically."""
    try:
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)
    except NUMERIC_ERRORS as exc:
        warnings.append(f"{oid}: {what} could not be computed ({exc}); the rest of the analysis stands")
        return None


def variance_ratio_warning(used: pd.DataFrame, oid: str) -> str | None:
    """metafor's warning when the largest sampling variance is over 1e7 times the smallest, naming the results."""
    vi = used["vi"].to_numpy(dtype=float)
    if len(vi) < 2 or not np.all(np.isfinite(vi)) or vi.min() <= 0 or vi.max() / vi.min() <= 1e7:
        return None
    lo, hi = used.iloc[int(np.argmin(vi))], used.iloc[int(np.argmax(vi))]
    return (
        f"{oid}: the largest sampling variance ({hi['effect_id']}, vi = {hi['vi']:.3g}) is {vi.max() / vi.min():.3g} "
        f"times the smallest ({lo['effect_id']}, vi = {lo['vi']:.3g}): the results may not be stable "
        "(metafor warns at 1e7); check the standard error or interval of those results"
    )


def _frequentist(
    outcome: dict[str, Any],
    measure: str,
    used: pd.DataFrame,
    outdir: Path,
    warnings: list[str],
    names: dict[str, str] | None = None,
    order: str = "weight",
) -> dict[str, Any]:
    if multilevel_used(outcome, used):
        return _multilevel(outcome, measure, used, outdir, warnings, names, order)
    oid = outcome["id"]
    chosen = settings(outcome)
    method, headline_test, level = chosen["method"], chosen["test"], chosen["level"]
    if chosen["model"] == "multilevel":
        warnings.append(
            f"{oid}: model: multilevel asks for the multilevel model, but no study gives more than one poolable "
            "result on this outcome; the univariate random-effects model was used"
        )
    yi, vi = used["yi"].to_numpy(), used["vi"].to_numpy()
    labels = used["study_id"].tolist()
    names = names or {}
    shown = [names.get(s, s) for s in labels]
    k = len(used)
    fits = {test: meta_analysis(yi, vi, method=method, test=test, level=level) for test in ("z", "knha")}
    for test, fit in fits.items():
        warnings.extend(f"{oid} ({method}, {test}): {w}" for w in fit.warnings)
    out: dict[str, Any] = {"frequentist": {t: _fit_dict(f) for t, f in fits.items()}, "headline_test": headline_test}
    try:
        het = heterogeneity_ci(yi, vi, level=level, method=method)
        out["heterogeneity_ci"] = {name: {"estimate": v[0], "ci_lb": v[1], "ci_ub": v[2]} for name, v in het.items()}
        out["heterogeneity_ci"]["method"] = "Q-profile (Viechtbauer 2007)"
    except EmmieError as exc:
        out["heterogeneity_ci"] = None
        warnings.append(f"{oid}: no Q-profile interval: {exc}")
    if k <= LEAVE_ONE_OUT_MAX_K:
        loo = _guarded(
            "leave-one-out", oid, warnings, leave_one_out, yi, vi, method=method, test=headline_test, level=level
        )
    else:
        loo = None
        out["leave_one_out_skipped"] = (
            f"not run: k = {k:,} results, more than {LEAVE_ONE_OUT_MAX_K:,} (k refits of k results each; a single "
            f"result carries about 1/{k:,} of the weight)"
        )
        warnings.append(f"{oid}: leave-one-out {out['leave_one_out_skipped']}")
    if loo is not None:
        loo.insert(1, "omitted_effect_id", list(used["effect_id"]))
        loo.insert(2, "omitted_study_id", labels)
    out["leave_one_out"] = loo.to_dict(orient="records") if loo is not None else None
    headline = fits[headline_test]
    out["weights"] = np.asarray(headline.weights, dtype=float)
    figures = {"forest": f"forest_{oid}.svg"}
    rows = forest_order(order, yi, np.asarray(headline.weights))
    # past FOREST_MAX_ROWS the plot is a caterpillar plot, always sorted by estimate
    how = f"k = {k:,}, {FOREST_ORDERS[order if k <= FOREST_MAX_ROWS else 'effect']}"
    _write_forest(outdir / figures["forest"], outcome, measure, level, yi, vi, shown, rows, headline, how)
    small = (
        _guarded("the small-study analyses", oid, warnings, small_study, yi, vi, outcome["desirable"])
        if k >= SMALL_STUDY_K
        else None
    )
    out["small_study"] = small
    if small is not None:
        figures["funnel"] = f"funnel_{oid}.svg"
        atomic_write_text(
            outdir / figures["funnel"],
            funnel_plot(
                yi,
                vi,
                fits["z"],
                measure=measure,
                title=f"{outcome.get('label', oid)}: contour-enhanced funnel plot (k = {k})",
            ),
        )
    out["figures"] = figures
    return out


def _write_forest(
    path: Path,
    outcome: dict[str, Any],
    measure: str,
    level: float,
    yi: np.ndarray,
    vi: np.ndarray,
    labels: list[str],
    rows: np.ndarray,
    result: Any,
    how: str,
) -> None:
    """The outcome's forest plot, its rows in the order ``rows``; ``how`` says what k is and how rows are ordered."""
    atomic_write_text(
        path,
        forest_plot(
            yi[rows],
            vi[rows],
            [labels[i] for i in rows.tolist()],
            result,
            measure=measure,
            desirable=outcome["desirable"],
            level=level,
            title=f"{outcome.get('label', outcome['id'])}: forest plot ({how})",
        ),
    )


def _multilevel(
    outcome: dict[str, Any],
    measure: str,
    used: pd.DataFrame,
    outdir: Path,
    warnings: list[str],
    names: dict[str, str] | None,
    order: str,
) -> dict[str, Any]:
    """The analyses of an outcome on which some study gives several results (:mod:`emmie.effect.dependent`)."""
    oid = outcome["id"]
    chosen = settings(outcome)
    method, level = chosen["method"], chosen["level"]
    if method not in ("REML", "ML"):
        warnings.append(f"{oid}: the multilevel model is fitted by REML or ML; REML was used instead of {method}")
        method = "REML"
    yi, vi = used["yi"].to_numpy(), used["vi"].to_numpy()
    study = used["study_id"].astype(str).to_numpy()
    result = used["effect_id"].astype(str).to_numpy()
    names = names or {}
    k = len(used)
    a = che_analysis(yi, vi, study, result, rho=chosen["rho"], method=method, level=level)
    fits = a.fit_dicts()
    per_study = pd.Series(study).value_counts()
    out: dict[str, Any] = {
        "frequentist": fits,
        "headline_test": "cr2",
        "dependence": {
            "model": "CHE",
            "method": method,
            "rho": chosen["rho"],
            "rho_source": "set in review.yaml" if chosen["rho_given"] else RHO_SOURCE,
            "k": k,
            "n_studies": a.n_studies,
            "n_studies_several": int((per_study > 1).sum()),
            "max_per_study": int(per_study.max()),
        },
    }
    try:
        ci = a.fit.confint()
        out["heterogeneity_ci"] = {
            f"sigma2_{part}": {"estimate": float(r.estimate), "ci_lb": float(r.ci_lb), "ci_ub": float(r.ci_ub)}
            for part, r in zip(("study", "result"), ci.itertuples(index=False), strict=True)
        }
        out["heterogeneity_ci"]["method"] = "profile likelihood"
    except (EmmieError, *NUMERIC_ERRORS) as exc:
        out["heterogeneity_ci"] = None
        warnings.append(f"{oid}: no profile-likelihood interval for the variance components: {exc}")
    if a.n_studies <= LEAVE_ONE_STUDY_OUT_MAX:
        loo = _guarded(
            "leave-one-study-out", oid, warnings, leave_one_study_out, yi, vi, study, result,
            rho=chosen["rho"], method=method, level=level,
        )  # fmt: skip
        out["leave_one_out"] = loo.to_dict(orient="records") if loo is not None else None
    else:
        out["leave_one_out"] = None
        out["leave_one_out_skipped"] = (
            f"not run: {a.n_studies:,} studies, more than {LEAVE_ONE_STUDY_OUT_MAX:,} (one multilevel refit per study)"
        )
        warnings.append(f"{oid}: leave-one-study-out {out['leave_one_out_skipped']}")
    out["weights"] = a.weights
    figures = {"forest": f"forest_{oid}.svg"}
    # each study's results together (studies in data order), in the review's forest order within the study
    within = forest_order(order, yi, a.weights)
    rank = np.empty(k, dtype=int)
    rank[within] = np.arange(k)
    first_seen = pd.Series(study).factorize()[0]
    rows = np.lexsort((rank, first_seen)) if k <= FOREST_MAX_ROWS else within
    shown = [f"{names.get(s, s)}, {_result_label(s, r)}" for s, r in zip(study, result, strict=True)]
    view = SimpleNamespace(**fits["cr2"], study_weights=a.weights[rows])  # the multilevel model's weights
    how = f"k = {k:,} results from {a.n_studies:,} studies, " + (
        "grouped by study" if k <= FOREST_MAX_ROWS else FOREST_ORDERS["effect"]
    )
    _write_forest(outdir / figures["forest"], outcome, measure, level, yi, vi, shown, rows, view, how)
    averages = study_level(yi, vi, study, rho=chosen["rho"], within=float(a.fit.sigma2[1]))
    out["study_averages"] = averages.to_dict(orient="records")
    small = None
    if len(averages) >= SMALL_STUDY_K:
        ay, av = averages["yi"].to_numpy(), averages["vi"].to_numpy()
        small = _guarded("the small-study analyses", oid, warnings, small_study, ay, av, outcome["desirable"])
        if small is not None:
            small["on"] = "study averages"
            figures["funnel"] = f"funnel_{oid}.svg"
            atomic_write_text(
                outdir / figures["funnel"],
                funnel_plot(
                    ay,
                    av,
                    meta_analysis(ay, av, method="REML", test="z", level=level),
                    measure=measure,
                    title=f"{outcome.get('label', oid)}: contour-enhanced funnel plot of the study averages "
                    f"(k = {len(averages)} studies)",
                ),
            )
    out["small_study"] = small
    out["figures"] = figures
    return out


def _result_label(study: str, result: str) -> str:
    """A result's id without its study's id in front (``district86_school3`` -> ``school3``)."""
    for sep in ("_", "-", "."):
        if result.startswith(study + sep) and len(result) > len(study) + 1:
            return result[len(study) + 1 :]
    return result


def randomised_only(
    used: pd.DataFrame,
    studies: pd.DataFrame,
    warnings: list[str],
    oid: str,
    outcome: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The same random-effects analysis on the randomised trials alone, when the analysis mixes designs.

    GRADE rates randomised and non-randomised bodies of evidence separately and gives the one with the higher
    certainty (Cuello-Garcia et al. 2022, GRADE guidance 24); this is the randomised body's analysis. None when
    fewer than 2 randomised trials or no non-randomised study are in the analysis.
    """
    design = studies.set_index("study_id")["design"]
    rct = used[used["study_id"].map(design).eq("rct")]
    if len(rct) < 2 or len(rct) == len(used):
        return None
    yi, vi = rct["yi"].to_numpy(), rct["vi"].to_numpy()
    chosen = settings(outcome or {})
    level = chosen["level"]
    if chosen["model"] != "univariate" and has_dependence(rct["study_id"].astype(str)):
        if rct["study_id"].nunique() < 2:
            return None
        method = chosen["method"] if chosen["method"] in ("REML", "ML") else "REML"
        a = che_analysis(
            yi, vi, rct["study_id"].astype(str), rct["effect_id"].astype(str), rho=chosen["rho"], method=method,
            level=level,
        )  # fmt: skip
        averages = study_level(yi, vi, rct["study_id"].astype(str), rho=chosen["rho"])
        out = {
            "k": len(rct),
            "frequentist": a.fit_dicts(),
            "headline_test": "cr2",
            "small_study": None,
            "weights": pd.Series(a.weights, index=rct["effect_id"].to_numpy()),
        }
        if len(averages) >= SMALL_STUDY_K:
            out["small_study"] = _guarded(
                "the small-study analyses (randomised trials only)", oid, warnings, small_study,
                averages["yi"].to_numpy(), averages["vi"].to_numpy(), (outcome or {}).get("desirable", "higher"),
            )  # fmt: skip
        return out
    method, headline_test = chosen["method"], chosen["test"]
    fits = {test: meta_analysis(yi, vi, method=method, test=test, level=level) for test in ("z", "knha")}
    for test, fit in fits.items():
        warnings.extend(f"{oid} (randomised trials only, {method}, {test}): {w}" for w in fit.warnings)
    out: dict[str, Any] = {
        "k": len(rct),
        "frequentist": {t: _fit_dict(f) for t, f in fits.items()},
        "headline_test": headline_test,
        "small_study": None,
        # each trial's weight goes to results.csv (column weight_randomised_only)
        "weights": pd.Series(np.asarray(fits[headline_test].weights, dtype=float), index=rct["effect_id"].to_numpy()),
    }
    if len(rct) >= SMALL_STUDY_K:
        out["small_study"] = _guarded(
            "the small-study analyses (randomised trials only)", oid, warnings, small_study, yi, vi,
            (outcome or {}).get("desirable", "higher"),
        )  # fmt: skip
    return out


#: The selection model's optimisation refits the whole likelihood many times (0.6 s at k = 37); past this k the
#: funnel-plot tests and PET-PEESE (closed forms) stand alone.
SELECTION_MAX_K = 5_000


def adjusted_estimates(yi: np.ndarray, vi: np.ndarray, desirable: str = "higher") -> dict[str, Any]:
    """What the pooled effect becomes when small-study effects are allowed for: the three-parameter selection model
    (one cut-point at one-sided p = 0.025 in the desirable direction, where selection for "significant" benefit would
    act; Vevea & Hedges 1995) and the conditional PET-PEESE estimate (Stanley & Doucouliagos 2014)."""
    out: dict[str, Any] = {}
    pp = pet_peese(yi, vi)
    out["pet_peese"] = {
        "chosen": pp.chosen,
        "estimate": pp.estimate,
        "ci_lb": pp.ci_lb,
        "ci_ub": pp.ci_ub,
        "pet_intercept_pval": float(pp.pet.pval[0]),
        "pet_slope_pval": float(pp.pet.pval[1]),  # PET's test of a small-study effect (the FAT, Egger's test as WLS)
    }
    if len(yi) <= SELECTION_MAX_K:
        sel = selection_model(yi, vi, type="stepfun", steps=(0.025, 1.0), alternative=(
            "greater" if desirable == "higher" else "less"))  # fmt: skip
        out["selection"] = {
            "model": "3PSM",
            "estimate": sel.estimate,
            "ci_lb": sel.ci[0],
            "ci_ub": sel.ci[1],
            "tau2": sel.tau2,
            "delta": float(sel.delta[1]),
            "lrt": sel.lrt,
            "lrt_pval": sel.lrt_pval,
            "warnings": list(sel.warnings),
        }
    else:
        out["selection"] = None
        out["selection_skipped"] = f"not run: k = {len(yi):,} results, more than {SELECTION_MAX_K:,}"
    return out


def small_study(yi: np.ndarray, vi: np.ndarray, desirable: str = "higher") -> dict[str, Any]:
    """Egger's and the rank test, trim-and-fill, the fail-safe N and the adjusted estimates
    (:func:`adjusted_estimates`); a non-finite result is a failure."""
    egger, rank = egger_test(yi, vi), rank_test(yi, vi)
    # trim-and-fill's side is the sign of the slope of sqrt(vi) in a REML meta-regression (metafor's trimfill): that
    # is Egger's model, so it is fitted once (at k = 100,000 each fit takes about 0.4 s)
    tf = trim_and_fill(yi, vi, side="right" if egger.slope < 0 else "left")
    out = {
        "egger": {"stat": egger.stat, "pval": egger.pval},
        "rank": {"tau": rank.tau, "pval": rank.pval},
        "trim_and_fill": {"k0": tf.k0, "side": tf.side, "estimate": tf.estimate, "tau2": tf.tau2},
        "failsafe_n": failsafe_n(yi, vi),
        **adjusted_estimates(yi, vi, desirable),
    }
    if not all(np.isfinite(x) for x in (egger.pval, rank.pval, tf.estimate)):
        raise ArithmeticError("a test statistic is not finite")
    return out


def _not_pooled_reason(k: int, n_results: int, measure: str | None) -> str:
    if n_results == 0:
        return "no results coded for this outcome"
    if measure is None or k == 0:
        return "no poolable result (no comparative effect size with a variance)"
    return f"only {k} poolable result: a meta-analysis needs at least 2"


def run(review: Review, outdir: Path) -> dict[str, Any]:
    """Run the Effect stage for one review and write its outputs (see the module docstring).

    Parameters
    ----------
    review : Review
        The loaded review.
    outdir : Path
        Output folder (created if needed).

    Returns
    -------
    dict
        The content of ``effect.json``: ``review, outcomes, swim, designs, accounting, warnings``.
        Results reported in documents that are not studies (news, minutes, ...; :mod:`emmie.ingest.documents`)
        are left out and listed in ``accounting["not_studies"]``.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    warnings: list[str] = []
    review, not_studies = documents.for_effect(review)
    names = study_labels(review)  # author-year labels, with a/b where two would read alike
    sizes, measures = compute_effect_sizes(review)
    write_csv(outdir / "effect_sizes.csv", sizes)
    in_meta: set[str] = set()
    swim_reason: dict[str, str] = {}
    outcomes, tables = [], []
    for outcome in review.config["outcomes"]:
        part = _outcome(review, outcome, sizes, measures, names, outdir)
        outcomes.append(part["entry"])
        tables.append(part["table"])
        warnings.extend(part["warnings"])
        in_meta.update(part["in_meta"])
        swim_reason.update(part["swim_reason"])
    other = sizes[~sizes["outcome"].isin([o["id"] for o in review.config["outcomes"]])]
    swim_reason.update(zip(other["effect_id"].tolist(), other["reason"].tolist(), strict=True))
    swim = _swim(review, sizes, swim_reason, outdir, warnings)
    all_ids = set(sizes["effect_id"].tolist())
    if in_meta & set(swim_reason) or (in_meta | set(swim_reason)) != all_ids:
        raise AnalysisError("internal error: not every result is accounted for exactly once (meta-analysis or SWiM)")
    for r in sizes[
        sizes["reason"].str.startswith("no effect size") | sizes["reason"].str.startswith("the inputs")
    ].itertuples(index=False):
        warnings.append(f"{r.effect_id}: {r.reason}")
    with_effects = review.studies[review.studies["study_id"].isin(set(sizes["study_id"]))]
    designs = {str(d): int(n) for d, n in sorted(with_effects["design"].value_counts().items())}
    result = {
        "review": review.id,
        "outcomes": outcomes,
        "swim": swim,
        "designs": designs,
        "accounting": {
            "n_results": len(sizes),
            "n_in_meta_analysis": len(in_meta),
            "n_in_swim": len(swim_reason),
            "not_studies": not_studies,
        },
        "warnings": warnings,
    }
    write_csv(outdir / results_table.FILE, pd.concat(tables, ignore_index=True) if tables else results_table.empty())
    write_json(outdir / "effect.json", result)
    return result


def _outcome(
    review: Review,
    outcome: dict[str, Any],
    sizes: pd.DataFrame,
    measures: dict[str, str | None],
    names: dict[str, str],
    outdir: Path,
) -> dict[str, Any]:
    """One outcome's analyses and figures: its ``effect.json`` entry, its ``results.csv`` rows, its warnings, the
    results it pooled and the SWiM reason of the others. It reads nothing of the other outcomes."""
    warnings: list[str] = []
    oid = outcome["id"]
    rows = sizes[sizes["outcome"] == oid]
    used = rows[rows["poolable"]]
    k = len(used)
    measure = measures[oid]
    entry: dict[str, Any] = {
        "outcome": oid,
        "label": outcome.get("label", oid),
        "measure": measure,
        "desirable": outcome["desirable"],
        "mid": outcome.get("mid"),
        "domain": outcome.get("domain") or oid,
        "primary": bool(outcome.get("primary", False)),
        "level": settings(outcome)["level"],
        "k": k,
        "n_results": len(rows),
        "n_studies": int(rows["study_id"].nunique()),
        "pooled": k >= 2,
        "reason_not_pooled": None if k >= 2 else _not_pooled_reason(k, len(rows), measure),
        "frequentist": None,
        "headline_test": None,
        "heterogeneity_ci": None,
        "leave_one_out": None,
        "small_study": None,
        "randomised_only": None,
        "dependence": None,
        "study_averages": None,
        "bma": None,
        "bayes": None,
        "interpretation": None,
        "figures": {},
    }
    weights = [np.nan] * k
    freq = None
    in_meta: list[str] = []
    if k >= 2:
        ratio = variance_ratio_warning(used, oid)
        if ratio:
            warnings.append(ratio)
        try:
            with np.errstate(all="ignore"):
                freq = _frequentist(
                    outcome, measure, used, outdir, warnings, names, review.config.get("forest_order", "weight")
                )
        except NUMERIC_ERRORS as exc:
            # Not pooled, and said why with the results to check: never a crash, never a missing report.
            worst = used.iloc[int(np.argmin(used["vi"].to_numpy(dtype=float)))]
            entry["pooled"] = False
            entry["reason_not_pooled"] = (
                f"the random-effects fit failed ({exc}); check the result with the smallest sampling variance "
                f"({worst['effect_id']}, vi = {worst['vi']:.3g}) and the largest estimates"
            )
            warnings.append(f"{oid}: {entry['reason_not_pooled']}")
    rct_weights = None
    if freq is not None:
        weights = freq.pop("weights")
        entry["figures"].update(freq.pop("figures"))
        entry.update(freq)
        in_meta = used["effect_id"].tolist()
        entry["randomised_only"] = _guarded(
            "the randomised-trials analysis", oid, warnings, randomised_only, used, review.studies, warnings, oid,
            outcome,
        )  # fmt: skip
        if entry["randomised_only"] is not None:
            rct_weights = entry["randomised_only"].pop("weights")
    theta = None
    if k >= 1:
        dependent = k >= 2 and multilevel_used(outcome, used)
        if dependent and entry.get("study_averages"):  # the Bayesian model treats results as independent
            averages = pd.DataFrame(entry["study_averages"])
            b_yi, b_vi, b_ids = averages["yi"].to_numpy(), averages["vi"].to_numpy(), averages["study"].tolist()
        else:
            b_yi, b_vi, b_ids = used["yi"].to_numpy(), used["vi"].to_numpy(), used["study_id"].tolist()
        if dependent and not entry.get("study_averages"):
            warnings.append(f"{oid}: no Bayesian analysis: it needs the study averages of the multilevel model")
        got = (
            None
            if dependent and not entry.get("study_averages")
            else _guarded(
                "the Bayesian analysis",
                oid,
                warnings,
                _bayes,
                review,
                outcome,
                measure,
                b_yi,
                b_vi,
                [names.get(s, s) for s in b_ids],
                outdir,
                warnings,
            )
        )
        if dependent and not entry.get("study_averages"):
            entry["bma"] = {"skipped": "not run: it needs the study averages of the multilevel model, which failed"}
        elif k >= 2 and len(b_yi) <= BMA_MAX_K:
            entry["bma"] = _guarded(
                "the Bayesian model averaging", oid, warnings, _bma, review, measure, b_yi, b_vi,
                settings(outcome)["level"],
            )  # fmt: skip
        elif k >= 2:
            entry["bma"] = {"skipped": f"not run: k = {len(b_yi):,}, more than {BMA_MAX_K:,}"}
        if got is not None:
            bayes, interp, figs, theta = got
            if dependent and entry.get("study_averages"):
                bayes["on"] = "study averages"
                # shrunken study averages, not results: they stay with the averages; results.csv leaves them empty
                for record, t in zip(entry["study_averages"], theta.to_dict(orient="records"), strict=True):
                    record.update({f"theta_{key}": value for key, value in t.items()})
                theta = None
            entry["bayes"], entry["interpretation"] = bayes, interp
            entry["figures"].update(figs)
    table = results_table.rows(oid, used, weights, theta, rct_weights)
    rest = rows[~rows["poolable"]] if freq is not None else rows  # what the meta-analysis did not use
    given = rest["reason"].fillna("").astype(str)
    fallback = entry["reason_not_pooled"] or "not pooled"
    swim_reason = dict(zip(rest["effect_id"].tolist(), given.where(given != "", fallback).tolist(), strict=True))
    return {"entry": entry, "table": table, "warnings": warnings, "in_meta": in_meta, "swim_reason": swim_reason}


def _swim(
    review: Review, sizes: pd.DataFrame, reasons: dict[str, str], outdir: Path, warnings: list[str]
) -> dict[str, Any]:
    if not reasons:
        return {"rule": None, "domains": [], "results": [], "figure": None}
    eff = review.effects.set_index("effect_id")
    config = {o["id"]: o for o in review.config["outcomes"]}
    rows = []
    for r in sizes[sizes["effect_id"].isin(set(reasons))].itertuples(index=False):
        o = config.get(r.outcome, {})
        rows.append(
            {
                "effect_id": r.effect_id,
                "study_id": r.study_id,
                "outcome": r.outcome,
                "domain": o.get("domain") or r.outcome,
                "desirable": o.get("desirable", "higher"),
                "measure": r.measure,
                "yi": r.yi,
                "ci_lb": r.ci_lb,
                "ci_ub": r.ci_ub,
                "direction": str(eff.at[r.effect_id, "direction"]) if "direction" in eff.columns else "",
                "result_text": str(eff.at[r.effect_id, "result_text"]) if "result_text" in eff.columns else "",
                "reason": reasons[r.effect_id],
            }
        )
    swim = synthesise(pd.DataFrame(rows), review.studies, level=LEVEL)
    for r in swim.results[swim.results["conflict"]].itertuples(index=False):
        warnings.append(
            f"{r.effect_id}: the coded direction disagrees with the direction of its estimate "
            f"({r.direction}); the estimate is used"
        )
    out = swim.to_dict()
    out["figure"] = "swim_direction.svg"
    atomic_write_text(
        outdir / out["figure"],
        effect_direction_plot(swim, title="Effect direction plot (SWiM)", labels=study_labels(review)),
    )
    return out
