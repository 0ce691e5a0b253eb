"""bn_teach (BatchNorm, LayerNorm, GroupNorm, Conv2d) against numbers PyTorch computed (tests/fixtures, made by scripts/make_torch_fixtures.py)."""
from pathlib import Path

import numpy as np
import pytest

from bn_teach import BatchNorm, Conv2d, GroupNorm, LayerNorm

FIXTURES = np.load(Path(__file__).parent / "fixtures" / "torch_reference.npz")
BN_CASES = sorted({k.split("/")[0] for k in FIXTURES.files if k.startswith("bn")})
NORM_CASES = sorted({k.split("/")[0] for k in FIXTURES.files if k.startswith(("ln", "gn"))})


def close(actual, expected, what):
    """1e-10 absolute-and-relative for float64, 1e-5 relative for float32 (with a matching floor near zero)."""
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype}, PyTorch gives {expected.dtype}"
    tol = 1e-10 if expected.dtype == np.float64 else 1e-5
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=what)


@pytest.mark.parametrize("case", BN_CASES)
def test_batchnorm_matches_pytorch_over_training_steps_and_eval(case):
    f = {k.split("/", 1)[1]: FIXTURES[k] for k in FIXTURES.files if k.startswith(case + "/")}
    steps = int(f["steps"])
    momentum = None if np.isnan(f["momentum"]) else float(f["momentum"])
    bn = BatchNorm(f["x0"].shape[1], momentum=momentum)
    for step in range(steps + 1):
        bn.train(step < steps)
        bn.gamma = f[f"gamma{step}"].astype(np.float64)
        bn.beta = f[f"beta{step}"].astype(np.float64)
        y = bn.forward(f[f"x{step}"])
        dx = bn.backward(f[f"dy{step}"])
        close(y, f[f"y{step}"], f"{case} step {step}: output")
        close(dx, f[f"dx{step}"], f"{case} step {step}: dx")
        close(bn.dgamma.astype(f[f"dgamma{step}"].dtype), f[f"dgamma{step}"], f"{case} step {step}: dgamma")
        close(bn.dbeta.astype(f[f"dbeta{step}"].dtype), f[f"dbeta{step}"], f"{case} step {step}: dbeta")
        rdt = f[f"running_mean{step}"].dtype
        close(bn.running_mean.astype(rdt), f[f"running_mean{step}"], f"{case} step {step}: running_mean")
        close(bn.running_var.astype(rdt), f[f"running_var{step}"], f"{case} step {step}: running_var")
    assert bn.num_batches_tracked == steps


@pytest.mark.parametrize("case", NORM_CASES)
def test_layernorm_and_groupnorm_match_pytorch(case):
    f = {k.split("/", 1)[1]: FIXTURES[k] for k in FIXTURES.files if k.startswith(case + "/")}
    c = f["x"].shape[1]
    groups = {"gn_f64": 2, "gn2_f64": 3, "gn_f32": 3}.get(case)
    layer = LayerNorm(c) if case.startswith("ln") else GroupNorm(groups, c)
    layer.gamma, layer.beta = f["gamma"].astype(np.float64), f["beta"].astype(np.float64)
    close(layer.forward(f["x"]), f["y"], f"{case}: output")
    close(layer.backward(f["dy"]), f["dx"], f"{case}: dx")
    close(layer.dgamma.astype(f["dgamma"].dtype), f["dgamma"], f"{case}: dgamma")
    close(layer.dbeta.astype(f["dbeta"].dtype), f["dbeta"], f"{case}: dbeta")


def test_the_fixtures_cover_what_the_issue_lists():
    shapes = {FIXTURES[f"{c}/x0"].ndim for c in BN_CASES}
    dtypes = {FIXTURES[f"{c}/x0"].dtype for c in BN_CASES}
    assert shapes == {2, 4} and dtypes == {np.dtype(np.float32), np.dtype(np.float64)}
    assert any(np.isnan(FIXTURES[f"{c}/momentum"]) for c in BN_CASES), "no momentum=None case"
    assert all(int(FIXTURES[f"{c}/steps"]) >= 3 for c in BN_CASES)


CONV_CASES = sorted({k.split("/")[0] for k in FIXTURES.files if k.startswith("conv")})


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_pytorch(case):
    f = {k.split("/", 1)[1]: FIXTURES[k] for k in FIXTURES.files if k.startswith(case + "/")}
    c_out, c_in, k, _ = f["w"].shape
    conv = Conv2d(c_in, c_out, k, stride=int(f["stride"]), padding=int(f["padding"]), bias="b" in f)
    conv.W = f["w"].astype(np.float64)
    if "b" in f:
        conv.b = f["b"].astype(np.float64)
    close(conv.forward(f["x"]), f["y"], f"{case}: output")
    close(conv.backward(f["dy"]), f["dx"], f"{case}: dx")
    close(conv.dW.astype(f["dw"].dtype), f["dw"], f"{case}: dW")
    if "b" in f:
        close(conv.db.astype(f["db"].dtype), f["db"], f"{case}: db")


def test_the_conv_fixtures_cover_stride_padding_no_bias_and_float32():
    cases = [{k.split("/", 1)[1]: FIXTURES[k] for k in FIXTURES.files if k.startswith(c + "/")} for c in CONV_CASES]
    assert {int(f["stride"]) for f in cases} >= {1, 2} and {int(f["padding"]) for f in cases} >= {0, 1, 2}
    assert any("b" not in f for f in cases) and {f["x"].dtype for f in cases} == {np.dtype(np.float32),
                                                                                  np.dtype(np.float64)}
