"""Lesson 6, why does BN work: the "noisy BatchNorm" experiment and the smoothness of the loss along the
gradient (Santurkar et al. 2018), and the largest stable learning rate (Bjorck et al. 2018)."""
import copy

import ipywidgets as widgets
import numpy as np

from ..digits import load_digits_split
from ..layers import BatchNorm, Module
from ..network import MLP, softmax_cross_entropy
from ..parallel import run_all
from ..plots import PALETTE, PLAIN, WITH_BN, legend_above, new_figure
from ..runs import train_on_digits
from ..training import Recorder
from ..widgets import Live

NOISY = PALETTE["green"]  # far in hue from PLAIN (orange) and WITH_BN (blue)


class NoisyShift(Module):
    """Adds covariate shift on purpose (Santurkar et al. 2018, section 2.1): in training mode every unit's
    output is y = x * scale + shift, with a fresh scale and shift drawn at every step from a distribution whose
    mean itself moves at every step:

        mu_t ~ U(-strength, strength),  shift ~ N(mu_t, strength^2),  scale = exp(N(0, (strength / 2)^2)) (per unit)

    In eval mode it is the identity. It has no parameters."""

    def __init__(self, num_features, strength=1.0, seed=0):
        self.num_features, self.strength = num_features, float(strength)
        self.rng = np.random.default_rng(seed)
        self._cache = None

    def __repr__(self):
        return f"NoisyShift({self.num_features}, strength={self.strength:g})"

    def forward(self, x):
        if not self.training:
            self._cache = np.ones(self.num_features)
            return x
        s = self.strength
        mu = self.rng.uniform(-s, s, size=self.num_features)
        shift = self.rng.normal(mu, s)
        scale = np.exp(self.rng.normal(0.0, s / 2, size=self.num_features))
        self._cache = scale
        return x * scale + shift

    def backward(self, dy):
        if self._cache is None:
            raise RuntimeError("NoisyShift.backward called before forward")
        return dy * self._cache


def make_net(kind, seed=0, strength=1.0, activation="relu", hidden=(100, 100, 100)):
    """The lesson's network: "plain" (no BN), "bn" (BN before each nonlinearity) or "noisy bn" (BN, then a
    NoisyShift, before each nonlinearity)."""
    if kind not in ("plain", "bn", "noisy bn"):
        raise ValueError(f"kind must be 'plain', 'bn' or 'noisy bn', got {kind!r}")
    net = MLP(64, list(hidden), 10, activation=activation, norm=None if kind == "plain" else "batch", seed=seed)
    if kind == "noisy bn":
        layers, k = [], 0
        for layer in net.layers:
            layers.append(layer)
            if isinstance(layer, BatchNorm):
                layers.append(NoisyShift(layer.num_features, strength, seed=seed + 100 + k))
                k += 1
        net.layers = layers
    return net


def noisy_bn_experiment(steps=1500, lr=0.1, strength=1.0, seed=0, activation="relu"):
    """Train the plain, BN and noisy-BN networks on the digits (same seed, batches and SGD); returns
    {kind: (History, Recorder)} where the recorder holds every nonlinearity's input over training."""
    kinds = ("plain", "bn", "noisy bn")
    nets = {kind: make_net(kind, seed=seed, strength=strength, activation=activation) for kind in kinds}
    return dict(zip(kinds, _recorded_runs(nets.values(), steps, lr, seed)))


def _recorded_runs(nets, steps, lr, seed):
    """[(History, Recorder)] of each network, trained with momentum 0.9 and recorded every 10 steps, in parallel."""
    jobs = [dict(model=net, seed=seed, recorder=Recorder(every=10), steps=steps, batch_size=64, lr=lr,
                 momentum=0.9, eval_every=50) for net in nets]
    return [(run.history, run.recorder) for run in run_all(train_on_digits, jobs)]


def _params(net):
    return [getattr(m, n) for m, n in net.parameters()]


def _grads(net):
    return [getattr(m, "d" + n) for m, n in net.parameters()]


def _loss_and_grad(net, x, y):
    loss, dlogits = softmax_cross_entropy(net.forward(x), y)
    net.backward(dlogits)
    return loss, [g.copy() for g in _grads(net)]


