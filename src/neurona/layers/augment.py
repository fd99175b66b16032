"""Data augmentation layers: RandomFlip (mirror) and RandomCrop (pad, then crop at a random offset)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import _checks
from ..autodiff import Tensor
from .base import Layer


class _ImageAugmentation(Layer):
    """Base of the augmentation layers: images (batch, h, w, c) or their flattened rows, changed only in training.

    Subclasses define ``augment(images)`` on a (batch, h, w, c) array, drawing from ``self.rng``;
    no gradient flows to the input (it is the data that is augmented).
    """

    def __init__(self, image_shape=(32, 32, 3), name: str | None = None):
        super().__init__(name)
        where = type(self).__name__
        if not isinstance(image_shape, (tuple, list)) or len(image_shape) != 3:
            raise ValueError(f"{where}: image_shape must be (height, width, channels). "
                             f"Received: image_shape={_checks.echo(image_shape)}")
        self.image_shape = tuple(_checks.positive_int(where, "image_shape", d) for d in image_shape)

    def build(self, input_shape, rng, dtype=np.float32):
        if int(np.prod(input_shape)) != int(np.prod(self.image_shape)):
            raise ValueError(f"{type(self).__name__}: inputs of shape {tuple(input_shape)} are not images of shape "
                             f"{self.image_shape}")
        self.rng = self.add_generator("rng", rng)
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not training:
            return x
        return Tensor(self.augment(x.data.reshape((len(x),) + self.image_shape)).reshape(x.shape))

    def augment(self, images: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "image_shape": list(self.image_shape)}


class RandomFlip(_ImageAugmentation):
    """During training, mirror each image left–right with probability 1/2 (data augmentation).

    Inputs are images (batch, height, width, channels) or their flattened rows, given
    ``image_shape``. At inference it is the identity.

    Args:
        image_shape: (height, width, channels) of one image.
    """

    def augment(self, images):
        flip = self.rng.random(len(images)) < 0.5
        out = images.copy()
        out[flip] = images[flip, :, ::-1]
        return out


class RandomCrop(_ImageAugmentation):
    """During training, pad each image with zeros and cut it back to its size at a random offset.

    Each image of the batch gets its own offset, up to ``padding`` pixels in each direction
    (the standard CIFAR-10 augmentation is padding=4). At inference it is the identity.
    Inputs are images (batch, height, width, channels) or their flattened rows, given ``image_shape``.

    Args:
        padding: pixels of zeros added on each side, a non-negative int.
        image_shape: (height, width, channels) of one image.

    Example:
        >>> model.add(layers.RandomCrop(4))
        >>> model.add(layers.RandomFlip())
    """

    def __init__(self, padding: int = 4, image_shape=(32, 32, 3), name: str | None = None):
        super().__init__(image_shape, name)
        self.padding = _checks.integer("RandomCrop", "padding", padding, low=0, high=2**15)

    def augment(self, images):
        return images if self.padding == 0 else crop(images, self.padding, self.rng)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def crop(images: np.ndarray, padding: int, rng: np.random.Generator) -> np.ndarray:
    """Each image padded by ``padding`` zeros, then cut at its own random offset in [0, 2·padding]²."""
    n, height, width, _ = images.shape
    padded = np.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    top, left = rng.integers(0, 2 * padding + 1, size=(2, n))
    windows = sliding_window_view(padded, (height, width), axis=(1, 2))  # (n, 2p+1, 2p+1, C, height, width), a view
    return windows[np.arange(n), top, left].transpose(0, 2, 3, 1)  # one gather: no loop over images
