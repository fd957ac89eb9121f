"""Box regression losses: IoU (UnitBox), GIoU, DIoU, CIoU (torchvision / ultralytics / mmdet),
SIoU, EIoU / Focal-EIoU, CDIoU, the pairwise IoU matrix, the Distribution Focal Loss, and
the YOLOv8/11 box branch (decode + CIoU + DFL in one call), and ProbIoU of rotated boxes (loss
and matrix, as ultralytics).

Boxes are arrays whose last dimension is 4, in one of the formats "xyxy" (x1, y1, x2, y2;
default), "xywh" (x1, y1, w, h; COCO), "cxcywh" (cx, cy, w, h; YOLO, DETR) or "ltrb"
(distances l, t, r, b from a shared point; FCOS). target uses pred's format and the gradient
comes back in it. Rotated boxes (probiou_loss, probiou_matrix) have a last dimension of 5:
(cx, cy, w, h, angle in radians). Every loss returns ``(loss, grad)``: loss is a 0-d array (or shaped like
``pred.shape[:-1]`` for reduction="none"), grad is d loss / d pred (None when grad=False).
"""
from __future__ import annotations

__all__ = ["iou_loss", "giou_loss", "diou_loss", "ciou_loss", "siou_loss", "eiou_loss", "cdiou_loss", "box_iou_matrix",
           "dfl_loss", "dfl_box_loss", "probiou_loss", "probiou_matrix"]
import ctypes
from typing import Optional, Union

import numpy as np

from . import _lib
from ._lib import ArrayLike, LossGrad, Reduction

FORMATS = {"xyxy": 0, "xywh": 1, "cxcywh": 2, "ltrb": 3}
IOU_MODES = {"linear": 0, "square": 1, "log": 2}
IOU_KINDS = {"iou": 0, "giou": 1, "diou": 2, "ciou": 3}
CIOU_VARIANTS = {"torchvision": 0, "ultralytics": 1, "mmdet": 2}


class BoxOptions(_lib.Options):
    """``lossfn_box_options`` (``lambda`` is a Python keyword: the field is ``lambda_``)."""

    _fields_ = [
        ("format", ctypes.c_uint32),
        ("reduction", ctypes.c_uint32),
        ("eps", ctypes.c_double),
        ("iou_mode", ctypes.c_uint32),
        ("gamma", ctypes.c_double),
        ("lambda_", ctypes.c_double),
        ("ciou_variant", ctypes.c_uint32),
    ] + _lib.CONTROLS


def _boxes(name: str, value: ArrayLike, dtype: object = None, width: int = 4) -> np.ndarray:
    a = _lib.float_array(name, value, dtype)
    if a.ndim == 0 or a.shape[-1] != width:
        raise ValueError(f"{name} must have a last dimension of {width} (one box), not shape {a.shape}")
    return a


def _box_loss(name: str, pred: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike], format: str,
              reduction: Reduction, eps: float, iou_mode: Union[str, int], gamma: float, lambda_: float, grad: bool,
              ciou_variant: Union[str, int] = 0) -> LossGrad:
    p = _boxes("pred", pred)
    t = _boxes("target", target, p.dtype)
    if t.shape != p.shape:
        raise ValueError(f"target shape {t.shape} differs from pred shape {p.shape}")
    n = p.size // 4
    w = _lib.optional_float_array("weight", weight, p.dtype, n)
    red = _lib.reduction(reduction)
    opts = BoxOptions(
        _lib.enum(format, FORMATS, "format"), red, eps, _lib.enum(iou_mode, IOU_MODES, "mode"), gamma, lambda_,
        _lib.enum(ciou_variant, CIOU_VARIANTS, "ciou_variant"),
    )
    loss = np.empty(n if red == 0 else 1, p.dtype)
    g = np.empty_like(p) if grad else None
    fn = _lib.function(f"{name}_loss", p.dtype)
    _lib.check(fn(_lib.ptr(p), _lib.ptr(t), _lib.ptr(w), ctypes.c_size_t(n), ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g)))
    return _lib.reduced(loss, red, p.shape[:-1]), g


