"""Write data/digits.npz: scikit-learn's bundled 8x8 digits (1,797 images), as small integer arrays.

    python scripts/make_digits.py           # (re)write data/digits.npz from the installed scikit-learn
    python scripts/make_digits.py --check   # compare data/digits.npz with scikit-learn's copy, value for value

The lessons load the digits from this file (bn_teach.digits): scikit-learn's loader imports SciPy, about 80 MiB
in every process that trains on the digits (a lesson's kernel and each of its workers). The file holds
`pixels` uint8 (1797, 64), the grey levels 0..16 of sklearn's `data`, and `target` uint8 (1797,); the values are
exactly sklearn's (tests/test_digits.py checks it), so every lesson computes the same numbers.
Source: UCI ML hand-written digits (Alpaydin & Kaynak, 1998), CC BY 4.0, as shipped by scikit-learn.
"""
import argparse
import sys
from pathlib import Path

import numpy as np

from bn_teach.digits import DIGITS_FILE


def from_sklearn():
    """(pixels, target) as stored: uint8 copies of sklearn's float64 grey levels and int targets."""
    from sklearn.datasets import load_digits

    data = load_digits()
    pixels, target = data.data.astype(np.uint8), data.target.astype(np.uint8)
    if not (np.array_equal(pixels, data.data) and np.array_equal(target, data.target)):
        raise ValueError("scikit-learn's digits are not integers in 0..255; nothing written")
    return pixels, target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare data/digits.npz with scikit-learn's copy")
    args = parser.parse_args(argv)
    pixels, target = from_sklearn()
    if args.check:
        with np.load(DIGITS_FILE) as f:
            same = np.array_equal(f["pixels"], pixels) and np.array_equal(f["target"], target)
        print("digits OK" if same else "data/digits.npz differs from scikit-learn's digits")
        return 0 if same else 1
    np.savez_compressed(DIGITS_FILE, pixels=pixels, target=target)
    print(f"wrote {DIGITS_FILE} ({DIGITS_FILE.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
