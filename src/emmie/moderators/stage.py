"""The effect-size part of the Moderators stage: does the pooled effect vary with study characteristics?

For every pooled outcome (k >= 2 poolable results, the effect sizes computed as the Effect stage computes them) and every
moderator declared in ``review.yaml`` ``moderators`` (a column of the ``moderators`` table, joined to
the effect sizes on ``study_id``), the analysis is run where the data allow it, and otherwise an
explicit statement says why not:

categorical
    Levels with fewer than 2 studies are left out (and listed); at least 2 levels with >= 2 studies
    each must remain. Analyses: a meta-analysis per level with the test of subgroup differences
    (metafor's QM test of ``rma(yi, vi, mods = ~ factor(level))``, Knapp-Hartung F as headline; the
    separate-tau^2 Q_between alongside) and the meta-regression with its permutation test.
continuous
    At least 5 studies with a value and at least 3 distinct values. Analyses: meta-regression
    (Knapp-Hartung headline, z alongside), a permutation test of the moderator, and a bubble plot.

Where a study gives several results on an outcome (the Effect stage's multilevel model), the moderators, which are
study characteristics, are analysed on one average per study (the study averages of :mod:`emmie.effect.dependent`),
so that k counts studies and no study weighs more for having reported more results (``"on": "study averages"``).

Permutation tests draw up to ``n_perm = 1000`` permutations seeded with ``review.yaml`` ``seed``, stopping
early once 20 of them reach the observed statistic (sequential Monte Carlo p-values, Besag & Clifford 1991):
p-values below about 0.02 still rest on all 1000, clearly non-significant moderators on far fewer. Testing many
moderators on one outcome invites spurious findings (Higgins & Thompson 2004), so each analysis also
carries Holm-adjusted p-values over all moderators analysed for its outcome (``multiplicity``). Outputs:
``moderators_effect.json`` (``{"analyses": [...], "not_possible": [...]}``) and
``bubble_<outcome>_<moderator>.svg``.

References
----------
Thompson, S. G., & Higgins, J. P. T. (2002). How should meta-regression analyses be undertaken and interpreted?
    Statistics in Medicine, 21, 1559-1573.
Higgins, J. P. T., & Thompson, S. G. (2004). Controlling the risk of spurious findings from meta-regression.
    Statistics in Medicine, 23, 1663-1682.
Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian Journal of Statistics, 6,
    65-70.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from emmie.effect.dependent import study_averages
from emmie.effect.stage import compute_effect_sizes, multilevel_used, settings
from emmie.errors import NUMERIC_ERRORS
from emmie.ingest import documents
from emmie.ingest.review import Review
from emmie.io import atomic_write_text, write_json
from emmie.moderators.plots import bubble_plot
from emmie.moderators.regression import moderator_regression
from emmie.moderators.subgroups import subgroup_analysis

N_PERM = 1000
STOP_AFTER = 20  # Besag & Clifford (1991): stop once 20 permutations reach the observed statistic
MIN_PER_LEVEL = 2
MIN_LEVELS = 2
MIN_CONTINUOUS = 5
MIN_DISTINCT = 3


def _values(frame: pd.DataFrame, column: str, kind: str) -> pd.Series:
    col = frame[column]
    if kind == "continuous":
        return pd.to_numeric(col, errors="coerce")
    text = col.map(lambda x: "" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x).strip())
    return text.where(text != "", None)


def moderator_data(sizes: pd.DataFrame, moderators: pd.DataFrame, column: str, kind: str) -> pd.DataFrame:
    """The poolable effect sizes joined to one moderator column on ``study_id`` (``value`` None/NaN if missing)."""
    table = (
        moderators[["study_id", column]].drop_duplicates("study_id")
        if column in moderators.columns
        else pd.DataFrame({"study_id": [], column: []})
    )
    joined = sizes.merge(table, on="study_id", how="left")
    joined["value"] = _values(joined, column, kind) if len(joined) else []
    return joined


def _averages(outcome: dict[str, Any], rows: pd.DataFrame, measure: str) -> pd.DataFrame:
    """One row per study where a study gives several results on the outcome: the moderators are study
    characteristics, so the analyses take each study's average (:func:`emmie.effect.dependent.study_averages`,
    under the outcome's rho) and count studies, not results."""
    chosen = settings(outcome)
    avg = study_averages(
        rows["yi"].to_numpy(dtype=float),
        rows["vi"].to_numpy(dtype=float),
        rows["study_id"].astype(str).to_numpy(),
        rows["effect_id"].astype(str).to_numpy(),
        rho=chosen["rho"],
        method=chosen["method"],
    )
    return pd.DataFrame(
        {
            "effect_id": avg["study"],
            "study_id": avg["study"],
            "outcome": outcome["id"],
            "measure": measure,
            "yi": avg["yi"],
            "vi": avg["vi"],
        }
    )


