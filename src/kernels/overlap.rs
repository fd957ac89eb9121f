//! Segmentation overlap losses: Dice (V-Net; MONAI `DiceLoss` convention), Jaccard (MONAI
//! `DiceLoss(jaccard=True)`) and Tversky (MONAI `TverskyLoss`), with Focal Tversky through `gamma`.
//!
//! For one score j — a (sample, class) pair, or a class pooled over the batch — with
//! probabilities p (after the activation) and one-hot or soft targets g, summed over its
//! positions (ignored positions count nowhere):
//!
//! ```text
//! TP = Σ p·g,   P = Σ p  (Σ p² for squared-prediction Dice or Jaccard),   G = Σ g  (Σ g²)
//! Dice:     score = (2·TP + smooth_nr) / (P + G + smooth_dr)                       (MONAI)
//! Jaccard:  score = (2·TP + smooth_nr) / (2·(P + G − TP) + smooth_dr)              (MONAI, jaccard=True)
//! Tversky:  score = (TP + smooth_nr) / (TP + α·FP + β·FN + smooth_dr),
//!           FP = Σ p·(1−g) = P − TP,  FN = Σ (1−p)·g = G − TP                       (Salehi 2017)
//! l_j = 1 − score_j            (gamma = 1)
//!     = max(0, 1 − score_j)^γ  (otherwise; Focal Tversky, Abraham & Khan 2019), l' = 0 where the base is 0
//! L = Σ_j w_j·l_j  (SUM),  Σ_j w_j·l_j / Σ_j w_j  (MEAN),  w_j = class_weight[class of j]
//! ```
//!
//! A score whose denominator is exactly 0 (empty masks with smooth_dr = 0) is defined as 1
//! (perfect agreement) with zero gradient, so finite input never gives NaN.
//!
//! The gradient (derived in `docs/overlap.md`): with s the reduction's factor,
//! `coef_j = s·w_j·∂l/∂score_j`, and for an element of score j
//!
//! ```text
//! ∂L/∂p = cg_j·g + cp_j·h(p),   cg_j = coef_j·∂score/∂TP,   cp_j = coef_j·∂score/∂P·(2 if squared)
//! h(p) = p (squared Dice) or 1
//! ∂L/∂x = ∂L/∂p (NONE),  ∂L/∂p·p(1−p) (SIGMOID),  p_c·(∂L/∂p_c − Σ_k p_k·∂L/∂p_k) (SOFTMAX)
//! ```
//!
//! The passes: pass 0 checks the index targets (so that nothing is written on error); pass 1
//! applies the activation, gathers (TP, P, G) per (sample, class) over fixed-size work items
//! combined in item order, and parks p in the gradient buffer; pass 2 turns p into the
//! gradient in place. Per-sample scores only need their own sample's sums, so both passes run
//! over runs of whole samples of about `RUN_ELEMS` elements: pass 2 then finds p still in the
//! last-level cache (the MEAN denominator Σw depends on the weights only, so the reduction
//! factor is known up front). Pooled scores (`batch`) need every sample first: one run.
//!
//! Both passes work on blocks of up to `W` positions laid out as `[class][W]` rows in a small
//! scratch buffer (NSC input is transposed on load), so every inner loop runs over contiguous
//! positions and vectorizes. Index targets are never expanded to one-hot: their TP and G are
//! gathered per position, and their gradient term is a per-position fix-up at the target class.
use super::simd::{self, SimdTask};
use super::math::{self, Math};
use super::Real;
use crate::reduce::{self, Reduce};
use std::ops::Range;

// ------------------------------------------------------------------------------------------
// Problem description.
// ------------------------------------------------------------------------------------------

/// How the input becomes probabilities.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// The input already is probabilities.
    None,
    /// Elementwise σ (multi-label).
    Sigmoid,
    /// Softmax over the class axis (over every class, also when the background is excluded
    /// from the scores, as MONAI).
    Softmax,
}

/// Which overlap score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Score {
    /// Dice, or with `jaccard` the Jaccard index (soft IoU) as MONAI `DiceLoss(jaccard=True)`;
    /// `squared_pred` uses Σp² and Σg² for P and G.
    Dice { squared_pred: bool, jaccard: bool },
    /// Tversky: `alpha` weighs false positives, `beta` false negatives.
    Tversky { alpha: f64, beta: f64 },
    /// Generalized Dice (Sudre et al. 2017, MONAI `GeneralizedDiceLoss`): one score per sample
    /// (or one for the pooled batch) over its classes, each class weighted by `w_type` of its
    /// target mass G (MONAI `GeneralizedDiceLoss.w_func`; docs/overlap.md).
    Generalized { w_type: GdiceWeight },
}

impl Score {
    /// Whether P and G are Σp² and Σg² (squared-prediction Dice or Jaccard).
    fn squared(self) -> bool {
        matches!(self, Score::Dice { squared_pred: true, .. })
    }
}

/// The class weights of generalized Dice, as MONAI's `Weight` (`GeneralizedDiceLoss.w_func`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GdiceWeight {
    /// w = 1/G² (MONAI's default).
    Square,
    /// w = 1/G.
    Simple,
    /// w = 1.
    Uniform,
}

/// The class tensors' layout and shape: the same types as the classification losses'.
pub use super::classification::{Layout, Shape};

/// The targets: class indices (one per (n, s), never expanded to one-hot) or soft/multi-label
/// values in the input's layout.
#[derive(Clone, Copy, Debug)]
pub enum Target<'a, T> {
    Index { target: &'a [i64], ignore_index: i64 },
    Soft(&'a [T]),
}

/// Options of one call (validated by the caller).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub score: Score,
    pub activation: Activation,
    pub smooth_nr: f64,
    pub smooth_dr: f64,
    pub include_background: bool,
    /// Pool the sums over the batch: one score per class.
    pub batch: bool,
    pub gamma: f64,
    pub reduction: Reduce,
    /// Soft targets: MONAI's soft-label sums (`compute_tp_fp_fn(..., soft_label=True)`):
    /// TP = (Σ|p| + Σ|g| − Σ|p − g|)/2, P = Σ|p|, G = Σ|g| (Σ min(p, g) for p, g ≥ 0, where
    /// Σ p·g undercounts a soft overlap). Unused with `squared_pred` (the same sums either way).
    pub soft_label: bool,
}

/// The per-position part fused with Dice on the same softmax, with the index targets and the
/// `class_weight`:
///
/// ```text
/// CrossEntropy (dice_ce_loss, MONAI DiceCELoss), as super::classification::cross_entropy:
///   l = (1−ε)·w_y·(−ln p_y) + (ε/C)·Σ_c w_c·(−ln p_c),   MEAN = Σ l / Σ w_y
///   ∂l/∂z_c = ((1−ε)·w_y + (ε/C)·Σ_k w_k)·p_c − (ε/C)·w_c − (1−ε)·w_y·[c = y]
/// Focal (dice_focal_loss), as super::classification::softmax_focal_loss with α_y = w_y:
///   l = −α_y·u^γ·ln p_y,  u = 1 − p_y = Σ_{c≠y} p_c,   MEAN = Σ l / #positions that count
///   ∂l/∂z_c = α_y·F·(p_c − [c = y]),  F = u^γ·(1 + γ·p_y·r),  r = −ln p_y / u (its series for small u)
/// ```
///
/// −ln p_y is formed as ln Σe − (z_y − max) in pass 1, as the class-axis kernels do (finite where
/// p_y underflows); u as a sum over the other classes, not 1 − p_y.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PixelLoss {
    CrossEntropy { label_smoothing: f64 },
    Focal { gamma: f64 },
}

/// The fused part and its reduction (λ, avg_factor).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PartParams {
    pub reduction: Reduce,
    pub loss: PixelLoss,
}

/// The cross-entropy constants of one call, in the data's type.
struct PartK<'a, T> {
    w: Option<&'a [T]>,
    /// Focal: γ (else the cross entropy).
    gamma: Option<T>,
    smoothing: bool,
    /// 1 − ε, ε / C, Σ_c w_c.
    keep: T,
    eps_c: T,
    wsum: T,
    /// The reduction's factor (λ / Σ w_y for MEAN), in T for the gradient and in f64 for the value.
    gs: T,
    gs64: f64,
}

impl<T: Math> PartK<'_, T> {
    #[inline(always)]
    fn weight(&self, k: usize) -> T {
        self.w.map_or(T::one(), |w| w[k])
    }

    /// out_j = w_{tc_j}, 0 where the position does not count (ignored or padding). Without class
    /// weights a select over positions (vectorized), not a lookup per position.
    #[inline(always)]
    fn target_weights(&self, tc: &[usize], out: &mut [T]) {
        match self.w {
            None => {
                for (o, &t) in out.iter_mut().zip(tc) {
                    *o = if t == NO_CLASS { T::zero() } else { T::one() };
                }
            }
            Some(w) => {
                for (o, &t) in out.iter_mut().zip(tc) {
                    *o = if t == NO_CLASS { T::zero() } else { w[t] };
                }
            }
        }
    }
}

/// Inputs of one call (validated: `input` and soft targets hold batch·classes·spatial values,
/// index targets batch·spatial, `class_weight` classes).
#[derive(Clone, Copy, Debug)]
pub struct Args<'a, T> {
    pub input: &'a [T],
    pub target: Target<'a, T>,
    pub class_weight: Option<&'a [T]>,
    pub shape: Shape,
}

/// The first index target that is neither a class nor `ignore_index`: its flat position
/// n·spatial + s and its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidTarget {
    pub index: usize,
    pub value: i64,
}

