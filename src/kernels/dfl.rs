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
use super::boxes::{self, BoxLoss};
use super::math::{self, Math};
use super::simd::{self, SimdTask};
use crate::reduce::{self, Reduce};

/// Inputs of one DFL call (validated: `logits` n·sides·bins, `target` n·sides, `weight` n,
/// bins ≥ 2).
pub struct Args<'a, T> {
    pub logits: &'a [T],
    pub target: &'a [T],
    pub weight: Option<&'a [T]>,
    pub sides: usize,
    pub bins: usize,
}

/// Rows per block: the rows' softmax runs along each row (in chunks of `W` lanes, see
/// [`chunk_lanes`]), the per-row scalars (log-sum-exp, reciprocal, expectation) across the block's
/// rows.
const ROWS: usize = 16;

/// The lanes `W` of a row chunk: one 512-bit vector of `T` (two AVX2 vectors), 16 in f32, 8 in
/// f64. A 16-bin row (ultralytics' `reg_max`) is one f32 chunk. Rows are padded to a whole number
/// of chunks with −∞ logits (weights e⁰ of 0). (Chosen by bins instead — 8 lanes where they pad
/// less — 33 f32 bins took 2× longer in chunks of 8 than of 16.)
fn chunk_lanes<T>() -> usize {
    64 / std::mem::size_of::<T>()
}

/// The softmax of up to [`ROWS`] rows of `bins` logits, kept unnormalised (p_rj = e_rj · inv_r),
/// in chunks of `W` lanes.
struct RowBlock<T, const W: usize> {
    /// `e[r·width + j]` = exp(z_rj − max_r), each row padded to `width` with zeros.
    e: Vec<T>,
    /// `bins` rounded up to a whole number of `W`.
    width: usize,
    /// 1 / Σ_j e_rj.
    inv: [T; ROWS],
    /// log-sum-exp of each row.
    lse: [T; ROWS],
    /// Σ_j p_j·j: the decode's expectation (when asked for).
    mean: [T; ROWS],
}

impl<T: Math, const W: usize> RowBlock<T, W> {
    fn new(bins: usize) -> Self {
        let width = bins.div_ceil(W) * W;
        let zero = [T::zero(); ROWS];
        RowBlock { e: vec![T::zero(); width * ROWS], width, inv: zero, lse: zero, mean: zero }
    }

    /// The bin indices 0, 1, …, padded to the block's width (the expectation's weights).
    fn index(&self) -> Vec<T> {
        (0..self.width).map(|j| T::of(j as f64)).collect()
    }

    /// Loads `rows` ≤ [`ROWS`] rows (row-major at the start of `z`, which may go on past them:
    /// a partial last chunk is read whole where it does) and computes their exponentials, log-sum-exp
    /// and, with `MEAN`, expectation over the bin indices `index` ([`RowBlock::index`]). The max
    /// and the sums run along the row in `W` lanes, reduced by [`math::butterfly`]; the
    /// logarithms and reciprocals across the rows.
    #[inline(always)]
    fn softmax<const MEAN: bool>(&mut self, z: &[T], rows: usize, bins: usize, index: &[T]) {
        let width = self.width;
        let (mut m, mut sum, mut dot) = ([T::zero(); ROWS], [T::one(); ROWS], [T::zero(); ROWS]);
        for r in 0..rows {
            let er = &mut self.e[r * width..(r + 1) * width];
            // (Each chunk goes through a [T; W] array: the lane loops then compile to one
            // vector operation each, where loops over the slices were unrolled into scalars.)
            let mut mv = [T::neg_infinity(); W];
            for (c, chunk) in er.chunks_exact_mut(W).enumerate() {
                let (j0, at) = (c * W, r * bins + c * W);
                let mut v = [T::neg_infinity(); W];
                if j0 + W <= bins {
                    v.copy_from_slice(&z[at..at + W]);
                } else if at + W <= z.len() {
                    // A whole chunk read (past the row's end: the next row, or input after the
                    // block), the lanes past the row's end set to −∞.
                    v.copy_from_slice(&z[at..at + W]);
                    for (l, v) in v.iter_mut().enumerate() {
                        *v = if j0 + l < bins { *v } else { T::neg_infinity() };
                    }
                } else {
                    v[..bins - j0].copy_from_slice(&z[at..(r + 1) * bins]);
                }
                // The max skips NaN lane-wise (math::max); a NaN logit still makes its row's
                // sum NaN.
                for l in 0..W {
                    mv[l] = math::max(v[l], mv[l]);
                }
                chunk.copy_from_slice(&v);
            }
            m[r] = math::butterfly(mv, math::max);
        }
        // (A second loop over the rows: each row's max → exp → sum is a long dependency chain,
        // and rows in separate loops overlap better in the out-of-order window.)
        for r in 0..rows {
            let er = &mut self.e[r * width..(r + 1) * width];
            let mr = m[r];
            let (mut sv, mut dv) = ([T::zero(); W], [T::zero(); W]);
            for (chunk, ix) in er.chunks_exact_mut(W).zip(index.chunks_exact(W)) {
                let mut v = [T::zero(); W];
                v.copy_from_slice(chunk);
                for l in 0..W {
                    v[l] = math::exp(v[l] - mr);
                    sv[l] += v[l];
                    if MEAN {
                        dv[l] += v[l] * ix[l];
                    }
                }
                chunk.copy_from_slice(&v);
            }
            sum[r] = math::butterfly(sv, |a, b| a + b);
            if MEAN {
                dot[r] = math::butterfly(dv, |a, b| a + b);
            }
        }
        for r in 0..ROWS {
            self.lse[r] = m[r] + math::ln(sum[r]);
            self.inv[r] = T::one() / sum[r];
            self.mean[r] = dot[r] * self.inv[r];
        }
    }

