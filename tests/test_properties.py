"""Properties of BatchNorm that hold for any input (hypothesis), and a small problem the loop must learn."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bn_teach import MLP, BatchNorm, train

shapes = st.tuples(st.integers(2, 40), st.integers(1, 6))
seeds = st.integers(0, 2**32 - 1)
settings.register_profile("bn-teach", max_examples=60, deadline=None, derandomize=True)
settings.load_profile("bn-teach")


def sample(shape, seed):
    rng = np.random.default_rng(seed)
    loc = rng.uniform(-100, 100, size=shape[1])
    scale = 10.0 ** rng.uniform(-2, 2, size=shape[1])
    return rng.normal(loc, scale, size=shape)


@given(shapes, seeds)
def test_normalized_features_have_mean_0_and_variance_1(shape, seed):
    x = sample(shape, seed)
    y = BatchNorm(shape[1], eps=1e-12).forward(x)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-6)


@given(shapes, seeds)
def test_gamma_sqrt_var_plus_eps_and_beta_mean_give_back_the_input(shape, seed):
    x = sample(shape, seed)
    bn = BatchNorm(shape[1])
    bn.gamma = np.sqrt(x.var(axis=0) + bn.eps)
    bn.beta = x.mean(axis=0)
    np.testing.assert_allclose(bn.forward(x), x, rtol=1e-9, atol=1e-9 * np.abs(x).max())


@given(st.integers(2, 12), st.integers(1, 4), st.integers(1, 5), st.integers(1, 5), seeds)
def test_4d_input_uses_per_channel_statistics_over_batch_and_space(n, c, h, w, seed):
    x = np.random.default_rng(seed).normal(3.0, 2.0, size=(n, c, h, w))
    bn = BatchNorm(c, momentum=1.0)
    y = bn.forward(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0.0, atol=1e-9)
    m = n * h * w
    np.testing.assert_allclose(bn.running_var, x.var(axis=(0, 2, 3)) * m / (m - 1), rtol=1e-9)


@given(st.lists(st.integers(2, 10), min_size=1, max_size=6), seeds)
def test_cumulative_running_mean_is_the_average_of_batch_means(sizes, seed):
    rng = np.random.default_rng(seed)
    bn = BatchNorm(3, momentum=None)
    means = []
    for n in sizes:
        x = rng.normal(size=(n, 3))
        means.append(x.mean(axis=0))
        bn.forward(x)
    np.testing.assert_allclose(bn.running_mean, np.mean(means, axis=0), atol=1e-12)


@given(shapes, seeds, st.floats(-3, 3), st.floats(-3, 3))
def test_eval_mode_is_the_affine_map_of_the_running_statistics(shape, seed, g, b):
    x = sample(shape, seed)
    bn = BatchNorm(shape[1], momentum=1.0)
    bn.forward(x)
    bn.gamma[:], bn.beta[:] = g, b
    bn.eval()
    expected = g * (x - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) + b
    np.testing.assert_allclose(bn.forward(x), expected, rtol=1e-9, atol=1e-9)


def test_the_loop_trains_a_small_problem_to_high_accuracy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 2))
    y = ((x[:, 0] ** 2 + x[:, 1] ** 2) > 1.2).astype(int)  # a circle: not linearly separable
    for norm in (None, "batch"):
        hist = train(MLP(2, [32, 32], 2, norm=norm, seed=0), x[:400], y[:400], x[400:], y[400:],
                     steps=1500, batch_size=32, lr=0.1, momentum=0.9, seed=0, eval_every=500)
        assert hist.train_acc[-1] >= 0.95 and hist.test_acc[-1] >= 0.93, (norm, hist.train_acc, hist.test_acc)
