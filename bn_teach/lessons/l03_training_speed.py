"""Lesson 3, training speed: the same MLP with and without BN on scikit-learn's 8x8 digits; Ioffe & Szegedy
(2015) Figure 1; a learning-rate sweep; and a precomputed grid for the live explorer."""
import itertools

import ipywidgets as widgets
import numpy as np

from ..digits import load_digits_split
from ..evidence import SEEDS, Spread, censored, compare
from ..network import MLP
from ..parallel import run_all
from ..plots import PLAIN, WITH_BN, legend_above, new_figure
from ..runs import train_on_digits
from ..sweeps import per_seed
from ..training import OnProbe, Recorder
from ..widgets import Live

# the live explorer's grid: every combination is trained once, so moving a slider only swaps curves
GRID = {"lr": (0.1, 0.5, 2.0, 8.0), "init_scale": (0.5, 1.0, 2.0), "depth": (1, 3), "batch_size": (16, 128)}


PROBE_SIZE = 256  # the fixed probe batch every distribution is recorded on: the first training images
LRS = (0.5, 2.0, 8.0, 32.0, 128.0)  # the learning-rate table's rates


def figure1(steps=2000, lr=0.5, batch_size=60, record_every=10, eval_every=5, seed=0):
    """Ioffe & Szegedy (2015), Figure 1, on the digits: 3 hidden layers of 100 sigmoid units, with and without
    BN (before the sigmoid), trained with the same SGD (the two runs side by side, `run_all`). Returns
    {"plain": (history, recorder), "bn": (...)}. Test accuracy is evaluated every `eval_every` steps; the recorder
    holds, every `record_every` steps, each sigmoid's input on one fixed probe batch (the first PROBE_SIZE training
    images, `OnProbe`): the same images every time, so what moves is the network, not the sample."""
    probe = load_digits_split(seed=seed)[0][:PROBE_SIZE]
    jobs = [dict(model=figure1_net(norm, seed), seed=seed, steps=steps, batch_size=batch_size, lr=lr,
                 eval_every=eval_every, eval_train_size=batch_size,
                 recorder=OnProbe([Recorder(unit=0, every=record_every)], probe)) for norm in (None, "batch")]
    runs = run_all(train_on_digits, jobs)
    return {name: (run.history, run.recorder.recorders[0]) for name, run in zip(("plain", "bn"), runs)}


def figure1_net(norm, seed=0):
    """Ioffe & Szegedy's Figure 1 network on the digits: 64 -> 3 x 100 sigmoid units -> 10, BN off (norm=None)
    or before every sigmoid (norm="batch")."""
    return MLP(64, [100, 100, 100], 10, activation="sigmoid", norm=norm, seed=seed)


def lr_sweep(lrs=LRS, steps=1000, batch_size=60, seed=0):
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


def figure1_numbers(runs):
    """What the lesson compares in a `figure1` result, per network: steps to 90 % and 95 % test accuracy (None:
    not within the run), final accuracy, the accuracy curve, and how the last layer's sigmoid inputs moved on the
    probe batch (`Recorder.drift` from the first 5 records to the last 5, averaged over the layer's units). The
    drift is kept in the sigmoid's own input units, not relative to each unit's spread: whether a sigmoid saturates
    depends on where its input sits, and without BN the spread of a deep sigmoid layer's inputs starts tiny."""
    out = {}
    for name, (hist, rec) in runs.items():
        drift = rec.drift(window=5)
        out[name] = {"steps_to_90": hist.steps_to(0.90), "steps_to_95": hist.steps_to(0.95),
                     "final": hist.test_acc[-1], "curve": hist.test_acc, "curve_steps": hist.step,
                     "mean_shift": drift["mean shift"], "jitter": drift["jitter"],
                     "median_shift": drift["median shift"]}
    return out


