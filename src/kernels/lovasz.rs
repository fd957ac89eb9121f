//! Lovász losses (Berman, Triki & Blaschko, CVPR 2018) exactly as segmentation_models_pytorch
//! `losses/lovasz.py` computes them: the Lovász extension of the Jaccard loss, a convex
//! surrogate of 1 − IoU that is optimised directly.
//!
//! For one term — a class over the batch, or over one image with `per_image` — with errors
//! e_i over its valid (non-ignored) positions and foreground flags fg_i:
//!
//! ```text
//! Lovász-Softmax:  p = softmax(x) over the classes (or the input itself), fg_i = [y_i = c],
//!                  e_i = |fg_i − p_ic|                                  (_lovasz_softmax_flat)
//! Lovász hinge:    fg_i = [t_i = 1], σ_i = 2·t_i − 1, e_i = max(0, 1 − x_i·σ_i)   (_lovasz_hinge_flat)
//! π: the errors in decreasing order, ties broken by position (torch.sort leaves them to the
//!    implementation; the value does not depend on it, the subgradient does)
//! G = Σ fg,  after k sorted items: I_k = G − #fg so far,  U_k = G + #bg so far
//! J_k = 1 − I_k/U_k,  g_k = J_k − J_{k−1}  (J_{−1} = 0)                  (_lovasz_grad, Alg. 1)
//!     = 1/U_{k−1} (a foreground item),  I_k/(U_{k−1}·U_k) (a background item; 1 when G = 0, k = 0)
//! L_term = Σ_k e_π(k)·g_k,        ∂L_term/∂e_π(k) = g_k
//! ```
//!
//! The closed forms of g_k are the differences of Alg. 1 without their cancellation, in f64
//! for either precision (smp forms J in float32 even for float64 input; docs/overlap.md).
//! A loss value is the mean of its terms over the classes counted (every class, or those
//! present in the target: `classes_present`); with `per_image` one value per image, which the
//! reduction combines (MEAN over the images, as smp's `mean`; an image without valid positions
//! is 0 and still counts, as smp's hinge). Items with e = 0 (hinge: e ≤ 0) sort last, add 0
//! and have a zero subgradient (torch's |·|′(0) = relu′(0) = 0), so they are left out of the
//! sort. ∂L/∂p = g·sign(p − fg) then goes through the softmax: ∂L/∂x_c = p_c·(∂L/∂p_c − Σ_k
//! p_k·∂L/∂p_k).
//!
//! Each term is one task (sorted with [`super::sort`]); the terms run in parallel and the
//! values are combined in term order, so the results do not depend on the thread count.
use super::classification::{Layout, Shape};
use super::math::{softmax_cols, softmax_row, Math};
use super::overlap::Activation;
use super::sort::{self, Item};
use crate::reduce::{self, Reduce};
use ndarray::{ArrayView2, ArrayViewMut2};
use std::ops::Range;

/// The two Lovász losses and their targets.
#[derive(Clone, Copy, Debug)]
pub enum Variant<'a, T> {
    /// Lovász-Softmax on class indices (batch·spatial): `activation` Softmax or None.
    Softmax { target: &'a [i64], activation: Activation },
    /// Lovász hinge on binary targets in {0, 1} (batch·spatial; classes = 1), raw logits.
    Hinge { target: &'a [T] },
}

/// Options of one call (validated by the caller).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    pub per_image: bool,
    pub classes_present: bool,
    pub ignore_index: i64,
    pub reduction: Reduce,
}

/// The first target that is neither a valid label nor `ignore_index`: its flat position
/// n·spatial + s and its value as text.
#[derive(Clone, Debug, PartialEq)]
pub struct InvalidTarget {
    pub index: usize,
    pub value: String,
}

/// The number of loss values: one per image with `per_image`, else one.
pub fn group_count(shape: &Shape, per_image: bool) -> usize {
    if per_image {
        shape.batch
    } else {
        1
    }
}

