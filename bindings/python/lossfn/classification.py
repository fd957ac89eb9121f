"""Classification losses: cross entropy (index or probability targets), binary cross entropy
with logits, entropy, KL divergence, distillation KL, sigmoid and softmax focal loss.

Class tensors follow torch: ``layout="ncs"`` (default) has the class axis at dimension 1
(``[N, C]``, ``[N, C, H, W]``, ...), ``layout="nsc"`` has it last (``[N, H, W, C]``). Index
targets are integer class indices (any integer dtype, converted to int64) shaped like the input
without its class axis. Every loss returns
``(loss, grad)``: loss is a 0-d array (or the unreduced values for reduction="none": one per
position, or one per element for the elementwise losses), grad is d loss / d first input,
shaped like it (None when grad=False).
"""
from __future__ import annotations

__all__ = [
    "cross_entropy",
    "binary_cross_entropy_with_logits",
    "entropy",
    "kl_div",
    "kl_div_logits",
    "sigmoid_focal_loss",
    "softmax_focal_loss",
    "varifocal_loss",
    "quality_focal_loss",
]
import ctypes
from typing import Optional, Tuple

import numpy as np

from . import _lib
from ._lib import ArrayLike, LossGrad, Reduction

INPUT_KINDS = {"logits": 0, "probs": 1}


class CrossEntropyOptions(_lib.Options):
    _fields_ = [("reduction", ctypes.c_uint32), ("ignore_index", ctypes.c_int64), ("label_smoothing", ctypes.c_double)] + _lib.CONTROLS


class BceOptions(_lib.Options):
    _fields_ = [("reduction", ctypes.c_uint32)] + _lib.CONTROLS


class EntropyOptions(_lib.Options):
    _fields_ = [("reduction", ctypes.c_uint32), ("input", ctypes.c_uint32)] + _lib.CONTROLS


class KlDivOptions(_lib.Options):
    _fields_ = [("reduction", ctypes.c_uint32), ("log_target", ctypes.c_bool)] + _lib.CONTROLS


class DistillationOptions(_lib.Options):
    _fields_ = [("reduction", ctypes.c_uint32), ("temperature", ctypes.c_double)] + _lib.CONTROLS


class QualityFocalOptions(_lib.Options):
    _fields_ = [
        ("reduction", ctypes.c_uint32),
        ("alpha", ctypes.c_double),
        ("gamma", ctypes.c_double),
        ("iou_weighted", ctypes.c_bool),
        ("detach_weight", ctypes.c_bool),
    ] + _lib.CONTROLS


class FocalOptions(_lib.Options):
    _fields_ = [
        ("reduction", ctypes.c_uint32),
        ("alpha", ctypes.c_double),
        ("gamma", ctypes.c_double),
        ("ignore_index", ctypes.c_int64),
    ] + _lib.CONTROLS


def _class_shape(x: np.ndarray, layout: str) -> Tuple[_lib.Shape, Tuple[int, ...]]:
    """(lossfn Shape, shape of the per-position outputs) of a class tensor."""
    code = _lib.enum(layout, _lib.LAYOUTS, "layout")
    if x.ndim == 0:
        raise ValueError(f"input must have a class axis, got shape {x.shape}")
    if x.ndim == 1:  # one unbatched position, as torch's 1-D input
        return _lib.Shape(1, x.shape[0], 1, 1), ()
    if code == 0:
        classes, positions = x.shape[1], (x.shape[0],) + x.shape[2:]
    else:
        classes, positions = x.shape[-1], x.shape[:-1]
    spatial = int(np.prod(positions[1:], dtype=np.int64)) if len(positions) > 1 else 1
    return _lib.Shape(x.shape[0], classes, spatial, code), positions


def _same(name: str, value: ArrayLike, x: np.ndarray) -> np.ndarray:
    a = _lib.float_array(name, value, x.dtype)
    if a.shape != x.shape:
        raise ValueError(f"{name} shape {a.shape} differs from input shape {x.shape}")
    return a


def _call(name: str, dtype: np.dtype, *args: object) -> None:
    _lib.check(_lib.function(name, dtype)(*args))


def _outputs(x: np.ndarray, red: int, unreduced: Tuple[int, ...], grad: bool) -> LossGrad:
    loss = np.empty(int(np.prod(unreduced, dtype=np.int64)) if red == 0 else 1, x.dtype)
    return loss, (np.empty_like(x) if grad else None)


