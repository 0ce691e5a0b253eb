def bn_forward(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm of x, shape (N, D) or (N, C, H, W); gamma, beta: shape (D,) or (C,)."""
    axes = (0,) if x.ndim == 2 else (0, 2, 3)          # every axis but the feature/channel axis 1
    shape = (1, -1) + (1,) * (x.ndim - 2)               # (1, D) or (1, C, 1, 1): broadcasts per channel
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)               # biased: divide by m (ddof=0)
    xhat = (x - mean) / np.sqrt(var + eps)
    return gamma.reshape(shape) * xhat + beta.reshape(shape)
