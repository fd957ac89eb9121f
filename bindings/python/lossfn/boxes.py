"""Box regression losses: IoU (UnitBox), GIoU, DIoU, CIoU, EIoU / Focal-EIoU, CDIoU, and the
pairwise IoU matrix.

Boxes are arrays whose last dimension is 4, in one of the formats "xyxy" (x1, y1, x2, y2;
default), "xywh" (x1, y1, w, h; COCO), "cxcywh" (cx, cy, w, h; YOLO, DETR) or "ltrb"
(distances l, t, r, b from a shared point; FCOS). target uses pred's format and the gradient
comes back in it. Every loss returns ``(loss, grad)``: loss is a 0-d array (or shaped like
``pred.shape[:-1]`` for reduction="none"), grad is d loss / d pred (None when grad=False).
"""
__all__ = ["iou_loss", "giou_loss", "diou_loss", "ciou_loss", "eiou_loss", "cdiou_loss", "box_iou_matrix"]
import ctypes

import numpy as np

from . import _lib

FORMATS = {"xyxy": 0, "xywh": 1, "cxcywh": 2, "ltrb": 3}
IOU_MODES = {"linear": 0, "square": 1, "log": 2}
IOU_KINDS = {"iou": 0, "giou": 1, "diou": 2, "ciou": 3}


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


def _boxes(name, value, dtype=None):
    a = _lib.float_array(name, value, dtype)
    if a.ndim == 0 or a.shape[-1] != 4:
        raise ValueError(f"{name} must have a last dimension of 4 (one box), not shape {a.shape}")
    return a


def _box_loss(name, pred, target, weight, format, reduction, eps, iou_mode, gamma, lambda_, grad):
    p = _boxes("pred", pred)
    t = _boxes("target", target, p.dtype)
    if t.shape != p.shape:
        raise ValueError(f"target shape {t.shape} differs from pred shape {p.shape}")
    n = p.size // 4
    w = _lib.optional_float_array("weight", weight, p.dtype, n)
    red = _lib.reduction(reduction)
    opts = BoxOptions(
        _lib.enum(format, FORMATS, "format"), red, eps, _lib.enum(iou_mode, IOU_MODES, "mode"), gamma, lambda_
    )
    loss = np.empty(n if red == 0 else 1, p.dtype)
    g = np.empty_like(p) if grad else None
    fn = _lib.function(f"{name}_loss", p.dtype)
    _lib.check(fn(_lib.ptr(p), _lib.ptr(t), _lib.ptr(w), ctypes.c_size_t(n), ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g)))
    return _lib.reduced(loss, red, p.shape[:-1]), g


def iou_loss(pred, target, weight=None, format="xyxy", reduction="mean", mode="linear", eps=1e-7, grad=True):
    """IoU loss (UnitBox): mode "linear" 1 - IoU, "square" 1 - IoU^2, "log" -ln(max(IoU, eps)),
    with IoU = I / (max(U, 0) + eps). weight: one per box (weighted mean by default)."""
    return _box_loss("iou", pred, target, weight, format, reduction, eps, mode, 0.0, 1.0, grad)


def giou_loss(pred, target, weight=None, format="xyxy", reduction="mean", eps=1e-7, grad=True):
    """GIoU loss 1 - IoU + (C - U)/(C + eps), C the enclosing box's area
    (torchvision.ops.generalized_box_iou_loss). See iou_loss."""
    return _box_loss("giou", pred, target, weight, format, reduction, eps, 0, 0.0, 1.0, grad)


def diou_loss(pred, target, weight=None, format="xyxy", reduction="mean", eps=1e-7, grad=True):
    """DIoU loss 1 - IoU + rho^2/c^2 (torchvision.ops.distance_box_iou_loss). See iou_loss."""
    return _box_loss("diou", pred, target, weight, format, reduction, eps, 0, 0.0, 1.0, grad)


def ciou_loss(pred, target, weight=None, format="xyxy", reduction="mean", eps=1e-7, grad=True):
    """CIoU loss DIoU + alpha v, alpha a constant (torchvision.ops.complete_box_iou_loss).

    >>> loss, grad = ciou_loss(pred, target, format="cxcywh")
    """
    return _box_loss("ciou", pred, target, weight, format, reduction, eps, 0, 0.0, 1.0, grad)


def eiou_loss(pred, target, weight=None, format="xyxy", reduction="mean", gamma=0.0, eps=1e-7, grad=True):
    """EIoU loss 1 - IoU + rho^2/c^2 + (w - W)^2/(cw^2 + eps) + (h - H)^2/(ch^2 + eps).

    gamma > 0 gives Focal-EIoU (paper: 0.5): each box is weighted by IoU^gamma (a constant, no
    gradient through it), and the mean is sum(IoU^gamma w L) / sum(IoU^gamma w)."""
    return _box_loss("eiou", pred, target, weight, format, reduction, eps, 0, gamma, 1.0, grad)


def cdiou_loss(pred, target, weight=None, format="xyxy", reduction="mean", lambda_=1.0, eps=1e-7, grad=True):
    """CDIoU loss 1 - IoU + lambda_ (sum of the 4 corner distances) / (4 sqrt(cw^2 + ch^2) + eps)
    (the paper's code used lambda_ = 0.001)."""
    return _box_loss("cdiou", pred, target, weight, format, reduction, eps, 0, 0.0, lambda_, grad)


def box_iou_matrix(boxes1, boxes2, format="xyxy", kind="iou", eps=1e-7):
    """Pairwise similarity (no gradient): out[i, j] = kind(boxes1[i], boxes2[j]) for kind "iou",
    "giou", "diou" or "ciou" (1 - the matching loss). boxes1: (n, 4), boxes2: (m, 4); returns (n, m)."""
    a = _boxes("boxes1", boxes1)
    b = _boxes("boxes2", boxes2, a.dtype)
    n, m = a.size // 4, b.size // 4
    out = np.empty((n, m), a.dtype)
    fn = _lib.function("box_iou_matrix", a.dtype)
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_double, ctypes.c_void_p]
    _lib.check(fn(_lib.ptr(a), n, _lib.ptr(b), m, _lib.enum(format, FORMATS, "format"), _lib.enum(kind, IOU_KINDS, "kind"), eps, _lib.ptr(out)))
    return out
