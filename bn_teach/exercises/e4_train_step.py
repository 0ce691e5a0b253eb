"""E4: BatchNorm inside a two-layer network's training step. `check_train_step(train_step)` and its mistakes."""
import numpy as np

from ..digits import load_digits_split
from ..layers import batchnorm_backward, batchnorm_eval_forward, batchnorm_forward, running_stats_update
from ..network import softmax_cross_entropy
from .report import Failure, Report, as_array, call, close, diagnose, finish, register, report_failure

TRAIN_STEP_MISTAKES = register({
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
    "relu_backward_missing": ("the gradient passes the ReLU unmasked",
                              "ReLU's derivative is 0 where its input was negative: `dz = da * (z > 0)`."),
    "dW2_uses_preactivation": ("dW2 uses the pre-activation z instead of the ReLU output a",
                               "scores = a @ W2 + b2, so dW2 = a.T @ dscores with a = np.maximum(z, 0)."),
    "updated_before_backprop": ("W2 was updated before the gradient flowed through it",
                                "Compute every gradient first (dz uses the *old* W2: dz = dscores @ W2.T ...), "
                                "then update all parameters."),
    "dscores_missing_probs": ("dscores misses the softmax probabilities",
                              "d loss / d scores = (softmax(scores) - onehot(y)) / N, not -onehot(y) / N."),
    "params_unchanged": ("no parameter changed: the updates went to copies",
                         "`p = params[name]; p = p - lr * g` (or an update of `params[name].copy()`) leaves the "
                         "array in params alone. Update in place, `params[name] -= lr * g`, or assign back."),
    "gradient_wrong": ("a gradient is wrong", "The first wrong parameter, going backward from the loss, "
                       "shows where the error enters."),
})


PARAM_NAMES = ("W1", "b1", "gamma", "beta", "W2", "b2")
GRADIENT_MISTAKES = ("relu_backward_missing", "dW2_uses_preactivation", "updated_before_backprop",
                     "dscores_missing_probs")


