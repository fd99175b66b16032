"""The time budget's plan: sized from the first epoch, shortened if the machine slows down, followed on resume."""

import json
import math
import types

import pytest

from neurona.experiments import _budget


def _plan(tmp_path, monkeypatch, times, budget=100.0, steps=10):
    """A plan whose clock reads ``times`` in turn (train begin, then each epoch's end)."""
    clock = iter(times)
    monkeypatch.setattr(_budget.time, "perf_counter", lambda: next(clock))
    schedule = _budget.PlannedDecay(1.0, warmup_steps=steps)
    plan = _budget.PlanFromFirstEpoch(schedule, steps_per_epoch=steps, budget_seconds=budget, path=tmp_path / "p.json")
    plan.model = types.SimpleNamespace(stop_training=False)
    plan.on_train_begin()
    return plan, schedule


def test_a_steady_machine_keeps_the_first_plan(tmp_path, monkeypatch):
    plan, schedule = _plan(tmp_path, monkeypatch, [0.0] + [10.0 * k for k in range(1, 11)])
    for epoch in range(10):
        assert not plan.model.stop_training
        plan.on_epoch_end(epoch, {})
    assert plan.epochs == 10 and plan.model.stop_training and schedule.restarts == []
    # warm-up over epoch 1 (10 steps), then half a cosine over the 90 steps of epochs 2-10
    assert schedule(55) == pytest.approx(0.5 * (1 + math.cos(math.pi * 45 / 90)))
    assert schedule(100) == 0.0


def test_a_slowdown_shortens_the_plan_and_restarts_the_decay_where_it_stood(tmp_path, monkeypatch):
    # the first epoch takes 10 s (plan: 10 epochs in 100 s), the next ones 20 s each
    plan, schedule = _plan(tmp_path, monkeypatch, [0.0, 10.0, 30.0, 50.0, 70.0, 90.0, 110.0])
    plan.on_epoch_end(0, {})
    assert plan.epochs == 10
    before = [schedule(s) for s in range(30)]
    plan.on_epoch_end(1, {})
    # 30 s for 2 epochs (15 s each): 8 more would end at 150 s > 105 s; 70 s left fit 4 more, so 6 in all
    assert plan.epochs == 6 and schedule.restarts == [(20, 90)]
    assert [schedule(s) for s in range(20)] == before[:20]  # the past is unchanged
    rate = 0.5 * (1 + math.cos(math.pi * 10 / 90))  # where the first decay stood at step 20
    assert schedule(20) == pytest.approx(rate)
    assert schedule(40) == pytest.approx(rate * 0.5 * (1 + math.cos(math.pi * 20 / 40)))  # 20 of the 40 left
    assert schedule(60) == 0.0
    assert json.loads((tmp_path / "p.json").read_text())["restarts"] == [[20, 90]]
    plan.on_epoch_end(2, {})  # 50 s for 3 epochs: 3 more at that pace end at 100 s, within the budget
    assert plan.epochs == 6
    plan.on_epoch_end(3, {})  # 70 s for 4: 2 more would end at 105 s; 30 s left fit one (17.5 s each)
    assert plan.epochs == 5 and schedule.restarts == [(20, 90), (40, 50)]
    assert schedule(40) == pytest.approx(rate * 0.5 * (1 + math.cos(math.pi * 20 / 40)))  # no jump at the restart
    assert schedule(50) == 0.0
    plan.on_epoch_end(4, {})
    assert plan.model.stop_training


def test_a_resumed_run_follows_the_written_plan_restarts_included(tmp_path, monkeypatch):
    plan, schedule = _plan(tmp_path, monkeypatch, [0.0, 10.0, 30.0])
    plan.on_epoch_end(0, {})
    plan.on_epoch_end(1, {})
    config = types.SimpleNamespace(epochs=None)
    again = _budget.PlannedDecay(1.0, warmup_steps=10)
    resumed = _budget.PlanFromFirstEpoch(again, 10, 100.0, tmp_path / "p.json",
                                         **_budget.saved_plan(config, tmp_path / "p.json", resume=True))
    assert resumed.epochs == 6 and again.get_config() == schedule.get_config()
    assert [again(s) for s in range(70)] == [schedule(s) for s in range(70)]
    assert _budget.saved_plan(config, tmp_path / "p.json", resume=False) == {}
    assert _budget.saved_plan(types.SimpleNamespace(epochs=4), tmp_path / "p.json", resume=True) == {"epochs": 4}
