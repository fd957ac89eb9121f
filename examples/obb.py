"""Rotated boxes through the Python binding: match noisy oriented detections to their ground truth
with the pairwise ProbIoU matrix (ultralytics batch_probiou), then fit them by gradient descent on
the ProbIoU loss (ultralytics RotatedBboxLoss's IoU term, floor 0.01) over all five inputs:
centre, sides and angle."""
import numpy as np

import lossfn

rng = np.random.default_rng(0)
# Ground truth: 12 oriented boxes (cx, cy, w, h, angle in radians) in a 1024x1024 image.
n = 12
gt = np.column_stack([rng.uniform(100, 900, n), rng.uniform(100, 900, n), rng.uniform(30, 120, n),
                      rng.uniform(15, 60, n), rng.uniform(-np.pi / 2, np.pi / 2, n)])
# Detections: shuffled copies, shifted, rescaled and turned.
order = rng.permutation(n)
det = gt[order] + np.column_stack([rng.normal(0, 6, (n, 2)), np.zeros((n, 2)), rng.normal(0, 0.25, n)])
det[:, 2:4] *= rng.uniform(0.75, 1.3, (n, 2))
det, gt = det.astype(np.float32), gt.astype(np.float32)

# Matching: each detection to the ground-truth box of highest ProbIoU.
match = lossfn.probiou_matrix(det, gt).argmax(axis=1)
print(f"matched {np.sum(match == order)}/{n} detections to their own ground truth")

target = gt[match]
boxes = det.copy()
# Steps per input: pixels for the centre and sides, radians for the angle.
lr = np.array([20.0, 20.0, 20.0, 20.0, 0.05], np.float32)
losses = []
for step in range(301):
    loss, grad = lossfn.probiou_loss(boxes, target, reduction="sum", floor=0.01)
    losses.append(float(loss) / n)
    if step % 75 == 0:
        print(f"step {step:3d}  mean ProbIoU loss {losses[-1]:.4f}")
    boxes -= lr * grad
mean_iou = 1 - lossfn.probiou_loss(boxes, target, reduction="none", grad=False)[0]
print(f"mean ProbIoU {1 - losses[0]:.3f} -> {mean_iou.mean():.3f}")
assert np.sum(match == order) == n
assert losses[-1] < 0.1 * losses[0] and mean_iou.mean() > 0.98 and all(b <= a + 1e-6 for a, b in zip(losses[::25], losses[25::25]))
