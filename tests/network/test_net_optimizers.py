"""Optimizers and schedules: each update rule against its formula written here, one or two steps at a time."""

import math

import numpy as np
import pytest

from neurona import Tensor, optimizers, schedules

W0 = np.array([[0.5, -1.0], [2.0, 0.25]])
G1 = np.array([[0.1, -0.3], [0.2, 0.4]])
G2 = np.array([[-0.2, 0.1], [0.05, -0.6]])


def _run(opt, grads, w0=W0, batch_size=None):
    """Bind one parameter, then for each gradient: set it and take a step. Returns the weights after each step."""
    p = Tensor(w0.copy(), requires_grad=True)
    opt.bind([p])
    seen = []
    for g in grads:
        p.grad = g.copy()
        opt.step(batch_size=batch_size)
        seen.append(p.data.copy())
    return seen


def test_sgd():
    (w1,) = _run(optimizers.SGD(lr=0.1), [G1])
    np.testing.assert_allclose(w1, W0 - 0.1 * G1, rtol=1e-15)


def test_sgd_momentum():
    lr, mu = 0.1, 0.9
    w1, w2 = _run(optimizers.SGD(lr=lr, momentum=mu), [G1, G2])
    v1 = -lr * G1                 # v ← μv − lr·g, from v = 0
    v2 = mu * v1 - lr * G2
    np.testing.assert_allclose(w1, W0 + v1, rtol=1e-15)
    np.testing.assert_allclose(w2, W0 + v1 + v2, rtol=1e-14)


def test_sgd_nesterov():
    lr, mu = 0.1, 0.9
    w1, w2 = _run(optimizers.SGD(lr=lr, momentum=mu, nesterov=True), [G1, G2])
    v1 = -lr * G1
    e1 = W0 + mu * v1 - lr * G1   # w ← w + μ·v_new − lr·g
    v2 = mu * v1 - lr * G2
    e2 = e1 + mu * v2 - lr * G2
    np.testing.assert_allclose(w1, e1, rtol=1e-14)
    np.testing.assert_allclose(w2, e2, rtol=1e-14)


def test_bgd_step_is_lr_times_batch_size_times_the_mean_gradient():
    (w1,) = _run(optimizers.BGD(lr=0.01, bs=64), [G1], batch_size=64)
    np.testing.assert_allclose(w1, W0 - 0.01 * 64 * G1, rtol=1e-15)
    (w_last,) = _run(optimizers.BGD(lr=0.01, bs=64), [G1], batch_size=17)  # a last, partial batch of 17
    np.testing.assert_allclose(w_last, W0 - 0.01 * 17 * G1, rtol=1e-15)


def test_bgd_with_momentum_scales_the_velocity_by_n():
    lr, mu, n = 0.01, 0.5, 8
    w1, w2 = _run(optimizers.BGD(lr=lr, bs=n, momentum=mu), [G1, G2], batch_size=n)
    v1 = -lr * n * G1
    v2 = mu * v1 - lr * n * G2
    np.testing.assert_allclose(w2, W0 + v1 + v2, rtol=1e-14)


def test_rmsprop():
    lr, rho, eps = 0.01, 0.9, 1e-7
    w1, w2 = _run(optimizers.RMSprop(lr=lr, rho=rho, eps=eps), [G1, G2])
    s1 = (1 - rho) * G1 ** 2      # s ← ρs + (1 − ρ)g²
    e1 = W0 - lr * G1 / (np.sqrt(s1) + eps)
    s2 = rho * s1 + (1 - rho) * G2 ** 2
    e2 = e1 - lr * G2 / (np.sqrt(s2) + eps)
    np.testing.assert_allclose(w1, e1, rtol=1e-14)
    np.testing.assert_allclose(w2, e2, rtol=1e-14)


