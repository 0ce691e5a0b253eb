"""Numbers over several seeds, and verdicts that follow from their spread.

    s = Spread([0.93, 0.95, 0.91, 0.94, 0.96])      # one measurement, one value per seed
    f"{s}"                                        # '0.938 (0.910-0.960)': mean (min-max)
    compare(bn, plain)                            # 'lower' / 'higher' / 'no measurable difference'

A verdict is "lower" (or "higher") only when the two min-max ranges do not overlap; overlapping ranges are
reported as "no measurable difference". With 5 seeds this is a conservative test: it never calls a difference
that one unlucky seed could produce.
"""
import numpy as np

SEEDS = (0, 1, 2, 3, 4)  # the seeds every lesson's spread is measured over


class Spread:
    """Mean, min and max of one quantity measured once per seed (NaN values, e.g. diverged runs, are kept out of
    the mean and range and counted in `n_nan`)."""

    def __init__(self, values):
        values = np.asarray(values, dtype=float).ravel()
        if values.size == 0:
            raise ValueError("Spread needs at least one value")
        finite = values[np.isfinite(values)]
        self.values, self.n, self.n_nan = values, values.size, int(values.size - finite.size)
        self.mean = float(finite.mean()) if finite.size else float("nan")
        self.lo = float(finite.min()) if finite.size else float("nan")
        self.hi = float(finite.max()) if finite.size else float("nan")

    def __format__(self, spec):
        spec = spec or ".3f"
        return f"{self.mean:{spec}} ({self.lo:{spec}}-{self.hi:{spec}})"

    def __str__(self):
        return format(self)

    def __repr__(self):
        return f"Spread(n={self.n}, mean={self.mean:.4g}, min={self.lo:.4g}, max={self.hi:.4g})"


def censored(values, horizon):
    """Spread of per-seed counts to reach a target (e.g. steps to 90 % accuracy), a seed that never reached it within
    `horizon` (None or NaN) counted as horizon + 1: later than every seed that did, so `compare` can still give a
    verdict when some seeds never got there (and never one the finished seeds do not support)."""
    return Spread([horizon + 1 if v is None or not np.isfinite(v) else v for v in values])


def compare(a, b):
    """Verdict on Spread `a` against Spread `b`: "lower" if every value of a lies below every value of b, "higher"
    if every value lies above, else "no measurable difference" (the ranges overlap)."""
    if a.hi < b.lo:
        return "lower"
    if a.lo > b.hi:
        return "higher"
    return "no measurable difference"


def compare_paired(a, b):
    """Verdict on paired measurements: a[i] and b[i] come from the same seed (same initial weights and batches),
    so their ratio a[i] / b[i] removes what the seed does to both. Returns (Spread of the ratios, verdict):
    "lower" if every ratio is below 1, "higher" if every ratio is above 1, else "no measurable difference"."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a and b must be 1-d and paired (same length), got shapes {a.shape} and {b.shape}")
    ratio = Spread(a / b)
    return ratio, compare(ratio, Spread([1.0]))
