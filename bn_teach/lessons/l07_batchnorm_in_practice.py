"""Lesson 7, BatchNorm in practice: spatial BN in a convolutional layer, BN as a reparametrization (scale
invariance, effective learning rate, weight decay), inference (eval mode, folding BN into the layer before it),
and the classic pitfalls, each reproduced and measured."""
import functools
import time

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import NullLocator

from ..cats import load_split
from ..conv import Conv2d, Flatten, Unflatten
from ..digits import load_digits_split
from ..evidence import SEEDS
from ..layers import BatchNorm, Linear, ReLU, fold_batchnorm, running_stats_update
from ..network import MLP, Sequential, softmax_cross_entropy
from ..parallel import run_all
from ..plots import PALETTE, PLAIN, WITH_BN, new_figure
from ..runs import WeightNorm, train_on_digits
from ..training import SGD
from ..widgets import Live

CONV = PALETTE["green"]


# ---------------------------------------------------------------------------------------------------------------
# 1. spatial BatchNorm


def conv_net(seed=0, channels=4):
    """The lesson's convolutional network for the digits, fed flat rows (N, 64): Unflatten to (N, 1, 8, 8) ->
    Conv2d(1, channels, 3, padding=1, no bias) -> BatchNorm(channels) (statistics over N x 8 x 8 per channel) ->
    ReLU -> Flatten -> Linear(channels * 64, 10)."""
    return Sequential(Unflatten((1, 8, 8)), Conv2d(1, channels, 3, padding=1, bias=False, rng=seed),
                      BatchNorm(channels), ReLU(), Flatten(), Linear(channels * 64, 10, rng=seed + 100))


def mlp_net(seed=0, width=32):
    """The MLP it is compared with: 64 -> width -> 10, BatchNorm before the ReLU (statistics over N values)."""
    return MLP(64, [width], 10, norm="batch", seed=seed)


def values_per_statistic(batch_sizes=(2, 8, 32), channels=8, n_batches=200, seed=0):
    """How many values each BatchNorm statistic averages, and how noisy it is, for a conv layer on the black-cats
    training images (N, 3, 16, 16) and for a fully connected layer on the same images flattened.

    Both layers have `channels` outputs with random weights. For each batch size B, over `n_batches` random
    batches: m (values per statistic: B * 16 * 16 for the conv layer, B for the fully connected one) and the
    spread (std over batches, divided by the std over the whole training set) of the batch mean of output
    channel 0, before BN. Returns {(kind, B): (m, relative spread)} with kind "conv" or "fc".
    """
    images = np.ascontiguousarray(load_split("train").images[:1000].transpose(0, 3, 1, 2), dtype=np.float64)
    flat = images.reshape(len(images), -1)
    conv = Conv2d(3, channels, 3, padding=1, rng=seed)
    fc = Linear(flat.shape[1], channels, rng=seed)
    outputs = {"conv": conv.forward(images), "fc": fc.forward(flat)[:, :, None, None]}
    rng = np.random.default_rng(seed)
    result = {}
    for b in batch_sizes:
        picks = [rng.choice(len(images), b, replace=False) for _ in range(n_batches)]
        for kind, out in outputs.items():
            means = np.array([out[idx, 0].mean() for idx in picks])
            m = b * out.shape[2] * out.shape[3]
            result[kind, b] = (m, float(means.std() / out[:, 0].std()))
    return result


