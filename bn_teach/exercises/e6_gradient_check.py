"""E6: a numerical gradient check. `check_gradient_check(numerical_gradient, rel_error)` and its mistakes."""
import numpy as np

from ..layers import batchnorm_backward, batchnorm_forward
from .report import Failure, Report, call, close, finish, register, report_failure

GRADCHECK_MISTAKES = register({
    "one_sided_difference": ("a one-sided difference instead of the centred one",
                             "(f(x + h) - f(x)) / h has an error proportional to h; the centred "
                             "(f(x + h) - f(x - h)) / (2 h) has an error proportional to h^2, far smaller."),
    "centred_missing_half": ("the centred difference is not divided by 2 h",
                             "x + h and x - h are 2 h apart: divide f(x + h) - f(x - h) by 2 * h."),
    "perturbed_all_at_once": ("every entry of x perturbed at once",
                              "A partial derivative moves one entry: x[i] += h for a single index i (np.nditer or "
                              "a loop over np.ndindex(x.shape)), then the next."),
    "perturbation_not_restored": ("x is not restored after perturbing it",
                                  "After evaluating f at x[i] + h and x[i] - h, put the old value back: "
                                  "`x[i] = old`. Otherwise every later derivative is taken at the wrong point, and "
                                  "the caller's x is changed."),
    "h_too_large": ("h is too large", "The difference quotient's own error grows with h (like h^2 for the "
                    "centred one): take h around 1e-5 in float64, and use the h you are given."),
    "h_too_small": ("h is too small", "f(x + h) - f(x - h) cancels almost every digit when h is tiny, and "
                    "rounding errors of about 1e-16 / h take over: take h around 1e-5 in float64."),
    "rel_error_no_guard": ("the relative error is NaN when both gradients are 0",
                           "Guard the denominator: max|a - b| / max(1e-8, max(|a| + |b|)) (or the element-wise "
                           "`np.maximum(1e-8, np.abs(a) + np.abs(b))`). A true gradient of exactly 0 is common: "
                           "a bias before BN has one."),
    "rel_error_absolute": ("the \"relative\" error is an absolute one",
                           "Divide by the size of the gradients: max|a - b| / max(|a| + |b|). An absolute error "
                           "of 1e-7 means nothing for gradients of size 1e-9, and is too strict at 1e4."),
    "rel_error_wrong": ("rel_error gives a wrong value",
                        "For b = a * (1 + 1e-6) the relative error is about 5e-7, for b = -a it is 1, for b = a "
                        "it is 0. rel_error(a, b) = max|a - b| / max(1e-8, max(|a| + |b|))."),
})

H_SIZES = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13)


def _cubic_case():
    """f(x) = sum(c * x^3) + sum(sin(x)) on a (3, 4) array: curved enough that every mistake shows."""
    rng = np.random.default_rng(2020)
    c = rng.uniform(0.5, 2.0, (3, 4))
    x = rng.normal(0.0, 1.5, (3, 4))
    return (lambda z: float(np.sum(c * z ** 3) + np.sum(np.sin(z)))), x, 3 * c * x ** 2 + np.cos(x)


def difference(f, x, h, how="centred"):
    """The difference quotient of f at x for every entry, done right ("centred") or as a known mistake."""
    x = x.copy()
    grad = np.zeros_like(x)
    f0 = f(x)
    if how == "all_at_once":
        return np.full_like(x, (f(x + h) - f(x - h)) / (2 * h))
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        if how != "not_restored":
            x[i] = old
        grad[i] = {"centred": (fp - fm) / (2 * h), "no_half": (fp - fm) / h, "forward": (fp - f0) / h,
                   "backward": (f0 - fm) / h}.get(how, (fp - fm) / (2 * h))
    return grad


def _h_verdict(value, f, x):
    """The mistake id of the h whose centred difference `value` equals (None if h is fine or nothing matches)."""
    for h in H_SIZES:
        if close(value, difference(f, x, h), np.float64):
            return "h_too_large" if h >= 1e-3 else "h_too_small" if h <= 1e-9 else None
    return None


