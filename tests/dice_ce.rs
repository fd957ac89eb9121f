//! Dice + cross entropy fused on one softmax (`lossfn_dice_ce_loss`): each part equals lossfn's
//! own `dice_loss` and `cross_entropy` with the same options, the gradient is theirs summed (and
//! matches finite differences), and bad input is refused naming the struct and field.
mod common;
use common::*;
use lossfn::capi::*;
use std::ptr::{null, null_mut};

fn shape(batch: usize, classes: usize, spatial: usize, layout: u32) -> lossfn_shape {
    lossfn_shape { batch, classes, spatial, layout }
}

/// The fused call in f64: ([total, dice, ce], grad).
fn fused(x: &[f64], t: &[i64], w: Option<&[f64]>, sh: lossfn_shape, d: &lossfn_overlap_options, c: &lossfn_cross_entropy_options) -> (Vec<f64>, Vec<f64>) {
    let (mut l, mut g) = (vec![0.0; 3], vec![0.0; x.len()]);
    let st = unsafe { lossfn_dice_ce_loss_f64(x.as_ptr(), t.as_ptr(), w.map_or(null(), |w| w.as_ptr()), sh, d, c, l.as_mut_ptr(), g.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    (l, g)
}

/// The two separate calls, the second accumulating into the first's gradient.
fn separate(x: &[f64], t: &[i64], w: Option<&[f64]>, sh: lossfn_shape, d: &lossfn_overlap_options, c: &lossfn_cross_entropy_options) -> (f64, f64, Vec<f64>) {
    let wp = w.map_or(null(), |w| w.as_ptr());
    let mut g = vec![0.0; x.len()];
    let (mut ld, mut lc) = ([0.0], [0.0]);
    let d = lossfn_overlap_options { accumulate: false, ..*d };
    let c = lossfn_cross_entropy_options { accumulate: true, ..*c };
    assert_eq!(unsafe { lossfn_dice_loss_f64(x.as_ptr(), t.as_ptr(), wp, sh, &d, ld.as_mut_ptr(), g.as_mut_ptr()) }, LOSSFN_OK, "{}", last_error());
    assert_eq!(unsafe { lossfn_cross_entropy_f64(x.as_ptr(), t.as_ptr(), wp, sh, &c, lc.as_mut_ptr(), g.as_mut_ptr()) }, LOSSFN_OK, "{}", last_error());
    (ld[0], lc[0], g)
}

/// Every option that changes either part: both parts' reductions, λ and avg_factor, label
/// smoothing, class weights, ignored positions, background, batch, squared_pred, gamma, both
/// layouts, shapes across the kernel's block and work-item sizes.
#[test]
fn parts_equal_dice_loss_and_cross_entropy() {
    let mut rng = Rng(27);
    let mut checked = 0;
    for &(nb, nc, ns) in &[(2, 3, 7), (3, 5, 4100), (1, 21, 3000), (40, 4, 9)] {
        for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
            for case in 0..6 {
                let sh = shape(nb, nc, ns, layout);
                let x = rng.vec(nb * nc * ns, -4.0, 4.0);
                let t: Vec<i64> = (0..nb * ns).map(|_| if rng.below(7) == 0 { 255 } else { rng.below(nc as u64) as i64 }).collect();
                let w = (case % 2 == 1).then(|| rng.vec(nc, 0.2, 2.0));
                let red = |r: u64| if r == 0 { LOSSFN_REDUCTION_MEAN } else { LOSSFN_REDUCTION_SUM };
                let d = lossfn_overlap_options {
                    reduction: red(rng.below(2)),
                    include_background: case != 2,
                    batch: case == 3,
                    squared_pred: case == 4,
                    gamma: if case == 5 { 0.75 } else { 1.0 },
                    ignore_index: 255,
                    loss_weight: [1.0, 0.5, 2.0][rng.below(3) as usize],
                    ..lossfn_overlap_options_default()
                };
                let d = if d.reduction == LOSSFN_REDUCTION_MEAN && case == 1 { lossfn_overlap_options { avg_factor: 3.5, ..d } } else { d };
                let c = lossfn_cross_entropy_options {
                    reduction: red(rng.below(2)),
                    ignore_index: 255,
                    label_smoothing: [0.0, 0.1, 1.0][rng.below(3) as usize],
                    loss_weight: [1.0, 0.25, 3.0][rng.below(3) as usize],
                    ..lossfn_cross_entropy_options_default()
                };
                let c = if c.reduction == LOSSFN_REDUCTION_MEAN && case == 2 { lossfn_cross_entropy_options { avg_factor: 17.0, ..c } } else { c };
                let what = format!("[{nb},{nc},{ns}] layout {layout} case {case} {d:?} {c:?}");
                let (l, g) = fused(&x, &t, w.as_deref(), sh, &d, &c);
                let (ld, lc, gs) = separate(&x, &t, w.as_deref(), sh, &d, &c);
                assert_close(&format!("{what} parts"), &l, &[ld + lc, ld, lc], 1e-12, 1e-14);
                assert_close(&format!("{what} grad"), &g, &gs, 1e-10, 1e-14);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 4 * 2 * 6);
}

#[test]
fn gradient_matches_finite_differences() {
    let mut rng = Rng(28);
    for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
        for label_smoothing in [0.0, 0.2] {
            let sh = shape(2, 4, 5, layout);
            let x = rng.vec(40, -3.0, 3.0);
            let t: Vec<i64> = (0..10).map(|_| if rng.below(5) == 0 { -100 } else { rng.below(4) as i64 }).collect();
            let w = rng.vec(4, 0.3, 2.0);
            let d = lossfn_overlap_options { loss_weight: 0.7, ..lossfn_overlap_options_default() };
            let c = lossfn_cross_entropy_options { label_smoothing, loss_weight: 1.3, ..lossfn_cross_entropy_options_default() };
            let (_, g) = fused(&x, &t, Some(&w), sh, &d, &c);
            let fd = finite_diff(&x, 1e-6, |xs| fused(xs, &t, Some(&w), sh, &d, &c).0[0]);
            assert_close(&format!("layout {layout} smoothing {label_smoothing}"), &g, &fd, 1e-5, 1e-8);
        }
    }
}

/// f32 agrees with f64, and is bitwise the same whatever the thread count.
#[test]
fn f32_agrees_and_is_deterministic() {
    let mut rng = Rng(29);
    let sh = shape(4, 6, 5000, LOSSFN_LAYOUT_NCS);
    let x = rng.vec(4 * 6 * 5000, -3.0, 3.0);
    let t: Vec<i64> = (0..4 * 5000).map(|_| rng.below(6) as i64).collect();
    let d = lossfn_overlap_options_default();
    let c = lossfn_cross_entropy_options { label_smoothing: 0.1, ..lossfn_cross_entropy_options_default() };
    let (l64, g64) = fused(&x, &t, None, sh, &d, &c);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let run32 = |threads: usize| {
        lossfn_set_num_threads(threads);
        let (mut l, mut g) = (vec![0f32; 3], vec![0f32; x32.len()]);
        let st = unsafe { lossfn_dice_ce_loss_f32(x32.as_ptr(), t.as_ptr(), null(), sh, &d, &c, l.as_mut_ptr(), g.as_mut_ptr()) };
        assert_eq!(st, LOSSFN_OK);
        (l, g)
    };
    let (l1, g1) = run32(1);
    let (l2, g2) = run32(2);
    let (l4, g4) = run32(4);
    lossfn_set_num_threads(0);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&l1), bits(&l2));
    assert_eq!(bits(&l1), bits(&l4));
    assert_eq!(bits(&g1), bits(&g2));
    assert_eq!(bits(&g1), bits(&g4));
    let l1: Vec<f64> = l1.iter().map(|&v| v as f64).collect();
    let g1: Vec<f64> = g1.iter().map(|&v| v as f64).collect();
    assert_close("f32 loss", &l1, &l64, 1e-5, 1e-7);
    assert_close("f32 grad", &g1, &g64, 1e-4, 1e-9);
}

