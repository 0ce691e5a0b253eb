def train_step(params, x, y, lr):
    """One SGD step of x -> Linear -> BatchNorm -> ReLU -> Linear -> softmax cross-entropy; returns the loss."""
    n = x.shape[0]
    # forward
    h = x @ params["W1"] + params["b1"]
    z, cache = batchnorm_forward(h, params["gamma"], params["beta"])
    a = np.maximum(z, 0)
    scores = a @ params["W2"] + params["b2"]
    scores = scores - scores.max(axis=1, keepdims=True)          # stable softmax
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(n), y]).mean()
    # backward
    dscores = probs.copy()
    dscores[np.arange(n), y] -= 1
    dscores /= n
    grads = {"W2": a.T @ dscores, "b2": dscores.sum(axis=0)}
    dz = (dscores @ params["W2"].T) * (z > 0)
    dh, grads["gamma"], grads["beta"] = batchnorm_backward(dz, cache)
    grads["W1"], grads["b1"] = x.T @ dh, dh.sum(axis=0)
    # update: every parameter, gamma and beta included
    for name, grad in grads.items():
        params[name] -= lr * grad
    return loss
