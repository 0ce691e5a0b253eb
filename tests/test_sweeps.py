"""Stored sweeps (data/sweeps/): their format and checksums, and that the code regenerates them exactly."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bn_teach.sweeps import SWEEP_DIR, checksum, jsonable, load_sweep, per_seed, save_sweep, stored_checksums

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from make_sweeps import SWEEPS  # noqa: E402


def test_jsonable_and_checksum_are_canonical():
    doc = {"b": np.array([1.0, np.nan]), "a": (np.int64(3), np.float32(0.5)), 2: {"x": None, "y": True}}
    assert jsonable(doc) == {"b": [1.0, None], "a": [3, 0.5], "2": {"x": None, "y": True}}
    assert checksum(doc) == checksum(json.loads(json.dumps(jsonable(doc))))  # a loaded file checks the same
    assert checksum(doc) != checksum({**doc, "a": (3, 0.25)})
    np.testing.assert_array_equal(per_seed([1.0, None]), [1.0, np.nan])
    with pytest.raises(TypeError, match="not object"):
        jsonable({"model": object()})


def test_load_refuses_a_file_that_does_not_match_its_checksum(tmp_path):
    sums = tmp_path / "checksums.json"
    sums.write_text('{"splits": {}}\n')
    save_sweep("demo", {"seeds": [0, 1], "results": {"acc": [0.5, 0.75]}}, tmp_path, sums)
    assert json.loads(sums.read_text())["splits"] == {}  # the other entries are kept
    assert load_sweep("demo", tmp_path, sums)["results"]["acc"] == [0.5, 0.75]
    path = tmp_path / "demo.json"
    path.write_text(path.read_text().replace("0.75", "0.8"))
    with pytest.raises(ValueError, match="make_sweeps.py demo"):
        load_sweep("demo", tmp_path, sums)
    with pytest.raises(FileNotFoundError, match="make_sweeps.py other"):
        load_sweep("other", tmp_path, sums)


def test_every_sweep_is_stored_with_its_checksum():
    assert sorted(stored_checksums()) == sorted(SWEEPS)
    for name in SWEEPS:
        doc = load_sweep(name)
        assert doc["seeds"] == [0, 1, 2, 3, 4] and doc["results"]
    assert sorted(p.stem for p in SWEEP_DIR.glob("*.json")) == sorted(SWEEPS)


@pytest.mark.parametrize("name", SWEEPS)
def test_the_code_regenerates_the_stored_sweep_exactly(name):
    """Recompute the sweep from the code (with the pinned BLAS kernel of the test run) and compare checksums: a
    change that moves any stored number without a new sweep fails here."""
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_sweeps.py"), "--check", name], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
