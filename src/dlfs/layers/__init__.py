"""Layers: one protocol (:class:`Layer`), many layers."""
from .activation import ACTIVATION_LAYERS, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import Layer
from .batchnorm import BatchNorm
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten

#: Layer type name -> class, used to rebuild a model from a saved file.
LAYER_TYPES = {cls.__name__: cls for cls in
               (Dense, Dropout, BatchNorm, Flatten, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax)}

__all__ = ["Layer", "Dense", "Dropout", "BatchNorm", "Flatten", "Sigmoid", "Tanh", "ReLU",
           "LeakyReLU", "Softmax", "ACTIVATION_LAYERS", "LAYER_TYPES"]
