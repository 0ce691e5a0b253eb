"""The "black cats" dataset: small procedural images of cats and dogs whose fur colour is a chosen attribute.

    data = make_cats(2000, cat_colors="black", dog_colors=["grey", "white", "ginger", "brown"], seed=0)
    data.images   (N, H, W, 3) float32 in [0, 1]      data.labels  (N,) int64, 0 = dog, 1 = cat
    data.colors   (N,) str, the fur colour            data.masks   (N, H, W) bool, the animal's pixels
    data.features()  (N, 3): fur brightness, fur warmth, ear cue (see FEATURE_NAMES)

The class is carried by shape only: a cat has pointed ears standing up, a dog has floppy ears hanging down, a
light muzzle and a large nose. Everything else (size, position, tilt, background, noise, eye colour as a function
of fur colour) is drawn from the same distribution for both classes. Two shifts can be put in on purpose:

- a colour bias tied to the label: `cat_colors` and `dog_colors` say which fur colours each class may have, and
  in what proportions (train on black cats only; test on every colour);
- a lighting shift of whole images, independent of the label: every pixel becomes a * x + b (`lighting` < 0
  dims, > 0 washes out; both lower the contrast).

`severity` in [0, 1] scales both: 0 gives the neutral distribution (every colour equally likely for both
classes, normal lighting), byte for byte whatever the other arguments; 1 gives the requested distribution.
"""
import hashlib
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FUR_COLORS = ("black", "grey", "white", "ginger", "brown")
FUR_RGB = np.array([
    [0.10, 0.09, 0.10],  # black
    [0.52, 0.52, 0.55],  # grey
    [0.94, 0.93, 0.89],  # white
    [0.92, 0.52, 0.16],  # ginger
    [0.47, 0.29, 0.15],  # brown
], dtype=np.float32)
FEATURE_NAMES = ("fur brightness", "fur warmth (R - B)", "ear cue (+1 cat, -1 dog)")
LABELS = ("dog", "cat")
MIN_SIZE, MAX_SIZE = 16, 32
LIGHTING_STRENGTH = 0.6  # lighting = -1 maps x -> 0.4 x; lighting = +1 maps x -> 0.4 x + 0.6
DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@dataclass(eq=False)
class CatsData:
    """Images, labels and fur colours of one split, with the arguments that generated it (`info`)."""

    images: np.ndarray
    labels: np.ndarray
    colors: np.ndarray
    masks: np.ndarray
    info: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.labels)

    def __repr__(self):
        n_cat = int(self.labels.sum())
        return (f"CatsData({len(self)} images {self.images.shape[1]}x{self.images.shape[2]}, "
                f"{n_cat} cats, {len(self) - n_cat} dogs)")

    def flatten(self):
        """The images as rows, shape (N, H * W * 3), float64 (what an MLP takes)."""
        return flatten(self.images)

    def features(self):
        """Low-dimensional view, shape (N, 3): see `features`."""
        return features(self.images, self.masks)

    def subset(self, index):
        """A new CatsData with the images selected by `index` (a boolean mask or integer indices)."""
        return CatsData(self.images[index], self.labels[index], self.colors[index], self.masks[index],
                        dict(self.info))

    def counts(self):
        """{(label name, colour): number of images} for every combination present."""
        out = {}
        for lab in (1, 0):
            for c in FUR_COLORS:
                k = int(np.count_nonzero((self.labels == lab) & (self.colors == c)))
                if k:
                    out[(LABELS[lab], c)] = k
        return out


# ---------------------------------------------------------------------------------------------------------------
# arguments


