//! Regression losses on the difference d = input − target, elementwise:
//!
//! | loss      | l(d)                                              | ∂l/∂input                      |
//! |-----------|---------------------------------------------------|--------------------------------|
//! | L1 (MAE)  | \|d\|                                             | sign(d), 0 at d = 0 (as torch) |
//! | MSE (L2)  | d²                                                | 2d                             |
//! | Smooth L1 | 0.5·d²/β if \|d\| < β, else \|d\| − 0.5·β (β = 0: L1) | d/β, else sign(d)          |
//! | Huber     | 0.5·d² if \|d\| < δ, else δ·(\|d\| − 0.5·δ)          | d, else δ·sign(d)          |
//!
//! Smooth L1 and Huber are computed as m·(\|d\| − m/2) (÷β for Smooth L1) with m = min(\|d\|, β or δ),
//! which equals both branches (exactly, for Huber) and has no data-dependent branch.
//!
//! (torch.nn.functional.{l1,mse,smooth_l1,huber}_loss.) The term weight is `weight[i]`, so
//! MEAN = Σ wᵢ·lᵢ / Σ wᵢ, and the gradient is s·wᵢ·∂lᵢ with s the reduction's factor.
use super::Real;
use super::simd::{self, SimdTask};
use crate::reduce::{self, Reduce};

/// Which regression loss, with its parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Regression {
    L1,
    Mse,
    SmoothL1 { beta: f64 },
    Huber { delta: f64 },
}

/// sign(d), 0 at 0, NaN for NaN — written as a select so the loop vectorizes.
#[inline(always)]
fn sign<T: Real>(d: T) -> T {
    if d.abs() > T::zero() {
        T::one().copysign(d)
    } else {
        d * T::zero()
    }
}

/// Inputs of one regression call (validated: equal lengths).
pub struct Args<'a, T> {
    pub input: &'a [T],
    pub target: &'a [T],
    pub weight: Option<&'a [T]>,
}

/// Items per block: the elementwise loop of a block stays simple enough for LLVM's loop
/// vectorizer; the block's losses are then summed into fixed f64 lanes (a fixed order).
const BLOCK: usize = 256;

/// One chunk with the presence of weights (`W`), unreduced output (`L`) and gradient (`G`) known
/// at compile time, so the loop body has no branches on them. Returns Σ w·l of the chunk.
#[inline(always)]
fn chunk<T: Real, const W: bool, const L: bool, const G: bool>(
    f: impl Fn(T) -> (T, T),
    x: &[T],
    t: &[T],
    w: &[T],
    loss: &mut [T],
    grad: &mut [T],
    gs: T,
) -> f64 {
    let mut acc = [0f64; 8];
    let mut wl = [T::zero(); BLOCK];
    let mut start = 0;
    while start < x.len() {
        let end = (start + BLOCK).min(x.len());
        let wl = &mut wl[..end - start];
        let (xb, tb) = (&x[start..end], &t[start..end]);
        if G {
            let gb = &mut grad[start..end];
            for i in 0..xb.len() {
                let (l, g) = f(xb[i] - tb[i]);
                wl[i] = if W { w[start + i] * l } else { l };
                gb[i] = if W { w[start + i] * g * gs } else { g * gs };
            }
        } else {
            for i in 0..xb.len() {
                let l = f(xb[i] - tb[i]).0;
                wl[i] = if W { w[start + i] * l } else { l };
            }
        }
        if L {
            loss[start..end].copy_from_slice(wl);
        }
        let mut lanes = wl.chunks_exact(8);
        for c in &mut lanes {
            for j in 0..8 {
                acc[j] += c[j].f64();
            }
        }
        for (j, v) in lanes.remainder().iter().enumerate() {
            acc[j] += v.f64();
        }
        start = end;
    }
    reduce::sum_lanes(acc)
}

