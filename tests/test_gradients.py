"""Centred-difference gradient checks in float64, always with a random upstream gradient.

An all-ones upstream gradient would make BatchNorm's true dx exactly zero (the output of every feature sums to a
constant), so a broken backward could pass; a random one cannot.
"""
import numpy as np
import pytest

from bn_teach import (MLP, BatchNorm, Conv2d, Flatten, GroupNorm, LayerNorm, Linear, ReLU, Sequential, Sigmoid, Tanh,
                      Unflatten, fold_batchnorm, softmax_cross_entropy)


def numerical_grad(f, x, h=1e-6):
    """d f / d x by centred differences; f returns a scalar; x is perturbed in place and restored."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f()
        x[i] = old - h
        fm = f()
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def rel_error(a, b):
    """Largest difference relative to the gradients' scale (floored: a true zero gradient is fine at 1e-10)."""
    return np.max(np.abs(a - b)) / max(1e-4, np.max(np.abs(a)) + np.max(np.abs(b)))


def check_layer(layer, x, rng, params=(), tol=1e-6):
    """Compare layer.backward (and its parameter gradients) with numerical gradients of sum(dy * layer(x))."""
    dy = rng.normal(size=layer.forward(x).shape)

    def loss():
        return float(np.sum(dy * layer.forward(x)))

    layer.forward(x)
    dx = layer.backward(dy)
    analytic = {name: getattr(layer, "d" + name).copy() for name in params}
    assert rel_error(dx, numerical_grad(loss, x)) < tol
    for name in params:
        assert rel_error(analytic[name], numerical_grad(loss, getattr(layer, name))) < tol, name


def random_affine(layer, rng):
    layer.gamma = rng.normal(size=layer.gamma.shape)
    layer.beta = rng.normal(size=layer.beta.shape)
    return layer


@pytest.mark.parametrize("shape", [(6, 4), (3, 2, 4, 3), (5, 3, 7)])
def test_batchnorm_train_mode_gradients(shape):
    rng = np.random.default_rng(1)
    bn = random_affine(BatchNorm(shape[1]), rng)
    check_layer(bn, rng.normal(2.0, 3.0, size=shape), rng, params=("gamma", "beta"))


def test_batchnorm_eval_mode_gradients():
    rng = np.random.default_rng(2)
    bn = random_affine(BatchNorm(4), rng)
    bn.running_mean, bn.running_var = rng.normal(size=4), rng.uniform(0.5, 2.0, size=4)
    bn.eval()
    check_layer(bn, rng.normal(size=(5, 4)), rng, params=("gamma", "beta"))


def test_layernorm_and_groupnorm_gradients():
    rng = np.random.default_rng(3)
    check_layer(random_affine(LayerNorm(5), rng), rng.normal(size=(4, 5)), rng, params=("gamma", "beta"))
    check_layer(random_affine(GroupNorm(2, 4), rng), rng.normal(size=(3, 4, 2, 2)), rng, params=("gamma", "beta"))
    check_layer(random_affine(GroupNorm(3, 6), rng), rng.normal(size=(4, 6)), rng, params=("gamma", "beta"))


