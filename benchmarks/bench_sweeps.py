"""What five seeds cost, and what a lesson pays for them: each stored sweep computed for one seed and for the five
SEEDS, side by side in one run, against loading the stored file.

    python benchmarks/bench_sweeps.py [l03_training_speed ...]

For each lesson with a stored sweep (scripts/make_sweeps.py): seconds to compute its verdict-bearing experiments
for seed 0 alone (about what the lesson runs live), for seeds 0-4 (what `scripts/make_sweeps.py` and the tests run),
the ratio, and milliseconds to load the stored result (what the lesson runs instead of the other four seeds).
Issue 12's budget: every lesson together <= 60 s (benchmarks/bench_lessons.py); running the four extra seeds live
would add the difference of the first two columns to it.
"""
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from make_sweeps import SWEEPS, make_doc  # noqa: E402

from bn_teach.evidence import SEEDS  # noqa: E402
from bn_teach.sweeps import load_sweep  # noqa: E402


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def main(names):
    names = names or list(SWEEPS)
    print(f"{'sweep':28} {'seed 0 (s)':>10} {f'{len(SEEDS)} seeds (s)':>12} {'ratio':>6} {'load (ms)':>10} "
          f"{'4 more seeds live (s)':>22}")
    total_one = total_all = 0.0
    for name in names:
        one = timed(make_doc, name, seeds=SEEDS[:1])
        every = timed(make_doc, name, seeds=SEEDS)
        load = min(timed(load_sweep, name) for _ in range(5))
        total_one, total_all = total_one + one, total_all + every
        print(f"{name:28} {one:10.1f} {every:12.1f} {every / one:6.2f} {1000 * load:10.1f} {every - one:22.1f}")
    print(f"{'all':28} {total_one:10.1f} {total_all:12.1f} {total_all / total_one:6.2f} {'':10} "
          f"{total_all - total_one:22.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
