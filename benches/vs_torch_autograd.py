#!/usr/bin/env python3
"""lossfn.torch against torch / torchvision / MONAI, both through torch autograd: the time of
``loss = f(x); loss.backward()`` on the same float32 CPU tensors, same thread count, for the
workloads of BENCHMARKS.md. This is what a PyTorch training loop sees when it swaps its loss
for the lossfn.torch one (lossfn's time includes the binding, the gradient allocation and the
backward multiply).

    cargo build --release --lib
    python3 benches/vs_torch_autograd.py [--threads 2] [--reps 9] [--json docs/benchmarks.json]

Prints per workload the median ms of --reps calls (after 2 warm-up calls; torch and lossfn.torch
called in turn, so that both see the same load on a shared machine) for torch and for lossfn.torch, the speed-up, and how far the two losses are apart (a sanity check that both
compute the same thing). MONAI rows are skipped when MONAI is not installed.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import torchvision.ops as tvo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bindings", "python"))
import lossfn  # noqa: E402
import lossfn.torch as lt  # noqa: E402
from vs_torch_boxes import TORCH as TORCH_BOXES, make_boxes  # noqa: E402  (the box formulas torchvision lacks)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "fixtures"))
from families import boxes as FB  # noqa: E402  (ultralytics' and mmdet's box formulas, from their files)
torch.set_default_dtype(torch.float32)  # the generator's modules set float64 for its references

try:
    import monai.losses
except ImportError:
    monai = None


def time_ms(reps, x, *loss_fns):
    """(median, min) ms of forward + backward of each loss function, the functions timed in turn
    in every round (so that both see the same machine load); 2 warm-up rounds."""
    times = [[] for _ in loss_fns]
    for i in range(reps + 2):
        for fn, out in zip(loss_fns, times):
            x.grad = None
            t0 = time.perf_counter()
            fn(x).backward()
            if i >= 2:
                out.append(1e3 * (time.perf_counter() - t0))
    return [(statistics.median(t), min(t)) for t in times]


def workloads(gen):
    """(name, family, input tensor, torch loss, lossfn.torch loss, reference name)."""
    n = 16 << 20
    x = torch.rand(n, generator=gen) * 4 - 2
    t = torch.rand(n, generator=gen) * 4 - 2
    for name, ref, ours in [("L1", F.l1_loss, lt.l1_loss), ("MSE", F.mse_loss, lt.mse_loss),
                            ("Smooth L1", F.smooth_l1_loss, lt.smooth_l1_loss), ("Huber", F.huber_loss, lt.huber_loss)]:
        yield (f"{name}, 16M elements", "regression", x, lambda x, ref=ref: ref(x, t), lambda x, ours=ours: ours(x, t),
               f"F.{ref.__name__}")

    pred, target = (torch.from_numpy(a) for a in make_boxes(1_000_000))
    for name, label in [("iou", "IoU"), ("giou", "GIoU"), ("diou", "DIoU"), ("ciou", "CIoU"), ("eiou", "EIoU"),
                        ("cdiou", "CDIoU")]:
        ref, ours = TORCH_BOXES[name], getattr(lt, f"{name}_loss")
        refname = {"giou": "torchvision generalized_box_iou_loss", "diou": "torchvision distance_box_iou_loss",
                   "ciou": "torchvision complete_box_iou_loss"}.get(name, "torch formula")
        yield (f"{label}, 1M boxes", "boxes", pred, lambda x, ref=ref: ref(x, target, 1e-7),
               lambda x, ours=ours: ours(x, target), refname)

    # The detector losses of docs/api.md §5 against the code users run otherwise: ultralytics' and
    # mmdet's functions as tools/fixtures/families/*.py write them from their source files
    # (line by line; checked against the wheels by tools/fixtures/source_check.py).
    p4, t4 = pred.unbind(-1), target.unbind(-1)
    yield ("SIoU, 1M boxes", "boxes", pred, lambda x: FB._siou_mmdet(x.unbind(-1), t4, 1e-7).mean(),
           lambda x: lt.siou_loss(x, target), "mmdet siou_loss")
    yield ("CIoU ultralytics, 1M boxes", "boxes", pred, lambda x: (1 - FB._ciou_ultralytics(x.unbind(-1), t4, 1e-7)).mean(),
           lambda x: lt.ciou_loss(x, target, ciou_variant="ultralytics"), "ultralytics bbox_iou CIoU")
    n_dfl, bins = 100_000, 16
    dist = torch.randn(n_dfl, 4, bins, generator=gen) * 2
    dist_t = torch.rand(n_dfl, 4, generator=gen) * (bins - 1)

    def ultralytics_dfl(x):
        # ultralytics DFLoss.__call__ (reg_max = bins), then .mean()
        t = dist_t.clamp(0, bins - 1 - 0.01)
        tl = t.long()
        tr = tl + 1
        wl = tr - t
        wr = 1 - wl
        logp = F.log_softmax(x.reshape(-1, bins), dim=1)
        return -(logp.gather(1, tl.view(-1, 1)).view(tl.shape) * wl
                 + logp.gather(1, tr.view(-1, 1)).view(tl.shape) * wr).mean(-1).mean()
    yield ("DFL, 100k boxes x 4 x 16 bins", "boxes", dist, ultralytics_dfl, lambda x: lt.dfl_loss(x, dist_t),
           "ultralytics DFLoss")
    n_kpt = 100_000
    kpts = torch.rand(n_kpt, 17, 2, generator=gen) * 64
    kpts_t = kpts + torch.randn(n_kpt, 17, 2, generator=gen) * 3
    kpt_vis = (torch.rand(n_kpt, 17, generator=gen) < 0.8).float()
    kpt_area = torch.rand(n_kpt, generator=gen) * 400 + 1
    sig = torch.tensor(lossfn.keypoints.OKS_SIGMA, dtype=torch.float32)

    def ultralytics_oks(x):
        # ultralytics KeypointLoss.forward
        d = (x[..., 0] - kpts_t[..., 0]).pow(2) + (x[..., 1] - kpts_t[..., 1]).pow(2)
        factor = kpt_vis.shape[1] / (torch.sum(kpt_vis != 0, dim=1) + 1e-9)
        e = d / ((2 * sig).pow(2) * (kpt_area.view(-1, 1) + 1e-9) * 2)
        return (factor.view(-1, 1) * ((1 - torch.exp(-e)) * kpt_vis)).mean()
    yield ("OKS, 100k x 17 keypoints", "keypoints", kpts, ultralytics_oks,
           lambda x: lt.keypoint_oks_loss(x, kpts_t, kpt_vis, kpt_area, sig), "ultralytics KeypointLoss")

    logits = torch.randn(65536, 80, generator=gen) * 3
    labels = torch.randint(0, 80, (65536,), generator=gen)
    quality = torch.where(torch.rand(65536, 80, generator=gen) < 0.05, torch.rand(65536, 80, generator=gen), 0.0)

    def mmdet_varifocal(x, alpha=0.75, gamma=2.0):
        pred_sigmoid = x.sigmoid()
        focal_weight = quality * (quality > 0.0).float() + \
            alpha * (pred_sigmoid - quality).abs().pow(gamma) * (quality <= 0.0).float()
        return (F.binary_cross_entropy_with_logits(x, quality, reduction="none") * focal_weight).mean()

    def mmdet_qfl(x, beta=2.0):
        pred_sigmoid = x.sigmoid()
        return (F.binary_cross_entropy_with_logits(x, quality, reduction="none")
                * (quality - pred_sigmoid).abs().pow(beta)).mean()
    yield ("varifocal [65536, 80]", "classification", logits, mmdet_varifocal,
           lambda x: lt.varifocal_loss(x, quality), "mmdet varifocal_loss")
    yield ("quality focal [65536, 80]", "classification", logits, mmdet_qfl,
           lambda x: lt.quality_focal_loss(x, quality), "mmdet quality_focal_loss (dense)")
    yield ("cross entropy [65536, 80]", "classification", logits, lambda x: F.cross_entropy(x, labels),
           lambda x: lt.cross_entropy(x, labels), "F.cross_entropy")
    seg = torch.randn(8, 21, 256, 256, generator=gen) * 3
    seg_labels = torch.randint(0, 21, (8, 256, 256), generator=gen)
    yield ("cross entropy [8, 21, 256, 256]", "classification", seg, lambda x: F.cross_entropy(x, seg_labels),
           lambda x: lt.cross_entropy(x, seg_labels), "F.cross_entropy")
    binary = (torch.rand(65536, 80, generator=gen) > 0.9).float()
    yield ("BCE with logits [65536, 80]", "classification", logits,
           lambda x: F.binary_cross_entropy_with_logits(x, binary),
           lambda x: lt.binary_cross_entropy_with_logits(x, binary), "F.binary_cross_entropy_with_logits")
    yield ("sigmoid focal [65536, 80]", "classification", logits,
           lambda x: tvo.sigmoid_focal_loss(x, binary, reduction="mean"),
           lambda x: lt.sigmoid_focal_loss(x, binary), "torchvision sigmoid_focal_loss")
    yield ("entropy [65536, 80]", "classification", logits,
           lambda x: -(F.softmax(x, 1) * F.log_softmax(x, 1)).sum(1).mean(),
           lambda x: lt.entropy(x), "torch formula")
    teacher = torch.randn(65536, 80, generator=gen) * 3
    T = 4.0
    yield ("distillation KL T=4 [65536, 80]", "classification", logits,
           lambda x: F.kl_div(F.log_softmax(x / T, 1), F.softmax(teacher / T, 1), reduction="batchmean") * T * T,
           lambda x: lt.kl_div_logits(x, teacher, temperature=T), "F.kl_div")

    if monai is not None:
        dice = monai.losses.DiceLoss(softmax=True, to_onehot_y=True)
        tversky = monai.losses.TverskyLoss(softmax=True, to_onehot_y=True, alpha=0.3, beta=0.7)
        onehot_labels = seg_labels.unsqueeze(1)
        yield ("Dice [8, 21, 256, 256]", "overlap", seg, lambda x: dice(x, onehot_labels),
               lambda x: lt.dice_loss(x, seg_labels), "MONAI DiceLoss")
        yield ("Tversky [8, 21, 256, 256]", "overlap", seg, lambda x: tversky(x, onehot_labels),
               lambda x: lt.tversky_loss(x, seg_labels), "MONAI TverskyLoss")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--only", default="", help="run the workloads whose name contains this text")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    lossfn.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, lossfn {lossfn.version()}, {args.threads} threads, float32, "
          f"forward + backward, median of {args.reps}" + ("" if monai else " (MONAI not installed: no Dice rows)"))
    print(f"{'workload':34} {'torch ms':>9} {'lossfn ms':>9} {'speed-up':>8}  |loss diff|  reference")
    rows = []
    for name, family, x, ref, ours, refname in workloads(torch.Generator().manual_seed(0)):
        if args.only not in name:
            continue
        x = x.detach().requires_grad_()
        with torch.no_grad():
            diff = abs(float(ref(x)) - float(ours(x)))
        (t_ref, min_ref), (t_ours, min_ours) = time_ms(args.reps, x, ref, ours)
        rows.append({"workload": name, "family": family, "reference": refname, "torch_ms": round(t_ref, 3),
                     "lossfn_ms": round(t_ours, 3), "speedup": round(t_ref / t_ours, 2),
                     "torch_min_ms": round(min_ref, 3), "lossfn_min_ms": round(min_ours, 3), "loss_abs_diff": diff})
        print(f"{name:34} {t_ref:9.2f} {t_ours:9.2f} {t_ref / t_ours:7.1f}x  {diff:10.2e}  {refname}", flush=True)
    if args.json:
        meta = {"torch": torch.__version__, "lossfn": lossfn.version(), "threads": args.threads, "dtype": "float32",
                "reps": args.reps, "statistic": "median ms of forward + backward (min in *_min_ms)", "python": platform.python_version(),
                "machine": platform.machine(), "cpu_count": os.cpu_count(),
                "load_average": [round(v, 2) for v in os.getloadavg()],
                "monai": getattr(monai, "__version__", None) if monai else None}
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "results": rows}, f, indent=1)
            f.write("\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
