"""What every emmie figure shares: the Okabe-Ito palette and byte-reproducible SVG.

Used by the risk-of-bias, PRISMA, Implementation and Economics figures.

References
----------
Okabe, M. & Ito, K. (2008). Color Universal Design (CUD): how to make figures and
presentations that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#BBBBBB",
}


def new_figure(width: float, height: float) -> Figure:
    """A figure outside pyplot's global state (nothing to close, nothing shared)."""
    return Figure(figsize=(width, height))


def to_svg(fig: Figure) -> str:
    """SVG text that is identical from run to run: fixed hash salt, no date."""
    buf = io.StringIO()
    with plt.rc_context({"svg.hashsalt": "emmie", "svg.fonttype": "none", "font.family": "DejaVu Sans"}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    return buf.getvalue()
