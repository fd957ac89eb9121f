//! Regression tests for the bugs the hardening runs (fuzz driver, finite and determinism
//! tests) found; each names the commit's finding in docs/hardening.md.
mod common;
use lossfn::capi::*;
use std::ptr::null;

/// Finding 1: a valid but tiny `eps` (finite, > 0) rounded to 0 in f32 (or gave an infinite
/// reciprocal when subnormal, in either type), so empty boxes gave IoU = 0/0 = NaN.
#[test]
fn box_eps_below_the_smallest_normal_stays_finite() {
    let degenerate = [3.0, 4.0, 3.0, 4.0, 1.0, 1.0, 1.0, 1.0];
    let target = [3.0, 4.0, 3.0, 4.0, 2.0, 2.0, 2.0, 2.0];
    for eps in [1e-50, 1e-300, 1e-310, 5e-324, f32::MIN_POSITIVE as f64 / 2.0] {
        let mut o = lossfn_box_options_default();
        o.eps = eps;
        o.reduction = LOSSFN_REDUCTION_NONE;
        type L32 = unsafe extern "C" fn(*const f32, *const f32, *const f32, usize, *const lossfn_box_options, *mut f32, *mut f32) -> u32;
        type L64 = unsafe extern "C" fn(*const f64, *const f64, *const f64, usize, *const lossfn_box_options, *mut f64, *mut f64) -> u32;
        let f32s: [(&str, L32); 6] = [
            ("iou", lossfn_iou_loss_f32),
            ("giou", lossfn_giou_loss_f32),
            ("diou", lossfn_diou_loss_f32),
            ("ciou", lossfn_ciou_loss_f32),
            ("eiou", lossfn_eiou_loss_f32),
            ("cdiou", lossfn_cdiou_loss_f32),
        ];
        let f64s: [L64; 6] =
            [lossfn_iou_loss_f64, lossfn_giou_loss_f64, lossfn_diou_loss_f64, lossfn_ciou_loss_f64, lossfn_eiou_loss_f64, lossfn_cdiou_loss_f64];
        for mode in [LOSSFN_IOU_LINEAR, LOSSFN_IOU_SQUARE, LOSSFN_IOU_LOG] {
            o.iou_mode = mode;
            for ((name, f), g) in f32s.iter().zip(f64s) {
                let p: Vec<f32> = degenerate.iter().map(|&v| v as f32).collect();
                let t: Vec<f32> = target.iter().map(|&v| v as f32).collect();
                let (mut loss, mut grad) = ([0f32; 2], [0f32; 8]);
                assert_eq!(unsafe { f(p.as_ptr(), t.as_ptr(), null(), 2, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
                assert!(loss.iter().chain(&grad).all(|v| !v.is_nan()), "{name}_f32 eps {eps:e}: loss {loss:?} grad {grad:?}");
                let (mut loss, mut grad) = ([0f64; 2], [0f64; 8]);
                assert_eq!(unsafe { g(degenerate.as_ptr(), target.as_ptr(), null(), 2, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
                assert!(loss.iter().chain(&grad).all(|v| !v.is_nan()), "{name}_f64 eps {eps:e}: loss {loss:?} grad {grad:?}");
            }
        }
        for kind in [LOSSFN_IOU_KIND_IOU, LOSSFN_IOU_KIND_GIOU, LOSSFN_IOU_KIND_DIOU, LOSSFN_IOU_KIND_CIOU] {
            let p: Vec<f32> = degenerate.iter().map(|&v| v as f32).collect();
            let mut out = [0f32; 4];
            let st = unsafe { lossfn_box_iou_matrix_f32(p.as_ptr(), 2, p.as_ptr(), 2, LOSSFN_BOX_XYXY, kind, eps, out.as_mut_ptr()) };
            assert_eq!(st, LOSSFN_OK);
            assert!(out.iter().all(|v| v.is_finite()), "matrix f32 kind {kind} eps {eps:e}: {out:?}");
            let mut out = [0f64; 4];
            let st = unsafe { lossfn_box_iou_matrix_f64(degenerate.as_ptr(), 2, degenerate.as_ptr(), 2, LOSSFN_BOX_XYXY, kind, eps, out.as_mut_ptr()) };
            assert_eq!(st, LOSSFN_OK);
            assert!(out.iter().all(|v| v.is_finite()), "matrix f64 kind {kind} eps {eps:e}: {out:?}");
        }
    }
}

/// Finding 2: a valid but tiny smooth-L1 `beta` (finite, > 0) rounded to 0 in f32 (or had an
/// infinite reciprocal when subnormal), so 0 · inf gave NaN losses and gradients.
#[test]
fn smooth_l1_tiny_beta_is_l1() {
    let x = [0.0, 1.5, -2.0, 1e-30, 3.0];
    let t = [0.0, -1.0, -2.0, 0.0, 1.0];
    for beta in [1e-50, 1e-178, 1e-300, 1e-310, 5e-324] {
        let mut o = lossfn_regression_options_default();
        o.beta = beta;
        o.reduction = LOSSFN_REDUCTION_NONE;
        let (xf, tf): (Vec<f32>, Vec<f32>) = (x.iter().map(|&v| v as f32).collect(), t.iter().map(|&v| v as f32).collect());
        let (mut loss, mut grad) = ([0f32; 5], [0f32; 5]);
        let st = unsafe { lossfn_smooth_l1_loss_f32(xf.as_ptr(), tf.as_ptr(), null(), 5, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) };
        assert_eq!(st, LOSSFN_OK);
        let (mut l1, mut g1) = ([0f32; 5], [0f32; 5]);
        let st = unsafe { lossfn_l1_loss_f32(xf.as_ptr(), tf.as_ptr(), null(), 5, &o, l1.as_mut_ptr(), g1.as_mut_ptr()) };
        assert_eq!(st, LOSSFN_OK);
        assert_eq!((loss, grad), (l1, g1), "f32 beta {beta:e}");
        let (mut loss, mut grad) = ([0f64; 5], [0f64; 5]);
        let st = unsafe { lossfn_smooth_l1_loss_f64(x.as_ptr(), t.as_ptr(), null(), 5, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) };
        assert_eq!(st, LOSSFN_OK);
        assert!(loss.iter().chain(&grad).all(|v| v.is_finite()), "f64 beta {beta:e}: {loss:?} {grad:?}");
    }
}

/// Finding 3: GIoU divided by C + eps with C = cw·ch the enclosing box's area, which is
/// negative when both boxes are inverted on one axis; C = −eps gave an infinite loss.
#[test]
fn giou_inverted_enclosing_box_stays_finite() {
    // XYWH boxes both of width −1: cw = −1, ch = 1, so C = −1.
    let pred = [0.0f64, 0.0, -1.0, 1.0];
    let target = [0.0f64, 0.25, -1.0, 0.5];
    let mut o = lossfn_box_options_default();
    o.format = LOSSFN_BOX_XYWH;
    o.eps = 1.0; // C = cw·ch = −1 here: C + eps was exactly 0
    let (mut loss, mut grad) = ([0f64; 1], [0f64; 4]);
    assert_eq!(unsafe { lossfn_giou_loss_f64(pred.as_ptr(), target.as_ptr(), null(), 1, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
    assert!(loss.iter().chain(&grad).all(|v| v.is_finite()), "f64: {loss:?} {grad:?}");
    let (p32, t32) = (pred.map(|v| v as f32), target.map(|v| v as f32));
    let (mut loss, mut grad) = ([0f32; 1], [0f32; 4]);
    assert_eq!(unsafe { lossfn_giou_loss_f32(p32.as_ptr(), t32.as_ptr(), null(), 1, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
    assert!(loss.iter().chain(&grad).all(|v| v.is_finite()), "f32: {loss:?} {grad:?}");
    let mut out = [0f64; 1];
    let st = unsafe { lossfn_box_iou_matrix_f64(pred.as_ptr(), 1, target.as_ptr(), 1, LOSSFN_BOX_XYWH, LOSSFN_IOU_KIND_GIOU, 1.0, out.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK);
    assert!(out[0].is_finite(), "matrix: {out:?}");
    // A finite-difference check on the clamped side (C < 0: d/dC = 1/eps).
    let f = |p: &[f64]| {
        let mut l = [0f64; 1];
        unsafe { lossfn_giou_loss_f64(p.as_ptr(), target.as_ptr(), null(), 1, &o, l.as_mut_ptr(), std::ptr::null_mut()) };
        l[0]
    };
    let pred2 = [0.0f64, 0.0, -1.0, 3.0];
    let (mut l2, mut g2) = ([0f64; 1], [0f64; 4]);
    unsafe { lossfn_giou_loss_f64(pred2.as_ptr(), target.as_ptr(), null(), 1, &o, l2.as_mut_ptr(), g2.as_mut_ptr()) };
    let fd = common::finite_diff(&pred2, 1e-6, f);
    common::assert_close("giou grad, C < 0", &g2, &fd, 1e-6, 1e-6);
}

/// Finding 4: Focal-EIoU's MEAN multiplies the gradient by 1 / Σ iou^γ·w in the input's type;
/// near-disjoint boxes with a large γ make that sum tiny and its reciprocal infinite in f32,
/// so every gradient was inf · 0 = NaN (or inf).
#[test]
fn focal_eiou_tiny_weight_sum_stays_finite() {
    // One box barely overlapping its target (IoU 6e-8), the others disjoint: with γ = 6,
    // Σ iou^γ ~ 5e-44, a subnormal f32 whose reciprocal overflows.
    let pred = [0.0f32, 0.0, 1.0, 1.0, 5.0, 5.0, 6.0, 6.0, 0.0, 0.0, 1.0, 1.0];
    let target = [0.999_999_9f32, 0.0, 2.0, 1.0, 8.0, 8.0, 9.0, 9.0, 3.0, 3.0, 4.0, 4.0];
    let mut o = lossfn_box_options_default();
    o.gamma = 6.0;
    let (mut loss, mut grad) = ([0f32; 1], [0f32; 12]);
    assert_eq!(unsafe { lossfn_eiou_loss_f32(pred.as_ptr(), target.as_ptr(), null(), 3, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
    assert!(loss.iter().chain(&grad).all(|v| v.is_finite()), "f32: {loss:?} {grad:?}");
    // The weighted mean of one term is that term: the loss and gradient of box 0 alone.
    let (mut l0, mut g0) = ([0f32; 1], [0f32; 4]);
    o.reduction = LOSSFN_REDUCTION_SUM;
    o.gamma = 0.0;
    assert_eq!(unsafe { lossfn_eiou_loss_f32(pred.as_ptr(), target.as_ptr(), null(), 1, &o, l0.as_mut_ptr(), g0.as_mut_ptr()) }, LOSSFN_OK);
    // (iou^γ is subnormal in f32: a few significant bits only.)
    common::assert_close("loss", &[loss[0] as f64], &[l0[0] as f64], 0.1, 0.0);
    for (g, e) in grad.iter().zip(g0) {
        assert!(g.signum() == e.signum() && (g - e).abs() <= 0.5 * e.abs(), "grad {grad:?} vs {g0:?}");
    }
    assert!(grad[4..].iter().all(|&v| v == 0.0), "{grad:?}");
    // f64 with a sum below the smallest normal double.
    let (p64, t64) = (pred.map(|v| v as f64), target.map(|v| v as f64));
    o.reduction = LOSSFN_REDUCTION_MEAN;
    o.gamma = 44.0; // Σ iou^γ ~ 1e-318, subnormal in f64
    let (mut loss, mut grad) = ([0f64; 1], [0f64; 12]);
    assert_eq!(unsafe { lossfn_eiou_loss_f64(p64.as_ptr(), t64.as_ptr(), null(), 3, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
    assert!(loss.iter().chain(&grad).all(|v| v.is_finite()), "f64: {loss:?} {grad:?}");
    let (mut l0, mut g0) = ([0f64; 1], [0f64; 4]);
    o.reduction = LOSSFN_REDUCTION_SUM;
    o.gamma = 0.0;
    assert_eq!(unsafe { lossfn_eiou_loss_f64(p64.as_ptr(), t64.as_ptr(), null(), 1, &o, l0.as_mut_ptr(), g0.as_mut_ptr()) }, LOSSFN_OK);
    common::assert_close("f64 loss", &loss, &l0, 1e-3, 0.0);
    common::assert_close("f64 grad", &grad[..4], &g0, 1e-3, 1e-6);
}

/// Finding 5: Dice/Tversky computed num/den² with den² underflowing for tiny predicted masses
/// (softmax of logits far apart), and Tversky with alpha = beta = 0 (score ≡ 1) subtracted two
/// infinities: inf or NaN gradients from finite input (f64 too).
#[test]
fn overlap_tiny_denominators_stay_finite() {
    // Soft targets with a tiny mass on class 1, whose predicted mass is tiny too (logit −700).
    let input = [0.0f64, 0.0, 0.0, 0.0, -700.0, -700.0, -700.0, -700.0];
    let target = [1.0f64, 1.0, 1.0, 1.0, 1e-300, 0.0, 0.0, 0.0];
    let shape = lossfn_shape { batch: 1, classes: 2, spatial: 4, layout: LOSSFN_LAYOUT_NCS };
    for (alpha, beta, gamma) in [(0.0, 0.0, 1.0), (0.0, 0.0, 0.5), (0.3, 0.7, 1.0)] {
        let mut o = lossfn_overlap_options_default();
        (o.smooth_nr, o.smooth_dr, o.alpha, o.beta, o.gamma) = (0.0, 0.0, alpha, beta, gamma);
        let (mut loss, mut grad) = ([0f64; 1], [0f64; 8]);
        let st = unsafe { lossfn_tversky_loss_soft_f64(input.as_ptr(), target.as_ptr(), null(), shape, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) };
        assert_eq!(st, LOSSFN_OK);
        assert!(loss.iter().chain(&grad).all(|v| v.is_finite()), "tversky alpha {alpha} beta {beta} gamma {gamma}: {loss:?} {grad:?}");
        let st = unsafe { lossfn_dice_loss_soft_f64(input.as_ptr(), target.as_ptr(), null(), shape, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) };
        assert_eq!(st, LOSSFN_OK);
        assert!(loss.iter().chain(&grad).all(|v| v.is_finite()), "dice gamma {gamma}: {loss:?} {grad:?}");
    }
}

/// Finding 6: squared-prediction Dice without smoothing on an empty mask: Σp² of confident
/// "absent" predictions underflows to ~1e-43 in f32, the gradient coefficient 2/den overflowed
/// f32 and met g = 0: inf · 0 = NaN.
#[test]
fn dice_squared_pred_empty_mask_f32_stays_finite() {
    let input = [0.0f32, 0.0, 0.0, 0.0, -50.0, -50.0, -50.0, -50.0];
    let target = [0.0f32; 8];
    let shape = lossfn_shape { batch: 1, classes: 2, spatial: 4, layout: LOSSFN_LAYOUT_NCS };
    let mut o = lossfn_overlap_options_default();
    (o.smooth_nr, o.smooth_dr, o.squared_pred) = (0.0, 0.0, true);
    let (mut loss, mut grad) = ([0f32; 1], [0f32; 8]);
    let st = unsafe { lossfn_dice_loss_soft_f32(input.as_ptr(), target.as_ptr(), null(), shape, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK);
    assert!(loss.iter().chain(&grad).all(|v| v.is_finite()), "{loss:?} {grad:?}");
}

/// Finding 7: softmax focal loss (row layout, NSC or spatial 1) never wrote the gradient rows
/// of ignored positions: it scaled whatever the caller's buffer held by 0, so NaN/Inf garbage
/// (np.empty, a reused buffer) stayed NaN, and other garbage became ±0 by luck.
#[test]
fn softmax_focal_zeroes_ignored_rows_whatever_the_buffer_held() {
    let logits = [0.5f64, -1.0, 2.0, 0.1, 0.2, 0.3, -2.0, 1.0, 0.0];
    let target = [1i64, -100, 2];
    let shape = lossfn_shape { batch: 3, classes: 3, spatial: 1, layout: LOSSFN_LAYOUT_NSC };
    for garbage in [f64::NAN, f64::INFINITY, 1e300, 7.0] {
        let (mut loss, mut grad) = ([0f64; 1], [garbage; 9]);
        let st = unsafe { lossfn_softmax_focal_loss_f64(logits.as_ptr(), target.as_ptr(), null(), shape, null(), loss.as_mut_ptr(), grad.as_mut_ptr()) };
        assert_eq!(st, LOSSFN_OK);
        assert_eq!(&grad[3..6], &[0.0; 3], "ignored row with a buffer of {garbage}: {grad:?}");
        let l32 = logits.map(|v| v as f32);
        let (mut loss, mut grad) = ([0f32; 1], [garbage as f32; 9]);
        let st = unsafe { lossfn_softmax_focal_loss_f32(l32.as_ptr(), target.as_ptr(), null(), shape, null(), loss.as_mut_ptr(), grad.as_mut_ptr()) };
        assert_eq!(st, LOSSFN_OK);
        assert_eq!(&grad[3..6], &[0.0; 3], "f32 ignored row with a buffer of {garbage}: {grad:?}");
    }
}

/// Finding 8: CDIoU's gradient through the enclosing diagonal was (−4λ·Σd/den²)/diag · cw;
/// with an inverted target and a near-point prediction the diagonal is ~1e-22 while Σd is
/// large, and the first factor overflowed f32 although the gradient (~1e17) does not.
#[test]
fn cdiou_tiny_diagonal_f32_stays_finite() {
    let p = [-1.266_898_9e-22f32, 0.0, -1.401_298_5e-45, -0.0];
    let t = [13.870_808f32, 61.008_88, -5.988_362, -98.844_6];
    let o = lossfn_box_options_default();
    let (mut loss, mut grad) = ([0f32; 1], [0f32; 4]);
    assert_eq!(unsafe { lossfn_cdiou_loss_f32(p.as_ptr(), t.as_ptr(), null(), 1, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
    assert!(loss.iter().chain(&grad).all(|v| v.is_finite()), "{loss:?} {grad:?}");
    let (p64, t64) = (p.map(|v| v as f64), t.map(|v| v as f64));
    let (mut l64, mut g64) = ([0f64; 1], [0f64; 4]);
    assert_eq!(unsafe { lossfn_cdiou_loss_f64(p64.as_ptr(), t64.as_ptr(), null(), 1, &o, l64.as_mut_ptr(), g64.as_mut_ptr()) }, LOSSFN_OK);
    let g: Vec<f64> = grad.iter().map(|&v| v as f64).collect();
    common::assert_close("f32 vs f64", &g, &g64, 0.05, 1e-6);
}

/// Finding 9: class-axis losses on an empty NCS tensor whose non-zero dims multiply past
/// isize::MAX (batch 6e18 with spatial 0, or the reverse) hit ndarray's shape check:
/// LOSSFN_ERROR_INTERNAL (a caught panic) for a valid call with nothing to compute.
#[test]
fn classification_empty_tensor_with_huge_dims_is_ok() {
    let huge = usize::MAX / 3;
    for (batch, spatial) in [(huge, 0), (0, huge)] {
        for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
            let s = lossfn_shape { batch, classes: 3, spatial, layout };
            let (e, t) = ([0f32; 0].as_ptr(), [0i64; 0].as_ptr());
            let mut loss = [7.5f32];
            let g = std::ptr::null_mut();
            let statuses = unsafe {
                [
                    lossfn_cross_entropy_f32(e, t, null(), s, null(), loss.as_mut_ptr(), g),
                    lossfn_cross_entropy_soft_f32(e, e, null(), s, null(), loss.as_mut_ptr(), g),
                    lossfn_entropy_f32(e, s, null(), loss.as_mut_ptr(), g),
                    lossfn_kl_div_logits_f32(e, e, s, null(), loss.as_mut_ptr(), g),
                    lossfn_softmax_focal_loss_f32(e, t, null(), s, null(), loss.as_mut_ptr(), g),
                    lossfn_bce_with_logits_f32(e, e, null(), null(), s, null(), loss.as_mut_ptr(), g),
                    lossfn_kl_div_f32(e, e, s, null(), loss.as_mut_ptr(), g),
                    lossfn_sigmoid_focal_loss_f32(e, e, null(), s, null(), loss.as_mut_ptr(), g),
                ]
            };
            assert_eq!(statuses, [LOSSFN_OK; 8], "shape {s:?}: {}", common::last_error());
            assert_eq!(loss[0], 0.0);
            let e = [0f64; 0].as_ptr();
            let mut loss = [7.5f64];
            let st = unsafe { lossfn_cross_entropy_f64(e, t, null(), s, null(), loss.as_mut_ptr(), std::ptr::null_mut()) };
            assert_eq!((st, loss[0]), (LOSSFN_OK, 0.0), "f64 shape {s:?}");
        }
    }
}

/// Finding 10 (libFuzzer, overflow checks on): Dice/Tversky multiplied classes × spatial
/// unchecked while sizing their work, which overflows for an empty tensor (batch 0) with a
/// huge spatial size or class count: a panic (LOSSFN_ERROR_INTERNAL) in builds with overflow
/// checks, a silent wrap otherwise. Meaningful under `cargo test` (debug).
#[test]
fn overlap_empty_tensor_with_huge_dims_is_ok() {
    let huge = usize::MAX / 3;
    for (classes, spatial) in [(6, huge), (1 << 59, 64), (3, usize::MAX)] {
        for pooled in [false, true] {
            // A pooled score per class needs `classes` of them: 2^59 is simply too many to run
            // (docs/hardening.md, "Overlap cost with empty tensors").
            if pooled && classes == 1 << 59 {
                continue;
            }
            for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
                let s = lossfn_shape { batch: 0, classes, spatial, layout };
                let mut o = lossfn_overlap_options_default();
                o.batch = pooled;
                o.activation = LOSSFN_ACTIVATION_SIGMOID;
                let (x, t) = ([0f32; 0].as_ptr(), [0i64; 0].as_ptr());
                let mut loss = [7.5f32];
                let grad = [0f32; 0].as_ptr() as *mut f32;
                for st in unsafe {
                    [
                        lossfn_dice_loss_f32(x, t, null(), s, &o, loss.as_mut_ptr(), grad),
                        lossfn_tversky_loss_soft_f32(x, x, null(), s, &o, loss.as_mut_ptr(), grad),
                    ]
                } {
                    assert_eq!(st, LOSSFN_OK, "shape {s:?} pooled {pooled}: {}", common::last_error());
                }
            }
        }
    }
}

/// Finding 11: Tversky without smoothing where a class's predicted mass is subnormal (sigmoid
/// of −745): den = TP is subnormal, ∂score/∂TP = 1/den overflows, and a zero upstream factor
/// (flat focal base, or a class weight of 0) times it gave 0 · inf = NaN.
#[test]
fn overlap_zero_upstream_times_overflowing_derivative_is_zero() {
    let x = [-745.0f64, 9999.5, -10000.0, 0.0];
    let t = [0i64];
    let cw = [1e4f64, 0.0, 1e-30, 0.0];
    let s = lossfn_shape { batch: 1, classes: 4, spatial: 1, layout: LOSSFN_LAYOUT_NCS };
    let mut o = lossfn_overlap_options_default();
    (o.reduction, o.activation, o.smooth_nr, o.smooth_dr) = (LOSSFN_REDUCTION_SUM, LOSSFN_ACTIVATION_SIGMOID, 0.0, 0.0);
    for (alpha, beta, gamma) in [(1.0, 0.0, 0.75), (1.0, 0.0, 1.0), (5.0, 1.0, 1e-3)] {
        (o.alpha, o.beta, o.gamma) = (alpha, beta, gamma);
        let (mut loss, mut grad) = ([0f64; 1], [0f64; 4]);
        let st = unsafe { lossfn_tversky_loss_f64(x.as_ptr(), t.as_ptr(), cw.as_ptr(), s, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) };
        assert_eq!(st, LOSSFN_OK);
        assert!(loss.iter().chain(&grad).all(|v| v.is_finite()), "alpha {alpha} beta {beta} gamma {gamma}: {loss:?} {grad:?}");
    }
}

/// Finding 12: CIoU f32 with a degenerate prediction (w = 0, h ≈ −6e-23): the aspect-ratio
/// derivative s = c/(w² + h²) overflowed on the subnormal w² + h², and s·w = ∞·0 gave NaN.
/// The numerators are formed first, so the gradient is finite (and 0 where w² + h² is 0).
#[test]
fn ciou_subnormal_aspect_radius_f32_stays_finite() {
    let p = [0.0f32, 1.002_548e-16, -0.0, -6.137_488e-23];
    let t = [-0.809_115_8f32, 0.515_356_3, -2.831_475_7, -2.543_115_4];
    let w = [0.863_280_3f32];
    let mut o = lossfn_box_options_default();
    o.format = LOSSFN_BOX_XYWH;
    o.reduction = LOSSFN_REDUCTION_SUM;
    o.eps = 2.588_765_932_247_042_7;
    o.loss_weight = 0.1;
    o.accumulate = true;
    let (mut loss, mut grad) = ([0f32; 1], [0f32; 4]);
    assert_eq!(unsafe { lossfn_ciou_loss_f32(p.as_ptr(), t.as_ptr(), w.as_ptr(), 1, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
    assert!(loss.iter().chain(&grad).all(|v| v.is_finite()), "{loss:?} {grad:?}");
    let (p64, t64, w64) = (p.map(|v| v as f64), t.map(|v| v as f64), w.map(|v| v as f64));
    let (mut l64, mut g64) = ([0f64; 1], [0f64; 4]);
    assert_eq!(unsafe { lossfn_ciou_loss_f64(p64.as_ptr(), t64.as_ptr(), w64.as_ptr(), 1, &o, l64.as_mut_ptr(), g64.as_mut_ptr()) }, LOSSFN_OK);
    let g: Vec<f64> = grad.iter().map(|&v| v as f64).collect();
    common::assert_close("f32 vs f64 loss", &[loss[0] as f64], &l64, 1e-5, 1e-6);
    // In f32, w² + h² ≈ 3.7e-45 = 3 · 2⁻¹⁴⁹ is subnormal with two significant bits, so the
    // ~4e21 gradient can only match f64 to that precision: same sign, within 25 %.
    for (a, b) in g.iter().zip(&g64) {
        assert!(a.signum() == b.signum() && (a - b).abs() <= 0.25 * b.abs().max(1e-6), "f32 {g:?} vs f64 {g64:?}");
    }
}

/// Issue 32: the entropy of f32 logits ±3e38 was NaN (z − max overflows to −∞ where exp(z − max)
/// underflows to 0, and 0·∞ is NaN); its true value is 0 with a zero gradient. Both layouts
/// (rows and class-major tiles), f32 and f64 (f64: ±1.7e308).
#[test]
fn entropy_of_logits_at_the_ends_of_the_type_is_finite() {
    for layout in [LOSSFN_LAYOUT_NSC, LOSSFN_LAYOUT_NCS] {
        let shape = lossfn_shape { batch: 2, classes: 3, spatial: 2, layout };
        let o = lossfn_entropy_options { reduction: LOSSFN_REDUCTION_NONE, ..lossfn_entropy_options_default() };
        let big = [3e38f32, -3e38, -3e38, -3e38, 3e38, 0.0, 1.0, -3e38, 2.0, 3e38, -3e38, -3e38];
        let (mut loss, mut grad) = ([f32::NAN; 4], [f32::NAN; 12]);
        assert_eq!(unsafe { lossfn_entropy_f32(big.as_ptr(), shape, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
        assert!(loss.iter().chain(&grad).all(|v| v.is_finite()), "f32 layout {layout}: loss {loss:?} grad {grad:?}");
        let big64: Vec<f64> = big.iter().map(|&v| v as f64 * 5e269).collect();
        let (mut loss64, mut grad64) = ([f64::NAN; 4], [f64::NAN; 12]);
        assert_eq!(unsafe { lossfn_entropy_f64(big64.as_ptr(), shape, &o, loss64.as_mut_ptr(), grad64.as_mut_ptr()) }, LOSSFN_OK);
        assert!(loss64.iter().chain(&grad64).all(|v| v.is_finite()), "f64 layout {layout}: loss {loss64:?} grad {grad64:?}");
        // The values: the entropy of each position's softmax, in f64 with the max subtracted
        // (exp(−6e38) = 0 there without any 0·∞).
        for (pos, &got) in loss.iter().enumerate() {
            let (n, sp) = (pos / 2, pos % 2);
            let z: Vec<f64> = (0..3)
                .map(|c| big[if layout == LOSSFN_LAYOUT_NSC { (n * 2 + sp) * 3 + c } else { (n * 3 + c) * 2 + sp }] as f64)
                .collect();
            let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
            let sum: f64 = e.iter().sum();
            let h: f64 = -e.iter().map(|&ev| if ev == 0.0 { 0.0 } else { ev / sum * (ev / sum).ln() }).sum::<f64>();
            assert!((got as f64 - h).abs() < 1e-6, "f32 layout {layout} position {pos}: {got} vs {h}");
        }
    }
}

/// Issue 32: regression losses at the ends of the type. f32 differences that overflow
/// (3e38 − (−3e38)), terms above f32's range (d² of 1e20, a weight of 3e38 times its term) and
/// weights whose sum is subnormal or beyond the type (f32 and f64) gave NaN or inf where the true
/// value is finite: every output is now the true value (computed here in f64, or in f64 on
/// halved inputs for f64) rounded to the type, +inf exactly where that overflows.
#[test]
fn regression_losses_at_the_ends_of_the_type() {
    type F32 = unsafe extern "C" fn(*const f32, *const f32, *const f32, usize, *const lossfn_regression_options, *mut f32, *mut f32) -> u32;
    type F64 = unsafe extern "C" fn(*const f64, *const f64, *const f64, usize, *const lossfn_regression_options, *mut f64, *mut f64) -> u32;
    // (name, f32, f64, l and ∂l/∂d of d in f64 with β = δ = 1)
    let sign = |d: f64| if d > 0.0 { 1.0 } else if d < 0.0 { -1.0 } else { 0.0 };
    let l1 = move |d: f64| (d.abs(), sign(d));
    let mse = |d: f64| (d * d, 2.0 * d);
    let smooth = move |d: f64| if d.abs() < 1.0 { (0.5 * d * d, d) } else { (d.abs() - 0.5, sign(d)) };
    let fns: [(&str, F32, F64, &dyn Fn(f64) -> (f64, f64)); 4] = [
        ("l1", lossfn_l1_loss_f32, lossfn_l1_loss_f64, &l1),
        ("mse", lossfn_mse_loss_f32, lossfn_mse_loss_f64, &mse),
        ("smooth_l1", lossfn_smooth_l1_loss_f32, lossfn_smooth_l1_loss_f64, &smooth),
        ("huber", lossfn_huber_loss_f32, lossfn_huber_loss_f64, &smooth),
    ];
    // The value rounded to f32 (or f64; to a few units of the smallest subnormal where the true
    // value is subnormal), or its exact overflow.
    let close = |got: f64, want: f64, tol: f64| {
        let tiny = if tol < 1e-9 { 4.0 * 5e-324 } else { 4.0 * 1.4e-45 };
        if want.is_infinite() || got.is_infinite() {
            got == want
        } else {
            (got - want).abs() <= (tol * want.abs()).max(tiny)
        }
    };
    // 600 elements (three blocks of the kernel): ordinary pairs, with overflowing differences and
    // huge terms at a few places.
    let n = 600;
    let mut x: Vec<f32> = (0..n).map(|i| ((i * 7919) % 200) as f32 / 40.0 - 2.5).collect();
    let mut t: Vec<f32> = (0..n).map(|i| ((i * 104_729) % 150) as f32 / 30.0 - 2.5).collect();
    for &(i, a, b) in &[(3, 3e38f32, -3e38f32), (300, -2.5e38, 2.9e38), (301, 1e20, -1e20), (599, 1e19, 0.0)] {
        x[i] = a;
        t[i] = b;
    }
    let ones = vec![1f32; n];
    let mut huge_w = ones.clone();
    huge_w[7] = 3e38;
    huge_w[8] = 3e38;
    let mut tiny_w = vec![0f32; n];
    tiny_w[10] = 1e-45;
    tiny_w[11] = 3e-45;
    let weights: [(&str, Option<&[f32]>); 3] = [("none", None), ("huge", Some(&huge_w)), ("subnormal", Some(&tiny_w))];
    for (name, f, _, lf) in &fns {
        for (wname, w) in &weights {
            for reduction in [LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM, LOSSFN_REDUCTION_NONE] {
                let o = lossfn_regression_options { reduction, ..lossfn_regression_options_default() };
                let wv = |i: usize| w.map_or(1.0, |w| w[i] as f64);
                let den: f64 = (0..n).map(wv).sum();
                let scale = if reduction == LOSSFN_REDUCTION_MEAN { 1.0 / den } else { 1.0 };
                let terms: Vec<(f64, f64)> = (0..n).map(|i| lf(x[i] as f64 - t[i] as f64)).collect();
                let nl = if reduction == LOSSFN_REDUCTION_NONE { n } else { 1 };
                let (mut loss, mut grad) = (vec![f32::NAN; nl], vec![f32::NAN; n]);
                let wp = w.map_or(null(), |w| w.as_ptr());
                assert_eq!(unsafe { f(x.as_ptr(), t.as_ptr(), wp, n, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
                let what = format!("{name}_f32 weights {wname} reduction {reduction}");
                if reduction == LOSSFN_REDUCTION_NONE {
                    for i in 0..n {
                        let want = (wv(i) * terms[i].0) as f32;
                        assert!(close(loss[i] as f64, want as f64, 1e-6), "{what}: loss[{i}] {} vs {want}", loss[i]);
                    }
                } else {
                    let want = ((0..n).map(|i| wv(i) * terms[i].0).sum::<f64>() * scale) as f32;
                    assert!(close(loss[0] as f64, want as f64, 1e-5), "{what}: loss {} vs {want}", loss[0]);
                }
                for i in 0..n {
                    let want = (wv(i) * scale * terms[i].1) as f32;
                    assert!(close(grad[i] as f64, want as f64, 1e-6), "{what}: grad[{i}] {} vs {want}", grad[i]);
                }
            }
        }
    }
    // f64: weights whose sum is subnormal or overflows f64 (MEAN is the same for any common scale
    // of the weights: the reference divides them by their largest first).
    let x64: Vec<f64> = x.iter().map(|&v| v.clamp(-3.0, 3.0) as f64).collect();
    let t64: Vec<f64> = t.iter().map(|&v| v.clamp(-3.0, 3.0) as f64).collect();
    let mut huge64 = vec![1f64; n];
    huge64[7] = 1.7e308;
    huge64[8] = 1.5e308;
    let mut tiny64 = vec![0f64; n];
    tiny64[10] = 5e-324;
    tiny64[11] = 1.5e-323;
    for (name, _, g, lf) in &fns {
        for (wname, w, big) in [("huge", &huge64, 1.7e308), ("subnormal", &tiny64, 1.5e-323)] {
            let o = lossfn_regression_options_default();
            let (mut loss, mut grad) = ([f64::NAN], vec![f64::NAN; n]);
            assert_eq!(unsafe { g(x64.as_ptr(), t64.as_ptr(), w.as_ptr(), n, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
            let wn: Vec<f64> = w.iter().map(|&v| v / big).collect();
            let den: f64 = wn.iter().sum();
            let terms: Vec<(f64, f64)> = (0..n).map(|i| lf(x64[i] - t64[i])).collect();
            let want = (0..n).map(|i| wn[i] * terms[i].0).sum::<f64>() / den;
            let what = format!("{name}_f64 weights {wname}");
            assert!(close(loss[0], want, 1e-12), "{what}: loss {} vs {want}", loss[0]);
            for i in 0..n {
                let want = wn[i] / den * terms[i].1;
                assert!(close(grad[i], want, 1e-12), "{what}: grad[{i}] {} vs {want}", grad[i]);
            }
        }
    }
}

/// Issue 32: box losses with coordinates near the type's range (1e30 in f32, 1e300 in f64)
/// overflowed areas and squared diagonals: NaN. Box losses are scale-invariant (but for `eps`,
/// negligible at that size): the loss equals the loss of the pair at unit scale and the gradient
/// is the unit-scale gradient divided by the scale — for every box loss, both types, in blocks
/// that mix huge and ordinary pairs.
#[test]
fn box_losses_with_huge_coordinates_are_scale_invariant() {
    type L32 = unsafe extern "C" fn(*const f32, *const f32, *const f32, usize, *const lossfn_box_options, *mut f32, *mut f32) -> u32;
    type L64 = unsafe extern "C" fn(*const f64, *const f64, *const f64, usize, *const lossfn_box_options, *mut f64, *mut f64) -> u32;
    let fns: [(&str, L32, L64); 7] = [
        ("iou", lossfn_iou_loss_f32, lossfn_iou_loss_f64),
        ("giou", lossfn_giou_loss_f32, lossfn_giou_loss_f64),
        ("diou", lossfn_diou_loss_f32, lossfn_diou_loss_f64),
        ("ciou", lossfn_ciou_loss_f32, lossfn_ciou_loss_f64),
        ("eiou", lossfn_eiou_loss_f32, lossfn_eiou_loss_f64),
        ("cdiou", lossfn_cdiou_loss_f32, lossfn_cdiou_loss_f64),
        ("siou", lossfn_siou_loss_f32, lossfn_siou_loss_f64),
    ];
    // 70 pairs at unit scale (more than one block of the driver), some inverted or disjoint.
    let n = 70;
    let unit_p: Vec<f64> = (0..4 * n).map(|i| ((i * 37 % 23) as f64) / 7.0 + if i % 4 >= 2 { 3.0 } else { 0.0 }).collect();
    let unit_t: Vec<f64> = (0..4 * n).map(|i| ((i * 53 % 19) as f64) / 6.0 + if i % 4 >= 2 { 2.5 } else { 0.0 }).collect();
    // eps (1e-7 by default) would perturb the unit-scale reference by ~1e-8: tiny here.
    let o = lossfn_box_options { reduction: LOSSFN_REDUCTION_NONE, eps: 1e-15, ..lossfn_box_options_default() };
    for (name, f, g) in fns {
        let (mut ref_l, mut ref_g) = (vec![0f64; n], vec![0f64; 4 * n]);
        assert_eq!(unsafe { g(unit_p.as_ptr(), unit_t.as_ptr(), null(), n, &o, ref_l.as_mut_ptr(), ref_g.as_mut_ptr()) }, LOSSFN_OK);
        // Every third pair scaled up (the others stay at unit scale, in the same blocks).
        let scale_of = |i: usize, big: f64| if i % 3 == 0 { big } else { 1.0 };
        for big in [1e30, 3e37, 1e20] {
            let p: Vec<f32> = unit_p.iter().enumerate().map(|(k, &v)| (v * scale_of(k / 4, big)) as f32).collect();
            let t: Vec<f32> = unit_t.iter().enumerate().map(|(k, &v)| (v * scale_of(k / 4, big)) as f32).collect();
            let (mut l, mut gr) = (vec![f32::NAN; n], vec![f32::NAN; 4 * n]);
            assert_eq!(unsafe { f(p.as_ptr(), t.as_ptr(), null(), n, &o, l.as_mut_ptr(), gr.as_mut_ptr()) }, LOSSFN_OK);
            for i in 0..n {
                let s = scale_of(i, big);
                assert!((l[i] as f64 - ref_l[i]).abs() <= 1e-4 * (1.0 + ref_l[i].abs()), "{name}_f32 scale {big:e} pair {i}: loss {} vs {}", l[i], ref_l[i]);
                for k in 0..4 {
                    let (got, want) = (gr[4 * i + k] as f64 * s, ref_g[4 * i + k]);
                    assert!((got - want).abs() <= 1e-3 * (1.0 + want.abs()), "{name}_f32 scale {big:e} pair {i}: grad {k} {got} vs {want}");
                }
            }
        }
        for big in [1e300, 1e307, 1e160] {
            let p: Vec<f64> = unit_p.iter().enumerate().map(|(k, &v)| v * scale_of(k / 4, big)).collect();
            let t: Vec<f64> = unit_t.iter().enumerate().map(|(k, &v)| v * scale_of(k / 4, big)).collect();
            let (mut l, mut gr) = (vec![f64::NAN; n], vec![f64::NAN; 4 * n]);
            assert_eq!(unsafe { g(p.as_ptr(), t.as_ptr(), null(), n, &o, l.as_mut_ptr(), gr.as_mut_ptr()) }, LOSSFN_OK);
            for i in 0..n {
                let s = scale_of(i, big);
                assert!((l[i] - ref_l[i]).abs() <= 1e-9 * (1.0 + ref_l[i].abs()), "{name}_f64 scale {big:e} pair {i}: loss {} vs {}", l[i], ref_l[i]);
                for k in 0..4 {
                    let (got, want) = (gr[4 * i + k] * s, ref_g[4 * i + k]);
                    assert!((got - want).abs() <= 1e-9 * (1.0 + want.abs()), "{name}_f64 scale {big:e} pair {i}: grad {k} {got} vs {want}");
                }
            }
        }
    }
}

/// Term weights in [0.5, 2) at scale `k` (a power of two) as the type holds them (subnormal ones
/// keep fewer bits), and the same weights brought back to unit scale (exactly).
fn scaled_weights<T: lossfn::Float>(n: usize, k: f64) -> (Vec<T>, Vec<T>) {
    let w: Vec<T> = (0..n).map(|i| T::of((0.5 + (i * 29 % 31) as f64 / 20.0) * k)).collect();
    let unit = w.iter().map(|v| T::of(v.f64() / k)).collect();
    (w, unit)
}

/// The losses and gradient of a call with scaled weights equal those at unit scale (MEAN is
/// invariant to a common scale of the weights), to `tol` relative (the gradient: of its largest).
fn assert_scale_invariant(what: &str, l: &[f64], l_ref: &[f64], g: &[f64], g_ref: &[f64], tol: f64) {
    for (a, e) in l.iter().zip(l_ref) {
        assert!((a - e).abs() <= tol * e.abs(), "{what}: loss {l:?} vs {l_ref:?}");
    }
    let gmax = g_ref.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (i, (a, e)) in g.iter().zip(g_ref).enumerate() {
        assert!((a - e).abs() <= tol * gmax, "{what}: grad[{i}] {a} vs {e}");
    }
}

/// Issue 32 (docs/hardening.md, "MEAN with vanishing weights"): box-loss MEAN with term weights
/// near the ends of the type — subnormal (their Σ and its reciprocal out of range) or near the
/// largest finite value (w·l overflows) — is the MEAN of the same weights at unit scale (MEAN is
/// invariant to a common scale of the weights), for every box loss and Focal-EIoU, ProbIoU, DFL
/// and the box branch, f32 and f64.
#[test]
fn box_losses_mean_with_weights_at_the_ends_of_the_type() {
    use lossfn::boxes::{self as b, Options};
    use lossfn::Float;
    type BoxFn<T> = fn(&[T], &[T], Option<&[T]>, &Options, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
    fn check<T: Float>(scales: [f64; 2], tol: f64) {
        let n = 70;
        let p: Vec<T> = (0..4 * n).map(|i| T::of(((i * 37 % 23) as f64) / 7.0 + if i % 4 >= 2 { 3.0 } else { 0.0 })).collect();
        let t: Vec<T> = (0..4 * n).map(|i| T::of(((i * 53 % 19) as f64) / 6.0 + if i % 4 >= 2 { 2.5 } else { 0.0 })).collect();
        let o = Options::default();
        let fns: [(&str, BoxFn<T>, Options); 8] = [
            ("iou", b::iou_loss, o),
            ("giou", b::giou_loss, o),
            ("diou", b::diou_loss, o),
            ("ciou", b::ciou_loss, o),
            ("eiou", b::eiou_loss, o),
            ("focal-eiou", b::eiou_loss, Options { gamma: 0.5, ..o }),
            ("cdiou", b::cdiou_loss, o),
            ("siou", b::siou_loss, o),
        ];
        for k in scales {
            // The weights at scale k as the type holds them (subnormal ones keep fewer bits), and
            // the same weights brought back to unit scale (exactly: k is a power of two).
            let (w, unit) = scaled_weights::<T>(n, k);
            for (name, f, o) in fns {
                let run = |w: &[T]| {
                    let (mut loss, mut grad) = ([T::zero()], vec![T::zero(); 4 * n]);
                    f(&p, &t, Some(w), &o, &mut loss, Some(&mut grad)).unwrap();
                    (loss[0].f64(), grad.iter().map(|g| g.f64()).collect::<Vec<_>>())
                };
                let ((l, g), (l_ref, g_ref)) = (run(&w), run(&unit));
                assert_scale_invariant(&format!("{name} {} weights x {k:e}", std::any::type_name::<T>()), &[l], &[l_ref], &g, &g_ref, tol);
            }
        }
    }
    fn check_probiou<T: Float>(scales: [f64; 2], tol: f64) {
        let n = 70;
        let p: Vec<T> = (0..5 * n).map(|i| T::of(if i % 5 == 4 { (i % 7) as f64 / 5.0 } else { ((i * 37 % 23) as f64) / 7.0 + if i % 5 >= 2 { 3.0 } else { 0.0 } })).collect();
        let t: Vec<T> = (0..5 * n).map(|i| T::of(if i % 5 == 4 { (i % 5) as f64 / 4.0 } else { ((i * 53 % 19) as f64) / 6.0 + if i % 5 >= 2 { 2.5 } else { 0.0 } })).collect();
        for k in scales {
            let (w, unit) = scaled_weights::<T>(n, k);
            let run = |w: &[T]| {
                let (mut loss, mut grad) = ([T::zero()], vec![T::zero(); 5 * n]);
                b::probiou_loss(&p, &t, Some(w), &b::RotatedOptions::default(), &mut loss, Some(&mut grad)).unwrap();
                (loss[0].f64(), grad.iter().map(|g| g.f64()).collect::<Vec<_>>())
            };
            let ((l, g), (l_ref, g_ref)) = (run(&w), run(&unit));
            assert_scale_invariant(&format!("probiou {} weights x {k:e}", std::any::type_name::<T>()), &[l], &[l_ref], &g, &g_ref, tol);
        }
    }
    /// DFL (4 sides, 16 bins) and the box branch (its two parts) on the same weights.
    fn check_dfl<T: Float>(scales: [f64; 2], tol: f64) {
        use lossfn::dfl;
        let (n, bins) = (70, 16);
        let logits: Vec<T> = (0..n * 4 * bins).map(|i| T::of(((i * 37 % 41) as f64) / 8.0 - 2.5)).collect();
        let target: Vec<T> = (0..n * 4).map(|i| T::of(((i * 53 % 29) as f64) / 2.0)).collect();
        let anchors: Vec<T> = (0..2 * n).map(|i| T::of(20.0 + (i % 9) as f64)).collect();
        let boxes: Vec<T> = (0..4 * n).map(|i| T::of(20.0 + (i % 9) as f64 + if i % 4 < 2 { -((i * 7 % 13) as f64) } else { (i * 11 % 13) as f64 })).collect();
        for k in scales {
            let (w, unit) = scaled_weights::<T>(n, k);
            for branch in [false, true] {
                let run = |w: &[T]| {
                    let (mut loss, mut grad) = (vec![T::zero(); if branch { 2 } else { 1 }], vec![T::zero(); n * 4 * bins]);
                    if branch {
                        dfl::dfl_box_loss(&logits, &anchors, &boxes, Some(w), bins, &dfl::BoxOptions::default(), &mut loss, Some(&mut grad)).unwrap();
                    } else {
                        dfl::dfl_loss(&logits, &target, Some(w), 4, bins, &dfl::Options::default(), &mut loss, Some(&mut grad)).unwrap();
                    }
                    (loss.iter().map(|v| v.f64()).collect::<Vec<_>>(), grad.iter().map(|g| g.f64()).collect::<Vec<_>>())
                };
                let ((l, g), (l_ref, g_ref)) = (run(&w), run(&unit));
                assert_scale_invariant(&format!("{} {} weights x {k:e}", if branch { "dfl_box" } else { "dfl" }, std::any::type_name::<T>()), &l, &l_ref, &g, &g_ref, tol);
            }
        }
    }
    check_dfl::<f32>([2f64.powi(-140), 2f64.powi(126)], 1e-5);
    check_dfl::<f64>([2f64.powi(-1022) * 2f64.powi(-43), 2f64.powi(1022)], 1e-12);
    check_probiou::<f32>([2f64.powi(-140), 2f64.powi(126)], 1e-5);
    check_probiou::<f64>([2f64.powi(-1022) * 2f64.powi(-43), 2f64.powi(1022)], 1e-12);
    check::<f32>([2f64.powi(-140), 2f64.powi(126)], 1e-5);
    check::<f64>([2f64.powi(-1022) * 2f64.powi(-43), 2f64.powi(1022)], 1e-12);
}

/// Issue 32: the elementwise class-axis losses (BCE with logits, sigmoid focal, Varifocal,
/// Quality Focal) with element weights near the ends of the type give the MEAN of the same
/// weights at unit scale, f32 and f64, both layouts (finding 18).
#[test]
fn elementwise_losses_mean_with_weights_at_the_ends_of_the_type() {
    use lossfn::classification::{self as c, BceOptions, FocalOptions, Layout, QualityFocalOptions, Shape};
    use lossfn::Float;
    fn check<T: Float>(scales: [f64; 2], tol: f64) {
        for shape in [Shape { batch: 3, classes: 5, spatial: 29, layout: Layout::Ncs }, Shape { batch: 40, classes: 7, spatial: 1, layout: Layout::Nsc }] {
            let n = shape.len();
            let x: Vec<T> = (0..n).map(|i| T::of(((i * 37 % 41) as f64) / 6.0 - 3.0)).collect();
            let q: Vec<T> = (0..n).map(|i| T::of(if i % 3 == 0 { ((i * 11 % 17) as f64) / 17.0 } else { 0.0 })).collect();
            let pw: Vec<T> = (0..shape.classes).map(|i| T::of(0.5 + i as f64 / 4.0)).collect();
            for k in scales {
                let (w, unit) = scaled_weights::<T>(n, k);
                for name in ["bce", "sigmoid_focal", "varifocal", "quality_focal"] {
                    let run = |w: &[T]| {
                        let (mut loss, mut grad) = ([T::zero()], vec![T::zero(); n]);
                        let (l, g) = (&mut loss[..], Some(&mut grad[..]));
                        match name {
                            "bce" => c::bce_with_logits(&x, &q, Some(w), Some(&pw), shape, &BceOptions::default(), l, g),
                            "sigmoid_focal" => c::sigmoid_focal_loss(&x, &q, Some(w), shape, &FocalOptions::default(), l, g),
                            "varifocal" => c::varifocal_loss(&x, &q, Some(w), shape, &QualityFocalOptions::default(), l, g),
                            _ => c::quality_focal_loss(&x, &q, Some(w), shape, &QualityFocalOptions::default(), l, g),
                        }
                        .unwrap();
                        (loss[0].f64(), grad.iter().map(|g| g.f64()).collect::<Vec<_>>())
                    };
                    let ((l, g), (l_ref, g_ref)) = (run(&w), run(&unit));
                    assert_scale_invariant(&format!("{name} {} {:?} weights x {k:e}", std::any::type_name::<T>(), shape.layout), &[l], &[l_ref], &g, &g_ref, tol);
                }
            }
        }
    }
    check::<f32>([2f64.powi(-140), 2f64.powi(126)], 1e-5);
    check::<f64>([2f64.powi(-1022) * 2f64.powi(-43), 2f64.powi(1022)], 1e-12);
}

/// Issue 32: cross entropy with class weights near the ends of the type (a subnormal Σ w_y, or
/// w_y·l beyond the type) gives the MEAN of the same weights at unit scale, with and without
/// label smoothing, f32 and f64, both layouts; MEAN_DENOMINATOR still reports Σ w_y of the
/// caller's weights (finding 19).
#[test]
fn cross_entropy_mean_with_class_weights_at_the_ends_of_the_type() {
    use lossfn::classification::{cross_entropy, CrossEntropyOptions, Layout, Shape};
    use lossfn::{Float, Reduction};
    fn check<T: Float>(scales: [f64; 2], tol: f64) {
        for shape in [Shape { batch: 3, classes: 5, spatial: 29, layout: Layout::Ncs }, Shape { batch: 40, classes: 7, spatial: 1, layout: Layout::Nsc }] {
            let (n, pos) = (shape.len(), shape.positions());
            let x: Vec<T> = (0..n).map(|i| T::of(((i * 37 % 41) as f64) / 6.0 - 3.0)).collect();
            let y: Vec<i64> = (0..pos).map(|i| if i % 11 == 3 { -100 } else { (i * 7 % shape.classes) as i64 }).collect();
            for k in scales {
                let (w, unit) = scaled_weights::<T>(shape.classes, k);
                for label_smoothing in [0.0, 0.1] {
                    let o = CrossEntropyOptions { label_smoothing, ..Default::default() };
                    let run = |w: &[T]| {
                        let (mut loss, mut grad) = ([T::zero()], vec![T::zero(); n]);
                        cross_entropy(&x, &y, Some(w), shape, &o, &mut loss, Some(&mut grad)).unwrap();
                        (loss[0].f64(), grad.iter().map(|g| g.f64()).collect::<Vec<_>>())
                    };
                    let ((l, g), (l_ref, g_ref)) = (run(&w), run(&unit));
                    assert_scale_invariant(&format!("cross_entropy {} {:?} eps {label_smoothing} class weights x {k:e}", std::any::type_name::<T>(), shape.layout), &[l], &[l_ref], &g, &g_ref, tol);
                }
                // The denominator query: Σ w_y over the counted positions, of the weights given.
                let want: f64 = y.iter().filter(|&&v| v != -100).map(|&v| w[v as usize].f64()).sum();
                let mut den = [T::zero()];
                let o = CrossEntropyOptions { reduction: Reduction::MeanDenominator, ..Default::default() };
                cross_entropy(&x, &y, Some(&w), shape, &o, &mut den, None).unwrap();
                assert!((den[0].f64() - want).abs() <= 1e-6 * want, "MEAN_DENOMINATOR {} vs {want}", den[0].f64());
            }
        }
    }
    check::<f32>([2f64.powi(-140), 2f64.powi(120)], 1e-5);
    check::<f64>([2f64.powi(-1022) * 2f64.powi(-43), 2f64.powi(1015)], 1e-12);
}

/// Issue 32: Dice and Tversky (per-sample and batch scores, and phase 2 of the two-phase batch
/// score) and Dice + CE with class weights near the ends of the type give the MEAN of the same weights at
/// unit scale; MEAN_DENOMINATOR reports Σ w of the caller's weights (finding 19).
#[test]
fn overlap_mean_with_class_weights_at_the_ends_of_the_type() {
    use lossfn::overlap::{self as o, Layout, OverlapKind, OverlapOptions, Shape};
    use lossfn::{Float, Reduction};
    fn check<T: Float>(scales: [f64; 2], tol: f64) {
        let shape = Shape { batch: 3, classes: 5, spatial: 29, layout: Layout::Ncs };
        let (n, pos) = (shape.len(), shape.positions());
        let x: Vec<T> = (0..n).map(|i| T::of(((i * 37 % 41) as f64) / 6.0 - 3.0)).collect();
        let y: Vec<i64> = (0..pos).map(|i| if i % 11 == 3 { -100 } else { (i * 7 % shape.classes) as i64 }).collect();
        for k in scales {
            let (w, unit) = scaled_weights::<T>(shape.classes, k);
            for (name, kind, batch) in [("dice", OverlapKind::Dice, false), ("tversky", OverlapKind::Tversky, true), ("from_stats", OverlapKind::Dice, true), ("dice_ce", OverlapKind::Dice, false)] {
                let opts = OverlapOptions { batch, gamma: if kind == OverlapKind::Tversky { 0.75 } else { 1.0 }, ..Default::default() };
                let run = |w: &[T]| {
                    let (mut loss, mut grad) = ([T::zero()], vec![T::zero(); n]);
                    let (l, g) = (&mut loss[..], Some(&mut grad[..]));
                    match name {
                        "dice" => o::dice_loss(&x, &y, Some(w), shape, &opts, l, g),
                        "tversky" => o::tversky_loss(&x, &y, Some(w), shape, &opts, l, g),
                        // [total, Dice, CE]: the total is compared (both parts MEAN).
                        "dice_ce" => {
                            let mut three = [T::zero(); 3];
                            let ce = lossfn::classification::CrossEntropyOptions { label_smoothing: 0.1, ..Default::default() };
                            o::dice_ce_loss(&x, &y, Some(w), shape, &opts, &ce, &mut three, g).map(|()| l[0] = three[0])
                        }
                        _ => {
                            let mut stats = vec![0f64; 3 * shape.classes];
                            o::overlap_stats(kind, &x, &y, shape, &opts, &mut stats).unwrap();
                            o::overlap_loss_from_stats(kind, &x, &y, Some(w), shape, &opts, &stats, l, g)
                        }
                    }
                    .unwrap();
                    (loss[0].f64(), grad.iter().map(|g| g.f64()).collect::<Vec<_>>())
                };
                let ((l, g), (l_ref, g_ref)) = (run(&w), run(&unit));
                assert_scale_invariant(&format!("{name} {} class weights x {k:e}", std::any::type_name::<T>()), &[l], &[l_ref], &g, &g_ref, tol);
            }
            // The denominator query: Σ w over the scores (batch x classes), of the weights given.
            let want: f64 = w.iter().map(|v| v.f64()).sum::<f64>() * shape.batch as f64;
            let mut den = [T::zero()];
            let q = OverlapOptions { reduction: Reduction::MeanDenominator, ..Default::default() };
            o::dice_loss(&x, &y, Some(&w), shape, &q, &mut den, None).unwrap();
            assert!((den[0].f64() - want).abs() <= 1e-6 * want, "MEAN_DENOMINATOR {} vs {want}", den[0].f64());
        }
    }
    check::<f32>([2f64.powi(-140), 2f64.powi(120)], 1e-5);
    check::<f64>([2f64.powi(-1022) * 2f64.powi(-43), 2f64.powi(1015)], 1e-12);
}
