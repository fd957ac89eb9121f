"""Segmentation overlap losses: Dice, Jaccard, Tversky (Focal Tversky through ``gamma``) and
generalized Dice, MONAI conventions.

``input`` is ``[N, C, *spatial]`` (layout "ncs"/"nchw", the default) or ``[N, *spatial, C]``
("nsc"/"nhwc"); a 2-D ``[N, C]`` array has spatial size 1. Index targets are integer class
indices of any integer dtype (converted to int64) of shape ``[N, *spatial]`` (any shape with
N·spatial elements); soft targets have the input's shape and dtype. See docs/overlap.md for the
formulas and the gradient.
"""
from __future__ import annotations

__all__ = ["dice_loss", "dice_loss_soft", "jaccard_loss", "jaccard_loss_soft", "tversky_loss", "tversky_loss_soft", "generalized_dice_loss",
           "generalized_dice_loss_soft", "dice_ce_loss", "dice_focal_loss", "lovasz_softmax_loss",
           "lovasz_hinge_loss", "overlap_stats", "overlap_stats_soft", "overlap_loss_from_stats",
           "overlap_loss_from_stats_soft"]
import ctypes
import math
from typing import Any, Optional

import numpy as np

from . import _lib
from ._lib import ArrayLike, LossGrad, Reduction

ACTIVATIONS = {"none": 0, "sigmoid": 1, "softmax": 2}
W_TYPES = {"square": 0, "simple": 1, "uniform": 2}
KINDS = {"dice": 0, "tversky": 1, "generalized_dice": 2, "jaccard": 3}


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


def _shape(x: np.ndarray, layout: str) -> _lib.Shape:
    code = _lib.enum(layout, _lib.LAYOUTS, "layout")
    if x.ndim < 2:
        raise ValueError(f"input must have at least 2 dimensions [N, C, ...], not shape {x.shape}")
    n = x.shape[0]
    c = x.shape[1] if code == 0 else x.shape[-1]
    spatial = x.shape[2:] if code == 0 else x.shape[1:-1]
    return _lib.Shape(n, c, math.prod(spatial), code)


def _overlap(name: str, soft: bool, input: ArrayLike, target: ArrayLike, class_weight: Optional[ArrayLike],
             layout: str, reduction: Reduction, activation: str, smooth_nr: float, smooth_dr: float,
             include_background: bool, batch: bool, squared_pred: bool, alpha: float, beta: float, gamma: float,
             ignore_index: int, grad: bool, soft_label: bool = False, w_type: Optional[str] = None) -> LossGrad:
    """The shared body; `w_type` given: generalized Dice (no class_weight, one score per sample)."""
    x = _lib.float_array("input", input)
    shape = _shape(x, layout)
    if soft:
        t = _lib.float_array("target", target, x.dtype)
        if t.shape != x.shape:
            raise ValueError(f"target shape {t.shape} differs from input shape {x.shape}")
    else:
        t = _lib.index_array("target", target, shape.batch * shape.spatial)
    w = None if w_type is not None else _lib.optional_float_array("class_weight", class_weight, x.dtype, shape.classes)
    red = _lib.reduction(reduction)
    gdice = w_type is not None
    opts = OverlapOptions(red, _lib.enum(activation, ACTIVATIONS, "activation"), smooth_nr, smooth_dr,
                          bool(include_background), bool(batch), bool(squared_pred), alpha, beta, gamma,
                          ignore_index, _lib.enum(w_type, W_TYPES, "w_type") if gdice else 0,
                          soft_label=bool(soft_label))
    classes = shape.classes if include_background else max(shape.classes - 1, 0)
    if gdice:
        scores = (1,) if batch else (shape.batch,)
    else:
        scores = (classes,) if batch else (shape.batch, classes)
    loss = np.empty(math.prod(scores) if red == 0 else 1, x.dtype)
    g = np.empty_like(x) if grad else None
    fn = _lib.function(name, x.dtype)
    weights = () if gdice else (_lib.ptr(w),)
    _lib.check(fn(_lib.ptr(x), _lib.ptr(t), *weights, shape, ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g)))
    return _lib.reduced(loss, red, scores), g


@_lib.autograd("DiceLoss", "score")
def dice_loss(input: ArrayLike, target: ArrayLike, class_weight: Optional[ArrayLike] = None, layout: str = "ncs",
              reduction: Reduction = "mean", activation: str = "softmax", smooth_nr: float = 1e-5,
              smooth_dr: float = 1e-5, include_background: bool = True, batch: bool = False,
              squared_pred: bool = False, gamma: float = 1.0, ignore_index: int = -100,
              grad: bool = True) -> LossGrad:
    """Dice loss on integer class-index targets (MONAI DiceLoss with to_onehot_y).

    Per score (a (sample, class) pair, or a class pooled over the batch with ``batch=True``):
    1 - (2 TP + smooth_nr) / (sum p + sum g + smooth_dr), p = activation(input) ("softmax" over
    the classes, "sigmoid", or "none"), g one-hot; ``squared_pred`` squares p and g in the
    denominator; ``gamma != 1`` gives max(0, 1 - score)^gamma. Positions whose target is
    ``ignore_index`` count nowhere. ``class_weight`` (C values) weighs each score by its class;
    "mean" is the weighted mean sum(w l) / sum(w).

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits or probabilities (see activation). Its dtype is the call's dtype.
    target : array-like
        Class indices, any integer dtype (converted to int64), N * prod(spatial) values
        (shape [N, *spatial]); positions equal to ignore_index count nowhere.
    class_weight : array-like or None
        One value per class (C values), input's dtype; weighs each score by its class.
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean sum(w l) / sum(w) over the scores.
    activation : "softmax" (default, over the classes), "sigmoid" or "none"
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator (default 1e-5 each).
    include_background : bool
        Keep class 0 (default True); False drops it from the scores.
    batch : bool
        Pool each class over the batch (one score per class) instead of one per (sample, class).
    squared_pred : bool
        Square p and g in the denominator (default False).
    gamma : float
        > 0; gamma != 1 gives max(0, 1 - score)^gamma (default 1).
    ignore_index : int
        Targets equal to it count nowhere (default -100).
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for reduction="none" the weighted values per score, shape
        [N, C'] ([C'] with batch=True), C' = C or C - 1 without background; grad is d loss /
        d input in the input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        input's dtype; target is bool or float.
    ValueError
        input has fewer than 2 dimensions, a shape or size does not match, an array is not
        C-contiguous, or an option name (reduction, layout, activation) is unknown.
    LossfnError
        The library refused the call (e.g. a target outside [0, C) other than ignore_index,
        gamma <= 0, reduction="batchmean").
    """
    return _overlap("dice_loss", False, input, target, class_weight, layout, reduction, activation, smooth_nr,
                    smooth_dr, include_background, batch, squared_pred, 0.3, 0.7, gamma, ignore_index, grad)


