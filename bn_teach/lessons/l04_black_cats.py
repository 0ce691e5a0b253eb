"""Lesson 4, the black cats: dataset shift (train and test inputs differ) against internal covariate shift
(a hidden layer's input distribution drifting during training), each measured with and without BN; AdaBN.

    res = shift_experiment(load_split("train"), {"test": ..., "test_colors": ..., "test_lighting": ...})
    res.accuracy["BN + AdaBN"]["test_lighting"]      # a float
    res.per_group["no BN"]["test_colors"][("cat", "ginger")]
    print(res.summary())

`python -m bn_teach.lessons.l04_black_cats` prints the canonical experiment quoted in data/README.md.
"""
import copy

import ipywidgets as widgets
import numpy as np

from ..cats import FUR_COLORS, LABELS, NOT_BLACK, CatsData, Standardizer, load_split, make_cats, make_split
from ..network import MLP
from ..parallel import run_all
from ..plots import PALETTE, PLAIN, WITH_BN, bar_labels, chance_line, legend_outside, new_figure, set_bar
from ..training import BatchNormInputRecorder, Recorder, adabn, train
from ..widgets import Live

SEVERITIES = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)


def severity_sweep(severities=SEVERITIES, n_train=2500, steps=1000, seed=0):
    """Train the no-BN MLP on black-cat training sets of each bias severity (0: every colour for both classes,
    1: all cats black and no dog black) and test on every colour (data's `test_colors` recipe).

    Returns {severity: (overall accuracy, {colour: accuracy of cats}, {colour: accuracy of dogs})}.
    """
    jobs = [dict(severity=s, n_train=n_train, steps=steps, seed=seed) for s in severities]
    return dict(zip(severities, run_all(_severity_run, jobs)))


def _severity_run(severity, n_train, steps, seed):
    """One run of `severity_sweep`: the no-BN network of `shift_experiment`, tested on every colour."""
    test = make_split("test_colors")
    data = make_cats(n_train, cat_colors="black", dog_colors=NOT_BLACK, severity=severity, seed=1)
    data.images = np.rint(data.images * np.float32(255)) / np.float32(255)  # 8-bit pixels, as stored in data/
    res = shift_experiment(data, {"test_colors": test}, hidden=(64,), steps=steps, seed=seed, variants=("no BN",))
    groups = res.per_group["no BN"]["test_colors"]
    cats = {c: groups[("cat", c)] for c in FUR_COLORS}
    dogs = {c: groups[("dog", c)] for c in FUR_COLORS}
    return res.accuracy["no BN"]["test_colors"], cats, dogs


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


def internal_shift(data, hidden=(64, 64), steps=600, seed=0, every=10):
    """Train MLPs with and without BN (before the ReLU) on `data` with the same seed and batches. Records the
    input of every nonlinearity (Recorder) in both, and, in the BN network, the input of every BN layer too.
    Returns ({"plain": Recorder, "bn": Recorder, "bn input": BatchNormInputRecorder}, histories)."""
    st = Standardizer().fit(data.flatten())
    x = st.transform(data.flatten())
    recs, hists = {}, {}
    for name, norm in (("plain", None), ("bn", "batch")):
        recorders = [Recorder(every=every)]
        if norm:
            recs["bn input"] = BatchNormInputRecorder(every=every)
            recorders.append(recs["bn input"])
        recs[name] = recorders[0]
        model = MLP(x.shape[1], list(hidden), 2, norm=norm, seed=seed)
        hists[name] = train(model, x, data.labels, steps=steps, batch_size=64, lr=0.02, momentum=0.9, seed=seed,
                            eval_every=steps, recorder=recorders)
    return recs, hists


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


def plot_drift(recs, layer=-1, units=(0, 1, 2, 3)):
    """Per-unit batch mean of the last hidden layer's pre-activations over training (same y-axis):
    without BN; with BN, before it normalizes them; and with BN, after."""
    fig, axes = new_figure(1, 3, figsize=(13, 3.6), sharey=True)
    for ax, (name, color, title) in zip(axes, PANELS):
        rec = recs[name]
        for u in units:
            ax.plot(rec.steps, rec.mean[layer][:, u], color=color, alpha=0.9, lw=1.5)
        ax.set(xlabel="training step", title=title)
    axes[0].set_ylabel("batch mean of one unit")
    return fig


def plot_shift_results(res):
    """Accuracy of each variant (no BN, BN, BN + AdaBN) on each test split, as grouped bars."""
    variants = list(res.accuracy)
    splits = list(res.accuracy[variants[0]])
    fig, ax = new_figure(figsize=(9, 3.6))
    colors = (PLAIN, WITH_BN, PALETTE["green"])
    pos = np.arange(len(splits))
    width = 0.8 / len(variants)
    for i, (v, c) in enumerate(zip(variants, colors)):
        ax.bar(pos + (i - (len(variants) - 1) / 2) * width, [res.accuracy[v][s] for s in splits], width=width,
               color=c, label=v)
    ax.set_xticks(pos, splits)
    ax.axhline(0.5, color=PALETTE["grey"], ls=":", lw=1)
    ax.set(ylim=(0, 1.05), ylabel="accuracy", title="BN + AdaBN absorbs the lighting shift, not the colour shift")
    ax.legend(loc="lower left", fontsize=10)
    return fig