/// A float type whose positive values (and NaN) sort by their bits.
pub trait Key: Math {
    /// The key of a positive error (or NaN) in decreasing order: NaN first, as torch.sort.
    fn desc_key(self) -> u64;
    /// The error back from its key.
    fn from_desc_key(key: u64) -> Self;
}

impl Key for f32 {
    #[inline(always)]
    fn desc_key(self) -> u64 {
        if self.is_nan() {
            0
        } else {
            (!self.to_bits()) as u64
        }
    }
    #[inline(always)]
    fn from_desc_key(key: u64) -> Self {
        // (key 0: the canonical NaN, not the all-ones pattern)
        if key == 0 {
            f32::NAN
        } else {
            f32::from_bits(!(key as u32))
        }
    }
}

impl Key for f64 {
    #[inline(always)]
    fn desc_key(self) -> u64 {
        if self.is_nan() {
            0
        } else {
            !self.to_bits()
        }
    }
    #[inline(always)]
    fn from_desc_key(key: u64) -> Self {
        if key == 0 {
            f64::NAN
        } else {
            f64::from_bits(!key)
        }
    }
}

/// Computes a Lovász loss: returns the reduced value, writes one value per group for NONE and
/// the gradient of the reduced loss. Nothing is written when a target is invalid.
pub fn lovasz<T: Key>(
    input: &[T],
    variant: Variant<'_, T>,
    shape: Shape,
    params: &Params,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> Result<f64, InvalidTarget> {
    let (b, c, s) = (shape.batch, shape.classes, shape.spatial);
    let groups = group_count(&shape, params.per_image);
    let group_len = if params.per_image { s } else { b * s };
    // MEAN's denominator: the number of values (an empty batch has none without per_image).
    let den = if params.per_image || b * s > 0 { groups } else { 0 };
    let scale = params.reduction.scale(den as f64, 1);
    if b * s == 0 {
        // No positions: every value is 0 (and per-class or per-group work could be as large as
        // the batch or class count, with no data behind it).
        if let Some(out) = loss_none {
            out.fill(T::zero());
        }
        return Ok(0.0);
    }
    // The samples of group g.
    let group = |g: usize| if params.per_image { g..g + 1 } else { 0..b };
    // Pass 0: the targets checked (nothing is written on error), and per group the number of
    // valid positions and of positions of each class (the hinge's one class: t = 1).
    let (valid, counts) = count_targets(variant, &shape, params)?;
    // The probabilities, as [n][c][s] (softmax), or the input read in its layout. With NCS
    // and a gradient they are parked in the gradient buffer (its layout; the last pass turns
    // them into the gradient in place), else in a scratch buffer.
    let softmax = matches!(variant, Variant::Softmax { activation: Activation::Softmax, .. });
    let mut grad = grad;
    let parked = softmax && shape.layout == Layout::Ncs && grad.is_some();
    let scratch: Option<Vec<T>> = (softmax && !parked).then(|| {
        let mut p = vec![T::zero(); input.len()];
        softmax_ncs(input, &shape, &mut p);
        p
    });
    if let (true, Some(g)) = (parked, grad.as_deref_mut()) {
        softmax_ncs(input, &shape, g);
    }
    let probs: Option<&[T]> = if parked { grad.as_deref() } else { scratch.as_deref() };
    // The terms counted, their number per group, and each group's factor s/K.
    // (The hinge's one term counts wherever there are valid positions: smp has no 'present' there.)
    let present = params.classes_present && matches!(variant, Variant::Softmax { .. });
    let counted = |g: usize, k: usize| valid[g] > 0 && (!present || counts[g * c + k] > 0);
    let per_group: Vec<usize> = (0..groups).map(|g| (0..c).filter(|&k| counted(g, k)).count()).collect();
    let coef = |g: usize| if per_group[g] > 0 { scale / per_group[g] as f64 } else { 0.0 };
    // ∂L/∂p (softmax) or ∂L/∂x (hinge, or probabilities given), per term: [g][c][r].
    let mut dp: Option<Vec<T>> = grad.is_some().then(|| vec![T::zero(); groups * c * group_len]);
    let mut tasks: Vec<(usize, usize, Option<&mut [T]>)> = Vec::new();
    // (group_len > 0: an empty batch returned above)
    let mut dp_chunks = dp.as_mut().map(|v| v.chunks_mut(group_len));
    for g in 0..groups {
        for k in 0..c {
            let chunk = dp_chunks.as_mut().and_then(Iterator::next);
            if counted(g, k) {
                tasks.push((g, k, chunk));
            }
        }
    }
    let ctx = Ctx { input, variant, probs, shape, ignore: params.ignore_index };
    let terms = reduce::map_in_order(tasks, groups * c * group_len, |(g, k, out)| {
        let (fg_count, coef) = (counts[g * c + k], coef(g));
        if group_len < (1 << 30) && std::mem::size_of::<T>() == 4 {
            term::<T, u64>(&ctx, group(g), k, group_len, fg_count, coef, out)
        } else {
            term::<T, u128>(&ctx, group(g), k, group_len, fg_count, coef, out)
        }
    });
    // Each group's value: the mean of its terms, in class order.
    let mut values = vec![0.0f64; groups];
    let mut it = terms.into_iter();
    for g in 0..groups {
        let sum = reduce::total((0..per_group[g]).map(|_| it.next().expect("one value per term")));
        values[g] = if per_group[g] > 0 { sum / per_group[g] as f64 } else { 0.0 };
    }
    if let Some(out) = loss_none {
        for (o, &v) in out.iter_mut().zip(&values) {
            *o = T::of(v);
        }
    }
    if let (Some(grad), Some(dp)) = (grad, dp) {
        let probs = match (parked, scratch.as_deref()) {
            (true, _) => Probs::Parked,
            (false, Some(p)) => Probs::Scratch(p),
            (false, None) => Probs::None,
        };
        finish(&shape, params.per_image, probs, &dp, grad);
    }
    Ok(scale * reduce::total(values.iter().copied()))
}

/// What the terms read: the input, the targets, the probabilities (softmax) if computed.
struct Ctx<'a, T> {
    input: &'a [T],
    variant: Variant<'a, T>,
    probs: Option<&'a [T]>,
    shape: Shape,
    ignore: i64,
}

