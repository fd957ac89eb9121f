#!/usr/bin/env python3
"""The YOLOv8/11 box branch and DFL alone: lossfn against ultralytics' formulation in torch eager
(bbox_decode's softmax · proj and dist2bbox, bbox_iou CIoU, bbox2dist, DFLoss: forward +
backward), the C loop a performance-minded user writes (benches/c_loop_dfl_box.c: gcc -O3
-march=native -ffast-math -fopenmp), and the memory bound, in one run on the same data and threads.

    cargo build --release --lib
    python3 -m pip install torch && python3 -m pip download --no-deps -d /tmp/w ultralytics
    python3 benches/vs_ultralytics_dfl_box.py [--wheel /tmp/w/ultralytics-*.whl] [--n 100000] [--bins 16] [--threads 2]

n foreground anchors (ultralytics selects them with fg_mask first; that gather is not timed),
float32, weights target_scores.sum(-1) and avg_factor = their sum. ultralytics' functions come out
of its wheel with --wheel (it does not import without OpenCV), else from the fixture generator's
copies (tools/fixtures/families: the same lines; source_check.py compares them). Times are the
best of --reps calls; the memory bound moves 4·(2·4·bins + 2 + 4 + 1) bytes per anchor (logits
read, gradient written, anchors, target, weight) at the copy bandwidth the C program measures.
Prints a table with the ratios and checks that lossfn, torch and the C loop agree.
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import lossfn  # noqa: E402
import lossfn.torch as lt  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
from families import boxes as B  # noqa: E402
from families import dfl as D  # noqa: E402
from wheel_common import best_ms, from_wheel  # noqa: E402

torch.set_default_dtype(torch.float32)  # the generator's modules set float64 for its references


def ultralytics_functions(wheel):
    """(bbox_iou(p, t) CIoU, DFLoss class, source) from the wheel or the generator's copies."""
    if not wheel:
        return (lambda p, t: B._ciou_ultralytics(p.unbind(-1), t.unbind(-1), 1e-7).unsqueeze(-1), D.DFLoss,
                "tools/fixtures/families (ultralytics' lines)")
    ns = from_wheel(wheel, {"ultralytics/utils/metrics.py": ("bbox_iou",), "ultralytics/utils/loss.py": ("DFLoss",)},
                    {"torch": torch, "nn": torch.nn, "F": F, "math": math, "np": np})
    return (lambda p, t: ns["bbox_iou"](p, t, xywh=False, CIoU=True)), ns["DFLoss"], os.path.basename(wheel)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", help="ultralytics wheel to take bbox_iou / DFLoss from")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--bins", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=9)
    args = ap.parse_args()
    bbox_iou, DFLoss, source = ultralytics_functions(args.wheel)
    torch.set_num_threads(args.threads)
    lossfn.set_num_threads(args.threads)
    gen = np.random.default_rng(0)
    n, bins = args.n, args.bins
    logits = (2 * gen.standard_normal((n, 4, bins))).astype(np.float32)
    anchors = (gen.integers(0, 80, (n, 2)) + 0.5).astype(np.float32)
    d = gen.random((n, 4)) * (bins + 1)
    target = np.concatenate([anchors - d[:, :2], anchors + d[:, 2:]], 1).astype(np.float32)
    weight = gen.uniform(0.05, 1.0, n).astype(np.float32)
    tss = float(weight.sum())

    # The C loop: same data, same threads.
    exe = os.path.join(tempfile.gettempdir(), "c_loop_dfl_box")
    subprocess.run(["gcc", "-O3", "-march=native", "-ffast-math", "-fopenmp", os.path.join(ROOT, "benches", "c_loop_dfl_box.c"),
                    "-o", exe, "-lm"], check=True)
    data = os.path.join(tempfile.gettempdir(), "dfl_box_inputs.f32")
    np.concatenate([logits.ravel(), anchors.ravel(), target.ravel(), weight]).tofile(data)
    out = subprocess.run([exe, data, str(n), str(bins)], check=True, capture_output=True, text=True,
                         env=dict(os.environ, OMP_NUM_THREADS=str(args.threads))).stdout
    c = {line.split()[0]: line.split()[1:] for line in out.splitlines()}
    bw = float(c["copy_gbs"][0]) * 1e9
    c_box_ms, c_loss = float(c["box_ms"][0]), [float(c["box_ms"][2]), float(c["box_ms"][3])]
    c_dfl_ms = float(c["dfl_ms"][0])
    c_grad = np.fromfile("/tmp/c_loop_dfl_box.grad", dtype=np.float32).reshape(n, 4, bins)

    # lossfn: numpy API and lossfn.torch.
    kw = dict(weight=weight, avg_factor=tss)
    ours_np = best_ms(args.reps, lambda: lossfn.dfl_box_loss(logits, anchors, target, **kw))
    loss_np, grad_np = lossfn.dfl_box_loss(logits, anchors, target, **kw)
    xt, at, tt, wt = (torch.from_numpy(v) for v in (logits, anchors, target, weight))
    proj = torch.arange(bins, dtype=torch.float32)
    dfloss = DFLoss(bins)

    def step(fn):
        x = xt.clone().requires_grad_(True)
        fn(x).sum().backward()
        return x

    def ultralytics(x):
        """bbox_decode + BboxLoss.forward on the foreground anchors (CIoU, DFLoss)."""
        dist = x.softmax(2).matmul(proj)
        lt_, rb = dist.chunk(2, -1)
        pred_bboxes = torch.cat((at - lt_, at + rb), -1)
        w = wt.unsqueeze(-1)
        iou = bbox_iou(pred_bboxes, tt)
        loss_iou = ((1.0 - iou) * w).sum() / tss
        x1y1, x2y2 = tt.chunk(2, -1)
        target_ltrb = torch.cat((at - x1y1, x2y2 - at), -1).clamp_(0, bins - 1 - 0.01)
        loss_dfl = (dfloss(x.view(-1, bins), target_ltrb) * w).sum() / tss
        return torch.stack([loss_iou, loss_dfl])

    ours_torch = best_ms(args.reps, lambda: step(lambda x: lt.dfl_box_loss(x, at, tt, **{"weight": wt, "avg_factor": tss})))
    theirs = best_ms(args.reps, lambda: step(ultralytics))
    x_ref = step(ultralytics)
    loss_ref = ultralytics(xt).detach().numpy()

    # DFL alone on the same logits and bbox2dist targets, mean over the anchors.
    td = np.concatenate([anchors - target[:, :2], target[:, 2:] - anchors], 1).astype(np.float32)
    dfl_np = best_ms(args.reps, lambda: lossfn.dfl_loss(logits, td))
    tdt = torch.from_numpy(td)
    dfl_torch = best_ms(args.reps, lambda: step(lambda x: lt.dfl_loss(x, tdt)))
    dfl_theirs = best_ms(args.reps, lambda: step(lambda x: dfloss(x.view(-1, bins), tdt.clone()).mean()))

    gscale = float(np.abs(grad_np).max())
    agree = (float(np.abs(loss_np - loss_ref).max()), float(np.abs(grad_np - x_ref.grad.numpy()).max()) / gscale,
             float(np.abs(loss_np - c_loss).max()), float(np.abs(grad_np - c_grad).max()) / gscale)
    per_anchor = 4 * (2 * 4 * bins + 2 + 4 + 1)
    bound = 1e3 * per_anchor * n / bw
    bound_dfl = 1e3 * 4 * (2 * 4 * bins + 4) * n / bw
    print(f"YOLOv8 box branch, {n} foreground anchors x 4 x {bins} bins, f32, {args.threads} threads; "
          f"ultralytics functions from {source}; torch {torch.__version__}; copy bandwidth {bw / 1e9:.1f} GB/s")
    print(f"{'workload':44s} {'ms':>9s}  {'/ lossfn numpy':>15s}")
    rows = [
        (f"memory bound ({per_anchor} B/anchor)", bound),
        ("lossfn dfl_box_loss numpy (loss + grad)", ours_np),
        ("lossfn.torch dfl_box_loss (fwd + bwd)", ours_torch),
        ("ultralytics decode+CIoU+DFLoss, torch eager", theirs),
        ("C loop -O3 -ffast-math -fopenmp", c_box_ms),
    ]
    for name, ms in rows:
        print(f"{name:44s} {ms:9.3f}  {ms / ours_np:14.2f}x")
    print(f"box branch: vs ultralytics {theirs / ours_np:.1f}x (numpy), {theirs / ours_torch:.1f}x (lossfn.torch); "
          f"vs the C loop {c_box_ms / ours_np:.2f}x; {bound / ours_np:.2f} of the memory bound")
    print(f"agreement: |loss - ultralytics| {agree[0]:.2e}, grad {agree[1]:.2e} (of the largest); "
          f"|loss - C loop| {agree[2]:.2e}, grad {agree[3]:.2e}")
    print(f"DFL alone: lossfn numpy {dfl_np:.3f} ms, lossfn.torch {dfl_torch:.3f} ms, ultralytics DFLoss {dfl_theirs:.3f} ms "
          f"({dfl_theirs / dfl_np:.1f}x numpy, {dfl_theirs / dfl_torch:.1f}x lossfn.torch), C loop {c_dfl_ms:.3f} ms "
          f"({c_dfl_ms / dfl_np:.2f}x), memory bound {bound_dfl:.3f} ms")


if __name__ == "__main__":
    main()
