//! Distribution Focal Loss (GFL, arXiv 2006.04388) as ultralytics `DFLoss`
//! (ultralytics/utils/loss.py), which equals mmdet's `distribution_focal_loss` inside its domain:
//!
//! ```text
//! per box i, side k (logits row z = logits[i][k][0..bins], target t = target[i][k]):
//!   t  ← clamp(t, 0, bins − 1 − 0.01);   tl = ⌊t⌋, tr = tl + 1;   wl = tr − t, wr = 1 − wl
//!   CE(z, j) = logsumexp(z) − z_j
//!   l_i = (1/sides) Σ_k [wl·CE(z, tl) + wr·CE(z, tr)]
//!   ∂l_i/∂z_j = (1/sides)·(softmax(z)_j − wl·[j = tl] − wr·[j = tr])
//! ```
//!
//! The term weight of box i is `weight[i]` (1 without weights), so MEAN = Σ wᵢ·lᵢ / Σ wᵢ and
//! ultralytics' `(DFLoss(...) * weight).sum() / target_scores_sum` is MEAN with
//! avg_factor = target_scores_sum. A NaN target gives a NaN loss and gradient for its box
//! (ultralytics would index with garbage); ±∞ are clamped like any target out of range.
use super::math::{self, Math};
use super::simd::{self, SimdTask};
use crate::reduce::{self, Reduce, Reduction};

/// Inputs of one DFL call (validated: `logits` n·sides·bins, `target` n·sides, `weight` n,
/// bins ≥ 2).
pub struct Args<'a, T> {
    pub logits: &'a [T],
    pub target: &'a [T],
    pub weight: Option<&'a [T]>,
    pub sides: usize,
    pub bins: usize,
}

/// The target clamped to [0, bins − 1 − 0.01] (NaN stays NaN), its left bin and weights.
#[inline(always)]
fn two_hot<T: Math>(t: T, bins: usize) -> (usize, T, T) {
    let hi = T::of(bins as f64 - 1.01);
    let t = if t < T::zero() { T::zero() } else if t > hi { hi } else { t };
    // ⌊t⌋ of a NaN is taken as 0; the NaN then reaches the loss through wl and wr.
    let tl = if t.is_nan() { 0 } else { t.to_usize().unwrap_or(0).min(bins - 2) };
    let wl = T::of((tl + 1) as f64) - t;
    (tl, wl, T::one() - wl)
}

/// One box: its loss (before the term weight) and, when `grad` is given, (1/sides)·∂ into it
/// scaled by `gs`. `e` is scratch of `bins` values.
#[inline(always)]
fn one_box<T: Math>(a: &Args<'_, T>, i: usize, e: &mut [T], grad: Option<&mut [T]>, gs: T) -> T {
    let (sides, bins) = (a.sides, a.bins);
    let inv_sides = T::one() / T::of(sides as f64);
    let mut l = T::zero();
    let mut grad = grad;
    for k in 0..sides {
        let row = i * sides + k;
        let z = &a.logits[row * bins..(row + 1) * bins];
        let (tl, wl, wr) = two_hot(a.target[row], bins);
        let m = math::row_max(z);
        for (e, &v) in e.iter_mut().zip(z) {
            *e = math::exp(v - m);
        }
        let sum = math::row_sum(e);
        let lse = m + math::ln(sum);
        l += wl * (lse - z[tl]) + wr * (lse - z[tl + 1]);
        if let Some(g) = grad.as_deref_mut() {
            let g = &mut g[k * bins..(k + 1) * bins];
            let (c, inv) = (gs * inv_sides, T::one() / sum);
            for (g, &e) in g.iter_mut().zip(e.iter()) {
                *g = c * e * inv;
            }
            g[tl] -= c * wl;
            g[tl + 1] -= c * wr;
        }
    }
    l * inv_sides
}

/// Computes the DFL (returned, reduced; for NONE the values wᵢ·lᵢ go to `loss_none`) and the
/// gradient with respect to the logits into `grad`, in one pass.
pub fn dfl<T: Math>(a: &Args<'_, T>, reduction: Reduce, loss_none: Option<&mut [T]>, grad: Option<&mut [T]>) -> f64 {
    let n = a.target.len().checked_div(a.sides).unwrap_or(0);
    let den = match (reduction.kind, a.weight) {
        (Reduction::Mean, Some(w)) => reduce::sum_chunks(n, reduce::CHUNK, |r| w[r].iter().map(|v| v.f64()).sum()),
        _ => n as f64,
    };
    let s = reduction.scale(den, 1);
    if n == 0 {
        // No boxes: sides × bins was only validated as a product with n, so it may overflow.
        return 0.0;
    }
    let per_box = a.sides * a.bins;
    let partials = reduce::for_chunks(n, per_box, per_box * 8, loss_none, grad, |c| {
        simd::dispatch(Chunk { a, items: c.items, loss: c.loss, grad: c.grad, s })
    });
    reduce::total(partials) * s
}

/// One chunk of boxes, for [`simd::dispatch`] (the row loops compile to AVX2 / AVX-512 there).
struct Chunk<'a, 'c, T> {
    a: &'a Args<'a, T>,
    items: std::ops::Range<usize>,
    loss: Option<&'c mut [T]>,
    grad: Option<&'c mut [T]>,
    s: f64,
}

impl<T: Math> SimdTask for Chunk<'_, '_, T> {
    type Output = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        let Chunk { a, items, mut loss, mut grad, s } = self;
        let per_box = a.sides * a.bins;
        let mut e = vec![T::zero(); a.bins];
        let mut sum = 0f64;
        for (j, i) in items.enumerate() {
            let w = a.weight.map_or(T::one(), |w| w[i]);
            let g = grad.as_deref_mut().map(|g| &mut g[j * per_box..(j + 1) * per_box]);
            let wl = w * one_box(a, i, &mut e, g, T::of(s) * w);
            if let Some(l) = loss.as_deref_mut() {
                l[j] = wl;
            }
            sum += wl.f64();
        }
        sum
    }
}
