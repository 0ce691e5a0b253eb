"""A small 2-d convolution with PyTorch's semantics (torch.nn.Conv2d, zero padding, no dilation or groups), by
im2col: every receptive field becomes a row of a matrix, and the convolution one matrix product.

    out, cache = conv2d_forward(x, w, b, stride=1, padding=0)
    dx, dw, db = conv2d_backward(dout, cache)

plus the layers a small convolutional network needs around it: `Conv2d`, `Flatten`, `Unflatten`.
"""
import numpy as np

from .layers import Module
from .validation import check_positive_int


def im2col(x, kh, kw, stride=1, padding=0):
    """Receptive fields of x, shape (N, C, H, W), as rows: returns cols, shape (N * Ho * Wo, C * kh * kw), rows
    ordered (n, i, j) and columns (c, p, q) like the weight w.reshape(C_out, -1), and (Ho, Wo), where
    Ho = (H + 2 * padding - kh) // stride + 1 (the same for Wo)."""
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    n, c, ho, wo = win.shape[:4]
    return win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * kh * kw), (ho, wo)


def col2im(dcols, x_shape, kh, kw, ho, wo, stride=1, padding=0):
    """The adjoint of `im2col`: adds every row of dcols, shape (N * Ho * Wo, C * kh * kw), back onto the input
    position it was read from. Returns an array of x_shape (N, C, H, W)."""
    n, c, h, w = x_shape
    d = dcols.reshape(n, ho, wo, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)  # (N, C, kh, kw, Ho, Wo)
    dx = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dcols.dtype)
    for p in range(kh):
        for q in range(kw):
            dx[:, :, p:p + stride * ho:stride, q:q + stride * wo:stride] += d[:, :, p, q]
    return dx[:, :, padding:padding + h, padding:padding + w]


def conv2d_forward(x, w, b=None, stride=1, padding=0):
    """2-d cross-correlation, as torch.nn.functional.conv2d:

        out[n, o, i, j] = b[o] + sum_{c, p, q} w[o, c, p, q] * xpad[n, c, i * stride + p, j * stride + q]

    x: (N, C, H, W); w: (C_out, C, kh, kw); b: (C_out,) or None; xpad is x with `padding` zeros on each side.
    Returns out, shape (N, C_out, Ho, Wo), dtype of x, and a cache for `conv2d_backward`.
    """
    c_out, _, kh, kw = w.shape
    cols, (ho, wo) = im2col(x, kh, kw, stride, padding)
    wm = w.reshape(c_out, -1).astype(x.dtype, copy=False)
    out = cols @ wm.T
    if b is not None:
        out += b.astype(x.dtype, copy=False)
    out = out.reshape(x.shape[0], ho, wo, c_out).transpose(0, 3, 1, 2)
    cache = {"cols": cols, "w": wm, "w_shape": w.shape, "x_shape": x.shape, "stride": stride, "padding": padding}
    return np.ascontiguousarray(out), cache


def conv2d_backward(dout, cache):
    """Gradients of `conv2d_forward`. dout: (N, C_out, Ho, Wo). With D = dout as rows (N * Ho * Wo, C_out):

        dw = D.T @ cols (reshaped to w's shape),   db = sum of D over the rows,   dx = col2im(D @ w)

    Returns dx (N, C, H, W), dw (C_out, C, kh, kw) and db (C_out,).
    """
    c_out, _, kh, kw = cache["w_shape"]
    n, _, ho, wo = dout.shape
    d = dout.transpose(0, 2, 3, 1).reshape(-1, c_out)
    dw = (d.T @ cache["cols"]).reshape(cache["w_shape"])
    db = d.sum(axis=0)
    dx = col2im(d @ cache["w"], cache["x_shape"], kh, kw, ho, wo, cache["stride"], cache["padding"])
    return dx, dw, db


class Conv2d(Module):
    """2-d convolution layer, torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias).

    Input (N, in_channels, H, W), output (N, out_channels, Ho, Wo). W: (out_channels, in_channels, k, k), drawn
    N(0, (init_scale / sqrt(in_channels * k * k))^2) from `rng` (LeCun, as `Linear`); b: (out_channels,) zeros,
    or no bias with bias=False (what a convolution followed by BatchNorm uses: BN subtracts it again).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True, init_scale=1.0,
                 rng=0):
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.kernel_size = check_positive_int(kernel_size, "kernel_size")
        self.stride = check_positive_int(stride, "stride")
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"padding must be an integer >= 0, got {padding!r}")
        self.padding = int(padding)
        self.param_names = ("W", "b") if bias else ("W",)
        fan_in = self.in_channels * self.kernel_size ** 2
        rng = np.random.default_rng(rng)
        self.W = rng.standard_normal((self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)) * (
            init_scale / np.sqrt(fan_in))
        self.b = np.zeros(self.out_channels) if bias else None
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros(self.out_channels) if bias else None
        self._cache = None

    def __repr__(self):
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.b is not None})")

    def forward(self, x):
        """x: (N, in_channels, H, W) -> (N, out_channels, Ho, Wo)."""
        x = self._input(x)
        k = self.kernel_size
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2d: x must have shape (N, {self.in_channels}, H, W), got {x.shape}")
        if min(x.shape[2:]) + 2 * self.padding < k:
            raise ValueError(f"Conv2d: the image ({x.shape[2]}x{x.shape[3]}, padding {self.padding}) is smaller "
                             f"than the kernel ({k}x{k})")
        out, self._cache = conv2d_forward(x, self.W, self.b, self.stride, self.padding)
        return out

    def backward(self, dy):
        """dx from dy, shape of the last output; sets self.dW (and self.db)."""
        c = self._cache
        dtype = None if c is None else c["cols"].dtype
        shape = None if c is None else self._out_shape
        dy = self._grad_output(dy, shape, dtype)
        dx, self.dW, db = conv2d_backward(dy, c)
        if self.b is not None:
            self.db = db
        return dx

    @property
    def _out_shape(self):
        c = self._cache
        n, _, h, w = c["x_shape"]
        k, s, p = self.kernel_size, self.stride, self.padding
        return (n, self.out_channels, (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1)


class Flatten(Module):
    """(N, C, H, W) -> (N, C * H * W), as torch.nn.Flatten(); backward reshapes back."""

    def __repr__(self):
        return "Flatten()"

    def forward(self, x):
        """x: (N, ...) -> (N, prod(...))."""
        self._shape = np.shape(x)
        return np.reshape(x, (self._shape[0], -1))

    def backward(self, dy):
        """dy: (N, prod(...)) -> the shape of the last input."""
        return np.reshape(dy, self._shape)


class Unflatten(Module):
    """(N, C * H * W) -> (N, C, H, W) for a given (C, H, W), as torch.nn.Unflatten(1, (C, H, W)): lets a
    convolutional network take the flat rows the training loop feeds it (the digits: (N, 64) -> (N, 1, 8, 8))."""

    def __init__(self, shape):
        self.shape = tuple(check_positive_int(s, "shape") for s in shape)

    def __repr__(self):
        return f"Unflatten({self.shape})"

    def forward(self, x):
        """x: (N, C * H * W) -> (N, C, H, W)."""
        x = self._input(x)
        if x.ndim != 2 or x.shape[1] != int(np.prod(self.shape)):
            raise ValueError(f"Unflatten: x must have shape (N, {int(np.prod(self.shape))}), got {x.shape}")
        return x.reshape((x.shape[0],) + self.shape)

    def backward(self, dy):
        """dy: (N, C, H, W) -> (N, C * H * W)."""
        return np.reshape(dy, (dy.shape[0], -1))
