//! Reductions and the deterministic parallel driver.
//!
//! Every kernel splits its work into chunks whose boundaries depend only on the problem size
//! (never on the thread count), computes one partial sum per chunk in a fixed order inside the
//! chunk, and combines the partials in chunk order. The serial path runs the very same chunks,
//! so outputs are bitwise identical for 1, 2, 3 … threads.
use rayon::prelude::*;
use std::ops::Range;

/// How the per-term losses are combined (the C `lossfn_reduction`, without the
/// MEAN_DENOMINATOR query, which [`Output::MeanDenominator`] handles above the kernels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// One value per term: λ·wᵢ·lᵢ.
    None,
    /// λ·Σ wᵢ·lᵢ / Σ wᵢ (0 when Σ wᵢ = 0), or / avg_factor when one is given.
    Mean,
    /// λ·Σ wᵢ·lᵢ.
    Sum,
    /// λ·Σ wᵢ·lᵢ / batch (KL functions only).
    BatchMean,
}

/// What a kernel reduces with: the reduction and the two scalar controls of docs/api.md §3.
/// Every kernel turns its own denominator into its one scale factor through [`Reduce::scale`],
/// so loss_weight and avg_factor act the same way on every loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reduce {
    pub kind: Reduction,
    /// λ: multiplies every loss value and the gradient.
    pub loss_weight: f64,
    /// > 0: MEAN divides by it instead of its own denominator; 0: unused.
    pub avg_factor: f64,
}

impl PartialEq<Reduction> for Reduce {
    fn eq(&self, other: &Reduction) -> bool {
        self.kind == *other
    }
}

impl From<Reduction> for Reduce {
    fn from(kind: Reduction) -> Self {
        Reduce { kind, loss_weight: 1.0, avg_factor: 0.0 }
    }
}