def _color_weights(spec, name):
    """Probability vector over FUR_COLORS from None (all equally), a colour name, a list of names, or {name: weight}."""
    if spec is None:
        return np.full(len(FUR_COLORS), 1.0 / len(FUR_COLORS))
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, dict):
        items = list(spec.items())
    else:
        try:
            items = [(c, 1.0) for c in spec]
        except TypeError:
            raise TypeError(f"{name} must be None, a colour name, a list of colour names or a dict "
                            f"{{colour: weight}}, got {type(spec).__name__}") from None
    w = np.zeros(len(FUR_COLORS))
    for c, weight in items:
        if c not in FUR_COLORS:
            raise ValueError(f"{name}: unknown colour {c!r}; expected one of {', '.join(FUR_COLORS)}")
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not np.isfinite(weight) \
                or weight < 0:
            raise ValueError(f"{name}: the weight of {c!r} must be a finite number >= 0, got {weight!r}")
        w[FUR_COLORS.index(c)] += weight
    if w.sum() <= 0:
        raise ValueError(f"{name} is empty: give at least one colour with a positive weight (got {spec!r})")
    return w / w.sum()


def _check_fraction(value, name, low=0.0, high=1.0):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _check_count(n, name):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"{name} must be an int >= 0, got {n!r}")
    return int(n)


# ---------------------------------------------------------------------------------------------------------------
# drawing: signed distances (negative inside) turned into anti-aliased coverage


def _ellipse(x, y, a, b):
    """Approximate signed distance to the ellipse (x/a)^2 + (y/b)^2 = 1."""
    return (np.sqrt((x / a) ** 2 + (y / b) ** 2) - 1.0) * np.minimum(a, b)


def _triangle(x, t, half_width, length):
    """Signed distance to the triangle with base from (-half_width, 0) to (half_width, 0) and apex (0, length)."""
    side = ((np.abs(x) - half_width) * length + t * half_width) / np.sqrt(length ** 2 + half_width ** 2)
    return np.maximum(side, -t)


def _coverage(d, pixel):
    """Fraction of a pixel covered by the shape with signed distance d (linear ramp one pixel wide)."""
    return np.clip(0.5 - d / pixel, 0.0, 1.0)


def _paint(img, alpha, rgb):
    """img <- img * (1 - alpha) + rgb * alpha in place; img (N, H, W, 3), alpha (N, H, W), rgb (N, 1, 1, 3)."""
    a = alpha[..., None]
    img *= 1.0 - a
    img += a * rgb


