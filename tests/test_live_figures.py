"""The live figures as a student meets them: every "Try this" prompt answerable from the figure at the settings it
names, no plotted value outside its axes at any setting, no legend over the data, no stale numbers after a refused
setting, no "-0.00".

The prompts' tests build each explorer on the lesson's own experiment (the notebook's call, same arguments), drive
the controls kernel-side as a student would, and read what the figure shows: titles, texts, bar heights, lines.
"""
import re

import matplotlib

matplotlib.use("Agg")

import ipywidgets as widgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import StepPatch  # noqa: E402

from bn_teach.lessons import l01_normalizing_inputs as l01  # noqa: E402
from bn_teach.lessons import l02_inside_batchnorm as l02  # noqa: E402
from bn_teach.lessons import l03_training_speed as l03  # noqa: E402
from bn_teach.lessons import l04_black_cats as l04  # noqa: E402
from bn_teach.lessons import l05_regularization as l05  # noqa: E402
from bn_teach.lessons import l06_why_batchnorm_works as l06  # noqa: E402
from bn_teach.plots import (all_axes, data_outside_axes, fit_histogram, fmt, histogram_bars, legend_covers_data,  # noqa: E402
                            new_figure, use_lesson_style)
from bn_teach.sweeps import load_sweep  # noqa: E402
from bn_teach.widgets import Live, every_setting  # noqa: E402


# --- the lessons' experiments, as the notebooks run them (built once per module) ---------------------------------

@pytest.fixture(scope="module", autouse=True)
def lesson_style():
    use_lesson_style()  # as every lesson's setup cell: the sizes the checks measure are the students' sizes


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")  # each explorer opens a figure; pyplot warns past 20 open ones


@pytest.fixture(scope="module")
def speed_grid():
    return l03.train_grid(steps=100, width=32, seed=0)  # notebook 03, the cell before the explorer


@pytest.fixture(scope="module")
def bias_sweep():
    return l04.severity_sweep()  # notebook 04


@pytest.fixture(scope="module")
def norm_grid():
    return load_sweep("l05_regularization")["results"]["grid"]  # notebook 05: the stored 5-seed grid


@pytest.fixture(scope="module")
def noise_runs():
    """Lesson 6's explorer data, shortened (no prompt of lesson 6 is checked on these numbers, only the figure)."""
    return l06.strength_sweep(strengths=(0.0, 0.5, 1.0, 1.5, 2.0), steps=100), l06.noisy_bn_experiment(steps=100)


def texts_of(fig):
    """Every visible string of a figure: titles and texts."""
    out = [ax.get_title() for ax in all_axes(fig)]
    out += [t.get_text() for ax in all_axes(fig) for t in ax.texts if t.get_visible()]
    return out + [t.get_text() for t in fig.texts if t.get_visible()]


def assert_readable(live):
    """The checks that hold at every setting: nothing plotted off its axes, no legend over data, no "-0.00", and
    the figure no wider than a notebook's output area (800 px at the lesson style's 80 dpi; a wider canvas is cut
    off on the right in JupyterLab)."""
    fig = live.fig
    assert fig.get_size_inches()[0] * fig.dpi <= 800, fig.get_size_inches()
    assert data_outside_axes(fig) == [], (live.values(), data_outside_axes(fig))
    assert legend_covers_data(fig) == [], (live.values(), legend_covers_data(fig))
    assert not any("-0.00" in t for t in texts_of(fig)), texts_of(fig)


def steps_in_title(ax):
    return int(re.search(r"([\d,]+) steps", ax.get_title()).group(1).replace(",", ""))


# --- the reusable checks themselves -----------------------------------------------------------------------------

def test_data_outside_axes_finds_lines_bars_and_texts_that_leave_the_axes():
    fig, ax = new_figure()
    ax.set(xlim=(0, 10), ylim=(0, 1))
    line, = ax.plot([1, 2, 3], [0.5, 0.5, 0.5], label="inside")
    bar, = ax.bar([5], [0.5])
    text = ax.text(8, 0.5, "note")
    assert data_outside_axes(fig) == []
    line.set_ydata([0.5, 1.5, 0.5])
    bar.set_height(2.0)
    text.set_y(3.0)
    found = " ".join(data_outside_axes(fig))
    assert "inside (1 points outside)" in found and "Rectangle" in found and "note" in found


def test_legend_covers_data_finds_a_legend_over_a_bar():
    fig, ax = new_figure()
    ax.bar([0, 1, 2], [0.9, 0.9, 0.9], label="bars")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper right")
    assert legend_covers_data(fig)
    fig2, ax2 = new_figure()
    ax2.bar([0, 1, 2], [0.2, 0.2, 0.2], label="bars")
    ax2.set_ylim(0, 1)
    ax2.legend(loc="upper right")
    assert legend_covers_data(fig2) == []


