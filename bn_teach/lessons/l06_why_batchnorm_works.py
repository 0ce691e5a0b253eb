"""Lesson 6, why does BN work: the "noisy BatchNorm" experiment and the smoothness of the loss along the
gradient (Santurkar et al. 2018), and the largest stable learning rate (Bjorck et al. 2018).

The verdicts rest on five seeds (`seed_sweep`, stored in data/sweeps/l06_why_batchnorm_works.json); the lesson
runs seed 0 live with the same settings. Settings (they differ between the experiments, and from lesson 3's):
- noisy BN: lesson 3's network and training, 64 -> 3 x 100 sigmoid -> 10, batch 60, plain SGD at lr 0.5;
- smoothness: ReLU network, batch 64, SGD with momentum 0.9 at lr 0.1;
- largest stable learning rate: ReLU network, batch 64, plain SGD, 200 steps.
"""
import copy

import ipywidgets as widgets
import numpy as np

from ..digits import load_digits_split
from ..evidence import SEEDS, Spread, censored, compare, compare_paired
from ..layers import BatchNorm, Linear, Module
from ..network import MLP, softmax_cross_entropy
from ..parallel import run_all
from ..plots import PALETTE, PLAIN, WITH_BN, legend_above, new_figure
from ..runs import train_on_digits
from ..sweeps import per_seed
from ..training import OnProbe, Recorder
from ..widgets import Live

NOISY = PALETTE["green"]  # far in hue from PLAIN (orange) and WITH_BN (blue)
KINDS = ("plain", "bn", "noisy bn", "noisy plain")
KIND_COLORS = {"plain": PLAIN, "bn": WITH_BN, "noisy bn": NOISY, "noisy plain": PALETTE["purple"]}
# lesson 3's sigmoid setting, in which BN trains far faster than the plain network
NOISE_SETTING = dict(activation="sigmoid", steps=1500, batch_size=60, lr=0.5, record_every=10, probe_size=200)
LR_GRID = tuple(float(2.0 ** k) for k in range(-2, 5))  # 0.25 ... 16, a factor 2 apart
PHASES = (("early", 50, 200), ("middle", 250, 400), ("late", 450, 600))  # probe steps (inclusive) of each phase


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
    """The lesson's network: "plain" (no BN), "bn" (BN before each nonlinearity), "noisy bn" (BN, then a
    NoisyShift, before each nonlinearity) or "noisy plain" (the same NoisyShift before each nonlinearity, no BN:
    the control that shows what the noise does without BN)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, got {kind!r}")
    norm = "batch" if kind in ("bn", "noisy bn") else None
    net = MLP(64, list(hidden), 10, activation=activation, norm=norm, seed=seed)
    if kind.startswith("noisy"):
        layers, k = [], 0
        hidden_linears = net.layers_of(Linear)[:-1]
        for layer in net.layers:
            layers.append(layer)
            if isinstance(layer, BatchNorm) or (norm is None and any(layer is h for h in hidden_linears)):
                layers.append(NoisyShift(layer.b.size if norm is None else layer.num_features, strength,
                                         seed=seed + 100 + k))
                k += 1
        net.layers = layers
    return net


def noisy_bn_experiment(seed=0, strength=1.0, kinds=KINDS, steps=NOISE_SETTING["steps"]):
    """Train the plain, BN, noisy-BN and noisy-plain networks of lesson 3's sigmoid setting (`NOISE_SETTING`:
    same seed, batches and plain SGD); returns {kind: (History, Recorder)} where the recorder holds every
    sigmoid's input, on one fixed probe batch of training images, every 10 steps."""
    nets = {kind: make_net(kind, seed=seed, strength=strength, activation=NOISE_SETTING["activation"])
            for kind in kinds}
    return dict(zip(kinds, _recorded_runs(nets.values(), seed, steps)))


