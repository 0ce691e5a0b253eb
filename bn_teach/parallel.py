"""Independent training runs of a lesson, spread over the cores this process may use, sized for a shared server.

    results = run_all(train_one, [dict(norm=None, lr=0.1), dict(norm="batch", lr=0.1)])

Each job is `fn(**kwargs)` with `fn` a module-level function (so a worker process can import it); results come
back in the order of the jobs. Every run computes exactly what it would compute in the notebook's own process
(same code, same seeds, one BLAS thread everywhere, see `bn_teach.blas`), so the printed numbers do not depend on
how many workers there are.

Built for a classroom on one server (a JupyterHub, a lab machine, Binder), where many kernels share few cores:
- processes computing: as many as the CPUs this process may use (CPU affinity and the container's cgroup quota, at
  most 4), BN_TEACH_WORKERS if set. The kernel is one of them: it runs jobs itself while its workers (one fewer)
  run the others, so a lesson on 2 cores starts one worker process, not two (each costs memory: Python, NumPy
  and the data of its job). Every process uses one BLAS thread, so K students on C cores never run more busy
  threads than K x workers;
- workers start when a lesson needs them ("spawn", safe beside Jupyter's threads) and shut down after
  IDLE_SECONDS without work: an idle lesson holds no worker process;
- workers die with the kernel: on Linux each asks the kernel to send it SIGKILL when its parent dies
  (prctl PR_SET_PDEATHSIG), so a kernel killed by a hub's culler or the OOM killer leaves nothing behind;
- the stop button (a kernel interrupt) stops a parallel run at once: the workers are terminated and the
  kernel stays usable (the next run starts fresh workers).
Runs are parallel inside a Jupyter kernel (JupyterLab, Voila, nbval, nbclient); elsewhere, e.g. in a plain script
(which "spawn" would re-import), they run in-process unless BN_TEACH_WORKERS asks for workers.
BN_TEACH_WORKERS=1 always runs everything in-process.
"""
import atexit
import ctypes
import math
import multiprocessing
import os
import signal
import sys
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .blas import limit_blas_threads

IDLE_SECONDS = 10.0  # workers left without work this long shut down
MAX_WORKERS = 4
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

_LOCK = threading.Lock()
_POOL = None  # the ProcessPoolExecutor, while workers are alive
_TIMER = None  # shuts the pool down when it has been idle for IDLE_SECONDS


def available_cpus():
    """CPUs this process may use: its CPU affinity, capped by a cgroup CPU quota (a container's or a hub's
    per-user limit, cgroup v2 `cpu.max` or v1 `cpu.cfs_quota_us`), rounded up; at least 1."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        count = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        count = min(count, max(1, math.ceil(quota)))
    return max(1, count)


def _cgroup_cpu_quota(root="/sys/fs/cgroup"):
    """CPUs' worth of time the cgroup quota allows (e.g. 1.5), or None when there is no quota."""
    candidates = [(os.path.join(root, "cpu.max"), None),
                  (os.path.join(root, "cpu", "cpu.cfs_quota_us"), os.path.join(root, "cpu", "cpu.cfs_period_us")),
                  (os.path.join(root, "cpu,cpuacct", "cpu.cfs_quota_us"),
                   os.path.join(root, "cpu,cpuacct", "cpu.cfs_period_us"))]
    for quota_path, period_path in candidates:
        try:
            with open(quota_path) as f:
                fields = f.read().split()
            if period_path is not None:
                with open(period_path) as f:
                    fields.append(f.read().strip())
        except OSError:
            continue
        if len(fields) < 2 or fields[0] in ("max", "-1"):
            return None
        try:
            quota, period = int(fields[0]), int(fields[1])
        except ValueError:
            return None
        return quota / period if quota > 0 and period > 0 else None
    return None


def workers():
    """How many processes compute a run_all, this one included (so workers() - 1 worker processes):
    BN_TEACH_WORKERS if set; else, in a Jupyter kernel, the CPUs this process may use (at most 4); else 1."""
    value = os.environ.get("BN_TEACH_WORKERS")
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"BN_TEACH_WORKERS must be a positive integer, got {value!r}")
        return int(value)
    if not _in_jupyter_kernel():
        return 1
    return min(MAX_WORKERS, available_cpus())