@_lib.autograd("DiceLossSoft", "score")
def dice_loss_soft(input: ArrayLike, target: ArrayLike, class_weight: Optional[ArrayLike] = None,
                   layout: str = "ncs", reduction: Reduction = "mean", activation: str = "softmax",
                   smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, include_background: bool = True,
                   batch: bool = False, squared_pred: bool = False, gamma: float = 1.0,
                   soft_label: bool = False, grad: bool = True) -> LossGrad:
    """Dice loss on soft or multi-label targets of the input's shape.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits or probabilities (see activation). Its dtype is the call's dtype.
    target : array-like
        Soft or multi-label targets, input's shape and dtype (Python lists take input's dtype).
    class_weight : array-like or None
        One value per class (C values), input's dtype; weighs each score by its class.
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean sum(w l) / sum(w) over the scores.
    activation : "softmax" (default, over the classes), "sigmoid" or "none"
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator (default 1e-5 each).
    include_background : bool
        Keep class 0 (default True); False drops it from the scores.
    batch : bool
        Pool each class over the batch (one score per class) instead of one per (sample, class).
    squared_pred : bool
        Square p and g in the denominator (default False).
    gamma : float
        > 0; gamma != 1 gives max(0, 1 - score)^gamma (default 1).
    soft_label : bool
        MONAI's soft-label sums (compute_tp_fp_fn(..., soft_label=True), default False):
        TP = (sum|p| + sum|g| - sum|p - g|) / 2 = sum min(p, g), P = sum|p|, G = sum|g|
        (FP = P - TP, FN = G - TP); the same as without it for hard (0/1) targets, and with squared_pred.
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for reduction="none" the weighted values per score, shape
        [N, C'] ([C'] with batch=True), C' = C or C - 1 without background; grad is d loss /
        d input in the input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        input's dtype.
    ValueError
        input has fewer than 2 dimensions, a shape or size does not match, an array is not
        C-contiguous, or an option name (reduction, layout, activation) is unknown.
    LossfnError
        The library refused the call (e.g. gamma <= 0, reduction="batchmean").
    """
    return _overlap("dice_loss_soft", True, input, target, class_weight, layout, reduction, activation, smooth_nr,
                    smooth_dr, include_background, batch, squared_pred, 0.3, 0.7, gamma, -100, grad, soft_label)


@_lib.autograd("JaccardLoss", "score")
def jaccard_loss(input: ArrayLike, target: ArrayLike, class_weight: Optional[ArrayLike] = None, layout: str = "ncs",
                 reduction: Reduction = "mean", activation: str = "softmax", smooth_nr: float = 1e-5,
                 smooth_dr: float = 1e-5, include_background: bool = True, batch: bool = False,
                 squared_pred: bool = False, gamma: float = 1.0, ignore_index: int = -100,
                 grad: bool = True) -> LossGrad:
    """Jaccard loss (soft IoU) on integer class-index targets (MONAI DiceLoss(jaccard=True) with
    to_onehot_y).

    Per score (a (sample, class) pair, or a class pooled over the batch with ``batch=True``):
    1 - (2 TP + smooth_nr) / (2 (P + G - TP) + smooth_dr), TP = sum p g, P = sum p, G = sum g,
    i.e. TP / (TP + FP + FN) up to the smoothing; ``squared_pred`` uses sum p^2 and sum g^2 for
    P and G. Everything else (activation, gamma, ignore_index, class_weight, reductions, the
    returned shapes, the errors) as :func:`dice_loss`.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits or probabilities (see activation). Its dtype is the call's dtype.
    target : array-like
        Class indices, any integer dtype (converted to int64), N * prod(spatial) values
        (shape [N, *spatial]); positions equal to ignore_index count nowhere.
    class_weight, layout, reduction, activation, smooth_nr, smooth_dr, include_background, batch, gamma, ignore_index, grad
        As :func:`dice_loss`.
    squared_pred : bool
        P = sum p^2 and G = sum g^2 (default False).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        As :func:`dice_loss`: a 0-d loss, or per score for reduction="none" ([N, C'], [C'] with
        batch=True); grad in the input's shape and dtype.

    Raises
    ------
    TypeError, ValueError, LossfnError
        As :func:`dice_loss`.
    """
    return _overlap("jaccard_loss", False, input, target, class_weight, layout, reduction, activation, smooth_nr,
                    smooth_dr, include_background, batch, squared_pred, 0.3, 0.7, gamma, ignore_index, grad)


@_lib.autograd("JaccardLossSoft", "score")
def jaccard_loss_soft(input: ArrayLike, target: ArrayLike, class_weight: Optional[ArrayLike] = None,
                      layout: str = "ncs", reduction: Reduction = "mean", activation: str = "softmax",
                      smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, include_background: bool = True,
                      batch: bool = False, squared_pred: bool = False, gamma: float = 1.0,
                      soft_label: bool = False, grad: bool = True) -> LossGrad:
    """Jaccard loss on soft or multi-label targets of the input's shape (MONAI
    DiceLoss(jaccard=True)); as :func:`jaccard_loss` otherwise.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits or probabilities (see activation). Its dtype is the call's dtype.
    target : array-like
        Soft or multi-label targets, input's shape and dtype (Python lists take input's dtype).
    class_weight, layout, reduction, activation, smooth_nr, smooth_dr, include_background, batch, squared_pred, gamma, grad
        As :func:`jaccard_loss`.
    soft_label : bool
        MONAI's soft-label sums, as :func:`dice_loss_soft` (default False).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        As :func:`jaccard_loss`.

    Raises
    ------
    TypeError, ValueError, LossfnError
        As :func:`dice_loss_soft`.
    """
    return _overlap("jaccard_loss_soft", True, input, target, class_weight, layout, reduction, activation,
                    smooth_nr, smooth_dr, include_background, batch, squared_pred, 0.3, 0.7, gamma, -100, grad,
                    soft_label)