def test_fmt_never_prints_minus_zero():
    assert fmt(-0.001) == "0.00" and fmt(-0.006) == "-0.01" and fmt(0.0) == "0.00" and fmt(2.345, 1) == "2.3"


def test_fit_histogram_keeps_every_value_and_every_bar_inside_its_axes():
    fig, ax = new_figure()
    bars = histogram_bars(ax, np.linspace(-7, 7, 57), "C0")
    values = np.array([-7.0, 0.1, 0.1, 0.1, 8.26])  # one beyond the usual range, a spike taller than the usual top
    heights = fit_histogram(bars, values, -7.0, 7.0, 0.25, floor=1.2)
    assert np.isclose(np.sum(heights * 0.25), 1.0)  # nothing dropped
    assert ax.get_xlim()[1] >= 8.26 and ax.get_ylim()[1] >= heights.max()
    assert data_outside_axes(fig) == []
    fit_histogram(bars, [0.0, 1.0], -7.0, 7.0, 0.25, floor=1.2)
    assert ax.get_xlim() == (-7.0, 7.0) and ax.get_ylim() == (0.0, 2.2)  # back to the usual range, taller for 2 values


def test_a_refused_setting_blanks_the_figure_then_a_good_one_restores_it():
    fig, ax = new_figure()
    ax.set_title("static title")
    note = ax.text(0.5, 0.5, "", transform=ax.transAxes)

    def update(n):
        if n == 1:
            raise ValueError("n = 1 is not possible")
        note.set_text(f"n = {n}")

    live = Live(fig, update, n=widgets.IntSlider(value=3, min=1, max=5))
    live.set(n=1)
    assert live.last_error is not None
    assert texts_of(fig) == ["", "Not possible at this setting:\nsee the message above the figure"]
    live.set(n=2)
    assert texts_of(fig) == ["static title", "n = 2"]


# --- no data hidden, at every setting of every live figure -------------------------------------------------------

def explorers(request):
    """(name, factory) of every live figure of every lesson, on the data its notebook gives it."""
    return {
        "l01 landscape": lambda: l01.landscape_explorer(),
        "l02 batch": lambda: l02.batch_explorer(),
        "l02 noise": lambda: l02.batch_noise_explorer(),
        "l03 speed": lambda: l03.speed_explorer(request.getfixturevalue("speed_grid")),
        "l04 bias": lambda: l04.bias_explorer(request.getfixturevalue("bias_sweep")),
        "l05 batch size": lambda: l05.batch_size_explorer(request.getfixturevalue("norm_grid")),
        "l06 noise": lambda: l06.noisy_bn_explorer(*request.getfixturevalue("noise_runs")),
    }


@pytest.mark.parametrize("name", ["l01 landscape", "l02 batch", "l02 noise", "l03 speed", "l04 bias",
                                  "l05 batch size", "l06 noise"])
def test_every_setting_shows_all_its_data(request, name):
    """Every combination of the controls' extremes and middles (every option of a menu or selection slider):
    every plotted value inside its axes, no legend over the data, no "-0.00"."""
    live = explorers(request)[name]()
    settings = every_setting(live)
    assert len(settings) >= 5
    for values in settings:
        live.set(**values)
        if live.last_error is None:
            assert_readable(live)


def test_every_lesson_explorer_is_checked():
    """A new explorer in a lesson module must be added to the list above."""
    import inspect

    names = [f"{m.__name__}.{n}" for m in (l01, l02, l03, l04, l05, l06) for n, f in inspect.getmembers(m)
             if n.endswith("_explorer") and inspect.isfunction(f)]
    assert len(names) == 7, names


# --- lesson 1 -----------------------------------------------------------------------------------------------------

def test_lesson1_prompts():
    """"at ratio 1, is there still a difference between raw and standardized? Which of scaled and min-max
    converges faster?" Both answers are in the panels' titles."""
    live = l01.landscape_explorer()
    ax_raw, ax_pre = live.fig.axes[:2]
    live.set(ratio=1.0, method="standardized")
    assert steps_in_title(ax_raw) > 100 * steps_in_title(ax_pre)
    live.set(method="scaled")
    scaled = steps_in_title(ax_pre)
    live.set(method="min-max")
    minmax = steps_in_title(ax_pre)
    assert max(scaled, minmax) > 1.5 * min(scaled, minmax)
    assert_readable(live)


