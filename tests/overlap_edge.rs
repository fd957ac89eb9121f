//! Overlap family: edge cases (finite in → finite out, empty masks, all ignored, saturated
//! logits, empty shapes, NaN propagation) and bad input (status, message naming the argument,
//! nothing written).
mod common;
mod overlap_common;
use common::*;
use lossfn::capi::*;
use overlap_common::*;
use std::mem::offset_of;
use std::ptr::{null, null_mut};

const ACTIVATIONS: [u32; 3] = [LOSSFN_ACTIVATION_NONE, LOSSFN_ACTIVATION_SIGMOID, LOSSFN_ACTIVATION_SOFTMAX];

fn opts(activation: u32, reduction: u32) -> lossfn_overlap_options {
    lossfn_overlap_options { activation, reduction, ..lossfn_overlap_options_default() }
}

#[test]
fn empty_masks_are_finite_even_without_smoothing() {
    let sh = shape(2, 3, 4, LOSSFN_LAYOUT_NCS);
    let zeros = vec![0.0; 24];
    for kind in KINDS {
        for (smooth_nr, smooth_dr) in [(1e-5, 1e-5), (0.0, 0.0), (1.0, 0.0), (0.0, 1.0)] {
            for gamma in [1.0, 0.75, 2.0] {
                for squared_pred in [false, true] {
                    let o = lossfn_overlap_options {
                        activation: LOSSFN_ACTIVATION_NONE,
                        reduction: LOSSFN_REDUCTION_NONE,
                        smooth_nr,
                        smooth_dr,
                        gamma,
                        squared_pred,
                        ..lossfn_overlap_options_default()
                    };
                    for dtype in ["f32", "f64"] {
                        let (st, l, g) = match dtype {
                            "f32" => call::<f32>(kind, &zeros, &Tgt::Soft(zeros.clone()), None, sh, &o, true),
                            _ => call::<f64>(kind, &zeros, &Tgt::Soft(zeros.clone()), None, sh, &o, true),
                        };
                        let what = format!("{kind:?} {dtype} {o:?}");
                        assert_eq!(st, LOSSFN_OK, "{what}");
                        assert_finite(&what, &l);
                        assert_finite(&what, &g);
                        // Empty prediction and empty target agree: score (0 + nr)/(0 + dr), or 1
                        // when the denominator is 0.
                        let expect = if smooth_dr == 0.0 { 0.0 } else { 1.0 - smooth_nr / smooth_dr };
                        let expect = if gamma == 1.0 { expect } else { expect.max(0.0).powf(gamma) };
                        assert_close(&what, &l, &[expect; 6], 1e-6, 1e-9);
                    }
                }
            }
        }
    }
}

#[test]
fn every_position_ignored_gives_zero_loss_and_gradient() {
    let sh = shape(2, 3, 5, LOSSFN_LAYOUT_NSC);
    let mut rng = Rng(3);
    let x = rng.vec(30, -3.0, 3.0);
    let t = Tgt::Index(vec![-1; 10]);
    for kind in KINDS {
        for activation in ACTIVATIONS {
            for reduction in [LOSSFN_REDUCTION_NONE, LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM] {
                for batch in [false, true] {
                    let o = lossfn_overlap_options { ignore_index: -1, batch, ..opts(activation, reduction) };
                    let (st, l, g) = call::<f32>(kind, &x, &t, None, sh, &o, true);
                    assert_eq!(st, LOSSFN_OK);
                    assert!(l.iter().all(|&v| v == 0.0), "{kind:?} {o:?}: {l:?}");
                    assert!(g.iter().all(|&v| v == 0.0), "{kind:?} {o:?}: {g:?}");
                }
            }
        }
    }
}