def _judge_gradient(report, label, value, f, x, h, true_grad):
    if value is None:
        report.add("returned_none")
        return False
    value = np.asarray(value, dtype=np.float64)
    if value.shape != x.shape:
        report.lines.append(f"✗ {label}: gradient has shape {value.shape}, expected {x.shape}")
        report.add("shape_changed")
        return False
    err = float(np.max(np.abs(value - true_grad)) / np.max(np.abs(true_grad)))
    if close(value, difference(f, x, h), np.float64):
        report.lines.append(f"✓ {label} (error against the exact gradient {err:.0e})")
        return True
    report.lines.append(f"✗ {label}: error against the exact gradient {err:.0e}")
    variants = [("one_sided_difference", difference(f, x, h, "forward")),
                ("one_sided_difference", difference(f, x, h, "backward")),
                ("centred_missing_half", difference(f, x, h, "no_half")),
                ("perturbed_all_at_once", difference(f, x, h, "all_at_once")),
                ("perturbation_not_restored", difference(f, x, h, "not_restored"))]
    matched = [name for name, alt in variants if close(value, alt, np.float64)]
    size = _h_verdict(value, f, x)
    for mistake in matched + ([size] if size else []):
        report.add(mistake)
    if not matched and not size:
        report.add("unrecognized")
    return False


def _judge_rel_error(report, rel_error):
    """rel_error on equal, opposite, nearly equal, zero and rescaled gradients. True when all are right."""
    rng = np.random.default_rng(2021)
    a = rng.normal(size=(4, 5))
    tries = {"equal": (a, a.copy()), "opposite": (a, -a), "close": (a, a * (1 + 1e-6)),
             "scaled": (1e4 * a, 1e4 * a * (1 + 1e-6)), "zeros": (np.zeros(5), np.zeros(5))}
    got = {}
    for name, (u, v) in tries.items():
        value = call(rel_error, u.copy(), v.copy())
        if isinstance(value, Failure):
            report_failure(report, value, f"rel_error, {name} gradients")
            return False
        try:
            got[name] = float(value)
        except (TypeError, ValueError):
            report.add("returned_none" if value is None else "wrong_return")
            return False
    ok = True
    if not np.isfinite(got["zeros"]) or got["zeros"] > 1e-12:
        report.lines.append(f"✗ rel_error of two zero gradients: {got['zeros']}, expected 0")
        report.add("rel_error_no_guard")
        ok = False
    if not 1e-7 <= got["close"] <= 1e-5 or got["equal"] > 1e-12 or not 0.5 <= got["opposite"] <= 2.0:
        ok = False
        absolute = np.abs(got["scaled"] / max(got["close"], 1e-300) - 1e4) < 1e2
        report.lines.append(f"✗ rel_error: equal {got['equal']:.1e}, opposite {got['opposite']:.2g}, "
                            f"b = a * (1 + 1e-6): {got['close']:.1e}")
        report.add("rel_error_absolute" if absolute else "rel_error_wrong")
    elif not np.isclose(got["scaled"], got["close"], rtol=1e-3):
        ok = False
        report.add("rel_error_absolute")
    if ok:
        report.lines.append(f"✓ rel_error (equal {got['equal']:.0e}, nearly equal {got['close']:.1e}, "
                            f"opposite {got['opposite']:.2g}, zeros {got['zeros']:.0e})")
    return ok