/// Computes the loss (returned, reduced; for NONE the values go to `loss_none`) and the
/// gradient into `grad` in one pass.
pub fn regression<T: Real>(
    kind: Regression,
    args: &Args<'_, T>,
    reduction: Reduce,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> f64 {
    let half = T::of(0.5);
    // Each kind gets its own closure, so each gets its own branch-free, vectorizable loop.
    match kind {
        // A beta whose reciprocal overflows T (it rounds to 0 in f32, or is subnormal) is exact
        // L1 to within T's range: the quadratic zone |d| < beta holds only |d| < 1/T::MAX.
        Regression::L1 | Regression::SmoothL1 { beta: 0.0 } => {
            run(|d: T| (d.abs(), sign(d)), args, reduction, loss_none, grad)
        }
        Regression::SmoothL1 { beta } if !(T::one() / T::of(beta)).is_finite() => {
            run(|d: T| (d.abs(), sign(d)), args, reduction, loss_none, grad)
        }
        Regression::Mse => run(|d: T| (d * d, d + d), args, reduction, loss_none, grad),
        // Both as m·(|d| − m/2) with m = min(|d|, β): one formula for both branches, no select
        // (the loop vectorizes); `nan_of` makes a NaN/Inf difference give a NaN gradient.
        Regression::SmoothL1 { beta } => {
            let (beta, inv_beta) = (T::of(beta), T::one() / T::of(beta));
            let f = move |d: T| {
                let a = d.abs();
                let m = a.min(beta);
                (m * (a - half * m) * inv_beta, m.copysign(d) * inv_beta + nan_of(a))
            };
            run(f, args, reduction, loss_none, grad)
        }
        Regression::Huber { delta } => {
            let delta = T::of(delta);
            let f = move |d: T| {
                let a = d.abs();
                let m = a.min(delta);
                (m * (a - half * m), m.copysign(d) + nan_of(a))
            };
            run(f, args, reduction, loss_none, grad)
        }
    }
}

/// 0 for a finite `a`, NaN for NaN/Inf: added to a gradient so a NaN/Inf difference propagates.
#[inline(always)]
#[allow(clippy::eq_op)]
fn nan_of<T: Real>(a: T) -> T {
    a - a
}

/// The fused pass for one elementwise loss `f(d) = (l, ∂l/∂d)`.
fn run<T: Real>(
    f: impl Fn(T) -> (T, T) + Copy + Send + Sync,
    args: &Args<'_, T>,
    reduction: Reduce,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> f64 {
    let n = args.input.len();
    let s = reduction.scale_weighted(n, args.weight);
    let gs = T::of(s);
    let weight = args.weight;
    let partials = reduce::for_chunks(n, 1, 1, loss_none, grad, |c| {
        let r = c.items;
        let (x, t) = (&args.input[r.clone()], &args.target[r.clone()]);
        simd::dispatch(ChunkTask { f, x, t, w: weight.map(|w| &w[r]), loss: c.loss, grad: c.grad, gs })
    });
    reduce::total(partials) * s
}

/// One chunk of [`run`], for [`simd::dispatch`].
struct ChunkTask<'a, 'c, T, F> {
    f: F,
    x: &'a [T],
    t: &'a [T],
    w: Option<&'a [T]>,
    loss: Option<&'c mut [T]>,
    grad: Option<&'c mut [T]>,
    gs: T,
}

impl<T: Real, F: Fn(T) -> (T, T)> SimdTask for ChunkTask<'_, '_, T, F> {
    type Output = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        let Self { f, x, t, w, loss, grad, gs } = self;
        let (has_w, has_l, has_g) = (w.is_some(), loss.is_some(), grad.is_some());
        let (w, loss, grad) = (w.unwrap_or_default(), loss.unwrap_or_default(), grad.unwrap_or_default());
        macro_rules! go {
            ($($w:literal $l:literal $g:literal),*) => {
                match (has_w, has_l, has_g) {
                    $(($w, $l, $g) => chunk::<T, $w, $l, $g>(f, x, t, w, loss, grad, gs),)*
                }
            };
        }
        go!(false false false, false false true, false true false, false true true,
            true false false, true false true, true true false, true true true)
    }
}
