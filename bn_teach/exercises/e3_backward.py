"""E3: backward. `check_backward(bn_backward)` and the backward mistakes it recognises."""
import numpy as np

from ..layers import batchnorm_backward, batchnorm_forward
from .report import as_array, check_cases, diagnose, explain, is_tuple_of, register

BACKWARD_MISTAKES = register({
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
    "backward_missing_1_over_m": ("dx is m times too large: the factor 1/m is missing",
                                  "The mean and the variance average over m values, so their gradients carry 1/m: "
                                  "dx = gamma * inv_std / m * (m * dout - sum(dout) - xhat * sum(dout * xhat))."),
    "backward_x_for_xhat": ("dx uses x where the formula has xhat",
                            "The term through the variance is xhat * sum(dout * xhat), with the normalized xhat."),
    "backward_dvar_exponent": ("dvar uses the exponent -1/2 instead of -3/2",
                               "d/dvar (var + eps)^(-1/2) = -1/2 (var + eps)^(-3/2): "
                               "dvar = sum(dxhat * (x - mean)) * -0.5 * (var + eps) ** -1.5."),
    "backward_dvar_factor": ("dvar misses the factor -1/2",
                             "d/dvar (var + eps)^(-1/2) = -1/2 (var + eps)^(-3/2): keep the -0.5."),
})


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
        ("backward_missing_1_over_m", m * dx),
        ("backward_x_for_xhat", g * inv_std / m * (m * d - dbeta - x64 * dgamma)),
        ("backward_dvar_exponent", _staged_dx(d, x64, g, eps, dvar_power=-0.5)),
        ("backward_dvar_factor", _staged_dx(d, x64, g, eps, dvar_factor=-1.0)),
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


def _staged_dx(d, x, g, eps, dvar_power=-1.5, dvar_factor=-0.5):
    """dx by the staged graph (dxhat, dvar, dmean, dx), with the power and factor of dvar as given (the right
    ones are -3/2 and -1/2)."""
    m = x.shape[0]
    xc, var = x - x.mean(axis=0), x.var(axis=0)
    inv_std = 1.0 / np.sqrt(var + eps)
    dxhat = d * g
    dvar = np.sum(dxhat * xc, axis=0) * dvar_factor * (var + eps) ** dvar_power
    dmean = -np.sum(dxhat * inv_std, axis=0) + dvar * -2.0 * xc.mean(axis=0)
    return dxhat * inv_std + dvar * 2.0 * xc / m + dmean / m


def _backward_reference(dout, x, gamma, eps):
    _, cache = batchnorm_forward(x.astype(np.float64), np.asarray(gamma, np.float64), np.zeros(x.shape[1]), eps)
    return batchnorm_backward(dout.astype(np.float64), cache)


def check_backward(bn_backward):
    """Check `bn_backward(dout, x, gamma, eps) -> (dx, dgamma, dbeta)` for training-mode batch norm of (N, D) x."""
    cases = [(label, (dout, x, gamma), (eps,), (dout, x, gamma, eps))
             for label, dout, x, gamma, eps in _backward_cases()]
    return check_cases("check_backward", bn_backward, cases, _judge_backward)


def _judge_backward(report, label, value, dout, x, gamma, eps):
    if not is_tuple_of(value, ("dx", "dgamma", "dbeta"), report, label):
        return False
    reference = _backward_reference(dout, x, gamma, eps)
    variants = _backward_variants(dout, x, gamma, eps)
    right = True
    for name, got, ref, (_, alts) in zip(("dx", "dgamma", "dbeta"), value, reference, variants):
        shape = ref.shape
        got = as_array(got, name, shape, x.dtype, report, label)
        if got is None:
            right = False
            continue
        verdict = diagnose(got, ref, alts, x.dtype)
        if verdict != "ok":
            right = False
            explain(report, name, got, ref, verdict, label, shape)
        elif got.dtype != x.dtype:
            right = False
    return right
