import numpy as np
import pytest

import lossfn
from conftest import check_fixture, DTYPES, assert_close, assert_finite, cases

REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}


@pytest.mark.parametrize("case,dt", cases("regression"))
def test_fixture(case, dt):
    dtype = DTYPES[dt]
    fn = getattr(lossfn, case["fn"])
    inputs = case["inputs"]
    opts = dict(case.get("opts") or {})
    kwargs = {"reduction": REDUCTIONS[opts.pop("reduction", 1)], **opts}
    weight = None if inputs.get("weight") is None else np.array(inputs["weight"], dtype)
    x = np.array(inputs["input"], dtype)
    t = np.array(inputs["target"], dtype)
    check_fixture(case, dt, lambda g: fn(x, t, weight=weight, grad=g, **kwargs), x.shape)


def test_shapes_follow_input():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    loss, grad = lossfn.mse_loss(x, np.zeros_like(x), reduction="none")
    assert loss.shape == (2, 3) and grad.shape == (2, 3)
    np.testing.assert_array_equal(loss, x * x)
    loss, _ = lossfn.mse_loss(x, np.zeros_like(x))
    assert loss.shape == () and loss == np.float32((x * x).mean())


@pytest.mark.parametrize("fn", [lossfn.l1_loss, lossfn.mse_loss, lossfn.smooth_l1_loss, lossfn.huber_loss])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_empty_input_gives_positive_zero(fn, dtype):
    # torch gives NaN for an empty mean; lossfn gives +0.0 (never -0.0) and an empty gradient.
    for reduction in ("mean", "sum"):
        loss, grad = fn(np.zeros(0, dtype), np.zeros(0, dtype), reduction=reduction)
        assert loss == 0 and not np.signbit(loss), (reduction, loss)
        assert grad.shape == (0,)


def test_errors_are_checked_before_calling():
    x = np.zeros(4, np.float32)
    with pytest.raises(TypeError, match="target"):
        lossfn.l1_loss(x, np.zeros(4, np.float64))
    with pytest.raises(TypeError):
        lossfn.l1_loss(np.zeros(4, np.int32), np.zeros(4, np.int32))
    with pytest.raises(ValueError, match="C-contiguous"):
        lossfn.l1_loss(np.zeros((4, 4), np.float32)[:, 0], x)
    with pytest.raises(ValueError, match="shape"):
        lossfn.l1_loss(x, np.zeros(5, np.float32))
    with pytest.raises(ValueError, match="reduction"):
        lossfn.l1_loss(x, x, reduction="median")


def test_library_errors_raise_lossfn_error():
    x = np.zeros(4, np.float64)
    with pytest.raises(lossfn.LossfnError) as e:
        lossfn.huber_loss(x, x, delta=-1.0)
    assert e.value.status == 3 and e.value.name == "LOSSFN_ERROR_INVALID_OPTION"
    assert "delta" in e.value.message
    with pytest.raises(lossfn.LossfnError, match="BATCHMEAN"):
        lossfn.l1_loss(x, x, reduction="batchmean")


def test_threads_and_version():
    assert lossfn.version() == lossfn.__version__
    lossfn.set_num_threads(2)
    assert lossfn.get_num_threads() == 2
    rng = np.random.default_rng(0)
    x = rng.standard_normal(300_001).astype(np.float32)
    t = rng.standard_normal(300_001).astype(np.float32)
    a = lossfn.smooth_l1_loss(x, t)
    lossfn.set_num_threads(1)
    b = lossfn.smooth_l1_loss(x, t)
    lossfn.set_num_threads(0)
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()