VARIANTS = ("no BN", "BN", "BN + AdaBN")


def evaluate(model, x, data):
    """Accuracy of `model` on standardized inputs x (N, D) with the labels and colours of `data` (a CatsData):
    returns (overall, {colour: accuracy}, {(label name, colour): accuracy}); groups with no images are left out."""
    correct = model.predict(x) == data.labels
    per_color = {c: float(correct[data.colors == c].mean()) for c in FUR_COLORS if np.any(data.colors == c)}
    per_group = {}
    for lab in (1, 0):
        for c in FUR_COLORS:
            sel = (data.labels == lab) & (data.colors == c)
            if sel.any():
                per_group[(LABELS[lab], c)] = float(correct[sel].mean())
    return float(correct.mean()), per_color, per_group


class ShiftResults:
    """What `shift_experiment` measured: accuracy[variant][split], per_color[variant][split][colour],
    per_group[variant][split][(label name, colour)], the trained models[variant], and the standardizer."""

    def __init__(self, standardizer=None):
        self.standardizer = standardizer
        self.accuracy, self.per_color, self.per_group, self.models = {}, {}, {}, {}

    def drop(self, variant, shifted, reference="test"):
        """Accuracy points lost from split `reference` to split `shifted`: 100 * (acc_ref - acc_shifted)."""
        acc = self.accuracy[variant]
        return 100.0 * (acc[reference] - acc[shifted])

    def summary(self):
        """A text table: one row per variant, one column per split (accuracy in %), then per-group rows."""
        splits = list(next(iter(self.accuracy.values())))
        width = max(len(s) for s in splits) + 2
        lines = ["accuracy (%)".ljust(14) + "".join(s.rjust(width) for s in splits)]
        for v, accs in self.accuracy.items():
            lines.append(v.ljust(14) + "".join(f"{100 * accs[s]:{width}.1f}" for s in splits))
        return "\n".join(lines)


def shift_experiment(train_data, tests, *, hidden=(64,), steps=1000, batch_size=64, lr=0.02, momentum=0.9,
                     seed=0, variants=VARIANTS):
    """Train an MLP on `train_data` without and with BatchNorm, and measure accuracy on every split in `tests`.

    Parameters
    ----------
    train_data : CatsData, the training split; the inputs are its flattened images, standardized per pixel
        with the training split's mean and std (the same map is applied to every test split).
    tests : dict {name: CatsData}, the splits to evaluate on.
    hidden, steps, batch_size, lr, momentum, seed : the MLP's hidden widths and the SGD settings
        (`bn_teach.training.train`); both networks start from the same seed.
    variants : any of "no BN", "BN" (BatchNorm before each ReLU, evaluated with its running statistics) and
        "BN + AdaBN" (the same trained network, its BatchNorm statistics re-estimated on each test split's
        images, without labels, by `adabn`).

    Returns a ShiftResults with accuracy[variant][split], per_color[variant][split][colour] and
    per_group[variant][split][(label name, colour)], and the trained models.
    """
    if not isinstance(train_data, CatsData):
        raise TypeError(f"train_data must be a CatsData, got {type(train_data).__name__}")
    if not isinstance(tests, dict) or not tests or not all(isinstance(d, CatsData) for d in tests.values()):
        raise TypeError("tests must be a non-empty dict {name: CatsData}")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise ValueError(f"variants must be a non-empty selection of {VARIANTS}, got {variants!r}")
    st = Standardizer().fit(train_data.flatten())
    x_train = st.transform(train_data.flatten())
    x_tests = {name: st.transform(d.flatten()) for name, d in tests.items()}
    res = ShiftResults(standardizer=st)
    trained = {}
    for norm in (None, "batch"):
        names = [v for v in variants if (v == "no BN") == (norm is None)]
        if not names:
            continue
        model = MLP(x_train.shape[1], list(hidden), 2, norm=norm, seed=seed)
        hist = train(model, x_train, train_data.labels, steps=steps, batch_size=batch_size, lr=lr,
                     momentum=momentum, seed=seed, eval_every=steps)
        if hist.diverged:
            raise RuntimeError(f"shift_experiment: {hist.message}")
        trained[norm] = model
    for v in variants:
        model = trained[None if v == "no BN" else "batch"]
        res.models[v] = model
        res.accuracy[v], res.per_color[v], res.per_group[v] = {}, {}, {}
        for name, d in tests.items():
            m = adabn(copy.deepcopy(model), x_tests[name]) if v == "BN + AdaBN" else model
            res.accuracy[v][name], res.per_color[v][name], res.per_group[v][name] = evaluate(m, x_tests[name], d)
    return res


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
