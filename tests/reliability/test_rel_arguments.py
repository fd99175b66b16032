"""Every argument is validated where it enters: activations, losses, regularizers, initializers, metrics,
schedules, preprocessing, synthetic data and cifar10.load.

Each public entry point gets hostile values (bools where numbers are meant, strings, NaN and inf,
ints too large for a float, a million-entry list, a list nested 100 000 deep, a 1 MB string, odd
objects). A call either works or raises ValueError/TypeError whose message names the argument (or
the entry point) and stays short: the value is echoed, never in full.
"""

from __future__ import annotations

import decimal
import fractions
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neurona import Tensor, _checks, activations, initializers, losses, metrics, regularizers, schedules
from neurona.datasets import cifar10, preprocessing, synthetic

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MAX_MESSAGE = 400


def _deep(depth: int) -> list:
    value = []
    for _ in range(depth):
        value = [value]
    return value


HUGE_STRING, MILLION, DEEP = "a" * 10**6, list(range(10**6)), _deep(100_000)  # built once: they cost time
HOSTILE = [
    0, 1, -1, 3, 2**63, 10**400, -10**400, 10**5000, True, False, np.bool_(True), None, "3", "", "relu", HUGE_STRING,
    b"x", 1.5, 0.0, -0.5, 1e300, float("nan"), float("inf"), float("-inf"), np.int64(3), np.float32(0.5),
    np.float64("nan"), 2 + 1j, [3], (1,), {}, object(), fractions.Fraction(1, 3), fractions.Fraction(10**400, 3),
    decimal.Decimal("0.5"), np.array([1, 2]), np.array(0.5), MILLION, DEEP,
]
WORST = (10**400, 10**5000, True, float("nan"), HUGE_STRING, DEEP, MILLION, object())
VALUES = st.one_of(st.sampled_from(HOSTILE), st.integers(-5, 10), st.floats(-3, 3))

RNG = np.random.default_rng(0)
X4, Y4 = np.arange(8.0).reshape(4, 2), np.array([0, 1, 0, 1])

