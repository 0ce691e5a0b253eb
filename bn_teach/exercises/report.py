"""The machinery every exercise checker shares: a `Report`, the catalogue of named mistakes, running student
code safely, and comparing its numbers with the reference and with each known mistake's numbers.

An exercise module (`e1_forward`, ...) registers its own mistakes with `register({...})`, next to the code that
recognises them; `MISTAKES` is the whole catalogue once `bn_teach.exercises` is imported.
"""
import traceback
import warnings

import numpy as np

from ..layers import channel_axes

# id -> (what went wrong, a hint towards the fix); the mistakes any exercise can show, then each exercise's own
MISTAKES = {
    "not_implemented": ("not written yet",
                        "Replace `raise NotImplementedError` with your code and run both cells again."),
    "raised": ("your function raised an exception", "Read the message above; the line shown is where it happened."),
    "returned_none": ("your function returned None", "Did you forget the `return` statement?"),
    "wrong_return": ("the return value has the wrong form", "Check what the exercise asks you to return."),
    "shape_changed": ("an output has the wrong shape",
                      "Outputs keep the shape of x; per-feature results have shape (D,) or (C,). Reductions over "
                      "the batch need `axis=0` (and for (N, C, H, W), `axis=(0, 2, 3)`)."),
    "dtype_changed": ("an output's dtype is not the input's",
                      "The rule: every output keeps the dtype of x (float32 in, float32 out; float64 in, float64 "
                      "out), so even right numbers in another dtype fail. float32 becomes float64 through "
                      "`astype(float)`, `np.zeros(shape)` without `dtype=x.dtype`, or float64 arrays mixed in; "
                      "float64 becomes float32 through `astype(np.float32)` or float32 arrays mixed in."),
    "not_finite": ("the output contains NaN or inf", "Look for a division by zero or the square root of a "
                   "negative number: a constant feature has variance 0."),
    "input_modified": ("your function changed its input arrays in place",
                       "`x -= mean` edits the caller's array. Write `xc = x - mean` instead."),
    "per_channel_broadcast": ("gamma/beta (shape (C,)) broadcast against the wrong axis of (N, C, H, W)",
                              "NumPy lines up trailing axes: reshape per-channel vectors to (1, C, 1, 1), e.g. "
                              "`gamma.reshape(1, -1, 1, 1)`, or compute with keepdims=True."),
    "unrecognized": ("the numbers differ from the reference", "Compare your code with the formula step by step; "
                     "print the intermediate arrays for a tiny batch."),
}


def register(mistakes):
    """Add an exercise's mistakes {id: (title, hint)} to MISTAKES (ids must be new); returns them."""
    clash = set(mistakes) & set(MISTAKES)
    if clash:
        raise ValueError(f"mistake ids registered twice: {sorted(clash)}")
    MISTAKES.update(mistakes)
    return mistakes


class Report:
    """What a checker found: `passed`, `mistakes` (ids, most telling first) and a readable text."""

    def __init__(self, title):
        self.title = title
        self.lines = []
        self.mistakes = []
        self.passed = False
        self.summary = ""
        self.footer = ""

    def add(self, mistake):
        if mistake not in self.mistakes:
            self.mistakes.append(mistake)

    @property
    def text(self):
        out = [f"{self.title}: {self.summary}"] + self.lines
        for mistake in self.mistakes:
            title, hint = MISTAKES[mistake]
            out.append(f"\n✗ {title}\n  {hint}")
        if self.footer:
            out.append(self.footer)
        return "\n".join(out)

    def __repr__(self):
        return self.text




class Failure:
    """Student code raised: its type, message and the student's line where it happened."""

    def __init__(self, exc):
        self.exc = exc
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/bn_teach/exercises/" not in f.filename]
        own = [f for f in frames if "site-packages" not in f.filename and "/numpy/" not in f.filename]
        self.frame = (own or frames or [None])[-1]

    def describe(self):
        where = ""
        if self.frame is not None:
            where = f"\n  in {self.frame.name}(), at: {(self.frame.line or '').strip()}"
        message = str(self.exc).splitlines()[0].strip() if str(self.exc) else ""
        return f"{type(self.exc).__name__}: {message}{where}"


