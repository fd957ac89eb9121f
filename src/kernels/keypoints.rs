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
use super::math::{self, Math};
use super::simd::{self, SimdTask};
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
pub fn keypoint_oks_loss<T: Math>(a: &Args<'_, T>, reduction: Reduce, loss_none: Option<&mut [T]>, grad: Option<&mut [T]>) -> f64 {
    let k = a.k;
    let n = a.area.len();
    let s = reduction.scale((n * k) as f64, n);
    // (2σ_j)² once; f_i and area_i + 1e-9 (a negative area taken as 0) per instance, inside
    // the parallel pass, where a chunk first meets the instance.
    let s2: Vec<T> = a.sigmas.iter().map(|&sg| (T::of(2.0) * sg) * (T::of(2.0) * sg)).collect();
    let s2 = &s2;
    let gs = T::of(s);
    let partials = reduce::for_chunks(n * k, 2, 8, loss_none, grad, |c| {
        simd::dispatch(Chunk { a, s2, items: c.items, loss: c.loss, grad: c.grad, gs })
    });
    reduce::total(partials) * s
}

/// Terms per block: e and the masks are formed for a block first, so that the exponential runs
/// in a plain vectorizable loop.
const BLOCK: usize = 256;

struct Chunk<'a, 'c, T> {
    a: &'a Args<'a, T>,
    s2: &'a [T],
    items: std::ops::Range<usize>,
    loss: Option<&'c mut [T]>,
    grad: Option<&'c mut [T]>,
    gs: T,
}

impl<T: Math> SimdTask for Chunk<'_, '_, T> {
    type Output = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        let Chunk { a, s2, items, mut loss, mut grad, gs } = self;
        let k = a.k;
        let (zero, one, two) = (T::zero(), T::one(), T::of(2.0));
        let tiny = T::of(1e-9);
        // f_i = k / (#visible_i + 1e-9) and area_i + 1e-9 of instance i
        let instance = |i: usize| {
            let count = a.visible[i * k..(i + 1) * k].iter().filter(|&&v| v != zero).count();
            let ar = a.area[i];
            (T::of(k as f64) / (T::of(count as f64) + tiny), (if ar < zero { zero } else { ar }) + tiny)
        };
        let mut sum = 0f64;
        let (mut e, mut fm, mut den) = ([zero; BLOCK], [zero; BLOCK], [zero; BLOCK]);
        let mut start = items.start;
        while start < items.end {
            let end = (start + BLOCK).min(items.end);
            let len = end - start;
            // (i, j) walked incrementally: no division per term
            let (mut i, mut j) = (start / k, start % k);
            let (mut fi, mut ai) = instance(i);
            for b in 0..len {
                let ij = start + b;
                let (dx, dy) = (a.pred[2 * ij] - a.target[2 * ij], a.pred[2 * ij + 1] - a.target[2 * ij + 1]);
                let d = dx * dx + dy * dy;
                let dd = s2[j] * ai * two;
                den[b] = dd;
                e[b] = if dd == zero { if d > zero { T::infinity() } else { zero } } else { d / dd };
                fm[b] = if a.visible[ij] != zero { fi } else { zero };
                j += 1;
                if j == k {
                    j = 0;
                    i += 1;
                    if ij + 1 < end {
                        (fi, ai) = instance(i);
                    }
                }
            }
            let mut decay = [zero; BLOCK];
            for b in 0..len {
                decay[b] = math::exp(-e[b]);
            }
            let mut acc = [0f64; 8];
            for b in 0..len {
                let l = fm[b] * (one - decay[b]);
                if let Some(lo) = loss.as_deref_mut() {
                    lo[start - items.start + b] = l;
                }
                acc[b % 8] += l.f64();
            }
            sum += reduce::sum_lanes(acc);
            if let Some(g) = grad.as_deref_mut() {
                for b in 0..len {
                    let ij = start + b;
                    // exp(−e)·((x − X)/D): a subnormal D (a tiny σ) makes 1/D overflow, and
                    // exp(−e)/D times x − X = 0 would be inf·0 = NaN; (x − X)/D overflows only
                    // where e is so large that exp(−e) is 0 (then the term is 0, selected).
                    let live = den[b] != zero && decay[b] != zero;
                    let c = gs * fm[b] * decay[b] * two;
                    let o = 2 * (start - items.start + b);
                    let (dx, dy) = (a.pred[2 * ij] - a.target[2 * ij], a.pred[2 * ij + 1] - a.target[2 * ij + 1]);
                    g[o] = if live { c * (dx / den[b]) } else { zero };
                    g[o + 1] = if live { c * (dy / den[b]) } else { zero };
                }
            }
            start = end;
        }
        sum
    }
}
