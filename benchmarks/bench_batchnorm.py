"""Forward + backward time of bn_teach.BatchNorm against a staged NumPy implementation and torch.nn.BatchNorm1d.

    python benchmarks/bench_batchnorm.py [--repeats 7]

All implementations run interleaved in one process (round-robin, best-of-repeats), so a busy machine slows them
alike and the printed ratios compare like with like. Torch is optional and limited to one thread.
Targets (issue 2): bn_teach <= 1.0x torch at (64, 100); <= 1.5x torch at (256, 1024);
bn_teach >= 2x faster than the staged version at (256, 1024).
"""
import argparse
import time

import numpy as np

from bn_teach import BatchNorm

SHAPES = [(64, 100), (256, 1024), (1024, 4096)]
DTYPES = [np.float32, np.float64]


class StagedBatchNorm:
    """The classic course-assignment batch norm: one small step per line, every intermediate kept for backward."""

    def __init__(self, d, eps=1e-5, momentum=0.1, dtype=np.float64):
        self.gamma, self.beta = np.ones(d, dtype), np.zeros(d, dtype)
        self.running_mean, self.running_var = np.zeros(d, dtype), np.ones(d, dtype)
        self.eps, self.momentum = eps, momentum

    def forward(self, x):
        n = x.shape[0]
        mu = 1.0 / n * np.sum(x, axis=0)
        xmu = x - mu
        sq = xmu ** 2
        var = 1.0 / n * np.sum(sq, axis=0)
        sqrtvar = np.sqrt(var + self.eps)
        ivar = 1.0 / sqrtvar
        xhat = xmu * ivar
        gammax = self.gamma * xhat
        out = gammax + self.beta
        self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mu
        self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * n / (n - 1)
        self.cache = (xhat, self.gamma, xmu, ivar, sqrtvar, var)
        return out

    def backward(self, dout):
        xhat, gamma, xmu, ivar, sqrtvar, var = self.cache
        n = dout.shape[0]
        self.dbeta = np.sum(dout, axis=0)
        self.dgamma = np.sum(dout * xhat, axis=0)
        dxhat = dout * gamma
        divar = np.sum(dxhat * xmu, axis=0)
        dxmu1 = dxhat * ivar
        dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
        dvar = 0.5 * 1.0 / np.sqrt(var + self.eps) * dsqrtvar
        dsq = 1.0 / n * np.ones_like(dout) * dvar
        dxmu2 = 2 * xmu * dsq
        dx1 = dxmu1 + dxmu2
        dmu = -1 * np.sum(dxmu1 + dxmu2, axis=0)
        dx2 = 1.0 / n * np.ones_like(dout) * dmu
        return dx1 + dx2


def make_runners(shape, dtype, rng):
    """name -> zero-argument callable running one forward + backward on fixed data."""
    x = rng.standard_normal(shape).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    ours, staged = BatchNorm(shape[1]), StagedBatchNorm(shape[1], dtype=dtype)
    runners = {
        "bn_teach": lambda: (ours.forward(x), ours.backward(dy)),
        "staged": lambda: (staged.forward(x), staged.backward(dy)),
    }
    try:
        import torch
    except ImportError:
        return runners
    torch.set_num_threads(1)
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    layer = torch.nn.BatchNorm1d(shape[1]).to(tdt)
    tx = torch.tensor(x, requires_grad=True)
    tdy = torch.tensor(dy)

    def torch_run():
        tx.grad = None
        layer.zero_grad(set_to_none=True)
        out = layer(tx)
        out.backward(tdy)

    runners["torch"] = torch_run
    return runners


def time_interleaved(runners, repeats, min_seconds=0.02):
    """Best per-call time of each runner, measured round-robin so machine noise hits all of them alike."""
    for run in runners.values():  # warm-up: allocations, caches, lazy imports
        run(), run()
    loops = {}
    for name, run in runners.items():
        n, t = 1, 0.0
        while t < min_seconds:
            n *= 2
            t0 = time.perf_counter()
            for _ in range(n):
                run()
            t = time.perf_counter() - t0
        loops[name] = n
    best = {name: float("inf") for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            t0 = time.perf_counter()
            for _ in range(loops[name]):
                run()
            best[name] = min(best[name], (time.perf_counter() - t0) / loops[name])
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{'shape':>13} {'dtype':>7} {'bn_teach':>10} {'staged':>10} {'torch':>10} "
          f"{'ours/torch':>10} {'staged/ours':>11}")
    for shape in SHAPES:
        for dtype in DTYPES:
            best = time_interleaved(make_runners(shape, dtype, rng), args.repeats)
            ours, staged, torch_t = best["bn_teach"], best["staged"], best.get("torch", float("nan"))
            print(f"{str(shape):>13} {np.dtype(dtype).name:>7} {ours * 1e6:9.1f}us {staged * 1e6:9.1f}us "
                  f"{torch_t * 1e6:9.1f}us {ours / torch_t:10.2f} {staged / ours:11.2f}")
    print("targets: ours/torch <= 1.0 at (64, 100), <= 1.5 at (256, 1024); staged/ours >= 2 at (256, 1024)")


if __name__ == "__main__":
    main()
