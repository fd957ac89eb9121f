#!/usr/bin/env python3
"""lossfn box losses against torchvision / torch autograd: forward + backward on the same boxes,
same thread count.

    cargo build --release && python3 benches/vs_torch_boxes.py [--n 1000000] [--threads 2]

GIoU, DIoU and CIoU are torchvision.ops.*_box_iou_loss; torchvision has no plain IoU, EIoU or
CDIoU loss, so those are written in torch from the same formulas (docs/boxes.md), as a user
would. Inputs are float32 xyxy boxes, reduction "mean", eps 1e-7. Prints ms per call (best of
--reps), ns per box and the speed-up, and checks that both give the same loss and gradient.
"""
import argparse
import ctypes
import os
import time

import numpy as np
import torch
import torchvision.ops as tvo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class BoxOptions(ctypes.Structure):
    _fields_ = [("format", ctypes.c_uint32), ("reduction", ctypes.c_uint32), ("eps", ctypes.c_double),
                ("iou_mode", ctypes.c_uint32), ("gamma", ctypes.c_double), ("lambda_", ctypes.c_double)]


def load_lossfn(path):
    lib = ctypes.CDLL(path)
    lib.lossfn_box_options_default.restype = BoxOptions
    lib.lossfn_set_num_threads.argtypes = [ctypes.c_size_t]
    for name in ["iou", "giou", "diou", "ciou", "eiou", "cdiou"]:
        f = getattr(lib, f"lossfn_{name}_loss_f32")
        f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                      ctypes.POINTER(BoxOptions), ctypes.c_void_p, ctypes.c_void_p]
        f.restype = ctypes.c_uint32
    return lib


def torch_iou(p, t, eps):
    x1, y1, x2, y2 = p.unbind(-1)
    a1, b1, a2, b2 = t.unbind(-1)
    iw = (torch.minimum(x2, a2) - torch.maximum(x1, a1)).clamp(min=0)
    ih = (torch.minimum(y2, b2) - torch.maximum(y1, b1)).clamp(min=0)
    inter = iw * ih
    union = (x2 - x1) * (y2 - y1) + (a2 - a1) * (b2 - b1) - inter
    return inter / (union.clamp(min=0) + eps)


def torch_iou_loss(p, t, eps):
    return (1 - torch_iou(p, t, eps)).mean()


def torch_eiou_loss(p, t, eps):
    x1, y1, x2, y2 = p.unbind(-1)
    a1, b1, a2, b2 = t.unbind(-1)
    cw = torch.maximum(x2, a2) - torch.minimum(x1, a1)
    ch = torch.maximum(y2, b2) - torch.minimum(y1, b1)
    rho2 = ((x1 + x2) / 2 - (a1 + a2) / 2) ** 2 + ((y1 + y2) / 2 - (b1 + b2) / 2) ** 2
    l = (1 - torch_iou(p, t, eps) + rho2 / (cw ** 2 + ch ** 2 + eps)
         + ((x2 - x1) - (a2 - a1)) ** 2 / (cw ** 2 + eps) + ((y2 - y1) - (b2 - b1)) ** 2 / (ch ** 2 + eps))
    return l.mean()


def torch_cdiou_loss(p, t, eps):
    x1, y1, x2, y2 = p.unbind(-1)
    a1, b1, a2, b2 = t.unbind(-1)
    cw = torch.maximum(x2, a2) - torch.minimum(x1, a1)
    ch = torch.maximum(y2, b2) - torch.minimum(y1, b1)
    d = (torch.hypot(x1 - a1, y1 - b1) + torch.hypot(x2 - a2, y1 - b1)
         + torch.hypot(x1 - a1, y2 - b2) + torch.hypot(x2 - a2, y2 - b2))
    return (1 - torch_iou(p, t, eps) + d / (4 * torch.sqrt(cw ** 2 + ch ** 2) + eps)).mean()


TORCH = {
    "iou": torch_iou_loss,
    "giou": lambda p, t, eps: tvo.generalized_box_iou_loss(p, t, reduction="mean", eps=eps),
    "diou": lambda p, t, eps: tvo.distance_box_iou_loss(p, t, reduction="mean", eps=eps),
    "ciou": lambda p, t, eps: tvo.complete_box_iou_loss(p, t, reduction="mean", eps=eps),
    "eiou": torch_eiou_loss,
    "cdiou": torch_cdiou_loss,
}


def make_boxes(n, seed=0):
    rng = np.random.default_rng(seed)
    cx, cy = rng.uniform(0, 600, n), rng.uniform(0, 600, n)
    w, h = rng.uniform(10, 200, n), rng.uniform(10, 200, n)
    target = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)
    pcx, pcy = cx + rng.uniform(-0.5, 0.5, n) * w, cy + rng.uniform(-0.5, 0.5, n) * h
    pw, ph = w * rng.uniform(0.5, 1.6, n), h * rng.uniform(0.5, 1.6, n)
    pred = np.stack([pcx - pw / 2, pcy - ph / 2, pcx + pw / 2, pcy + ph / 2], 1)
    return np.ascontiguousarray(pred, np.float32), np.ascontiguousarray(target, np.float32)


def best_of(reps, f):
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--lib", default=os.path.join(ROOT, "target/release/liblossfn.so"))
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    lib = load_lossfn(args.lib)
    lib.lossfn_set_num_threads(args.threads)
    pred, target = make_boxes(args.n)
    n, eps = args.n, 1e-7
    opts = lib.lossfn_box_options_default()
    loss = np.zeros(1, np.float32)
    grad = np.empty_like(pred)
    ptr = lambda a: a.ctypes.data_as(ctypes.c_void_p)

    print(f"{n} boxes, float32 xyxy, mean, forward + backward; torch {torch.__version__} and lossfn "
          f"on {args.threads} threads; best of {args.reps}")
    print(f"{'loss':6} {'torch ms':>9} {'lossfn ms':>10} {'torch ns/box':>13} {'lossfn ns/box':>14} {'speed-up':>9}"
          f"  {'|dloss|':>8} {'max|dgrad|/max|grad|':>21}")
    pt, tt = torch.from_numpy(pred), torch.from_numpy(target)
    for name, tf in TORCH.items():
        def run_torch():
            p = pt.clone().requires_grad_(True)
            l = tf(p, tt, eps)
            l.backward()
            return l.detach(), p.grad

        f = getattr(lib, f"lossfn_{name}_loss_f32")

        def run_lossfn():
            st = f(ptr(pred), ptr(target), None, n, ctypes.byref(opts), ptr(loss), ptr(grad))
            assert st == 0, st

        run_torch()
        run_lossfn()
        t_torch = best_of(args.reps, run_torch)
        t_lossfn = best_of(args.reps, run_lossfn)
        l, g = run_torch()
        run_lossfn()
        g = g.numpy()
        # Compare away from exact min/max ties (where torch and lossfn pick different subgradients).
        tie = (pred == target).any(1)
        dg = np.abs(grad - g)[~tie].max() / np.abs(g).max()
        print(f"{name:6} {1e3 * t_torch:9.2f} {1e3 * t_lossfn:10.2f} {1e9 * t_torch / n:13.1f} {1e9 * t_lossfn / n:14.2f}"
              f" {t_torch / t_lossfn:8.1f}x  {abs(float(l) - float(loss[0])):8.1e} {dg:21.1e}")


if __name__ == "__main__":
    main()
