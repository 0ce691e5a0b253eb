"""Lesson 4, the black cats: dataset shift (train and test inputs differ) against internal covariate shift
(a hidden layer's input distribution drifting during training), each measured with and without BN; AdaBN.

    res = shift_experiment(load_split("train"), {"test": ..., "test_colors": ..., "test_lighting": ...})
    res.accuracy["BN + AdaBN"]["test_lighting"]      # a float
    res.per_group["no BN"]["test_colors"][("cat", "ginger")]
    print(res.summary())

`python -m bn_teach.lessons.l04_black_cats` prints the canonical experiment quoted in data/README.md.
"""
import ipywidgets as widgets
import numpy as np

from ..cats import FUR_COLORS, load_split, make_split
from ..parallel import run_all
from ..evidence import Spread, compare, compare_paired
from ..plots import PALETTE, PLAIN, WITH_BN, bar_labels, chance_line, legend_outside, new_figure, set_bar
# the experiments themselves run in worker processes, so they live in the core (bn_teach.runs: a worker imports
# only NumPy and the core, not this module's matplotlib and ipywidgets)
from ..runs import (SHIFTED_SPLITS, VARIANTS, ShiftResults, evaluate, gamma_shifted,  # noqa: F401 (re-exported)
                    ics_run, severity_run, shift_experiment, shift_run)
from ..widgets import Live

SEVERITIES = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)


def severity_sweep(severities=SEVERITIES, n_train=2500, steps=1000, seed=0):
    """Train the no-BN MLP on black-cat training sets of each bias severity (0: every colour for both classes,
    1: all cats black and no dog black) and test on every colour (data's `test_colors` recipe).

    Returns {severity: (overall accuracy, {colour: accuracy of cats}, {colour: accuracy of dogs})}.
    """
    jobs = [dict(severity=s, n_train=n_train, steps=steps, seed=seed) for s in severities]
    return dict(zip(severities, run_all(severity_run, jobs)))


def bias_explorer(sweep):
    """Live figure over a `severity_sweep`: accuracy per fur colour for cats and dogs, written on every bar, with
    the 90 % and chance levels; one slider for the bias."""
    fig, ax = new_figure(figsize=(9, 3.6))
    pos = np.arange(len(FUR_COLORS))
    cat_bars = ax.bar(pos - 0.2, np.zeros(len(FUR_COLORS)), width=0.4, color=WITH_BN, label="cats")
    dog_bars = ax.bar(pos + 0.2, np.zeros(len(FUR_COLORS)), width=0.4, color=PLAIN, label="dogs")
    labels = bar_labels(ax, list(cat_bars) + list(dog_bars))
    ax.set_xticks(pos, FUR_COLORS)
    ax.set(ylim=(0, 1.15), ylabel="test accuracy", xlabel="fur colour")
    ax.axhline(0.9, color=PALETTE["black"], ls="--", lw=1, label="90 %")
    chance_line(ax, 0.5)
    legend_outside(ax)

    def update(severity):
        overall, cats, dogs = sweep[severity]
        for bar, label, v in zip(list(cat_bars) + list(dog_bars), labels,
                                 [cats[c] for c in FUR_COLORS] + [dogs[c] for c in FUR_COLORS]):
            set_bar(bar, label, v)
        ax.set_title(f"training bias {severity:g}: {overall:.0%} on cats and dogs of every colour")

    options = list(sweep)
    return Live(fig, update, severity=widgets.SelectionSlider(options=options, value=options[-1],
                                                              description="bias"))


ICS_SEEDS = (0, 1, 2, 3, 4)


def internal_shift(split="train", hidden=(64, 64), steps=600, seeds=ICS_SEEDS, every=10, probe_size=256):
    """Internal covariate shift, measured two ways, in MLPs trained without and with BN (before each ReLU) on a
    black-cats split, once per seed (both networks share a seed's initialization and batches):

    - distribution: every `every` steps, the inputs of every hidden layer's ReLU on one fixed probe batch (the
      first `probe_size` training images), and in the BN network the inputs of every BN layer too (`OnProbe`);
    - gradient (Santurkar et al. 2018): every 50 steps, `gradient_ics` of the output layer on the probe batch, the
      earlier layers moved by one step of the size training takes, lr / (1 - momentum).

    Returns {seed: {"plain": Recorder, "bn input": BatchNormInputRecorder, "bn": Recorder,
    "gradient plain": GradientICSRecorder, "gradient bn": GradientICSRecorder}}.
    """
    jobs = [dict(split=split, norm=norm, hidden=hidden, steps=steps, seed=seed, every=every, probe_size=probe_size)
            for seed in seeds for norm in (None, "batch")]
    runs = iter(run_all(ics_run, jobs))
    out = {}
    for seed in seeds:
        (plain, _, grad_plain), (bn, bn_input, grad_bn) = next(runs), next(runs)
        out[seed] = {"plain": plain, "bn input": bn_input, "bn": bn, "gradient plain": grad_plain,
                     "gradient bn": grad_bn}
    return out