#[test]
fn bad_input_is_rejected_and_writes_nothing() {
    let sh = shape(1, 2, 4, LOSSFN_LAYOUT_NCS);
    let x = [0.5f32, -0.5, 0.25, 0.0, 1.0, 2.0, -1.0, 0.5];
    let t = [0i64, 1, 1, 0];
    let dd = lossfn_overlap_options_default();
    let cd = lossfn_cross_entropy_options_default();
    let call = |x: &[f32], t: &[i64], d: &lossfn_overlap_options, c: &lossfn_cross_entropy_options, l: &mut [f32], g: &mut [f32]| unsafe {
        lossfn_dice_ce_loss_f32(x.as_ptr(), t.as_ptr(), null(), sh, d, c, l.as_mut_ptr(), g.as_mut_ptr())
    };
    let sig = lossfn_overlap_options { activation: LOSSFN_ACTIVATION_SIGMOID, ..dd };
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "dice.activation", |l, g| call(&x, &t, &sig, &cd, l, g));
    let ign = lossfn_overlap_options { ignore_index: 255, ..dd };
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "dice.ignore_index", |l, g| call(&x, &t, &ign, &cd, l, g));
    let acc = lossfn_cross_entropy_options { accumulate: true, ..cd };
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "dice.accumulate", |l, g| call(&x, &t, &dd, &acc, l, g));
    let none = lossfn_overlap_options { reduction: LOSSFN_REDUCTION_NONE, ..dd };
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "dice.reduction", |l, g| call(&x, &t, &none, &cd, l, g));
    let meanden = lossfn_cross_entropy_options { reduction: LOSSFN_REDUCTION_MEAN_DENOMINATOR, ..cd };
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "ce.reduction", |l, g| call(&x, &t, &dd, &meanden, l, g));
    let smooth = lossfn_cross_entropy_options { label_smoothing: 1.5, ..cd };
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "ce.label_smoothing", |l, g| call(&x, &t, &dd, &smooth, l, g));
    let lw = lossfn_cross_entropy_options { loss_weight: f64::NAN, ..cd };
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "ce.loss_weight", |l, g| call(&x, &t, &dd, &lw, l, g));
    let gamma = lossfn_overlap_options { gamma: 0.0, ..dd };
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "dice.gamma", |l, g| call(&x, &t, &gamma, &cd, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_TARGET, "`target`[2] = 5", |l, g| call(&x, &[0, 1, 5, 0], &dd, &cd, l, g));
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "logits", |l, g| unsafe {
        lossfn_dice_ce_loss_f32(null(), t.as_ptr(), null(), sh, &dd, &cd, l.as_mut_ptr(), g.as_mut_ptr())
    });
    // Without a gradient it still computes the three values.
    let mut l = [0f32; 3];
    assert_eq!(unsafe { lossfn_dice_ce_loss_f32(x.as_ptr(), t.as_ptr(), null(), sh, &dd, &cd, l.as_mut_ptr(), null_mut()) }, LOSSFN_OK);
    assert!((l[0] - (l[1] + l[2])).abs() <= 1e-6 * l[0].abs(), "{l:?}");
}