/// Number of scores (the length of the NONE output): `[batch][C']` or `[C']`, C' = classes, or
/// classes − 1 without the background; for generalized Dice one per sample, or 1 with `batch`.
pub fn loss_count(shape: &Shape, params: &Params) -> usize {
    match params.score {
        Score::Generalized { .. } if params.batch => 1,
        Score::Generalized { .. } => shape.batch,
        _ => score_count(shape, params.include_background, params.batch),
    }
}

/// Number of per-class scores: `[batch][C']` or `[C']` (see [`loss_count`]).
pub fn score_count(shape: &Shape, include_background: bool, batch: bool) -> usize {
    let classes = if include_background { shape.classes } else { shape.classes.saturating_sub(1) };
    if batch {
        classes
    } else {
        shape.batch.saturating_mul(classes)
    }
}

// ------------------------------------------------------------------------------------------
// Work split. Every size below depends only on the problem shape, never on the thread count.
// ------------------------------------------------------------------------------------------

/// Target size of one block, in elements: the [C][W] rows (at most 512 KiB of f32, 1 MiB of
/// f64) stay in L2, and each row segment read from memory is long enough for the hardware
/// prefetchers. A block reads C row segments spaced a whole class plane apart; measured on
/// [8, 21, 256²] f32 (NCS, AVX-512), segments of 4096 positions (16 KiB) instead of 768 made that
/// access pattern alone (copy x into the gradient rows, then one in-place sweep; a C loop)
/// 1.3–1.5× faster and Dice 3–7 % faster (BENCHMARKS.md "Dice blocks of 4096 positions").
const BLOCK_ELEMS: usize = 1 << 17;
/// Target size of one parallel work item, in elements.
const ITEM_ELEMS: usize = 1 << 16;
/// Target size of a run of samples whose two passes run back to back (per-sample scores).
const RUN_ELEMS: usize = 1 << 20;
/// Lane count of the f64 accumulators (enough independent chains to hide the add latency);
/// block widths are multiples of it.
const LANES: usize = 16;
/// "No class here": an ignored position, or padding of the last block.
const NO_CLASS: usize = usize::MAX;
/// A real position of a soft-target block (no class index).
const SOFT: usize = usize::MAX - 1;

#[derive(Clone, Copy, Debug)]
struct Geom {
    n: usize,
    c: usize,
    s: usize,
    layout: Layout,
    /// Block width (positions), a multiple of LANES.
    w: usize,
    /// Positions per work item when a sample is split (spatial ≥ sc).
    sc: usize,
}

impl Geom {
    fn new(shape: &Shape) -> Self {
        let c = shape.classes.max(1);
        // No wider than the spatial size (rounded up to LANES): the scratch of a small tensor
        // stays small.
        let w = (BLOCK_ELEMS / c).clamp(LANES, 4096).min(shape.spatial.div_ceil(LANES) * LANES).max(LANES) / LANES * LANES;
        let sc = w * (ITEM_ELEMS / c.saturating_mul(w)).max(1);
        Geom { n: shape.batch, c, s: shape.spatial, layout: shape.layout, w, sc }
    }

    /// Runs of samples processed pass 1 then pass 2: everything when the scores pool the batch,
    /// else runs of whole samples of about RUN_ELEMS elements.
    fn runs(&self, pooled: bool) -> Vec<Range<usize>> {
        if pooled {
            return std::iter::once(0..self.n).collect();
        }
        // Saturating: an empty tensor (batch 0) may have classes × spatial past usize::MAX.
        let per = (RUN_ELEMS / self.c.saturating_mul(self.s).max(1)).max(1);
        reduce::chunks(self.n, per).collect()
    }

    /// The work items of a run: pieces of one sample when the spatial size is large, else runs
    /// of whole samples, in flat position order.
    fn items(&self, run: Range<usize>) -> Vec<Item> {
        if run.is_empty() || self.s == 0 {
            return Vec::new();
        }
        if self.s >= self.sc {
            run.flat_map(|n| reduce::chunks(self.s, self.sc).map(move |r| Item { n0: n, n1: n + 1, s0: r.start, s1: r.end }))
                .collect()
        } else {
            let per = (self.sc / self.s).max(1);
            reduce::chunks(run.len(), per)
                .map(|r| Item { n0: run.start + r.start, n1: run.start + r.end, s0: 0, s1: self.s })
                .collect()
        }
    }
}

/// Samples n0..n1 × positions s0..s1 (one sample, or whole samples).
#[derive(Clone, Copy, Debug)]
struct Item {
    n0: usize,
    n1: usize,
    s0: usize,
    s1: usize,
}

/// Per-block scratch: the block as [C][W] rows and per-position arrays.
struct Scratch<T> {
    /// Soft targets, then ∂L/∂p (soft targets only).
    g: Vec<T>,
    /// Target class per position (SOFT for soft targets), NO_CLASS when ignored or padding.
    tc: Vec<usize>,
    /// Column max, then the softmax normaliser 1/Σe.
    m: Vec<T>,
    sum: Vec<T>,
    /// Σ_k p_k·∂L/∂p_k (softmax backward), and the target-class fix-up of index targets.
    dot: Vec<T>,
    fix: Vec<T>,
    /// Cross-entropy part (pass 1), per position: z_y − max, Σ_c w_c·(z_c − max), (1−ε)·w_y, and
    /// 1 where the position counts (0 where ignored or padding). Empty without a fused part.
    zy: Vec<T>,
    wd: Vec<T>,
    ca: Vec<T>,
    cv: Vec<T>,
    /// Whether the block has ignored positions (their columns are zeroed).
    ignored: bool,
}

impl<T: Math> Scratch<T> {
    fn new(geom: &Geom, soft: bool, part: bool) -> Self {
        let (c, w) = (geom.c, geom.w);
        let pw = if part { w } else { 0 };
        Scratch {
            g: if soft { vec![T::zero(); c * w] } else { Vec::new() },
            tc: vec![NO_CLASS; w],
            m: vec![T::zero(); w],
            sum: vec![T::zero(); w],
            dot: vec![T::zero(); w],
            fix: vec![T::zero(); w],
            zy: vec![T::zero(); pw],
            wd: vec![T::zero(); pw],
            ca: vec![T::zero(); pw],
            cv: vec![T::zero(); pw],
            ignored: false,
        }
    }
}

/// Copies `w` positions from `b0` of sample `n` of a class tensor into the C `rows`; with
/// `max`, also leaves the column max over the classes in `max` (one sweep over the data).
#[inline(always)]
fn load<T: Real>(geom: &Geom, src: &[T], n: usize, b0: usize, w: usize, rows: &mut [&mut [T]], max: Option<&mut [T]>) {
    let (c, s) = (geom.c, geom.s);
    match geom.layout {
        Layout::Ncs => {
            let mut max = max.map(|m| &mut m[..w]);
            for (k, row) in rows.iter_mut().enumerate() {
                let at = (n * c + k) * s + b0;
                let (dst, src) = (&mut row[..w], &src[at..at + w]);
                match max.as_deref_mut() {
                    Some(m) if k == 0 => {
                        dst.copy_from_slice(src);
                        m.copy_from_slice(src);
                    }
                    Some(m) => {
                        for ((d, &v), mj) in dst.iter_mut().zip(src).zip(m.iter_mut()) {
                            *d = v;
                            *mj = math::max(v, *mj);
                        }
                    }
                    None => dst.copy_from_slice(src),
                }
            }
        }
        Layout::Nsc => {
            let block = &src[(n * s + b0) * c..(n * s + b0 + w) * c];
            transpose_in(block, c, rows);
            if let Some(m) = max {
                column_max(rows, &mut m[..w]);
            }
        }
    }
}

/// [w][C] positions (NSC) → C rows.
#[inline(always)]
fn transpose_in<T: Real>(block: &[T], c: usize, rows: &mut [&mut [T]]) {
    for (j, pos) in block.chunks_exact(c).enumerate() {
        for (row, &v) in rows.iter_mut().zip(pos) {
            row[j] = v;
        }
    }
}

/// [C][W] rows → [w][C] positions (NSC).
#[inline(always)]
fn transpose_out<T: Real>(rows: &[T], c: usize, bw: usize, block: &mut [T]) {
    for (j, pos) in block.chunks_exact_mut(c).enumerate() {
        for (k, v) in pos.iter_mut().enumerate() {
            *v = rows[k * bw + j];
        }
    }
}

/// Pass 0: the first index target (in flat order) that is neither a class nor ignore_index;
/// else, with `den`, Σ weight[y] over the non-ignored positions (their count without weights: the
/// cross-entropy part's MEAN denominator), summed in f64 over fixed chunks (else 0: Dice alone
/// keeps the plain search, which vectorizes).
fn validate<T: Real>(target: &[i64], ignore_index: i64, classes: usize, weight: Option<&[T]>, den: bool) -> Result<f64, InvalidTarget> {
    let bad = |v: i64| v != ignore_index && !(v >= 0 && (v as u64) < classes as u64);
    let parts = reduce::map_in_order(reduce::chunks(target.len(), reduce::CHUNK).collect(), target.len(), |r| {
        let chunk = &target[r.clone()];
        if let Some(j) = chunk.iter().position(|&v| bad(v)) {
            return Err(InvalidTarget { index: r.start + j, value: chunk[j] });
        }
        Ok(match (den, weight) {
            (false, _) => 0.0,
            // A count (vectorized), the same value as a sum of ones.
            (true, None) => chunk.iter().filter(|&&v| v != ignore_index).count() as f64,
            (true, Some(w)) => chunk.iter().filter(|&&v| v != ignore_index).map(|&v| w[v as usize].f64()).sum(),
        })
    });
    parts.into_iter().try_fold(0.0, |acc, p| p.map(|d| acc + d))
}