def strength_sweep(strengths=(0.0, 0.5, 1.0, 1.5, 2.0), steps=300, seed=0, runs=None):
    """Noisy-BN networks of the noisy-BN setting trained with each noise strength (0 is plain BN) for `steps`
    steps. Returns {strength: (History, Recorder)}. With `runs` (a `noisy_bn_experiment` result of the same seed,
    strength 1 and at least `steps` steps), strengths 0 and 1 are read from its first `steps` steps ("bn" and
    "noisy bn": the same networks, batches and noise) instead of being trained again."""
    reuse = {0.0: "bn", 1.0: "noisy bn"} if runs is not None else {}
    todo = [s for s in strengths if s not in reuse]
    nets = [make_net("noisy bn", seed=seed, strength=s, activation=NOISE_SETTING["activation"]) for s in todo]
    trained = dict(zip(todo, _recorded_runs(nets, seed, steps)))
    return {s: trained[s] if s in trained else _first_steps(*runs[reuse[s]], steps) for s in strengths}


def _first_steps(hist, rec, steps):
    """(History, Recorder) of a run cut after step `steps`: what a run of `steps` steps would have recorded."""
    if not hist.step or hist.step[-1] < steps or steps not in hist.step:
        raise ValueError(f"steps must be one of the run's evaluated steps, got {steps}")
    n = hist.step.index(steps) + 1
    cut = copy.copy(hist)
    for name in ("step", "loss", "train_acc", "test_acc", "seconds"):
        setattr(cut, name, list(getattr(hist, name))[:n])  # (lists the run did not fill stay empty)
    cut.step_loss = list(hist.step_loss)[:steps]
    kept = copy.copy(rec)
    m = sum(1 for s in rec.steps if s <= steps)
    kept.steps = rec.steps[:m]
    kept._mean, kept._std, kept._pct = ([trace[:m] for trace in traces] for traces in (rec._mean, rec._std, rec._pct))
    return cut, kept


def eval_steps(steps):
    """The steps after which the noisy-BN runs measure test accuracy: every 10 steps up to step 500 (where BN and
    noisy BN reach 90 %), every 25 after it (where the plain network does); and the last step."""
    return sorted({s for s in range(10, steps + 1) if s % (10 if s <= 500 else 25) == 0} | {steps})


def _recorded_runs(nets, seed, steps):
    """[(History, Recorder)] of each network trained in `NOISE_SETTING`, in parallel. The History holds the test
    accuracy at `eval_steps(steps)`; the Recorder, every sigmoid's input on a fixed probe batch (the first
    `probe_size` training images) every 10 steps."""
    s = NOISE_SETTING
    x_probe = load_digits_split(seed=seed)[0][:s["probe_size"]]
    jobs = [dict(model=net, seed=seed, recorder=OnProbe([Recorder(every=s["record_every"])], x_probe), steps=steps,
                 batch_size=s["batch_size"], lr=s["lr"], eval_every=eval_steps(steps), eval_train_size=s["batch_size"])
            for net in nets]
    return [(run.history, run.recorder.recorders[0]) for run in run_all(train_on_digits, jobs)]


def input_jitter(rec, layer=-1):
    """How much a layer's input distribution jumps: the change of each unit's mean over the probe batch between
    consecutive records, divided by that unit's spread over the probe batch (its std, averaged over the records),
    averaged over units and records. 1 means: the unit's mean moves by one typical spread every 10 steps."""
    mean, std = rec.mean[layer], rec.std[layer]
    return float(np.mean(np.abs(np.diff(mean, axis=0)) / np.maximum(std.mean(axis=0), 1e-12)))


def noise_numbers(runs):
    """{"steps_to_90", "final_acc", "jitter"}: {kind: value} of one seed's `noisy_bn_experiment`."""
    return {"steps_to_90": {k: h.steps_to(0.9) for k, (h, _) in runs.items()},
            "final_acc": {k: (float("nan") if h.diverged else h.test_acc[-1]) for k, (h, _) in runs.items()},
            "jitter": {k: input_jitter(rec) for k, (_, rec) in runs.items()}}


