"""Lesson 3, training speed: the same MLP with and without BN on scikit-learn's 8x8 digits; Ioffe & Szegedy
(2015) Figure 1; a learning-rate sweep; and a precomputed grid for the live explorer."""
import itertools

import ipywidgets as widgets
import numpy as np

from ..network import MLP
from ..parallel import run_all
from ..plots import PLAIN, WITH_BN, legend_above, new_figure
from ..runs import train_on_digits
from ..training import Recorder
from ..widgets import Live

# the live explorer's grid: every combination is trained once, so moving a slider only swaps curves
GRID = {"lr": (0.1, 0.5, 2.0, 8.0), "init_scale": (0.5, 1.0, 2.0), "depth": (1, 3), "batch_size": (16, 128)}


def figure1(steps=2000, lr=0.5, batch_size=60, record_every=10, seed=0):
    """Ioffe & Szegedy (2015), Figure 1, on the digits: 3 hidden layers of 100 sigmoid units, with and without
    BN (before the sigmoid), trained with the same SGD. Returns {"plain": (history, recorder), "bn": (...)};
    the recorder holds the 15th/50th/85th percentiles of the input to unit 0 of every sigmoid layer."""
    runs = {}
    for name, norm in (("plain", None), ("bn", "batch")):
        run = train_on_digits(figure1_net(norm, seed), seed=seed, recorder=Recorder(unit=0, every=record_every),
                              steps=steps, batch_size=batch_size, lr=lr, eval_every=50)
        runs[name] = (run.history, run.recorder)
    return runs


def figure1_net(norm, seed=0):
    """Ioffe & Szegedy's Figure 1 network on the digits: 64 -> 3 x 100 sigmoid units -> 10, BN off (norm=None)
    or before every sigmoid (norm="batch")."""
    return MLP(64, [100, 100, 100], 10, activation="sigmoid", norm=norm, seed=seed)


def lr_sweep(lrs=(0.1, 0.5, 2.0, 8.0, 32.0), steps=400, batch_size=60, seed=0):
    """Final test accuracy of the Figure 1 network with and without BN for each learning rate.

    Returns {"plain": [...], "bn": [...]} (NaN where training diverged) and the histories.
    """
    keys = [(name, lr) for name in ("plain", "bn") for lr in lrs]
    jobs = [dict(model=figure1_net(None if name == "plain" else "batch", seed), seed=seed, steps=steps,
                 batch_size=batch_size, lr=lr, eval_every=steps) for name, lr in keys]
    hists = dict(zip(keys, (run.history for run in run_all(train_on_digits, jobs))))
    acc = {name: [float("nan") if hists[name, lr].diverged else hists[name, lr].test_acc[-1] for lr in lrs]
           for name in ("plain", "bn")}
    return acc, hists


def train_grid(steps=100, width=32, seed=0, grid=GRID):
    """Train the explorer's grid: every (lr, init_scale, depth, batch_size) with BN off and on.

    Returns {(lr, init_scale, depth, batch_size, bn): History}; every run evaluates every 10 steps.
    """
    keys = [(lr, scale, depth, bs, bn) for lr, scale, depth, bs in
            itertools.product(grid["lr"], grid["init_scale"], grid["depth"], grid["batch_size"]) for bn in (False, True)]
    jobs = [dict(model=MLP(64, [width] * depth, 10, activation="sigmoid", norm="batch" if bn else None,
                           init_scale=scale, seed=seed),
                 seed=seed, steps=steps, batch_size=bs, lr=lr, eval_every=10, eval_train_size=300)
            for lr, scale, depth, bs, bn in keys]
    return dict(zip(keys, (run.history for run in run_all(train_on_digits, jobs))))


def _curve(hist):
    """(steps, test accuracy) of a run, cut where it diverged."""
    return np.array(hist.step), np.array(hist.test_acc)


