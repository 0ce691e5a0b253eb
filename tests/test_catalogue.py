"""A second catalogue test: realistic wrong implementations written the way students err (operation order,
missing terms, missing factors, aliasing), independently of tests/test_checks.py's one-bug-per-entry builders.
Each must get its fitting named diagnosis and never only "the numbers differ"; correct code written differently
(loops, einsum, a staged graph, np.var, in-place updates) must pass with no false alarm."""
import numpy as np
import pytest

from bn_teach import batchnorm_backward, batchnorm_forward
from bn_teach.exercises import (check_backward, check_fold, check_forward, check_gradient_check,
                                check_running_stats, check_train_step)


def ax(x):
    return (0,) if x.ndim == 2 else (0, 2, 3)


def sh(x):
    return (1, -1) + (1,) * (x.ndim - 2)


# ---- E1
def f_precedence(x, gamma, beta, eps=1e-5):      # missing parentheses: x - (mean / std)
    mean = x.mean(axis=ax(x), keepdims=True); var = x.var(axis=ax(x), keepdims=True)
    return gamma.reshape(sh(x)) * (x - mean / np.sqrt(var + eps)) + beta.reshape(sh(x))
def f_eps_on_xhat(x, gamma, beta, eps=1e-5):     # eps added after dividing
    mean = x.mean(axis=ax(x), keepdims=True); var = x.var(axis=ax(x), keepdims=True)
    xhat = (x - mean) / np.sqrt(var) + eps
    return gamma.reshape(sh(x)) * xhat + beta.reshape(sh(x))
def f_cancellation(x, gamma, beta, eps=1e-5):    # E[x^2] - E[x]^2
    mean = x.mean(axis=ax(x), keepdims=True); var = (x * x).mean(axis=ax(x), keepdims=True) - mean ** 2
    return gamma.reshape(sh(x)) * (x - mean) / np.sqrt(var + eps) + beta.reshape(sh(x))
def f_affine_first(x, gamma, beta, eps=1e-5):    # affine, then normalize
    y = gamma.reshape(sh(x)) * x + beta.reshape(sh(x))
    mean = y.mean(axis=ax(x), keepdims=True); var = y.var(axis=ax(x), keepdims=True)
    return (y - mean) / np.sqrt(var + eps)
def f_not_centred(x, gamma, beta, eps=1e-5):     # forgot to subtract the mean
    var = x.var(axis=ax(x), keepdims=True)
    return gamma.reshape(sh(x)) * x / np.sqrt(var + eps) + beta.reshape(sh(x))
def f_std_of_centred_sq(x, gamma, beta, eps=1e-5):   # var = mean((x-mean))**2 (square outside)
    mean = x.mean(axis=ax(x), keepdims=True); var = ((x - mean).mean(axis=ax(x), keepdims=True)) ** 2
    return gamma.reshape(sh(x)) * (x - mean) / np.sqrt(var + eps) + beta.reshape(sh(x))
def f_beta_scaled(x, gamma, beta, eps=1e-5):     # gamma * (xhat + beta)
    mean = x.mean(axis=ax(x), keepdims=True); var = x.var(axis=ax(x), keepdims=True)
    return gamma.reshape(sh(x)) * ((x - mean) / np.sqrt(var + eps) + beta.reshape(sh(x)))

