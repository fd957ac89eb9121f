import inspect

import numpy as np
import pytest

import lossfn
from conftest import check_fixture, DTYPES, assert_close, assert_finite, cases

REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}
ACTIVATIONS = {0: "none", 1: "sigmoid", 2: "softmax"}


def _as_input(values, shape, dtype):
    """A fixture's flat class tensor as the array users pass: [N, C, S] or [N, S, C]."""
    n, c, s = shape["batch"], shape["classes"], shape["spatial"]
    dims = (n, c, s) if shape["layout"] == 0 else (n, s, c)
    return np.array(values, dtype).reshape(dims)


@pytest.mark.parametrize("case,dt", cases("overlap"))
def test_fixture(case, dt):
    dtype = DTYPES[dt]
    fn = getattr(lossfn, case["fn"])
    soft = case["fn"].endswith("_soft")
    shape = case["shape"]
    inputs = case["inputs"]
    opts = dict(case.get("opts") or {})
    kwargs = {
        "reduction": REDUCTIONS[opts.pop("reduction", 1)],
        "activation": ACTIVATIONS[opts.pop("activation", 2)],
        "layout": "nsc" if shape["layout"] == 1 else "ncs",
        **opts,
    }
    if case["fn"] in ("dice_ce_loss", "dice_focal_loss"):  # the driver's convention: both parts take
        kwargs.pop("activation")                            # the case's reduction and loss_weight
        x = _as_input(inputs["logits"], shape, dtype)
        t = np.array(inputs["target"], np.int64).reshape(shape["batch"], shape["spatial"])
        w = None if inputs.get("class_weight") is None else np.array(inputs["class_weight"], dtype)
        lw = kwargs.pop("loss_weight", 1.0)
        if case["fn"] == "dice_focal_loss":
            kwargs["gamma"] = kwargs.pop("focal_gamma", 2.0)
            kwargs.update(lambda_dice=lw, lambda_focal=lw)
        else:
            kwargs.update(lambda_dice=lw, lambda_ce=lw)
        check_fixture(case, dt, lambda g: fn(x, t, class_weight=w, grad=g, **kwargs), x.shape)
        return
    if case["fn"].startswith("lovasz"):
        hinge = case["fn"] == "lovasz_hinge_loss"
        x = _as_input(inputs["logits" if hinge else "input"], shape, dtype)
        if hinge:
            kwargs.pop("activation")
            t = np.array(inputs["target"], dtype)
        else:
            t = np.array(inputs["target"], np.int64).reshape(shape["batch"], shape["spatial"])
        if "classes_present" in kwargs:
            kwargs["classes"] = "present" if kwargs.pop("classes_present") else "all"
        check_fixture(case, dt, lambda g: fn(x, t, grad=g, **kwargs), x.shape)
        return
    if case["fn"].startswith("overlap_"):
        _two_phase(case, dt, fn, soft, shape, inputs, kwargs)
        return
    gdice = case["fn"].startswith("generalized_dice")
    # A case may carry fields of the options struct its function does not read (alpha for Dice,
    # squared_pred for Tversky, ignore_index with soft targets): the Python function has no
    # parameter for them. A field it reads without a parameter would change the expected values,
    # and a name that is no field at all still fails the call.
    takes = inspect.signature(fn).parameters
    fields = {name for name, _ in lossfn.overlap.OverlapOptions._fields_}
    kwargs = {k: v for k, v in kwargs.items() if k in takes or k not in fields}
    x = _as_input(inputs["input"], shape, dtype)
    if soft:
        t = _as_input(inputs["target"], shape, dtype)
    else:
        t = np.array(inputs["target"], np.int64).reshape(shape["batch"], shape["spatial"])
    if gdice:  # no class_weight: the weights are its own
        check_fixture(case, dt, lambda g: fn(x, t, grad=g, **kwargs), x.shape)
        return
    w = None if inputs.get("class_weight") is None else np.array(inputs["class_weight"], dtype)
    check_fixture(case, dt, lambda g: fn(x, t, class_weight=w, grad=g, **kwargs), x.shape)


