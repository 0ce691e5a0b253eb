"""The lessons' helper modules: their numbers, and every live figure swept over its extreme settings."""
import json

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bn_teach import samples  # noqa: E402
from bn_teach.lessons import l02_inside_batchnorm as l02  # noqa: E402


def sweep_messages(live):
    """Sweep every control; return {(control, value): error message or None}. Other exceptions propagate."""
    return {(name, value): (str(err) if err else None) for name, value, err in live.sweep()}


def test_inside_explorers_handle_every_extreme():
    msgs = sweep_messages(l02.batch_explorer())
    assert "batch size 1" in msgs[("batch_size", 1)]
    assert all(m is None for (name, _), m in msgs.items() if name != "batch_size")
    live = l02.batch_explorer()
    live.set(batch_size=2, gamma=0.0)
    assert live.last_error is None and "gamma = 0" in live.message.value
    assert all(m is None for m in sweep_messages(l02.batch_noise_explorer()).values())


def test_step_by_step_matches_batchnorm_and_is_not_in_0_1():
    x = samples.sample_activations(64, "skewed", seed=0)
    s = l02.bn_step_by_step(x)
    np.testing.assert_allclose(s["xhat"], (x - x.mean()) / np.sqrt(x.var() + 1e-5))
    d = l02.describe(s["xhat"])
    assert d["outside [0, 1]"] > 0.5 and d["min"] < 0


@pytest.mark.parametrize("dist", samples.DISTRIBUTIONS)
def test_batch_mean_spread_follows_one_over_sqrt_b(dist):
    sizes, spread, _, sigma = samples.batch_mean_spread(dist, n_batches=3000)
    np.testing.assert_allclose(spread, sigma / np.sqrt(sizes), rtol=0.1)


def test_gamma_beta_are_learned_and_running_stats_converge():
    g, b = l02.learn_gamma_beta(target_std=2.0, target_mean=3.0)
    assert (g[0], b[0]) == (1.0, 0.0) and abs(g[-1] - 2) < 0.01 and abs(b[-1] - 3) < 0.01
    rm, rv, m, v = l02.running_stats_trace(steps=200)
    assert abs(rm[-1] - m) < 0.3 and abs(rv[-1] - v) / v < 0.3 and rm[0] < 1.0


def test_unknown_distribution_is_named():
    with pytest.raises(ValueError, match="distribution must be one of"):
        samples.sample_activations(10, "cauchy")


def test_speed_explorer_sweeps_and_reports_divergence():
    from bn_teach.lessons import l03_training_speed as l03

    grid = {"lr": (0.5, 500.0), "init_scale": (1.0,), "depth": (1, 2), "batch_size": (16,)}
    results = l03.train_grid(steps=20, width=8, grid=grid)
    assert len(results) == 2 * 1 * 2 * 1 * 2
    live = l03.speed_explorer(results, grid=grid)
    assert all(err is None for _, _, err in live.sweep())
    live.set(lr=500.0)
    assert any(h.diverged for h in results.values()) == ("diverged" in live.message.value)


def test_figure1_bn_reaches_the_target_sooner_and_drifts_less():
    from bn_teach.lessons import l03_training_speed as l03

    runs = l03.figure1(steps=300, record_every=10)
    plain, bn = runs["plain"][0], runs["bn"][0]
    assert bn.steps_to(0.9) is not None and (plain.steps_to(0.9) is None or bn.steps_to(0.9) < plain.steps_to(0.9))
    assert abs(runs["bn"][1].drift(window=1)["median shift"]) < abs(runs["plain"][1].drift(window=1)["median shift"])


def test_inputs_standardizing_conditions_the_problem_best():
    from bn_teach.lessons import l01_normalizing_inputs as l01

    for ratio in (1, 10, 100):
        res = l01.compare_methods(ratio)
        assert res["standardized"][0] == pytest.approx(1.0, rel=0.05)
        assert res["standardized"][1] <= min(res[m][1] for m in ("raw", "scaled", "min-max"))
    assert l01.compare_methods(100)["raw"][1] > 50 * l01.compare_methods(10)["raw"][1]


