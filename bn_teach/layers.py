"""Layers with explicit forward and backward passes: BatchNorm, LayerNorm, GroupNorm, Linear, activations.

Every layer follows one small protocol (PyTorch names, CS231n mechanics):

    y  = layer.forward(x)      # or layer(x); caches what backward needs
    dx = layer.backward(dy)    # fills layer.d<name> for every parameter <name>
    layer.train() / layer.eval(); layer.parameters() -> [(layer, "gamma"), ...]

The normalization layers are thin classes over a functional core that a lesson can show on its own:

    out, cache = batchnorm_forward(x, gamma, beta, eps)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
"""
import numpy as np

from .validation import as_float_array, check_eps, check_finite, check_momentum, check_positive_int


# ---------------------------------------------------------------------------------------------------------------
# functional core


def channel_axes(ndim):
    """Axes that BatchNorm reduces over for an input of `ndim` dimensions, (N, C) or (N, C, *spatial): the
    batch axis 0 and every spatial axis, never the channel axis 1. channel_axes(4) == (0, 2, 3)."""
    return (0,) + tuple(range(2, ndim))


def per_channel(v, ndim):
    """View a per-channel vector v, shape (C,), as (1, C, 1, ...) so that it broadcasts against an input of
    `ndim` dimensions, (N, C, *spatial)."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Training-mode batch normalization of x, shape (N, D) or (N, C, *spatial), with batch statistics.

    For every feature (channel) c, over the m = N * prod(spatial) values x_i in the batch:

        mean  = sum_i x_i / m
        var   = sum_i (x_i - mean)^2 / m            (biased: this is the variance used to normalize)
        xhat  = (x - mean) / sqrt(var + eps)
        out   = gamma * xhat + beta

    gamma, beta: shape (C,). Returns out (same shape and dtype as x) and a cache for `batchnorm_backward`:
    cache["xc"] = x - mean (centred input) and cache["inv_std"] = 1 / sqrt(var + eps), so xhat = xc * inv_std;
    cache["mean"] and cache["var"] are the batch statistics, shape (C,).
    """
    axes = channel_axes(x.ndim)
    m = x.size // x.shape[1]
    if x.ndim == 2:  # sums over the batch as matrix-vector products: one read of x each
        mean = (np.ones(m, x.dtype) @ x) / m
    else:
        mean = np.add.reduce(x, axis=axes) / m
    xc = x - per_channel(mean, x.ndim)  # centred first: two passes, so no E[x^2] - E[x]^2 cancellation
    var = _sum_of_products(xc, xc) / m
    inv_std = 1.0 / np.sqrt(var + x.dtype.type(eps))
    g = gamma.astype(x.dtype, copy=False)
    out = xc * per_channel(g * inv_std, x.ndim)  # = gamma * xhat, without storing xhat
    out += per_channel(beta.astype(x.dtype, copy=False), x.ndim)
    cache = {"xc": xc, "inv_std": inv_std, "gamma": g, "m": m, "mean": mean, "var": var}
    return out, cache


def _sum_of_products(a, b):
    """Per-channel sum of a * b over the batch and spatial axes, without a temporary array."""
    if a.ndim > 3:
        a, b = a.reshape(a.shape[0], a.shape[1], -1), b.reshape(b.shape[0], b.shape[1], -1)
    return np.einsum("ij,ij->j", a, b) if a.ndim == 2 else np.einsum("ijk,ijk->j", a, b)


def batchnorm_backward(dout, cache):
    """Gradients of training-mode batch normalization, in the compact closed form.

    With m values per feature, xhat = (x - mean) * inv_std and inv_std = 1 / sqrt(var + eps) from the forward pass:

        dbeta  = sum_i dout_i
        dgamma = sum_i dout_i * xhat_i
        dx     = gamma * inv_std / m * (m * dout - dbeta - xhat * dgamma)

    The last two terms are the gradient that flows through the batch mean and the batch variance.
    Returns dx (shape of dout), dgamma and dbeta (shape (C,)).
    """
    xc, inv_std, g, m = cache["xc"], cache["inv_std"], cache["gamma"], cache["m"]
    nd = dout.ndim
    if nd == 2:
        dbeta = np.ones(dout.shape[0], dout.dtype) @ dout
    else:
        dbeta = np.add.reduce(dout, axis=channel_axes(nd))
    dgamma = _sum_of_products(dout, xc) * inv_std
    scale = g * inv_std  # dx = scale * (dout - dbeta / m) - xc * (scale * inv_std * dgamma / m)
    dx = dout - per_channel(dbeta / m, nd)
    dx *= per_channel(scale, nd)
    dx -= xc * per_channel(scale * inv_std * dgamma / m, nd)
    return dx, dgamma, dbeta


