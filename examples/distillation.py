"""Knowledge distillation through the Python binding (Hinton et al. 2015).

A "teacher" (a fixed random two-layer network) labels 10-class data; a linear "student" learns
from it with the usual mix: alpha * T^2 KL(softmax(teacher/T) || softmax(student/T)) (the
soft targets, lossfn.kl_div_logits) + (1 - alpha) * cross entropy on the teacher's hard labels
(lossfn.cross_entropy). Both come with their gradient w.r.t. the student's logits; the linear
layer's backward pass is two matrix products.
"""
import numpy as np

import lossfn

rng = np.random.default_rng(0)
N, D, H, C = 2048, 16, 64, 10
T, ALPHA, LR = 4.0, 0.7, 0.5

x = rng.standard_normal((N, D)).astype(np.float32)
w1 = rng.standard_normal((D, H)).astype(np.float32) / np.sqrt(D)
w2 = rng.standard_normal((H, C)).astype(np.float32) * 2 / np.sqrt(H)
teacher = (np.maximum(x @ w1, 0) @ w2).astype(np.float32)  # [N, C] logits
hard = teacher.argmax(axis=1).astype(np.int64)

w = np.zeros((D, C), np.float32)
b = np.zeros(C, np.float32)
history = []
for step in range(201):
    student = x @ w + b
    kd, g_kd = lossfn.kl_div_logits(student, teacher, temperature=T, reduction="batchmean")
    ce, g_ce = lossfn.cross_entropy(student, hard)
    loss = ALPHA * kd + (1 - ALPHA) * ce
    g = ALPHA * g_kd + (1 - ALPHA) * g_ce  # d loss / d student logits, [N, C]
    agree = np.mean(student.argmax(axis=1) == hard)
    history.append((float(kd), float(ce), agree))
    if step % 50 == 0:
        print(f"step {step:3d}  loss {float(loss):.4f}  KL(T={T:g}) {float(kd):.4f}  CE {float(ce):.4f}  agreement {agree:.3f}")
    w -= LR * (x.T @ g)
    b -= LR * g.sum(axis=0)

# The gradient lossfn returns is T * (softmax(student/T) - softmax(teacher/T)) / N: check it.
def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


student = x @ w + b
_, g_kd = lossfn.kl_div_logits(student, teacher, temperature=T)
np.testing.assert_allclose(g_kd, T * (softmax(student / T) - softmax(teacher / T)) / N, atol=1e-7)

(kd0, ce0, agree0), (kd1, ce1, agree1) = history[0], history[-1]
print(f"KL {kd0:.3f} -> {kd1:.3f}, teacher agreement {agree0:.3f} -> {agree1:.3f}")
assert kd1 < 0.5 * kd0 and ce1 < ce0 and agree1 > 0.6
