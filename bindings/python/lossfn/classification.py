"""Classification losses: cross entropy (index or probability targets), binary cross entropy
with logits, entropy, KL divergence, distillation KL, sigmoid and softmax focal loss.

Class tensors follow torch: ``layout="ncs"`` (default) has the class axis at dimension 1
(``[N, C]``, ``[N, C, H, W]``, ...), ``layout="nsc"`` has it last (``[N, H, W, C]``). Index
targets are int64 arrays shaped like the input without its class axis. Every loss returns
``(loss, grad)``: loss is a 0-d array (or the unreduced values for reduction="none": one per
position, or one per element for the elementwise losses), grad is d loss / d first input,
shaped like it (None when grad=False).
"""
__all__ = [
    "cross_entropy",
    "binary_cross_entropy_with_logits",
    "entropy",
    "kl_div",
    "kl_div_logits",
    "sigmoid_focal_loss",
    "softmax_focal_loss",
]
import ctypes

import numpy as np

from . import _lib

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


class FocalOptions(_lib.Options):
    _fields_ = [
        ("reduction", ctypes.c_uint32),
        ("alpha", ctypes.c_double),
        ("gamma", ctypes.c_double),
        ("ignore_index", ctypes.c_int64),
    ] + _lib.CONTROLS


def _class_shape(x, layout):
    """(lossfn Shape, shape of the per-position outputs) of a class tensor."""
    code = _lib.enum(layout, _lib.LAYOUTS, "layout")
    if x.ndim == 0:
        raise ValueError("input must have a class axis")
    if x.ndim == 1:  # one unbatched position, as torch's 1-D input
        return _lib.Shape(1, x.shape[0], 1, 1), ()
    if code == 0:
        classes, positions = x.shape[1], (x.shape[0],) + x.shape[2:]
    else:
        classes, positions = x.shape[-1], x.shape[:-1]
    spatial = int(np.prod(positions[1:], dtype=np.int64)) if len(positions) > 1 else 1
    return _lib.Shape(x.shape[0], classes, spatial, code), positions


def _same(name, value, x):
    a = _lib.float_array(name, value, x.dtype)
    if a.shape != x.shape:
        raise ValueError(f"{name} shape {a.shape} differs from input shape {x.shape}")
    return a


def _call(name, dtype, *args):
    _lib.check(_lib.function(name, dtype)(*args))