def test_inputs_steps_to_converge_agrees_with_simulation():
    from bn_teach.lessons import l01_normalizing_inputs as l01

    x, y = l01.make_problem(3.0)
    q = l01.Quadratic(l01.preprocess(x, "scaled"), y)
    n = q.steps_to_converge(tol=1e-4)
    path = q.path(n)
    gap0 = q.loss(path[0]) - q.loss(q.opt)
    assert q.loss(path[n]) - q.loss(q.opt) <= 1e-4 * gap0 + 1e-12
    assert q.loss(path[n - 1]) - q.loss(q.opt) > 1e-4 * gap0


def test_inputs_explorer_and_bad_arguments():
    from bn_teach.lessons import l01_normalizing_inputs as l01

    assert all(err is None for _, _, err in l01.landscape_explorer().sweep())
    with pytest.raises(ValueError, match="method must be one of"):
        l01.preprocess(np.ones((3, 2)), "robust")
    with pytest.raises(ValueError, match="ratio"):
        l01.make_problem(0.0)


def test_covariate_bias_sweep_and_explorer():
    from bn_teach.lessons import l04_black_cats as l04

    sweep = l04.severity_sweep(severities=(0.0, 1.0), steps=300)
    assert sweep[0.0][0] > 0.9 and sweep[1.0][0] < 0.7  # unbiased training works; the perfect bias collapses
    assert sweep[1.0][1]["black"] > 0.9 and sweep[1.0][1]["ginger"] < 0.2
    assert all(err is None for _, _, err in l04.bias_explorer(sweep).sweep())


def test_internal_shift_recorders_and_drift():
    from bn_teach.lessons import l04_black_cats as l04

    ics = l04.internal_shift(hidden=(16, 16), steps=100, seeds=(0, 1))
    assert set(ics) == {0, 1}
    recs = ics[0]
    assert set(recs) == {"plain", "bn", "bn input", "gradient plain", "gradient bn"}
    assert recs["bn input"].mean[-1].shape == (10, 16) and recs["gradient bn"].steps == [50, 100]
    # BN's output has mean beta exactly over the probe batch, so it moves only as fast as beta is learned (after
    # 100 steps about a fifth of the plain network's; the lesson's 600 steps give a fifteenth)
    assert recs["bn"].drift(relative=True)["jitter"] < 0.5 * recs["plain"].drift(relative=True)["jitter"]
    summary = l04.ics_summary(ics)
    assert summary["bn"]["jitter"].n == 2 and set(l04.ics_verdicts(summary).values()) <= {
        "lower", "higher", "no measurable difference"}
    assert "gradient-based" in l04.ics_table(summary)


def test_regularization_helpers():
    from bn_teach.lessons import l05_regularization as l05

    train_logits, eval_logits = l05.companion_effect(batch_size=4, n_batches=5)
    assert train_logits.std() > 0.1 and eval_logits.std() < 1e-9
    grid = l05.batch_size_grid(batch_sizes=(2, 32), samples=2000, seeds=(0, 1))
    assert len(grid["batch"]["2"]["test"]) == 2 and "train_mode" not in grid["layer"]["2"]
    assert max(grid["batch"]["2"]["test"]) < min(grid["layer"]["2"]["test"])  # BN breaks with pairs, LN does not
    verdicts = l05.grid_verdicts(grid)
    assert verdicts["batch 2: BatchNorm vs LayerNorm/GroupNorm"] == "lower"
    assert set(verdicts.values()) <= {"lower", "higher", "no measurable difference"}
    stored = json.loads(json.dumps(grid, sort_keys=True))  # a stored sweep's keys come sorted as text: "128" < "2"
    assert list(l05.grid_verdicts(stored).items()) == list(verdicts.items())
    assert l05.grid_table(stored) == l05.grid_table(grid)
    assert "+" in l05.compare_with_wu_he(grid, batch_sizes=(32, 2)).splitlines()[-1]
    one = {n: {b: {k: v[:1] for k, v in cell.items()} for b, cell in by_b.items()} for n, by_b in grid.items()}
    pairs = [cell.split("/") for line in l05.grid_seed0(one, grid).splitlines()[2:] for cell in line.split()[1:]]
    assert len(pairs) == 2 * 5 and all(live == stored for live, stored in pairs)
    live = l05.batch_size_explorer(grid)
    assert all(err is None for _, _, err in live.sweep())
    live.set(batch_size=2)
    assert "batch size 2" in live.message.value
    gap = l05.generalization_gap(n_train=100, batch_sizes=(8, 32), seeds=(0, 1), steps=100)
    assert set(gap) == {"none", "batch"} and len(gap["batch"]["8"]["train"]) == 2
    assert set(l05.gap_verdicts(gap, small=8, large=32)) == {"gap, BN vs none, batch 8", "gap, BN, batch 8 vs 32"}
    assert "batch 32  ratio per seed" in l05.gap_comparison_text(gap, small=8, large=32)
    assert "seed 0 gap" in l05.gap_table(gap, live=gap)
    stored = json.loads(json.dumps(gap, sort_keys=True))
    assert l05.gap_comparison_text(stored, small=8, large=32) == l05.gap_comparison_text(gap, small=8, large=32)
    assert l05.gap_table(stored) == l05.gap_table(gap)


