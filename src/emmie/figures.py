"""What every emmie figure shares: the Okabe-Ito palette and byte-reproducible SVG.

Every figure of every stage is drawn on a :func:`new_figure` and written with :func:`to_svg`.

References
----------
Okabe, M. & Ito, K. (2008). Color Universal Design (CUD): how to make figures and
presentations that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
"""

from __future__ import annotations

import io
from html import escape

import matplotlib

matplotlib.use("Agg")
# Labels come from the data: "Income under $20,000 and over $50,000" is money, not TeX. Text is never parsed
# as mathtext (a stray "$\\notamacro$" would otherwise stop the stage).
matplotlib.rcParams["text.parse_math"] = False
from matplotlib.figure import Figure  # noqa: E402

from emmie.palette import OKABE_ITO  # noqa: E402, F401 - figures name their colours from here


def new_figure(width: float, height: float) -> Figure:
    """A figure outside pyplot's global state (nothing to close, nothing shared)."""
    return Figure(figsize=(width, height))


SVG_RC = {"svg.hashsalt": "emmie", "svg.fonttype": "none", "font.family": "DejaVu Sans", "text.parse_math": False}


def to_svg(fig: Figure, *, title: str | None = None, tight: bool = True, rc: dict | None = None) -> str:
    """SVG text that is identical from run to run: fixed hash salt, no date, text kept as text.

    ``title`` becomes the SVG's first ``<title>`` element (its accessible name); ``rc``
    adds matplotlib settings for this figure only.
    """
    buf = io.StringIO()
    with matplotlib.rc_context({**SVG_RC, **(rc or {})}):
        fig.savefig(
            buf,
            format="svg",
            metadata={"Date": None, **({"Title": title} if title else {})},
            **({"bbox_inches": "tight"} if tight else {}),
        )
    svg = buf.getvalue()
    if title:
        head_end = svg.index(">", svg.index("<svg")) + 1
        svg = svg[:head_end] + f"\n <title>{escape(title)}</title>" + svg[head_end:]
    return svg
