"""Regression losses: L1 (MAE), MSE (L2), Smooth L1, Huber, log-cosh.

Every function takes ``input`` and ``target`` of one shape (any shape) and one dtype, float32
or float64 (see :mod:`lossfn` for the dtype rules), and an optional elementwise ``weight``
with as many values as ``input``; "mean" is the weighted mean sum(w l) / sum(w).
"""
from __future__ import annotations

__all__ = ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "log_cosh_loss"]
import ctypes
from typing import Optional

import numpy as np

from . import _lib
from ._lib import ArrayLike, LossGrad, Reduction


class RegressionOptions(_lib.Options):
    _fields_ = [("reduction", ctypes.c_uint32), ("beta", ctypes.c_double), ("delta", ctypes.c_double)] + _lib.CONTROLS


def _regression(name: str, input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike], reduction: Reduction,
                beta: float, delta: float, grad: bool) -> LossGrad:
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


@_lib.autograd("L1Loss", "element")
def l1_loss(input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, reduction: Reduction = "mean",
            grad: bool = True) -> LossGrad:
    """L1 loss |input - target| per element (torch.nn.functional.l1_loss; MAE).

    The gradient at input == target is 0.

    Parameters
    ----------
    input : array-like, float32 or float64, any shape
        Predictions. Its dtype is the call's dtype.
    target : array-like, input's shape and dtype
        Python lists take input's dtype.
    weight : array-like or None
        One value per element of input (any shape with input.size values), input's dtype;
        None weighs every element 1.
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean sum(w l) / sum(w) (0 when the weights sum to 0).
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array for "mean"/"sum", or the weighted values in input's shape for
        "none"; grad has input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from input's.
    ValueError
        target's shape differs from input's, weight has the wrong size, an array is not
        C-contiguous, or reduction is unknown.
    LossfnError
        The library refused the call (e.g. reduction="batchmean").
    """
    return _regression("l1", input, target, weight, reduction, 1.0, 1.0, grad)


@_lib.autograd("MSELoss", "element")
def mse_loss(input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, reduction: Reduction = "mean",
             grad: bool = True) -> LossGrad:
    """Squared error (input - target)^2 per element (torch.nn.functional.mse_loss).

    Parameters
    ----------
    input : array-like, float32 or float64, any shape
        Predictions. Its dtype is the call's dtype.
    target : array-like, input's shape and dtype
        Python lists take input's dtype.
    weight : array-like or None
        One value per element of input (any shape with input.size values), input's dtype;
        None weighs every element 1.
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean sum(w l) / sum(w) (0 when the weights sum to 0).
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array for "mean"/"sum", or the weighted values in input's shape for
        "none"; grad has input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from input's.
    ValueError
        target's shape differs from input's, weight has the wrong size, an array is not
        C-contiguous, or reduction is unknown.
    LossfnError
        The library refused the call (e.g. reduction="batchmean").
    """
    return _regression("mse", input, target, weight, reduction, 1.0, 1.0, grad)


@_lib.autograd("SmoothL1Loss", "element")
def smooth_l1_loss(input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None,
                   reduction: Reduction = "mean", beta: float = 1.0, grad: bool = True) -> LossGrad:
    """Smooth L1 (torch.nn.functional.smooth_l1_loss): with d = input - target, 0.5 d^2 / beta
    where |d| < beta, else |d| - beta / 2 (beta = 0 is plain L1).

    Parameters
    ----------
    input : array-like, float32 or float64, any shape
        Predictions. Its dtype is the call's dtype.
    target : array-like, input's shape and dtype
        Python lists take input's dtype.
    weight : array-like or None
        One value per element of input (any shape with input.size values), input's dtype;
        None weighs every element 1.
    beta : float
        Where the quadratic part ends (>= 0, default 1).
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean sum(w l) / sum(w) (0 when the weights sum to 0).
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array for "mean"/"sum", or the weighted values in input's shape for
        "none"; grad has input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from input's.
    ValueError
        target's shape differs from input's, weight has the wrong size, an array is not
        C-contiguous, or reduction is unknown.
    LossfnError
        The library refused the call (e.g. beta < 0; reduction="batchmean").
    """
    return _regression("smooth_l1", input, target, weight, reduction, beta, 1.0, grad)


@_lib.autograd("HuberLoss", "element")
def huber_loss(input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, reduction: Reduction = "mean",
               delta: float = 1.0, grad: bool = True) -> LossGrad:
    """Huber loss (torch.nn.functional.huber_loss): with d = input - target, 0.5 d^2 where
    |d| <= delta, else delta (|d| - delta / 2).

    Parameters
    ----------
    input : array-like, float32 or float64, any shape
        Predictions. Its dtype is the call's dtype.
    target : array-like, input's shape and dtype
        Python lists take input's dtype.
    weight : array-like or None
        One value per element of input (any shape with input.size values), input's dtype;
        None weighs every element 1.
    delta : float
        Where the quadratic part ends (> 0, default 1).
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean sum(w l) / sum(w) (0 when the weights sum to 0).
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array for "mean"/"sum", or the weighted values in input's shape for
        "none"; grad has input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from input's.
    ValueError
        target's shape differs from input's, weight has the wrong size, an array is not
        C-contiguous, or reduction is unknown.
    LossfnError
        The library refused the call (e.g. delta <= 0; reduction="batchmean").
    """
    return _regression("huber", input, target, weight, reduction, 1.0, delta, grad)


@_lib.autograd("LogCoshLoss", "element")
def log_cosh_loss(input: ArrayLike, target: ArrayLike, weight: Optional[ArrayLike] = None, reduction: Reduction = "mean",
                  grad: bool = True) -> LossGrad:
    """Log-cosh loss ln cosh(input - target) per element (Keras ``keras.losses.log_cosh``:
    x + softplus(-2x) - ln 2, computed here without its cancellation near 0); gradient
    tanh(input - target). About d^2 / 2 for small differences d, |d| - ln 2 for large ones.

    Keras' ``log_cosh`` averages over the last axis only; "mean" here averages over every
    element (Keras' ``LogCosh()`` with its default "sum_over_batch_size" reduction gives the
    same value for unweighted input).

    Parameters
    ----------
    input : array-like, float32 or float64, any shape
        Predictions. Its dtype is the call's dtype.
    target : array-like, input's shape and dtype
        Python lists take input's dtype.
    weight : array-like or None
        One value per element of input (any shape with input.size values), input's dtype;
        None weighs every element 1.
    reduction : "mean" (default), "sum" or "none"
        "mean" is the weighted mean sum(w l) / sum(w) (0 when the weights sum to 0).
    grad : bool
        Compute d loss / d input (default True).

    Returns
    -------
    (loss, grad) : (numpy.ndarray, numpy.ndarray or None)
        loss is a 0-d array for "mean"/"sum", or the weighted values in input's shape for
        "none"; grad has input's shape and dtype (None when grad=False).

    Raises
    ------
    TypeError
        An argument is not an array, is not float32/float64, or its dtype differs from input's.
    ValueError
        target's shape differs from input's, weight has the wrong size, an array is not
        C-contiguous, or reduction is unknown.
    LossfnError
        The library refused the call (e.g. reduction="batchmean").
    """
    return _regression("log_cosh", input, target, weight, reduction, 1.0, 1.0, grad)
