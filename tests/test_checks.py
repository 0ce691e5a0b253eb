"""The exercise checkers: each named mistake, made on purpose, is named by the checker; correct code passes."""
from pathlib import Path

import numpy as np
import pytest

from bn_teach import batchnorm_backward, batchnorm_forward
from bn_teach.exercises import (MISTAKES, check_backward, check_fold, check_forward, check_gradient_check,
                                check_running_stats, check_train_step)

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def _solution(filename, name):
    namespace = {"np": np, "batchnorm_forward": batchnorm_forward, "batchnorm_backward": batchnorm_backward}
    exec((SOLUTIONS / filename).read_text(), namespace)
    return namespace[name]


def _axes(x):
    return (0,) if x.ndim == 2 else (0, 2, 3)


def _pc(v, x):
    return v.reshape((1, -1) + (1,) * (x.ndim - 2))


def make_forward(axes=None, ddof=0, std=lambda var, eps: np.sqrt(var + eps), affine="normal"):
    """A forward with one deliberate mistake, chosen by the arguments."""
    def bn_forward(x, gamma, beta, eps=1e-5):
        ax = _axes(x) if axes is None else axes
        xhat = (x - x.mean(axis=ax, keepdims=True)) / std(x.var(axis=ax, keepdims=True, ddof=ddof), eps)
        if affine == "none":
            return xhat
        if affine == "swapped":
            return _pc(beta, x) * xhat + _pc(gamma, x)
        return _pc(gamma, x) * xhat + _pc(beta, x)
    return bn_forward


FORWARD_BUGS = {
    "unbiased_variance": make_forward(ddof=1),
    "eps_missing": make_forward(std=lambda var, eps: np.sqrt(var)),
    "eps_outside_sqrt": make_forward(std=lambda var, eps: np.sqrt(var) + eps),
    "missing_sqrt": make_forward(std=lambda var, eps: var + eps),
    "stats_over_features": make_forward(axes=(1,)),
    "gamma_beta_not_applied": make_forward(affine="none"),
    "gamma_beta_swapped": make_forward(affine="swapped"),
}


def _over_all(x, gamma, beta, eps=1e-5):
    xhat = (x - x.mean()) / np.sqrt(x.var() + eps)
    return _pc(gamma, x) * xhat + _pc(beta, x)


def _batch_axis_only(x, gamma, beta, eps=1e-5):  # right for (N, D), wrong for images
    xhat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    return _pc(gamma, x) * xhat + _pc(beta, x)


def _spatial_only(x, gamma, beta, eps=1e-5):
    ax = (0,) if x.ndim == 2 else (2, 3)
    xhat = (x - x.mean(axis=ax, keepdims=True)) / np.sqrt(x.var(axis=ax, keepdims=True) + eps)
    return _pc(gamma, x) * xhat + _pc(beta, x)


def _naive_broadcast(x, gamma, beta, eps=1e-5):  # gamma (C,) against (N, C, H, W): lines up with W
    ax = _axes(x)
    xhat = (x - x.mean(axis=ax, keepdims=True)) / np.sqrt(x.var(axis=ax, keepdims=True) + eps)
    return gamma * xhat + beta


def _in_place(x, gamma, beta, eps=1e-5):
    ax = _axes(x)
    x -= x.mean(axis=ax, keepdims=True)
    x /= np.sqrt(x.var(axis=ax, keepdims=True) + eps)
    return _pc(gamma, x) * x + _pc(beta, x)


def _to_float64(x, gamma, beta, eps=1e-5):
    return make_forward()(x.astype(float), gamma, beta, eps)


def _keepdims_lost(x, gamma, beta, eps=1e-5):
    return make_forward()(x, gamma, beta, eps).mean(axis=1)


FORWARD_BUGS.update({
    "stats_over_all": _over_all,
    "stats_batch_axis_only": _batch_axis_only,
    "stats_spatial_only": _spatial_only,
    "per_channel_broadcast": _naive_broadcast,
    "input_modified": _in_place,
    "dtype_changed": _to_float64,
    "shape_changed": _keepdims_lost,
    "returned_none": lambda x, gamma, beta, eps=1e-5: None,
    "wrong_return": lambda x, gamma, beta, eps=1e-5: (make_forward()(x, gamma, beta, eps), {}),
    "raised": lambda x, gamma, beta, eps=1e-5: x[10_000],
    "not_implemented": lambda x, gamma, beta, eps=1e-5: (_ for _ in ()).throw(NotImplementedError("write me")),
})


