"""Layers: ``__init__`` stores configuration, ``build`` declares weights, ``call`` is the math.

A layer called on a Tensor computes; called on the symbolic output of ``Input`` (or of
another layer) it records a step of a functional model instead.
"""

from .base import Input, Layer, SymbolicTensor
from .augment import RandomCrop, RandomFlip
from .conv import AveragePooling2D, Conv2D, GlobalAveragePooling2D, MaxPool2D
from .core import Activation, Concatenate, Dense, Dropout, Flatten
from .normalization import BatchNormalization

REGISTRY = {cls.__name__: cls for cls in (Dense, Activation, Flatten, Dropout, RandomFlip, Concatenate,
                                          Conv2D, MaxPool2D, AveragePooling2D, GlobalAveragePooling2D,
                                          BatchNormalization, RandomCrop)}

__all__ = ["Input", "Layer", "SymbolicTensor", "Dense", "Activation", "Flatten", "Dropout", "RandomFlip",
           "Concatenate", "Conv2D", "MaxPool2D", "AveragePooling2D", "GlobalAveragePooling2D", "BatchNormalization",
           "RandomCrop", "REGISTRY", "from_config"]


def from_config(entry: dict, custom_objects: dict | None = None) -> Layer:
    """A layer from ``{"class": name, "config": {...}}``.

    Only the classes above can be created, plus the Layer subclasses the caller names in
    ``custom_objects`` ({class name: class}); a file can never name code of its own.
    """
    known = {**REGISTRY, **(custom_objects or {})}
    cls = known.get(entry.get("class")) if isinstance(entry, dict) else None
    if cls is None:
        raise ValueError(f"Unknown layer in model file: {entry!r:.80}. Valid: {', '.join(known)}")
    config = entry.get("config", {})
    if not isinstance(config, dict):
        raise ValueError(f"layer {cls.__name__}: config must be a dict. Received: {type(config).__name__}")
    return cls.from_config(config) if hasattr(cls, "from_config") else cls(**config)