# ---- E2
def _full(how):
    def bn_forward_full(x, gamma, beta, bn_param):
        eps, mom = bn_param["eps"], bn_param["momentum"]
        a = ax(x); m = x.size // x.shape[1]
        if bn_param["mode"] == "train":
            mean, var = x.mean(axis=a), x.var(axis=a)
            xhat = (x - mean.reshape(sh(x))) / np.sqrt(var.reshape(sh(x)) + eps)
            out = gamma.reshape(sh(x)) * xhat + beta.reshape(sh(x))
            if how == "from_output":
                um, uv = out.mean(axis=a), out.var(axis=a)
            elif how == "std":
                um, uv = mean, np.sqrt(var) * m / (m - 1)
            elif how == "before_normalizing":  # running stats updated first, then used to normalize
                bn_param["running_mean"] = (1 - mom) * bn_param["running_mean"] + mom * mean
                bn_param["running_var"] = (1 - mom) * bn_param["running_var"] + mom * var * m / (m - 1)
                rm, rv = bn_param["running_mean"], bn_param["running_var"]
                return gamma.reshape(sh(x)) * (x - rm.reshape(sh(x))) / np.sqrt(rv.reshape(sh(x)) + eps) + beta.reshape(sh(x))
            else:
                um, uv = mean, var * m / (m - 1)
            if how == "momentum_on_var_only":
                bn_param["running_mean"] = mom * bn_param["running_mean"] + (1 - mom) * um
            else:
                bn_param["running_mean"] = (1 - mom) * bn_param["running_mean"] + mom * um
            bn_param["running_var"] = (1 - mom) * bn_param["running_var"] + mom * uv
            return out
        rm, rv = bn_param["running_mean"], bn_param["running_var"]
        if how == "eval_std_as_var":
            return gamma.reshape(sh(x)) * (x - rm.reshape(sh(x))) / (rv.reshape(sh(x)) + eps) + beta.reshape(sh(x))
        return gamma.reshape(sh(x)) * (x - rm.reshape(sh(x))) / np.sqrt(rv.reshape(sh(x)) + eps) + beta.reshape(sh(x))
    return bn_forward_full

# ---- E3
def _bwd(how):
    def bn_backward(dout, x, gamma, eps=1e-5):
        m = x.shape[0]
        mean = x.mean(axis=0); var = x.var(axis=0); inv = 1 / np.sqrt(var + eps)
        xhat = (x - mean) * inv
        dbeta = dout.sum(axis=0); dgamma = (dout * xhat).sum(axis=0)
        if how == "no_1_over_m":
            dx = gamma * inv * (m * dout - dbeta - xhat * dgamma)
        elif how == "x_for_xhat":
            dx = gamma * inv / m * (m * dout - dbeta - x * dgamma)
        elif how == "dvar_exponent":  # staged, with (var + eps) ** -0.5 in dvar
            dxhat = dout * gamma
            dvar = np.sum(dxhat * (x - mean), axis=0) * -0.5 * (var + eps) ** -0.5
            dmean = np.sum(-dxhat * inv, axis=0)
            dx = dxhat * inv + dvar * 2 * (x - mean) / m + dmean / m
        elif how == "dvar_no_half":  # staged, forgot the -1/2
            dxhat = dout * gamma
            dvar = -np.sum(dxhat * (x - mean), axis=0) * (var + eps) ** -1.5
            dmean = np.sum(-dxhat * inv, axis=0)
            dx = dxhat * inv + dvar * 2 * (x - mean) / m + dmean / m
        elif how == "dbeta_in_place":  # aliasing: dx built on dout in place
            dx = dout
            dx -= dbeta / m
            dx -= xhat * dgamma / m
            dx *= gamma * inv
        return dx, dgamma, dbeta
    return bn_backward

