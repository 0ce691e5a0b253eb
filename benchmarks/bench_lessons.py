"""Execute every lesson in a fresh kernel and time it; then time the slowest widget update in each.

    python benchmarks/bench_lessons.py [notebooks/02_inside_batchnorm.ipynb ...]

For each lesson: wall-clock seconds for a clean top-to-bottom run, the number of live figures it builds, and the
worst update + full synchronous redraw (ms; best of 3 per setting) over every control's min, middle and max value
(`bn_teach.widgets.Live.time_updates`). Targets (issue 7): all lessons together <= 60 s; every update <= 100 ms.
"""
import json
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
PROBE = ("import json as _json\nfrom bn_teach.widgets import live_figures as _lf\n"
         "print('BENCH' + _json.dumps([_f.time_updates() for _f in _lf()]))")


def bench(path):
    """(seconds to execute, [worst ms per live figure]) for one notebook."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        start = time.perf_counter()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        seconds = time.perf_counter() - start
        probe = nbformat.v4.new_code_cell(PROBE)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    worst = json.loads(text.split("BENCH", 1)[1]) if "BENCH" in text else []
    return seconds, worst


def main(paths):
    paths = [Path(p) for p in paths] or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    print(f"{'lesson':40} {'run (s)':>8} {'figures':>8} {'worst update (ms)':>18}")
    total, worst_all = 0.0, 0.0
    for path in paths:
        seconds, worst = bench(path)
        total += seconds
        w = max(worst, default=0.0)
        worst_all = max(worst_all, w)
        print(f"{path.name:40} {seconds:8.1f} {len(worst):8d} {w:18.1f}")
    print(f"{'all lessons':40} {total:8.1f} {'':8} {worst_all:18.1f}")
    print(f"targets: all lessons <= 60 s ({'met' if total <= 60 else 'MISSED'}); "
          f"every update <= 100 ms ({'met' if worst_all <= 100 else 'MISSED'})")


if __name__ == "__main__":
    main(sys.argv[1:])