/// Ignored positions count nowhere: whatever their input (even NaN), the result is the same.
#[test]
fn ignored_positions_do_not_touch_the_result() {
    let sh = shape(1, 3, 6, LOSSFN_LAYOUT_NCS);
    let mut rng = Rng(4);
    let x = rng.vec(18, -3.0, 3.0);
    let t = Tgt::Index(vec![0, 2, -100, 1, -100, 2]);
    for kind in KINDS {
        for activation in ACTIVATIONS {
            let o = opts(activation, LOSSFN_REDUCTION_SUM);
            let (_, l1, g1) = call::<f64>(kind, &x, &t, None, sh, &o, true);
            let mut x2 = x.clone();
            for c in 0..3 {
                x2[c * 6 + 2] = f64::NAN;
                x2[c * 6 + 4] = 1e30;
            }
            let (st, l2, g2) = call::<f64>(kind, &x2, &t, None, sh, &o, true);
            assert_eq!(st, LOSSFN_OK);
            assert_eq!(l1, l2, "{kind:?} act {activation}");
            assert_eq!(g1, g2, "{kind:?} act {activation}");
        }
    }
}

#[test]
fn saturated_logits_and_hard_probabilities_are_finite() {
    let sh = shape(2, 4, 3, LOSSFN_LAYOUT_NCS);
    let x: Vec<f64> = (0..24).map(|i| if i % 3 == 0 { 1e4 } else if i % 3 == 1 { -1e4 } else { 0.0 }).collect();
    let hard: Vec<f64> = (0..24).map(|i| (i % 2) as f64).collect();
    let ti = Tgt::Index(vec![0, 1, 2, 3, 0, 1]);
    let ts = Tgt::Soft(hard.clone());
    for kind in KINDS {
        for t in [&ti, &ts] {
            for activation in [LOSSFN_ACTIVATION_SIGMOID, LOSSFN_ACTIVATION_SOFTMAX] {
                for gamma in [1.0, 0.75] {
                    let o = lossfn_overlap_options { gamma, squared_pred: true, ..opts(activation, LOSSFN_REDUCTION_NONE) };
                    let (st, l, g) = call::<f32>(kind, &x, t, None, sh, &o, true);
                    assert_eq!(st, LOSSFN_OK);
                    assert_finite("loss", &l);
                    assert_finite("grad", &g);
                    let (_, l64, g64) = call::<f64>(kind, &x, t, None, sh, &o, true);
                    assert_finite("loss", &l64);
                    assert_finite("grad", &g64);
                    assert_close("f32 vs f64", &l, &l64, 2e-4, 2e-5);
                }
            }
            let o = opts(LOSSFN_ACTIVATION_NONE, LOSSFN_REDUCTION_MEAN);
            let (st, l, g) = call::<f32>(kind, &hard, t, None, sh, &o, true);
            assert_eq!(st, LOSSFN_OK);
            assert_finite("loss", &l);
            assert_finite("grad", &g);
        }
    }
}

#[test]
fn empty_shapes() {
    for kind in KINDS {
        // No positions: every score is smooth_nr / smooth_dr = 1.
        let o = opts(LOSSFN_ACTIVATION_SOFTMAX, LOSSFN_REDUCTION_NONE);
        let (st, l, _) = call::<f32>(kind, &[], &Tgt::Index(vec![]), None, shape(2, 3, 0, LOSSFN_LAYOUT_NCS), &o, true);
        assert_eq!((st, l), (LOSSFN_OK, vec![0.0; 6]));
        // No samples: no scores; MEAN is 0, and NONE writes nothing (NULL loss is fine).
        let o = opts(LOSSFN_ACTIVATION_SOFTMAX, LOSSFN_REDUCTION_MEAN);
        let (st, l, _) = call::<f64>(kind, &[], &Tgt::Soft(vec![]), None, shape(0, 3, 5, LOSSFN_LAYOUT_NSC), &o, true);
        assert_eq!((st, l), (LOSSFN_OK, vec![0.0]));
        let o = opts(LOSSFN_ACTIVATION_SOFTMAX, LOSSFN_REDUCTION_NONE);
        let st = unsafe {
            f64::index_fn(kind)(null(), null(), null(), shape(0, 3, 5, LOSSFN_LAYOUT_NCS), &o, null_mut(), null_mut())
        };
        assert_eq!(st, LOSSFN_OK, "{}", last_error());
    }
}

