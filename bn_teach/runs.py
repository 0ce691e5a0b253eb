"""The training runs lessons repeat side by side (`bn_teach.parallel.run_all`): on the digits, every lesson's grid,
sweep and comparison; on the black cats, lesson 4's dataset-shift and internal-shift experiments.

    from bn_teach import MLP
    from bn_teach.parallel import run_all
    from bn_teach.runs import train_on_digits

    jobs = [dict(model=MLP(64, [100], 10, norm=norm), seed=0, steps=400, lr=0.5) for norm in (None, "batch")]
    plain, bn = run_all(train_on_digits, jobs)          # two Run results, computed side by side
    plain.history.test_acc[-1]

Everything a worker process runs or receives (the job function, the recorders in its arguments) lives here, in
the core, not in a lesson module: a worker unpickling a function of a lesson module imports that module, and with
it matplotlib and ipywidgets (about 40 MiB per worker, for nothing). A worker imports only NumPy and the core.
The job functions load their data themselves (cheaper than sending it) and send back results, not trained
networks, unless asked.
"""
import copy
from dataclasses import dataclass

import numpy as np

from .cats import FUR_COLORS, LABELS, NOT_BLACK, CatsData, Standardizer, load_split, make_cats, make_split
from .digits import load_digits_split
from .network import MLP
from .training import BatchNormInputRecorder, GradientICSRecorder, History, OnProbe, Recorder, adabn, train


# ---------------------------------------------------------------------------------------------------------------
# the digits


@dataclass
class Run:
    """What `train_on_digits` returns: the History, and the trained model and recorder when asked for."""

    history: History
    model: object = None
    recorder: object = None


def train_on_digits(model, seed=0, n_train=None, recorder=None, keep_model=False, **train_kwargs):
    """Train `model` (an MLP with 64 inputs and 10 outputs) on the digits and return a `Run`.

    The data are `load_digits_split(seed=seed)`, of which the first `n_train` training images when given; the
    mini-batches are drawn with the same `seed` (`train(..., seed=seed)`), so a run is fixed by its model, its
    seed and `train_kwargs` (steps, batch_size, lr, momentum, eval_every, ...: see `bn_teach.training.train`),
    whichever process computes it. `recorder` (a callable or a list, see `train`) comes back filled in
    `Run.recorder`; the trained model comes back only with keep_model=True (it costs memory to send back).
    """
    x_train, y_train, x_test, y_test = load_digits_split(seed=seed)
    if n_train is not None:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    history = train(model, x_train, y_train, x_test, y_test, seed=seed, recorder=recorder, **train_kwargs)
    return Run(history, model if keep_model else None, recorder)


class WeightNorm:
    """Recorder for `train`: the norm of the first Linear layer's W after every step (in `norms`)."""

    def __init__(self):
        self.norms = []

    def __call__(self, step, model):
        self.norms.append(float(np.linalg.norm(model[0].W)))


# ---------------------------------------------------------------------------------------------------------------
# the black cats: dataset shift (lesson 4)

VARIANTS = ("no BN", "BN", "BN + AdaBN")
SHIFTED_SPLITS = ("test", "test_colors", "test_lighting", "test_gamma")


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
    tests : dict {name: CatsData}, the splits to evaluate on; a value may also be a function of no arguments that
        returns the CatsData, called when that split is evaluated (one test split in memory at a time).
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
    if not isinstance(tests, dict) or not tests or not all(isinstance(d, CatsData) or callable(d)
                                                           for d in tests.values()):
        raise TypeError("tests must be a non-empty dict {name: CatsData, or a function returning one}")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise ValueError(f"variants must be a non-empty selection of {VARIANTS}, got {variants!r}")
    st, trained = _train_standardized(train_data, variants, hidden=hidden, steps=steps, batch_size=batch_size,
                                      lr=lr, momentum=momentum, seed=seed)
    res = _new_results(st, trained, variants)
    for name, d in tests.items():
        d = d if isinstance(d, CatsData) else d()
        if not isinstance(d, CatsData):
            raise TypeError(f"tests[{name!r}] returned {type(d).__name__}, not a CatsData")
        _evaluate_split(res, name, d)
    return res


def _train_standardized(train_data, variants, *, hidden, steps, batch_size, lr, momentum, seed):
    """(Standardizer fitted on train_data, {norm: MLP trained on the standardized images}) for the networks that
    `variants` need; the standardized images are freed on return."""
    x_train = train_data.flatten()
    st = Standardizer().fit(x_train)
    x_train = st.transform(x_train, copy=False)  # in place: one float64 copy of the images, not two
    trained = {}
    for norm in (None, "batch"):
        if not any((v == "no BN") == (norm is None) for v in variants):
            continue
        model = MLP(x_train.shape[1], list(hidden), 2, norm=norm, seed=seed)
        hist = train(model, x_train, train_data.labels, steps=steps, batch_size=batch_size, lr=lr,
                     momentum=momentum, seed=seed, eval_every=steps)
        if hist.diverged:
            raise RuntimeError(f"shift_experiment: {hist.message}")
        trained[norm] = model
    return st, trained


