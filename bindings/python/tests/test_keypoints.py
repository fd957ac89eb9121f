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