@_lib.autograd("CrossEntropy", "position")
def cross_entropy(input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, ignore_index: int = -100,
                  reduction: Reduction = "mean", label_smoothing: float = 0.0, layout: str = "ncs",
                  grad: bool = True) -> LossGrad:
    """Softmax cross entropy, as torch.nn.functional.cross_entropy (same keywords).

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, ...] (or [C])
        Logits; the class axis is given by `layout`. Its dtype is the call's dtype.
    target : array-like
        Either class indices, any integer dtype (converted to int64), shaped like input without
        its class axis (any shape with that many values); or class probabilities (float),
        input's shape and dtype. Python lists of ints are indices, of floats probabilities.
    weight : array-like or None
        One value per class (C values), input's dtype; None weighs every class 1.
    ignore_index : int
        Index targets equal to it count nowhere (default -100; index targets only).
    reduction : "mean" (default), "sum" or "none"
        "mean" divides by the summed weights of the non-ignored targets (as torch); when
        every target is ignored the loss is 0, not NaN.
    label_smoothing : float
        In [0, 1] (default 0).
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
        Where the class axis is: dimension 1 ([N, C, ...]) or last ([N, ..., C]). A 1-D input
        is one unbatched position with C classes.
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for "none" one value per position (input's shape without the
        class axis); grad is d loss / d input in its shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        the first input's dtype; index targets are bool (or another non-integer dtype).
    ValueError
        A shape or size does not match, an array is not C-contiguous, or an option name
        (reduction, layout) is unknown.
    LossfnError
        The library refused the call (an index out of [0, C) other than ignore_index,
        label_smoothing outside [0, 1], reduction="batchmean").
    """
    x = _lib.float_array("input", input)
    shape, positions = _class_shape(x, layout)
    w = _lib.optional_float_array("weight", weight, x.dtype, shape.classes)
    red = _lib.reduction(reduction)
    opts = CrossEntropyOptions(red, ignore_index, label_smoothing)
    loss, g = _outputs(x, red, positions, grad)
    if _lib.dtype_kind("target", target) == "f":
        tshape = np.shape(target)
        if tshape != x.shape and int(np.prod(tshape, dtype=np.int64)) == shape.batch * shape.spatial:
            # One value per position: class indices stored as floats, not probabilities.
            raise TypeError(f"target has one value per position (shape {tshape}) but a float dtype: an index target "
                            "must be an integer array (convert with .astype(np.int64)); float targets are class "
                            f"probabilities of input's shape {x.shape}")
        t = _same("target", target, x)
        _call("cross_entropy_soft", x.dtype, _lib.ptr(x), _lib.ptr(t), _lib.ptr(w), shape, ctypes.byref(opts),
              _lib.ptr(loss), _lib.ptr(g))
    else:
        t = _lib.index_array("target", target, shape.batch * shape.spatial)
        _call("cross_entropy", x.dtype, _lib.ptr(x), _lib.ptr(t), _lib.ptr(w), shape, ctypes.byref(opts),
              _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, positions), g


@_lib.autograd("BCEWithLogits", "element")
def binary_cross_entropy_with_logits(input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None,
                                     pos_weight: Optional[ArrayLike] = None, reduction: Reduction = "mean",
                                     layout: str = "ncs", grad: bool = True) -> LossGrad:
    """Binary cross entropy on logits, as torch.nn.functional.binary_cross_entropy_with_logits.

    Parameters
    ----------
    input : array-like, float32 or float64, any shape with a class axis ([N, C, ...] or [C])
        Logits. Its dtype is the call's dtype.
    target : array-like, input's shape and dtype
        Targets in [0, 1].
    weight : array-like or None
        Elementwise, input's shape and dtype; None weighs 1.
    pos_weight : array-like or None
        One value per class (C values; the class axis given by `layout`; for [N, C] inputs this
        is torch's last-dimension broadcast), input's dtype.
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean sum(w l) / sum(w) (torch divides by the element count).
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
        Where the class axis is: dimension 1 ([N, C, ...]) or last ([N, ..., C]). A 1-D input
        is one unbatched position with C classes.
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for "none" input's shape; grad is d loss / d input in its shape
        and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        the first input's dtype.
    ValueError
        A shape or size does not match, an array is not C-contiguous, or an option name
        (reduction, layout) is unknown.
    LossfnError
        The library refused the call (reduction="batchmean").
    """
    x = _lib.float_array("input", input)
    shape, _ = _class_shape(x, layout)
    t = _same("target", target, x)
    w = None if weight is None else _same("weight", weight, x)
    pw = _lib.optional_float_array("pos_weight", pos_weight, x.dtype, shape.classes)
    red = _lib.reduction(reduction)
    loss, g = _outputs(x, red, x.shape, grad)
    _call("bce_with_logits", x.dtype, _lib.ptr(x), _lib.ptr(t), _lib.ptr(w), _lib.ptr(pw), shape,
          ctypes.byref(BceOptions(red)), _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, x.shape), g