    /// The gradient rows `out[r·bins + j] = p_j·(a[r]·(j − mean[r]) + c[r]) − c[r]·(wl·[j = tl] +
    /// wr·[j = tr])` for r < `rows` (`out` may go on past them: a partial last chunk is stored
    /// whole where it does) (the two-hot part selected lane by lane: a scalar
    /// read-modify-write of the row just stored would wait on the store).
    #[inline(always)]
    fn grad<const MEAN: bool>(&self, out: &mut [T], rows: usize, bins: usize, index: &[T], a: &[T; ROWS], c: &[T; ROWS], hot: &TwoHot<T>) {
        let width = self.width;
        for r in 0..rows {
            let er = &self.e[r * width..(r + 1) * width];
            let (inv, a, c, mean) = (self.inv[r], a[r], c[r], self.mean[r]);
            let (tl, tr) = (T::of(hot.tl[r] as f64), T::of(hot.tl[r] as f64 + 1.0));
            let (cl, cr) = (c * hot.wl[r], c * hot.wr[r]);
            let g = |e: T, j: T| {
                let p = e * inv;
                let g = if MEAN { p * (a * (j - mean) + c) } else { p * c };
                let hot = if j == tl { cl } else { T::zero() };
                let hot = if j == tr { cr } else { hot };
                g - hot
            };
            for (c, (ec, ix)) in er.chunks_exact(W).zip(index.chunks_exact(W)).enumerate() {
                let mut v = [T::zero(); W];
                for l in 0..W {
                    v[l] = g(ec[l], ix[l]);
                }
                // A whole chunk stored where `out` has room: past the row's end it writes into
                // the next row, which is written after this one (rows go in order), or into
                // gradient rows of later blocks of the same call. A variable-length copy here
                // was a `memcpy` call per row.
                let (j0, at) = (c * W, r * bins + c * W);
                if j0 + W <= bins || at + W <= out.len() {
                    out[at..at + W].copy_from_slice(&v);
                } else {
                    out[at..(r + 1) * bins].copy_from_slice(&v[..bins - j0]);
                }
            }
        }
    }
}

/// The two-hot targets of a block's rows at positions `t`, clamped to [0, bins − 1 − 0.01] (NaN
/// stays NaN): tl = ⌊t⌋, wl = tl + 1 − t, wr = 1 − wl, computed across the rows; and their cross
/// entropies wl·(lse − z_tl) + wr·(lse − z_tr) (`z`: the rows, row-major).
struct TwoHot<T> {
    ce: [T; ROWS],
    tl: [usize; ROWS],
    wl: [T; ROWS],
    wr: [T; ROWS],
}

