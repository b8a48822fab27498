"""The paper theme: column widths, fonts and a colour-blind-safe palette for every paistats chart.

Widths are in CSS pixels at 72 px per inch, so a chart exported at ``scale=1`` is exactly one
column wide: :data:`SINGLE_COLUMN` = 3.33 in (240 px, a two-column paper's column) and
:data:`DOUBLE_COLUMN` = 7 in (504 px, the full text width). Fonts are 8-9 pt, the size of a
paper's captions. Colours are Okabe & Ito's palette (distinguishable under the common forms of
colour blindness); the variants and pruning methods keep one colour each across all figures.
"""
from __future__ import annotations

import altair as alt

from paistats.vocabulary import RANDOM_PRUNER, REFERENCE_VARIANT

THEME = "paistats"

SINGLE_COLUMN = 240
"""Width of one column of a two-column paper (3.33 in at 72 px/in), in pixels."""
DOUBLE_COLUMN = 504
"""Full text width (7 in at 72 px/in), in pixels."""

FONT = "Helvetica, Arial, 'DejaVu Sans', sans-serif"

# Okabe & Ito (2008), "Color universal design": safe for deuteranopia, protanopia and tritanopia.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7",
    "grey": "#999999",
}
PALETTE = [OKABE_ITO[k] for k in ("blue", "orange", "bluish_green", "vermillion", "reddish_purple",
                                  "sky_blue", "black", "yellow", "grey")]

VARIANT_COLORS = {
    REFERENCE_VARIANT: OKABE_ITO["black"], "shuffle": OKABE_ITO["orange"], "reinit": OKABE_ITO["sky_blue"],
    "invert": OKABE_ITO["vermillion"], RANDOM_PRUNER: OKABE_ITO["grey"], "noise floor": OKABE_ITO["bluish_green"],
}
"""One colour per variant (and for the two baselines of a distance plot: ``random`` pruning and the
seed ``noise floor``)."""
PRUNER_COLORS = {
    RANDOM_PRUNER: OKABE_ITO["grey"], "magnitude": OKABE_ITO["black"], "snip": OKABE_ITO["blue"],
    "grasp": OKABE_ITO["orange"], "grasp_abs": OKABE_ITO["reddish_purple"], "synflow": OKABE_ITO["bluish_green"],
}
"""One colour per pruning method."""
VERDICT_COLORS = {
    "equivalent": OKABE_ITO["bluish_green"], "non-inferior": OKABE_ITO["sky_blue"],
    "better": OKABE_ITO["blue"], "worse": OKABE_ITO["vermillion"],
    "higher": OKABE_ITO["blue"], "lower": OKABE_ITO["vermillion"],
    "above noise": OKABE_ITO["orange"], "below noise": OKABE_ITO["sky_blue"],
    "inconclusive": OKABE_ITO["grey"], "untestable": OKABE_ITO["yellow"],
    "no-op by construction": OKABE_ITO["black"],
}
DIVERGING_SCHEME = "blueorange"
"""Vega scheme for signed changes (blue negative, orange positive; readable in deuteranopia)."""


def scale_for(values, colors: dict[str, str]) -> alt.Scale:
    """A colour scale that keeps each known name's colour; unknown names take the rest of :data:`PALETTE`."""
    names = list(dict.fromkeys(str(v) for v in values))
    spare = [c for c in PALETTE if c not in colors.values()] + PALETTE
    rng, k = [], 0
    for n in names:
        if n in colors:
            rng.append(colors[n])
        else:
            rng.append(spare[k % len(spare)])
            k += 1
    return alt.Scale(domain=names, range=rng)


def config() -> dict:
    """The theme as a Vega-Lite ``config`` mapping."""
    label, title = 8, 9
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "view": {"continuousWidth": SINGLE_COLUMN, "continuousHeight": 160, "stroke": "#bbbbbb"},
            "axis": {"labelFontSize": label, "titleFontSize": title, "titleFontWeight": "normal",
                     "gridColor": "#e6e6e6", "domainColor": "#555555", "tickColor": "#555555"},
            "legend": {"labelFontSize": label, "titleFontSize": title, "titleFontWeight": "normal",
                       "symbolSize": 50, "orient": "right"},
            "header": {"labelFontSize": title, "titleFontSize": title, "titleFontWeight": "normal"},
            "title": {"fontSize": 10, "fontWeight": "bold", "anchor": "start", "subtitleFontSize": label},
            "range": {"category": PALETTE},
            "line": {"strokeWidth": 1.5},
            "point": {"size": 25, "filled": True},
            "text": {"fontSize": label},
        }
    }


@alt.theme.register(THEME, enable=False)
def _paistats_theme() -> alt.theme.ThemeConfig:
    return alt.theme.ThemeConfig(config=config()["config"])


def enable():
    """Make the paper theme Altair's active theme.

    Returns Altair's context manager, so ``with paistats.plot.theme.enable(): ...`` restores the
    previous theme afterwards; a plain call leaves it on (as in a notebook).
    """
    return alt.theme.enable(THEME)
