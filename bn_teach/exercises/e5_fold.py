"""E5: fold an eval-mode BatchNorm into the Linear layer before it. `check_fold(fold_bn)` and its mistakes."""
import numpy as np

from ..layers import BatchNorm, fold_batchnorm
from .report import Failure, as_array, call, check_cases, diagnose, explain, is_tuple_of, register

FOLD_MISTAKES = register({
    "fold_eps_missing": ("eps is missing from the folded scale",
                         "Eval mode divides by `np.sqrt(running_var + eps)`; the folded layer must too, or a feature "
                         "with a small running variance is scaled far too much."),
    "fold_eps_outside_sqrt": ("eps added outside the square root", "s = gamma / np.sqrt(running_var + eps)."),
    "fold_var_not_sqrt": ("divided by the variance instead of the standard deviation",
                          "s = gamma / np.sqrt(running_var + eps): the square root of the variance."),
    "fold_batch_stats": ("folded with the last batch's statistics instead of the running ones",
                         "Inference uses eval mode: `bn.running_mean` and `bn.running_var`, not `bn.batch_stats` "
                         "(what the last training batch happened to contain)."),
    "fold_beta_dropped": ("beta is missing from the folded bias", "b' = s * (b - running_mean) + beta."),
    "fold_old_bias_dropped": ("the old bias b is missing from the folded bias",
                              "The Linear layer adds b before BN sees its output: b' = s * (b - running_mean) + beta."),
    "fold_bias_not_scaled": ("the folded bias is not scaled by s",
                             "BN scales everything it receives, the bias and the mean included: "
                             "b' = s * (b - running_mean) + beta, not (b - running_mean) + beta."),
    "fold_mean_not_scaled": ("the running mean is subtracted after scaling",
                             "The mean is subtracted before BN scales: s * (b - running_mean), not s * b - running_mean."),
    "fold_mean_sign": ("the running mean is added instead of subtracted", "BN computes h - running_mean."),
    "fold_gamma_missing": ("gamma is missing from the folded scale", "s = gamma / np.sqrt(running_var + eps)."),
    "fold_wrong_axis": ("W scaled along the wrong axis: its rows (inputs) instead of its columns (outputs)",
                        "Our Linear computes x @ W with W of shape (in_features, out_features): output feature j is "
                        "column j, so `W * s` (s broadcasts over the columns), not `W * s[:, None]`. (PyTorch stores "
                        "the transpose, (out, in), where rows are right.)"),
    "fold_w_not_scaled": ("W is not scaled", "Every column j of W is multiplied by s[j] = gamma[j] / sqrt(...)."),
})


def _trained_bn(features, seed, eps, small_var=False):
    """A BatchNorm layer after a few training batches (so its running statistics are not 0 and 1 and differ from
    its last batch's), with gamma and beta away from 1 and 0."""
    rng = np.random.default_rng(seed)
    bn = BatchNorm(features, eps=eps, momentum=0.3)
    loc, scale = rng.normal(0.0, 3.0, features), rng.uniform(0.5, 3.0, features)
    if small_var:
        scale[0] = 0.01  # eps is not negligible for this feature
    for _ in range(4):
        bn.forward(loc + scale * rng.standard_normal((8, features)))
    bn.gamma, bn.beta = rng.uniform(0.5, 2.0, features), rng.normal(0.0, 1.0, features)
    return bn.eval()


def _fold_cases():
    """(label, W, b, bn): a rectangular layer, a square one (the wrong axis then gives numbers, not an error), and
    one with a large eps and a feature of tiny variance (where eps mistakes show)."""
    rng = np.random.default_rng(2019)
    return [
        ("Linear(6, 4), eps = 1e-5", rng.normal(size=(6, 4)), rng.normal(size=4), _trained_bn(4, 1, 1e-5)),
        ("Linear(5, 5), eps = 1e-5", rng.normal(size=(5, 5)), rng.normal(size=5), _trained_bn(5, 2, 1e-5)),
        ("Linear(3, 4), eps = 0.1, a feature of tiny variance", rng.normal(size=(3, 4)), rng.normal(size=4),
         _trained_bn(4, 3, 0.1, small_var=True)),
    ]


