"""One plotting style for every lesson: a colourblind-safe palette (Okabe & Ito), sizes readable on a projector.

Nothing changes at import. A lesson opts in explicitly, once, in its setup cell:

    from bn_teach.plots import use_lesson_style
    use_lesson_style()
"""
import matplotlib as mpl
import numpy as np
import matplotlib.pyplot as plt
from cycler import cycler

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
PALETTE = {
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
    "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000", "grey": "#999999",
}
COLOR_CYCLE = [PALETTE[c] for c in ("blue", "orange", "green", "vermillion", "sky", "purple", "yellow", "black")]
# the same roles in every lesson
PLAIN, WITH_BN, ACCENT = PALETTE["orange"], PALETTE["blue"], PALETTE["green"]
LINESTYLES = ["-", "--", ":", "-."]

LESSON_RC = {
    "axes.prop_cycle": cycler(color=COLOR_CYCLE),
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


def show(fig):
    """Display a finished figure as a static PNG and close it (works under any backend, ipympl included).

    Static figures are what a reader sees on GitHub or in the HTML pages, where no kernel redraws widgets.
    Returns None, so a cell ending with show(fig) stores no repr.
    """
    import io

    from IPython.display import Image, display

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    plt.close(fig)
    display(Image(data=buf.getvalue(), format="png"))


def histogram_bars(ax, bins, color, label=None, alpha=0.6):
    """An empty histogram on fixed bins, to be filled by `set_histogram`: one filled step outline (a single
    path, so a redraw costs one draw call instead of one per bar)."""
    return ax.stairs(np.zeros(len(bins) - 1), bins, fill=True, color=color, alpha=alpha, label=label)


def set_histogram(bars, values, bins):
    """Set a `histogram_bars` to the density histogram of values (values outside bins are dropped; no values:
    an empty histogram). Returns the heights."""
    counts, _ = np.histogram(values, bins=bins)
    heights = counts / max(len(values), 1) / np.diff(bins)
    bars.set_data(heights)
    return heights
