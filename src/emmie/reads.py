"""What each step of the pipeline reads from a review: its tables and its ``review.yaml`` keys.

The Snakefile builds each rule's inputs from here (the tables, as files) and a fingerprint of the keys (as a
param), so an edit reruns only the steps that read what changed: editing ``economics.csv`` reruns the Economics
stage and the steps after it, not Effect or the moderator analyses. ``tests/report/test_reads.py`` runs each
stage on a review that holds only what it declares and checks the output is the same, byte for byte.

What a step reads decides whether it can run: a step whose own tables and keys are valid runs even while
another table of the review is invalid (the review's pages then show the validation problems, not results),
so its output never depends on a file it does not list. That is why a step's inputs also hold what decides
whether the tables it reads are valid (:data:`DECIDES`): the studies a table's ``study_id`` must be in, the
vocabulary the CMO codings refer to, the outcome ids in ``review.yaml``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

#: The coded tables of a review folder, as ``<name>.csv`` (emmie.ingest.schema.TABLES, in that order).
TABLES = ("studies", "effects", "vocabulary", "cmo", "implementation", "economics", "moderators", "rob", "prisma")

#: Every step reads the review's id (its folder name).
ALWAYS = ("id",)


@dataclass(frozen=True)
class Reads:
    """The tables and top-level ``review.yaml`` keys a step reads; ``keys=None``: the whole file."""

    tables: tuple[str, ...]
    keys: tuple[str, ...] | None
    reference: bool = False  # the shared tables of data/_reference (deflators, exchange rates)

    @property
    def everything(self) -> bool:
        return self.keys is None and set(self.tables) == set(TABLES)


EVERYTHING = Reads(TABLES, None, reference=True)

#: What decides whether a table or key is valid, beyond itself (emmie.ingest.validate.check_references and the
#: checks of review.yaml): reading the left side means depending on the right side too.
DECIDES: dict[str, tuple[str, ...]] = {
    "effects": ("studies", "key:outcomes"),
    "cmo": ("studies", "vocabulary"),
    "implementation": ("studies", "key:implementation_themes"),
    "economics": ("studies", "key:outcomes", "key:economics"),
    "moderators": ("studies", "key:moderators"),
    "rob": ("studies",),
    "key:initial_theory": ("vocabulary",),
    "key:certainty_overrides": ("key:outcomes",),
    "key:published_review": ("key:outcomes", "key:initial_theory", "key:implementation_themes"),
    "key:economics": ("reference",),
}

#: The steps that read part of a review. The others (validate, snapshots, findings, report) read all of it.
STEPS: dict[str, Reads] = {
    "effect": Reads(("studies", "effects"), ("outcomes", "bayes", "bma", "forest_order", "seed")),
    "mechanisms": Reads(("studies", "vocabulary", "cmo"), ("cmo_weights", "initial_theory")),
    "moderators": Reads(("studies", "effects", "moderators"), ("moderators", "outcomes", "seed")),
    "implementation": Reads(("studies", "implementation"), ("implementation_themes",)),
    "economics": Reads(("economics",), ("economics",), reference=True),
    "appraisal": Reads(("studies", "rob", "prisma"), ()),
    "rate": Reads(("studies", "effects", "cmo"), ("emmie_overrides", "moderators")),
}


def reads(step: str) -> Reads:
    """What ``step`` reads, with what decides the validity of what it reads (:data:`DECIDES`), transitively."""
    declared = STEPS.get(step, EVERYTHING)
    if declared.everything:
        return declared
    items = {*declared.tables, *(f"key:{k}" for k in (*ALWAYS, *(declared.keys or ())))}
    items |= {"reference"} if declared.reference else set()
    todo = list(items)
    while todo:
        for needed in DECIDES.get(todo.pop(), ()):
            if needed not in items:
                items.add(needed)
                todo.append(needed)
    return Reads(
        tables=tuple(t for t in TABLES if t in items),
        keys=tuple(sorted(i[4:] for i in items if i.startswith("key:"))),
        reference="reference" in items,
    )


def keys_fingerprint(config: Any, keys: tuple[str, ...] | None) -> str:
    """A short digest of ``config``'s values for ``keys`` and of the set of its top-level keys.

    The set of keys is in it because a key no step knows (a typo) makes the whole file invalid for every step,
    and correcting it must rerun the steps that stopped on it. ``config`` that is not a mapping (an unreadable
    file) gives a fixed digest of its own."""
    if not isinstance(config, dict):
        return "unreadable"
    chosen = config if keys is None else {k: config[k] for k in keys if k in config}
    text = json.dumps([sorted(map(str, config)), chosen], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
