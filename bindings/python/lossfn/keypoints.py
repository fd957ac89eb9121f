"""Keypoint losses: the OKS loss of pose heads (ultralytics KeypointLoss)."""
from __future__ import annotations

__all__ = ["keypoint_oks_loss"]
import ctypes
from typing import Optional

import numpy as np

from . import _lib
from ._lib import ArrayLike, LossGrad, Reduction

# ultralytics/utils/metrics.py OKS_SIGMA: COCO's 17 person keypoint sigmas divided by 10, the
# sigmas ultralytics' pose heads train with (COCO's evaluation uses the same array / 10 as well).
# Computed in float64; recent ultralytics computes it in float32, which differs from the float64
# values cast to float32 by at most one float32 ulp per sigma.
OKS_SIGMA = np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87,
                      0.89, 0.89], dtype=np.float64) / 10.0


class KeypointOptions(_lib.Options):
    """``lossfn_keypoint_options``."""

    _fields_ = [("reduction", ctypes.c_uint32)] + _lib.CONTROLS


@_lib.autograd("KeypointOKSLoss", "box")
def keypoint_oks_loss(pred: ArrayLike, target: ArrayLike, visible: ArrayLike, area: ArrayLike,
                      sigmas: Optional[ArrayLike] = None, reduction: Reduction = "mean", grad: bool = True) -> LossGrad:
    """Keypoint OKS loss as ultralytics KeypointLoss: per instance i and keypoint j,
    f_i (1 - exp(-d_ij / ((2 sigma_j)^2 (area_i + 1e-9) 2))) [visible_ij != 0],
    f_i = k / (number of visible keypoints of i + 1e-9), d_ij the squared distance.

    Parameters
    ----------
    pred : array-like, float32 or float64, shape (n, k, 2)
        Predicted keypoints (x, y). Its dtype is the call's dtype.
    target : array-like, pred's shape and dtype
        Target keypoints.
    visible : array-like, pred's dtype, shape (n, k)
        Nonzero where the keypoint is labelled (COCO's visibility flags work as they are).
    area : array-like, pred's dtype, shape (n,)
        Each instance's box area (ultralytics: the target box's w * h); a negative area counts as 0.
    sigmas : array-like or None, pred's dtype, shape (k,)
        Per-keypoint OKS sigmas; None: ultralytics' ``OKS_SIGMA`` for COCO's 17 person keypoints
        (COCO's sigmas / 10; k must be 17), as its pose heads use.
    reduction : "mean" (default), "sum" or "none"
        "mean" is over the n * k terms, as ultralytics' .mean(); "none" gives shape (n, k).
    grad : bool
        Compute d loss / d pred (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array, or shape (n, k) for "none"; grad has pred's shape and dtype.

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from pred's.
    ValueError
        pred is not (n, k, 2), a shape does not match, sigmas is None with k != 17, an array is
        not C-contiguous, or reduction is unknown.
    LossfnError
        The library refused the call (e.g. reduction="batchmean").
    """
    p = _lib.float_array("pred", pred)
    if p.ndim != 3 or p.shape[-1] != 2:
        raise ValueError(f"pred must have shape (n, k, 2), not {p.shape}")
    n, k, _ = p.shape
    t = _lib.float_array("target", target, p.dtype)
    if t.shape != p.shape:
        raise ValueError(f"target shape {t.shape} differs from pred shape {p.shape}")
    v = _lib.float_array("visible", visible, p.dtype)
    if v.shape != (n, k):
        raise ValueError(f"visible must have shape {(n, k)}, not {v.shape}")
    a = _lib.float_array("area", area, p.dtype)
    if a.size != n:
        raise ValueError(f"area must hold {n} values (one per instance), not {a.size}")
    if sigmas is None:
        if k != 17:
            raise ValueError(f"sigmas is required for k = {k} keypoints (the default is COCO's 17)")
        sigmas = OKS_SIGMA.astype(p.dtype)
    s = _lib.float_array("sigmas", sigmas, p.dtype)
    if s.size != k:
        raise ValueError(f"sigmas must hold {k} values (one per keypoint), not {s.size}")
    red = _lib.reduction(reduction)
    opts = KeypointOptions(red)
    loss = np.empty(n * k if red == 0 else 1, p.dtype)
    g = np.empty_like(p) if grad else None
    fn = _lib.function("keypoint_oks_loss", p.dtype)
    _lib.check(fn(_lib.ptr(p), _lib.ptr(t), _lib.ptr(v), _lib.ptr(a), _lib.ptr(s), ctypes.c_size_t(n), ctypes.c_size_t(k),
                  ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g)))
    return _lib.reduced(loss, red, (n, k)), g
