"""The Effect engine: frequentist meta-analysis matching R metafor.

Public API (stable; external validation scripts call exactly these names)::

    effect_sizes, meta_analysis, meta_analysis_grouped, heterogeneity_ci, meta_regression,
    leave_one_out, cumulative, blup, ranef, egger_test, rank_test, trim_and_fill, failsafe_n,
    bayesian_meta_analysis, meta_analysis_mv, vcalc, shared_group_covariance, multiple_endpoint_covariance,
    meta_analysis_mh, meta_analysis_peto, influence, influence_mv, selection_model, pet_peese,
    bayesian_model_averaging
"""

from importlib import import_module
from typing import TYPE_CHECKING

# Each name is imported from its module when first used (PEP 562), so that a step which needs one part of the
# engine (the SWiM summary, say) does not import SciPy's optimisers, statistics and every model at start-up:
# each pipeline step is a process of its own, and the imports were most of a small step's time.
_WHERE = {
    "MetaAnalysis": "emmie.effect.rma",
    "MultilevelFit": "emmie.effect.multilevel",
    "bayesian_meta_analysis": "emmie.effect.bayes",
    "bayesian_model_averaging": "emmie.effect.bma",
    "blup": "emmie.effect.blup",
    "cumulative": "emmie.effect.influence",
    "effect_sizes": "emmie.effect.escalc",
    "egger_test": "emmie.effect.bias",
    "failsafe_n": "emmie.effect.bias",
    "heterogeneity_ci": "emmie.effect.heterogeneity",
    "influence": "emmie.effect.influence",
    "influence_mv": "emmie.effect.influence",
    "leave_one_out": "emmie.effect.influence",
    "meta_analysis": "emmie.effect.rma",
    "meta_analysis_grouped": "emmie.effect.grouped",
    "meta_analysis_mh": "emmie.effect.mh",
    "meta_analysis_mv": "emmie.effect.multilevel",
    "meta_analysis_peto": "emmie.effect.mh",
    "meta_regression": "emmie.effect.metareg",
    "multiple_endpoint_covariance": "emmie.effect.covariance",
    "pet_peese": "emmie.effect.petpeese",
    "ranef": "emmie.effect.blup",
    "rank_test": "emmie.effect.bias",
    "selection_model": "emmie.effect.selection",
    "shared_group_covariance": "emmie.effect.covariance",
    "trim_and_fill": "emmie.effect.bias",
    "vcalc": "emmie.effect.multilevel",
}

if TYPE_CHECKING:  # for type checkers and IDEs: the names as if imported here
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


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'emmie.effect' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


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
