//! Vectorizable elementary functions and softmax / sigmoid building blocks, generic over
//! `f32`/`f64` through [`Math`].
//!
//! Every function here is branch-free scalar code (selects, integer bit tricks, polynomials),
//! `#[inline(always)]`, so that a loop over a slice that calls it auto-vectorizes on baseline
//! x86-64 (SSE2) and wider where [`dispatch`](super::simd::dispatch) runs the AVX2 / AVX-512 copies. Accuracy:
//!
//! | function | f64                      | f32                                            |
//! |----------|--------------------------|------------------------------------------------|
//! | [`exp`]  | ≤ 1 ulp (subnormal results too) | ≤ 3 ulp; results below 2.4e-38 flush to 0 |
//! | [`ln`]   | ≤ 1 ulp                  | ≤ 1 ulp                                        |
//! | [`expm1`] | ≤ 2 ulp                 | ≤ 3 ulp for x ≤ 1 (beyond: exp(x) − 1, ≤ ~6 ulp) |
//! | [`sin_cos`] | ≤ 2 ulp for \|x\| ≤ 1e5 | ≤ 2 ulp for \|x\| ≤ 8192 (larger: [`sin_cos_fixup`]) |
//!
//! (checked against `std` over the whole range in `src/kernels/math_tests.rs`). Special
//! values follow IEEE/`std`: `exp(NaN) = NaN`, `exp(−∞) = 0`, `exp(+∞) = +∞`, `ln(0) = −∞`,
//! `ln(x < 0) = NaN`, `ln(+∞) = +∞`; subnormal inputs and results are handled.
//!
//! Reductions over a row (`row_*`) keep `LANES` (8) partial accumulators combined in a fixed
//! order, so they vectorize and stay bitwise reproducible; the column helpers (`cols_*`) work on
//! a `[classes][positions]` tile whose rows are contiguous (the NCS layout) and vectorize across
//! positions.
//!
//! Writing fast loops with these (learned the hard way, see BENCHMARKS.md): call `exp`/`ln` in
//! plain map loops (`for (o, &x) in out.iter_mut().zip(xs) { *o = exp(x) }`) and sum afterwards
//! with [`row_sum`]; once inlined into a large function, LLVM leaves a loop that both
//! accumulates and calls `exp` scalar. Keep branches out of element loops (write selects, even
//! for loop-invariant conditions), and run hot blocks through
//! [`dispatch`](super::simd::dispatch) for the wide copies.
use super::Real;
use ndarray::{ArrayView2, ArrayViewMut2, Axis};

/// Independent accumulators of the row reductions (a fixed number: the summation order, hence
/// the result, never depends on the vector width in use).
pub(crate) const LANES: usize = 8;

/// The precision-specific kernels behind [`exp`] and [`ln`]; implemented for `f32` and `f64`.
pub trait Math: Real {
    /// eˣ (see [`exp`]).
    fn exp_v(x: Self) -> Self;
    /// ln x (see [`ln`]).
    fn ln_v(x: Self) -> Self;
    /// ln x for x positive, normal and finite, or NaN: no subnormal, zero, negative or infinite
    /// cases, for hot loops whose argument is known to be in range (e.g. 1 + e^−|x| ∈ [1, 2]).
    fn ln_normal_v(x: Self) -> Self;
    /// ln(1 + e) for e ∈ [0, 1] (or NaN), given u = 1 + e and inv = 1/u (see [`logistic`]).
    fn ln_1p_unit_v(e: Self, u: Self, inv: Self) -> Self;
    /// (sin x, cos x) for |x| ≤ [`Math::SIN_COS_LIMIT`] (see [`sin_cos`]).
    fn sin_cos_v(x: Self) -> (Self, Self);
    /// The largest |x| [`sin_cos`] reduces accurately (Cody–Waite with a three-part π/2).
    const SIN_COS_LIMIT: Self;
}

