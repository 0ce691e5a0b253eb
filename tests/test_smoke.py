import numpy as np

from bn_teach import MLP, BatchNorm, train


def test_batchnorm_normalizes_each_feature():
    x = np.random.default_rng(0).normal(3.0, 2.0, size=(64, 5))
    y = BatchNorm(5)(x)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), 1.0, rtol=1e-4)


def test_mlp_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    hist = train(MLP(2, [16], 2, norm="batch"), x, y, x, y, steps=300, batch_size=32, lr=0.1, seed=0)
    assert hist.test_acc[-1] > 0.95
