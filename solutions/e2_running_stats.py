def bn_forward_full(x, gamma, beta, bn_param):
    """Batch norm in "train" or "eval" mode; training also updates bn_param's running statistics."""
    eps, momentum = bn_param["eps"], bn_param["momentum"]
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    if bn_param["mode"] == "train":
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        m = x.size // x.shape[1]                          # values per channel: N (or N * H * W)
        bn_param["running_mean"] = (1 - momentum) * bn_param["running_mean"] + momentum * mean
        bn_param["running_var"] = (1 - momentum) * bn_param["running_var"] + momentum * var * m / (m - 1)
    else:
        mean, var = bn_param["running_mean"], bn_param["running_var"]
    xhat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * xhat + beta.reshape(shape)
