"""Targets are what the loss needs: each loss takes exactly the target forms it documents.

The spec, stated independently of the code (``documented`` below):
- every loss: real numbers (not bools), finite, labels (N,) or rows (N, C);
- labels (N,) with several outputs: whole numbers (ints, or floats such as 2.0) in [0, C);
- with one output a flat (N,) is that output's column;
- values: MSE any (whose square fits the dtype), BCE in [0, 1], CCE non-negative rows summing
  to 1, SVM one-hot rows; CCE and SVM need C >= 2.
Anything else is a ValueError naming the loss (or the argument) and echoing the value briefly,
the same on a direct call ``loss(y_pred, y_true)`` and on the ``check_targets`` path of fit/evaluate.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from neurona import Tensor, layers, losses, models

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOSSES = {"MSE": losses.MSE(), "CCE": losses.CCE(), "SVM": losses.SVM(), "BCE": losses.BCE(),
          "BCE-logits": losses.BCE(from_logits=True)}


def _loss(name: str):
    return LOSSES[name]


def _class(name: str) -> str:
    return name.split("-")[0]


# ----- the spec, written independently ------------------------------------------------------------------

def documented(name: str, y: np.ndarray, n_outputs: int) -> bool:
    """Whether ``y`` is a target form the docs of loss ``name`` promise to accept for ``n_outputs`` outputs."""
    kind = _class(name)
    if y.dtype.kind not in "iuf" or y.ndim not in (1, 2) or not np.isfinite(y.astype(np.float64)).all():
        return False
    if kind in ("CCE", "SVM") and n_outputs < 2:
        return False
    if y.ndim == 1 and n_outputs > 1:
        return all(float(v).is_integer() and 0 <= v < n_outputs for v in y.tolist())
    rows = y.reshape(-1, 1) if y.ndim == 1 else y
    if rows.shape[1] != n_outputs:
        return False
    values = rows.tolist()
    if kind == "BCE":
        return all(0 <= v <= 1 for row in values for v in row)
    if kind == "CCE":
        return all(min(row) >= 0 and abs(sum(row) - 1) <= 1e-5 for row in values)
    if kind == "SVM":
        return all(sorted(row) == [0] * (len(row) - 1) + [1] for row in values)
    return True  # MSE: any finite value (the strategies stay far below the overflow bound)


VALUES = [0.0, 1.0, 0.5, 0.25, 2.0, -1.0, -0.5, 1.5, 3.0, np.nan, np.inf]  # sums of these are exact


@st.composite
def targets(draw, n: int):
    """Labels and rows of every dtype, good and bad, with exactly representable values."""
    dtype = draw(st.sampled_from([np.int64, np.uint8, np.float32, np.float64, np.bool_, np.complex128, "U1", object]))
    shape = draw(st.sampled_from([(n,), (n, 1), (n, 2), (n, 3), (n, 3, 1), ()]))
    if dtype in ("U1", object, np.complex128):
        return np.full(shape, "a" if dtype == "U1" else 1j, dtype=dtype) if dtype != object else np.full(shape, None)
    if dtype == np.bool_:
        return draw(hnp.arrays(np.bool_, shape))
    if np.dtype(dtype).kind in "iu":
        return draw(hnp.arrays(dtype, shape, elements=st.integers(0 if dtype == np.uint8 else -2, 4)))
    one_hot = draw(st.booleans()) and len(shape) == 2
    if one_hot:  # a valid-looking row now and then, so acceptance is exercised too
        return np.eye(shape[1], dtype=dtype)[draw(hnp.arrays(np.int64, n, elements=st.integers(0, shape[1] - 1)))]
    return draw(hnp.arrays(dtype, shape, elements=st.sampled_from(VALUES)))


def _names_the_loss_or_argument(message: str, name: str) -> bool:
    return bool(re.search(rf"\b({_class(name)}|y_true|y)\b", message))


# ----- acceptance is exactly the documented forms ----------------------------------------------------------

@FUZZ
@given(name=st.sampled_from(sorted(LOSSES)), n_outputs=st.sampled_from([1, 2, 3]), data=st.data())
@example(name="BCE", n_outputs=1, data=None)  # found: a flat (N,) vector skipped BCE's [0, 1] check
def test_a_loss_accepts_exactly_the_documented_targets(name, n_outputs, data):
    n = 3
    y = np.array([2.0, -1.0, 0.5]) if data is None else data.draw(targets(n))
    scores = Tensor(np.linspace(-1, 1, n * n_outputs).reshape(n, n_outputs) * 0.5 + 0.5)  # inside (0, 1) for BCE
    loss = _loss(name)
    expected = documented(name, np.asarray(y), n_outputs)
    for call in (lambda: loss(scores, y), lambda: loss.check_targets(y, n_outputs)):
        try:
            result = call()
        except ValueError as exc:
            assert not expected, f"{name} refused documented targets {y!r}: {exc}"
            assert _names_the_loss_or_argument(str(exc), name), str(exc)
            assert len(str(exc)) < 400
            continue
        assert expected, f"{name} accepted undocumented targets {y!r} (shape {np.shape(y)}) for {n_outputs} outputs"
        if isinstance(result, Tensor):
            assert result.item() >= 0


# ----- no loss is ever negative ----------------------------------------------------------------------------

@st.composite
def valid_case(draw):
    name = draw(st.sampled_from(sorted(LOSSES)))
    n, c = draw(st.integers(1, 4)), draw(st.integers(2, 5))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    big = 1e4 if dtype == np.float32 else 1e30
    scores = draw(hnp.arrays(dtype, (n, c), elements=st.one_of(st.floats(-big, big, width=np.dtype(dtype).itemsize * 8),
                                                              st.sampled_from([0.0, 1.0, 1e-30, -1e-30]))))
    if _class(name) == "BCE" and not name.endswith("logits"):
        scores = np.clip(np.abs(scores) / big, 0, 1).astype(dtype)  # probabilities
    form = draw(st.sampled_from(["labels", "rows"]))
    labels = draw(hnp.arrays(np.int64, n, elements=st.integers(0, c - 1)))
    if form == "labels":
        return name, scores, labels
    if _class(name) in ("SVM",):
        return name, scores, np.eye(c)[labels]
    raw = draw(hnp.arrays(np.float64, (n, c), elements=st.floats(0, 1)))
    if _class(name) == "CCE":  # soft targets: rows normalised to sum 1
        raw = np.where(raw.sum(axis=1, keepdims=True) > 0, raw, 1.0)
        raw = raw / raw.sum(axis=1, keepdims=True)
    return name, scores, raw.astype(dtype)


@FUZZ
@given(case=valid_case())
@example(case=("CCE", np.array([[1e4, -1e4]], np.float32), np.array([0])))  # log-sum-exp of a sure class
@example(case=("BCE", np.array([[1.0, 0.0]], np.float32), np.array([[1.0, 0.0]], np.float32)))  # clipped at 1 - eps
@example(case=("BCE-logits", np.array([[88.0, -88.0]], np.float32), np.array([[1.0, 0.0]], np.float32)))
def test_no_loss_is_ever_negative_on_accepted_targets(case):
    name, scores, y = case
    value = _loss(name)(Tensor(scores), y).item()
    assert not value < 0, f"{name} gave {value} on scores {scores!r} and targets {y!r}"
    assert not math.isnan(value)


# ----- worked refusals: the message names the loss and the offending value ----------------------------------

SCORES = Tensor(np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]))
REFUSED = [
    # CCE: one-hot rows non-negative, summing to 1
    ("CCE", [[1.0, 1.0, -1.0], [0, 0, 1]], r"CCE: {y} rows must be probabilities .* Received a negative entry: {y}\[0, 2\]=-1\.0"),
    ("CCE", [[0.5, 0.6, 0.0], [0, 0, 1]], r"CCE: {y} rows must be probabilities .*Received: {y}\[0\]=array\(\[0\.5, 0\.6, 0\. ?\]\), "
                                          r"which sums to 1\.1"),
    ("CCE", [[0.0, 0.0, 0.0], [0, 0, 1]], r"CCE: {y} rows .*which sums to 0"),
    # SVM: one-hot rows only (soft rows would silently be read by argmax)
    ("SVM", [[0.2, 0.8, 0.0], [0, 0, 1]], r"SVM: {y} rows must be one-hot .*Received: {y}\[0\]=array\(\[0\.2, 0\.8, 0\. ?\]\)"),
    ("SVM", [[1, 1, 0], [0, 0, 1]], r"SVM: {y} rows must be one-hot"),
    # BCE: [0, 1] as rows
    ("BCE", [[0.0, 1.5, 0.0], [0, 0, 1]], r"BCE: targets must lie in \[0, 1\]\. Received: min=0\.0, max=1\.5 "
                                          r"\(first outside: {y}\[0, 1\]=1\.5\)"),
    ("BCE", [[0.0, -0.1, 0.0], [0, 0, 1]], r"BCE: targets must lie in \[0, 1\]\. Received: min=-0\.1"),
    # labels: ints in range, whole floats accepted, 1.5 and bools refused
    ("MSE", [0.0, 1.5], r"{y}: labels must be integers\. Received dtype=float64, e\.g\. {y}\[1\]=1\.5 \(MSE loss\)"),
    ("CCE", [0, 3], r"{y}: labels must be in \[0, 3\) for a network with 3 outputs\. Received: min=0, max=3 \(CCE loss\)"),
    ("SVM", [-5, 1], r"{y}: labels must be in \[0, 3\) .*Received: min=-5, max=1 \(SVM loss\)"),
    ("CCE", np.array([True, False]), r"CCE: {y} must be numbers, not bools"),
    ("MSE", [[np.nan, 0, 0], [0, 0, 1]], r"MSE: {y} contains NaN or inf: {y}\[0, 0\]=nan"),
    ("MSE", np.array(["a", "b"]), r"MSE: {y} must hold real numbers\. Received dtype=<U1"),
    ("MSE", [[1, 2], [3]], r"MSE: {y} must be a rectangular array of numbers"),
    ("BCE", [[0.5], [0.5]], r"BCE: {y} has 1 columns, but the network has 3 outputs"),
    ("MSE", np.zeros((2, 3, 1)), r"MSE: {y} must be labels \(N,\) or rows \(N, C\)\. Received: {y}\.shape=\(2, 3, 1\)"),
]


@pytest.mark.parametrize("name, y, match", REFUSED, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(REFUSED)])
def test_refused_targets_name_the_loss_and_the_value(name, y, match):
    loss = _loss(name)
    with pytest.raises(ValueError, match=match.replace("{y}", "y")):
        loss.check_targets(y, 3)  # the path fit and evaluate take
    with pytest.raises(ValueError, match=match.replace("{y}", "y_true")):
        loss(SCORES, y)  # a direct call names y_true


def test_bce_checks_a_flat_vector_and_a_column_alike():
    out = Tensor(np.array([[0.3], [0.6]]))
    for y in ([0.0, 2.0], [[0.0], [2.0]]):
        with pytest.raises(ValueError, match=r"BCE: targets must lie in \[0, 1\]\. Received: min=0\.0, max=2\.0"):
            losses.BCE()(out, y)
    # −(log 0.7 + log 0.6) / 2 with y = (0, 1): accepted either way, the same value
    expected = -(math.log(0.7) + math.log(0.6)) / 2
    assert losses.BCE()(out, [0.0, 1.0]).item() == pytest.approx(expected)
    assert losses.BCE()(out, [[0.0], [1.0]]).item() == pytest.approx(expected)


def test_whole_float_labels_are_accepted_and_mean_the_same_class():
    # −log softmax(0.2, 0.3, 0.5)[2] and [0], averaged, for labels (2, 0) given as 2.0 and 0.0
    z = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    expected = np.mean([-(z[0, 2] - np.log(np.exp(z[0]).sum())), -(z[1, 0] - np.log(np.exp(z[1]).sum()))])
    assert losses.CCE()(SCORES, np.array([2.0, 0.0])).item() == pytest.approx(expected)


def test_soft_rows_within_float_tolerance_are_accepted():
    rows = np.full((2, 3), np.float32(1 / 3))  # each row sums to 1 only within float32 rounding
    assert losses.CCE()(SCORES, rows).item() > 0


def test_mse_targets_whose_square_overflows_the_dtype_are_refused():
    out = Tensor(np.zeros((1, 1), np.float32))
    # float32's largest value is 3.4e38: for one output the bound is sqrt(3.4e38) / 2 = 9.2e18
    with pytest.raises(ValueError, match=r"MSE: y_true has values up to 3\.403e\+38; with 1 float32 outputs the "
                                         r"squared error overflows beyond 9\.223e\+18"):
        losses.MSE()(out, np.array([np.finfo(np.float32).max], np.float32))
    assert losses.MSE()(out, np.array([1e9])).item() == pytest.approx(1e18, rel=1e-6)


def test_a_huge_target_array_is_echoed_briefly():
    y = np.full((2, 100_000), -1.0)
    with pytest.raises(ValueError) as info:
        losses.CCE()(Tensor(np.zeros((2, 100_000))), y)
    assert len(str(info.value)) < 400


# ----- fit and evaluate enforce the same rules ---------------------------------------------------------------

def _net(outputs: int = 3):
    model = models.Network(seed=0, dtype="float64")
    model.add(layers.Dense(outputs, input_dim=2))
    return model


X = np.array([[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize("loss, y, match", [
    ("cce", np.array([[1.0, 1.0, -1.0], [0.0, 0.0, 1.0]]), r"CCE: y rows must be probabilities"),
    ("svm", np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]), r"SVM: y rows must be one-hot"),
    ("bce", np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 1.0]]), r"BCE: targets must lie in \[0, 1\]"),
    ("cce", np.array([True, False]), r"CCE: y must be numbers, not bools"),
    ("mse", np.array([0.5, 1.0]), r"y: labels must be integers"),
])
def test_fit_and_evaluate_refuse_what_a_direct_call_refuses(loss, y, match):
    with pytest.raises(ValueError, match=match):
        _net().fit(X, y, loss=loss, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=match):
        _net().evaluate(X, y, loss=loss)


def test_bce_with_one_output_and_a_flat_vector_outside_0_1_is_refused_by_fit():
    with pytest.raises(ValueError, match=r"BCE: targets must lie in \[0, 1\]\. Received: min=-1\.0, max=1\.0"):
        _net(1).fit(X, np.array([-1.0, 1.0]), loss="bce", epochs=1, verbose=0)
