import numpy as np
import pytest

import lossfn
from conftest import check_fixture, DTYPES, assert_close, assert_finite, cases

REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}
FORMATS = ["xyxy", "xywh", "cxcywh", "ltrb"]
MODES = ["linear", "square", "log"]
KINDS = ["iou", "giou", "diou", "ciou"]
VARIANTS = ["torchvision", "ultralytics", "mmdet"]


def kwargs_of(case):
    opts = dict(case.get("opts") or {})
    kw = {"reduction": REDUCTIONS[opts.pop("reduction", 1)]}
    if "format" in opts:
        kw["format"] = FORMATS[opts.pop("format")]
    if "iou_mode" in opts:
        kw["mode"] = MODES[opts.pop("iou_mode")]
    if "lambda" in opts:
        kw["lambda_"] = opts.pop("lambda")
    if "ciou_variant" in opts:
        kw["ciou_variant"] = VARIANTS[opts.pop("ciou_variant")]
    kw.update(opts)  # eps, gamma
    return kw


@pytest.mark.parametrize("case,dt", cases("boxes"))
def test_fixture(case, dt):
    dtype = DTYPES[dt]
    fn = getattr(lossfn, case["fn"])
    inputs = case["inputs"]
    kw = kwargs_of(case)
    p = np.array(inputs["pred"], dtype).reshape(-1, 4)
    t = np.array(inputs["target"], dtype).reshape(-1, 4)
    weight = None if inputs.get("weight") is None else np.array(inputs["weight"], dtype)
    check_fixture(case, dt, lambda g: fn(p, t, weight=weight, grad=g, **kw), p.shape)


@pytest.mark.parametrize("case,dt", cases("box_iou_matrix"))
def test_matrix_fixture(case, dt):
    dtype = DTYPES[dt]
    a = np.array(case["boxes1"], dtype).reshape(case["n"], 4)
    b = np.array(case["boxes2"], dtype).reshape(case["m"], 4)
    out = lossfn.box_iou_matrix(a, b, format=FORMATS[case["format"]], kind=KINDS[case["kind"]], eps=case["eps"])
    assert out.shape == (case["n"], case["m"]) and out.dtype == dtype
    assert_close("matrix", out, case["out"], dt)


@pytest.mark.parametrize("case,dt", cases("rotated"))
def test_rotated_fixture(case, dt):
    dtype = DTYPES[dt]
    inputs = case["inputs"]
    kw = {"reduction": REDUCTIONS[case["opts"].get("reduction", 1)]}
    for k in ("eps", "floor"):
        if k in case["opts"]:
            kw[k] = case["opts"][k]
    p = np.array(inputs["pred"], dtype).reshape(-1, 5)
    t = np.array(inputs["target"], dtype).reshape(-1, 5)
    weight = None if inputs.get("weight") is None else np.array(inputs["weight"], dtype)
    fn = getattr(lossfn, case["fn"])
    check_fixture(case, dt, lambda g: fn(p, t, weight=weight, grad=g, **kw), p.shape)


@pytest.mark.parametrize("case,dt", cases("probiou_matrix"))
def test_probiou_matrix_fixture(case, dt):
    dtype = DTYPES[dt]
    a = np.array(case["boxes1"], dtype).reshape(case["n"], 5)
    b = np.array(case["boxes2"], dtype).reshape(case["m"], 5)
    out = lossfn.probiou_matrix(a, b, eps=case["eps"])
    assert out.shape == (case["n"], case["m"]) and out.dtype == dtype
    assert_close("matrix", out, case["out"], dt)


def test_rotated_boxes_need_five_values():
    with pytest.raises(ValueError, match="last dimension of 5"):
        lossfn.probiou_loss(np.zeros((2, 4), np.float32), np.zeros((2, 4), np.float32))
    with pytest.raises(lossfn.LossfnError, match="eps"):
        lossfn.probiou_matrix(np.ones((1, 5)), np.ones((1, 5)), eps=0.0)


def test_shapes_follow_pred():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 10, (2, 3, 2))
    p = np.concatenate([xy, xy + rng.uniform(1, 3, (2, 3, 2))], -1).astype(np.float32)
    t = p + np.float32(0.5)
    loss, grad = lossfn.ciou_loss(p, t, reduction="none")
    assert loss.shape == (2, 3) and grad.shape == (2, 3, 4)
    mean, _ = lossfn.ciou_loss(p, t)
    assert mean.shape == () and np.isclose(mean, loss.mean(), rtol=1e-6)
    m = lossfn.box_iou_matrix(p.reshape(-1, 4), t.reshape(-1, 4)[:4], kind="diou")
    assert m.shape == (6, 4)
    np.testing.assert_allclose(np.diag(m[:4]), 1 - lossfn.diou_loss(p.reshape(-1, 4)[:4], t.reshape(-1, 4)[:4], reduction="none")[0], rtol=1e-6)