@pytest.mark.parametrize("mistake", sorted(FORWARD_BUGS))
def test_forward_mistake_is_named(mistake):
    report = check_forward(FORWARD_BUGS[mistake])
    assert not report.passed
    assert mistake in report.mistakes, report.text
    assert "✓ all" not in report.text


def test_forward_names_only_the_mistake_made():
    assert check_forward(FORWARD_BUGS["eps_outside_sqrt"]).mistakes == ["eps_outside_sqrt"]
    assert check_forward(FORWARD_BUGS["unbiased_variance"]).mistakes == ["unbiased_variance"]


def test_forward_correct_code_passes():
    report = check_forward(_solution("e1_forward.py", "bn_forward"))
    assert report.passed and report.mistakes == [], report.text
    assert "✓ all 4 cases" in repr(report)


def test_forward_unknown_mistake_says_where():
    def off_in_feature_3(x, gamma, beta, eps=1e-5):
        out = make_forward()(x, gamma, beta, eps)
        out[..., 3] += 0.5 if x.ndim == 2 else 0.0
        return out
    report = check_forward(off_in_feature_3)
    assert report.mistakes == ["unrecognized"]
    assert "feature(s) 3" in report.text


def test_nan_output_is_reported():
    report = check_forward(lambda x, gamma, beta, eps=1e-5: np.full_like(x, np.nan))
    assert "not_finite" in report.mistakes and not report.passed


def test_exception_report_shows_the_student_line_not_a_path():
    def bn_forward(x, gamma, beta, eps=1e-5):
        return x / undefined_name  # noqa: F821
    text = check_forward(bn_forward).text
    assert "NameError" in text and "return x / undefined_name" in text
    assert "/tmp" not in text and ".py" not in text


# ---------------------------------------------------------------------------------------------------------------
# running statistics


def make_full(update="right", train_out="batch", eval_out="running", eval_updates=False, unbiased="m"):
    """A train/eval forward with one deliberate mistake in the running statistics or the mode handling."""
    def bn_forward_full(x, gamma, beta, bn_param):
        eps, mom = bn_param["eps"], bn_param["momentum"]
        ax, p = _axes(x), (lambda v: _pc(np.asarray(v), x))
        mean, var = x.mean(axis=ax), x.var(axis=ax)
        m = x.size // x.shape[1]
        factor = {"m": m / (m - 1), "biased": 1.0, "n": x.shape[0] / (x.shape[0] - 1)}[unbiased]
        rm, rv = bn_param["running_mean"], bn_param["running_var"]
        w = {"right": mom, "inverted": 1 - mom, "replaced": 1.0, "none": 0.0}[update]
        new_rm, new_rv = (1 - w) * rm + w * mean, (1 - w) * rv + w * var * factor
        if bn_param["mode"] == "train" or eval_updates:
            bn_param["running_mean"], bn_param["running_var"] = new_rm, new_rv
        if bn_param["mode"] == "train":
            use = (mean, var) if train_out == "batch" else (rm, rv)
        else:
            use = (rm, rv) if eval_out == "running" else (mean, var)
        return p(gamma) * (x - p(use[0])) / np.sqrt(p(use[1]) + eps) + p(beta)
    return bn_forward_full


RUNNING_BUGS = {
    "running_not_updated": make_full(update="none"),
    "momentum_inverted": make_full(update="inverted"),
    "running_replaced": make_full(update="replaced"),
    "running_var_biased": make_full(unbiased="biased"),
    "running_var_unbiased_over_n": make_full(unbiased="n"),
    "running_updated_in_eval": make_full(eval_updates=True),
    "eval_uses_batch_stats": make_full(eval_out="batch"),
    "train_uses_running_stats": make_full(train_out="running"),
}


@pytest.mark.parametrize("mistake", sorted(RUNNING_BUGS))
def test_running_stats_mistake_is_named(mistake):
    report = check_running_stats(RUNNING_BUGS[mistake])
    assert not report.passed
    assert mistake in report.mistakes, report.text


def test_running_stats_not_assigned_back():
    def forgets_to_store(x, gamma, beta, bn_param):
        running_mean = 0.9 * bn_param["running_mean"] + 0.1 * x.mean(axis=_axes(x))  # a local copy only  # noqa
        return make_full()(x, gamma, beta, dict(bn_param))
    assert "running_not_updated" in check_running_stats(forgets_to_store).mistakes