@_lib.autograd("TverskyLoss", "score")
def tversky_loss(input: ArrayLike, target: ArrayLike, class_weight: Optional[ArrayLike] = None, layout: str = "ncs",
                 reduction: Reduction = "mean", activation: str = "softmax", smooth_nr: float = 1e-5,
                 smooth_dr: float = 1e-5, include_background: bool = True, batch: bool = False,
                 alpha: float = 0.3, beta: float = 0.7, gamma: float = 1.0, ignore_index: int = -100,
                 grad: bool = True) -> LossGrad:
    """Tversky loss on integer class-index targets (MONAI TverskyLoss; Focal Tversky with gamma).

    Per score: 1 - (TP + smooth_nr) / (TP + alpha FP + beta FN + smooth_dr), FP = sum p (1 - g),
    FN = sum (1 - p) g; gamma != 1 gives max(0, 1 - score)^gamma (Focal Tversky: 0.75).
    Everything else as dice_loss.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits or probabilities (see activation). Its dtype is the call's dtype.
    target : array-like
        Class indices, any integer dtype (converted to int64), N * prod(spatial) values
        (shape [N, *spatial]); positions equal to ignore_index count nowhere.
    class_weight : array-like or None
        One value per class (C values), input's dtype; weighs each score by its class.
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean sum(w l) / sum(w) over the scores.
    activation : "softmax" (default, over the classes), "sigmoid" or "none"
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator (default 1e-5 each).
    include_background : bool
        Keep class 0 (default True); False drops it from the scores.
    batch : bool
        Pool each class over the batch (one score per class) instead of one per (sample, class).
    alpha, beta : float
        Weights of false positives and false negatives (finite, >= 0; default 0.3, 0.7).
    gamma : float
        > 0; gamma != 1 gives max(0, 1 - score)^gamma (Focal Tversky: 0.75) (default 1).
    ignore_index : int
        Targets equal to it count nowhere (default -100).
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for reduction="none" the weighted values per score, shape
        [N, C'] ([C'] with batch=True), C' = C or C - 1 without background; grad is d loss /
        d input in the input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        input's dtype; target is bool or float.
    ValueError
        input has fewer than 2 dimensions, a shape or size does not match, an array is not
        C-contiguous, or an option name (reduction, layout, activation) is unknown.
    LossfnError
        The library refused the call (e.g. a target outside [0, C) other than ignore_index,
        gamma <= 0, reduction="batchmean").
    """
    return _overlap("tversky_loss", False, input, target, class_weight, layout, reduction, activation, smooth_nr,
                    smooth_dr, include_background, batch, False, alpha, beta, gamma, ignore_index, grad)


@_lib.autograd("TverskyLossSoft", "score")
def tversky_loss_soft(input: ArrayLike, target: ArrayLike, class_weight: Optional[ArrayLike] = None,
                      layout: str = "ncs", reduction: Reduction = "mean", activation: str = "softmax",
                      smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, include_background: bool = True,
                      batch: bool = False, alpha: float = 0.3, beta: float = 0.7, gamma: float = 1.0,
                      soft_label: bool = False, grad: bool = True) -> LossGrad:
    """Tversky loss on soft or multi-label targets of the input's shape.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits or probabilities (see activation). Its dtype is the call's dtype.
    target : array-like
        Soft or multi-label targets, input's shape and dtype (Python lists take input's dtype).
    class_weight : array-like or None
        One value per class (C values), input's dtype; weighs each score by its class.
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean sum(w l) / sum(w) over the scores.
    activation : "softmax" (default, over the classes), "sigmoid" or "none"
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator (default 1e-5 each).
    include_background : bool
        Keep class 0 (default True); False drops it from the scores.
    batch : bool
        Pool each class over the batch (one score per class) instead of one per (sample, class).
    alpha, beta : float
        Weights of false positives and false negatives (finite, >= 0; default 0.3, 0.7).
    gamma : float
        > 0; gamma != 1 gives max(0, 1 - score)^gamma (Focal Tversky: 0.75) (default 1).
    soft_label : bool
        MONAI's soft-label sums (compute_tp_fp_fn(..., soft_label=True), default False):
        TP = (sum|p| + sum|g| - sum|p - g|) / 2 = sum min(p, g), P = sum|p|, G = sum|g|
        (FP = P - TP, FN = G - TP); the same as without it for hard (0/1) targets.
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for reduction="none" the weighted values per score, shape
        [N, C'] ([C'] with batch=True), C' = C or C - 1 without background; grad is d loss /
        d input in the input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        input's dtype.
    ValueError
        input has fewer than 2 dimensions, a shape or size does not match, an array is not
        C-contiguous, or an option name (reduction, layout, activation) is unknown.
    LossfnError
        The library refused the call (e.g. gamma <= 0, reduction="batchmean").
    """
    return _overlap("tversky_loss_soft", True, input, target, class_weight, layout, reduction, activation,
                    smooth_nr, smooth_dr, include_background, batch, False, alpha, beta, gamma, -100, grad, soft_label)


