"""Losses: one worked example each with the arithmetic written out, labels vs one-hot, gradients through a network."""

import math

import numpy as np
import pytest

from neurona import Tensor, gradcheck, layers, losses, models

from network_helpers import assert_grads_match, forward, mlp


def _value(loss, scores, targets):
    return loss(Tensor(np.asarray(scores, dtype=np.float64)), np.asarray(targets)).item()


# ----- worked examples -----
def test_mse_sums_over_outputs_and_averages_over_samples():
    scores = [[0.5, -1.0], [2.0, 0.0]]
    targets = [[1, 0], [0, 1]]
    # row 0: (0.5 − 1)² + (−1 − 0)² = 0.25 + 1 = 1.25
    # row 1: (2 − 0)² + (0 − 1)²    = 4 + 1    = 5
    # mean over the 2 samples: (1.25 + 5) / 2 = 3.125
    assert _value(losses.MSE(), scores, targets) == pytest.approx(3.125, abs=1e-12)
    assert _value(losses.MSE(), scores, [0, 1]) == pytest.approx(3.125, abs=1e-12)  # labels count as one-hot


def test_mse_single_output_with_a_label_vector():
    # ŷ = (0.5, −1), y = (1, −1): ((0.5 − 1)² + 0²) / 2 = 0.125
    assert _value(losses.MSE(), [[0.5], [-1.0]], [1, -1]) == pytest.approx(0.125, abs=1e-12)


def test_cce_is_minus_log_softmax_of_the_true_class():
    scores = [[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]
    # row 0, class 2: −log(e³ / (e¹ + e² + e³)) = log(1 + e⁻¹ + e⁻²) = log(1.503215) = 0.407606
    # row 1, class 0: −log(1/3) = log 3 = 1.098612
    expected = (math.log(1 + math.exp(-1) + math.exp(-2)) + math.log(3)) / 2  # = 0.753109
    assert expected == pytest.approx(0.753109, abs=1e-6)
    assert _value(losses.CCE(), scores, [2, 0]) == pytest.approx(expected, abs=1e-12)
    assert _value(losses.CCE(), scores, [[0, 0, 1], [1, 0, 0]]) == pytest.approx(expected, abs=1e-12)


def test_cce_is_stable_for_huge_scores():
    # scores (1000, 0): −log softmax[0] = log(1 + e⁻¹⁰⁰⁰) ≈ 0; for class 1 it is 1000
    assert _value(losses.CCE(), [[1000.0, 0.0], [1000.0, 0.0]], [0, 1]) == pytest.approx(500.0)


def test_svm_sums_the_hinge_over_the_wrong_classes():
    # cs231n's three-image example, margin 1:
    scores = [[3.2, 5.1, -1.7],   # true 0: max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9 + 0 = 2.9
              [1.3, 4.9, 2.0],    # true 1: max(0, 1.3 − 4.9 + 1) + max(0, 2.0 − 4.9 + 1) = 0 + 0   = 0
              [2.2, 2.5, -3.1]]   # true 2: max(0, 2.2 + 3.1 + 1) + max(0, 2.5 + 3.1 + 1) = 6.3 + 6.6 = 12.9
    # mean: (2.9 + 0 + 12.9) / 3 = 15.8 / 3
    assert _value(losses.SVM(), scores, [0, 1, 2]) == pytest.approx(15.8 / 3, abs=1e-12)
    assert _value(losses.SVM(), scores, np.eye(3)) == pytest.approx(15.8 / 3, abs=1e-12)


def test_svm_delta_is_the_margin():
    # scores (1, 0), true 0: max(0, 0 − 1 + delta) = 0 for delta=1, 1 for delta=2
    assert _value(losses.SVM(delta=1.0), [[1.0, 0.0]], [0]) == 0.0
    assert _value(losses.SVM(delta=2.0), [[1.0, 0.0]], [0]) == pytest.approx(1.0)


def test_bce_on_probabilities():
    # p = (0.9, 0.2), y = (1, 0): −(log 0.9 + log(1 − 0.2)) / 2 = (0.105361 + 0.223144) / 2 = 0.164252
    expected = -(math.log(0.9) + math.log(0.8)) / 2
    assert _value(losses.BCE(), [[0.9], [0.2]], [[1], [0]]) == pytest.approx(expected, abs=1e-12)
    assert _value(losses.BCE(), [[0.9], [0.2]], [1, 0]) == pytest.approx(expected, abs=1e-12)


def test_bce_on_logits():
    # z = (2, −1), y = (1, 0): −log σ(2) − log(1 − σ(−1)) = log(1 + e⁻²) + log(1 + e⁻¹) = 0.126928 + 0.313262
    expected = (math.log(1 + math.exp(-2)) + math.log(1 + math.exp(-1))) / 2  # = 0.220095
    assert _value(losses.BCE(from_logits=True), [[2.0], [-1.0]], [[1], [0]]) == pytest.approx(expected, abs=1e-12)


def test_bce_averages_over_outputs_too():
    # one sample, two outputs p = (0.5, 0.9), y = (1, 1): (log 2 − log 0.9) / 2
    expected = (math.log(2) - math.log(0.9)) / 2
    assert _value(losses.BCE(), [[0.5, 0.9]], [[1, 1]]) == pytest.approx(expected, abs=1e-12)


def test_bce_logits_are_stable_and_probabilities_are_clipped():
    # a logit of ±100 on the wrong side costs |z| = 100 (log(1 + e¹⁰⁰) ≈ 100), not inf
    assert _value(losses.BCE(from_logits=True), [[100.0], [-100.0]], [[0], [1]]) == pytest.approx(100.0)
    # a probability of exactly 0 for a true 1 is clipped to eps: −log(1e-7) = 16.118
    assert _value(losses.BCE(eps=1e-7), [[0.0]], [[1]]) == pytest.approx(-math.log(1e-7), rel=1e-6)


@pytest.mark.parametrize("loss", [losses.MSE(), losses.CCE(), losses.SVM(), losses.BCE(from_logits=True)],
                         ids=repr)
def test_one_hot_rows_and_integer_labels_give_the_same_loss(loss):
    rng = np.random.default_rng(1)
    scores, labels = rng.normal(size=(6, 4)), np.array([0, 3, 1, 1, 2, 3])
    one_hot = np.eye(4)[labels]
    assert _value(loss, scores, labels) == pytest.approx(_value(loss, scores, one_hot), abs=1e-12)


@pytest.mark.parametrize("loss", [losses.MSE(), losses.CCE(), losses.SVM()], ids=repr)
def test_integral_float_labels_work_like_integer_labels(loss):
    scores = np.array([[0.2, -0.4, 1.0], [0.3, 0.1, -0.5]])
    assert _value(loss, scores, np.array([2.0, 0.0])) == pytest.approx(_value(loss, scores, [2, 0]), abs=1e-12)


def test_fit_accepts_integral_float_labels():
    x = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    for name in ("mse", "cce", "svm"):
        model = mlp((2, 3), output="linear", seed=0)
        history = model.fit(x, np.array([0.0, 1.0, 2.0]), loss=name, epochs=1, verbose=0, seed=0)
        assert math.isfinite(history["loss"][0])
        assert model.evaluate(x, np.array([0.0, 1.0, 2.0]), loss=name)["loss"] == pytest.approx(
            model.evaluate(x, np.array([0, 1, 2]), loss=name)["loss"])


# ----- the registry -----
@pytest.mark.parametrize("name, cls", [("mse", losses.MSE), ("MSE", losses.MSE), ("mean_squared_error", losses.MSE),
                                       ("cce", losses.CCE), ("categorical_crossentropy", losses.CCE),
                                       ("cross_entropy", losses.CCE), ("svm", losses.SVM), ("hinge", losses.SVM),
                                       ("bce", losses.BCE), ("binary_crossentropy", losses.BCE)])
def test_get_by_name_and_alias(name, cls):
    assert type(losses.get(name)) is cls


def test_get_passes_instances_and_classes_through():
    svm = losses.SVM(delta=2.0)
    assert losses.get(svm) is svm
    assert type(losses.get(losses.CCE)) is losses.CCE


def test_unknown_loss_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"Unknown loss: 'msee'. Valid loss names: bce, categorical_crossentropy, cce, mse, svm"):
        losses.get("msee")


