"""The colours of every figure: Okabe & Ito's palette, safe for the common colour-vision deficiencies.

Okabe, M. & Ito, K. (2008). Color Universal Design (CUD). https://jfly.uni-koeln.de/color/

A module of its own so that code that only names colours does not import matplotlib.
"""

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#999999",
    "light_grey": "#BBBBBB",
}