def init_two_layer(in_features, hidden, classes, seed=0):
    """Parameters of x -> Linear -> BatchNorm -> ReLU -> Linear (He-initialised weights, gamma 1, beta 0)."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0.0, np.sqrt(2.0 / in_features), (in_features, hidden)), "b1": np.zeros(hidden),
            "gamma": np.ones(hidden), "beta": np.zeros(hidden),
            "W2": rng.normal(0.0, np.sqrt(2.0 / hidden), (hidden, classes)), "b2": np.zeros(classes)}


def _two_layer_grads(params, x, y, bn_backward_fn=batchnorm_backward, mistake=None, lr=0.0):
    """Mean softmax cross-entropy of the two-layer BN network and the gradient of every parameter; with
    `mistake`, the gradients that mistake computes ("relu_backward_missing", "dW2_uses_preactivation",
    "updated_before_backprop" (W2 already moved by lr * dW2 when dz is computed), "dscores_missing_probs")."""
    h = x @ params["W1"] + params["b1"]
    z, cache = batchnorm_forward(h, params["gamma"], params["beta"])
    a = np.maximum(z, 0.0)
    loss, dscores = softmax_cross_entropy(a @ params["W2"] + params["b2"], y)
    if mistake == "dscores_missing_probs":
        dscores = -np.eye(dscores.shape[1])[y] / len(y)
    dw2 = (z if mistake == "dW2_uses_preactivation" else a).T @ dscores
    w2 = params["W2"] - lr * dw2 if mistake == "updated_before_backprop" else params["W2"]
    dz = (dscores @ w2.T) * (1.0 if mistake == "relu_backward_missing" else (z > 0))
    dh, dgamma, dbeta = bn_backward_fn(dz, cache)
    grads = {"W2": dw2, "b2": dscores.sum(axis=0), "gamma": dgamma, "beta": dbeta,
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


def _train_with(step, steps=150, batch=64, lr=0.2, seed=0, momentum=0.1):
    """Train the two-layer network on the digits with `step`, and return its eval-mode test accuracy.

    `step(params, x, y, lr)` keeps no running statistics, so this loop keeps them for it, as a BatchNorm layer in
    training mode would: before every step, the batch mean and biased variance of h = x @ W1 + b1 (what the step
    normalizes with) update running_mean and running_var (`running_stats_update`, PyTorch's momentum 0.1, the
    unbiased variance stored). The test set is then normalized with those running statistics (eval mode), so no
    test image's prediction depends on the others.
    """
    x_tr, y_tr, x_te, y_te = load_digits_split()
    params = init_two_layer(64, 32, 10, seed=seed)
    running_mean, running_var = np.zeros(32), np.ones(32)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        idx = rng.choice(len(x_tr), batch, replace=False)
        h = x_tr[idx] @ params["W1"] + params["b1"]
        running_mean, running_var = running_stats_update(running_mean, running_var, h.mean(axis=0), h.var(axis=0),
                                                         batch, momentum)
        step(params, x_tr[idx], y_tr[idx], lr)
    h = x_te @ params["W1"] + params["b1"]
    z = batchnorm_eval_forward(h, params["gamma"], params["beta"], running_mean, running_var)
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
    value = call(train_step, student_params, x.copy(), y.copy(), lr)
    if isinstance(value, Failure):
        report_failure(report, value, "one step")
        return finish(report, len(PARAM_NAMES), 0, "parameter updates")
    ref_loss, grads = _two_layer_grads(before, x, y)
    _, simple_grads = _two_layer_grads(before, x, y, _simplified_bn_backward)
    wrong_grads = {m: _two_layer_grads(before, x, y, mistake=m, lr=lr)[1] for m in GRADIENT_MISTAKES}
    n = x.shape[0]
    try:
        loss = float(value)
    except (TypeError, ValueError):
        report.lines.append(f"✗ returned {type(value).__name__}, expected the loss as a number")
        report.add("returned_none" if value is None else "wrong_return")
        loss = None
    if loss is not None:
        if close(loss, ref_loss):
            report.lines.append(f"✓ loss {loss:.4f}")
        elif close(loss, n * ref_loss):
            report.add("loss_not_averaged")
        else:
            report.lines.append(f"✗ loss {loss:.4f}, expected {ref_loss:.4f}")
            report.add("loss_wrong")
    not_updated, n_ok = [], 0
    for name in reversed(PARAM_NAMES):  # backward order: the first wrong one is where the error enters
        got = as_array(student_params.get(name), f"params['{name}']", before[name].shape, np.float64, report,
                        "after the step")
        if got is None:
            continue
        step = got - before[name]
        expected = -lr * grads[name]
        if np.abs(expected).max() < 1e-12:
            ok = np.abs(step).max() < 1e-9
            note = " (its gradient is 0: BN subtracts the batch mean, so a bias before BN has no effect)"
        else:
            ok, note = close(step, expected), ""
        if ok:
            n_ok += 1
            report.lines.append(f"✓ {name} updated{note}")
            continue
        variants = [("param_not_updated", np.zeros_like(step)), ("gradient_ascent", lr * grads[name]),
                    ("loss_not_averaged", -lr * n * grads[name]),
                    ("backward_no_mean_var_terms", -lr * simple_grads[name])]
        variants += [(m, -lr * g[name]) for m, g in wrong_grads.items()]
        verdict = diagnose(step, expected, variants, np.float64)
        report.lines.append(f"✗ {name} update wrong")
        if verdict == ["param_not_updated"]:
            not_updated.append(name)
        elif verdict:
            for mistake in verdict:
                report.add(mistake)
        else:
            report.add("gradient_wrong")
    if len(not_updated) == len(PARAM_NAMES) - 1:  # all but b1, whose step is 0 anyway
        report.add("params_unchanged")
    elif not_updated:
        both = {"gamma", "beta"} & set(not_updated)
        if both:
            report.add("gamma_beta_not_learned")
        if set(not_updated) - both:
            report.add("param_not_updated")
    if n_ok == len(PARAM_NAMES) and not report.mistakes:
        ours = call(_train_with, train_step)
        if isinstance(ours, Failure):
            report_failure(report, ours, "training on the digits")
        else:
            ref = _train_with(reference_train_step)
            report.footer = (f"\nTrained 150 steps on the digits with your train_step: test accuracy {ours:.1%} "
                             f"(reference implementation: {ref:.1%}), in eval mode with running statistics "
                             "the checker kept during training.")
    return finish(report, len(PARAM_NAMES), n_ok, "parameter updates")
