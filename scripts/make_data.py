"""Write the canonical "black cats" splits to data/, their array checksums and a preview figure.

    python scripts/make_data.py           # (re)write data/*.npz, data/checksums.json, data/preview.png
    python scripts/make_data.py --check   # regenerate in memory and compare with data/checksums.json

Each split is data/<name>.npz (np.savez_compressed): images uint8 (N, H, W, 3) = round(255 x), labels uint8
(0 dog, 1 cat), colors uint8 (index into color_names), masks bool (N, H, W), color_names, info (the generating
arguments as JSON). checksums.json holds the SHA-256 of every array's bytes: zip files carry timestamps, arrays don't.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bn_teach.cats import DATA_DIR, array_checksums, load_split, make_split, plot_preview, to_arrays

STORED = ("train", "test", "test_colors", "test_lighting")  # train_balanced (the control) is regenerated
PREVIEW = ("train", "test_colors", "test_lighting")


def checksums():
    """{split: {array: checksum}} of the splits regenerated in memory."""
    return {name: array_checksums(to_arrays(make_split(name))) for name in STORED}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare regenerated arrays with checksums.json")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output directory (default: data/)")
    args = parser.parse_args(argv)
    expected = checksums()
    if args.check:
        stored = json.loads((args.out / "checksums.json").read_text())["splits"]
        bad = [name for name in STORED if stored.get(name) != expected[name]]
        print("checksums OK" if not bad else f"checksums differ for: {', '.join(bad)}")
        return 1 if bad else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in STORED:
        np.savez_compressed(args.out / f"{name}.npz", **to_arrays(make_split(name)))
    doc = {"about": "SHA-256 of each array's dtype, shape and raw bytes (bn_teach.cats.array_checksums); "
                    "regenerate with scripts/make_data.py", "splits": expected}
    (args.out / "checksums.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    fig = plot_preview({name: load_split(name, args.out) for name in PREVIEW})
    fig.savefig(args.out / "preview.png", dpi=100, metadata={"Software": None})
    total = sum(p.stat().st_size for p in args.out.iterdir() if p.is_file())
    for name in STORED:
        print(f"{name:>14}: {(args.out / f'{name}.npz').stat().st_size / 1e6:.2f} MB")
    print(f"data/ in all: {total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
