//! Keypoint OKS loss as ultralytics `KeypointLoss` (ultralytics/utils/loss.py), the pose heads'
//! keypoint term:
//!
//! ```text
//! d_ij = (x_ij − X_ij)² + (y_ij − Y_ij)²
//! e_ij = d_ij / ((2σ_j)² · (area_i + 1e-9) · 2)                     (cocoeval's scale)
//! f_i  = k / (Σ_j [visible_ij ≠ 0] + 1e-9)
//! l_ij = f_i · (1 − exp(−e_ij)) · [visible_ij ≠ 0]
//! ∂l_ij/∂x_ij = f_i · [visible_ij ≠ 0] · exp(−e_ij) · 2(x_ij − X_ij) / D_ij
//! ```
//!
//! Every (i, j) is a term of weight 1, so MEAN is ultralytics' `.mean()` over n·k. A negative
//! area (not a box's area) is taken as 0, so D > 0 whenever σ ≠ 0; where D is 0 (σ = 0, or an
//! underflow), e is +∞ for d > 0 (loss f, gradient 0, the limit) and 0 for d = 0.
use super::Real;
use crate::reduce::{self, Reduce};

/// Inputs of one call (validated: pred and target n·k·2, visible n·k, area n, sigmas k).
pub struct Args<'a, T> {
    pub pred: &'a [T],
    pub target: &'a [T],
    pub visible: &'a [T],
    pub area: &'a [T],
    pub sigmas: &'a [T],
    pub k: usize,
}

/// Computes the loss (returned, reduced; for NONE the n·k values go to `loss_none`) and the
/// gradient with respect to `pred` into `grad`, in one pass.
pub fn keypoint_oks_loss<T: Real>(a: &Args<'_, T>, reduction: Reduce, loss_none: Option<&mut [T]>, grad: Option<&mut [T]>) -> f64 {
    let k = a.k;
    let n = a.area.len();
    let s = reduction.scale((n * k) as f64, n);
    if n == 0 || k == 0 {
        return 0.0;
    }
    let gs = T::of(s);
    let tiny = T::of(1e-9);
    // f_i first (one pass over the visibilities), so that the terms can be cut into chunks of
    // (i, j) pairs that need not align with instances.
    let f: Vec<T> = a
        .visible
        .chunks_exact(k)
        .map(|vis| T::of(k as f64) / (T::of(vis.iter().filter(|&&v| v != T::zero()).count() as f64) + tiny))
        .collect();
    let partials = reduce::for_chunks(n * k, 2, 8, loss_none, grad, |c| {
        let mut sum = 0f64;
        let (mut loss, mut grad) = (c.loss, c.grad);
        for (r, ij) in c.items.clone().enumerate() {
            let (i, j) = (ij / k, ij % k);
            let area = if a.area[i] < T::zero() { T::zero() } else { a.area[i] };
            let (dx, dy) = (a.pred[2 * ij] - a.target[2 * ij], a.pred[2 * ij + 1] - a.target[2 * ij + 1]);
            let d = dx * dx + dy * dy;
            let two_sigma = T::of(2.0) * a.sigmas[j];
            let den = two_sigma * two_sigma * (area + tiny) * T::of(2.0);
            let e = if den == T::zero() { if d > T::zero() { T::infinity() } else { T::zero() } } else { d / den };
            let m = if a.visible[ij] != T::zero() { T::one() } else { T::zero() };
            let decay = (-e).exp();
            let l = f[i] * (T::one() - decay) * m;
            if let Some(lo) = loss.as_deref_mut() {
                lo[r] = l;
            }
            sum += l.f64();
            if let Some(g) = grad.as_deref_mut() {
                // exp(−e)/D first: 0 where exp(−e) underflowed, even for a tiny D.
                let c0 = if den == T::zero() { T::zero() } else { decay / den };
                let c = gs * f[i] * m * c0 * T::of(2.0);
                g[2 * r] = c * dx;
                g[2 * r + 1] = c * dy;
            }
        }
        sum
    });
    partials.into_iter().sum::<f64>() * s
}
