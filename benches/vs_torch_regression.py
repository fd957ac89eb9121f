"""Regression losses: lossfn (Python binding) vs PyTorch eager forward + backward, same threads.

Run: LOSSFN_LIBRARY=target/release/liblossfn.so PYTHONPATH=bindings/python python3 benches/vs_torch_regression.py
Needs torch (not a test dependency). Prints ms per call and the speed-up.
"""
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

import lossfn

THREADS = int(os.environ.get("THREADS", "2"))
N = 16 << 20
REPS = 7


def best(fn):
    fn()
    times = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def log_cosh_torch(x, t):
    d = x - t
    return (d + F.softplus(-2.0 * d) - math.log(2.0)).mean()


def main():
    torch.set_num_threads(THREADS)
    lossfn.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, N).astype(np.float32)
    t = rng.uniform(-2, 2, N).astype(np.float32)
    tx = torch.from_numpy(x.copy()).requires_grad_(True)
    tt = torch.from_numpy(t)
    cases = [
        ("l1_loss", lossfn.l1_loss, F.l1_loss),
        ("mse_loss", lossfn.mse_loss, F.mse_loss),
        ("smooth_l1_loss", lossfn.smooth_l1_loss, F.smooth_l1_loss),
        ("huber_loss", lossfn.huber_loss, F.huber_loss),
        # torch has no log-cosh: Keras' expression, as a torch user writes it.
        ("log_cosh_loss", lossfn.log_cosh_loss, log_cosh_torch),
    ]
    print(f"{N} f32 elements, gradient on, {THREADS} threads (torch {torch.__version__})")
    print(f"{'loss':16s} {'torch ms':>9s} {'lossfn ms':>10s} {'speed-up':>9s}")
    for name, ours, theirs in cases:
        def run_torch():
            tx.grad = None
            theirs(tx, tt).backward()

        t_torch = best(run_torch)
        t_ours = best(lambda: ours(x, t))
        loss, grad = ours(x, t)
        ref = theirs(tx, tt)
        tx.grad = None
        ref.backward()
        assert abs(float(loss) - float(ref)) <= 1e-4 * abs(float(ref)), (name, float(loss), float(ref))
        assert np.allclose(grad, tx.grad.numpy(), rtol=1e-4, atol=1e-12), name
        print(f"{name:16s} {t_torch * 1e3:9.2f} {t_ours * 1e3:10.2f} {t_torch / t_ours:8.1f}x")


if __name__ == "__main__":
    main()
