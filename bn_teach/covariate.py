"""Lesson 4, the black cats: dataset shift (train and test inputs differ) against internal covariate shift
(a hidden layer's input distribution drifting during training), each measured with and without BN."""
import ipywidgets as widgets
import numpy as np

from .cats import COLORS, NOT_BLACK, Standardizer, make_cats, make_split
from .network import MLP
from .parallel import run_all
from .plots import PALETTE, PLAIN, WITH_BN, new_figure
from .shift import evaluate
from .training import Recorder, train
from .widgets import Live

SEVERITIES = (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)


def severity_sweep(severities=SEVERITIES, n_train=2500, steps=1000, seed=0):
    """Train the no-BN MLP on black-cat training sets of each bias severity (0: every colour for both classes,
    1: all cats black and no dog black) and test on every colour (data's `test_colors` recipe).

    Returns {severity: (overall accuracy, {colour: accuracy of cats}, {colour: accuracy of dogs})}.
    """
    jobs = [dict(severity=s, n_train=n_train, steps=steps, seed=seed) for s in severities]
    return dict(zip(severities, run_all(_severity_run, jobs)))


def _severity_run(severity, n_train, steps, seed):
    """One run of `severity_sweep`."""
    test = make_split("test_colors")
    data = make_cats(n_train, cat_colors="black", dog_colors=NOT_BLACK, severity=severity, seed=1)
    data.images = np.rint(data.images * np.float32(255)) / np.float32(255)
    st = Standardizer().fit(data.flatten())
    model = MLP(data.flatten().shape[1], [64], 2, seed=seed)
    train(model, st.transform(data.flatten()), data.labels, steps=steps, batch_size=64, lr=0.02, momentum=0.9,
          seed=seed, eval_every=steps)
    overall, _, groups = evaluate(model, st.transform(test.flatten()), test)
    cats = {c: groups[("cat", c)] for c in COLORS}
    dogs = {c: groups[("dog", c)] for c in COLORS}
    return overall, cats, dogs


def bias_explorer(sweep):
    """Live figure over a `severity_sweep`: accuracy per fur colour for cats and dogs, one slider for the bias."""
    fig, ax = new_figure(figsize=(9, 3.6))
    pos = np.arange(len(COLORS))
    cat_bars = ax.bar(pos - 0.2, np.zeros(len(COLORS)), width=0.4, color=WITH_BN, label="cats")
    dog_bars = ax.bar(pos + 0.2, np.zeros(len(COLORS)), width=0.4, color=PLAIN, label="dogs")
    ax.set_xticks(pos, COLORS)
    ax.set(ylim=(0, 1.05), ylabel="test accuracy", xlabel="fur colour")
    ax.axhline(0.5, color=PALETTE["grey"], ls=":", lw=1)
    ax.legend(loc="lower right")

    def update(severity):
        overall, cats, dogs = sweep[severity]
        for bar, c in zip(cat_bars, COLORS):
            bar.set_height(cats[c])
        for bar, c in zip(dog_bars, COLORS):
            bar.set_height(dogs[c])
        ax.set_title(f"training bias {severity:g}: {overall:.0%} on cats and dogs of every colour")

    options = list(sweep)
    return Live(fig, update, severity=widgets.SelectionSlider(options=options, value=options[-1],
                                                              description="bias"))


class BatchNormInputRecorder(Recorder):
    """Records the per-channel batch mean and std of the *input* of every BatchNorm layer at every `every`-th
    step (what the BN layer receives from the Linear layer before it, before normalizing it)."""

    def __init__(self, every=10):
        super().__init__(every=every)

    def __call__(self, step, model):
        if step % self.every:
            return
        stats = [bn.batch_stats for bn in model.norms]
        if not self._mean:
            self._mean, self._std = [[] for _ in stats], [[] for _ in stats]
        self.steps.append(step)
        for k, (mean, var) in enumerate(stats):
            self._mean[k].append(mean)
            self._std[k].append(np.sqrt(var))


def internal_shift(data, hidden=(64, 64), steps=600, seed=0, every=10):
    """Train MLPs with and without BN (before the ReLU) on `data` with the same seed and batches. Records the
    input of every nonlinearity (Recorder) in both, and, in the BN network, the input of every BN layer too.
    Returns ({"plain": Recorder, "bn": Recorder, "bn input": BatchNormInputRecorder}, histories)."""
    st = Standardizer().fit(data.flatten())
    x = st.transform(data.flatten())
    recs, hists = {}, {}
    for name, norm in (("plain", None), ("bn", "batch")):
        rec = Recorder(every=every)
        if norm:
            bn_in = BatchNormInputRecorder(every=every)
            recs["bn input"] = bn_in
            rec = _Both(rec, bn_in)
        model = MLP(x.shape[1], list(hidden), 2, norm=norm, seed=seed)
        hists[name] = train(model, x, data.labels, steps=steps, batch_size=64, lr=0.02, momentum=0.9, seed=seed,
                            eval_every=steps, recorder=rec)
        recs[name] = rec.first if isinstance(rec, _Both) else rec
    return recs, hists


class _Both:
    """Call two recorders at every step."""

    def __init__(self, first, second):
        self.first, self.second = first, second

    def __call__(self, step, model):
        self.first(step, model)
        self.second(step, model)


def drift_summary(rec, layer=-1, window=5):
    """How much a layer's input distribution moved during training, averaged over its units. Each unit's batch
    mean and batch std are averaged over the first and over the last `window` records (to damp batch-to-batch
    noise); returns the mean |change| of each, and the batch-to-batch jitter of the mean (mean |difference
    between consecutive records|)."""
    mean, std = rec.mean[layer], rec.std[layer]
    early, late = slice(0, window), slice(-window, None)
    return {"mean shift": float(np.mean(np.abs(mean[late].mean(0) - mean[early].mean(0)))),
            "std change": float(np.mean(np.abs(std[late].mean(0) - std[early].mean(0)))),
            "jitter": float(np.mean(np.abs(np.diff(mean, axis=0))))}


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