def check_gradient_check(numerical_gradient, rel_error):
    """Check `numerical_gradient(f, x, h=...) -> array of x's shape`, the centred-difference gradient of a scalar
    function f at x (x restored afterwards), and `rel_error(a, b) -> float`. When both are right, use them on
    batch norm's backward (random upstream gradient) and report the relative error."""
    report = Report("check_gradient_check")
    f, x, true_grad = _cubic_case()
    n_ok, n_cases = 0, 4
    for label, args in (("numerical_gradient(f, x, h=1e-5)", (1e-5,)), ("numerical_gradient(f, x), your default h",
                                                                         ())):
        x_arg = x.copy()
        value = call(numerical_gradient, f, x_arg, *args)
        if isinstance(value, Failure):
            report_failure(report, value, label)
            continue
        h = args[0] if args else _default_h(numerical_gradient)
        right = _judge_gradient(report, label, value, f, x, 1e-5 if h is None else h, true_grad)
        if not args and right and h is not None and (h >= 1e-3 or h <= 1e-9):
            report.add("h_too_large" if h >= 1e-3 else "h_too_small")
            right = False
        if not np.array_equal(x_arg, x):
            report.lines.append(f"✗ {label}: the caller's x was changed")
            report.add("perturbation_not_restored")
            right = False
        n_ok += right
    n_ok += _judge_rel_error(report, rel_error)
    if n_ok == 3 and not report.mistakes:
        n_ok += _judge_on_batchnorm(report, numerical_gradient, rel_error)
    return finish(report, n_cases, n_ok, "checks")


def _default_h(fn):
    """The default value of numerical_gradient's h parameter, or None."""
    import inspect

    try:
        p = inspect.signature(fn).parameters.get("h")
    except (TypeError, ValueError):
        return None
    return p.default if p is not None and isinstance(p.default, float) else None


def _library_backward(dout, x, gamma, eps=1e-5):
    """E3's signature over the library: (dx, dgamma, dbeta) of training-mode batch norm of x (N, D)."""
    return batchnorm_backward(dout, batchnorm_forward(x, gamma, np.zeros_like(gamma), eps)[1])


def on_batchnorm(numerical_gradient, rel_error, bn_backward=None):
    """Use the student's gradient check on a batch-norm backward (E3's signature, bn_backward(dout, x, gamma, eps);
    the library's when None): L = sum(dout * bn(x)) with a random dout on a (6, 4) batch. Returns
    {"dx": error, "dgamma": error, "dbeta": error} computed with the student's rel_error, or a Failure."""
    rng = np.random.default_rng(2022)
    x, gamma, beta = rng.normal(1.0, 2.0, (6, 4)), rng.uniform(0.5, 2.0, 4), rng.normal(size=4)
    dout = rng.normal(size=(6, 4))
    analytic = call(bn_backward or _library_backward, dout.copy(), x.copy(), gamma.copy(), 1e-5)
    if isinstance(analytic, Failure):
        return analytic
    base, errors = {"x": x, "gamma": gamma, "beta": beta}, {}
    for name, key, grad in zip(("dx", "dgamma", "dbeta"), ("x", "gamma", "beta"), analytic):
        def loss(z, key=key):
            args = dict(base, **{key: z})
            return float(np.sum(dout * batchnorm_forward(args["x"], args["gamma"], args["beta"])[0]))

        num = call(numerical_gradient, loss, base[key].copy())
        if isinstance(num, Failure):
            return num
        err = call(rel_error, np.asarray(grad, np.float64), np.asarray(num, np.float64))
        if isinstance(err, Failure):
            return err
        errors[name] = float(err)
    return errors


def _judge_on_batchnorm(report, numerical_gradient, rel_error):
    """The student's check applied to the library's batch-norm backward must agree to 1e-6."""
    errors = on_batchnorm(numerical_gradient, rel_error)
    if isinstance(errors, Failure):
        report_failure(report, errors, "on batch norm")
        return False
    text = ", ".join(f"{k} {v:.1e}" for k, v in errors.items())
    if not all(v < 1e-6 for v in errors.values()):
        report.lines.append(f"✗ on batch norm's backward: relative errors {text}")
        report.add("unrecognized")
        return False
    report.lines.append(f"✓ on batch norm's backward (random dout): relative errors {text}")
    return True
