"""Write tests/fixtures/torch_reference.npz: what PyTorch computes for BatchNorm, LayerNorm, GroupNorm and Conv2d.

    pip install torch==2.13.0 && python scripts/make_torch_fixtures.py

PyTorch is needed only to regenerate the fixtures; the tests read the .npz with NumPy alone. Each BatchNorm case
runs several training steps (with gamma and beta changed by an SGD step between them, so they are not 1 and 0),
then one eval-mode step, and stores every input, upstream gradient, output, input gradient, parameter gradient
and the running statistics after every step. Each Conv2d case (random weights and bias, stride, zero padding)
stores the input, output, a random upstream gradient and the gradients of input, weight and bias.
"""
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "torch_reference.npz"

# name: (input shape, dtype, momentum, training steps)
BN_CASES = {
    "bn1d_f64": ((16, 7), np.float64, 0.1, 3),
    "bn1d_f32": ((16, 7), np.float32, 0.1, 3),
    "bn1d_f64_mom03": ((5, 4), np.float64, 0.3, 3),
    "bn1d_f64_cumulative": ((8, 6), np.float64, None, 4),
    "bn1d_f32_cumulative": ((8, 6), np.float32, None, 4),
    "bn2d_f64": ((4, 3, 5, 6), np.float64, 0.1, 3),
    "bn2d_f32": ((4, 3, 5, 6), np.float32, 0.1, 3),
    "bn2d_f64_cumulative": ((2, 5, 3, 3), np.float64, None, 3),
}
NORM_CASES = {  # name: (layer factory, input shape, dtype)
    "ln_f64": (lambda d: torch.nn.LayerNorm(d[1]), (9, 10), np.float64),
    "ln_f32": (lambda d: torch.nn.LayerNorm(d[1]), (9, 10), np.float32),
    "gn_f64": (lambda d: torch.nn.GroupNorm(2, d[1]), (5, 6, 3, 2), np.float64),
    "gn2_f64": (lambda d: torch.nn.GroupNorm(3, d[1]), (7, 6), np.float64),
    "gn_f32": (lambda d: torch.nn.GroupNorm(3, d[1]), (5, 6, 4, 4), np.float32),
}
CONV_CASES = {  # name: (input shape, (C_out, kernel), stride, padding, bias, dtype)
    "conv_f64": ((3, 2, 7, 6), (4, 3), 1, 1, True, np.float64),
    "conv_f64_stride2": ((2, 3, 9, 8), (5, 3), 2, 0, True, np.float64),
    "conv_f64_nobias": ((4, 1, 8, 8), (6, 5), 1, 2, False, np.float64),
    "conv_f32": ((3, 3, 6, 6), (4, 3), 1, 1, True, np.float32),
}
TDT = {np.float32: torch.float32, np.float64: torch.float64}


def bn_case(rng, shape, dtype, momentum, steps):
    layer = (torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d)(shape[1], momentum=momentum)
    layer = layer.to(TDT[dtype])
    rec = {}
    for step in range(steps + 1):
        training = step < steps
        layer.train(training)
        x = (rng.normal(size=shape) * rng.uniform(0.5, 3.0) + rng.uniform(-2, 2)).astype(dtype)
        dy = rng.normal(size=shape).astype(dtype)
        tx = torch.tensor(x, requires_grad=True)
        layer.zero_grad()
        y = layer(tx)
        y.backward(torch.tensor(dy))
        rec[f"x{step}"], rec[f"dy{step}"] = x, dy
        rec[f"gamma{step}"] = layer.weight.detach().numpy().copy()
        rec[f"beta{step}"] = layer.bias.detach().numpy().copy()
        rec[f"y{step}"], rec[f"dx{step}"] = y.detach().numpy(), tx.grad.numpy()
        rec[f"dgamma{step}"], rec[f"dbeta{step}"] = layer.weight.grad.numpy(), layer.bias.grad.numpy()
        rec[f"running_mean{step}"] = layer.running_mean.numpy().copy()
        rec[f"running_var{step}"] = layer.running_var.numpy().copy()
        with torch.no_grad():  # an SGD step, so the next step's gamma and beta are not the initial 1 and 0
            layer.weight -= 0.5 * layer.weight.grad
            layer.bias -= 0.5 * layer.bias.grad
    rec["steps"] = np.array(steps)
    rec["momentum"] = np.array(np.nan if momentum is None else momentum)
    return rec


def norm_case(rng, factory, shape, dtype):
    layer = factory(shape).to(TDT[dtype])
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(rng.normal(size=layer.weight.shape)))
        layer.bias.copy_(torch.tensor(rng.normal(size=layer.bias.shape)))
    x = (rng.normal(size=shape) * 2 + 1).astype(dtype)
    dy = rng.normal(size=shape).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    y = layer(tx)
    y.backward(torch.tensor(dy))
    return {"x": x, "dy": dy, "gamma": layer.weight.detach().numpy().copy(), "beta": layer.bias.detach().numpy().copy(),
            "y": y.detach().numpy(), "dx": tx.grad.numpy(), "dgamma": layer.weight.grad.numpy(),
            "dbeta": layer.bias.grad.numpy()}


def conv_case(rng, shape, out_kernel, stride, padding, bias, dtype):
    c_out, k = out_kernel
    layer = torch.nn.Conv2d(shape[1], c_out, k, stride=stride, padding=padding, bias=bias).to(TDT[dtype])
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(rng.normal(size=layer.weight.shape)))
        if bias:
            layer.bias.copy_(torch.tensor(rng.normal(size=c_out)))
    x = rng.normal(size=shape).astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    y = layer(tx)
    dy = rng.normal(size=y.shape).astype(dtype)  # random upstream gradient
    y.backward(torch.tensor(dy))
    rec = {"x": x, "dy": dy, "w": layer.weight.detach().numpy().copy(), "y": y.detach().numpy(),
           "dx": tx.grad.numpy(), "dw": layer.weight.grad.numpy(), "stride": np.array(stride),
           "padding": np.array(padding)}
    if bias:
        rec.update(b=layer.bias.detach().numpy().copy(), db=layer.bias.grad.numpy())
    return rec


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(2015)
    arrays = {}
    for name, args in BN_CASES.items():
        arrays.update({f"{name}/{k}": v for k, v in bn_case(rng, *args).items()})
    for name, args in NORM_CASES.items():
        arrays.update({f"{name}/{k}": v for k, v in norm_case(rng, *args).items()})
    for name, args in CONV_CASES.items():
        arrays.update({f"{name}/{k}": v for k, v in conv_case(rng, *args).items()})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, torch_version=np.array(torch.__version__), **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1024:.0f} KiB, torch {torch.__version__})")


if __name__ == "__main__":
    main()
