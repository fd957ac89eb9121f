"""lossfn.torch against torch's own losses (float64 autograd): values, gradients by .backward(),
and for reduction="none" the vector-Jacobian product with a random grad_output. Losses without
a torch counterpart are checked with torch.autograd.gradcheck (finite differences)."""
import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import lossfn  # noqa: E402
import lossfn.torch as lt  # noqa: E402

REDUCTIONS = ["mean", "sum", "none"]
TOL = dict(rtol=1e-9, atol=1e-11)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _boxes(n, seed, dtype=torch.float64):
    g = _gen(seed)
    xy = torch.rand(n, 2, generator=g, dtype=dtype) * 10
    wh = torch.rand(n, 2, generator=g, dtype=dtype) * 4 + 0.5
    return torch.cat([xy, xy + wh], 1)


def _pair(n, seed):
    p = _boxes(n, seed)
    t = (p + torch.randn(n, 4, generator=_gen(seed + 1), dtype=torch.float64) * 0.8).detach()
    t[:, 2:] = torch.maximum(t[:, 2:], t[:, :2] + 0.1)
    return p, t


def compare(ours, theirs, x, reduction, seed=0, **tol):
    """ours(x) and theirs(x) agree in value and in the gradient w.r.t. x (the VJP with a random
    grad_output for reduction='none', .backward() otherwise)."""
    tol = {**TOL, **tol}
    xa = x.detach().clone().requires_grad_(True)
    xb = x.detach().clone().requires_grad_(True)
    a, b = ours(xa), theirs(xb)
    assert a.dtype == b.dtype and a.shape == b.shape
    torch.testing.assert_close(a, b, **tol)
    if reduction == "none":
        go = torch.randn(a.shape, generator=_gen(seed + 7), dtype=a.dtype)
        (ga,) = torch.autograd.grad(a, xa, go)
        (gb,) = torch.autograd.grad(b, xb, go)
    else:
        a.backward()
        b.backward()
        ga, gb = xa.grad, xb.grad
    assert ga.shape == x.shape
    torch.testing.assert_close(ga, gb, **tol)


# --- regression ---------------------------------------------------------------------------

REGRESSION = [
    ("l1_loss", {}, lambda x, t, r: F.l1_loss(x, t, reduction=r)),
    ("mse_loss", {}, lambda x, t, r: F.mse_loss(x, t, reduction=r)),
    ("smooth_l1_loss", {"beta": 0.5}, lambda x, t, r: F.smooth_l1_loss(x, t, reduction=r, beta=0.5)),
    ("huber_loss", {"delta": 0.7}, lambda x, t, r: F.huber_loss(x, t, reduction=r, delta=0.7)),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw,ref", REGRESSION, ids=[r[0] for r in REGRESSION])
def test_regression(name, kw, ref, reduction):
    x = torch.randn(6, 5, 3, generator=_gen(1), dtype=torch.float64) * 2
    t = torch.randn(6, 5, 3, generator=_gen(2), dtype=torch.float64) * 2
    fn = getattr(lt, name)
    compare(lambda x: fn(x, t, reduction=reduction, **kw), lambda x: ref(x, t, reduction), x, reduction)


# --- boxes --------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,ref", [("giou_loss", "generalized_box_iou_loss"), ("diou_loss", "distance_box_iou_loss"),
                                      ("ciou_loss", "complete_box_iou_loss")])
def test_boxes_against_torchvision(name, ref, reduction):
    ops = pytest.importorskip("torchvision.ops")
    p, t = _pair(64, 3)
    fn, tv = getattr(lt, name), getattr(ops, ref)
    compare(lambda x: fn(x, t, reduction=reduction), lambda x: tv(x, t, reduction=reduction, eps=1e-7), p, reduction)


def test_boxes_keep_batch_shape_and_format():
    ops = pytest.importorskip("torchvision.ops")
    p, t = _pair(24, 5)
    cx = torch.cat([(p[:, :2] + p[:, 2:]) / 2, p[:, 2:] - p[:, :2]], 1)
    ct = torch.cat([(t[:, :2] + t[:, 2:]) / 2, t[:, 2:] - t[:, :2]], 1)

    def theirs(x):
        xyxy = torch.cat([x[..., :2] - x[..., 2:] / 2, x[..., :2] + x[..., 2:] / 2], -1)
        return ops.complete_box_iou_loss(xyxy, ops.box_convert(ct, "cxcywh", "xyxy").reshape(4, 6, 4), reduction="none")

    compare(lambda x: lt.ciou_loss(x, ct.reshape(4, 6, 4), format="cxcywh", reduction="none"), theirs,
            cx.reshape(4, 6, 4), "none", rtol=1e-8, atol=1e-10)


