//! Regression losses on the difference d = input − target, elementwise:
//!
//! | loss      | l(d)                                              | ∂l/∂input                      |
//! |-----------|---------------------------------------------------|--------------------------------|
//! | L1 (MAE)  | \|d\|                                             | sign(d), 0 at d = 0 (as torch) |
//! | MSE (L2)  | d²                                                | 2d                             |
//! | Smooth L1 | 0.5·d²/β if \|d\| < β, else \|d\| − 0.5·β (β = 0: L1) | d/β, else sign(d)          |
//! | Huber     | 0.5·d² if \|d\| < δ, else δ·(\|d\| − 0.5·δ)          | d, else δ·sign(d)          |
//! | Log-cosh  | ln cosh d                                         | tanh d                         |
//!
//! Smooth L1 and Huber are computed as m·(\|d\| − m/2) (÷β for Smooth L1) with m = min(\|d\|, β or δ),
//! which equals both branches (exactly, for Huber) and has no data-dependent branch.
//!
//! (torch.nn.functional.{l1,mse,smooth_l1,huber}_loss; Keras `log_cosh`.) The term weight is `weight[i]`, so
//! MEAN = Σ wᵢ·lᵢ / Σ wᵢ, and the gradient is (s·wᵢ)·∂lᵢ with s the reduction's factor (s·wᵢ ≤ 1
//! for a weighted MEAN: a huge weight does not overflow the product).
//!
//! At the ends of the type: a difference that overflows (input − target = 6e38 in f32) has the
//! finite gradient of its sign (min(|d|, β) is β there, and a NaN difference stays NaN), and an
//! f32 block whose terms overflow f32 (|d| ≈ 6e38, d² above 3e38, a huge weight times its term),
//! or a call whose factor s overflows f32 (weights summing to a subnormal), is computed again in
//! f64 — losses, the unreduced values and the gradient — so that a MEAN whose true value is finite
//! is finite (docs/hardening.md). In f64 the same overflowing difference gives +inf terms.
use super::math::{self, Math};
use super::simd::{self, SimdTask};
use super::Real;
use crate::reduce::{self, Reduce};

/// An elementwise loss: its term and derivative (l, ∂l/∂d) at d. A closure is one; a long
/// formula is a type whose `at` is `#[inline(always)]`, because LLVM leaves a long closure out
/// of line and the block's loop then calls it per element, scalar (log-cosh ran 40x slower so).
pub(crate) trait Term<U>: Copy + Send + Sync {
    fn at(&self, d: U) -> (U, U);
}

impl<U, F: Fn(U) -> (U, U) + Copy + Send + Sync> Term<U> for F {
    #[inline(always)]
    fn at(&self, d: U) -> (U, U) {
        self(d)
    }
}

/// Which regression loss, with its parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Regression {
    L1,
    Mse,
    SmoothL1 { beta: f64 },
    Huber { delta: f64 },
    LogCosh,
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

/// The reduction's factor s for the gradient: in T, and in f64 for the blocks computed in f64.
#[derive(Clone, Copy)]
struct Scale {
    /// The weights' power-of-two factor c and the reduction's factor s ([`Reduce::weight_scale`]).
    c: f64,
    s: f64,
    /// The f64 path for every block: s overflows T.
    wide: bool,
}

/// One chunk with the presence of weights (`W`), unreduced output (`L`) and gradient (`G`) known
/// at compile time, so the loop body has no branches on them. Returns Σ w·l of the chunk.
///
/// `f` is the loss in T, `wide` the same formula in f64: for an f32 block whose Σ w·l is not
/// finite (while the chunk's sum before it was) and for every block when `sc.wide`, the block is
/// computed again in f64 from the f32 inputs (exact widening), into the same lanes.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn chunk<T: Real, const W: bool, const L: bool, const G: bool>(
    f: impl Term<T>,
    wide: impl Term<f64>,
    x: &[T],
    t: &[T],
    w: &[T],
    loss: &mut [T],
    grad: &mut [T],
    sc: Scale,
) -> f64 {
    let (c, gs) = (T::of(sc.c), T::of(sc.s));
    let narrow = std::mem::size_of::<T>() < std::mem::size_of::<f64>();
    let mut acc = [0f64; 8];
    let mut wl = [T::zero(); BLOCK];
    let mut start = 0;
    while start < x.len() {
        let end = (start + BLOCK).min(x.len());
        let before = acc;
        if !sc.wide {
            block::<T, W, L, G>(
                &f,
                &x[start..end],
                &t[start..end],
                &w[start.min(w.len())..end.min(w.len())],
                &mut wl[..end - start],
                loss,
                grad,
                start,
                c,
                gs,
                &mut acc,
            );
        }
        if sc.wide
            || (narrow
                && before.iter().all(|v| v.is_finite())
                && !acc.iter().all(|v| v.is_finite()))
        {
            acc = before;
            wide_block::<T, W, L, G>(&wide, x, t, w, loss, grad, start..end, sc.c, sc.s, &mut acc);
        }
        start = end;
    }
    reduce::sum_lanes(acc)
}

