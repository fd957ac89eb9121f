#!/usr/bin/env python3
"""lossfn vs MONAI DiceLoss / TverskyLoss / GeneralizedDiceLoss, forward + backward, same inputs
and thread count; generalized Dice also as a ratio to lossfn's own Dice (the issue's 1.1× target).

Inputs: [8, 21, 256, 256] float32 logits (NCHW), int64 index targets, softmax inside, defaults
(smooth 1e-5, include_background, per-sample scores, MEAN). lossfn is called through ctypes on
target/release/liblossfn.so (build it first: cargo build --release).

    python3 benches/vs_torch_overlap.py [--threads 2] [--reps 7]
"""
import argparse
import ctypes
import os
import time

import numpy as np
import torch
from monai.losses import DiceCELoss, DiceLoss, GeneralizedDiceLoss, TverskyLoss

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Shape(ctypes.Structure):
    _fields_ = [("batch", ctypes.c_size_t), ("classes", ctypes.c_size_t), ("spatial", ctypes.c_size_t), ("layout", ctypes.c_uint32)]


class OverlapOptions(ctypes.Structure):
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
        # the output controls every options struct ends with (docs/api.md §3)
        ("loss_weight", ctypes.c_double),
        ("avg_factor", ctypes.c_double),
        ("accumulate", ctypes.c_bool),
    ]


def load_lossfn():
    lib = ctypes.CDLL(os.path.join(ROOT, "target", "release", "liblossfn.so"))
    lib.lossfn_overlap_options_default.restype = OverlapOptions
    lib.lossfn_set_num_threads.argtypes = [ctypes.c_size_t]
    fp = ctypes.POINTER(ctypes.c_float)
    for name in ("lossfn_dice_loss_f32", "lossfn_tversky_loss_f32"):
        f = getattr(lib, name)
        f.argtypes = [fp, ctypes.POINTER(ctypes.c_int64), fp, Shape, ctypes.POINTER(OverlapOptions), fp, fp]
        f.restype = ctypes.c_uint32
    class CeOptions(ctypes.Structure):
        _fields_ = [("reduction", ctypes.c_uint32), ("ignore_index", ctypes.c_int64), ("label_smoothing", ctypes.c_double),
                    ("loss_weight", ctypes.c_double), ("avg_factor", ctypes.c_double), ("accumulate", ctypes.c_bool)]
    lib.CeOptions = CeOptions
    f = lib.lossfn_dice_ce_loss_f32
    f.argtypes = [fp, ctypes.POINTER(ctypes.c_int64), fp, Shape, ctypes.POINTER(OverlapOptions), ctypes.POINTER(CeOptions), fp, fp]
    f.restype = ctypes.c_uint32

    class FocalOptions(ctypes.Structure):
        _fields_ = [("reduction", ctypes.c_uint32), ("alpha", ctypes.c_double), ("gamma", ctypes.c_double),
                    ("ignore_index", ctypes.c_int64), ("loss_weight", ctypes.c_double), ("avg_factor", ctypes.c_double),
                    ("accumulate", ctypes.c_bool)]
    lib.FocalOptions = FocalOptions
    f = lib.lossfn_dice_focal_loss_f32
    f.argtypes = [fp, ctypes.POINTER(ctypes.c_int64), fp, Shape, ctypes.POINTER(OverlapOptions), ctypes.POINTER(FocalOptions), fp, fp]
    f.restype = ctypes.c_uint32
    # generalized Dice: no class_weight argument
    f = lib.lossfn_generalized_dice_loss_f32
    f.argtypes = [fp, ctypes.POINTER(ctypes.c_int64), Shape, ctypes.POINTER(OverlapOptions), fp, fp]
    f.restype = ctypes.c_uint32
    return lib


class DiceSoftmaxFocal(torch.nn.Module):
    """MONAI's parts of lossfn's dice_focal_loss: DiceLoss(softmax) + C * FocalLoss(use_softmax=True)
    (C rescales MONAI's mean over N*C*S elements to lossfn's over the N*S positions)."""

    def __init__(self):
        super().__init__()
        from monai.losses import FocalLoss
        self.dice = DiceLoss(softmax=True, to_onehot_y=True)
        self.focal = FocalLoss(use_softmax=True, to_onehot_y=True, gamma=2.0)

    def forward(self, x, t):
        return self.dice(x, t) + x.shape[1] * self.focal(x, t)


