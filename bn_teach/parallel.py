"""Independent training runs of a lesson, spread over the machine's cores.

    results = run_all(train_one, [dict(norm=None, lr=0.1), dict(norm="batch", lr=0.1)])

Each job is `fn(**kwargs)` with `fn` a module-level function (so a worker process can import it); results come
back in the order of the jobs. Every run computes exactly what it would compute in the notebook's own process
(same code, same seeds, same BLAS settings, inherited through the environment), so the printed numbers do not
depend on how many workers there are. Workers are started once per kernel, with "spawn" (safe beside Jupyter's
threads), and reused. Runs are parallel inside a Jupyter kernel (lessons in JupyterLab, Voila, nbval, nbclient);
elsewhere, e.g. in a plain script (which "spawn" would re-import), they run in-process unless BN_TEACH_WORKERS
asks for workers. BN_TEACH_WORKERS=1 always runs everything in-process.
"""
import atexit
import multiprocessing
import os
import signal
import sys
from concurrent.futures import ProcessPoolExecutor

_POOL = None
_ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def workers():
    """How many worker processes to use: BN_TEACH_WORKERS if set; else, in a Jupyter kernel, the number of cores
    (at most 4); else 1."""
    value = os.environ.get("BN_TEACH_WORKERS")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"BN_TEACH_WORKERS must be a positive integer, got {value!r}")
        return int(value)
    if not _in_jupyter_kernel():
        return 1
    return max(1, min(4, os.cpu_count() or 1))


def _in_jupyter_kernel():
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def _pool():
    global _POOL
    if _POOL is None:
        _POOL = ProcessPoolExecutor(max_workers=workers(), mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_worker_init)
        atexit.register(_POOL.shutdown, cancel_futures=True)
    return _POOL


def _worker_init():
    """Workers ignore Ctrl-C / a kernel interrupt (Jupyter signals the whole process group); they end when the
    kernel that started them ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_all(fn, jobs):
    """[fn(**job) for job in jobs], run in parallel when there is more than one core and more than one job."""
    jobs = list(jobs)
    if workers() == 1 or len(jobs) < 2:
        return [fn(**job) for job in jobs]
    # one BLAS thread per worker (read by OpenBLAS when a worker starts; workers start on submit): with a
    # multithreaded BLAS in every worker, two workers on two cores spin against each other and run slower
    saved = {k: os.environ.get(k) for k in _ONE_THREAD}
    os.environ.update(_ONE_THREAD)
    try:
        futures = [_pool().submit(fn, **job) for job in jobs]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return [f.result() for f in futures]