@_lib.autograd("Entropy", "position")
def entropy(input: ArrayLike, input_kind: str = "logits", reduction: Reduction = "mean", layout: str = "ncs",
            grad: bool = True) -> LossGrad:
    """Shannon entropy in nats over the class axis, -sum_c p_c ln p_c per position.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, ...] (or [C])
        Logits (input_kind="logits": p = softmax(input)) or probabilities ("probs": p = input,
        0 ln 0 = 0). Its dtype is the call's dtype.
    input_kind : "logits" (default) or "probs"
    reduction : "mean" (default), "sum" or "none"
        "mean" averages over the positions.
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
        Where the class axis is: dimension 1 ([N, C, ...]) or last ([N, ..., C]). A 1-D input
        is one unbatched position with C classes.
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for "none" one value per position; grad is d loss / d input in
        its shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        the first input's dtype.
    ValueError
        A shape or size does not match, an array is not C-contiguous, or an option name
        (reduction, layout, input_kind) is unknown.
    LossfnError
        The library refused the call (reduction="batchmean").
    """
    x = _lib.float_array("input", input)
    shape, positions = _class_shape(x, layout)
    red = _lib.reduction(reduction)
    opts = EntropyOptions(red, _lib.enum(input_kind, INPUT_KINDS, "input_kind"))
    loss, g = _outputs(x, red, positions, grad)
    _call("entropy", x.dtype, _lib.ptr(x), shape, ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, positions), g