def fold_variants(w, b, bn):
    """Reference (W', b') and, for each, the (mistake id, value) pairs of the mistakes the checker knows."""
    g, beta, mean, var, eps = bn.gamma, bn.beta, bn.running_mean, bn.running_var, bn.eps
    s = g / np.sqrt(var + eps)
    ref_w, ref_b = fold_batchnorm(w, b, g, beta, mean, var, eps)
    batch_mean, batch_var = bn.batch_stats
    scales = {"fold_eps_missing": g / np.sqrt(var), "fold_eps_outside_sqrt": g / (np.sqrt(var) + eps),
              "fold_var_not_sqrt": g / (var + eps), "fold_gamma_missing": 1.0 / np.sqrt(var + eps)}
    w_variants = [(name, w * sv) for name, sv in scales.items()]
    w_variants += [("fold_batch_stats", w * (g / np.sqrt(batch_var + eps))), ("fold_w_not_scaled", w)]
    if w.shape[0] == w.shape[1]:
        w_variants.append(("fold_wrong_axis", w * s[:, None]))
    b_variants = [(name, sv * (b - mean) + beta) for name, sv in scales.items()]
    b_variants += [
        ("fold_batch_stats", g / np.sqrt(batch_var + eps) * (b - batch_mean) + beta),
        ("fold_batch_stats", s * (b - batch_mean) + beta),
        ("fold_beta_dropped", s * (b - mean)),
        ("fold_old_bias_dropped", beta - s * mean),
        ("fold_bias_not_scaled", b - mean + beta),
        ("fold_mean_not_scaled", s * b - mean + beta),
        ("fold_mean_sign", s * (b + mean) + beta),
    ]
    return (ref_w, w_variants), (ref_b, b_variants)


def check_fold(fold_bn):
    """Check `fold_bn(W, b, bn) -> (W_folded, b_folded)`: W (in_features, out_features) and b (out_features,) of a
    Linear layer, bn an eval-mode `bn_teach.BatchNorm` after it; x @ W_folded + b_folded must equal
    bn(x @ W + b) for every x."""
    cases = [(label, (w, b), (bn,), (w, b, bn)) for label, w, b, bn in _fold_cases()]
    report = check_cases("check_fold", _guard_bn(fold_bn), cases, _judge_fold)
    if "raised" in report.mistakes and any("could not be broadcast" in line for line in report.lines):
        report.mistakes[report.mistakes.index("raised")] = "fold_wrong_axis"  # s (out,) against W's rows (in,)
        report.mistakes = list(dict.fromkeys(report.mistakes))
    return report


def _guard_bn(fold_bn):
    """fold_bn on a copy of the layer's state: a student's function may not change the BatchNorm layer."""
    def run(w, b, bn):
        saved = [getattr(bn, k).copy() for k in ("gamma", "beta", "running_mean", "running_var")]
        cache = bn._cache  # the last training batch's statistics (bn.batch_stats), even if fold_bn runs bn
        try:
            return fold_bn(w, b, bn)
        finally:
            bn.gamma, bn.beta, bn.running_mean, bn.running_var = saved
            bn._cache = cache
            bn.eval()
    return run


def _judge_fold(report, label, value, w, b, bn):
    if not is_tuple_of(value, ("W_folded", "b_folded"), report, label):
        return False
    right = True
    for name, got, (ref, variants) in zip(("W_folded", "b_folded"), value, fold_variants(w, b, bn)):
        got = as_array(got, name, ref.shape, w.dtype, report, label)
        if got is None:
            right = False
            continue
        if got.shape != ref.shape and name == "W_folded" and got.shape == w.T.shape:
            report.add("fold_wrong_axis")
            right = False
            continue
        verdict = diagnose(got, ref, variants, w.dtype)
        if verdict != "ok":
            right = False
            explain(report, name, got, ref, verdict, label, ref.shape)
    return right


def folded_agree(fold_bn, x):
    """Largest |x @ W_folded + b_folded - bn(x @ W + b)| on the first reference case (what the notebook prints),
    or None if fold_bn raised."""
    _, w, b, bn = _fold_cases()[0]
    value = call(_guard_bn(fold_bn), w.copy(), b.copy(), bn)
    if isinstance(value, Failure) or not isinstance(value, (tuple, list)):
        return None
    return float(np.abs(x @ value[0] + value[1] - bn.forward(x @ w + b)).max())