#[test]
fn zero_class_weights_mean_is_zero() {
    let sh = shape(2, 3, 4, LOSSFN_LAYOUT_NCS);
    let x = Rng(8).vec(24, -2.0, 2.0);
    let t = Tgt::Index(vec![0, 1, 2, 0, 1, 2, 0, 1]);
    for kind in KINDS {
        let o = opts(LOSSFN_ACTIVATION_SOFTMAX, LOSSFN_REDUCTION_MEAN);
        let (st, l, g) = call::<f64>(kind, &x, &t, Some(&[0.0, 0.0, 0.0]), sh, &o, true);
        assert_eq!(st, LOSSFN_OK);
        assert_eq!(l, vec![0.0]);
        assert!(g.iter().all(|&v| v == 0.0));
        // Background excluded: only the excluded class has weight; still 0, never NaN.
        let o = lossfn_overlap_options { include_background: false, ..o };
        let (_, l, g) = call::<f64>(kind, &x, &t, Some(&[5.0, 0.0, 0.0]), sh, &o, true);
        assert_eq!(l, vec![0.0]);
        assert!(g.iter().all(|&v| v == 0.0));
    }
}

#[test]
fn nan_propagates() {
    let sh = shape(1, 3, 4, LOSSFN_LAYOUT_NCS);
    let mut x = Rng(2).vec(12, 0.1, 0.9);
    x[5] = f64::NAN;
    let t = Tgt::Index(vec![0, 1, 2, 1]);
    for kind in KINDS {
        for activation in ACTIVATIONS {
            for gamma in [1.0, 0.75] {
                let o = lossfn_overlap_options { gamma, ..opts(activation, LOSSFN_REDUCTION_MEAN) };
                let (st, l, g) = call::<f32>(kind, &x, &t, None, sh, &o, true);
                assert_eq!(st, LOSSFN_OK);
                assert!(l[0].is_nan(), "{kind:?} {o:?}: {l:?}");
                assert!(g[5].is_nan(), "{kind:?} {o:?}: {g:?}");
            }
        }
    }
}

/// One class: sigmoid binary segmentation works; softmax (constant 1) and dropping the only
/// class are rejected instead of silently giving a zero gradient.
#[test]
fn single_class() {
    let sh = shape(2, 1, 4, LOSSFN_LAYOUT_NCS);
    let x = Rng(1).vec(8, -2.0, 2.0);
    let soft = Tgt::Soft((0..8).map(|i| (i % 2) as f64).collect());
    for kind in KINDS {
        let o = opts(LOSSFN_ACTIVATION_SIGMOID, LOSSFN_REDUCTION_MEAN);
        let (st, l, g) = call::<f64>(kind, &x, &soft, None, sh, &o, true);
        assert_eq!(st, LOSSFN_OK);
        assert_close("one class", &l, &reference(kind, &x, &soft, None, sh, &o), 1e-12, 1e-14);
        assert!(g.iter().any(|&v| v != 0.0));
        let (st, ..) = call::<f64>(kind, &x, &soft, None, sh, &opts(LOSSFN_ACTIVATION_SOFTMAX, LOSSFN_REDUCTION_MEAN), true);
        assert_eq!(st, LOSSFN_ERROR_INVALID_OPTION);
        assert!(last_error().contains("activation"), "{}", last_error());
        let o = lossfn_overlap_options { include_background: false, ..o };
        let (st, ..) = call::<f64>(kind, &x, &soft, None, sh, &o, true);
        assert_eq!(st, LOSSFN_ERROR_INVALID_OPTION);
        assert!(last_error().contains("include_background"), "{}", last_error());
    }
}

// ---- bad input ----