def smoothness_probe(net, x, y, step_sizes):
    """From the network's current weights, move along the negative gradient of the loss on batch (x, y) by each
    step size (in units of the learning rate), and measure at each point the loss and the gradient.

    Returns (loss range: max - min of the losses, gradient change: max over step sizes of the l2 distance between
    the gradient there and at the start, divided by the l2 length of the move — an "effective beta-smoothness").
    The network is probed on a copy, in training mode; the original is left as it was."""
    probe = copy.deepcopy(net)
    probe.train()
    loss0, g0 = _loss_and_grad(probe, x, y)
    start = [p.copy() for p in _params(probe)]
    gnorm = np.sqrt(sum(float(np.sum(g * g)) for g in g0))
    losses, betas = [], []
    with np.errstate(all="ignore"):
        for eta in step_sizes:
            for p, p0, g in zip(_params(probe), start, g0):
                p[...] = p0 - eta * g
            loss, g = _loss_and_grad(probe, x, y)
            losses.append(loss)
            dist = np.sqrt(sum(float(np.sum((a - b) ** 2)) for a, b in zip(g, g0)))
            betas.append(dist / (eta * gnorm))
    losses = np.array(losses)
    if not np.all(np.isfinite(losses)):
        return float("inf"), float("inf")
    return float(losses.max() - losses.min()), float(np.max(betas))


def landscape_experiment(steps=600, probe_every=50, lr=0.1, step_sizes=(0.05, 0.1, 0.2, 0.4, 0.8, 1.6), seed=0):
    """Train plain and BN networks; every `probe_every` steps, run `smoothness_probe` on the current batch with
    step sizes lr * step_sizes. Returns {kind: (probe steps, loss ranges, gradient changes)}."""
    xtr, ytr, _, _ = load_digits_split(seed=seed)
    etas = lr * np.asarray(step_sizes)  # step sizes as multiples of the learning rate
    out = {}
    for kind in ("plain", "bn"):
        net = make_net(kind, seed=seed)
        at, ranges, betas = [], [], []
        rng = np.random.default_rng(seed + 7)

        def probe(step, model):
            if step % probe_every == 0:
                idx = rng.choice(len(xtr), size=64, replace=False)
                r, b = smoothness_probe(model, xtr[idx], ytr[idx], etas)
                at.append(step)
                ranges.append(r)
                betas.append(b)

        train_on_digits(net, seed=seed, recorder=probe, steps=steps, batch_size=64, lr=lr, momentum=0.9,
                        eval_every=steps)
        out[kind] = (np.array(at), np.array(ranges), np.array(betas))
    return out


def max_stable_lr(lrs=(0.03, 0.1, 0.3, 1.0, 3.0, 10.0), steps=300, seed=0, threshold=0.5):
    """Test accuracy after `steps` SGD steps (no momentum) for each learning rate, plain and BN ReLU networks;
    and the largest learning rate whose accuracy reaches `threshold`. Returns ({kind: [acc...]}, {kind: lr})."""
    kinds = ("plain", "bn")
    jobs = [dict(model=make_net(kind, seed=seed), seed=seed, steps=steps, batch_size=64, lr=lr, eval_every=steps)
            for kind in kinds for lr in lrs]
    runs = iter(run_all(train_on_digits, jobs))
    acc = {kind: [_final_accuracy(next(runs).history) for _ in lrs] for kind in kinds}
    best = {}
    for kind in kinds:
        ok = [lr for lr, a in zip(lrs, acc[kind]) if a >= threshold]
        best[kind] = max(ok) if ok else None
    return acc, best


def _final_accuracy(hist):
    """The last test accuracy of a run, NaN if it diverged."""
    return float("nan") if hist.diverged else hist.test_acc[-1]