impl<T: Key> Ctx<'_, T> {
    /// The items of term (samples, class k) in position order: the errors e > 0 (and NaN),
    /// each with its position in the group, its fg flag and whether ∂e/∂v is −1.
    fn gather<I: Item>(&self, samples: Range<usize>, k: usize, items: &mut Vec<I>) {
        let (c, s) = (self.shape.classes, self.shape.spatial);
        let mut push = |r: usize, e: T, fg: bool, neg: bool| {
            // e = 0 (hinge: e ≤ 0) sorts last, adds 0 and has a zero subgradient; NaN is kept.
            if !(e <= T::zero()) {
                items.push(I::pack(e.desc_key(), ((r as u64) << 2) | ((fg as u64) << 1) | neg as u64));
            }
        };
        let b0 = samples.start;
        for n in samples {
            let r0 = (n - b0) * s;
            match self.variant {
                Variant::Softmax { target, .. } => {
                    let target = &target[n * s..(n + 1) * s];
                    for (i, &y) in target.iter().enumerate() {
                        if y == self.ignore {
                            continue;
                        }
                        let p = match (self.probs, self.shape.layout) {
                            (Some(p), _) => p[(n * c + k) * s + i],
                            (None, Layout::Ncs) => self.input[(n * c + k) * s + i],
                            (None, Layout::Nsc) => self.input[(n * s + i) * c + k],
                        };
                        let fg = y == k as i64;
                        let f = if fg { T::one() } else { T::zero() };
                        // e = |fg − p|, ∂e/∂p = sign(p − fg)
                        push(r0 + i, (f - p).abs(), fg, p < f);
                    }
                }
                Variant::Hinge { target } => {
                    let target = &target[n * s..(n + 1) * s];
                    let x = &self.input[n * s..(n + 1) * s];
                    for (i, (&t, &x)) in target.iter().zip(x).enumerate() {
                        if t.f64() == self.ignore as f64 {
                            continue;
                        }
                        let fg = t == T::one();
                        // e = 1 − x·σ (σ = 2t − 1), ∂e/∂x = −σ
                        let e = if fg { T::one() - x } else { T::one() + x };
                        push(r0 + i, e, fg, fg);
                    }
                }
            }
        }
    }
}