GRADCHECK_BOXES = [("iou_loss", {"mode": "log"}), ("cdiou_loss", {"lambda_": 0.5}), ("siou_loss", {})]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", GRADCHECK_BOXES, ids=[n for n, _ in GRADCHECK_BOXES])
def test_boxes_gradcheck(name, kw, reduction):
    """Box losses without a constant factor: the gradient is the finite-difference one."""
    p, t = _pair(8, 11)
    fn = getattr(lt, name)
    values = fn(p, t, reduction=reduction, **kw)
    expected = getattr(lossfn, name)(p.numpy(), t.numpy(), reduction=reduction, grad=False, **kw)[0]
    np.testing.assert_array_equal(values.numpy(), expected)
    assert torch.autograd.gradcheck(lambda x: fn(x, t, reduction=reduction, **kw), (p.clone().requires_grad_(),))


def _obb_pair(n, seed):
    """Rotated boxes (cx, cy, w, h, angle) and targets near them."""
    g = _gen(seed)
    p = torch.cat([torch.rand(n, 2, generator=g, dtype=torch.float64) * 10,
                   torch.rand(n, 2, generator=g, dtype=torch.float64) * 4 + 0.5,
                   (torch.rand(n, 1, generator=g, dtype=torch.float64) * 2 - 1) * 3.2], 1)
    t = (p + torch.randn(n, 5, generator=_gen(seed + 1), dtype=torch.float64) * 0.4).detach()
    return p, t


def _ultralytics_probiou(obb1, obb2, eps=1e-7, floor=0.0):
    """ultralytics/utils/metrics.py probiou (CIoU=False) with _get_covariance_matrix's floor."""
    def cov(b):
        gbbs = torch.cat((b[:, 2:4].pow(2) / 12 + floor, b[:, 4:]), dim=-1)
        a, b_, c = gbbs.split(1, dim=-1)
        cos, sin = c.cos(), c.sin()
        return a * cos.pow(2) + b_ * sin.pow(2), a * sin.pow(2) + b_ * cos.pow(2), (a - b_) * cos * sin
    x1, y1 = obb1[..., :2].split(1, dim=-1)
    x2, y2 = obb2[..., :2].split(1, dim=-1)
    a1, b1, c1 = cov(obb1)
    a2, b2, c2 = cov(obb2)
    t1 = (((a1 + a2) * (y1 - y2).pow(2) + (b1 + b2) * (x1 - x2).pow(2))
          / ((a1 + a2) * (b1 + b2) - (c1 + c2).pow(2) + eps)) * 0.25
    t2 = (((c1 + c2) * (x2 - x1) * (y1 - y2)) / ((a1 + a2) * (b1 + b2) - (c1 + c2).pow(2) + eps)) * 0.5
    t3 = (((a1 + a2) * (b1 + b2) - (c1 + c2).pow(2))
          / (4 * ((a1 * b1 - c1.pow(2)).clamp_(0) * (a2 * b2 - c2.pow(2)).clamp_(0)).sqrt() + eps) + eps).log() * 0.5
    bd = (t1 + t2 + t3).clamp(eps, 100.0)
    return 1 - (1.0 - (-bd).exp() + eps).sqrt()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("floor", [0.0, 0.01])
def test_probiou_against_ultralytics_and_gradcheck(reduction, floor):
    p, t = _obb_pair(12, 5)

    def theirs(x):
        terms = 1 - _ultralytics_probiou(x, t, floor=floor).squeeze(-1)
        return {"none": terms, "sum": terms.sum(), "mean": terms.mean()}[reduction]

    compare(lambda x: lt.probiou_loss(x, t, reduction=reduction, floor=floor), theirs, p, reduction,
            rtol=1e-8, atol=1e-10)
    assert torch.autograd.gradcheck(lambda x: lt.probiou_loss(x, t, reduction=reduction, floor=floor),
                                    (p.clone().requires_grad_(),))


def _fixture_reference():
    """The fixture generator's torch formulas (tools/fixtures/families/boxes.py), written from
    the ultralytics / mmdet sources, with their constant (no-gradient) factors."""
    tools = Path(__file__).resolve().parents[3] / "tools" / "fixtures"
    if not (tools / "families" / "boxes.py").is_file():
        pytest.skip("tools/fixtures not in this tree")
    sys.path.insert(0, str(tools))
    default = torch.get_default_dtype()
    from families import boxes
    import common  # sets torch's default dtype to float64 for the generator: restore it
    torch.set_default_dtype(default)
    return boxes, common


CONSTANT_FACTOR_BOXES = [("ciou_loss", {"ciou_variant": "ultralytics"}, {"ciou_variant": 1}),
                         ("ciou_loss", {"ciou_variant": "mmdet"}, {"ciou_variant": 2}),
                         ("eiou_loss", {"gamma": 0.5}, {"gamma": 0.5}), ("siou_loss", {}, {})]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw,opts", CONSTANT_FACTOR_BOXES, ids=[f"{n}-{list(k.values())}" for n, k, _ in CONSTANT_FACTOR_BOXES])