@_lib.autograd("IoULoss", "box")
def iou_loss(pred: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, format: str = "xyxy",
             reduction: Reduction = "mean", mode: str = "linear", eps: float = 1e-7, grad: bool = True) -> LossGrad:
    """IoU loss (UnitBox): 1 - IoU ("linear"), 1 - IoU^2 ("square") or -ln(max(IoU, eps)) ("log"),
    with IoU = I / (max(U, 0) + eps).

    Parameters
    ----------
    pred : array-like, float32 or float64, shape (..., 4)
        Predicted boxes, one per row of the last axis. Its dtype is the call's dtype.
    target : array-like, pred's shape and dtype
        Target boxes in pred's format (Python lists take pred's dtype).
    weight : array-like or None
        One value per box (pred.size // 4 values, any shape), pred's dtype; None weighs 1.
    mode : "linear" (default), "square" or "log"
    format : "xyxy" (default), "xywh", "cxcywh" or "ltrb"
        The box format of pred, target and the gradient.
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean over boxes sum(w l) / sum(w).
    eps : float
        Added to denominators (default 1e-7).
    grad : bool
        Compute d loss / d pred (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or shape pred.shape[:-1] (one weighted value per box) for "none";
        grad has pred's shape and dtype, in pred's format (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from pred's.
    ValueError
        The last axis is not 4, target's shape differs from pred's, weight has the wrong size,
        an array is not C-contiguous, or format/reduction/mode is unknown.
    LossfnError
        The library refused the call (e.g. eps <= 0; reduction="batchmean").
    """
    return _box_loss("iou", pred, target, weight, format, reduction, eps, mode, 0.0, 1.0, grad)


@_lib.autograd("GIoULoss", "box")
def giou_loss(pred: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, format: str = "xyxy",
              reduction: Reduction = "mean", eps: float = 1e-7, grad: bool = True) -> LossGrad:
    """GIoU loss 1 - IoU + (C - U) / (C + eps), C the enclosing box's area
    (torchvision.ops.generalized_box_iou_loss).

    Parameters
    ----------
    pred : array-like, float32 or float64, shape (..., 4)
        Predicted boxes, one per row of the last axis. Its dtype is the call's dtype.
    target : array-like, pred's shape and dtype
        Target boxes in pred's format (Python lists take pred's dtype).
    weight : array-like or None
        One value per box (pred.size // 4 values, any shape), pred's dtype; None weighs 1.
    format : "xyxy" (default), "xywh", "cxcywh" or "ltrb"
        The box format of pred, target and the gradient.
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean over boxes sum(w l) / sum(w).
    eps : float
        Added to denominators (default 1e-7).
    grad : bool
        Compute d loss / d pred (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or shape pred.shape[:-1] (one weighted value per box) for "none";
        grad has pred's shape and dtype, in pred's format (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from pred's.
    ValueError
        The last axis is not 4, target's shape differs from pred's, weight has the wrong size,
        an array is not C-contiguous, or format/reduction is unknown.
    LossfnError
        The library refused the call (e.g. eps <= 0; reduction="batchmean").
    """
    return _box_loss("giou", pred, target, weight, format, reduction, eps, 0, 0.0, 1.0, grad)


@_lib.autograd("DIoULoss", "box")
def diou_loss(pred: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, format: str = "xyxy",
              reduction: Reduction = "mean", eps: float = 1e-7, grad: bool = True) -> LossGrad:
    """DIoU loss 1 - IoU + rho^2 / c^2 (torchvision.ops.distance_box_iou_loss): rho the distance
    between the centres, c the enclosing box's diagonal.

    Parameters
    ----------
    pred : array-like, float32 or float64, shape (..., 4)
        Predicted boxes, one per row of the last axis. Its dtype is the call's dtype.
    target : array-like, pred's shape and dtype
        Target boxes in pred's format (Python lists take pred's dtype).
    weight : array-like or None
        One value per box (pred.size // 4 values, any shape), pred's dtype; None weighs 1.
    format : "xyxy" (default), "xywh", "cxcywh" or "ltrb"
        The box format of pred, target and the gradient.
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean over boxes sum(w l) / sum(w).
    eps : float
        Added to denominators (default 1e-7).
    grad : bool
        Compute d loss / d pred (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or shape pred.shape[:-1] (one weighted value per box) for "none";
        grad has pred's shape and dtype, in pred's format (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from pred's.
    ValueError
        The last axis is not 4, target's shape differs from pred's, weight has the wrong size,
        an array is not C-contiguous, or format/reduction is unknown.
    LossfnError
        The library refused the call (e.g. eps <= 0; reduction="batchmean").
    """
    return _box_loss("diou", pred, target, weight, format, reduction, eps, 0, 0.0, 1.0, grad)


