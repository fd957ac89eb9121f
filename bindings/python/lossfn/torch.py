"""PyTorch autograd for every lossfn loss (CPU tensors, float32 / float64).

``import lossfn.torch`` (``import lossfn`` alone does not import torch). For each loss of the
package there is a :class:`torch.autograd.Function` (``CIoULoss``, ``CrossEntropy``, ... listed in
:data:`FUNCTIONS`) and a plain function of the same name as the numpy one, with the same
arguments except ``grad`` (autograd decides whether a gradient is computed)::

    import lossfn.torch as lt
    loss = lt.ciou_loss(pred_boxes, target_boxes, format="cxcywh")   # a 0-d tensor
    loss.backward()                                                  # pred_boxes.grad

Forward calls the numpy function on ``tensor.detach().numpy()`` (no copy for a contiguous CPU
tensor; a non-contiguous one is made contiguous first) and keeps the gradient liblossfn
computed in the same pass; backward scales it in place by the incoming gradient and hands it
over (so ``loss.backward()`` adds no pass over the gradient and no allocation). A second
backward through the same graph (``retain_graph=True``) recomputes it from the saved input. Only the first input
(``input``, ``pred``, ``inputs`` or ``student_logits``) gets a gradient; targets, weights and
the other arguments get None. Second derivatives are not supported.

For ``reduction="none"`` the library's gradient is that of the sum of the unreduced values;
each unreduced value depends only on its own element (regression, BCE, sigmoid focal, KL), box
(box losses) or position (the class-axis losses), so backward multiplies that block of the
gradient by its own entry of the incoming gradient. A Dice or Tversky score couples every
position of its sample (or of the batch, ``batch=True``), so there backward calls the loss
again with reduction "sum" and the incoming gradient as class weights: once per sample, each
sample's scores weighted by its own row of the incoming gradient (once for ``batch=True``).
A generalized Dice value covers one sample (or the pooled batch): backward scales that sample's
block of the gradient. ``dice_ce_loss`` / ``dice_focal_loss`` return [total, dice, other part]: an incoming gradient on the
parts calls it again with each part's lambda scaled.
``dfl_box_loss`` returns two parts, [L_iou, L_dfl], and its gradient is that of their sum; an
incoming gradient that weighs them differently calls it again with the gains scaled.

Tensors must be on the CPU (a CUDA tensor raises TypeError naming the argument) and the
differentiable input must be float32 or float64 (TypeError otherwise).
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Dict

import numpy as np

try:
    import torch
except ImportError as e:  # a bare ModuleNotFoundError would not say what to install
    raise ImportError(
        "lossfn.torch needs PyTorch, which is not installed: pip install torch "
        "(or install lossfn with its torch extra: pip install './bindings/python[torch]'); "
        "import lossfn alone works without it") from e

import lossfn as _package

from . import _lib

_FLOATS = (torch.float32, torch.float64)


def _numpy(name: str, value: Any) -> Any:
    """A CPU tensor as a numpy array sharing its memory (made contiguous when it is not);
    anything else unchanged (the numpy API checks it)."""
    if not isinstance(value, torch.Tensor):
        return value
    if value.device.type != "cpu":
        raise TypeError(f"{name} must be a CPU tensor, got a tensor on {value.device} "
                        "(lossfn computes on the CPU: move it with .cpu())")
    value = value.detach()
    if not value.is_contiguous():
        value = value.contiguous()
    return value.numpy()


def _scale(grad: torch.Tensor, grad_output: torch.Tensor, unreduced: str, layout: Any) -> torch.Tensor:
    """d L / d input for the incoming gradient, from the library's gradient of the loss (or of
    the sum of the unreduced values), scaled in place."""
    if grad_output.dim() == 0:
        return grad if float(grad_output) == 1.0 else grad.mul_(grad_output)
    if unreduced == "parts":  # loss parts sharing one gradient (equal incoming gradients here)
        go = float(grad_output.reshape(-1)[0])
        return grad if go == 1.0 else grad.mul_(go)
    if unreduced == "box":  # one value per box: scale its coordinates (4, or 5 for rotated boxes)
        return grad.mul_(grad_output.unsqueeze(-1))
    if unreduced == "distribution_box":  # one value per box: scale its (sides, bins) logits
        return grad.mul_(grad_output.reshape(-1, 1, 1))
    if unreduced == "sample":  # one value per sample (one for the batch pooled): scale its block
        return grad.mul_(grad_output.reshape((-1,) + (1,) * (grad.dim() - 1)))
    if unreduced == "position" and grad.dim() > 1:  # one value per position: over its classes
        axis = 1 if _lib.enum(layout, _lib.LAYOUTS, "layout") == 0 else -1
        return grad.mul_(grad_output.unsqueeze(axis))
    return grad.mul_(grad_output)  # one value per element


def _score_vjp(numpy_fn: Callable[..., Any], x: Any, target: Any, options: Dict[str, Any],
               grad_output: torch.Tensor) -> torch.Tensor:
    """sum over scores of grad_output * d score / d input for Dice / Tversky with reduction
    "none": reduction "sum" with class weights scaled by grad_output, which gives exactly that
    sum because the values are the class-weighted scores. Per-sample scores depend on their own
    sample only, so one call per sample (one call for batch=True, whose scores pool the batch)."""
    opts = dict(options, reduction="sum")
    code = _lib.enum(opts.get("layout", "ncs"), _lib.LAYOUTS, "layout")
    classes = x.shape[1] if code == 0 else x.shape[-1]
    cw = opts.get("class_weight")
    base = np.ones(classes, x.dtype) if cw is None else np.asarray(cw, x.dtype).reshape(classes)
    go = np.ascontiguousarray(grad_output.detach().numpy(), x.dtype)

    def weights(g: Any) -> Any:  # g: the C' scores' incoming gradient (C' = C, or C - 1 without class 0)
        w = np.zeros(classes, x.dtype)
        w[classes - g.shape[-1]:] = g
        return base * w

    t = np.asarray(_numpy("target", target))
    if opts.get("kind") == "generalized_dice":  # phase 2 of generalized Dice: one value, no class_weight
        return torch.from_numpy(numpy_fn(x, t, **opts)[1] * go.reshape(-1)[0])
    if opts.get("batch", False) or "global_stats" in opts:  # (phase 2 of the two-phase batch score: pooled)
        return torch.from_numpy(numpy_fn(x, t, **{**opts, "class_weight": weights(go)})[1])
    if t.dtype.kind != "f":  # index targets: any shape with N * spatial values
        t = t.reshape(x.shape[0], -1)
    grad = np.empty_like(x)
    for n in range(x.shape[0]):
        grad[n:n + 1] = numpy_fn(x[n:n + 1], t[n:n + 1], **{**opts, "class_weight": weights(go[n])})[1]
    return torch.from_numpy(grad)


def _function(name: str, numpy_fn: Callable[..., Any], unreduced: str) -> type:
    """The autograd Function of one loss: apply(input, target, options) with `options` the
    numpy function's remaining keyword arguments (tensors already converted to arrays)."""

    def forward(ctx: Any, input: torch.Tensor, target: Any, options: Dict[str, Any]) -> torch.Tensor:
        need = ctx.needs_input_grad[0]
        options = {k: _numpy(k, v) for k, v in options.items()}
        scores = unreduced == "score" and _lib.reduction(options.get("reduction", "mean")) == 0  # see _score_vjp
        loss, grad = numpy_fn(_numpy("input", input), _numpy("target", target), grad=need and not scores, **options)
        ctx.grad = None if grad is None else torch.from_numpy(grad)
        if need:  # to recompute the gradient for a second backward (retain_graph=True)
            ctx.save_for_backward(input)
            ctx.target, ctx.options = target, options
        return torch.from_numpy(loss)

    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> Any:
        # The first backward hands the stored gradient over, scaled in place, so that autograd
        # can take it as input.grad without a copy; a later one recomputes it.
        if not ctx.needs_input_grad[0]:  # only a target or weight tensor asked for a gradient
            return None, None, None
        if unreduced == "score" and grad_output.dim() > 0:
            (input,) = ctx.saved_tensors
            return _score_vjp(numpy_fn, _numpy("input", input), ctx.target, ctx.options, grad_output), None, None
        if unreduced == "total_parts":
            # [total, dice, ce]: d/dx of g0·total + g1·dice + g2·ce = (g0 + g1)·∂dice + (g0 + g2)·∂ce,
            # the library's gradient with each part's lambda scaled (one call when the two agree).
            go = grad_output.reshape(-1).tolist()
            gd, gc = go[0] + go[1], go[0] + go[2]
            (input,) = ctx.saved_tensors
            if gd != gc:
                x = _numpy("input", input)
                other = "lambda_focal" if "lambda_focal" in inspect.signature(numpy_fn).parameters else "lambda_ce"
                opts = dict(ctx.options, lambda_dice=ctx.options.get("lambda_dice", 1.0) * gd,
                            **{other: ctx.options.get(other, 1.0) * gc})
                return torch.from_numpy(numpy_fn(x, _numpy("target", ctx.target), **opts)[1]), None, None
            grad, ctx.grad = ctx.grad, None
            if grad is None:
                grad = torch.from_numpy(numpy_fn(_numpy("input", input), _numpy("target", ctx.target), **ctx.options)[1])
            return (grad if gd == 1.0 else grad.mul_(gd)), None, None
        if unreduced == "parts" and len(set(grad_output.reshape(-1).tolist())) > 1:
            # Parts weighted differently: the gradient of g0·L_iou + g1·L_dfl is the library's
            # with each part's gain scaled by its own incoming gradient (the parts are linear in them).
            # Gains are >= 0: a part with a negative incoming gradient is computed on its own
            # and negated.
            (input,) = ctx.saved_tensors
            go = grad_output.reshape(-1).tolist()
            gi, gd = ctx.options.get("iou_weight", 1.0) * go[0], ctx.options.get("dfl_weight", 1.0) * go[1]
            if (gi >= 0) == (gd >= 0) or 0 in (gi, gd):
                sign = -1.0 if min(gi, gd) < 0 else 1.0
                calls = [(abs(gi), abs(gd), sign)]
            else:
                calls = [(abs(gi), 0.0, 1.0 if gi > 0 else -1.0), (0.0, abs(gd), 1.0 if gd > 0 else -1.0)]
            x = _numpy("input", input)
            grad = sum(sign * numpy_fn(x, _numpy("target", ctx.target), **dict(ctx.options, iou_weight=i, dfl_weight=d))[1]
                       for i, d, sign in calls)
            return torch.from_numpy(grad), None, None
        grad, ctx.grad = ctx.grad, None
        if grad is None:
            (input,) = ctx.saved_tensors
            grad = torch.from_numpy(numpy_fn(_numpy("input", input), _numpy("target", ctx.target), **ctx.options)[1])
        return _scale(grad, grad_output, unreduced, ctx.options.get("layout", "ncs")), None, None

    doc = (f"torch.autograd.Function of lossfn.{numpy_fn.__name__}: apply(input, target, options) with "
           "`options` a dict of its other keyword arguments; see lossfn.torch." + numpy_fn.__name__ + ".")
    return type(name, (torch.autograd.Function,),
                {"forward": staticmethod(forward), "backward": staticmethod(backward), "__doc__": doc,
                 "__module__": __name__})