/// Runs `f` with canary output buffers; asserts the status, that the message contains
/// `needle`, and that nothing was written.
fn assert_rejected(status: u32, needle: &str, f: impl FnOnce(*mut f32, *mut f32) -> u32) {
    let mut loss = [7.5f32; 8];
    let mut grad = [7.5f32; 24];
    let st = f(loss.as_mut_ptr(), grad.as_mut_ptr());
    let name = unsafe { std::ffi::CStr::from_ptr(lossfn_status_name(st)) }.to_string_lossy().into_owned();
    assert_eq!(st, status, "status {name} ({})", last_error());
    let msg = last_error();
    assert!(msg.contains(needle), "message {msg:?} does not name {needle:?}");
    assert!(loss.iter().chain(grad.iter()).all(|&v| v == 7.5), "something was written on error");
}

#[test]
fn bad_input_is_rejected_and_writes_nothing() {
    let x = [0.5f32; 24];
    let t = [0i64, 1, 2, 1, 0, 2, 1, 1];
    let ts = [0.5f32; 24];
    let sh = shape(2, 3, 4, LOSSFN_LAYOUT_NCS);
    let d = lossfn_overlap_options_default();
    let dice = lossfn_dice_loss_f32;
    let tv = lossfn_tversky_loss_f32;
    let o = |f: fn(&mut lossfn_overlap_options)| {
        let mut o = d;
        f(&mut o);
        o
    };
    // NULL / misaligned pointers.
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "input", |l, g| unsafe { dice(null(), t.as_ptr(), null(), sh, &d, l, g) });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "target", |l, g| unsafe { dice(x.as_ptr(), null(), null(), sh, &d, l, g) });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "target", |l, g| unsafe { lossfn_dice_loss_soft_f32(x.as_ptr(), null(), null(), sh, &d, l, g) });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "loss", |_, g| unsafe { dice(x.as_ptr(), t.as_ptr(), null(), sh, &d, null_mut(), g) });
    let bytes = [0u8; 256];
    let mis = unsafe { bytes.as_ptr().add(2) } as *const f32;
    assert_rejected(LOSSFN_ERROR_MISALIGNED, "aligned", |l, g| unsafe { dice(mis, t.as_ptr(), null(), sh, &d, l, g) });
    // Sizes.
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "classes", |l, g| unsafe { dice(x.as_ptr(), t.as_ptr(), null(), shape(2, 0, 4, 0), &d, l, g) });
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "shape", |l, g| unsafe { dice(x.as_ptr(), t.as_ptr(), null(), shape(usize::MAX / 2, 3, 4, 0), &d, l, g) });
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "input", |l, g| unsafe { dice(x.as_ptr(), t.as_ptr(), null(), shape(1, 3, usize::MAX / 8, 0), &d, l, g) });
    // Options.
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "layout", |l, g| unsafe { dice(x.as_ptr(), t.as_ptr(), null(), shape(2, 3, 4, 2), &d, l, g) });
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "reduction", |l, g| unsafe { dice(x.as_ptr(), t.as_ptr(), null(), sh, &o(|o| o.reduction = 9), l, g) });
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "BATCHMEAN", |l, g| unsafe { dice(x.as_ptr(), t.as_ptr(), null(), sh, &o(|o| o.reduction = LOSSFN_REDUCTION_BATCHMEAN), l, g) });
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "activation", |l, g| unsafe { dice(x.as_ptr(), t.as_ptr(), null(), sh, &o(|o| o.activation = 3), l, g) });
    // soft_label is for soft targets; index targets are hard labels.
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "soft_label", |l, g| unsafe { dice(x.as_ptr(), t.as_ptr(), null(), sh, &o(|o| o.soft_label = true), l, g) });
    for (field, bad) in [
        ("smooth_nr", o(|o| o.smooth_nr = -1e-5)),
        ("smooth_nr", o(|o| o.smooth_nr = f64::NAN)),
        ("smooth_dr", o(|o| o.smooth_dr = -1.0)),
        ("smooth_dr", o(|o| o.smooth_dr = f64::INFINITY)),
        ("gamma", o(|o| o.gamma = 0.0)),
        ("gamma", o(|o| o.gamma = -0.5)),
        ("gamma", o(|o| o.gamma = f64::NAN)),
    ] {
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, field, |l, g| unsafe { dice(x.as_ptr(), t.as_ptr(), null(), sh, &bad, l, g) });
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, field, |l, g| unsafe { tv(x.as_ptr(), t.as_ptr(), null(), sh, &bad, l, g) });
    }
    for (field, bad) in [
        ("alpha", o(|o| o.alpha = -0.1)),
        ("alpha", o(|o| o.alpha = f64::NAN)),
        ("beta", o(|o| o.beta = -1.0)),
        ("beta", o(|o| o.beta = f64::NAN)),
    ] {
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, field, |l, g| unsafe { lossfn_tversky_loss_soft_f32(x.as_ptr(), ts.as_ptr(), null(), sh, &bad, l, g) });
        // Dice does not use alpha/beta.
        let mut loss = [0f32];
        assert_eq!(unsafe { dice(x.as_ptr(), t.as_ptr(), null(), sh, &bad, loss.as_mut_ptr(), null_mut()) }, LOSSFN_OK);
    }
    for (field, offset) in [
        ("include_background", offset_of!(lossfn_overlap_options, include_background)),
        ("batch", offset_of!(lossfn_overlap_options, batch)),
        ("squared_pred", offset_of!(lossfn_overlap_options, squared_pred)),
    ] {
        let mut raw = std::mem::MaybeUninit::<lossfn_overlap_options>::new(d);
        unsafe { (raw.as_mut_ptr() as *mut u8).add(offset).write(2) };
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, field, |l, g| unsafe { dice(x.as_ptr(), t.as_ptr(), null(), sh, raw.as_ptr(), l, g) });
    }
    // Targets: out of range (and not ignore_index), naming the position.
    let mut bad_t = t;
    bad_t[5] = 3;
    assert_rejected(LOSSFN_ERROR_INVALID_TARGET, "`target`[5] = 3 (sample 1, position 1)", |l, g| unsafe { dice(x.as_ptr(), bad_t.as_ptr(), null(), sh, &d, l, g) });
    bad_t[5] = -1;
    assert_rejected(LOSSFN_ERROR_INVALID_TARGET, "`target`[5] = -1", |l, g| unsafe { tv(x.as_ptr(), bad_t.as_ptr(), null(), sh, &d, l, g) });
    bad_t[5] = 255; // fine once it is the ignore_index
    let mut loss = [0f32];
    assert_eq!(unsafe { dice(x.as_ptr(), bad_t.as_ptr(), null(), sh, &o(|o| o.ignore_index = 255), loss.as_mut_ptr(), null_mut()) }, LOSSFN_OK);
    // Overlaps: grad over loss, grad over input, loss over class_weight.
    let mut buf = [0.5f32; 64];
    let p = buf.as_mut_ptr();
    let st = unsafe { dice(p, t.as_ptr(), null(), sh, &d, p.add(40), p.add(10)) };
    assert_eq!(st, LOSSFN_ERROR_OVERLAP);
    assert!(last_error().contains("grad_input") && last_error().contains("`input`"), "{}", last_error());
    let st = unsafe { dice(x.as_ptr(), t.as_ptr(), null(), sh, &d, p, p) };
    assert_eq!(st, LOSSFN_ERROR_OVERLAP);
    assert!(last_error().contains("grad_input") && last_error().contains("loss"), "{}", last_error());
    let st = unsafe { dice(x.as_ptr(), t.as_ptr(), p, sh, &o(|o| o.reduction = LOSSFN_REDUCTION_NONE), p.add(1), null_mut()) };
    assert_eq!(st, LOSSFN_ERROR_OVERLAP);
    assert!(last_error().contains("class_weight"), "{}", last_error());
    assert!(buf.iter().all(|&v| v == 0.5), "written on overlap");
    // Success clears the message.
    assert_eq!(unsafe { dice(x.as_ptr(), t.as_ptr(), null(), sh, null(), loss.as_mut_ptr(), null_mut()) }, LOSSFN_OK);
    assert_eq!(last_error(), "");
}

