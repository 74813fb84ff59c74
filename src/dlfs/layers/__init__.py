"""Layers: one protocol (:class:`Layer`), many layers."""
from .activation import ACTIVATION_LAYERS, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import Layer
from .batchnorm import BatchNorm
from .conv import Conv2D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .pooling import AvgPool2D, MaxPool2D

#: Layer type name -> class, used to rebuild a model from a saved file.
LAYER_TYPES = {cls.__name__: cls for cls in
               (Dense, Dropout, BatchNorm, Flatten, Sigmoid, Tanh, ReLU, LeakyReLU, Softmax,
                Conv2D, MaxPool2D, AvgPool2D)}

__all__ = ["Layer", "Dense", "Dropout", "BatchNorm", "Flatten", "Sigmoid", "Tanh", "ReLU",
           "LeakyReLU", "Softmax", "Conv2D", "MaxPool2D", "AvgPool2D", "ACTIVATION_LAYERS", "LAYER_TYPES"]