/// eˣ − 1 without the cancellation of `exp(x) − 1` near 0: the Taylor series to degree 19 for
/// |x| ≤ 1 (truncation < 1e-18 relative), `exp(x) − 1` beyond. Vectorizable (both computed,
/// one selected); NaN stays NaN.
#[inline(always)]
pub fn expm1<T: Math>(x: T) -> T {
    // x·(1 + x/2! + … + x¹⁸/19!), Horner from 1/19!.
    let mut p = T::of(1.0 / 121_645_100_408_832_000.0);
    p = p * x + T::of(1.0 / 6_402_373_705_728_000.0);
    p = p * x + T::of(1.0 / 355_687_428_096_000.0);
    p = p * x + T::of(1.0 / 20_922_789_888_000.0);
    p = p * x + T::of(1.0 / 1_307_674_368_000.0);
    p = p * x + T::of(1.0 / 87_178_291_200.0);
    p = p * x + T::of(1.0 / 6_227_020_800.0);
    p = p * x + T::of(1.0 / 479_001_600.0);
    p = p * x + T::of(1.0 / 39_916_800.0);
    p = p * x + T::of(1.0 / 3_628_800.0);
    p = p * x + T::of(1.0 / 362_880.0);
    p = p * x + T::of(1.0 / 40_320.0);
    p = p * x + T::of(1.0 / 5_040.0);
    p = p * x + T::of(1.0 / 720.0);
    p = p * x + T::of(1.0 / 120.0);
    p = p * x + T::of(1.0 / 24.0);
    p = p * x + T::of(1.0 / 6.0);
    p = p * x + T::of(1.0 / 2.0);
    let series = (p * x + T::one()) * x;
    let big = exp(x) - T::one();
    // Below |x| = 1, exp(x) − 1 loses up to a few ulp to cancellation (more with f32's ≤ 3 ulp
    // exp); the series' truncation there is 1/20! ≈ 4e-19.
    if x.abs() <= T::one() {
        series
    } else {
        big
    }
}

/// (sin x, cos x), vectorizable (Cephes `sin`/`cos`: x = k·π/2 + z with π/2 in three parts,
/// minimax polynomials on |z| ≤ π/4, the quadrant picked by selects). Accurate for
/// |x| ≤ [`Math::SIN_COS_LIMIT`]; beyond it (and for ±∞, NaN) the result is garbage, which
/// [`sin_cos_fixup`] replaces with `std`'s.
#[inline(always)]
pub fn sin_cos<T: Math>(x: T) -> (T, T) {
    T::sin_cos_v(x)
}

/// Replaces the lanes of a block that [`sin_cos`] cannot reduce (|x| > [`Math::SIN_COS_LIMIT`],
/// ±∞, NaN) with `std`'s values: a compare per lane, the call only where needed.
#[inline(always)]
pub fn sin_cos_fixup<T: Math>(x: &[T], sin: &mut [T], cos: &mut [T]) {
    for ((&x, s), c) in x.iter().zip(sin.iter_mut()).zip(cos.iter_mut()) {
        if !(x.abs() <= T::SIN_COS_LIMIT) {
            (*s, *c) = x.sin_cos();
        }
    }
}

/// Picks (sin x, cos x) from the polynomials' sin z and cos z by the quadrant k (x = k·π/2 + z,
/// for |x|; `neg`: x < 0).
#[inline(always)]
fn quadrant<T: Real>(k: u64, s: T, c: T, neg: bool) -> (T, T) {
    let (a, b) = if k & 1 != 0 { (c, s) } else { (s, c) };
    let sin = if k & 2 != 0 { -a } else { a };
    let cos = if (k + 1) & 2 != 0 { -b } else { b };
    (if neg { -sin } else { sin }, cos)
}

/// `if a > b { a } else { b }`: one `maxps`/`maxpd`; a NaN `a` yields `b`, a NaN `b` yields `b`.
#[inline(always)]
pub fn max<T: Real>(a: T, b: T) -> T {
    if a > b {
        a
    } else {
        b
    }
}