def test_adam():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7
    w1, w2 = _run(optimizers.Adam(lr=lr, beta1=b1, beta2=b2, eps=eps), [G1, G2])
    expected, m, v = W0.copy(), np.zeros_like(W0), np.zeros_like(W0)
    for t, (g, got) in enumerate(((G1, w1), (G2, w2)), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        expected = expected - lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
        np.testing.assert_allclose(got, expected, rtol=1e-13)
    # Adam's first step moves each weight by lr·sign(g) up to eps: m̂/√v̂ = g/|g|. eps is added to √v
    # (not √v̂), so its relative effect is eps/(√(1 − β2)·|g|) <= 1e-7/(0.0316·0.1) ≈ 3.2e-5 here
    np.testing.assert_allclose(W0 - w1, lr * np.sign(G1), rtol=4e-5)


def test_clipnorm_rescales_the_global_norm():
    ga, gb = np.array([3.0, 0.0]), np.array([[0.0], [4.0]])  # global norm √(9 + 16) = 5
    pa, pb = Tensor(np.zeros(2), requires_grad=True), Tensor(np.zeros((2, 1)), requires_grad=True)
    opt = optimizers.SGD(lr=1.0, clipnorm=1.0).bind([pa, pb])
    pa.grad, pb.grad = ga, gb
    opt.step()
    np.testing.assert_allclose(pa.data, -ga / 5)  # scaled by 1/5 to norm 1
    np.testing.assert_allclose(pb.data, -gb / 5)
    np.testing.assert_array_equal(ga, [3.0, 0.0])  # the gradients themselves are not modified
    # below the threshold nothing changes
    (w1,) = _run(optimizers.SGD(lr=1.0, clipnorm=10.0), [G1])
    np.testing.assert_allclose(w1, W0 - G1)


def test_parameters_without_gradient_are_left_alone_and_zero_grad_clears():
    pa, pb = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    opt = optimizers.Adam(lr=0.1).bind([pa, pb])
    pa.grad = np.array([1.0, -1.0])
    opt.step()
    np.testing.assert_array_equal(pb.data, [1.0, 1.0])
    assert not np.array_equal(pa.data, [1.0, 1.0])
    opt.zero_grad()
    assert pa.grad is None and pb.grad is None


def test_float32_parameters_stay_float32():
    for opt in (optimizers.SGD(0.1, momentum=0.9), optimizers.BGD(0.1), optimizers.RMSprop(), optimizers.Adam()):
        p = Tensor(W0.astype(np.float32), requires_grad=True)
        opt.bind([p])
        p.grad = G1.astype(np.float32)
        opt.step(batch_size=4)
        assert p.data.dtype == np.float32, opt


def test_state_dict_resumes_exactly():
    a = optimizers.Adam(lr=0.01)
    (w1,) = _run(a, [G1])
    p = Tensor(w1.copy(), requires_grad=True)
    b = optimizers.Adam(lr=0.01).bind([p])
    b.load_state_dict(a.state_dict())
    assert b.iterations == 1
    p.grad = G2.copy()
    b.step()
    (_, w2) = _run(optimizers.Adam(lr=0.01), [G1, G2])
    np.testing.assert_array_equal(p.data, w2)


# ----- schedules -----
def test_cosine_decay_values():
    s = schedules.CosineDecay(lr=1.0, decay_steps=4, alpha=0.1)
    # lr·(α + (1 − α)·½(1 + cos(π·t/4))): t=0 → 1; t=2 → 0.1 + 0.9·½ = 0.55; t=4 → 0.1; flat after
    assert s(0) == pytest.approx(1.0)
    assert s(1) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.sqrt(0.5)))  # cos(π/4) = √½: 0.9182
    assert s(2) == pytest.approx(0.55)
    assert s(4) == pytest.approx(0.1) and s(100) == pytest.approx(0.1)


def test_cosine_decay_warm_up():
    s = schedules.CosineDecay(lr=0.2, decay_steps=2, warmup_steps=4)
    # linear warm-up 0.2·(t+1)/4 for t < 4: 0.05, 0.1, 0.15, 0.2; then the decay from 0.2: t=5 → 0.1, t=6 → 0
    assert [s(t) for t in range(4)] == pytest.approx([0.05, 0.1, 0.15, 0.2])
    assert s(4) == pytest.approx(0.2) and s(5) == pytest.approx(0.1) and s(6) == pytest.approx(0.0)


