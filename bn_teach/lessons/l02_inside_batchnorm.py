"""Lesson 2, inside a BatchNorm layer: one batch step by step, the noise of batch statistics, running statistics,
and gamma and beta learned by gradient descent."""
import ipywidgets as widgets
import numpy as np

from ..layers import BatchNorm, batchnorm_forward
from ..plots import ACCENT, PALETTE, PLAIN, WITH_BN, fit_histogram, fmt, histogram_bars, new_figure
from ..samples import DISTRIBUTIONS, batch_mean_spread, sample_activations
from ..widgets import Live


def bn_step_by_step(x, gamma=1.0, beta=0.0, eps=1e-5):
    """Every intermediate of training-mode BN on x, shape (N, 1): a dict with mean, var, xhat and y."""
    y, cache = batchnorm_forward(x, np.array([gamma], float), np.array([beta], float), eps)
    return {"x": x, "mean": cache["mean"][0], "var": cache["var"][0],
            "xhat": cache["xc"] * cache["inv_std"], "y": y}


def describe(values):
    """min, max, mean, std, and the fractions of values outside [0, 1] and below 0."""
    v = np.ravel(values)
    return {"min": v.min(), "max": v.max(), "mean": v.mean(), "std": v.std(),
            "outside [0, 1]": float(np.mean((v < 0) | (v > 1))), "negative": float(np.mean(v < 0))}


def learn_gamma_beta(target_std=2.0, target_mean=3.0, steps=200, lr=0.1, batch_size=64, seed=0):
    """Learn gamma and beta by gradient descent so that BN's output matches targets t = target_std * z +
    target_mean, where z is the standardized input: a squared-error loss, bn.backward, and an SGD step.

    Returns arrays (steps + 1,) of gamma and beta along the way: they start at 1 and 0.
    """
    rng = np.random.default_rng(seed)
    bn = BatchNorm(1)
    gammas, betas = [bn.gamma[0]], [bn.beta[0]]
    for _ in range(steps):
        x = 2.0 + rng.gamma(2.0, 1.5, size=(batch_size, 1))
        z = (x - x.mean()) / x.std()
        t = target_std * z + target_mean
        y = bn.forward(x)
        bn.backward(2 * (y - t) / batch_size)  # gradient of the mean squared error
        bn.gamma -= lr * bn.dgamma
        bn.beta -= lr * bn.dbeta
        gammas.append(bn.gamma[0])
        betas.append(bn.beta[0])
    return np.array(gammas), np.array(betas)


def running_stats_trace(batch_size=32, momentum=0.1, steps=100, distribution="skewed", seed=0):
    """Running mean and variance of a BatchNorm after each of `steps` training batches, with the true mean and
    variance of the distribution. Returns (running_mean, running_var, true_mean, true_var)."""
    pool = sample_activations(200_000, distribution, seed)
    rng = np.random.default_rng(seed + 2)
    bn = BatchNorm(1, momentum=momentum)
    means, variances = [], []
    for _ in range(steps):
        bn.forward(pool[rng.integers(0, len(pool), size=batch_size)])
        means.append(bn.running_mean[0])
        variances.append(bn.running_var[0])
    return np.array(means), np.array(variances), pool.mean(), pool.var()


