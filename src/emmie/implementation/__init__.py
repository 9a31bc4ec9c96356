"""Implementation: barriers and enablers by theme and level."""

from emmie.implementation.synthesis import ImplementationSynthesis, matrix_data, matrix_plot, synthesise

__all__ = ["ImplementationSynthesis", "matrix_data", "matrix_plot", "synthesise"]
