"""data/digits.npz holds exactly scikit-learn's digits, so the lessons' numbers do not depend on which is loaded."""
import numpy as np
import pytest

from bn_teach import digits


def test_stored_digits_are_sklearns_bit_for_bit(monkeypatch):
    pytest.importorskip("sklearn")
    assert digits.DIGITS_FILE.exists(), "run `python scripts/make_digits.py`"
    stored = digits.load_digits_split()
    monkeypatch.setattr(digits, "DIGITS_FILE", digits.DIGITS_FILE.with_name("absent.npz"))  # sklearn's loader
    from_sklearn = digits.load_digits_split()
    for a, b in zip(stored, from_sklearn):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