def best_of(reps, fn):
    best = float("inf")
    out = None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()

    n, c, h, w = 8, 21, 256, 256
    rng = np.random.default_rng(0)
    x = rng.uniform(-4, 4, size=(n, c, h, w)).astype(np.float32)
    t = rng.integers(0, c, size=(n, h * w), dtype=np.int64)
    elems = x.size

    torch.set_num_threads(a.threads)
    lib = load_lossfn()
    lib.lossfn_set_num_threads(a.threads)
    opts = lib.lossfn_overlap_options_default()
    shape = Shape(n, c, h * w, 0)
    loss = np.zeros(3, np.float32)
    ce_opts = lib.CeOptions(1, -100, 0.0, 1.0, 0.0, False)
    focal_opts = lib.FocalOptions(1, 0.25, 2.0, -100, 1.0, 0.0, False)
    grad = np.empty_like(x)
    fp = ctypes.POINTER(ctypes.c_float)
    xp, gp, lp = x.ctypes.data_as(fp), grad.ctypes.data_as(fp), loss.ctypes.data_as(fp)
    tp = t.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))

    xt = torch.from_numpy(x)
    tt = torch.from_numpy(t).view(n, 1, h, w)
    print(f"[{n}, {c}, {h}, {w}] f32 logits, index targets, softmax, forward+backward, {a.threads} threads "
          f"(torch {torch.__version__})")
    times, runs = {}, {}
    gdice = lib.lossfn_generalized_dice_loss_f32
    for name, monai_loss, fn in [
        ("dice", DiceLoss(softmax=True, to_onehot_y=True), lib.lossfn_dice_loss_f32),
        ("tversky", TverskyLoss(softmax=True, to_onehot_y=True, alpha=0.3, beta=0.7), lib.lossfn_tversky_loss_f32),
        ("gdice", GeneralizedDiceLoss(softmax=True, to_onehot_y=True), gdice),
        ("dice_ce", DiceCELoss(softmax=True, to_onehot_y=True), lib.lossfn_dice_ce_loss_f32),
        # MONAI's nearest: DiceLoss + FocalLoss(use_softmax=True) (its DiceFocalLoss is sigmoid focal)
        ("dice_focal", DiceSoftmaxFocal(), lib.lossfn_dice_focal_loss_f32),
    ]:
        def run_monai():
            xi = xt.clone().requires_grad_(True)
            lv = monai_loss(xi, tt)
            lv.backward()
            return lv.item(), xi.grad

        def run_lossfn(fn=fn):
            if fn is gdice:
                st = fn(xp, tp, shape, ctypes.byref(opts), lp, gp)
            elif fn is lib.lossfn_dice_ce_loss_f32:
                st = fn(xp, tp, None, shape, ctypes.byref(opts), ctypes.byref(ce_opts), lp, gp)
            elif fn is lib.lossfn_dice_focal_loss_f32:
                st = fn(xp, tp, None, shape, ctypes.byref(opts), ctypes.byref(focal_opts), lp, gp)
            else:
                st = fn(xp, tp, None, shape, ctypes.byref(opts), lp, gp)
            assert st == 0, st
            return float(loss[0])

        t_m, (l_m, g_m) = best_of(a.reps, run_monai)
        t_l, l_l = best_of(a.reps, run_lossfn)
        gdiff = float((torch.from_numpy(grad) - g_m).abs().max())
        print(f"{name:8s} MONAI {t_m * 1e3:8.2f} ms   lossfn {t_l * 1e3:7.2f} ms ({t_l / elems * 1e9:.3f} ns/logit)   "
              f"speed-up {t_m / t_l:5.1f}x   loss {l_l:.6f} vs {l_m:.6f}, max |grad diff| {gdiff:.1e}")
        times[name] = t_l
        runs[name] = run_lossfn
    print(f"gdice / dice (lossfn, same run): {times['gdice'] / times['dice']:.3f}")
    print(f"dice_ce / dice (lossfn, same run): {times['dice_ce'] / times['dice']:.3f}")
    print(f"dice_focal / dice (lossfn, same run): {times['dice_focal'] / times['dice']:.3f}")
    # The same ratios with the calls interleaved (dice, gdice, dice_ce, dice_focal, dice, ...), best
    # of reps each: on a machine whose speed drifts within seconds, the sequential bests above
    # compare different moments.
    best = {k: float("inf") for k in ("dice", "gdice", "dice_ce", "dice_focal")}
    for _ in range(a.reps):
        for k in best:
            t0 = time.perf_counter()
            runs[k]()
            best[k] = min(best[k], time.perf_counter() - t0)
    print("interleaved, best of %d (ms): " % a.reps + ", ".join(f"{k} {v * 1e3:.2f}" for k, v in best.items()))
    for k in ("gdice", "dice_ce", "dice_focal"):
        print(f"{k} / dice (lossfn, interleaved): {best[k] / best['dice']:.3f}")


if __name__ == "__main__":
    main()