/// `if a < b { a } else { b }`: one `minps`/`minpd`; with [`max`]'s NaN rule (a NaN `a` yields
/// `b`, a NaN `b` yields `b`): `min(limit, v)` keeps a NaN `v`.
#[inline(always)]
pub fn min<T: Real>(a: T, b: T) -> T {
    if a < b {
        a
    } else {
        b
    }
}

/// sgn(x) with sgn(0) = 0 (NaN gives 0): torch's derivative of |x|.
#[inline(always)]
pub fn sign0<T: Real>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

/// eˣ, vectorizable (Cody–Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2, polynomial for eʳ,
/// scaling by 2ⁿ in two exact steps so subnormal results and overflow to +∞ come out right).
#[inline(always)]
pub fn exp<T: Math>(x: T) -> T {
    T::exp_v(x)
}

/// ln x, vectorizable (fdlibm/musl: x = 2ᵏ·m with m ∈ [√2/2, √2), ln m = 2·atanh(f/(2+f))).
#[inline(always)]
pub fn ln<T: Math>(x: T) -> T {
    T::ln_v(x)
}

/// The logistic function and its companions at x, sharing one exp and one division:
/// `(σ(x), σ(−x), ln(1 + e^−|x|))`. Both probabilities are computed without cancellation
/// (σ(−x) is not 1 − σ(x)), and softplus(±x) = max(±x, 0) + the third value.
#[inline(always)]
pub fn logistic<T: Math>(x: T) -> (T, T, T) {
    let one = T::one();
    let e = exp(-x.abs());
    let u = one + e;
    let inv = one / u;
    let log1p_e = T::ln_1p_unit_v(e, u, inv);
    let small = e * inv;
    let nonneg = x >= T::zero();
    let p = if nonneg { inv } else { small };
    let q = if nonneg { small } else { inv };
    (p, q, log1p_e)
}

/// σ(x) = 1 / (1 + e⁻ˣ), stable for any x.
#[inline(always)]
pub fn sigmoid<T: Math>(x: T) -> T {
    logistic(x).0
}

/// r = −ln(1 − u) / u of the softmax focal gradient (u = 1 − p_y), given `nlq` = −ln(1 − u)
/// formed by the caller as accurately as it can: below u = 1e-3 its series 1 + u/2 + u²/3 + u³/4
/// + u⁴/5 (nlq / u would cancel there).
#[inline(always)]
pub fn neg_ln1m_over<T: Math>(u: T, nlq: T) -> T {
    let series = T::one() + u * (T::of(0.5) + u * (T::of(1.0 / 3.0) + u * (T::of(0.25) + u * T::of(0.2))));
    if u < T::of(1e-3) {
        series
    } else {
        nlq / u
    }
}

/// bᵞ for b ≥ 0 and γ ≥ 0 with 0⁰ = 1 and 0ᵞ = 0 (γ > 0); exact for γ ∈ {0, 1, 2}.
#[inline(always)]
pub fn pow_nonneg<T: Math>(b: T, gamma: T) -> T {
    let general = exp(gamma * ln(b));
    let r = if b == T::zero() { T::zero() } else { general };
    let r = if gamma == T::of(2.0) { b * b } else { r };
    let r = if gamma == T::one() { b } else { r };
    if gamma == T::zero() {
        T::one()
    } else {
        r
    }
}

// ---------------------------------------------------------------------------------------------
// Row reductions (contiguous class axis: NSC rows, [N, C]).

/// max of a row (−∞ for an empty row; NaN elements are skipped, they poison the exps anyway).
#[inline(always)]
pub fn row_max<T: Real>(z: &[T]) -> T {
    let mut acc = [T::neg_infinity(); LANES];
    let mut it = z.chunks_exact(LANES);
    for ch in &mut it {
        for j in 0..LANES {
            acc[j] = max(ch[j], acc[j]);
        }
    }
    for (j, &v) in it.remainder().iter().enumerate() {
        acc[j] = max(v, acc[j]);
    }
    acc.iter().fold(T::neg_infinity(), |m, &v| max(v, m))
}