/// With several work items (some running in parallel), the error names the first bad target in
/// flat order and nothing is written.
#[test]
fn first_invalid_target_is_reported_on_large_inputs() {
    let (nb, nc, ns) = (3, 4, 50_000);
    let x = vec![0.1f32; nb * nc * ns];
    let mut t: Vec<i64> = (0..nb * ns).map(|i| (i % nc) as i64).collect();
    t[2 * ns + 7] = 9;
    t[ns + 40_000] = -3;
    t[2 * ns + 30_000] = 4;
    for threads in [1, 2] {
        lossfn_set_num_threads(threads);
        let mut loss = [7.5f32];
        let mut grad = vec![7.5f32; x.len()];
        let st = unsafe {
            lossfn_dice_loss_f32(x.as_ptr(), t.as_ptr(), null(), shape(nb, nc, ns, LOSSFN_LAYOUT_NSC), null(), loss.as_mut_ptr(), grad.as_mut_ptr())
        };
        assert_eq!(st, LOSSFN_ERROR_INVALID_TARGET);
        let msg = last_error();
        assert!(msg.contains(&format!("`target`[{}] = -3 (sample 1, position 40000)", ns + 40_000)), "{msg}");
        assert!(loss[0] == 7.5 && grad.iter().all(|&v| v == 7.5));
    }
    lossfn_set_num_threads(0);
}