ICS_ROWS = (("plain", "without BN: ReLU input"), ("bn input", "with BN: BN input"),
            ("bn", "with BN: ReLU input (BN output)"))


def ics_summary(ics, layer=-1):
    """Spreads over seeds of the measures of `internal_shift` for one layer: {row: {measure: Spread}}.
    Distribution rows (ICS_ROWS) get "mean shift", "std change" and "jitter" of `Recorder.drift(relative=True)`
    (in units of each unit's early spread); the gradient rows get the median over training of
    `gradient_ics`'s "relative" change and "cos"."""
    seeds = list(ics)
    out = {}
    for name, _ in ICS_ROWS:
        drifts = [ics[s][name].drift(layer, relative=True) for s in seeds]
        out[name] = {k: Spread([d[k] for d in drifts]) for k in ("mean shift", "std change", "jitter")}
    for name in ("gradient plain", "gradient bn"):
        out[name] = {k: Spread([np.median(ics[s][name].series(k)) for s in seeds]) for k in ("relative", "cos")}
    out["gradient ratio"], out["gradient paired"] = compare_paired(out["gradient bn"]["relative"].values,
                                                                   out["gradient plain"]["relative"].values)
    return out


GRADIENT_HEADERS = ("|G - G'| / |G|", "cos(G, G')")
DRIFT_FORMATS = {"mean shift": ".3f", "std change": ".3f", "jitter": ".4f"}


def ics_table(summary):
    """The summary of `ics_summary` as text: one row per measured layer input, mean (min-max) over seeds."""
    lines = [f"{'distribution, on the probe batch':34}" + "".join(f"{k:>23}" for k in DRIFT_FORMATS)]
    for name, label in ICS_ROWS:
        lines.append(f"{label:34}" + "".join(f"{format(summary[name][k], f):>23}" for k, f in DRIFT_FORMATS.items()))
    lines.append("")
    lines.append(f"{'gradient-based, output layer':34}{GRADIENT_HEADERS[0]:>23}  {GRADIENT_HEADERS[1]:>29}")
    for name, label in (("gradient plain", "without BN"), ("gradient bn", "with BN")):
        row = summary[name]
        lines.append(f"{label:34}{format(row['relative'], '.4f'):>23}  {format(row['cos'], '.6f'):>29}")
    return "\n".join(lines)


def ics_verdicts(summary):
    """{question: verdict} from the spreads over seeds: is each measure of the BN network lower or higher than
    without BN? The gradient change is compared paired by seed (`compare_paired`: both networks of a seed share
    their initial weights and batches), the other measures by their ranges (`compare`)."""
    out = {}
    for k in ("mean shift", "std change", "jitter"):
        out[f"BN output vs no BN, {k}"] = compare(summary["bn"][k], summary["plain"][k])
        out[f"BN input vs no BN, {k}"] = compare(summary["bn input"][k], summary["plain"][k])
    out["gradient change |G - G'| / |G|, BN vs no BN (paired)"] = summary["gradient paired"]
    out["cos(G, G'), BN vs no BN"] = compare(summary["gradient bn"]["cos"], summary["gradient plain"]["cos"])
    return out


def plot_features(splits, names=("train", "test_colors")):
    """Scatter of fur brightness against the ear cue, cats and dogs, for two splits side by side."""
    fig, axes = new_figure(1, len(names), figsize=(5 * len(names), 3.8), sharex=True, sharey=True)
    for ax, name in zip(np.atleast_1d(axes), names):
        data = splits[name]
        f = data.features()
        for lab, color, label in ((1, WITH_BN, "cats"), (0, PLAIN, "dogs")):
            sel = data.labels == lab
            ax.scatter(f[sel, 0], f[sel, 2], s=6, alpha=0.5, color=color, label=label)
        ax.set(xlabel="fur brightness", title=name)
    np.atleast_1d(axes)[0].set_ylabel("ear cue (+1 cat, -1 dog)")
    np.atleast_1d(axes)[0].legend(loc="lower right")
    return fig


PANELS = (("plain", PLAIN, "without BN: input to ReLU"), ("bn input", PALETTE["sky"], "with BN: input to BN"),
          ("bn", WITH_BN, "with BN: input to ReLU (BN output)"))


