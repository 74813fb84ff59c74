"""Layers: one protocol (:class:`Layer`), many layers."""
from .activation import ACTIVATION_LAYERS, Elementwise, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import LAYERS, Layer
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten

__all__ = ["Layer", "LAYERS", "Elementwise", "Dense", "Dropout", "BatchNorm", "Flatten",
           "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "ACTIVATION_LAYERS"]