/// One block of [`chunk`] in T: the terms, the unreduced values, the gradient, and Σ w·l into
/// the 8 lanes ([`reduce::add_lanes`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn block<T: Real, const W: bool, const L: bool, const G: bool>(
    f: &impl Term<T>,
    xb: &[T],
    tb: &[T],
    wb: &[T],
    wl: &mut [T],
    loss: &mut [T],
    grad: &mut [T],
    start: usize,
    c: T,
    gs: T,
    acc: &mut [f64; 8],
) {
    let end = start + xb.len();
    if G {
        let gb = &mut grad[start..end];
        for i in 0..xb.len() {
            let (l, g) = f.at(xb[i] - tb[i]);
            let wc = if W { wb[i] * c } else { T::one() };
            wl[i] = if W { wc * l } else { l };
            gb[i] = if W { wc * gs * g } else { g * gs };
        }
    } else {
        for i in 0..xb.len() {
            let l = f.at(xb[i] - tb[i]).0;
            wl[i] = if W { wb[i] * c * l } else { l };
        }
    }
    if L {
        loss[start..end].copy_from_slice(wl);
    }
    reduce::add_lanes::<4, _>(acc, wl);
}

/// One block of [`chunk`] computed in f64 from the inputs (the same lanes as [`block`]): the
/// term w·l and the gradient (w·s)·∂l in f64, rounded to T once.
#[cold]
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn wide_block<T: Real, const W: bool, const L: bool, const G: bool>(
    wide: &impl Term<f64>,
    x: &[T],
    t: &[T],
    w: &[T],
    loss: &mut [T],
    grad: &mut [T],
    r: std::ops::Range<usize>,
    c: f64,
    s: f64,
    acc: &mut [f64; 8],
) {
    for (j, i) in r.clone().enumerate() {
        let (l, g) = wide.at(x[i].f64() - t[i].f64());
        let wi = if W { w[i].f64() * c } else { 1.0 };
        let term = if W { wi * l } else { l };
        if L {
            loss[i] = T::of(term);
        }
        if G {
            grad[i] = T::of(if W { wi * s * g } else { g * s });
        }
        acc[j % 8] += term;
    }
}

