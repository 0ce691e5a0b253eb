"""Lesson 5, regularization and batch size: batch-statistics noise, train vs eval mode, the generalization gap,
tiny batches, and the batch-independent alternatives LayerNorm and GroupNorm."""
import ipywidgets as widgets
import numpy as np

from ..digits import load_digits_split
from ..evidence import SEEDS, Spread, compare, compare_paired
from ..network import MLP
from ..parallel import run_all
from ..plots import PALETTE, PLAIN, WITH_BN, bar_labels, chance_line, legend_outside, new_figure
from ..runs import train_on_digits
from ..sweeps import per_seed
from ..widgets import Live

NORM_KINDS = (None, "batch", "layer", "group")
NORM_NAMES = {None: "none", "batch": "BatchNorm", "layer": "LayerNorm", "group": "GroupNorm"}
NORM_KEYS = {None: "none", "batch": "batch", "layer": "layer", "group": "group"}  # how results name them
NORM_COLORS = {None: PLAIN, "batch": WITH_BN, "layer": PALETTE["green"], "group": PALETTE["purple"]}
BATCH_SIZES = (2, 4, 8, 32, 128)
GAP_BATCH_SIZES = (8, 32, 128)
# Wu & He (2018), Group Normalization, Figure 1: ResNet-50 on ImageNet, validation error (%) by images per GPU
WU_HE_BN_ERROR = {32: 23.6, 16: 23.7, 8: 24.8, 4: 27.3, 2: 34.7}
WU_HE_GN_ERROR = 24.1  # about the same at every batch size


def _fmt(spread, spec, width):
    """A Spread as "mean (min-max)", right-aligned in `width` characters."""
    return format(spread, spec).rjust(width)


def compare_with_wu_he(grid, batch_sizes=(32, 8, 4, 2)):
    """Text: test error (%) of our BatchNorm and GroupNorm MLPs, mean (min-max) over the seeds of a
    `batch_size_grid`, beside Wu & He's ResNet-50 on ImageNet (one run each, as published), and each one's loss
    from the largest batch size listed to the smallest (ours: the mean, and the min-max of the per-seed losses)."""
    ours = {n: {b: 100 * (1 - per_seed(grid[n][str(b)]["test"])) for b in batch_sizes} for n in ("batch", "group")}
    lines = [f"{'batch':>5}  {'ours: BN':>18} {'ours: GN':>18}   {'Wu & He: BN':>11} {'Wu & He: GN':>11}"]
    for b in batch_sizes:
        bn, gn = (_fmt(Spread(ours[n][b]), ".1f", 18) for n in ("batch", "group"))
        lines.append(f"{b:5d}  {bn} {gn}   {WU_HE_BN_ERROR[b]:11.1f} {WU_HE_GN_ERROR:11.1f}")
    big, small = batch_sizes[0], batch_sizes[-1]
    loss = Spread(ours["batch"][small] - ours["batch"][big])
    lines.append(f"BN's error from batch {big} to {small}: ours +{loss:.1f} points, "
                 f"Wu & He's +{WU_HE_BN_ERROR[small] - WU_HE_BN_ERROR[big]:.1f} points")
    return "\n".join(lines)


def companion_effect(batch_size=8, n_batches=20, seed=0):
    """The logit of one fixed test image, computed inside `n_batches` random batches of other images, by a BN
    network trained briefly: in train mode (batch statistics) and in eval mode (running statistics).

    Returns (train-mode logits (n_batches,), eval-mode logits (n_batches,)) for the image's true class.
    """
    net = MLP(64, [32, 32], 10, norm="batch", seed=seed)
    train_on_digits(net, seed=seed, steps=300, batch_size=32, lr=0.05, momentum=0.9, eval_every=300)
    _, _, xte, yte = load_digits_split(seed=seed)
    rng = np.random.default_rng(seed + 1)
    probe, label = xte[:1], yte[0]
    out = {}
    for mode in ("train", "eval"):
        net.train(mode == "train")
        logits = []
        for _ in range(n_batches):
            others = xte[1 + rng.choice(len(xte) - 1, size=batch_size - 1, replace=False)]
            logits.append(net.forward(np.vstack([probe, others]))[0, label])
        out[mode] = np.array(logits)
    net.train()
    return out["train"], out["eval"]