// --- Dice + softmax focal ------------------------------------------------------------------

fn fused_focal(x: &[f64], t: &[i64], w: Option<&[f64]>, sh: lossfn_shape, d: &lossfn_overlap_options, f: &lossfn_focal_options) -> (Vec<f64>, Vec<f64>) {
    let (mut l, mut g) = (vec![0.0; 3], vec![0.0; x.len()]);
    let st = unsafe { lossfn_dice_focal_loss_f64(x.as_ptr(), t.as_ptr(), w.map_or(null(), |w| w.as_ptr()), sh, d, f, l.as_mut_ptr(), g.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    (l, g)
}

/// Each part equals dice_loss and softmax_focal_loss (class_weight as its class_alpha) with the
/// same options, the gradient their sum; γ 0 (cross entropy), 0.5, 2 and 3.5.
#[test]
fn focal_parts_equal_dice_loss_and_softmax_focal_loss() {
    let mut rng = Rng(30);
    let mut checked = 0;
    for &(nb, nc, ns) in &[(2, 3, 7), (3, 5, 4100), (40, 4, 9)] {
        for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
            for (case, gamma) in [0.0, 0.5, 2.0, 3.5].into_iter().enumerate() {
                let sh = shape(nb, nc, ns, layout);
                // Some confident logits: p_y near 1 (u below the series threshold) and near 0.
                let x: Vec<f64> = rng.vec(nb * nc * ns, -4.0, 4.0).into_iter().map(|v| if v > 3.5 { v * 6.0 } else { v }).collect();
                let t: Vec<i64> = (0..nb * ns).map(|_| if rng.below(7) == 0 { 255 } else { rng.below(nc as u64) as i64 }).collect();
                let w = (case % 2 == 1).then(|| rng.vec(nc, 0.2, 2.0));
                let red = |r: u64| if r == 0 { LOSSFN_REDUCTION_MEAN } else { LOSSFN_REDUCTION_SUM };
                let d = lossfn_overlap_options {
                    reduction: red(rng.below(2)),
                    include_background: case != 2,
                    ignore_index: 255,
                    loss_weight: [1.0, 0.5][rng.below(2) as usize],
                    ..lossfn_overlap_options_default()
                };
                let f = lossfn_focal_options {
                    reduction: red(rng.below(2)),
                    gamma,
                    ignore_index: 255,
                    loss_weight: [1.0, 2.0][rng.below(2) as usize],
                    ..lossfn_focal_options_default()
                };
                let what = format!("[{nb},{nc},{ns}] layout {layout} gamma {gamma} {d:?} {f:?}");
                let (l, g) = fused_focal(&x, &t, w.as_deref(), sh, &d, &f);
                let wp = w.as_ref().map_or(null(), |w| w.as_ptr());
                let mut gs = vec![0.0; x.len()];
                let (mut ld, mut lf) = ([0.0], [0.0]);
                let fa = lossfn_focal_options { accumulate: true, ..f };
                assert_eq!(unsafe { lossfn_dice_loss_f64(x.as_ptr(), t.as_ptr(), wp, sh, &d, ld.as_mut_ptr(), gs.as_mut_ptr()) }, LOSSFN_OK);
                assert_eq!(unsafe { lossfn_softmax_focal_loss_f64(x.as_ptr(), t.as_ptr(), wp, sh, &fa, lf.as_mut_ptr(), gs.as_mut_ptr()) }, LOSSFN_OK, "{}", last_error());
                assert_close(&format!("{what} parts"), &l, &[ld[0] + lf[0], ld[0], lf[0]], 1e-12, 1e-14);
                assert_close(&format!("{what} grad"), &g, &gs, 1e-9, 1e-13);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 3 * 2 * 4);
}

#[test]
fn focal_gradient_matches_finite_differences() {
    let mut rng = Rng(31);
    for layout in [LOSSFN_LAYOUT_NCS, LOSSFN_LAYOUT_NSC] {
        for gamma in [0.5, 2.0] {
            let sh = shape(2, 4, 5, layout);
            let x = rng.vec(40, -3.0, 3.0);
            let t: Vec<i64> = (0..10).map(|_| if rng.below(5) == 0 { -100 } else { rng.below(4) as i64 }).collect();
            let w = rng.vec(4, 0.3, 2.0);
            let d = lossfn_overlap_options_default();
            let f = lossfn_focal_options { gamma, loss_weight: 1.3, ..lossfn_focal_options_default() };
            let (_, g) = fused_focal(&x, &t, Some(&w), sh, &d, &f);
            let fd = finite_diff(&x, 1e-6, |xs| fused_focal(xs, &t, Some(&w), sh, &d, &f).0[0]);
            assert_close(&format!("layout {layout} gamma {gamma}"), &g, &fd, 1e-5, 1e-8);
        }
    }
}

#[test]
fn focal_bad_input_is_rejected_and_writes_nothing() {
    let sh = shape(1, 2, 4, LOSSFN_LAYOUT_NCS);
    let x = [0.5f32, -0.5, 0.25, 0.0, 1.0, 2.0, -1.0, 0.5];
    let t = [0i64, 1, 1, 0];
    let dd = lossfn_overlap_options_default();
    let fd = lossfn_focal_options_default();
    let call = |d: &lossfn_overlap_options, f: &lossfn_focal_options, l: &mut [f32], g: &mut [f32]| unsafe {
        lossfn_dice_focal_loss_f32(x.as_ptr(), t.as_ptr(), null(), sh, d, f, l.as_mut_ptr(), g.as_mut_ptr())
    };
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "focal.gamma", |l, g| call(&dd, &lossfn_focal_options { gamma: -1.0, ..fd }, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "focal.ignore_index", |l, g| call(&dd, &lossfn_focal_options { ignore_index: 3, ..fd }, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "focal.reduction", |l, g| call(&dd, &lossfn_focal_options { reduction: LOSSFN_REDUCTION_NONE, ..fd }, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "dice.activation", |l, g| {
        call(&lossfn_overlap_options { activation: LOSSFN_ACTIVATION_NONE, ..dd }, &fd, l, g)
    });
}