KINDS = {code: name for name, code in lossfn.overlap.KINDS.items()}
W_TYPES = {0: "square", 1: "simple", 2: "uniform"}


def _two_phase(case, dt, fn, soft, shape, inputs, kwargs):
    """The two phases of the batch score: statistics (float64 [C', 3]) or the loss from them."""
    dtype = DTYPES[dt]
    kwargs.pop("batch", None)  # always pooled
    kwargs["kind"] = KINDS[kwargs.get("kind", 0)]
    if "w_type" in kwargs:
        kwargs["w_type"] = W_TYPES[kwargs["w_type"]]
    x = _as_input(inputs["input"], shape, dtype)
    t = _as_input(inputs["target"], shape, dtype) if soft else \
        np.array(inputs["target"], np.int64).reshape(shape["batch"], shape["spatial"])
    if case["fn"].startswith("overlap_stats"):
        for k in ("reduction",):
            kwargs.pop(k)
        stats = fn(x, t, **kwargs)
        assert stats.dtype == np.float64 and stats.shape == (len(case["loss"]) // 3, 3)
        assert_close("stats", stats.reshape(-1), case["loss"], dt)
        return
    stats = np.array(inputs["global_stats"], np.float64)
    w = None if inputs.get("class_weight") is None else np.array(inputs["class_weight"], dtype)
    check_fixture(case, dt, lambda g: fn(x, t, stats, class_weight=w, grad=g, **kwargs), x.shape)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_two_phase_batch_dice_of_a_split_batch_is_the_whole_batch(dtype):
    """Three ranks (one empty) whose summed statistics give the whole batch's batch Dice, and
    whose gradients, concatenated, its gradient."""
    rng = np.random.default_rng(29)
    x = rng.normal(size=(5, 4, 6, 7)).astype(dtype)
    t = rng.integers(0, 4, size=(5, 6, 7))
    w = np.array([0.5, 1.0, 2.0, 1.5], dtype)
    whole, whole_grad = lossfn.dice_loss(x, t, class_weight=w, batch=True)
    parts = [(0, 0), (0, 2), (2, 5)]
    stats = sum(lossfn.overlap_stats(x[a:b], t[a:b]) for a, b in parts)
    grads = []
    for a, b in parts:
        loss, grad = lossfn.overlap_loss_from_stats(x[a:b], t[a:b], stats, class_weight=w)
        assert_close("loss", loss, whole, "f32" if dtype == np.float32 else "f64")
        grads.append(grad)
    assert_close("grad", np.concatenate(grads), whole_grad, "f32" if dtype == np.float32 else "f64")
    # One rank's own statistics: the one-call loss, bit for bit.
    one, one_grad = lossfn.overlap_loss_from_stats(x, t, lossfn.overlap_stats(x, t), class_weight=w)
    assert one.tobytes() == whole.tobytes() and one_grad.tobytes() == whole_grad.tobytes()
    with pytest.raises(lossfn.LossfnError, match="stats_len"):
        lossfn.overlap_loss_from_stats(x, t, stats[1:])
    with pytest.raises(TypeError, match="float64"):
        lossfn.overlap_loss_from_stats(x, t, stats.astype(np.float32))


def test_shapes_and_layouts():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 5, 6)).astype(np.float32)  # NCHW
    t = rng.integers(0, 4, (2, 5, 6))
    loss, grad = lossfn.dice_loss(x, t)
    assert loss.shape == () and grad.shape == x.shape
    per_score, _ = lossfn.dice_loss(x, t, reduction="none")
    assert per_score.shape == (2, 4)
    assert np.isclose(per_score.mean(), loss, rtol=1e-6)
    pooled, _ = lossfn.tversky_loss(x, t, reduction="none", batch=True, include_background=False)
    assert pooled.shape == (3,)
    # The same data as NHWC gives the same loss and the transposed gradient, bitwise.
    xh = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    loss_h, grad_h = lossfn.dice_loss(xh, t, layout="nhwc")
    assert loss_h.tobytes() == loss.tobytes()
    assert np.ascontiguousarray(grad_h.transpose(0, 3, 1, 2)).tobytes() == grad.tobytes()
    # Soft targets: one-hot of the index targets gives the same loss.
    onehot = np.eye(4, dtype=np.float32)[t].transpose(0, 3, 1, 2).copy()
    soft_loss, soft_grad = lossfn.dice_loss_soft(x, onehot)
    np.testing.assert_allclose(soft_loss, loss, rtol=1e-6)
    np.testing.assert_allclose(soft_grad, grad, rtol=1e-5, atol=1e-9)