/// Σ of a row in a fixed order (`LANES` (8) partial sums).
#[inline(always)]
pub fn row_sum<T: Real>(z: &[T]) -> T {
    let mut acc = [T::zero(); LANES];
    let mut it = z.chunks_exact(LANES);
    for ch in &mut it {
        for j in 0..LANES {
            acc[j] += ch[j];
        }
    }
    for (j, &v) in it.remainder().iter().enumerate() {
        acc[j] += v;
    }
    lane_sum(acc)
}

/// Writes `e[c] = exp((z[c] − m)·k)` and returns Σ e (fixed order). `k` is 1 for a plain
/// softmax, 1/T for a temperature. (A plain map loop, then a lane sum: LLVM vectorizes a map
/// loop around `exp` reliably, but not an accumulating loop with a body that large.)
#[inline(always)]
pub fn row_exp<T: Math>(z: &[T], m: T, k: T, e: &mut [T]) -> T {
    let e = &mut e[..z.len()];
    for (ev, &zv) in e.iter_mut().zip(z) {
        *ev = exp((zv - m) * k);
    }
    row_sum(e)
}

/// Combines lane accumulators in a fixed pairwise order.
#[inline(always)]
pub fn lane_sum<T: Real>(a: [T; LANES]) -> T {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// Reduces the `N` lanes of `v` (a power of two) with `f` in halving steps, lane l taking
/// `f(v[l], v[l ^ h])` for h = N/2, …, 1: each step one in-register shuffle, the order fixed by `N`
/// alone. Returns lane 0 (for a commutative `f` every lane holds the same value).
#[inline(always)]
pub fn butterfly<T: Copy, const N: usize>(mut v: [T; N], f: impl Fn(T, T) -> T) -> T {
    let mut h = N / 2;
    while h > 0 {
        let mut w = v;
        for l in 0..N {
            w[l] = f(v[l], v[l ^ h]);
        }
        v = w;
        h /= 2;
    }
    v[0]
}

/// Softmax of one contiguous row into `p`; returns `(max, Σ exp(z − max))`, so that
/// ln p_c = (z_c − max) − ln Σ.
pub fn softmax_row<T: Math>(z: &[T], p: &mut [T]) -> (T, T) {
    let m = row_max(z);
    let s = row_exp(z, m, T::one(), p);
    let inv = T::one() / s;
    for v in p[..z.len()].iter_mut() {
        *v *= inv;
    }
    (m, s)
}

// ---------------------------------------------------------------------------------------------
// Column helpers: a `[classes][positions]` tile whose rows are contiguous (NCS).

/// `m[s] = max_c z[c][s]`.
#[inline(always)]
pub fn cols_max<T: Real>(z: ArrayView2<'_, T>, m: &mut [T]) {
    // Blocks of 16 positions kept in registers across the classes: updating `m` in memory class
    // by class compiles to masked stores (only where the max changes) that stall the next load.
    const W: usize = 16;
    let n = z.ncols();
    let rows: Vec<&[T]> = z.axis_iter(Axis(0)).map(|r| r.to_slice().expect("contiguous tile row")).collect();
    let mut mi = m[..n].chunks_exact_mut(W);
    let mut s0 = 0;
    for out in &mut mi {
        let mut acc = [T::neg_infinity(); W];
        for row in &rows {
            let r = &row[s0..s0 + W];
            for j in 0..W {
                acc[j] = max(r[j], acc[j]);
            }
        }
        out.copy_from_slice(&acc);
        s0 += W;
    }
    for (j, mv) in mi.into_remainder().iter_mut().enumerate() {
        *mv = rows.iter().fold(T::neg_infinity(), |a, row| max(row[s0 + j], a));
    }
}

/// `e[c][s] = exp((z[c][s] − m[s])·k)` and `sum[s] = Σ_c e[c][s]` (classes in order).
#[inline(always)]
pub fn cols_exp<T: Math>(z: ArrayView2<'_, T>, m: &[T], k: T, mut e: ArrayViewMut2<'_, T>, sum: &mut [T]) {
    let n = z.ncols();
    let (m, sum) = (&m[..n], &mut sum[..n]);
    sum.fill(T::zero());
    for (zr, mut er) in z.axis_iter(Axis(0)).zip(e.axis_iter_mut(Axis(0))) {
        let zr = zr.to_slice().expect("contiguous tile row");
        let er = er.as_slice_mut().expect("contiguous tile row");
        for ((ev, &zv), (&mv, sv)) in er.iter_mut().zip(zr).zip(m.iter().zip(sum.iter_mut())) {
            *ev = exp((zv - mv) * k);
            *sv += *ev;
        }
    }
}

/// Softmax over the class axis of a `[classes][positions]` tile into `p` (same shape);
/// `m` and `sum` (one per position) receive the max and Σ exp(z − max), so that
/// ln p_c = (z_c − max) − ln Σ. No allocation.
pub fn softmax_cols<T: Math>(z: ArrayView2<'_, T>, mut p: ArrayViewMut2<'_, T>, m: &mut [T], sum: &mut [T]) {
    cols_max(z, m);
    cols_exp(z, m, T::one(), p.view_mut(), sum);
    const W: usize = 64;
    let mut inv = [T::zero(); W];
    for (j, s) in sum[..z.ncols()].chunks(W).enumerate() {
        inv.iter_mut().zip(s).for_each(|(i, &v)| *i = T::one() / v);
        for mut row in p.axis_iter_mut(Axis(0)) {
            let row = row.as_slice_mut().expect("contiguous tile row");
            row[j * W..j * W + s.len()].iter_mut().zip(&inv).for_each(|(v, &i)| *v *= i);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// f64

// The constants are quoted verbatim from fdlibm / musl / Cephes.
#[allow(clippy::excessive_precision)]
impl Math for f64 {
    #[inline(always)]
    fn exp_v(x: f64) -> f64 {
        const LOG2E: f64 = std::f64::consts::LOG2_E;
        // fdlibm's split of ln 2: LN2_HI has 21 trailing zero bits, so n·LN2_HI is exact.
        const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
        const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
        // Adding 1.5·2⁵² rounds to an integer and leaves it in the low mantissa bits.
        const SHIFT: f64 = 6_755_399_441_055_744.0;
        // Clamp so that n ∈ [−1076, 1024]: exp(710) overflows to +∞, exp(−746) rounds to 0.
        // Comparisons are written so that a NaN passes through.
        let x = if x > 710.0 { 710.0 } else { x };
        let x = if x < -746.0 { -746.0 } else { x };
        let kf = x * LOG2E + SHIFT;
        let nf = kf - SHIFT;
        let r = (x - nf * LN2_HI) - nf * LN2_LO;
        // Taylor series of eʳ to degree 13: truncation < 5e-18 relative for |r| ≤ ln2/2.
        let mut p = 1.0 / 6_227_020_800.0;
        p = p * r + 1.0 / 479_001_600.0;
        p = p * r + 1.0 / 39_916_800.0;
        p = p * r + 1.0 / 3_628_800.0;
        p = p * r + 1.0 / 362_880.0;
        p = p * r + 1.0 / 40_320.0;
        p = p * r + 1.0 / 5_040.0;
        p = p * r + 1.0 / 720.0;
        p = p * r + 1.0 / 120.0;
        p = p * r + 1.0 / 24.0;
        p = p * r + 1.0 / 6.0;
        p = p * r + 0.5;
        p = p * r + 1.0;
        p = p * r + 1.0;
        // 2ⁿ = 2ᵃ·2ᵇ with a = ⌊(n+1076)/2⌋ − 538 and b = n − a, both normal powers of two.
        let nb = kf.to_bits().wrapping_sub(SHIFT.to_bits()).wrapping_add(1076);
        let half = nb >> 1;
        let sa = f64::from_bits((half + 485) << 52);
        let sb = f64::from_bits((nb.wrapping_sub(half).wrapping_add(485)) << 52);
        p * sa * sb
    }

    #[inline(always)]
    fn ln_v(x: f64) -> f64 {
        // Subnormals: scale into the normal range first.
        let sub = x < f64::MIN_POSITIVE;
        let xs = if sub { x * 18_014_398_509_481_984.0 } else { x }; // 2⁵⁴
        let y = ln_core_f64(xs, if sub { -54.0 } else { 0.0 });
        let y = if x == f64::INFINITY { x } else { y };
        let y = if x == 0.0 { f64::NEG_INFINITY } else { y };
        // x < 0 or NaN.
        if x >= 0.0 {
            y
        } else {
            f64::NAN
        }
    }

    #[inline(always)]
    fn ln_normal_v(x: f64) -> f64 {
        let y = ln_core_f64(x, 0.0);
        if x.is_nan() {
            x
        } else {
            y
        }
    }

    #[inline(always)]
    fn ln_1p_unit_v(e: f64, u: f64, inv: f64) -> f64 {
        // ln(u) + (e − (u − 1))/u: u − 1 is exact, the bracket is the rounding error of u.
        Self::ln_normal_v(u) + (e - (u - 1.0)) * inv
    }

    const SIN_COS_LIMIT: f64 = 1e5;

    #[inline(always)]
    fn sin_cos_v(x: f64) -> (f64, f64) {
        // Cephes sin.c: π/2 = PIO2_1 + PIO2_2 + PIO2_3 (twice its DP1..DP3), k·PIO2_1 exact.
        const PIO2_1: f64 = 2.0 * 7.853_981_256_484_985_351_56e-1;
        const PIO2_2: f64 = 2.0 * 3.774_894_707_930_798_176_68e-8;
        const PIO2_3: f64 = 2.0 * 2.695_151_429_079_059_526_45e-15;
        const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²: rounds, k in the low bits
        let ax = x.abs();
        let kf = ax * std::f64::consts::FRAC_2_PI + SHIFT;
        let k = kf.to_bits().wrapping_sub(SHIFT.to_bits());
        let n = kf - SHIFT;
        let z = ((ax - n * PIO2_1) - n * PIO2_2) - n * PIO2_3;
        let zz = z * z;
        let mut ps = 1.589_623_015_765_465_680_60e-10;
        ps = ps * zz - 2.505_074_776_285_780_728_66e-8;
        ps = ps * zz + 2.755_731_362_138_572_452_13e-6;
        ps = ps * zz - 1.984_126_982_958_953_859_96e-4;
        ps = ps * zz + 8.333_333_333_322_118_588_78e-3;
        ps = ps * zz - 1.666_666_666_666_663_072_95e-1;
        let s = z + z * zz * ps;
        let mut pc = -1.135_853_652_138_768_173_00e-11;
        pc = pc * zz + 2.087_570_084_197_473_167_78e-9;
        pc = pc * zz - 2.755_731_417_929_673_881_12e-7;
        pc = pc * zz + 2.480_158_728_885_170_453_48e-5;
        pc = pc * zz - 1.388_888_888_887_305_641_16e-3;
        pc = pc * zz + 4.166_666_666_666_659_292_18e-2;
        let c = 1.0 - 0.5 * zz + zz * zz * pc;
        quadrant(k, s, c, x < 0.0)
    }
}

/// ln(x) + k0·ln 2 for x positive, normal and finite (fdlibm / musl `log`, < 1 ulp).
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn ln_core_f64(x: f64, k0: f64) -> f64 {
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const LG1: f64 = 6.666_666_666_666_735_130e-1;
    const LG2: f64 = 3.999_999_999_940_941_908e-1;
    const LG3: f64 = 2.857_142_874_366_239_149e-1;
    const LG4: f64 = 2.222_219_843_214_978_396e-1;
    const LG5: f64 = 1.818_357_216_161_805_012e-1;
    const LG6: f64 = 1.531_383_769_920_937_332e-1;
    const LG7: f64 = 1.479_819_860_511_658_591e-1;
    // musl's reduction: move the mantissa into [√2/2, √2) and the exponent into k.
    let ix = x.to_bits().wrapping_add(0x3ff0_0000_0000_0000 - 0x3fe6_a09e_0000_0000);
    let kbits = ix >> 52; // biased exponent, 0..=2047 for x > 0
    let kf = f64::from_bits(kbits | 0x4330_0000_0000_0000) - (4_503_599_627_370_496.0 + 1023.0) + k0;
    let m = f64::from_bits((ix & 0x000f_ffff_ffff_ffff).wrapping_add(0x3fe6_a09e_0000_0000));
    let f = m - 1.0;
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * (LG4 + w * LG6));
    let t2 = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7)));
    let r = t2 + t1;
    kf * LN2_HI - ((hfsq - (s * (hfsq + r) + kf * LN2_LO)) - f)
}