def _wrapper(function: type, numpy_fn: Callable[..., Any]) -> Callable[..., torch.Tensor]:
    """The plain function: numpy_fn's signature without `grad`, returning the loss tensor."""
    sig = inspect.signature(numpy_fn)
    params = [p for p in sig.parameters.values() if p.name != "grad"]
    first, second = params[0].name, params[1].name
    sig = sig.replace(parameters=params, return_annotation=torch.Tensor)

    @functools.wraps(numpy_fn)
    def loss(*args: Any, **kwargs: Any) -> torch.Tensor:
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        options = dict(bound.arguments)
        x, target = options.pop(first), options.pop(second)
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{first} must be a torch.Tensor, got {type(x).__name__}")
        if x.device.type != "cpu":
            _numpy(first, x)  # raises, naming the argument
        if x.dtype not in _FLOATS:
            raise TypeError(f"{first} must be a float32 or float64 tensor, got {x.dtype}")
        if isinstance(target, torch.Tensor) and target.device.type != "cpu":
            _numpy(second, target)
        return function.apply(x, target, options)

    loss.__signature__ = sig  # type: ignore[attr-defined]
    del loss.__wrapped__  # the signature is ours (no `grad`), not numpy_fn's
    loss.__doc__ = (f"{numpy_fn.__name__} with autograd: CPU float32/float64 tensors in, the loss tensor out "
                    f"(its gradient flows to `{first}` only). Arguments as lossfn.{numpy_fn.__name__} "
                    f"without `grad`:\n\n" + (inspect.getdoc(numpy_fn) or ""))
    loss.__module__ = __name__
    return loss


# (Function class name, numpy function, what one unreduced value covers), from the mark each
# loss carries where it is written (lossfn._lib.autograd).
_LOSSES = [(fn.__lossfn_autograd__[0], fn, fn.__lossfn_autograd__[1])
           for fn in (getattr(_package, name) for name in _package.__all__) if hasattr(fn, "__lossfn_autograd__")]

FUNCTIONS: Dict[str, type] = {}
"""Loss name (as in lossfn.__all__) -> its torch.autograd.Function."""

for _cls, _fn, _unreduced in _LOSSES:
    FUNCTIONS[_fn.__name__] = globals()[_cls] = _function(_cls, _fn, _unreduced)
    globals()[_fn.__name__] = _wrapper(FUNCTIONS[_fn.__name__], _fn)

__all__ = [c for c, _, _ in _LOSSES] + [f.__name__ for _, f, _ in _LOSSES] + ["FUNCTIONS"]
del _cls, _fn, _unreduced
