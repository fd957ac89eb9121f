//! Reductions and the deterministic parallel driver.
//!
//! Every kernel splits its work into chunks whose boundaries depend only on the problem size
//! (never on the thread count), computes one partial sum per chunk in a fixed order inside the
//! chunk, and combines the partials in chunk order. The serial path runs the very same chunks,
//! so outputs are bitwise identical for 1, 2, 3 … threads.
use rayon::prelude::*;
use std::ops::Range;

/// How the per-term losses are combined (the C `lossfn_reduction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// One value per term: wᵢ·lᵢ.
    None,
    /// Σ wᵢ·lᵢ / Σ wᵢ (0 when Σ wᵢ = 0).
    Mean,
    /// Σ wᵢ·lᵢ.
    Sum,
    /// Σ wᵢ·lᵢ / batch (KL functions only).
    BatchMean,
}

impl Reduction {
    /// The factor `s` with reduced loss = s · Σ wᵢ·lᵢ and ∂L/∂lᵢ = s · wᵢ, given the MEAN
    /// denominator `den` = Σ wᵢ and the batch size. A zero denominator gives 0, never NaN.
    pub fn scale(self, den: f64, batch: usize) -> f64 {
        let inv = |d: f64| if d != 0.0 { 1.0 / d } else { 0.0 };
        match self {
            Reduction::None | Reduction::Sum => 1.0,
            Reduction::Mean => inv(den),
            Reduction::BatchMean => inv(batch as f64),
        }
    }
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

/// Sums `f(range)` over the chunks of `0..n` in chunk order (deterministic, parallel when large).
pub fn sum_chunks(n: usize, chunk: usize, f: impl Fn(Range<usize>) -> f64 + Sync + Send) -> f64 {
    map_in_order(chunks(n, chunk).collect(), n, f).into_iter().sum()
}

/// One chunk of an elementwise kernel: its item range, and the matching pieces of the
/// unreduced-loss output (one value per item) and of the gradient (`stride` values per item).
pub struct Chunk<'a, T> {
    pub items: Range<usize>,
    pub loss: Option<&'a mut [T]>,
    pub grad: Option<&'a mut [T]>,
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
) -> Vec<R> {
    let chunk = (CHUNK / work_per_item.max(1)).max(64);
    let mut loss_it = loss.map(|l| l.chunks_mut(chunk));
    let mut grad_it = grad.map(|g| g.chunks_mut(chunk * stride));
    let items: Vec<Chunk<'a, T>> = chunks(n, chunk)
        .map(|items| Chunk {
            items,
            loss: loss_it.as_mut().and_then(|it| it.next()),
            grad: grad_it.as_mut().and_then(|it| it.next()),
        })
        .collect();
    map_in_order(items, n.saturating_mul(work_per_item), f)
}

/// Sums `lanes` accumulators in a fixed order.
#[inline]
pub fn sum_lanes<const L: usize>(acc: [f64; L]) -> f64 {
    acc.iter().sum()
}