// ---------------------------------------------------------------------------------------------
// f32

#[allow(clippy::excessive_precision)]
impl Math for f32 {
    #[inline(always)]
    fn exp_v(x: f32) -> f32 {
        const LOG2E: f32 = std::f32::consts::LOG2_E;
        // Cephes' split of ln 2 (LN2_HI exact in 9 bits).
        const LN2_HI: f32 = 0.693_359_375;
        const LN2_LO: f32 = -2.121_944_4e-4;
        const SHIFT: f32 = 12_582_912.0; // 1.5·2²³
        // Below LO the result (< 2.4e-38, about the smallest normal) is flushed to 0; clamping
        // there keeps n ≥ −125, so adding n to p's exponent field stays a normal number.
        const LO: f32 = -86.6;
        // ln(f32::MAX): above it, +∞.
        const HI: f32 = 88.722_83;
        let xc = if x < LO { LO } else { x };
        let kf = xc * LOG2E + SHIFT;
        let nf = kf - SHIFT;
        let r = (xc - nf * LN2_HI) - nf * LN2_LO;
        // eʳ ≈ 1 + r + r²·P(r), P a degree-3 minimax fit of (eʳ − 1 − r)/r² on |r| ≤ ln2/2:
        // ≤ 3 ulp, cheaper than the ≤ 1 ulp degree-5 one (the f32 losses need ~1e-6).
        let mut p = 8.312_525e-3_f32;
        p = p * r + 4.189_011_3e-2;
        p = p * r + 1.666_711_4e-1;
        p = p * r + 4.999_923_2e-1;
        let p = p * (r * r) + r + 1.0;
        // 2ⁿ·p: kf's low bits hold n and SHIFT's low 9 bits are 0, so kf.bits << 23 is n << 23.
        let y = f32::from_bits(p.to_bits().wrapping_add(kf.to_bits() << 23));
        let y = if x < LO { 0.0 } else { y };
        // Above HI: +∞; a NaN stays NaN (x·∞).
        if x <= HI {
            y
        } else {
            x * f32::INFINITY
        }
    }

