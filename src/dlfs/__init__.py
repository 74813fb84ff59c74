"""dlfs: deep learning from first principles, in NumPy.

Conventions used everywhere: arrays are batch-first (rows are samples), a
dense layer computes ``Z = X @ W + b`` with ``W`` of shape (n_in, n_out).
Images are NCHW, (n_samples, channels, height, width), and convolution
kernels (C_out, C_in, kh, kw), as in PyTorch.
"""
from . import activations, data, init, losses, metrics, optim, schedules
from ._checks import NonFiniteError
from .gradcheck import gradcheck, numerical_gradient, relative_error
from .io import (ParameterFileError, load_checkpoint, load_model, load_params,
                 read_checkpoint, save_checkpoint, save_model)
from .layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, Layer, LeakyReLU,
                     MaxPool2D, ReLU, Sigmoid, Softmax, Tanh)
from .losses import MSE, BinaryCrossEntropy, SoftmaxCrossEntropy
from .model import Sequential, mlp
from .optim import SGD, AdaGrad, Adam, Momentum, RMSProp, clip_grad_norm
from .train import (History, TrainingDiverged, TrainingInterrupted, batches, evaluate,
                    fit)

__version__ = "0.1.0"

__all__ = [
    "activations", "data", "init", "losses", "metrics", "optim", "schedules",
    "gradcheck", "numerical_gradient", "relative_error",
    "NonFiniteError", "ParameterFileError", "load_model", "load_params", "save_model",
    "load_checkpoint", "read_checkpoint", "save_checkpoint",
    "Layer", "Dense", "Dropout", "BatchNorm", "Flatten",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "Conv2D", "MaxPool2D", "AvgPool2D",
    "MSE", "BinaryCrossEntropy", "SoftmaxCrossEntropy",
    "Sequential", "mlp", "SGD", "Momentum", "RMSProp", "Adam", "AdaGrad", "clip_grad_norm",
    "History", "TrainingDiverged", "TrainingInterrupted", "batches", "evaluate", "fit",
]