@_lib.autograd("GeneralizedDiceLoss", "sample")
def generalized_dice_loss(input: ArrayLike, target: ArrayLike, layout: str = "ncs", reduction: Reduction = "mean",
                          activation: str = "softmax", w_type: str = "square", smooth_nr: float = 1e-5,
                          smooth_dr: float = 1e-5, include_background: bool = True, batch: bool = False,
                          gamma: float = 1.0, ignore_index: int = -100, grad: bool = True) -> LossGrad:
    """Generalized Dice loss on integer class-index targets, exactly as MONAI GeneralizedDiceLoss
    (with to_onehot_y).

    Per sample (or once for the batch pooled, ``batch=True``): 1 - (2 sum_c w_c TP_c + smooth_nr)
    / (sum_c w_c (P_c + G_c) + smooth_dr) with TP, P, G the Dice sums of class c and w_c =
    1/G_c^2 ("square"), 1/G_c ("simple") or 1 ("uniform"); a class absent from the sample
    (infinite weight) gets the sample's largest finite weight (0 if every class is absent), as
    MONAI. The weights are computed in the input's dtype (MONAI: float32 always). No class_weight.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits or probabilities (see activation). Its dtype is the call's dtype.
    target : array-like
        Class indices, any integer dtype (converted to int64), N * prod(spatial) values
        (shape [N, *spatial]); positions equal to ignore_index count nowhere.
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
    reduction : "mean" (default), "sum" or "none"
        "mean" is the mean over the scores (N of them, or 1 with batch=True).
    activation : "softmax" (default, over the classes), "sigmoid" or "none"
    w_type : "square" (default, 1/G^2), "simple" (1/G) or "uniform" (1)
        The class weights from each class's target mass G (MONAI's Weight).
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator (default 1e-5 each).
    include_background : bool
        Keep class 0 (default True); False drops it from the scores.
    batch : bool
        One score over the batch pooled instead of one per sample.
    gamma : float
        > 0; gamma != 1 gives max(0, 1 - score)^gamma (default 1, MONAI's loss).
    ignore_index : int
        Targets equal to it count nowhere (default -100).
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for reduction="none" one value per sample, shape [N] ([1] with
        batch=True); grad is d loss / d input in the input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        input's dtype; target is bool or float.
    ValueError
        input has fewer than 2 dimensions, a shape or size does not match, an array is not
        C-contiguous, or an option name (reduction, layout, activation, w_type) is unknown.
    LossfnError
        The library refused the call (e.g. a target outside [0, C) other than ignore_index, gamma <= 0, reduction="batchmean").
    """
    return _overlap("generalized_dice_loss", False, input, target, None, layout, reduction, activation, smooth_nr,
                    smooth_dr, include_background, batch, False, 0.3, 0.7, gamma, ignore_index, grad, w_type=w_type)


@_lib.autograd("GeneralizedDiceLossSoft", "sample")
def generalized_dice_loss_soft(input: ArrayLike, target: ArrayLike, layout: str = "ncs",
                               reduction: Reduction = "mean", activation: str = "softmax", w_type: str = "square",
                               smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, include_background: bool = True,
                               batch: bool = False, gamma: float = 1.0, soft_label: bool = False,
                               grad: bool = True) -> LossGrad:
    """Generalized Dice loss on soft or multi-label targets of the input's shape, exactly as MONAI
    GeneralizedDiceLoss (see generalized_dice_loss; its weights come from G = sum g per class).

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits or probabilities (see activation). Its dtype is the call's dtype.
    target : array-like
        Soft or multi-label targets, input's shape and dtype (Python lists take input's dtype).
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
    reduction : "mean" (default), "sum" or "none"
        "mean" is the mean over the scores (N of them, or 1 with batch=True).
    activation : "softmax" (default, over the classes), "sigmoid" or "none"
    w_type : "square" (default, 1/G^2), "simple" (1/G) or "uniform" (1)
        The class weights from each class's target mass G (MONAI's Weight).
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator (default 1e-5 each).
    include_background : bool
        Keep class 0 (default True); False drops it from the scores.
    batch : bool
        One score over the batch pooled instead of one per sample.
    gamma : float
        > 0; gamma != 1 gives max(0, 1 - score)^gamma (default 1, MONAI's loss).
    soft_label : bool
        MONAI's soft-label sums (compute_tp_fp_fn(..., soft_label=True), default False):
        TP = (sum|p| + sum|g| - sum|p - g|) / 2, P = sum|p|, G = sum|g|.
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for reduction="none" one value per sample, shape [N] ([1] with
        batch=True); grad is d loss / d input in the input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        input's dtype.
    ValueError
        input has fewer than 2 dimensions, a shape or size does not match, an array is not
        C-contiguous, or an option name (reduction, layout, activation, w_type) is unknown.
    LossfnError
        The library refused the call (e.g. gamma <= 0, reduction="batchmean").
    """
    return _overlap("generalized_dice_loss_soft", True, input, target, None, layout, reduction, activation,
                    smooth_nr, smooth_dr, include_background, batch, False, 0.3, 0.7, gamma, -100, grad, soft_label,
                    w_type=w_type)


