"""The 8x8 handwritten digits that ship with scikit-learn (1,797 images, no download), split and scaled."""
from pathlib import Path

import numpy as np

DIGITS_FILE = Path(__file__).resolve().parents[1] / "data" / "digits.npz"


def _load_digits():
    """(grey levels 0..16 as float64 (1797, 64), targets int64): data/digits.npz (written by
    scripts/make_digits.py, the same values), or scikit-learn's loader where the file is absent."""
    if DIGITS_FILE.exists():
        with np.load(DIGITS_FILE) as f:
            return f["pixels"].astype(np.float64), f["target"].astype(np.int64)
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data, data.target


def load_digits_split(test_fraction=0.3, seed=0):
    """Digits as (x_train, y_train, x_test, y_test): x of shape (N, 64), pixel values scaled to [0, 1].

    The split is stratified-free but seeded: a permutation from np.random.default_rng(seed). The pixels are
    deliberately *not* standardized, so the lessons can show what normalization changes.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    pixels, target = _load_digits()
    x = (pixels / 16.0).astype(np.float64)
    y = target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    test, tr = order[:n_test], order[n_test:]
    return x[tr], y[tr], x[test], y[test]