def test_noisy_shift_layer_and_gradients():
    from bn_teach.lessons.l06_why_batchnorm_works import NoisyShift, make_net

    layer = NoisyShift(3, strength=1.0, seed=0)
    x = np.ones((4, 3))
    y1, y2 = layer.forward(x), layer.forward(x)
    assert not np.allclose(y1, y2)  # fresh noise at every step
    dy = np.random.default_rng(0).normal(size=(4, 3))
    a, b = NoisyShift(3, seed=5), NoisyShift(3, seed=5)  # same noise: y(2x) - y(x) = scale * x
    scale = b.forward(2 * x)[0] - a.forward(x)[0]
    np.testing.assert_allclose(a.backward(dy), dy * scale)
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x), x)
    net = make_net("noisy bn", hidden=(5,))
    assert [type(m).__name__ for m in net.layers] == ["Linear", "BatchNorm", "NoisyShift", "ReLU", "Linear"]
    control = make_net("noisy plain", hidden=(5, 4), activation="sigmoid")  # the same noise, no BN
    assert [type(m).__name__ for m in control.layers] == ["Linear", "NoisyShift", "Sigmoid", "Linear", "NoisyShift",
                                                          "Sigmoid", "Linear"]
    with pytest.raises(ValueError, match="kind"):
        make_net("dropout")


def test_smoothness_probe_leaves_the_network_alone_and_lr_sweep():
    from bn_teach.lessons import l06_why_batchnorm_works as l06
    from bn_teach.digits import load_digits_split

    xtr, ytr, _, _ = load_digits_split()
    net = l06.make_net("bn", hidden=(8,))
    before = [p.copy() for p in (getattr(m, n) for m, n in net.parameters())]
    r, b = l06.smoothness_probe(net, xtr[:32], ytr[:32], (0.1, 0.2))
    assert r >= 0 and b >= 0
    for p0, (m, n) in zip(before, net.parameters()):
        np.testing.assert_array_equal(p0, getattr(m, n))
    acc, best = l06.max_stable_lr(lrs=(0.1, 1000.0), steps=30)
    assert best["bn"] == 0.1
    assert np.isnan(acc["plain"][1]) or acc["plain"][1] < 0.5


def test_noise_explorer_sweeps_and_reused_strengths_are_the_runs_they_replace():
    from bn_teach.lessons import l06_why_batchnorm_works as l06

    runs = l06.noisy_bn_experiment(steps=60, kinds=("plain", "bn", "noisy bn"))
    sweep = l06.strength_sweep(strengths=(0.0, 1.0, 2.0), steps=30, runs=runs)
    fresh = l06.strength_sweep(strengths=(0.0, 1.0), steps=30)
    for s in (0.0, 1.0):  # cut from the 60-step runs = trained for 30 steps
        (h, rec), (h2, rec2) = sweep[s], fresh[s]
        assert (h.step, h.test_acc, h.step_loss, rec.steps) == (h2.step, h2.test_acc, h2.step_loss, rec2.steps)
        np.testing.assert_array_equal(rec.mean[-1], rec2.mean[-1])
    assert all(err is None for _, _, err in l06.noisy_bn_explorer(sweep, runs).sweep())