def running_stats_update(running_mean, running_var, mean, var, m, momentum):
    """PyTorch's update of the running statistics after one training batch; returns new arrays, shape (C,).

        running_mean' = (1 - momentum) * running_mean + momentum * mean
        running_var'  = (1 - momentum) * running_var  + momentum * var * m / (m - 1)

    mean, var: the batch mean and *biased* variance per channel, over m values each (m = N * prod(spatial));
    running_var stores the unbiased estimate. momentum is the weight of the new batch (PyTorch's convention).
    """
    return ((1.0 - momentum) * running_mean + momentum * mean,
            (1.0 - momentum) * running_var + (momentum * m / (m - 1)) * var)


def batchnorm_eval_forward(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Eval-mode batch normalization: out = gamma * (x - running_mean) / sqrt(running_var + eps) + beta."""
    dt = x.dtype
    inv_std = 1.0 / np.sqrt(running_var + eps)
    scale = per_channel((gamma * inv_std).astype(dt), x.ndim)
    shift = per_channel((beta - running_mean * gamma * inv_std).astype(dt), x.ndim)
    out = x * scale
    out += shift
    return out


def fold_batchnorm(w, b, gamma, beta, running_mean, running_var, eps=1e-5, out_axis=-1):
    """Fold an eval-mode BatchNorm into the layer before it: that layer with weights w' and bias b' computes
    BN(layer(x)) in one step. Per output feature (channel) c, with s = gamma / sqrt(running_var + eps):

        w'[..., c, ...] = s[c] * w[..., c, ...]          (the slice of w along out_axis that makes feature c)
        b'[c]           = s[c] * (b[c] - running_mean[c]) + beta[c]

    w: a Linear's (in_features, out_features) weight (out_axis=-1) or a Conv2d's (C_out, C, kh, kw) (out_axis=0);
    b: (C,) or None (no bias: 0); gamma, beta, running_mean, running_var: (C,). Returns (w', b'), new arrays.
    """
    s = gamma / np.sqrt(running_var + eps)
    shape = [1] * w.ndim
    shape[out_axis] = -1
    b = np.zeros_like(running_mean) if b is None else b
    return w * s.reshape(shape), s * (b - running_mean) + beta


def groupnorm_forward(x, gamma, beta, num_groups, eps=1e-5):
    """Group normalization of x, shape (N, C) or (N, C, *spatial): per sample, the C channels are split into
    `num_groups` groups of C / G channels, and each group is normalized over its k values (its channels and
    spatial positions), then a per-channel affine map:

        mean_ng = sum x / k,  var_ng = sum (x - mean_ng)^2 / k                       (within sample n, group g)
        out     = gamma * (x - mean_ng) / sqrt(var_ng + eps) + beta                  gamma, beta: shape (C,)

    G = 1 is LayerNorm over (C, *spatial); G = C is InstanceNorm. No batch statistics: a sample's output does not
    depend on the rest of its batch. Returns out (shape and dtype of x) and a cache for `groupnorm_backward`.
    """
    n = x.shape[0]
    xg = x.reshape(n, num_groups, -1)
    k = xg.shape[2]
    mean = xg.mean(axis=2, keepdims=True)
    xhat = xg - mean
    var = np.add.reduce(xhat * xhat, axis=2, keepdims=True) / k
    inv_std = 1.0 / np.sqrt(var + x.dtype.type(eps))
    xhat *= inv_std
    xhat = xhat.reshape(x.shape)
    g = per_channel(gamma.astype(x.dtype, copy=False), x.ndim)
    out = xhat * g + per_channel(beta.astype(x.dtype, copy=False), x.ndim)
    return out, {"xhat": xhat, "inv_std": inv_std, "gamma": g, "groups": num_groups}


def groupnorm_backward(dout, cache):
    """Gradients of group normalization: BatchNorm's closed form, taken within every (sample, group) of k values.

        dxhat  = dout * gamma
        dx     = inv_std / k * (k * dxhat - sum dxhat - xhat * sum (dxhat * xhat))      (sums within the group)
        dgamma = sum over the batch (and spatial axes) of dout * xhat,   dbeta = the same sum of dout

    Returns dx (shape of dout), dgamma and dbeta (shape (C,)).
    """
    xhat, inv_std, g, groups = cache["xhat"], cache["inv_std"], cache["gamma"], cache["groups"]
    axes = channel_axes(dout.ndim)
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * xhat).sum(axis=axes)
    n = dout.shape[0]
    dxhat = (dout * g).reshape(n, groups, -1)
    xh = xhat.reshape(n, groups, -1)
    k = xh.shape[2]
    dx = (k * dxhat - dxhat.sum(axis=2, keepdims=True)
          - xh * (dxhat * xh).sum(axis=2, keepdims=True)) * (inv_std / k)
    return dx.reshape(dout.shape), dgamma, dbeta


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """Layer normalization of x, shape (N, D): every sample is normalized over its own D features.

        mean_n = sum_d x_nd / D,  var_n = sum_d (x_nd - mean_n)^2 / D
        out    = gamma * (x - mean_n) / sqrt(var_n + eps) + beta          gamma, beta: shape (D,)

    It is group normalization with one group, and computed as such (same cache, same backward).
    """
    return groupnorm_forward(x, gamma, beta, 1, eps)


def layernorm_backward(dout, cache):
    """Gradients of layer normalization: `groupnorm_backward` with one group. Returns dx, dgamma, dbeta."""
    return groupnorm_backward(dout, cache)


# ---------------------------------------------------------------------------------------------------------------
# the module protocol


class Module:
    """Base class: train/eval switch, parameter listing, and `layer(x)` as a shorthand for forward."""

    param_names = ()
    training = True

    def __call__(self, x):
        return self.forward(x)

    def train(self, mode=True):
        """Switch to training mode (or to eval mode with mode=False); returns self."""
        self.training = bool(mode)
        return self

    def eval(self):
        """Switch to evaluation mode; returns self."""
        return self.train(False)

    def parameters(self):
        """List of (module, name) pairs; the gradient of getattr(module, name) is getattr(module, "d" + name)."""
        return [(self, name) for name in self.param_names]

    def zero_grad(self):
        """Set every parameter gradient to zero."""
        for module, name in self.parameters():
            setattr(module, "d" + name, np.zeros_like(getattr(module, name)))

    def _input(self, x, name="x"):
        x = as_float_array(x, name)
        if x.size == 0:
            raise ValueError(f"{type(self).__name__}: {name} is empty (shape {x.shape}); "
                             "expected at least one sample")
        return x

    def _grad_output(self, dy, expected_shape, dtype, check=True):
        if getattr(self, "_cache", None) is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: "
                               "run forward on a batch first")
        dy = as_float_array(dy, "dy")
        if dy.shape != expected_shape:
            raise ValueError(f"{type(self).__name__}.backward: dy must have the shape of the last forward "
                             f"output {expected_shape}, got {dy.shape}")
        if check:
            check_finite(dy, "dy")
        return dy.astype(dtype, copy=False)


class _Norm(Module):
    """Shared parts of the normalization layers: gamma = 1, beta = 0, validated eps."""

    param_names = ("gamma", "beta")

    def __init__(self, num_features, eps=1e-5):
        self.num_features = check_positive_int(num_features, "num_features")
        self.eps = check_eps(eps)
        self.gamma = np.ones(self.num_features)
        self.beta = np.zeros(self.num_features)
        self.dgamma = np.zeros(self.num_features)
        self.dbeta = np.zeros(self.num_features)
        self._cache = None

    def _check_params(self):
        for name in ("gamma", "beta"):
            p = getattr(self, name)
            if not isinstance(p, np.ndarray) or p.shape != (self.num_features,):
                raise ValueError(f"{type(self).__name__}.{name} must be an array of shape ({self.num_features},), "
                                 f"got {getattr(p, 'shape', type(p).__name__)}")


class BatchNorm(_Norm):
    """Batch normalization with PyTorch's semantics (torch.nn.BatchNorm1d / BatchNorm2d).

    BatchNorm(num_features, eps=1e-5, momentum=0.1); input (N, C) or (N, C, *spatial), statistics per channel.

    Training mode normalizes with the batch mean and biased batch variance, and updates

        running_mean = (1 - momentum) * running_mean + momentum * batch_mean
        running_var  = (1 - momentum) * running_var  + momentum * batch_var * m / (m - 1)   (unbiased)

    (momentum=None: a cumulative average, factor 1 / num_batches_tracked). Eval mode uses the running statistics.
    running_mean starts at 0 and running_var at 1. Note PyTorch's convention: momentum is the weight of the
    *new* batch, the opposite of the "decay" in Keras/TensorFlow and some course code.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps)
        self.momentum = check_momentum(momentum)
        self.running_mean = np.zeros(self.num_features)
        self.running_var = np.ones(self.num_features)
        self.num_batches_tracked = 0

    def __repr__(self):
        return (f"BatchNorm({self.num_features}, eps={self.eps:g}, momentum={self.momentum}, "
                f"{'train' if self.training else 'eval'})")

    def _check_input(self, x):
        x = self._input(x)
        if x.ndim < 2:
            raise ValueError(f"BatchNorm: x must have shape (N, C) or (N, C, H, W), got {x.ndim}-d shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm: x has {x.shape[1]} features/channels on axis 1, "
                             f"expected num_features={self.num_features} (shape {x.shape})")
        self._check_params()
        return x

    def forward(self, x):
        """Normalize x, shape (N, C) or (N, C, *spatial); same shape and dtype out."""
        x = self._check_input(x)
        if not self.training:
            check_finite(x)
            self._cache = ("eval", x)
            return batchnorm_eval_forward(x, self.gamma, self.beta, self.running_mean, self.running_var, self.eps)
        m = x.size // x.shape[1]
        if m < 2:
            raise ValueError(f"BatchNorm: expected more than 1 value per channel when training, got input shape "
                             f"{x.shape}; use a batch of 2 or more samples, or eval() mode")
        with np.errstate(invalid="ignore", over="ignore"):  # NaN/inf input: the check below says so clearly
            out, cache = batchnorm_forward(x, self.gamma, self.beta, self.eps)
        if not (np.isfinite(cache["mean"]).all() and np.isfinite(cache["var"]).all()):
            raise ValueError("BatchNorm: x contains NaN or inf (or values so large that their variance overflows)")
        self._cache = ("train", cache, out.shape)
        self._update_running(cache["mean"], cache["var"], m)
        return out

    def _update_running(self, mean, var, m):
        self.num_batches_tracked += 1
        f = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        # in place, so arrays held elsewhere (a lesson's plot) stay current
        self.running_mean[...], self.running_var[...] = running_stats_update(
            self.running_mean, self.running_var, mean, var, m, f)

    def backward(self, dy):
        """Gradient w.r.t. the input of the last forward; sets self.dgamma and self.dbeta."""
        cache = self._cache
        if cache is None:
            return self._grad_output(dy, None, None)  # raises: backward before forward
        if cache[0] == "eval":
            x = cache[1]
            dy = self._grad_output(dy, x.shape, x.dtype)
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
            xhat = (x - per_channel(self.running_mean, x.ndim)) * per_channel(inv_std, x.ndim)
            axes = channel_axes(x.ndim)
            self.dgamma = (dy * xhat).sum(axis=axes)
            self.dbeta = dy.sum(axis=axes)
            return dy * per_channel((self.gamma * inv_std).astype(x.dtype), x.ndim)
        _, core, shape = cache
        dy = self._grad_output(dy, shape, core["xc"].dtype, check=False)
        with np.errstate(invalid="ignore", over="ignore"):
            dx, dgamma, dbeta = batchnorm_backward(dy, core)
        if not (np.isfinite(dbeta).all() and np.isfinite(dgamma).all()):  # cheaper than scanning dy first
            raise ValueError("BatchNorm.backward: dy contains NaN or inf (or values so large that sums overflow)")
        self.dgamma, self.dbeta = dgamma, dbeta
        return dx

    @property
    def batch_stats(self):
        """(mean, biased variance) per channel of the last training-mode batch, or None if there was none."""
        if self._cache is None or self._cache[0] != "train":
            return None
        return self._cache[1]["mean"], self._cache[1]["var"]

    def reset_running_stats(self):
        """Forget the running statistics (mean 0, variance 1, no batches tracked)."""
        self.running_mean[:] = 0.0
        self.running_var[:] = 1.0
        self.num_batches_tracked = 0