def _draw(p, size):
    """Render images (N, H, W, 3) and masks (N, H, W) from per-image parameters `p` (dict of (N,) arrays)."""
    f32 = np.float32
    n = len(p["label"])
    pixel = f32(1.0 / size)
    grid = (np.arange(size, dtype=f32) + f32(0.5)) / f32(size) - f32(0.5)  # pixel centres in [-0.5, 0.5]
    X, Y = grid[None, None, :], grid[None, :, None]

    def col(name):  # a per-image parameter shaped to broadcast against (N, H, W)
        return p[name].astype(f32)[:, None, None]

    # background: a wall colour, a floor below a horizon, a soft vertical gradient
    img = np.empty((n, size, size, 3), f32)
    wall, floor = p["wall"].astype(f32)[:, None, None, :], p["floor"].astype(f32)[:, None, None, :]
    below = _coverage(col("horizon") - Y, pixel)[..., None]
    img[:] = wall * (1 - below) + floor * below
    img *= (1.0 + col("gradient") * Y)[..., None]

    s = col("scale")
    fur = p["fur"].astype(f32)[:, None, None, :]
    shade = (1.0 - f32(0.25) * (Y - col("cy")) / s)[..., None]  # light from above
    cat = col("label") > 0.5

    # body: a sitting ellipse under the head
    bx, by = X - col("cx"), Y - (col("cy") + f32(0.22) * s)
    body = _coverage(_ellipse(bx, by, f32(0.25) * s * col("body_w"), f32(0.2) * s), pixel)
    # head frame: centred on the head, tilted, in units of the animal's scale
    hx, hy = X - (col("cx") + col("lean") * s), Y - (col("cy") - f32(0.12) * s)
    cos_t, sin_t = np.cos(col("tilt")), np.sin(col("tilt"))
    u = (cos_t * hx + sin_t * hy) / s
    v = (-sin_t * hx + cos_t * hy) / s
    r = f32(0.21)
    head = _coverage(_ellipse(u, v, r, np.where(cat, r, f32(0.22))), pixel / s)
    # ears: cats' stand up as triangles, dogs' hang down as long ellipses at the sides of the head
    ears = np.zeros_like(head)
    alpha_ear = col("ear_angle")
    for side in (-1.0, 1.0):
        ca, sa = np.cos(alpha_ear), side * np.sin(alpha_ear)
        ex, ey = u - f32(0.7) * r * sa, v + f32(0.7) * r * ca  # from the ear's base, inside the head
        t = ex * sa - ey * ca  # along the ear, outwards
        w = ex * ca + ey * sa  # across the ear
        up = _triangle(w, t, f32(0.105), f32(0.3) * r + col("ear_len"))
        dx, dy = u - f32(side * 0.2), v - f32(0.06)
        droop = f32(side * 0.3)
        down = _ellipse(np.cos(droop) * dx + np.sin(droop) * dy, -np.sin(droop) * dx + np.cos(droop) * dy,
                        f32(0.075), f32(0.16))
        ears = np.maximum(ears, _coverage(np.where(cat, up, down), pixel / s))
    _paint(img, body, fur * shade)
    _paint(img, ears, fur * shade * f32(0.8))
    _paint(img, head, fur * shade)
    # face: a light muzzle (dogs), eyes, a nose (large and dark for dogs, small and pink for cats)
    muzzle = _coverage(_ellipse(u, v - f32(0.1), f32(0.1), f32(0.085)), pixel / s) * (~cat)
    _paint(img, muzzle, fur * f32(0.55) + f32(0.45))
    eye_rgb = p["eye"].astype(f32)[:, None, None, :]
    for side in (-1.0, 1.0):
        _paint(img, _coverage(_ellipse(u - f32(side * 0.085), v + f32(0.02), f32(0.04), f32(0.045)), pixel / s),
               eye_rgb)
    nose_r = np.where(cat, f32(0.03), f32(0.05))
    nose = _coverage(_ellipse(u, v - np.where(cat, f32(0.08), f32(0.07)), nose_r * f32(1.2), nose_r), pixel / s)
    nose_rgb = np.where(cat[..., None], np.array([0.85, 0.45, 0.5], f32), np.array([0.06, 0.05, 0.05], f32))
    _paint(img, nose, nose_rgb)
    masks = np.maximum(np.maximum(body, head), ears) >= 0.5
    return img, masks


def _draw_in_chunks(p, size, chunk=256):
    """`_draw` `chunk` images at a time: every image is drawn on its own, so the pixels are the same, and the
    temporary arrays a tenth of the size for a training set (a worker process stays small)."""
    n = len(p["label"])
    images, masks = np.empty((n, size, size, 3), np.float32), np.empty((n, size, size), bool)
    for start in range(0, n, chunk):
        part = {name: values[start:start + chunk] for name, values in p.items()}
        images[start:start + chunk], masks[start:start + chunk] = _draw(part, size)
    return images, masks


# ---------------------------------------------------------------------------------------------------------------
# the generator