thread_local! {
    /// The MEAN denominator the last [`Reduce::scale`] of this thread was given (see
    /// [`run_loss`]: the MEAN_DENOMINATOR query reads it after the kernel returns).
    static MEAN_DEN: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

impl Reduce {
    /// The factor `s` with reduced loss = s · Σ wᵢ·lᵢ and ∂L/∂lᵢ = s · wᵢ, given the kernel's
    /// MEAN denominator `den` = Σ wᵢ and the batch size: λ (NONE, SUM), λ / den or λ / avg_factor
    /// (MEAN), λ / batch (BATCHMEAN). A zero denominator gives 0, never NaN.
    ///
    /// Kernels call it once, on the calling thread, with the denominator they computed; that
    /// value is also what the MEAN_DENOMINATOR query returns.
    pub fn scale(self, den: f64, batch: usize) -> f64 {
        MEAN_DEN.with(|d| d.set(den));
        let inv = |d: f64| if d != 0.0 { 1.0 / d } else { 0.0 };
        let lw = self.loss_weight;
        match self.kind {
            Reduction::None | Reduction::Sum => lw,
            Reduction::Mean if self.avg_factor > 0.0 => lw / self.avg_factor,
            Reduction::Mean => lw * inv(den),
            Reduction::BatchMean => lw * inv(batch as f64),
        }
    }

    /// [`Reduce::scale`] for `n` terms whose term weights are `weight` (1 each without): MEAN's
    /// denominator is Σ weight, summed in f64 over fixed chunks (deterministic), or n.
    pub fn scale_weighted<T: crate::kernels::Real>(self, n: usize, weight: Option<&[T]>) -> f64 {
        let den = match (self.kind, weight) {
            (Reduction::Mean, Some(w)) => weight_sum_max(w, n, 1.0).0,
            _ => n as f64,
        };
        self.scale(den, 1)
    }

    /// [`Reduce::scale_weighted`] made safe at the ends of the type: for a MEAN over weighted
    /// terms, a power of two `c` that brings the largest weight near 1 when it is far from it
    /// (beyond 2^±60), so that Σ c·wᵢ neither overflows nor is subnormal and (c·wᵢ)·s ≤ 1: kernels
    /// sum (c·wᵢ)·lᵢ and form gradients as ((c·wᵢ)·s)·∂lᵢ. MEAN is unchanged by scaling every
    /// weight (c·wᵢ is exact, or a weight 2^1100 times below the largest rounds, negligibly, to
    /// 0); c = 1 otherwise, and then the result is bitwise [`Reduce::scale_weighted`]'s. The
    /// MEAN_DENOMINATOR query still reports Σ wᵢ.
    #[inline]
    pub fn weight_scale<T: crate::kernels::Real>(self, n: usize, weight: Option<&[T]>) -> WeightScale {
        let Some(w) = weight.filter(|_| self.own_mean()) else {
            return WeightScale { c: 1.0, s: self.scale_weighted(n, weight) };
        };
        let (sum, max) = weight_sum_max(w, n, 1.0);
        let c = weight_factor::<T>(max);
        if c == 1.0 {
            return WeightScale { c: 1.0, s: self.scale(sum, 1) };
        }
        // f32 weights: Σ w in f64 is exact in range, so Σ c·w = c·Σ w; f64 weights: summed again.
        let den = if std::mem::size_of::<T>() < 8 { sum * c } else { weight_sum_max(w, n, c).0 };
        // MEAN_DENOMINATOR reports Σ w, the denominator of the caller's weights.
        self.scale(sum, 1);
        WeightScale { c, s: if den != 0.0 { self.loss_weight / den } else { 0.0 } }
    }

    /// The class weights of a MEAN whose term weight is the target's class weight (cross
    /// entropy), scaled as [`Reduce::weight_scale`] scales term weights: `Some((c·w, c))` when the
    /// largest is far from 1, else `None` (use them as they are). C values: a copy is cheap.
    pub fn class_weight_scale<T: crate::kernels::Real>(self, w: Option<&[T]>) -> Option<(Vec<T>, f64)> {
        let w = w.filter(|_| self.own_mean())?;
        let max = w.iter().fold(0f64, |m, v| if v.f64() > m { v.f64() } else { m });
        let c = weight_factor::<T>(max);
        (c != 1.0).then(|| (w.iter().map(|&v| v * T::of(c)).collect(), c))
    }

    /// [`Reduce::scale`] for a MEAN denominator `den` of weights scaled by `c` (a power of two):
    /// the MEAN_DENOMINATOR query records `den / c`, the denominator of the caller's weights.
    pub fn scale_scaled(self, den: f64, c: f64, batch: usize) -> f64 {
        if c == 1.0 {
            return self.scale(den, batch);
        }
        self.scale(den / c, batch);
        if den != 0.0 {
            self.loss_weight / den
        } else {
            0.0
        }
    }

    /// Whether MEAN divides by the kernel's own denominator (no avg_factor given).
    pub fn own_mean(self) -> bool {
        self.kind == Reduction::Mean && self.avg_factor <= 0.0
    }
}

/// The power of two c that brings the largest weight `max` near 1 when it is far from it (beyond
/// 2^±60), normal in `T` too (it multiplies `T` weights); 1 otherwise (and for 0, inf, NaN).
fn weight_factor<T: crate::kernels::Real>(max: f64) -> f64 {
    if max == 0.0 || !max.is_finite() || (2f64.powi(-60)..=2f64.powi(60)).contains(&max) {
        return 1.0;
    }
    let lim = if std::mem::size_of::<T>() < 8 { 126 } else { 1022 };
    2f64.powi((-(max.log2().floor() as i32)).clamp(-lim, lim))
}

/// The factors of [`Reduce::weight_scale`]: reduced loss = s·Σ (c·wᵢ)·lᵢ, ∂L/∂lᵢ = (c·wᵢ)·s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WeightScale {
    /// A power of two (1 unless the weights are far from 1).
    pub c: f64,
    pub s: f64,
}

