"""The "black cats" dataset: generator, bookkeeping, bad arguments, the data/ files, and the effect it exists for."""
import copy
import json

import numpy as np
import pytest

from bn_teach import MLP, BatchNorm
from bn_teach.cats import (FUR_COLORS, DATA_DIR, NOT_BLACK, SPLITS, CatsData, Standardizer, array_checksums, features,
                           flatten, load_split, make_cats, make_split, plot_preview, to_arrays)
from bn_teach import adabn
from bn_teach.lessons.l04_black_cats import evaluate, shift_experiment

BIASED = dict(cat_colors="black", dog_colors=NOT_BLACK)
STORED = ("train", "test", "test_colors", "test_lighting")


def arrays_of(d):
    return d.images, d.labels, d.colors, d.masks


def assert_identical(a, b):
    for x, y in zip(arrays_of(a), arrays_of(b)):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()


# ---------------------------------------------------------------------------------------------------------------
# generator


@pytest.mark.parametrize("size", [16, 23, 32])
def test_shapes_dtypes_and_ranges(size):
    d = make_cats(50, size=size, seed=3, **BIASED)
    assert d.images.shape == (50, size, size, 3) and d.images.dtype == np.float32
    assert d.images.min() >= 0.0 and d.images.max() <= 1.0
    assert d.labels.shape == (50,) and d.labels.dtype == np.int64 and set(np.unique(d.labels)) <= {0, 1}
    assert d.colors.shape == (50,) and set(d.colors) <= set(FUR_COLORS)
    assert d.masks.shape == (50, size, size) and d.masks.dtype == bool
    area = d.masks.mean(axis=(1, 2))
    assert area.min() > 0.15 and area.max() < 0.6  # an animal in every image, never filling it
    assert d.flatten().shape == (50, size * size * 3)
    assert len(d) == 50 and "50 images" in repr(d)


def test_zero_images():
    d = make_cats(0)
    assert d.images.shape == (0, 16, 16, 3) and d.labels.shape == (0,) and d.features().shape == (0, 3)


def test_same_arguments_and_seed_give_identical_bytes():
    kw = dict(cat_colors={"black": 3, "grey": 1}, dog_colors=NOT_BLACK, lighting=0.5, severity=0.7, size=20)
    assert_identical(make_cats(300, seed=11, **kw), make_cats(300, seed=11, **kw))
    other = make_cats(300, seed=12, **kw)
    assert not np.array_equal(make_cats(300, seed=11, **kw).images, other.images)


def test_severity_zero_is_no_shift():
    neutral = make_cats(400, seed=5)
    shifted = make_cats(400, seed=5, lighting=-1.0, severity=0.0, **BIASED)
    assert_identical(neutral, shifted)
    full = make_cats(400, seed=5, lighting=-1.0, **BIASED)
    assert not np.array_equal(full.colors, neutral.colors)
    assert np.array_equal(full.labels, neutral.labels)  # the labels come first: the shift leaves them alone


def test_colour_bookkeeping():
    d = make_cats(2000, seed=1, **BIASED)
    assert set(d.colors[d.labels == 1]) == {"black"}
    assert set(d.colors[d.labels == 0]) == set(NOT_BLACK)
    neutral = make_cats(4000, seed=2)
    for lab in (0, 1):
        freq = np.array([np.mean(neutral.colors[neutral.labels == lab] == c) for c in FUR_COLORS])
        np.testing.assert_allclose(freq, 0.2, atol=0.04)  # ~2000 draws each: 4 standard errors
    assert set(neutral.counts()) == {(lab, c) for lab in ("cat", "dog") for c in FUR_COLORS}


def test_colour_proportions_and_severity_mix():
    d = make_cats(6000, cat_colors={"black": 3, "white": 1}, dog_colors="ginger", seed=4)
    cats = d.colors[d.labels == 1]
    assert set(cats) == {"black", "white"} and abs(np.mean(cats == "black") - 0.75) < 0.03
    # severity 0.5: half uniform, half requested -> black cats 0.5 * 0.2 + 0.5 * 1 = 0.6
    half = make_cats(6000, severity=0.5, seed=4, **BIASED)
    assert abs(np.mean(half.colors[half.labels == 1] == "black") - 0.6) < 0.03
    assert abs(np.mean(half.colors[half.labels == 0] == "black") - 0.1) < 0.02


@pytest.mark.parametrize("fraction", [0.0, 0.3, 1.0])
def test_cat_fraction(fraction):
    d = make_cats(3000, cat_fraction=fraction, seed=6)
    assert abs(d.labels.mean() - fraction) < 0.03
    if fraction in (0.0, 1.0):
        assert np.all(d.labels == fraction)


