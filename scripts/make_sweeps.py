"""Compute the lessons' stored sweeps (their verdict-bearing experiments over the SEEDS) into data/sweeps/.

    python scripts/make_sweeps.py                       # (re)write every sweep and its checksum in data/checksums.json
    python scripts/make_sweeps.py l03_training_speed    # one sweep
    python scripts/make_sweeps.py --check               # regenerate in memory, compare with data/checksums.json

Each lesson module listed in SWEEPS has `seed_sweep(seeds)`, which runs the lesson's experiments once per seed and
returns their numbers (one value per seed); the lesson loads them with `bn_teach.sweeps.load_sweep` and runs seed 0
live. Run it as the tests do (`python3 tasks.py` pins OpenBLAS's kernel), or the checksums will not match:

    OPENBLAS_CORETYPE=Haswell python scripts/make_sweeps.py
"""
import argparse
import importlib
import sys
import time

from bn_teach.evidence import SEEDS
from bn_teach.sweeps import checksum, save_sweep, stored_checksums

SWEEPS = ("l03_training_speed", "l05_regularization", "l06_why_batchnorm_works")


def make_doc(name, seeds=SEEDS):
    """The sweep `name` computed now: {"about", "seeds", "results"}."""
    if name not in SWEEPS:
        raise ValueError(f"name must be one of {', '.join(SWEEPS)}, got {name!r}")
    module = importlib.import_module(f"bn_teach.lessons.{name}")
    about = (f"{module.seed_sweep.__doc__.strip().splitlines()[0]} Written by scripts/make_sweeps.py; "
             "do not edit (the checksum in data/checksums.json would no longer match).")
    return {"about": about, "seeds": list(seeds), "results": module.seed_sweep(seeds=tuple(seeds))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=list(SWEEPS), help=f"sweeps to make (default: all of {SWEEPS})")
    parser.add_argument("--check", action="store_true", help="compare regenerated sweeps with data/checksums.json")
    args = parser.parse_args(argv)
    stored, bad = stored_checksums(), []
    for name in args.names:
        start = time.perf_counter()
        doc = make_doc(name)
        took = time.perf_counter() - start
        if args.check:
            ok = stored.get(name) == checksum(doc)
            bad += [] if ok else [name]
            print(f"{name}: {'matches' if ok else 'DIFFERS from'} the stored checksum ({took:.0f} s)")
        else:
            print(f"{name}: {save_sweep(name, doc)} ({took:.0f} s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
