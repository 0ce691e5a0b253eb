"""The training toolkit: determinism, modes, SGD's momentum convention, the recorder and the history."""
import numpy as np
import pytest

from bn_teach import MLP, SGD, BatchNorm, Linear, Recorder, train
from bn_teach.layers import Sigmoid


def data(seed=0, n=200):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    return x, (x[:, 0] - x[:, 1] > 0).astype(int)


def test_same_seed_same_history_and_weights():
    x, y = data()
    runs = []
    for _ in range(2):
        net = MLP(5, [8, 8], 2, norm="batch", seed=3)
        hist = train(net, x, y, x, y, steps=60, batch_size=16, lr=0.1, seed=4, eval_every=20)
        runs.append((hist.loss, hist.test_acc, net[0].W.copy()))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    np.testing.assert_array_equal(runs[0][2], runs[1][2])
    other = train(MLP(5, [8, 8], 2, norm="batch", seed=3), x, y, steps=60, batch_size=16, lr=0.1, seed=5,
                  eval_every=20)
    assert other.loss != runs[0][0]


def test_mlp_layout_and_train_eval_switch():
    net = MLP(5, [8, 6], 3, activation="sigmoid", norm="batch", norm_position="before")
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Linear", "BatchNorm", "Sigmoid", "Linear", "BatchNorm", "Sigmoid", "Linear"]
    after = MLP(5, [8], 3, norm="batch", norm_position="after")
    assert [type(layer).__name__ for layer in after.layers] == ["Linear", "ReLU", "BatchNorm", "Linear"]
    net.eval()
    assert not any(layer.training for layer in net.layers)
    net.predict(np.zeros((1, 5)))  # eval mode: a batch of one is fine
    net.train()
    assert all(layer.training for layer in net.layers)


def test_predict_restores_the_mode_and_leaves_running_stats_alone():
    x, _ = data()
    net = MLP(5, [8], 2, norm="batch")
    bn = net.norms[0]
    before = bn.running_mean.copy()
    net.predict(x)
    assert net.training and bn.training
    np.testing.assert_array_equal(bn.running_mean, before)


def test_sgd_momentum_matches_a_hand_computation():
    layer = Linear(2, 1, rng=0)
    w0 = layer.W.copy()
    opt = SGD(layer.parameters(), lr=0.1, momentum=0.9)
    g1, g2 = np.array([[1.0], [2.0]]), np.array([[-1.0], [0.5]])
    layer.dW, layer.db = g1, np.zeros(1)
    opt.step()
    layer.dW = g2
    opt.step()
    v1 = g1
    v2 = 0.9 * v1 + g2  # PyTorch's convention: v = momentum * v + g; p -= lr * v
    np.testing.assert_allclose(layer.W, w0 - 0.1 * v1 - 0.1 * v2)


def test_sgd_rejects_bad_hyperparameters():
    with pytest.raises(ValueError, match="momentum"):
        SGD(Linear(2, 1).parameters(), lr=0.1, momentum=1.0)


def test_recorder_shapes_and_percentiles():
    x, y = data()
    net = MLP(5, [7, 4], 2, activation="sigmoid", norm="batch")
    rec = Recorder(unit=1, every=5)
    train(net, x, y, steps=30, batch_size=20, lr=0.1, recorder=rec)
    assert rec.steps == list(range(5, 31, 5))
    assert [m.shape for m in rec.mean] == [(6, 7), (6, 4)]
    pct = rec.percentiles[0]
    assert pct.shape == (6, 3) and np.all(pct[:, 0] <= pct[:, 1]) and np.all(pct[:, 1] <= pct[:, 2])
    assert isinstance(net.activations[0], Sigmoid)


def test_history_steps_to_and_bookkeeping():
    x, y = data()
    hist = train(MLP(5, [16], 2), x, y, x, y, steps=250, batch_size=20, lr=0.2, eval_every=50)
    assert hist.step == [50, 100, 150, 200, 250] and len(hist.step_loss) == 250
    assert len(hist.seconds) == 5 and hist.seconds == sorted(hist.seconds)
    first = hist.steps_to(0.9)
    assert first is not None and hist.test_acc[hist.step.index(first)] >= 0.9
    assert all(a < 0.9 for s, a in zip(hist.step, hist.test_acc) if s < first)
    assert hist.steps_to(1.01) is None