def speed_explorer(results, grid=GRID):
    """Live figure over a `train_grid` result: loss and test accuracy vs steps; the BN toggle picks the bold
    curve, the other network is drawn faded for comparison. The loss axis (log) spans 0.05 to 5 and widens when
    a loss leaves that range; the legend sits above the plots, off the data."""
    fig, (ax_loss, ax_acc) = new_figure(1, 2, figsize=(10, 3.8))
    lines = {}
    for bn, color in ((False, PLAIN), (True, WITH_BN)):
        label = "with BN" if bn else "without BN"
        lines["loss", bn], = ax_loss.plot([], [], color=color, label=label)
        lines["acc", bn], = ax_acc.plot([], [], color=color, label=label)
    steps = max(max(h.step) for h in results.values() if h.step)
    ax_loss.set(xlabel="training step", ylabel="training loss", yscale="log", xlim=(0, steps),
                title=f"training loss over {steps:,} steps")
    ax_acc.set(xlabel="training step", ylabel="test accuracy", ylim=(0, 1), xlim=(0, steps))
    legend_above(fig, ax_acc)

    def update(lr, init_scale, depth, batch_size, batchnorm):
        notes, losses = [], [0.05, 5.0]
        for bn in (False, True):
            hist = results[lr, init_scale, depth, batch_size, bn]
            s, acc = _curve(hist)
            lines["acc", bn].set_data(s, acc)
            lines["loss", bn].set_data(s, hist.loss)
            losses += [v for v in hist.loss if np.isfinite(v) and v > 0]
            strong = bn == batchnorm
            for kind in ("acc", "loss"):
                lines[kind, bn].set_alpha(1.0 if strong else 0.25)
                lines[kind, bn].set_linewidth(2.5 if strong else 1.5)
            if hist.diverged:
                notes.append(("with BN: " if bn else "without BN: ") + hist.message)
        ax_loss.set_ylim(min(losses) / 1.2, max(losses) * 1.2)
        chosen = results[lr, init_scale, depth, batch_size, batchnorm]
        final = chosen.test_acc[-1] if chosen.test_acc and not chosen.diverged else float("nan")
        other = results[lr, init_scale, depth, batch_size, not batchnorm]
        other_final = other.test_acc[-1] if other.test_acc and not other.diverged else float("nan")
        ax_acc.set_title(f"{'with' if batchnorm else 'without'} BN: {final:.0%} "
                         f"(other: {other_final:.0%}) after {chosen.step[-1] if chosen.step else 0:,} steps")
        return " ".join(notes) or None

    def choice(name, value, label):
        options = list(grid[name])
        return widgets.SelectionSlider(options=options, value=value if value in options else options[0],
                                       description=label, style={"description_width": "initial"})

    return Live(fig, update,
                lr=choice("lr", 0.5, "learning rate"),
                init_scale=choice("init_scale", 1.0, "init scale"),
                depth=choice("depth", 3, "hidden layers"),
                batch_size=choice("batch_size", 16, "batch size"),
                batchnorm=widgets.ToggleButtons(options=[("BN off", False), ("BN on", True)], value=True,
                                                description="BatchNorm"))


def plot_figure1(runs, layer=-1):
    """Ioffe & Szegedy's Figure 1 (a)-(c) from `figure1` runs: test accuracy, and the 15/50/85th percentiles of
    one sigmoid's input over training without and with BN (last hidden layer by default)."""
    fig, axes = new_figure(1, 3, figsize=(13, 3.6))
    for name, color in (("plain", PLAIN), ("bn", WITH_BN)):
        hist, _ = runs[name]
        axes[0].plot(hist.step, hist.test_acc, color=color, label="with BN" if name == "bn" else "without BN")
    axes[0].set(xlabel="training step", ylabel="test accuracy", ylim=(0, 1), title="(a) BN reaches it sooner")
    axes[0].legend(loc="lower right")
    for ax, name, color in ((axes[1], "plain", PLAIN), (axes[2], "bn", WITH_BN)):
        _, rec = runs[name]
        pct = rec.percentiles[layer]
        for k, style in zip(range(3), (":", "-", ":")):
            ax.plot(rec.steps, pct[:, k], style, color=color)
        ax.set(xlabel="training step", ylabel="sigmoid input (unit 0)",
               title=f"({'b' if name == 'plain' else 'c'}) {'without' if name == 'plain' else 'with'} BN: "
                     "15/50/85th pct")
    lo = min(ax.get_ylim()[0] for ax in axes[1:])
    hi = max(ax.get_ylim()[1] for ax in axes[1:])
    for ax in axes[1:]:
        ax.set_ylim(lo, hi)
    return fig


def plot_layer_percentiles(runs):
    """15/50/85th percentiles of unit 0's sigmoid input in every hidden layer over training:
    top row without BN, bottom row with BN (same y-axis in each column)."""
    n_layers = len(runs["plain"][1].percentiles)
    fig, axes = new_figure(2, n_layers, figsize=(4 * n_layers, 5.5), sharex=True, sharey="col")
    for row, (name, color) in enumerate((("plain", PLAIN), ("bn", WITH_BN))):
        rec = runs[name][1]
        for k in range(n_layers):
            ax = axes[row, k]
            pct = rec.percentiles[k]
            for j, style in zip(range(3), (":", "-", ":")):
                ax.plot(rec.steps, pct[:, j], style, color=color)
            ax.set_title(f"layer {k + 1}, {'without' if name == 'plain' else 'with'} BN", fontsize=11)
            if row == 1:
                ax.set_xlabel("training step")
        axes[row, 0].set_ylabel("sigmoid input")
    return fig