def batch_size_grid(batch_sizes=BATCH_SIZES, norms=NORM_KINDS, samples=16000, lr=0.01, seeds=(0,)):
    """Train a 64 -> 32 -> 32 -> 10 ReLU net on the digits (all ~1,258 training images) with each normalization and
    batch size, for the same number of training samples (so smaller batches take more steps), SGD lr 0.01 with
    momentum 0.9, once per seed (the seed fixes the split, the initial weights and the batches).

    Returns {norm key ("none", "batch", "layer", "group"): {str(batch size): {"test": eval-mode test accuracy per
    seed, "train_mode" (BatchNorm only): test accuracy in train mode on test batches of the same size per seed}}};
    the lists follow `seeds`, a diverged run is None. The same shape as the stored sweep's "grid".
    """
    seeds = _check_seeds(seeds)
    keys = [(norm, b, seed) for seed in seeds for b in batch_sizes for norm in norms]
    jobs = [dict(model=MLP(64, [32, 32], 10, norm=norm, seed=seed, groups=4), seed=seed,
                 steps=max(samples // b, 60), batch_size=b, lr=lr, momentum=0.9, eval_every=max(samples // b, 60),
                 keep_model=norm == "batch") for norm, b, seed in keys]
    grid = {NORM_KEYS[n]: {str(b): {"test": []} | ({"train_mode": []} if n == "batch" else {}) for b in batch_sizes}
            for n in norms}
    tests = {seed: load_digits_split(seed=seed)[2:] for seed in seeds}
    for (norm, b, seed), run in zip(keys, run_all(train_on_digits, jobs)):
        cell = grid[NORM_KEYS[norm]][str(b)]
        cell["test"].append(None if run.history.diverged else float(run.history.test_acc[-1]))
        if norm == "batch":
            cell["train_mode"].append(train_mode_accuracy(run.model, *tests[seed], b))
    return grid


def train_mode_accuracy(net, x, y, batch_size):
    """Accuracy when the network runs in training mode on consecutive batches of `batch_size` test images
    (what BN computes during training); the leftover images are dropped."""
    n = len(x) // batch_size * batch_size
    net.train()
    preds = np.concatenate([net.forward(x[i:i + batch_size]).argmax(1) for i in range(0, n, batch_size)])
    return float((preds == y[:n]).mean())


def generalization_gap(n_train=200, batch_sizes=GAP_BATCH_SIZES, seeds=(0,), steps=1500):
    """Train and test accuracy, without and with BN, of a 64 -> 64 -> 64 -> 10 ReLU net trained on the first
    n_train digits of the training split (SGD lr 0.05, momentum 0.9, `steps` steps), once per seed.

    Returns {"none" / "batch": {str(batch size): {"train": [per seed], "test": [per seed]}}}: the same shape as the
    stored sweep's "gap". The gap is train - test; both networks of a seed share the split and the batches."""
    seeds = _check_seeds(seeds)
    keys = [(norm, b, seed) for seed in seeds for norm in (None, "batch") for b in batch_sizes]
    jobs = [dict(model=MLP(64, [64, 64], 10, norm=norm, seed=seed), seed=seed, n_train=n_train, steps=steps,
                 batch_size=b, lr=0.05, momentum=0.9, eval_every=steps) for norm, b, seed in keys]
    out = {NORM_KEYS[n]: {str(b): {"train": [], "test": []} for b in batch_sizes} for n in (None, "batch")}
    for (norm, b, seed), run in zip(keys, run_all(train_on_digits, jobs)):
        out[NORM_KEYS[norm]][str(b)]["train"].append(float(run.history.train_acc[-1]))
        out[NORM_KEYS[norm]][str(b)]["test"].append(float(run.history.test_acc[-1]))
    return out


def seed_sweep(seeds=SEEDS):
    """Lesson 5's generalization gaps and tiny-batch grid, once per seed, with the lesson's settings."""
    return {"gap": generalization_gap(seeds=seeds), "grid": batch_size_grid(seeds=seeds)}


def _check_seeds(seeds):
    """`seeds` as a tuple of ints, or a ValueError naming the argument."""
    seeds = tuple(seeds) if isinstance(seeds, (list, tuple, range)) else None
    if not seeds or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) for s in seeds):
        raise ValueError("seeds must be a non-empty list or tuple of integer seeds, e.g. (0,) or (0, 1, 2, 3, 4)")
    return seeds


def _sizes(by_batch):
    """The batch sizes (str keys) of a result, smallest first (a stored sweep's keys come sorted as text)."""
    return sorted(by_batch, key=int)


def _gaps(cell):
    """Per-seed gap (train - test accuracy) of one cell of a `generalization_gap` result."""
    return per_seed(cell["train"]) - per_seed(cell["test"])