/// Reads the targets of block (n, b0..b0+w) (index targets were validated by pass 0) and
/// returns `wp`, w rounded up to LANES.
#[inline(always)]
fn load_targets<T: Math>(args: &Args<'_, T>, geom: &Geom, n: usize, b0: usize, w: usize, sc: &mut Scratch<T>) -> usize {
    let (c, bw) = (geom.c, geom.w);
    let wp = w.div_ceil(LANES) * LANES;
    sc.tc[w..wp].fill(NO_CLASS);
    match args.target {
        Target::Index { target, ignore_index } => {
            let at = n * geom.s + b0;
            let mut ignored = false;
            for (t, &v) in sc.tc[..w].iter_mut().zip(&target[at..at + w]) {
                *t = if v == ignore_index || v < 0 || v as u64 >= c as u64 { NO_CLASS } else { v as usize };
                ignored |= *t == NO_CLASS;
            }
            sc.ignored = ignored;
        }
        Target::Soft(g) => {
            sc.tc[..w].fill(SOFT);
            sc.ignored = false;
            let mut rows: Vec<&mut [T]> = sc.g.chunks_exact_mut(bw).collect();
            load(geom, g, n, b0, w, &mut rows, None);
            for row in rows.iter_mut() {
                row[w..wp].fill(T::zero());
            }
        }
    }
    wp
}

/// Sets p = 0 in the padding columns w..wp and in ignored columns (`tc` = NO_CLASS).
#[inline(always)]
fn zero_dead_columns<T: Math>(x: &mut [&mut [T]], tc: &[usize], ignored: bool, w: usize, wp: usize) {
    for row in x.iter_mut() {
        row[w..wp].fill(T::zero());
    }
    if ignored {
        for (j, &t) in tc[..w].iter().enumerate() {
            if t == NO_CLASS {
                for row in x.iter_mut() {
                    row[j] = T::zero();
                }
            }
        }
    }
}

/// Loads block (n, b0..b0+w) into the C rows `x` and applies the activation: afterwards `x`
/// holds p over `wp` columns, with p = 0 exactly in ignored and padding columns (whatever their input,
/// NaN included), so sums and gradients over all `wp` columns need no masks.
///
/// With `part` (softmax only), also adds the block's terms of the fused part to `part_sum`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn forward<T: Math>(
    args: &Args<'_, T>,
    geom: &Geom,
    act: Activation,
    n: usize,
    b0: usize,
    w: usize,
    sc: &mut Scratch<T>,
    x: &mut [&mut [T]],
    part: Option<(&PartK<'_, T>, &mut f64)>,
) -> usize {
    let wp = load_targets(args, geom, n, b0, w, sc);
    let softmax = act == Activation::Softmax;
    // NCS softmax on a block of whole lanes (no padding): the exponentials (and the fused part's
    // logit terms) read the logits where they are, after a sweep for the column max, instead of
    // from a copy in x. The stores into x (the gradient buffer: write-allocate misses) then
    // overlap the exp's arithmetic, where the copy's stores only waited on memory.
    let z: Option<Vec<&[T]>> = (softmax && geom.layout == Layout::Ncs && w == wp).then(|| {
        let at = n * geom.c * geom.s + b0;
        (0..geom.c).map(|k| &args.input[at + k * geom.s..at + k * geom.s + w]).collect()
    });
    if let Some(z) = &z {
        column_max(z, &mut sc.m[..w]);
    } else {
        load(geom, args.input, n, b0, w, x, softmax.then_some(&mut sc.m[..]));
        // Padding gets a harmless value (its p is zeroed below).
        for row in x.iter_mut() {
            row[w..wp].fill(T::zero());
        }
    }
    sc.m[w..wp].fill(T::zero());
    match act {
        Activation::None => {}
        Activation::Sigmoid => {
            for row in x.iter_mut() {
                for v in row[..wp].iter_mut() {
                    *v = math::sigmoid(*v);
                }
            }
        }
        Activation::Softmax => {
            // (No closures around the per-block work: a closure is its own function, outside the
            // SIMD copy that inlines everything else.)
            if let Some((k, _)) = &part {
                match &z {
                    Some(z) => part_logit_terms(k, sc, z, wp),
                    None => part_logit_terms(k, sc, x, wp),
                }
            }
            exp_columns(x, z.as_deref(), wp, &mut sc.m, &mut sc.sum);
            if let Some((k, acc)) = part {
                *acc += part_position_losses(k, sc, x, wp);
            }
            for row in x.iter_mut() {
                for (v, &inv) in row[..wp].iter_mut().zip(&sc.m[..wp]) {
                    *v *= inv;
                }
            }
        }
    }
    zero_dead_columns(x, &sc.tc, sc.ignored, w, wp);
    wp
}

/// Cross-entropy part, before the exps: per position z_y − max, (1−ε)·w_y and the 0/1 mask of
/// the positions that count (all 0 where ignored or padding) and, with label smoothing,
/// Σ_c w_c·(z_c − max).
#[inline(always)]
fn part_logit_terms<T: Math, R: AsRef<[T]>>(k: &PartK<'_, T>, sc: &mut Scratch<T>, z: &[R], wp: usize) {
    k.target_weights(&sc.tc[..wp], &mut sc.ca[..wp]);
    if k.gamma.is_none() {
        for ca in sc.ca[..wp].iter_mut() {
            *ca = k.keep * *ca;
        }
    }
    for (j, ((zy, cv), &t)) in sc.zy[..wp].iter_mut().zip(&mut sc.cv[..wp]).zip(&sc.tc[..wp]).enumerate() {
        (*zy, *cv) = if t == NO_CLASS { (T::zero(), T::zero()) } else { (z[t].as_ref()[j] - sc.m[j], T::one()) };
    }
    if k.smoothing {
        let (wd, m) = (&mut sc.wd[..wp], &sc.m[..wp]);
        wd.fill(T::zero());
        for (c, row) in z.iter().enumerate() {
            let wc = k.weight(c);
            for ((o, &zc), &mj) in wd.iter_mut().zip(&row.as_ref()[..wp]).zip(m) {
                *o += wc * (zc - mj);
            }
        }
    }
}

/// so_j = Σ over the rows c ≠ tc_j of x[c][j] (every row for ignored and padding columns).
#[inline(always)]
fn other_class_sum<T: Math>(x: &[&mut [T]], tc: &[usize], so: &mut [T]) {
    let n = so.len();
    so.fill(T::zero());
    for (c, row) in x.iter().enumerate() {
        for ((o, &v), &t) in so.iter_mut().zip(&row[..n]).zip(tc) {
            *o += if t == c { T::zero() } else { v };
        }
    }
}

/// The focal gradient factor F = u^γ·(1 + γ·q·r) of softmax_focal_loss from q = p_y and
/// u = Σ_{c≠y} p_c, with r = −ln q / u (its series 1 + u/2 + u²/3 + … below u = 1e-3, where
/// ln q would cancel); q·r is 0 where q underflows to 0 (its limit).
#[inline(always)]
fn focal_factor<T: Math>(q: T, u: T, gamma: T) -> T {
    let r = math::neg_ln1m_over(u, -math::ln(q));
    let qr = if q == T::zero() { T::zero() } else { q * r };
    math::pow_nonneg(u, gamma) * (T::one() + gamma * qr)
}

/// Cross-entropy part, after the exps (Σe in `sc.sum`): Σ over the block's positions that count
/// of l = (1−ε)·w_y·(ln Σe − (z_y − max)) + (ε/C)·(W·ln Σe − Σ_c w_c·(z_c − max)), each l in T as
/// the cross-entropy kernel forms it, summed in f64 lanes. Branch-free over the `wp` columns
/// (vectorized; ignored and padding columns are selected out, NaN input there included).
#[inline(always)]
fn part_position_losses<T: Math>(k: &PartK<'_, T>, sc: &mut Scratch<T>, x: &[&mut [T]], wp: usize) -> f64 {
    let ls = &mut sc.dot[..wp];
    for (l, &s) in ls.iter_mut().zip(&sc.sum[..wp]) {
        *l = math::ln(s);
    }
    if let Some(gamma) = k.gamma {
        // Focal: l = α_y·u^γ·(ln Σe − (z_y − max)), u = Σ_{c≠y} e_c / Σe (x holds e here).
        let so = &mut sc.wd[..wp];
        other_class_sum(x, &sc.tc[..wp], so);
        let terms = &mut sc.fix[..wp];
        for ((((o, &l), &zy), &a), ((&cv, &so), &s)) in
            terms.iter_mut().zip(&*ls).zip(&sc.zy[..wp]).zip(&sc.ca[..wp]).zip(sc.cv[..wp].iter().zip(&*so).zip(&sc.sum[..wp]))
        {
            let v = a * math::pow_nonneg(so / s, gamma) * (l - zy);
            *o = if cv != T::zero() { v } else { T::zero() };
        }
        let mut lanes = [0f64; LANES];
        sum_lanes(terms, |v| v, &mut lanes);
        return reduce::sum_lanes(lanes);
    }
    let (keep_terms, smooth) = (&mut sc.fix[..wp], k.smoothing);
    for ((((o, &l), &zy), &ca), (&cv, &wd)) in keep_terms.iter_mut().zip(&*ls).zip(&sc.zy[..wp]).zip(&sc.ca[..wp]).zip(sc.cv[..wp].iter().zip(&sc.wd[..wp])) {
        let v = ca * (l - zy);
        let v = if smooth { v + k.eps_c * (k.wsum * l - wd) } else { v };
        *o = if cv != T::zero() { v } else { T::zero() };
    }
    let mut lanes = [0f64; LANES];
    sum_lanes(keep_terms, |v| v, &mut lanes);
    reduce::sum_lanes(lanes)
}

