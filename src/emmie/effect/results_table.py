"""The per-result numbers of the Effect stage, as one CSV table beside ``effect.json``.

``effect.json`` holds each outcome's summaries (pooled estimates, heterogeneity, tests, Bayesian posterior); the
numbers of each result *in* a meta-analysis (its weight, its shrunken Bayesian estimate) are a table with one row per
result, ``results.csv``, which an analyst can open in a spreadsheet and which stays quick to write and read at a
million results (the same numbers as nested JSON records took minutes to write).

Columns: ``outcome, effect_id, study_id`` (the result's estimate, variance and interval are its row of
``effect_sizes.csv``, not repeated here), ``weight`` (% of the headline random-effects fit; empty when the outcome is not pooled), ``weight_randomised_only``
(% in the randomised-trials-only analysis; empty for other results or when there is none) and ``theta_mean,
theta_sd, theta_lb, theta_ub`` (each result's shrunken effect from the Bayesian analysis; empty without one). Rows
are in each analysis' order, outcome by outcome.

:func:`join` puts the rows back where the stages after Effect read them: ``outcome["studies"]`` (records),
``outcome["bayes"]["theta"]`` and ``outcome["randomised_only"]["studies"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FILE = "results.csv"
TEXT = ["outcome", "effect_id", "study_id"]
NUMBERS = ["weight", "weight_randomised_only"]
THETA = {"theta_mean": "mean", "theta_sd": "sd", "theta_lb": "lb", "theta_ub": "ub"}
COLUMNS = TEXT + NUMBERS + list(THETA)
#: The keys of one ``outcome["studies"]`` record.
STUDY_KEYS = ["effect_id", "study_id", "measure", "yi", "vi", "ci_lb", "ci_ub", "weight"]
#: What a record takes from ``effect_sizes.csv``.
SIZE_KEYS = ["effect_id", "measure", "yi", "vi", "ci_lb", "ci_ub"]


def rows(
    oid: str,
    used: pd.DataFrame,
    weights: np.ndarray,
    theta: pd.DataFrame | None,
    randomised_weights: pd.Series | None,
) -> pd.DataFrame:
    """The table's rows for one outcome: ``used`` (its poolable results, in analysis order) with their numbers."""
    n = len(used)
    out = pd.DataFrame(
        {
            "outcome": np.full(n, oid, dtype=object),
            "effect_id": used["effect_id"].to_numpy(),
            "study_id": used["study_id"].to_numpy(),
            "weight": np.asarray(weights, dtype=float),
            "weight_randomised_only": (
                used["effect_id"].map(randomised_weights).to_numpy(dtype=float)
                if randomised_weights is not None
                else np.full(n, np.nan)
            ),
        }
    )
    for col, key in THETA.items():
        out[col] = theta[key].to_numpy(dtype=float) if theta is not None else np.nan
    return out[COLUMNS]


def empty() -> pd.DataFrame:
    """The table of a review with no poolable result: the header alone."""
    return pd.DataFrame({c: pd.Series(dtype=object if c in TEXT else float) for c in COLUMNS})


def read(path: Path, sizes: Path | None = None) -> pd.DataFrame:
    """``results.csv`` as written: text as text (an id such as ``NA`` stays itself), numbers as floats; with
    ``sizes`` (``effect_sizes.csv``) each row also gets its result's ``measure, yi, vi, ci_lb, ci_ub``."""
    table = pd.read_csv(
        path,
        dtype={c: str for c in TEXT} | {c: float for c in NUMBERS + list(THETA)},
        keep_default_na=False,
        na_values={c: [""] for c in NUMBERS + list(THETA)},
    )
    if sizes is None:
        return table
    numbers = ["yi", "vi", "ci_lb", "ci_ub"]
    size = pd.read_csv(
        sizes,
        usecols=SIZE_KEYS,
        dtype={"effect_id": str, "measure": str} | {c: float for c in numbers},
        keep_default_na=False,
        na_values={c: [""] for c in numbers},
    ).set_index("effect_id")
    return table.join(size, on="effect_id")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Records with NaN as None, as the JSON they replace had them."""
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def join(effect: dict[str, Any], table: pd.DataFrame) -> dict[str, Any]:
    """``effect`` (the content of ``effect.json``) with each outcome's rows of ``table`` (as :func:`read` gives it
    with ``sizes``) put back in place."""
    groups = {oid: g for oid, g in table.groupby("outcome", sort=False)}
    empty = table.iloc[0:0]
    for o in effect.get("outcomes") or []:
        g = groups.get(o["outcome"], empty)
        o["studies"] = _records(g[STUDY_KEYS])
        bayes = o.get("bayes")
        if bayes is not None and o.get("study_averages"):  # a multilevel model: the Bayesian model had averages
            bayes["theta"] = [
                {"yi": a["yi"], "vi": a["vi"], **{short: a.get(long) for long, short in THETA.items()}}
                for a in o["study_averages"]
            ]
        elif bayes is not None:
            theta = g[["yi", "vi", *THETA]].rename(columns=THETA)
            bayes["theta"] = _records(theta)
        rct = o.get("randomised_only")
        if rct is not None:
            chosen = g[g["weight_randomised_only"].notna()]
            rct["studies"] = _records(
                chosen[["effect_id", "study_id", "weight_randomised_only"]].rename(
                    columns={"weight_randomised_only": "weight"}
                )
            )
    return effect


def read_joined(folder: Path, effect: dict[str, Any]) -> dict[str, Any]:
    """``effect`` with ``folder/results.csv`` (and ``effect_sizes.csv``) joined in; unchanged without them."""
    path, sizes = Path(folder) / FILE, Path(folder) / "effect_sizes.csv"
    return join(effect, read(path, sizes)) if path.is_file() and sizes.is_file() else effect
