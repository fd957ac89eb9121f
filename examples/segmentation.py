"""Segmentation through the Python binding: a per-pixel linear classifier on NHWC images trained
with DiceCE (lossfn.dice_ce_loss: MONAI DiceCELoss, Dice with softmax inside + cross entropy on one
softmax, [total, dice, ce] and d total / d logits in one call), then with Focal Tversky
(lossfn.tversky_loss, alpha 0.3 / beta 0.7, gamma 0.75); numpy does the chain rule to the weights."""
import numpy as np

import lossfn

n, c, h, w, f = 4, 4, 32, 32, 3
rng = np.random.default_rng(0)
yy, xx = np.mgrid[0:h, 0:w]
labels = np.zeros((n, h, w), np.int64)
for i in range(n):
    labels[i][(abs(xx - 8 - 4 * i) < 5) & (abs(yy - 10 - 3 * i) < 5)] = 1  # square
    labels[i][(xx - 22) ** 2 + (yy - 20 + 2 * i) ** 2 < 36] = 2          # disc
    labels[i][(yy >= 27) & (yy < 30)] = 3                                # stripe
colour = np.array([[0.2, 0.2, 0.2], [0.9, 0.1, 0.1], [0.1, 0.8, 0.2], [0.2, 0.3, 0.9]], np.float32)
images = (colour[labels] + rng.uniform(-0.4, 0.4, (n, h, w, f))).astype(np.float32)  # NHWC

def train(name, loss_and_grad, lr):
    weight = np.zeros((f, c), np.float32)
    bias = np.zeros(c, np.float32)
    losses = []
    for step in range(61):
        logits = images @ weight + bias  # [n, h, w, c]
        loss, grad = loss_and_grad(logits)
        weight -= lr * np.einsum("nhwf,nhwc->fc", images, grad)
        bias -= lr * grad.sum((0, 1, 2))
        losses.append(float(loss))
        if step % 10 == 0:
            accuracy = (logits.argmax(-1) == labels).mean()
            print(f"step {step:2d}  {name} {float(loss):.4f}  pixel accuracy {accuracy:.3f}")
    assert losses[-1] < 0.6 * losses[0], losses


def dice_ce(logits):
    parts, grad = lossfn.dice_ce_loss(logits, labels, layout="nhwc")  # [total, dice, ce]
    return parts[0], grad


train("DiceCE", dice_ce, 5)
train("focal Tversky", lambda z: lossfn.tversky_loss(z, labels, layout="nhwc", alpha=0.3, beta=0.7, gamma=0.75), 20)
