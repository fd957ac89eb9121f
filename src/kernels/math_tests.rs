//! The vectorizable exp / ln / logistic of `kernels::math` against `std` over their whole range
//! (unit tests of `super`).
use crate::kernels::math::{self, Math};

/// The spacing of the floats just above |x| (in f64, for an f64 or f32 value).
fn ulp_of64(x: f64) -> f64 {
    let b = x.abs().to_bits();
    f64::from_bits(b + 1) - f64::from_bits(b)
}

fn ulp_of32(x: f32) -> f64 {
    let b = x.abs().to_bits();
    f32::from_bits(b + 1) as f64 - f32::from_bits(b) as f64
}

/// Deterministic sample of `count` values spread over [lo, hi].
fn sweep(lo: f64, hi: f64, count: usize) -> impl Iterator<Item = f64> {
    (0..=count).map(move |i| lo + (hi - lo) * (i as f64 / count as f64))
}

#[test]
fn exp_f64_within_one_ulp() {
    let mut worst = 0f64;
    for x in sweep(-708.0, 709.7, 2_000_000).chain(sweep(-1.0, 1.0, 200_001)).chain(sweep(-1e-10, 1e-10, 1001)) {
        let (got, want) = (math::exp(x), x.exp());
        let u = (got - want).abs() / ulp_of64(want);
        worst = worst.max(u);
        assert!(u <= 1.0, "exp({x:e}) = {got:e}, std {want:e} ({u} ulp)");
    }
    eprintln!("exp f64 worst {worst} ulp");
}

#[test]
fn exp_f64_edges() {
    assert_eq!(math::exp(0.0f64), 1.0);
    assert_eq!(math::exp(f64::NEG_INFINITY), 0.0);
    assert_eq!(math::exp(f64::INFINITY), f64::INFINITY);
    assert!(math::exp(f64::NAN).is_nan());
    assert_eq!(math::exp(709.79f64), f64::INFINITY);
    assert_eq!(math::exp(1e300f64), f64::INFINITY);
    assert_eq!(math::exp(-746.0f64), 0.0);
    assert_eq!(math::exp(-1e300f64), 0.0);
    assert!(math::exp(709.78f64).is_finite());
    // Subnormal results: within one subnormal step.
    for x in sweep(-745.0, -708.4, 10_000) {
        let (got, want) = (math::exp(x), x.exp());
        assert!((got - want).abs() <= f64::from_bits(1), "exp({x}) = {got:e}, std {want:e}");
    }
}

