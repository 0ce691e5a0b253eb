"""Jobs for the parallel tests, importable by worker processes (a spawned worker imports a job by its module)."""
import os
import time
from pathlib import Path


def spin(seconds, started=None):
    """Keep a core busy for `seconds` (pure Python, like a training step's bookkeeping); returns the seconds.
    With `started` (a folder), first leave a file named after this process there: the job is running."""
    if started:
        Path(started, str(os.getpid())).touch()
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(range(1000))
    return seconds