@_lib.autograd("DiceCELoss", "total_parts")
def dice_ce_loss(input: ArrayLike, target: ArrayLike, class_weight: Optional[ArrayLike] = None, layout: str = "ncs",
                 reduction: Reduction = "mean", smooth_nr: float = 1e-5, smooth_dr: float = 1e-5,
                 include_background: bool = True, batch: bool = False, squared_pred: bool = False, gamma: float = 1.0,
                 ignore_index: int = -100, label_smoothing: float = 0.0, lambda_dice: float = 1.0,
                 lambda_ce: float = 1.0, ce_reduction: Optional[Reduction] = None, grad: bool = True) -> LossGrad:
    """Dice + cross entropy on one softmax (MONAI DiceCELoss with softmax=True, to_onehot_y=True),
    in the passes Dice alone makes.

    The Dice part is dice_loss with the Dice options (softmax), times lambda_dice; the cross-entropy
    part is lossfn.cross_entropy with the same targets, class_weight, ignore_index and
    label_smoothing, times lambda_ce. Ignored positions count in neither part.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits. Its dtype is the call's dtype.
    target : array-like
        Class indices, any integer dtype (converted to int64), N * prod(spatial) values.
    class_weight : array-like or None
        One value per class (C values), input's dtype: the Dice term weights and the cross-entropy
        weight (MONAI's `weight`).
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
    reduction : "mean" (default) or "sum"
        The Dice part's reduction (and the cross entropy's, unless ce_reduction is given).
    smooth_nr, smooth_dr, include_background, batch, squared_pred, gamma : as dice_loss
    ignore_index : int
        Targets equal to it count in neither part (default -100).
    label_smoothing : float
        In [0, 1], of the cross-entropy part (default 0).
    lambda_dice, lambda_ce : float
        Each part's weight (MONAI's lambda_dice, lambda_ce; the C loss_weight of each struct).
    ce_reduction : "mean", "sum" or None (= reduction)
        "mean" divides the cross entropy by sum w_y over the non-ignored positions, as torch.
    grad : bool
        Compute d total / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss holds 3 values [total, dice part, cross-entropy part] (each part after its lambda);
        grad is d total / d input in the input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        input's dtype; target is bool or float.
    ValueError
        input has fewer than 2 dimensions, a shape or size does not match, an array is not
        C-contiguous, or an option name (reduction, layout) is unknown.
    LossfnError
        The library refused the call (e.g. a target outside [0, C) other than ignore_index,
        reduction="none", label_smoothing outside [0, 1], classes = 1).
    """
    from .classification import CrossEntropyOptions
    return _fused("dice_ce_loss", input, target, class_weight, layout, reduction, smooth_nr, smooth_dr,
                  include_background, batch, squared_pred, gamma, ignore_index, lambda_dice, grad,
                  lambda red: CrossEntropyOptions(red, ignore_index, label_smoothing, loss_weight=lambda_ce), ce_reduction)


def _fused(name: str, input: ArrayLike, target: ArrayLike, class_weight: Optional[ArrayLike], layout: str,
           reduction: Reduction, smooth_nr: float, smooth_dr: float, include_background: bool, batch: bool,
           squared_pred: bool, gamma: float, ignore_index: int, lambda_dice: float, grad: bool,
           other_options: Any, other_reduction: Optional[Reduction]) -> LossGrad:
    """The shared body of dice_ce_loss and dice_focal_loss: `other_options(reduction code)` builds
    the second part's options struct."""
    x = _lib.float_array("input", input)
    shape = _shape(x, layout)
    t = _lib.index_array("target", target, shape.batch * shape.spatial)
    w = _lib.optional_float_array("class_weight", class_weight, x.dtype, shape.classes)
    red = _lib.reduction(reduction)
    dice = OverlapOptions(red, ACTIVATIONS["softmax"], smooth_nr, smooth_dr, bool(include_background), bool(batch),
                          bool(squared_pred), 0.3, 0.7, gamma, ignore_index, 0, False, loss_weight=lambda_dice)
    other = other_options(red if other_reduction is None else _lib.reduction(other_reduction))
    loss = np.empty(3, x.dtype)
    g = np.empty_like(x) if grad else None
    fn = _lib.function(name, x.dtype)
    _lib.check(fn(_lib.ptr(x), _lib.ptr(t), _lib.ptr(w), shape, ctypes.byref(dice), ctypes.byref(other),
                  _lib.ptr(loss), _lib.ptr(g)))
    return loss, g


@_lib.autograd("DiceFocalLoss", "total_parts")
def dice_focal_loss(input: ArrayLike, target: ArrayLike, class_weight: Optional[ArrayLike] = None,
                    layout: str = "ncs", reduction: Reduction = "mean", smooth_nr: float = 1e-5,
                    smooth_dr: float = 1e-5, include_background: bool = True, batch: bool = False,
                    squared_pred: bool = False, gamma: float = 2.0, ignore_index: int = -100,
                    lambda_dice: float = 1.0, lambda_focal: float = 1.0, focal_reduction: Optional[Reduction] = None,
                    grad: bool = True) -> LossGrad:
    """Dice + softmax focal on one softmax, in the passes Dice alone makes.

    The Dice part is dice_loss with the Dice options (softmax), times lambda_dice; the focal part
    is lossfn.softmax_focal_loss (term by term MONAI FocalLoss(use_softmax=True):
    -alpha_y (1 - p_y)^gamma ln p_y, "mean" over the positions that count) with class_weight as
    its per-class alpha, times lambda_focal. MONAI's DiceFocalLoss pairs Dice with a sigmoid focal
    loss; this is the softmax one. Ignored positions count in neither part.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits. Its dtype is the call's dtype.
    target : array-like
        Class indices, any integer dtype (converted to int64), N * prod(spatial) values.
    class_weight : array-like or None
        One value per class (C values), input's dtype: the Dice term weights and the focal alpha.
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
    reduction : "mean" (default) or "sum"
        The Dice part's reduction (and the focal part's, unless focal_reduction is given).
    smooth_nr, smooth_dr, include_background, batch, squared_pred : as dice_loss
    gamma : float
        The focal part's focusing parameter, >= 0 (default 2; 0 gives the cross entropy).
    ignore_index : int
        Targets equal to it count in neither part (default -100).
    lambda_dice, lambda_focal : float
        Each part's weight (MONAI's lambda_dice, lambda_focal; the C loss_weight of each struct).
    focal_reduction : "mean", "sum" or None (= reduction)
    grad : bool
        Compute d total / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss holds 3 values [total, dice part, focal part] (each part after its lambda); grad is
        d total / d input in the input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        input's dtype; target is bool or float.
    ValueError
        input has fewer than 2 dimensions, a shape or size does not match, an array is not
        C-contiguous, or an option name (reduction, layout) is unknown.
    LossfnError
        The library refused the call (e.g. a target outside [0, C) other than ignore_index,
        reduction="none", gamma < 0, classes = 1).
    """
    from .classification import FocalOptions
    return _fused("dice_focal_loss", input, target, class_weight, layout, reduction, smooth_nr, smooth_dr,
                  include_background, batch, squared_pred, 1.0, ignore_index, lambda_dice, grad,
                  lambda red: FocalOptions(red, 0.25, gamma, ignore_index, loss_weight=lambda_focal), focal_reduction)