def plot_drift(ics, seed=0, layer=-1, units=(0, 1, 2, 3)):
    """Four units of the last hidden layer over training, on the fixed probe batch, for one seed of
    `internal_shift`: their mean over the probe batch, in units of each unit's early spread (so the three panels
    share one scale): without BN; with BN, before it normalizes them; and with BN, after. Far right: the
    gradient-based measure over training, every seed."""
    fig, axes = new_figure(1, 4, figsize=(15, 3.6))
    for ax, (name, color, title) in zip(axes, PANELS):
        rec = ics[seed][name]
        mean, std = rec.mean[layer], rec.std[layer]
        scale = np.maximum(std[:5].mean(axis=0), 1e-12)
        for u in units:
            ax.plot(rec.steps, (mean[:, u] - mean[0, u]) / scale[u], color=color, alpha=0.9, lw=1.5)
        ax.set(xlabel="training step", title=title)
    lo = min(ax.get_ylim()[0] for ax in axes[:3])
    hi = max(ax.get_ylim()[1] for ax in axes[:3])
    for ax in axes[:3]:
        ax.set_ylim(lo, hi)
    axes[0].set_ylabel("probe mean - start, in early stds")
    ax = axes[3]
    for name, color, label in (("gradient plain", PLAIN, "without BN"), ("gradient bn", WITH_BN, "with BN")):
        for i, s in enumerate(ics):
            ax.plot(ics[s][name].steps, ics[s][name].series("relative"), color=color, lw=1.2, alpha=0.8,
                    label=label if i == 0 else None)
    ax.set(xlabel="training step", ylabel="|G - G'| / |G|", yscale="log", title="gradient-based ICS")
    ax.legend(fontsize=9)
    return fig


def plot_shift_results(spreads):
    """Accuracy of each variant (no BN, BN, BN + AdaBN) on each test split, as grouped bars: the mean over seeds,
    with the min-max range as an error bar (a `shift_over_seeds` result)."""
    variants = list(spreads)
    splits = list(spreads[variants[0]])
    fig, ax = new_figure(figsize=(10, 3.6))
    colors = (PLAIN, WITH_BN, PALETTE["green"])
    pos = np.arange(len(splits))
    width = 0.8 / len(variants)
    for i, (v, c) in enumerate(zip(variants, colors)):
        sp = [spreads[v][name] for name in splits]
        mean = np.array([x.mean for x in sp])
        err = np.array([[x.mean - x.lo for x in sp], [x.hi - x.mean for x in sp]])
        ax.bar(pos + (i - (len(variants) - 1) / 2) * width, mean, width=width, color=c, label=v, yerr=err,
               capsize=3, ecolor=PALETTE["black"])
    ax.set_xticks(pos, splits)
    ax.axhline(0.5, color=PALETTE["grey"], ls=":", lw=1, label="chance")
    ax.set(ylim=(0, 1.12), ylabel="accuracy", title="mean over 5 seeds, bars: min-max")
    ax.legend(loc="upper center", ncols=4, fontsize=10, bbox_to_anchor=(0.5, -0.12))
    return fig


SHIFT_SEEDS = (0, 1, 2, 3, 4)


def shift_over_seeds(seeds=SHIFT_SEEDS, gamma=3.0, steps=500):
    """`shift_experiment` on the canonical splits once per seed, `steps` SGD steps each (500: every network is at
    100 % on `test` by then): trained on `train`, tested on `test`, `test_colors`, `test_lighting` and
    `test_gamma` (`test` with every pixel x -> x ** gamma).

    Returns (list of ShiftResults, one per seed; {variant: {split: Spread of accuracy over the seeds}})."""
    results = run_all(shift_run, [dict(seed=seed, gamma=gamma, steps=steps) for seed in seeds])
    spreads = {v: {name: Spread([r.accuracy[v][name] for r in results]) for name in SHIFTED_SPLITS}
               for v in results[0].accuracy}
    return results, spreads


def shift_table(spreads):
    """Accuracy (%) of every variant on every split: mean (min-max) over seeds, as text."""
    splits = list(next(iter(spreads.values())))
    lines = [f"{'accuracy (%)':12}" + "".join(f"{name:>20}" for name in splits)]
    for v, row in spreads.items():
        lines.append(f"{v:12}" + "".join(f"{_percent(row[name]):>20}" for name in splits))
    return "\n".join(lines)


def _percent(spread):
    return f"{100 * spread.mean:.1f} ({100 * spread.lo:.1f}-{100 * spread.hi:.1f})"


def shift_verdicts(spreads):
    """{question: verdict} on every shifted split, from the ranges over seeds (`compare`)."""
    out = {}
    for name in SHIFTED_SPLITS[1:]:
        out[f"{name}: BN vs no BN"] = compare(spreads["BN"][name], spreads["no BN"][name])
        out[f"{name}: BN + AdaBN vs BN"] = compare(spreads["BN + AdaBN"][name], spreads["BN"][name])
        out[f"{name}: BN + AdaBN vs no BN"] = compare(spreads["BN + AdaBN"][name], spreads["no BN"][name])
    return out


def main():
    """Print the canonical experiment: trained on data/train.npz (black cats) and on the balanced control."""
    tests = {name: load_split(name) for name in ("test", "test_colors", "test_lighting")}
    for title, train_data in (("trained on black cats (data/train.npz)", load_split("train")),
                              ("control: trained on every colour (make_split('train_balanced'))",
                               make_split("train_balanced"))):
        res = shift_experiment(train_data, tests)
        print(title)
        print(res.summary())
        for v in res.per_group:
            groups = res.per_group[v]["test_colors"]
            print(f"  {v}, test_colors by (class, colour): "
                  + ", ".join(f"{lab} {c} {100 * a:.0f}" for (lab, c), a in groups.items()))
        print()


if __name__ == "__main__":
    main()
