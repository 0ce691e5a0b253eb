"""Time the "black cats" generator: 10,000 images at 16x16 (target, issue 3: under 2 s), and at 24x24 and 32x32.

    python benchmarks/bench_cats.py [--n 10000] [--repeats 3]

Prints the best wall-clock time of `repeats` runs of bn_teach.cats.make_cats (a script, not a test).
"""
import argparse
import time

from bn_teach.cats import make_cats


def best_time(n, size, repeats):
    """Best of `repeats` wall-clock seconds for make_cats(n, size=size) (the biased recipe: black cats only)."""
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        make_cats(n, cat_colors="black", dog_colors=["grey", "white", "ginger", "brown"], size=size, seed=r)
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for size in (16, 24, 32):
        t = best_time(args.n, size, args.repeats)
        note = "  (target < 2 s)" if size == 16 else ""
        print(f"make_cats({args.n}, size={size}): {t:.2f} s, {1e6 * t / args.n:.0f} us/image{note}")


if __name__ == "__main__":
    main()
