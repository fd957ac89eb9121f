//! Keypoint OKS loss through the C ABI (its fixtures, ultralytics' KeypointLoss in torch:
//! tests/fixture_replay.rs): finite differences, the degenerate scales (area ≤ 0, σ = 0) and bad input.
mod common;
use common::*;
use lossfn::capi::*;
use std::ptr::null;

struct Case {
    pred: Vec<f64>,
    target: Vec<f64>,
    visible: Vec<f64>,
    area: Vec<f64>,
    sigmas: Vec<f64>,
    n: usize,
    k: usize,
}

fn run64(c: &Case, pred: &[f64], o: &lossfn_keypoint_options) -> (Vec<f64>, Vec<f64>) {
    let mut loss = vec![0.0; if o.reduction == LOSSFN_REDUCTION_NONE { c.n * c.k } else { 1 }];
    let mut grad = vec![0.0; c.n * c.k * 2];
    let st = unsafe {
        lossfn_keypoint_oks_loss_f64(pred.as_ptr(), c.target.as_ptr(), c.visible.as_ptr(), c.area.as_ptr(), c.sigmas.as_ptr(), c.n, c.k, o, loss.as_mut_ptr(), grad.as_mut_ptr())
    };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    (loss, grad)
}

fn run32(c: &Case, o: &lossfn_keypoint_options) -> (Vec<f64>, Vec<f64>) {
    let v = |x: &[f64]| x.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let (p, t, vis, a, s) = (v(&c.pred), v(&c.target), v(&c.visible), v(&c.area), v(&c.sigmas));
    let mut loss = vec![0f32; if o.reduction == LOSSFN_REDUCTION_NONE { c.n * c.k } else { 1 }];
    let mut grad = vec![0f32; c.n * c.k * 2];
    let st = unsafe { lossfn_keypoint_oks_loss_f32(p.as_ptr(), t.as_ptr(), vis.as_ptr(), a.as_ptr(), s.as_ptr(), c.n, c.k, o, loss.as_mut_ptr(), grad.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    (loss.into_iter().map(f64::from).collect(), grad.into_iter().map(f64::from).collect())
}

fn opts(reduction: u32) -> lossfn_keypoint_options {
    lossfn_keypoint_options { reduction, ..lossfn_keypoint_options_default() }
}

fn random_case(rng: &mut Rng, n: usize, k: usize) -> Case {
    let pred = rng.vec(n * k * 2, 0.0, 50.0);
    let target: Vec<f64> = pred.iter().map(|p| p + rng.uniform(-4.0, 4.0)).collect();
    let visible = (0..n * k).map(|_| if rng.below(5) == 0 { 0.0 } else { 1.0 }).collect();
    Case { pred, target, visible, area: rng.vec(n, 5.0, 300.0), sigmas: rng.vec(k, 0.2, 1.1), n, k }
}

#[test]
fn gradients_match_finite_differences() {
    let mut rng = Rng(43);
    for reduction in [LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM] {
        let c = random_case(&mut rng, 4, 6);
        let o = opts(reduction);
        let (_, g) = run64(&c, &c.pred, &o);
        let fd = finite_diff(&c.pred, 1e-6, |x| run64(&c, x, &o).0[0]);
        assert_close(&format!("reduction {reduction}"), &g, &fd, 1e-6, 1e-10);
    }
}

/// A negative area counts as 0; σ = 0 gives the limit: loss f where d > 0, 0 where d = 0, and
/// gradient 0 — finite either way.
#[test]
fn degenerate_scales_stay_finite() {
    let mut rng = Rng(47);
    let mut c = random_case(&mut rng, 3, 4);
    c.visible = vec![1.0; 12];
    let none = opts(LOSSFN_REDUCTION_NONE);
    c.area[0] = -5.0;
    let (l_neg, g_neg) = run64(&c, &c.pred, &none);
    c.area[0] = 0.0;
    let (l_zero, g_zero) = run64(&c, &c.pred, &none);
    assert_eq!((l_neg, g_neg), (l_zero.clone(), g_zero.clone()));
    assert!(l_zero.iter().chain(&g_zero).all(|v| v.is_finite()));
    // σ₁ = 0: keypoint (0, 1) off its target (d > 0), keypoint (1, 1) exactly on it (d = 0).
    c.sigmas[1] = 0.0;
    c.pred[2] = c.target[2] + 1.0;
    c.pred[2 * 5] = c.target[2 * 5];
    c.pred[2 * 5 + 1] = c.target[2 * 5 + 1];
    let (l, g) = run64(&c, &c.pred, &none);
    assert!(l.iter().chain(&g).all(|v| v.is_finite()), "{l:?} {g:?}");
    // f = 4 / (4 + 1e-9) for instance 0; (1 − exp(−∞)) = 1
    assert!((l[1] - 4.0 / (4.0 + 1e-9)).abs() < 1e-15, "{}", l[1]);
    assert_eq!((g[2], g[3]), (0.0, 0.0));
    assert_eq!((l[5], g[10], g[11]), (0.0, 0.0, 0.0));
}

/// A subnormal scale (σ near 1e-162 in f64: (2σ)² is subnormal, 1/D overflows): keypoints on
/// their targets get gradient 0, one off by 1 a saturated term with gradient 0 (found by the fuzz driver: target =
/// pred, σ = 1.3e-162, was NaN from inf·0).
#[test]
fn subnormal_scale_keeps_the_gradient_finite() {
    let mut rng = Rng(48);
    let mut c = random_case(&mut rng, 2, 3);
    c.visible = vec![1.0; 6];
    c.sigmas = vec![1.303195435219228e-162, 1e-160, 0.5];
    c.target = c.pred.clone();
    let (l, g) = run64(&c, &c.pred, &opts(LOSSFN_REDUCTION_NONE));
    assert!(l.iter().chain(&g).all(|v| v.is_finite()), "{l:?} {g:?}");
    assert!(g.iter().all(|&v| v == 0.0), "{g:?}");
    // Off the target by 1: e = 1/D is infinite, exp(−e) = 0, the loss term f and the gradient 0.
    c.target[0] += 1.0;
    let (l, g) = run64(&c, &c.pred, &opts(LOSSFN_REDUCTION_NONE));
    assert!(l.iter().chain(&g).all(|v| v.is_finite()), "{l:?} {g:?}");
    assert_eq!((g[0], g[1]), (0.0, 0.0));
}

#[test]
fn bad_input_is_rejected_and_writes_nothing() {
    let p = [0f32; 8];
    let d = lossfn_keypoint_options_default();
    let call = |n: usize, k: usize, o: &lossfn_keypoint_options, l: &mut [f32], g: &mut [f32]| unsafe {
        lossfn_keypoint_oks_loss_f32(p.as_ptr(), p.as_ptr(), p.as_ptr(), p.as_ptr(), p.as_ptr(), n, k, o, l.as_mut_ptr(), g.as_mut_ptr())
    };
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "overflows", |l, g| call(usize::MAX / 2, 3, &d, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "reduction", |l, g| call(1, 2, &lossfn_keypoint_options { reduction: 8, ..d }, l, g));
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "sigmas", |l, g| unsafe {
        lossfn_keypoint_oks_loss_f32(p.as_ptr(), p.as_ptr(), p.as_ptr(), p.as_ptr(), null(), 1, 2, &d, l.as_mut_ptr(), g.as_mut_ptr())
    });
    assert_rejected(LOSSFN_ERROR_OVERLAP, "", |l, _| unsafe {
        lossfn_keypoint_oks_loss_f32(p.as_ptr(), p.as_ptr(), p.as_ptr(), p.as_ptr(), p.as_ptr(), 1, 2, &d, l.as_mut_ptr(), l.as_mut_ptr())
    });
}

/// The baseline, AVX2 and AVX-512 copies give bitwise identical outputs.
#[test]
fn simd_copies_agree_bitwise() {
    use lossfn::testing::set_simd_max;
    let mut rng = Rng(59);
    let c = random_case(&mut rng, 2_003, 17);
    for reduction in [LOSSFN_REDUCTION_NONE, LOSSFN_REDUCTION_MEAN] {
        let run_at = |level: u8| {
            set_simd_max(level);
            let (l, g) = run64(&c, &c.pred, &opts(reduction));
            let (l32, g32) = run32(&c, &opts(reduction));
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
            (bits(&l), bits(&g), bits(&l32), bits(&g32))
        };
        let base = run_at(0);
        for level in [1, 2] {
            assert!(run_at(level) == base, "SIMD level {level} differs from the baseline (reduction {reduction})");
        }
        set_simd_max(2);
    }
}