def _in_jupyter_kernel():
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def _worker_init(parent_pid):
    """In each worker, before any job: die with the parent, ignore Ctrl-C, use one BLAS thread."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before the request was made
            os._exit(1)
    # a kernel interrupt reaches the whole process group; the parent decides what stops (see run_all)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_blas_threads()


def _take_pool():
    """The running pool (cancelling its idle shutdown), or a new one."""
    global _POOL, _TIMER
    with _LOCK:
        if _TIMER is not None:
            _TIMER.cancel()
            _TIMER = None
        if _POOL is None:
            _POOL = ProcessPoolExecutor(max_workers=_pool_size(), mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_worker_init, initargs=(os.getpid(),))
            # start every worker from this thread (the kernel's main thread), not from run_all's feeding threads:
            # PR_SET_PDEATHSIG fires when the *thread* that started a worker ends, and those threads end with the run
            for _ in range(_pool_size()):
                _POOL.submit(os.getpid)
        return _POOL


def _pool_size():
    """Worker processes beside this one: workers() - 1 (the calling process computes too), at least 1."""
    return max(1, workers() - 1)


def _release_pool(pool):
    """Shut `pool` down after IDLE_SECONDS unless another run takes it first."""
    global _TIMER
    with _LOCK:
        if pool is _POOL:
            _TIMER = threading.Timer(IDLE_SECONDS, _shutdown_idle, args=(pool,))
            _TIMER.daemon = True
            _TIMER.start()


def _shutdown_idle(pool):
    global _POOL, _TIMER
    with _LOCK:
        if pool is not _POOL or _TIMER is None:  # taken again meanwhile
            return
        _POOL, _TIMER = None, None
    pool.shutdown(wait=True)


def shutdown(terminate=False):
    """Stop the workers now (`terminate=True`: without waiting for running jobs). The next run starts new ones."""
    global _POOL, _TIMER
    with _LOCK:
        pool, _POOL = _POOL, None
        if _TIMER is not None:
            _TIMER.cancel()
            _TIMER = None
    if pool is None:
        return
    if terminate:
        # concurrent.futures has no public way to stop a running job (Python 3.14 adds terminate_workers)
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
    pool.shutdown(wait=not terminate, cancel_futures=True)


atexit.register(shutdown, terminate=True)


def worker_pids():
    """Process ids of the live workers (empty when the lesson is idle); for tests and benchmarks."""
    with _LOCK:
        processes = dict(getattr(_POOL, "_processes", None) or {})
    return sorted(pid for pid, p in processes.items() if p.is_alive())


def run_all(fn, jobs):
    """[fn(**job) for job in jobs], run in parallel when there is more than one core and more than one job: the
    calling process takes jobs one at a time and runs them itself, while workers() - 1 worker processes do the
    same (one thread here feeds each worker), so the jobs spread over both whatever their lengths."""
    jobs = list(jobs)
    if workers() == 1 or len(jobs) < 2:
        return [fn(**job) for job in jobs]
    pool = _take_pool()
    results, failures, lock = [None] * len(jobs), [], threading.Lock()
    todo = iter(range(len(jobs)))

    def take():
        with lock:
            return None if failures else next(todo, None)

    def feed():
        """Send the worker one job at a time until none is left (or a job failed)."""
        try:
            while (i := take()) is not None:
                results[i] = pool.submit(fn, **jobs[i]).result()
        except BaseException as exc:
            with lock:
                failures.append(exc)

    feeders = [threading.Thread(target=feed, daemon=True) for _ in range(min(_pool_size(), len(jobs) - 1))]
    try:
        for t in feeders:
            t.start()
        while (i := take()) is not None:
            results[i] = fn(**jobs[i])
        for t in feeders:
            t.join()
    except BaseException as exc:
        with lock:
            failures.append(exc)
        if not isinstance(exc, Exception):
            # KeyboardInterrupt (the stop button), SystemExit: stop the workers now
            shutdown(terminate=True)
        else:
            _release_pool(pool)
        raise
    if failures:
        if isinstance(failures[0], BrokenProcessPool):  # a worker killed: start fresh ones next time
            shutdown(terminate=True)
        else:
            _release_pool(pool)
        raise failures[0]
    _release_pool(pool)
    return results
