"""preprocessing: flatten, one_hot, take_first, train_val_split, Standardizer — worked examples and errors."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from neurona.datasets.preprocessing import Standardizer, flatten, one_hot, take_first, train_val_split


# --- flatten ------------------------------------------------------------------------------------

def test_flatten_worked_example():
    # Two 2x2x3 "images" -> rows of 2*2*3 = 12 values, in C order.
    x = np.arange(24).reshape(2, 2, 2, 3)
    out = flatten(x)
    assert out.shape == (2, 12)
    assert out[1].tolist() == list(range(12, 24))
    assert np.shares_memory(out, x)  # a view, no copy


def test_flatten_cifar_shape_and_empty_batch():
    assert flatten(np.zeros((5, 32, 32, 3), np.uint8)).shape == (5, 3072)  # 32*32*3 = 3072
    assert flatten(np.zeros((0, 32, 32, 3))).shape == (0, 3072)


def test_flatten_needs_a_sample_axis():
    with pytest.raises(ValueError, match=r"flatten: x must have shape \(N, \.\.\.\) with at least 2 dimensions\. "
                                         r"Received: shape=\(5,\)"):
        flatten(np.zeros(5))


# --- one_hot ------------------------------------------------------------------------------------

def test_one_hot_worked_example():
    # Label 2 of 3 classes -> [0, 0, 1]; 0 -> [1, 0, 0]; 1 -> [0, 1, 0].
    out = one_hot([2, 0, 1], 3)
    assert out.dtype == np.float32
    assert out.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]


def test_one_hot_like_the_practical():
    # The practical: class 2 (id 1) -> 0100000000, class 10 (id 9) -> 0000000001.
    out = one_hot(np.array([[1], [9]]), 10)  # (N, 1) column labels are accepted too
    assert ["".join(str(int(v)) for v in row) for row in out] == ["0100000000", "0000000001"]


@pytest.mark.parametrize("labels, num_classes, match", [
    ([-1, 9], 10, r"one_hot: labels must be integers in \[0, 10\)\. Received: min=-1, max=9"),
    ([0, 10], 10, r"one_hot: labels must be integers in \[0, 10\)\. Received: min=0, max=10"),
    ([0.0, 1.0], 10, r"one_hot: labels must be integers in \[0, 10\)\. Received: dtype=float64"),
    ([[0, 1], [1, 0]], 2, r"one_hot: labels must have shape \(N,\) or \(N, 1\)\. Received: shape=\(2, 2\)"),
    ([0], 0, r"one_hot: num_classes must be an int in \[1, 1,000,000\]\. Received: num_classes=0"),
    ([0], True, r"one_hot: num_classes must be an int in \[1, 1,000,000\]\. Received: num_classes=True"),
    ([0], 2.0, r"one_hot: num_classes must be an int in \[1, 1,000,000\]\. Received: num_classes=2\.0"),
])
def test_one_hot_errors(labels, num_classes, match):
    with pytest.raises(ValueError, match=match):
        one_hot(labels, num_classes)


# --- take_first ---------------------------------------------------------------------------------

def test_take_first_returns_copies_of_the_first_n():
    x, y = np.arange(10) * 10, np.arange(10)
    x3, y3 = take_first(x, y, 3)
    assert x3.tolist() == [0, 10, 20] and y3.tolist() == [0, 1, 2]
    x3[0] = 99
    assert x[0] == 0  # the full data set is untouched


@pytest.mark.parametrize("n, match", [
    (11, r"take_first: n=11 is larger than the number of samples \(10\)\. Pass n <= 10\."),
    (0, r"take_first: n must be a positive int\. Received: n=0"),
    (2.5, r"take_first: n must be a positive int\. Received: n=2\.5"),
])
def test_take_first_errors(n, match):
    with pytest.raises(ValueError, match=match):
        take_first(np.arange(10), np.arange(10), n)


def test_take_first_needs_matching_lengths():
    with pytest.raises(ValueError, match=r"take_first: x and y must hold the same number of samples\. "
                                         r"Received: len\(x\)=10, len\(y\)=9"):
        take_first(np.arange(10), np.arange(9), 3)


# --- train_val_split ----------------------------------------------------------------------------

def test_split_sizes_alignment_and_coverage():
    x = np.arange(10)
    y = x * 10  # y stays the pair of x
    (x_tr, y_tr), (x_val, y_val) = train_val_split(x, y, val_fraction=0.2, seed=0)
    assert len(x_tr) == 8 and len(x_val) == 2  # 0.2 * 10 = 2
    assert (y_tr == x_tr * 10).all() and (y_val == x_val * 10).all()
    assert sorted(np.concatenate([x_tr, x_val]).tolist()) == list(range(10))


def test_split_is_reproducible_and_seeded():
    x = np.arange(100)
    first = train_val_split(x, x, val_size=10, seed=7)[1][0]
    again = train_val_split(x, x, val_size=10, seed=7)[1][0]
    other = train_val_split(x, x, val_size=10, seed=8)[1][0]
    generator = train_val_split(x, x, val_size=10, seed=np.random.default_rng(7))[1][0]
    assert first.tolist() == again.tolist() == generator.tolist()
    assert first.tolist() != other.tolist()


def test_split_without_shuffle_takes_the_last_samples():
    (x_tr, _), (x_val, _) = train_val_split(np.arange(5), np.arange(5), val_size=2, shuffle=False)
    assert x_tr.tolist() == [0, 1, 2] and x_val.tolist() == [3, 4]


@pytest.mark.parametrize("kwargs, match", [
    ({}, r"give exactly one of val_fraction or val_size\. Received: val_fraction=None, val_size=None"),
    ({"val_fraction": 0.1, "val_size": 1}, r"give exactly one of val_fraction or val_size"),
    ({"val_fraction": 1.0}, r"val_fraction must be a number in \(0, 1\)\. Received: val_fraction=1\.0"),
    ({"val_fraction": "0.1"}, r"val_fraction must be a number in \(0, 1\)\. Received: val_fraction='0\.1'"),
    ({"val_fraction": 0.01}, r"val_fraction=0\.01 of 10 samples gives 0 validation samples"),  # 0.01*10 -> 0
    ({"val_size": 10}, r"val_size must be an int in \[1, 9\] for 10 samples\. Received: val_size=10"),
    ({"val_size": 2, "seed": -1}, r"seed must be a non-negative int, a numpy Generator or None\. Received: seed=-1"),
])
def test_split_errors(kwargs, match):
    with pytest.raises(ValueError, match=r"train_val_split: " + match):
        train_val_split(np.arange(10), np.arange(10), **kwargs)


# --- Standardizer -------------------------------------------------------------------------------

def test_standardizer_per_feature_worked_example():
    # Column 0: values 1, 3 -> mean 2, std sqrt(((1-2)^2 + (3-2)^2) / 2) = 1.
    # Column 1: values 10, 30 -> mean 20, std 10.  So both rows map to [-1, -1] and [1, 1].
    x = np.array([[1, 10], [3, 30]], dtype=np.float32)
    scaler = Standardizer().fit(x)
    assert scaler.mean.tolist() == [2, 20] and scaler.std.tolist() == [1, 10]
    out = scaler.transform(x)
    assert out.dtype == np.float32 and out.tolist() == [[-1, -1], [1, 1]]
    # New data uses the training statistics: (4 - 2) / 1 = 2, (0 - 20) / 10 = -2.
    assert scaler.transform(np.array([[4, 0]], np.float32)).tolist() == [[2, -2]]


def test_standardizer_global_worked_example():
    # All four values 1, 3, 5, 7: mean 4; variance (9 + 1 + 1 + 9) / 4 = 5, std sqrt(5).
    x = np.array([[1, 3], [5, 7]], dtype=np.float32)
    scaler = Standardizer(per_feature=False).fit(x)
    assert scaler.mean.shape == () and scaler.mean == 4
    np.testing.assert_allclose(scaler.std, np.sqrt(5), rtol=1e-6)
    np.testing.assert_allclose(scaler.transform(x), (x - 4) / np.sqrt(5), rtol=1e-6)


@pytest.mark.parametrize("per_feature", [True, False])
def test_chunked_statistics_match_numpy_float64(per_feature):
    rng = np.random.default_rng(0)
    x = (rng.normal(100.0, 20.0, size=(1000, 3, 4)) ).astype(np.float32)  # an offset to test cancellation
    scaler = Standardizer(per_feature=per_feature, chunk_size=7).fit(x)  # 1000 rows in chunks of 7 (uneven)
    axis = 0 if per_feature else None
    np.testing.assert_allclose(scaler.mean, x.astype(np.float64).mean(axis=axis), rtol=1e-6)
    np.testing.assert_allclose(scaler.std, x.astype(np.float64).std(axis=axis), rtol=1e-5)


def test_uint8_images_in_float32_out():
    x = np.array([[0, 255], [255, 255]], dtype=np.uint8)  # col 0: mean 127.5, std 127.5; col 1 constant
    out = Standardizer().fit_transform(x)
    assert out.dtype == np.float32
    assert out.tolist() == [[-1, 0], [1, 0]]  # a constant feature is only centred (std taken as 1)


def test_copy_false_transforms_in_place_and_inverse_undoes_it():
    x = np.array([[1, 10], [3, 30]], dtype=np.float32)
    original = x.copy()
    scaler = Standardizer().fit(x)
    out = scaler.transform(x, copy=False)
    assert out is x and x.tolist() == [[-1, -1], [1, 1]]
    np.testing.assert_allclose(scaler.inverse_transform(x), original)


def test_fit_makes_no_float64_copy_of_the_whole_dataset():
    x = np.ones((20_000, 100), dtype=np.float32)  # 8 MB of float32; a float64 copy would be 16 MB
    tracemalloc.start()
    try:
        Standardizer(chunk_size=1024).fit(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20  # a few 1024 x 100 float64 chunks (0.8 MB each), far below 16 MB


@pytest.mark.parametrize("call, error, match", [
    (lambda s: s.transform(np.zeros((1, 2), np.float32)), RuntimeError,
     r"Standardizer\.transform: this Standardizer is not fitted yet; call fit\(x_train\) first\."),
    (lambda s: s.fit(np.zeros((3, 2))).transform(np.zeros((1, 3))), ValueError,
     r"Standardizer\.transform: x has feature shape \(3,\), but the Standardizer was fitted on \(2,\)"),
    (lambda s: s.fit(np.zeros((3, 2))).transform(np.zeros((1, 2), np.uint8), copy=False), TypeError,
     r"copy=False works in place, so x must be a writable float32 numpy array\. Received: ndarray with dtype=uint8"),
    (lambda s: s.fit(np.zeros(3)), ValueError,
     r"Standardizer\.fit: x must be a numeric array of shape \(N, \.\.\.\)\. Received: shape=\(3,\), dtype=float64"),
    (lambda s: s.fit(np.zeros((0, 2))), ValueError, r"Standardizer\.fit: x must hold at least one sample"),
    (lambda s: s.fit(np.zeros((3, 2))).transform(np.zeros((1, 2)), copy="no"), TypeError,
     r"Standardizer\.transform: copy must be True or False\. Received: copy='no'"),
    (lambda s: Standardizer(per_feature=1), TypeError,
     r"Standardizer: per_feature must be True or False\. Received: per_feature=1"),
    (lambda s: Standardizer(chunk_size=0), ValueError,
     r"Standardizer: chunk_size must be a positive int\. Received: chunk_size=0"),
])
def test_standardizer_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(Standardizer())