class GroupNorm(_Norm):
    """Group normalization (torch.nn.GroupNorm(num_groups, num_channels)) for x of shape (N, C) or
    (N, C, *spatial). Per-sample statistics: independent of the batch, like LayerNorm."""

    def __init__(self, num_groups, num_channels, eps=1e-5):
        super().__init__(num_channels, eps)
        self.num_groups = check_positive_int(num_groups, "num_groups")
        if self.num_features % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels={self.num_features} must be divisible by "
                             f"num_groups={self.num_groups}")

    def __repr__(self):
        return f"GroupNorm({self.num_groups}, {self.num_features}, eps={self.eps:g})"

    def _check_shape(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ValueError(f"GroupNorm: x must have shape (N, {self.num_features}, ...), got {x.shape}")

    def forward(self, x):
        """Normalize x, shape (N, C) or (N, C, *spatial), within each sample's channel groups."""
        x = self._input(x)
        self._check_shape(x)
        self._check_params()
        check_finite(x)
        out, cache = groupnorm_forward(x, self.gamma, self.beta, self.num_groups, self.eps)
        self._cache = (cache, out.shape)
        return out

    def backward(self, dy):
        """Gradient w.r.t. the input of the last forward; sets self.dgamma and self.dbeta."""
        if self._cache is None:
            return self._grad_output(dy, None, None)
        cache, shape = self._cache
        dy = self._grad_output(dy, shape, cache["xhat"].dtype)
        dx, self.dgamma, self.dbeta = groupnorm_backward(dy, cache)
        return dx


class LayerNorm(GroupNorm):
    """Layer normalization (torch.nn.LayerNorm(D)) for x of shape (N, D): statistics per sample, so it behaves
    the same in training and eval mode and for any batch size, even 1. (GroupNorm with one group.)"""

    def __init__(self, num_features, eps=1e-5):
        super().__init__(1, num_features, eps)

    def __repr__(self):
        return f"LayerNorm({self.num_features}, eps={self.eps:g})"

    def _check_shape(self, x):
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"LayerNorm: x must have shape (N, {self.num_features}), got {x.shape}")