def _steps_verdict(a, b, horizon):
    """"sooner" / "later" / "no measurable difference": steps to 90 % of `a` against `b`, from their ranges (a run
    that never reached 90 % is later than every run that did)."""
    return {"lower": "sooner", "higher": "later"}.get(
        compare(censored(a, horizon), censored(b, horizon)), "no measurable difference")


NOISE_PAIRS = (("noisy bn", "bn"), ("noisy bn", "plain"), ("noisy plain", "plain"), ("bn", "plain"))


def noise_verdicts(results):
    """Verdicts of the stored noisy-BN sweep: for each pair (a, b) in NOISE_PAIRS, a's steps to 90 % (sooner /
    later), final accuracy and input jitter (lower / higher) against b's, from non-overlapping ranges over seeds."""
    r, horizon = results["noise"], results["noise"]["steps"]
    out = {}
    for a, b in NOISE_PAIRS:
        out[f"{a} vs {b}: steps to 90%"] = _steps_verdict(r["steps_to_90"][a], r["steps_to_90"][b], horizon)
        for key in ("final_acc", "jitter"):
            out[f"{a} vs {b}: {key.replace('_', ' ')}"] = compare(Spread(per_seed(r[key][a])),
                                                                  Spread(per_seed(r[key][b])))
    return out


def _steps_text(values, horizon):
    reached = [v for v in values if v is not None]
    text = f"{Spread(reached):.0f}" if reached else "-"
    missing = len(values) - len(reached)
    return text + (f", {missing} of {len(values)} never (>{horizon})" if missing else "")


def noise_table(results):
    """The stored sweep's noisy-BN numbers as text: mean (min-max) over the seeds for each network."""
    r, horizon = results["noise"], results["noise"]["steps"]
    lines = [f"{'':>11}  {'steps to 90%':<26} {'final accuracy':<22} {'input jitter':<20}"]
    for kind in (k for k in KINDS if k in r["steps_to_90"]):
        lines.append(f"{kind:>11}  {_steps_text(r['steps_to_90'][kind], horizon):<26} "
                     f"{Spread(per_seed(r['final_acc'][kind])):.3f}    {Spread(per_seed(r['jitter'][kind])):.3f}")
    return "\n".join(lines)


def live_beside_stored(live, stored, index=0):
    """One seed's numbers run live (a `noise_numbers` dict) beside the same seed's stored ones."""
    lines = []
    for key, fmt in (("steps_to_90", "{}"), ("final_acc", "{:.3f}"), ("jitter", "{:.3f}")):
        for kind, value in live[key].items():
            kept = stored[key][kind][index]
            show = (lambda v: "never" if v is None else fmt.format(v))
            lines.append(f"{key.replace('_', ' '):>12}, {kind:>11}: live {show(value)}; stored {show(kept)}")
    return "\n".join(lines)


def _params(net):
    return [getattr(m, n) for m, n in net.parameters()]


def _grads(net):
    return [getattr(m, "d" + n) for m, n in net.parameters()]


def _loss_and_grad(net, x, y):
    loss, dlogits = softmax_cross_entropy(net.forward(x), y)
    net.backward(dlogits)
    return loss, [g.copy() for g in _grads(net)]


def _norm(arrays):
    return np.sqrt(sum(float(np.sum(a * a)) for a in arrays))


