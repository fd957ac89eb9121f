//! Regression family through the C ABI (its fixtures: tests/fixture_replay.rs): finite
//! differences, bad input, determinism across thread counts.
mod common;
use common::*;
use lossfn::capi::*;
use std::ptr::{null, null_mut};

type Fn<T> = unsafe extern "C" fn(*const T, *const T, *const T, usize, *const lossfn_regression_options, *mut T, *mut T) -> lossfn_status;

fn fns32(name: &str) -> Fn<f32> {
    match name {
        "l1_loss" => lossfn_l1_loss_f32,
        "mse_loss" => lossfn_mse_loss_f32,
        "smooth_l1_loss" => lossfn_smooth_l1_loss_f32,
        "huber_loss" => lossfn_huber_loss_f32,
        "log_cosh_loss" => lossfn_log_cosh_loss_f32,
        _ => panic!("unknown regression fn {name}"),
    }
}

fn fns64(name: &str) -> Fn<f64> {
    match name {
        "l1_loss" => lossfn_l1_loss_f64,
        "mse_loss" => lossfn_mse_loss_f64,
        "smooth_l1_loss" => lossfn_smooth_l1_loss_f64,
        "huber_loss" => lossfn_huber_loss_f64,
        "log_cosh_loss" => lossfn_log_cosh_loss_f64,
        _ => panic!("unknown regression fn {name}"),
    }
}

/// Calls `f` on f64 data converted to T; returns (status, loss, grad).
fn call<T: Copy + Default>(
    f: Fn<T>,
    conv: fn(f64) -> T,
    back: fn(T) -> f64,
    x: &[f64],
    t: &[f64],
    w: Option<&[f64]>,
    o: &lossfn_regression_options,
    with_grad: bool,
) -> (u32, Vec<f64>, Vec<f64>) {
    let n = x.len();
    let x: Vec<T> = x.iter().map(|&v| conv(v)).collect();
    let t: Vec<T> = t.iter().map(|&v| conv(v)).collect();
    let w: Option<Vec<T>> = w.map(|w| w.iter().map(|&v| conv(v)).collect());
    let loss_len = if o.reduction == LOSSFN_REDUCTION_NONE { n } else { 1 };
    let mut loss = vec![T::default(); loss_len];
    let mut grad = vec![T::default(); n];
    let st = unsafe {
        f(
            x.as_ptr(),
            t.as_ptr(),
            w.as_ref().map_or(null(), |w| w.as_ptr()),
            n,
            o,
            loss.as_mut_ptr(),
            if with_grad { grad.as_mut_ptr() } else { null_mut() },
        )
    };
    (st, loss.into_iter().map(back).collect(), grad.into_iter().map(back).collect())
}

#[test]
fn gradients_match_finite_differences() {
    let mut rng = Rng(7);
    for name in ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "log_cosh_loss"] {
        for reduction in [LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM] {
            for weighted in [false, true] {
                let n = 37;
                let x = rng.vec(n, -3.0, 3.0);
                let t = rng.vec(n, -3.0, 3.0);
                let w = weighted.then(|| rng.vec(n, 0.0, 2.0));
                let o = lossfn_regression_options { reduction, beta: 0.7, delta: 1.3, ..lossfn_regression_options_default() };
                let (st, _, g) = call(fns64(name), |v| v, |v| v, &x, &t, w.as_deref(), &o, true);
                assert_eq!(st, LOSSFN_OK);
                let fd = finite_diff(&x, 1e-6, |xs| call(fns64(name), |v| v, |v| v, xs, &t, w.as_deref(), &o, false).1[0]);
                assert_close(&format!("{name} fd"), &g, &fd, 1e-5, 1e-7);
            }
        }
    }
}

#[test]
fn mean_of_zero_weights_is_zero_not_nan() {
    let x = [1.0, 2.0];
    let t = [0.0, 0.0];
    let w = [0.0, 0.0];
    let o = lossfn_regression_options_default();
    for name in ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "log_cosh_loss"] {
        let (st, l, g) = call(fns64(name), |v| v, |v| v, &x, &t, Some(&w), &o, true);
        assert_eq!(st, LOSSFN_OK);
        assert_eq!(l, vec![0.0]);
        assert_eq!(g, vec![0.0, 0.0]);
        let (st, l, _) = call(fns64(name), |v| v, |v| v, &[], &[], None, &o, true);
        assert_eq!((st, l), (LOSSFN_OK, vec![0.0]), "{name}: empty input");
    }
}

#[test]
fn nan_propagates() {
    let o = lossfn_regression_options_default();
    for name in ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "log_cosh_loss"] {
        let (st, l, g) = call(fns64(name), |v| v, |v| v, &[f64::NAN, 1.0], &[0.0, 0.0], None, &o, true);
        assert_eq!(st, LOSSFN_OK);
        assert!(l[0].is_nan() && g[0].is_nan(), "{name}: {l:?} {g:?}");
    }
}