def test_lesson6_verdicts_follow_the_ranges():
    from bn_teach.lessons import l06_why_batchnorm_works as l06

    # a run that never reached 90 % counts as later than every run that did
    assert l06._steps_verdict([None, None], [900, 1100], 1500) == "later"
    assert l06._steps_verdict([40, 80], [40, 40], 1500) == "no measurable difference"
    assert l06._steps_verdict([40, 50], [980, None], 1500) == "sooner"
    stable = {"stable_lr": {"lrs": [0.25, 0.5, 1.0], "largest": {"plain": [0.25, 0.5], "bn": [1.0, 1.0]}}}
    summary = l06.stable_lr_summary(stable)
    assert (summary["ratio"].lo, summary["ratio"].hi, summary["ratio low"].lo, summary["ratio high"].hi) == (2, 4, 1, 8)
    assert l06.stable_lr_verdicts(stable) == {"largest stable lr, bn vs plain": "higher",
                                              "largest stable lr, bn / plain per seed": "higher"}
    at = l06.eval_steps(1500)
    assert at[:2] == [10, 20] and 500 in at and 510 not in at and at[-2:] == [1475, 1500] and l06.eval_steps(7) == [7]
    rec = l06.Recorder(every=1)
    rec.steps, rec._mean, rec._std = [1, 2, 3], [[np.array([0.0]), np.array([1.0]), np.array([3.0])]], \
        [[np.array([2.0])] * 3]
    assert l06.input_jitter(rec) == pytest.approx(0.75)  # mean |change| 1.5, over the spread 2


def test_live_figure_is_laid_out_once_then_keeps_its_layout():
    from bn_teach.plots import new_figure

    fig, ax = new_figure(figsize=(6, 3), layout="constrained")  # as under the lesson style
    before = ax.get_position().bounds  # the default subplot box, before any layout ran
    _ = ax.set(xlabel="x", ylabel="y", title="t")
    from bn_teach.widgets import Live
    import ipywidgets as widgets

    live = Live(fig, lambda n: ax.set_title(f"n = {n}") and None, n=widgets.IntSlider(value=1, min=1, max=5))
    laid_out = ax.get_position().bounds
    assert laid_out != before, "constrained layout did not run for the first state"
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    assert not isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    live.set(n=5)
    fig.canvas.draw()
    assert ax.get_position().bounds == laid_out


def test_practice_rotation_follows_one_over_c_squared_and_explorer_sweeps():
    from bn_teach.lessons import l07_batchnorm_in_practice as l07

    a1, n1, e1 = l07.rotation_per_step(1.0)
    a2, n2, e2 = l07.rotation_per_step(2.0)
    assert a1 / a2 == pytest.approx(4.0, rel=0.02) and n2 == pytest.approx(2 * n1) and e1 == pytest.approx(4 * e2)
    for c, change, _, ratio in l07.scale_invariance(scales=(0.5, 2.0)):
        assert change < 1e-2 and ratio == pytest.approx(1.0, abs=1e-2)
    assert all(err is None for _, _, err in l07.rotation_explorer(scales=np.geomspace(0.1, 10, 5)).sweep())


def test_practice_folding_and_its_limits():
    from bn_teach import MLP
    from bn_teach.lessons import l07_batchnorm_in_practice as l07

    net = MLP(6, [5], 3, norm="batch", seed=0)
    x = np.random.default_rng(0).normal(size=(8, 6))
    net.forward(x)  # running statistics that are not 0 and 1
    diff, _, before, after = l07.fold_comparison(net, x)
    assert diff < 1e-12 and (before, after) == (4, 3)
    grad, change = l07.bias_before_bn(net, x, np.arange(8) % 3)
    assert grad < 1e-12 and change < 1e-12
    with pytest.raises(ValueError, match="Linear or Conv2d"):
        l07.fold_network(MLP(6, [5], 3, norm="batch", norm_position="after"))


def test_practice_momentum_conventions():
    from bn_teach.lessons import l07_batchnorm_in_practice as l07

    summary = l07.momentum_summary(l07.three_momentums(steps=200))
    torch_steps, torch_noise = summary["PyTorch momentum=0.1"]
    assert summary["Keras momentum=0.99"][0] is None or summary["Keras momentum=0.99"][0] > torch_steps
    assert summary["0.99 typed into PyTorch"][1] > 3 * torch_noise
