"""Automatic, diagnostic feedback for the exercises in notebooks/exercises/.

    report = check_forward(bn_forward)            # E1: training-mode forward
    report = check_running_stats(bn_forward_full) # E2: running statistics and eval mode
    report = check_backward(bn_backward)          # E3: backward
    report = check_train_step(train_step)         # E4: BN inside a two-layer network's training step

Each checker runs the student's function on reference cases, compares it with bn_teach's exact implementation and,
when they disagree, recomputes the answer the way each *common mistake* would (unbiased variance, eps outside the
square root, statistics over the wrong axis, ...). A mistake is named when the student's numbers match it.
The returned `Report` prints as plain text; `report.passed` and `report.mistakes` (ids from `MISTAKES`) are what
tests use. The student's code may raise, return None or NaN: the checker says so instead of failing itself.
"""
import traceback
import warnings

import numpy as np

from .layers import _channel_axes, _per_channel, batchnorm_backward, batchnorm_eval_forward, batchnorm_forward
from .network import softmax_cross_entropy

# id -> (what went wrong, a hint towards the fix)
MISTAKES = {
    "not_implemented": ("not written yet",
                        "Replace `raise NotImplementedError` with your code and run both cells again."),
    "raised": ("your function raised an exception", "Read the message above; the line shown is where it happened."),
    "returned_none": ("your function returned None", "Did you forget the `return` statement?"),
    "wrong_return": ("the return value has the wrong form", "Check what the exercise asks you to return."),
    "shape_changed": ("an output has the wrong shape",
                      "Outputs keep the shape of x; per-feature results have shape (D,) or (C,). Reductions over "
                      "the batch need `axis=0` (and for (N, C, H, W), `axis=(0, 2, 3)`)."),
    "dtype_changed": ("float32 input gave a float64 output",
                      "Keep the input's dtype: avoid `astype(float)`, `np.zeros(shape)` without `dtype=x.dtype`, "
                      "and Python float arrays mixed in."),
    "not_finite": ("the output contains NaN or inf", "Look for a division by zero or the square root of a "
                   "negative number: a constant feature has variance 0."),
    "input_modified": ("your function changed its input arrays in place",
                       "`x -= mean` edits the caller's array. Write `xc = x - mean` instead."),
    "per_channel_broadcast": ("gamma/beta (shape (C,)) broadcast against the wrong axis of (N, C, H, W)",
                              "NumPy lines up trailing axes: reshape per-channel vectors to (1, C, 1, 1), e.g. "
                              "`gamma.reshape(1, -1, 1, 1)`, or compute with keepdims=True."),
    # forward
    "unbiased_variance": ("unbiased variance used to normalize",
                          "Batch norm normalizes with the biased variance (divide by m, `np.var`'s default "
                          "ddof=0). The unbiased one (divide by m - 1) is only stored in running_var."),
    "eps_missing": ("eps is missing", "Divide by `np.sqrt(var + eps)`: without eps a constant feature "
                    "(variance 0) divides by zero."),
    "eps_outside_sqrt": ("eps added outside the square root",
                         "It is `np.sqrt(var + eps)`, not `np.sqrt(var) + eps`: the two differ most when the "
                         "variance is small."),
    "missing_sqrt": ("divided by the variance instead of the standard deviation",
                     "Normalize by `np.sqrt(var + eps)`, not by `var + eps`."),
    "stats_over_features": ("statistics over the wrong axis: features instead of the batch",
                            "Batch norm averages every feature over the samples of the batch: `axis=0` for "
                            "(N, D). Averaging over the features of one sample is layer norm."),
    "stats_over_all": ("statistics over the whole array instead of per feature",
                       "Pass an axis: one mean and one variance per feature (channel), not one for everything."),
    "stats_batch_axis_only": ("(N, C, H, W): statistics over N only, per pixel position",
                              "For images BN keeps one mean per channel, over N, H and W: `axis=(0, 2, 3)`."),
    "stats_spatial_only": ("(N, C, H, W): statistics over H and W only, per image",
                           "That is instance norm. Batch norm also averages over the batch: `axis=(0, 2, 3)`."),
    "gamma_beta_not_applied": ("gamma and beta are not applied", "The last step is `out = gamma * xhat + beta`."),
    "gamma_beta_swapped": ("gamma and beta swapped", "gamma scales (multiplies), beta shifts (is added)."),
    # running statistics and eval mode
    "running_not_updated": ("running statistics not updated in training mode",
                            "After normalizing, update `bn_param['running_mean']` and `bn_param['running_var']` "
                            "(assign the new arrays back into bn_param, or update them in place)."),
    "running_updated_in_eval": ("running statistics changed in eval mode",
                                "Eval mode only reads running_mean and running_var; only training updates them."),
    "momentum_inverted": ("momentum convention inverted",
                          "PyTorch's momentum is the weight of the *new* batch: "
                          "`running = (1 - momentum) * running + momentum * batch` (momentum=0.1). "
                          "Keras and some course code use the opposite, a decay of 0.9 or 0.99."),
    "running_replaced": ("running statistics replaced by the batch statistics",
                         "Blend them: `(1 - momentum) * running + momentum * batch`."),
    "running_var_biased": ("running_var stores the biased batch variance",
                           "PyTorch normalizes with the biased variance but stores the unbiased one in running_var:"
                           " multiply the batch variance by m / (m - 1)."),
    "running_var_unbiased_over_n": ("(N, C, H, W): running_var corrected with N / (N - 1)",
                                    "m counts every value per channel: m = N * H * W, so the factor is m / (m - 1)."),
    "train_uses_running_stats": ("training mode normalized with the running statistics",
                                 "In training, normalize with the batch's own mean and variance."),
    "training_output_wrong": ("the training-mode output is wrong", "Run check_forward on the training branch "
                              "(exercise E1) to find out why."),
    "eval_uses_batch_stats": ("eval mode normalized with the batch statistics",
                              "In eval mode use running_mean and running_var: a prediction must not depend on "
                              "the other samples in the batch."),
    "eval_output_wrong": ("the eval-mode output is wrong",
                          "out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta."),
    # backward
    "backward_no_mean_var_terms": ("dx misses the terms through the batch mean and variance",
                                   "mean and var depend on every x_i, so dx has three terms: "
                                   "dx = gamma * inv_std / m * (m * dout - sum(dout) - xhat * sum(dout * xhat))."),
    "backward_no_mean_term": ("dx misses the term through the batch mean",
                              "Subtract sum(dout) over the batch (inside the bracket of the compact formula)."),
    "backward_no_var_term": ("dx misses the term through the batch variance",
                             "Subtract xhat * sum(dout * xhat) over the batch (inside the bracket)."),
    "backward_missing_gamma": ("dx misses the factor gamma", "out = gamma * xhat + beta, so dxhat = gamma * dout."),
    "backward_unbiased_variance": ("backward uses the unbiased variance",
                                   "Use the same biased variance as the forward pass (divide by m)."),
    "param_grads_wrong_axis": ("dgamma/dbeta summed over the wrong axis",
                               "gamma and beta have one value per feature: sum over the batch, `axis=0`."),
    "param_grads_mean_not_sum": ("dgamma/dbeta averaged instead of summed",
                                 "Every sample contributes to the loss: sum over the batch, do not divide by m."),
    "dgamma_missing_xhat": ("dgamma is missing the factor xhat", "dgamma = sum over the batch of dout * xhat."),
    "dgamma_uses_x": ("dgamma uses x instead of xhat", "gamma multiplies the normalized xhat, so "
                      "dgamma = sum(dout * xhat, axis=0)."),
    "dgamma_dbeta_swapped": ("dgamma and dbeta swapped", "Return (dx, dgamma, dbeta) in that order."),
    # training step
    "loss_wrong": ("the loss is wrong", "Check the forward pass: x @ W1 + b1, batch norm (training mode), ReLU, "
                   "@ W2 + b2, then the mean softmax cross-entropy."),
    "loss_not_averaged": ("loss and gradients summed over the batch instead of averaged",
                          "Divide the loss (and so dscores) by the batch size N."),
    "gradient_ascent": ("parameters moved up the gradient", "Gradient descent subtracts: `p -= lr * dp`."),
    "gamma_beta_not_learned": ("gamma and beta were not updated",
                               "gamma and beta are parameters learned by gradient descent, like W1 and W2 "
                               "(not hyperparameters): `params['gamma'] -= lr * dgamma`, same for beta."),
    "param_not_updated": ("a parameter was not updated", "Every parameter gets `p -= lr * dp`, in place or "
                          "assigned back into params."),
    "gradient_wrong": ("a gradient is wrong", "The first wrong parameter, going backward from the loss, "
                       "shows where the error enters."),
    "unrecognized": ("the numbers differ from the reference", "Compare your code with the formula step by step; "
                     "print the intermediate arrays for a tiny batch."),
}


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


