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
    """Set a `histogram_bars` to the density histogram of values on `bins` (values outside bins are dropped; no
    values: an empty histogram). Returns the heights."""
    counts, _ = np.histogram(values, bins=bins)
    heights = counts / max(len(values), 1) / np.diff(bins)
    bars.set_data(heights, bins)
    return heights


def fit_histogram(bars, values, lo, hi, width, floor):
    """Set a `histogram_bars` to the density histogram of values on bins of `width`, and fit its axes to it: the
    x-axis spans [lo, hi], widened (on the same grid of bin edges) to take in every value, so none is dropped; the
    y-axis is (0, floor), raised when a bar is taller (see `fit_ylim`). Returns the heights."""
    v = np.ravel(np.asarray(values, float))
    if v.size:  # np.histogram counts values on the outer edges, so only values beyond them widen the axis
        lo -= width * max(0.0, np.ceil((lo - v.min()) / width))
        hi += width * max(0.0, np.ceil((v.max() - hi) / width))
    bins = np.linspace(lo, hi, int(round((hi - lo) / width)) + 1)
    heights = set_histogram(bars, v, bins)
    bars.axes.set_xlim(lo, hi)
    fit_ylim(bars.axes, heights, floor=floor)
    return heights


def fmt(value, digits=2):
    """A number with `digits` decimals, never "-0.00": a value that rounds to zero prints as 0.00."""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def fit_ylim(ax, values, floor=None, bottom=0.0, margin=1.1):
    """Set the y-axis of `ax` to (bottom, top) with top the larger of `floor` and margin x the largest finite
    value: the axis keeps its usual range and grows only when a value would leave it. Returns top."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    top = max([floor or 0.0] + ([margin * v.max()] if v.size else []))
    ax.set_ylim(bottom, top if top > bottom else bottom + 1.0)
    return top


def _display_points(artist, renderer):
    """The display-space (pixel) points an artist draws its data at, or None for artists this check ignores."""
    from matplotlib.collections import Collection, PathCollection
    from matplotlib.legend import Legend
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.text import Text

    if not artist.get_visible() or isinstance(artist, Legend):
        return None
    if isinstance(artist, Line2D):
        xy = np.column_stack([np.asarray(artist.get_xdata(), float), np.asarray(artist.get_ydata(), float)])
        return artist.get_transform().transform(xy[np.all(np.isfinite(xy), axis=1)])
    if isinstance(artist, Patch):
        return artist.get_transform().transform(artist.get_path().vertices)
    if isinstance(artist, PathCollection):  # scatter: the points are the offsets, the paths are marker shapes
        return artist.get_offset_transform().transform(np.asarray(artist.get_offsets(), float))
    if isinstance(artist, Collection):  # contours and the like: the paths are in data coordinates
        pts = [artist.get_transform().transform(p.vertices) for p in artist.get_paths() if len(p.vertices)]
        return np.concatenate(pts) if pts else None
    if isinstance(artist, Text):
        if not artist.get_text():
            return None
        box = artist.get_window_extent(renderer)
        return np.array([[box.x0, box.y0], [box.x1, box.y1]])
    return None


def data_outside_axes(fig, tol=1.0):
    """Every plotted thing of `fig` that leaves its axes: lines' points, bars and histogram outlines, collections
    and texts, compared in pixels with their axes' box. Returns a list of "axes title: artist label (n points
    outside)" strings; empty when every value lies inside its axes. Titles and legends are not data."""
    renderer = fig.canvas.get_renderer()
    found = []
    for ax in all_axes(fig):
        box = ax.get_window_extent(renderer)
        for artist in ax.lines + ax.patches + ax.collections + ax.texts:
            pts = _display_points(artist, renderer)
            if pts is None or not len(pts):
                continue
            out = ((pts[:, 0] < box.x0 - tol) | (pts[:, 0] > box.x1 + tol)
                   | (pts[:, 1] < box.y0 - tol) | (pts[:, 1] > box.y1 + tol))
            if out.any():
                found.append(f"{ax.get_title() or ax.get_ylabel()}: {_name(artist)} ({int(out.sum())} points outside)")
    return found


def all_axes(fig):
    """The figure's axes and their insets (`ax.inset_axes` children are not in fig.axes)."""
    return [a for ax in fig.axes for a in [ax] + list(ax.child_axes)]


def _name(artist):
    label = str(artist.get_label() or "_")
    return f"{type(artist).__name__} {artist.get_text()!r}" if hasattr(artist, "get_text") else (
        type(artist).__name__ if label.startswith("_") else label)


def legend_covers_data(fig):
    """Every axes whose legend box lies over its data (a point of a line's or outline's segments, any part of a
    bar): a list of "y-label: legend over artist" strings; empty when no legend hides data."""
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import Bbox

    renderer = fig.canvas.get_renderer()
    found = []
    for ax in all_axes(fig):
        legend = ax.get_legend()
        if legend is None or not legend.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        for artist in ax.lines + ax.patches:
            if not artist.get_visible() or artist.get_alpha() == 0:
                continue
            pts = _display_points(artist, renderer)
            if pts is None or not len(pts):
                continue
            if isinstance(artist, Rectangle):  # a bar: any overlap of its box
                hit = box.overlaps(Bbox([pts.min(axis=0), pts.max(axis=0)]))
            else:  # a line or an outline: its segments, not just its vertices
                t = np.linspace(0, 1, 20)[:, None, None]
                pts = (pts[:-1] * (1 - t) + pts[1:] * t).reshape(-1, 2) if len(pts) > 1 else pts
                hit = np.any((pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1))
            if hit:
                found.append(f"{ax.get_ylabel()}: legend over {_name(artist)}")
                break
    return found


def chance_line(ax, level, text="chance"):
    """A dotted grey horizontal line at `level` (a fraction), labelled for the legend, e.g. "chance (10 %)"."""
    return ax.axhline(level, color=PALETTE["grey"], ls=":", lw=1.5, label=f"{text} ({100 * level:g} %)")


def legend_outside(ax, **kwargs):
    """The axes' legend to the right of its plotting area, where it cannot cover data."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


def legend_above(fig, ax):
    """One legend for the whole figure, in a row above the axes (room made by constrained layout): it cannot
    cover data and adds no width, for figures whose panels fill the notebook's width. Uses `ax`'s entries."""
    handles, labels = ax.get_legend_handles_labels()
    return fig.legend(handles, labels, loc="outside upper center", ncols=len(labels), frameon=False)


def bar_labels(ax, bars, fontsize=9):
    """One empty text above each bar, for `set_bar`: its value is written on top of it."""
    return [ax.text(b.get_x() + b.get_width() / 2, 0, "", ha="center", va="bottom", fontsize=fontsize) for b in bars]


def set_bar(bar, label, value, missing="diverged"):
    """Set a bar's height to a fraction `value` and write it as a percentage above the bar ("diverged" and
    height 0 when value is NaN)."""
    ok = np.isfinite(value)
    bar.set_height(value if ok else 0.0)
    label.set_text(f"{value:.0%}" if ok else missing)
    label.set_y(value if ok else 0.0)
