"""A lesson's kernel on a shared server: killed, it leaves no process behind; interrupted, it stops a parallel run
at once and stays usable; idle, it holds no worker process. Each test drives a real Jupyter kernel."""
import os
import signal
import time
from pathlib import Path

import psutil
import pytest

jupyter_client = pytest.importorskip("jupyter_client.manager")

ROOT = Path(__file__).resolve().parents[1]
START = "import bn_teach.parallel as p\nfrom tests.jobs import spin\n"


@pytest.fixture
def kernel():
    """(kernel process, client, manager) of a fresh kernel with two workers whatever the machine's cores."""
    km, kc = jupyter_client.start_new_kernel(kernel_name="python3", cwd=str(ROOT),
                                             env=dict(os.environ, BN_TEACH_WORKERS="2"))
    try:
        yield psutil.Process(km.provisioner.process.pid), kc, km
    finally:
        kc.stop_channels()
        if km.is_alive():
            km.shutdown_kernel(now=True)


def run(kc, code):
    reply = kc.execute_interactive(code, timeout=120, output_hook=lambda msg: None)
    assert reply["content"]["status"] == "ok", reply["content"]
    return reply


def workers_of(process):
    """The kernel's worker processes (not multiprocessing's resource tracker, which holds a few MiB)."""
    return [c for c in process.children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]


def wait_for(condition, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def alive(p):
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_killed_kernel_leaves_no_process_behind(kernel, tmp_path):
    process, kc, km = kernel
    run(kc, START)
    kc.execute(f"p.run_all(spin, [dict(seconds=60, started={str(tmp_path)!r})] * 4)")  # killed in its middle
    assert wait_for(lambda: len(list(tmp_path.iterdir())) == 2, 30), "the workers never started their jobs"
    everything = process.children(recursive=True)
    process.send_signal(signal.SIGKILL)  # what the OOM killer or a hub's culler does
    assert wait_for(lambda: not any(alive(c) for c in everything), 10), \
        f"left alive 10 s after the kernel died: {[c.pid for c in everything if alive(c)]}"


def test_interrupt_stops_a_parallel_run_at_once_and_the_kernel_stays_usable(kernel, tmp_path):
    process, kc, km = kernel
    run(kc, START)
    msg_id = kc.execute(f"p.run_all(spin, [dict(seconds=60, started={str(tmp_path)!r})] * 4)")
    assert wait_for(lambda: len(list(tmp_path.iterdir())) == 2, 30), "the workers never started their jobs"
    start = time.monotonic()
    km.interrupt_kernel()  # the stop button
    reply = None
    while reply is None or reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=10)
    stopped = time.monotonic() - start
    assert reply["content"]["ename"] == "KeyboardInterrupt" and stopped <= 2.0, stopped
    assert wait_for(lambda: not workers_of(process), 2), "workers still running after the interrupt"
    out = []
    kc.execute_interactive("print(p.run_all(spin, [dict(seconds=0.2)] * 3))", timeout=60,
                           output_hook=lambda m: out.append(m["content"].get("text", "")))
    assert "".join(out).strip() == "[0.2, 0.2, 0.2]"


def test_an_idle_lesson_holds_no_worker_process(kernel):
    process, kc, km = kernel
    run(kc, START + "p.IDLE_SECONDS = 3.0\nr = p.run_all(spin, [dict(seconds=0.2)] * 4)\nassert p.worker_pids()")
    assert workers_of(process), "the run used no workers"
    assert wait_for(lambda: not workers_of(process), 10), "workers still alive 10 s after the last run"
    run(kc, "assert p.run_all(spin, [dict(seconds=0.1)] * 2) == [0.1, 0.1]")  # and they come back when needed