/// Softmax down each column of the block's C rows, given the column max in `m` (stable: the
/// max is subtracted before exp), first part: x ← e^(z−max), m ← 1/Σe.
///
/// The logits z are x itself (in place), or `src`: the block's NCS input row segments, read
/// where they are (a block without padding: each wp long).
#[inline(always)]
fn exp_columns<T: Math>(x: &mut [&mut [T]], src: Option<&[&[T]]>, wp: usize, m: &mut [T], sum: &mut [T]) {
    let m = &mut m[..wp];
    let sum = &mut sum[..wp];
    sum.fill(T::zero());
    for (k, row) in x.iter_mut().enumerate() {
        match src {
            None => {
                for ((v, &mj), sj) in row[..wp].iter_mut().zip(m.iter()).zip(sum.iter_mut()) {
                    *v = exp_acc(*v, mj, sj);
                }
            }
            Some(z) => {
                let z = &z[k][..wp];
                for ((v, (&zj, &mj)), sj) in row[..wp].iter_mut().zip(z.iter().zip(m.iter())).zip(sum.iter_mut()) {
                    *v = exp_acc(zj, mj, sj);
                }
            }
        }
    }
    for (mj, &sj) in m.iter_mut().zip(sum.iter()) {
        *mj = T::one() / sj;
    }
}

/// e = e^(z − max), added to the column's Σe.
#[inline(always)]
fn exp_acc<T: Math>(z: T, max: T, sum: &mut T) -> T {
    let e = math::exp(z - max);
    *sum += e;
    e
}

/// m ← the column max over a block's C rows (their first m.len() columns).
#[inline(always)]
fn column_max<T: Real, R: AsRef<[T]>>(rows: &[R], m: &mut [T]) {
    let w = m.len();
    m.copy_from_slice(&rows[0].as_ref()[..w]);
    for row in &rows[1..] {
        for (mj, &v) in m.iter_mut().zip(&row.as_ref()[..w]) {
            *mj = math::max(v, *mj);
        }
    }
}

/// f64 lane accumulators of one sum: LANES independent chains, kept across the blocks of a
/// sample and folded once, in a fixed order, at its end.
type Lanes = [f64; LANES];

/// acc += f(a) over a row.
#[inline(always)]
fn sum_lanes<T: Real>(a: &[T], f: impl Fn(f64) -> f64, lanes: &mut Lanes) {
    let mut acc = *lanes;
    for ch in a.chunks_exact(LANES) {
        for (s, &v) in acc.iter_mut().zip(ch) {
            *s += f(v.f64());
        }
    }
    *lanes = acc;
}

/// acc += |a − b| over a row.
#[inline(always)]
fn abs_diff_lanes<T: Real>(a: &[T], b: &[T], lanes: &mut Lanes) {
    let mut acc = *lanes;
    for (ca, cb) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for ((s, &u), &v) in acc.iter_mut().zip(ca).zip(cb) {
            *s += (u.f64() - v.f64()).abs();
        }
    }
    *lanes = acc;
}

/// acc += a·b over a row.
#[inline(always)]
fn dot_lanes<T: Real>(a: &[T], b: &[T], lanes: &mut Lanes) {
    let mut acc = *lanes;
    for (ca, cb) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for ((s, &u), &v) in acc.iter_mut().zip(ca).zip(cb) {
            *s += u.f64() * v.f64();
        }
    }
    *lanes = acc;
}

/// The C rows of width `bw` of the scratch block `xs`, allocated on first use (most NCS blocks
/// are worked on in the gradient buffer and never need it).
#[inline(always)]
fn scratch_rows<T: Real>(xs: &mut Vec<T>, c: usize, bw: usize) -> Vec<&mut [T]> {
    if xs.is_empty() {
        xs.resize(c * bw, T::zero());
    }
    xs.chunks_exact_mut(bw).collect()
}

/// Index of TP, P, G of class k in a per-sample sums array.
const TP: usize = 0;
const P: usize = 1;
const G: usize = 2;

/// Pass 1 for one item: (TP, P, G) per (sample, class) as [n1−n0][C][3], and the item's sum of
/// fused part's terms (with `part`; else 0). With `park`, also parks p in `out` (for pass 2); `out`
/// is handed back either way.
#[inline(always)]
fn gather_item<'a, T: Math>(
    args: &Args<'_, T>,
    params: &Params,
    geom: &Geom,
    item: Item,
    mut out: Option<Out<'a, T>>,
    park: bool,
    part: Option<&PartK<'_, T>>,
) -> (Vec<f64>, f64, Option<Out<'a, T>>) {
    let mut part_sum = 0f64;
    let (c, bw) = (geom.c, geom.w);
    let squared = params.score.squared();
    let soft = matches!(args.target, Target::Soft(_));
    let soft_label = soft && params.soft_label && !squared;
    let mut sc = Scratch::new(geom, soft, part.is_some());
    // The block's rows where they are not worked on in the gradient buffer (allocated on first use).
    let mut xs = Vec::new();
    let mut sums_out = vec![0f64; (item.n1 - item.n0) * c * 3];
    // Index targets: TP and the counts G are gathered per position into 4 interleaved tables,
    // so runs of one class (the common case) do not serialise on one accumulator.
    let mut tp4 = vec![0f64; 4 * c];
    let mut g4 = vec![0u64; 4 * c];
    // Lane accumulators of (TP, P, G) per class, as [C][3].
    let mut lanes = vec![[0f64; LANES]; c * 3];
    for (n, sums) in (item.n0..item.n1).zip(sums_out.chunks_exact_mut(c * 3)) {
        tp4.fill(0.0);
        g4.fill(0);
        lanes.fill([0f64; LANES]);
        for b in reduce::chunks(item.s1 - item.s0, bw) {
            let (b0, w) = (item.s0 + b.start, b.len());
            // Parking p: in the gradient buffer itself where it can hold the block's rows.
            let in_place = park && out.as_ref().is_some_and(|o| o.holds_rows(geom, w));
            let mut x = match out.as_mut() {
                Some(o) if in_place => o.rows(geom, item, n, b0, w),
                _ => scratch_rows(&mut xs, c, bw),
            };
            let wp = forward(args, geom, params.activation, n, b0, w, &mut sc, &mut x, part.map(|k| (k, &mut part_sum)));
            for (k, (row, acc)) in x.iter().zip(lanes.chunks_exact_mut(3)).enumerate() {
                let row = &row[..wp];
                if soft_label {
                    // P = Σ|p|, G = Σ|g|, and Σ|p − g| in TP's place until the sample's end.
                    let g = &sc.g[k * bw..k * bw + wp];
                    sum_lanes(row, |p| p.abs(), &mut acc[P]);
                    sum_lanes(g, |v| v.abs(), &mut acc[G]);
                    abs_diff_lanes(row, g, &mut acc[TP]);
                } else if squared {
                    sum_lanes(row, |p| p * p, &mut acc[P]);
                } else {
                    sum_lanes(row, |p| p, &mut acc[P]);
                }
                if soft && !soft_label {
                    let g = &sc.g[k * bw..k * bw + wp];
                    dot_lanes(row, g, &mut acc[TP]);
                    if squared {
                        sum_lanes(g, |v| v * v, &mut acc[G]);
                    } else {
                        sum_lanes(g, |v| v, &mut acc[G]);
                    }
                }
            }
            if !soft {
                for (j, &t) in sc.tc[..wp].iter().enumerate() {
                    if t != NO_CLASS {
                        tp4[(j & 3) * c + t] += x[t][j].f64();
                        g4[(j & 3) * c + t] += 1;
                    }
                }
            }
            drop(x);
            if let Some(o) = out.as_mut().filter(|_| park && !in_place) {
                o.store(geom, item, n, b0, w, &xs);
            }
        }
        for (sum, acc) in sums.iter_mut().zip(&lanes) {
            *sum = reduce::sum_lanes(*acc);
        }
        if soft_label {
            // TP = (P + G − Σ|p − g|)/2, as MONAI combines its three norms.
            for s in sums.chunks_exact_mut(3) {
                s[TP] = (s[P] + s[G] - s[TP]) / 2.0;
            }
        }
        if !soft {
            for k in 0..c {
                sums[k * 3 + TP] = (tp4[k] + tp4[c + k]) + (tp4[2 * c + k] + tp4[3 * c + k]);
                sums[k * 3 + G] = (g4[k] + g4[c + k] + g4[2 * c + k] + g4[3 * c + k]) as f64;
            }
        }
    }
    (sums_out, part_sum, out)
}

/// The score of (TP, P, G) and its partial derivatives ∂score/∂TP, ∂score/∂P.
/// A zero denominator (empty masks without smoothing) is a perfect score with zero gradient.
fn score_of(score: Score, smooth_nr: f64, smooth_dr: f64, tp: f64, p: f64, g: f64) -> (f64, f64, f64) {
    match score {
        Score::Dice { jaccard, .. } => {
            // MONAI DiceLoss: (2·TP + smooth_nr) / (2·(TP + FP + FN) + smooth_dr) with FP = P − TP,
            // FN = G − TP (its compute_tp_fp_fn), halved for Dice: P + G; Jaccard: 2·(P + G − TP).
            let num = 2.0 * tp + smooth_nr;
            let den = if jaccard { 2.0 * (p + g - tp) } else { p + g } + smooth_dr;
            if den == 0.0 {
                return (1.0, 0.0, 0.0);
            }
            // The derivatives from score = num/den rather than num/den²: den² underflows for tiny
            // masses (softmax of ±1e4 logits). Dice: ∂/∂TP = 2/den, ∂/∂P = −num/den²; Jaccard:
            // ∂/∂TP = 2/den + 2·num/den², ∂/∂P = −2·num/den².
            let score = num / den;
            if jaccard {
                (score, 2.0 * (1.0 + score) / den, -2.0 * score / den)
            } else {
                (score, 2.0 / den, -score / den)
            }
        }
        Score::Tversky { alpha, beta } => {
            let num = tp + smooth_nr;
            let (fp, fn_) = (p - tp, g - tp);
            let den = tp + alpha * fp + beta * fn_ + smooth_dr;
            if den == 0.0 {
                return (1.0, 0.0, 0.0);
            }
            // 1/den − (1 − α − β)·num/den², as (1 − (1 − α − β)·score)/den: den² underflows for
            // tiny masses, and with α = β = 0 (score ≡ 1) the two terms must cancel exactly.
            let score = num / den;
            (score, (1.0 - (1.0 - alpha - beta) * score) / den, -alpha * score / den)
        }
        Score::Generalized { .. } => unreachable!("generalized Dice scores a group of classes: gdice_score"),
    }
}