def call(fn, *args):
    """fn(*args) with NumPy warnings silenced (the checker reports NaN itself); a Failure if it raised."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 -- any error in student code becomes feedback
            return Failure(exc)


def report_failure(report, failure, label):
    if isinstance(failure.exc, NotImplementedError):
        report.add("not_implemented")
        return
    report.lines.append(f"✗ {label}: {failure.describe()}")
    if "broadcast" in str(failure.exc) and "H, W" in label:
        report.add("per_channel_broadcast")
    else:
        report.add("raised")


def tolerance(dtype):
    return (1e-4, 1e-5) if dtype == np.float32 else (1e-7, 1e-10)


def close(a, b, dtype=np.float64):
    """Same shape and values, NaN where the other has NaN (a mistake can produce NaN where the reference can't)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    rtol, atol = tolerance(dtype)
    scale = max(1.0, float(np.nanmax(np.abs(b), initial=0.0)))
    return bool(np.allclose(a, b, rtol=rtol, atol=atol * scale, equal_nan=True))


def as_array(value, name, expected_shape, dtype, report, label):
    """The student's `value` as an array of the expected shape and dtype, else None (with the reason reported)."""
    if value is None:
        report.add("returned_none")
        return None
    if isinstance(value, (tuple, list)) or not hasattr(value, "shape"):
        report.lines.append(f"✗ {label}: {name} is a {type(value).__name__}, expected a NumPy array of shape "
                            f"{expected_shape}")
        report.add("wrong_return")
        return None
    value = np.asarray(value)
    if value.shape != expected_shape:
        report.lines.append(f"✗ {label}: {name} has shape {value.shape}, expected {expected_shape}")
        return value  # the caller may still recognise a wrong-axis mistake from it
    if value.dtype != dtype:
        way = "up" if value.dtype.itemsize > np.dtype(dtype).itemsize else "down"
        report.lines.append(f"✗ {label}: {name} has dtype {value.dtype}, expected {np.dtype(dtype).name} "
                            f"(the input's): converted {way}")
        report.add("dtype_changed")
    return value


def is_tuple_of(value, names, report, label):
    """True when the student returned a tuple (or list) with one entry per name; else reports why, False."""
    if value is None:
        report.add("returned_none")
        return False
    if not isinstance(value, (tuple, list)) or len(value) != len(names):
        report.lines.append(f"✗ {label}: returned a {type(value).__name__}, expected a tuple ({', '.join(names)})")
        report.add("wrong_return")
        return False
    return True


def diagnose(value, reference, variants, dtype):
    """'ok', or the ids of the mistakes whose result `value` matches (possibly none)."""
    if close(value, reference, dtype):
        return "ok"
    return [name for name, alt in variants if close(value, alt, dtype)]


def explain(report, name, value, reference, matched, label, expected_shape):
    """Report one wrong output: the recognised mistakes, or where it differs."""
    if matched:
        for mistake in matched:
            report.add(mistake)
        return
    value = np.asarray(value, dtype=np.float64)
    if value.shape != expected_shape:
        report.add("shape_changed")
        return
    if not np.isfinite(value).all():
        report.lines.append(f"✗ {label}: {name} contains NaN or inf")
        report.add("not_finite")
        return
    bad = ~np.isclose(value, reference, rtol=tolerance(value.dtype)[0], atol=1e-8)
    where = ""
    if value.ndim >= 2:
        cols = np.flatnonzero(bad.any(axis=channel_axes(value.ndim)))
        where = f" in feature(s) {', '.join(map(str, cols[:6]))}{'...' if len(cols) > 6 else ''}"
    err = np.max(np.abs(value - reference)) / max(1e-12, np.max(np.abs(reference)))
    report.lines.append(f"✗ {label}: {name} differs from the reference{where} "
                        f"(largest error {err:.1e} of its largest value)")
    report.add("unrecognized")


def finish(report, n_cases, n_ok, what="cases"):
    report.passed = n_ok == n_cases and not report.mistakes
    if report.passed:
        report.summary = f"✓ all {n_cases} {what} agree with the reference implementation."
    elif report.mistakes == ["not_implemented"]:
        report.summary = "not implemented yet."
    else:
        report.summary = f"{n_ok} of {n_cases} {what} right."
    return report


def run_case(report, fn, label, arrays, *rest):
    """fn(*copies of arrays, *rest): its value, or Failure (already reported) if it raised. Reports a student
    function that modified its input arrays in place."""
    copies = [a.copy() for a in arrays]
    value = call(fn, *copies, *rest)
    if isinstance(value, Failure):
        report_failure(report, value, label)
    elif any(not np.array_equal(a, b, equal_nan=True) for a, b in zip(arrays, copies)):
        report.lines.append(f"✗ {label}: an input array was modified")
        report.add("input_modified")
    return value


def check_cases(title, fn, cases, judge, what="cases"):
    """Run the student's `fn` on every case and let `judge` decide; returns the finished Report.

    cases: (label, arrays, rest, context) tuples: fn(*copies of arrays, *rest) is called (see `run_case`), then
    judge(report, label, value, *context) reports what is wrong and returns True when the case is right.
    """
    report = Report(title)
    n_ok = 0
    for label, arrays, rest, context in cases:
        value = run_case(report, fn, label, arrays, *rest)
        if isinstance(value, Failure):
            continue
        if judge(report, label, value, *context):
            n_ok += 1
            report.lines.append(f"✓ {label}")
    return finish(report, len(cases), n_ok, what)

