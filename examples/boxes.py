"""Box losses through the Python binding: match noisy detections to ground truth with the pairwise
IoU matrix, then refine the matched boxes by gradient descent on the CIoU loss (cx, cy, w, h)."""
import numpy as np

import lossfn

rng = np.random.default_rng(0)
# Ground truth: 20 boxes (cx, cy, w, h) in a 640x640 image.
gt = np.column_stack([rng.uniform(50, 590, 20), rng.uniform(50, 590, 20), rng.uniform(20, 120, 20), rng.uniform(20, 120, 20)])
# Detections: shuffled, shifted and rescaled copies of them.
order = rng.permutation(20)
det = gt[order] + np.column_stack([rng.normal(0, 8, (20, 2)), np.zeros((20, 2))])
det[:, 2:] *= rng.uniform(0.7, 1.4, (20, 2))
det, gt = det.astype(np.float32), gt.astype(np.float32)

# Matching: each detection to the ground-truth box it overlaps most.
iou = lossfn.box_iou_matrix(det, gt, format="cxcywh", kind="iou")
match = iou.argmax(axis=1)
print(f"matched {np.sum(match == order)}/20 detections to their own ground truth")

target = gt[match]
boxes = det.copy()
for step in range(101):
    loss, grad = lossfn.ciou_loss(boxes, target, format="cxcywh", reduction="sum")
    ious = 1 - lossfn.iou_loss(boxes, target, format="cxcywh", reduction="none", grad=False)[0]
    if step % 25 == 0:
        print(f"step {step:3d}  CIoU loss {float(loss) / len(boxes):.4f}  mean IoU {ious.mean():.4f}")
    if step == 0:
        first = ious.mean()
    boxes -= 40.0 * grad  # pixels: the gradient of an IoU-type loss scales like 1/size
print(f"mean IoU {first:.3f} -> {ious.mean():.3f}")
assert np.sum(match == order) >= 18 and ious.mean() > 0.95 and ious.mean() > first + 0.1