@_lib.autograd("KLDiv", "element")
def kl_div(input: ArrayLike, target: ArrayLike, reduction: Reduction = "mean", log_target: bool = False,
           grad: bool = True) -> LossGrad:
    """KL divergence as torch.nn.functional.kl_div: pointwise target (ln target - input)
    (0 where target == 0), or exp(target) (target - input) with log_target=True.

    Parameters
    ----------
    input : array-like, float32 or float64, any shape
        Log-probabilities. Its dtype is the call's dtype.
    target : array-like, input's shape and dtype
        Probabilities (log-probabilities with log_target=True).
    reduction : "mean" (default), "batchmean", "sum" or "none"
        "mean" divides by the element count (as torch), "batchmean" by input.shape[0].
    log_target : bool
        target holds log-probabilities (default False).
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for "none" input's shape; grad is d loss / d input in its shape
        and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        the first input's dtype.
    ValueError
        A shape or size does not match, an array is not C-contiguous, or an option name
        (reduction, layout) is unknown.
    LossfnError
        The library refused the call (an invalid option value).
    """
    x = _lib.float_array("input", input)
    t = _same("target", target, x)
    batch = x.shape[0] if x.ndim > 0 else 1
    shape = _lib.Shape(batch, x.size // batch if batch else 1, 1, 1) if x.size else _lib.Shape(batch, 1, 0, 1)
    red = _lib.reduction(reduction)
    loss, g = _outputs(x, red, x.shape, grad)
    _call("kl_div", x.dtype, _lib.ptr(x), _lib.ptr(t), shape, ctypes.byref(KlDivOptions(red, bool(log_target))),
          _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, x.shape), g


@_lib.autograd("KLDivLogits", "position")
def kl_div_logits(student_logits: ArrayLike, teacher_logits: ArrayLike, temperature: float = 1.0,
                  reduction: Reduction = "batchmean", layout: str = "ncs", grad: bool = True) -> LossGrad:
    """Knowledge distillation: T^2 KL(softmax(teacher/T) || softmax(student/T)) over the class
    axis per position (Hinton et al. 2015).

    Parameters
    ----------
    student_logits : array-like, float32 or float64, shape [N, C, ...] (or [C])
        Its dtype is the call's dtype.
    teacher_logits : array-like, student_logits' shape and dtype
    temperature : float
        T > 0 (default 1).
    reduction : "batchmean" (default), "mean", "sum" or "none"
        "batchmean" divides by the batch N, "mean" by the number of positions.
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
        Where the class axis is: dimension 1 ([N, C, ...]) or last ([N, ..., C]). A 1-D input
        is one unbatched position with C classes.
    grad : bool
        Compute d loss / d student_logits (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for "none" one value per position; grad is d loss / d
        student_logits in its shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        the first input's dtype.
    ValueError
        A shape or size does not match, an array is not C-contiguous, or an option name
        (reduction, layout) is unknown.
    LossfnError
        The library refused the call (temperature <= 0).
    """
    x = _lib.float_array("student_logits", student_logits)
    t = _same("teacher_logits", teacher_logits, x)
    shape, positions = _class_shape(x, layout)
    red = _lib.reduction(reduction)
    loss, g = _outputs(x, red, positions, grad)
    _call("kl_div_logits", x.dtype, _lib.ptr(x), _lib.ptr(t), shape,
          ctypes.byref(DistillationOptions(red, temperature)), _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, positions), g


@_lib.autograd("SigmoidFocalLoss", "element")
def sigmoid_focal_loss(inputs: ArrayLike, targets: ArrayLike, weight: Optional[ArrayLike] = None, alpha: float = 0.25,
                       gamma: float = 2.0, reduction: Reduction = "mean", grad: bool = True) -> LossGrad:
    """Sigmoid focal loss, as torchvision.ops.sigmoid_focal_loss (same keywords; the default
    reduction here is "mean", torchvision's is "none").

    Parameters
    ----------
    inputs : array-like, float32 or float64, any shape
        Logits. Its dtype is the call's dtype.
    targets : array-like, inputs' shape and dtype
        Binary targets in [0, 1].
    weight : array-like or None
        Elementwise, inputs' shape and dtype; None weighs 1.
    alpha : float
        In [0, 1] (default 0.25); negative disables the alpha_t factor.
    gamma : float
        >= 0 (default 2).
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean sum(w l) / sum(w).
    grad : bool
        Compute d loss / d inputs (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for "none" inputs' shape; grad is d loss / d inputs in its shape
        and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        the first input's dtype.
    ValueError
        A shape or size does not match, an array is not C-contiguous, or an option name
        (reduction, layout) is unknown.
    LossfnError
        The library refused the call (gamma < 0, alpha > 1, reduction="batchmean").
    """
    x = _lib.float_array("inputs", inputs)
    t = _same("targets", targets, x)
    w = None if weight is None else _same("weight", weight, x)
    shape = _lib.Shape(1, 1, x.size, 0)
    red = _lib.reduction(reduction)
    loss, g = _outputs(x, red, x.shape, grad)
    _call("sigmoid_focal_loss", x.dtype, _lib.ptr(x), _lib.ptr(t), _lib.ptr(w), shape,
          ctypes.byref(FocalOptions(red, alpha, gamma, -100)), _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, x.shape), g


def _quality_focal(name: str, logits: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike],
                   opts: "QualityFocalOptions", grad: bool) -> LossGrad:
    x = _lib.float_array("logits", logits)
    t = _same("target", target, x)
    w = None if weight is None else _same("weight", weight, x)
    shape = _lib.Shape(1, 1, x.size, 0)
    loss, g = _outputs(x, opts.reduction, x.shape, grad)
    _call(name, x.dtype, _lib.ptr(x), _lib.ptr(t), _lib.ptr(w), shape, ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, opts.reduction, x.shape), g


@_lib.autograd("VarifocalLoss", "element")
def varifocal_loss(logits: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, alpha: float = 0.75,
                   gamma: float = 2.0, iou_weighted: bool = True, detach_weight: bool = False,
                   reduction: Reduction = "mean", grad: bool = True) -> LossGrad:
    """Varifocal loss (arXiv 2008.13367) as mmdet varifocal_loss / ultralytics VarifocalLoss:
    BCE(x, q) * (q > 0 ? (iou_weighted ? q : 1) : alpha * |sigmoid(x) - q|^gamma), with the
    gradient through the modulating weight unless detach_weight (RT-DETR's loss_vfl).

    Parameters
    ----------
    logits : array-like, float32 or float64, any shape (e.g. [N, C] or [N, C, H, W])
        Classification logits. Its dtype is the call's dtype.
    target : array-like, logits' shape and dtype
        IoU-aware scores q: the IoU of the assigned class for a positive, 0 elsewhere.
    weight : array-like or None
        Elementwise, logits' shape and dtype; None weighs 1.
    alpha : float
        Weight of the negatives, >= 0 (default 0.75).
    gamma : float
        >= 0 (default 2).
    iou_weighted : bool
        Positives weighted by q (default True) or by 1.
    detach_weight : bool
        No gradient through the modulating weight (default False, as mmdet and ultralytics).
    reduction : "mean" (default), "sum" or "none"
        "mean" is sum(w l) / sum(w) over elements (mmdet's mean); mmdet's avg_factor: "sum"
        divided by it.
    grad : bool
        Compute d loss / d logits (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for "none" logits' shape; grad has logits' shape and dtype.

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        logits' dtype.
    ValueError
        A shape does not match, an array is not C-contiguous, or reduction is unknown.
    LossfnError
        The library refused the call (alpha or gamma < 0, reduction="batchmean").
    """
    opts = QualityFocalOptions(_lib.reduction(reduction), alpha, gamma, iou_weighted, detach_weight)
    return _quality_focal("varifocal_loss", logits, target, weight, opts, grad)