def test_fur_colour_is_in_the_pixels():
    d = make_cats(1500, seed=7)
    bright, warm = d.features()[:, 0], d.features()[:, 1]
    mean = {c: bright[d.colors == c].mean() for c in FUR_COLORS}
    assert mean["black"] < mean["brown"] < mean["grey"] < mean["white"]
    assert mean["ginger"] > mean["brown"]
    warmth = {c: warm[d.colors == c].mean() for c in FUR_COLORS}
    assert min(warmth["ginger"], warmth["brown"]) > 0.2 > 0.1 > max(abs(warmth[c]) for c in ("black", "grey", "white"))


def test_lighting_is_an_exact_affine_map_of_whole_images():
    base = make_cats(200, seed=8, **BIASED)
    dim = make_cats(200, seed=8, lighting=-1.0, **BIASED)
    washed = make_cats(200, seed=8, lighting=0.5, **BIASED)
    np.testing.assert_array_equal(dim.images, base.images * np.float32(0.4))
    np.testing.assert_allclose(washed.images, base.images * 0.7 + 0.3, atol=1e-6)
    half = make_cats(200, seed=8, lighting=-1.0, severity=0.5)  # severity scales the lighting too
    np.testing.assert_array_equal(half.images, make_cats(200, seed=8).images * np.float32(0.7))
    for d in (dim, washed):
        assert np.array_equal(d.labels, base.labels) and np.array_equal(d.colors, base.colors)
        assert np.array_equal(d.masks, base.masks)
        assert d.images.min() >= 0 and d.images.max() <= 1


def test_features_show_both_shifts():
    d = make_cats(2000, seed=9)
    f = d.features()
    assert f.shape == (2000, 3) and f.dtype == np.float64
    cue_cat, cue_dog = f[d.labels == 1, 2], f[d.labels == 0, 2]
    np.testing.assert_allclose([cue_cat.mean(), cue_dog.mean()], [1.0, -1.0], atol=0.1)
    assert np.mean((f[:, 2] > 0) == (d.labels == 1)) > 0.99  # the shape cue separates the classes
    dim = make_cats(2000, seed=9, lighting=-1.0).features()
    np.testing.assert_allclose(dim[:, 0], 0.4 * f[:, 0], rtol=1e-5)  # brightness scaled, shape cue untouched
    np.testing.assert_array_equal(dim[:, 2], f[:, 2])


def test_flatten_and_standardizer():
    d = make_cats(100, seed=10)
    x = flatten(d.images)
    assert x.shape == (100, 768) and x.dtype == np.float64
    st = Standardizer().fit(x)
    z = st.transform(x)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-9)
    assert np.all(z.std(axis=0) <= 1.0) and np.median(z.std(axis=0)) > 0.9
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        flatten(x)
    with pytest.raises(ValueError, match=r"\(M, 768\)"):
        st.transform(x[:, :10])
    with pytest.raises(RuntimeError, match="before fit"):
        Standardizer().transform(x)


def test_standardizer_saves_memory_but_not_a_bit_of_the_numbers():
    """fit's row-by-row std is NumPy's x.std(axis=0) to the last bit (the lessons' stored numbers depend on it), and
    transform(copy=False) standardizes x in place to the same values as transform(x)."""
    rng = np.random.default_rng(0)
    for x in (load_split("train").flatten(), rng.normal(3.0, 7.0, (1001, 13)), rng.normal(size=(5, 1))):
        st = Standardizer().fit(x)
        assert np.array_equal(st.mean, x.mean(axis=0)) and np.array_equal(st.std, x.std(axis=0))
        z = st.transform(x)
        assert np.array_equal(z, (x - x.mean(axis=0)) / (x.std(axis=0) + st.eps)) and z is not x
        own = x.copy()
        assert st.transform(own, copy=False) is own and np.array_equal(own, z)