def test_linear_and_activation_gradients():
    rng = np.random.default_rng(4)
    check_layer(Linear(5, 3, rng=rng), rng.normal(size=(4, 5)), rng, params=("W", "b"))
    for act in (Sigmoid(), Tanh()):
        check_layer(act, rng.normal(size=(4, 5)), rng)
    x = rng.normal(size=(4, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep ReLU away from its kink
    check_layer(ReLU(), x, rng)


def test_softmax_cross_entropy_gradient():
    rng = np.random.default_rng(5)
    logits, y = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    _, dlogits = softmax_cross_entropy(logits, y)
    num = numerical_grad(lambda: softmax_cross_entropy(logits, y)[0], logits)
    assert rel_error(dlogits, num) < 1e-6


@pytest.mark.parametrize("norm,position", [("batch", "before"), ("batch", "after"), ("layer", "before")])
def test_whole_mlp_gradient(norm, position):
    rng = np.random.default_rng(6)
    net = MLP(3, [5, 4], 3, activation="tanh", norm=norm, norm_position=position, seed=1)
    x, y = rng.normal(size=(8, 3)), rng.integers(0, 3, size=8)

    def loss():
        return softmax_cross_entropy(net.forward(x), y)[0]

    _, dlogits = softmax_cross_entropy(net.forward(x), y)
    net.backward(dlogits)
    for module, name in net.parameters():
        analytic = getattr(module, "d" + name).copy()
        assert rel_error(analytic, numerical_grad(loss, getattr(module, name))) < 1e-5, (module, name)


def test_the_check_catches_a_wrong_backward():
    """The gradient check itself can fail: a backward without the terms through the mean and variance."""
    rng = np.random.default_rng(7)
    bn = random_affine(BatchNorm(3), rng)
    x = rng.normal(size=(5, 3))
    dy = rng.normal(size=(5, 3))
    bn.forward(x)
    core = bn._cache[1]
    naive_dx = dy * core["gamma"] * core["inv_std"]  # treats mean and variance as constants
    num = numerical_grad(lambda: float(np.sum(dy * bn.forward(x))), x)
    assert rel_error(naive_dx, num) > 1e-2
    bn.forward(x)
    assert rel_error(bn.backward(dy), num) < 1e-6


def test_all_ones_upstream_gradient_gives_zero_dx():
    """Why the checks above use random dy: with dy = 1 the true dx of BatchNorm is 0 (up to rounding)."""
    bn = BatchNorm(3)
    bn.forward(np.random.default_rng(8).normal(size=(6, 3)))
    assert np.abs(bn.backward(np.ones((6, 3)))).max() < 1e-12


def test_layernorm_is_groupnorm_with_one_group_and_running_update_is_the_layers():
    from bn_teach import running_stats_update

    rng = np.random.default_rng(0)
    x, dy = rng.normal(size=(8, 6)), rng.normal(size=(8, 6))
    ln, gn = LayerNorm(6), GroupNorm(1, 6)
    ln.gamma, ln.beta = rng.normal(size=6), rng.normal(size=6)
    gn.gamma, gn.beta = ln.gamma.copy(), ln.beta.copy()
    np.testing.assert_array_equal(ln.forward(x), gn.forward(x))
    np.testing.assert_array_equal(ln.backward(dy), gn.backward(dy))
    bn = BatchNorm(6, momentum=0.3)
    rm, rv = bn.running_mean.copy(), bn.running_var.copy()
    bn.forward(x)
    mean, var = bn.batch_stats
    new_mean, new_var = running_stats_update(rm, rv, mean, var, 8, 0.3)
    np.testing.assert_array_equal(bn.running_mean, new_mean)
    np.testing.assert_allclose(bn.running_var, 0.7 * rv + 0.3 * x.var(axis=0, ddof=1))
    np.testing.assert_array_equal(bn.running_var, new_var)


@pytest.mark.parametrize("stride,padding,bias", [(1, 0, True), (1, 1, False), (2, 1, True)])
def test_conv2d_gradients(stride, padding, bias):
    rng = np.random.default_rng(9)
    conv = Conv2d(2, 3, 3, stride=stride, padding=padding, bias=bias, rng=rng)
    if bias:
        conv.b = rng.normal(size=3)
    check_layer(conv, rng.normal(size=(2, 2, 6, 5)), rng, params=conv.param_names)


def test_conv_bn_network_gradient():
    """Spatial BatchNorm after a convolution, inside a whole network fed flat rows (as the digits are)."""
    rng = np.random.default_rng(10)
    bn = random_affine(BatchNorm(3), rng)
    net = Sequential(Unflatten((1, 5, 5)), Conv2d(1, 3, 3, padding=1, bias=False, rng=1), bn, Tanh(), Flatten(),
                     Linear(75, 4, rng=2))
    x, y = rng.normal(size=(6, 25)), rng.integers(0, 4, size=6)

    def loss():
        return softmax_cross_entropy(net.forward(x), y)[0]

    _, dlogits = softmax_cross_entropy(net.forward(x), y)
    dx = net.backward(dlogits)
    assert rel_error(dx, numerical_grad(loss, x)) < 1e-5
    for module, name in net.parameters():
        analytic = getattr(module, "d" + name).copy()
        assert rel_error(analytic, numerical_grad(loss, getattr(module, name))) < 1e-5, (module, name)


def test_folding_batchnorm_into_linear_and_conv_gives_the_eval_mode_outputs():
    rng = np.random.default_rng(11)
    for layer, x, axis in ((Linear(5, 4, rng=1), rng.normal(size=(7, 5)), -1),
                           (Conv2d(2, 4, 3, padding=1, rng=1), rng.normal(size=(3, 2, 5, 5)), 0)):
        layer.b = rng.normal(size=4)
        bn = random_affine(BatchNorm(4), rng).eval()
        bn.running_mean, bn.running_var = rng.normal(size=4), rng.uniform(0.2, 3.0, size=4)
        expected = bn.forward(layer.forward(x))
        layer.W, layer.b = fold_batchnorm(layer.W, layer.b, bn.gamma, bn.beta, bn.running_mean, bn.running_var,
                                          bn.eps, out_axis=axis)
        np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)
