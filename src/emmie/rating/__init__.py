"""EMMIE-Q: the rubric as data and the rules that propose a level per dimension."""

from emmie.rating.rules import DIMENSIONS, Proposal, apply_overrides, descriptor, propose_levels, rubric

__all__ = ["DIMENSIONS", "Proposal", "apply_overrides", "descriptor", "propose_levels", "rubric"]