def gap_table(gap, live=None):
    """Text: train accuracy, test accuracy and gap, mean (min-max) over seeds, for each network and batch size;
    with `live` (a one-seed `generalization_gap`), seed 0's gap run live beside the stored one."""
    lines = [f"{'':>9} {'batch':>5} {'train':>19} {'test':>19} {'gap':>19}"
             + ("   seed 0 gap: live, stored" if live else "")]
    for n in ("none", "batch"):
        for b in _sizes(gap[n]):
            cell = gap[n][b]
            spreads = [Spread(per_seed(cell["train"])), Spread(per_seed(cell["test"])), Spread(_gaps(cell))]
            name = NORM_NAMES[None if n == "none" else n]
            line = f"{name:>9} {b:>5} " + " ".join(_fmt(s, ".3f", 19) for s in spreads)
            if live:
                line += f"   {_gaps(live[n][b])[0]:.3f}, {_gaps(cell)[0]:.3f}"
            lines.append(line)
    return "\n".join(lines)


def gap_comparisons(gap, verdict_sizes=(8, 128), small=8, large=128):
    """{question: (Spread of the per-seed ratios, verdict or None)} on the generalization gaps, each paired by seed
    (`compare_paired` on the per-seed gaps: a seed fixes the split, the batches and the initial weights): BN's gap
    over no normalization's at every batch size, and BN's gap at batch `small` over batch `large`. A verdict is
    given only for the batch sizes in `verdict_sizes` (None for the others): at batch 32 the verdict on seeds 0-4
    ("lower") does not hold on seeds 5-9, so the lesson draws none there (tests/test_evidence.py)."""
    out = {}
    for b in _sizes(gap["batch"]):
        ratio, verdict = compare_paired(_gaps(gap["batch"][b]), _gaps(gap["none"][b]))
        out[f"gap, BN vs none, batch {b}"] = (ratio, verdict if int(b) in verdict_sizes else None)
    out[f"gap, BN, batch {small} vs {large}"] = compare_paired(_gaps(gap["batch"][str(small)]),
                                                               _gaps(gap["batch"][str(large)]))
    return out


def gap_verdicts(gap, **kwargs):
    """{question: verdict} of `gap_comparisons`, for the comparisons that carry one."""
    return {q: verdict for q, (_, verdict) in gap_comparisons(gap, **kwargs).items() if verdict is not None}


def gap_comparison_text(gap, **kwargs):
    """Text: each paired comparison of `gap_comparisons`: its ratio per seed, mean (min-max), and its verdict."""
    found = gap_comparisons(gap, **kwargs)
    width = max(map(len, found))
    return "\n".join(f"{q:<{width}}  ratio per seed {ratio:.2f} -> {verdict or 'no verdict drawn'}"
                     for q, (ratio, verdict) in found.items())


def plot_gaps(gap):
    """Figure: the generalization gap of every seed (points) and its mean (bar) for each network and batch size."""
    fig, ax = new_figure(figsize=(7, 3.4))
    sizes = _sizes(gap["batch"])
    for k, (n, color, label) in enumerate((("none", PLAIN, "none"), ("batch", WITH_BN, "BatchNorm"))):
        x = np.arange(len(sizes)) + (k - 0.5) * 0.38
        means = [Spread(_gaps(gap[n][b])).mean for b in sizes]
        ax.bar(x, means, width=0.36, color=color, alpha=0.35, label=f"{label}: mean over seeds")
        for xi, b in zip(x, sizes):
            g = _gaps(gap[n][b])
            ax.plot(np.full(len(g), xi), g, "o", color=color, ms=5,
                    label=f"{label}: one seed" if b == sizes[0] else None)
    ax.set_xticks(np.arange(len(sizes)), [f"batch {b}" for b in sizes])
    ax.set(ylabel="train - test accuracy", ylim=(0, None), title="generalization gap, 200 training images")
    legend_outside(ax)
    return fig


def grid_table(grid, norms=NORM_KINDS):
    """Text: test accuracy (%) of every normalization and batch size, and BatchNorm's in train mode, mean (min-max)
    over the seeds of a `batch_size_grid`."""
    cols = [(NORM_KEYS[n], "test", NORM_NAMES[n]) for n in norms] + [("batch", "train_mode", "BN train mode")]
    lines = [f"{'batch':>5} " + " ".join(f"{name:>16}" for _, _, name in cols)]
    for b in _sizes(grid["batch"]):
        lines.append(f"{b:>5} " + " ".join(_fmt(Spread(100 * per_seed(grid[n][b][k])), ".1f", 16) for n, k, _ in cols))
    return "\n".join(lines)


def grid_seed0(live, grid, norms=NORM_KINDS):
    """Text: seed 0's test accuracies run live (a one-seed `batch_size_grid`) beside the stored seed 0's."""
    cols = [(NORM_KEYS[n], "test", NORM_NAMES[n]) for n in norms] + [("batch", "train_mode", "BN train mode")]
    lines = ["seed 0, live / stored", f"{'batch':>5} " + " ".join(f"{name:>13}" for _, _, name in cols)]
    for b in _sizes(grid["batch"]):
        lines.append(f"{b:>5} " + " ".join(f"{per_seed(live[n][b][k])[0]:6.3f}/{per_seed(grid[n][b][k])[0]:.3f}"
                                           for n, k, _ in cols))
    return "\n".join(lines)