def test_lesson1_path_is_visible_at_ratio_100_and_counts_have_separators():
    live = l01.landscape_explorer()
    live.set(ratio=100.0)
    assert re.search(r"\d,\d{3},\d{3} steps", live.fig.axes[0].get_title())
    insets = live.fig.axes[0].child_axes
    assert len(insets) == 1 and "zoomed" in insets[0].get_title()
    path = insets[0].lines[0].get_xydata()
    x0, x1 = insets[0].get_xlim()
    assert np.ptp(path[:, 0]) > 0.5 * (x1 - x0)  # the path fills the inset
    assert_readable(live)
    live.set(ratio=1.0)
    assert live.fig.axes[0].child_axes == []  # no inset where the path is long enough to see


# --- lesson 2 -----------------------------------------------------------------------------------------------------

def output_histogram(live):
    ax = live.fig.axes[1]
    bars = next(p for p in ax.patches if isinstance(p, StepPatch))
    heights, edges = bars.get_data().values, bars.get_data().edges
    return heights, (edges[:-1] + edges[1:]) / 2


def min_max(live):
    m = re.search(r"min (\S+), max (\S+)", live.fig.axes[1].texts[0].get_text())
    return float(m.group(1)), float(m.group(2))


def test_lesson2_prompts():
    """"set gamma to 0 (the feature switches off), to a negative value (it flips), batch size to 2 (every batch
    becomes exactly -1 and +1) and to 1 (BatchNorm refuses)"."""
    live = l02.batch_explorer()
    live.set(gamma=0.0, beta=0.5)
    heights, centres = output_histogram(live)
    assert np.count_nonzero(heights) == 1 and abs(centres[heights > 0][0] - 0.5) <= 0.125
    assert "std 0.00" in live.fig.axes[1].get_title() and "gamma = 0" in live.message.value
    assert_readable(live)  # the spike (density 4) inside the axis
    live.set(gamma=1.0, beta=0.0)
    lo, hi = min_max(live)
    live.set(gamma=-1.0)
    assert min_max(live) == (-hi, -lo) and lo != -hi  # flipped, and the skewed batch is not symmetric
    live.set(gamma=1.0, batch_size=2)
    heights, centres = output_histogram(live)
    assert np.count_nonzero(heights) == 2 and min_max(live) == (-1.0, 1.0)
    assert_readable(live)
    live.set(batch_size=1)
    assert "batch size 1" in str(live.last_error)


def test_lesson2_refusal_leaves_no_stale_numbers():
    live = l02.batch_explorer()
    live.set(gamma=3.0, beta=3.0)
    assert "mean 3.00" in live.fig.axes[1].get_title()
    live.set(batch_size=1)
    shown = texts_of(live.fig)
    assert not any(re.search(r"mean|min|outside", t) for t in shown), shown
    assert any("Not possible" in t for t in shown)
    heights, _ = output_histogram(live)
    assert not heights.any()
    live.set(batch_size=64)
    shown = texts_of(live.fig)
    assert "the batch, before BN" in shown and any("after BN: mean 3.00" in t for t in shown)
    assert not any("Not possible" in t for t in shown)


def test_lesson2_noise_prompt_quadrupling_halves_the_spread():
    """"Quadrupling the batch size halves the spread ... Move the slider": the title gives the spread."""
    live = l02.batch_noise_explorer()
    spreads = {}
    for b in (8, 32, 128):
        live.set(batch_size=b)
        spreads[b] = float(re.search(r"spread (\S+)", live.fig.axes[0].get_title()).group(1))
        assert_readable(live)
    assert 1.6 < spreads[8] / spreads[32] < 2.5 and 1.6 < spreads[32] / spreads[128] < 2.5


# --- lesson 3 -----------------------------------------------------------------------------------------------------

def accuracies(live, **values):
    """(without BN, with BN) final test accuracy as the accuracy panel's title states them (BN toggle on)."""
    live.set(batchnorm=True, **values)
    assert_readable(live)
    m = re.search(r"with BN: (\d+)% \(other: (\d+)%\)", live.fig.axes[1].get_title())
    return int(m.group(2)) / 100, int(m.group(1)) / 100


def test_lesson3_prompt1_init_scale_moves_only_the_network_without_bn(speed_grid):
    """"(1) with 3 hidden layers, batch size 128 and learning rate 2, set init scale 0.5, 1 and 2: which network's
    accuracy moves with it?\""""
    live = l03.speed_explorer(speed_grid)
    acc = [accuracies(live, depth=3, batch_size=128, lr=2.0, init_scale=s) for s in (0.5, 1.0, 2.0)]
    plain, bn = zip(*acc)
    assert np.ptp(plain) > 0.4 and np.ptp(bn) < 0.05


