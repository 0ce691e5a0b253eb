def bn_backward(dout, x, gamma, eps=1e-5):
    """Gradients of training-mode batch norm of x, shape (N, D): returns (dx, dgamma, dbeta)."""
    m = x.shape[0]
    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
    xhat = (x - x.mean(axis=0)) * inv_std
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dx = gamma * inv_std / m * (m * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta
