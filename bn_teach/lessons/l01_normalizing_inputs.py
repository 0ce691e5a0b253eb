"""Lesson 1, normalizing inputs: a two-feature linear regression whose loss surface and gradient-descent path
change with how the features are preprocessed (raw, scaled, min-max, standardized)."""
import ipywidgets as widgets
import numpy as np

from ..evidence import SEEDS, Spread, compare
from ..plots import ACCENT, PLAIN, WITH_BN, new_figure
from ..widgets import Live

METHODS = ("raw", "scaled", "min-max", "standardized")


def make_problem(ratio=10.0, n=500, seed=0):
    """Two features with the same shape but scales 1 and `ratio` (both with mean 2 x scale), and a target
    y = 1.5 * z1 - 2 * z2 + noise in terms of the standardized features z. Returns x (n, 2), y (n,)."""
    if not np.isfinite(ratio) or ratio <= 0:
        raise ValueError(f"ratio must be a finite number > 0, got {ratio!r}")
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    x = (z + 2.0) * np.array([1.0, ratio])
    y = 1.5 * z[:, 0] - 2.0 * z[:, 1] + 0.5 * rng.normal(size=n)
    return x, y


def preprocess(x, method):
    """raw: unchanged; scaled: divided by the largest |value|; min-max: mapped onto [0, 1];
    standardized: mean 0 and standard deviation 1 per feature."""
    if method == "raw":
        return x.copy()
    if method == "scaled":
        return x / np.abs(x).max(axis=0)
    if method == "min-max":
        lo, hi = x.min(axis=0), x.max(axis=0)
        return (x - lo) / (hi - lo)
    if method == "standardized":
        return (x - x.mean(axis=0)) / x.std(axis=0)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


class Quadratic:
    """Mean squared error of y ~ w1 * x1 + w2 * x2 + b as a quadratic: loss(p) = p H p / 2 - g p + c, p = (w1, w2, b)."""

    def __init__(self, x, y):
        a = np.column_stack([x, np.ones(len(x))])
        self.H = 2 * a.T @ a / len(x)
        self.g = 2 * a.T @ y / len(x)
        self.c = float(np.mean(y ** 2))
        self.opt = np.linalg.solve(self.H, self.g)
        self.eigs = np.linalg.eigvalsh(self.H)
        self.lr = 1.0 / self.eigs[-1]  # the largest stable-and-fast step for gradient descent, 1 / L

    @property
    def condition_number(self):
        """Largest over smallest curvature of the whole problem, over (w1, w2, b): what gradient descent sees."""
        return float(self.eigs[-1] / self.eigs[0])

    @property
    def condition_number_weights(self):
        """Condition number over (w1, w2) with the bias at its best value for each (w1, w2): the valley that
        `draw_landscape` draws. Its curvature is the Schur complement H_ww - H_wb H_bw / H_bb."""
        h = self.H
        reduced = h[:2, :2] - np.outer(h[:2, 2], h[2, :2]) / h[2, 2]
        eigs = np.linalg.eigvalsh(reduced)
        return float(eigs[-1] / eigs[0])

    def loss(self, p):
        p = np.asarray(p)
        return 0.5 * np.einsum("...i,ij,...j->...", p, self.H, p) - p @ self.g + self.c

    def path(self, steps, start=(0.0, 0.0, 0.0)):
        """Gradient-descent iterates p_t, t = 0..steps, with learning rate 1 / L: array (steps + 1, 3)."""
        p = np.array(start, float)
        out = [p.copy()]
        for _ in range(steps):
            p = p - self.lr * (self.H @ p - self.g)
            out.append(p.copy())
        return np.array(out)

    def steps_to_converge(self, tol=1e-6, start=(0.0, 0.0, 0.0), max_steps=10**7):
        """Fewest gradient-descent steps (learning rate 1 / L) after which loss - min <= tol * (initial gap);
        computed exactly from the eigen-decomposition. Returns None if more than max_steps are needed."""
        lam, vec = np.linalg.eigh(self.H)
        d = vec.T @ (np.array(start, float) - self.opt)
        w = 0.5 * lam * d ** 2
        rate = (1.0 - self.lr * lam) ** 2

        def gap(t):
            return float(np.sum(w * rate ** t))

        target = tol * gap(0)
        if gap(max_steps) > target:
            return None
        lo, hi = 0, 1
        while gap(hi) > target:
            lo, hi = hi, hi * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if gap(mid) > target else (lo, mid)
        return hi


def compare_methods(ratio=10.0, seed=0):
    """{method: (condition number, steps to converge)} for one problem."""
    x, y = make_problem(ratio, seed=seed)
    out = {}
    for m in METHODS:
        q = Quadratic(preprocess(x, m), y)
        out[m] = (q.condition_number, q.steps_to_converge())
    return out


