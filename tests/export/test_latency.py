"""The interleaved timing core of the benchmark (no models needed)."""

import os

import numpy as np
import pytest

from keras_mobilebert.export import latency


def test_summarize_ratios_by_hand():
    times = {
        "a": [0.010, 0.012, 0.011, 0.030],
        "b": [0.020, 0.024, 0.022, 0.030],
    }
    result = latency.summarize(times, per_round=2, ratios=["b/a"])
    assert result["models"]["a"]["median_ms"] == pytest.approx(11.5)
    assert result["models"]["b"]["median_ms"] == pytest.approx(23.0)
    ratio = result["ratios"]["b/a"]
    assert ratio["of_medians"] == pytest.approx(23.0 / 11.5)
    # Round medians: a 11, 20.5; b 22, 26 -> ratios 2.0 and 26 / 20.5.
    assert ratio["median_per_round"] == pytest.approx(
        np.median([2.0, 26 / 20.5])
    )
    with pytest.raises(ValueError, match="NAME/NAME"):
        latency.summarize(times, per_round=2, ratios=["b/c"])
    assert "| b/a | 2.00 |" in latency.format_summary(result)


def test_interleave_runs_every_model_every_round_in_new_orders():
    calls = []
    runners = {n: (lambda n=n: calls.append(n)) for n in "xyz"}
    times = latency.interleave(runners, rounds=6, per_round=2, warmup=1)
    assert {n: len(t) for n, t in times.items()} == {"x": 12, "y": 12, "z": 12}
    assert len(calls) == 3 * (1 + 6 * 2)
    timed = calls[3:]
    orders = {tuple(timed[i : i + 6 : 2]) for i in range(0, len(timed), 6)}
    # Every round holds each runner per_round times in a row, and the
    # order changes between rounds.
    assert all(sorted(order) == ["x", "y", "z"] for order in orders)
    assert len(orders) > 1


def test_token_ids_fit_the_vocabulary():
    ids = latency.token_ids(128)
    assert ids.shape == (1, 128) and ids.dtype == np.int32
    assert ids.min() >= 1000 and ids.max() < 30000
    small = latency.token_ids(64, vocabulary_size=21, batch_size=3)
    assert small.shape == (3, 64) and small.min() >= 5 and small.max() < 21


def test_quiet_threads_keeps_a_users_setting(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    latency.quiet_threads()
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    latency.quiet_threads()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"