def test_boxes_against_framework_formulas(name, kw, opts, reduction):
    """CIoU as ultralytics / mmdet, Focal-EIoU and SIoU: alpha and IoU^gamma are constants, so
    finite differences do not apply; compare with the same formulas in torch autograd."""
    boxes, common = _fixture_reference()
    p, t = _pair(32, 12)
    o = {**boxes.DEFAULTS, **opts, "reduction": {"none": common.NONE, "mean": common.MEAN, "sum": common.SUM}[reduction]}

    def theirs(x):
        terms, focal = boxes.box_terms(name, x.unbind(-1), t.unbind(-1), o)
        out = common.reduce_terms(terms, focal, o["reduction"])
        return out if reduction == "none" else out.reshape(())

    compare(lambda x: getattr(lt, name)(x, t, reduction=reduction, **kw), theirs, p, reduction, rtol=1e-8, atol=1e-10)


# --- classification -----------------------------------------------------------------------

@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(16, 7), (3, 5, 4, 6)])
def test_cross_entropy(shape, reduction):
    x = torch.randn(shape, generator=_gen(4), dtype=torch.float64) * 3
    labels = torch.randint(0, shape[1], (shape[0],) + shape[2:], generator=_gen(5))
    labels.view(-1)[::5] = -1
    w = torch.rand(shape[1], generator=_gen(6), dtype=torch.float64) + 0.5
    kw = dict(weight=w, ignore_index=-1, reduction=reduction, label_smoothing=0.1)
    compare(lambda x: lt.cross_entropy(x, labels, **kw), lambda x: F.cross_entropy(x, labels, **kw), x, reduction)
    soft = torch.softmax(torch.randn(shape, generator=_gen(7), dtype=torch.float64), 1)
    compare(lambda x: lt.cross_entropy(x, soft, reduction=reduction),
            lambda x: F.cross_entropy(x, soft, reduction=reduction), x, reduction)