class Linear(Module):
    """Fully connected layer y = x @ W + b, x: (N, in_features), W: (in_features, out_features), b: (out_features,).

    W starts as N(0, (init_scale / sqrt(in_features))^2) drawn from `rng` (a np.random.Generator or a seed);
    init_scale=1 keeps the variance of a unit-variance input (LeCun initialization).
    """

    param_names = ("W", "b")

    def __init__(self, in_features, out_features, init_scale=1.0, rng=0):
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        if isinstance(init_scale, bool) or not np.isfinite(init_scale) or init_scale < 0:
            raise ValueError(f"init_scale must be a finite number >= 0, got {init_scale!r}")
        rng = np.random.default_rng(rng)
        self.W = rng.standard_normal((self.in_features, self.out_features)) * (init_scale / np.sqrt(in_features))
        self.b = np.zeros(self.out_features)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self._cache = None

    def __repr__(self):
        return f"Linear({self.in_features}, {self.out_features})"

    def forward(self, x):
        """y = x @ W + b."""
        x = self._input(x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Linear: x must have shape (N, {self.in_features}), got {x.shape}")
        self._cache = x
        return x @ self.W.astype(x.dtype, copy=False) + self.b.astype(x.dtype, copy=False)

    def backward(self, dy):
        """dx = dy @ W.T; dW = x.T @ dy; db = sum over the batch of dy."""
        x = self._cache
        dy = self._grad_output(dy, None if x is None else (x.shape[0], self.out_features),
                               None if x is None else x.dtype)
        self.dW = x.T @ dy
        self.db = dy.sum(axis=0)
        return dy @ self.W.T.astype(x.dtype, copy=False)


class _Activation(Module):
    """Elementwise nonlinearity; keeps its last input so a recorder can read the pre-activations."""

    def __repr__(self):
        return f"{type(self).__name__}()"

    def forward(self, x):
        x = self._input(x)
        self.last_input = x
        out = self._f(x)
        self._cache = (x, out)
        return out

    def backward(self, dy):
        cache = getattr(self, "_cache", None)
        dy = self._grad_output(dy, None if cache is None else cache[0].shape,
                               None if cache is None else cache[0].dtype)
        return dy * self._df(*cache)


class ReLU(_Activation):
    """max(0, x)."""

    def _f(self, x):
        return np.maximum(x, 0)

    def _df(self, x, out):
        return x > 0


class Sigmoid(_Activation):
    """1 / (1 + exp(-x)), computed as (1 + tanh(x / 2)) / 2: the same function, no overflow for large |x|, and
    about three times faster than exp and a division (the lessons' sigmoid networks spend most of their time
    here). Below x = -37 the result rounds to 0 instead of a number under 1e-16, which no gradient can use."""

    def _f(self, x):
        out = np.tanh(x * 0.5)
        out += 1.0
        out *= 0.5
        return out

    def _df(self, x, out):
        return out * (1.0 - out)


class Tanh(_Activation):
    """tanh(x)."""

    def _f(self, x):
        return np.tanh(x)

    def _df(self, x, out):
        return 1.0 - out * out


ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}