/// (Σ c·w, max c·w) of term weights in f64 (c a power of two; 1: the weights as they are): per chunk in 8 lanes (independent add chains: a serial
/// sum was a latency-bound chain, twice the time of the loss itself), lanes folded in a fixed
/// order, chunks combined in order — the same on any thread count. The max ignores NaN (the sum
/// carries it) and is 0 for no positive weight.
fn weight_sum_max<T: crate::kernels::Real>(w: &[T], n: usize, c: f64) -> (f64, f64) {
    let parts = map_in_order(chunks(n, CHUNK).collect(), n, |r| {
        let (mut s, mut m) = ([0f64; 8], [0f64; 8]);
        let mut it = w[r].chunks_exact(8);
        for ch in &mut it {
            for j in 0..8 {
                let v = ch[j].f64() * c;
                s[j] += v;
                m[j] = if v > m[j] { v } else { m[j] };
            }
        }
        for (j, v) in it.remainder().iter().enumerate() {
            let v = v.f64() * c;
            s[j] += v;
            m[j] = if v > m[j] { v } else { m[j] };
        }
        (sum_lanes(s), m.iter().fold(0f64, |a, &b| if b > a { b } else { a }))
    });
    parts.into_iter().fold((0.0, 0.0), |(s, m), (ps, pm)| (s + ps, if pm > m { pm } else { m }))
}

/// What the caller asked for: a reduction, or the MEAN_DENOMINATOR query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Reduced(Reduction),
    MeanDenominator,
}

/// The validated output controls of one call (docs/api.md §3).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Controls {
    pub output: Output,
    pub loss_weight: f64,
    pub avg_factor: f64,
    /// grad += ∂L instead of grad = ∂L.
    pub accumulate: bool,
}

impl Controls {
    /// Plain `reduction`: λ = 1, no avg_factor, no accumulation.
    pub fn plain(reduction: Reduction) -> Self {
        Controls { output: Output::Reduced(reduction), loss_weight: 1.0, avg_factor: 0.0, accumulate: false }
    }

    /// The number of loss values the call writes for `terms` terms.
    pub fn loss_len(&self, terms: usize) -> usize {
        if self.output == Output::Reduced(Reduction::None) {
            terms
        } else {
            1
        }
    }
}

/// A kernel's reduced value: one number, or several for a loss that returns its parts
/// (the DFL box branch's `[L_iou, L_dfl]`), written to `loss[0..]`.
pub trait Reduced: Copy {
    fn store<T: crate::kernels::Real>(self, loss: &mut [T]);
}

impl Reduced for f64 {
    fn store<T: crate::kernels::Real>(self, loss: &mut [T]) {
        loss[0] = T::of(self);
    }
}

impl<const K: usize> Reduced for [f64; K] {
    fn store<T: crate::kernels::Real>(self, loss: &mut [T]) {
        for (l, v) in loss.iter_mut().zip(self) {
            *l = T::of(v);
        }
    }
}

/// Runs one loss under `controls`: the kernel gets the [`Reduce`] it scales with, the NONE
/// output (when NONE) and a gradient buffer, and returns its reduced value; this layer then
/// owns everything the controls add, the same way for every loss:
/// * MEAN_DENOMINATOR: the kernel runs as MEAN without outputs and `loss[0]` receives the
///   denominator it reduced with;
/// * NONE: the kernel's values wᵢ·lᵢ are multiplied by λ (a no-op pass skipped for λ = 1);
/// * `accumulate`: the kernel writes into a zeroed buffer that is then added to `grad`
///   (nothing is added when the kernel fails, so an error still writes nothing).
///
/// Nothing is written to `loss`/`grad` when the kernel returns an error.
pub fn run_loss<T: crate::kernels::Real, V: Reduced, E>(
    controls: &Controls,
    loss: &mut [T],
    grad: Option<&mut [T]>,
    kernel: impl FnOnce(Reduce, Option<&mut [T]>, Option<&mut [T]>) -> Result<V, E>,
) -> Result<(), E> {
    let reduction = match controls.output {
        Output::MeanDenominator => {
            MEAN_DEN.with(|d| d.set(0.0));
            kernel(Reduce::from(Reduction::Mean), None, None)?;
            loss[0] = T::of(MEAN_DEN.with(|d| d.get()));
            return Ok(());
        }
        Output::Reduced(r) => r,
    };
    let reduce = Reduce { kind: reduction, loss_weight: controls.loss_weight, avg_factor: controls.avg_factor };
    let none = reduction == Reduction::None;
    let value = match grad {
        Some(g) if controls.accumulate => {
            let mut fresh = vec![T::zero(); g.len()];
            let value = kernel(reduce, none.then_some(&mut *loss), Some(&mut fresh))?;
            let fresh = &fresh;
            for_chunks(g.len(), 1, 1, None, Some(g), |c| {
                for (v, d) in c.grad.into_iter().flatten().zip(&fresh[c.items]) {
                    *v += *d;
                }
            });
            value
        }
        g => kernel(reduce, none.then_some(&mut *loss), g)?,
    };
    if none {
        let lw = T::of(controls.loss_weight);
        if controls.loss_weight != 1.0 {
            for_chunks(loss.len(), 1, 1, Some(loss), None, |c| c.loss.into_iter().flatten().for_each(|v| *v *= lw));
        }
    } else {
        value.store(loss);
    }
    Ok(())
}