def plot_noisy_bn(runs):
    """Test accuracy over training for plain, BN and noisy BN, and the jitter of one layer's input."""
    fig, (ax_acc, ax_dist) = new_figure(1, 2, figsize=(11, 3.6))
    colors = {"plain": PLAIN, "bn": WITH_BN, "noisy bn": NOISY}
    for kind, (hist, rec) in runs.items():
        ax_acc.plot(hist.step, hist.test_acc, color=colors[kind], label=kind)
        ax_dist.plot(rec.steps, rec.mean[-1][:, 0], color=colors[kind], lw=1.2, label=kind)
    ax_acc.set(xlabel="training step", ylabel="test accuracy", ylim=(0, 1),
               title="noisy BN trains about as fast as BN")
    ax_acc.legend(loc="lower right")
    ax_dist.set(xlabel="training step", ylabel="batch mean of unit 0's input",
                title="yet its layer inputs jump the most")
    return fig


def plot_landscape(res):
    """Loss range and gradient change along the gradient, over training, plain vs BN (log scale)."""
    fig, (ax_r, ax_b) = new_figure(1, 2, figsize=(11, 3.6))
    for kind, color in (("plain", PLAIN), ("bn", WITH_BN)):
        at, ranges, betas = res[kind]
        ax_r.semilogy(at, ranges, "o-", color=color, label=kind)
        ax_b.semilogy(at, betas, "o-", color=color, label=kind)
    ax_r.set(xlabel="training step", ylabel="loss range along the gradient", title="loss along the gradient")
    ax_b.set(xlabel="training step", ylabel="gradient change / distance", title="effective beta-smoothness")
    ax_r.legend()
    return fig


def strength_sweep(strengths=(0.0, 0.5, 1.0, 1.5, 2.0), steps=1000, lr=0.1, seed=0):
    """Noisy-BN networks trained with each noise strength (0 is plain BN). Returns {strength: (History, Recorder)}."""
    nets = [make_net("noisy bn", seed=seed, strength=s) for s in strengths]
    return dict(zip(strengths, _recorded_runs(nets, steps, lr, seed)))


def noisy_bn_explorer(sweep, reference):
    """Live figure: test accuracy and one unit's input over training for the noise strength on the slider,
    against the plain and BN networks of `reference` (a `noisy_bn_experiment` result). The noisy network is
    dashed, so at strength 0, where it is the BN network, the BN line still shows between the dashes; the right
    panel's y-axis fits all three traces."""
    fig, (ax_acc, ax_dist) = new_figure(1, 2, figsize=(10, 3.8))
    traces = []
    for kind, color in (("plain", PLAIN), ("bn", WITH_BN)):
        hist, rec = reference[kind]
        ax_acc.plot(hist.step, hist.test_acc, color=color, alpha=0.7, lw=2.5, label=kind)
        ax_dist.plot(rec.steps, rec.mean[-1][:, 0], color=color, alpha=0.7, lw=1.5, label=kind)
        traces.append(rec.mean[-1][:, 0])
    acc_line, = ax_acc.plot([], [], "--", color=NOISY, label="noisy bn")
    dist_line, = ax_dist.plot([], [], "--", color=NOISY, lw=1.2, label="noisy bn")
    ax_acc.set(xlabel="training step", ylabel="test accuracy", ylim=(0, 1))
    ax_dist.set(xlabel="training step", ylabel="batch mean of unit 0's input")
    legend_above(fig, ax_dist)

    def update(strength):
        hist, rec = sweep[strength]
        acc_line.set_data(hist.step, hist.test_acc)
        trace = rec.mean[-1][:, 0]
        dist_line.set_data(rec.steps, trace)
        values = np.concatenate(traces + [trace])
        values = values[np.isfinite(values)]
        pad = 0.05 * (values.max() - values.min()) + 1e-3
        ax_dist.set_ylim(values.min() - pad, values.max() + pad)
        final = hist.test_acc[-1] if hist.test_acc else float("nan")
        ax_acc.set_title(f"noise strength {strength:g}: {final:.0%} after {hist.step[-1] if hist.step else 0:,} steps")
        jitter = rec.drift()["jitter"]
        ax_dist.set_title(f"input jitter {jitter:.2f} per 10 steps")
        notes = [hist.message] if hist.diverged else []
        if strength == 0:
            notes.append("strength 0: noisy BN adds no noise, so it is the BN network and its dashed line lies on "
                         "the BN line.")
        return " ".join(notes) or None

    return Live(fig, update, strength=widgets.SelectionSlider(options=list(sweep), value=1.0 if 1.0 in sweep
                                                              else list(sweep)[0], description="noise"))