/// Generalized Dice of one group (a sample, or the pooled batch) over the classes `first..c` of
/// its sums `sg` (`[C][TP, P, G]`), as MONAI `GeneralizedDiceLoss.forward`:
///
/// ```text
/// w_c = w_func(G_c) = 1/G_c² (SQUARE), 1/G_c (SIMPLE), 1 (UNIFORM), in the data's precision T;
///       an infinite w_c (a class absent from the group) becomes the largest finite weight of the group
///       (0 when every class is absent): MONAI's `w[infs] = 0; w = w + infs * max(w)`
/// score = (2·Σ_c w_c·TP_c + smooth_nr) / (Σ_c w_c·(P_c + G_c) + smooth_dr)
/// ∂score/∂TP_c = 2·w_c/den,   ∂score/∂P_c = −score·w_c/den
/// ```
///
/// Returns the score and, per class of `first..c`, (∂score/∂TP, ∂score/∂P). The weights are
/// computed from G rounded to T (MONAI computes them in float32 from `ground_o.float()`, also
/// for float64 data; lossfn's f64 keeps f64). Numerator and denominator are divided by the
/// largest weight m before they are formed — the same score, but Σ w·(P + G) cannot overflow
/// for weights near the type's end (1/G² of a tiny soft mass). A zero denominator is a perfect
/// score with zero gradient, as for Dice.
fn gdice_score<T: Math>(w_type: GdiceWeight, smooth_nr: f64, smooth_dr: f64, sg: &[f64], first: usize, c: usize) -> (f64, Vec<(f64, f64)>) {
    let w_func = |g: f64| -> f64 {
        let g = T::of(g);
        match w_type {
            GdiceWeight::Square => (T::one() / (g * g)).f64(),
            GdiceWeight::Simple => (T::one() / g).f64(),
            GdiceWeight::Uniform => 1.0,
        }
    };
    let mut w: Vec<f64> = (first..c).map(|k| w_func(sg[k * 3 + G])).collect();
    // torch.max over the weights with the infinite ones zeroed (NaN propagates, as torch.max).
    let max = w.iter().fold(0.0f64, |m, &v| if v.is_nan() || m.is_nan() { f64::NAN } else if v.is_infinite() { m } else { m.max(v) });
    for v in w.iter_mut().filter(|v| v.is_infinite()) {
        *v = max;
    }
    // Scale by the largest weight m: the score is (2·Σŵ·TP + smooth_nr/m) / (Σŵ·(P + G) + smooth_dr/m).
    let m = w.iter().fold(0.0f64, |m, &v| m.max(v.abs()));
    let (hat, snr, sdr) = if m > 0.0 && m.is_finite() {
        (w.iter().map(|v| v / m).collect::<Vec<_>>(), smooth_nr / m, smooth_dr / m)
    } else {
        (w, smooth_nr, smooth_dr)
    };
    let mut num = snr;
    let mut den = sdr;
    for (k, &wk) in (first..c).zip(&hat) {
        num += 2.0 * wk * sg[k * 3 + TP];
        den += wk * (sg[k * 3 + P] + sg[k * 3 + G]);
    }
    if den == 0.0 {
        return (1.0, vec![(0.0, 0.0); hat.len()]);
    }
    let score = num / den;
    (score, hat.iter().map(|&wk| (2.0 * wk / den, -score * wk / den)).collect())
}

/// `v` in `T`, clamped to ±T::MAX: a coefficient 1/den of a tiny denominator (an empty mask
/// without smoothing) can exceed f32's range where it multiplies g = 0 or p ≈ 0, and inf · 0
/// would be NaN. NaN propagates.
fn saturate<T: Real>(v: f64) -> T {
    let max = T::max_value().f64();
    T::of(if v > max { max } else if v < -max { -max } else { v })
}

/// l(score) and dl/dscore: 1 − score for gamma = 1, else max(0, 1 − score)^γ with derivative
/// 0 where the base is 0 (so gamma < 1 stays finite at a perfect score). NaN propagates.
fn focal(score: f64, gamma: f64) -> (f64, f64) {
    let base = 1.0 - score;
    if gamma == 1.0 {
        (base, -1.0)
    } else if base <= 0.0 {
        (0.0, 0.0)
    } else {
        (base.powf(gamma), -gamma * base.powf(gamma - 1.0))
    }
}

/// Gradient coefficients of a run: ∂L/∂p = cg·g + cp·h(p), per (group, class); the group of
/// sample n is n − n0, or 0 when the scores pool the batch.
struct Coefs<T> {
    n0: usize,
    pooled: bool,
    cg: Vec<T>,
    cp: Vec<T>,
}

/// Pass 2 for one item: turns p (parked in `out` by pass 1, or the input itself without
/// activation, or with `recompute` formed again from the input) into ∂L/∂input, in place.
///
/// With `part` (softmax, index targets) the fused part's gradient is added (cross entropy shown):
/// gs·((1−ε)·w_y + (ε/C)·W)·p_c − gs·(ε/C)·w_c, and −gs·(1−ε)·w_y at the target class.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scatter_item<T: Math>(
    args: &Args<'_, T>,
    params: &Params,
    geom: &Geom,
    item: Item,
    co: &Coefs<T>,
    mut out: Out<'_, T>,
    recompute: bool,
    part: Option<&PartK<'_, T>>,
) {
    // gs·(ε/C)·w_c per class (0 for the focal part).
    let part_rows: Vec<T> = part.map_or(Vec::new(), |k| (0..geom.c).map(|c| k.gs * k.eps_c * k.weight(c)).collect());
    let (c, bw) = (geom.c, geom.w);
    let squared = params.score.squared();
    let soft = matches!(args.target, Target::Soft(_));
    let soft_label = soft && params.soft_label && !squared;
    let act = params.activation;
    let mut sc = Scratch::new(geom, soft, part.is_some());
    let mut xs = Vec::new();
    let recompute = recompute || act == Activation::None;
    for n in item.n0..item.n1 {
        let grp = if co.pooled { 0 } else { n - co.n0 };
        let (cg, cp) = (&co.cg[grp * c..(grp + 1) * c], &co.cp[grp * c..(grp + 1) * c]);
        for b in reduce::chunks(item.s1 - item.s0, bw) {
            let (b0, w) = (item.s0 + b.start, b.len());
            // The gradient is formed in the gradient buffer itself where it can hold the block's
            // rows (p parked there by pass 1, or the input loaded there), else in the scratch.
            let in_place = out.holds_rows(geom, w);
            if !recompute && !in_place {
                scratch_rows(&mut xs, c, bw);
                out.load(geom, item, n, b0, w, &mut xs);
            }
            let mut x = if in_place { out.rows(geom, item, n, b0, w) } else { scratch_rows(&mut xs, c, bw) };
            let wp = if recompute {
                forward(args, geom, act, n, b0, w, &mut sc, &mut x, None)
            } else {
                // p as pass 1 left it: already 0 in ignored columns.
                let wp = load_targets(args, geom, n, b0, w, &mut sc);
                for row in x.iter_mut() {
                    row[w..wp].fill(T::zero());
                }
                wp
            };
            let x = &mut x[..];
            let Scratch { g, tc, dot, fix, sum, m, wd, ca, ignored, .. } = &mut sc;
            let dot = &mut dot[..wp];
            if soft_label {
                // d = cg·∂TP/∂p + cp·∂P/∂p with TP = (Σ|p| + Σ|g| − Σ|p − g|)/2, P = Σ|p|:
                // (sgn p − sgn(p − g))/2 and sgn p, sgn(0) = 0 as torch's |·|. Kept in g.
                let half = T::of(0.5);
                for ((xr, gr), (&cgk, &cpk)) in x.iter().zip(g.chunks_exact_mut(bw)).zip(cg.iter().zip(cp)) {
                    for (gv, &p) in gr[..wp].iter_mut().zip(&xr[..wp]) {
                        let sp = math::sign0(p);
                        *gv = cgk * (half * (sp - math::sign0(p - *gv))) + cpk * sp;
                    }
                }
                backward_rows(act, x, g, bw, wp, dot);
            } else if soft {
                // d = ∂L/∂p = cg·g + cp·h(p), kept in g.
                for ((xr, gr), (&cgk, &cpk)) in x.iter().zip(g.chunks_exact_mut(bw)).zip(cg.iter().zip(cp)) {
                    for (gv, &p) in gr[..wp].iter_mut().zip(&xr[..wp]) {
                        let h = if squared { p } else { T::one() };
                        *gv = cgk * *gv + cpk * h;
                    }
                }
                backward_rows(act, x, g, bw, wp, dot);
            } else {
                // ∂L/∂p = cp·h(p) everywhere, plus cg at the target class: the latter is a
                // per-position fix-up, computed before x is overwritten.
                let fix = &mut fix[..wp];
                for ((fj, &t), j) in fix.iter_mut().zip(&tc[..wp]).zip(0..) {
                    *fj = if t == NO_CLASS {
                        T::zero()
                    } else {
                        let p = x[t][j];
                        cg[t] * match act {
                            Activation::None => T::one(),
                            Activation::Sigmoid => p * (T::one() - p),
                            Activation::Softmax => p,
                        }
                    };
                }
                // Cross-entropy part: the per-position factor of p_c (in `sum`, free in pass 2), and
                // its target-class term joins the fix-up after the softmax backward (it is a
                // logit-level term, not part of Σ_k p_k·∂L/∂p_k).
                // (`sum`, `m` and `wd` are free in pass 2.) Per position: the factor of p_c in
                // `sum`, the target-class term in `m`.
                // (Not in a closure: see `forward`.)
                if let Some(k) = part {
                    let (coef, tfix) = (&mut sum[..wp], &mut m[..wp]);
                    match k.gamma {
                        None => {
                            // w_y per position in `ca` (free in pass 2), then a map loop.
                            let wy = &mut ca[..wp];
                            k.target_weights(&tc[..wp], wy);
                            for ((cf, tf), (&t, &w)) in coef.iter_mut().zip(tfix.iter_mut()).zip(tc[..wp].iter().zip(wy.iter())) {
                                (*cf, *tf) = if t == NO_CLASS { (T::zero(), T::zero()) } else { (k.gs * (k.keep * w + k.eps_c * k.wsum), k.gs * k.keep * w) };
                            }
                        }
                        Some(gamma) => {
                            // gs·α_y·F, from p: q = p_y, u = Σ_{c≠y} p_c. The gathers first (q into
                            // `dot`, free until the backward; gs·α_y into `m`), then F as a map
                            // loop over positions (vectorized ln / exp).
                            let u = &mut wd[..wp];
                            other_class_sum(x, &tc[..wp], u);
                            let q = &mut dot[..wp];
                            for (j, ((qv, av), &t)) in q.iter_mut().zip(tfix.iter_mut()).zip(&tc[..wp]).enumerate() {
                                (*qv, *av) = if t == NO_CLASS { (T::zero(), T::zero()) } else { (x[t][j], k.gs * k.weight(t)) };
                            }
                            for ((cf, tf), (&qv, &uj)) in coef.iter_mut().zip(tfix.iter_mut()).zip(q.iter().zip(u.iter())) {
                                let a = *tf * focal_factor(qv, uj, gamma);
                                (*cf, *tf) = (a, a);
                            }
                        }
                    }
                }
                let part_k = part.map(|_| (&sum[..wp], &part_rows[..]));
                backward_index_rows(act, x, cp, squared, wp, dot, fix, part_k);
                if part.is_some() {
                    for (fj, &tf) in fix.iter_mut().zip(&m[..wp]) {
                        *fj -= tf;
                    }
                }
                for (j, &t) in tc[..wp].iter().enumerate() {
                    if t != NO_CLASS {
                        x[t][j] += fix[j];
                    }
                }
            }
            // Ignored positions get no gradient (with NONE, cp·h(0) need not be 0).
            zero_dead_columns(x, tc, *ignored, w, wp);
            if !in_place {
                out.store(geom, item, n, b0, w, &xs);
            }
        }
    }
}