    #[inline(always)]
    fn ln_v(x: f32) -> f32 {
        let sub = x < f32::MIN_POSITIVE;
        let xs = if sub { x * 33_554_432.0 } else { x }; // 2²⁵
        let y = ln_core_f32(xs, if sub { -25.0 } else { 0.0 });
        let y = if x == f32::INFINITY { x } else { y };
        let y = if x == 0.0 { f32::NEG_INFINITY } else { y };
        if x >= 0.0 {
            y
        } else {
            f32::NAN
        }
    }

    #[inline(always)]
    fn ln_normal_v(x: f32) -> f32 {
        let y = ln_core_f32(x, 0.0);
        if x.is_nan() {
            x
        } else {
            y
        }
    }

    #[inline(always)]
    fn ln_1p_unit_v(e: f32, _: f32, _: f32) -> f32 {
        // e·Q(e), Q a degree-8 minimax-style fit of ln(1 + e)/e on [0, 1]: ≤ 4 ulp, and no
        // division (ln would need one).
        let mut q = 5.232_694_8e-3_f32;
        q = q * e - 2.950_524e-2;
        q = q * e + 7.822_596e-2;
        q = q * e - 1.366_324_6e-1;
        q = q * e + 1.910_600_7e-1;
        q = q * e - 2.484_298_2e-1;
        q = q * e + 3.331_909_7e-1;
        q = q * e - 4.999_949_3e-1;
        q = q * e + 9.999_999_7e-1;
        q * e
    }

