"""Fit a line with Smooth L1 through the Python binding: numpy in, (loss, grad) out."""
import numpy as np

import lossfn

rng = np.random.default_rng(0)
x = np.linspace(-2, 2, 512).astype(np.float32)
y = (3 * x - 1 + 0.05 * rng.standard_normal(x.size)).astype(np.float32)
y[::16] += 20  # outliers

a = b = np.float32(0)
losses = []
for step in range(200):
    loss, grad = lossfn.smooth_l1_loss(a * x + b, y, beta=1.0)
    a -= 0.5 * float(grad @ x)
    b -= 0.5 * float(grad.sum())
    losses.append(float(loss))
    if step % 50 == 0:
        print(f"step {step:3d}  smooth L1 {float(loss):.4f}  a {a:.3f}  b {b:.3f}")
print(f"fitted y = {a:.3f} x {b:+.3f} (true 3x - 1)")
assert losses[-1] < 0.5 * losses[0] and abs(a - 3) < 0.2 and abs(b + 1) < 0.4