def batch_size_sweep(batch_sizes=(2, 8, 32), seeds=SEEDS, samples=2000, lr=0.02):
    """Eval-mode test accuracy on the digits of `conv_net` and `mlp_net` (both with BN) after training on the same
    number of images (`samples`; smaller batches take more steps), SGD lr `lr`, momentum 0.9, for every batch
    size and seed. Returns {(kind, B): array of accuracies over the seeds} with kind "conv" or "mlp"."""
    keys = [(kind, b, s) for kind in ("conv", "mlp") for b in batch_sizes for s in seeds]
    jobs = [dict(model=conv_net(s) if kind == "conv" else mlp_net(s), seed=s, steps=samples // b, batch_size=b,
                 lr=lr, momentum=0.9, eval_every=samples // b) for kind, b, s in keys]
    accs = [r.history.test_acc[-1] for r in run_all(train_on_digits, jobs)]
    out = {}
    for (kind, b, _), acc in zip(keys, accs):
        out.setdefault((kind, b), []).append(acc)
    return {k: np.array(v) for k, v in out.items()}


def plot_sweep(sweep, batch_sizes=(2, 8, 32)):
    """Test accuracy against batch size, mean over seeds with the min-max range as a band."""
    fig, ax = new_figure(figsize=(7, 3.4))
    for kind, color, label in (("conv", CONV, "conv + BN (N x 8 x 8 values per statistic)"),
                               ("mlp", WITH_BN, "MLP + BN (N values per statistic)")):
        a = np.array([sweep[kind, b] for b in batch_sizes])
        ax.fill_between(batch_sizes, a.min(1), a.max(1), color=color, alpha=0.2)
        ax.plot(batch_sizes, a.mean(1), "o-", color=color, label=label)
    ax.set(xscale="log", xlabel="batch size", ylabel="test accuracy (eval mode)", ylim=(0, 1))
    ax.set_xticks(batch_sizes, [str(b) for b in batch_sizes])
    ax.legend(loc="lower right", fontsize=10)
    ax.set_title("same number of training images at every batch size")
    return fig


# ---------------------------------------------------------------------------------------------------------------
# 2. BN as a reparametrization


@functools.lru_cache(maxsize=4)
def _batch(n=64, seed=0):
    """The first n training digits of the split `seed` (cached: the live figure asks for them on every move)."""
    x, y, _, _ = load_digits_split(seed=seed)
    x.flags.writeable = y.flags.writeable = False
    return x[:n], y[:n]


@functools.lru_cache(maxsize=4)
def _probe_net(seed=0):
    """`mlp_net(seed)` and a read-only copy of its first layer's initial W (cached for the live figure)."""
    net = mlp_net(seed)
    w0 = net[0].W.copy()
    w0.flags.writeable = False
    return net, w0


def scale_invariance(scales=(0.1, 0.5, 1.0, 2.0, 10.0), seed=0):
    """Multiply the first Linear layer's weights W (and bias) of a BN network by c: does the output change, and
    what happens to the gradient? For a 64 -> 32 -> 10 MLP with BN before the ReLU, on 64 digits in training mode.

    Returns a list of rows (c, largest |logits(c) - logits(1)|, ||dW(c)||, c * ||dW(c)|| / ||dW(1)||).
    """
    x, y = _batch(seed=seed)
    net = mlp_net(seed)
    w0, b0 = net[0].W.copy(), net[0].b.copy()
    rows, ref_logits, ref_norm = [], None, None
    for c in (1.0,) + tuple(scales):
        net[0].W, net[0].b = c * w0, c * b0
        logits = net.forward(x)
        net.backward(softmax_cross_entropy(logits, y)[1])
        norm = float(np.linalg.norm(net[0].dW))
        if ref_logits is None:
            ref_logits, ref_norm = logits, norm
            continue
        rows.append((c, float(np.abs(logits - ref_logits).max()), norm, c * norm / ref_norm))
    return rows


def rotation_per_step(c, lr=0.1, seed=0):
    """The angle (degrees) by which one SGD step turns the first layer's weight matrix W, scaled by c, of the
    `scale_invariance` network: the output depends only on W's direction, so this angle is what a step does.
    The effective learning rate is lr / ||W||^2. Returns (angle, ||W||, effective lr)."""
    x, y = _batch(seed=seed)
    net, w0 = _probe_net(seed)
    net[0].W = w0 * c
    net.backward(softmax_cross_entropy(net.forward(x), y)[1])
    w, w_new = net[0].W.ravel(), (net[0].W - lr * net[0].dW).ravel()
    cos = w @ w_new / (np.linalg.norm(w) * np.linalg.norm(w_new))
    norm = float(np.linalg.norm(w))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))), norm, lr / norm ** 2