def make_cats(n, *, cat_colors=None, dog_colors=None, lighting=0.0, severity=1.0, cat_fraction=0.5, size=16,
              seed=0):
    """Generate `n` images of cats and dogs; returns a `CatsData`.

    Parameters
    ----------
    n : int >= 0, number of images.
    cat_colors, dog_colors : which fur colours each class may have, and in what proportions: None (all of
        FUR_COLORS equally), a colour name, a list of names (equally likely) or a dict {name: weight}.
    lighting : float in [-1, 1], a global change of every image, x -> a * x + b with
        a = 1 - 0.6 * |lighting| * severity, and b = 0 (lighting < 0, dimmer) or b = 1 - a (lighting > 0,
        washed out). Images stay in [0, 1] without clipping.
    severity : float in [0, 1]. The colour proportions used are (1 - severity) * uniform + severity * requested,
        and the lighting is scaled by severity: 0 means no shift at all (the neutral distribution).
    cat_fraction : float in [0, 1], the expected fraction of cats (each label is drawn independently).
    size : int in [16, 32], images are size x size pixels.
    seed : int >= 0, seed of np.random.default_rng. Same arguments and seed, byte-identical arrays.

    Returns
    -------
    CatsData with images (n, size, size, 3) float32 in [0, 1], labels (n,) int64 (0 dog, 1 cat), colors (n,)
    str, masks (n, size, size) bool (pixels at least half covered by the animal) and info (these arguments).
    """
    n = _check_count(n, "n")
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be an int in [{MIN_SIZE}, {MAX_SIZE}], got {size!r}")
    severity = _check_fraction(severity, "severity")
    lighting = _check_fraction(lighting, "lighting", -1.0, 1.0)
    cat_fraction = _check_fraction(cat_fraction, "cat_fraction")
    uniform = np.full(len(FUR_COLORS), 1.0 / len(FUR_COLORS))
    probs = [(1.0 - severity) * uniform + severity * _color_weights(spec, name)
             for spec, name in ((dog_colors, "dog_colors"), (cat_colors, "cat_colors"))]
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    rng = np.random.default_rng(seed)

    # every draw below has a fixed size, whatever the colour and lighting arguments: severity 0 is byte-exact
    label = (rng.random(n) < cat_fraction).astype(np.int64)
    u_color = rng.random(n)
    color = np.empty(n, np.int64)
    for lab in (0, 1):
        cdf = np.cumsum(probs[lab])
        cdf /= cdf[-1]
        idx = np.minimum(np.searchsorted(cdf, u_color, side="right"), len(FUR_COLORS) - 1)
        color[label == lab] = idx[label == lab]
    fur = np.clip(FUR_RGB[color] + rng.normal(0.0, 0.025, (n, 3)), 0.0, 1.0)
    luminance = fur @ np.array([0.299, 0.587, 0.114])
    eye = np.where((luminance < 0.35)[:, None], [0.85, 0.8, 0.25], [0.12, 0.1, 0.08])
    hue = rng.random((n, 2))
    p = dict(
        label=label, fur=fur, eye=eye,
        scale=rng.uniform(0.8, 1.0, n), cx=rng.uniform(-0.07, 0.07, n), cy=rng.uniform(-0.05, 0.05, n),
        tilt=rng.uniform(-0.3, 0.3, n), lean=rng.uniform(-0.06, 0.06, n), body_w=rng.uniform(0.8, 1.15, n),
        ear_angle=rng.uniform(0.35, 0.6, n), ear_len=rng.uniform(0.13, 0.19, n),
        wall=_hsv(hue[:, 0], rng.uniform(0.15, 0.45, n), rng.uniform(0.35, 0.8, n)),
        floor=_hsv(hue[:, 1], rng.uniform(0.15, 0.45, n), rng.uniform(0.3, 0.7, n)),
        horizon=rng.uniform(0.1, 0.4, n), gradient=rng.uniform(-0.3, 0.3, n),
    )
    noise_level = rng.uniform(0.02, 0.06, n).astype(np.float32)
    images, masks = _draw_in_chunks(p, size)
    images += rng.standard_normal(images.shape, dtype=np.float32) * noise_level[:, None, None, None]
    np.clip(images, 0.0, 1.0, out=images)
    a = np.float32(1.0 - LIGHTING_STRENGTH * abs(lighting) * severity)
    if a != 1.0:
        images *= a
        if lighting > 0:
            images += np.float32(1.0) - a
            np.minimum(images, 1.0, out=images)  # float32 rounding of a * 1 + (1 - a)
    info = dict(n=n, cat_colors=_spec_repr(cat_colors), dog_colors=_spec_repr(dog_colors), lighting=lighting,
                severity=severity, cat_fraction=cat_fraction, size=int(size), seed=int(seed))
    return CatsData(images, label, np.array(FUR_COLORS)[color], masks, info)


