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
use super::boxes::{self, BoxLoss, BLOCK};
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

// ---------------------------------------------------------------------------------------------
// The YOLOv8/11 box branch: the decode, an IoU loss on the decoded boxes and the DFL, fused.

/// Inputs of one box-branch call (validated: `logits` n·4·bins, `anchors` n·2, `target` n·4
/// (x1, y1, x2, y2), `weight` n; bins ≥ 2).
pub struct BoxArgs<'a, T> {
    pub logits: &'a [T],
    pub anchors: &'a [T],
    pub target: &'a [T],
    pub weight: Option<&'a [T]>,
    pub bins: usize,
}

/// The gains of the two parts (ultralytics' `hyp.box` and `hyp.dfl` when applied here).
#[derive(Clone, Copy, Debug)]
pub struct Gains {
    pub iou: f64,
    pub dfl: f64,
}

/// The YOLOv8/11 box branch (ultralytics/utils/loss.py `v8DetectionLoss.bbox_decode` +
/// `BboxLoss.forward` with its `DFLoss`) on the foreground anchors, in one pass per anchor:
///
/// ```text
/// per anchor i with anchor point (ax, ay), side k = l, t, r, b (row z = logits[i][k]):
///   p = softmax(z);  d_k = Σ_j p_j·j                          (bbox_decode: softmax · proj)
///   box = (ax − d_l, ay − d_t, ax + d_r, ay + d_b)            (dist2bbox, xywh = False)
///   l_iou,i = the IoU loss `kind` of (box, target_i)          (bbox_iou(..., CIoU=True))
///   t = (ax − X1, ay − Y1, X2 − ax, Y2 − ay)                  (bbox2dist, clamped as DFLoss)
///   l_dfl,i = (1/4) Σ_k [wl·CE(z_k, tl) + wr·CE(z_k, tr)]     (DFLoss, see [`dfl`])
/// L = [gain_iou · Σ wᵢ·l_iou,i, gain_dfl · Σ wᵢ·l_dfl,i] · s   (s: 1/Σw, 1/avg_factor, or 1; × λ)
/// ∂/∂z_kj = s·wᵢ·[gain_iou·∂l_iou/∂d_k · p_j·(j − d_k) + gain_dfl·(p_j − wl[j = tl] − wr[j = tr])/4]
/// ```
///
/// ∂d_k/∂z_j = p_j·(j − d_k) is the softmax's Jacobian applied to the bin indices;
/// ∂l_iou/∂d_k is ∓ the corner derivative of the box loss (`pull_back` in boxes.rs).
/// Returns [L_iou, L_dfl]; writes the gradient of their sum into `grad`.
pub fn dfl_box<T: Math>(kind: BoxLoss, eps: f64, gains: Gains, a: &BoxArgs<'_, T>, reduction: Reduce, grad: Option<&mut [T]>) -> [f64; 2] {
    boxes::with_loss(kind, eps, Branch { a, gains, reduction, grad })
}

/// [`dfl_box`] with its box loss chosen ([`boxes::with_loss`]).
struct Branch<'a, 'o, T> {
    a: &'a BoxArgs<'a, T>,
    gains: Gains,
    reduction: Reduce,
    grad: Option<&'o mut [T]>,
}

impl<T: Math> boxes::WithLoss<T> for Branch<'_, '_, T> {
    type Output = [f64; 2];
    fn run<L: boxes::Loss<T>>(self, loss: L) -> [f64; 2] {
        let Branch { a, gains, reduction, grad } = self;
        let n = a.anchors.len() / 2;
        let den = match (reduction.kind, a.weight) {
            (Reduction::Mean, Some(w)) => reduce::sum_chunks(n, reduce::CHUNK, |r| w[r].iter().map(|v| v.f64()).sum()),
            _ => n as f64,
        };
        let s = reduction.scale(den, 1);
        if n == 0 {
            return [0.0, 0.0];
        }
        let per_anchor = 4 * a.bins;
        // The scales of the two parts' gradients, per unit of term weight.
        let gs = [T::of(s * gains.iou), T::of(s * gains.dfl * 0.25)];
        let loss = &loss;
        let partials = reduce::for_chunks(n, per_anchor, per_anchor * 4, None, grad, |c| {
            simd::dispatch(BranchChunk { a, loss, items: c.items, grad: c.grad, gs })
        });
        let (iou, dfl) = partials.iter().fold((0.0, 0.0), |(i, d), p| (i + p[0], d + p[1]));
        [iou * s * gains.iou, dfl * s * gains.dfl]
    }
}

/// One chunk of anchors, for [`simd::dispatch`].
struct BranchChunk<'a, 'c, T, L> {
    a: &'a BoxArgs<'a, T>,
    loss: &'a L,
    items: std::ops::Range<usize>,
    grad: Option<&'c mut [T]>,
    gs: [T; 2],
}