def seed_sweep(seeds=SEEDS, steps=2000, lrs=LRS, lr_steps=1000):
    """Lesson 3 over seeds: Figure 1's steps to 90 % and 95 %, accuracy curves and input drift, and the learning-rate table.

    Returns {"figure1": {"plain"|"bn": {quantity: [one value per seed]}}, "lr_sweep": {"lrs": [...],
    "plain"|"bn": [[accuracy per lr] per seed]}}; every seed runs exactly the settings the lesson runs for seed 0.
    """
    fig1 = {name: {} for name in ("plain", "bn")}
    table = {"lrs": list(lrs), "plain": [], "bn": []}
    for seed in seeds:
        for name, numbers in figure1_numbers(figure1(steps=steps, seed=seed)).items():
            for key, value in numbers.items():
                fig1[name].setdefault(key, []).append(value)
        acc, _ = lr_sweep(lrs, steps=lr_steps, seed=seed)
        for name in ("plain", "bn"):
            table[name].append(acc[name])
    return {"figure1": fig1, "lr_sweep": table}


def speed_verdicts(results, steps=2000):
    """Verdicts from a `seed_sweep` result: BN against no BN for steps to 90 % (a seed that never got there counts
    as taking longer than the run), for the drift of the last layer's sigmoid inputs, and for the final accuracy
    at every learning rate of the table."""
    fig1, table = results["figure1"], results["lr_sweep"]
    out = {"steps to 90%": compare(censored(fig1["bn"]["steps_to_90"], steps),
                                   censored(fig1["plain"]["steps_to_90"], steps)),
           "input mean shift": compare(Spread(fig1["bn"]["mean_shift"]), Spread(fig1["plain"]["mean_shift"])),
           "input jitter": compare(Spread(fig1["bn"]["jitter"]), Spread(fig1["plain"]["jitter"]))}
    for k, lr in enumerate(table["lrs"]):
        out[f"accuracy at lr {lr:g}"] = compare(*(Spread(per_seed([row[k] for row in table[name]]))
                                                 for name in ("bn", "plain")))
    return out


NAMES = {"plain": "without BN", "bn": "with BN"}


def _steps_text(values, steps):
    """Steps to a target over seeds as text: mean (min-max), or how many seeds never got there."""
    never = sum(v is None for v in values)
    if never == len(values):
        return f"never in {steps:,}"
    text = format(Spread([v for v in values if v is not None]), ",.0f")
    return text + (f", never in {never} of {len(values)}" if never else "")


def speed_table(results, live, steps=2000):
    """Text: steps to 90 % and 95 % and final accuracy over the stored seeds (mean (min-max)), seed 0 run live
    beside the stored seed 0, and the verdict on steps to 90 %."""
    fig1 = results["figure1"]
    lines = [f"{'':>10}  {'steps to 90%':>18}  {'steps to 95%':>24}  {'final accuracy':>20}"]
    for name in ("plain", "bn"):
        f = fig1[name]
        lines.append(f"{NAMES[name]:>10}  {_steps_text(f['steps_to_90'], steps):>18}  "
                     f"{_steps_text(f['steps_to_95'], steps):>24}  {format(Spread(f['final']), '.3f'):>20}")
    lines.append("seed 0, run live above: " + ", ".join(
        f"{NAMES[n]} {live[n]['steps_to_90']} steps to 90%" for n in ("plain", "bn")) + "; stored seed 0: " +
        ", ".join(f"{NAMES[n]} {fig1[n]['steps_to_90'][0]}" for n in ("plain", "bn")))
    verdict = speed_verdicts(results, steps)["steps to 90%"]
    lines.append(f"steps to 90% with BN against without, over {len(fig1['bn']['final'])} seeds: {verdict}")
    return "\n".join(lines)


def seconds_to_90(results, runs):
    """Seconds of training to 90 % test accuracy per seed on this machine: each seed's stored steps to 90 % times
    the seconds per step of the networks run live (`runs`, a `figure1` result). Returns {name: Spread}."""
    return {name: Spread([np.nan if s is None else s * runs[name][0].seconds_per_step
                          for s in results["figure1"][name]["steps_to_90"]]) for name in ("plain", "bn")}