def _hsv(h, s, v):
    """RGB (N, 3) from hue, saturation, value arrays (N,), all in [0, 1]."""
    k = (np.array([5.0, 3.0, 1.0]) + h[:, None] * 6.0) % 6.0
    return v[:, None] - (v * s)[:, None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _spec_repr(spec):
    """The colour argument in plain JSON-able types, for `info`."""
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, dict):
        return {str(c): float(w) for c, w in spec.items()}
    if isinstance(spec, (set, frozenset)):  # no order of its own: use FUR_COLORS'
        return [c for c in FUR_COLORS if c in spec]
    return [str(c) for c in spec]


# ---------------------------------------------------------------------------------------------------------------
# views and helpers


def flatten(images):
    """Images (N, H, W, 3) as rows (N, H * W * 3), float64."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {images.shape}")
    return images.reshape(len(images), -1).astype(np.float64)


class Standardizer:
    """Per-input standardization with statistics of the training set: z = (x - mean) / (std + eps)."""

    def __init__(self, eps=1e-3):
        self.eps = eps
        self.mean = self.std = None

    def fit(self, x):
        """Learn mean and std per column of x (N, D); returns self. The std is `x.std(axis=0)` to the last bit (the
        same sum of squared deviations, row after row), without a temporary copy of x."""
        x = np.asarray(x, np.float64)
        self.mean = x.mean(axis=0)
        squares = np.zeros_like(self.mean)
        deviation = np.empty_like(self.mean)
        for row in x:
            np.subtract(row, self.mean, out=deviation)
            deviation *= deviation
            squares += deviation
        squares /= max(len(x), 1)
        self.std = np.sqrt(squares)
        return self

    def transform(self, x, copy=True):
        """Standardize x (M, D) with the fitted statistics. copy=False standardizes x itself when it is a float64
        array (no second array of its size); the result is the same."""
        if self.mean is None:
            raise RuntimeError("Standardizer.transform called before fit")
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.mean.shape[0]:
            raise ValueError(f"x must have shape (M, {self.mean.shape[0]}), got {x.shape}")
        z = x.astype(np.float64, copy=copy)
        z -= self.mean
        z /= self.std + self.eps
        return z


def features(images, masks):
    """Three interpretable numbers per image, shape (N, 3), float64 (names in FEATURE_NAMES):

    0. fur brightness: mean luminance 0.299 R + 0.587 G + 0.114 B over the animal's pixels (masks);
    1. fur warmth: mean R - B over the animal's pixels (ginger and brown > 0; black, grey, white near 0);
    2. ear cue: how much the silhouette, centred on its centroid, overlaps where a cat's ears stand up rather
       than where a dog's ears hang down, scaled so that the average cat scores +1 and the average dog -1.
       The template (average cat outline minus average dog outline) comes from a fixed neutral reference
       sample; see `ear_template`.
    """
    images, masks = np.asarray(images), np.asarray(masks, bool)
    if images.ndim != 4 or images.shape[-1] != 3 or masks.shape != images.shape[:3]:
        raise ValueError(f"images must be (N, H, W, 3) and masks (N, H, W), got {images.shape} and {masks.shape}")
    if images.shape[1] != images.shape[2] or not MIN_SIZE <= images.shape[1] <= MAX_SIZE:
        raise ValueError(f"images must be square, {MIN_SIZE} to {MAX_SIZE} pixels, got {images.shape[1:3]}")
    m = masks.astype(np.float64)
    area = np.maximum(m.sum(axis=(1, 2)), 1.0)
    rgb = np.einsum("nhwc,nhw->nc", images.astype(np.float64), m) / area[:, None]
    brightness = rgb @ np.array([0.299, 0.587, 0.114])
    warmth = rgb[:, 0] - rgb[:, 2]
    template, cat_score, dog_score = ear_template(images.shape[1])
    score = np.einsum("nhw,hw->n", _centred(m), template)
    ear_cue = (score - (cat_score + dog_score) / 2) / ((cat_score - dog_score) / 2)
    return np.stack([brightness, warmth, ear_cue], axis=1)


def _centred(m):
    """Masks (N, H, W) shifted by whole pixels so that each centroid lands on the image centre (zero padding)."""
    n, h, w = m.shape
    ys, xs = np.arange(h), np.arange(w)
    total = np.maximum(m.sum(axis=(1, 2)), 1.0)
    dy = np.rint(m.sum(axis=2) @ ys / total - (h - 1) / 2).astype(np.int64)
    dx = np.rint(m.sum(axis=1) @ xs / total - (w - 1) / 2).astype(np.int64)
    yy, xx = ys[None, :, None] + dy[:, None, None], xs[None, None, :] + dx[:, None, None]
    inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    return m[np.arange(n)[:, None, None], np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)] * inside


_TEMPLATES = {}


def ear_template(size, n=2000, seed=12345):
    """(template (size, size), mean cat score, mean dog score): the centred average cat silhouette minus the
    centred average dog silhouette, from `n` neutral images (every colour, no lighting shift, fixed seed)."""
    key = (size, n, seed)
    if key not in _TEMPLATES:
        ref = make_cats(n, cat_colors=None, dog_colors=None, size=size, seed=seed)
        c = _centred(ref.masks.astype(np.float64))
        cat, dog = ref.labels == 1, ref.labels == 0
        template = c[cat].mean(axis=0) - c[dog].mean(axis=0)
        scores = np.einsum("nhw,hw->n", c, template)
        _TEMPLATES[key] = (template, scores[cat].mean(), scores[dog].mean())
    return _TEMPLATES[key]


# ---------------------------------------------------------------------------------------------------------------
# the canonical splits in data/ and their files

NOT_BLACK = ("grey", "white", "ginger", "brown")
SPLITS = {
    # the biased training set: every cat is black, no dog is
    "train": dict(n=2500, cat_colors="black", dog_colors=NOT_BLACK, seed=1),
    # in distribution: drawn like the training set
    "test": dict(n=1000, cat_colors="black", dog_colors=NOT_BLACK, seed=2),
    # label-tied shift: every colour equally likely for both classes
    "test_colors": dict(n=1000, cat_colors=None, dog_colors=None, seed=3),
    # input-statistics shift: drawn like the training set, then every image dimmed (x -> 0.4 x)
    "test_lighting": dict(n=1000, cat_colors="black", dog_colors=NOT_BLACK, lighting=-1.0, seed=4),
    # the control: an unbiased training set (every colour for both classes)
    "train_balanced": dict(n=2500, cat_colors=None, dog_colors=None, seed=5),
}


def color_index(colors):
    """Indices into FUR_COLORS of an array of colour names."""
    colors = np.asarray(colors)
    index = np.argmax(colors[:, None] == np.array(FUR_COLORS)[None, :], axis=1)
    unknown = ~np.isin(colors, FUR_COLORS)
    if unknown.any():
        raise ValueError(f"unknown colour {colors[unknown][0]!r}; expected one of {', '.join(FUR_COLORS)}")
    return index


def make_split(name, **overrides):
    """Regenerate canonical split `name` (a key of SPLITS); keyword arguments override its recipe.

    The images are rounded to multiples of 1/255, as stored, so make_split(name) equals load_split(name).
    """
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
    kwargs = {**SPLITS[name], **overrides}
    data = make_cats(kwargs.pop("n"), **kwargs)
    data.images = np.rint(data.images * np.float32(255)) / np.float32(255)
    return data


def to_arrays(data):
    """The arrays stored for a split: images as uint8 (round(255 x)), labels and colour indices as uint8,
    masks as bool, the colour names, and the generating arguments as a JSON string."""
    return {
        "images": np.rint(data.images * np.float32(255)).astype(np.uint8),
        "labels": data.labels.astype(np.uint8),
        "colors": color_index(data.colors).astype(np.uint8),
        "masks": data.masks.astype(bool),
        "color_names": np.array(FUR_COLORS),
        "info": np.array(json.dumps(data.info, sort_keys=True)),
    }


def from_arrays(arrays):
    """A CatsData (images float32 = uint8 / 255) from arrays as written by `to_arrays`."""
    names = np.asarray(arrays["color_names"])
    return CatsData(arrays["images"].astype(np.float32) / np.float32(255), arrays["labels"].astype(np.int64),
                    names[arrays["colors"]], arrays["masks"].astype(bool), json.loads(str(arrays["info"])))


def array_checksums(arrays):
    """{name: "sha256:<hex>"} of each array's raw bytes (C order), with its dtype and shape folded in."""
    out = {}
    for name, a in sorted(arrays.items()):
        a = np.ascontiguousarray(a)
        h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
        out[name] = "sha256:" + h.hexdigest()
    return out