#[test]
fn exp_f32_within_three_ulp() {
    let mut worst = 0f64;
    for x in sweep(-86.6, 88.72, 2_000_000).chain(sweep(-1.0, 1.0, 200_001)) {
        let x = x as f32;
        let got = math::exp(x);
        let want = (x as f64).exp();
        let u = (got as f64 - want).abs() / ulp_of32(want as f32);
        worst = worst.max(u);
        assert!(u <= 3.0, "exp({x:e}) = {got:e}, true {want:e} ({u} ulp)");
    }
    eprintln!("exp f32 worst {worst} ulp");
    assert_eq!(math::exp(0.0f32), 1.0);
    assert_eq!(math::exp(f32::NEG_INFINITY), 0.0);
    assert_eq!(math::exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(math::exp(88.73f32), f32::INFINITY);
    assert_eq!(math::exp(1e30f32), f32::INFINITY);
    assert!(math::exp(88.72f32).is_finite());
    assert_eq!(math::exp(-1e30f32), 0.0);
    assert!(math::exp(f32::NAN).is_nan());
    // Below -86.6 the result is flushed to 0 or exact to within the smallest normal.
    for x in sweep(-110.0, -86.6, 10_000) {
        let x = x as f32;
        let (got, want) = (math::exp(x) as f64, (x as f64).exp());
        assert!(got >= 0.0 && (got - want).abs() <= 2.5e-38, "exp({x}) = {got:e}, true {want:e}");
    }
}

#[test]
fn ln_f64_within_one_ulp() {
    let mut worst = 0f64;
    let mut check = |x: f64| {
        let (got, want) = (math::ln(x), x.ln());
        let u = (got - want).abs() / ulp_of64(want);
        worst = worst.max(u);
        assert!(u <= 1.0, "ln({x:e}) = {got:e}, std {want:e} ({u} ulp)");
    };
    // Log-uniform over every binade, subnormals included, and densely around 1.
    for e in sweep(-1074.0, 1023.9, 2_000_000) {
        check(2f64.powf(e));
    }
    for x in sweep(0.5, 2.0, 500_000) {
        check(x);
    }
    for x in sweep(1.0 - 1e-9, 1.0 + 1e-9, 10_000) {
        check(x);
    }
    check(f64::MAX);
    check(f64::MIN_POSITIVE);
    check(f64::from_bits(1));
    eprintln!("ln f64 worst {worst} ulp");
    assert_eq!(math::ln(1.0f64), 0.0);
    assert_eq!(math::ln(0.0f64), f64::NEG_INFINITY);
    assert_eq!(math::ln(-0.0f64), f64::NEG_INFINITY);
    assert!(math::ln(-1.0f64).is_nan());
    assert!(math::ln(f64::NAN).is_nan());
    assert!(math::ln(f64::NEG_INFINITY).is_nan());
    assert_eq!(math::ln(f64::INFINITY), f64::INFINITY);
}

#[test]
fn ln_f32_within_one_ulp() {
    let mut worst = 0f64;
    let mut check = |x: f32| {
        let got = math::ln(x) as f64;
        let want = (x as f64).ln();
        let u = (got - want).abs() / ulp_of32(want as f32);
        worst = worst.max(u);
        assert!(u <= 1.0, "ln({x:e}) = {got:e}, true {want:e} ({u} ulp)");
    };
    for e in sweep(-149.0, 127.99, 2_000_000) {
        check(2f64.powf(e) as f32);
    }
    for x in sweep(0.5, 2.0, 500_000) {
        check(x as f32);
    }
    // Every float in [1 − 2⁻¹⁰, 1 + 2⁻¹⁰].
    let (a, b) = ((1.0f32 - 1.0 / 1024.0).to_bits(), (1.0f32 + 1.0 / 1024.0).to_bits());
    for bits in a..=b {
        check(f32::from_bits(bits));
    }
    eprintln!("ln f32 worst {worst} ulp");
    assert_eq!(math::ln(1.0f32), 0.0);
    assert_eq!(math::ln(0.0f32), f32::NEG_INFINITY);
    assert!(math::ln(-1.0f32).is_nan());
    assert!(math::ln(f32::NAN).is_nan());
    assert_eq!(math::ln(f32::INFINITY), f32::INFINITY);
}

#[test]
fn logistic_matches_a_careful_reference() {
    // (σ(x), σ(−x), ln(1 + e^−|x|)) against f64 std (ln_1p), relative error per component.
    let mut worst = [0f64; 2];
    for x in sweep(-120.0, 120.0, 400_001) {
        let e = (-x.abs()).exp();
        let want = [1.0 / (1.0 + (-x).exp()), 1.0 / (1.0 + x.exp()), e.ln_1p()];
        let (p, q, l) = math::logistic(x);
        let (p32, q32, l32) = math::logistic(x as f32);
        let want32 = {
            let x = x as f32 as f64;
            let e = (-x.abs()).exp();
            [1.0 / (1.0 + (-x).exp()), 1.0 / (1.0 + x.exp()), e.ln_1p()]
        };
        for k in 0..3 {
            let got = [p, q, l][k];
            let rel = (got - want[k]).abs() / want[k].abs().max(f64::MIN_POSITIVE);
            worst[1] = worst[1].max(rel);
            assert!(rel <= 1e-15, "f64 logistic({x})[{k}] = {got:e}, want {:e}", want[k]);
            let got32 = [p32, q32, l32][k] as f64;
            // f32: relative to the value, flushed results (< 2.5e-38) absolutely.
            let err = (got32 - want32[k]).abs();
            if want32[k] > 2.5e-38 {
                worst[0] = worst[0].max(err / want32[k]);
                assert!(err <= 6e-7 * want32[k], "f32 logistic({x})[{k}] = {got32:e}, want {:e}", want32[k]);
            } else {
                assert!(err <= 2.5e-38, "f32 logistic({x})[{k}] = {got32:e}, want {:e}", want32[k]);
            }
        }
    }
    eprintln!("logistic worst relative error: f32 {:e}, f64 {:e}", worst[0], worst[1]);
    assert!(math::logistic(f32::NAN).2.is_nan() && math::logistic(f64::NAN).2.is_nan());
    assert!(softplus(f32::NAN).is_nan());
    assert_eq!(softplus(1e4f32), 1e4);
    assert_eq!(softplus(-1e4f32), 0.0);
}

#[test]
fn softmax_helpers_match_a_naive_softmax() {
    use ndarray::{Array2, ArrayView2};
    let (c, n) = (7usize, 150usize);
    let z: Vec<f64> = (0..c * n).map(|i| ((i * 7919) % 101) as f64 * 0.37 - 15.0).collect();
    let zt = ArrayView2::from_shape((c, n), &z).unwrap();
    let mut p = Array2::<f64>::zeros((c, n));
    let (mut m, mut sum) = (vec![0.0; n], vec![0.0; n]);
    math::softmax_cols(zt, p.view_mut(), &mut m, &mut sum);
    for s in 0..n {
        let col: Vec<f64> = (0..c).map(|k| z[k * n + s]).collect();
        let mx = col.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let tot: f64 = col.iter().map(|v| (v - mx).exp()).sum();
        assert_eq!(m[s], mx);
        assert!((sum[s] - tot).abs() <= 1e-14 * tot);
        for k in 0..c {
            let want = (col[k] - mx).exp() / tot;
            assert!((p[[k, s]] - want).abs() <= 1e-15 + 1e-14 * want, "p[{k},{s}]");
        }
        // The same position as a contiguous row.
        let mut row = vec![0.0; c];
        let (rm, rs) = math::softmax_row(&col, &mut row);
        assert_eq!(rm, mx);
        assert!((rs - tot).abs() <= 1e-14 * tot);
        for k in 0..c {
            assert!((row[k] - p[[k, s]]).abs() <= 1e-15, "row vs column softmax");
        }
    }
    // Extreme logits stay finite in f32.
    let mut row = [0f32; 3];
    math::softmax_row(&[1e4f32, -1e4, 0.0], &mut row);
    assert_eq!(row, [1.0, 0.0, 0.0]);
}

#[test]
fn small_helpers() {
    assert_eq!(math::pow_nonneg(0.0f64, 0.0), 1.0);
    assert_eq!(math::pow_nonneg(0.0f64, 0.5), 0.0);
    assert_eq!(math::pow_nonneg(0.3f64, 2.0), 0.3 * 0.3);
    assert_eq!(math::pow_nonneg(0.3f32, 1.0), 0.3);
    assert!((math::pow_nonneg(0.3f64, 2.5) - 0.3f64.powf(2.5)).abs() < 1e-16);
    assert_eq!(math::sigmoid(0.0f32), 0.5);
    assert_eq!(math::sigmoid(-1e4f32), 0.0);
    assert!((softplus(2.0f64) - (1.0 + 2f64.exp()).ln()).abs() < 1e-15);
    assert_eq!(Math::ln_normal_v(1.0f64), 0.0);
    assert!(Math::ln_normal_v(f32::NAN).is_nan());
    assert_eq!(math::row_max(&[1.0f32, 5.0, -3.0, 2.0, 0.0, 4.0, 1.0, 1.0, 7.5]), 7.5);
    assert_eq!(math::row_max::<f32>(&[]), f32::NEG_INFINITY);
    assert_eq!(math::row_sum(&[1.0f64; 13]), 13.0);
}

/// sin_cos against std's sin and cos (f64: ≤ 2 ulp of the result or 2 ulp of 1 near a zero;
/// f32: the same in f32), over the reduced range, and std's values beyond it after the fix-up.
#[test]
fn sin_cos_against_std() {
    let mut worst = (0f64, 0f64);
    for x in sweep(-1e5, 1e5, 1_000_000).chain(sweep(-7.0, 7.0, 100_001)).chain(sweep(-1e-8, 1e-8, 101)) {
        let (s, c) = math::sin_cos(x);
        for (got, want) in [(s, x.sin()), (c, x.cos())] {
            let u = (got - want).abs() / ulp_of64(want.abs().max(0.5));
            worst.0 = worst.0.max(u);
            assert!(u <= 2.0, "f64 sin_cos({x:e}): {got:e} vs std {want:e} ({u} ulp)");
        }
        let xf = x as f32;
        if xf.abs() <= 8192.0 {
            let (s, c) = math::sin_cos(xf);
            for (got, want) in [(s, xf.sin()), (c, xf.cos())] {
                let u = (got as f64 - want as f64).abs() / ulp_of32(want.abs().max(0.5));
                worst.1 = worst.1.max(u);
                assert!(u <= 2.0, "f32 sin_cos({xf:e}): {got:e} vs std {want:e} ({u} ulp)");
            }
        }
    }
    eprintln!("sin_cos worst: f64 {} ulp, f32 {} ulp", worst.0, worst.1);
    // Beyond the limit, ±∞ and NaN: the fix-up gives std's values.
    let xs = [1e6f64, -3e9, 1e300, f64::INFINITY, f64::NAN, 1.0];
    let (mut s, mut c) = (vec![0.0; xs.len()], vec![0.0; xs.len()]);
    for (i, &x) in xs.iter().enumerate() {
        (s[i], c[i]) = math::sin_cos(x);
    }
    math::sin_cos_fixup(&xs, &mut s, &mut c);
    for (i, &x) in xs.iter().enumerate() {
        let (ws, wc) = x.sin_cos();
        assert!(s[i].to_bits() == ws.to_bits() || (i == 5 && (s[i] - ws).abs() < 1e-15), "sin({x})");
        assert!(c[i].to_bits() == wc.to_bits() || (i == 5 && (c[i] - wc).abs() < 1e-15), "cos({x})");
    }
}

/// expm1 against std's exp_m1: ≤ 2 ulp (f64), ≤ 3 ulp (f32, x ≤ 1), including the tiny arguments
/// where exp(x) − 1 cancels.
#[test]
fn expm1_against_std() {
    for x in sweep(-40.0, 40.0, 400_001).chain(sweep(-0.4, 0.4, 400_001)).chain(sweep(-1e-7, 1e-7, 1001)) {
        let (got, want) = (math::expm1(x), x.exp_m1());
        let u = (got - want).abs() / ulp_of64(want);
        assert!(u <= 2.0 || got == want, "f64 expm1({x:e}) = {got:e}, std {want:e} ({u} ulp)");
        let xf = x as f32;
        if xf > 1.0 {
            continue; // f32 beyond 1: exp(x) − 1 with f32's ≤ 3 ulp exp (up to ~6 ulp; not used there)
        }
        let (got, want) = (math::expm1(xf), xf.exp_m1());
        let u = (got as f64 - want as f64).abs() / ulp_of32(want);
        assert!(u <= 3.0 || got == want, "f32 expm1({xf:e}) = {got:e}, std {want:e} ({u} ulp)");
    }
    assert!(math::expm1(f64::NAN).is_nan());
    assert_eq!(math::expm1(0.0f64), 0.0);
}

/// softplus(x) = max(x, 0) + ln(1 + e^−|x|), from [`math::logistic`]'s third value.
fn softplus<T: Math>(x: T) -> T {
    math::max(x, T::zero()) + math::logistic(x).2
}