def test_exponential_decay_values():
    s = schedules.ExponentialDecay(lr=0.1, decay_steps=10, rate=0.5)
    assert s(0) == pytest.approx(0.1) and s(10) == pytest.approx(0.05) and s(5) == pytest.approx(0.1 / math.sqrt(2))


def test_an_optimizer_follows_its_schedule_step_by_step():
    s = schedules.CosineDecay(lr=0.5, decay_steps=2)  # 0.5, 0.25, 0 at steps 0, 1, 2
    w1, w2, w3 = _run(optimizers.SGD(lr=s), [G1, G2, G1])
    np.testing.assert_allclose(w1, W0 - 0.5 * G1)
    np.testing.assert_allclose(w2, w1 - 0.25 * G2)
    np.testing.assert_allclose(w3, w2, atol=1e-17)
    (b1,) = _run(optimizers.BGD(lr=schedules.CosineDecay(lr=0.5, decay_steps=2)), [G1], batch_size=4)
    np.testing.assert_allclose(b1, W0 - 0.5 * 4 * G1)


# ----- registry and arguments -----
@pytest.mark.parametrize("name, cls", [("sgd", optimizers.SGD), ("bgd", optimizers.BGD), ("adam", optimizers.Adam),
                                       ("RMSprop", optimizers.RMSprop)])
def test_get_by_name(name, cls):
    assert type(optimizers.get(name)) is cls


def test_bgd_bs_is_the_batch_size():
    assert optimizers.BGD(lr=1e-3, bs=128).bs == 128 and optimizers.BGD().bs is None


@pytest.mark.parametrize("make, match", [
    (lambda: optimizers.get("adamw"), r"Unknown optimizer: 'adamw'. Valid optimizer names: adam, bgd, rmsprop, sgd"),
    (lambda: optimizers.SGD(lr=0), r"SGD: lr must be > 0.0. Received: lr=0"),
    (lambda: optimizers.BGD(lr=-0.01), r"BGD: lr must be > 0.0. Received: lr=-0.01"),
    (lambda: optimizers.Adam(lr=0.0), r"Adam: lr must be > 0.0. Received: lr=0.0"),
    (lambda: optimizers.RMSprop(lr=-1), r"RMSprop: lr must be > 0.0. Received: lr=-1"),
    (lambda: optimizers.SGD(lr="fast"), r"SGD: lr must be a finite real number. Received: lr='fast'"),
    (lambda: optimizers.SGD(lr=float("nan")), r"SGD: lr must be a finite real number. Received: lr=nan"),
    (lambda: optimizers.SGD(momentum=1.0), r"SGD: momentum must be in \[0, 1\). Received: momentum=1.0"),
    (lambda: optimizers.SGD(momentum=0.9, nesterov=1), r"SGD: nesterov must be a bool. Received: nesterov=1"),
    (lambda: optimizers.SGD(clipnorm=0), r"SGD: clipnorm must be > 0.0. Received: clipnorm=0"),
    (lambda: optimizers.BGD(bs=0), r"BGD: bs must be a positive int. Received: bs=0"),
    (lambda: optimizers.Adam(beta1=1.0), r"Adam: beta1 must be <= 0.999999. Received: beta1=1.0"),
    (lambda: optimizers.RMSprop(rho=1.5), r"RMSprop: rho must be <= 1.0. Received: rho=1.5"),
    (lambda: schedules.CosineDecay(lr=0.1, decay_steps=0), r"CosineDecay: decay_steps must be a positive int. "
                                                           r"Received: decay_steps=0"),
    (lambda: schedules.CosineDecay(lr=0.1, decay_steps=5, alpha=2),
     r"CosineDecay: alpha must be <= 1.0. Received: alpha=2"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