impl<T: Math, L: boxes::Loss<T>> SimdTask for BranchChunk<'_, '_, T, L> {
    /// Σ wᵢ·l_iou,i and Σ wᵢ·l_dfl,i over the chunk.
    type Output = [f64; 2];
    #[inline(always)]
    fn run(self) -> [f64; 2] {
        if self.grad.is_some() {
            self.blocks::<true>()
        } else {
            self.blocks::<false>()
        }
    }
}

impl<T: Math, L: boxes::Loss<T>> BranchChunk<'_, '_, T, L> {
    /// The chunk a block of [`BLOCK`] anchors at a time: the rows' softmax, decode and DFL
    /// (vectorised along the bins), the box loss (along the anchors, as the box losses run),
    /// then each row's gradient (along the bins).
    #[inline(always)]
    fn blocks<const GRAD: bool>(self) -> [f64; 2] {
        let BranchChunk { a, loss, items, mut grad, gs } = self;
        let bins = a.bins;
        let per_anchor = 4 * bins;
        let index: Vec<T> = (0..bins).map(|j| T::of(j as f64)).collect();
        // The block's softmax rows (kept for the gradient), decoded distances, two-hot targets.
        let mut prob = vec![T::zero(); BLOCK * per_anchor];
        let mut dist = [[T::zero(); BLOCK]; 4];
        let mut hot = [[(0usize, T::zero(), T::zero()); BLOCK]; 4];
        let (mut pred, mut tgt) = ([[T::zero(); BLOCK]; 4], [[T::zero(); BLOCK]; 4]);
        let mut g_corner = [[T::zero(); BLOCK]; 4];
        let (mut l_iou, mut l_dfl) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
        let (mut acc_iou, mut acc_dfl) = ([0f64; 8], [0f64; 8]);
        for start in (items.start..items.end).step_by(BLOCK) {
            let m = BLOCK.min(items.end - start);
            for i in 0..m {
                let g = start + i;
                let (ax, ay) = (a.anchors[2 * g], a.anchors[2 * g + 1]);
                let t = &a.target[4 * g..4 * g + 4];
                let t_dist = [ax - t[0], ay - t[1], t[2] - ax, t[3] - ay];
                let mut ce = T::zero();
                for k in 0..4 {
                    let z = &a.logits[(4 * g + k) * bins..(4 * g + k + 1) * bins];
                    let p = &mut prob[(4 * i + k) * bins..(4 * i + k + 1) * bins];
                    let mx = math::row_max(z);
                    let sum = math::row_exp(z, mx, T::one(), p);
                    let inv = T::one() / sum;
                    for v in p.iter_mut() {
                        *v *= inv;
                    }
                    dist[k][i] = math::row_dot(p, &index);
                    let lse = mx + math::ln(sum);
                    let (tl, wl, wr) = two_hot(t_dist[k], bins);
                    hot[k][i] = (tl, wl, wr);
                    ce += wl * (lse - z[tl]) + wr * (lse - z[tl + 1]);
                    tgt[k][i] = t[k];
                }
                l_dfl[i] = ce * T::of(0.25);
                pred[0][i] = ax - dist[0][i];
                pred[1][i] = ay - dist[1][i];
                pred[2][i] = ax + dist[2][i];
                pred[3][i] = ay + dist[3][i];
            }
            for i in 0..m {
                let p = [pred[0][i], pred[1][i], pred[2][i], pred[3][i]];
                let t = [tgt[0][i], tgt[1][i], tgt[2][i], tgt[3][i]];
                let r = loss.eval::<GRAD>(p, t);
                l_iou[i] = r.loss;
                for k in 0..4 {
                    g_corner[k][i] = r.grad[k];
                }
            }
            let w = |i: usize| a.weight.map_or(T::one(), |w| w[start + i]);
            let (mut wi, mut wd) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
            for i in 0..m {
                (wi[i], wd[i]) = (w(i) * l_iou[i], w(i) * l_dfl[i]);
            }
            boxes::accumulate(&mut acc_iou, &wi);
            boxes::accumulate(&mut acc_dfl, &wd);
            if GRAD {
                let out = grad.as_deref_mut().unwrap_or_default();
                let local = start - items.start;
                for i in 0..m {
                    let (gi, gd) = (gs[0] * w(i), gs[1] * w(i));
                    for k in 0..4 {
                        // box = (ax − d_l, ay − d_t, ax + d_r, ay + d_b)
                        let g_dist = if k < 2 { -g_corner[k][i] } else { g_corner[k][i] } * gi;
                        let d = dist[k][i];
                        let p = &prob[(4 * i + k) * bins..(4 * i + k + 1) * bins];
                        let o = &mut out[(local + i) * per_anchor + k * bins..(local + i) * per_anchor + (k + 1) * bins];
                        for ((o, &p), &j) in o.iter_mut().zip(p).zip(&index) {
                            *o = p * (g_dist * (j - d) + gd);
                        }
                        let (tl, wl, wr) = hot[k][i];
                        o[tl] -= gd * wl;
                        o[tl + 1] -= gd * wr;
                    }
                }
            }
        }
        [reduce::sum_lanes(acc_iou), reduce::sum_lanes(acc_dfl)]
    }
}