def test_cross_entropy_channels_last():
    x = torch.randn(2, 3, 4, 5, generator=_gen(8), dtype=torch.float64)
    labels = torch.randint(0, 5, (2, 3, 4), generator=_gen(9))
    compare(lambda x: lt.cross_entropy(x, labels, layout="nsc", reduction="none"),
            lambda x: F.cross_entropy(x.permute(0, 3, 1, 2), labels, reduction="none"), x, "none")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction):
    x = torch.randn(12, 5, generator=_gen(10), dtype=torch.float64) * 3
    t = torch.rand(12, 5, generator=_gen(11), dtype=torch.float64)
    w = torch.rand(12, 5, generator=_gen(12), dtype=torch.float64)
    pw = torch.rand(5, generator=_gen(13), dtype=torch.float64) * 3
    # torch's mean divides by the element count, lossfn's by sum(w): compare without weight there
    kw = dict(pos_weight=pw, reduction=reduction, **({} if reduction == "mean" else {"weight": w}))
    compare(lambda x: lt.binary_cross_entropy_with_logits(x, t, **kw),
            lambda x: F.binary_cross_entropy_with_logits(x, t, **kw), x, reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sigmoid_focal_loss(reduction):
    ops = pytest.importorskip("torchvision.ops")
    x = torch.randn(10, 6, generator=_gen(14), dtype=torch.float64) * 3
    t = (torch.rand(10, 6, generator=_gen(15)) > 0.7).double()
    compare(lambda x: lt.sigmoid_focal_loss(x, t, alpha=0.3, gamma=1.5, reduction=reduction),
            lambda x: ops.sigmoid_focal_loss(x, t, alpha=0.3, gamma=1.5, reduction=reduction), x, reduction)


@pytest.mark.filterwarnings("ignore:reduction. .mean. divides")
@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    x = torch.log_softmax(torch.randn(6, 9, generator=_gen(16), dtype=torch.float64), 1)
    t = torch.softmax(torch.randn(6, 9, generator=_gen(17), dtype=torch.float64), 1)
    t = t.log() if log_target else t
    compare(lambda x: lt.kl_div(x, t, reduction=reduction, log_target=log_target),
            lambda x: F.kl_div(x, t, reduction=reduction, log_target=log_target), x, reduction)


def _reduce(v, reduction, denominator=None):
    if reduction == "none":
        return v
    return v.sum() if reduction == "sum" else v.sum() / (v.numel() if denominator is None else denominator)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_entropy(reduction):
    x = torch.randn(4, 6, 3, 2, generator=_gen(18), dtype=torch.float64) * 2

    def theirs(x):
        return _reduce(-(torch.softmax(x, 1) * torch.log_softmax(x, 1)).sum(1), reduction)

    compare(lambda x: lt.entropy(x, reduction=reduction), theirs, x, reduction)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
def test_kl_div_logits(reduction):
    s = torch.randn(8, 10, generator=_gen(19), dtype=torch.float64) * 2
    t = torch.randn(8, 10, generator=_gen(20), dtype=torch.float64) * 2
    T = 3.0

    def theirs(x):
        pointwise = F.kl_div(F.log_softmax(x / T, 1), F.softmax(t / T, 1), reduction="none").sum(1) * T * T
        return _reduce(pointwise, reduction, x.shape[0])

    compare(lambda x: lt.kl_div_logits(x, t, temperature=T, reduction=reduction), theirs, s, reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_softmax_focal_loss(reduction):
    x = torch.randn(3, 4, 5, generator=_gen(21), dtype=torch.float64) * 2
    labels = torch.randint(0, 4, (3, 5), generator=_gen(22))
    alpha = torch.rand(4, generator=_gen(23), dtype=torch.float64) + 0.2

    def theirs(x):
        logp = torch.log_softmax(x, 1).gather(1, labels.unsqueeze(1)).squeeze(1)
        return _reduce(-alpha[labels] * (1 - logp.exp()) ** 2 * logp, reduction)

    compare(lambda x: lt.softmax_focal_loss(x, labels, alpha=alpha, reduction=reduction), theirs, x, reduction)


# --- overlap ------------------------------------------------------------------------------

def test_dice_against_monai():
    monai = pytest.importorskip("monai")
    x = torch.randn(2, 4, 8, 8, generator=_gen(24), dtype=torch.float64)
    labels = torch.randint(0, 4, (2, 8, 8), generator=_gen(25))
    for ours, theirs in [(lt.dice_loss, monai.losses.DiceLoss(softmax=True, to_onehot_y=True)),
                         (lt.tversky_loss, monai.losses.TverskyLoss(softmax=True, to_onehot_y=True, alpha=0.3, beta=0.7))]:
        compare(lambda x: ours(x, labels), lambda x: theirs(x, labels.unsqueeze(1)), x, "mean", rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("options", [{}, {"include_background": False}, {"batch": True},
                                     {"class_weight": [0.5, 2.0, 1.0], "include_background": False}],
                         ids=["default", "no-background", "batch", "class-weight"])
@pytest.mark.parametrize("name", ["dice_loss", "dice_loss_soft", "tversky_loss", "tversky_loss_soft"])
def test_overlap_gradcheck(name, options):
    """Every reduction, "none" included (the per-score VJP), against finite differences."""
    x = torch.randn(3, 3, 4, generator=_gen(26), dtype=torch.float64)
    if name.endswith("_soft"):
        target = torch.softmax(torch.randn(3, 3, 4, generator=_gen(27), dtype=torch.float64), 1)
    else:
        target = torch.randint(0, 3, (3, 4), generator=_gen(27))
    fn = getattr(lt, name)
    kw = dict(options, **(dict(gamma=0.75) if name.startswith("tversky") else {}))
    if "class_weight" in kw:
        kw["class_weight"] = torch.tensor(kw["class_weight"], dtype=torch.float64)
    for reduction in REDUCTIONS:
        values = fn(x, target, reduction=reduction, **kw)
        np.testing.assert_array_equal(values.numpy(), getattr(lossfn, name)(x.numpy(), target.numpy(), reduction=reduction,
                                                                            grad=False, **kw)[0])
        assert torch.autograd.gradcheck(lambda x: fn(x, target, reduction=reduction, **kw), (x.clone().requires_grad_(),))


def test_generalized_dice_against_monai():
    """MONAI's GeneralizedDiceLoss (float32 weights, so 1e-6) and lossfn.torch, value and gradient."""
    monai = pytest.importorskip("monai")
    x = torch.randn(2, 4, 8, 8, generator=_gen(30), dtype=torch.float64)
    labels = torch.randint(0, 3, (2, 8, 8), generator=_gen(31))  # class 3 absent: weight replaced
    for w_type in ("square", "simple", "uniform"):
        theirs = monai.losses.GeneralizedDiceLoss(softmax=True, to_onehot_y=True, w_type=w_type)
        compare(lambda x: lt.generalized_dice_loss(x, labels, w_type=w_type), lambda x: theirs(x, labels.unsqueeze(1)),
                x, "mean", rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("options", [{}, {"include_background": False, "w_type": "simple"}, {"batch": True}],
                         ids=["default", "no-background", "batch"])
@pytest.mark.parametrize("name", ["generalized_dice_loss", "generalized_dice_loss_soft"])
def test_generalized_dice_gradcheck(name, options):
    """Every reduction, "none" included (one value per sample: its block of the gradient)."""
    x = torch.randn(3, 3, 4, generator=_gen(32), dtype=torch.float64)
    if name.endswith("_soft"):
        target = torch.softmax(torch.randn(3, 3, 4, generator=_gen(33), dtype=torch.float64), 1)
    else:
        target = torch.randint(0, 3, (3, 4), generator=_gen(33))
    fn = getattr(lt, name)
    for reduction in REDUCTIONS:
        assert torch.autograd.gradcheck(lambda x: fn(x, target, reduction=reduction, **options), (x.clone().requires_grad_(),))


def test_overlap_none_channels_last():
    x = torch.randn(2, 5, 3, generator=_gen(28), dtype=torch.float64)
    target = torch.randint(0, 3, (2, 5), generator=_gen(29), dtype=torch.int32)
    assert torch.autograd.gradcheck(lambda x: lt.dice_loss(x, target, layout="nsc", reduction="none"),
                                    (x.clone().requires_grad_(),))


# --- surface ------------------------------------------------------------------------------

def test_every_loss_of_the_package_has_a_function():
    # (overlap_stats_soft: phase 1 of the two-phase batch score, statistics without gradient)
    losses = [n for n in lossfn.__all__ if n.endswith(("_loss", "_soft")) and n != "overlap_stats_soft" or n in
              ("cross_entropy", "binary_cross_entropy_with_logits", "entropy", "kl_div", "kl_div_logits",
               "overlap_loss_from_stats")]
    assert sorted(lt.FUNCTIONS) == sorted(losses)
    for name in losses:
        assert issubclass(lt.FUNCTIONS[name], torch.autograd.Function)
        ours = list(inspect.signature(getattr(lt, name)).parameters)
        theirs = [p for p in inspect.signature(getattr(lossfn, name)).parameters if p != "grad"]
        assert ours == theirs, name


def test_import_lossfn_does_not_import_torch():
    code = "import sys, lossfn; assert 'torch' not in sys.modules; import lossfn.torch; assert 'torch' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])


def test_float32_targets_and_weights_get_no_gradient():
    p, t = _pair(16, 30)
    p, t = p.float().requires_grad_(), t.float().requires_grad_()
    w = torch.rand(16, requires_grad=True)
    loss = lt.giou_loss(p, t, weight=w)
    assert loss.dtype == torch.float32 and loss.shape == ()
    loss.backward()
    assert p.grad.dtype == torch.float32 and t.grad is None and w.grad is None
    expected = lossfn.giou_loss(p.detach().numpy(), t.detach().numpy(), weight=w.detach().numpy())
    only_target = lt.giou_loss(p.detach(), t, weight=w)  # the input needs no gradient: nothing flows
    only_target.backward()
    assert t.grad is None and w.grad is None
    np.testing.assert_array_equal(loss.detach().numpy(), expected[0])
    np.testing.assert_array_equal(p.grad.numpy(), expected[1])


def test_non_contiguous_input():
    base = torch.randn(8, 6, generator=_gen(31), dtype=torch.float64)
    x = base.t()
    t = torch.randn(6, 8, generator=_gen(32), dtype=torch.float64)
    assert not x.is_contiguous()
    compare(lambda x: lt.mse_loss(x, t, reduction="none"), lambda x: F.mse_loss(x, t, reduction="none"), x, "none")
    tt = t.reshape(8, 6).t()  # a non-contiguous target too
    compare(lambda x: lt.smooth_l1_loss(x, tt), lambda x: F.smooth_l1_loss(x, tt), x, "mean")


def test_contiguous_tensors_are_not_copied():
    x = torch.randn(5, dtype=torch.float64)
    assert np.shares_memory(lt._numpy("input", x), x.numpy())


def test_type_errors_name_the_argument():
    x = torch.zeros(4, 4)
    with pytest.raises(TypeError, match=r"pred must be a CPU tensor, got a tensor on meta"):
        lt.giou_loss(torch.zeros(4, 4, device="meta"), x)
    with pytest.raises(TypeError, match=r"target must be a CPU tensor"):
        lt.giou_loss(x, torch.zeros(4, 4, device="meta"))
    with pytest.raises(TypeError, match=r"weight must be a CPU tensor"):
        lt.l1_loss(x, x, weight=torch.zeros(4, 4, device="meta"))
    for dtype in (torch.int64, torch.float16, torch.bfloat16):
        with pytest.raises(TypeError, match=rf"input must be a float32 or float64 tensor, got {dtype}"):
            lt.mse_loss(x.to(dtype), x)
    with pytest.raises(TypeError, match="input must be a torch.Tensor"):
        lt.mse_loss(np.zeros(3), np.zeros(3))
    with pytest.raises(TypeError, match="target has dtype float64"):
        lt.mse_loss(x, x.double())
    with pytest.raises(TypeError, match="grad"):
        lt.mse_loss(x, x, grad=False)


def test_training_loop_reduces_ciou():
    p0, target = _pair(256, 40)
    pred = (p0 + 1.0).float().requires_grad_()
    target = target.float()
    opt = torch.optim.SGD([pred], lr=0.2)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = lt.ciou_loss(pred, target, reduction="sum")
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.75 * losses[0], losses
    assert all(b <= a + 1e-6 for a, b in zip(losses, losses[1:])), losses


def test_second_backward_and_scaled_grad_output():
    """The first backward hands its gradient over; retain_graph=True backward recomputes it."""
    p, t = _pair(32, 41)
    x = p.clone().requires_grad_()
    loss = lt.diou_loss(x, t)
    (3 * loss).backward(retain_graph=True)
    first = x.grad.clone()
    loss.backward(retain_graph=True)
    (-2 * loss).backward()
    expected = torch.from_numpy(lossfn.diou_loss(p.numpy(), t.numpy())[1])
    torch.testing.assert_close(first, 3 * expected, rtol=1e-14, atol=0)
    torch.testing.assert_close(x.grad, 2 * expected, rtol=1e-14, atol=1e-16)
    y = x.detach().clone().requires_grad_()
    none = lt.diou_loss(y, t, reduction="none")
    go = torch.randn(32, dtype=torch.float64)
    a = torch.autograd.grad(none, y, go, retain_graph=True)[0]
    b = torch.autograd.grad(none, y, go)[0]
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_functions_apply_directly():
    """Function.apply(input, target, options) with the numpy function's keywords as a dict."""
    p, t = _pair(16, 50)
    x = p.clone().requires_grad_()
    lt.CIoULoss.apply(x, t, {}).backward()
    torch.testing.assert_close(x.grad, torch.from_numpy(lossfn.ciou_loss(p.numpy(), t.numpy())[1]), rtol=0, atol=0)
    logits = torch.randn(2, 3, 5, generator=_gen(51), dtype=torch.float64)
    labels = torch.randint(0, 3, (2, 5), generator=_gen(52))
    cw = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: lt.DiceLoss.apply(x, labels, {"reduction": "none", "class_weight": cw}),
                                    (logits.clone().requires_grad_(),))


def test_dfl_and_quality_focal_backward_scale_per_box_and_element():
    """reduction="none": backward scales each box's (sides, bins) logits, or each element, by
    its grad_output; the reduced forms equal the numpy API's gradient."""
    rng = np.random.default_rng(3)
    x = torch.tensor(rng.normal(size=(5, 4, 16)), requires_grad=True)
    t = torch.tensor(rng.uniform(0, 15, size=(5, 4)))
    go = torch.tensor(rng.uniform(0.5, 2.0, size=5))
    (g,) = torch.autograd.grad(lt.dfl_loss(x, t, reduction="none"), x, go)
    _, per_box = lossfn.dfl_loss(x.detach().numpy(), t.numpy(), weight=go.numpy(), reduction="sum")
    np.testing.assert_allclose(g.numpy(), per_box, rtol=1e-12, atol=1e-15)
    z = torch.tensor(rng.normal(size=(6, 7)), requires_grad=True)
    q = torch.tensor(np.where(rng.random((6, 7)) < 0.3, rng.uniform(0.1, 1, (6, 7)), 0.0))
    for name in ("varifocal_loss", "quality_focal_loss"):
        loss = getattr(lt, name)(z, q)
        (g,) = torch.autograd.grad(loss, z)
        np.testing.assert_allclose(g.numpy(), getattr(lossfn, name)(z.detach().numpy(), q.numpy())[1], rtol=1e-12)
        w = torch.tensor(rng.uniform(0.5, 2.0, size=(6, 7)))
        (g,) = torch.autograd.grad(getattr(lt, name)(z, q, reduction="none"), z, w)
        np.testing.assert_allclose(g.numpy(), getattr(lossfn, name)(z.detach().numpy(), q.numpy(), weight=w.numpy(), reduction="sum")[1], rtol=1e-12)


def _bbox_loss_reference(x, anchors, target, weight, tss, box_gain, dfl_gain, eps=1e-7):
    """ultralytics v8DetectionLoss.bbox_decode + BboxLoss.forward (CIoU, DFLoss) in torch
    float64, on foreground anchors: (box_gain * loss_iou, dfl_gain * loss_dfl)."""
    import math
    n, _, bins = x.shape
    dist = x.softmax(2).matmul(torch.arange(bins, dtype=x.dtype))
    lt_, rb = dist.chunk(2, -1)
    p = torch.cat((anchors - lt_, anchors + rb), -1)
    b1_x1, b1_y1, b1_x2, b1_y2 = p.chunk(4, -1)
    b2_x1, b2_y1, b2_x2, b2_y2 = target.chunk(4, -1)
    w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1 + eps
    w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1 + eps
    inter = (b1_x2.minimum(b2_x2) - b1_x1.maximum(b2_x1)).clamp(0) * (b1_y2.minimum(b2_y2) - b1_y1.maximum(b2_y1)).clamp(0)
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = b1_x2.maximum(b2_x2) - b1_x1.minimum(b2_x1)
    ch = b1_y2.maximum(b2_y2) - b1_y1.minimum(b2_y1)
    c2 = cw.pow(2) + ch.pow(2) + eps
    rho2 = ((b2_x1 + b2_x2 - b1_x1 - b1_x2).pow(2) + (b2_y1 + b2_y2 - b1_y1 - b1_y2).pow(2)) / 4
    v = (4 / math.pi ** 2) * ((w2 / h2).atan() - (w1 / h1).atan()).pow(2)
    with torch.no_grad():
        alpha = v / (v - iou + (1 + eps))
    ciou = iou - (rho2 / c2 + v * alpha)
    loss_iou = ((1.0 - ciou) * weight.unsqueeze(-1)).sum() / tss
    x1y1, x2y2 = target.chunk(2, -1)
    t = torch.cat((anchors - x1y1, x2y2 - anchors), -1).clamp(0, bins - 1 - 0.01)
    tl = t.long()
    wl = tl + 1 - t
    ce = lambda idx: F.cross_entropy(x.reshape(-1, bins), idx.reshape(-1), reduction="none").view(tl.shape)
    dfl = (ce(tl) * wl + ce(tl + 1) * (1 - wl)).mean(-1, keepdim=True)
    loss_dfl = (dfl * weight.unsqueeze(-1)).sum() / tss
    return torch.stack([box_gain * loss_iou, dfl_gain * loss_dfl])


def test_dfl_box_loss_equals_bbox_loss_and_weighs_its_parts():
    """lossfn.torch.dfl_box_loss against ultralytics' BboxLoss written in torch (float64): both
    values, and the gradient for an incoming gradient that weighs the two parts differently."""
    rng = np.random.default_rng(11)
    n, bins = 9, 16
    x = torch.tensor(rng.normal(size=(n, 4, bins)) * 2)
    a = torch.tensor(rng.integers(0, 40, size=(n, 2)) + 0.5)
    target = torch.cat([a - torch.tensor(rng.uniform(0, bins + 1, (n, 2))), a + torch.tensor(rng.uniform(0, bins + 1, (n, 2)))], 1)
    w = torch.tensor(rng.uniform(0.05, 1.0, n))
    tss = float(w.sum()) + 3.0  # target_scores_sum over every anchor, foreground or not
    go = torch.tensor([2.0, -0.5])
    xr = x.clone().requires_grad_(True)
    ref = _bbox_loss_reference(xr, a, target, w, tss, 7.5, 1.5)
    (g_ref,) = torch.autograd.grad(ref, xr, go)
    xl = x.clone().requires_grad_(True)
    ours = lt.dfl_box_loss(xl, a, target, weight=w, avg_factor=tss, iou_weight=7.5, dfl_weight=1.5)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    (g,) = torch.autograd.grad(ours, xl, go)
    np.testing.assert_allclose(g.numpy(), g_ref.numpy(), rtol=1e-10, atol=1e-14)
    # equal incoming gradients take the stored gradient
    (g1,) = torch.autograd.grad(lt.dfl_box_loss(xl, a, target, weight=w).sum(), xl)
    np.testing.assert_allclose(g1.numpy(), lossfn.dfl_box_loss(x.numpy(), a.numpy(), target.numpy(), weight=w.numpy())[1], rtol=1e-14)


def test_dice_ce_against_monai():
    """MONAI's DiceCELoss(softmax=True, to_onehot_y=True) and lossfn.torch.dice_ce_loss's total:
    value and gradient, with lambdas and class weights."""
    monai = pytest.importorskip("monai")
    x = torch.randn(2, 4, 8, 8, generator=_gen(34), dtype=torch.float64)
    labels = torch.randint(0, 4, (2, 8, 8), generator=_gen(35))
    for kw in [{}, {"lambda_dice": 0.5, "lambda_ce": 2.0}]:
        theirs = monai.losses.DiceCELoss(softmax=True, to_onehot_y=True, **kw)
        compare(lambda x: lt.dice_ce_loss(x, labels, **kw)[0], lambda x: theirs(x, labels.unsqueeze(1)), x, "mean",
                rtol=1e-10, atol=1e-12)


def test_dice_ce_parts_backward():
    """A gradient on the parts [total, dice, ce] weighs each part (gradcheck of a mix)."""
    x = torch.randn(2, 3, 5, generator=_gen(36), dtype=torch.float64)
    target = torch.randint(0, 3, (2, 5), generator=_gen(37))
    mix = torch.tensor([0.5, 2.0, -1.5], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: (lt.dice_ce_loss(x, target, label_smoothing=0.1) * mix).sum(),
                                    (x.clone().requires_grad_(),))
    assert torch.autograd.gradcheck(lambda x: lt.dice_ce_loss(x, target)[0], (x.clone().requires_grad_(),))


def test_dice_focal_against_monai_parts():
    """lossfn.torch.dice_focal_loss's total = MONAI DiceLoss(softmax) + MONAI FocalLoss(use_softmax=True)
    rescaled from its mean over N*C*S elements to lossfn's mean over the N*S positions; gradient too
    (to 1e-7: MONAI's float32 one-hot path, as for DiceLoss with to_onehot_y above)."""
    monai = pytest.importorskip("monai")
    x = torch.randn(2, 4, 8, 8, generator=_gen(38), dtype=torch.float64)
    labels = torch.randint(0, 4, (2, 8, 8), generator=_gen(39))
    dice = monai.losses.DiceLoss(softmax=True, to_onehot_y=True)
    focal = monai.losses.FocalLoss(use_softmax=True, to_onehot_y=True, gamma=2.0)
    compare(lambda x: lt.dice_focal_loss(x, labels)[0],
            lambda x: dice(x, labels.unsqueeze(1)) + 4 * focal(x, labels.unsqueeze(1)), x, "mean", rtol=1e-7, atol=1e-9)
    mix = torch.tensor([0.5, 2.0, -1.5], dtype=torch.float64)
    target = torch.randint(0, 3, (2, 5), generator=_gen(40))
    assert torch.autograd.gradcheck(lambda x: (lt.dice_focal_loss(x, target, gamma=0.5) * mix).sum(),
                                    (torch.randn(2, 3, 5, generator=_gen(41), dtype=torch.float64).requires_grad_(),))


def _smp_lovasz():
    """segmentation_models_pytorch's losses/lovasz.py (tools/fixtures/smp.py; skip without smp)."""
    import importlib.util
    path = Path(__file__).parents[3] / "tools" / "fixtures" / "smp.py"
    if not path.exists():
        pytest.skip("not in the lossfn repository (tools/fixtures/smp.py)")
    spec = importlib.util.spec_from_file_location("lossfn_tools_smp", path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    try:
        return m.lovasz()
    except ImportError as e:
        pytest.skip(str(e))


@pytest.mark.parametrize("per_image", [False, True])
def test_lovasz_against_smp(per_image):
    """smp's LovaszLoss (float32 only: its Jaccard gradient is float32) and lossfn.torch in float32,
    value and gradient, on continuous random input (no ties)."""
    smp = _smp_lovasz()
    x = torch.randn(3, 4, 8, 8, generator=_gen(40), dtype=torch.float32)
    labels = torch.randint(0, 3, (3, 8, 8), generator=_gen(41))  # class 3 absent: not counted
    theirs = smp.LovaszLoss("multiclass", per_image=per_image)
    compare(lambda x: lt.lovasz_softmax_loss(x, labels, per_image=per_image), lambda x: theirs(x, labels), x, "mean",
            rtol=2e-5, atol=1e-7)
    xh = torch.randn(3, 1, 8, 8, generator=_gen(42), dtype=torch.float32)
    th = (torch.rand(3, 1, 8, 8, generator=_gen(43)) < 0.4).to(torch.float32)
    theirs = smp.LovaszLoss("binary", per_image=per_image)
    compare(lambda x: lt.lovasz_hinge_loss(x, th, per_image=per_image), lambda x: theirs(x, th), xh, "mean",
            rtol=2e-5, atol=1e-7)


@pytest.mark.parametrize("options", [{}, {"per_image": True, "classes": "all"}, {"per_image": True, "ignore_index": 1}],
                         ids=["default", "per-image-all", "per-image-ignore"])
def test_lovasz_gradcheck(options):
    """Every reduction ("none" with per_image: one value per image, its block of the gradient), away
    from ties (continuous random input)."""
    x = torch.randn(3, 3, 5, generator=_gen(44), dtype=torch.float64)
    target = torch.randint(0, 3, (3, 5), generator=_gen(45))
    xh = torch.randn(3, 1, 6, generator=_gen(46), dtype=torch.float64)
    th = (torch.rand(3, 1, 6, generator=_gen(47)) < 0.5).to(torch.float64)
    hinge_options = {k: v for k, v in options.items() if k != "classes"}
    for reduction in REDUCTIONS:
        assert torch.autograd.gradcheck(lambda x: lt.lovasz_softmax_loss(x, target, reduction=reduction, **options),
                                        (x.clone().requires_grad_(),))
        assert torch.autograd.gradcheck(lambda x: lt.lovasz_hinge_loss(x, th, reduction=reduction, **hinge_options),
                                        (xh.clone().requires_grad_(),))


@pytest.mark.parametrize("kind,reduction", [("dice", "none"), ("tversky", "mean"), ("generalized_dice", "none"),
                                            ("generalized_dice", "sum")])
def test_overlap_loss_from_stats_is_the_batch_loss(kind, reduction):
    """Phase 2 with this batch's own statistics through lossfn.torch: the batch loss and its
    backward, also for reduction="none" with an uneven incoming gradient."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 3, 5, dtype=torch.float64, generator=g, requires_grad=True)
    t = torch.randint(0, 3, (2, 5), generator=g)
    stats = torch.from_numpy(lossfn.overlap_stats(x.detach().numpy(), t.numpy(), kind=kind))
    ref = {"dice": lt.dice_loss, "tversky": lt.tversky_loss, "generalized_dice": lt.generalized_dice_loss}[kind]
    a = lt.overlap_loss_from_stats(x, t, stats, kind=kind, reduction=reduction)
    b = ref(x, t, batch=True, reduction=reduction)
    assert torch.equal(a, b)
    w = torch.linspace(0.5, 2.0, a.numel(), dtype=torch.float64).reshape(a.shape)
    (ga,) = torch.autograd.grad((a * w).sum(), x)
    (gb,) = torch.autograd.grad((b * w).sum(), x)
    torch.testing.assert_close(ga, gb, rtol=1e-12, atol=1e-15)