def test_running_stats_correct_code_passes():
    report = check_running_stats(_solution("e2_running_stats.py", "bn_forward_full"))
    assert report.passed, report.text
    assert check_running_stats(make_full()).passed


# ---------------------------------------------------------------------------------------------------------------
# backward


def make_backward(dx_terms=("mean", "var"), gamma_in_dx=True, ddof=0, dgamma="right", param_axis=0,
                  reduce=np.sum, swap=False):
    """A backward with one deliberate mistake."""
    def bn_backward(dout, x, gamma, eps=1e-5):
        m = x.shape[0]
        inv_std = 1.0 / np.sqrt(x.var(axis=0, ddof=ddof) + eps)
        xhat = (x - x.mean(axis=0)) * inv_std
        sum_d, sum_dx = dout.sum(axis=0), (dout * xhat).sum(axis=0)
        bracket = m * dout - ("mean" in dx_terms) * sum_d - ("var" in dx_terms) * xhat * sum_dx
        dx = (gamma if gamma_in_dx else 1.0) * inv_std / m * bracket
        dbeta = reduce(dout, axis=param_axis)
        dg = {"right": reduce(dout * xhat, axis=param_axis), "no_xhat": dbeta, "x": (dout * x).sum(axis=0)}[dgamma]
        return (dx, dbeta, dg) if swap else (dx, dg, dbeta)
    return bn_backward


BACKWARD_BUGS = {
    "backward_no_mean_var_terms": make_backward(dx_terms=()),
    "backward_no_mean_term": make_backward(dx_terms=("var",)),
    "backward_no_var_term": make_backward(dx_terms=("mean",)),
    "backward_missing_gamma": make_backward(gamma_in_dx=False),
    "backward_unbiased_variance": make_backward(ddof=1),
    "param_grads_wrong_axis": make_backward(param_axis=1),
    "param_grads_mean_not_sum": make_backward(reduce=np.mean),
    "dgamma_missing_xhat": make_backward(dgamma="no_xhat"),
    "dgamma_uses_x": make_backward(dgamma="x"),
    "dgamma_dbeta_swapped": make_backward(swap=True),
    "returned_none": lambda dout, x, gamma, eps=1e-5: None,
    "wrong_return": lambda dout, x, gamma, eps=1e-5: make_backward()(dout, x, gamma, eps)[0],
}


@pytest.mark.parametrize("mistake", sorted(BACKWARD_BUGS))
def test_backward_mistake_is_named(mistake):
    report = check_backward(BACKWARD_BUGS[mistake])
    assert not report.passed
    assert mistake in report.mistakes, report.text


def test_backward_dtype_change_is_named():
    def to_float64(dout, x, gamma, eps=1e-5):
        return make_backward()(dout.astype(float), x.astype(float), gamma.astype(float), eps)
    assert check_backward(to_float64).mistakes == ["dtype_changed"]


def test_backward_correct_code_passes():
    assert check_backward(_solution("e3_backward.py", "bn_backward")).passed
    assert check_backward(make_backward()).passed


# ---------------------------------------------------------------------------------------------------------------
# a training step of a two-layer network with BN


def make_step(skip=(), sign=-1.0, loss_sum=False, simple_bn_backward=False, relu_mask=True):
    """The reference training step with one deliberate mistake."""
    def train_step(params, x, y, lr):
        n = x.shape[0]
        h = x @ params["W1"] + params["b1"]
        z, cache = batchnorm_forward(h, params["gamma"], params["beta"])
        a = np.maximum(z, 0)
        s = a @ params["W2"] + params["b2"]
        s = s - s.max(axis=1, keepdims=True)
        p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(n), y]).sum()
        ds = p.copy()
        ds[np.arange(n), y] -= 1
        if not loss_sum:
            loss, ds = loss / n, ds / n
        grads = {"W2": a.T @ ds, "b2": ds.sum(axis=0)}
        dz = (ds @ params["W2"].T) * ((z > 0) if relu_mask else 1.0)
        if simple_bn_backward:
            dh = dz * params["gamma"] * cache["inv_std"]
            _, grads["gamma"], grads["beta"] = batchnorm_backward(dz, cache)
        else:
            dh, grads["gamma"], grads["beta"] = batchnorm_backward(dz, cache)
        grads["W1"], grads["b1"] = x.T @ dh, dh.sum(axis=0)
        for name, g in grads.items():
            if name not in skip:
                params[name] += sign * lr * g
        return loss
    return train_step