def rotation_explorer(lr=0.1, scales=np.geomspace(0.1, 10, 41)):
    """Live figure: the rotation per SGD step (log-log) against the weight scale c, and a marker at the slider's c."""
    angles = np.array([rotation_per_step(c, lr)[0] for c in scales])
    fig, ax = new_figure(figsize=(7, 3.4))
    ax.plot(scales, angles, color=WITH_BN, label="rotation of W per step")
    ax.plot(scales, angles[len(scales) // 2] / scales ** 2, ":", color=PALETTE["grey"], label="1 / c^2")
    marker, = ax.plot([1.0], [angles[len(scales) // 2]], "o", color=PALETTE["vermillion"], ms=10)
    ax.set(xscale="log", yscale="log", xlabel="scale c of W (output unchanged)", ylabel="degrees per step")
    for axis in (ax.xaxis, ax.yaxis):  # decades only: log minor ticks would double the cost of every redraw
        axis.set_minor_locator(NullLocator())
    ax.legend(loc="upper right", fontsize=10)

    def update(c):
        angle, norm, eff = rotation_per_step(c, lr)
        marker.set_data([c], [angle])
        ax.set_title(f"c = {c:.2g}: ||W|| = {norm:.2f}, effective lr = lr / ||W||^2 = {eff:.3g}")

    return Live(fig, update, c=widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.05,
                                                       description="scale c"))


def weight_norm_runs(lrs=(0.1, 1.0), weight_decays=(0.0, 0.01), seeds=SEEDS, steps=200):
    """Train `mlp_net` (BN) on the digits with plain SGD at each learning rate, with and without weight decay,
    recording ||W|| of the first layer at every step. Returns {(lr, wd): (norm traces (seeds, steps),
    final test accuracies (seeds,))}."""
    keys = [(lr, wd, s) for lr in lrs for wd in weight_decays for s in seeds]
    jobs = [dict(model=mlp_net(s), seed=s, steps=steps, batch_size=64, lr=lr, weight_decay=wd, eval_every=steps,
                 recorder=WeightNorm()) for lr, wd, s in keys]
    out = {}
    for (lr, wd, _), run in zip(keys, run_all(train_on_digits, jobs)):
        out.setdefault((lr, wd), ([], []))
        out[lr, wd][0].append(run.recorder.norms)
        out[lr, wd][1].append(run.history.test_acc[-1])
    return {k: (np.array(n), np.array(a)) for k, (n, a) in out.items()}


def plot_weight_norms(runs):
    """||W|| over training for every (lr, weight decay): mean over seeds."""
    fig, ax = new_figure(figsize=(7, 3.4))
    for i, ((lr, wd), (norms, _)) in enumerate(runs.items()):
        ax.plot(norms.mean(0), ls="-" if wd == 0 else "--", color=[WITH_BN, PALETTE["vermillion"]][i // 2],
                label=f"lr {lr:g}, weight decay {wd:g}")
    ax.set(xlabel="step", ylabel="||W|| of the first layer")
    ax.legend(fontsize=10)
    return fig


# ---------------------------------------------------------------------------------------------------------------
# 3. inference


def fold_network(net):
    """A copy of a Sequential without its BatchNorm layers: each one is folded (`fold_batchnorm`, running
    statistics) into the Linear or Conv2d layer right before it. The result computes net's eval-mode output."""
    layers = []
    for layer in net.layers:
        if isinstance(layer, BatchNorm):
            prev = layers[-1] if layers else None
            if not isinstance(prev, (Linear, Conv2d)):
                raise ValueError(f"fold_network: a BatchNorm follows {prev!r}, not a Linear or Conv2d layer; only "
                                 "BN right after such a layer can be folded into it")
            axis = 0 if isinstance(prev, Conv2d) else -1
            w, b = fold_batchnorm(prev.W, prev.b, layer.gamma, layer.beta, layer.running_mean,
                                  layer.running_var, layer.eps, out_axis=axis)
            if isinstance(prev, Conv2d):
                folded = Conv2d(prev.in_channels, prev.out_channels, prev.kernel_size, prev.stride, prev.padding)
            else:
                folded = Linear(prev.in_features, prev.out_features)
            folded.W, folded.b = w, b
            layers[-1] = folded
        else:
            layers.append(layer)
    return Sequential(*layers).eval()


def fold_comparison(net, x):
    """Eval-mode logits of net against its folded copy on x: (largest |difference|, largest |logit|,
    number of layers before and after folding)."""
    folded = fold_network(net)
    a, b = net.eval().forward(x), folded.forward(x)
    net.train()
    return float(np.abs(a - b).max()), float(np.abs(a).max()), len(net.layers), len(folded.layers)


def time_inference(net, x, repeats=50):
    """Best wall-clock milliseconds of one eval-mode forward of x through net and through its folded copy, timed
    round-robin (`repeats` rounds after one untimed warm-up), so a busy machine slows both alike:
    (ms with BN, ms folded). Machine-dependent."""
    models = [net.eval(), fold_network(net)]
    best = [float("inf")] * 2
    for round_ in range(repeats + 1):
        for i, model in enumerate(models):
            t = time.perf_counter()
            model.forward(x)
            if round_:
                best[i] = min(best[i], time.perf_counter() - t)
    net.train()
    return best[0] * 1000, best[1] * 1000


def bias_before_bn(net, x, y, shift=5.0):
    """What the bias of the Linear layer before a BN layer does: (largest |gradient| of that bias, largest change
    of the training-mode logits when `shift` is added to the bias). Both are 0 up to rounding: BN subtracts the
    batch mean, and the mean includes the bias."""
    net.train()
    before = net.forward(x)
    net.backward(softmax_cross_entropy(before, y)[1])
    grad = float(np.abs(net[0].db).max())
    net[0].b = net[0].b + shift
    change = float(np.abs(net.forward(x) - before).max())
    net[0].b = net[0].b - shift
    return grad, change


# ---------------------------------------------------------------------------------------------------------------
# 4. pitfalls


def trained_nets(seeds=SEEDS, position="before", steps=400):
    """64 -> 64 -> 64 -> 10 MLPs with BN `position` ("before" or "after") each ReLU, one per seed, trained side by
    side on the digits (SGD lr 0.1, momentum 0.9, batch 64, `steps` steps), each with its test set:
    [(net, x_test, y_test)]."""
    jobs = [dict(model=MLP(64, [64, 64], 10, norm="batch", norm_position=position, seed=s), seed=s, steps=steps,
                 batch_size=64, lr=0.1, momentum=0.9, eval_every=steps, keep_model=True) for s in seeds]
    return [(r.model,) + load_digits_split(seed=s)[2:] for r, s in zip(run_all(train_on_digits, jobs), seeds)]


def trained_conv(seed=0, steps=300):
    """`conv_net` trained on the digits (SGD lr 0.02, momentum 0.9, batch 32), with its test set."""
    net = conv_net(seed)
    train_on_digits(net, seed=seed, steps=steps, batch_size=32, lr=0.02, momentum=0.9, eval_every=steps)
    return (net,) + load_digits_split(seed=seed)[2:]


def train_mode_flips(nets, batch_size=8, n_batches=10, n_images=100, seed=0):
    """For each trained net: the fraction of `n_images` test images whose predicted class is not the same in all
    of `n_batches` random training-mode batches of `batch_size` (the image plus random other test images).
    In eval mode the fraction is 0 by construction. Returns an array over the nets."""
    out = []
    for net, xte, _ in nets:
        rng = np.random.default_rng(seed)
        net.train()
        flips = 0
        for i in range(n_images):
            preds = set()
            for _ in range(n_batches):
                others = rng.choice(np.delete(np.arange(len(xte)), i), batch_size - 1, replace=False)
                preds.add(int(net.forward(np.vstack([xte[i:i + 1], xte[others]]))[0].argmax()))
            flips += len(preds) > 1
        out.append(flips / n_images)
    return np.array(out)


def _bn_state(net):
    return [(bn.running_mean.copy(), bn.running_var.copy(), bn.num_batches_tracked) for bn in net.norms]


def _restore(net, state):
    for bn, (mean, var, n) in zip(net.norms, state):
        bn.running_mean[...], bn.running_var[...], bn.num_batches_tracked = mean, var, n


def evaluate_in_train_mode(nets, batch_size=32):
    """The pitfall of "evaluating" with the network left in training mode, on a test set sorted by label (as an
    unshuffled loader gives it): every batch updates the running statistics. For each net: (eval-mode test
    accuracy before, after), and the largest relative change of the first BN layer's running_var. The nets are
    restored afterwards. Returns three arrays over the nets."""
    before, after, change = [], [], []
    for net, xte, yte in nets:
        state = _bn_state(net)
        before.append(float((net.predict(xte) == yte).mean()))
        order = np.argsort(yte, kind="stable")
        net.train()
        for i in range(0, len(order) - 1, batch_size):
            net.forward(xte[order[i:i + batch_size]])
        after.append(float((net.predict(xte) == yte).mean()))
        change.append(float(np.max(np.abs(net.norms[0].running_var / state[0][1] - 1))))
        _restore(net, state)
    return np.array(before), np.array(after), np.array(change)


def fine_tune(nets, n_examples=8, classes=(3, 8), steps=30, lr=0.05, seed=0):
    """Fine-tune each trained net on a few new examples: `n_examples` training images of two classes only, one
    batch, `steps` SGD steps, either with BN in training mode ("train": batch statistics, running statistics
    updated) or with BN frozen ("frozen": BN in eval mode, its statistics fixed; gamma, beta and the weights are
    still learned). Returns {"before", "train", "frozen"}: arrays of eval-mode test accuracy over the nets."""
    out = {"before": [], "train": [], "frozen": []}
    for k, (net, xte, yte) in enumerate(nets):
        xtr, ytr, _, _ = load_digits_split(seed=k)
        rng = np.random.default_rng(seed + k)
        idx = rng.choice(np.flatnonzero(np.isin(ytr, classes)), n_examples, replace=False)
        out["before"].append(float((net.predict(xte) == yte).mean()))
        saved = [(m, name, getattr(m, name).copy()) for m, name in net.parameters()]
        state = _bn_state(net)
        for mode in ("train", "frozen"):
            opt = SGD(net.parameters(), lr=lr)
            net.train()
            if mode == "frozen":
                for bn in net.norms:
                    bn.eval()
            for _ in range(steps):
                net.backward(softmax_cross_entropy(net.forward(xtr[idx]), ytr[idx])[1])
                opt.step()
            out[mode].append(float((net.predict(xte) == yte).mean()))
            for m, name, value in saved:
                getattr(m, name)[...] = value
            _restore(net, state)
    return {k: np.array(v) for k, v in out.items()}


def three_momentums(steps=200, batch_size=16, true_mean=3.0, seed=0):
    """Running mean of batches of N(true_mean, 1) under the three numbers called "momentum" for BN:
    PyTorch 0.1 (the weight of the new batch), Keras 0.99 (the weight of the *old* value: PyTorch's 0.01), and
    Keras's 0.99 typed into PyTorch (the new batch weighs 0.99). Returns {name: trace (steps,)}, starting at 0."""
    rng = np.random.default_rng(seed)
    batches = rng.normal(true_mean, 1.0, (steps, batch_size))
    settings = {"PyTorch momentum=0.1": 0.1, "Keras momentum=0.99": 1 - 0.99, "0.99 typed into PyTorch": 0.99}
    out = {}
    for name, weight_of_new in settings.items():
        mean, var, trace = np.zeros(1), np.ones(1), []
        for b in batches:
            mean, var = running_stats_update(mean, var, b.mean(keepdims=True), b.var(keepdims=True), batch_size,
                                             weight_of_new)
            trace.append(mean[0])
        out[name] = np.array(trace)
    return out


def momentum_summary(traces, true_mean=3.0, window=50):
    """Per trace: (first step within 5 % of true_mean, std of its last `window` values: how noisy it stays)."""
    out = {}
    for name, t in traces.items():
        near = np.flatnonzero(np.abs(t - true_mean) <= 0.05 * true_mean)
        out[name] = (int(near[0]) + 1 if len(near) else None, float(t[-window:].std()))
    return out


def plot_momentums(traces, true_mean=3.0):
    fig, ax = new_figure(figsize=(7, 3.4))
    for (name, t), color in zip(traces.items(), (WITH_BN, PLAIN, PALETTE["vermillion"])):
        ax.plot(np.arange(1, len(t) + 1), t, color=color, label=name, lw=1.5)
    ax.axhline(true_mean, color=PALETTE["grey"], ls=":", lw=1)
    ax.set(xlabel="training batch", ylabel="running_mean")
    ax.legend(fontsize=10, loc="lower right")
    return fig


def accuracies(nets):
    """Eval-mode test accuracy of each (net, x_test, y_test): an array."""
    return np.array([float((net.predict(x) == y).mean()) for net, x, y in nets])


def next_layer_input(nets):
    """What the second Linear layer of each net receives on its test set, in eval mode: (mean value, fraction of
    values exactly 0), each averaged over the nets. With BN before the ReLU these are ReLU outputs (>= 0, many 0);
    with BN after it, BN's outputs (mean about beta, hardly any exact 0)."""
    means, zeros = [], []
    for net, x, _ in nets:
        net.eval()
        second = [i for i, layer in enumerate(net.layers) if isinstance(layer, Linear)][1]
        for layer in net.layers[:second]:
            x = layer.forward(x)
        net.train()
        means.append(float(x.mean()))
        zeros.append(float((x == 0).mean()))
    return float(np.mean(means)), float(np.mean(zeros))


def plot_pitfalls(rows):
    """Eval-mode test accuracy per seed (dots) and mean (bars) for each (label, accuracies) row."""
    fig, ax = new_figure(figsize=(8, 3.4))
    colors = [WITH_BN, PALETTE["vermillion"], PALETTE["sky"], PLAIN, CONV]
    for i, ((label, accs), color) in enumerate(zip(rows, colors * 2)):
        ax.bar(i, accs.mean(), color=color, alpha=0.6)
        ax.plot(np.full(len(accs), i), accs, "o", color="black", ms=4)
    ax.set_xticks(np.arange(len(rows)), [label for label, _ in rows], fontsize=10)
    ax.set(ylabel="test accuracy (eval mode)", ylim=(0.5, 1.0))
    return fig
