"""Bad input gets a clear error that names the argument: never a broadcasting message, a silent NaN or a warning."""
import warnings

import numpy as np
import pytest

from bn_teach import MLP, BatchNorm, GroupNorm, LayerNorm, Linear, train


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


X = np.random.default_rng(0).normal(size=(8, 4))


@pytest.mark.parametrize("kwargs,match", [
    ({"num_features": 0}, "num_features"), ({"num_features": -3}, "num_features"),
    ({"num_features": 2.5}, "num_features"), ({"num_features": True}, "num_features"),
    ({"num_features": "4"}, "num_features"),
    ({"num_features": 4, "eps": 0}, "eps"), ({"num_features": 4, "eps": -1e-5}, "eps"),
    ({"num_features": 4, "eps": float("nan")}, "eps"), ({"num_features": 4, "eps": float("inf")}, "eps"),
    ({"num_features": 4, "momentum": -0.1}, "momentum"), ({"num_features": 4, "momentum": 1.5}, "momentum"),
    ({"num_features": 4, "momentum": float("nan")}, "momentum"), ({"num_features": 4, "momentum": "0.1"}, "momentum"),
])
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BatchNorm(**kwargs)


@pytest.mark.parametrize("x,exc,match", [
    (np.zeros(4), ValueError, "shape"),                       # wrong ndim
    (np.zeros((8, 5)), ValueError, "num_features=4"),          # wrong feature count
    (np.zeros((2, 3, 5, 5)), ValueError, "num_features=4"),    # wrong channel count
    (np.zeros((1, 4)), ValueError, "more than 1 value per channel"),
    (np.zeros((0, 4)), ValueError, "empty"),
    (np.array([["a", "b", "c", "d"]] * 3), TypeError, "x must be"),
    ([[1, 2], [3]], TypeError, "x must be"),
    (np.ones((3, 4), dtype=complex), TypeError, "real"),
])
def test_bad_forward_input(x, exc, match):
    with pytest.raises(exc, match=match):
        BatchNorm(4).forward(x)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_nan_or_inf_input_is_refused(bad, mode):
    x = X.copy()
    x[3, 2] = bad
    bn = BatchNorm(4).train(mode == "train")
    with pytest.raises(ValueError, match="NaN or inf"):
        bn.forward(x)


def test_backward_errors():
    bn = BatchNorm(4)
    with pytest.raises(RuntimeError, match="before forward"):
        bn.backward(X)
    bn.forward(X)
    with pytest.raises(ValueError, match=r"dy must have the shape .*\(8, 4\)"):
        bn.backward(np.ones((8, 3)))
    dy = np.ones((8, 4))
    dy[0, 0] = np.nan
    with pytest.raises(ValueError, match="dy contains NaN or inf"):
        bn.backward(dy)


def test_wrong_parameter_shape_is_named():
    bn = BatchNorm(4)
    bn.gamma = np.ones(3)
    with pytest.raises(ValueError, match=r"gamma must be an array of shape \(4,\)"):
        bn.forward(X)


def test_one_value_per_channel_is_fine_in_eval_mode():
    bn = BatchNorm(4).eval()
    assert bn.forward(X[:1]).shape == (1, 4)
    assert BatchNorm(3).forward(np.ones((1, 3, 2, 1))).shape == (1, 3, 2, 1)  # 2 values per channel


def test_dtypes_and_array_likes():
    assert BatchNorm(4).forward(X.astype(np.float32)).dtype == np.float32
    assert BatchNorm(4).forward(X.astype(np.float32)).dtype == np.float32
    bn = BatchNorm(2)
    y = bn.forward([[1, 2], [3, 5], [4, 4]])
    assert y.dtype == np.float64
    assert bn.backward([[1, 0], [0, 1], [1, 1]]).dtype == np.float64
    assert BatchNorm(2).forward(np.array([[1, 2], [3, 4]], dtype=np.int32)).dtype == np.float64


def test_constant_feature_gives_finite_output():
    x = X.copy()
    x[:, 1] = 7.0
    bn = BatchNorm(4)
    y = bn.forward(x)
    assert np.isfinite(y).all() and np.all(y[:, 1] == 0)
    assert np.isfinite(bn.backward(np.random.default_rng(1).normal(size=x.shape))).all()


def test_float32_with_a_large_offset_keeps_an_accurate_variance():
    rng = np.random.default_rng(2)
    x = (1e4 + rng.normal(size=(1000, 3))).astype(np.float32)
    bn = BatchNorm(3, momentum=1.0)
    bn.forward(x)
    true_var = x.astype(np.float64).var(axis=0, ddof=1)
    assert np.max(np.abs(bn.running_var - true_var) / true_var) < 1e-3


def test_other_layers_name_their_arguments():
    with pytest.raises(ValueError, match=r"LayerNorm: x must have shape \(N, 4\)"):
        LayerNorm(4).forward(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        GroupNorm(3, 4)
    with pytest.raises(ValueError, match="NaN or inf"):
        LayerNorm(4).forward(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match=r"Linear: x must have shape \(N, 4\)"):
        Linear(4, 2).forward(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="activation must be one of"):
        MLP(4, [3], 2, activation="swish")
    with pytest.raises(ValueError, match="norm must be"):
        MLP(4, [3], 2, norm="instance")


def test_train_rejects_bad_arguments_and_reports_divergence():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(64, 4)), rng.integers(0, 2, size=64)
    with pytest.raises(ValueError, match="lr"):
        train(MLP(4, [8], 2), x, y, lr=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        train(MLP(4, [8], 2), x, y, batch_size=0)
    with pytest.raises(ValueError, match="larger than the training set"):
        train(MLP(4, [8], 2), x, y, batch_size=65)
    hist = train(MLP(4, [8], 2, init_scale=3.0), x * 100, y, steps=50, lr=1e6, batch_size=16)
    assert hist.diverged and "diverged" in hist.message


@pytest.mark.parametrize("seeds", [(), 0, (0.5,), (True,), "0"])
def test_lesson5_experiments_name_a_bad_seeds_argument(seeds):
    from bn_teach.lessons.l05_regularization import batch_size_grid, generalization_gap

    for experiment in (batch_size_grid, generalization_gap):
        with pytest.raises(ValueError, match="seeds"):
            experiment(seeds=seeds)
