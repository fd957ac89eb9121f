#!/usr/bin/env python3
"""lossfn vs segmentation_models_pytorch LovaszLoss, forward + backward, same inputs and thread
count, in one run: Lovász-Softmax ("multiclass": softmax, classes present, one loss over the
batch) and the Lovász hinge ("binary").

Inputs: [8, 21, 256, 256] float32 logits (NCHW) with int64 index targets (softmax); [8, 1, 256,
256] logits with 0/1 targets (hinge). lossfn is called through ctypes on
target/release/liblossfn.so (build it first: cargo build --release). smp's losses/lovasz.py is
loaded from the installed package's directory without importing the package (its __init__ needs
timm and more): `pip install --no-deps segmentation-models-pytorch` is enough.

    python3 benches/vs_smp_lovasz.py [--threads 2] [--reps 7]
"""
import argparse
import ctypes
import importlib.util
import os
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_smp_lovasz():
    """segmentation_models_pytorch/losses/lovasz.py (tools/fixtures/smp.py)."""
    spec = importlib.util.spec_from_file_location("lossfn_tools_smp", os.path.join(ROOT, "tools", "fixtures", "smp.py"))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    try:
        return m.lovasz()
    except ImportError as e:
        sys.exit(str(e))


class Shape(ctypes.Structure):
    _fields_ = [("batch", ctypes.c_size_t), ("classes", ctypes.c_size_t), ("spatial", ctypes.c_size_t), ("layout", ctypes.c_uint32)]


class LovaszOptions(ctypes.Structure):
    _fields_ = [
        ("reduction", ctypes.c_uint32),
        ("activation", ctypes.c_uint32),
        ("per_image", ctypes.c_bool),
        ("classes_present", ctypes.c_bool),
        ("ignore_index", ctypes.c_int64),
        ("loss_weight", ctypes.c_double),
        ("avg_factor", ctypes.c_double),
        ("accumulate", ctypes.c_bool),
    ]


def load_lossfn():
    lib = ctypes.CDLL(os.path.join(ROOT, "target", "release", "liblossfn.so"))
    lib.lossfn_lovasz_options_default.restype = LovaszOptions
    lib.lossfn_set_num_threads.argtypes = [ctypes.c_size_t]
    fp = ctypes.POINTER(ctypes.c_float)
    lib.lossfn_lovasz_softmax_loss_f32.argtypes = [fp, ctypes.POINTER(ctypes.c_int64), Shape, ctypes.POINTER(LovaszOptions), fp, fp]
    lib.lossfn_lovasz_hinge_loss_f32.argtypes = [fp, fp, Shape, ctypes.POINTER(LovaszOptions), fp, fp]
    for f in (lib.lossfn_lovasz_softmax_loss_f32, lib.lossfn_lovasz_hinge_loss_f32):
        f.restype = ctypes.c_uint32
    return lib


def best(fn, reps):
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def ptr(a, t=ctypes.c_float):
    return a.ctypes.data_as(ctypes.POINTER(t))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lib = load_lossfn()
    lib.lossfn_set_num_threads(args.threads)
    smp = load_smp_lovasz()
    rng = np.random.default_rng(0)
    n, c, hw = 8, 21, 256 * 256

    # Lovász-Softmax
    x = (2 * rng.standard_normal((n, c, 256, 256))).astype(np.float32)
    y = rng.integers(0, c, size=(n, 256, 256)).astype(np.int64)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = smp.LovaszLoss("multiclass")

    def torch_softmax():
        xr = xt.clone().requires_grad_(True)
        loss_fn(xr, yt).backward()
        return xr.grad

    opts = lib.lossfn_lovasz_options_default()
    loss = np.zeros(1, np.float32)
    grad = np.empty_like(x)
    shape = Shape(n, c, hw, 0)

    def ours_softmax():
        st = lib.lossfn_lovasz_softmax_loss_f32(ptr(x), ptr(y, ctypes.c_int64), shape, ctypes.byref(opts), ptr(loss), ptr(grad))
        assert st == 0

    ours_softmax()
    g_ref = torch_softmax()
    xr = xt.clone().requires_grad_(True)
    v_ref = float(loss_fn(xr, yt))
    dev = float(np.abs(grad - g_ref.numpy()).max() / np.abs(g_ref.numpy()).max())
    t_torch = best(torch_softmax, args.reps)
    t_ours = best(ours_softmax, args.reps)
    elems = n * c * hw
    print(f"machine: {os.uname().machine}, {args.threads} threads; [8, 21, 256, 256] float32, loss + gradient")
    print(f"lovasz_softmax: value {loss[0]:.7f} vs smp {v_ref:.7f}; gradient max deviation / max |g| {dev:.2e}")
    print(f"  smp LovaszLoss('multiclass') fwd+bwd {t_torch * 1e3:9.1f} ms")
    print(f"  lossfn lovasz_softmax_loss           {t_ours * 1e3:9.1f} ms  ({t_ours * 1e9 / elems:.2f} ns/element)  "
          f"{t_torch / t_ours:5.1f}x smp")

    # Lovász hinge
    xh = (2 * rng.standard_normal((n, 1, 256, 256))).astype(np.float32)
    th = (rng.random((n, 1, 256, 256)) < 0.3).astype(np.float32)
    xht, tht = torch.from_numpy(xh), torch.from_numpy(th)
    hinge_fn = smp.LovaszLoss("binary")

    def torch_hinge():
        xr = xht.clone().requires_grad_(True)
        hinge_fn(xr, tht).backward()
        return xr.grad

    gh = np.empty_like(xh)
    shape_h = Shape(n, 1, hw, 0)

    def ours_hinge():
        st = lib.lossfn_lovasz_hinge_loss_f32(ptr(xh), ptr(th), shape_h, ctypes.byref(opts), ptr(loss), ptr(gh))
        assert st == 0

    t_torch_h = best(torch_hinge, args.reps)
    t_ours_h = best(ours_hinge, args.reps)
    print(f"lovasz_hinge ([8, 1, 256, 256], one term over the batch: one thread sorts it)")
    print(f"  smp LovaszLoss('binary') fwd+bwd     {t_torch_h * 1e3:9.1f} ms")
    print(f"  lossfn lovasz_hinge_loss             {t_ours_h * 1e3:9.1f} ms  ({t_ours_h * 1e9 / (n * hw):.2f} ns/element)  "
          f"{t_torch_h / t_ours_h:5.1f}x smp")


if __name__ == "__main__":
    main()