def smoothness_probe(net, x, y, step_sizes):
    """From the network's current weights, move along the negative gradient of the loss on batch (x, y) by each
    step size, and measure at each point the loss and the gradient. Both summaries are relative, so that they stay
    informative when the loss and the gradient shrink over training:

    Returns (loss range: max - min of the losses along the line, the start included, divided by the loss at the
    start; gradient change: max over step sizes of ||gradient there - gradient at the start|| / ||gradient at the
    start||). The network is probed on a copy, in training mode; the original is left as it was."""
    probe = copy.deepcopy(net)
    probe.train()
    loss0, g0 = _loss_and_grad(probe, x, y)
    start = [p.copy() for p in _params(probe)]
    gnorm = _norm(g0)
    losses, changes = [loss0], []
    with np.errstate(all="ignore"):
        for eta in step_sizes:
            for p, p0, g in zip(_params(probe), start, g0):
                p[...] = p0 - eta * g
            try:
                loss, g = _loss_and_grad(probe, x, y)
            except ValueError:  # a BatchNorm layer refuses activations that overflowed
                return float("inf"), float("inf")
            losses.append(loss)
            changes.append(_norm([a - b for a, b in zip(g, g0)]) / max(gnorm, 1e-300))
    losses = np.array(losses)
    if not np.all(np.isfinite(losses)):
        return float("inf"), float("inf")
    return float((losses.max() - losses.min()) / max(loss0, 1e-300)), float(np.max(changes))


class _SmoothnessRecorder:
    """Every `every` steps, `smoothness_probe` on a fresh batch of 64 training images (drawn with its own seed)."""

    def __init__(self, x, y, etas, every, seed):
        self.x, self.y, self.etas, self.every = x, y, etas, every
        self.rng = np.random.default_rng(seed + 7)
        self.steps, self.ranges, self.changes = [], [], []

    def __call__(self, step, model):
        if step % self.every == 0:
            idx = self.rng.choice(len(self.x), size=64, replace=False)
            r, c = smoothness_probe(model, self.x[idx], self.y[idx], self.etas)
            self.steps.append(step)
            self.ranges.append(r)
            self.changes.append(c)


def landscape_experiment(steps=600, probe_every=50, lr=0.1, step_sizes=(1, 2, 4, 8, 16, 32), seed=0):
    """Train plain and BN ReLU networks (batch 64, SGD with momentum 0.9); every `probe_every` steps, run
    `smoothness_probe` on a fresh batch with step sizes lr * step_sizes. Returns {kind: (probe steps, relative loss
    ranges, relative gradient changes)}."""
    xtr, ytr, _, _ = load_digits_split(seed=seed)
    etas = lr * np.asarray(step_sizes, dtype=float)  # step sizes as multiples of the learning rate
    kinds = ("plain", "bn")
    jobs = [dict(model=make_net(kind, seed=seed), seed=seed, recorder=_SmoothnessRecorder(xtr, ytr, etas,
                                                                                          probe_every, seed),
                 steps=steps, batch_size=64, lr=lr, momentum=0.9, eval_every=steps) for kind in kinds]
    return {kind: (np.array(run.recorder.steps), np.array(run.recorder.ranges), np.array(run.recorder.changes))
            for kind, run in zip(kinds, run_all(train_on_digits, jobs))}


def _phase_values(steps, values, phases=PHASES):
    """{phase: median of the probes whose step lies in the phase} (one seed)."""
    steps, values = np.asarray(steps), np.asarray(values, dtype=float)
    return {name: float(np.median(values[(steps >= lo) & (steps <= hi)])) for name, lo, hi in phases}


MEASURES = (("loss_range", "loss range / loss"), ("grad_change", "gradient change / gradient"))


def smoothness_verdicts(results):
    """Per training phase and measure: BN's value (the median over the phase's probes, per seed) against the
    plain network's, "lower" / "higher" only where the ranges over seeds do not overlap. Returns {label: verdict}.
    (The per-seed ratio BN / plain is printed by `smoothness_table`, but carries no verdict: in the middle phase
    it was below 1 in every one of seeds 0-4 and not in seeds 5-9, so it is not a robust comparison.)"""
    r, out = results["smoothness"], {}
    for key, label in MEASURES:
        per = {kind: [_phase_values(r["steps"], values) for values in r[key][kind]] for kind in ("plain", "bn")}
        for name, _, _ in PHASES:
            plain, bn = ([p[name] for p in per[kind]] for kind in ("plain", "bn"))
            out[f"{label}, {name}: bn vs plain"] = compare(Spread(bn), Spread(plain))
    return out