    const SIN_COS_LIMIT: f32 = 8192.0;

    #[inline(always)]
    fn sin_cos_v(x: f32) -> (f32, f32) {
        // Cephes sinf.c: π/2 in three parts (twice its DP1..DP3), k·PIO2_1 exact for k < 2¹⁴.
        const PIO2_1: f32 = 2.0 * 0.785_156_25;
        const PIO2_2: f32 = 2.0 * 2.418_756_484_985_351_562_5e-4;
        const PIO2_3: f32 = 2.0 * 3.774_894_977_445_941_08e-8;
        const SHIFT: f32 = 12_582_912.0; // 1.5·2²³
        let ax = x.abs();
        let kf = ax * std::f32::consts::FRAC_2_PI + SHIFT;
        let k = kf.to_bits().wrapping_sub(SHIFT.to_bits()) as u64;
        let n = kf - SHIFT;
        let z = ((ax - n * PIO2_1) - n * PIO2_2) - n * PIO2_3;
        let zz = z * z;
        let mut ps = -1.951_529_589_1e-4_f32;
        ps = ps * zz + 8.332_160_873_6e-3;
        ps = ps * zz - 1.666_665_461_1e-1;
        let s = z + z * zz * ps;
        let mut pc = 2.443_315_711_809_948e-5_f32;
        pc = pc * zz - 1.388_731_625_493_765e-3;
        pc = pc * zz + 4.166_664_568_298_827e-2;
        let c = 1.0 - 0.5 * zz + zz * zz * pc;
        quadrant(k, s, c, x < 0.0)
    }
}