class LovaszOptions(_lib.Options):
    """``lossfn_lovasz_options``."""

    _fields_ = [
        ("reduction", ctypes.c_uint32),
        ("activation", ctypes.c_uint32),
        ("per_image", ctypes.c_bool),
        ("classes_present", ctypes.c_bool),
        ("ignore_index", ctypes.c_int64),
    ] + _lib.CONTROLS


LOVASZ_CLASSES = {"present": True, "all": False}


def _lovasz(name: str, hinge: bool, input: ArrayLike, target: ArrayLike, layout: str, reduction: Reduction,
            activation: str, per_image: bool, classes: str, ignore_index: int, grad: bool) -> LossGrad:
    """The shared body of the two Lovász losses."""
    x = _lib.float_array("logits" if hinge else "input", input)
    shape = _shape(x, layout)
    positions = shape.batch * shape.spatial
    if hinge:
        t = _lib.float_array("target", target, x.dtype)
        if t.size != positions:
            raise ValueError(f"target has {t.size} values, expected N * prod(spatial) = {positions}")
    else:
        t = _lib.index_array("target", target, positions)
    if classes not in LOVASZ_CLASSES:
        raise ValueError(f"unknown classes {classes!r}: expected 'present' or 'all'")
    red = _lib.reduction(reduction)
    opts = LovaszOptions(red, _lib.enum(activation, ACTIVATIONS, "activation"), bool(per_image),
                         LOVASZ_CLASSES[classes], ignore_index)
    values = (shape.batch,) if per_image else (1,)
    loss = np.empty(math.prod(values) if red == 0 else 1, x.dtype)
    g = np.empty_like(x) if grad else None
    fn = _lib.function(name, x.dtype)
    _lib.check(fn(_lib.ptr(x), _lib.ptr(t), shape, ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g)))
    return _lib.reduced(loss, red, values), g


@_lib.autograd("LovaszSoftmaxLoss", "sample")
def lovasz_softmax_loss(input: ArrayLike, target: ArrayLike, layout: str = "ncs", reduction: Reduction = "mean",
                        activation: str = "softmax", per_image: bool = False, classes: str = "present",
                        ignore_index: int = -100, grad: bool = True) -> LossGrad:
    """Lovász-Softmax loss (Berman et al. 2018) as segmentation_models_pytorch
    LovaszLoss("multiclass").

    p = softmax(input) over the classes; per class counted, over the valid positions of the batch
    (or of each image, ``per_image=True``), the errors |[y = c] - p_c| sorted in decreasing order
    (ties broken by position, so results are deterministic) dotted with the Lovász gradient of the
    Jaccard loss; the loss is the mean over the classes counted, and with per_image the mean over
    the images. An image without valid positions is 0 (and counts in the mean).

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits (or probabilities with activation="none"). Its dtype is the call's dtype.
    target : array-like
        Class indices, any integer dtype (converted to int64), N * prod(spatial) values
        (shape [N, *spatial]); positions equal to ignore_index count nowhere.
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
    reduction : "mean" (default), "sum" or "none"
        Over the per-image values with per_image=True (one value otherwise).
    activation : "softmax" (default) or "none" (input is probabilities)
    per_image : bool
        One loss per image, averaged (default False: one loss over the batch, smp's default).
    classes : "present" (default: the classes present in the target) or "all"
    ignore_index : int
        Targets equal to it count nowhere (default -100; smp's ignore_index).
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or for reduction="none" one value per image, shape [N] ([1] without
        per_image); grad is d loss / d input in the input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, input is not float32/float64; target is bool or float.
    ValueError
        input has fewer than 2 dimensions, a size does not match, an array is not C-contiguous,
        or an option name (reduction, layout, activation, classes) is unknown.
    LossfnError
        The library refused the call (e.g. a target outside [0, C) other than ignore_index,
        activation="sigmoid", softmax over C = 1).
    """
    return _lovasz("lovasz_softmax_loss", False, input, target, layout, reduction, activation, per_image, classes,
                   ignore_index, grad)


@_lib.autograd("LovaszHingeLoss", "sample")
def lovasz_hinge_loss(logits: ArrayLike, target: ArrayLike, layout: str = "ncs", reduction: Reduction = "mean",
                      per_image: bool = False, ignore_index: int = -100, grad: bool = True) -> LossGrad:
    """Lovász hinge loss (binary) as segmentation_models_pytorch LovaszLoss("binary").

    Errors 1 - x (2t - 1) of the logits x against targets t in {0, 1}, sorted in decreasing order
    (ties broken by position), their positive parts dotted with the Lovász gradient of the
    Jaccard loss; over the batch, or per image and averaged (``per_image=True``).

    Parameters
    ----------
    logits : array-like, float32 or float64, shape [N, 1, *spatial]
        One logit per position (C = 1). Its dtype is the call's dtype.
    target : array-like, logits' dtype
        0.0 or 1.0 (or ignore_index), N * prod(spatial) values.
    layout : "ncs" (default) or "nsc" (the same for one class)
    reduction : "mean" (default), "sum" or "none"
        Over the per-image values with per_image=True (one value otherwise).
    per_image : bool
        One loss per image, averaged (default False).
    ignore_index : int
        Targets equal to it count nowhere (default -100).
    grad : bool
        Compute d loss / d logits (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        As lovasz_softmax_loss.

    Raises
    ------
    TypeError
        An argument is not an array, or not float32/float64, or target's dtype differs.
    ValueError
        logits has fewer than 2 dimensions, a size does not match, an array is not
        C-contiguous, or an option name is unknown.
    LossfnError
        The library refused the call (a target other than 0, 1 or ignore_index; C != 1).
    """
    return _lovasz("lovasz_hinge_loss", True, logits, target, layout, reduction, "none", per_image, "present",
                   ignore_index, grad)


# ---- The batch score across data-parallel ranks, in two phases (docs/distributed.md) ----