def smoothness_table(results):
    """The stored smoothness sweep as text: per phase, mean (min-max) over seeds of each network's median probe,
    and of the per-seed ratio BN / plain."""
    r = results["smoothness"]
    lines = [f"{'':<28}{'phase (steps)':<18}{'plain':<26}{'bn':<26}bn / plain per seed"]
    for key, label in MEASURES:
        per = {kind: [_phase_values(r["steps"], v) for v in r[key][kind]] for kind in ("plain", "bn")}
        for name, lo, hi in PHASES:
            plain, bn = ([p[name] for p in per[kind]] for kind in ("plain", "bn"))
            ratio = compare_paired(bn, plain)[0]
            lines.append(f"{label:<28}{f'{name} ({lo}-{hi})':<18}{format(Spread(plain), '.3g'):<26}"
                         f"{format(Spread(bn), '.3g'):<26}{ratio:.2g}")
    return "\n".join(lines)


def smoothness_beside_stored(land, stored, index=0):
    """One seed's smoothness probes run live (a `landscape_experiment` result) beside the same seed's stored ones:
    per phase, the median probe of each network."""
    lines = []
    for m, (key, label) in enumerate(MEASURES):
        for kind in ("plain", "bn"):
            live = _phase_values(land[kind][0], land[kind][1 + m])
            kept = _phase_values(stored["steps"], stored[key][kind][index])
            for name, _, _ in PHASES:
                lines.append(f"{label:>26}, {kind:>5}, {name:>6}: live {live[name]:.4g}; stored {kept[name]:.4g}")
    return "\n".join(lines)


def max_stable_lr(lrs=LR_GRID, steps=200, seed=0, threshold=0.5):
    """Test accuracy after `steps` SGD steps (no momentum, batch 64) for each learning rate, plain and BN ReLU
    networks; and the largest learning rate whose accuracy reaches `threshold`. Returns ({kind: [acc...]},
    {kind: lr or None})."""
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


def stable_lr_summary(results):
    """From the stored sweep: per seed, the largest stable learning rate of each network, their ratio BN / plain,
    and the range the true ratio lies in given the grid's factor between neighbours (the true largest stable rate
    lies between the last that trained and the next, which did not). Returns a dict."""
    r = results["stable_lr"]
    lrs = np.array(r["lrs"])
    step = float(lrs[1] / lrs[0])
    plain, bn = per_seed(r["largest"]["plain"]), per_seed(r["largest"]["bn"])
    ratio = bn / plain
    return {"plain": Spread(plain), "bn": Spread(bn), "ratio": Spread(ratio), "grid factor": step,
            "ratio low": Spread(ratio / step), "ratio high": Spread(ratio * step),
            "verdict": compare(Spread(bn), Spread(plain))}


def stable_lr_table(acc, best, stored, index=0):
    """Text: one seed's accuracies per learning rate (run live), its largest stable rates beside the stored ones,
    and the stored seeds' largest stable rates and ratio, with the range the grid allows for the ratio."""
    lines = [f"{'learning rate':>13}  {'plain':>5}  {'bn':>5}   (seed {index}, run live)"]
    for lr, a, b in zip(stored["lrs"], acc["plain"], acc["bn"]):
        lines.append(f"{lr:13g}  {a:5.3f}  {b:5.3f}")
    kept = {kind: stored["largest"][kind][index] for kind in ("plain", "bn")}
    lines.append(f"largest learning rate that trains, seed {index}: live plain {best['plain']}, bn {best['bn']}; "
                 f"stored plain {kept['plain']}, bn {kept['bn']}")
    summary = stable_lr_summary({"stable_lr": stored})
    lines.append(f"over {len(stored['largest']['bn'])} seeds: plain {summary['plain']:.3g}, bn {summary['bn']:.3g}; "
                 f"ratio bn / plain per seed {summary['ratio']:.3g}")
    lines.append(f"the grid's neighbours are a factor {summary['grid factor']:g} apart, so the true ratio lies between "
                 f"{summary['ratio low'].lo:g} and {summary['ratio high'].hi:g} times")
    return "\n".join(lines)


