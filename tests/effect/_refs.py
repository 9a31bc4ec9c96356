"""Loading the metafor reference fixtures (shared by the Effect-engine tests)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metafor"
REFERENCE_FILES = sorted(FIXTURES.glob("*.json")) + sorted((FIXTURES / "extra").glob("*.json"))
REFERENCE_FILES = [p for p in REFERENCE_FILES if not p.name.startswith("cr2_")]
CR2_FILES = sorted(FIXTURES.glob("cr2_*.json"))

# how metafor_reference.R called escalc() on each raw CSV
ESCALC = {
    "bcg_rr": ("RR", {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}),
    "bcg_or": ("OR", {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}),
    "bcg_rd": ("RD", {"ai": "tpos", "bi": "tneg", "ci": "cpos", "di": "cneg"}),
    "normand1999_md": ("MD", {k: k for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}),
    "normand1999_smd": ("SMD", {k: k for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}),
    "landenberger2005_or": ("OR", {"ai": "n.cbt.non", "bi": "n.cbt.rec", "ci": "n.ctrl.non", "di": "n.ctrl.rec"}),
    "molloy2014_zcor": ("ZCOR", {"ri": "ri", "ni": "ni"}),
    "li2007_or": ("OR", {k: k for k in ("ai", "n1i", "ci", "n2i")}),
    "dorn2007_rr": ("RR", {"ai": "x.a", "n1i": "n.a", "ci": "x.p", "n2i": "n.p"}),
    "egger2001_or": ("OR", {k: k for k in ("ai", "n1i", "ci", "n2i")}),
    "mcdaniel1994_zcor": ("ZCOR", {"ri": "ri", "ni": "ni"}),
    "curtis1998_rom": ("ROM", {k: k for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")}),
    "linde2005_rr": ("RR", {k: k for k in ("ai", "n1i", "ci", "n2i")}),
}


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def raw(path: Path) -> pd.DataFrame:
    return pd.read_csv(path.with_suffix(".csv"))


def close(actual, expected, rel: float = 1e-5, abs_near_zero: float = 1e-8) -> bool:
    """Relative tolerance, or absolute near zero; None/NaN in the reference must be NaN here."""
    a = np.asarray(actual, dtype=float)
    b = np.asarray([np.nan if x is None else x for x in np.atleast_1d(expected)], dtype=float).reshape(a.shape)
    both_nan = np.isnan(a) & np.isnan(b)
    ok = np.abs(a - b) <= np.maximum(rel * np.abs(b), abs_near_zero)
    return bool(np.all(both_nan | ok))