def compare_over_seeds(ratios=(1, 10, 100), seeds=SEEDS):
    """`compare_methods` for every ratio, over the data sets drawn with each seed:
    {ratio: {method: (Spread of condition numbers, Spread of steps to converge)}}."""
    out = {}
    for ratio in ratios:
        runs = [compare_methods(ratio, seed) for seed in seeds]
        out[ratio] = {m: (Spread([r[m][0] for r in runs]), Spread([r[m][1] for r in runs])) for m in METHODS}
    return out


def steps_table(results):
    """A `compare_over_seeds` result as text: steps to converge and condition number, mean (min-max) over seeds."""
    lines = []
    for ratio, row in results.items():
        lines.append(f"scale ratio {ratio}:")
        for m, (cond, steps) in row.items():
            lines.append(f"  {m:>13}: {format(steps, ',.0f'):>31} steps   condition number {format(cond, ',.0f')}")
    return "\n".join(lines)


def fewest_steps(results):
    """For every ratio, standardized's steps against each other method's (`compare` over the seeds): "fewer" when
    its range lies below the other's, "more" when above, else "no measurable difference"."""
    words = {"lower": "fewer", "higher": "more"}
    return {ratio: {m: words.get(v, v) for m in METHODS if m != "standardized"
                    for v in [compare(row["standardized"][1], row[m][1])]}
            for ratio, row in results.items()}


def draw_landscape(ax, q, steps=60, levels=12):
    """Contours of the loss over (w1, w2), the bias kept at its best value for each point, and the first
    `steps` gradient-descent iterates. Returns the artists it added (to remove on the next redraw)."""
    path = q.path(steps)
    span = np.abs(np.concatenate([path[:, :2], q.opt[None, :2]])).max() * 1.3 + 1e-9
    w1, w2 = np.meshgrid(np.linspace(-span, span, 90), np.linspace(-span, span, 90))
    # the best bias for given (w1, w2) solves dL/db = 0
    h = q.H
    b = (q.g[2] - h[2, 0] * w1 - h[2, 1] * w2) / h[2, 2]
    grid = np.stack([w1, w2, b], axis=-1)
    loss = q.loss(grid) - q.loss(q.opt)
    cs = ax.contour(w1, w2, np.log10(loss + 1e-12), levels=levels, colors=PLAIN, linewidths=0.8, linestyles="solid", alpha=0.7)
    line, = ax.plot(path[:, 0], path[:, 1], "o-", color=WITH_BN, ms=3, lw=1.2)
    star, = ax.plot([q.opt[0]], [q.opt[1]], "*", color=ACCENT, ms=14)
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    return [cs, line, star] + _zoom_on_short_path(ax, path, span)


def _zoom_on_short_path(ax, path, span, smallest=0.05):
    """A path shorter than `smallest` of the axis is a dot: show it magnified in an inset (lower left, away from
    the start at the centre and the minimum). Returns [inset] or []."""
    extent = np.ptp(path[:, :2], axis=0).max()
    if extent >= smallest * 2 * span:
        return []
    inset = ax.inset_axes([0.05, 0.05, 0.38, 0.38])
    inset.plot(path[:, 0], path[:, 1], "o-", color=WITH_BN, ms=3, lw=1.2)
    pad = 0.15 * extent + 1e-12
    inset.set_xlim(path[:, 0].min() - pad, path[:, 0].max() + pad)
    inset.set_ylim(path[:, 1].min() - pad, path[:, 1].max() + pad)
    inset.tick_params(labelbottom=False, labelleft=False)  # its scale is in the title; no clash with the axes' own
    inset.set_title(f"the path, zoomed x{2 * span / extent:,.0f}", fontsize=9)
    return [inset]


def _steps_text(n):
    """A step count with thousands separators; None (more than the cap) as "> 10,000,000"."""
    return f"> {10**7:,}" if n is None else f"{n:,}"


def landscape_explorer(seed=0):
    """Live figure: loss contours and gradient-descent paths for raw and for preprocessed features,
    with a slider for the ratio of the two features' scales and a menu for the preprocessing."""
    fig, (ax_raw, ax_pre) = new_figure(1, 2, figsize=(10, 4.3))
    for ax in (ax_raw, ax_pre):
        ax.set(xlabel="w1", ylabel="w2")
    artists = []

    def update(ratio, method):
        for a in artists:
            a.remove()
        artists.clear()
        x, y = make_problem(ratio, seed=seed)
        for ax, m in ((ax_raw, "raw"), (ax_pre, method)):
            q = Quadratic(preprocess(x, m), y)
            artists.extend(draw_landscape(ax, q))
            n = q.steps_to_converge()
            ax.set_title(f"{m}: {_steps_text(n)} steps to converge")
        return None

    return Live(fig, update,
                ratio=widgets.FloatLogSlider(value=10.0, base=10, min=0, max=2, step=0.25,
                                             description="scale ratio"),
                method=widgets.Dropdown(options=METHODS[1:], value="standardized", description="right panel"))
