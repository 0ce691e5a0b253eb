"""E1: training-mode forward. `check_forward(bn_forward)` and the forward mistakes it recognises."""
import numpy as np

from ..layers import batchnorm_forward, channel_axes, per_channel
from .report import as_array, check_cases, diagnose, explain, register

FORWARD_MISTAKES = register({
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
    "xhat_precedence": ("operator precedence: only the mean was divided by the standard deviation",
                        "`x - mean / np.sqrt(var + eps)` computes x - (mean / std). Parenthesize: "
                        "`(x - mean) / np.sqrt(var + eps)`."),
    "eps_added_to_xhat": ("eps added to the normalized value instead of the variance",
                          "`(x - mean) / np.sqrt(var) + eps` adds eps after dividing; it belongs under the square "
                          "root: `(x - mean) / np.sqrt(var + eps)`."),
    "mean_not_subtracted": ("the mean is not subtracted", "Centre first: xhat = (x - mean) / np.sqrt(var + eps)."),
    "variance_of_mean_deviation": ("variance computed as the square of the mean deviation",
                                   "`((x - mean).mean(axis)) ** 2` is always 0: square first, then average: "
                                   "`((x - mean) ** 2).mean(axis)`, or `x.var(axis)`."),
    "variance_cancellation": ("var = mean(x^2) - mean^2 loses the float32 digits",
                              "The formula is right in exact arithmetic, but when the mean is large compared with "
                              "the spread, the two terms cancel almost every float32 digit. Centre first: "
                              "`((x - mean) ** 2).mean(axis)` or `x.var(axis)`."),
    "affine_before_normalizing": ("gamma and beta applied before normalizing",
                                  "Normalizing afterwards undoes them. Normalize x first, then "
                                  "`out = gamma * xhat + beta`."),
    "beta_scaled_by_gamma": ("beta is multiplied by gamma", "`gamma * (xhat + beta)` scales the shift too: "
                             "`out = gamma * xhat + beta`."),
})


def normalize(x, axes, ddof=0, eps=1e-5, eps_mode="inside"):
    """(x - mean) / std over `axes` (keepdims), in float64, computed the right way or a wrong way."""
    x = x.astype(np.float64)
    xc = x - x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, ddof=ddof)
    with np.errstate(all="ignore"):  # "missing" divides a constant feature by 0, as that mistake does
        std = {"inside": np.sqrt(var + eps), "missing": np.sqrt(var), "outside": np.sqrt(var) + eps,
               "no_sqrt": var + eps}[eps_mode]
        return xc / std


def affine(xhat, gamma, beta, how="normal"):
    g, b = per_channel(np.asarray(gamma, np.float64), xhat.ndim), per_channel(np.asarray(beta, np.float64),
                                                                               xhat.ndim)
    return {"normal": lambda: g * xhat + b, "none": lambda: xhat, "swapped": lambda: b * xhat + g,
            "beta_scaled": lambda: g * (xhat + b)}[how]()


def _order_variants(x, gamma, beta, eps, axes):
    """Outputs of mistakes in the order of operations or in the variance formula, for statistics over `axes`."""
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axis=axes, keepdims=True), x64.var(axis=axes, keepdims=True)
    with np.errstate(all="ignore"):
        sq_mean = ((x64 - mean).mean(axis=axes, keepdims=True)) ** 2
        xm = x.mean(axis=axes, keepdims=True)  # in x's dtype: where the cancellation happens
        cancelled = ((x * x).mean(axis=axes, keepdims=True) - xm ** 2).astype(np.float64)
        out = [("xhat_precedence", affine(x64 - mean / np.sqrt(var + eps), gamma, beta)),
               ("eps_added_to_xhat", affine((x64 - mean) / np.sqrt(var) + eps, gamma, beta)),
               ("mean_not_subtracted", affine(x64 / np.sqrt(var + eps), gamma, beta)),
               ("variance_of_mean_deviation", affine((x64 - mean) / np.sqrt(sq_mean + eps), gamma, beta)),
               ("affine_before_normalizing", normalize(affine(x64, gamma, beta), axes, eps=eps)),
               ("beta_scaled_by_gamma", affine(normalize(x, axes, eps=eps), gamma, beta, "beta_scaled"))]
        if x.dtype == np.float32:
            out.append(("variance_cancellation", affine((x64 - mean) / np.sqrt(cancelled + eps), gamma, beta)))
    return out


def forward_variants(x, gamma, beta, eps):
    """(mistake id, the output that mistake produces) for every forward mistake the checker knows."""
    bn_axes = channel_axes(x.ndim)
    everything = tuple(range(x.ndim))
    out = [
        ("unbiased_variance", affine(normalize(x, bn_axes, ddof=1, eps=eps), gamma, beta)),
        ("eps_missing", affine(normalize(x, bn_axes, eps=eps, eps_mode="missing"), gamma, beta)),
        ("eps_outside_sqrt", affine(normalize(x, bn_axes, eps=eps, eps_mode="outside"), gamma, beta)),
        ("missing_sqrt", affine(normalize(x, bn_axes, eps=eps, eps_mode="no_sqrt"), gamma, beta)),
        ("stats_over_features", affine(normalize(x, (1,), eps=eps), gamma, beta)),
        ("stats_over_all", affine(normalize(x, everything, eps=eps), gamma, beta)),
        ("gamma_beta_not_applied", affine(normalize(x, bn_axes, eps=eps), gamma, beta, "none")),
        ("gamma_beta_swapped", affine(normalize(x, bn_axes, eps=eps), gamma, beta, "swapped")),
    ]
    out += _order_variants(x, gamma, beta, eps, bn_axes)
    if x.ndim == 4:
        out += [
            ("stats_over_features", affine(normalize(x, (1, 2, 3), eps=eps), gamma, beta)),
            ("stats_batch_axis_only", affine(normalize(x, (0,), eps=eps), gamma, beta)),
            ("stats_spatial_only", affine(normalize(x, (2, 3), eps=eps), gamma, beta)),
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
    cases = [(label, (x, gamma, beta), (eps,), (x, gamma, beta, eps))
             for label, x, gamma, beta, eps in _forward_cases()]
    return check_cases("check_forward", bn_forward, cases, _judge_forward)


def _judge_forward(report, label, value, x, gamma, beta, eps):
    out = as_array(value, "out", x.shape, x.dtype, report, label)
    if out is None:
        return False
    reference, _ = batchnorm_forward(x, gamma, beta, eps)
    verdict = diagnose(out, reference, forward_variants(x, gamma, beta, eps), x.dtype)
    if verdict != "ok":
        explain(report, "out", out, reference, verdict, label, x.shape)
    return verdict == "ok" and out.dtype == x.dtype
