"""The normal log density with scipy's arithmetic and without its argument checks.

``scipy.stats.norm.logpdf(x, loc, scale)`` checks and broadcasts its arguments through masks before computing
``-z**2 / 2 - log(sqrt(2 pi)) - log(scale)`` with ``z = (x - loc) / scale``: on a grid of 1,536 heterogeneity nodes
by 1,000 studies (Bayesian model averaging) the checks take 2.5 times as long as the arithmetic. :func:`logpdf` does
the same operations in the same order, so it gives the same bits (tested), for a positive finite ``scale``.
"""

from __future__ import annotations

import numpy as np

_LOG_SQRT_2PI = np.log(np.sqrt(2 * np.pi))  # scipy's _norm_pdf_logC


def logpdf(x, loc, scale):  # noqa: ANN001, ANN201 - arrays or floats, as numpy broadcasts them
    """log N(x; loc, scale^2), as ``scipy.stats.norm.logpdf(x, loc, scale)`` for ``scale > 0``."""
    z = (x - loc) / scale
    return -(z**2) / 2.0 - _LOG_SQRT_2PI - np.log(scale)