@_lib.autograd("CIoULoss", "box")
def ciou_loss(pred: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, format: str = "xyxy",
              reduction: Reduction = "mean", eps: float = 1e-7, grad: bool = True,
              ciou_variant: str = "torchvision") -> LossGrad:
    """CIoU loss DIoU + alpha v: v the aspect-ratio term, alpha a constant (no gradient through
    it), as the framework named by ``ciou_variant`` computes it: "torchvision" (default,
    torchvision.ops.complete_box_iou_loss, alpha = v / (1 - IoU + v + eps)), "ultralytics"
    (bbox_iou(xywh=False, CIoU=True) as YOLOv8's BboxLoss calls it: heights + eps) or "mmdet"
    (mmdet ciou_loss: alpha only where IoU > 0.5, CIoU clamped to [-1, 1]).

    >>> loss, grad = ciou_loss(pred, target, format="cxcywh")
    >>> loss, grad = ciou_loss(pred, target, ciou_variant="ultralytics")

    Parameters
    ----------
    pred : array-like, float32 or float64, shape (..., 4)
        Predicted boxes, one per row of the last axis. Its dtype is the call's dtype.
    target : array-like, pred's shape and dtype
        Target boxes in pred's format (Python lists take pred's dtype).
    weight : array-like or None
        One value per box (pred.size // 4 values, any shape), pred's dtype; None weighs 1.
    format : "xyxy" (default), "xywh", "cxcywh" or "ltrb"
        The box format of pred, target and the gradient.
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean over boxes sum(w l) / sum(w).
    eps : float
        Added to denominators (default 1e-7).
    grad : bool
        Compute d loss / d pred (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or shape pred.shape[:-1] (one weighted value per box) for "none";
        grad has pred's shape and dtype, in pred's format (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from pred's.
    ValueError
        The last axis is not 4, target's shape differs from pred's, weight has the wrong size,
        an array is not C-contiguous, or format/reduction is unknown.
    LossfnError
        The library refused the call (e.g. eps <= 0; reduction="batchmean").
    ciou_variant : "torchvision" (default), "ultralytics" or "mmdet" (or 0, 1, 2)
        Whose CIoU formula (see above); an unknown name raises ValueError.
    """
    return _box_loss("ciou", pred, target, weight, format, reduction, eps, 0, 0.0, 1.0, grad, ciou_variant)


@_lib.autograd("SIoULoss", "box")
def siou_loss(pred: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, format: str = "xyxy",
              reduction: Reduction = "mean", eps: float = 1e-7, grad: bool = True) -> LossGrad:
    """SIoU loss (arXiv 2205.12740) as mmdet's siou_loss (neg_gamma=False, its default):
    1 - clamp(IoU - (distance cost + shape cost) / 2, -1, 1), the distance cost shaped by the
    angle between the centres; no gradient where clamped. mmdet's SIoULoss class uses eps 1e-6.

    Parameters
    ----------
    pred : array-like, float32 or float64, shape (..., 4)
        Predicted boxes, one per row of the last axis. Its dtype is the call's dtype.
    target : array-like, pred's shape and dtype
        Target boxes in pred's format (Python lists take pred's dtype).
    weight : array-like or None
        One value per box (pred.size // 4 values, any shape), pred's dtype; None weighs 1.
    format : "xyxy" (default), "xywh", "cxcywh" or "ltrb"
        The box format of pred, target and the gradient.
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean over boxes sum(w l) / sum(w).
    eps : float
        mmdet's eps: added to the union, the heights and the centre offsets (default 1e-7).
    grad : bool
        Compute d loss / d pred (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or shape pred.shape[:-1] (one weighted value per box) for "none";
        grad has pred's shape and dtype, in pred's format (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from pred's.
    ValueError
        The last axis is not 4, target's shape differs from pred's, weight has the wrong size,
        an array is not C-contiguous, or format/reduction is unknown.
    LossfnError
        The library refused the call (e.g. eps <= 0; reduction="batchmean").
    """
    return _box_loss("siou", pred, target, weight, format, reduction, eps, 0, 0.0, 1.0, grad)


