//! Distribution Focal Loss through the C ABI (its fixtures, from ultralytics' DFLoss written in
//! torch: tests/fixture_replay.rs): finite differences, the identity with soft-target cross entropy
//! on two-hot targets (a second implementation), clamping, NaN targets and bad input.
mod common;
use common::*;
use lossfn::capi::*;
use std::ptr::{null, null_mut};

type Dfl<T> = unsafe extern "C" fn(*const T, *const T, *const T, usize, usize, usize, *const lossfn_dfl_options, *mut T, *mut T) -> u32;

fn run<T: Copy + Default>(f: Dfl<T>, logits: &[T], target: &[T], weight: Option<&[T]>, dims: (usize, usize, usize), o: &lossfn_dfl_options) -> (Vec<T>, Vec<T>) {
    let (n, sides, bins) = dims;
    let mut loss = vec![T::default(); if o.reduction == LOSSFN_REDUCTION_NONE { n } else { 1 }];
    let mut grad = vec![T::default(); n * sides * bins];
    let w = weight.map_or(null(), |w| w.as_ptr());
    let st = unsafe { f(logits.as_ptr(), target.as_ptr(), w, n, sides, bins, o, loss.as_mut_ptr(), grad.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    (loss, grad)
}

fn run64(logits: &[f64], target: &[f64], weight: Option<&[f64]>, dims: (usize, usize, usize), o: &lossfn_dfl_options) -> (Vec<f64>, Vec<f64>) {
    run(lossfn_dfl_loss_f64, logits, target, weight, dims, o)
}

fn opts(reduction: u32) -> lossfn_dfl_options {
    lossfn_dfl_options { reduction, ..lossfn_dfl_options_default() }
}

/// Random logits and targets, every reduction, with and without weights: the analytic gradient
/// equals central differences.
#[test]
fn gradients_match_finite_differences() {
    let mut rng = Rng(31);
    for (n, sides, bins) in [(3, 4, 16), (2, 1, 2), (4, 3, 5)] {
        for reduction in [LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM] {
            for weighted in [false, true] {
                let logits = rng.vec(n * sides * bins, -3.0, 3.0);
                // away from the bin edges, where the two-hot weights have kinks
                let target: Vec<f64> = (0..n * sides).map(|_| rng.below(bins as u64 - 1) as f64 + rng.uniform(0.1, 0.9)).collect();
                let w = weighted.then(|| rng.vec(n, 0.1, 2.0));
                let o = opts(reduction);
                let (_, g) = run64(&logits, &target, w.as_deref(), (n, sides, bins), &o);
                let fd = finite_diff(&logits, 1e-6, |x| run64(x, &target, w.as_deref(), (n, sides, bins), &o).0[0]);
                assert_close(&format!("n {n} sides {sides} bins {bins} reduction {reduction} weighted {weighted}"), &g, &fd, 1e-6, 1e-8);
            }
        }
    }
}

/// DFL is soft-target cross entropy on the two-hot targets, averaged over the sides: the same
/// values through lossfn_cross_entropy_soft (a separate kernel) on rows of `bins` classes.
#[test]
fn equals_soft_cross_entropy_on_two_hot_targets() {
    let mut rng = Rng(37);
    let (n, sides, bins) = (50, 4, 16);
    let logits = rng.vec(n * sides * bins, -4.0, 4.0);
    let target: Vec<f64> = (0..n * sides).map(|_| rng.uniform(-1.0, bins as f64)).collect();
    let mut soft = vec![0.0; n * sides * bins];
    for (r, &t) in target.iter().enumerate() {
        let t = t.clamp(0.0, bins as f64 - 1.01);
        let tl = t.floor() as usize;
        soft[r * bins + tl] = (tl + 1) as f64 - t;
        soft[r * bins + tl + 1] = t - tl as f64;
    }
    let (l, g) = run64(&logits, &target, None, (n, sides, bins), &opts(LOSSFN_REDUCTION_SUM));
    let shape = lossfn_shape { batch: n * sides, classes: bins, spatial: 1, layout: LOSSFN_LAYOUT_NSC };
    let co = lossfn_cross_entropy_options { reduction: LOSSFN_REDUCTION_SUM, ..lossfn_cross_entropy_options_default() };
    let (mut lc, mut gc) = ([0.0], vec![0.0; n * sides * bins]);
    let st = unsafe { lossfn_cross_entropy_soft_f64(logits.as_ptr(), soft.as_ptr(), null(), shape, &co, lc.as_mut_ptr(), gc.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    let per_side = |v: &[f64]| v.iter().map(|x| x / sides as f64).collect::<Vec<f64>>();
    assert_close("loss", &l, &per_side(&lc), 1e-13, 1e-13);
    assert_close("grad", &g, &per_side(&gc), 1e-13, 1e-15);
}

/// Targets outside [0, bins − 1.01] (±∞ included) are clamped; a NaN target gives NaN for its
/// box only.
#[test]
fn targets_are_clamped_and_nan_propagates() {
    let (n, sides, bins) = (3, 1, 8);
    let logits: Vec<f64> = (0..n * bins).map(|i| (i as f64 * 0.37).sin()).collect();
    let o = opts(LOSSFN_REDUCTION_NONE);
    let (l, _) = run64(&logits, &[-5.0, 100.0, f64::INFINITY], None, (n, sides, bins), &o);
    let (lc, _) = run64(&logits, &[0.0, bins as f64 - 1.01, bins as f64 - 1.01], None, (n, sides, bins), &o);
    assert_eq!(l, lc);
    let (l, g) = run64(&logits, &[1.5, f64::NAN, 2.0], None, (n, sides, bins), &o);
    assert!(l[0].is_finite() && l[1].is_nan() && l[2].is_finite(), "{l:?}");
    assert!(g[bins..2 * bins].iter().any(|v| v.is_nan()) && g[..bins].iter().chain(&g[2 * bins..]).all(|v| v.is_finite()));
}

#[test]
fn bad_input_is_rejected_and_writes_nothing() {
    let logits = [0.0f32; 16];
    let target = [0.5f32; 4];
    let call = |n: usize, sides: usize, bins: usize, o: &lossfn_dfl_options, l: &mut [f32], g: &mut [f32]| unsafe {
        lossfn_dfl_loss_f32(logits.as_ptr(), target.as_ptr(), null(), n, sides, bins, o, l.as_mut_ptr(), g.as_mut_ptr())
    };
    let d = lossfn_dfl_options_default();
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "bins", |l, g| call(2, 2, 1, &d, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "bins", |l, g| call(0, 2, 0, &d, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "sides", |l, g| call(2, 0, 4, &d, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "overflows", |l, g| call(usize::MAX / 2, 4, 16, &d, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "reduction", |l, g| call(2, 2, 4, &lossfn_dfl_options { reduction: 9, ..d }, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "BATCHMEAN", |l, g| call(2, 2, 4, &lossfn_dfl_options { reduction: LOSSFN_REDUCTION_BATCHMEAN, ..d }, l, g));
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "logits", |l, g| unsafe {
        lossfn_dfl_loss_f32(null(), target.as_ptr(), null(), 2, 2, 4, &d, l.as_mut_ptr(), g.as_mut_ptr())
    });
    // No boxes: a valid call (MEAN of nothing is 0), whatever sides is.
    let mut loss = [1.0f32];
    assert_eq!(unsafe { lossfn_dfl_loss_f32(logits.as_ptr(), target.as_ptr(), null(), 0, 0, 16, &d, loss.as_mut_ptr(), null_mut()) }, LOSSFN_OK);
    assert_eq!(loss[0], 0.0);
    // ... with a gradient buffer too (found by the fuzz driver: a zero-width chunk panicked).
    let mut grad = [0f32; 1];
    assert_eq!(unsafe { lossfn_dfl_loss_f32(logits.as_ptr(), target.as_ptr(), null(), 0, 0, 16, &d, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
}

/// The baseline, AVX2 and AVX-512 copies give bitwise identical outputs.
#[test]
fn simd_copies_agree_bitwise() {
    use lossfn::kernels::simd::set_simd_max;
    let mut rng = Rng(53);
    let (n, sides, bins) = (3_001, 4, 16);
    let logits = rng.vec(n * sides * bins, -5.0, 5.0);
    let target = rng.vec(n * sides, -1.0, bins as f64);
    let w = rng.vec(n, 0.0, 2.0);
    for reduction in [LOSSFN_REDUCTION_NONE, LOSSFN_REDUCTION_MEAN] {
        let run_at = |level: u8| {
            set_simd_max(level);
            let (l, g) = run64(&logits, &target, Some(&w), (n, sides, bins), &opts(reduction));
            let c = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
            let (l32, g32) = run(lossfn_dfl_loss_f32, &c(&logits), &c(&target), Some(&c(&w)), (n, sides, bins), &opts(reduction));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
            let bits32 = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
            (bits(&l), bits(&g), bits32(&l32), bits32(&g32))
        };
        let base = run_at(0);
        for level in [1, 2] {
            assert!(run_at(level) == base, "SIMD level {level} differs from the baseline (reduction {reduction})");
        }
        set_simd_max(2);
    }
}
