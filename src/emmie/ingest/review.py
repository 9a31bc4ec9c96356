"""The loaded review: the coded tables as DataFrames plus ``review.yaml``.

Conventions every stage relies on: text columns hold ``str`` with ``""`` for an
empty cell; numeric columns (types int, float, year) hold ``float`` with NaN for
an empty cell. Row order is the file's order. Only the loader builds a Review.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Review:
    path: Path
    config: dict[str, Any]
    studies: pd.DataFrame
    effects: pd.DataFrame
    vocabulary: pd.DataFrame
    cmo: pd.DataFrame
    implementation: pd.DataFrame
    economics: pd.DataFrame
    moderators: pd.DataFrame
    rob: pd.DataFrame
    prisma: pd.DataFrame
    files: dict[str, str] = field(default_factory=dict)  # table name -> sha256 of the file read

    @property
    def id(self) -> str:
        return str(self.config["id"])

    def outcome(self, outcome_id: str) -> dict[str, Any]:
        for o in self.config["outcomes"]:
            if o["id"] == outcome_id:
                return o
        raise KeyError(outcome_id)

    @cached_property
    def _concept_labels(self) -> dict[str, str]:
        first = self.vocabulary.drop_duplicates("concept_id", keep="first")
        return dict(zip(first["concept_id"], first["label"].astype(str), strict=True))

    def concept_label(self, concept_id: str) -> str:
        return self._concept_labels.get(concept_id, concept_id)
