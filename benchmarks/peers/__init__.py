"""The peers: the same workload trained by neurona, PyTorch, scikit-learn, plain NumPy, or only its matmuls.

Every peer is a class ``Peer(workload, data, weights, seed)`` with ``train(rounds, gate)``
and ``accuracy()``. ``train`` runs ``rounds`` timed units (an epoch, or a chunk of
full-batch steps for W4) and calls ``gate.start()`` before each and ``gate.done(loss)``
after it: the gate waits for the parent's go-ahead and times the unit, so the parent can
alternate the peers epoch by epoch. Each peer runs in its own process and imports only
its own framework.
"""

from __future__ import annotations

import importlib

# peer name → (module, class, what it is)
PEERS = {
    "neurona": ("neurona_peer", "Peer", "neurona: model.fit() on a pre-built Network, epochs timed by a callback "
                "(the captured step wherever fit can capture)"),
    "neurona-eager": ("neurona_peer", "EagerPeer", "neurona: the same model.fit() with NEURONA_CAPTURE=off (the eager engine)"),
    "neurona-loop": ("neurona_peer", "LoopPeer", "neurona: a bare zero_grad/forward/backward/step loop (W4)"),
    "torch": ("torch_peer", "Peer", "PyTorch CPU: nn.Sequential, a standard training loop"),
    "sklearn": ("sklearn_peer", "Peer", "scikit-learn MLPClassifier/MLPRegressor.partial_fit, one call per epoch"),
    "numpy": ("numpy_peer", "Peer", "a hand-written plain NumPy loop"),
    "floor": ("floor_peer", "Peer", "only the epoch's matmuls (NumPy @ on random data): the BLAS floor"),
    "matmul-numpy": ("matmul_peer", "Peer", "NumPy float32 matmul, per shape"),
    "matmul-torch": ("matmul_peer", "TorchPeer", "PyTorch float32 matmul, per shape"),
}


def get(name: str):
    """The Peer class for ``name`` (importing its framework)."""
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r}; valid: {', '.join(PEERS)}")
    module, cls, _ = PEERS[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)
