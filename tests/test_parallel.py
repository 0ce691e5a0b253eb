"""Lesson runs spread over worker processes give exactly the numbers of the same runs in-process, and a worker
imports only what its jobs need."""
import io
import os
import pickle
import subprocess
import sys

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


def test_worker_count_follows_the_cgroup_quota(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # a hub's limit of 1.5 CPUs
    assert parallel._cgroup_cpu_quota(str(tmp_path)) == 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert parallel._cgroup_cpu_quota(str(tmp_path)) is None
    (tmp_path / "cpu.max").unlink()
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")  # cgroup v1: half a CPU
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert parallel._cgroup_cpu_quota(str(tmp_path)) == 0.5
    assert 1 <= parallel.available_cpus() <= (os.cpu_count() or 1)


def test_one_blas_thread_per_process():
    from bn_teach.blas import blas_libraries

    assert [lib["num_threads"] for lib in blas_libraries()] == [1] * len(blas_libraries())


def test_the_blas_note_says_why_digits_differ_and_only_then():
    from bn_teach.blas import stored_kernel_mismatch

    assert stored_kernel_mismatch([dict(internal_api="openblas", version="0.3.31", architecture="Haswell")]) is None
    note = stored_kernel_mismatch([dict(internal_api="openblas", version="0.3.31", architecture="SkylakeX")])
    assert "SkylakeX" in note and "Haswell" in note and "last digits" in note
    note = stored_kernel_mismatch([dict(internal_api="mkl", version="2024.1", architecture=None)])
    assert "mkl 2024.1" in note and "OPENBLAS_CORETYPE" not in note  # no pin to offer for another BLAS


def modules_to_unpickle(obj):
    """The modules a process imports to unpickle `obj` (what a worker does with a job: function and arguments)."""
    seen = set()

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            seen.add(module)
            return super().find_class(module, name)

    Recorder(io.BytesIO(pickle.dumps(obj))).load()
    return seen


LESSON_RUNS = {  # every call to run_all in lessons 4 and 7, with small settings
    "l04_black_cats": lambda m: (m.shift_over_seeds(seeds=(0, 1), steps=5),
                                 m.severity_sweep(severities=(0.0, 1.0), n_train=100, steps=5),
                                 m.internal_shift(hidden=(8,), steps=10, seeds=(0,))),
    "l07_batchnorm_in_practice": lambda m: (m.batch_size_sweep(batch_sizes=(32,), seeds=(0, 1), samples=64),
                                            m.weight_norm_runs(lrs=(0.1,), weight_decays=(0.0,), seeds=(0, 1),
                                                               steps=3),
                                            m.trained_nets(seeds=(0, 1), steps=3)),
}


@pytest.mark.parametrize("lesson", sorted(LESSON_RUNS))
def test_workers_import_only_the_core(lesson, monkeypatch):
    """A worker that unpickles a function or recorder of a lesson module imports that module, and with it
    matplotlib and ipywidgets (about 40 MiB per worker): what lessons send to workers lives in the core."""
    import importlib

    module = importlib.import_module(f"bn_teach.lessons.{lesson}")
    sent = []

    def recording_run_all(fn, jobs):
        jobs = list(jobs)
        sent.append(modules_to_unpickle((fn, jobs)))
        return [fn(**job) for job in jobs]

    monkeypatch.setattr(module, "run_all", recording_run_all)
    LESSON_RUNS[lesson](module)
    assert len(sent) == 3
    for modules in sent:
        ours = {m for m in modules if m.split(".")[0] == "bn_teach"}
        assert all(m.count(".") == 1 for m in ours), f"a worker would import {ours}"
        assert not {m.split(".")[0] for m in modules} & {"matplotlib", "ipywidgets", "IPython"}, modules


def test_the_core_a_worker_imports_leaves_out_matplotlib_and_ipywidgets():
    code = ("import sys, bn_teach.runs, bn_teach.parallel; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'ipywidgets', 'IPython'}))")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