# ---------------------------------------------------------------------------------------------------------------
# running student code safely


class _Failure:
    """Student code raised: its type, message and the student's line where it happened."""

    def __init__(self, exc):
        self.exc = exc
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
        own = [f for f in frames if "site-packages" not in f.filename and "/numpy/" not in f.filename]
        self.frame = (own or frames or [None])[-1]

    def describe(self):
        where = ""
        if self.frame is not None:
            where = f"\n  in {self.frame.name}(), at: {(self.frame.line or '').strip()}"
        message = str(self.exc).splitlines()[0].strip() if str(self.exc) else ""
        return f"{type(self.exc).__name__}: {message}{where}"


def _call(fn, *args):
    """fn(*args) with NumPy warnings silenced (the checker reports NaN itself); a _Failure if it raised."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return fn(*args)
        except Exception as exc:  # noqa: BLE001 -- any error in student code becomes feedback
            return _Failure(exc)


def _report_failure(report, failure, label):
    if isinstance(failure.exc, NotImplementedError):
        report.add("not_implemented")
        return
    report.lines.append(f"✗ {label}: {failure.describe()}")
    if "broadcast" in str(failure.exc) and "H, W" in label:
        report.add("per_channel_broadcast")
    else:
        report.add("raised")


def _tolerance(dtype):
    return (1e-4, 1e-5) if dtype == np.float32 else (1e-7, 1e-10)


def _close(a, b, dtype=np.float64):
    """Same shape and values, NaN where the other has NaN (a mistake can produce NaN where the reference can't)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    rtol, atol = _tolerance(dtype)
    scale = max(1.0, float(np.nanmax(np.abs(b), initial=0.0)))
    return bool(np.allclose(a, b, rtol=rtol, atol=atol * scale, equal_nan=True))


def _as_array(value, name, expected_shape, dtype, report, label):
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
        report.lines.append(f"✗ {label}: {name} has dtype {value.dtype}, expected {np.dtype(dtype).name}")
        report.add("dtype_changed")
    return value


def _diagnose(value, reference, variants, dtype):
    """'ok', or the ids of the mistakes whose result `value` matches (possibly none)."""
    if _close(value, reference, dtype):
        return "ok"
    return [name for name, alt in variants if _close(value, alt, dtype)]


def _explain(report, name, value, reference, matched, label, expected_shape):
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
    bad = ~np.isclose(value, reference, rtol=_tolerance(value.dtype)[0], atol=1e-8)
    where = ""
    if value.ndim >= 2:
        cols = np.flatnonzero(bad.any(axis=_channel_axes(value.ndim)))
        where = f" in feature(s) {', '.join(map(str, cols[:6]))}{'...' if len(cols) > 6 else ''}"
    err = np.max(np.abs(value - reference)) / max(1e-12, np.max(np.abs(reference)))
    report.lines.append(f"✗ {label}: {name} differs from the reference{where} "
                        f"(largest error {err:.1e} of its largest value)")
    report.add("unrecognized")


def _finish(report, n_cases, n_ok, what="cases"):
    report.passed = n_ok == n_cases and not report.mistakes
    if report.passed:
        report.summary = f"✓ all {n_cases} {what} agree with the reference implementation."
    elif report.mistakes == ["not_implemented"]:
        report.summary = "not implemented yet."
    else:
        report.summary = f"{n_ok} of {n_cases} {what} right."
    return report


def _run_case(report, fn, label, arrays, *rest):
    """fn(*copies of arrays, *rest): its value, or _Failure (already reported) if it raised. Reports a student
    function that modified its input arrays in place."""
    copies = [a.copy() for a in arrays]
    value = _call(fn, *copies, *rest)
    if isinstance(value, _Failure):
        _report_failure(report, value, label)
    elif any(not np.array_equal(a, b, equal_nan=True) for a, b in zip(arrays, copies)):
        report.lines.append(f"✗ {label}: an input array was modified")
        report.add("input_modified")
    return value


# ---------------------------------------------------------------------------------------------------------------
# E1: forward


def _normalize(x, axes, ddof=0, eps=1e-5, eps_mode="inside"):
    """(x - mean) / std over `axes` (keepdims), in float64, computed the right way or a wrong way."""
    x = x.astype(np.float64)
    xc = x - x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    with np.errstate(all="ignore"):  # "missing" divides a constant feature by 0, as that mistake does
        std = {"inside": np.sqrt(var + eps), "missing": np.sqrt(var), "outside": np.sqrt(var) + eps,
               "no_sqrt": var + eps}[eps_mode]
        return xc / std


def _affine(xhat, gamma, beta, how="normal"):
    g, b = _per_channel(np.asarray(gamma, np.float64), xhat.ndim), _per_channel(np.asarray(beta, np.float64),
                                                                               xhat.ndim)
    return {"normal": lambda: g * xhat + b, "none": lambda: xhat, "swapped": lambda: b * xhat + g}[how]()


def _forward_variants(x, gamma, beta, eps):
    """(mistake id, the output that mistake produces) for every forward mistake the checker knows."""
    bn_axes = _channel_axes(x.ndim)
    everything = tuple(range(x.ndim))
    out = [
        ("unbiased_variance", _affine(_normalize(x, bn_axes, ddof=1, eps=eps), gamma, beta)),
        ("eps_missing", _affine(_normalize(x, bn_axes, eps=eps, eps_mode="missing"), gamma, beta)),
        ("eps_outside_sqrt", _affine(_normalize(x, bn_axes, eps=eps, eps_mode="outside"), gamma, beta)),
        ("missing_sqrt", _affine(_normalize(x, bn_axes, eps=eps, eps_mode="no_sqrt"), gamma, beta)),
        ("stats_over_features", _affine(_normalize(x, (1,), eps=eps), gamma, beta)),
        ("stats_over_all", _affine(_normalize(x, everything, eps=eps), gamma, beta)),
        ("gamma_beta_not_applied", _affine(_normalize(x, bn_axes, eps=eps), gamma, beta, "none")),
        ("gamma_beta_swapped", _affine(_normalize(x, bn_axes, eps=eps), gamma, beta, "swapped")),
    ]
    if x.ndim == 4:
        out += [
            ("stats_over_features", _affine(_normalize(x, (1, 2, 3), eps=eps), gamma, beta)),
            ("stats_batch_axis_only", _affine(_normalize(x, (0,), eps=eps), gamma, beta)),
            ("stats_spatial_only", _affine(_normalize(x, (2, 3), eps=eps), gamma, beta)),
        ]
    return out


def _forward_cases():
    """Reference cases: (label, x, gamma, beta, eps). Feature scales differ, so mistakes show up clearly."""
    rng = np.random.default_rng(2015)
    loc, scale = np.array([3.0, -2.0, 10.0, 0.0, 0.5]), np.array([0.5, 1.0, 4.0, 2.0, 0.01])
    x = loc + scale * rng.standard_normal((16, 5))
    gamma, beta = rng.uniform(0.5, 2.0, 5), rng.normal(0.0, 1.0, 5)
    const = x.copy()
    const[:, 2] = 7.0
    img = np.array([1.0, -3.0, 5.0]).reshape(1, 3, 1, 1) + np.array([0.5, 2.0, 1.0]).reshape(1, 3, 1, 1) * \
        rng.standard_normal((4, 3, 5, 6))
    g3, b3 = rng.uniform(0.5, 2.0, 3), rng.normal(0.0, 1.0, 3)
    return [
        ("(N, D) = (16, 5), float64", x, gamma, beta, 1e-5),
        ("a constant feature, eps = 1e-3", const, gamma, beta, 1e-3),
        ("(N, C, H, W) = (4, 3, 5, 6)", img, g3, b3, 1e-5),
        ("float32 input", x.astype(np.float32), gamma.astype(np.float32), beta.astype(np.float32), 1e-5),
    ]


def check_forward(bn_forward):
    """Check `bn_forward(x, gamma, beta, eps) -> out`, training-mode batch norm of (N, D) or (N, C, H, W) input."""
    report = Report("check_forward")
    cases = _forward_cases()
    n_ok = 0
    for label, x, gamma, beta, eps in cases:
        value = _run_case(report, bn_forward, label, (x, gamma, beta), eps)
        if isinstance(value, _Failure):
            continue
        out = _as_array(value, "out", x.shape, x.dtype, report, label)
        if out is None:
            continue
        reference, _ = batchnorm_forward(x, gamma, beta, eps)
        verdict = _diagnose(out, reference, _forward_variants(x, gamma, beta, eps), x.dtype)
        if verdict == "ok" and out.dtype == x.dtype:
            n_ok += 1
            report.lines.append(f"✓ {label}")
        elif verdict != "ok":
            _explain(report, "out", out, reference, verdict, label, x.shape)
    return _finish(report, len(cases), n_ok)


# ---------------------------------------------------------------------------------------------------------------
# E2: running statistics and eval mode


def _running_update(mean, var, running_mean, running_var, momentum, m, how="right"):
    """The new (running_mean, running_var) after one training batch of m values per channel, the right way
    (PyTorch's convention, unbiased variance) or a wrong way: "inverted" momentum, "replaced", "biased"."""
    momentum = {"inverted": 1.0 - momentum, "replaced": 1.0}.get(how, momentum)
    factor = 1.0 if how == "biased" else m / (m - 1)
    return ((1 - momentum) * running_mean + momentum * mean, (1 - momentum) * running_var + momentum * var * factor)


def _running_cases():
    rng = np.random.default_rng(2016)
    run_mean, run_var = np.array([0.5, -1.0, 2.0, 0.0, 1.0]), np.array([2.0, 0.5, 1.0, 3.0, 1.5])
    x1 = np.array([3.0, -2.0, 10.0, 0.0, 0.5]) + np.array([0.5, 1.0, 4.0, 2.0, 1.0]) * rng.standard_normal((16, 5))
    x2 = 1.0 + 2.0 * rng.standard_normal((8, 5))
    gamma, beta = rng.uniform(0.5, 2.0, 5), rng.normal(0.0, 1.0, 5)
    img = np.array([1.0, -3.0, 5.0]).reshape(1, 3, 1, 1) + rng.standard_normal((4, 3, 5, 6))
    g3, b3 = rng.uniform(0.5, 2.0, 3), rng.normal(0.0, 1.0, 3)
    rm3, rv3 = np.array([0.2, -1.0, 4.0]), np.array([1.5, 0.8, 2.0])
    return [
        ("train, (N, D) = (16, 5), momentum 0.1", "train", x1, gamma, beta, run_mean, run_var, 0.1),
        ("train, (N, D) = (8, 5), momentum 0.3", "train", x2, gamma, beta, run_mean, run_var, 0.3),
        ("train, (N, C, H, W) = (4, 3, 5, 6)", "train", img, g3, b3, rm3, rv3, 0.1),
        ("eval, (N, D) = (16, 5)", "eval", x1, gamma, beta, run_mean, run_var, 0.1),
        ("eval, (N, C, H, W) = (4, 3, 5, 6)", "eval", img, g3, b3, rm3, rv3, 0.1),
    ]


def _eval_output(x, gamma, beta, mean, var, eps):
    """Normalization with given statistics (eps may be 0 here: the 'eps missing' mistake)."""
    return batchnorm_eval_forward(x, gamma, beta, np.asarray(mean, np.float64), np.asarray(var, np.float64), eps)


def check_running_stats(bn_forward_full):
    """Check `bn_forward_full(x, gamma, beta, bn_param) -> out` with bn_param = {"mode": "train" or "eval",
    "eps", "momentum", "running_mean", "running_var"}: training normalizes with batch statistics and updates the
    running ones (PyTorch's convention); eval normalizes with the running statistics and changes nothing."""
    report = Report("check_running_stats")
    cases = _running_cases()
    eps = 1e-5
    n_ok = 0
    for label, mode, x, gamma, beta, run_mean, run_var, momentum in cases:
        bn_param = {"mode": mode, "eps": eps, "momentum": momentum,
                    "running_mean": run_mean.copy(), "running_var": run_var.copy()}
        value = _run_case(report, bn_forward_full, label, (x, gamma, beta), bn_param)
        if isinstance(value, _Failure):
            continue
        out = _as_array(value, "out", x.shape, x.dtype, report, label)
        new_mean = _as_array(bn_param.get("running_mean"), "bn_param['running_mean']", run_mean.shape,
                             np.float64, report, label)
        new_var = _as_array(bn_param.get("running_var"), "bn_param['running_var']", run_var.shape,
                            np.float64, report, label)
        if out is None or new_mean is None or new_var is None:
            continue
        axes = _channel_axes(x.ndim)
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        m = x.size // x.shape[1]
        right = True
        if mode == "train":
            reference, _ = batchnorm_forward(x, gamma, beta, eps)
            exp_mean, exp_var = _running_update(mean, var, run_mean, run_var, momentum, m)
            stale = [("train_uses_running_stats", _eval_output(x, gamma, beta, run_mean, run_var, eps)),
                     ("train_uses_running_stats", _eval_output(x, gamma, beta, exp_mean, exp_var, eps))]
            verdict = _diagnose(out, reference, stale + _forward_variants(x, gamma, beta, eps), x.dtype)
            if verdict != "ok":
                right = False
                _explain(report, "out", out, reference, verdict, label, x.shape)
                if "unrecognized" in report.mistakes:
                    report.mistakes.remove("unrecognized")
                    report.add("training_output_wrong")
            n = x.shape[0]
            inv_mean, inv_var = _running_update(mean, var, run_mean, run_var, momentum, m, "inverted")
            rep_mean, rep_var = _running_update(mean, var, run_mean, run_var, momentum, m, "replaced")
            mean_variants = [("running_not_updated", run_mean), ("momentum_inverted", inv_mean),
                             ("running_replaced", rep_mean)]
            var_variants = [("running_not_updated", run_var), ("momentum_inverted", inv_var),
                            ("running_replaced", rep_var),
                            ("running_var_biased", _running_update(mean, var, run_mean, run_var, momentum, m,
                                                                   "biased")[1])]
            if x.ndim > 2:
                var_variants.append(("running_var_unbiased_over_n",
                                     (1 - momentum) * run_var + momentum * var * n / (n - 1)))
            for name, got, expected, variants in (("running_mean", new_mean, exp_mean, mean_variants),
                                                  ("running_var", new_var, exp_var, var_variants)):
                verdict = _diagnose(got, expected, variants, np.float64)
                if verdict != "ok":
                    right = False
                    report.lines.append(f"✗ {label}: bn_param['{name}'] is wrong")
                    _explain(report, name, got, expected, verdict, label, expected.shape)
        else:
            reference = _eval_output(x, gamma, beta, run_mean, run_var, eps)
            variants = [("eval_uses_batch_stats", batchnorm_forward(x, gamma, beta, eps)[0]),
                        ("eps_missing", _eval_output(x, gamma, beta, run_mean, run_var, 0.0)),
                        ("eval_uses_batch_stats", _affine(_normalize(x, axes, eps=eps), gamma, beta))]
            verdict = _diagnose(out, reference, variants, x.dtype)
            if verdict != "ok":
                right = False
                _explain(report, "out", out, reference, verdict, label, x.shape)
                if "unrecognized" in report.mistakes:
                    report.mistakes.remove("unrecognized")
                    report.add("eval_output_wrong")
            if not (_close(new_mean, run_mean) and _close(new_var, run_var)):
                right = False
                report.add("running_updated_in_eval")
        if right:
            n_ok += 1
            report.lines.append(f"✓ {label}")
    return _finish(report, len(cases), n_ok)


# ---------------------------------------------------------------------------------------------------------------
# E3: backward


def _backward_cases():
    rng = np.random.default_rng(2017)
    x = np.array([3.0, -2.0, 10.0, 0.0, 0.5]) + np.array([0.5, 1.0, 4.0, 2.0, 0.01]) * rng.standard_normal((16, 5))
    gamma = rng.uniform(0.5, 2.0, 5)
    dout = rng.standard_normal((16, 5))  # random: with dout = 1 everywhere the true dx is exactly 0
    x2, gamma2, dout2 = rng.normal(1.0, 3.0, (7, 4)), rng.uniform(-2.0, 2.0, 4), rng.standard_normal((7, 4))
    return [
        ("(N, D) = (16, 5), float64", dout, x, gamma, 1e-5),
        ("(N, D) = (7, 4), eps = 0.1, negative gamma", dout2, x2, gamma2, 0.1),
        ("float32 input", dout.astype(np.float32), x.astype(np.float32), gamma.astype(np.float32), 1e-5),
    ]


def _backward_variants(dout, x, gamma, eps):
    """Reference (dx, dgamma, dbeta) and, per output, the (mistake id, value) pairs."""
    x64, d = x.astype(np.float64), dout.astype(np.float64)
    g = np.asarray(gamma, np.float64)
    m = x.shape[0]

    def grads(ddof):
        var = x64.var(axis=0, ddof=ddof)
        inv_std = 1.0 / np.sqrt(var + eps)
        xhat = (x64 - x64.mean(axis=0)) * inv_std
        dbeta, dgamma = d.sum(axis=0), (d * xhat).sum(axis=0)
        return xhat, inv_std, dgamma, dbeta, g * inv_std / m * (m * d - dbeta - xhat * dgamma)

    xhat, inv_std, dgamma, dbeta, dx = grads(0)
    dx_variants = [
        ("backward_no_mean_var_terms", g * inv_std * d),
        ("backward_no_mean_term", g * inv_std / m * (m * d - xhat * dgamma)),
        ("backward_no_var_term", g * inv_std / m * (m * d - dbeta)),
        ("backward_missing_gamma", inv_std / m * (m * d - dbeta - xhat * dgamma)),
        ("backward_unbiased_variance", grads(1)[4]),
    ]
    dgamma_variants = [("param_grads_wrong_axis", (d * xhat).sum(axis=1)),
                       ("param_grads_mean_not_sum", (d * xhat).mean(axis=0)),
                       ("dgamma_missing_xhat", dbeta), ("dgamma_uses_x", (d * x64).sum(axis=0)),
                       ("backward_unbiased_variance", grads(1)[2])]
    dbeta_variants = [("param_grads_wrong_axis", d.sum(axis=1)), ("param_grads_mean_not_sum", d.mean(axis=0))]
    if m != x.shape[1]:
        dgamma_variants.append(("dgamma_dbeta_swapped", dbeta))
        dbeta_variants.append(("dgamma_dbeta_swapped", dgamma))
    return (dx, dx_variants), (dgamma, dgamma_variants), (dbeta, dbeta_variants)


def _backward_reference(dout, x, gamma, eps):
    _, cache = batchnorm_forward(x.astype(np.float64), np.asarray(gamma, np.float64), np.zeros(x.shape[1]), eps)
    return batchnorm_backward(dout.astype(np.float64), cache)


def check_backward(bn_backward):
    """Check `bn_backward(dout, x, gamma, eps) -> (dx, dgamma, dbeta)` for training-mode batch norm of (N, D) x."""
    report = Report("check_backward")
    cases = _backward_cases()
    n_ok = 0
    for label, dout, x, gamma, eps in cases:
        value = _run_case(report, bn_backward, label, (dout, x, gamma), eps)
        if isinstance(value, _Failure):
            continue
        if value is None:
            report.add("returned_none")
            continue
        if not isinstance(value, (tuple, list)) or len(value) != 3:
            report.lines.append(f"✗ {label}: returned a {type(value).__name__}, expected a tuple (dx, dgamma, dbeta)")
            report.add("wrong_return")
            continue
        reference = _backward_reference(dout, x, gamma, eps)
        variants = _backward_variants(dout, x, gamma, eps)
        right = True
        for name, got, ref, (_, alts) in zip(("dx", "dgamma", "dbeta"), value, reference, variants):
            shape = ref.shape
            got = _as_array(got, name, shape, x.dtype, report, label)
            if got is None:
                right = False
                continue
            verdict = _diagnose(got, ref, alts, x.dtype)
            if verdict != "ok":
                right = False
                _explain(report, name, got, ref, verdict, label, shape)
            elif got.dtype != x.dtype:
                right = False
        if right:
            n_ok += 1
            report.lines.append(f"✓ {label}")
    return _finish(report, len(cases), n_ok)


# ---------------------------------------------------------------------------------------------------------------
# E4: BN inside a two-layer network's training step

PARAM_NAMES = ("W1", "b1", "gamma", "beta", "W2", "b2")


def init_two_layer(in_features, hidden, classes, seed=0):
    """Parameters of x -> Linear -> BatchNorm -> ReLU -> Linear (He-initialised weights, gamma 1, beta 0)."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0.0, np.sqrt(2.0 / in_features), (in_features, hidden)), "b1": np.zeros(hidden),
            "gamma": np.ones(hidden), "beta": np.zeros(hidden),
            "W2": rng.normal(0.0, np.sqrt(2.0 / hidden), (hidden, classes)), "b2": np.zeros(classes)}


def _two_layer_grads(params, x, y, bn_backward_fn=batchnorm_backward):
    """Mean softmax cross-entropy of the two-layer BN network and the gradient of every parameter."""
    h = x @ params["W1"] + params["b1"]
    z, cache = batchnorm_forward(h, params["gamma"], params["beta"])
    a = np.maximum(z, 0.0)
    loss, dscores = softmax_cross_entropy(a @ params["W2"] + params["b2"], y)
    dz = (dscores @ params["W2"].T) * (z > 0)
    dh, dgamma, dbeta = bn_backward_fn(dz, cache)
    grads = {"W2": a.T @ dscores, "b2": dscores.sum(axis=0), "gamma": dgamma, "beta": dbeta,
             "W1": x.T @ dh, "b1": dh.sum(axis=0)}
    return loss, grads


def _simplified_bn_backward(dout, cache):
    _, dgamma, dbeta = batchnorm_backward(dout, cache)
    return dout * (cache["gamma"] * cache["inv_std"]), dgamma, dbeta


def reference_train_step(params, x, y, lr):
    """One SGD step of the two-layer BN network, in place; returns the loss before the step."""
    loss, grads = _two_layer_grads(params, x, y)
    for name in PARAM_NAMES:
        params[name] -= lr * grads[name]
    return loss


def _step_case():
    rng = np.random.default_rng(2018)
    x = rng.normal(0.0, 1.0, (32, 6)) * np.array([1.0, 5.0, 0.2, 1.0, 3.0, 1.0]) + 2.0
    y = (x[:, 0] + 0.2 * x[:, 1] - x[:, 4] > 0).astype(np.int64) + (x[:, 2] > 2.0)
    return init_two_layer(6, 8, 3, seed=5), x, y, 0.1


def _train_with(step, steps=150, batch=64, lr=0.2, seed=0):
    from .digits import load_digits_split

    x_tr, y_tr, x_te, y_te = load_digits_split()
    params = init_two_layer(64, 32, 10, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        idx = rng.choice(len(x_tr), batch, replace=False)
        step(params, x_tr[idx], y_tr[idx], lr)
    h = x_te @ params["W1"] + params["b1"]
    # batch statistics of the whole test set (this exercise keeps no running statistics)
    z, _ = batchnorm_forward(h, params["gamma"], params["beta"])
    scores = np.maximum(z, 0.0) @ params["W2"] + params["b2"]
    return float((scores.argmax(axis=1) == y_te).mean())


def check_train_step(train_step):
    """Check `train_step(params, x, y, lr) -> loss`: one SGD step of x -> Linear(W1, b1) -> BatchNorm(gamma, beta,
    training mode) -> ReLU -> Linear(W2, b2) -> mean softmax cross-entropy, updating every entry of `params`.
    When it is right, it also trains on the digits and compares the test accuracy with the reference's."""
    report = Report("check_train_step")
    params, x, y, lr = _step_case()
    before = {k: v.copy() for k, v in params.items()}
    student_params = {k: v.copy() for k, v in params.items()}
    value = _call(train_step, student_params, x.copy(), y.copy(), lr)
    if isinstance(value, _Failure):
        _report_failure(report, value, "one step")
        return _finish(report, len(PARAM_NAMES), 0, "parameter updates")
    ref_loss, grads = _two_layer_grads(before, x, y)
    _, simple_grads = _two_layer_grads(before, x, y, _simplified_bn_backward)
    n = x.shape[0]
    try:
        loss = float(value)
    except (TypeError, ValueError):
        report.lines.append(f"✗ returned {type(value).__name__}, expected the loss as a number")
        report.add("returned_none" if value is None else "wrong_return")
        loss = None
    if loss is not None:
        if _close(loss, ref_loss):
            report.lines.append(f"✓ loss {loss:.4f}")
        elif _close(loss, n * ref_loss):
            report.add("loss_not_averaged")
        else:
            report.lines.append(f"✗ loss {loss:.4f}, expected {ref_loss:.4f}")
            report.add("loss_wrong")
    not_updated, n_ok = [], 0
    for name in reversed(PARAM_NAMES):  # backward order: the first wrong one is where the error enters
        got = _as_array(student_params.get(name), f"params['{name}']", before[name].shape, np.float64, report,
                        "after the step")
        if got is None:
            continue
        step = got - before[name]
        expected = -lr * grads[name]
        if np.abs(expected).max() < 1e-12:
            ok = np.abs(step).max() < 1e-9
            note = " (its gradient is 0: BN subtracts the batch mean, so a bias before BN has no effect)"
        else:
            ok, note = _close(step, expected), ""
        if ok:
            n_ok += 1
            report.lines.append(f"✓ {name} updated{note}")
            continue
        variants = [("param_not_updated", np.zeros_like(step)), ("gradient_ascent", lr * grads[name]),
                    ("loss_not_averaged", -lr * n * grads[name]),
                    ("backward_no_mean_var_terms", -lr * simple_grads[name])]
        verdict = _diagnose(step, expected, variants, np.float64)
        report.lines.append(f"✗ {name} update wrong")
        if verdict == ["param_not_updated"]:
            not_updated.append(name)
        elif verdict:
            for mistake in verdict:
                report.add(mistake)
        else:
            report.add("gradient_wrong")
    if not_updated:
        both = {"gamma", "beta"} & set(not_updated)
        if both:
            report.add("gamma_beta_not_learned")
        if set(not_updated) - both:
            report.add("param_not_updated")
    if n_ok == len(PARAM_NAMES) and not report.mistakes:
        ours = _call(_train_with, train_step)
        if isinstance(ours, _Failure):
            _report_failure(report, ours, "training on the digits")
        else:
            ref = _train_with(reference_train_step)
            report.footer = (f"\nTrained 150 steps on the digits with your train_step: test accuracy {ours:.1%} "
                     f"(reference implementation: {ref:.1%}).")
    return _finish(report, len(PARAM_NAMES), n_ok, "parameter updates")