STEP_BUGS = {
    "gamma_beta_not_learned": make_step(skip=("gamma", "beta")),
    "param_not_updated": make_step(skip=("W2",)),
    "gradient_ascent": make_step(sign=1.0),
    "loss_not_averaged": make_step(loss_sum=True),
    "backward_no_mean_var_terms": make_step(simple_bn_backward=True),
    "raised": lambda params, x, y, lr: params["W3"],
}


@pytest.mark.parametrize("mistake", sorted(STEP_BUGS))
def test_train_step_mistake_is_named(mistake):
    report = check_train_step(STEP_BUGS[mistake])
    assert not report.passed
    assert mistake in report.mistakes, report.text


def test_train_step_wrong_loss_and_missing_return():
    def wrong_loss(params, x, y, lr):
        return make_step()(params, x, y, lr) + 1.0
    assert "loss_wrong" in check_train_step(wrong_loss).mistakes
    report = check_train_step(lambda params, x, y, lr: make_step()(params, x, y, lr) and None)
    assert "returned_none" in report.mistakes


def test_train_step_correct_code_passes_and_trains():
    report = check_train_step(_solution("e4_train_step.py", "train_step"))
    assert report.passed, report.text
    accuracy = float(report.footer.split("test accuracy ")[1].split("%")[0])
    assert accuracy > 90.0


def test_unrecognized_errors_name_the_part_that_is_wrong():
    def train_off(x, gamma, beta, bn_param):
        return make_full()(x, gamma, beta, bn_param) + (bn_param["mode"] == "train")
    def eval_off(x, gamma, beta, bn_param):
        return make_full()(x, gamma, beta, bn_param) + (bn_param["mode"] == "eval")
    assert check_running_stats(train_off).mistakes == ["training_output_wrong"]
    assert check_running_stats(eval_off).mistakes == ["eval_output_wrong"]

    def gamma_nudged(params, x, y, lr):  # a wrong gamma update no catalogued mistake explains
        loss = make_step()(params, x, y, lr)
        params["gamma"] -= 0.01
        return loss
    report = check_train_step(gamma_nudged)
    assert report.mistakes == ["gradient_wrong"], report.text
    assert "✓ W2 updated" in report.text and "✗ gamma update wrong" in report.text


# ---------------------------------------------------------------------------------------------------------------
# E5: folding BN into a Linear layer


def make_fold(scale=lambda bn: bn.gamma / np.sqrt(bn.running_var + bn.eps), mean=lambda bn: bn.running_mean,
              bias=lambda W, b, bn, s, mu: s * (b - mu) + bn.beta, axis=1):
    """A fold with one deliberate mistake, chosen by the arguments."""
    def fold_bn(W, b, bn):
        s = scale(bn)
        return (W * s if axis == 1 else W * s[:, None]), bias(W, b, bn, s, mean(bn))
    return fold_bn


FOLD_BUGS = {
    "fold_eps_missing": make_fold(scale=lambda bn: bn.gamma / np.sqrt(bn.running_var)),
    "fold_eps_outside_sqrt": make_fold(scale=lambda bn: bn.gamma / (np.sqrt(bn.running_var) + bn.eps)),
    "fold_var_not_sqrt": make_fold(scale=lambda bn: bn.gamma / (bn.running_var + bn.eps)),
    "fold_gamma_missing": make_fold(scale=lambda bn: 1 / np.sqrt(bn.running_var + bn.eps)),
    "fold_batch_stats": make_fold(scale=lambda bn: bn.gamma / np.sqrt(bn.batch_stats[1] + bn.eps),
                                  mean=lambda bn: bn.batch_stats[0]),
    "fold_beta_dropped": make_fold(bias=lambda W, b, bn, s, mu: s * (b - mu)),
    "fold_old_bias_dropped": make_fold(bias=lambda W, b, bn, s, mu: -s * mu + bn.beta),
    "fold_bias_not_scaled": make_fold(bias=lambda W, b, bn, s, mu: b - mu + bn.beta),
    "fold_mean_not_scaled": make_fold(bias=lambda W, b, bn, s, mu: s * b - mu + bn.beta),
    "fold_mean_sign": make_fold(bias=lambda W, b, bn, s, mu: s * (b + mu) + bn.beta),
    "fold_wrong_axis": make_fold(axis=0),
    "fold_w_not_scaled": lambda W, b, bn: (W.copy(), make_fold()(W, b, bn)[1]),
}


