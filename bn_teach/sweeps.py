"""Stored sweeps: a lesson's verdict-bearing experiments repeated over the SEEDS, computed once by
scripts/make_sweeps.py and kept in data/sweeps/<lesson>.json, so that a lesson shows the spread over 5 seeds while
it runs only one seed live.

    doc = load_sweep("l03_training_speed")   # {"about": ..., "seeds": [0, 1, 2, 3, 4], "results": {...}}
    doc["results"]["steps_to_90"]["bn"]      # one value per seed, in the order of doc["seeds"]

Why stored and not run: five seeds of lessons 3, 5 and 6 take minutes of CPU, and a lesson must run in seconds on a
student's laptop. Why they can be trusted:
- the file's SHA-256 is kept in data/checksums.json (under "sweeps") and `load_sweep` refuses a file that does not
  match it (edited by hand, or half written);
- the test suite regenerates every sweep from the code and compares the checksums (tests/test_sweeps.py), so a
  code change that moves a number without a new sweep fails the tests;
- each lesson runs seed 0 live with the same settings and prints it beside the stored seed 0.
"""
import hashlib
import json
import math
from pathlib import Path

import numpy as np

from .cats import DATA_DIR

SWEEP_DIR = DATA_DIR / "sweeps"
CHECKSUMS = DATA_DIR / "checksums.json"
REGENERATE = "python scripts/make_sweeps.py"


def jsonable(obj):
    """`obj` with NumPy arrays and scalars turned into lists and Python numbers, tuples into lists and dict keys
    into strings: what JSON can hold. Non-finite floats become None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"a sweep can hold numbers, strings, lists and dicts, not {type(obj).__name__}")


def to_text(doc):
    """The canonical JSON text of a sweep (sorted keys, one value per line): what is stored and checksummed."""
    return json.dumps(jsonable(doc), indent=1, sort_keys=True, allow_nan=False) + "\n"


def checksum(doc):
    """'sha256:...' of the canonical text of `doc`."""
    return "sha256:" + hashlib.sha256(to_text(doc).encode()).hexdigest()


def stored_checksums(path=CHECKSUMS):
    """{sweep name: checksum} from data/checksums.json ({} when it lists none)."""
    return json.loads(Path(path).read_text()).get("sweeps", {}) if Path(path).exists() else {}


def save_sweep(name, doc, directory=SWEEP_DIR, checksums=CHECKSUMS):
    """Write data/sweeps/<name>.json and record its checksum in data/checksums.json. Returns the checksum."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(to_text(doc))
    everything = json.loads(Path(checksums).read_text()) if Path(checksums).exists() else {}
    everything.setdefault("sweeps", {})[name] = checksum(doc)
    Path(checksums).write_text(json.dumps(everything, indent=2, sort_keys=True) + "\n")
    return everything["sweeps"][name]


def load_sweep(name, directory=SWEEP_DIR, checksums=CHECKSUMS):
    """The stored sweep `name` (a dict), after checking that its file matches the checksum in data/checksums.json."""
    path = Path(directory) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no stored sweep {name!r} at {path}: create it with `{REGENERATE} {name}`")
    doc = json.loads(path.read_text())
    expected = stored_checksums(checksums).get(name)
    if expected != checksum(doc):
        raise ValueError(f"{path} does not match its checksum in {Path(checksums).name} (edited by hand, or stale): "
                         f"regenerate it with `{REGENERATE} {name}`")
    return doc


def per_seed(values):
    """A stored per-seed list as a float array (None, a diverged run, becomes NaN)."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)