impl<T: Math> TwoHot<T> {
    #[inline(always)]
    fn of<const W: usize>(block: &RowBlock<T, W>, z: &[T], t: &[T; ROWS], rows: usize, bins: usize) -> Self {
        let hi = T::of(bins as f64 - 1.01);
        let (mut tl_f, mut wl, mut wr) = ([T::zero(); ROWS], [T::zero(); ROWS], [T::zero(); ROWS]);
        for r in 0..ROWS {
            let t = if t[r] < T::zero() { T::zero() } else if t[r] > hi { hi } else { t[r] };
            // ⌊t⌋ of a NaN is taken as 0; the NaN then reaches the loss through wl and wr.
            let f = t.floor();
            tl_f[r] = if f.is_nan() { T::zero() } else { f };
            wl[r] = tl_f[r] + T::one() - t;
            wr[r] = T::one() - wl[r];
        }
        let mut tl = [0usize; ROWS];
        let (mut zl, mut zr) = ([T::zero(); ROWS], [T::zero(); ROWS]);
        for r in 0..rows {
            tl[r] = tl_f[r].to_usize().unwrap_or(0).min(bins - 2);
            zl[r] = z[r * bins + tl[r]];
            zr[r] = z[r * bins + tl[r] + 1];
        }
        let mut ce = [T::zero(); ROWS];
        for r in 0..ROWS {
            ce[r] = wl[r] * (block.lse[r] - zl[r]) + wr[r] * (block.lse[r] - zr[r]);
        }
        TwoHot { ce, tl, wl, wr }
    }
}