def test_serialize_round_trip_keeps_the_arguments():
    for loss in (losses.MSE(), losses.SVM(delta=0.5), losses.BCE(from_logits=True, eps=1e-5)):
        again = losses.deserialize(losses.serialize(loss))
        assert type(again) is type(loss) and again.get_config() == loss.get_config()


# ----- gradients through a network (float64) -----
X = np.random.default_rng(7).normal(size=(5, 3))
LABELS = np.array([0, 2, 1, 2, 0])


@pytest.mark.parametrize("loss, output, targets", [
    (losses.MSE(), "linear", np.eye(3)[LABELS]),
    (losses.MSE(), "tanh", LABELS),
    (losses.CCE(), "linear", LABELS),
    (losses.CCE(), "linear", np.eye(3)[LABELS]),
    (losses.CCE(), "linear", np.array([[0.2, 0.5, 0.3]] * 5)),  # soft targets
    (losses.SVM(), "linear", LABELS),
    (losses.SVM(delta=0.3), "linear", np.eye(3)[LABELS]),
    (losses.BCE(), "sigmoid", np.eye(3)[LABELS]),
    (losses.BCE(from_logits=True), "linear", np.eye(3)[LABELS]),
], ids=lambda v: repr(v) if not isinstance(v, np.ndarray) else f"targets{v.shape}")
def test_loss_gradients_through_a_network(loss, output, targets):
    model = mlp((3, 4, 3), hidden="tanh", output=output, seed=3)
    assert_grads_match(model, lambda: loss(forward(model, X), targets))


@pytest.mark.parametrize("loss", [losses.MSE(), losses.CCE(), losses.SVM(), losses.BCE(from_logits=True)], ids=repr)
def test_loss_gradient_with_respect_to_the_scores_by_gradcheck(loss):
    scores = np.random.default_rng(2).normal(size=(4, 3))
    assert gradcheck(lambda s: loss(s, np.array([1, 0, 2, 2])), scores)


def test_single_output_network_with_bce_on_logits():
    model = models.Network(seed=4, dtype="float64")
    model.add(layers.Dense(3, activation="relu", input_dim=3))
    model.add(layers.Dense(1))
    y = np.array([1, 0, 1, 1, 0])
    assert_grads_match(model, lambda: losses.BCE(from_logits=True)(forward(model, X), y))