#[test]
fn bad_input_is_rejected_and_writes_nothing() {
    let x = [1.0f32, 2.0, 3.0, 4.0];
    let t = [0.0f32; 4];
    let d = lossfn_regression_options_default();
    let f = lossfn_smooth_l1_loss_f32;
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "input", |l, g| unsafe { f(null(), t.as_ptr(), null(), 4, &d, l.as_mut_ptr(), g.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "target", |l, g| unsafe { f(x.as_ptr(), null(), null(), 4, &d, l.as_mut_ptr(), g.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "loss", |_, g| unsafe { f(x.as_ptr(), t.as_ptr(), null(), 4, &d, null_mut(), g.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "input", |l, g| unsafe { f(x.as_ptr(), t.as_ptr(), null(), usize::MAX / 2, &d, l.as_mut_ptr(), g.as_mut_ptr()) });
    let bad = |o: lossfn_regression_options| o;
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "reduction", |l, g| unsafe { f(x.as_ptr(), t.as_ptr(), null(), 4, &bad(lossfn_regression_options { reduction: 9, ..d }), l.as_mut_ptr(), g.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "BATCHMEAN", |l, g| unsafe { f(x.as_ptr(), t.as_ptr(), null(), 4, &bad(lossfn_regression_options { reduction: LOSSFN_REDUCTION_BATCHMEAN, ..d }), l.as_mut_ptr(), g.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "beta", |l, g| unsafe { f(x.as_ptr(), t.as_ptr(), null(), 4, &bad(lossfn_regression_options { beta: -1.0, ..d }), l.as_mut_ptr(), g.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "beta", |l, g| unsafe { f(x.as_ptr(), t.as_ptr(), null(), 4, &bad(lossfn_regression_options { beta: f64::NAN, ..d }), l.as_mut_ptr(), g.as_mut_ptr()) });
    for delta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "delta", |l, g| unsafe { lossfn_huber_loss_f32(x.as_ptr(), t.as_ptr(), null(), 4, &bad(lossfn_regression_options { delta, ..d }), l.as_mut_ptr(), g.as_mut_ptr()) });
    }
    // Overlaps: grad over loss, grad over input, loss over weight.
    assert_rejected(LOSSFN_ERROR_OVERLAP, "grad_input", |l, _| unsafe { f(x.as_ptr(), t.as_ptr(), null(), 1, &d, l.as_mut_ptr(), l.as_mut_ptr()) });
    let mut buf = [1.0f32; 8];
    let p = buf.as_mut_ptr();
    let mut loss = [7.5f32];
    let st = unsafe { f(p, t.as_ptr(), null(), 4, &d, loss.as_mut_ptr(), p.add(2)) };
    assert_eq!(st, LOSSFN_ERROR_OVERLAP);
    assert!(last_error().contains("grad_input") && last_error().contains("input"));
    assert_eq!((buf, loss), ([1.0f32; 8], [7.5]));
    let st = unsafe { f(x.as_ptr(), t.as_ptr(), p, 4, &lossfn_regression_options { reduction: LOSSFN_REDUCTION_NONE, ..d }, p.add(3), null_mut()) };
    assert_eq!(st, LOSSFN_ERROR_OVERLAP);
    assert!(last_error().contains("weight"));
    // Misaligned pointer.
    let bytes = [0u8; 64];
    let mis = unsafe { bytes.as_ptr().add(1) } as *const f32;
    assert_rejected(LOSSFN_ERROR_MISALIGNED, "aligned", |l, g| unsafe { f(mis, t.as_ptr(), null(), 4, &d, l.as_mut_ptr(), g.as_mut_ptr()) });
    // Success clears the message.
    let mut l = [0f32];
    assert_eq!(unsafe { f(x.as_ptr(), t.as_ptr(), null(), 4, null(), l.as_mut_ptr(), null_mut()) }, LOSSFN_OK);
    assert_eq!(last_error(), "");
}

#[test]
fn bitwise_identical_across_thread_counts() {
    let n = 1_000_003;
    let mut rng = Rng(11);
    let x: Vec<f32> = rng.vec(n, -4.0, 4.0).into_iter().map(|v| v as f32).collect();
    let t: Vec<f32> = rng.vec(n, -4.0, 4.0).into_iter().map(|v| v as f32).collect();
    let w: Vec<f32> = rng.vec(n, 0.0, 1.0).into_iter().map(|v| v as f32).collect();
    for f in [lossfn_l1_loss_f32 as Fn<f32>, lossfn_mse_loss_f32, lossfn_smooth_l1_loss_f32, lossfn_huber_loss_f32] {
        for reduction in [LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_NONE] {
            let o = lossfn_regression_options { reduction, ..lossfn_regression_options_default() };
            let run = |threads: usize| {
                assert_eq!(lossfn_set_num_threads(threads), LOSSFN_OK);
                let mut loss = vec![0f32; if reduction == LOSSFN_REDUCTION_NONE { n } else { 1 }];
                let mut grad = vec![0f32; n];
                assert_eq!(unsafe { f(x.as_ptr(), t.as_ptr(), w.as_ptr(), n, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
                (loss.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), grad.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
            };
            let one = run(1);
            for threads in [2, 3, 4, 0] {
                assert!(run(threads) == one, "{threads} threads differ from 1");
            }
        }
    }
    lossfn_set_num_threads(0);
}

/// The baseline (SSE2), AVX2 and AVX-512 copies of the chunk loop give bitwise the same loss and
/// gradient (no FMA, fixed summation order), for every loss, option, weight and output
/// combination, special values included. (On a CPU without AVX2 / AVX-512 the capped levels
/// fall back to the same copy.)
#[test]
fn simd_copies_agree_bitwise() {
    use lossfn::testing::set_simd_max;
    let n = 40_003; // several chunks and a ragged last block
    let mut rng = Rng(23);
    let mut x = rng.vec(n, -4.0, 4.0);
    let t = rng.vec(n, -4.0, 4.0);
    let w = rng.vec(n, 0.0, 2.0);
    for (i, v) in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 1e-310, 1e300].into_iter().enumerate() {
        x[1000 * i + 7] = v;
    }
    let bits = |r: (u32, Vec<f64>, Vec<f64>)| (r.0, r.1.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), r.2.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
    for name in ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "log_cosh_loss"] {
        for (beta, delta) in [(1.0, 1.0), (0.0, 0.3), (0.7, 2.5)] {
            for reduction in [LOSSFN_REDUCTION_NONE, LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM] {
                let o = lossfn_regression_options { reduction, beta, delta, ..lossfn_regression_options_default() };
                for weight in [None, Some(&w[..])] {
                    for with_grad in [true, false] {
                        let run32 = |level: u8| {
                            set_simd_max(level);
                            bits(call(fns32(name), |v| v as f32, |v| v as f64, &x, &t, weight, &o, with_grad))
                        };
                        let run64 = |level: u8| {
                            set_simd_max(level);
                            bits(call(fns64(name), |v| v, |v| v, &x, &t, weight, &o, with_grad))
                        };
                        let (base32, base64) = (run32(0), run64(0));
                        assert_eq!(base32.0, LOSSFN_OK);
                        for level in [1, 2] {
                            let what = format!("{name} beta {beta} delta {delta} reduction {reduction} weighted {} grad {with_grad}, level {level}", weight.is_some());
                            assert!(run32(level) == base32, "f32 {what}");
                            assert!(run64(level) == base64, "f64 {what}");
                        }
                    }
                }
            }
        }
    }
    set_simd_max(2);
}

/// ln cosh d and tanh d in f64 without cancellation (std's sinh, ln_1p, exp and tanh).
fn log_cosh_exact(d: f64) -> (f64, f64) {
    let a = d.abs();
    let l = if a <= 1.0 { (2.0 * (a / 2.0).sinh().powi(2)).ln_1p() } else { a - std::f64::consts::LN_2 + (-2.0 * a).exp().ln_1p() };
    (l, d.tanh())
}

/// Log-cosh keeps its relative accuracy for small differences, where Keras' expression
/// x + softplus(−2x) − ln 2 cancels (in f32 a difference of 1e-4, loss 5e-9, would carry an
/// absolute error near 6e-8), and on both sides of the switch at |d| = 1.
#[test]
fn log_cosh_is_accurate_for_small_and_large_differences() {
    let mut d: Vec<f64> = (0..=90).map(|k| 10f64.powf(-6.0 + 0.085 * k as f64)).collect(); // 1e-6 … ~45
    d.extend([1.0 - 1e-7, 1.0, 1.0 + 1e-7, 0.5, 2.0, 88.0]);
    let d: Vec<f64> = d.iter().flat_map(|&v| [v, -v]).collect();
    let zeros = vec![0.0; d.len()];
    let o = lossfn_regression_options { reduction: LOSSFN_REDUCTION_NONE, ..lossfn_regression_options_default() };
    let d32: Vec<f64> = d.iter().map(|&v| v as f32 as f64).collect();
    let (st, l32, g32) = call(lossfn_log_cosh_loss_f32, |v| v as f32, |v| v as f64, &d32, &zeros, None, &o, true);
    assert_eq!(st, LOSSFN_OK);
    let (st, l64, g64) = call(lossfn_log_cosh_loss_f64, |v| v, |v| v, &d, &zeros, None, &o, true);
    assert_eq!(st, LOSSFN_OK);
    for i in 0..d.len() {
        let (l, g) = log_cosh_exact(d32[i]);
        assert!((l32[i] - l).abs() <= 1e-6 * l, "f32 l({}) = {} vs {l}", d32[i], l32[i]);
        assert!((g32[i] - g).abs() <= 1e-6 * g.abs(), "f32 tanh({}) = {} vs {g}", d32[i], g32[i]);
        let (l, g) = log_cosh_exact(d[i]);
        assert!((l64[i] - l).abs() <= 1e-14 * l, "f64 l({}) = {} vs {l}", d[i], l64[i]);
        assert!((g64[i] - g).abs() <= 1e-14 * g.abs(), "f64 tanh({}) = {} vs {g}", d[i], g64[i]);
    }
}