/// One term: its items sorted in decreasing order of error (ties by position), dotted with g;
/// ∂L/∂v = coef·g·sign written to `out` (zero elsewhere).
fn term<T: Key, I: Item>(ctx: &Ctx<'_, T>, samples: Range<usize>, k: usize, len: usize, fg_count: u64, coef: f64, out: Option<&mut [T]>) -> f64 {
    let mut items: Vec<I> = Vec::with_capacity(len);
    ctx.gather(samples, k, &mut items);
    let mut tmp = Vec::new();
    sort::sort_by_key(&mut items, &mut tmp);
    drop(tmp);
    let gts = fg_count as f64;
    // I and U before the item: G − #fg and G + #bg so far.
    let (mut inter, mut union) = (gts, gts);
    let mut loss = 0.0f64;
    let mut out = out;
    for &v in &items {
        let low = v.low();
        let fg = low & 2 != 0;
        let g = if fg {
            let g = 1.0 / union;
            inter -= 1.0;
            g
        } else {
            let g = if union == 0.0 { 1.0 } else { inter / (union * (union + 1.0)) };
            union += 1.0;
            g
        };
        loss += T::from_desc_key(v.key()).f64() * g;
        if let Some(out) = out.as_deref_mut() {
            let d = coef * g;
            out[(low >> 2) as usize] = T::of(if low & 1 != 0 { -d } else { d });
        }
    }
    loss
}

/// Pass 0: checks the targets and counts, per group, the valid positions and those of each class.
fn count_targets<T: Key>(variant: Variant<'_, T>, shape: &Shape, params: &Params) -> Result<(Vec<u64>, Vec<u64>), InvalidTarget> {
    let (c, s) = (shape.classes, shape.spatial);
    let groups = group_count(shape, params.per_image);
    let mut valid = vec![0u64; groups];
    let mut counts = vec![0u64; groups * c];
    let ignore = params.ignore_index;
    let group_of = |i: usize| if params.per_image { i / s.max(1) } else { 0 };
    match variant {
        Variant::Softmax { target, .. } => {
            for (i, &y) in target.iter().enumerate() {
                if y == ignore {
                    continue;
                }
                if y < 0 || y as u64 >= c as u64 {
                    return Err(InvalidTarget { index: i, value: y.to_string() });
                }
                let g = group_of(i);
                valid[g] += 1;
                counts[g * c + y as usize] += 1;
            }
        }
        Variant::Hinge { target } => {
            for (i, &t) in target.iter().enumerate() {
                if t.f64() == ignore as f64 {
                    continue;
                }
                if t != T::zero() && t != T::one() {
                    return Err(InvalidTarget { index: i, value: format!("{:?}", t) });
                }
                let g = group_of(i);
                valid[g] += 1;
                counts[g * c] += (t == T::one()) as u64;
            }
        }
    }
    Ok((valid, counts))
}

/// The softmax over the class axis into `p` as [n][c][s], one sample per task.
fn softmax_ncs<T: Math>(input: &[T], shape: &Shape, p: &mut [T]) {
    let (c, s) = (shape.classes, shape.spatial);
    let samples: Vec<(usize, &mut [T])> = p.chunks_mut((c * s).max(1)).enumerate().collect();
    reduce::map_in_order(samples, input.len(), |(n, out)| {
        let x = &input[n * c * s..(n + 1) * c * s];
        match shape.layout {
            Layout::Ncs => {
                let (mut m, mut sum) = (vec![T::zero(); s], vec![T::zero(); s]);
                let z = ArrayView2::from_shape((c, s), x).expect("sample tile");
                let out = ArrayViewMut2::from_shape((c, s), out).expect("sample tile");
                softmax_cols(z, out, &mut m, &mut sum);
            }
            Layout::Nsc => {
                let mut row = vec![T::zero(); c];
                for i in 0..s {
                    softmax_row(&x[i * c..(i + 1) * c], &mut row);
                    for (k, &v) in row.iter().enumerate() {
                        out[k * s + i] = v;
                    }
                }
            }
        }
    });
}

