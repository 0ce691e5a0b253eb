"""E2: running statistics and eval mode. `check_running_stats(bn_forward_full)` and its mistakes."""
import numpy as np

from ..layers import batchnorm_eval_forward, batchnorm_forward, channel_axes, running_stats_update
from .e1_forward import affine, forward_variants, normalize
from .report import as_array, check_cases, close, diagnose, explain, register

RUNNING_MISTAKES = register({
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
    "running_from_output": ("running statistics updated with the statistics of the normalized output",
                            "The running statistics track BN's *input*: update them with the batch mean and "
                            "variance of x, not of out (whose mean is beta and variance gamma^2)."),
    "running_var_std": ("running_var updated with the standard deviation",
                        "running_var stores a variance: blend in var * m / (m - 1), not its square root."),
    "eval_output_wrong": ("the eval-mode output is wrong",
                          "out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta."),
})


def _running_update(mean, var, running_mean, running_var, momentum, m, how="right"):
    """The new (running_mean, running_var) after one training batch of m values per channel: the layer's own
    update (`running_stats_update`), or what a wrong one stores: "inverted" momentum, "replaced" by the batch,
    "biased" batch variance stored."""
    if how == "biased":  # the update that stores var itself instead of var * m / (m - 1)
        var = var * (m - 1) / m
    momentum = {"inverted": 1.0 - momentum, "replaced": 1.0}.get(how, momentum)
    return running_stats_update(running_mean, running_var, mean, var, m, momentum)


EPS = 1e-5


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
    cases = []
    for label, mode, x, gamma, beta, run_mean, run_var, momentum in _running_cases():
        bn_param = {"mode": mode, "eps": EPS, "momentum": momentum,
                    "running_mean": run_mean.copy(), "running_var": run_var.copy()}
        cases.append((label, (x, gamma, beta), (bn_param,), (bn_param, x, gamma, beta, run_mean, run_var)))
    return check_cases("check_running_stats", bn_forward_full, cases, _judge_running)


def _judge_output(report, label, out, reference, variants, x, fallback):
    """Compare out with the reference and with each mistake's output; report what went wrong, naming `fallback`
    instead of "unrecognized" when no known mistake matches. True when out is right."""
    verdict = diagnose(out, reference, variants, x.dtype)
    if verdict == "ok":
        return True
    explain(report, "out", out, reference, verdict, label, x.shape)
    if "unrecognized" in report.mistakes:
        report.mistakes.remove("unrecognized")
        report.add(fallback)
    return False


def _judge_running(report, label, value, bn_param, x, gamma, beta, run_mean, run_var):
    mode, momentum, eps = bn_param["mode"], bn_param["momentum"], EPS
    out = as_array(value, "out", x.shape, x.dtype, report, label)
    new_mean = as_array(bn_param.get("running_mean"), "bn_param['running_mean']", run_mean.shape,
                        np.float64, report, label)
    new_var = as_array(bn_param.get("running_var"), "bn_param['running_var']", run_var.shape,
                       np.float64, report, label)
    if out is None or new_mean is None or new_var is None:
        return False
    axes = channel_axes(x.ndim)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    m = x.size // x.shape[1]
    if mode == "eval":
        reference = _eval_output(x, gamma, beta, run_mean, run_var, eps)
        variants = [("eval_uses_batch_stats", batchnorm_forward(x, gamma, beta, eps)[0]),
                    ("eps_missing", _eval_output(x, gamma, beta, run_mean, run_var, 0.0)),
                    ("missing_sqrt", _eval_output(x, gamma, beta, run_mean, (run_var + eps) ** 2 - eps, eps)),
                    ("eval_uses_batch_stats", affine(normalize(x, axes, eps=eps), gamma, beta))]
        right = _judge_output(report, label, out, reference, variants, x, "eval_output_wrong")
        if not (close(new_mean, run_mean) and close(new_var, run_var)):
            right = False
            report.add("running_updated_in_eval")
        return right
    reference, _ = batchnorm_forward(x, gamma, beta, eps)
    exp_mean, exp_var = _running_update(mean, var, run_mean, run_var, momentum, m)
    stale = [("train_uses_running_stats", _eval_output(x, gamma, beta, run_mean, run_var, eps)),
             ("train_uses_running_stats", _eval_output(x, gamma, beta, exp_mean, exp_var, eps))]
    right = _judge_output(report, label, out, reference, stale + forward_variants(x, gamma, beta, eps), x,
                          "training_output_wrong")
    n = x.shape[0]
    inv_mean, inv_var = _running_update(mean, var, run_mean, run_var, momentum, m, "inverted")
    rep_mean, rep_var = _running_update(mean, var, run_mean, run_var, momentum, m, "replaced")
    out_axes = channel_axes(x.ndim)
    out_mean, out_var = reference.mean(axis=out_axes), reference.var(axis=out_axes)
    from_out = [_running_update(out_mean, out_var, run_mean, run_var, momentum, m, how) for how in ("right",
                                                                                                  "biased")]
    mean_variants = [("running_not_updated", run_mean), ("momentum_inverted", inv_mean),
                     ("running_replaced", rep_mean), ("running_from_output", from_out[0][0])]
    var_variants = [("running_not_updated", run_var), ("momentum_inverted", inv_var),
                    ("running_replaced", rep_var),
                    ("running_var_biased", _running_update(mean, var, run_mean, run_var, momentum, m, "biased")[1]),
                    ("running_from_output", from_out[0][1]), ("running_from_output", from_out[1][1]),
                    ("running_var_std", _running_update(mean, np.sqrt(var), run_mean, run_var, momentum, m)[1]),
                    ("running_var_std", _running_update(mean, np.sqrt(var * m / (m - 1)) * (m - 1) / m, run_mean,
                                                        run_var, momentum, m)[1])]
    if x.ndim > 2:
        var_variants.append(("running_var_unbiased_over_n",  # the factor of an (N, D) input
                             _running_update(mean, var, run_mean, run_var, momentum, n)[1]))
    for name, got, expected, variants in (("running_mean", new_mean, exp_mean, mean_variants),
                                          ("running_var", new_var, exp_var, var_variants)):
        verdict = diagnose(got, expected, variants, np.float64)
        if verdict != "ok":
            right = False
            report.lines.append(f"✗ {label}: bn_param['{name}'] is wrong")
            explain(report, name, got, expected, verdict, label, expected.shape)
    return right