#[test]
fn defaults_match_design() {
    let d = lossfn_overlap_options_default();
    assert_eq!(d.reduction, LOSSFN_REDUCTION_MEAN);
    assert_eq!(d.activation, LOSSFN_ACTIVATION_SOFTMAX);
    assert_eq!((d.smooth_nr, d.smooth_dr), (1e-5, 1e-5));
    assert!(d.include_background && !d.batch && !d.squared_pred);
    assert_eq!((d.alpha, d.beta, d.gamma), (0.3, 0.7, 1.0));
    assert_eq!(d.ignore_index, -100);
    // NULL options means the defaults.
    let sh = shape(1, 3, 4, LOSSFN_LAYOUT_NCS);
    let x = Rng(6).vec(12, -2.0, 2.0);
    let t = Tgt::Index(vec![0, 2, 1, 1]);
    let (_, with_defaults, _) = call::<f64>(Kind::Tversky, &x, &t, None, sh, &d, false);
    let xs = x.clone();
    let ti = [0i64, 2, 1, 1];
    let mut loss = [0f64];
    assert_eq!(unsafe { lossfn_tversky_loss_f64(xs.as_ptr(), ti.as_ptr(), null(), sh, null(), loss.as_mut_ptr(), null_mut()) }, LOSSFN_OK);
    assert_eq!(with_defaults, loss.to_vec());
}

