"""The Effect engine: frequentist meta-analysis matching R metafor.

Public API (stable; external validation scripts call exactly these names)::

    effect_sizes, meta_analysis, meta_analysis_grouped, heterogeneity_ci, meta_regression,
    leave_one_out, cumulative, blup, ranef, egger_test, rank_test, trim_and_fill, failsafe_n,
    bayesian_meta_analysis, meta_analysis_mv, vcalc, shared_group_covariance, multiple_endpoint_covariance,
    meta_analysis_mh, meta_analysis_peto, influence, influence_mv, selection_model, pet_peese,
    bayesian_model_averaging
"""

from emmie.effect.bayes import bayesian_meta_analysis
from emmie.effect.bias import egger_test, failsafe_n, rank_test, trim_and_fill
from emmie.effect.blup import blup, ranef
from emmie.effect.bma import bayesian_model_averaging
from emmie.effect.covariance import multiple_endpoint_covariance, shared_group_covariance
from emmie.effect.escalc import effect_sizes
from emmie.effect.grouped import meta_analysis_grouped
from emmie.effect.heterogeneity import heterogeneity_ci
from emmie.effect.influence import cumulative, influence, influence_mv, leave_one_out
from emmie.effect.metareg import meta_regression
from emmie.effect.mh import meta_analysis_mh, meta_analysis_peto
from emmie.effect.multilevel import MultilevelFit, meta_analysis_mv, vcalc
from emmie.effect.petpeese import pet_peese
from emmie.effect.rma import MetaAnalysis, meta_analysis
from emmie.effect.selection import selection_model

__all__ = [
    "MetaAnalysis",
    "MultilevelFit",
    "bayesian_meta_analysis",
    "bayesian_model_averaging",
    "blup",
    "cumulative",
    "effect_sizes",
    "egger_test",
    "failsafe_n",
    "heterogeneity_ci",
    "influence",
    "influence_mv",
    "leave_one_out",
    "meta_analysis",
    "meta_analysis_grouped",
    "meta_analysis_mh",
    "meta_analysis_mv",
    "meta_analysis_peto",
    "meta_regression",
    "multiple_endpoint_covariance",
    "pet_peese",
    "rank_test",
    "ranef",
    "selection_model",
    "shared_group_covariance",
    "trim_and_fill",
    "vcalc",
]
