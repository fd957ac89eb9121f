"""Data-parallel segmentation training with the exact batch Dice across MPI ranks, in Python
(mpi4py; docs/distributed.md, "two phases").

A batch of 6 noisy-colour "images" (4 classes, class 0 the background) is split over the ranks
(rank 0 holds none when there are several); the model is a 1x1 convolution, the same on every
rank. Each step: every rank computes its Dice statistics (lossfn.overlap_stats), the ranks sum
them (Allreduce: 3 doubles per class kept), every rank gets the whole batch's batch Dice and its
share of the gradient (lossfn.overlap_loss_from_stats), back-propagates it, and the ranks sum the
parameter gradients (SUM: one global loss) before the same SGD step. On rank 0 the first step is
checked against lossfn.dice_loss(batch=True) on the whole batch.

Run: mpirun -np 2 python3 examples/mpi_train_step.py (ctest example_py.mpi_train_step where
mpi4py imports).
"""
import numpy as np
from mpi4py import MPI

import lossfn

comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
B, K, C, H, W = 6, 3, 4, 32, 32


def split(r):
    """Samples [lo, hi) of rank r: none on rank 0 with several ranks, the rest 1 : 2 : ..."""
    if size == 1:
        return 0, B
    if r == 0:
        return 0, 0
    total, acc = (size - 1) * size // 2, sum(range(1, r))
    return B * acc // total, B * (acc + r) // total


# The same data on every rank (a fixed seed); each rank keeps its own samples.
rng = np.random.default_rng(7)
h, w = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
labels = np.stack([((h // 8) * (w // 8) + n) % C for n in range(B)])
colour = np.array([[0.2, 0.2, 0.2], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
images = (colour[labels].transpose(0, 3, 1, 2) + rng.uniform(-0.3, 0.3, (B, K, H, W))).astype(np.float32)
lo, hi = split(rank)
x_mine, y_mine = images[lo:hi], labels[lo:hi]

weight, bias = np.zeros((C, K), np.float32), np.zeros(C, np.float32)
opts = dict(kind="dice", include_background=False)
first = loss = None
for step in range(30):
    logits = np.einsum("ck,nkhw->nchw", weight, x_mine) + bias[None, :, None, None]
    stats = lossfn.overlap_stats(logits, y_mine, **opts)                  # 1. this rank's [TP, P, G]
    comm.Allreduce(MPI.IN_PLACE, stats, op=MPI.SUM)                       # 2. 3 doubles per class kept
    loss, grad = lossfn.overlap_loss_from_stats(logits, y_mine, stats, **opts)   # 3. the whole batch's
    g = np.concatenate([np.einsum("nchw,nkhw->ck", grad, x_mine).ravel(), grad.sum(axis=(0, 2, 3))])
    comm.Allreduce(MPI.IN_PLACE, g, op=MPI.SUM)                           # 4. sum of the ranks' shares
    weight -= 4.0 * g[:C * K].reshape(C, K)
    bias -= 4.0 * g[C * K:]
    if step == 0:
        first = float(loss)
        if rank == 0:  # the same loss as one process computing the batch Dice of the whole batch
            full = np.einsum("ck,nkhw->nchw", np.zeros((C, K), np.float32), images)
            ref, _ = lossfn.dice_loss(full, labels, batch=True, include_background=False)
            assert abs(float(ref) - first) <= 1e-6 * max(1.0, abs(float(ref))), (float(ref), first)
    if rank == 0 and (step % 5 == 0 or step == 29):
        print(f"step {step:2d}: batch Dice loss of the whole batch {float(loss):.5f} ({size} ranks, "
              f"{stats.nbytes} bytes of statistics exchanged)")

losses = comm.allgather(float(loss))
ok = len(set(losses)) == 1 and float(loss) < 0.5 * first
if rank == 0:
    print(f"loss {first:.5f} -> {float(loss):.5f}, the same on every rank: {'ok' if ok else 'FAILED'}")
raise SystemExit(0 if ok else 1)
