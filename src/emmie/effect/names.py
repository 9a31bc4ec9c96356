"""What the pages call each test and estimator (a module of its own: the pages need the words, not SciPy)."""

TEST_NAMES = {"z": "z (Wald)", "knha": "Knapp-Hartung", "cr2": "CR2 cluster-robust (Satterthwaite t)"}
METHOD_NAMES = {
    "EE": "equal-effects",
    "DL": "DerSimonian-Laird",
    "HE": "Hedges",
    "HS": "Hunter-Schmidt",
    "SJ": "Sidik-Jonkman",
    "ML": "maximum-likelihood",
    "REML": "restricted maximum-likelihood",
    "EB": "empirical Bayes",
    "PM": "Paule-Mandel",
}
#: How the pages name each prior family of tau (Cauchy is a name: half-Cauchy).
PRIOR_NAMES = {"half_normal": "half-normal", "half_cauchy": "half-Cauchy", "invgamma": "inverse-gamma"}


def prior_name(family: str) -> str:
    """The name of a prior family of tau as the pages write it (``"half_cauchy"`` -> ``"half-Cauchy"``)."""
    return PRIOR_NAMES.get(family, family.replace("_", "-"))