/// Items per chunk for cheap elementwise work: large enough to amortise scheduling, small
/// enough to balance two to a few dozen threads.
pub(crate) const CHUNK: usize = 1 << 14;

/// Below this many elementary operations a call stays on the caller's thread.
pub(crate) const PARALLEL_WORK: usize = 1 << 16;

/// Maps `f` over `items` in order, on the library pool when `work` (elementary operations in
/// total) is worth it. The result order is the item order whatever the thread count.
pub fn map_in_order<W, R, F>(items: Vec<W>, work: usize, f: F) -> Vec<R>
where
    W: Send,
    R: Send,
    F: Fn(W) -> R + Sync + Send,
{
    if items.len() > 1 && work >= PARALLEL_WORK {
        let mut items = Some(items);
        if let Some(r) = crate::pool::install(|| items.take().unwrap().into_par_iter().map(&f).collect()) {
            return r;
        }
        return items.unwrap().into_iter().map(f).collect();
    }
    items.into_iter().map(f).collect()
}

/// The chunk ranges of `0..n`.
pub fn chunks(n: usize, chunk: usize) -> impl Iterator<Item = Range<usize>> {
    (0..n.div_ceil(chunk)).map(move |i| i * chunk..((i + 1) * chunk).min(n))
}

/// The sum of `parts` in their order, starting from +0.0.
///
/// Why not `Iterator::sum`: Rust's `f64` sum starts from −0.0 (the IEEE additive identity),
/// so an empty input (n = 0) would report a loss of −0.0. Starting from +0.0 gives the same
/// bits for every non-empty sum except an all-(−0.0) one, and +0.0 for an empty one
/// (`tests::total_starts_from_positive_zero`).
#[inline]
pub fn total(parts: impl IntoIterator<Item = f64>) -> f64 {
    parts.into_iter().fold(0.0, |acc, x| acc + x)
}

/// One chunk of an elementwise kernel: its item range, and the matching pieces of the
/// unreduced-loss output (one value per item) and of the gradient (`stride` values per item).
pub struct Chunk<'a, T> {
    pub items: Range<usize>,
    pub loss: Option<&'a mut [T]>,
    pub grad: Option<&'a mut [T]>,
}

/// The per-chunk results of [`for_chunks`], in chunk order: the one result of a single chunk
/// is held in place (no allocation), more are a `Vec`.
pub struct Parts<R> {
    first: Option<R>,
    rest: Vec<R>,
}

impl<R> Parts<R> {
    pub fn iter(&self) -> impl Iterator<Item = &R> {
        self.first.iter().chain(self.rest.iter())
    }
}

impl<R> IntoIterator for Parts<R> {
    type Item = R;
    type IntoIter = std::iter::Chain<std::option::IntoIter<R>, std::vec::IntoIter<R>>;
    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.rest)
    }
}

