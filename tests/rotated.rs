//! ProbIoU through the C ABI (its fixtures, ultralytics' probiou / batch_probiou written in torch:
//! tests/fixture_replay.rs): finite differences on random rotated boxes, the edges of docs/boxes.md
//! (squares, angles at ±π/2 and beyond, identical boxes, the distance clamp, w or h = 0, negative
//! sides), the matrix against the loss, and bad input.
mod common;
use common::*;
use lossfn::capi::*;
use std::f64::consts::{FRAC_PI_2, PI};
use std::ptr::{null, null_mut};

fn opts(reduction: u32) -> lossfn_rotated_box_options {
    lossfn_rotated_box_options { reduction, ..lossfn_rotated_box_options_default() }
}

/// f64 call that must succeed: (loss, grad).
fn run64(pred: &[f64], target: &[f64], weight: Option<&[f64]>, o: &lossfn_rotated_box_options) -> (Vec<f64>, Vec<f64>) {
    let n = pred.len() / 5;
    let mut loss = vec![0.0; if o.reduction == LOSSFN_REDUCTION_NONE { n } else { 1 }];
    let mut grad = vec![0.0; 5 * n];
    let w = weight.map_or(null(), |w| w.as_ptr());
    let st = unsafe { lossfn_probiou_loss_f64(pred.as_ptr(), target.as_ptr(), w, n, o, loss.as_mut_ptr(), grad.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    (loss, grad)
}

fn run32(pred: &[f64], target: &[f64], o: &lossfn_rotated_box_options) -> (Vec<f64>, Vec<f64>) {
    let v = |x: &[f64]| x.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let (p, t) = (v(pred), v(target));
    let n = pred.len() / 5;
    let mut loss = vec![0f32; if o.reduction == LOSSFN_REDUCTION_NONE { n } else { 1 }];
    let mut grad = vec![0f32; 5 * n];
    let st = unsafe { lossfn_probiou_loss_f32(p.as_ptr(), t.as_ptr(), null(), n, o, loss.as_mut_ptr(), grad.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    (loss.into_iter().map(f64::from).collect(), grad.into_iter().map(f64::from).collect())
}

fn matrix64(b1: &[f64], b2: &[f64], eps: f64) -> Vec<f64> {
    let (n, m) = (b1.len() / 5, b2.len() / 5);
    let mut out = vec![0.0; n * m];
    let st = unsafe { lossfn_probiou_matrix_f64(b1.as_ptr(), n, b2.as_ptr(), m, eps, out.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    out
}

/// A random rotated box: centre in [-20, 20]², sides in [0.5, 12], any angle.
fn rbox(rng: &mut Rng) -> [f64; 5] {
    [rng.uniform(-20.0, 20.0), rng.uniform(-20.0, 20.0), rng.uniform(0.5, 12.0), rng.uniform(0.5, 12.0), rng.uniform(-4.0, 4.0)]
}

/// A box near `b` (overlapping: the distance is inside the clamp).
fn near(rng: &mut Rng, b: &[f64; 5]) -> [f64; 5] {
    [
        b[0] + rng.uniform(-2.0, 2.0),
        b[1] + rng.uniform(-2.0, 2.0),
        b[2] * rng.uniform(0.6, 1.5),
        b[3] * rng.uniform(0.6, 1.5),
        b[4] + rng.uniform(-0.8, 0.8),
    ]
}

/// The gradient equals central differences of the loss, reduced (MEAN, SUM, with and without
/// weights), on random boxes near and far from their targets, with floor 0 and ultralytics'
/// RotatedBboxLoss floor 0.01 (and a large one).
#[test]
fn gradient_matches_finite_differences() {
    let mut rng = Rng(24);
    let n = 60;
    let mut pred = Vec::new();
    let mut target = Vec::new();
    for i in 0..n {
        let t = rbox(&mut rng);
        let p = if i % 4 == 0 { rbox(&mut rng) } else { near(&mut rng, &t) };
        pred.extend_from_slice(&p);
        target.extend_from_slice(&t);
    }
    let weight: Vec<f64> = (0..n).map(|_| rng.uniform(0.0, 2.0)).collect();
    let mut checked = 0;
    for floor in [0.0, 0.01, 2.0] {
        for reduction in [LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM] {
            for w in [None, Some(&weight[..])] {
                let o = lossfn_rotated_box_options { floor, ..opts(reduction) };
                let (_, grad) = run64(&pred, &target, w, &o);
                let fd = finite_diff(&pred, 1e-6, |p| run64(p, &target, w, &o).0[0]);
                assert_close(&format!("floor {floor} reduction {reduction} weighted {}", w.is_some()), &grad, &fd, 1e-5, 1e-7);
                checked += grad.iter().filter(|g| g.abs() > 1e-9).count();
            }
        }
    }
    // Most boxes are inside the clamp: their gradients are not 0.
    assert!(checked > 3 * 4 * 5 * n / 2, "only {checked} nonzero gradient entries");
}

/// A square's covariance does not depend on its angle: the angle's gradient is exactly 0 (and
/// every entry finite), and rotating it by any angle leaves the loss unchanged.
#[test]
fn squares_have_no_angle_gradient() {
    let t = [1.0, 2.0, 4.0, 3.0, 0.3];
    for angle in [0.0, 0.7, FRAC_PI_2, -2.5, 40.0] {
        let p = [1.5, 1.0, 3.5, 3.5, angle];
        let (l, g) = run64(&p, &t, None, &opts(LOSSFN_REDUCTION_SUM));
        assert_eq!(g[4], 0.0, "angle {angle}");
        assert_finite("square", &g);
        let (l0, _) = run64(&[1.5, 1.0, 3.5, 3.5, 0.0], &t, None, &opts(LOSSFN_REDUCTION_SUM));
        assert!((l[0] - l0[0]).abs() < 1e-14, "angle {angle}: {} vs {}", l[0], l0[0]);
    }
}

/// Angles are periodic in π (a box turned half a turn is the same box), and a quarter turn swaps
/// w and h; both hold for the loss and, with the angle derivative, for the gradient.
#[test]
fn angles_at_and_beyond_half_pi() {
    let mut rng = Rng(7);
    for _ in 0..50 {
        let t = rbox(&mut rng);
        let p = near(&mut rng, &t);
        let (l, g) = run64(&p, &t, None, &opts(LOSSFN_REDUCTION_SUM));
        for k in [-3.0, -1.0, 1.0, 2.0] {
            let q = [p[0], p[1], p[2], p[3], p[4] + k * PI];
            let (lq, gq) = run64(&q, &t, None, &opts(LOSSFN_REDUCTION_SUM));
            assert_close("half turn loss", &lq, &l, 1e-11, 1e-13);
            assert_close("half turn grad", &gq, &g, 1e-7, 1e-9);
        }
        let swapped = [p[0], p[1], p[3], p[2], p[4] + FRAC_PI_2];
        let (ls, gs) = run64(&swapped, &t, None, &opts(LOSSFN_REDUCTION_SUM));
        assert_close("quarter turn loss", &ls, &l, 1e-11, 1e-13);
        assert_close("quarter turn grad", &[gs[0], gs[1], gs[3], gs[2], gs[4]], &g, 1e-7, 1e-9);
    }
}

/// Identical boxes: the distance is at (or below) the clamp's eps, so the loss is
/// √(1 − e^(−eps) + eps) and the gradient 0.
#[test]
fn identical_boxes() {
    let b = [3.0, -1.0, 5.0, 2.0, 0.4];
    let (l, g) = run64(&b, &b, None, &opts(LOSSFN_REDUCTION_SUM));
    let eps = 1e-7f64;
    let expected = 1.0 - (1.0 - (1.0 - (-eps).exp() + eps).sqrt());
    assert!((l[0] - expected).abs() < 1e-12, "{} vs {expected}", l[0]);
    assert_eq!(g, vec![0.0; 5]);
}

/// Far apart: the distance clamps at 100; the loss is √(1 − e^(−100) + eps) and the gradient 0.
#[test]
fn far_apart_boxes_clamp() {
    let (l, g) = run64(&[0.0, 0.0, 2.0, 1.0, 0.2], &[500.0, -300.0, 3.0, 2.0, 1.0], None, &opts(LOSSFN_REDUCTION_SUM));
    let expected = 1.0 - (1.0 - (1.0 - (-100f64).exp() + 1e-7).sqrt());
    assert!((l[0] - expected).abs() < 1e-15, "{} vs {expected}", l[0]);
    assert_eq!(g, vec![0.0; 5]);
}

/// w or h = 0 with floor 0 (ultralytics' gradient is NaN there): finite, and the centre's
/// gradient matches finite differences. With floor > 0 a zero side is an ordinary box: every
/// input's gradient matches. (The angle and the other side are not checked that way: with a zero side
/// det = a·b − c² is 0 only up to rounding, and perturbing them moves that rounding residue,
/// which the clamp and the square root turn into jumps of t3 in ultralytics' formula as here.)
#[test]
fn zero_width_or_height_is_finite() {
    let t = [0.0, 0.0, 4.0, 2.0, 0.5];
    for p in [[0.5, 0.2, 0.0, 3.0, 0.1], [0.5, 0.2, 3.0, 0.0, -0.7], [0.0, 0.0, 0.0, 0.0, 0.0]] {
        for dt in [32, 64] {
            let (l, g) = if dt == 64 { run64(&p, &t, None, &opts(LOSSFN_REDUCTION_SUM)) } else { run32(&p, &t, &opts(LOSSFN_REDUCTION_SUM)) };
            assert_finite(&format!("f{dt} loss {p:?}"), &l);
            assert_finite(&format!("f{dt} grad {p:?}"), &g);
        }
        let (_, g) = run64(&p, &t, None, &opts(LOSSFN_REDUCTION_SUM));
        let fd = finite_diff(&p, 1e-7, |q| run64(q, &t, None, &opts(LOSSFN_REDUCTION_SUM)).0[0]);
        for k in [0, 1] {
            assert!((g[k] - fd[k]).abs() <= 1e-5 * (1.0 + fd[k].abs()), "{p:?} input {k}: {} vs {}", g[k], fd[k]);
        }
        let o = lossfn_rotated_box_options { floor: 0.01, ..opts(LOSSFN_REDUCTION_SUM) };
        let (_, g) = run64(&p, &t, None, &o);
        let fd = finite_diff(&p, 1e-7, |q| run64(q, &t, None, &o).0[0]);
        assert_close(&format!("floor 0.01 {p:?}"), &g, &fd, 1e-5, 1e-7);
    }
}

/// A zero side with a subnormal floor (f32 1e-45): A or B is subnormal, and the gradient's
/// 1/√B factor must not overflow into inf·0 = NaN (found by the fuzz driver: f32, w = −1e4,
/// h = −0, floor 1e-45, against a large square target). The side's gradient is 0 there (∂B/∂h =
/// h/6 = 0), and the others match the f64 values.
#[test]
fn zero_side_with_subnormal_floor() {
    let t = [7431.474609375; 5];
    for p in [[0.2168627828359604, -0.6923113465309143, -10000.0, -0.0, 0.23274385929107666], [0.5, 0.2, 0.0, 30.0, 0.1]] {
        let o = lossfn_rotated_box_options { floor: 1e-45, ..opts(LOSSFN_REDUCTION_SUM) };
        let (l32, g32) = run32(&p, &t, &o);
        let (l64, g64) = run64(&p, &t, None, &o);
        assert_finite(&format!("f32 grad {p:?}"), &g32);
        assert_finite(&format!("f64 grad {p:?}"), &g64);
        assert!((l32[0] - l64[0]).abs() <= 1e-6, "{p:?}: {} vs {}", l32[0], l64[0]);
        let side = if p[2] == 0.0 { 2 } else { 3 };
        assert_eq!(g32[side], 0.0, "{p:?}: the zero side's gradient");
        assert_eq!(g64[side], 0.0, "{p:?}: the zero side's gradient");
    }
}

/// Negative sides give the box of sides |w|, |h| (ultralytics squares them): the same loss, the
/// side's gradient negated.
#[test]
fn negative_sides_mirror() {
    let mut rng = Rng(3);
    for _ in 0..20 {
        let t = rbox(&mut rng);
        let p = near(&mut rng, &t);
        let (l, g) = run64(&p, &t, None, &opts(LOSSFN_REDUCTION_SUM));
        let q = [p[0], p[1], -p[2], -p[3], p[4]];
        let (lq, gq) = run64(&q, &t, None, &opts(LOSSFN_REDUCTION_SUM));
        assert_close("loss", &lq, &l, 1e-13, 1e-15);
        assert_close("grad", &gq, &[g[0], g[1], -g[2], -g[3], g[4]], 1e-12, 1e-14);
    }
}

/// The matrix's diagonal is 1 − the loss per box, in both orders (ProbIoU is symmetric), and
/// f32 agrees with f64.
#[test]
fn matrix_is_one_minus_the_loss() {
    let mut rng = Rng(11);
    let n = 30;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..n {
        let t = rbox(&mut rng);
        b.extend_from_slice(&t);
        a.extend_from_slice(&near(&mut rng, &t));
    }
    let (l, _) = run64(&a, &b, None, &opts(LOSSFN_REDUCTION_NONE));
    let m = matrix64(&a, &b, 1e-7);
    let mt = matrix64(&b, &a, 1e-7);
    for i in 0..n {
        assert!((m[i * n + i] - (1.0 - l[i])).abs() < 1e-14, "diagonal {i}");
        for j in 0..n {
            assert!((m[i * n + j] - mt[j * n + i]).abs() < 1e-14, "symmetry {i} {j}");
        }
    }
    let (l32, _) = run32(&a, &b, &opts(LOSSFN_REDUCTION_NONE));
    assert_close("f32", &l32, &l, 1e-4, 1e-5);
}

/// Bad input: eps ≤ 0 or not finite, n·5 overflowing, NULL loss; nothing written.
#[test]
fn bad_input_is_rejected_and_writes_nothing() {
    let b = [0f32, 0.0, 2.0, 1.0, 0.3];
    for floor in [-0.01, f64::NAN, f64::INFINITY] {
        let o = lossfn_rotated_box_options { floor, ..lossfn_rotated_box_options_default() };
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "options.floor", |l, g| unsafe {
            lossfn_probiou_loss_f32(b.as_ptr(), b.as_ptr(), null(), 1, &o, l.as_mut_ptr(), g.as_mut_ptr())
        });
    }
    for eps in [0.0, -1e-7, f64::NAN, f64::INFINITY] {
        let o = lossfn_rotated_box_options { eps, ..lossfn_rotated_box_options_default() };
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "options.eps", |l, g| unsafe {
            lossfn_probiou_loss_f32(b.as_ptr(), b.as_ptr(), null(), 1, &o, l.as_mut_ptr(), g.as_mut_ptr())
        });
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "eps", |l, _| unsafe { lossfn_probiou_matrix_f32(b.as_ptr(), 1, b.as_ptr(), 1, eps, l.as_mut_ptr()) });
    }
    let d = lossfn_rotated_box_options_default();
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "`n` boxes x 5", |l, g| unsafe {
        lossfn_probiou_loss_f32(b.as_ptr(), b.as_ptr(), null(), usize::MAX / 4, &d, l.as_mut_ptr(), g.as_mut_ptr())
    });
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "n x m", |l, _| unsafe {
        lossfn_probiou_matrix_f32(b.as_ptr(), 1 << 40, b.as_ptr(), 1 << 40, 1e-7, l.as_mut_ptr())
    });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "loss", |_, g| unsafe {
        lossfn_probiou_loss_f32(b.as_ptr(), b.as_ptr(), null(), 1, &d, null_mut(), g.as_mut_ptr())
    });
    // Empty inputs are OK (MEAN of nothing is +0.0).
    let mut loss = [7.0f32];
    let st = unsafe { lossfn_probiou_loss_f32(null(), null(), null(), 0, &d, loss.as_mut_ptr(), null_mut()) };
    assert_eq!((st, loss[0].to_bits()), (LOSSFN_OK, 0f32.to_bits()));
}

/// A NaN in a box makes that box's terms NaN, and only them.
#[test]
fn nan_stays_in_its_box() {
    let mut p = vec![0.0, 0.0, 2.0, 1.0, 0.3, 1.0, 1.0, 3.0, 2.0, 0.1];
    let t = vec![0.5, 0.0, 2.0, 1.5, 0.2, 1.2, 0.8, 3.0, 2.5, 0.0];
    p[7] = f64::NAN;
    let (l, g) = run64(&p, &t, None, &opts(LOSSFN_REDUCTION_NONE));
    assert!(l[0].is_finite() && l[1].is_nan());
    assert!(g[..5].iter().all(|v| v.is_finite()) && g[5..].iter().all(|v| v.is_nan()));
}
