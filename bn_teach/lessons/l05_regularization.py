"""Lesson 5, regularization and batch size: batch-statistics noise, train vs eval mode, the generalization gap,
tiny batches, and the batch-independent alternatives LayerNorm and GroupNorm."""
import ipywidgets as widgets
import numpy as np

from ..digits import load_digits_split
from ..network import MLP
from ..parallel import run_all
from ..plots import PALETTE, PLAIN, WITH_BN, bar_labels, chance_line, legend_outside, new_figure, set_bar
from ..runs import train_on_digits
from ..widgets import Live

NORM_KINDS = (None, "batch", "layer", "group")
NORM_NAMES = {None: "none", "batch": "BatchNorm", "layer": "LayerNorm", "group": "GroupNorm"}
NORM_COLORS = {None: PLAIN, "batch": WITH_BN, "layer": PALETTE["green"], "group": PALETTE["purple"]}
BATCH_SIZES = (2, 4, 8, 32, 128)
# Wu & He (2018), Group Normalization, Figure 1: ResNet-50 on ImageNet, validation error (%) by images per GPU
WU_HE_BN_ERROR = {32: 23.6, 16: 23.7, 8: 24.8, 4: 27.3, 2: 34.7}
WU_HE_GN_ERROR = 24.1  # about the same at every batch size


def compare_with_wu_he(grid, batch_sizes=(32, 8, 4, 2)):
    """Text: test error (%) of our BatchNorm and GroupNorm MLPs from a `batch_size_grid`, beside Wu & He's ResNet-50
    on ImageNet, and each one's loss from the largest batch size listed to the smallest."""
    lines = [f"{'batch':>5}  {'ours: BN':>9} {'ours: GN':>9}   {'Wu & He: BN':>11} {'Wu & He: GN':>11}"]
    ours = {norm: {b: 100 * (1 - grid[norm, b]["test"]) for b in batch_sizes} for norm in ("batch", "group")}
    for b in batch_sizes:
        lines.append(f"{b:5d}  {ours['batch'][b]:9.1f} {ours['group'][b]:9.1f}   {WU_HE_BN_ERROR[b]:11.1f} "
                     f"{WU_HE_GN_ERROR:11.1f}")
    big, small = batch_sizes[0], batch_sizes[-1]
    lines.append(f"BN's error from batch {big} to {small}: ours +{ours['batch'][small] - ours['batch'][big]:.1f} "
                 f"points, Wu & He's +{WU_HE_BN_ERROR[small] - WU_HE_BN_ERROR[big]:.1f} points")
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


def batch_size_grid(batch_sizes=BATCH_SIZES, norms=NORM_KINDS, samples=16000, lr=0.01, seed=0):
    """Train a 64 -> 32 -> 32 -> 10 ReLU net on the digits with each normalization and batch size, for the same
    number of training samples (so smaller batches take more steps), SGD lr 0.01 with momentum 0.9.

    Returns {(norm, batch_size): {"test": eval-mode test accuracy, "train_mode": test accuracy in train mode on
    test batches of the same size (BatchNorm only; the others do not depend on the mode)}}.
    """
    keys = [(norm, b) for b in batch_sizes for norm in norms]
    jobs = [dict(model=MLP(64, [32, 32], 10, norm=norm, seed=seed, groups=4), seed=seed,
                 steps=max(samples // b, 60), batch_size=b, lr=lr, momentum=0.9, eval_every=max(samples // b, 60),
                 keep_model=norm == "batch") for norm, b in keys]
    _, _, xte, yte = load_digits_split(seed=seed)
    grid = {}
    for (norm, b), run in zip(keys, run_all(train_on_digits, jobs)):
        hist = run.history
        grid[norm, b] = {"test": float("nan") if hist.diverged else hist.test_acc[-1]}
        if norm == "batch":
            grid[norm, b]["train_mode"] = train_mode_accuracy(run.model, xte, yte, b)
    return grid


def train_mode_accuracy(net, x, y, batch_size):
    """Accuracy when the network runs in training mode on consecutive batches of `batch_size` test images
    (what BN computes during training); the leftover images are dropped."""
    n = len(x) // batch_size * batch_size
    net.train()
    preds = np.concatenate([net.forward(x[i:i + batch_size]).argmax(1) for i in range(0, n, batch_size)])
    return float((preds == y[:n]).mean())


def generalization_gap(n_train=200, batch_sizes=(8, 32, 128), seeds=(0, 1, 2), steps=1500):
    """Train accuracy minus test accuracy, without and with BN, on a small digits training set (n_train images),
    averaged over seeds. Returns {(norm, batch_size): (train acc, test acc, gap)}."""
    keys = [(norm, b) for norm in (None, "batch") for b in batch_sizes]
    jobs = [dict(model=MLP(64, [64, 64], 10, norm=norm, seed=seed), seed=seed, n_train=n_train, steps=steps,
                 batch_size=b, lr=0.05, momentum=0.9, eval_every=steps) for norm, b in keys for seed in seeds]
    runs = iter(run_all(train_on_digits, jobs))
    out = {}
    for key in keys:
        tr, te = zip(*[(r.history.train_acc[-1], r.history.test_acc[-1]) for r in (next(runs) for _ in seeds)])
        out[key] = (float(np.mean(tr)), float(np.mean(te)), float(np.mean(tr) - np.mean(te)))
    return out


def batch_size_explorer(grid, batch_sizes=BATCH_SIZES, norms=NORM_KINDS):
    """Live figure over a `batch_size_grid`: test accuracy of each normalization at one batch size (slider), with
    BatchNorm's bar (eval mode, the usual test-time setting) next to its accuracy when run in training mode."""
    fig, ax = new_figure(figsize=(9, 3.6))
    columns = [(n, "test") for n in norms]
    columns.insert(columns.index(("batch", "test")) + 1, ("batch", "train_mode"))
    labels = [NORM_NAMES[n] + ("\neval mode" if n == "batch" and k == "test" else "\ntrain mode" if n == "batch"
                               else "") for n, k in columns]
    colors = [PALETTE["sky"] if k == "train_mode" else NORM_COLORS[n] for n, k in columns]
    bars = ax.bar(np.arange(len(labels)), np.zeros(len(labels)), color=colors)
    ax.set_xticks(np.arange(len(labels)), labels)
    chance_line(ax, 0.1)
    ax.set(ylim=(0, 1.15), ylabel="test accuracy")
    legend_outside(ax)
    texts = bar_labels(ax, bars, fontsize=10)

    def update(batch_size):
        for bar, text, (n, k) in zip(bars, texts, columns):
            set_bar(bar, text, grid[n, batch_size][k])
        gap = grid["batch", batch_size]["test"] - grid["batch", batch_size]["train_mode"]
        ax.set_title(f"batch size {batch_size}: BatchNorm's train mode {100 * abs(gap):.1f} points "
                     f"{'below' if gap >= 0 else 'above'} its eval mode")
        if batch_size <= 2:
            return ("batch size 2: BatchNorm maps every feature of every batch to exactly -1 and +1, so the "
                    "statistics it learns to rely on are not what eval mode uses.")
        return None

    return Live(fig, update, batch_size=widgets.SelectionSlider(options=list(batch_sizes), value=32,
                                                                description="batch size"))