/// Soft targets: x ← ∂L/∂input from p (in x) and d = ∂L/∂p (in d).
#[inline(always)]
fn backward_rows<T: Math>(act: Activation, x: &mut [&mut [T]], d: &[T], bw: usize, wp: usize, dot: &mut [T]) {
    match act {
        Activation::None => {
            for (xr, dr) in x.iter_mut().zip(d.chunks_exact(bw)) {
                xr[..wp].copy_from_slice(&dr[..wp]);
            }
        }
        Activation::Sigmoid => {
            for (xr, dr) in x.iter_mut().zip(d.chunks_exact(bw)) {
                for (v, &dv) in xr[..wp].iter_mut().zip(&dr[..wp]) {
                    let p = *v;
                    *v = dv * (p * (T::one() - p));
                }
            }
        }
        Activation::Softmax => {
            dot.fill(T::zero());
            for (xr, dr) in x.iter().zip(d.chunks_exact(bw)) {
                for ((s, &p), &dv) in dot.iter_mut().zip(&xr[..wp]).zip(&dr[..wp]) {
                    *s += p * dv;
                }
            }
            for (xr, dr) in x.iter_mut().zip(d.chunks_exact(bw)) {
                for ((v, &dv), &s) in xr[..wp].iter_mut().zip(&dr[..wp]).zip(dot.iter()) {
                    *v *= dv - s;
                }
            }
        }
    }
}

/// Index targets: x ← ∂L/∂input without the target-class term (added by the caller as `fix`),
/// with ∂L/∂p_k = cp_k·h(p_k) off the target. For softmax, Σ_k p_k·∂L/∂p_k includes `fix`; with
/// `part` = (per-position factor a_j, per-class offset e_k) the logit-level term a_j·p_k − e_k of
/// the fused part is added too.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward_index_rows<T: Math>(
    act: Activation,
    x: &mut [&mut [T]],
    cp: &[T],
    squared: bool,
    wp: usize,
    dot: &mut [T],
    fix: &[T],
    part: Option<(&[T], &[T])>,
) {
    let h = |p: T| if squared { p } else { T::one() };
    match act {
        Activation::None => {
            for (xr, &cpk) in x.iter_mut().zip(cp) {
                for v in xr[..wp].iter_mut() {
                    *v = cpk * h(*v);
                }
            }
        }
        Activation::Sigmoid => {
            for (xr, &cpk) in x.iter_mut().zip(cp) {
                for v in xr[..wp].iter_mut() {
                    let p = *v;
                    *v = cpk * h(p) * (p * (T::one() - p));
                }
            }
        }
        Activation::Softmax => {
            dot.fill(T::zero());
            for (xr, &cpk) in x.iter().zip(cp) {
                for (s, &p) in dot.iter_mut().zip(&xr[..wp]) {
                    *s += p * (cpk * h(p));
                }
            }
            for (s, &f) in dot.iter_mut().zip(fix) {
                *s += f;
            }
            match part {
                None => {
                    for (xr, &cpk) in x.iter_mut().zip(cp) {
                        for (v, &s) in xr[..wp].iter_mut().zip(dot.iter()) {
                            let p = *v;
                            *v = p * (cpk * h(p) - s);
                        }
                    }
                }
                Some((a, e)) => {
                    // p·(cp·h(p) − s) + (a·p − e) as p·(cp·h(p) − (s − a)) − e: a joins the
                    // per-position s once instead of a multiply and an add per element.
                    for (s, &aj) in dot.iter_mut().zip(a) {
                        *s -= aj;
                    }
                    for (xr, (&cpk, &ek)) in x.iter_mut().zip(cp.iter().zip(e)) {
                        for (v, &s) in xr[..wp].iter_mut().zip(dot.iter()) {
                            let p = *v;
                            *v = p * (cpk * h(p) - s) - ek;
                        }
                    }
                }
            }
        }
    }
}

/// The part of the gradient output an item writes (and where pass 1 parks p).
enum Out<'a, T> {
    /// A contiguous range: NSC, or NCS when the item is whole samples.
    Contig(&'a mut [T]),
    /// NCS piece of one sample: one row segment per class.
    Rows(Vec<&'a mut [T]>),
}

impl<T: Real> Out<'_, T> {
    /// Whether a block of `w` positions can be worked on in this part of the gradient buffer
    /// itself ([`Out::rows`]): NCS rows, and `w` a whole number of lanes (the kernels run over
    /// `w` rounded up to LANES, and a row segment has no room for padding).
    #[inline(always)]
    fn holds_rows(&self, geom: &Geom, w: usize) -> bool {
        geom.layout == Layout::Ncs && w % LANES == 0
    }

    /// The C row segments of block (n, b0..b0+w) in the gradient buffer (NCS; see
    /// [`Out::holds_rows`]): the kernels then park p and form the gradient there, without the
    /// copies to and from the scratch.
    #[inline(always)]
    fn rows(&mut self, geom: &Geom, item: Item, n: usize, b0: usize, w: usize) -> Vec<&mut [T]> {
        let (c, s) = (geom.c, geom.s);
        debug_assert!(self.holds_rows(geom, w));
        match self {
            Out::Rows(rows) => rows.iter_mut().map(|r| &mut r[b0 - item.s0..b0 - item.s0 + w]).collect(),
            Out::Contig(dst) => {
                let base = (n - item.n0) * c * s;
                dst[base..base + c * s].chunks_exact_mut(s).map(|r| &mut r[b0..b0 + w]).collect()
            }
        }
    }

    /// Writes the `w` real columns of block (n, b0..b0+w) from the [C][W] rows `x`.
    #[inline(always)]
    fn store(&mut self, geom: &Geom, item: Item, n: usize, b0: usize, w: usize, x: &[T]) {
        let (c, s, bw) = (geom.c, geom.s, geom.w);
        match (self, geom.layout) {
            (Out::Rows(rows), _) => {
                for (dst, src) in rows.iter_mut().zip(x.chunks_exact(bw)) {
                    dst[b0 - item.s0..b0 - item.s0 + w].copy_from_slice(&src[..w]);
                }
            }
            (Out::Contig(dst), Layout::Ncs) => {
                let base = (n - item.n0) * c * s;
                for (k, src) in x.chunks_exact(bw).enumerate() {
                    let at = base + k * s + b0;
                    dst[at..at + w].copy_from_slice(&src[..w]);
                }
            }
            (Out::Contig(dst), Layout::Nsc) => {
                let at = ((n * s + b0) - (item.n0 * s + item.s0)) * c;
                transpose_out(x, c, bw, &mut dst[at..at + w * c]);
            }
        }
    }

    /// Reads the `w` columns of block (n, b0..b0+w) into the [C][W] rows `x` (inverse of store).
    #[inline(always)]
    fn load(&self, geom: &Geom, item: Item, n: usize, b0: usize, w: usize, x: &mut [T]) {
        let (c, s, bw) = (geom.c, geom.s, geom.w);
        match (self, geom.layout) {
            (Out::Rows(rows), _) => {
                for (src, dst) in rows.iter().zip(x.chunks_exact_mut(bw)) {
                    dst[..w].copy_from_slice(&src[b0 - item.s0..b0 - item.s0 + w]);
                }
            }
            (Out::Contig(src), Layout::Ncs) => {
                let base = (n - item.n0) * c * s;
                for (k, dst) in x.chunks_exact_mut(bw).enumerate() {
                    let at = base + k * s + b0;
                    dst[..w].copy_from_slice(&src[at..at + w]);
                }
            }
            (Out::Contig(src), Layout::Nsc) => {
                let at = ((n * s + b0) - (item.n0 * s + item.s0)) * c;
                let mut rows: Vec<&mut [T]> = x.chunks_exact_mut(bw).collect();
                transpose_in(&src[at..at + w * c], c, &mut rows);
            }
        }
    }
}