def test_ignore_index_counts_nowhere():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 3, 8))
    t = rng.integers(0, 3, (1, 8))
    t[0, ::3] = 255
    loss, grad = lossfn.tversky_loss(x, t, ignore_index=255, gamma=0.75)
    assert np.all(grad[0, :, ::3] == 0)
    x2 = x.copy()
    x2[0, :, ::3] = np.nan
    loss2, grad2 = lossfn.tversky_loss(x2, t, ignore_index=255, gamma=0.75)
    assert loss2 == loss and np.array_equal(grad2, grad)


def test_errors():
    x = np.zeros((2, 3, 4), np.float32)
    t = np.zeros((2, 4), np.int64)
    with pytest.raises(TypeError, match="target.*bool"):
        lossfn.dice_loss(x, t.astype(bool))
    with pytest.raises(TypeError, match="target.*float32"):
        lossfn.dice_loss(x, t.astype(np.float32))
    with pytest.raises(ValueError, match="target"):
        lossfn.dice_loss(x, np.zeros((2, 5), np.int64))
    with pytest.raises(ValueError, match="shape"):
        lossfn.dice_loss_soft(x, np.zeros((2, 3, 5), np.float32))
    with pytest.raises(TypeError, match="target"):
        lossfn.dice_loss_soft(x, np.zeros((2, 3, 4), np.float64))
    with pytest.raises(ValueError, match="activation"):
        lossfn.dice_loss(x, t, activation="relu")
    with pytest.raises(ValueError, match="class_weight"):
        lossfn.dice_loss(x, t, class_weight=np.ones(2, np.float32))
    bad = t.copy()
    bad[1, 2] = 3
    with pytest.raises(lossfn.LossfnError) as e:
        lossfn.dice_loss(x, bad)
    assert e.value.name == "LOSSFN_ERROR_INVALID_TARGET" and "`target`[6]" in e.value.message
    with pytest.raises(lossfn.LossfnError, match="gamma"):
        lossfn.tversky_loss(x, t, gamma=0.0)
    with pytest.raises(lossfn.LossfnError, match="alpha"):
        lossfn.tversky_loss(x, t, alpha=-1.0)
    with pytest.raises(lossfn.LossfnError, match="BATCHMEAN"):
        lossfn.dice_loss(x, t, reduction="batchmean")


def test_threads_bitwise():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 5, 40_000)).astype(np.float32)
    t = rng.integers(0, 5, (2, 40_000))
    lossfn.set_num_threads(1)
    a = lossfn.dice_loss(x, t, squared_pred=True)
    lossfn.set_num_threads(2)
    b = lossfn.dice_loss(x, t, squared_pred=True)
    lossfn.set_num_threads(0)
    assert a[0].tobytes() == b[0].tobytes() and a[1].tobytes() == b[1].tobytes()