/// Where the last pass finds the softmax's probabilities.
#[derive(Clone, Copy)]
enum Probs<'a, T> {
    /// No softmax (the hinge, or probabilities given): ∂L/∂v is the gradient.
    None,
    /// In a [n][c][s] scratch buffer.
    Scratch(&'a [T]),
    /// In the (NCS) gradient buffer itself.
    Parked,
}

/// The gradient from ∂L/∂v (`dp`, [g][c][r]): through the softmax, or as it is. Per sample, over
/// blocks of positions whose class rows are contiguous in `dp` and the probabilities, so the dot
/// Σ_k p_k·∂L/∂p_k and the products run along the rows.
fn finish<T: Math>(shape: &Shape, per_image: bool, probs: Probs<'_, T>, dp: &[T], grad: &mut [T]) {
    const W: usize = 256;
    let (b, c, s) = (shape.batch, shape.classes, shape.spatial);
    // The row of ∂L/∂v of (sample n, class k) in dp: [n][k][s] per image, [k][n][s] over the batch.
    let row = |n: usize, k: usize| if per_image { (n * c + k) * s } else { (k * b + n) * s };
    let samples: Vec<(usize, &mut [T])> = grad.chunks_mut((c * s).max(1)).enumerate().collect();
    reduce::map_in_order(samples, b * c * s, |(n, out)| {
        let mut dot = [T::zero(); W];
        let mut tile = vec![T::zero(); if shape.layout == Layout::Nsc { c * W } else { 0 }];
        for i0 in (0..s).step_by(W) {
            let w = W.min(s - i0);
            let p = match probs {
                Probs::None => None,
                Probs::Scratch(p) => Some(&p[n * c * s..(n + 1) * c * s]),
                Probs::Parked => Some(&*out),
            };
            if let Some(p) = p {
                dot[..w].fill(T::zero());
                for k in 0..c {
                    let (pk, dk) = (&p[k * s + i0..k * s + i0 + w], &dp[row(n, k) + i0..row(n, k) + i0 + w]);
                    for ((d, &pv), &dv) in dot[..w].iter_mut().zip(pk).zip(dk) {
                        *d += pv * dv;
                    }
                }
            }
            for k in 0..c {
                let dk = &dp[row(n, k) + i0..row(n, k) + i0 + w];
                // NCS: the output row itself; NSC: a [class][W] tile transposed below.
                let dst = match shape.layout {
                    Layout::Ncs => &mut out[k * s + i0..k * s + i0 + w],
                    Layout::Nsc => &mut tile[k * W..k * W + w],
                };
                match probs {
                    Probs::Scratch(p) => {
                        let pk = &p[n * c * s + k * s + i0..n * c * s + k * s + i0 + w];
                        for (((o, &pv), &dv), &d) in dst.iter_mut().zip(pk).zip(dk).zip(&dot[..w]) {
                            *o = pv * (dv - d);
                        }
                    }
                    // (NCS: dst holds p itself)
                    Probs::Parked => {
                        for ((o, &dv), &d) in dst.iter_mut().zip(dk).zip(&dot[..w]) {
                            *o = *o * (dv - d);
                        }
                    }
                    Probs::None => dst.copy_from_slice(dk),
                }
            }
            if shape.layout == Layout::Nsc {
                for j in 0..w {
                    for k in 0..c {
                        out[(i0 + j) * c + k] = tile[k * W + j];
                    }
                }
            }
        }
    });
}
