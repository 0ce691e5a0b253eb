"""One plotting style for every lesson: a colourblind-safe palette (Okabe & Ito), sizes readable on a projector.

Nothing changes at import. A lesson opts in explicitly, once, in its setup cell:

    from bn_teach.plots import use_lesson_style
    use_lesson_style()
"""
import matplotlib as mpl
import matplotlib.pyplot as plt
from cycler import cycler

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
PALETTE = {
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
    "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000", "grey": "#999999",
}
COLORS = [PALETTE[c] for c in ("blue", "orange", "green", "vermillion", "sky", "purple", "yellow", "black")]
# the same roles in every lesson
PLAIN, WITH_BN, ACCENT = PALETTE["orange"], PALETTE["blue"], PALETTE["green"]
LINESTYLES = ["-", "--", ":", "-."]

LESSON_RC = {
    "axes.prop_cycle": cycler(color=COLORS),
    "figure.figsize": (8.0, 4.0),
    "figure.dpi": 80,
    "figure.facecolor": "white",  # stays legible on JupyterLab's dark theme: figures are white cards
    "savefig.facecolor": "white",
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "legend.fontsize": 11,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 2.0,
    "figure.constrained_layout.use": True,
    "svg.hashsalt": "bn-teach",
}


def use_lesson_style():
    """Apply the lesson style to matplotlib's rcParams (call it once, in a lesson's setup cell)."""
    mpl.rcParams.update(LESSON_RC)


def lesson_style():
    """Context manager form: `with lesson_style(): ...` applies the style only inside the block."""
    return mpl.rc_context(LESSON_RC)


def new_figure(nrows=1, ncols=1, **kwargs):
    """plt.subplots without auto-display (for widgets that show fig.canvas themselves)."""
    with plt.ioff():
        return plt.subplots(nrows, ncols, **kwargs)