# (entry point, argument named in errors, call with the value)
ENTRIES = [
    ("LeakyReLU", "alpha", lambda v: activations.LeakyReLU(alpha=v)),
    ("ELU", "alpha", lambda v: activations.ELU(alpha=v)),
    ("Softmax", "axis", lambda v: activations.Softmax(axis=v)),
    ("activation", "activation", lambda v: activations.get(v)),
    ("ReLU call", "x", lambda v: activations.ReLU()(v)),
    ("SVM", "delta", lambda v: losses.SVM(delta=v)),
    ("BCE", "from_logits", lambda v: losses.BCE(from_logits=v)),
    ("BCE", "eps", lambda v: losses.BCE(eps=v)),
    ("loss", "loss", lambda v: losses.get(v)),
    ("MSE call", "y_true", lambda v: losses.MSE()(Tensor(np.zeros((1, 1))), v)),
    ("L2", "lam", lambda v: regularizers.L2(lam=v)),
    ("L1", "lam", lambda v: regularizers.L1(lam=v)),
    ("L1L2", "l1", lambda v: regularizers.L1L2(l1=v)),
    ("L1L2", "l2", lambda v: regularizers.L1L2(l2=v)),
    ("regularizer", "regularizer", lambda v: regularizers.get(v)),
    ("L2 call", "weights", lambda v: regularizers.L2()(v)),
    ("Normal", "factor", lambda v: initializers.Normal(factor=v)),
    ("initializer", "initializer", lambda v: initializers.get(v)),
    ("initializer shape", "shape", lambda v: initializers.GlorotUniform()(v, RNG)),
    ("initializer rng", "rng", lambda v: initializers.HeNormal()((2, 2), v)),
    ("initializer dtype", "dtype", lambda v: initializers.Normal()((2, 2), RNG, v)),
    ("Accuracy", "mode", lambda v: metrics.Accuracy(mode=v)),
    ("metric", "metric", lambda v: metrics.get(v)),
    ("Accuracy call", "y_true", lambda v: metrics.Accuracy()(np.zeros((2, 2)), v)),
    ("CosineDecay", "lr", lambda v: schedules.CosineDecay(lr=v, decay_steps=10)),
    ("CosineDecay", "decay_steps", lambda v: schedules.CosineDecay(lr=0.1, decay_steps=v)),
    ("CosineDecay", "alpha", lambda v: schedules.CosineDecay(lr=0.1, decay_steps=10, alpha=v)),
    ("CosineDecay", "warmup_steps", lambda v: schedules.CosineDecay(lr=0.1, decay_steps=10, warmup_steps=v)),
    ("CosineDecay call", "step", lambda v: schedules.CosineDecay(lr=0.1, decay_steps=10)(v)),
    ("ExponentialDecay", "lr", lambda v: schedules.ExponentialDecay(lr=v, decay_steps=10, rate=0.5)),
    ("ExponentialDecay", "decay_steps", lambda v: schedules.ExponentialDecay(lr=0.1, decay_steps=v, rate=0.5)),
    ("ExponentialDecay", "rate", lambda v: schedules.ExponentialDecay(lr=0.1, decay_steps=10, rate=v)),
    ("ExponentialDecay call", "step", lambda v: schedules.ExponentialDecay(lr=0.1, decay_steps=10, rate=0.5)(v)),
    ("Standardizer", "per_feature", lambda v: preprocessing.Standardizer(per_feature=v)),
    ("Standardizer", "chunk_size", lambda v: preprocessing.Standardizer(chunk_size=v)),
    ("Standardizer.fit", "x", lambda v: preprocessing.Standardizer().fit(v)),
    ("flatten", "x", lambda v: preprocessing.flatten(v)),
    ("one_hot", "num_classes", lambda v: preprocessing.one_hot([0, 1], num_classes=v)),
    ("one_hot", "dtype", lambda v: preprocessing.one_hot([0, 1], 2, dtype=v)),
    ("one_hot", "labels", lambda v: preprocessing.one_hot(v, 3)),
    ("take_first", "n", lambda v: preprocessing.take_first(X4, Y4, v)),
    ("take_first", "x", lambda v: preprocessing.take_first(v, Y4, 1)),
    ("train_val_split", "val_fraction", lambda v: preprocessing.train_val_split(X4, Y4, val_fraction=v)),
    ("train_val_split", "val_size", lambda v: preprocessing.train_val_split(X4, Y4, val_size=v)),
    ("train_val_split", "seed", lambda v: preprocessing.train_val_split(X4, Y4, val_size=1, seed=v)),
    ("train_val_split", "shuffle", lambda v: preprocessing.train_val_split(X4, Y4, val_size=1, shuffle=v)),
    ("xor", "encoding", lambda v: synthetic.xor(encoding=v)),
    ("parity", "n_bits", lambda v: synthetic.parity(v)),
    ("cifar10.load", "data_dir", lambda v: cifar10.load(data_dir=v, download=False)),
    ("cifar10.load", "download", lambda v: cifar10.load(data_dir=None, download=v)),
    ("cifar10.load", "progress", lambda v: cifar10.load(data_dir=None, download=False, progress=v)),
    ("cifar10.label_names", "data_dir", lambda v: cifar10.label_names(data_dir=v, download=False)),
]


@pytest.fixture(autouse=True)
def _no_real_data(monkeypatch, tmp_path_factory):
    """cifar10 calls look in an empty folder: a valid argument ends in FileNotFoundError, never a download."""
    empty = tmp_path_factory.mktemp("empty")
    monkeypatch.setenv("NEURONA_DATA", str(empty))
    monkeypatch.setenv("XDG_CACHE_HOME", str(empty))
    monkeypatch.setattr(cifar10, "_urlopen", lambda *a, **k: (_ for _ in ()).throw(OSError("no network in tests")))


def _words(message: str, names) -> bool:
    return any(re.search(rf"(?<![A-Za-z_]){re.escape(n)}(?![A-Za-z_])", message) for n in names)


def _check(entry: str, argument: str, call, value) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            call(value)
        except (FileNotFoundError, cifar10.DownloadError):  # valid arguments, an empty folder, no network
            assert entry.startswith("cifar10"), "only cifar10 may say the data is missing"
        except (ValueError, TypeError) as exc:
            message = str(exc)
            assert _words(message, (argument, entry.split()[0])), f"{entry}: {type(exc).__name__} names neither " \
                                                                  f"{argument} nor {entry}: {message[:300]}"
            assert len(message) < MAX_MESSAGE, f"{entry}({argument}=...): a {len(message)}-character message"


@FUZZ
@given(index=st.integers(0, len(ENTRIES) - 1), value=VALUES)
def test_every_argument_refuses_hostile_values_by_name_and_briefly(index, value):
    entry, argument, call = ENTRIES[index]
    _check(entry, argument, call, value)


@pytest.mark.parametrize("entry, argument, call", ENTRIES, ids=[f"{e}-{a}" for e, a, _ in ENTRIES])
def test_every_entry_point_survives_the_worst_values(entry, argument, call):
    for value in WORST:
        _check(entry, argument, call, value)


