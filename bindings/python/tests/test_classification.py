import numpy as np
import pytest

import lossfn
from conftest import check_fixture, DTYPES, assert_close, assert_finite, cases

REDUCTIONS = {0: "none", 1: "mean", 2: "sum", 3: "batchmean"}


def _tensor(values, s, dtype):
    """A fixture buffer as an (N, C, S) or (N, S, C) array, as its layout stores it."""
    dims = (s["batch"], s["classes"], s["spatial"]) if s["layout"] == 0 else (s["batch"], s["spatial"], s["classes"])
    return np.array(values, dtype).reshape(dims)


def _call(case, dtype, grad=True):
    s = case["shape"]
    ins = case["inputs"]
    opts = dict(case.get("opts") or {})
    red = REDUCTIONS[opts.pop("reduction", 1)]
    layout = "ncs" if s["layout"] == 0 else "nsc"
    fn = case["fn"]
    arr = lambda k: None if ins.get(k) is None else np.array(ins[k], dtype)  # noqa: E731
    if fn in ("cross_entropy", "cross_entropy_soft"):
        x = _tensor(ins["logits"], s, dtype)
        if fn == "cross_entropy":
            t = np.array(ins["target"], np.int64).reshape(s["batch"], s["spatial"])
        else:
            t = _tensor(ins["target"], s, dtype)
        return lossfn.cross_entropy(x, t, weight=arr("class_weight"), reduction=red, layout=layout, grad=grad, **opts)
    if fn == "bce_with_logits":
        x, t = _tensor(ins["logits"], s, dtype), _tensor(ins["target"], s, dtype)
        w = None if ins.get("weight") is None else _tensor(ins["weight"], s, dtype)
        return lossfn.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=arr("pos_weight"), reduction=red,
                                                       layout=layout, grad=grad)
    if fn == "entropy":
        kind = {0: "logits", 1: "probs"}[opts.pop("input", 0)]
        return lossfn.entropy(_tensor(ins["input"], s, dtype), input_kind=kind, reduction=red, layout=layout, grad=grad)
    if fn == "kl_div":
        x, t = _tensor(ins["input"], s, dtype), _tensor(ins["target"], s, dtype)
        return lossfn.kl_div(x, t, reduction=red, grad=grad, **opts)
    if fn == "kl_div_logits":
        x, t = _tensor(ins["student_logits"], s, dtype), _tensor(ins["teacher_logits"], s, dtype)
        return lossfn.kl_div_logits(x, t, reduction=red, layout=layout, grad=grad, **opts)
    if fn == "sigmoid_focal_loss":
        w = None if ins.get("weight") is None else _tensor(ins["weight"], s, dtype)
        return lossfn.sigmoid_focal_loss(_tensor(ins["logits"], s, dtype), _tensor(ins["target"], s, dtype), weight=w,
                                         reduction=red, grad=grad, **opts)
    if fn in ("varifocal_loss", "quality_focal_loss"):
        w = None if ins.get("weight") is None else _tensor(ins["weight"], s, dtype)
        x, t = _tensor(ins["logits"], s, dtype), _tensor(ins["target"], s, dtype)
        if fn == "quality_focal_loss":
            return lossfn.quality_focal_loss(x, t, weight=w, beta=opts.pop("gamma", 2.0), reduction=red, grad=grad)
        return lossfn.varifocal_loss(x, t, weight=w, reduction=red, grad=grad, **opts)
    if fn == "softmax_focal_loss":
        x = _tensor(ins["logits"], s, dtype)
        t = np.array(ins["target"], np.int64).reshape(s["batch"], s["spatial"])
        return lossfn.softmax_focal_loss(x, t, alpha=arr("class_alpha"), reduction=red, layout=layout, grad=grad, **opts)
    raise AssertionError(fn)


@pytest.mark.parametrize("case,dt", cases("classification"))
def test_fixture(case, dt):
    dtype = DTYPES[dt]
    check_fixture(case, dt, lambda g: _call(case, dtype, grad=g))


def test_shapes_follow_torch_conventions():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 3, 4)).astype(np.float32)  # N, C, H, W
    y = rng.integers(0, 5, (2, 3, 4))
    loss, grad = lossfn.cross_entropy(x, y, reduction="none")
    assert loss.shape == (2, 3, 4) and grad.shape == x.shape
    # The same tensor channels-last gives the same values.
    xl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    loss_l, grad_l = lossfn.cross_entropy(xl, y, reduction="none", layout="nhwc")
    np.testing.assert_allclose(loss_l, loss, rtol=1e-6)
    np.testing.assert_allclose(grad_l.transpose(0, 3, 1, 2), grad, rtol=1e-5, atol=1e-7)
    # Reference: -log softmax at the target.
    z = x - x.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    want = -np.take_along_axis(logp, y[:, None], axis=1)[:, 0]
    np.testing.assert_allclose(loss, want, rtol=1e-5)
    # Float targets are class probabilities (torch's dispatch).
    p = np.exp(logp).astype(np.float32)
    soft, _ = lossfn.cross_entropy(x, p)
    ent, _ = lossfn.entropy(x)
    np.testing.assert_allclose(soft, ent, rtol=1e-5)
    # 1-D input: one unbatched position.
    loss, grad = lossfn.cross_entropy(np.array([1.0, 2.0, 3.0]), np.array([2]))
    assert loss.shape == () and grad.shape == (3,)
    # Elementwise losses keep the input's shape.
    loss, grad = lossfn.binary_cross_entropy_with_logits(x, (x > 0).astype(np.float32), reduction="none")
    assert loss.shape == x.shape
    loss, grad = lossfn.kl_div(np.log(np.full((4, 3), 1 / 3)), np.full((4, 3), 1 / 3), reduction="batchmean")
    assert abs(float(loss)) < 1e-12


def test_all_ignored_mean_is_zero_not_nan():
    x = np.zeros((3, 4), np.float64)
    loss, grad = lossfn.cross_entropy(x, np.full(3, -100))
    assert float(loss) == 0.0 and not grad.any()


def test_errors():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(lossfn.LossfnError) as e:
        lossfn.cross_entropy(x, np.array([0, 3]))
    assert e.value.name == "LOSSFN_ERROR_INVALID_TARGET" and "(n=1, s=0) is 3" in e.value.message
    with pytest.raises(lossfn.LossfnError, match="label_smoothing"):
        lossfn.cross_entropy(x, np.array([0, 1]), label_smoothing=1.5)
    with pytest.raises(lossfn.LossfnError, match="BATCHMEAN"):
        lossfn.entropy(x, reduction="batchmean")
    with pytest.raises(lossfn.LossfnError, match="temperature"):
        lossfn.kl_div_logits(x, x, temperature=0.0)
    with pytest.raises(lossfn.LossfnError, match="gamma"):
        lossfn.sigmoid_focal_loss(x, x, gamma=-1.0)
    with pytest.raises(ValueError, match="target"):
        lossfn.cross_entropy(x, np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="target"):
        lossfn.cross_entropy(x, np.array([0.0, 1.0]))  # float64 probabilities for float32 logits
    with pytest.raises(ValueError, match="layout"):
        lossfn.entropy(x, layout="chw")
    with pytest.raises(ValueError, match="input_kind"):
        lossfn.entropy(x, input_kind="odds")