/// Computes the loss (returned, reduced; for NONE the values go to `loss_none`) and the
/// gradient into `grad` in one pass.
pub fn regression<T: Math>(
    kind: Regression,
    args: &Args<'_, T>,
    reduction: Reduce,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> f64 {
    // Each kind gets its own closure, so each gets its own branch-free, vectorizable loop; each
    // formula is written once, for T and for the f64 blocks.
    match kind {
        // A beta whose reciprocal overflows T (it rounds to 0 in f32, or is subnormal) is exact
        // L1 to within T's range: the quadratic zone |d| < beta holds only |d| < 1/T::MAX.
        Regression::L1 | Regression::SmoothL1 { beta: 0.0 } => {
            run(l1::<T>(), l1::<f64>(), args, reduction, loss_none, grad)
        }
        Regression::SmoothL1 { beta } if !(T::one() / T::of(beta)).is_finite() => {
            run(l1::<T>(), l1::<f64>(), args, reduction, loss_none, grad)
        }
        Regression::Mse => run(mse::<T>(), mse::<f64>(), args, reduction, loss_none, grad),
        Regression::SmoothL1 { beta } => run(
            smooth_l1::<T>(beta),
            smooth_l1::<f64>(beta),
            args,
            reduction,
            loss_none,
            grad,
        ),
        Regression::Huber { delta } => run(
            huber::<T>(delta),
            huber::<f64>(delta),
            args,
            reduction,
            loss_none,
            grad,
        ),
        Regression::LogCosh => run(LogCosh, LogCosh, args, reduction, loss_none, grad),
    }
}

/// l = |d|, ∂l/∂d = sign(d).
fn l1<U: Real>() -> impl Fn(U) -> (U, U) + Copy + Send + Sync {
    |d: U| (d.abs(), sign(d))
}

/// l = d², ∂l/∂d = 2d.
fn mse<U: Real>() -> impl Fn(U) -> (U, U) + Copy + Send + Sync {
    |d: U| (d * d, d + d)
}

/// m·(|d| − m/2)/β and m·sign(d)/β with m = min(β, |d|): one formula for both branches, no
/// data-dependent branch (the loop vectorizes). [`math::min`] with |d| second keeps a NaN
/// difference NaN, and an infinite one (an overflowing difference of finite inputs) has the
/// gradient sign(d).
fn smooth_l1<U: Real>(beta: f64) -> impl Fn(U) -> (U, U) + Copy + Send + Sync {
    let (half, beta, inv_beta) = (U::of(0.5), U::of(beta), U::one() / U::of(beta));
    move |d: U| {
        let a = d.abs();
        let m = math::min(beta, a);
        (m * (a - half * m) * inv_beta, m.copysign(d) * inv_beta)
    }
}

/// m·(|d| − m/2) and m·sign(d) with m = min(δ, |d|) (see [`smooth_l1`]).
fn huber<U: Real>(delta: f64) -> impl Fn(U) -> (U, U) + Copy + Send + Sync {
    let (half, delta) = (U::of(0.5), U::of(delta));
    move |d: U| {
        let a = d.abs();
        let m = math::min(delta, a);
        (m * (a - half * m), m.copysign(d))
    }
}

/// Log-cosh (Keras `keras/src/losses/losses.py` `log_cosh`: `x + softplus(−2x) − ln 2` of
/// x = y_pred − y_true): l = ln cosh d, ∂l/∂d = tanh d. A type whose `at` is
/// `#[inline(always)]`, not a closure (see [`Term`]).
///
/// Keras' form cancels near 0 (x and softplus(−2x) − ln 2 are ±x while l ≈ d²/2). Here all comes
/// from one `expm1`: with a = |d|, m = e^(a/2) − 1 and E = (1 + m)² = e^a (so E − 1 = m·(m + 2),
/// no cancellation),
///
/// * near 0 (a ≤ 1): l = ln(1 + y), y = cosh a − 1 = (E − 1)²/(2E) (2·sinh²(a/2));
/// * beyond: l = a − ln 2 + ln(1 + e), e = 1/E² = e^−2a (l ≥ 0.43: nothing cancels);
/// * tanh a = (E − 1)(E + 1)/(E² + 1) for a ≤ 20, and 1 beyond (tanh 20 rounds to 1 in f64; E²
///   stays below 2.4e17 there, so nothing overflows in f32).
///
/// Both branches are computed and one selected (the loop vectorizes). An infinite difference
/// (finite inputs whose difference overflows) gives l = ∞ — the f64 re-computation of the block
/// then gives the finite value — and the gradient ±1.
#[derive(Clone, Copy)]
struct LogCosh;

impl<U: Math> Term<U> for LogCosh {
    #[inline(always)]
    fn at(&self, d: U) -> (U, U) {
        let (one, half, two, ln2) = (U::one(), U::of(0.5), U::of(2.0), U::of(std::f64::consts::LN_2));
        let a = d.abs();
        let m = math::expm1(half * a);
        let big = one + m;
        let big = big * big;
        let em1 = m * (m + two);
        let y = em1 * em1 / (two * big);
        let uy = one + y;
        let near = U::ln_1p_unit_v(y, uy, one / uy);
        let big2 = big * big;
        let e = one / big2;
        let ue = one + e;
        let far = a - ln2 + U::ln_1p_unit_v(e, ue, one / ue);
        let l = if a <= one { near } else { far };
        let tanh = em1 * (big + one) / (big2 + one);
        // Written so that a NaN difference keeps the formula's NaN (a > 20 is false for NaN).
        let tanh = if a > U::of(20.0) { one } else { tanh };
        (l, tanh.copysign(d))
    }
}

/// The fused pass for one elementwise loss `f(d) = (l, ∂l/∂d)` (`wide`: the same in f64).
fn run<T: Real>(
    f: impl Term<T>,
    wide: impl Term<f64>,
    args: &Args<'_, T>,
    reduction: Reduce,
    loss_none: Option<&mut [T]>,
    grad: Option<&mut [T]>,
) -> f64 {
    let n = args.input.len();
    let crate::reduce::WeightScale { c, s } = reduction.weight_scale(n, args.weight);
    let sc = Scale { c, s, wide: !T::of(s).is_finite() && s.is_finite() };
    let weight = args.weight;
    let partials = reduce::for_chunks(n, 1, 1, loss_none, grad, |c| {
        let r = c.items;
        let (x, t) = (&args.input[r.clone()], &args.target[r.clone()]);
        simd::dispatch(ChunkTask {
            f,
            wide,
            x,
            t,
            w: weight.map(|w| &w[r]),
            loss: c.loss,
            grad: c.grad,
            sc,
        })
    });
    reduce::total(partials) * s
}

/// One chunk of [`run`], for [`simd::dispatch`].
struct ChunkTask<'a, 'c, T, F, G> {
    f: F,
    wide: G,
    x: &'a [T],
    t: &'a [T],
    w: Option<&'a [T]>,
    loss: Option<&'c mut [T]>,
    grad: Option<&'c mut [T]>,
    sc: Scale,
}

impl<T: Real, F: Term<T>, G: Term<f64>> SimdTask
    for ChunkTask<'_, '_, T, F, G>
{
    type Output = f64;
    #[inline(always)]
    fn run(self) -> f64 {
        let Self {
            f,
            wide,
            x,
            t,
            w,
            loss,
            grad,
            sc,
        } = self;
        let (has_w, has_l, has_g) = (w.is_some(), loss.is_some(), grad.is_some());
        let (w, loss, grad) = (
            w.unwrap_or_default(),
            loss.unwrap_or_default(),
            grad.unwrap_or_default(),
        );
        macro_rules! go {
            ($($w:literal $l:literal $g:literal),*) => {
                match (has_w, has_l, has_g) {
                    $(($w, $l, $g) => chunk::<T, $w, $l, $g>(f, wide, x, t, w, loss, grad, sc),)*
                }
            };
        }
        go!(false false false, false false true, false true false, false true true,
            true false false, true false true, true true false, true true true)
    }
}