def test_lesson3_prompt2_learning_rate_8_depends_on_depth_in_100_steps(speed_grid):
    """"(2) Learning rate 8, batch size 128, with and without BN, with 1 hidden layer and then 3": with 1 both
    train; with 3, in the explorer's 100 steps, only the BN network does."""
    live = l03.speed_explorer(speed_grid)
    plain1, bn1 = accuracies(live, lr=8.0, batch_size=128, init_scale=1.0, depth=1)
    plain3, bn3 = accuracies(live, depth=3)
    assert plain1 > 0.8 and bn1 > 0.8
    assert plain3 < 0.3 and bn3 > 0.9


def test_lesson3_prompt3_small_learning_rate_hurts_the_network_without_bn_more(speed_grid):
    """"(3) With 1 hidden layer, compare learning rate 0.1 with 2, at batch size 16 and at 128: ... which network is
    hurt more by the small learning rate? (With 3 hidden layers and init scale 1, the network without BN stays near chance at learning rate
    0.1 whatever the batch size.)\""""
    live = l03.speed_explorer(speed_grid)
    for bs in (16, 128):
        assert accuracies(live, depth=3, init_scale=1.0, batch_size=bs, lr=0.1)[0] < 0.15
        plain_small, bn_small = accuracies(live, depth=1, init_scale=1.0, batch_size=bs, lr=0.1)
        plain_big, bn_big = accuracies(live, lr=2.0)
        assert plain_big - plain_small > 2 * (bn_big - bn_small) and plain_big - plain_small > 0.2


# --- lesson 4 -----------------------------------------------------------------------------------------------------

def test_lesson4_prompt_grey_cats_drop_below_90_before_ginger(bias_sweep):
    """"at which bias does the grey cats' accuracy first drop below 90 %? Why would grey be hit before ginger?"
    The bars carry their values and a 90 % line is drawn."""
    live = l04.bias_explorer(bias_sweep)
    ax = live.fig.axes[0]
    assert any(np.allclose(line.get_ydata(), 0.9) and "90" in line.get_label() for line in ax.lines)
    colours = [t.get_text() for t in ax.get_xticklabels()]
    first_below = None
    for severity in bias_sweep:
        live.set(severity=severity)
        assert_readable(live)
        cats = {c: bar for c, bar in zip(colours, ax.containers[0])}
        labels = {t.get_position()[0]: t.get_text() for t in ax.texts}
        grey = cats["grey"]
        assert labels[grey.get_x() + grey.get_width() / 2] == f"{grey.get_height():.0%}"
        if first_below is None and grey.get_height() < 0.9:
            first_below = severity
            assert cats["ginger"].get_height() >= 0.9  # grey is hit first
    assert first_below is not None and first_below > min(bias_sweep)


# --- lesson 5 -----------------------------------------------------------------------------------------------------

def test_lesson5_prompt_train_mode_bar_beside_eval_mode_bar_and_the_gap_closes(norm_grid):
    """"at which batch size does BatchNorm's train-mode bar come closest to its eval-mode bar? Why does the gap
    close as B grows (from batch size 4 up)?\""""
    live = l05.batch_size_explorer(norm_grid)
    ax = live.fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    i_eval, i_train = ticks.index("BatchNorm\neval mode"), ticks.index("BatchNorm\ntrain mode")
    assert i_train == i_eval + 1  # side by side
    assert any("chance" in line.get_label() for line in ax.lines)
    gaps = {}
    for b in (2, 4, 8, 32, 128):
        live.set(batch_size=b)
        assert_readable(live)
        bars = ax.containers[0]
        gaps[b] = abs(bars[i_eval].get_height() - bars[i_train].get_height())
        assert f"{100 * gaps[b]:.1f} points" in ax.get_title()
    assert min(gaps, key=gaps.get) == 128
    assert gaps[4] > gaps[8] > gaps[32] > gaps[128]


# --- lesson 6 -----------------------------------------------------------------------------------------------------

def test_lesson6_noisy_bn_at_strength_0_does_not_hide_the_bn_line(noise_runs):
    live = l06.noisy_bn_explorer(*noise_runs)
    live.set(strength=0.0)
    ax_acc = live.fig.axes[0]
    bn, noisy = [next(line for line in ax_acc.lines if line.get_label() == k) for k in ("bn", "noisy bn")]
    assert np.allclose(bn.get_ydata(), noisy.get_ydata())  # the same network ...
    assert noisy.get_linestyle() == "--" and bn.get_linestyle() == "-"  # ... drawn so that both show
    assert "strength 0" in live.message.value
    colours = {line.get_label(): matplotlib.colors.to_rgb(line.get_color()) for line in ax_acc.lines}
    assert np.abs(np.subtract(colours["plain"], colours["noisy bn"])).sum() > 0.5  # not orange against vermillion
