"""Segmentation overlap losses: Dice and Tversky (Focal Tversky through ``gamma``), MONAI conventions.

``input`` is ``[N, C, *spatial]`` (layout "ncs"/"nchw", the default) or ``[N, *spatial, C]``
("nsc"/"nhwc"); a 2-D ``[N, C]`` array has spatial size 1. Index targets are int64 class indices
of shape ``[N, *spatial]`` (any shape with N·spatial elements); soft targets have the input's
shape. See docs/overlap.md for the formulas and the gradient.
"""
__all__ = ["dice_loss", "dice_loss_soft", "tversky_loss", "tversky_loss_soft"]
import ctypes
import math

import numpy as np

from . import _lib

ACTIVATIONS = {"none": 0, "sigmoid": 1, "softmax": 2}


class OverlapOptions(_lib.Options):
    """``lossfn_overlap_options``."""

    _fields_ = [
        ("reduction", ctypes.c_uint32),
        ("activation", ctypes.c_uint32),
        ("smooth_nr", ctypes.c_double),
        ("smooth_dr", ctypes.c_double),
        ("include_background", ctypes.c_bool),
        ("batch", ctypes.c_bool),
        ("squared_pred", ctypes.c_bool),
        ("alpha", ctypes.c_double),
        ("beta", ctypes.c_double),
        ("gamma", ctypes.c_double),
        ("ignore_index", ctypes.c_int64),
        ("w_type", ctypes.c_uint32),
        ("soft_label", ctypes.c_bool),
    ] + _lib.CONTROLS


def _shape(x, layout):
    code = _lib.enum(layout, _lib.LAYOUTS, "layout")
    if x.ndim < 2:
        raise ValueError(f"input must have at least 2 dimensions [N, C, ...], not shape {x.shape}")
    n = x.shape[0]
    c = x.shape[1] if code == 0 else x.shape[-1]
    spatial = x.shape[2:] if code == 0 else x.shape[1:-1]
    return _lib.Shape(n, c, math.prod(spatial), code)


def _overlap(name, soft, input, target, class_weight, layout, reduction, activation, smooth_nr, smooth_dr,
             include_background, batch, squared_pred, alpha, beta, gamma, ignore_index, grad):
    x = _lib.float_array("input", input)
    shape = _shape(x, layout)
    if soft:
        t = _lib.float_array("target", target, x.dtype)
        if t.shape != x.shape:
            raise ValueError(f"target shape {t.shape} differs from input shape {x.shape}")
    else:
        t = _lib.index_array("target", target, shape.batch * shape.spatial)
    w = _lib.optional_float_array("class_weight", class_weight, x.dtype, shape.classes)
    red = _lib.reduction(reduction)
    opts = OverlapOptions(red, _lib.enum(activation, ACTIVATIONS, "activation"), smooth_nr, smooth_dr,
                          bool(include_background), bool(batch), bool(squared_pred), alpha, beta, gamma,
                          ignore_index)
    classes = shape.classes if include_background else max(shape.classes - 1, 0)
    scores = (classes,) if batch else (shape.batch, classes)
    loss = np.empty(math.prod(scores) if red == 0 else 1, x.dtype)
    g = np.empty_like(x) if grad else None
    fn = _lib.function(name, x.dtype)
    _lib.check(fn(_lib.ptr(x), _lib.ptr(t), _lib.ptr(w), shape, ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g)))
    return _lib.reduced(loss, red, scores), g


def dice_loss(input, target, class_weight=None, layout="ncs", reduction="mean", activation="softmax",
              smooth_nr=1e-5, smooth_dr=1e-5, include_background=True, batch=False, squared_pred=False,
              gamma=1.0, ignore_index=-100, grad=True):
    """Dice loss on int64 class-index targets (MONAI DiceLoss with to_onehot_y).

    Per score (a (sample, class) pair, or a class pooled over the batch with ``batch=True``):
    1 - (2 TP + smooth_nr) / (sum p + sum g + smooth_dr), p = activation(input) ("softmax" over
    the classes, "sigmoid", or "none"), g one-hot; ``squared_pred`` squares p and g in the
    denominator; ``gamma != 1`` gives max(0, 1 - score)^gamma. Positions whose target is
    ``ignore_index`` count nowhere. ``class_weight`` (C values) weighs each score by its class;
    "mean" is the weighted mean sum(w l) / sum(w).

    Returns ``(loss, grad)``: loss is a 0-d array, or for reduction="none" the weighted values
    per score, shape ``[N, C']`` (``[C']`` with batch=True), C' = C or C - 1 without background;
    grad is d loss / d input in the input's shape (None when grad=False).
    """
    return _overlap("dice_loss", False, input, target, class_weight, layout, reduction, activation, smooth_nr,
                    smooth_dr, include_background, batch, squared_pred, 0.3, 0.7, gamma, ignore_index, grad)


def dice_loss_soft(input, target, class_weight=None, layout="ncs", reduction="mean", activation="softmax",
                   smooth_nr=1e-5, smooth_dr=1e-5, include_background=True, batch=False, squared_pred=False,
                   gamma=1.0, grad=True):
    """Dice loss on soft or multi-label targets of the input's shape. See dice_loss."""
    return _overlap("dice_loss_soft", True, input, target, class_weight, layout, reduction, activation, smooth_nr,
                    smooth_dr, include_background, batch, squared_pred, 0.3, 0.7, gamma, -100, grad)


def tversky_loss(input, target, class_weight=None, layout="ncs", reduction="mean", activation="softmax",
                 smooth_nr=1e-5, smooth_dr=1e-5, include_background=True, batch=False, alpha=0.3, beta=0.7,
                 gamma=1.0, ignore_index=-100, grad=True):
    """Tversky loss on int64 class-index targets (MONAI TverskyLoss; Focal Tversky with gamma).

    Per score: 1 - (TP + smooth_nr) / (TP + alpha FP + beta FN + smooth_dr), FP = sum p (1 - g),
    FN = sum (1 - p) g; gamma != 1 gives max(0, 1 - score)^gamma (Focal Tversky: 0.75).
    Everything else as dice_loss.
    """
    return _overlap("tversky_loss", False, input, target, class_weight, layout, reduction, activation, smooth_nr,
                    smooth_dr, include_background, batch, False, alpha, beta, gamma, ignore_index, grad)


def tversky_loss_soft(input, target, class_weight=None, layout="ncs", reduction="mean", activation="softmax",
                      smooth_nr=1e-5, smooth_dr=1e-5, include_background=True, batch=False, alpha=0.3, beta=0.7,
                      gamma=1.0, grad=True):
    """Tversky loss on soft or multi-label targets of the input's shape. See tversky_loss."""
    return _overlap("tversky_loss_soft", True, input, target, class_weight, layout, reduction, activation,
                    smooth_nr, smooth_dr, include_background, batch, False, alpha, beta, gamma, -100, grad)
