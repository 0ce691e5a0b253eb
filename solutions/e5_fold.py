def fold_bn(W, b, bn):
    """Fold eval-mode BatchNorm `bn` into the Linear layer (W: (in, out), b: (out,)) before it."""
    s = bn.gamma / np.sqrt(bn.running_var + bn.eps)     # one scale per output feature, shape (out,)
    W_folded = W * s                                    # column j of W scaled by s[j]
    b_folded = s * (b - bn.running_mean) + bn.beta
    return W_folded, b_folded
