"""bn-teach: batch normalization you can see and measure. An exact NumPy BatchNorm, a tiny MLP toolkit,
the "black cats" dataset, and helpers that keep the lessons short."""
from .blas import check_blas_kernel, limit_blas_threads

limit_blas_threads()  # one BLAS thread per process: small matrices, shared servers (see bn_teach.blas)
check_blas_kernel()  # say so when this BLAS kernel gives other digits than the stored outputs
from .layers import (BatchNorm, GroupNorm, LayerNorm, Linear, Module, ReLU, Sigmoid, Tanh, batchnorm_backward,
                     batchnorm_eval_forward, batchnorm_forward, groupnorm_backward, groupnorm_forward,
                     layernorm_backward, layernorm_forward)
from .cats import CatsData, load_split, make_cats, make_split
from .network import MLP, Sequential, softmax_cross_entropy
from .shift import adabn, shift_experiment
from .training import SGD, History, Recorder, accuracy, train

__version__ = "0.1.0"

__all__ = [
    "BatchNorm", "GroupNorm", "LayerNorm", "Linear", "Module", "ReLU", "Sigmoid", "Tanh",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_eval_forward", "layernorm_forward",
    "layernorm_backward", "groupnorm_forward", "groupnorm_backward",
    "MLP", "Sequential", "softmax_cross_entropy", "SGD", "History", "Recorder", "accuracy", "train",
    "CatsData", "make_cats", "make_split", "load_split", "adabn", "shift_experiment",
]