/// ln(x) + k0·ln 2 for x positive, normal and finite (musl `logf`, < 1 ulp).
#[allow(clippy::excessive_precision)]
#[inline(always)]
fn ln_core_f32(x: f32, k0: f32) -> f32 {
    const LN2_HI: f32 = 6.931_381_225_6e-1;
    const LN2_LO: f32 = 9.058_000_614_5e-6;
    const LG1: f32 = 0.666_666_626_93;
    const LG2: f32 = 0.400_009_721_52;
    const LG3: f32 = 0.284_987_866_88;
    const LG4: f32 = 0.242_790_788_41;
    let ix = x.to_bits().wrapping_add(0x3f80_0000 - 0x3f35_04f3);
    let kbits = ix >> 23;
    let kf = f32::from_bits(kbits | 0x4b00_0000) - (8_388_608.0 + 127.0) + k0;
    let m = f32::from_bits((ix & 0x007f_ffff).wrapping_add(0x3f35_04f3));
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let w = z * z;
    let t1 = w * (LG2 + w * LG4);
    let t2 = z * (LG1 + w * LG3);
    let r = t2 + t1;
    let hfsq = 0.5 * f * f;
    s * (hfsq + r) + kf * LN2_LO - hfsq + f + kf * LN2_HI
}

#[cfg(test)]
#[path = "math_tests.rs"]
mod tests;
