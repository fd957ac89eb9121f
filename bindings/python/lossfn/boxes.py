"""Box regression losses: IoU (UnitBox), GIoU, DIoU, CIoU, SIoU, EIoU / Focal-EIoU, CDIoU, and the
pairwise IoU matrix.

Boxes are arrays whose last dimension is 4, in one of the formats "xyxy" (x1, y1, x2, y2;
default), "xywh" (x1, y1, w, h; COCO), "cxcywh" (cx, cy, w, h; YOLO, DETR) or "ltrb"
(distances l, t, r, b from a shared point; FCOS). target uses pred's format and the gradient
comes back in it. Every loss returns ``(loss, grad)``: loss is a 0-d array (or shaped like
``pred.shape[:-1]`` for reduction="none"), grad is d loss / d pred (None when grad=False).
"""
from __future__ import annotations

__all__ = ["iou_loss", "giou_loss", "diou_loss", "ciou_loss", "siou_loss", "eiou_loss", "cdiou_loss", "box_iou_matrix"]
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


def _boxes(name: str, value: ArrayLike, dtype: object = None) -> np.ndarray:
    a = _lib.float_array(name, value, dtype)
    if a.ndim == 0 or a.shape[-1] != 4:
        raise ValueError(f"{name} must have a last dimension of 4 (one box), not shape {a.shape}")
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


def ciou_loss(pred: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, format: str = "xyxy",
              reduction: Reduction = "mean", eps: float = 1e-7, ciou_variant: str = "torchvision",
              grad: bool = True) -> LossGrad:
    """CIoU loss DIoU + alpha v (torchvision.ops.complete_box_iou_loss): v the aspect-ratio term,
    alpha = v / (1 - IoU + v) a constant (no gradient through it).

    ``ciou_variant`` picks whose CIoU it is: "torchvision" (default, as above), "ultralytics"
    (heights h + eps in the areas and aspect ratios, as ultralytics ``bbox_iou(CIoU=True)``,
    YOLOv8's BboxLoss) or "mmdet" (heights + eps in v only, alpha = [IoU > 0.5] v / (1 - IoU + v),
    loss 1 - clamp(CIoU, -1, 1) with no gradient where clamped, as mmdet ``ciou_loss``).

    >>> loss, grad = ciou_loss(pred, target, format="cxcywh")

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
    ciou_variant : "torchvision" (default), "ultralytics" or "mmdet"
        Whose CIoU formula to follow (see above).
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
        an array is not C-contiguous, or format/reduction/ciou_variant is unknown.
    LossfnError
        The library refused the call (e.g. eps <= 0; reduction="batchmean").
    """
    return _box_loss("ciou", pred, target, weight, format, reduction, eps, 0, 0.0, 1.0, grad, ciou_variant)


def siou_loss(pred: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, format: str = "xyxy",
              reduction: Reduction = "mean", eps: float = 1e-7, grad: bool = True) -> LossGrad:
    """SIoU loss (arXiv 2205.12740) as mmdet siou_loss (neg_gamma=False):
    1 - clamp(IoU - (Delta + Omega) / 2, -1, 1), Delta the angle-weighted distance cost, Omega
    the shape cost (no gradient where clamped).

    >>> loss, grad = siou_loss(pred, target, format="cxcywh")

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
        Added to denominators and to the centre offsets and sides (default 1e-7).
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