@_lib.autograd("EIoULoss", "box")
def eiou_loss(pred: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, format: str = "xyxy",
              reduction: Reduction = "mean", gamma: float = 0.0, eps: float = 1e-7, grad: bool = True) -> LossGrad:
    """EIoU loss 1 - IoU + rho^2/c^2 + (w - W)^2/(cw^2 + eps) + (h - H)^2/(ch^2 + eps).

    gamma > 0 gives Focal-EIoU (paper: 0.5): each box is weighted by IoU^gamma (a constant, no
    gradient through it).

    Parameters
    ----------
    pred : array-like, float32 or float64, shape (..., 4)
        Predicted boxes, one per row of the last axis. Its dtype is the call's dtype.
    target : array-like, pred's shape and dtype
        Target boxes in pred's format (Python lists take pred's dtype).
    weight : array-like or None
        One value per box (pred.size // 4 values, any shape), pred's dtype; None weighs 1.
    gamma : float
        Focal-EIoU exponent (>= 0; default 0 = plain EIoU).
    format : "xyxy" (default), "xywh", "cxcywh" or "ltrb"
        The box format of pred, target and the gradient.
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean over boxes sum(IoU^gamma w l) / sum(IoU^gamma w).
    eps : float
        Added to denominators (default 1e-7).
    grad : bool
        Compute d loss / d pred (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or shape pred.shape[:-1] (one weighted value per box) for "none";
        grad has pred's shape and dtype, in pred's format (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from pred's.
    ValueError
        The last axis is not 4, target's shape differs from pred's, weight has the wrong size,
        an array is not C-contiguous, or format/reduction is unknown.
    LossfnError
        The library refused the call (e.g. gamma < 0; reduction="batchmean").
    """
    return _box_loss("eiou", pred, target, weight, format, reduction, eps, 0, gamma, 1.0, grad)


@_lib.autograd("CDIoULoss", "box")
def cdiou_loss(pred: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, format: str = "xyxy",
               reduction: Reduction = "mean", lambda_: float = 1.0, eps: float = 1e-7, grad: bool = True) -> LossGrad:
    """CDIoU loss 1 - IoU + lambda_ (sum of the 4 corner distances) / (4 sqrt(cw^2 + ch^2) + eps).

    Parameters
    ----------
    pred : array-like, float32 or float64, shape (..., 4)
        Predicted boxes, one per row of the last axis. Its dtype is the call's dtype.
    target : array-like, pred's shape and dtype
        Target boxes in pred's format (Python lists take pred's dtype).
    weight : array-like or None
        One value per box (pred.size // 4 values, any shape), pred's dtype; None weighs 1.
    lambda_ : float
        Weight of the corner-distance term (finite, >= 0; the paper's code used 0.001).
    format : "xyxy" (default), "xywh", "cxcywh" or "ltrb"
        The box format of pred, target and the gradient.
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean over boxes sum(w l) / sum(w).
    eps : float
        Added to denominators (default 1e-7).
    grad : bool
        Compute d loss / d pred (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or shape pred.shape[:-1] (one weighted value per box) for "none";
        grad has pred's shape and dtype, in pred's format (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from pred's.
    ValueError
        The last axis is not 4, target's shape differs from pred's, weight has the wrong size,
        an array is not C-contiguous, or format/reduction is unknown.
    LossfnError
        The library refused the call (e.g. lambda_ < 0; reduction="batchmean").
    """
    return _box_loss("cdiou", pred, target, weight, format, reduction, eps, 0, 0.0, lambda_, grad)


