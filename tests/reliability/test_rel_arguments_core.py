"""Every argument of the model, training, layer, callback and optimizer API is validated where it enters:
bools where numbers are meant, strings, ints too large, NaN and inf are refused, naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

from neurona import callbacks, layers, models, optimizers

X = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
Y = np.arange(8) % 2


def net():
    return models.Network([layers.Dense(2, input_dim=3)], seed=0)


CASES = {
 "Dense units True": lambda: layers.Dense(True),
 "Dense factor nan": lambda: layers.Dense(3, factor=float("nan")),
 "Dense factor 1e300 build": lambda: models.Network([layers.Dense(3, input_dim=2, factor=1e300)]).build(),
 "Dropout rate True": lambda: layers.Dropout(True),
 "Network name 3": lambda: models.Network(name=3),
 "fit epochs 2**70": lambda: net().fit(X, Y, loss="cce", epochs=2**70, verbose=0),
 "fit batch 0": lambda: net().fit(X, Y, loss="cce", batch_size=0, verbose=0),
 "fit batch True": lambda: net().fit(X, Y, loss="cce", batch_size=True, verbose=0),
 "fit verbose 'yes'": lambda: net().fit(X, Y, loss="cce", verbose="yes"),
 "fit seed -1": lambda: net().fit(X, Y, loss="cce", seed=-1, verbose=0),
 "fit seed 1.5": lambda: net().fit(X, Y, loss="cce", seed=1.5, verbose=0),
 "fit name 5": lambda: net().fit(X, Y, loss="cce", name=5, verbose=0),
 "fit checkpoint 5": lambda: net().fit(X, Y, loss="cce", checkpoint=5, verbose=0),
 "fit callbacks obj": lambda: net().fit(X, Y, loss="cce", callbacks=object(), verbose=0),
 "ES patience True": lambda: callbacks.EarlyStopping(patience=True),
 "ES min_delta nan": lambda: callbacks.EarlyStopping(min_delta=float("nan")),
 "ES restore 1": lambda: callbacks.EarlyStopping(restore_best_weights=1),
 "MC path 3": lambda: callbacks.ModelCheckpoint(3),
 "MC sbo 'yes'": lambda: callbacks.ModelCheckpoint("a.npz", save_best_only="yes"),
 "SGD lr True": lambda: optimizers.SGD(lr=True),
 "SGD lr 10**400": lambda: optimizers.SGD(lr=10**400),
 "SGD lr inf": lambda: optimizers.SGD(lr=float("inf")),
 "SGD lr '0.1'": lambda: optimizers.SGD(lr="0.1"),
 "SGD learning_rate nan": lambda: optimizers.SGD(learning_rate=float("nan")),
 "Adam beta1 nan": lambda: optimizers.Adam(beta1=float("nan")),
 "BGD bs 2.5": lambda: optimizers.BGD(bs=2.5),
 "SGD momentum 1": lambda: optimizers.SGD(momentum=1.0),
 "SGD clipnorm 0": lambda: optimizers.SGD(clipnorm=0),
 "SGD nesterov 1": lambda: optimizers.SGD(nesterov=1),
 "predict batch -1": lambda: net().predict(X, batch_size=-1),
 "evaluate batch 1.0": lambda: net().evaluate(X, Y, loss="cce", batch_size=1.0),
 "Concatenate first": lambda: models.Network([layers.Concatenate(3)]),
 "Concat input_dim 0": lambda: layers.Concatenate(0),
 "Input shape 2.5": lambda: layers.Input(2.5),
 "build input_shape '3'": lambda: models.Network([layers.Dense(2)]).build(("3",)),
 "RandomFlip image 0": lambda: layers.RandomFlip((0, 2, 2)),
 "Dense kernel_reg bad": lambda: layers.Dense(3, kernel_regularizer="l3"),
 "Dense input_shape -1": lambda: layers.Dense(3, input_shape=(-1,)),
 "compile opt bad": lambda: net().compile(optimizer="adamw"),
 "fit validation_split True": lambda: net().fit(X, Y, loss="cce", validation_split=True, verbose=0),
 "fit validation_split nan": lambda: net().fit(X, Y, loss="cce", validation_split=float("nan"), verbose=0),
 "fit shuffle 1": lambda: net().fit(X, Y, loss="cce", shuffle=1, verbose=0),
 "load custom_objects list": lambda: models.load("x.npz", custom_objects=[1]),
 "Network layers str": lambda: models.Network("dense"),
 "Model inputs None": lambda: models.Model(None, None),
 "Dense activation bad": lambda: layers.Dense(3, activation="gelu2"),
}
NAMED = {  # what each message must name (the argument, or the family for an unknown name)
    "Concatenate first": "Concatenate", "load custom_objects list": "custom_objects",
    "Network layers str": "layers", "Model inputs None": "inputs", "Dense activation bad": "activation",
    "Dense kernel_reg bad": "regularizer", "compile opt bad": "optimizer", "Dense factor 1e300 build": "factor",
    "SGD learning_rate nan": "learning_rate", "RandomFlip image 0": "image_shape", "Input shape 2.5": "shape",
    "fit callbacks obj": "callbacks", "MC sbo 'yes'": "save_best_only", "ES restore 1": "restore_best_weights",
    "ES min_delta nan": "min_delta", "Adam beta1 nan": "beta1", "BGD bs 2.5": "bs", "Concat input_dim 0": "input_dim", "build input_shape '3'": "input_shape",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_hostile_argument_is_refused_naming_it(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises((ValueError, TypeError)) as caught:
        CASES[case]()
    words = case.split()
    named = NAMED.get(case, words[1] if len(words) > 1 else words[0])
    assert named.lower() in str(caught.value).lower(), str(caught.value)