def test_subset_keeps_the_attributes_aligned():
    d = make_cats(300, seed=13)
    ginger = d.subset(d.colors == "ginger")
    assert set(ginger.colors) == {"ginger"} and len(ginger) == np.sum(d.colors == "ginger")
    np.testing.assert_array_equal(ginger.images, d.images[d.colors == "ginger"])
    assert isinstance(ginger, CatsData) and ginger.info == d.info


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n=-1), ValueError, "n must be an int >= 0"),
    (dict(n=2.5), ValueError, "n must be an int >= 0"),
    (dict(n=True), ValueError, "n must be an int >= 0"),
    (dict(size=8), ValueError, r"size must be an int in \[16, 32\]"),
    (dict(size=33), ValueError, r"size must be an int in \[16, 32\]"),
    (dict(size=16.0), ValueError, "size must be an int"),
    (dict(severity=-0.1), ValueError, r"severity must be a number in \[0, 1\]"),
    (dict(severity=1.5), ValueError, r"severity must be a number in \[0, 1\]"),
    (dict(severity=float("nan")), ValueError, "severity"),
    (dict(lighting=1.2), ValueError, r"lighting must be a number in \[-1, 1\]"),
    (dict(lighting="dim"), ValueError, "lighting"),
    (dict(cat_fraction=1.01), ValueError, r"cat_fraction must be a number in \[0, 1\]"),
    (dict(cat_fraction=-0.5), ValueError, "cat_fraction"),
    (dict(cat_colors="purple"), ValueError, "cat_colors: unknown colour 'purple'; expected one of black"),
    (dict(dog_colors=["grey", "tabby"]), ValueError, "dog_colors: unknown colour 'tabby'"),
    (dict(cat_colors=[]), ValueError, "cat_colors is empty"),
    (dict(cat_colors={}), ValueError, "cat_colors is empty"),
    (dict(dog_colors={"grey": 0}), ValueError, "dog_colors is empty"),
    (dict(dog_colors={"grey": -1.0}), ValueError, "weight of 'grey' must be a finite number >= 0"),
    (dict(cat_colors=5), TypeError, "cat_colors must be None, a colour name"),
    (dict(seed=-3), ValueError, "seed must be an int >= 0"),
    (dict(seed=1.5), ValueError, "seed must be an int >= 0"),
])
def test_bad_arguments_give_clear_errors(kwargs, error, match):
    kwargs = {"n": 10, **kwargs}
    with pytest.raises(error, match=match):
        make_cats(kwargs.pop("n"), **kwargs)


def test_bad_split_and_feature_arguments():
    with pytest.raises(ValueError, match="unknown split 'validation'"):
        make_split("validation")
    with pytest.raises(ValueError, match="unknown split"):
        load_split("validation")
    with pytest.raises(FileNotFoundError, match="make_data.py"):
        load_split("train", data_dir=DATA_DIR / "no-such-dir")
    d = make_cats(5)
    with pytest.raises(ValueError, match=r"masks \(N, H, W\)"):
        features(d.images, d.masks[:, :8])


# ---------------------------------------------------------------------------------------------------------------
# data/: the files are what the generator makes


@pytest.mark.parametrize("name", STORED)
def test_data_files_match_regenerated_checksums(name):
    stored = json.loads((DATA_DIR / "checksums.json").read_text())["splits"][name]
    regenerated = to_arrays(make_split(name))
    assert array_checksums(regenerated) == stored
    with np.load(DATA_DIR / f"{name}.npz", allow_pickle=False) as f:
        assert array_checksums({k: f[k] for k in f.files}) == stored
        assert f["images"].dtype == np.uint8 and f["labels"].dtype == np.uint8 and f["colors"].dtype == np.uint8
    assert_identical(load_split(name), make_split(name))
    assert json.loads(str(regenerated["info"]))["seed"] == SPLITS[name]["seed"]


def test_data_dir_is_small_and_documented():
    total = sum(p.stat().st_size for p in DATA_DIR.rglob("*") if p.is_file())
    assert total <= 5e6, f"data/ holds {total / 1e6:.2f} MB"
    card = (DATA_DIR / "README.md").read_text()
    for name in STORED + ("train_balanced", "preview.png", "checksums.json"):
        assert name in card
    assert (DATA_DIR / "preview.png").stat().st_size > 10_000


def test_preview_has_a_cell_per_split_class_and_colour():
    import matplotlib.pyplot as plt

    fig = plot_preview({"train": make_split("train", n=200), "test_colors": make_split("test_colors", n=200)})
    assert len(fig.axes) == 4 * len(FUR_COLORS)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count("none") == len(FUR_COLORS)  # train: no cat of 4 colours, no black dog
    plt.close(fig)


# ---------------------------------------------------------------------------------------------------------------
# AdaBN


def small_bn_net(seed=0):
    return MLP(768, [32, 16], 2, norm="batch", seed=seed)


