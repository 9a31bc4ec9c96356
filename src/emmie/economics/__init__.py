"""Economics: currency / price-year conversion, unit costs and (where possible) cost-effectiveness."""

from emmie.economics.convert import Conversion, convert, load_reference
from emmie.economics.synthesis import NO_EVIDENCE, pooled_effects, synthesise

__all__ = ["NO_EVIDENCE", "Conversion", "convert", "load_reference", "pooled_effects", "synthesise"]
