"""The stored outputs come from the versions in constraints.txt: this test says which, and fails clearly when the
installed ones differ (then strict nbval may fail on the last digit of a number, or on a widget's repr)."""
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from bn_teach.blas import blas_libraries
from tasks import LOCK, OUTPUT_PACKAGES

FIX = ("install the lock (`python3 tasks.py setup`), or refresh it (`python3 tasks.py lock`) and re-execute the "
       "notebooks")


def locked():
    """({package: version}, {"python": ..., "blas": ...}) from constraints.txt."""
    pins, header = {}, {}
    for line in Path(LOCK).read_text().splitlines():
        if line.startswith("# ") and line[2:].split(" ", 1)[0] in ("python", "blas"):
            key, value = line[2:].split(" ", 1)
            header[key] = value
        elif "==" in line and not line.startswith("#"):
            name, pinned = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = pinned.strip()
    return pins, header


def test_the_lock_names_every_package_the_outputs_depend_on():
    pins, header = locked()
    assert set(OUTPUT_PACKAGES) <= set(pins), f"constraints.txt lacks {set(OUTPUT_PACKAGES) - set(pins)}"
    assert header.get("python") and header.get("blas"), "constraints.txt lacks its '# python' or '# blas' line"


def test_installed_versions_are_the_ones_the_stored_outputs_come_from():
    pins, header = locked()
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if header["python"] != here:
        pytest.skip(f"the lock is for Python {header['python']}, this is {here}: no lock applies")
    wrong = {name: (pins[name], version(name)) for name in OUTPUT_PACKAGES if version(name) != pins[name]}
    blas = " ".join(f"{b['internal_api']} {b['version']} {b.get('architecture')}" for b in blas_libraries())
    assert not wrong, ("stored outputs come from " + ", ".join(f"{n}=={v}" for n, (v, _) in wrong.items())
                       + "; installed: " + ", ".join(f"{n}=={v}" for n, (_, v) in wrong.items()) + f": {FIX}")
    assert blas == header["blas"], f"stored outputs come from BLAS {header['blas']}; here: {blas}: {FIX}"
