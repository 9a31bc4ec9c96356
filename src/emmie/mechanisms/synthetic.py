"""Synthetic CMO codings of a chosen size, for tests, benchmarks and demonstrations.

Nothing here is evidence: the concepts, studies and codings are random.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from emmie.ingest.schema import APPRAISAL, CMO_EVIDENCE


@dataclass(frozen=True)
class SyntheticReview:
    cmo: pd.DataFrame
    vocabulary: pd.DataFrame
    studies: pd.DataFrame


def synthetic_codings(
    n_codings: int,
    n_concepts: int,
    *,
    n_studies: int | None = None,
    p_context: float = 0.7,
    p_component: float = 0.4,
    p_enables: float = 0.2,
    p_outcome: float = 0.8,
    p_contradicts: float = 0.1,
    p_refines: float = 0.1,
    seed: int = 0,
) -> SyntheticReview:
    """Random vocabulary, studies and CMO codings shaped like ``cmo.csv``.

    Concepts split 20 % contexts, 10 % components, 50 % mechanisms, 20 % outcomes (at
    least one of each); concept popularity follows a Zipf-like law, as coded
    vocabularies do, so that some links recur across studies.

    Parameters
    ----------
    n_codings, n_concepts : int
        Rows of ``cmo.csv`` and of ``vocabulary.csv`` (``n_concepts >= 4``).
    n_studies : int, optional
        Number of studies (default ``max(2, n_codings // 10)``).
    p_context, p_component, p_enables, p_outcome : float
        Probability that a coding fills that column.
    p_contradicts, p_refines : float
        Probability of each stance other than ``supports``.
    seed : int
        Seed of ``numpy.random.default_rng``.
    """
    if n_concepts < 4:
        raise ValueError("n_concepts must be >= 4")
    rng = np.random.default_rng(seed)
    n_ctx = max(1, n_concepts // 5)
    n_cmp = max(1, n_concepts // 10)
    n_out = max(1, n_concepts // 5)
    n_mech = n_concepts - n_ctx - n_cmp - n_out
    kinds = {"context": n_ctx, "component": n_cmp, "mechanism": n_mech, "outcome": n_out}
    prefix = {"context": "c", "component": "k", "mechanism": "m", "outcome": "o"}
    ids = {k: [f"{prefix[k]}{i:04d}" for i in range(n)] for k, n in kinds.items()}
    vocabulary = pd.DataFrame(
        [
            {"concept_id": cid, "kind": k, "label": f"{k} {cid} with a label long enough to wrap", "description": ""}
            for k in kinds
            for cid in ids[k]
        ]
    )
    n_studies = n_studies or max(2, n_codings // 10)
    study_ids = [f"s{i:05d}" for i in range(n_studies)]
    studies = pd.DataFrame(
        {
            "study_id": study_ids,
            "rigour": rng.choice(APPRAISAL, n_studies),
            "relevance": rng.choice(APPRAISAL, n_studies),
        }
    )

    def pick(kind: str, p: float) -> list[str]:
        pool = ids[kind]
        weights = 1.0 / np.arange(1, len(pool) + 1)
        chosen = rng.choice(len(pool), n_codings, p=weights / weights.sum())
        used = rng.random(n_codings) < p
        return [pool[c] if u else "" for c, u in zip(chosen, used, strict=True)]

    mechanism = pick("mechanism", 1.0)
    enables = pick("mechanism", p_enables)
    enables = [e if e != m else "" for e, m in zip(enables, mechanism, strict=True)]
    u = rng.random(n_codings)
    stance = np.where(u < p_contradicts, "contradicts", np.where(u < p_contradicts + p_refines, "refines", "supports"))
    cmo = pd.DataFrame(
        {
            "cmo_id": [f"x{i:06d}" for i in range(n_codings)],
            "study_id": rng.choice(study_ids, n_codings),
            "context": pick("context", p_context),
            "component": pick("component", p_component),
            "mechanism": mechanism,
            "enables": enables,
            "outcome": pick("outcome", p_outcome),
            "stance": stance,
            "evidence": rng.choice(CMO_EVIDENCE, n_codings),
            "excerpt": "synthetic",
            "source": "synthetic",
            "source_page": "",
            "verified": "no",
        }
    )
    return SyntheticReview(cmo, vocabulary, studies)
