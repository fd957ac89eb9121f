import numpy as np
import pytest

import lossfn
from conftest import DTYPES, cases, check_fixture

REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


@pytest.mark.parametrize("case,dt", cases("keypoints"))
def test_fixture(case, dt):
    dtype = DTYPES[dt]
    n, k = case["dims"]["n"], case["dims"]["k"]
    ins = case["inputs"]
    arr = lambda key, shape: np.array(ins[key], dtype).reshape(shape)  # noqa: E731
    red = REDUCTIONS[(case.get("opts") or {}).get("reduction", 1)]
    p = arr("pred", (n, k, 2))
    check_fixture(case, dt, lambda g: lossfn.keypoint_oks_loss(p, arr("target", (n, k, 2)), arr("visible", (n, k)),
                                                                arr("area", (n,)), arr("sigmas", (k,)), reduction=red,
                                                                grad=g), p.shape)


def _keypoint_loss_reference(pred, target, visible, area, sigmas):
    """ultralytics utils/loss.py KeypointLoss.forward, written again in numpy float64."""
    d = (pred[..., 0] - target[..., 0]) ** 2 + (pred[..., 1] - target[..., 1]) ** 2
    factor = visible.shape[1] / (np.sum(visible != 0, axis=1) + 1e-9)
    e = d / ((2 * sigmas) ** 2 * (area[:, None] + 1e-9) * 2)
    return (factor[:, None] * ((1 - np.exp(-e)) * visible)).mean()


def test_default_sigmas_are_ultralytics_oks_sigma():
    # ultralytics/utils/metrics.py: OKS_SIGMA = np.array([.26, .25, ...]) / 10.0 (COCO's sigmas
    # divided by 10), written here on its own rather than read from lossfn.
    oks_sigma = np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87,
                          0.89, 0.89]) / 10.0
    rng = np.random.default_rng(7)
    p = rng.uniform(0, 64, (4, 17, 2))
    t = p + rng.normal(0, 3, p.shape)
    vis = (rng.uniform(size=(4, 17)) < 0.8).astype(np.float64)
    area = rng.uniform(200, 2000, 4)
    expected = _keypoint_loss_reference(p, t, vis, area, oks_sigma)
    loss, _ = lossfn.keypoint_oks_loss(p, t, vis, area)
    assert abs(float(loss) - expected) <= 1e-12 * abs(expected)
    # f32: the default is the same array cast to float32.
    loss32, _ = lossfn.keypoint_oks_loss(p.astype(np.float32), t.astype(np.float32), vis.astype(np.float32),
                                         area.astype(np.float32))
    assert abs(float(loss32) - expected) <= 1e-5 * abs(expected)
    # COCO's undivided sigmas give a very different (much smaller) loss: the default is not them.
    coco = _keypoint_loss_reference(p, t, vis, area, oks_sigma * 10)
    assert coco < 0.5 * expected


def test_default_sigmas_are_coco_and_shapes_are_checked():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 50, (3, 17, 2))
    t = p + rng.normal(0, 2, p.shape)
    vis, area = np.ones((3, 17)), np.array([100.0, 200.0, 50.0])
    a = lossfn.keypoint_oks_loss(p, t, vis, area)
    b = lossfn.keypoint_oks_loss(p, t, vis, area, sigmas=lossfn.keypoints.OKS_SIGMA)
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="sigmas"):
        lossfn.keypoint_oks_loss(p[:, :5].copy(), t[:, :5].copy(), vis[:, :5].copy(), area)
    with pytest.raises(ValueError, match="visible"):
        lossfn.keypoint_oks_loss(p, t, vis[:, :3].copy(), area)
