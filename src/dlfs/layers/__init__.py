"""Layers: one protocol (:class:`Layer`), many layers."""
from .activation import ACTIVATION_LAYERS, Elementwise, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import LAYERS, Layer
from .batchnorm import BatchNorm
from .conv import Conv2D
from .dense import Dense
from .dropout import Dropout
from .flatten import Flatten
from .pooling import AvgPool2D, MaxPool2D

__all__ = ["Layer", "LAYERS", "Elementwise", "Dense", "Dropout", "BatchNorm", "Flatten",
           "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax", "ACTIVATION_LAYERS",
           "Conv2D", "MaxPool2D", "AvgPool2D"]
