"""Regression losses: L1 (MAE), MSE (L2), Smooth L1, Huber."""
__all__ = ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss"]
import ctypes

import numpy as np

from . import _lib


class RegressionOptions(_lib.Options):
    _fields_ = [("reduction", ctypes.c_uint32), ("beta", ctypes.c_double), ("delta", ctypes.c_double)] + _lib.CONTROLS


def _regression(name, input, target, weight, reduction, beta, delta, grad):
    x = _lib.float_array("input", input)
    t = _lib.float_array("target", target, x.dtype)
    if t.shape != x.shape:
        raise ValueError(f"target shape {t.shape} differs from input shape {x.shape}")
    w = _lib.optional_float_array("weight", weight, x.dtype, x.size)
    red = _lib.reduction(reduction)
    opts = RegressionOptions(red, beta, delta)
    loss = np.empty(x.size if red == 0 else 1, x.dtype)
    g = np.empty_like(x) if grad else None
    fn = _lib.function(f"{name}_loss", x.dtype)
    _lib.check(fn(_lib.ptr(x), _lib.ptr(t), _lib.ptr(w), ctypes.c_size_t(x.size), ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g)))
    return _lib.reduced(loss, red, x.shape), g


def l1_loss(input, target, weight=None, reduction="mean", grad=True):
    """L1 loss |input - target| (torch.nn.functional.l1_loss), weighted mean by default.

    Returns ``(loss, grad)``: loss is a 0-d array (or input-shaped for reduction="none"), grad
    is d loss / d input (None when grad=False).
    """
    return _regression("l1", input, target, weight, reduction, 1.0, 1.0, grad)


def mse_loss(input, target, weight=None, reduction="mean", grad=True):
    """Squared error (input - target)^2 (torch.nn.functional.mse_loss). See l1_loss."""
    return _regression("mse", input, target, weight, reduction, 1.0, 1.0, grad)


def smooth_l1_loss(input, target, weight=None, reduction="mean", beta=1.0, grad=True):
    """Smooth L1 (torch.nn.functional.smooth_l1_loss): 0.5 d^2/beta below beta, else |d| - beta/2."""
    return _regression("smooth_l1", input, target, weight, reduction, beta, 1.0, grad)


def huber_loss(input, target, weight=None, reduction="mean", delta=1.0, grad=True):
    """Huber (torch.nn.functional.huber_loss): 0.5 d^2 below delta, else delta (|d| - delta/2)."""
    return _regression("huber", input, target, weight, reduction, 1.0, delta, grad)