# ---- E4
def _step(how):
    def train_step(params, x, y, lr):
        n = x.shape[0]
        h = x @ params["W1"] + params["b1"]
        z, cache = batchnorm_forward(h, params["gamma"], params["beta"])
        a = np.maximum(z, 0)
        s = a @ params["W2"] + params["b2"]
        p = np.exp(s - s.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
        loss = -np.log(p[np.arange(n), y]).mean()
        ds = p.copy(); ds[np.arange(n), y] -= 1; ds /= n
        if how == "no_softmax_grad":
            ds = -np.eye(p.shape[1])[y] / n
        grads = {"W2": (z if how == "z_for_a" else a).T @ ds, "b2": ds.sum(0)}
        if how == "update_early":
            params["W2"] -= lr * grads["W2"]; params["b2"] -= lr * grads["b2"]
        dz = (ds @ params["W2"].T) * (1.0 if how == "no_relu_mask" else (z > 0))
        dh, grads["gamma"], grads["beta"] = batchnorm_backward(dz, cache)
        grads["W1"] = (x.T @ dh) if how != "w1_transposed" else (dh.T @ x).T
        grads["b1"] = dh.sum(0)
        for k, g in grads.items():
            if how == "update_early" and k in ("W2", "b2"):
                continue
            if how == "copy_not_inplace":
                p_ = params[k].copy(); p_ -= lr * g   # aliasing the other way: updates a copy
                continue
            params[k] -= lr * g
        return loss
    return train_step

STUDENT_BUGS = {  # what the student wrote: (its check, the diagnosis that fits)
    "x - mean / std (precedence)": (lambda: check_forward(f_precedence), "xhat_precedence"),
    "eps added to xhat": (lambda: check_forward(f_eps_on_xhat), "eps_added_to_xhat"),
    "var = E[x^2] - E[x]^2": (lambda: check_forward(f_cancellation), "variance_cancellation"),
    "gamma, beta applied before normalizing": (lambda: check_forward(f_affine_first), "affine_before_normalizing"),
    "mean not subtracted": (lambda: check_forward(f_not_centred), "mean_not_subtracted"),
    "square of the mean deviation": (lambda: check_forward(f_std_of_centred_sq), "variance_of_mean_deviation"),
    "gamma * (xhat + beta)": (lambda: check_forward(f_beta_scaled), "beta_scaled_by_gamma"),
    "running stats of the output": (lambda: check_running_stats(_full("from_output")), "running_from_output"),
    "running_var blended with the std": (lambda: check_running_stats(_full("std")), "running_var_std"),
    "running stats updated, then used": (lambda: check_running_stats(_full("before_normalizing")),
                                         "train_uses_running_stats"),
    "momentum inverted for the mean only": (lambda: check_running_stats(_full("momentum_on_var_only")),
                                            "momentum_inverted"),
    "eval divides by the variance": (lambda: check_running_stats(_full("eval_std_as_var")), "missing_sqrt"),
    "dx without 1/m": (lambda: check_backward(_bwd("no_1_over_m")), "backward_missing_1_over_m"),
    "dx with x for xhat": (lambda: check_backward(_bwd("x_for_xhat")), "backward_x_for_xhat"),
    "staged dvar with exponent -1/2": (lambda: check_backward(_bwd("dvar_exponent")), "backward_dvar_exponent"),
    "staged dvar without -1/2": (lambda: check_backward(_bwd("dvar_no_half")), "backward_dvar_factor"),
    "dx built in place on dout (aliasing)": (lambda: check_backward(_bwd("dbeta_in_place")), "input_modified"),
    "ReLU backward forgotten": (lambda: check_train_step(_step("no_relu_mask")), "relu_backward_missing"),
    "dW2 from z": (lambda: check_train_step(_step("z_for_a")), "dW2_uses_preactivation"),
    "W2 updated before backprop": (lambda: check_train_step(_step("update_early")), "updated_before_backprop"),
    "updates applied to copies (aliasing)": (lambda: check_train_step(_step("copy_not_inplace")),
                                             "params_unchanged"),
    "dscores = -onehot / N": (lambda: check_train_step(_step("no_softmax_grad")), "dscores_missing_probs"),
}


@pytest.mark.parametrize("name", sorted(STUDENT_BUGS))
def test_a_students_mistake_gets_its_named_diagnosis(name):
    run, expected = STUDENT_BUGS[name]
    report = run()
    assert not report.passed
    assert report.mistakes[0] == expected and "unrecognized" not in report.mistakes, report.text


# ---------------------------------------------------------------------------------------------------------------
# correct code, written differently: no false alarm


def forward_loops(x, gamma, beta, eps=1e-5):
    """One channel at a time, with Python sums."""
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        v = x[:, c]
        m = v.size
        mean = sum(v.ravel().tolist()) / m
        var = sum((t - mean) ** 2 for t in v.ravel().tolist()) / m
        out[:, c] = gamma[c] * (v - mean) / np.sqrt(var + eps) + beta[c]
    return out


def forward_einsum(x, gamma, beta, eps=1e-5):
    """Sums by einsum over every axis but the channel axis."""
    spec = "nc" if x.ndim == 2 else "nchw"
    m = x.size // x.shape[1]
    mean = np.einsum(f"{spec}->c", x) / m
    xc = x - mean.reshape(sh(x))
    var = np.einsum(f"{spec},{spec}->c", xc, xc) / m
    return xc * (gamma / np.sqrt(var + eps)).reshape(sh(x)) + beta.reshape(sh(x))


def forward_np_var(x, gamma, beta, eps=1e-5):
    """np.var with keepdims, gamma and beta reshaped to (C, 1, 1) (which also broadcasts right)."""
    a = ax(x)
    xhat = (x - x.mean(axis=a, keepdims=True)) / np.sqrt(np.var(x, axis=a, keepdims=True) + eps)
    shape = (-1,) + (1,) * (x.ndim - 2)
    return gamma.reshape(shape) * xhat + beta.reshape(shape)


def full_in_place(x, gamma, beta, bn_param):
    """Running statistics updated in place (no assignment back)."""
    a, mom = ax(x), bn_param["momentum"]
    if bn_param["mode"] == "train":
        mean, var = x.mean(axis=a), x.var(axis=a)
        m = x.size // x.shape[1]
        bn_param["running_mean"] *= 1 - mom
        bn_param["running_mean"] += mom * mean
        bn_param["running_var"] *= 1 - mom
        bn_param["running_var"] += mom * var * m / (m - 1)
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    xhat = (x - mean.reshape(sh(x))) / np.sqrt(var.reshape(sh(x)) + bn_param["eps"])
    return gamma.reshape(sh(x)) * xhat + beta.reshape(sh(x))


def backward_staged(dout, x, gamma, eps=1e-5):
    """The staged computational graph, CS231n style."""
    m = x.shape[0]
    mu = x.sum(axis=0) / m
    xmu = x - mu
    var = (xmu ** 2).sum(axis=0) / m
    sqrtvar = np.sqrt(var + eps)
    ivar = 1 / sqrtvar
    xhat = xmu * ivar
    dbeta, dgamma = dout.sum(axis=0), (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    divar = (dxhat * xmu).sum(axis=0)
    dxmu1 = dxhat * ivar
    dsqrtvar = -divar / sqrtvar ** 2
    dvar = 0.5 * dsqrtvar / sqrtvar
    dsq = np.ones_like(x) * dvar / m
    dxmu2 = 2 * xmu * dsq
    dx1 = dxmu1 + dxmu2
    dmu = -dx1.sum(axis=0)
    dx2 = np.ones_like(x) * dmu / m
    return dx1 + dx2, dgamma, dbeta


def backward_einsum(dout, x, gamma, eps=1e-5):
    """The compact form with einsum sums, in x's dtype."""
    m = x.shape[0]
    inv = (1 / np.sqrt(x.var(axis=0) + x.dtype.type(eps))).astype(x.dtype)
    xhat = (x - x.mean(axis=0)) * inv
    dbeta, dgamma = np.einsum("nd->d", dout), np.einsum("nd,nd->d", dout, xhat)
    return (gamma * inv / m) * (m * dout - dbeta - xhat * dgamma), dgamma, dbeta


def fold_loops(W, b, bn):
    """Column by column."""
    Wf, bf = W.copy(), np.empty_like(b)
    for j in range(W.shape[1]):
        s = bn.gamma[j] / np.sqrt(bn.running_var[j] + bn.eps)
        Wf[:, j] = W[:, j] * s
        bf[j] = s * (b[j] - bn.running_mean[j]) + bn.beta[j]
    return Wf, bf


def fold_einsum(W, b, bn):
    s = bn.gamma / np.sqrt(bn.running_var + bn.eps)
    return np.einsum("ij,j->ij", W, s), bn.beta + s * b - s * bn.running_mean


def numgrad_nditer(f, x, h=1e-5):
    """np.nditer with a copy per entry (x never changes)."""
    grad = np.zeros_like(x)
    for _ in (it := np.nditer(x, flags=["multi_index"])):
        i = it.multi_index
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        grad[i] = (f(xp) - f(xm)) / (2 * h)
    return grad


def rel_error_elementwise(a, b):
    """CS231n's element-wise form, guarded."""
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


CORRECT = {
    "forward: loops": lambda: check_forward(forward_loops),
    "forward: einsum": lambda: check_forward(forward_einsum),
    "forward: np.var, (C, 1, 1) parameters": lambda: check_forward(forward_np_var),
    "running stats: in place": lambda: check_running_stats(full_in_place),
    "backward: staged graph": lambda: check_backward(backward_staged),
    "backward: einsum": lambda: check_backward(backward_einsum),
    "train step: dW1 as (dh.T @ x).T": lambda: check_train_step(_step("w1_transposed")),
    "fold: loops": lambda: check_fold(fold_loops),
    "fold: einsum": lambda: check_fold(fold_einsum),
    "gradient check: nditer and copies, element-wise rel_error": lambda: check_gradient_check(
        numgrad_nditer, rel_error_elementwise),
}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_code_written_differently_passes(name):
    report = CORRECT[name]()
    assert report.passed and not report.mistakes, report.text
