"""Moderators: does the effect vary with study characteristics?

Subgroup analyses, meta-regression with Knapp-Hartung and permutation tests, and bubble plots,
all on the effect sizes computed by the Effect stage and joined to the ``moderators`` table.
"""

from emmie.moderators.permutation import PermutationTest, permutation_test
from emmie.moderators.plots import bubble_data, bubble_plot
from emmie.moderators.regression import ModeratorRegression, moderator_regression
from emmie.moderators.subgroups import SubgroupAnalysis, subgroup_analysis

__all__ = [
    "ModeratorRegression",
    "PermutationTest",
    "SubgroupAnalysis",
    "bubble_data",
    "bubble_plot",
    "moderator_regression",
    "permutation_test",
    "subgroup_analysis",
]
