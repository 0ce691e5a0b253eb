"""What one student costs the server: peak memory (PSS) and CPU seconds of one kernel running each lesson the way
a hub user runs it. The per-student limits in deploy/jupyterhub/jupyterhub_config.py and deploy/z2jh/config.yaml
come from this script's output (and are to be reconciled with benchmarks/bench_classroom.py).

    python deploy/measure_student.py [NOTEBOOK ...] [--workers 1] [--repeat 3]     (default: every lesson)

Runs in a fresh kernel with the environment a hub user gets: no OPENBLAS_/OMP_/MKL_/BN_TEACH_ settings except
the ones the hub config sets (BN_TEACH_WORKERS and the BLAS thread count = the student's CPU limit). PSS is summed
over the kernel and all its descendants (the lesson's worker processes), sampled every 0.1 s; CPU seconds are the
kernel's and its descendants' user+system time, read just before the kernel is shut down.
"""
import argparse
import os
import platform
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def hub_user_env(workers):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENBLAS_", "OMP_", "MKL_", "BN_TEACH_"))}
    env.update(BN_TEACH_WORKERS=str(workers), OPENBLAS_NUM_THREADS=str(workers), OMP_NUM_THREADS=str(workers))
    if platform.machine().lower() in ("x86_64", "amd64"):
        env["OPENBLAS_CORETYPE"] = "Haswell"   # as the hub config sets it: stored outputs reproduce
    return env


def _tree(pid):
    try:
        root = psutil.Process(pid)
        return [root] + root.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _pss(procs):
    total = 0
    for p in procs:
        try:
            total += p.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total


def measure(notebook, workers):
    nb = nbformat.read(notebook, as_version=4)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(hub_user_env(workers))   # the kernel inherits the hub user's environment
    try:
        client = NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
        peak, cpu, done, seen = 0, {}, threading.Event(), {}
        with client.setup_kernel():
            pid = client.km.provisioner.process.pid

            def sample():
                nonlocal peak
                while not done.is_set():
                    procs = _tree(pid)
                    peak = max(peak, _pss(procs))
                    for p in procs:
                        try:
                            t = p.cpu_times()
                            seen[p.pid] = t.user + t.system
                        except psutil.NoSuchProcess:
                            pass
                    time.sleep(0.1)

            sampler = threading.Thread(target=sample)
            sampler.start()
            start = time.perf_counter()
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            wall = time.perf_counter() - start
            done.set()
            sampler.join()
            for p in _tree(pid):
                t = p.cpu_times()
                seen[p.pid] = t.user + t.system
        cpu = sum(seen.values())
    finally:
        os.environ.clear()
        os.environ.update(saved)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return {"peak_pss_mib": peak / 2**20, "cpu_s": cpu, "wall_s": wall, "errors": len(errors)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        default=sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    worst = {}
    for notebook in args.notebooks:
        for run in range(args.repeat):
            r = measure(notebook, args.workers)
            print(f"{notebook.name} workers={args.workers} run {run + 1}: peak PSS {r['peak_pss_mib']:.0f} MiB, "
                  f"CPU {r['cpu_s']:.1f} s, wall {r['wall_s']:.1f} s, errors {r['errors']}", flush=True)
            for key in ("peak_pss_mib", "cpu_s"):
                if r[key] > worst.get(key, (0, ""))[0]:
                    worst[key] = (r[key], notebook.name)
    print(f"largest peak PSS: {worst['peak_pss_mib'][0]:.0f} MiB ({worst['peak_pss_mib'][1]}); "
          f"most CPU: {worst['cpu_s'][0]:.1f} s ({worst['cpu_s'][1]})")
