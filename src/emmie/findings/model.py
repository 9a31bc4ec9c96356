"""What a reader is told: one record per statement, with what it rests on."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any

#: The outputs a finding can be shown on (the four pages of a review and the toolkit row).
PAGES = ("index", "practice-guide", "implementation-summary", "information-sheet", "toolkit")
DIMENSIONS = ("effect", "mechanisms", "moderators", "implementation", "economics")
#: Each dimension as a reader reads it.
DIMENSION_NAMES = {d: d.capitalize() for d in DIMENSIONS}


@dataclass(frozen=True)
class Finding:
    """One statement for a reader.

    Attributes
    ----------
    id : str
        Stable within a review, e.g. ``effect.verdict.care_entry``.
    dimension : str
        One of :data:`DIMENSIONS`, or ``"summary"``.
    statement : str
        The sentence the pages print, numbers already written in.
    certainty : str or None
        The certainty of the evidence behind it in words (GRADE level, or a qualifier such as
        "untested"); None where no certainty applies (a count, a description).
    numbers : dict
        The numbers behind the statement, unformatted, for anyone re-checking it.
    rule : str
        The written rule that produced it and its source.
    studies : list of str
        The studies (``study_id``) behind it.
    pages : tuple of str
        The outputs that must show it (:data:`PAGES`).
    headline : bool
        The dimension's headline (one per dimension).
    """

    id: str
    dimension: str
    statement: str
    rule: str
    certainty: str | None = None
    numbers: dict[str, Any] = field(default_factory=dict)
    studies: tuple[str, ...] = ()
    pages: tuple[str, ...] = ("index",)
    headline: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.pages) - set(PAGES)
        if unknown:
            raise ValueError(f"finding {self.id}: unknown page(s) {sorted(unknown)}")
        if not self.statement.strip():
            raise ValueError(f"finding {self.id}: empty statement")

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready data: what ``dataclasses.asdict`` gives (nothing shared with the finding), with
        the tuples of ids as lists."""
        d = {f.name: _copied(getattr(self, f.name)) for f in fields(self)}
        d["studies"] = list(self.studies)
        d["pages"] = list(self.pages)
        return d


_IMMUTABLE = (str, int, float, bool, type(None))


def _copied(value: Any) -> Any:
    """``dataclasses.asdict``'s copy of a field's value (the same cases in the same order as CPython's
    ``_asdict_inner``), without passing each number and string through ``copy.deepcopy``: a review of 10,000
    results has tens of thousands of them, which made most of the findings step's time."""
    if isinstance(value, _IMMUTABLE):
        return value
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple: its fields by position
        return type(value)(*[_copied(v) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_copied(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_copied(k), _copied(v)) for k, v in value.items())
    return copy.deepcopy(value)