def stable_lr_verdicts(results):
    """{"largest stable lr, bn vs plain": verdict from non-overlapping per-seed ranges, "... per seed": paired}."""
    r = results["stable_lr"]
    plain, bn = per_seed(r["largest"]["plain"]), per_seed(r["largest"]["bn"])
    return {"largest stable lr, bn vs plain": compare(Spread(bn), Spread(plain)),
            "largest stable lr, bn / plain per seed": compare_paired(bn, plain)[1]}


def all_verdicts(results):
    """Every verdict of the lesson from its stored sweep (noisy BN, smoothness, largest stable learning rate)."""
    return {**noise_verdicts(results), **smoothness_verdicts(results), **stable_lr_verdicts(results)}


def seed_sweep(seeds=SEEDS):
    """Lesson 6's verdict-bearing experiments over seeds: noisy BN (with the noisy-plain control), the smoothness
    probes, and the largest stable learning rate; one value (or curve) per seed, in the order of `seeds`."""
    noise = {"steps": NOISE_SETTING["steps"], "eval_steps": None, "steps_to_90": {}, "final_acc": {}, "jitter": {},
             "test_acc": {}}
    smooth = {"steps": None, "loss_range": {"plain": [], "bn": []}, "grad_change": {"plain": [], "bn": []}}
    stable = {"lrs": list(LR_GRID), "threshold": 0.5, "accuracy": {"plain": [], "bn": []},
              "largest": {"plain": [], "bn": []}}
    for seed in seeds:
        runs = noisy_bn_experiment(seed=seed)
        numbers = noise_numbers(runs)
        for key in ("steps_to_90", "final_acc", "jitter"):
            for kind, value in numbers[key].items():
                noise[key].setdefault(kind, []).append(value)
        for kind, (hist, _) in runs.items():
            noise["test_acc"].setdefault(kind, []).append(hist.test_acc)
            noise["eval_steps"] = hist.step
        land = landscape_experiment(seed=seed)
        for kind, (at, ranges, changes) in land.items():
            smooth["steps"] = at
            smooth["loss_range"][kind].append(ranges)
            smooth["grad_change"][kind].append(changes)
        acc, best = max_stable_lr(seed=seed)
        for kind in ("plain", "bn"):
            stable["accuracy"][kind].append(acc[kind])
            stable["largest"][kind].append(best[kind])
    return {"noise": noise, "smoothness": smooth, "stable_lr": stable}


def _band(ax, steps, curves, color, label):
    """Mean line and min-max band over seeds of per-seed curves (lists of equal length)."""
    curves = np.array(curves, dtype=float)
    ax.fill_between(steps, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.25, lw=0)
    ax.plot(steps, curves.mean(axis=0), color=color, lw=1.5, label=label)


def plot_noisy_bn(runs, results):
    """Left: test accuracy over training, the band over the stored seeds (min-max) and their mean, for each
    network. Right: the mean of unit 0's input to the last sigmoid on the fixed probe batch, seed 0 run live."""
    fig, (ax_acc, ax_dist) = new_figure(1, 2, figsize=(11, 3.8))
    r = results["noise"]
    for kind in r["test_acc"]:
        _band(ax_acc, r["eval_steps"], r["test_acc"][kind], KIND_COLORS[kind], kind)
    for kind, (_, rec) in runs.items():
        ax_dist.plot(rec.steps, rec.mean[-1][:, 0], color=KIND_COLORS[kind], lw=1.0, label=kind)
    ax_acc.axhline(0.9, color=PALETTE["grey"], ls=":", lw=1)
    ax_acc.set(xlabel="training step (log scale)", ylabel="test accuracy", ylim=(0, 1), xscale="log",
               title=f"test accuracy, {len(r['test_acc']['bn'])} seeds (band: min-max)")
    ax_dist.set(xlabel="training step", ylabel="mean of unit 0's input on the probe batch",
                title="seed 0: the last sigmoid's input", yscale="symlog")
    legend_above(fig, ax_dist)
    return fig