def _analyse(
    outcome: dict[str, Any], moderator: dict[str, Any], data: pd.DataFrame, measure: str, seed: int, outdir: Path
) -> tuple[dict[str, Any] | None, str | None]:
    """One analysis, or the reason none is possible."""
    name, kind = moderator["name"], moderator["type"]
    level = settings(outcome)["level"]  # the outcome's interval level (review.yaml `level`)
    present = data[data["value"].notna()]
    n_missing = len(data) - len(present)
    base = {
        "outcome": outcome["id"],
        "moderator": name,
        "label": moderator.get("label", name),
        "type": kind,
        "n_missing": n_missing,
        "level": level,
        "missing_studies": sorted(data.loc[data["value"].isna(), "study_id"]),
    }
    if kind == "categorical":
        counts = present["value"].value_counts()
        kept = sorted(lv for lv, n in counts.items() if n >= MIN_PER_LEVEL)
        if len(kept) < MIN_LEVELS:
            shown = ", ".join(f"{lv}: {n}" for lv, n in sorted(counts.items())) or "no values"
            return None, (
                f"needs at least {MIN_LEVELS} levels with >= {MIN_PER_LEVEL} studies each; studies per level: {shown}"
            )
        declared = [str(lv) for lv in moderator.get("levels", [])]
        order = [lv for lv in declared if lv in kept] + [lv for lv in kept if lv not in declared]
        used = present[present["value"].isin(kept)]
        yi, vi, x = used["yi"].to_numpy(), used["vi"].to_numpy(), list(used["value"])
        sub = subgroup_analysis(yi, vi, x, method="REML", test="knha", levels=order, level=level)
        reg = moderator_regression(
            yi,
            vi,
            x,
            kind="categorical",
            levels=order,
            name=name,
            test="knha",
            level=level,
            n_perm=N_PERM,
            seed=seed,
            stop_after=STOP_AFTER,
        )
        dropped = {str(lv): int(n) for lv, n in sorted(counts.items()) if lv not in kept}
        return {
            **base,
            "k": len(used),
            "levels": order,
            "levels_dropped": dropped,
            "studies": list(used["study_id"]),
            "subgroups": sub.to_dict(),
            "regression": reg.to_dict(),
            "figure": None,
        }, None
    values = present["value"].astype(float)
    if len(present) < MIN_CONTINUOUS or values.nunique() < MIN_DISTINCT:
        return None, (
            f"needs >= {MIN_CONTINUOUS} studies with >= {MIN_DISTINCT} distinct values; "
            f"has {len(present)} studies with {values.nunique()} distinct values"
        )
    yi, vi, x = present["yi"].to_numpy(), present["vi"].to_numpy(), values.to_numpy()
    reg = moderator_regression(
        yi,
        vi,
        x,
        kind="continuous",
        name=name,
        test="knha",
        level=level,
        n_perm=N_PERM,
        seed=seed,
        stop_after=STOP_AFTER,
    )
    figure = f"bubble_{outcome['id']}_{name}.svg"
    atomic_write_text(
        outdir / figure,
        bubble_plot(
            yi,
            vi,
            x,
            reg,
            measure=measure,
            xlabel=moderator.get("label", name),
            title=f"{outcome.get('label', outcome['id'])} by {moderator.get('label', name)} (k = {len(present)})",
        ),
    )
    return {
        **base,
        "k": len(present),
        "studies": list(present["study_id"]),
        "regression": reg.to_dict(),
        "figure": figure,
    }, None