def _stats_call(name: str, soft: bool, input: ArrayLike, target: ArrayLike, kind: str, layout: str, activation: str,
                include_background: bool, squared_pred: bool, ignore_index: int, soft_label: bool) -> np.ndarray:
    x = _lib.float_array("input", input)
    shape = _shape(x, layout)
    t = _target(soft, x, target, shape)
    opts = OverlapOptions(0, _lib.enum(activation, ACTIVATIONS, "activation"), 1e-5, 1e-5, bool(include_background),
                          True, bool(squared_pred), 0.3, 0.7, 1.0, ignore_index, 0, soft_label=bool(soft_label))
    classes = shape.classes if include_background else max(shape.classes - 1, 0)
    stats = np.empty((classes, 3), np.float64)
    fn = _lib.function(name, x.dtype)
    _lib.check(fn(ctypes.c_uint32(_lib.enum(kind, KINDS, "kind")), _lib.ptr(x), _lib.ptr(t), shape,
                  ctypes.byref(opts), _lib.ptr(stats), ctypes.c_size_t(stats.size)))
    return stats


def _target(soft: bool, x: np.ndarray, target: ArrayLike, shape: _lib.Shape) -> np.ndarray:
    if soft:
        t = _lib.float_array("target", target, x.dtype)
        if t.shape != x.shape:
            raise ValueError(f"target shape {t.shape} differs from input shape {x.shape}")
        return t
    return _lib.index_array("target", target, shape.batch * shape.spatial)


def overlap_stats(input: ArrayLike, target: ArrayLike, kind: str = "dice", layout: str = "ncs",
                  activation: str = "softmax", include_background: bool = True, squared_pred: bool = False,
                  ignore_index: int = -100) -> np.ndarray:
    """Phase 1 of the exact batch Dice, Tversky or generalized Dice of a batch split across
    data-parallel ranks (``batch=True``): this rank's statistics, to be summed over the ranks
    (``MPI.Allreduce`` / ``torch.distributed.all_reduce``, SUM) and handed to
    :func:`overlap_loss_from_stats`. See docs/distributed.md.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits or probabilities (see activation). N may be 0 (a rank without samples).
    target : array-like
        Class indices, any integer dtype (converted to int64), N * prod(spatial) values.
    kind : "dice" (default), "tversky", "generalized_dice" or "jaccard"
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
    activation : "softmax" (default, over the classes), "sigmoid" or "none"
    include_background : bool
        Keep class 0 (default True): one row per class kept.
    squared_pred : bool
        Dice and Jaccard only: P and G are sum p^2 and sum g^2 (default False).
    ignore_index : int
        Targets equal to it count nowhere (default -100).

    Returns
    -------
    numpy.ndarray, float64, shape [C', 3]
        [TP, P, G] per class kept (C' = C, or C - 1 without class 0): TP = sum p*g, P = sum p,
        G = sum g over this rank's batch.

    Raises
    ------
    TypeError
        An argument is not an array, input is not float32/float64, target is bool or float.
    ValueError
        A shape or size does not match, an array is not C-contiguous, or an option name is unknown.
    LossfnError
        The library refused the call (e.g. a target outside [0, C) other than ignore_index).
    """
    return _stats_call("overlap_stats", False, input, target, kind, layout, activation, include_background,
                       squared_pred, ignore_index, False)


def overlap_stats_soft(input: ArrayLike, target: ArrayLike, kind: str = "dice", layout: str = "ncs",
                       activation: str = "softmax", include_background: bool = True, squared_pred: bool = False,
                       soft_label: bool = False) -> np.ndarray:
    """Phase 1 on soft or multi-label targets of the input's shape: as :func:`overlap_stats`.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        Logits or probabilities (see activation).
    target : array-like
        Soft or multi-label targets, input's shape and dtype.
    kind : "dice" (default), "tversky", "generalized_dice" or "jaccard"
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
    activation : "softmax" (default), "sigmoid" or "none"
    include_background : bool
        Keep class 0 (default True).
    squared_pred : bool
        Dice and Jaccard only: sum p^2 and sum g^2 (default False).
    soft_label : bool
        MONAI's soft-label sums: TP = (sum|p| + sum|g| - sum|p - g|) / 2, P = sum|p|, G = sum|g|.

    Returns
    -------
    numpy.ndarray, float64, shape [C', 3]
        [TP, P, G] per class kept.

    Raises
    ------
    TypeError
        An argument is not an array or a float argument differs from input's dtype.
    ValueError
        A shape or size does not match, an array is not C-contiguous, or an option name is unknown.
    LossfnError
        The library refused the call.
    """
    return _stats_call("overlap_stats_soft", True, input, target, kind, layout, activation, include_background,
                       squared_pred, -100, soft_label)


def _from_stats(name: str, soft: bool, input: ArrayLike, target: ArrayLike, global_stats: ArrayLike, kind: str,
                class_weight: Optional[ArrayLike], layout: str, reduction: Reduction, activation: str,
                smooth_nr: float, smooth_dr: float, include_background: bool, squared_pred: bool, alpha: float,
                beta: float, gamma: float, ignore_index: int, w_type: str, soft_label: bool, grad: bool) -> LossGrad:
    x = _lib.float_array("input", input)
    shape = _shape(x, layout)
    t = _target(soft, x, target, shape)
    k = _lib.enum(kind, KINDS, "kind")
    w = _lib.optional_float_array("class_weight", class_weight, x.dtype, shape.classes)
    stats = _lib.float_array("global_stats", global_stats).reshape(-1)
    if stats.dtype != np.float64:
        raise TypeError(f"global_stats must be float64 (the statistics are double), got {stats.dtype}")
    red = _lib.reduction(reduction)
    opts = OverlapOptions(red, _lib.enum(activation, ACTIVATIONS, "activation"), smooth_nr, smooth_dr,
                          bool(include_background), True, bool(squared_pred), alpha, beta, gamma, ignore_index,
                          _lib.enum(w_type, W_TYPES, "w_type"), soft_label=bool(soft_label))
    classes = shape.classes if include_background else max(shape.classes - 1, 0)
    scores = (1,) if k == KINDS["generalized_dice"] else (classes,)
    loss = np.empty(math.prod(scores) if red == 0 else 1, x.dtype)
    g = np.empty_like(x) if grad else None
    fn = _lib.function(name, x.dtype)
    _lib.check(fn(ctypes.c_uint32(k), _lib.ptr(x), _lib.ptr(t), _lib.ptr(w), shape, ctypes.byref(opts),
                  _lib.ptr(stats), ctypes.c_size_t(stats.size), _lib.ptr(loss), _lib.ptr(g)))
    return _lib.reduced(loss, red, scores), g


