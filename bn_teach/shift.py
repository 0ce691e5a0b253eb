"""Distribution shift experiments: train with and without BatchNorm on one split, test on others, and AdaBN.

    res = shift_experiment(load_split("train"), {"test": ..., "test_colors": ..., "test_lighting": ...})
    res.accuracy["BN + AdaBN"]["test_lighting"]      # a float
    res.per_group["no BN"]["test_colors"][("cat", "ginger")]
    print(res.summary())

AdaBN (Li et al. 2016, "Revisiting Batch Normalization For Practical Domain Adaptation") keeps every weight of a
trained network and only re-estimates each BatchNorm layer's running mean and variance on unlabeled data from
the new distribution.
"""
import copy
from dataclasses import dataclass, field

import numpy as np

from ._checks import as_float_array, check_positive_int
from .cats import COLORS, LABELS, CatsData, Standardizer
from .layers import BatchNorm
from .network import MLP
from .training import train

VARIANTS = ("no BN", "BN", "BN + AdaBN")


def adabn(model, x_unlabeled, batch_size=256):
    """Re-estimate the running statistics of every BatchNorm layer of `model` on x_unlabeled (N, D); no labels,
    no weight changes. Returns the model, in eval mode.

    The statistics are reset, then x_unlabeled runs forward in training mode in consecutive batches of about
    `batch_size` (at least 2 samples each), and each layer's running_mean and running_var become the
    cumulative average over those batches (momentum=None, PyTorch's convention; each layer's momentum is
    restored afterwards). Layers further in see the earlier layers normalized with batch statistics, as in training.
    """
    bns = [m for m in getattr(model, "layers", [model]) if isinstance(m, BatchNorm)]
    if not bns:
        raise ValueError("adabn: the model has no BatchNorm layer, so there are no statistics to re-estimate")
    x = as_float_array(x_unlabeled, "x_unlabeled")
    if x.ndim < 2 or len(x) < 2:
        raise ValueError(f"x_unlabeled must have shape (N, ...) with N >= 2, got {x.shape}")
    batch_size = check_positive_int(batch_size, "batch_size")
    n_batches = max(1, min(-(-len(x) // batch_size), len(x) // 2))  # every batch holds >= 2 samples
    momenta = [bn.momentum for bn in bns]
    try:
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
        model.train()
        for chunk in np.array_split(x, n_batches):
            model.forward(chunk)
    finally:
        for bn, mom in zip(bns, momenta):
            bn.momentum = mom
    model.eval()
    return model


def evaluate(model, x, data):
    """Accuracy of `model` on standardized inputs x (N, D) with the labels and colours of `data` (a CatsData):
    returns (overall, {colour: accuracy}, {(label name, colour): accuracy}); groups with no images are left out."""
    correct = model.predict(x) == data.labels
    per_color = {c: float(correct[data.colors == c].mean()) for c in COLORS if np.any(data.colors == c)}
    per_group = {}
    for lab in (1, 0):
        for c in COLORS:
            sel = (data.labels == lab) & (data.colors == c)
            if sel.any():
                per_group[(LABELS[lab], c)] = float(correct[sel].mean())
    return float(correct.mean()), per_color, per_group


@dataclass
class ShiftResults:
    """What `shift_experiment` measured: variant -> split -> accuracy (see the module docstring)."""

    accuracy: dict = field(default_factory=dict)
    per_color: dict = field(default_factory=dict)
    per_group: dict = field(default_factory=dict)
    models: dict = field(default_factory=dict)
    standardizer: Standardizer = None

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
    from .cats import load_split, make_split

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