def test_formats_agree():
    """The same boxes in every format give the same loss, and gradients related by the format's Jacobian."""
    rng = np.random.default_rng(1)
    x1 = rng.uniform(0, 10, (50, 2))
    wh = rng.uniform(1, 4, (50, 2))
    p = np.concatenate([x1, x1 + wh], 1)
    t = p + rng.uniform(-1, 1, (50, 4))
    conv = {
        "xyxy": lambda b: b,
        "xywh": lambda b: np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], 1),
        "cxcywh": lambda b: np.concatenate([(b[:, :2] + b[:, 2:]) / 2, b[:, 2:] - b[:, :2]], 1),
        "ltrb": lambda b: np.concatenate([-b[:, :2], b[:, 2:]], 1),
    }
    base, g = lossfn.giou_loss(p, t)
    for f, c in conv.items():
        loss, gf = lossfn.giou_loss(c(p), c(t), format=f)
        assert np.isclose(loss, base, rtol=1e-12), f
        if f == "xywh":  # d/d(x, y, w, h) = (gx1 + gx2, gy1 + gy2, gx2, gy2)
            np.testing.assert_allclose(gf, np.concatenate([g[:, :2] + g[:, 2:], g[:, 2:]], 1), rtol=1e-9, atol=1e-15)


def test_weights_and_focal_mean():
    rng = np.random.default_rng(2)
    x1 = rng.uniform(0, 10, (40, 2))
    p = np.concatenate([x1, x1 + rng.uniform(1, 4, (40, 2))], 1)
    t = p + rng.uniform(-1.5, 1.5, (40, 4))
    w = rng.uniform(0, 2, 40)
    none, _ = lossfn.eiou_loss(p, t, weight=w, gamma=0.5, reduction="none")
    iou = np.diag(lossfn.box_iou_matrix(p, t))
    mean, _ = lossfn.eiou_loss(p, t, weight=w, gamma=0.5)
    assert np.isclose(mean, none.sum() / (np.sqrt(iou) * w).sum(), rtol=1e-10)


def test_errors():
    p = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="last dimension of 4"):
        lossfn.giou_loss(np.zeros((3, 3), np.float32), np.zeros((3, 3), np.float32))
    with pytest.raises(TypeError, match="target"):
        lossfn.giou_loss(p, np.zeros((3, 4), np.float64))
    with pytest.raises(ValueError, match="shape"):
        lossfn.giou_loss(p, np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="format"):
        lossfn.giou_loss(p, p, format="yxyx")
    with pytest.raises(ValueError, match="mode"):
        lossfn.iou_loss(p, p, mode="cubic")
    with pytest.raises(ValueError, match="kind"):
        lossfn.box_iou_matrix(p, p, kind="siou")
    with pytest.raises(ValueError, match="weight"):
        lossfn.giou_loss(p, p, weight=np.ones(4, np.float32))
    for call, what in [
        (lambda: lossfn.giou_loss(p, p, eps=0.0), "eps"),
        (lambda: lossfn.eiou_loss(p, p, gamma=-1.0), "gamma"),
        (lambda: lossfn.cdiou_loss(p, p, lambda_=float("nan")), "lambda"),
        (lambda: lossfn.giou_loss(p, p, format=7), "format"),
        (lambda: lossfn.box_iou_matrix(p, p, eps=-1.0), "eps"),
    ]:
        with pytest.raises(lossfn.LossfnError) as e:
            call()
        assert e.value.name == "LOSSFN_ERROR_INVALID_OPTION" and what in e.value.message


def test_threads_bitwise():
    rng = np.random.default_rng(3)
    n = 200_003
    c = rng.uniform(0, 100, (n, 2))
    p = np.concatenate([c, rng.uniform(1, 10, (n, 2))], 1).astype(np.float32)
    t = (p + rng.uniform(-2, 2, (n, 4))).astype(np.float32)
    t[:, 2:] = np.abs(t[:, 2:])
    lossfn.set_num_threads(2)
    a = lossfn.ciou_loss(p, t, format="cxcywh")
    lossfn.set_num_threads(1)
    b = lossfn.ciou_loss(p, t, format="cxcywh")
    lossfn.set_num_threads(0)
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()


@pytest.mark.parametrize("case,dt", [c for c in cases("dfl") if c.values[0]["fn"] == "dfl_loss"])
def test_dfl_fixture(case, dt):
    dtype = DTYPES[dt]
    d, inputs = case["dims"], case["inputs"]
    x = np.array(inputs["logits"], dtype).reshape(d["n"], d["sides"], d["bins"])
    t = np.array(inputs["target"], dtype).reshape(d["n"], d["sides"])
    weight = None if inputs.get("weight") is None else np.array(inputs["weight"], dtype)
    kw = {"reduction": REDUCTIONS[(case.get("opts") or {}).get("reduction", 1)]}
    check_fixture(case, dt, lambda g: lossfn.dfl_loss(x, t, weight=weight, grad=g, **kw), x.shape)