/// Computes the DFL (returned, reduced; for NONE the values wᵢ·lᵢ go to `loss_none`) and the
/// gradient with respect to the logits into `grad`, in one pass.
pub fn dfl<T: Math>(a: &Args<'_, T>, reduction: Reduce, loss_none: Option<&mut [T]>, grad: Option<&mut [T]>) -> f64 {
    let n = a.target.len().checked_div(a.sides).unwrap_or(0);
    // Weights of a MEAN far from 1 are scaled by a power of two wc first (MEAN is unchanged).
    let reduce::WeightScale { c: wc, s } = reduction.weight_scale(n, a.weight);
    if n == 0 {
        // No boxes: sides × bins was only validated as a product with n, so it may overflow.
        return 0.0;
    }
    let per_box = a.sides * a.bins;
    let partials = reduce::for_chunks(n, per_box, per_box * 8, loss_none, grad, |c| {
        simd::dispatch(Chunk { a, items: c.items, loss: c.loss, grad: c.grad, s, wc: T::of(wc) })
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
    /// The weights' power-of-two factor ([`reduce::Reduce::weight_scale`]).
    wc: T,
}

impl<T: Math> SimdTask for Chunk<'_, '_, T> {
    type Output = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        if chunk_lanes::<T>() == 8 {
            self.rows::<8>()
        } else {
            self.rows::<16>()
        }
    }
}

impl<T: Math> Chunk<'_, '_, T> {
    /// The chunk's rows, [`ROWS`] at a time, in chunks of `W` lanes.
    #[inline(always)]
    fn rows<const W: usize>(self) -> f64 {
        let Chunk { a, items, mut loss, mut grad, s, wc } = self;
        let (sides, bins) = (a.sides, a.bins);
        let first = items.start * sides;
        let rows = items.len() * sides;
        let z = &a.logits[first * bins..(first + rows) * bins];
        let t = &a.target[first..first + rows];
        let mut block = RowBlock::<T, W>::new(bins);
        let index = block.index();
        let mut ce = vec![T::zero(); rows];
        let weight = |row: usize| a.weight.map_or(T::one(), |w| w[items.start + row / sides] * wc);
        let c_scale = T::of(s) / T::of(sides as f64);
        for b0 in (0..rows).step_by(ROWS) {
            let m = ROWS.min(rows - b0);
            // (The rows of the block and those after it: whole chunks are read past a row's end.)
            let zb = &z[b0 * bins..];
            block.softmax::<false>(zb, m, bins, &index);
            let mut tb = [T::zero(); ROWS];
            tb[..m].copy_from_slice(&t[b0..b0 + m]);
            let hot = TwoHot::of(&block, zb, &tb, m, bins);
            ce[b0..b0 + m].copy_from_slice(&hot.ce[..m]);
            if let Some(g) = grad.as_deref_mut() {
                // ∂/∂z_j = s·wᵢ/sides·(p_j − wl·[j = tl] − wr·[j = tr])
                let mut c = [T::zero(); ROWS];
                for r in 0..m {
                    c[r] = c_scale * weight(b0 + r);
                }
                let out = &mut g[b0 * bins..];
                block.grad::<false>(out, m, bins, &index, &[T::zero(); ROWS], &c, &hot);
            }
        }
        let inv_sides = T::one() / T::of(sides as f64);
        let mut sum = 0f64;
        for (j, box_ce) in ce.chunks_exact(sides).enumerate() {
            let l = box_ce.iter().fold(T::zero(), |acc, &v| acc + v) * inv_sides;
            let wl = weight(j * sides) * l;
            if let Some(out) = loss.as_deref_mut() {
                out[j] = wl;
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
        let reduce::WeightScale { c: wc, s } = reduction.weight_scale(n, a.weight);
        let wc = T::of(wc);
        if n == 0 {
            return [0.0, 0.0];
        }
        let per_anchor = 4 * a.bins;
        // The scales of the two parts' gradients, per unit of term weight.
        let gs = [T::of(s * gains.iou), T::of(s * gains.dfl * 0.25)];
        let loss = &loss;
        let partials = reduce::for_chunks(n, per_anchor, per_anchor * 4, None, grad, |c| {
            simd::dispatch(BranchChunk { a, loss, items: c.items, grad: c.grad, gs, wc })
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
    /// The weights' power-of-two factor ([`reduce::Reduce::weight_scale`]).
    wc: T,
}

impl<T: Math, L: boxes::Loss<T>> SimdTask for BranchChunk<'_, '_, T, L> {
    /// Σ wᵢ·l_iou,i and Σ wᵢ·l_dfl,i over the chunk.
    type Output = [f64; 2];
    #[inline(always)]
    fn run(self) -> [f64; 2] {
        match (self.grad.is_some(), chunk_lanes::<T>()) {
            (true, 8) => self.blocks::<true, 8>(),
            (true, _) => self.blocks::<true, 16>(),
            (false, 8) => self.blocks::<false, 8>(),
            (false, _) => self.blocks::<false, 16>(),
        }
    }
}

/// Anchors per step of the box branch: 64 rows in four [`RowBlock`]s, whose exponentials stay in
/// L1 between the softmax and the gradient (steps of 64 anchors, 16 KB of exponentials, were
/// 12 % slower), and one vector of f32 anchors for the box loss.
const STEP: usize = 16;

/// Row blocks per step.
const STEP_BLOCKS: usize = 4 * STEP / ROWS;

impl<T: Math, L: boxes::Loss<T>> BranchChunk<'_, '_, T, L> {
    /// The chunk [`STEP`] anchors at a time: the rows' softmax, decode and DFL ([`RowBlock`]s of
    /// 16 rows), the box loss (across the anchors, as the box losses run), then the rows'
    /// gradient. Row `4·i + k` is side k of anchor i: row block (4·i + k) / 16, row (4·i + k) % 16.
    #[inline(always)]
    fn blocks<const GRAD: bool, const W: usize>(self) -> [f64; 2] {
        let BranchChunk { a, loss, items, mut grad, gs, wc } = self;
        let bins = a.bins;
        let per_anchor = 4 * bins;
        let mut rows: [RowBlock<T, W>; STEP_BLOCKS] = std::array::from_fn(|_| RowBlock::new(bins));
        let index = rows[0].index();
        let zero = [T::zero(); ROWS];
        let mut hot: [TwoHot<T>; STEP_BLOCKS] = std::array::from_fn(|_| TwoHot { ce: zero, tl: [0; ROWS], wl: zero, wr: zero });
        // bbox2dist: t = (ax − X1, ay − Y1, X2 − ax, Y2 − ay) = sign_k·(target_k − anchor_k);
        // dist2bbox: box = (ax − d_l, ay − d_t, ax + d_r, ay + d_b) = anchor_k + sign_k·d_k.
        let sign = [-T::one(), -T::one(), T::one(), T::one()];
        let (mut acc_iou, mut acc_dfl) = ([0f64; 8], [0f64; 8]);
        for start in (items.start..items.end).step_by(STEP) {
            let m = STEP.min(items.end - start);
            let n_rows = 4 * m;
            let target = &a.target[4 * start..4 * (start + m)];
            let anchor = &a.anchors[2 * start..2 * (start + m)];
            let mut w = [T::zero(); STEP];
            for (i, w) in w[..m].iter_mut().enumerate() {
                *w = a.weight.map_or(T::one(), |weight| weight[start + i] * wc);
            }
            // Per row: the decoded distance d_k and the DFL term.
            let (mut dist, mut ce) = ([zero; STEP_BLOCKS], [zero; STEP_BLOCKS]);
            for (b, block) in rows.iter_mut().enumerate().take(n_rows.div_ceil(ROWS)) {
                let r0 = b * ROWS;
                let count = ROWS.min(n_rows - r0);
                let z = &a.logits[(4 * start + r0) * bins..];
                block.softmax::<true>(z, count, bins, &index);
                let mut t = zero;
                for (r, t) in t[..count].iter_mut().enumerate() {
                    let row = r0 + r;
                    *t = sign[row % 4] * (target[row] - anchor[2 * (row / 4) + row % 2]);
                }
                let h = TwoHot::of(block, z, &t, count, bins);
                (dist[b], ce[b]) = (block.mean, h.ce);
                hot[b] = h;
            }
            let (mut pred, mut tgt) = ([[T::zero(); STEP]; 4], [[T::zero(); STEP]; 4]);
            let mut l_dfl = [T::zero(); STEP];
            for i in 0..m {
                let (b, r) = (4 * i / ROWS, 4 * i % ROWS);
                for k in 0..4 {
                    pred[k][i] = anchor[2 * i + k % 2] + sign[k] * dist[b][r + k];
                    tgt[k][i] = target[4 * i + k];
                }
                l_dfl[i] = (((ce[b][r] + ce[b][r + 1]) + ce[b][r + 2]) + ce[b][r + 3]) * T::of(0.25);
            }
            let (mut l_iou, mut g_corner) = ([T::zero(); STEP], [[T::zero(); STEP]; 4]);
            for i in 0..m {
                let p = [pred[0][i], pred[1][i], pred[2][i], pred[3][i]];
                let t = [tgt[0][i], tgt[1][i], tgt[2][i], tgt[3][i]];
                let r = loss.eval::<GRAD>(p, t);
                l_iou[i] = r.loss;
                for k in 0..4 {
                    g_corner[k][i] = r.grad[k];
                }
            }
            let (mut wi, mut wd) = ([T::zero(); STEP], [T::zero(); STEP]);
            for i in 0..m {
                (wi[i], wd[i]) = (w[i] * l_iou[i], w[i] * l_dfl[i]);
            }
            reduce::add_lanes::<1, _>(&mut acc_iou, &wi);
            reduce::add_lanes::<1, _>(&mut acc_dfl, &wd);
            if GRAD {
                let out = grad.as_deref_mut().unwrap_or_default();
                let local = start - items.start;
                // ∂L/∂d_k = sign_k·∂l_iou/∂(box corner k)·s·gain·w; the DFL part's scale s·gain·w/4.
                let (mut g_dist, mut gd) = ([zero; STEP_BLOCKS], [zero; STEP_BLOCKS]);
                for i in 0..m {
                    let (b, r) = (4 * i / ROWS, 4 * i % ROWS);
                    for k in 0..4 {
                        g_dist[b][r + k] = sign[k] * g_corner[k][i] * gs[0] * w[i];
                        gd[b][r + k] = gs[1] * w[i];
                    }
                }
                for (b, block) in rows.iter().enumerate().take(n_rows.div_ceil(ROWS)) {
                    let r0 = b * ROWS;
                    let count = ROWS.min(n_rows - r0);
                    let o = &mut out[local * per_anchor + r0 * bins..];
                    block.grad::<true>(o, count, bins, &index, &g_dist[b], &gd[b], &hot[b]);
                }
            }
        }
        [reduce::sum_lanes(acc_iou), reduce::sum_lanes(acc_dfl)]
    }
}
