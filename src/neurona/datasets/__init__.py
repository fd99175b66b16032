"""Datasets: CIFAR-10 (download, checksum, cache, safe unpickling), synthetic XOR/parity, preprocessing."""

from . import cifar10, preprocessing, synthetic
from .preprocessing import Standardizer, flatten, one_hot, take_first, train_val_split
from .synthetic import parity, xor

__all__ = [
    "cifar10", "preprocessing", "synthetic",
    "Standardizer", "flatten", "one_hot", "take_first", "train_val_split",
    "parity", "xor",
]
