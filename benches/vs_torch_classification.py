#!/usr/bin/env python3
"""lossfn vs PyTorch eager (forward + backward) for the classification family.

Same float32 inputs (numpy), same thread count for both (torch.set_num_threads and
lossfn_set_num_threads). Prints the best of several runs in ms and the speed-up.

    cargo build --release
    python3 benches/vs_torch_classification.py [--threads N] [--reps R]

lossfn is called through ctypes on target/release/liblossfn.so (or $LOSSFN_LIB).
"""
import argparse
import ctypes as C
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

try:
    import torchvision.ops as tvops
except ImportError:  # torchvision missing: the sigmoid focal row uses the same formula inline
    tvops = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIB = os.environ.get("LOSSFN_LIB", os.path.join(ROOT, "target", "release", "liblossfn.so"))

NCS, NSC = 0, 1
NONE, MEAN, SUM, BATCHMEAN = 0, 1, 2, 3


class Shape(C.Structure):
    _fields_ = [("batch", C.c_size_t), ("classes", C.c_size_t), ("spatial", C.c_size_t), ("layout", C.c_uint32)]


class CeOpts(C.Structure):
    _fields_ = [("reduction", C.c_uint32), ("ignore_index", C.c_int64), ("label_smoothing", C.c_double)]


class BceOpts(C.Structure):
    _fields_ = [("reduction", C.c_uint32)]


class EntOpts(C.Structure):
    _fields_ = [("reduction", C.c_uint32), ("input", C.c_uint32)]


class KdOpts(C.Structure):
    _fields_ = [("reduction", C.c_uint32), ("temperature", C.c_double)]


class FocalOpts(C.Structure):
    _fields_ = [("reduction", C.c_uint32), ("alpha", C.c_double), ("gamma", C.c_double), ("ignore_index", C.c_int64)]


def ptr(a):
    return None if a is None else a.ctypes.data_as(C.c_void_p)


