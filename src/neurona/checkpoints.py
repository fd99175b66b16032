"""Training checkpoints: weights, optimizer state, random-generator states and history, written atomically.

Resuming from one continues exactly where the run was: the same batches, the same
dropout masks, the same updates — a resumed run ends bit for bit where an
uninterrupted one would. Like model files, checkpoints hold JSON and arrays only.
"""

from __future__ import annotations

import json

import numpy as np

from . import saving
from ._files import atomic_write

FORMAT, VERSION = "neurona.checkpoint", 1
_CONFIG_KEY = "__checkpoint__"


def _run_signature(model, plan, n_samples: int, epochs: int) -> dict:
    """What must match for a checkpoint to belong to this run."""
    return {"model": saving.model_config(model) | {"weights": None}, "optimizer": type(plan.opt).__name__,
            "optimizer_config": repr(plan.opt.get_config()), "loss": repr(plan.loss), "reg": repr(plan.reg),
            "batch_size": plan.batch_size, "n_samples": n_samples}


def save(path, model, plan, history, epochs_done: int, n_samples: int, epochs: int) -> None:
    """Write the state after ``epochs_done`` complete epochs to ``path`` (atomically)."""
    arrays = {f"w{i}": p.data for i, p in enumerate(model.parameters)}
    arrays.update({f"opt.{k}": v for k, v in plan.opt.state_dict()["arrays"].items() if not k.endswith(".scratch")})
    layer_rngs = {str(i): layer.rng.bit_generator.state for i, layer in enumerate(model.layers) if hasattr(layer, "rng")}
    meta = {"format": FORMAT, "version": VERSION, "epochs_done": epochs_done,
            "signature": _run_signature(model, plan, n_samples, epochs),
            "history": {"epoch": history.epoch, "history": history.history},
            "optimizer_iterations": plan.opt.iterations, "shuffle_rng": plan.rng.bit_generator.state,
            "layer_rngs": layer_rngs}
    arrays[_CONFIG_KEY] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with atomic_write(path) as f:
        np.savez(f, **arrays)


def restore(path, model, plan, history, n_samples: int, epochs: int) -> int:
    """Load the checkpoint at ``path`` into the model, optimizer, generators and history; return epochs done."""
    meta, arrays = _read(path)
    if meta["signature"] != json.loads(json.dumps(_run_signature(model, plan, n_samples, epochs))):
        raise ValueError(f"{path}: this checkpoint belongs to a different run (model, optimizer, loss, batch size "
                         "or data differ); delete it or write this run's checkpoints elsewhere")
    for i, p in enumerate(model.parameters):
        p.data[...] = _array(arrays, f"w{i}", p.shape, path)
    state = {"iterations": meta["optimizer_iterations"],
             "arrays": {k[4:]: v for k, v in arrays.items() if k.startswith("opt.")}}
    plan.opt.load_state_dict(state)
    plan.rng.bit_generator.state = meta["shuffle_rng"]
    for index, rng_state in meta["layer_rngs"].items():
        model.layers[int(index)].rng.bit_generator.state = rng_state
    history.epoch[:] = meta["history"]["epoch"]
    history.history.clear()
    history.history.update(meta["history"]["history"])
    return int(meta["epochs_done"])


def _array(arrays: dict, key: str, shape: tuple, path) -> np.ndarray:
    value = arrays.get(key)
    if value is None or value.shape != shape:
        raise ValueError(f"{path}: array {key} should have shape {shape}; found {None if value is None else value.shape}")
    return value


def _read(path) -> tuple:
    return saving.read_archive(path, _CONFIG_KEY, FORMAT, VERSION, "checkpoint")