def box_iou_matrix(boxes1: ArrayLike, boxes2: ArrayLike, format: str = "xyxy", kind: str = "iou",
                   eps: float = 1e-7) -> np.ndarray:
    """Pairwise box similarity (no gradient): out[i, j] = kind(boxes1[i], boxes2[j]).

    Parameters
    ----------
    boxes1 : array-like, float32 or float64, shape (n, 4) (or (..., 4), flattened to n boxes)
    boxes2 : array-like, boxes1's dtype, shape (m, 4) (or (..., 4))
        Python lists take boxes1's dtype.
    format : "xyxy" (default), "xywh", "cxcywh" or "ltrb"
    kind : "iou" (default), "giou", "diou" or "ciou"
        The similarity: 1 - the matching loss.
    eps : float
        Added to denominators (default 1e-7).

    Returns
    -------
    numpy.ndarray, shape (n, m), boxes1's dtype

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or the two dtypes differ.
    ValueError
        A last axis is not 4, an array is not C-contiguous, or format/kind is unknown.
    LossfnError
        The library refused the call (e.g. eps <= 0).
    """
    a = _boxes("boxes1", boxes1)
    b = _boxes("boxes2", boxes2, a.dtype)
    n, m = a.size // 4, b.size // 4
    out = np.empty((n, m), a.dtype)
    fn = _lib.function("box_iou_matrix", a.dtype)
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_double, ctypes.c_void_p]
    _lib.check(fn(_lib.ptr(a), n, _lib.ptr(b), m, _lib.enum(format, FORMATS, "format"), _lib.enum(kind, IOU_KINDS, "kind"), eps, _lib.ptr(out)))
    return out


class DflOptions(_lib.Options):
    """``lossfn_dfl_options``."""

    _fields_ = [("reduction", ctypes.c_uint32)] + _lib.CONTROLS


@_lib.autograd("DFLoss", "distribution_box")
def dfl_loss(logits: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None,
             reduction: Reduction = "mean", grad: bool = True) -> LossGrad:
    """Distribution Focal Loss (GFL, arXiv 2006.04388) as ultralytics DFLoss: per box,
    (1/sides) sum_k [(tr - t) CE(logits_k, tl) + (t - tl) CE(logits_k, tr)], tl = floor(t),
    tr = tl + 1, with t clamped to [0, bins - 1 - 0.01].

    Parameters
    ----------
    logits : array-like, float32 or float64, shape (n, sides, bins)
        One distribution of ``bins`` logits per box side (YOLOv8: sides 4, bins = reg_max 16).
    target : array-like, logits' dtype, shape (n, sides)
        Continuous positions in bin units (ultralytics: bbox2dist of the target box); values
        outside [0, bins - 1.01] are clamped; a NaN gives NaN for its box.
    weight : array-like or None
        One value per box (n values), logits' dtype; None weighs 1. ultralytics'
        ``(dfl * weight).sum() / target_scores_sum`` is reduction="sum" divided by that sum.
    reduction : "mean" (default), "sum" or "none"
        "mean" is sum(w l) / sum(w) over boxes.
    grad : bool
        Compute d loss / d logits (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or shape (n,) for "none"; grad has logits' shape and dtype.

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from logits'.
    ValueError
        logits is not 3-d, target's shape is not logits.shape[:2], weight has the wrong size,
        an array is not C-contiguous, or reduction is unknown.
    LossfnError
        The library refused the call (e.g. bins < 2; reduction="batchmean").
    """
    x = _lib.float_array("logits", logits)
    if x.ndim != 3:
        raise ValueError(f"logits must have shape (n, sides, bins), not {x.shape}")
    n, sides, bins = x.shape
    t = _lib.float_array("target", target, x.dtype)
    if t.shape != (n, sides):
        raise ValueError(f"target must have shape {(n, sides)} (logits.shape[:2]), not {t.shape}")
    w = _lib.optional_float_array("weight", weight, x.dtype, n)
    red = _lib.reduction(reduction)
    opts = DflOptions(red)
    loss = np.empty(n if red == 0 else 1, x.dtype)
    g = np.empty_like(x) if grad else None
    fn = _lib.function("dfl_loss", x.dtype)
    _lib.check(fn(_lib.ptr(x), _lib.ptr(t), _lib.ptr(w), ctypes.c_size_t(n), ctypes.c_size_t(sides),
                  ctypes.c_size_t(bins), ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g)))
    return _lib.reduced(loss, red, (n,)), g


class DflBoxOptions(_lib.Options):
    """``lossfn_dfl_box_options``."""

    _fields_ = [("reduction", ctypes.c_uint32), ("iou", ctypes.c_uint32), ("ciou_variant", ctypes.c_uint32),
                ("eps", ctypes.c_double), ("iou_weight", ctypes.c_double), ("dfl_weight", ctypes.c_double)] + _lib.CONTROLS