def plot_landscape(results):
    """Relative loss range and relative gradient change along the gradient at each probe, plain vs BN: the median
    over the stored seeds and the min-max band (log scale); dotted lines separate the phases."""
    fig, axes = new_figure(1, 2, figsize=(11, 3.6))
    r = results["smoothness"]
    for ax, (key, label) in zip(axes, MEASURES):
        for kind, color in (("plain", PLAIN), ("bn", WITH_BN)):
            values = np.array(r[key][kind], dtype=float)
            ax.fill_between(r["steps"], values.min(axis=0), values.max(axis=0), color=color, alpha=0.25, lw=0)
            ax.plot(r["steps"], np.median(values, axis=0), "o-", ms=3, color=color, label=kind)
        for _, _, hi in PHASES[:-1]:
            ax.axvline(hi + 25, color=PALETTE["grey"], ls=":", lw=1)
        ax.set(xlabel="training step", ylabel=label, yscale="log", title=label)
    legend_above(fig, axes[1])
    return fig


def noisy_bn_explorer(sweep, reference):
    """Live figure: test accuracy and one unit's input (on the probe batch) over the first steps of training for
    the noise strength on the slider, against the plain and BN networks of `reference` (a `noisy_bn_experiment`
    result) over the same steps. The noisy network is dashed, so at strength 0, where it is the BN network, the BN
    line still shows between the dashes; the right panel's y-axis fits all three traces."""
    fig, (ax_acc, ax_dist) = new_figure(1, 2, figsize=(10, 3.8))
    horizon = max(h.step[-1] for h, _ in sweep.values() if h.step)
    traces = []
    for kind in ("plain", "bn"):
        hist, rec = reference[kind]
        shown = [i for i, s in enumerate(hist.step) if s <= horizon]
        ax_acc.plot(np.array(hist.step)[shown], np.array(hist.test_acc)[shown], color=KIND_COLORS[kind], alpha=0.7,
                    lw=2.5, label=kind)
        kept = np.array(rec.steps) <= horizon
        ax_dist.plot(np.array(rec.steps)[kept], rec.mean[-1][kept, 0], color=KIND_COLORS[kind], alpha=0.7, lw=1.5,
                     label=kind)
        traces.append(rec.mean[-1][kept, 0])
    acc_line, = ax_acc.plot([], [], "--", color=NOISY, label="noisy bn")
    dist_line, = ax_dist.plot([], [], "--", color=NOISY, lw=1.2, label="noisy bn")
    ax_acc.set(xlabel="training step", ylabel="test accuracy", ylim=(0, 1), xlim=(0, horizon))
    ax_dist.set(xlabel="training step", ylabel="mean of unit 0's input", xlim=(0, horizon))
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
        reached = hist.steps_to(0.9)
        final = hist.test_acc[-1] if hist.test_acc else float("nan")
        ax_acc.set_title(f"noise strength {strength:g}: 90 % "
                         f"{'never' if reached is None else f'at step {reached}'}, {final:.0%} at the end")
        ax_dist.set_title(f"input jitter {input_jitter(rec):.2f} per 10 steps")
        notes = [hist.message] if hist.diverged else []
        if strength == 0:
            notes.append("strength 0: noisy BN adds no noise, so it is the BN network and its dashed line lies on "
                         "the BN line.")
        return " ".join(notes) or None

    return Live(fig, update, strength=widgets.SelectionSlider(options=list(sweep), value=1.0 if 1.0 in sweep
                                                              else list(sweep)[0], description="noise"))