def batch_explorer(seed=0):
    """Live figure: one batch before and after BN, with sliders for batch size, gamma, beta and a distribution menu.
    The axes keep their usual ranges (x from -1 to 12 before BN, -7 to 7 after) and widen when a value or a bar
    would leave them."""
    pools = {d: sample_activations(512, d, seed) for d in DISTRIBUTIONS}
    fig, (ax_in, ax_out) = new_figure(1, 2, figsize=(10, 3.8))
    bars_in = histogram_bars(ax_in, np.linspace(-1, 12, 53), PLAIN)
    ax_in.set(xlabel="x (input to BN)", ylabel="density", title="the batch, before BN")
    ax_out.axvspan(0, 1, color=PALETTE["grey"], alpha=0.25, label="[0, 1]")
    bars_out = histogram_bars(ax_out, np.linspace(-7, 7, 57), WITH_BN)
    ax_out.set(xlabel="y = gamma * xhat + beta", ylabel="density")
    ax_out.legend(loc="upper right")
    text = ax_out.text(0.02, 0.97, "", transform=ax_out.transAxes, va="top", fontsize=10)
    for ax in (ax_in, ax_out):
        ax.yaxis.set_major_formatter("{x:.1f}")  # tick labels of one width: the layout is fixed at the first state

    def update(batch_size, gamma, beta, distribution):
        x = pools[distribution][:batch_size]
        fit_histogram(bars_in, x, -1.0, 12.0, 0.25, floor=0.6)
        if batch_size < 2:
            fit_histogram(bars_out, [], -7.0, 7.0, 0.25, floor=1.2)
            raise ValueError("batch size 1: a single value has no spread, so BatchNorm cannot normalize it in "
                             "training mode (PyTorch refuses it too). Use 2 or more, or eval mode.")
        s = bn_step_by_step(x, gamma, beta)
        fit_histogram(bars_out, s["y"], -7.0, 7.0, 0.25, floor=1.2)
        d = describe(s["y"])
        ax_out.set_title(f"after BN: mean {fmt(d['mean'])}, std {fmt(d['std'])}")
        text.set_text(f"min {fmt(d['min'])}, max {fmt(d['max'])}\n{100 * d['outside [0, 1]']:.0f}% outside [0, 1]")
        notes = []
        if batch_size == 2:
            notes.append("batch size 2: every batch becomes exactly -1 and +1 (times gamma, plus beta).")
        if gamma == 0:
            notes.append("gamma = 0: every output equals beta; the feature is switched off.")
        elif gamma < 0:
            notes.append("gamma < 0: the normalized values are flipped, as any learned weight may do.")
        return " ".join(notes) or None

    return Live(fig, update,
                batch_size=widgets.IntSlider(value=64, min=1, max=512, description="batch size"),
                gamma=widgets.FloatSlider(value=1.0, min=-2.0, max=3.0, step=0.1, description="gamma"),
                beta=widgets.FloatSlider(value=0.0, min=-3.0, max=3.0, step=0.1, description="beta"),
                distribution=widgets.Dropdown(options=DISTRIBUTIONS, value="skewed", description="input"))


def batch_noise_explorer(distribution="skewed", n_batches=400, seed=0):
    """Live figure: the batch means of many batches of one size (slider), against the 1/sqrt(B) law."""
    sizes, spread, _, sigma = batch_mean_spread(distribution, sizes=tuple(2 ** np.arange(1, 10)), seed=seed)
    pool = sample_activations(200_000, distribution, seed).ravel()
    rng = np.random.default_rng(seed + 3)
    draws = {int(b): pool[rng.integers(0, len(pool), size=(n_batches, int(b)))].mean(axis=1) for b in sizes}
    fig, (ax_h, ax_s) = new_figure(1, 2, figsize=(10, 3.8))
    bars = histogram_bars(ax_h, np.linspace(pool.mean() - 4, pool.mean() + 4, 61), WITH_BN)
    ax_h.set(xlabel="batch mean", ylabel="density")
    ax_h.yaxis.set_major_formatter("{x:.1f}")
    ax_s.loglog(sizes, spread, "o-", color=WITH_BN, label="measured")
    ax_s.loglog(sizes, sigma / np.sqrt(sizes), "--", color=ACCENT, label="sigma / sqrt(B)")
    marker, = ax_s.loglog([sizes[0]], [spread[0]], "o", ms=14, mfc="none", color=PLAIN)
    ax_s.set(xlabel="batch size B", ylabel="spread (std) of the batch mean", title="noise halves when B x 4")
    ax_s.legend()

    def update(batch_size):
        means = draws[batch_size]
        fit_histogram(bars, means, pool.mean() - 4, pool.mean() + 4, 8 / 60, floor=4.5)
        i = list(sizes).index(batch_size)
        marker.set_data([sizes[i]], [spread[i]])
        ax_h.set_title(f"B = {batch_size}: batch means spread {fmt(means.std())}")

    options = [int(b) for b in sizes]
    return Live(fig, update, batch_size=widgets.SelectionSlider(options=options, value=8, description="batch size"))