/// Generalized Dice with soft class masses down to the type's end: a weight 1/G² near (f64) or
/// past (f32: infinite, replaced by the largest finite weight as MONAI) the largest value keeps
/// the loss in [0, 1] and the gradient finite; numerator and denominator are scaled by the
/// largest weight, so Σw·(P + G) cannot overflow.
#[test]
fn generalized_dice_weights_at_the_types_end() {
    let sh = shape(1, 3, 4, LOSSFN_LAYOUT_NCS);
    let x: Vec<f64> = (0..12).map(|i| (i as f64 * 0.7).sin() * 3.0).collect();
    for tiny in [1e-10, 1e-20, 1e-40, 1e-77, 1e-154, 1e-160, 1e-300, 0.0] {
        // class 0 a real mask, class 1 a tiny soft mass, class 2 absent
        let mut t = vec![0.0f64; 12];
        t[..4].copy_from_slice(&[1.0, 0.0, 1.0, 1.0]);
        t[4] = tiny;
        for w_type in [LOSSFN_GDICE_SQUARE, LOSSFN_GDICE_SIMPLE, LOSSFN_GDICE_UNIFORM] {
            for (smooth_nr, smooth_dr) in [(1e-5, 1e-5), (0.0, 0.0)] {
                let o = lossfn_overlap_options { w_type, smooth_nr, smooth_dr, ..lossfn_overlap_options_default() };
                let (mut l64, mut g64) = ([0.0f64; 1], [0.0f64; 12]);
                let st = unsafe { lossfn_generalized_dice_loss_soft_f64(x.as_ptr(), t.as_ptr(), sh, &o, l64.as_mut_ptr(), g64.as_mut_ptr()) };
                assert_eq!(st, LOSSFN_OK);
                let (x32, t32): (Vec<f32>, Vec<f32>) = (x.iter().map(|&v| v as f32).collect(), t.iter().map(|&v| v as f32).collect());
                let (mut l32, mut g32) = ([0.0f32; 1], [0.0f32; 12]);
                let st = unsafe { lossfn_generalized_dice_loss_soft_f32(x32.as_ptr(), t32.as_ptr(), sh, &o, l32.as_mut_ptr(), g32.as_mut_ptr()) };
                assert_eq!(st, LOSSFN_OK);
                let what = format!("tiny {tiny:e} w_type {w_type} smooth {smooth_nr}");
                assert!((0.0..=1.0).contains(&l64[0]), "{what}: f64 loss {}", l64[0]);
                assert!((0.0..=1.0).contains(&l32[0]), "{what}: f32 loss {}", l32[0]);
                assert_finite(&format!("{what} f64 grad"), &g64);
                assert_finite(&format!("{what} f32 grad"), &g32.iter().map(|&v| v as f64).collect::<Vec<_>>());
            }
        }
    }
}

/// A class absent from a sample takes the sample's largest finite weight (MONAI's replacement):
/// with SQUARE weights and class 2 absent, the loss equals the one where class 2's weight is the
/// largest of classes 0 and 1, written out here in f64.
#[test]
fn generalized_dice_absent_class_takes_the_largest_weight() {
    let sh = shape(1, 3, 5, LOSSFN_LAYOUT_NCS);
    let p = [0.5, 0.2, 0.1, 0.7, 0.3, 0.3, 0.6, 0.2, 0.1, 0.3, 0.2, 0.2, 0.7, 0.2, 0.4];
    let t: [i64; 5] = [0, 1, 1, 0, 1];
    let o = lossfn_overlap_options { activation: LOSSFN_ACTIVATION_NONE, smooth_nr: 0.0, smooth_dr: 0.0, ..lossfn_overlap_options_default() };
    let mut l = [0.0f64];
    let st = unsafe { lossfn_generalized_dice_loss_f64(p.as_ptr(), t.as_ptr(), sh, &o, l.as_mut_ptr(), null_mut()) };
    assert_eq!(st, LOSSFN_OK);
    let (mut tp, mut ps, mut gs) = ([0.0; 3], [0.0; 3], [0.0; 3]);
    for c in 0..3 {
        for s in 0..5 {
            let g = if t[s] == c as i64 { 1.0 } else { 0.0 };
            tp[c] += p[c * 5 + s] * g;
            ps[c] += p[c * 5 + s];
            gs[c] += g;
        }
    }
    let w0 = 1.0 / (gs[0] * gs[0]);
    let w1 = 1.0 / (gs[1] * gs[1]);
    let w = [w0, w1, w0.max(w1)];
    let num: f64 = (0..3).map(|c| 2.0 * w[c] * tp[c]).sum();
    let den: f64 = (0..3).map(|c| w[c] * (ps[c] + gs[c])).sum();
    assert!((l[0] - (1.0 - num / den)).abs() <= 1e-15, "{} vs {}", l[0], 1.0 - num / den);
}