/// Splits the gradient buffer of a run of samples into the disjoint pieces its items write.
fn split_out<'a, T>(geom: &Geom, items: &[Item], grad: &'a mut [T]) -> Vec<Out<'a, T>> {
    let (c, s) = (geom.c, geom.s);
    if items.is_empty() {
        return Vec::new();
    }
    let whole_samples = items[0].s0 == 0 && items[0].s1 == s;
    if geom.layout == Layout::Nsc || whole_samples {
        let mut rest = grad;
        items
            .iter()
            .map(|it| {
                let len = ((it.n1 - 1) * s + it.s1 - (it.n0 * s + it.s0)) * c;
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
                rest = tail;
                Out::Contig(head)
            })
            .collect()
    } else {
        // NCS, one sample per item: every (n, c) row is cut at the items' position ranges.
        let mut outs: Vec<Vec<&'a mut [T]>> = items.iter().map(|_| Vec::with_capacity(c)).collect();
        let per_sample = s.div_ceil(geom.sc);
        for (r, row) in grad.chunks_exact_mut(s).enumerate() {
            let n = r / c;
            let mut rest = row;
            for (k, piece) in reduce::chunks(s, geom.sc).enumerate() {
                let (head, tail) = std::mem::take(&mut rest).split_at_mut(piece.len());
                rest = tail;
                outs[n * per_sample + k].push(head);
            }
        }
        outs.into_iter().map(Out::Rows).collect()
    }
}

/// Computes the loss (returned, reduced; for NONE the per-score values w·l go to `loss_none`,
/// `[batch][C']` or `[C']`) and, when `grad` is given, ∂L/∂input in the input's layout.
///
/// Fails, writing nothing, on the first (in flat order) index target that is neither a class
/// nor `ignore_index`.
///
/// Pass 0, then for each run of samples pass 1 (gather, per item), the scores, and pass 2
/// (scatter, per item); the items of both passes run on the widest SIMD copy
/// ([`simd::dispatch`]).
pub fn overlap<'a, T: Math>(
    args: &Args<'_, T>,
    params: &Params,
    loss_none: Option<&mut [T]>,
    grad: Option<&'a mut [T]>,
) -> Result<f64, InvalidTarget> {
    if let Some((w, _)) = params.reduction.class_weight_scale(args.class_weight) {
        return with_scaled_weights(args, params, &w, |args| overlap(args, params, loss_none, grad));
    }
    run(args, params, None, loss_none, grad).map(|(dice, _)| dice)
}

/// Runs `f` on `args` with its class weights replaced by `scaled` (a MEAN's weights scaled by a
/// power of two: [`Reduce::class_weight_scale`]; MEAN unchanged), then records the MEAN
/// denominator of the caller's weights for the MEAN_DENOMINATOR query.
fn with_scaled_weights<T: Real, R>(args: &Args<'_, T>, params: &Params, scaled: &[T], f: impl FnOnce(&Args<'_, T>) -> R) -> R {
    let r = f(&Args { class_weight: Some(scaled), ..*args });
    params.reduction.scale(mean_den(args, params), 1);
    r
}

/// Dice and cross entropy on one softmax (`dice_ce_loss`): returns (Dice part, cross-entropy
/// part), each reduced with its own [`Reduce`] (λ, avg_factor), and writes the gradient of their
/// sum, in the passes Dice alone makes. `params` must have the softmax activation and index
/// targets (the caller checks). Fails as [`overlap`].
pub fn overlap_fused<'a, T: Math>(args: &Args<'_, T>, params: &Params, part: &PartParams, grad: Option<&'a mut [T]>) -> Result<(f64, f64), InvalidTarget> {
    // Class weights far from 1 are scaled (a power of two) only where that changes neither part:
    // both MEAN over their own denominators, and the cross entropy's (Σ w_y: term weights; the
    // focal part's α is a factor over a position count).
    let invariant = part.reduction.own_mean() && matches!(part.loss, PixelLoss::CrossEntropy { .. });
    if let Some((w, _)) = params.reduction.class_weight_scale(args.class_weight.filter(|_| invariant)) {
        return overlap_fused(&Args { class_weight: Some(&w), ..*args }, params, part, grad);
    }
    run(args, params, Some(part), None, grad)
}

/// The first score class: 0, or 1 without the background.
fn first_class(params: &Params) -> usize {
    if params.include_background {
        0
    } else {
        1
    }
}

/// The MEAN denominator Σ w over the scores: it depends on the weights only (one score per group
/// and weight 1 for generalized Dice, whose class weights are inside the score).
fn mean_den<T: Real>(args: &Args<'_, T>, params: &Params) -> f64 {
    let n_groups = if params.batch { 1 } else { args.shape.batch };
    if let Score::Generalized { .. } = params.score {
        return n_groups as f64;
    }
    let weight = |k: usize| args.class_weight.map_or(1.0, |w| w[k].f64());
    let mut den = 0.0;
    for _ in 0..n_groups {
        for k in first_class(params)..args.shape.classes {
            den += weight(k);
        }
    }
    den
}