/// Runs `f` over the chunks of `0..n` with the outputs split alongside (`loss`: 1 value per
/// item, `grad`: `stride` per item) and returns the per-chunk results in chunk order.
/// `work_per_item` estimates the cost of one item, to decide whether to go parallel.
pub fn for_chunks<'a, T: Send, R: Send>(
    n: usize,
    stride: usize,
    work_per_item: usize,
    loss: Option<&'a mut [T]>,
    grad: Option<&'a mut [T]>,
    f: impl Fn(Chunk<'a, T>) -> R + Sync + Send,
) -> Parts<R> {
    let chunk = (CHUNK / work_per_item.max(1)).max(64);
    if n > 0 && n <= chunk {
        // One chunk (every small call): no list of chunks, no list of results, no allocation;
        // the same pieces of the outputs as the first of `chunks_mut` below.
        let loss = loss.map(|l| {
            let k = l.len().min(chunk);
            &mut l[..k]
        });
        let grad = grad.map(|g| {
            let k = g.len().min(chunk * stride);
            &mut g[..k]
        });
        return Parts { first: Some(f(Chunk { items: 0..n, loss, grad })), rest: Vec::new() };
    }
    let mut loss_it = loss.map(|l| l.chunks_mut(chunk));
    let mut grad_it = grad.map(|g| g.chunks_mut(chunk * stride));
    let items: Vec<Chunk<'a, T>> = chunks(n, chunk)
        .map(|items| Chunk {
            items,
            loss: loss_it.as_mut().and_then(|it| it.next()),
            grad: grad_it.as_mut().and_then(|it| it.next()),
        })
        .collect();
    Parts { first: None, rest: map_in_order(items, n.saturating_mul(work_per_item), f) }
}

/// Adds `v` to 8 f64 lanes: the one accumulation of per-element terms before [`sum_lanes`].
///
/// `CHAINS` (1 or 4) independent 8-lane accumulators: element i goes into sub-lane i mod
/// 8·CHAINS (in order within a sub-lane), and the sub-lanes are folded into lane i mod 8 of
/// `acc` at the end, `acc[j] += a₀[j]` or `acc[j] += (a₀[j] + a₁[j]) + (a₂[j] + a₃[j])`. A fixed
/// order for a given `CHAINS`, so the same on any thread count. The caller picks by the cost of
/// its terms: cheap ones (regression: a few operations per element) take 4, for one chain of
/// dependent adds is latency-bound at about half a cycle per element — 40 % of Smooth L1's time
/// on 1024 values; costly ones (boxes, DFL: tens of cycles per term) take 1, whose chain is
/// hidden behind the terms, and four chains cost EIoU 6–10 % (bench_boxes, 1 thread).
#[inline(always)]
pub fn add_lanes<const CHAINS: usize, T: crate::kernels::Real>(acc: &mut [f64; 8], v: &[T]) {
    // A function, not a closure: it must inline into the caller's SIMD copy (simd::dispatch).
    #[inline(always)]
    fn add<const CHAINS: usize, T: crate::kernels::Real>(a: &mut [[f64; 8]; CHAINS], group: &[T]) {
        for (k, part) in a.iter_mut().enumerate() {
            for j in 0..8 {
                part[j] += group[8 * k + j].f64();
            }
        }
    }
    const { assert!(CHAINS == 1 || CHAINS == 4) };
    let mut a = [[0f64; 8]; CHAINS];
    let mut groups = v.chunks_exact(8 * CHAINS);
    for group in &mut groups {
        add(&mut a, group);
    }
    // The remainder as a group padded with zeros (x + 0 = x; a lane, started at +0, is never
    // −0), not element by element: indexing the accumulators by a run-time lane put them on the
    // stack (store-forwarding stalls).
    let rest = groups.remainder();
    if !rest.is_empty() {
        let mut pad = [[T::zero(); 8]; CHAINS];
        pad.as_flattened_mut()[..rest.len()].copy_from_slice(rest);
        add(&mut a, pad.as_flattened());
    }
    for j in 0..8 {
        acc[j] += if CHAINS == 1 { a[0][j] } else { (a[0][j] + a[1][j]) + (a[2][j] + a[3][j]) };
    }
}

/// Sums `lanes` accumulators in a fixed order.
#[inline]
pub fn sum_lanes<const L: usize>(acc: [f64; L]) -> f64 {
    total(acc)
}

#[cfg(test)]
mod tests {
    use super::total;

    #[test]
    fn total_starts_from_positive_zero() {
        assert_eq!(total([]).to_bits(), 0f64.to_bits());
        assert_eq!(total([0.5, 0.25, -1.0]), -0.25);
    }
}
