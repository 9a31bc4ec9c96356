"""emmie: a pipeline for realist / EMMIE systematic reviews.

The package is the functional core; the Snakefile is a thin shell around the
``emmie`` command line (see :mod:`emmie.cli`).
"""

__version__ = "0.1.0"