@pytest.mark.parametrize("mistake", sorted(FOLD_BUGS))
def test_fold_mistake_is_named(mistake):
    report = check_fold(FOLD_BUGS[mistake])
    assert not report.passed
    assert report.mistakes == [mistake], report.text


def test_fold_correct_code_passes_and_leaves_bn_alone():
    assert check_fold(_solution("e5_fold.py", "fold_bn")).passed
    def meddle(W, b, bn):
        out = make_fold()(W, b, bn)
        bn.running_mean += 1.0  # the checker restores the layer; the answer was computed before
        return out
    assert check_fold(meddle).passed


# ---------------------------------------------------------------------------------------------------------------
# E6: a numerical gradient check


def make_numgrad(how="centred", h_used=None, restore=True):
    """A numerical gradient with one deliberate mistake, chosen by the arguments."""
    def numerical_gradient(f, x, h=1e-5):
        h = h if h_used is None else h_used
        if how == "all":
            return np.full_like(x, (f(x + h) - f(x - h)) / (2 * h))
        grad, f0 = np.zeros_like(x), f(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + h
            fp = f(x)
            x[i] = old - h
            fm = f(x)
            if restore:
                x[i] = old
            grad[i] = {"centred": (fp - fm) / (2 * h), "forward": (fp - f0) / h, "no_half": (fp - fm) / h}[how]
        return grad
    return numerical_gradient


def _rel_error(a, b):
    return np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a) + np.abs(b)))


GRADCHECK_BUGS = {
    "one_sided_difference": (make_numgrad("forward"), _rel_error),
    "centred_missing_half": (make_numgrad("no_half"), _rel_error),
    "perturbed_all_at_once": (make_numgrad("all"), _rel_error),
    "perturbation_not_restored": (make_numgrad(restore=False), _rel_error),
    "h_too_large": (make_numgrad(h_used=1e-2), _rel_error),
    "h_too_small": (make_numgrad(h_used=1e-12), _rel_error),
    "rel_error_no_guard": (make_numgrad(), lambda a, b: np.max(np.abs(a - b)) / np.max(np.abs(a) + np.abs(b))),
    "rel_error_absolute": (make_numgrad(), lambda a, b: np.max(np.abs(a - b))),
    "rel_error_wrong": (make_numgrad(), lambda a, b: np.max(a - b) / max(1e-8, np.max(a + b))),  # no abs
}


@pytest.mark.parametrize("mistake", sorted(GRADCHECK_BUGS))
def test_gradient_check_mistake_is_named(mistake):
    report = check_gradient_check(*GRADCHECK_BUGS[mistake])
    assert not report.passed
    assert mistake in report.mistakes and "unrecognized" not in report.mistakes, report.text


def test_gradient_check_default_h_is_judged_and_solution_passes():
    def tiny_default(f, x, h=1e-11):
        return make_numgrad()(f, x, h)
    assert check_gradient_check(tiny_default, _rel_error).mistakes == ["h_too_small"]
    report = check_gradient_check(*[_solution("e6_gradient_check.py", n) for n in ("numerical_gradient",
                                                                                  "rel_error")])
    assert report.passed and "on batch norm's backward" in report.text, report.text


def test_dtype_message_says_which_way():
    def to_float32(dout, x, gamma, eps=1e-5):
        return tuple(g.astype(np.float32) for g in _solution("e3_backward.py", "bn_backward")(dout, x, gamma, eps))
    report = check_backward(to_float32)
    assert report.mistakes == ["dtype_changed"] and "converted down" in report.text
    assert "converted up" in check_forward(_to_float64).text


def test_every_mistake_has_a_test():
    from tests.test_catalogue import STUDENT_BUGS

    tested = {mistake for _, mistake in STUDENT_BUGS.values()} | set(FORWARD_BUGS) | set(RUNNING_BUGS) | set(BACKWARD_BUGS) | set(STEP_BUGS) | set(FOLD_BUGS) | set(
        GRADCHECK_BUGS) | {
        "not_finite", "unrecognized", "training_output_wrong", "eval_output_wrong", "loss_wrong", "gradient_wrong"}
    assert set(MISTAKES) - tested == set()
