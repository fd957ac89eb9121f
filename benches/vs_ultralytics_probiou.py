#!/usr/bin/env python3
"""ProbIoU: lossfn against ultralytics' probiou / batch_probiou in torch eager, the C loop a
performance-minded user writes (benches/c_loop_probiou.c: gcc -O3 -march=native -ffast-math
-fopenmp), and the memory bound, in one run on the same boxes and threads.

    cargo build --release --lib
    python3 -m pip install torch && python3 -m pip download --no-deps -d /tmp/w ultralytics
    python3 benches/vs_ultralytics_probiou.py [--wheel /tmp/w/ultralytics-*.whl] [--n 1000000] [--matrix 1000] [--threads 2]

The loss is RotatedBboxLoss's IoU term, mean(1 - probiou(pred, target, floor=0.01)), forward +
backward, float32 boxes (cx, cy, w, h, angle) near their targets; the matrix is batch_probiou
(no gradient). ultralytics' functions are taken out of its wheel with --wheel (it does not import
without OpenCV), else from tools/fixtures/families/rotated.py (the same lines; source_check.py
compares the two: deviation 0). Times are the best of --reps calls; the memory bound moves 60
bytes per box (pred and target read, gradient written) or 4 bytes per matrix cell at the copy
bandwidth the C program measures. Prints a table with the ratios and checks that lossfn, torch
and the C loop agree on the loss and gradient.
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import lossfn  # noqa: E402
import lossfn.torch as lt  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
from families import rotated as R  # noqa: E402
from wheel_common import best_ms, from_wheel  # noqa: E402

torch.set_default_dtype(torch.float32)  # the generator's modules set float64 for its references


def ultralytics_functions(wheel):
    """probiou and batch_probiou from the wheel's utils/metrics.py (or the generator's copy)."""
    if not wheel:
        return R.probiou, R.batch_probiou, "tools/fixtures/families/rotated.py (ultralytics' lines)"
    ns = from_wheel(wheel, {"ultralytics/utils/metrics.py": ("_get_covariance_matrix", "probiou", "batch_probiou")},
                    {"torch": torch, "math": math, "np": np})
    return ns["probiou"], ns["batch_probiou"], os.path.basename(wheel)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", help="ultralytics wheel to take probiou / batch_probiou from")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--matrix", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=9)
    args = ap.parse_args()
    probiou, batch_probiou, source = ultralytics_functions(args.wheel)
    torch.set_num_threads(args.threads)
    lossfn.set_num_threads(args.threads)
    gen = np.random.default_rng(0)
    n = args.n
    target = R.random_obb(gen, n)
    pred = target + np.concatenate([gen.uniform(-1, 1, (n, 2)), gen.uniform(-0.5, 0.5, (n, 3))], axis=1)
    pred, target = pred.astype(np.float32), target.astype(np.float32)

    # The C loop: same boxes, same threads.
    exe = os.path.join(tempfile.gettempdir(), "c_loop_probiou")
    subprocess.run(["gcc", "-O3", "-march=native", "-ffast-math", "-fopenmp", os.path.join(ROOT, "benches", "c_loop_probiou.c"),
                    "-o", exe, "-lm"], check=True)
    boxes_file = os.path.join(tempfile.gettempdir(), "probiou_boxes.f32")
    np.concatenate([pred.ravel(), target.ravel()]).tofile(boxes_file)
    out = subprocess.run([exe, boxes_file, str(n), str(args.matrix)], check=True, capture_output=True, text=True,
                         env=dict(os.environ, OMP_NUM_THREADS=str(args.threads))).stdout
    c = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()}
    c_loss = float(out.split("loss ")[-1].split()[0]) if "loss_ms" in out else math.nan
    c_grad = np.fromfile("/tmp/c_loop_probiou.grad", dtype=np.float32).reshape(n, 5)
    bw = c["copy_gbs"] * 1e9

    # lossfn: numpy API and lossfn.torch; ultralytics in torch eager.
    ours_np = best_ms(args.reps, lambda: lossfn.probiou_loss(pred, target, floor=0.01))
    loss_np, grad_np = lossfn.probiou_loss(pred, target, floor=0.01)
    pt, tt = torch.from_numpy(pred), torch.from_numpy(target)

    def torch_step(fn):
        x = pt.clone().requires_grad_(True)
        fn(x).backward()
        return x

    ours_torch = best_ms(args.reps, lambda: torch_step(lambda x: lt.probiou_loss(x, tt, floor=0.01)))
    theirs = best_ms(args.reps, lambda: torch_step(lambda x: (1 - probiou(x, tt, floor=0.01)).mean()))
    x_ref = torch_step(lambda x: (1 - probiou(x, tt, floor=0.01)).mean())
    loss_ref = float((1 - probiou(pt, tt, floor=0.01)).mean())
    gscale = float(np.abs(grad_np).max())
    agree = (abs(float(loss_np) - loss_ref), float(np.abs(grad_np - x_ref.grad.numpy()).max()) / gscale,
             abs(float(loss_np) - c_loss), float(np.abs(grad_np - c_grad).max()) / gscale)

    m = args.matrix
    b1, b2 = pred[:m].copy(), target[:m].copy()
    ours_mx = best_ms(args.reps, lambda: lossfn.probiou_matrix(b1, b2))
    with torch.no_grad():
        theirs_mx = best_ms(args.reps, lambda: batch_probiou(torch.from_numpy(b1), torch.from_numpy(b2)))
        mx_ref = batch_probiou(torch.from_numpy(b1), torch.from_numpy(b2)).numpy()
    mx_dev = float(np.abs(lossfn.probiou_matrix(b1, b2) - mx_ref).max())

    bound = 1e3 * 60 * n / bw
    bound_mx = 1e3 * 4 * m * m / bw
    print(f"ProbIoU, {n} boxes, f32, {args.threads} threads; ultralytics functions from {source}; "
          f"torch {torch.__version__}; copy bandwidth {bw / 1e9:.1f} GB/s")
    print(f"{'workload':34s} {'ms':>9s}  {'lossfn numpy is':>16s}")
    rows = [
        ("memory bound (60 B/box)", bound),
        ("lossfn numpy (loss + grad)", ours_np),
        ("lossfn.torch (forward + backward)", ours_torch),
        ("ultralytics probiou, torch eager", theirs),
        ("C loop -O3 -ffast-math -fopenmp", c["loss_ms"]),
    ]
    for name, ms in rows:
        print(f"{name:34s} {ms:9.3f}  {ms / ours_np:15.2f}x")
    print(f"speed-up vs ultralytics: {theirs / ours_np:.1f}x (numpy), {theirs / ours_torch:.1f}x (lossfn.torch); "
          f"vs the C loop {c['loss_ms'] / ours_np:.2f}x; {bound / ours_np:.2f} of the memory bound")
    print(f"agreement: |loss - ultralytics| {agree[0]:.2e}, grad {agree[1]:.2e} (of the largest); "
          f"|loss - C loop| {agree[2]:.2e}, grad {agree[3]:.2e}")
    print(f"matrix {m} x {m}: lossfn {ours_mx:.3f} ms, ultralytics batch_probiou {theirs_mx:.3f} ms "
          f"({theirs_mx / ours_mx:.1f}x), C loop {c['matrix_ms']:.3f} ms ({c['matrix_ms'] / ours_mx:.2f}x), "
          f"memory bound {bound_mx:.3f} ms; max |difference| {mx_dev:.2e}")


if __name__ == "__main__":
    main()