def test_batchnorm_momentum_convention_is_pytorchs():
    bn = BatchNorm(1, momentum=0.25)
    x = np.array([[1.0], [3.0]])
    bn.forward(x)
    assert bn.running_mean[0] == pytest.approx(0.75 * 0 + 0.25 * 2.0)
    assert bn.running_var[0] == pytest.approx(0.75 * 1 + 0.25 * 2.0)  # unbiased batch variance of [1, 3] is 2


def test_drift_reports_what_its_docstring_says():
    rec = Recorder(every=1)
    means = [np.array([0.0, 1.0]), np.array([1.0, 1.0]), np.array([3.0, 0.0]), np.array([4.0, 2.0])]
    rec.steps = [1, 2, 3, 4]
    rec._mean = [means]
    rec._std = [[np.ones(2), np.ones(2), 2 * np.ones(2), 3 * np.ones(2)]]
    rec._pct = [[np.array([0.0, p50, 9.0]) for p50 in (5.0, 4.0, 6.0, 2.0)]]
    d = rec.drift(window=2)
    # early = mean of the first 2 records, late = of the last 2
    assert d["mean shift"] == pytest.approx(np.mean(np.abs([3.5 - 0.5, 1.0 - 1.0])))
    assert d["std change"] == pytest.approx(2.5 - 1.0)
    assert d["jitter"] == pytest.approx(np.mean(np.abs(np.diff(np.array(means), axis=0))))
    assert d["median shift"] == pytest.approx((6.0 + 2.0) / 2 - (5.0 + 4.0) / 2)  # signed
    assert d["median jitter"] == pytest.approx((1 + 2 + 4) / 3)
    with pytest.raises(ValueError, match="window"):
        rec.drift(window=0)


def test_train_on_digits_is_one_seeded_training_run_on_the_digits():
    from bn_teach.digits import load_digits_split
    from bn_teach.runs import train_on_digits

    xtr, ytr, xte, yte = load_digits_split(seed=1)
    direct = train(MLP(64, [16], 10, norm="batch", seed=1), xtr[:300], ytr[:300], xte, yte, steps=40,
                   batch_size=32, lr=0.1, seed=1, eval_every=20)
    run = train_on_digits(MLP(64, [16], 10, norm="batch", seed=1), seed=1, n_train=300, steps=40, batch_size=32,
                          lr=0.1, eval_every=20, recorder=Recorder(every=10))
    assert run.history.step_loss == direct.step_loss and run.history.test_acc == direct.test_acc
    assert run.model is None and run.recorder.steps == [10, 20, 30, 40]
    assert train_on_digits(MLP(64, [4], 10), steps=2, keep_model=True).model is not None


def test_train_calls_every_recorder_of_a_list():
    x, y = data()
    calls = []
    train(MLP(5, [4], 2), x, y, steps=3, batch_size=8, recorder=[lambda s, m: calls.append(("a", s)),
                                                                 lambda s, m: calls.append(("b", s))])
    assert calls == [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3), ("b", 3)]


def test_train_evaluates_after_the_steps_listed_and_names_a_bad_schedule():
    import numpy as np

    from bn_teach import MLP, train

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(80, 4)), rng.integers(0, 2, size=80)
    hist = train(MLP(4, [6], 2, seed=0), x, y, x, y, steps=30, batch_size=16, eval_every=[2, 3, 10])
    assert hist.step == [2, 3, 10, 30]  # and always the last step
    same = train(MLP(4, [6], 2, seed=0), x, y, x, y, steps=30, batch_size=16, eval_every=[10, 20, 30])
    every = train(MLP(4, [6], 2, seed=0), x, y, x, y, steps=30, batch_size=16, eval_every=10)
    assert same.step == every.step and same.test_acc == every.test_acc
    for bad in ([], [0, 5], [2.5], "10"):
        with pytest.raises(ValueError, match="eval_every"):
            train(MLP(4, [6], 2, seed=0), x, y, steps=5, batch_size=16, eval_every=bad)