@_lib.autograd("DFLBoxLoss", "parts")
def dfl_box_loss(logits: ArrayLike, anchors: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None,
                 reduction: Reduction = "mean", iou: Union[str, int] = "ciou", ciou_variant: Union[str, int] = "ultralytics",
                 eps: float = 1e-7, iou_weight: float = 1.0, dfl_weight: float = 1.0, avg_factor: float = 0.0,
                 grad: bool = True) -> LossGrad:
    """The YOLOv8/11 box branch in one call, as ultralytics utils/loss.py BboxLoss with DFL on the
    foreground anchors (select them first, as ``fg_mask`` does): the decode
    d_k = sum_j softmax(logits_k)_j * j (bbox_decode), box = (ax - d_l, ay - d_t, ax + d_r, ay + d_b),
    the IoU loss of ``iou`` on the decoded boxes (CIoU as bbox_iou by default) and DFL on the same
    logits with bbox2dist's targets (clamped to [0, bins - 1.01]).

    Parameters
    ----------
    logits : array-like, float32 or float64, shape (n, 4, bins)
        The box distribution logits of the n foreground anchors (sides l, t, r, b; bins = reg_max).
    anchors : array-like, logits' dtype, shape (n, 2)
        Anchor points (ax, ay), in stride units as ultralytics passes them.
    target : array-like, logits' dtype, shape (n, 4)
        Target boxes x1, y1, x2, y2 in the anchors' units (ultralytics: target_bboxes / stride).
    weight : array-like or None
        One value per anchor (ultralytics: ``target_scores.sum(-1)[fg_mask]``); None weighs 1.
    reduction : "mean" (default) or "sum"
        "mean" divides by sum(w), or by ``avg_factor`` when given (ultralytics' target_scores_sum).
    iou : "iou", "giou", "diou" or "ciou" (default)
        The box loss: 1 - IoU, or the GIoU, DIoU, CIoU losses of this package.
    ciou_variant : "ultralytics" (default), "torchvision" or "mmdet"
    eps : float
        The box loss's eps (default 1e-7; > 0).
    iou_weight, dfl_weight : float
        Gains of the two parts (ultralytics' hyp.box 7.5 and hyp.dfl 1.5 when applied here); >= 0.
    avg_factor : float
        0 (unused) or > 0 with "mean": the denominator instead of sum(w).
    grad : bool
        Compute d (loss[0] + loss[1]) / d logits (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss has shape (2,): [iou_weight * L_iou, dfl_weight * L_dfl]; grad has logits' shape and
        dtype: the gradient of their sum.

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from logits'.
    ValueError
        logits is not (n, 4, bins), anchors not (n, 2), target not (n, 4), weight has the wrong
        size, an array is not C-contiguous, or iou, ciou_variant or reduction is unknown.
    LossfnError
        The library refused the call (e.g. bins < 2, reduction="none", eps <= 0, a negative gain).
    """
    x = _lib.float_array("logits", logits)
    if x.ndim != 3 or x.shape[1] != 4:
        raise ValueError(f"logits must have shape (n, 4, bins), not {x.shape}")
    n, _, bins = x.shape
    a = _lib.float_array("anchors", anchors, x.dtype)
    if a.shape != (n, 2):
        raise ValueError(f"anchors must have shape {(n, 2)}, not {a.shape}")
    t = _lib.float_array("target", target, x.dtype)
    if t.shape != (n, 4):
        raise ValueError(f"target must have shape {(n, 4)}, not {t.shape}")
    w = _lib.optional_float_array("weight", weight, x.dtype, n)
    red = _lib.reduction(reduction)
    opts = DflBoxOptions(red, _lib.enum(iou, IOU_KINDS, "iou"), _lib.enum(ciou_variant, CIOU_VARIANTS, "ciou_variant"),
                         eps, iou_weight, dfl_weight, avg_factor=avg_factor)
    loss = np.empty(2, x.dtype)
    g = np.empty_like(x) if grad else None
    fn = _lib.function("dfl_box_loss", x.dtype)
    _lib.check(fn(_lib.ptr(x), _lib.ptr(a), _lib.ptr(t), _lib.ptr(w), ctypes.c_size_t(n), ctypes.c_size_t(bins),
                  ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g)))
    return loss, g


class RotatedBoxOptions(_lib.Options):
    """``lossfn_rotated_box_options``."""

    _fields_ = [("reduction", ctypes.c_uint32), ("eps", ctypes.c_double), ("floor", ctypes.c_double)] + _lib.CONTROLS


