"""Spreads over seeds and the verdicts drawn from them; the internal-covariate-shift measures; and the robustness
of verdict-bearing comparisons to other seeds and to another BLAS kernel (the verdicts, not the digits)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bn_teach import MLP, BatchNorm, Recorder, train
from bn_teach.evidence import Spread, compare, compare_paired
from bn_teach.training import BatchNormInputRecorder, OnProbe, gradient_ics


def test_spread_and_verdicts_follow_the_ranges():
    s = Spread([0.93, 0.95, float("nan"), 0.91])
    assert (s.mean, s.lo, s.hi, s.n, s.n_nan) == (pytest.approx(0.93), 0.91, 0.95, 4, 1)
    assert format(s, ".2f") == "0.93 (0.91-0.95)"
    assert compare(Spread([1, 2]), Spread([3, 4])) == "lower"
    assert compare(Spread([3, 4]), Spread([1, 2.5])) == "higher"
    assert compare(Spread([1, 3]), Spread([2, 4])) == "no measurable difference"
    ratio, verdict = compare_paired([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])
    assert verdict == "lower" and ratio.hi == pytest.approx(0.75)
    assert compare_paired([1.0, 5.0], [2.0, 4.0])[1] == "no measurable difference"
    with pytest.raises(ValueError, match="paired"):
        compare_paired([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="at least one"):
        Spread([])


def _data(seed=0, n=300):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)) * np.array([1, 3, 0.5, 1, 2, 1]) + 1.0
    return x, (x[:, 0] + x[:, 1] > 2).astype(int)


def test_on_probe_records_the_probe_batch_and_leaves_the_model_alone():
    x, y = _data()
    probe = x[:50]
    model = MLP(6, [8, 8], 2, norm="batch", seed=1)
    train(model, x, y, steps=20, batch_size=32, lr=0.1, seed=1)
    running = [bn.running_mean.copy() for bn in model.norms]
    rec, bn_in = Recorder(every=1), BatchNormInputRecorder(every=1)
    OnProbe([rec, bn_in], probe)(1, model)
    for bn, before in zip(model.norms, running):
        np.testing.assert_array_equal(bn.running_mean, before)  # the model was not run on the probe
    model.train()
    model.forward(probe)  # the same probe, through the model itself: the recorded statistics are the probe's
    np.testing.assert_allclose(rec.mean[-1][0], model.activations[-1].last_input.mean(axis=0))
    np.testing.assert_allclose(bn_in.mean[0][0], model.norms[0].batch_stats[0])
    with pytest.raises(ValueError, match="x_probe"):
        OnProbe([rec], probe[:1])


def test_gradient_ics_is_zero_without_a_step_and_leaves_the_model_alone():
    x, y = _data()
    model = MLP(6, [8, 8], 2, norm="batch", seed=2)
    weights = [getattr(m, n).copy() for m, n in model.parameters()]
    assert gradient_ics(model, x[:64], y[:64], lr=1e-300)["change"] == pytest.approx(0.0, abs=1e-12)
    moved = gradient_ics(model, x[:64], y[:64], lr=0.5)
    assert moved["change"] > 0 and -1.0 <= moved["cos"] <= 1.0 + 1e-12
    assert moved["relative"] == pytest.approx(moved["change"] / np.linalg.norm(_output_grad(model, x[:64], y[:64])))
    for w, (m, n) in zip(weights, model.parameters()):
        np.testing.assert_array_equal(w, getattr(m, n))


def _output_grad(model, x, y):
    import copy

    from bn_teach import softmax_cross_entropy

    net = copy.deepcopy(model)
    _, d = softmax_cross_entropy(net.forward(x), y)
    net.backward(d)
    return net.layers[-1].dW


# each prints the verdicts (never the digits) of one lesson's verdict-bearing comparisons, for the seeds in argv[1];
# with `stored` (seeds 0-4 as the lessons print them), a lesson with a stored sweep reads it instead of recomputing
# it (tests/test_sweeps.py checks that the code recomputes it exactly)
VERDICTS = {
    "lesson 1, steps to converge": (
        "from bn_teach.lessons.l01_normalizing_inputs import compare_over_seeds, fewest_steps\n"
        "print(json.dumps({str(k): v for k, v in fewest_steps(compare_over_seeds(seeds=seeds)).items()}))"),
    "lesson 3, training speed": (
        "from bn_teach.lessons.l03_training_speed import seed_sweep, speed_verdicts\n"
        "results = load_sweep('l03_training_speed')['results'] if stored else seed_sweep(seeds=seeds)\n"
        "print(json.dumps(speed_verdicts(results)))"),
    "lesson 4, dataset shift": (
        "from bn_teach.lessons.l04_black_cats import shift_over_seeds, shift_verdicts\n"
        "print(json.dumps(shift_verdicts(shift_over_seeds(seeds=seeds)[1])))"),
    "lesson 4, internal covariate shift": (
        "from bn_teach.lessons.l04_black_cats import internal_shift, ics_summary, ics_verdicts\n"
        "print(json.dumps(ics_verdicts(ics_summary(internal_shift(seeds=seeds)))))"),
    "lesson 5, generalization gap and tiny batches": (
        "from bn_teach.lessons.l05_regularization import gap_verdicts, grid_verdicts, seed_sweep\n"
        "r = load_sweep('l05_regularization')['results'] if stored else seed_sweep(seeds=seeds)\n"
        "print(json.dumps({**gap_verdicts(r['gap']), **grid_verdicts(r['grid'])}))"),
    "lesson 6, noisy BN, smoothness, largest stable learning rate": (
        "from bn_teach.lessons.l06_why_batchnorm_works import seed_sweep, all_verdicts\n"
        "results = load_sweep('l06_why_batchnorm_works')['results'] if stored else seed_sweep(seeds=seeds)\n"
        "print(json.dumps(all_verdicts(results)))"),
}


def _verdicts(code, seeds, drop_blas_pin=False, stored=False):
    env = dict(os.environ)
    if drop_blas_pin:
        env.pop("OPENBLAS_CORETYPE", None)
    program = ("import json, sys\nfrom bn_teach.sweeps import load_sweep\n"
               "seeds, stored = tuple(json.loads(sys.argv[1])), sys.argv[2] == 'stored'\n" + code)
    out = subprocess.run([sys.executable, "-c", program, json.dumps(list(seeds)), "stored" if stored else "computed"],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", VERDICTS)
def test_verdicts_hold_on_five_other_seeds_and_another_blas_kernel(name):
    """The lessons print verdicts from seeds 0-4 with OpenBLAS's Haswell kernel pinned; the same comparisons must
    give the same verdicts on seeds 5-9, and on seeds 0-4 with the kernel OpenBLAS picks itself."""
    stored = _verdicts(VERDICTS[name], (0, 1, 2, 3, 4), stored=True)
    assert _verdicts(VERDICTS[name], (5, 6, 7, 8, 9)) == stored
    assert _verdicts(VERDICTS[name], (0, 1, 2, 3, 4), drop_blas_pin=True) == stored