def drift_table(results, live):
    """Text: how far the last layer's sigmoid inputs moved on the probe batch (mean shift, from the first records
    to the last) and how much they jittered between records, in the sigmoid's input units, over seeds;
    seed 0 live beside stored; verdicts."""
    fig1, verdicts = results["figure1"], speed_verdicts(results)
    lines = [f"{'':>10}  {'mean shift':>20}  {'jitter between records':>24}"]
    for name in ("plain", "bn"):
        lines.append(f"{NAMES[name]:>10}  {format(Spread(fig1[name]['mean_shift']), '.3f'):>20}  {format(Spread(fig1[name]['jitter']), '.4f'):>24}")
    lines.append("seed 0, run live above: " + ", ".join(
        f"{NAMES[n]} {live[n]['mean_shift']:.3f} / {live[n]['jitter']:.4f}" for n in ("plain", "bn")) +
        "; stored seed 0: " + ", ".join(
        f"{NAMES[n]} {fig1[n]['mean_shift'][0]:.3f} / {fig1[n]['jitter'][0]:.4f}" for n in ("plain", "bn")))
    ratio = {k: Spread(np.divide(fig1["plain"][k], fig1["bn"][k])) for k in ("mean_shift", "jitter")}
    lines.append(f"without BN / with BN, same seed: mean shift {ratio['mean_shift']:.0f} times, "
                 f"jitter {ratio['jitter']:.0f} times")
    lines.append(f"with BN against without: mean shift {verdicts['input mean shift']}, "
                 f"jitter {verdicts['input jitter']}")
    return "\n".join(lines)


def lr_table(results, live):
    """Text: final test accuracy at each learning rate over seeds (mean (min-max)), with and without BN; seed 0
    run live beside stored; the verdict at each rate."""
    table, verdicts = results["lr_sweep"], speed_verdicts(results)
    lines = [f"{'learning rate':>13}  {'without BN':>19}  {'with BN':>19}  {'seed 0 live/stored':>24}  verdict for BN"]
    for k, lr in enumerate(table["lrs"]):
        spreads = {n: Spread(per_seed([row[k] for row in table[n]])) for n in ("plain", "bn")}
        seed0 = " ".join(f"{live[n][k]:.3f}/{per_seed(table[n][0])[k]:.3f}" for n in ("plain", "bn"))
        lines.append(f"{lr:13g}  {format(spreads['plain'], '.3f'):>19}  {format(spreads['bn'], '.3f'):>19}  {seed0:>24}  "
                     f"{verdicts[f'accuracy at lr {lr:g}']}")
    return "\n".join(lines)


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


def plot_figure1(runs, results=None, layer=-1):
    """Ioffe & Szegedy's Figure 1 (a)-(c) from `figure1` runs: test accuracy (with, when a `seed_sweep` result is
    given, the band from the lowest to the highest accuracy over its seeds), and the 15/50/85th percentiles of one
    sigmoid's input on the probe batch over training without and with BN (last hidden layer by default)."""
    fig, axes = new_figure(1, 3, figsize=(13, 3.6))
    for name, color in (("plain", PLAIN), ("bn", WITH_BN)):
        hist, _ = runs[name]
        label = NAMES[name]
        if results is not None:
            stored = results["figure1"][name]
            curves = np.array([per_seed(c) for c in stored["curve"]])
            axes[0].fill_between(stored["curve_steps"][0], curves.min(axis=0), curves.max(axis=0), color=color,
                                 alpha=0.4, lw=0, label=f"{label}: {len(curves)} seeds, min-max")
            label += ": seed 0"
        axes[0].plot(hist.step, hist.test_acc, color=color, lw=1.2, label=label)
    axes[0].set(xlabel="training step", ylabel="test accuracy", ylim=(0, 1), title="(a) BN reaches it sooner")
    axes[0].legend(loc="lower right", fontsize=9)
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