def grid_verdicts(grid):
    """{question: verdict} on the tiny-batch grid, from the ranges over seeds (`compare`, not paired: the networks
    differ): at every batch size, BatchNorm (eval mode) against no normalization, and against the per-sample
    normalizations (LayerNorm and GroupNorm, their seeds pooled into one range); and, at the largest batch size, no
    normalization against LayerNorm and against GroupNorm. (BatchNorm against LayerNorm or GroupNorm alone, and no
    normalization against them at batch 32, give verdicts on seeds 0-4 that do not hold on seeds 5-9.)"""
    acc = {(n, b): per_seed(grid[n][b]["test"]) for n in grid for b in grid[n]}
    out = {}
    for b in _sizes(grid["batch"]):
        out[f"batch {b}: BatchNorm vs none"] = compare(Spread(acc["batch", b]), Spread(acc["none", b]))
        out[f"batch {b}: BatchNorm vs LayerNorm/GroupNorm"] = compare(
            Spread(acc["batch", b]), Spread(np.concatenate([acc["layer", b], acc["group", b]])))
    big = _sizes(grid["batch"])[-1]
    for n in ("layer", "group"):
        out[f"batch {big}: none vs {NORM_NAMES[n]}"] = compare(Spread(acc["none", big]), Spread(acc[n, big]))
    return out


def grid_verdict_text(grid):
    """Text: `grid_verdicts`, one per line."""
    verdicts = grid_verdicts(grid)
    width = max(map(len, verdicts))
    return "\n".join(f"{q:<{width}}  {v}" for q, v in verdicts.items())


def batch_size_explorer(grid, norms=NORM_KINDS):
    """Live figure over a `batch_size_grid` of several seeds (the stored sweep): test accuracy of each normalization
    at one batch size (slider), mean over seeds (bar, its value on top) and min-max (black line), with BatchNorm's
    bar (eval mode, the usual test-time setting) next to its accuracy when run in training mode. The black line has
    no legend entry (the axis label names the seeds): each legend entry adds to every redraw."""
    fig, ax = new_figure(figsize=(9, 3.6))
    columns = [(NORM_KEYS[n], "test") for n in norms]
    columns.insert(columns.index(("batch", "test")) + 1, ("batch", "train_mode"))
    names = {v: k for k, v in NORM_KEYS.items()}
    labels = [NORM_NAMES[names[n]] + ("\neval mode" if n == "batch" and k == "test" else "\ntrain mode"
                                      if n == "batch" else "") for n, k in columns]
    colors = [PALETTE["sky"] if k == "train_mode" else NORM_COLORS[names[n]] for n, k in columns]
    x = np.arange(len(labels))
    bars = ax.bar(x, np.zeros(len(labels)), color=colors)
    n_seeds = len(next(iter(grid["batch"].values()))["test"])
    ranges = ax.vlines(x, 0, 0, color="black", lw=1.5)
    ax.set_xticks(x, labels)
    chance_line(ax, 0.1)
    ax.set(ylim=(0, 1.15), ylabel=f"test accuracy, {n_seeds} seeds")
    legend_outside(ax)
    texts = bar_labels(ax, bars, fontsize=10)
    seeds = {(n, k, b): Spread(per_seed(grid[n][b][k])) for n, k in columns for b in grid["batch"]}

    def update(batch_size):
        b = str(batch_size)
        segments = []
        for bar, text, (n, k) in zip(bars, texts, columns):
            s = seeds[n, k, b]
            bar.set_height(s.mean if np.isfinite(s.mean) else 0.0)
            segments.append([(bar.get_x() + bar.get_width() / 2, s.lo), (bar.get_x() + bar.get_width() / 2, s.hi)])
            text.set_text(f"{s.mean:.0%}" if np.isfinite(s.mean) else "diverged")
            text.set_y(s.hi if np.isfinite(s.hi) else 0.0)
        ranges.set_segments(segments)
        gap = seeds["batch", "test", b].mean - seeds["batch", "train_mode", b].mean
        ax.set_title(f"batch size {batch_size}: BatchNorm's train mode {100 * abs(gap):.1f} points "
                     f"{'below' if gap >= 0 else 'above'} its eval mode")
        if batch_size <= 2:
            return ("batch size 2: BatchNorm maps every feature of every batch to exactly -1 and +1, so the "
                    "statistics it learns to rely on are not what eval mode uses.")
        return None

    sizes = [int(b) for b in _sizes(grid["batch"])]
    return Live(fig, update, batch_size=widgets.SelectionSlider(options=sizes, value=32 if 32 in sizes else sizes[-1],
                                                                description="batch size"))
