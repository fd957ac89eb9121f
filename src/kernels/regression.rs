//! Regression losses on the difference d = input − target, elementwise:
//!
//! | loss      | l(d)                                              | ∂l/∂input                      |
//! |-----------|---------------------------------------------------|--------------------------------|
//! | L1 (MAE)  | \|d\|                                             | sign(d), 0 at d = 0 (as torch) |
//! | MSE (L2)  | d²                                                | 2d                             |
//! | Smooth L1 | 0.5·d²/β if \|d\| < β, else \|d\| − 0.5·β (β = 0: L1) | d/β, else sign(d)          |
//! | Huber     | 0.5·d² if \|d\| < δ, else δ·(\|d\| − 0.5·δ)          | d, else δ·sign(d)          |
//!
//! (torch.nn.functional.{l1,mse,smooth_l1,huber}_loss.) The term weight is `weight[i]`, so
//! MEAN = Σ wᵢ·lᵢ / Σ wᵢ, and the gradient is s·wᵢ·∂lᵢ with s the reduction's factor.
use super::Real;
use crate::reduce::{self, Reduction};

/// Which regression loss, with its parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Regression {
    L1,
    Mse,
    SmoothL1 { beta: f64 },
    Huber { delta: f64 },
}

/// sign(d), 0 at 0, NaN for NaN (d·0 keeps the NaN).
#[inline(always)]
fn sign<T: Real>(d: T) -> T {
    if d > T::zero() {
        T::one()
    } else if d < T::zero() {
        -T::one()
    } else {
        d * T::zero()
    }
}

/// The loss and its derivative at difference `d`.
#[inline(always)]
fn term<T: Real>(kind: Regression, d: T) -> (T, T) {
    let half = T::of(0.5);
    match kind {
        Regression::L1 => (d.abs(), sign(d)),
        Regression::Mse => (d * d, d + d),
        Regression::SmoothL1 { beta } => {
            let beta = T::of(beta);
            if d.abs() < beta {
                (half * d * d / beta, d / beta)
            } else {
                (d.abs() - half * beta, sign(d))
            }
        }
        Regression::Huber { delta } => {
            let delta = T::of(delta);
            if d.abs() < delta {
                (half * d * d, d)
            } else {
                (delta * (d.abs() - half * delta), delta * sign(d))
            }
        }
    }
}

/// Inputs of one regression call (validated: equal lengths).
pub struct Args<'a, T> {
    pub input: &'a [T],
    pub target: &'a [T],
    pub weight: Option<&'a [T]>,
}

/// Computes the loss (returned, reduced; for NONE the values go to `loss_none`) and the
/// gradient into `grad` in one pass.
pub fn regression<T: Real>(
    kind: Regression,
    args: &Args<'_, T>,
    reduction: Reduction,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> f64 {
    let n = args.input.len();
    let den = match (reduction, args.weight) {
        (Reduction::Mean, Some(w)) => reduce::sum_chunks(n, reduce::CHUNK, |r| w[r].iter().map(|v| v.f64()).sum()),
        _ => n as f64,
    };
    let s = reduction.scale(den, 1);
    let gs = T::of(s);
    let partials = reduce::for_chunks(n, 1, 1, loss_none, grad, |c| {
        let r = c.items;
        let (x, t) = (&args.input[r.clone()], &args.target[r.clone()]);
        let w = args.weight.map(|w| &w[r.clone()]);
        let mut acc = [0f64; 8];
        let mut loss = c.loss;
        let mut grad = c.grad;
        for i in 0..x.len() {
            let (l, g) = term(kind, x[i] - t[i]);
            let wi = w.map_or(T::one(), |w| w[i]);
            let wl = wi * l;
            acc[i % 8] += wl.f64();
            if let Some(lo) = loss.as_deref_mut() {
                lo[i] = wl;
            }
            if let Some(gr) = grad.as_deref_mut() {
                gr[i] = wi * g * gs;
            }
        }
        reduce::sum_lanes(acc)
    });
    partials.into_iter().sum::<f64>() * s
}