@_lib.autograd("QualityFocalLoss", "element")
def quality_focal_loss(logits: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, beta: float = 2.0,
                       reduction: Reduction = "mean", grad: bool = True) -> LossGrad:
    """Quality Focal Loss (GFL, arXiv 2006.04388) as mmdet quality_focal_loss with dense scores:
    BCE(x, q) * |q - sigmoid(x)|^beta, the gradient through the modulator.

    Parameters
    ----------
    logits : array-like, float32 or float64, any shape (e.g. [N, C])
        Classification logits. Its dtype is the call's dtype.
    target : array-like, logits' shape and dtype
        Quality scores q (IoU for the assigned class of a positive, 0 elsewhere).
    weight : array-like or None
        Elementwise, logits' shape and dtype; None weighs 1.
    beta : float
        >= 0 (default 2).
    reduction : "mean" (default), "sum" or "none"
        Every element is a term: mmdet sums over classes and divides by the anchor count or
        avg_factor, i.e. "sum" divided by that number.
    grad : bool
        Compute d loss / d logits (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for "none" logits' shape; grad has logits' shape and dtype.

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        logits' dtype.
    ValueError
        A shape does not match, an array is not C-contiguous, or reduction is unknown.
    LossfnError
        The library refused the call (beta < 0, reduction="batchmean").
    """
    opts = QualityFocalOptions(_lib.reduction(reduction), 0.75, beta, True, False)
    return _quality_focal("quality_focal_loss", logits, target, weight, opts, grad)


@_lib.autograd("SoftmaxFocalLoss", "position")
def softmax_focal_loss(input: ArrayLike, target: ArrayLike, alpha: Optional[ArrayLike] = None, gamma: float = 2.0,
                       ignore_index: int = -100, reduction: Reduction = "mean", layout: str = "ncs",
                       grad: bool = True) -> LossGrad:
    """Multi-class focal loss -alpha[y] (1 - p_y)^gamma ln p_y, p = softmax(input) over the class axis.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, ...] (or [C])
        Logits. Its dtype is the call's dtype.
    target : array-like of integers
        Class indices, any integer dtype (converted to int64), input's shape without the class
        axis (any shape with that many values).
    alpha : array-like or None
        One value per class (C values), input's dtype; None is all 1.
    gamma : float
        >= 0 (default 2).
    ignore_index : int
        Targets equal to it count nowhere (default -100).
    reduction : "mean" (default), "sum" or "none"
        "mean" is over the non-ignored positions.
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
        Where the class axis is: dimension 1 ([N, C, ...]) or last ([N, ..., C]). A 1-D input
        is one unbatched position with C classes.
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for "none" one value per position; grad is d loss / d input in
        its shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        the first input's dtype; target is bool or float.
    ValueError
        A shape or size does not match, an array is not C-contiguous, or an option name
        (reduction, layout) is unknown.
    LossfnError
        The library refused the call (an index out of [0, C) other than ignore_index, gamma < 0,
        reduction="batchmean").
    """
    x = _lib.float_array("input", input)
    shape, positions = _class_shape(x, layout)
    t = _lib.index_array("target", target, shape.batch * shape.spatial)
    a = _lib.optional_float_array("alpha", alpha, x.dtype, shape.classes)
    red = _lib.reduction(reduction)
    loss, g = _outputs(x, red, positions, grad)
    _call("softmax_focal_loss", x.dtype, _lib.ptr(x), _lib.ptr(t), _lib.ptr(a), shape,
          ctypes.byref(FocalOptions(red, 0.25, gamma, ignore_index)), _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, positions), g
