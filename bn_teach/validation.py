"""Argument validation shared by the core: clear errors that name the argument, instead of NumPy tracebacks."""
import numbers

import numpy as np


def as_float_array(x, name="x"):
    """Return `x` as a float32 or float64 ndarray; integers and array-likes become float64."""
    if isinstance(x, np.ndarray) and x.dtype in (np.float32, np.float64):
        return x
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__} ({exc})") from None
    if arr.dtype == np.float16:
        return arr.astype(np.float32)
    if arr.dtype.kind in "f":
        return arr.astype(np.float64) if arr.dtype.itemsize > 8 else arr
    if arr.dtype.kind in "iub":
        return arr.astype(np.float64)
    raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")


def check_positive_int(value, name):
    """Raise unless `value` is a positive integer (bool excluded)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_eps(eps):
    """Raise unless eps is a finite number > 0."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    return float(eps)


def check_momentum(momentum):
    """Raise unless momentum is None or a number in [0, 1]."""
    if momentum is None:
        return None
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0.0 <= momentum <= 1.0:
        raise ValueError(f"momentum must be None (cumulative average) or a number in [0, 1], got {momentum!r}")
    return float(momentum)


def check_finite(x, name="x"):
    """Raise if `x` holds NaN or inf (one fast reduction; huge finite values that overflow count too)."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.add.reduce(x, axis=None)
    if not np.isfinite(total):
        raise ValueError(f"{name} contains NaN or inf (or values so large that their sum overflows)")
