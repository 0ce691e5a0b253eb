def numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of the scalar function f at x (any shape); x is restored afterwards."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):                      # one entry at a time
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old                                     # restore before the next entry
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b):
    """Largest difference relative to the gradients' size; 0 when both are 0."""
    return np.max(np.abs(a - b)) / max(1e-8, np.max(np.abs(a) + np.abs(b)))
