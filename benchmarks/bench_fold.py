"""Eval-mode inference with BatchNorm layers against the same network with BN folded into the layer before it
(lesson 7, `bn_teach.lessons.l07_batchnorm_in_practice.fold_network`).

    python benchmarks/bench_fold.py [--repeats 30]

Both versions run interleaved in one process (round-robin, best-of-repeats), so a busy machine slows them alike
and the printed ratio compares like with like. The outputs are checked to agree before anything is timed.
Target (issue 13): the folded network is faster than the one with BN, for the MLP and the conv network.
"""
import argparse

import numpy as np

from bn_teach import MLP
from bn_teach.lessons.l07_batchnorm_in_practice import conv_net, fold_network, time_inference


def main(repeats):
    rng = np.random.default_rng(0)
    cases = [("MLP 64-64-64-10, BN before ReLU, batch 512", MLP(64, [64, 64], 10, norm="batch"), (512, 64)),
             ("MLP 64-256-256-10, BN before ReLU, batch 512", MLP(64, [256, 256], 10, norm="batch"), (512, 64)),
             ("conv 1->4 3x3 + BN, batch 512", conv_net(0), (512, 64))]
    print(f"{'network':48} {'with BN (ms)':>13} {'folded (ms)':>12} {'speed-up':>9}")
    met = True
    for name, net, shape in cases:
        x = rng.normal(size=shape)
        for bn in net.norms:  # non-trivial statistics and affine parameters
            bn.running_mean[...] = rng.normal(size=bn.num_features)
            bn.running_var[...] = rng.uniform(0.5, 2.0, size=bn.num_features)
            bn.gamma, bn.beta = rng.uniform(0.5, 2.0, bn.num_features), rng.normal(size=bn.num_features)
        assert np.allclose(net.eval().forward(x), fold_network(net).forward(x), rtol=1e-10, atol=1e-10)
        with_bn, fold = time_inference(net, x, repeats)
        met &= fold < with_bn
        print(f"{name:48} {with_bn:13.3f} {fold:12.3f} {with_bn / fold:8.2f}x")
    print(f"target: folded faster than with BN for every network ({'met' if met else 'MISSED'})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    main(parser.parse_args().repeats)
