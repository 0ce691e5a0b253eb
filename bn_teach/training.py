"""Training: SGD with momentum, recorders of per-layer statistics, a seeded train loop, and AdaBN.

AdaBN (Li et al. 2016, "Revisiting Batch Normalization For Practical Domain Adaptation") keeps every weight of a
trained network and only re-estimates each BatchNorm layer's running mean and variance on unlabeled data from
a new distribution: `adabn(model, x_new)`.
"""
import copy
import time
from dataclasses import dataclass, field

import numpy as np

from .validation import as_float_array, check_positive_int
from .layers import BatchNorm, Linear
from .network import softmax_cross_entropy


class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum, PyTorch's convention:

        v = momentum * v + grad;   param -= lr * v

    Parameters are updated in place, so arrays held elsewhere (a lesson's plot) stay current.
    """

    def __init__(self, parameters, lr=0.1, momentum=0.0, weight_decay=0.0):
        if isinstance(lr, bool) or not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        if isinstance(momentum, bool) or not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if isinstance(weight_decay, bool) or not weight_decay >= 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        self.params = list(parameters)
        self.lr, self.momentum, self.weight_decay = float(lr), float(momentum), float(weight_decay)
        self.velocity = [np.zeros_like(getattr(m, name)) for m, name in self.params]

    def step(self):
        """Apply one update from the gradients left by the last backward pass."""
        for (module, name), v in zip(self.params, self.velocity):
            p, g = getattr(module, name), getattr(module, "d" + name)
            if self.weight_decay:
                g = g + self.weight_decay * p
            if self.momentum:
                v *= self.momentum
                v += g
                g = v
            p -= self.lr * g


class Recorder:
    """Records, at every `every`-th training step, statistics of the input to each nonlinearity (the
    pre-activation), computed on that step's training mini-batch.

    After training, for layer index k (0 = first hidden layer):
        rec.steps                 the recorded steps
        rec.mean[k], rec.std[k]   arrays (records, width): per-unit batch mean and std of the pre-activation
        rec.percentiles[k]        array (records, 3): the 15th, 50th and 85th percentiles of unit `unit`
    (the quantities of Ioffe & Szegedy 2015, Figure 1b-c), and `rec.drift(k)` summarizes how they moved.
    """

    QUANTILES = (15, 50, 85)

    def __init__(self, unit=0, every=1):
        self.unit = unit
        self.every = check_positive_int(every, "every")
        self.steps, self._mean, self._std, self._pct = [], [], [], []

    def __call__(self, step, model):
        if step % self.every:
            return
        acts = model.activations
        if not self._mean:
            self._mean, self._std, self._pct = ([[] for _ in acts] for _ in range(3))
        self.steps.append(step)
        for k, layer in enumerate(acts):
            z = layer.last_input
            self._mean[k].append(z.mean(axis=0))
            self._std[k].append(z.std(axis=0))
            self._pct[k].append(np.percentile(z[:, self.unit], self.QUANTILES))

    @property
    def mean(self):
        return [np.array(m) for m in self._mean]

    @property
    def std(self):
        return [np.array(s) for s in self._std]

    @property
    def percentiles(self):
        return [np.array(p) for p in self._pct]

    def drift(self, layer=-1, window=5, relative=False):
        """How far layer `layer`'s recorded statistics moved over training, and how much they jittered.

        Returns a dict; "early" and "late" are the averages over the first and the last `window` records:
            "mean shift"     |late - early| of each unit's batch mean, averaged over the units
            "std change"     the same for each unit's batch std
            "jitter"         |change of each unit's batch mean between consecutive records|, averaged over
                             units and records
            "median shift"   late - early (signed) of the median (50th percentile) of unit `unit`
            "median jitter"  |change of that median between consecutive records|, averaged over records
        (the median entries only where percentiles were recorded). With relative=True, each unit's mean shift,
        std change and jitter are divided by that unit's early std (its spread over the batch), so networks whose
        units live on different scales compare fairly. Which batch the statistics come from is the recorder's:
        `Recorder` uses each recorded step's own training mini-batch, so its "jitter" also counts how the mix of
        examples changes between batches; `OnProbe` makes them come from one fixed probe batch.
        """
        window = check_positive_int(window, "window")
        out = {}
        traces = {"mean": self.mean[layer], "std": self.std[layer]}
        scale = np.maximum(traces["std"][:window].mean(axis=0), 1e-12) if relative else 1.0
        if self._pct:
            traces["median"] = self.percentiles[layer][:, 1:2]
        for name, trace in traces.items():
            change = trace[-window:].mean(axis=0) - trace[:window].mean(axis=0)
            steps = np.abs(np.diff(trace, axis=0))
            if name == "mean":
                out["mean shift"] = float(np.mean(np.abs(change) / scale))
                out["jitter"] = float(np.mean(steps / scale))
            elif name == "std":
                out["std change"] = float(np.mean(np.abs(change) / scale))
            else:
                out["median shift"], out["median jitter"] = float(change[0]), float(np.mean(steps))
        return out


class BatchNormInputRecorder(Recorder):
    """Records the per-channel batch mean and std of the *input* of every BatchNorm layer at every `every`-th
    step (what the BN layer receives from the Linear layer before it, before normalizing it), on that step's
    training mini-batch. Same attributes and `drift` as `Recorder`, without percentiles."""

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


class OnProbe:
    """Runs recorders on one fixed probe batch instead of each step's training mini-batch.

        rec = Recorder(every=10)
        train(model, x, y, recorder=OnProbe([rec], x_probe))

    At every step where one of `recorders` records, a copy of the model runs forward on x_probe (N, D) in training
    mode (BatchNorm normalizes with the probe batch's own statistics, as if it were the training batch) and the
    recorders read that copy. The same images at every record: what moves is the network, not the sample. The
    model being trained is not touched (no running statistics updated, no cache overwritten).
    """

    def __init__(self, recorders, x_probe):
        self.recorders = list(recorders)
        self.x_probe = as_float_array(x_probe, "x_probe")
        if self.x_probe.ndim != 2 or len(self.x_probe) < 2:
            raise ValueError(f"x_probe must have shape (N, D) with N >= 2, got {self.x_probe.shape}")

    def __call__(self, step, model):
        due = [r for r in self.recorders if step % r.every == 0]
        if not due:
            return
        probe = copy.deepcopy(model)
        probe.train()
        probe.forward(self.x_probe)
        for r in due:
            r(step, probe)


def gradient_ics(model, x, y, lr, layer=-1):
    """Internal covariate shift as Santurkar et al. (2018, Definition 2.1) measure it: how much the gradient of one
    Linear layer's weights changes when every layer before it takes its SGD step.

    On batch (x, y): G = the gradient of Linear layer `layer`'s W (index among the Linear layers; -1: the output
    layer) at the current weights; G' = the same gradient after all parameters of the layers before it moved by
    -lr * their gradient (the later layers keep their weights). Computed on a copy, in training mode.
    Returns {"change": ||G - G'||, "relative": ||G - G'|| / ||G||, "cos": cos(G, G')}.
    """
    net = copy.deepcopy(model)
    net.train()
    target = net.layers_of(Linear)[layer]
    position = net.layers.index(target)

    def weight_gradient():
        _, dlogits = softmax_cross_entropy(net.forward(x), y)
        net.backward(dlogits)
        return target.dW.copy()

    g = weight_gradient()
    for below in net.layers[:position]:
        for module, name in below.parameters():
            getattr(module, name)[...] -= lr * getattr(module, "d" + name)
    g2 = weight_gradient()
    change = float(np.linalg.norm(g - g2))
    norm, norm2 = float(np.linalg.norm(g)), float(np.linalg.norm(g2))
    return {"change": change, "relative": change / max(norm, 1e-300),
            "cos": float(np.sum(g * g2) / max(norm * norm2, 1e-300))}


class GradientICSRecorder:
    """Every `every` steps, `gradient_ics` of the model on one fixed batch (x, y) with the training learning rate.
    After training: rec.steps, and rec.values: a list of the dicts `gradient_ics` returned."""

    def __init__(self, x, y, lr, layer=-1, every=50):
        self.x, self.y, self.lr, self.layer = as_float_array(x, "x"), np.asarray(y), float(lr), layer
        self.every = check_positive_int(every, "every")
        self.steps, self.values = [], []

    def __call__(self, step, model):
        if step % self.every:
            return
        self.steps.append(step)
        self.values.append(gradient_ics(model, self.x, self.y, self.lr, self.layer))

    def series(self, key):
        """One quantity ("change", "relative" or "cos") over the records, as an array."""
        return np.array([v[key] for v in self.values])


@dataclass
class History:
    """What a training run measured. Lists have one entry per evaluation (every `eval_every` steps)."""

    step: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)
    diverged: bool = False
    message: str = ""

    @property
    def seconds_per_step(self):
        """Mean wall-clock seconds per training step (machine-dependent: never compare across machines)."""
        return self.seconds[-1] / max(self.step[-1], 1) if self.step else float("nan")

    def steps_to(self, accuracy, on="test"):
        """First evaluated step at which the accuracy reached `accuracy`, or None if it never did."""
        accs = self.test_acc if on == "test" else self.train_acc
        for s, a in zip(self.step, accs):
            if a >= accuracy:
                return s
        return None


def accuracy(model, x, y):
    """Fraction of samples that the model (in eval mode) classifies correctly."""
    return float((model.predict(x) == np.asarray(y)).mean())


def train(model, x_train, y_train, x_test=None, y_test=None, *, steps=1000, batch_size=64, lr=0.1, momentum=0.0,
          weight_decay=0.0, seed=0, eval_every=100, recorder=None, eval_train_size=2000):
    """Train `model` with mini-batch SGD on softmax cross-entropy; returns a `History`.

    Mini-batches are drawn by reshuffling the training set every epoch with np.random.default_rng(seed).
    Every `eval_every` steps (and at the end; or after each step of `eval_every` when it is a list of steps, to
    evaluate densely where it matters) the history records the mean training loss since the last
    evaluation, accuracy on (up to `eval_train_size` of) the training set and on the test set, and elapsed
    seconds of training (the time spent evaluating and in recorders left out). If the loss becomes NaN or inf the run stops and history.diverged is True, with a message.
    `recorder`: None, a callable `recorder(step, model)` called after every step, or a list of them.
    """
    x_train = as_float_array(x_train, "x_train")
    y_train = np.asarray(y_train)
    if x_train.ndim != 2 or y_train.shape != (len(x_train),):
        raise ValueError(f"x_train must be (N, D) and y_train (N,), got {x_train.shape} and {y_train.shape}")
    if (x_test is None) != (y_test is None):
        raise ValueError("give both x_test and y_test, or neither")
    steps = check_positive_int(steps, "steps")
    batch_size = check_positive_int(batch_size, "batch_size")
    eval_at = _eval_schedule(eval_every, steps)
    if batch_size > len(x_train):
        raise ValueError(f"batch_size={batch_size} is larger than the training set ({len(x_train)} samples)")
    recorders = [] if recorder is None else list(recorder) if isinstance(recorder, (list, tuple)) else [recorder]
    opt = SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    rng = np.random.default_rng(seed)
    hist = History()
    sub = slice(0, min(eval_train_size, len(x_train)))
    order, pos, losses = rng.permutation(len(x_train)), 0, []
    model.train()
    start = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for step in range(1, steps + 1):
            if pos + batch_size > len(order):
                order, pos = rng.permutation(len(x_train)), 0
            idx = order[pos:pos + batch_size]
            pos += batch_size
            try:
                logits = model.forward(x_train[idx])
            except ValueError as exc:  # a BatchNorm layer refuses activations that overflowed
                if "NaN or inf" not in str(exc):
                    raise
                logits = np.full((len(idx), 1), np.nan)
            loss, dlogits = softmax_cross_entropy(logits, y_train[idx]) if np.isfinite(logits).all() else (np.nan, None)
            if not np.isfinite(loss):
                hist.diverged = True
                hist.message = (f"training diverged at step {step}: the loss became {loss} "
                                f"(learning rate {lr:g} is too large for this network)")
                break
            model.backward(dlogits)
            opt.step()
            losses.append(loss)
            hist.step_loss.append(loss)
            if recorders:
                recording = time.perf_counter()
                for record in recorders:
                    record(step, model)
                start += time.perf_counter() - recording  # recording is not training time either
            if step in eval_at or step == steps:
                elapsed = time.perf_counter() - start
                hist.step.append(step)
                hist.loss.append(float(np.mean(losses)))
                losses = []
                hist.train_acc.append(_safe_accuracy(model, x_train[sub], y_train[sub]))
                if x_test is not None:
                    hist.test_acc.append(_safe_accuracy(model, x_test, y_test))
                hist.seconds.append(elapsed)
                start = time.perf_counter() - elapsed  # evaluation time is not training time
    model.train()
    return hist


def _eval_schedule(eval_every, steps):
    """The set of steps after which `train` evaluates: multiples of an int `eval_every`, or the steps listed."""
    if isinstance(eval_every, (list, tuple, range, set, frozenset)):
        at = frozenset(eval_every)
        if not at or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in at):
            raise ValueError(f"eval_every must be an int >= 1 or a non-empty list of steps >= 1, got {eval_every!r}")
        return at
    every = check_positive_int(eval_every, "eval_every")
    return frozenset(range(every, steps + 1, every))


def _safe_accuracy(model, x, y):
    with np.errstate(all="ignore"):
        try:
            return accuracy(model, x, y)
        except ValueError:  # NaN weights after a huge step: eval-mode BN refuses non-finite input
            return float("nan")


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