# MONAI's own table for GeneralizedDiceLoss (tests/losses/test_generalized_dice_loss.py, MONAI
# 1.6.1: TEST_CASES), transcribed: (options, input, target, index targets?, expected). MONAI's
# `sigmoid=True` / `softmax=True` are activation "sigmoid" / "softmax" (else "none"); its
# `to_onehot_y=True` targets are class indices here. Its two `other_act` cases (tanh,
# log_softmax) have no lossfn activation and are not replayed. MONAI asserts rtol 1e-5.
MONAI_GDICE = [
    ({"activation": "sigmoid", "smooth_nr": 1e-6, "smooth_dr": 1e-6},
     [[[[1.0, -1.0], [-1.0, 1.0]]]], [[[[1.0, 0.0], [1.0, 1.0]]]], False, 0.307576),
    ({"activation": "sigmoid", "smooth_nr": 1e-4, "smooth_dr": 1e-4},
     [[[[1.0, -1.0], [-1.0, 1.0]]], [[[1.0, -1.0], [-1.0, 1.0]]]],
     [[[[1.0, 1.0], [1.0, 1.0]]], [[[1.0, 0.0], [1.0, 0.0]]]], False, 0.416597),
    ({"activation": "none", "smooth_nr": 1e-4, "smooth_dr": 1e-4, "soft_label": True},
     [[[[0.3, 0.4], [0.7, 0.9]]], [[[1.0, 0.1], [0.5, 0.3]]]],
     [[[[0.3, 0.4], [0.7, 0.9]]], [[[1.0, 0.1], [0.5, 0.3]]]], False, 0.0),
    ({"activation": "none", "smooth_nr": 1e-4, "smooth_dr": 1e-4, "soft_label": False},
     [[[[0.3, 0.4], [0.7, 0.9]]], [[[1.0, 0.1], [0.5, 0.3]]]],
     [[[[0.3, 0.4], [0.7, 0.9]]], [[[1.0, 0.1], [0.5, 0.3]]]], False, 0.307748),
    ({"activation": "none", "include_background": False, "smooth_nr": 0.0, "smooth_dr": 0.0},
     [[[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]],
     [[[0, 0, 1]], [[0, 1, 0]]], True, 0.0),
    ({"activation": "sigmoid", "smooth_nr": 1e-4, "smooth_dr": 1e-4},
     [[[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]],
     [[[1, 0, 0]], [[1, 1, 0]]], True, 0.469964),
    ({"activation": "softmax", "smooth_nr": 1e-4, "smooth_dr": 1e-4},
     [[[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]],
     [[[1, 0, 0]], [[1, 1, 0]]], True, 0.414507),
    ({"activation": "softmax", "reduction": "sum", "smooth_nr": 1e-4, "smooth_dr": 1e-4},
     [[[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]],
     [[[1, 0, 0]], [[1, 1, 0]]], True, 0.829015),
    ({"activation": "softmax", "reduction": "none", "smooth_nr": 1e-4, "smooth_dr": 1e-4},
     [[[-1.0, 0.0, 1.0], [1.0, 0.0, -1.0]], [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]],
     [[[1, 0, 0]], [[1, 1, 0]]], True, [0.273476, 0.555539]),
    ({"activation": "none", "include_background": False, "smooth_nr": 1e-8, "smooth_dr": 1e-8},
     [[[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]],
     [[[0, 0, 0]], [[0, 0, 0]]], True, 0.0),
    ({"activation": "softmax", "w_type": "simple", "smooth_nr": 0, "smooth_dr": 0},
     [[[0.0, 10.0, 10.0, 10.0], [10.0, 0.0, 0.0, 0.0]]], [[[1, 1, 0, 0]]], True, 0.250023),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", range(len(MONAI_GDICE)))
def test_monai_generalized_dice_table(row, dtype):
    opts, x, t, index, expected = MONAI_GDICE[row]
    x = np.array(x, dtype)
    if index:
        loss, grad = lossfn.generalized_dice_loss(x, np.array(t, np.int64), **opts)
    else:
        loss, grad = lossfn.generalized_dice_loss_soft(x, np.array(t, dtype), **opts)
    np.testing.assert_allclose(loss, expected, rtol=1e-5, atol=1e-7 if dtype == np.float32 else 1e-12)
    assert_finite(f"MONAI row {row} grad", grad)


def test_generalized_dice_gradient_matches_finite_differences():
    rng = np.random.default_rng(26)
    x = rng.standard_normal((2, 4, 7))
    t = rng.integers(0, 3, (2, 7))  # class 3 absent: its weight is replaced
    for w_type in ("square", "simple", "uniform"):
        for batch in (False, True):
            kw = dict(w_type=w_type, batch=batch)
            _, grad = lossfn.generalized_dice_loss(x, t, **kw)
            fd = np.zeros_like(x)
            for i in np.ndindex(x.shape):
                xp, xm = x.copy(), x.copy()
                xp[i] += 1e-6
                xm[i] -= 1e-6
                fd[i] = (lossfn.generalized_dice_loss(xp, t, grad=False, **kw)[0]
                         - lossfn.generalized_dice_loss(xm, t, grad=False, **kw)[0]) / 2e-6
            np.testing.assert_allclose(grad, fd, rtol=1e-5, atol=1e-8, err_msg=f"{kw}")


def test_generalized_dice_bad_options():
    x = np.zeros((1, 3, 4))
    t = np.zeros((1, 4), np.int64)
    with pytest.raises(lossfn.LossfnError, match="w_type"):
        lossfn.generalized_dice_loss(x, t, w_type=7)
    with pytest.raises(ValueError, match="w_type"):
        lossfn.generalized_dice_loss(x, t, w_type="cube")
    with pytest.raises(lossfn.LossfnError, match="smooth_dr"):
        lossfn.generalized_dice_loss(x, t, smooth_dr=-1.0)
    with pytest.raises(lossfn.LossfnError, match="target"):
        lossfn.generalized_dice_loss(x, np.array([[0, 1, 3, 0]]))


# MONAI's own table for DiceCELoss (tests/losses/test_dice_ce_loss.py, MONAI 1.6.1), transcribed:
# (MONAI options, input, index target, expected). Every row there runs DiceCELoss *without*
# softmax (its Dice part reads the input as probabilities, its CE part as logits), which the fused
# call refuses by contract (one softmax shared by both parts: activation SOFTMAX). So the rows are
# replayed through the parts the fused call is checked against (tests/dice_ce.rs: each part equals
# dice_loss / cross_entropy): dice_loss(activation="none") and cross_entropy, with MONAI's lambdas.
# Not replayed: the `weight` [0, 1] row without background (MONAI drops the background weight with
# class 0 there) and the one-channel sigmoid (BCE) row. MONAI asserts atol = rtol = 1e-4.
MONAI_DICE_CE = [
    ({}, [[[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]], [[0, 0, 1], [0, 1, 0]], 0.3133),
    ({"include_background": False, "weight": [1.0, 1.0]},
     [[[100.0, 100.0, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]], [[0, 0, 1], [0, 1, 0]], 0.2088),
    ({"include_background": False, "weight": [1.0, 1.0], "lambda_dice": 1.0, "lambda_ce": 2.0},
     [[[100.0, 100.0, 0.0], [0.0, 0.0, 1.0]], [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]], [[0, 0, 1], [0, 1, 0]], 0.4176),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("row", range(len(MONAI_DICE_CE)))
def test_monai_dice_ce_table_through_its_parts(row, dtype):
    opts, x, t, expected = MONAI_DICE_CE[row]
    x, t = np.array(x, dtype), np.array(t, np.int64)
    w = None if "weight" not in opts else np.array(opts["weight"], dtype)
    dice, _ = lossfn.dice_loss(x, t, class_weight=w, activation="none",
                               include_background=opts.get("include_background", True))
    ce, _ = lossfn.cross_entropy(x, t, weight=w)
    total = opts.get("lambda_dice", 1.0) * dice + opts.get("lambda_ce", 1.0) * ce
    np.testing.assert_allclose(total, expected, atol=1e-4, rtol=1e-4)


def test_dice_ce_parts_and_lambdas():
    rng = np.random.default_rng(27)
    x = rng.standard_normal((2, 4, 6, 5))
    t = rng.integers(0, 4, (2, 6, 5))
    t[0, 0, :2] = 255
    w = np.array([0.5, 1.0, 2.0, 1.5])
    kw = dict(include_background=False, ignore_index=255)
    loss, grad = lossfn.dice_ce_loss(x, t, class_weight=w, label_smoothing=0.1, lambda_dice=0.7, lambda_ce=1.3, **kw)
    dice, gd = lossfn.dice_loss(x, t, class_weight=w, **kw)
    ce, gc = lossfn.cross_entropy(x, t, weight=w, ignore_index=255, label_smoothing=0.1)
    np.testing.assert_allclose(loss, [0.7 * dice + 1.3 * ce, 0.7 * dice, 1.3 * ce], rtol=1e-12)
    np.testing.assert_allclose(grad, 0.7 * gd + 1.3 * gc, rtol=1e-10, atol=1e-15)
    with pytest.raises(lossfn.LossfnError, match="reduction"):
        lossfn.dice_ce_loss(x, t, reduction="none")


def test_dice_focal_parts():
    rng = np.random.default_rng(28)
    x = rng.standard_normal((2, 4, 6, 5)) * 3
    t = rng.integers(0, 4, (2, 6, 5))
    w = np.array([0.5, 1.0, 2.0, 1.5])
    loss, grad = lossfn.dice_focal_loss(x, t, class_weight=w, gamma=1.5, lambda_dice=0.7, lambda_focal=1.3)
    dice, gd = lossfn.dice_loss(x, t, class_weight=w)
    focal, gf = lossfn.softmax_focal_loss(x, t, w, gamma=1.5)
    np.testing.assert_allclose(loss, [0.7 * dice + 1.3 * focal, 0.7 * dice, 1.3 * focal], rtol=1e-12)
    np.testing.assert_allclose(grad, 0.7 * gd + 1.3 * gf, rtol=1e-9, atol=1e-14)


# MONAI's own FocalLoss table (tests/losses/test_focal_loss.py, MONAI 1.6.1), its use_softmax=True
# rows, transcribed: input (1, 3, 2, 2) with the same logits in every class, targets [[0, 1], [2, 0]],
# gamma 2. MONAI's MEAN runs over the N·C·S elements, lossfn's over the N·S positions: lossfn's
# value is C = 3 times MONAI's. MONAI's scalar alpha weighs class 0 by 1 − alpha and the others by
# alpha: lossfn's per-class alpha [1 − alpha, alpha, alpha]. Replayed through the focal part of
# the fused call (lambda_dice = 0) and through softmax_focal_loss, which that part equals.
MONAI_SOFTMAX_FOCAL = [(None, 0.16276), (0.8, 0.08138)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("alpha,expected", MONAI_SOFTMAX_FOCAL)
def test_monai_softmax_focal_table(alpha, expected, dtype):
    x = np.array([[[[1.0, 1.0], [0.5, 0.0]], [[1.0, 1.0], [0.5, 0.0]], [[1.0, 1.0], [0.5, 0.0]]]], dtype)
    t = np.array([[[0, 1], [2, 0]]])
    a = None if alpha is None else np.array([1 - alpha, alpha, alpha], dtype)
    parts, _ = lossfn.dice_focal_loss(x, t, class_weight=a, gamma=2.0, lambda_dice=0.0)
    focal, _ = lossfn.softmax_focal_loss(x, t, a, gamma=2.0)
    for got in (parts[2], parts[0], focal):
        np.testing.assert_allclose(got / 3, expected, atol=1e-4, rtol=1e-4)