def _add_multiplicity(analyses: list[dict[str, Any]]) -> None:
    """Holm-adjusted omnibus p-values (Knapp-Hartung and permutation) over the analyses of each outcome."""
    # statsmodels' Holm branch runs gc.collect() at every call: a full collection over everything this process
    # holds (about 80 ms each after the plots of a large review; 1.6 s over the synthetic review's ten outcomes).
    # Frozen objects are not scanned, and nothing here makes garbage that needs collecting.
    # A heap someone else froze stays theirs to unfreeze.
    freeze = not gc.get_freeze_count()
    if freeze:
        gc.freeze()
    try:
        _holm_by_outcome(analyses)
    finally:
        if freeze:
            gc.unfreeze()


def _holm_by_outcome(analyses: list[dict[str, Any]]) -> None:
    for oid in sorted({a["outcome"] for a in analyses}):
        mine = [a for a in analyses if a["outcome"] == oid]
        adjusted = {}
        for key, get in (
            ("pval_knha", lambda a: a["regression"]["knha"]["qm_pval"]),
            ("pval_permutation", lambda a: a["regression"]["permutation"]["qm_pval"]),
        ):
            p = np.array([get(a) for a in mine], dtype=float)
            adjusted[key] = multipletests(p, method="holm")[1]
        for i, a in enumerate(mine):
            a["multiplicity"] = {
                "n_tests": len(mine),
                "method": "Holm (1979)",
                **{f"{k}_holm": float(v[i]) for k, v in adjusted.items()},
            }


def run(review: Review, outdir: Path, *, effect_sizes: pd.DataFrame | None = None) -> dict[str, Any]:
    """Run the effect-size moderator analyses and write ``moderators_effect.json`` and the bubble plots.

    Parameters
    ----------
    review : Review
        The loaded review (``config["moderators"]``, the ``moderators`` table, ``seed``).
    outdir : Path
        Output folder.
    effect_sizes : DataFrame, optional
        The effect sizes (``effect_id, study_id, outcome, measure, yi, vi, poolable``). By default they are computed
        here exactly as the Effect stage computes its ``effect_sizes.csv`` (:func:`compute_effect_sizes` on the
        results reported in studies), so this stage does not wait for the Effect stage's analyses.

    Returns
    -------
    dict
        ``{"review", "analyses": [...], "not_possible": [{"moderator", "outcome", "reason"}], "n_perm", "seed"}``.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    seed = int(review.config["seed"])
    declared = review.config.get("moderators") or []
    if effect_sizes is None:
        effect_sizes, _ = compute_effect_sizes(documents.for_effect(review)[0])
    poolable = effect_sizes[effect_sizes["poolable"].astype(str).isin(["True", "true", "1"])]
    analyses: list[dict[str, Any]] = []
    not_possible: list[dict[str, Any]] = []
    averaged: dict[str, pd.DataFrame] = {}  # outcomes whose studies give several results: one average per study
    for outcome in review.config["outcomes"]:
        oid = outcome["id"]
        rows = poolable[poolable["outcome"] == oid]
        for moderator in declared:
            name = moderator["name"]
            if len(rows) < 2:
                not_possible.append(
                    {
                        "outcome": oid,
                        "moderator": name,
                        "reason": f"the outcome has no meta-analysis ({len(rows)} poolable result(s))",
                    }
                )
                continue
            if name not in review.moderators.columns:
                not_possible.append(
                    {"outcome": oid, "moderator": name, "reason": "no such column in the moderators table"}
                )
                continue
            measure = outcome.get("measure") or str(rows["measure"].mode().iloc[0])
            if oid not in averaged and multilevel_used(outcome, rows):
                averaged[oid] = _averages(outcome, rows, measure)
            data = moderator_data(averaged.get(oid, rows), review.moderators, name, moderator["type"])
            try:
                with np.errstate(all="ignore"):
                    result, reason = _analyse(outcome, moderator, data, measure, seed, outdir)
            except NUMERIC_ERRORS as exc:  # e.g. a singular model matrix from a near-zero sampling variance
                result, reason = None, f"the analysis failed: {exc}"
            if result is None:
                not_possible.append({"outcome": oid, "moderator": name, "reason": reason})
            else:
                if oid in averaged:
                    result["on"] = "study averages"
                analyses.append(result)
    _add_multiplicity(analyses)
    out = {
        "review": review.id,
        "analyses": analyses,
        "not_possible": not_possible,
        "n_perm": N_PERM,
        "stop_after": STOP_AFTER,
        "seed": seed,
        "note": None if declared else "no moderators declared in review.yaml",
    }
    write_json(outdir / "moderators_effect.json", out)
    return out
