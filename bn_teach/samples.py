"""Synthetic values of one hidden unit, and the noise of batch statistics computed from them (lessons 2 and 5).

    x = sample_activations(64, "skewed", seed=0)          # shape (64, 1): one feature, 64 samples
    sizes, mean_spread, std_spread, sigma = batch_mean_spread("skewed")
"""
import numpy as np

DISTRIBUTIONS = ("normal", "skewed", "bimodal", "uniform")


def sample_activations(n, distribution="skewed", seed=0):
    """n values of one feature, shape (n, 1), from a named distribution with mean about 5 and spread about 2,
    the kind of values a hidden unit could produce. distribution: one of DISTRIBUTIONS."""
    rng = np.random.default_rng(seed)
    if distribution == "normal":
        x = rng.normal(5.0, 2.0, size=n)
    elif distribution == "skewed":
        x = 2.0 + rng.gamma(2.0, 1.5, size=n)
    elif distribution == "bimodal":
        x = np.where(rng.random(n) < 0.5, rng.normal(2.5, 0.8, size=n), rng.normal(8.0, 0.8, size=n))
    elif distribution == "uniform":
        x = rng.uniform(1.0, 9.0, size=n)
    else:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    return x.reshape(-1, 1)


def batch_mean_spread(distribution="skewed", sizes=(2, 4, 8, 16, 32, 64, 128, 256), n_batches=2000, seed=0):
    """Standard deviation, over n_batches random batches, of the batch mean and batch std, for each batch size.

    Returns (sizes, spread_of_mean, spread_of_std, population_std).
    """
    pool = sample_activations(200_000, distribution, seed).ravel()
    rng = np.random.default_rng(seed + 1)
    mean_spread, std_spread = [], []
    for b in sizes:
        batches = pool[rng.integers(0, len(pool), size=(n_batches, b))]
        mean_spread.append(batches.mean(axis=1).std())
        std_spread.append(batches.std(axis=1).std())
    return np.array(sizes), np.array(mean_spread), np.array(std_spread), pool.std()