/// Pass 1 over a run of samples: (TP, P, G) per (sample, class) as `[run][C][3]`, partials
/// combined in item order, and the fused part's sum. Every item gets its piece of `grad` in `outs`
/// (to park p in, with `park`) and hands it back.
#[allow(clippy::too_many_arguments)]
fn gather_run<'a, T: Math>(
    args: &Args<'_, T>,
    params: &Params,
    geom: &Geom,
    run: Range<usize>,
    items: &[Item],
    outs: Vec<Option<Out<'a, T>>>,
    park: bool,
    part: Option<&PartK<'_, T>>,
) -> (Vec<f64>, f64, Vec<Out<'a, T>>) {
    let c = geom.c;
    let work = run.len().saturating_mul(c).saturating_mul(geom.s).saturating_mul(8);
    let jobs: Vec<(Item, Option<Out<'a, T>>)> = items.iter().copied().zip(outs).collect();
    let results = reduce::map_in_order(jobs, work, |(item, out)| simd::dispatch(Gather { args, params, geom, item, out, park, part }));
    let mut sums = vec![0f64; run.len() * c * 3];
    let mut outs = Vec::with_capacity(items.len());
    let mut part_total = 0.0;
    for (it, (part, part_value, out)) in items.iter().zip(results) {
        part_total += part_value;
        let at = (it.n0 - run.start) * c * 3;
        for (acc, v) in sums[at..at + part.len()].iter_mut().zip(part) {
            *acc += v;
        }
        outs.extend(out);
    }
    (sums, part_total, outs)
}

/// The per-sample sums `[n][C][3]` added over the samples, in sample order: the pooled `[C][3]`.
fn pool(sums: &[f64], c: usize) -> Vec<f64> {
    let mut pooled = vec![0f64; c * 3];
    for sample in sums.chunks_exact(c * 3) {
        for (acc, &v) in pooled.iter_mut().zip(sample) {
            *acc += v;
        }
    }
    pooled
}

/// The scores of `groups` (`[group][C][3]` sums): returns Σ w·l (unscaled), writes the NONE values
/// w·l from `none[*j]` on, and the gradient coefficients (reduction factor `scale`) of each score.
#[allow(clippy::too_many_arguments)]
fn score_groups<T: Math>(
    args: &Args<'_, T>,
    params: &Params,
    groups: &[f64],
    scale: f64,
    n0: usize,
    none: &mut Option<&mut [T]>,
    j: &mut usize,
) -> (f64, Coefs<T>) {
    let c = args.shape.classes;
    let first = first_class(params);
    let squared = params.score.squared();
    let weight = |k: usize| args.class_weight.map_or(1.0, |w| w[k].f64());
    let n_groups = groups.len() / (c * 3);
    let mut total = 0.0;
    let mut co = Coefs { n0, pooled: params.batch, cg: vec![T::zero(); n_groups * c], cp: vec![T::zero(); n_groups * c] };
    let mut emit = |v: f64| {
        if let Some(o) = none.as_deref_mut() {
            o[*j] = T::of(v);
        }
        *j += 1;
    };
    for (grp, sg) in groups.chunks_exact(c * 3).enumerate() {
        if let Score::Generalized { w_type } = params.score {
            let (score, d) = gdice_score::<T>(w_type, params.smooth_nr, params.smooth_dr, sg, first, c);
            let (l, dl) = focal(score, params.gamma);
            total += l;
            emit(l);
            let coef = scale * dl;
            let times = |d: f64| if coef == 0.0 { 0.0 } else { coef * d };
            for (k, (d_tp, d_p)) in (first..c).zip(d) {
                co.cg[grp * c + k] = saturate(times(d_tp));
                co.cp[grp * c + k] = saturate(times(d_p));
            }
            continue;
        }
        for k in first..c {
            let (tp, p, g) = (sg[k * 3 + TP], sg[k * 3 + P], sg[k * 3 + G]);
            let (score, d_tp, d_p) = score_of(params.score, params.smooth_nr, params.smooth_dr, tp, p, g);
            let (l, dl) = focal(score, params.gamma);
            let w = weight(k);
            total += w * l;
            emit(w * l);
            let coef = scale * w * dl;
            // A zero upstream factor (class weight 0, flat focal base) zeroes the branch,
            // also where a subnormal denominator made the score's derivatives overflow.
            let times = |d: f64| if coef == 0.0 { 0.0 } else { coef * d };
            co.cg[grp * c + k] = saturate(times(d_tp));
            co.cp[grp * c + k] = saturate(times(d_p) * if squared { 2.0 } else { 1.0 });
        }
    }
    (total, co)
}

/// Pass 2 over a run: the gradient of every item into its `outs` piece. With `recompute`, p is
/// formed again from the input (phase 2 of the two-phase call, where pass 1 had no buffer to park
/// it in); otherwise it is read where pass 1 parked it (or, without activation, is the input).
#[allow(clippy::too_many_arguments)]
fn scatter_run<'a, T: Math>(
    args: &Args<'_, T>,
    params: &Params,
    geom: &Geom,
    run: Range<usize>,
    items: Vec<Item>,
    outs: Vec<Out<'a, T>>,
    co: &Coefs<T>,
    recompute: bool,
    part: Option<&PartK<'_, T>>,
) {
    let work = run.len().saturating_mul(geom.c).saturating_mul(geom.s).saturating_mul(8);
    let jobs: Vec<(Item, Out<'a, T>)> = items.into_iter().zip(outs).collect();
    reduce::map_in_order(jobs, work, |(item, out)| simd::dispatch(Scatter { args, params, geom, item, co, out, recompute, part }));
}

/// The body of [`overlap`] and [`overlap_fused`].
fn run<'a, T: Math>(
    args: &Args<'_, T>,
    params: &Params,
    part: Option<&PartParams>,
    loss_none: Option<&mut [T]>,
    grad: Option<&'a mut [T]>,
) -> Result<(f64, f64), InvalidTarget> {
    let geom = &Geom::new(&args.shape);
    let (c, s) = (args.shape.classes, args.shape.spatial);
    if c == 0 {
        return Ok((0.0, 0.0));
    }
    let mut part_den = 0.0;
    if let Target::Index { target, ignore_index } = args.target {
        // The cross entropy's MEAN divides by Σ w_y, the focal loss's by the positions' count.
        let focal = matches!(part.map(|p| p.loss), Some(PixelLoss::Focal { .. }));
        part_den = validate(target, ignore_index, c, args.class_weight.filter(|_| !focal), part.is_some())?;
    }
    let part_k = part.map(|part| {
        let gs64 = part.reduction.scale(part_den, 1);
        let (eps, gamma) = match part.loss {
            PixelLoss::CrossEntropy { label_smoothing } => (label_smoothing, None),
            PixelLoss::Focal { gamma } => (0.0, Some(T::of(gamma))),
        };
        PartK {
            w: args.class_weight,
            gamma,
            smoothing: eps > 0.0,
            keep: T::of(1.0 - eps),
            eps_c: T::of(eps / c as f64),
            wsum: T::of(args.class_weight.map_or(c as f64, |w| w.iter().map(|v| v.f64()).sum())),
            gs: T::of(gs64),
            gs64,
        }
    });
    let part_k = part_k.as_ref();
    let scale = params.reduction.scale(mean_den(args, params), 1);
    // Without an activation pass 2 reads the input itself; otherwise pass 1 parks p in `grad`.
    let park = params.activation != Activation::None;

    let (mut total, mut part_total) = (0.0, 0.0);
    let mut none_out = loss_none;
    let mut j = 0;
    let mut grad_rest = grad;
    for run in geom.runs(params.batch) {
        let items = geom.items(run.clone());
        let outs: Vec<Option<Out<'a, T>>> = match grad_rest.take() {
            Some(g) => {
                let (head, tail) = g.split_at_mut(run.len() * s * c);
                grad_rest = Some(tail);
                split_out(geom, &items, head).into_iter().map(Some).collect()
            }
            None => items.iter().map(|_| None).collect(),
        };
        let (sums, part_value, outs) = gather_run(args, params, geom, run.clone(), &items, outs, park, part_k);
        part_total += part_value;
        let groups = if params.batch { pool(&sums, c) } else { sums };
        let (value, co) = score_groups(args, params, &groups, scale, run.start, &mut none_out, &mut j);
        total += value;
        if !outs.is_empty() {
            scatter_run(args, params, geom, run, items, outs, &co, false, part_k);
        }
    }
    Ok((total * scale, part_k.map_or(0.0, |k| part_total * k.gs64)))
}

/// Pass 0 of the two phases: the first bad index target, if any (soft targets: nothing to check).
fn validate_index_targets<T: Real>(args: &Args<'_, T>) -> Result<(), InvalidTarget> {
    match args.target {
        Target::Index { target, ignore_index } => validate::<T>(target, ignore_index, args.shape.classes, None, false).map(|_| ()),
        Target::Soft(_) => Ok(()),
    }
}

/// Number of statistics triples of the two-phase batch score (`params.batch`): one per class
/// kept, C' (generalized Dice too: its weights need each class's G).
pub fn stats_count(shape: &Shape, params: &Params) -> usize {
    score_count(shape, params.include_background, true)
}

/// Phase 1 of the batch score across ranks (`params.batch` must be true; the caller checks):
/// this call's sums `[C'][TP, P, G]` (classes kept, in the order of the NONE output), pooled over
/// its samples exactly as the one-call loss pools them. The sums of several calls (ranks) add up
/// to the sums of their concatenated batch. Fails as [`overlap`], writing nothing.
pub fn overlap_stats<T: Math>(args: &Args<'_, T>, params: &Params, stats: &mut [f64]) -> Result<(), InvalidTarget> {
    let (geom, c) = (&Geom::new(&args.shape), args.shape.classes);
    validate_index_targets(args)?;
    let run = 0..args.shape.batch;
    let items = geom.items(run.clone());
    let outs = items.iter().map(|_| None).collect();
    let (sums, _, _) = gather_run(args, params, geom, run, &items, outs, false, None);
    stats.copy_from_slice(&pool(&sums, c)[first_class(params) * 3..]);
    Ok(())
}

/// Phase 2: the loss of the whole batch from the summed statistics `stats` (`[C'][TP, P, G]`, as
/// [`overlap_stats`] writes them), and with `grad` this call's gradient of it (p formed again from
/// the input: one pass). With the statistics of this call alone it equals [`overlap`] with
/// `batch`, bit for bit. Fails as [`overlap`].
pub fn overlap_from_stats<T: Math>(
    args: &Args<'_, T>,
    params: &Params,
    stats: &[f64],
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> Result<f64, InvalidTarget> {
    if let Some((w, _)) = params.reduction.class_weight_scale(args.class_weight) {
        return with_scaled_weights(args, params, &w, |args| overlap_from_stats(args, params, stats, loss_none, grad));
    }
    let (geom, c) = (&Geom::new(&args.shape), args.shape.classes);
    validate_index_targets(args)?;
    let mut groups = vec![0f64; c * 3];
    groups[first_class(params) * 3..].copy_from_slice(stats);
    let scale = params.reduction.scale(mean_den(args, params), 1);
    let mut none_out = loss_none;
    let (total, co) = score_groups(args, params, &groups, scale, 0, &mut none_out, &mut 0);
    if let Some(grad) = grad {
        let run = 0..args.shape.batch;
        let items = geom.items(run.clone());
        let outs = split_out(geom, &items, grad);
        scatter_run(args, params, geom, run, items, outs, &co, true, None);
    }
    Ok(total * scale)
}

/// Pass 1 on one item ([`gather_item`]), for [`simd::dispatch`].
struct Gather<'a, 'g, T> {
    args: &'g Args<'g, T>,
    params: &'g Params,
    geom: &'g Geom,
    item: Item,
    out: Option<Out<'a, T>>,
    park: bool,
    part: Option<&'g PartK<'g, T>>,
}

impl<'a, T: Math> SimdTask for Gather<'a, '_, T> {
    type Output = (Vec<f64>, f64, Option<Out<'a, T>>);
    #[inline(always)]
    fn run(self) -> Self::Output {
        gather_item(self.args, self.params, self.geom, self.item, self.out, self.park, self.part)
    }
}

/// Pass 2 on one item ([`scatter_item`]), for [`simd::dispatch`].
struct Scatter<'a, 'g, T> {
    args: &'g Args<'g, T>,
    params: &'g Params,
    geom: &'g Geom,
    item: Item,
    co: &'g Coefs<T>,
    out: Out<'a, T>,
    recompute: bool,
    part: Option<&'g PartK<'g, T>>,
}

impl<T: Math> SimdTask for Scatter<'_, '_, T> {
    type Output = ();
    #[inline(always)]
    fn run(self) {
        scatter_item(self.args, self.params, self.geom, self.item, self.co, self.out, self.recompute, self.part)
    }
}