def _new_results(st, trained, variants):
    res = ShiftResults(standardizer=st)
    for v in variants:
        res.models[v] = trained[None if v == "no BN" else "batch"]
        res.accuracy[v], res.per_color[v], res.per_group[v] = {}, {}, {}
    return res


def _evaluate_split(res, name, data):
    """Every variant of `res` on one test split (its standardized images are freed on return)."""
    x = res.standardizer.transform(data.flatten(), copy=False)
    for v, model in res.models.items():
        m = adabn(copy.deepcopy(model), x) if v == "BN + AdaBN" else model
        res.accuracy[v][name], res.per_color[v][name], res.per_group[v][name] = evaluate(m, x, data)


def gamma_shifted(data, gamma=3.0):
    """A copy of `data` with every pixel x -> x ** gamma: a change of lighting that is *not* an affine map of the
    pixels (dark tones darken more than light ones), so re-estimated BN statistics cannot undo it exactly."""
    out = copy.copy(data)
    out.images = data.images ** np.float32(gamma)
    out.info = dict(data.info, gamma=gamma)
    return out


def shift_run(seed, gamma, steps):
    """One seed of lesson 4's `shift_experiment` with every variant, trained on the canonical `train` split and
    tested on SHIFTED_SPLITS (`test_gamma`: `test` with every pixel x -> x ** gamma). Each split is loaded when it
    is evaluated (in a worker: cheaper than sending it); the trained networks are dropped (the lesson reads
    accuracies). Returns the ShiftResults."""
    tests = {name: (lambda name=name: load_split(name)) for name in SHIFTED_SPLITS[:3]}
    tests["test_gamma"] = lambda: gamma_shifted(load_split("test"), gamma)
    res = shift_experiment(load_split("train"), tests, seed=seed, steps=steps)
    res.models.clear()
    return res


def severity_run(severity, n_train, steps, seed):
    """One run of lesson 4's `severity_sweep`: the no-BN network of `shift_experiment` trained on `n_train`
    black-cat images of bias `severity`, tested on every colour (`test_colors`).
    Returns (overall accuracy, {colour: accuracy of cats}, {colour: accuracy of dogs})."""
    data = make_cats(n_train, cat_colors="black", dog_colors=NOT_BLACK, severity=severity, seed=1)
    data.images = np.rint(data.images * np.float32(255)) / np.float32(255)  # 8-bit pixels, as stored in data/
    res = shift_experiment(data, {"test_colors": lambda: make_split("test_colors")}, hidden=(64,), steps=steps,
                           seed=seed, variants=("no BN",))
    groups = res.per_group["no BN"]["test_colors"]
    cats = {c: groups[("cat", c)] for c in FUR_COLORS}
    dogs = {c: groups[("dog", c)] for c in FUR_COLORS}
    return res.accuracy["no BN"]["test_colors"], cats, dogs


# ---------------------------------------------------------------------------------------------------------------
# the black cats: internal covariate shift (lesson 4)

ICS_LR, ICS_MOMENTUM = 0.02, 0.9


def ics_run(split, norm, hidden, steps, seed, every, probe_size):
    """One network of lesson 4's `internal_shift`: an MLP (`norm` None or "batch") trained on a black-cats split
    (SGD lr ICS_LR, momentum ICS_MOMENTUM, batch 64) while recording, on the probe batch (the first `probe_size`
    standardized training images), the ReLU inputs (and BN inputs) every `every` steps and `gradient_ics` every 50.
    Returns (Recorder, BatchNormInputRecorder or None, GradientICSRecorder)."""
    data = load_split(split)
    x = data.flatten()
    x = Standardizer().fit(x).transform(x, copy=False)
    probe_x, probe_y = x[:probe_size].copy(), data.labels[:probe_size]  # a copy: a view would keep all of x alive
    rec = Recorder(every=every)
    bn_input = BatchNormInputRecorder(every=every) if norm else None
    grad = GradientICSRecorder(probe_x, probe_y, lr=ICS_LR / (1 - ICS_MOMENTUM), every=50)
    model = MLP(x.shape[1], list(hidden), 2, norm=norm, seed=seed)
    on_probe = OnProbe([rec] + ([bn_input] if norm else []), probe_x)
    train(model, x, data.labels, steps=steps, batch_size=64, lr=ICS_LR, momentum=ICS_MOMENTUM, seed=seed,
          eval_every=steps, recorder=[on_probe, grad])
    grad.x = grad.y = None  # the probe batch: the results do not need it (1.5 MiB per network)
    return rec, bn_input, grad