def best_ms(fn, reps):
    fn()  # warm up (allocations, thread pools)
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()

    lib = C.CDLL(LIB)
    lib.lossfn_set_num_threads.argtypes = [C.c_size_t]
    for name in ["cross_entropy_f32", "cross_entropy_soft_f32", "bce_with_logits_f32", "entropy_f32",
                 "kl_div_logits_f32", "sigmoid_focal_loss_f32", "softmax_focal_loss_f32"]:
        getattr(lib, "lossfn_" + name).restype = C.c_uint32
    torch.set_num_threads(args.threads)
    lib.lossfn_set_num_threads(args.threads)
    rng = np.random.default_rng(0)

    def check(status):
        if status != 0:
            buf = C.create_string_buffer(512)
            lib.lossfn_last_error(buf, 512)
            raise RuntimeError(buf.value.decode())

    rows = []

    def bench(name, torch_fn, lossfn_fn, inputs, reps=args.reps):
        t_ms = best_ms(torch_fn, reps)
        l_ms = best_ms(lossfn_fn, reps)
        rows.append((name, t_ms, l_ms))
        print(f"{name:44s} torch {t_ms:8.2f} ms   lossfn {l_ms:7.2f} ms   x{t_ms / l_ms:6.1f}", flush=True)

    # ---- cross entropy [65536, 80] (NSC) and [8, 21, 256*256] (NCS)
    for (n, c, s, layout, label) in [(65536, 80, 1, NSC, "[65536, 80] NSC"), (8, 21, 256 * 256, NCS, "[8, 21, 256*256] NCS")]:
        x = rng.standard_normal((n, c, s) if layout == NCS else (n, c), dtype=np.float32) * 2
        y = rng.integers(0, c, size=(n, s) if layout == NCS else (n,), dtype=np.int64)
        xt = torch.from_numpy(x.reshape(n, c, 256, 256) if layout == NCS else x).requires_grad_()
        yt = torch.from_numpy(y.reshape(n, 256, 256) if layout == NCS else y)
        g = np.empty_like(x)
        loss = np.zeros(1, np.float32)
        shape = Shape(n, c, s, layout)
        opts = CeOpts(MEAN, -100, 0.0)

        def tf():
            xt.grad = None
            F.cross_entropy(xt, yt).backward()

        def lf():
            check(lib.lossfn_cross_entropy_f32(ptr(x), ptr(y), None, shape, C.byref(opts), ptr(loss), ptr(g)))

        bench(f"cross_entropy {label}", tf, lf, None)
        tf()
        assert abs(F.cross_entropy(xt, yt).item() - loss[0]) < 1e-4 * max(1, abs(loss[0]))
        np.testing.assert_allclose(g.reshape(xt.shape), xt.grad.numpy(), rtol=1e-3, atol=1e-8)

    n, c = 65536, 80
    shape = Shape(n, c, 1, NSC)
    x = rng.standard_normal((n, c), dtype=np.float32) * 2
    xt = torch.from_numpy(x).requires_grad_()
    g = np.empty_like(x)
    loss = np.zeros(1, np.float32)

    def timed(name, tfn, lfn, check_pair=None):
        def tf():
            xt.grad = None
            tfn().backward()

        bench(name, tf, lfn, None)
        tf()
        ref = tfn().item()
        assert abs(ref - loss[0]) <= 2e-4 * max(1.0, abs(ref)), (name, ref, loss[0])
        np.testing.assert_allclose(g, xt.grad.numpy(), rtol=2e-3, atol=1e-9)

    # ---- BCE with logits
    tb = (rng.random((n, c)) < 0.1).astype(np.float32)
    tbt = torch.from_numpy(tb)
    bo = BceOpts(MEAN)
    timed("bce_with_logits [65536, 80]", lambda: F.binary_cross_entropy_with_logits(xt, tbt),
          lambda: check(lib.lossfn_bce_with_logits_f32(ptr(x), ptr(tb), None, None, shape, C.byref(bo), ptr(loss), ptr(g))))

    # ---- sigmoid focal (torchvision)
    fo = FocalOpts(MEAN, 0.25, 2.0, -100)
    if tvops is not None:
        sfl = lambda: tvops.sigmoid_focal_loss(xt, tbt, alpha=0.25, gamma=2.0, reduction="mean")
    else:
        def sfl():
            p = torch.sigmoid(xt)
            ce = F.binary_cross_entropy_with_logits(xt, tbt, reduction="none")
            p_t = p * tbt + (1 - p) * (1 - tbt)
            return ((0.25 * tbt + 0.75 * (1 - tbt)) * ce * (1 - p_t) ** 2).mean()
    timed("sigmoid_focal_loss [65536, 80]", sfl,
          lambda: check(lib.lossfn_sigmoid_focal_loss_f32(ptr(x), ptr(tb), None, shape, C.byref(fo), ptr(loss), ptr(g))))

    # ---- softmax focal (written in torch: no library op)
    y = rng.integers(0, c, size=(n,), dtype=np.int64)
    yt = torch.from_numpy(y)

    def smf():
        logp = F.log_softmax(xt, dim=1).gather(1, yt[:, None])[:, 0]
        return (-(1 - logp.exp()) ** 2 * logp).mean()

    timed("softmax_focal_loss [65536, 80]", smf,
          lambda: check(lib.lossfn_softmax_focal_loss_f32(ptr(x), ptr(y), None, shape, C.byref(fo), ptr(loss), ptr(g))))

    # ---- entropy of softmax(logits)
    eo = EntOpts(MEAN, 0)

    def ent():
        logp = F.log_softmax(xt, dim=1)
        return -(logp.exp() * logp).sum(1).mean()

    timed("entropy [65536, 80]", ent, lambda: check(lib.lossfn_entropy_f32(ptr(x), shape, C.byref(eo), ptr(loss), ptr(g))))

    # ---- distillation KL, T = 4, batchmean
    teacher = rng.standard_normal((n, c), dtype=np.float32) * 2
    tt = torch.from_numpy(teacher)
    T = 4.0
    ko = KdOpts(BATCHMEAN, T)
    timed("kl_div_logits (distillation, T=4) [65536, 80]",
          lambda: F.kl_div(F.log_softmax(xt / T, dim=1), F.softmax(tt / T, dim=1), reduction="batchmean") * T * T,
          lambda: check(lib.lossfn_kl_div_logits_f32(ptr(x), ptr(teacher), shape, C.byref(ko), ptr(loss), ptr(g))))

    print(f"\nthreads {args.threads}; torch {torch.__version__}; best of {args.reps}")


if __name__ == "__main__":
    main()