def _outputs(x, red, unreduced, grad):
    loss = np.empty(int(np.prod(unreduced, dtype=np.int64)) if red == 0 else 1, x.dtype)
    return loss, (np.empty_like(x) if grad else None)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0,
                  layout="ncs", grad=True):
    """Softmax cross entropy, as torch.nn.functional.cross_entropy (same keywords).

    target: int64 class indices shaped like input without its class axis, or (float) class
    probabilities shaped like input. weight: one per class. The weighted MEAN divides by the
    summed weights of the non-ignored targets (as torch); when every target is ignored the loss
    is 0, not NaN. Returns ``(loss, grad)``; loss has one value per position for "none".
    """
    x = _lib.float_array("input", input)
    shape, positions = _class_shape(x, layout)
    w = _lib.optional_float_array("weight", weight, x.dtype, shape.classes)
    red = _lib.reduction(reduction)
    opts = CrossEntropyOptions(red, ignore_index, label_smoothing)
    loss, g = _outputs(x, red, positions, grad)
    t = target if isinstance(target, np.ndarray) else np.asarray(target)
    if np.issubdtype(t.dtype, np.floating):
        t = _same("target", t, x)
        _call("cross_entropy_soft", x.dtype, _lib.ptr(x), _lib.ptr(t), _lib.ptr(w), shape, ctypes.byref(opts),
              _lib.ptr(loss), _lib.ptr(g))
    else:
        t = _lib.index_array("target", t, shape.batch * shape.spatial)
        _call("cross_entropy", x.dtype, _lib.ptr(x), _lib.ptr(t), _lib.ptr(w), shape, ctypes.byref(opts),
              _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, positions), g


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean",
                                     layout="ncs", grad=True):
    """Binary cross entropy on logits, as torch.nn.functional.binary_cross_entropy_with_logits.

    weight: elementwise, shaped like input (the MEAN is the weighted mean sum(w l)/sum(w); torch
    divides by the element count instead). pos_weight: one per class, the class axis given by
    `layout` (for [N, C] inputs this is torch's last-dimension broadcast). Returns
    ``(loss, grad)``; loss is shaped like input for "none".
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


def entropy(input, input_kind="logits", reduction="mean", layout="ncs", grad=True):
    """Shannon entropy in nats over the class axis, -sum_c p_c ln p_c per position, of
    softmax(input) (input_kind="logits") or of input itself ("probs"; 0 ln 0 = 0).
    Returns ``(loss, grad)``; loss has one value per position for "none"."""
    x = _lib.float_array("input", input)
    shape, positions = _class_shape(x, layout)
    red = _lib.reduction(reduction)
    opts = EntropyOptions(red, _lib.enum(input_kind, INPUT_KINDS, "input_kind"))
    loss, g = _outputs(x, red, positions, grad)
    _call("entropy", x.dtype, _lib.ptr(x), shape, ctypes.byref(opts), _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, positions), g


def kl_div(input, target, reduction="mean", log_target=False, grad=True):
    """KL divergence as torch.nn.functional.kl_div: input holds log-probabilities, pointwise
    target (ln target - input) (0 where target == 0). "mean" divides by the element count (as
    torch), "batchmean" by input.shape[0]. Returns ``(loss, grad)``; loss is shaped like input
    for "none"."""
    x = _lib.float_array("input", input)
    t = _same("target", target, x)
    batch = x.shape[0] if x.ndim > 0 else 1
    shape = _lib.Shape(batch, x.size // batch if batch else 1, 1, 1) if x.size else _lib.Shape(batch, 1, 0, 1)
    red = _lib.reduction(reduction)
    loss, g = _outputs(x, red, x.shape, grad)
    _call("kl_div", x.dtype, _lib.ptr(x), _lib.ptr(t), shape, ctypes.byref(KlDivOptions(red, bool(log_target))),
          _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, x.shape), g


def kl_div_logits(student_logits, teacher_logits, temperature=1.0, reduction="batchmean", layout="ncs", grad=True):
    """Knowledge distillation: T^2 KL(softmax(teacher/T) || softmax(student/T)) over the class
    axis per position (Hinton et al. 2015). "batchmean" (default) divides by the batch, "mean" by
    the number of positions. grad is d loss / d student_logits. Returns ``(loss, grad)``."""
    x = _lib.float_array("student_logits", student_logits)
    t = _same("teacher_logits", teacher_logits, x)
    shape, positions = _class_shape(x, layout)
    red = _lib.reduction(reduction)
    loss, g = _outputs(x, red, positions, grad)
    _call("kl_div_logits", x.dtype, _lib.ptr(x), _lib.ptr(t), shape,
          ctypes.byref(DistillationOptions(red, temperature)), _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, positions), g


def sigmoid_focal_loss(inputs, targets, weight=None, alpha=0.25, gamma=2.0, reduction="mean", grad=True):
    """Sigmoid focal loss, as torchvision.ops.sigmoid_focal_loss (same keywords; note the default
    reduction here is "mean", torchvision's is "none"). alpha < 0 disables the alpha_t factor.
    weight: elementwise (weighted mean). Returns ``(loss, grad)``."""
    x = _lib.float_array("inputs", inputs)
    t = _same("targets", targets, x)
    w = None if weight is None else _same("weight", weight, x)
    shape = _lib.Shape(1, 1, x.size, 0)
    red = _lib.reduction(reduction)
    loss, g = _outputs(x, red, x.shape, grad)
    _call("sigmoid_focal_loss", x.dtype, _lib.ptr(x), _lib.ptr(t), _lib.ptr(w), shape,
          ctypes.byref(FocalOptions(red, alpha, gamma, -100)), _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, x.shape), g


def softmax_focal_loss(input, target, alpha=None, gamma=2.0, ignore_index=-100, reduction="mean", layout="ncs",
                       grad=True):
    """Multi-class focal loss -alpha[y] (1 - p_y)^gamma ln p_y with p = softmax(input) over the
    class axis; target: int64 class indices (ignore_index as cross_entropy); alpha: one per class
    or None (all 1). The MEAN is over the non-ignored positions. Returns ``(loss, grad)``."""
    x = _lib.float_array("input", input)
    shape, positions = _class_shape(x, layout)
    t = _lib.index_array("target", target, shape.batch * shape.spatial)
    a = _lib.optional_float_array("alpha", alpha, x.dtype, shape.classes)
    red = _lib.reduction(reduction)
    loss, g = _outputs(x, red, positions, grad)
    _call("softmax_focal_loss", x.dtype, _lib.ptr(x), _lib.ptr(t), _lib.ptr(a), shape,
          ctypes.byref(FocalOptions(red, 0.25, gamma, ignore_index)), _lib.ptr(loss), _lib.ptr(g))
    return _lib.reduced(loss, red, positions), g