def load_split(name, data_dir=None):
    """Load canonical split `name` from data/<name>.npz (written by scripts/make_data.py) as a CatsData."""
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; expected one of {', '.join(SPLITS)}")
    path = Path(data_dir or DATA_DIR) / f"{name}.npz"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: run `python scripts/make_data.py` to write the splits")
    with np.load(path, allow_pickle=False) as f:
        return from_arrays({k: f[k] for k in f.files})


# ---------------------------------------------------------------------------------------------------------------
# a look at the data


def montage(images, gap=1):
    """Images (k, H, W, 3) side by side in one (H, k * (W + gap) - gap, 3) array, white between them."""
    k, h, w, _ = images.shape
    out = np.ones((h, k * (w + gap) - gap, 3), np.float32)
    for i in range(k):
        out[:, i * (w + gap):i * (w + gap) + w] = images[i]
    return out


def plot_preview(splits, per_cell=3):
    """A grid of samples: one row per (split, class), one column per fur colour, `per_cell` images per cell
    (the first ones of that group). Cells with no such image say so. `splits` is {name: CatsData}.
    Returns the matplotlib figure (not shown)."""
    import matplotlib.pyplot as plt

    rows = [(name, lab) for name in splits for lab in (1, 0)]
    with plt.ioff():
        fig, axes = plt.subplots(len(rows), len(FUR_COLORS), figsize=(1.9 * len(FUR_COLORS), 0.78 * len(rows) + 0.5),
                                 squeeze=False, layout="constrained")
    fig.get_layout_engine().set(w_pad=0.02, h_pad=0.02, wspace=0.02, hspace=0.02)
    for r, (name, lab) in enumerate(rows):
        data = splits[name]
        for c, color in enumerate(FUR_COLORS):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            picked = np.flatnonzero((data.labels == lab) & (data.colors == color))[:per_cell]
            if len(picked):
                ax.imshow(montage(data.images[picked]), interpolation="nearest")
            else:
                h, w = data.images.shape[1:3]
                ax.imshow(np.full((h, per_cell * (w + 1) - 1, 3), 0.93, np.float32))
                ax.text(0.5, 0.5, "none", ha="center", va="center", color="0.45", fontsize=10,
                        transform=ax.transAxes)
            if r == 0:
                ax.set_title(color, fontsize=11)
            if c == 0:
                ax.set_ylabel(f"{name}\n{LABELS[lab]}s", fontsize=9, rotation=0, ha="right", va="center")
    return fig
