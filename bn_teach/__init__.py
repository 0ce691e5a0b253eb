"""bn-teach: batch normalization you can see and measure. An exact NumPy BatchNorm, a tiny MLP toolkit,
the "black cats" dataset, and helpers that keep the lessons short.

The core (what a student may read beside the lessons, and a teacher may reuse): `layers`, `conv`, `network`,
`training`, `runs`, `evidence`, the datasets `cats`, `digits` and `samples`, `plots`, `widgets`, `parallel`, `blas`,
`validation`.
One module per lesson in `bn_teach.lessons`; the exercise checkers in `bn_teach.exercises`.
"""
from .blas import check_blas_kernel, limit_blas_threads

limit_blas_threads()  # one BLAS thread per process: small matrices, shared servers (see bn_teach.blas)
check_blas_kernel()  # say so when this BLAS kernel gives other digits than the stored outputs
from .layers import (BatchNorm, GroupNorm, LayerNorm, Linear, Module, ReLU, Sigmoid, Tanh, batchnorm_backward,
                     batchnorm_eval_forward, batchnorm_forward, fold_batchnorm, groupnorm_backward, groupnorm_forward,
                     layernorm_backward, layernorm_forward, running_stats_update)
from .conv import Conv2d, Flatten, Unflatten, conv2d_backward, conv2d_forward
from .cats import CatsData, load_split, make_cats, make_split
from .network import MLP, Sequential, softmax_cross_entropy
from .training import SGD, BatchNormInputRecorder, History, Recorder, accuracy, adabn, train

__version__ = "0.1.0"

__all__ = [
    "BatchNorm", "GroupNorm", "LayerNorm", "Linear", "Module", "ReLU", "Sigmoid", "Tanh",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_eval_forward", "layernorm_forward",
    "layernorm_backward", "groupnorm_forward", "groupnorm_backward", "running_stats_update", "fold_batchnorm",
    "Conv2d", "Flatten", "Unflatten", "conv2d_forward", "conv2d_backward",
    "MLP", "Sequential", "softmax_cross_entropy", "SGD", "History", "Recorder", "BatchNormInputRecorder",
    "accuracy", "train", "adabn", "CatsData", "make_cats", "make_split", "load_split",
]
