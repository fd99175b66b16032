"""Model files: one ``.npz`` holding a JSON description and the weight arrays. No pickle, so loading runs no code."""

from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from . import losses
from ._files import atomic_write

FORMAT, VERSION = "neurona.model", 1
_CONFIG_KEY = "__config__"


def model_config(model) -> dict:
    """Everything needed to rebuild ``model`` except its weight values."""
    config = {"format": FORMAT, "version": VERSION, "class": type(model).__name__, "name": model.name,
              "dtype": model.dtype.name, "seed": model.seed,
              "input_shape": list(model.input_shape) if model.input_shape else None,
              "layers": [{"class": type(layer).__name__, "config": layer.get_config()} for layer in model.layers],
              "steps": [[i, list(sources), as_list] for i, sources, as_list in model.steps],
              "weights": [{"layer": li, "key": key, "shape": list(t.shape)}
                          for li, layer in enumerate(model.layers) for key, (t, _) in layer._weights.items()]}
    if model.loss is not None:
        config["loss"] = losses.serialize(model.loss)
    return config


def save_model(model, path) -> None:
    """Write ``model`` to ``path`` atomically (config as JSON text, weights as arrays)."""
    if not model.built:
        model.build()
    arrays = {f"w{i}": t.data for i, t in enumerate(model.parameters)}
    arrays[_CONFIG_KEY] = np.frombuffer(json.dumps(model_config(model)).encode(), dtype=np.uint8)
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def read_file(path) -> tuple:
    """(config dict, {name: array}) from a model file; a clear ValueError if it is not one."""
    if not isinstance(path, (str, bytes, os.PathLike)) and not hasattr(path, "read"):
        raise TypeError(f"load: path must be a file path (a str or pathlib.Path). Received: path={path!r:.80}")
    return read_archive(path, _CONFIG_KEY, FORMAT, VERSION, "model file")


def read_archive(path, key: str, fmt: str, version: int, noun: str) -> tuple:
    """(description, {name: array}) from an ``.npz`` of arrays plus a JSON entry ``key`` (model files, checkpoints).

    Loads with ``allow_pickle=False``; a truncated, corrupt or foreign file, or one from a newer
    format ``version``, is a ValueError that names the file.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError,
            NotImplementedError, RuntimeError) as exc:  # zipfile: unsupported method/version, "encrypted" flag
        raise ValueError(f"{path}: not a readable neurona {noun} (truncated or corrupt?): {exc}") from exc
    if key not in arrays:
        raise ValueError(f"{path}: not a neurona {noun} (no {key} entry)")
    try:
        meta = json.loads(arrays.pop(key).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: the {noun.split()[0]} description is corrupt: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise ValueError(f"{path}: not a neurona {noun} (format={meta.get('format') if isinstance(meta, dict) else None!r})")
    if not isinstance(meta.get("version"), int) or meta["version"] > version:
        raise ValueError(f"{path}: written in {noun.split()[0]} format version {meta.get('version')!r}, "
                         f"but this neurona reads up to version {version}; upgrade neurona")
    return meta, arrays


def load_model(path):
    """Rebuild the model saved at ``path``, with its weights; only built-in layer classes can be created."""
    from . import layers as layer_module
    from .models import Model, Network

    config, arrays = read_file(path)
    try:
        model = _structure(config, layer_module.from_config, Network, Model)
        expected, listed = model.weight_shapes(), len(config["weights"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the model description is invalid: {exc}") from exc
    _check_shapes(expected, arrays, listed, path)  # before building: a forged description allocates nothing
    try:
        model.build()
    except ValueError as exc:
        raise ValueError(f"{path}: the model description is invalid: {exc}") from exc
    _assign_weights(model, arrays)
    return model


def _structure(config: dict, layer_from_config, network_cls, model_cls):
    """The model a description names, its layers configured but without weights."""
    built_layers = [layer_from_config(entry) for entry in config["layers"]]
    kind = config["class"]
    if kind == "Network":
        model = network_cls(built_layers, name=config["name"], dtype=config["dtype"], seed=config["seed"])
    elif kind == "Model":
        model = model_cls._from_steps(built_layers, [tuple(s) for s in config["steps"]], name=config["name"],
                                      dtype=config["dtype"], seed=config["seed"])
    else:
        raise ValueError(f"unknown model class {kind!r}")
    model.input_shape = tuple(int(d) for d in config["input_shape"])
    if "loss" in config:
        model.loss = losses.deserialize(config["loss"])
    return model


def _check_shapes(expected: list, arrays: dict, listed: int, path) -> None:
    """Every weight the layers need has a float array of its shape in the file (and in its listing)."""
    if not len(expected) == len(arrays) == listed:
        raise ValueError(f"{path}: the file holds {len(arrays)} weight arrays (its description lists {listed}), "
                         f"but its layers need {len(expected)}")
    for i, (name, shape) in enumerate(expected):
        value = arrays.get(f"w{i}")
        if value is None or value.shape != tuple(shape) or value.dtype.kind != "f":
            got = None if value is None else (value.shape, str(value.dtype))
            raise ValueError(f"{path}: weight {name} should be a float array of shape {tuple(shape)}; "
                             f"the file has {got}")


def _assign_weights(model, arrays: dict) -> None:
    for i, param in enumerate(model.parameters):
        param.data[...] = arrays[f"w{i}"]