@_lib.autograd("OverlapLossFromStats", "score")
def overlap_loss_from_stats(input: ArrayLike, target: ArrayLike, global_stats: ArrayLike, kind: str = "dice",
                            class_weight: Optional[ArrayLike] = None, layout: str = "ncs",
                            reduction: Reduction = "mean", activation: str = "softmax", smooth_nr: float = 1e-5,
                            smooth_dr: float = 1e-5, include_background: bool = True, squared_pred: bool = False,
                            alpha: float = 0.3, beta: float = 0.7, gamma: float = 1.0, ignore_index: int = -100,
                            w_type: str = "square", grad: bool = True) -> LossGrad:
    """Phase 2 of the exact batch score across ranks: the loss of the whole batch from the
    statistics summed over every rank (``global_stats``, from :func:`overlap_stats`), and this
    rank's gradient of it. Every rank gets the same loss; with one rank's own statistics it equals
    dice_loss / tversky_loss / generalized_dice_loss with ``batch=True``, bit for bit.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        This rank's logits or probabilities, as passed to overlap_stats.
    target : array-like
        This rank's class indices, N * prod(spatial) values.
    global_stats : array-like, float64, 3 * C' values ([C', 3])
        The sum over the ranks of their overlap_stats.
    kind : "dice" (default), "tversky", "generalized_dice" or "jaccard"
    class_weight : array-like or None
        One value per class (input's dtype), as dice_loss; None for "generalized_dice".
    layout : "ncs" (default; also "nchw") or "nsc" ("nhwc")
    reduction : "mean" (default), "sum" or "none"
        "none": one value per class kept ([C']), or [1] for "generalized_dice".
    activation : "softmax" (default), "sigmoid" or "none"
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator (default 1e-5 each).
    include_background : bool
        Keep class 0 (default True); must match the statistics.
    squared_pred : bool
        Dice and Jaccard only (default False); must match the statistics.
    alpha, beta : float
        Tversky only: weights of false positives (0.3) and false negatives (0.7).
    gamma : float
        > 0; gamma != 1 gives max(0, 1 - score)^gamma (Focal Tversky; default 1).
    ignore_index : int
        Targets equal to it count nowhere (default -100).
    w_type : "square" (default), "simple" or "uniform"
        Generalized Dice only: the class weights from each class's global G.
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        The whole batch's loss (0-d, or the unreduced values), and this rank's gradient.

    Raises
    ------
    TypeError
        An argument is not an array, a float argument is not float32/float64 or differs from
        input's dtype; target is bool or float.
    ValueError
        A shape or size does not match, an array is not C-contiguous, or an option name is unknown.
    LossfnError
        The library refused the call: statistics of another class count (INVALID_SIZE), NaN or
        negative counts (a broken all-reduce), class_weight with "generalized_dice".
    """
    return _from_stats("overlap_loss_from_stats", False, input, target, global_stats, kind, class_weight, layout,
                       reduction, activation, smooth_nr, smooth_dr, include_background, squared_pred, alpha, beta,
                       gamma, ignore_index, w_type, False, grad)


@_lib.autograd("OverlapLossFromStatsSoft", "score")
def overlap_loss_from_stats_soft(input: ArrayLike, target: ArrayLike, global_stats: ArrayLike, kind: str = "dice",
                                 class_weight: Optional[ArrayLike] = None, layout: str = "ncs",
                                 reduction: Reduction = "mean", activation: str = "softmax",
                                 smooth_nr: float = 1e-5, smooth_dr: float = 1e-5, include_background: bool = True,
                                 squared_pred: bool = False, alpha: float = 0.3, beta: float = 0.7,
                                 gamma: float = 1.0, w_type: str = "square", soft_label: bool = False,
                                 grad: bool = True) -> LossGrad:
    """Phase 2 on soft or multi-label targets: as :func:`overlap_loss_from_stats`, with the
    statistics of :func:`overlap_stats_soft`.

    Parameters
    ----------
    input : array-like, float32 or float64, shape [N, C, *spatial] (or [N, *spatial, C] with layout="nsc")
        This rank's logits or probabilities.
    target : array-like
        Soft or multi-label targets, input's shape and dtype.
    global_stats : array-like, float64, 3 * C' values
        The sum over the ranks of their overlap_stats_soft.
    kind : "dice" (default), "tversky", "generalized_dice" or "jaccard"
    class_weight : array-like or None
        One value per class; None for "generalized_dice".
    layout : "ncs" (default) or "nsc"
    reduction : "mean" (default), "sum" or "none"
    activation : "softmax" (default), "sigmoid" or "none"
    smooth_nr, smooth_dr : float
        Added to the numerator and the denominator (default 1e-5 each).
    include_background : bool
        Keep class 0 (default True); must match the statistics.
    squared_pred : bool
        Dice and Jaccard only; must match the statistics.
    alpha, beta : float
        Tversky only (0.3, 0.7).
    gamma : float
        > 0 (default 1).
    w_type : "square" (default), "simple" or "uniform"
        Generalized Dice only.
    soft_label : bool
        MONAI's soft-label sums; must match the statistics.
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        The whole batch's loss and this rank's gradient.

    Raises
    ------
    TypeError
        An argument is not an array or a float argument differs from input's dtype.
    ValueError
        A shape or size does not match, an array is not C-contiguous, or an option name is unknown.
    LossfnError
        The library refused the call.
    """
    return _from_stats("overlap_loss_from_stats_soft", True, input, target, global_stats, kind, class_weight, layout,
                       reduction, activation, smooth_nr, smooth_dr, include_background, squared_pred, alpha, beta,
                       gamma, -100, w_type, soft_label, grad)
