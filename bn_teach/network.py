"""A tiny multilayer perceptron built from `bn_teach.layers`, with normalization off, before or after the
nonlinearity, and the softmax cross-entropy loss."""
import numpy as np

from .validation import as_float_array, check_positive_int
from .layers import ACTIVATIONS, BatchNorm, GroupNorm, LayerNorm, Linear, Module



class Sequential(Module):
    """Layers applied in order; backward runs them in reverse."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def __repr__(self):
        inner = "\n".join(f"  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"{type(self).__name__}(\n{inner}\n)"

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def forward(self, x):
        """Run x through every layer."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy):
        """Backpropagate dy through every layer, last first; returns the gradient w.r.t. the input."""
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
        return dy

    def train(self, mode=True):
        """Set training mode (mode=True) or eval mode on every layer; returns self."""
        self.training = bool(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    def parameters(self):
        """(module, name) pairs of every layer's parameters."""
        return [p for layer in self.layers for p in layer.parameters()]

    def layers_of(self, kind):
        """The layers that are instances of `kind` (a class or tuple of classes), in order."""
        return [layer for layer in self.layers if isinstance(layer, kind)]

    @property
    def activations(self):
        """The nonlinearity layers, in order (their `last_input` is the pre-activation of the last forward)."""
        return self.layers_of(tuple(ACTIVATIONS.values()))

    @property
    def norms(self):
        """The normalization layers, in order."""
        return self.layers_of((BatchNorm, LayerNorm, GroupNorm))

    def predict(self, x, batch_size=1024):
        """Class predictions in eval mode (the mode is restored afterwards)."""
        return self.predict_logits(x, batch_size).argmax(axis=1)

    def predict_logits(self, x, batch_size=1024):
        """Logits in eval mode, computed in chunks; the training/eval mode is restored afterwards."""
        x = as_float_array(x)
        mode = self.training
        self.eval()
        try:
            return np.concatenate([self.forward(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
        finally:
            self.train(mode)


class MLP(Sequential):
    """Fully connected network: [Linear -> (norm) -> activation -> (norm)] per hidden width, then Linear.

    MLP(in_features, hidden, out_features, activation="relu", norm=None, norm_position="before",
        init_scale=1.0, seed=0)

    hidden: list of hidden widths, e.g. [100, 100, 100]. activation: "relu", "sigmoid" or "tanh".
    norm: None, "batch" (BatchNorm), "layer" (LayerNorm) or "group" (GroupNorm, with `groups` groups).
    norm_position: "before" the nonlinearity (as in Ioffe & Szegedy 2015) or "after" it.
    init_scale multiplies the LeCun initialization of every Linear layer. Same seed, same network.
    """

    def __init__(self, in_features, hidden, out_features, activation="relu", norm=None, norm_position="before",
                 init_scale=1.0, seed=0, eps=1e-5, momentum=0.1, groups=4):
        in_features = check_positive_int(in_features, "in_features")
        out_features = check_positive_int(out_features, "out_features")
        if isinstance(hidden, (int, np.integer)):
            hidden = [hidden]
        hidden = [check_positive_int(h, "hidden width") for h in hidden]
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        if norm not in (None, "batch", "layer", "group"):
            raise ValueError(f"norm must be None, 'batch', 'layer' or 'group', got {norm!r}")
        if norm_position not in ("before", "after"):
            raise ValueError(f"norm_position must be 'before' or 'after', got {norm_position!r}")
        self.config = dict(in_features=in_features, hidden=hidden, out_features=out_features,
                           activation=activation, norm=norm, norm_position=norm_position,
                           init_scale=init_scale, seed=seed)
        rng = np.random.default_rng(seed)
        layers, width = [], in_features
        for h in hidden:
            layers.append(Linear(width, h, init_scale=init_scale, rng=rng))
            block = [ACTIVATIONS[activation]()]
            if norm is not None:
                norm_layer = (BatchNorm(h, eps=eps, momentum=momentum) if norm == "batch"
                              else LayerNorm(h, eps=eps) if norm == "layer"
                              else GroupNorm(groups, h, eps=eps))
                block.insert(0 if norm_position == "before" else 1, norm_layer)
            layers.extend(block)
            width = h
        layers.append(Linear(width, out_features, init_scale=init_scale, rng=rng))
        super().__init__(*layers)


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of integer labels y (N,) under softmax(logits), logits (N, K).

    Returns (loss, dlogits) with dlogits = (softmax(logits) - onehot(y)) / N, the gradient of the mean loss.
    """
    logits = as_float_array(logits, "logits")
    y = np.asarray(y)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, K), got {logits.shape}")
    if y.shape != (logits.shape[0],) or y.dtype.kind not in "iu":
        raise ValueError(f"y must be integer class labels of shape ({logits.shape[0]},), got {y.dtype} {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= logits.shape[1]):
        raise ValueError(f"y must hold labels in [0, {logits.shape[1] - 1}], got range [{y.min()}, {y.max()}]")
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    loss = -log_p[np.arange(n), y].mean()
    dlogits = np.exp(log_p)
    dlogits[np.arange(n), y] -= 1.0
    dlogits /= n
    return float(loss), dlogits