def test_ciou_variant_names():
    p = np.array([[0.0, 0.0, 2.0, 1.0]])
    t = np.array([[0.5, 0.2, 2.2, 1.4]])
    values = {v: float(lossfn.ciou_loss(p, t, ciou_variant=v)[0]) for v in VARIANTS}
    assert values["torchvision"] != values["ultralytics"] and len(set(values.values())) >= 2
    with pytest.raises(ValueError, match="ciou_variant"):
        lossfn.ciou_loss(p, t, ciou_variant="yolo")
    with pytest.raises(ValueError, match="logits"):
        lossfn.dfl_loss(np.zeros((2, 16)), np.zeros((2,)))
def test_siou_and_ciou_variants():
    """siou_loss's gradient is the finite-difference one (float64); ciou_variant picks the
    formula by name; an unknown name is a ValueError."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 10, (6, 2))
    p = np.concatenate([xy, xy + rng.uniform(1, 4, (6, 2))], 1)
    t = p + rng.normal(0, 0.8, (6, 4))
    t[:, 2:] = np.maximum(t[:, 2:], t[:, :2] + 0.1)
    loss, grad = lossfn.siou_loss(p, t, reduction="sum")
    h = 1e-6
    fd = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        up, down = p.copy(), p.copy()
        up[i] += h
        down[i] -= h
        fd[i] = (lossfn.siou_loss(up, t, reduction="sum")[0] - lossfn.siou_loss(down, t, reduction="sum")[0]) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-8)
    base = lossfn.ciou_loss(p, t, reduction="none")[0]
    assert np.array_equal(lossfn.ciou_loss(p, t, reduction="none", ciou_variant="torchvision")[0], base)
    assert np.array_equal(lossfn.ciou_loss(p, t, reduction="none", ciou_variant=0)[0], base)
    for variant in ("ultralytics", "mmdet"):
        assert not np.array_equal(lossfn.ciou_loss(p, t, reduction="none", ciou_variant=variant)[0], base)
    with pytest.raises(ValueError, match="ciou_variant"):
        lossfn.ciou_loss(p, t, ciou_variant="yolo")


@pytest.mark.parametrize("case,dt", [c for c in cases("dfl") if c.values[0]["fn"] == "dfl_box_loss"])
def test_dfl_box_fixture(case, dt):
    dtype = DTYPES[dt]
    d, inputs, opts = case["dims"], case["inputs"], dict(case.get("opts") or {})
    x = np.array(inputs["logits"], dtype).reshape(d["n"], 4, d["bins"])
    a = np.array(inputs["anchors"], dtype).reshape(d["n"], 2)
    t = np.array(inputs["target"], dtype).reshape(d["n"], 4)
    weight = None if inputs.get("weight") is None else np.array(inputs["weight"], dtype)
    kw = {"reduction": REDUCTIONS[opts.pop("reduction", 1)], **opts}
    check_fixture(case, dt, lambda g: lossfn.dfl_box_loss(x, a, t, weight=weight, grad=g, **kw), x.shape)


def test_dfl_box_loss_names_and_errors():
    """iou and ciou_variant by name or code; the shapes are checked; NONE is refused."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 4, 16))
    a = rng.uniform(5, 20, (5, 2))
    t = np.concatenate([a - rng.uniform(0, 10, (5, 2)), a + rng.uniform(0, 10, (5, 2))], 1)
    base = lossfn.dfl_box_loss(x, a, t)
    assert base[0].shape == (2,) and base[1].shape == x.shape
    assert np.array_equal(lossfn.dfl_box_loss(x, a, t, iou=3, ciou_variant=1)[0], base[0])
    assert not np.array_equal(lossfn.dfl_box_loss(x, a, t, iou="giou")[0], base[0])
    # the gains scale their part only
    scaled = lossfn.dfl_box_loss(x, a, t, iou_weight=7.5, dfl_weight=1.5)[0]
    np.testing.assert_allclose(scaled, base[0] * [7.5, 1.5], rtol=1e-14)
    with pytest.raises(ValueError, match="iou"):
        lossfn.dfl_box_loss(x, a, t, iou="siou")
    with pytest.raises(ValueError, match="anchors"):
        lossfn.dfl_box_loss(x, a[:4], t)
    with pytest.raises(ValueError, match="logits"):
        lossfn.dfl_box_loss(x[:, :2], a, t)
    with pytest.raises(lossfn.LossfnError, match="reduction"):
        lossfn.dfl_box_loss(x, a, t, reduction="none")