@_lib.autograd("ProbIoULoss", "box")
def probiou_loss(pred: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None,
                 reduction: Reduction = "mean", eps: float = 1e-7, floor: float = 0.0, grad: bool = True) -> LossGrad:
    """ProbIoU loss of rotated boxes, 1 - probiou(pred, target) per box, exactly as ultralytics
    utils/metrics.py probiou (CIoU=False), the IoU term of its RotatedBboxLoss (OBB models): the
    boxes' Gaussians (covariance from w^2/12, h^2/12 and the angle), the Bhattacharyya distance
    clamped to [eps, 100], the Hellinger distance sqrt(1 - exp(-bd) + eps).

    Parameters
    ----------
    pred : array-like, float32 or float64, shape (..., 5)
        Predicted rotated boxes (cx, cy, w, h, angle in radians). Its dtype is the call's dtype.
    target : array-like, pred's shape and dtype
        Target boxes (Python lists take pred's dtype).
    weight : array-like or None
        One value per box (pred.size // 5 values, any shape), pred's dtype; None weighs 1.
        ultralytics' ``((1 - iou) * weight).sum() / target_scores_sum`` is reduction="sum"
        divided by that sum.
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean over boxes sum(w l) / sum(w).
    eps : float
        ultralytics' eps, at each of its places (default 1e-7; > 0).
    floor : float
        Added to w^2/12 and h^2/12 (default 0, as ultralytics' probiou; its RotatedBboxLoss
        passes 0.01). >= 0.
    grad : bool
        Compute d loss / d pred (default True): all five inputs, through the covariance.

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or shape pred.shape[:-1] (one weighted value per box) for "none";
        grad has pred's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from pred's.
    ValueError
        The last axis is not 5, target's shape differs from pred's, weight has the wrong size,
        an array is not C-contiguous, or reduction is unknown.
    LossfnError
        The library refused the call (e.g. eps <= 0, floor < 0; reduction="batchmean").
    """
    p = _boxes("pred", pred, width=5)
    t = _boxes("target", target, p.dtype, width=5)
    if t.shape != p.shape:
        raise ValueError(f"target shape {t.shape} differs from pred shape {p.shape}")
    n = p.size // 5
    w = _lib.optional_float_array("weight", weight, p.dtype, n)
    red = _lib.reduction(reduction)
    opts = RotatedBoxOptions(red, eps, floor)
    loss = np.empty(n if red == 0 else 1, p.dtype)
    g = np.empty_like(p) if grad else None
    fn = _lib.function("probiou_loss", p.dtype)
    _lib.check(fn(_lib.ptr(p), _lib.ptr(t), _lib.ptr(w), ctypes.c_size_t(n), ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g)))
    return _lib.reduced(loss, red, p.shape[:-1]), g


def probiou_matrix(boxes1: ArrayLike, boxes2: ArrayLike, eps: float = 1e-7) -> np.ndarray:
    """Pairwise ProbIoU of rotated boxes (no gradient): out[i, j] = probiou(boxes1[i], boxes2[j]),
    as ultralytics batch_probiou (rotated NMS, matching).

    Parameters
    ----------
    boxes1 : array-like, float32 or float64, shape (n, 5) (or (..., 5), flattened to n boxes)
        (cx, cy, w, h, angle in radians).
    boxes2 : array-like, boxes1's dtype, shape (m, 5) (or (..., 5))
        Python lists take boxes1's dtype.
    eps : float
        ultralytics' eps (default 1e-7; > 0).

    Returns
    -------
    numpy.ndarray, shape (n, m), boxes1's dtype

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or the two dtypes differ.
    ValueError
        A last axis is not 5, or an array is not C-contiguous.
    LossfnError
        The library refused the call (e.g. eps <= 0).
    """
    a = _boxes("boxes1", boxes1, width=5)
    b = _boxes("boxes2", boxes2, a.dtype, width=5)
    n, m = a.size // 5, b.size // 5
    out = np.empty((n, m), a.dtype)
    fn = _lib.function("probiou_matrix", a.dtype)
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_double, ctypes.c_void_p]
    _lib.check(fn(_lib.ptr(a), n, _lib.ptr(b), m, eps, _lib.ptr(out)))
    return out
