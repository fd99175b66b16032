"""Training checkpoints: the run's signature plus the state of everything that changes while training.

A checkpoint is the sum of its participants' states (the model's weights and generators, the
optimizer's slots, the shuffling generator, the callbacks, the history, the run's progress),
each given and taken through the state protocol of ``neurona._state``. Resuming from one
continues exactly where the run was: a resumed run ends bit for bit where an uninterrupted
one would. Restoring is all or nothing: the whole file is read and checked, every participant
checks its part, and only then does anything change.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np

from . import saving
from ._state import StateError

FORMAT, VERSION = "neurona.checkpoint", 2
_KEY = "__checkpoint__"
_ARRAY = "__array__"
_ARRAY_DTYPES = ("float16", "float32", "float64", "int64")
_SAMPLED_ROWS = 1024


# ----- what a checkpoint must match -----
def describe(obj):
    """A JSON value naming ``obj`` and its configuration (for a run's signature)."""
    config = obj.get_config() if hasattr(obj, "get_config") else obj
    value = config if obj is config else {"class": type(obj).__name__, "config": config}
    return json.loads(json.dumps(value, default=repr))


def fingerprint(array: np.ndarray) -> dict:
    """Shape, dtype and a digest of up to 1024 evenly spaced samples (cheap on any size of data)."""
    rows = np.unique(np.linspace(0, len(array) - 1, num=min(len(array), _SAMPLED_ROWS)).astype(np.int64))
    digest = hashlib.blake2b(np.ascontiguousarray(array[rows]).tobytes(), digest_size=16).hexdigest()
    return {"shape": list(array.shape), "dtype": array.dtype.str, "digest": digest}


_WHAT = {"model": "the model's architecture", "loss": "the loss", "optimizer": "the optimizer or its settings",
         "regularizer": "the regularizer", "batch_size": "the batch size", "seed": "the seed", "epochs": "epochs",
         "callbacks": "the callbacks or their settings", "data": "the training or test data"}


def _differences(stored, current: dict) -> list:
    if not isinstance(stored, dict):
        return ["everything (the signature is not a dict)"]
    keys = sorted(set(stored) | set(current))
    return [_WHAT.get(k, repr(k)[:40]) + _detail(k, stored.get(k), current.get(k))
            for k in keys if stored.get(k) != current.get(k)]


def _detail(key: str, stored, current) -> str:
    if key in ("batch_size", "seed", "epochs"):
        return f" ({stored!r:.40} in the file, {current!r:.40} now)"
    if key == "data" and isinstance(stored, dict):
        parts = [k for k in ("x", "y", "test") if stored.get(k) != current.get(k)]
        return f" ({', '.join(parts)} differ in shape, dtype or content)"
    return ""


# ----- writing -----
def save(path, signature: dict, participants: dict) -> None:
    """Write the signature and every participant's state to ``path``, atomically."""
    arrays = {}
    state = {name: _pack(p.state_dict(), arrays) for name, p in participants.items()}
    saving.write_archive(path, _KEY, {"format": FORMAT, "version": VERSION, "signature": signature,
                                      "state": state}, arrays)


def _pack(tree, arrays: dict):
    """``tree`` with each array replaced by a reference to an archive member of its own."""
    if isinstance(tree, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = tree
        return {_ARRAY: name, "shape": list(tree.shape), "dtype": tree.dtype.name}
    if isinstance(tree, dict):
        return {k: _pack(v, arrays) for k, v in tree.items()}
    if isinstance(tree, (list, tuple)):
        return [_pack(v, arrays) for v in tree]
    return tree


# ----- reading -----
def restore(path, signature: dict, participants: dict, budget: int) -> None:
    """Load the checkpoint at ``path`` into ``participants``, all or nothing.

    Args:
        signature: this run's; the file's must equal it (a ValueError names what differs).
        participants: name → object with the state protocol, as given to ``save``.
        budget: the most bytes of arrays the file may declare (it is refused before reading if more).
    """
    with saving.Archive(path, _KEY, FORMAT, (VERSION,), "checkpoint") as archive:
        meta = archive.description
        stored = json.loads(json.dumps(signature))
        if meta.get("signature") != stored:
            raise ValueError(f"{path}: this checkpoint belongs to a different run: "
                             f"{'; '.join(_differences(meta.get('signature'), stored))} differ. Delete it, or "
                             "write this run's checkpoints to another path")
        state = meta.get("state")
        if not isinstance(state, dict) or set(state) != set(participants):
            raise ValueError(f"{path}: the checkpoint's state must hold {sorted(participants)}")
        refs = []
        _collect(state, refs, path)
        declared = sum(int(np.prod(ref["shape"])) * np.dtype(ref["dtype"]).itemsize for ref in refs)
        if declared > budget:
            raise ValueError(f"{path}: the checkpoint declares {declared:,} bytes of arrays, more than a run of "
                             f"this model can hold ({budget:,}); refused before reading")
        if archive.names - {_KEY} != {ref[_ARRAY] for ref in refs}:
            raise ValueError(f"{path}: the checkpoint's arrays do not match its description")
        arrays = {ref[_ARRAY]: archive.array(ref[_ARRAY], tuple(ref["shape"]), ref["dtype"]) for ref in refs}
    state = _unpack(state, arrays)
    for name, participant in participants.items():
        try:
            participant.check_state(state[name])
        except StateError as exc:
            raise ValueError(f"{path}: {name}: {exc}"[:1000]) from None
    for name, participant in participants.items():
        participant.set_state(state[name])


def _collect(tree, refs: list, path) -> None:
    """Every array reference in ``tree``, each checked (iteratively: a deep tree cannot exhaust the stack)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict) and _ARRAY in node:
            shape = node.get("shape")
            ok = (set(node) == {_ARRAY, "shape", "dtype"} and isinstance(node[_ARRAY], str)
                  and isinstance(shape, list) and all(saving._is_int(d, 0) for d in shape)
                  and node["dtype"] in _ARRAY_DTYPES)
            if not ok:
                raise ValueError(f"{path}: a malformed array reference in the checkpoint: {node!r:.120}")
            refs.append(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _unpack(tree, arrays: dict):
    if isinstance(tree, dict) and _ARRAY in tree:
        return arrays[tree[_ARRAY]]
    if isinstance(tree, dict):
        return {k: _unpack(v, arrays) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_unpack(v, arrays) for v in tree]
    return tree


def read(path) -> dict:
    """The description of the checkpoint at ``path`` (format, version, signature, state with array references)."""
    with saving.Archive(path, _KEY, FORMAT, (VERSION,), "checkpoint") as archive:
        return archive.description
