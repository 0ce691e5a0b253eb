"""Lesson runs spread over worker processes give exactly the numbers of the same runs in-process."""
import pytest

from bn_teach import parallel
from bn_teach.lessons.l03_training_speed import lr_sweep


def test_workers_give_the_same_numbers_as_one_process(monkeypatch):
    monkeypatch.setenv("BN_TEACH_WORKERS", "1")
    serial, serial_hists = lr_sweep(lrs=(0.5, 32.0), steps=60)
    monkeypatch.setenv("BN_TEACH_WORKERS", "2")
    assert parallel.workers() == 2
    spread, spread_hists = lr_sweep(lrs=(0.5, 32.0), steps=60)
    assert spread == serial  # bitwise: same code, seeds and BLAS kernel in every process
    assert [h.step_loss for h in spread_hists.values()] == [h.step_loss for h in serial_hists.values()]


def test_worker_count_is_validated_and_defaults_to_in_process_outside_jupyter(monkeypatch):
    monkeypatch.setenv("BN_TEACH_WORKERS", "two")
    with pytest.raises(ValueError, match="BN_TEACH_WORKERS"):
        parallel.workers()
    monkeypatch.delenv("BN_TEACH_WORKERS")
    assert parallel.workers() == 1  # pytest is not a Jupyter kernel