# ----- worked examples: what is refused, and the echo ----------------------------------------------------

@pytest.mark.parametrize("call, match", [
    (lambda: losses.SVM(delta=10**400), r"SVM: delta must be a finite real number\. Received: delta=<an int of 1329 bits>"),
    (lambda: regularizers.L2(lam=True), r"L2: lam must be a finite real number\. Received: lam=True"),
    (lambda: regularizers.L1(lam=float("inf")), r"L1: lam must be a finite real number\. Received: lam=inf"),
    (lambda: activations.LeakyReLU(alpha="0.1"), r"LeakyReLU: alpha must be a finite real number\. Received: alpha='0\.1'"),
    (lambda: activations.ELU(alpha=np.nan), r"ELU: alpha must be a finite real number\. Received: alpha=nan"),
    (lambda: initializers.Normal(factor=-1), r"Normal: factor must be >= 0\.0\. Received: factor=-1"),
    (lambda: schedules.CosineDecay(0.1, 10, warmup_steps=True),
     r"CosineDecay: warmup_steps must be an int in \[0, 1000000000000\]\. Received: warmup_steps=True"),
    (lambda: schedules.CosineDecay(0.1, 10)(-1), r"CosineDecay: step must be an int in \[0, 9223372036854775807\]\. "
                                                   r"Received: step=-1"),
    (lambda: schedules.ExponentialDecay(0.1, 10**13, 0.5), r"ExponentialDecay: decay_steps must be a positive int "
                                                             r"\(at most 1,000,000,000,000\)"),
    (lambda: losses.BCE(from_logits=1), r"BCE: from_logits must be True or False\. Received: from_logits=1"),
    (lambda: metrics.Accuracy(mode=np.array(["auto"])), r"Accuracy: mode must be one of auto, argmax, sign, threshold"),
    (lambda: activations.get("x" * 10**6), r"Unknown activation: 'x+\.\.\.x+'\. Valid activation names"),
    (lambda: synthetic.xor(encoding=np.array(["pm1"])), r"xor: encoding must be 'pm1' or '01'"),
    (lambda: preprocessing.take_first(X4, Y4, 10**5000), r"take_first: n=<an int of 16610 bits> is larger than"),
    (lambda: preprocessing.one_hot([0, 1], 2, dtype="not a dtype"), r"one_hot: dtype must be a number dtype"),
    (lambda: preprocessing.one_hot(np.zeros(3000, np.int64), 1_000_000), r"one_hot: 3,000 labels x 1,000,000 classes"),
    (lambda: preprocessing.flatten([[1, 2], [3]]), r"flatten: x must be a rectangular array"),
    (lambda: cifar10.load(data_dir="a\0b", download=False), r"cifar10\.load: data_dir must be a non-empty path without NUL"),
    (lambda: cifar10.load(data_dir="~no_such_user_neurona/data", download=False), r"data_dir: cannot expand ~ in "),
    (lambda: regularizers.L2()([]), None),  # an empty list of kernels: a zero penalty
])
def test_worked_refusals(call, match):
    if match is None:
        assert call().item() == 0.0
        return
    with pytest.raises(ValueError, match=match):
        call()


def test_echo_is_bounded_and_never_raises():
    class Broken:
        def __repr__(self):
            raise RuntimeError("no repr")

    assert _checks.echo(10**5000) == "<an int of 16610 bits>"
    assert _checks.echo(Broken()).startswith("<Broken")
    for value in (list(range(10**6)), _deep(100_000), "a" * 10**7, b"b" * 10**7, np.zeros((1000, 1000))):
        assert len(_checks.echo(value)) <= _checks.ECHO_LIMIT


def test_real_catches_ints_too_large_for_a_float():
    with pytest.raises(ValueError, match=r"f: x must be a finite real number\. Received: x=<an int of 1329 bits>"):
        _checks.real("f", "x", 10**400)
    assert _checks.real("f", "x", 10**300) == 1e300  # large, but a float holds it


def test_positive_int_takes_an_upper_bound():
    with pytest.raises(ValueError, match=r"f: n must be a positive int \(at most 10\)\. Received: n=11"):
        _checks.positive_int("f", "n", 11, high=10)
    assert _checks.positive_int("f", "n", np.int64(10), high=10) == 10


def test_name_arguments_are_str_or_none():
    assert _checks.name_or_none("f", None) is None and _checks.name_or_none("f", "run") == "run"
    with pytest.raises(ValueError, match=r"f: name must be a str or None\. Received: name=3"):
        _checks.name_or_none("f", 3)