def test_adabn_sets_running_statistics_to_the_new_data():
    x = flatten(make_cats(512, seed=14).images)
    model = small_bn_net()
    weights = [w.copy() for w in (model[0].W, model[3].W)]
    model.layers[1].momentum = 0.3
    adabn(model, x, batch_size=128)
    bn = model.layers[1]
    z = x @ model[0].W + model[0].b  # what the first BatchNorm sees
    batches = z.reshape(4, 128, -1)
    np.testing.assert_allclose(bn.running_mean, z.mean(axis=0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn.running_var, batches.var(axis=1, ddof=1).mean(axis=0), rtol=1e-10)
    assert bn.num_batches_tracked == 4 and bn.momentum == 0.3 and model.layers[4].momentum == 0.1
    assert not model.training and not bn.training
    np.testing.assert_array_equal(model[0].W, weights[0])
    np.testing.assert_array_equal(model[3].W, weights[1])


def test_adabn_absorbs_a_global_lighting_change_exactly():
    """x -> a x + b moves every first-layer pre-activation by a per-unit affine map, which batch statistics undo."""
    base = make_cats(400, seed=15)
    dim = make_cats(400, seed=15, lighting=-1.0)
    st = Standardizer().fit(base.flatten())
    x, x_dim = st.transform(base.flatten()), st.transform(dim.flatten())
    model = small_bn_net(1)
    a = copy.deepcopy(model)
    adabn(a, x)
    b = adabn(copy.deepcopy(model), x_dim)
    np.testing.assert_allclose(b.predict_logits(x_dim), a.predict_logits(x), rtol=1e-3, atol=1e-4)
    assert not np.allclose(model.predict_logits(x_dim), model.predict_logits(x), atol=1e-3)


def test_adabn_bad_arguments():
    with pytest.raises(ValueError, match="no BatchNorm layer"):
        adabn(MLP(4, [3], 2), np.zeros((8, 4)))
    with pytest.raises(ValueError, match="N >= 2"):
        adabn(MLP(4, [3], 2, norm="batch"), np.zeros((1, 4)))
    with pytest.raises(ValueError, match="batch_size"):
        adabn(MLP(4, [3], 2, norm="batch"), np.zeros((8, 4)), batch_size=0)
    assert isinstance(adabn(BatchNorm(4), np.ones((5, 4)) * np.arange(5)[:, None]), BatchNorm)


def test_shift_experiment_bad_arguments():
    d = make_cats(50)
    with pytest.raises(TypeError, match="train_data must be a CatsData"):
        shift_experiment(d.images, {"t": d})
    with pytest.raises(TypeError, match="tests must be a non-empty dict"):
        shift_experiment(d, [d])
    with pytest.raises(ValueError, match="variants"):
        shift_experiment(d, {"t": d}, variants=("dropout",))
    with pytest.raises(TypeError, match=r"tests\['t'\] returned ndarray"):
        shift_experiment(d, {"t": lambda: d.images}, steps=2, batch_size=16)


def test_shift_experiment_loads_a_test_split_when_it_evaluates_it():
    d = make_cats(60, seed=3)
    given = shift_experiment(d, {"t": d}, steps=5, batch_size=16, variants=("no BN", "BN + AdaBN"))
    lazy = shift_experiment(d, {"t": lambda: d}, steps=5, batch_size=16, variants=("no BN", "BN + AdaBN"))
    assert lazy.accuracy == given.accuracy and lazy.per_group == given.per_group


# ---------------------------------------------------------------------------------------------------------------
# the effect


@pytest.fixture(scope="module")
def tests_splits():
    return {name: load_split(name) for name in ("test", "test_colors", "test_lighting")}


def test_black_cats_effect(tests_splits):
    """Trained on black cats (and non-black dogs): >= 90% in distribution, >= 15 points lost on every colour."""
    res = shift_experiment(load_split("train"), tests_splits, variants=("no BN",))
    acc = res.accuracy["no BN"]
    assert acc["test"] >= 0.90
    assert res.drop("no BN", "test_colors") >= 15.0
    groups = res.per_group["no BN"]["test_colors"]
    # the shortcut: non-black cats are called dogs, black dogs are called cats
    assert np.mean([groups[("cat", c)] for c in NOT_BLACK]) < 0.5 and groups[("dog", "black")] < 0.5
    test = tests_splits["test"]
    overall, per_color, _ = evaluate(res.models["no BN"], res.standardizer.transform(test.flatten()), test)
    assert set(per_color) == set(FUR_COLORS)
    weights = [np.mean(test.colors == c) for c in per_color]
    assert overall == pytest.approx(np.dot(weights, list(per_color.values())))


def test_control_unbiased_training_learns_the_shape(tests_splits):
    """The same network trained on every colour for both classes classifies every colour well: the shape is
    learnable, so the drop above comes from the bias, not from a hard task."""
    res = shift_experiment(make_split("train_balanced"), {"test_colors": tests_splits["test_colors"]},
                           variants=("no BN",))
    assert res.accuracy["no BN"]["test_colors"] >= 0.90
    assert min(res.per_color["no BN"]["test_colors"].values()) >= 0.85
