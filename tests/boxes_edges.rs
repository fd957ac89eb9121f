//! Box family through the C ABI: degenerate boxes (finite in → finite out), the zero gradient
//! at identical boxes, NaN propagation, bad input (status, message, nothing written) and
//! bitwise determinism across thread counts.
mod boxes_support;
mod common;
use boxes_support::*;
use common::*;
use lossfn::capi::*;
use std::ptr::{null, null_mut};

/// Every loss with the option values worth covering separately.
fn variants() -> Vec<(&'static str, lossfn_box_options)> {
    let d = lossfn_box_options_default();
    let mut v = vec![];
    for iou_mode in [LOSSFN_IOU_LINEAR, LOSSFN_IOU_SQUARE, LOSSFN_IOU_LOG] {
        v.push(("iou_loss", lossfn_box_options { iou_mode, ..d }));
    }
    for name in ["giou_loss", "diou_loss", "ciou_loss"] {
        v.push((name, d));
    }
    for gamma in [0.0, 0.5, 1.0, 2.0] {
        v.push(("eiou_loss", lossfn_box_options { gamma, ..d }));
    }
    for lambda in [1.0, 0.001, 0.0] {
        v.push(("cdiou_loss", lossfn_box_options { lambda, ..d }));
    }
    v
}

/// (pred, target) corner pairs at every degenerate configuration.
fn degenerate_pairs() -> Vec<([f64; 4], [f64; 4])> {
    let t = [1.0, 1.0, 4.0, 4.0];
    vec![
        ([2.0, 2.0, 2.0, 5.0], t),                                         // zero-width prediction
        ([2.0, 2.0, 5.0, 2.0], t),                                         // zero-height prediction
        ([1.0, 1.0, 3.0, 1.0], [1.0, 1.0, 3.0, 2.0]),                      // zero height, shared edges
        ([2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0]),                      // zero area both, same point
        ([2.0, 2.0, 2.0, 2.0], [5.0, 7.0, 5.0, 7.0]),                      // zero area both, apart
        ([2.0, 0.0, 2.0, 5.0], [2.0, 1.0, 2.0, 4.0]),                      // zero width both, overlapping in y
        ([1.0, 2.0, 1.0, 3.0], t),                                         // zero width on the target's edge
        ([2.0, 2.0, 3.0, 3.0], [2.0, 2.0, 2.0, 2.0]),                      // zero-area target at a corner
        ([4.0, 4.0, 1.0, 2.0], [1.0, 1.0, 3.0, 3.0]),                      // inverted prediction
        ([4.0, 1.0, 1.0, 3.0], [1.0, 1.0, 3.0, 3.0]),                      // inverted in x only (negative area)
        ([1.0, 3.0, 3.0, 1.0], [1.0, 1.0, 3.0, 3.0]),                      // inverted in y only
        ([1.0, 1.0, 3.0, 3.0], [3.0, 3.0, 1.0, 1.0]),                      // inverted target
        ([3.0, 3.0, 1.0, 1.0], [3.0, 3.0, 1.0, 1.0]),                      // both inverted, identical
        ([-2.0, 1.0, 0.0, 1.0], [0.0, 1.0, 2.0, 1.0]),                     // zero heights, touching
        ([0.0, 0.0, 2.0, 0.0], [0.0, 0.0, -2.0, 0.0]),                     // atan2 at w < 0, h = 0
        ([0.0, 0.0, 1.0, 1.0], [1.0, 0.0, 2.0, 1.0]),                      // touching edges
        ([0.0, 0.0, 1.0, 1.0], [100.0, 100.0, 103.0, 101.0]),              // far apart
        ([0.0, 0.0, 1.0, 1.0], [5000.0, -4000.0, 5003.0, -3990.0]),        // very far apart
        ([2.0, 2.0, 3.0, 3.0], [0.0, 0.0, 10.0, 10.0]),                    // prediction inside target
        ([0.0, 0.0, 10.0, 10.0], [2.0, 2.0, 3.0, 3.0]),                    // target inside prediction
        ([1.0, 1.0, 3.0, 4.0], [1.0, 1.0, 3.0, 4.0]),                      // identical
        ([1.0, 1.0, 3.0, 4.0], [1.0, 1.0, 3.0, 5.0]),                      // sharing three edges
        ([1000.5, 2000.25, 1300.75, 2100.5], [1010.0, 1990.0, 1290.0, 2110.0]), // thousands
        ([9000.0, 9000.0, 9000.5, 9000.5], [9000.25, 9000.25, 9001.0, 9001.0]), // small boxes at 9000
        ([-8000.0, -8000.0, 8000.0, 8000.0], [-1.0, -1.0, 1.0, 1.0]),      // huge around tiny
        ([1e-6, 1e-6, 2e-6, 2e-6], [1.5e-6, 1.5e-6, 3e-6, 3e-6]),          // tiny boxes
    ]
}

fn finite_everywhere<T: Float>() {
    let pairs = degenerate_pairs();
    for (name, base) in variants() {
        for format in FORMATS {
            for reduction in [LOSSFN_REDUCTION_NONE, LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_SUM] {
                let o = lossfn_box_options { format, reduction, ..base };
                // one call per pair (so a MEAN cannot hide a bad box) and one with all of them
                let mut all = (vec![], vec![]);
                for &(p, t) in &pairs {
                    let (p, t) = (from_xyxy(format, p), from_xyxy(format, t));
                    all.0.extend(p);
                    all.1.extend(t);
                    let r = call::<T>(name, &p, &t, None, &o, true);
                    let what = format!("{name} {} {o:?} pred {p:?} target {t:?}", T::NAME);
                    assert_eq!(r.status, LOSSFN_OK, "{what}");
                    assert_finite(&format!("{what} loss"), &r.loss);
                    assert_finite(&format!("{what} grad"), &r.grad);
                }
                let r = call::<T>(name, &all.0, &all.1, None, &o, true);
                assert_eq!(r.status, LOSSFN_OK);
                assert_finite(&format!("{name} {} {o:?} all", T::NAME), &r.loss);
                assert_finite(&format!("{name} {} {o:?} all", T::NAME), &r.grad);
            }
        }
    }
}

#[test]
fn degenerate_boxes_give_finite_losses_and_gradients_f64() {
    finite_everywhere::<f64>();
}

#[test]
fn degenerate_boxes_give_finite_losses_and_gradients_f32() {
    finite_everywhere::<f32>();
}

#[test]
fn degenerate_boxes_give_finite_matrices() {
    let pairs = degenerate_pairs();
    for format in FORMATS {
        let b1: Vec<f64> = pairs.iter().flat_map(|&(p, _)| from_xyxy(format, p)).collect();
        let b2: Vec<f64> = pairs.iter().flat_map(|&(_, t)| from_xyxy(format, t)).collect();
        let n = pairs.len();
        for kind in [LOSSFN_IOU_KIND_IOU, LOSSFN_IOU_KIND_GIOU, LOSSFN_IOU_KIND_DIOU, LOSSFN_IOU_KIND_CIOU] {
            let mut out = vec![f64::NAN; n * n];
            assert_eq!(unsafe { lossfn_box_iou_matrix_f64(b1.as_ptr(), n, b2.as_ptr(), n, format, kind, 1e-7, out.as_mut_ptr()) }, LOSSFN_OK);
            assert_finite(&format!("matrix f64 format {format} kind {kind}"), &out);
            let (c1, c2): (Vec<f32>, Vec<f32>) = (b1.iter().map(|&v| v as f32).collect(), b2.iter().map(|&v| v as f32).collect());
            let mut out = vec![f32::NAN; n * n];
            assert_eq!(unsafe { lossfn_box_iou_matrix_f32(c1.as_ptr(), n, c2.as_ptr(), n, format, kind, 1e-7, out.as_mut_ptr()) }, LOSSFN_OK);
            assert_finite(&format!("matrix f32 format {format} kind {kind}"), &out.iter().map(|&v| v as f64).collect::<Vec<_>>());
        }
    }
}

/// At identical boxes every loss is at its minimum, and the evenly split subgradient is 0 there
/// (up to the eps terms).
#[test]
fn identical_boxes_have_zero_gradient() {
    let boxes = [[1.0, 1.0, 3.0, 4.0], [-5.0, 2.0, 7.0, 2.5], [1000.0, 2000.0, 1300.0, 2100.0]];
    for (name, base) in variants() {
        for format in FORMATS {
            let x = flat(format, &boxes);
            let (l, g) = run64(name, &x, &x, None, &lossfn_box_options { format, reduction: LOSSFN_REDUCTION_NONE, ..base });
            for (i, l) in l.iter().enumerate() {
                assert!(l.abs() < 1e-6, "{name} {base:?} format {format} box {i}: loss {l}");
            }
            for (i, g) in g.iter().enumerate() {
                assert!(g.abs() < 1e-6, "{name} {base:?} format {format} coordinate {i}: gradient {g}");
            }
        }
    }
}

#[test]
fn nan_propagates() {
    for (name, base) in variants() {
        for k in 0..4 {
            let mut p = vec![1.0, 1.0, 3.0, 4.0, 0.0, 0.0, 2.0, 2.0];
            p[k] = f64::NAN;
            let t = vec![1.5, 0.5, 3.0, 3.0, 0.5, 0.5, 2.0, 3.0];
            let o = lossfn_box_options { reduction: LOSSFN_REDUCTION_NONE, ..base };
            let r = call::<f64>(name, &p, &t, None, &o, true);
            assert_eq!(r.status, LOSSFN_OK);
            assert!(r.loss[0].is_nan(), "{name} {base:?} NaN at {k}: loss {:?}", r.loss);
            assert!(r.loss[1].is_finite() && r.grad[4..].iter().all(|g| g.is_finite()), "{name}: NaN leaked into another box");
            let r = call::<f32>(name, &p, &t, None, &lossfn_box_options { reduction: LOSSFN_REDUCTION_MEAN, ..o }, true);
            assert_eq!(r.status, LOSSFN_OK);
            assert!(r.loss[0].is_nan(), "{name} f32 mean with a NaN box: {:?}", r.loss);
        }
    }
}

#[test]
fn mean_with_zero_denominator_is_zero() {
    let p = [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0];
    let t = [5.0, 5.0, 6.0, 6.0, 2.5, 2.5, 3.5, 3.5];
    for (name, base) in variants() {
        let o = lossfn_box_options { reduction: LOSSFN_REDUCTION_MEAN, ..base };
        let (l, g) = run64(name, &p, &t, Some(&[0.0, 0.0]), &o);
        assert_eq!((l, g), (vec![0.0], vec![0.0; 8]), "{name} {base:?}: zero weights");
        let (l, g) = run64(name, &[], &[], None, &o);
        assert_eq!((l, g), (vec![0.0], vec![]), "{name}: empty");
        let (l, _) = run64(name, &[], &[], None, &lossfn_box_options { reduction: LOSSFN_REDUCTION_NONE, ..o });
        assert!(l.is_empty());
    }
    // Focal-EIoU with every IoU 0: the denominator Σ iou^γ·w is 0.
    let o = lossfn_box_options { reduction: LOSSFN_REDUCTION_MEAN, gamma: 0.5, ..lossfn_box_options_default() };
    let far = [10.0, 10.0, 11.0, 11.0, 20.0, 20.0, 21.0, 21.0];
    let (l, g) = run64("eiou_loss", &p, &far, None, &o);
    assert_eq!((l, g), (vec![0.0], vec![0.0; 8]));
}

#[test]
fn bad_options_are_rejected_and_write_nothing() {
    let p = [1.0f32, 1.0, 3.0, 3.0, 0.0, 0.0, 2.0, 2.0];
    let t = [1.5f32, 1.5, 3.0, 3.0, 0.5, 0.5, 2.0, 3.0];
    let d = lossfn_box_options_default();
    for name in LOSSES {
        let f = <f32 as Float>::loss_fn(name);
        let call = |o: lossfn_box_options, l: &mut [f32], g: &mut [f32]| unsafe { f(p.as_ptr(), t.as_ptr(), null(), 2, &o, l.as_mut_ptr(), g.as_mut_ptr()) };
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "format", |l, g| call(lossfn_box_options { format: 4, ..d }, l, g));
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "reduction", |l, g| call(lossfn_box_options { reduction: 7, ..d }, l, g));
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "BATCHMEAN", |l, g| call(lossfn_box_options { reduction: LOSSFN_REDUCTION_BATCHMEAN, ..d }, l, g));
        for eps in [0.0, -1e-7, f64::NAN, f64::INFINITY] {
            assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "eps", |l, g| call(lossfn_box_options { eps, ..d }, l, g));
        }
    }
    let f = lossfn_iou_loss_f32;
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "iou_mode", |l, g| unsafe { f(p.as_ptr(), t.as_ptr(), null(), 2, &lossfn_box_options { iou_mode: 3, ..d }, l.as_mut_ptr(), g.as_mut_ptr()) });
    for gamma in [-0.5, f64::NAN, f64::INFINITY] {
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "gamma", |l, g| unsafe { lossfn_eiou_loss_f32(p.as_ptr(), t.as_ptr(), null(), 2, &lossfn_box_options { gamma, ..d }, l.as_mut_ptr(), g.as_mut_ptr()) });
    }
    for lambda in [-1.0, f64::NAN, f64::INFINITY] {
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "lambda", |l, g| unsafe { lossfn_cdiou_loss_f32(p.as_ptr(), t.as_ptr(), null(), 2, &lossfn_box_options { lambda, ..d }, l.as_mut_ptr(), g.as_mut_ptr()) });
    }
    // ciou_variant is read (and validated) by CIoU only.
    for variant in [3, 99, u32::MAX] {
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "ciou_variant", |l, g| unsafe { lossfn_ciou_loss_f32(p.as_ptr(), t.as_ptr(), null(), 2, &lossfn_box_options { ciou_variant: variant, ..d }, l.as_mut_ptr(), g.as_mut_ptr()) });
        let (mut l, mut g) = ([0f32; 1], [0f32; 8]);
        let st = unsafe { lossfn_siou_loss_f32(p.as_ptr(), t.as_ptr(), null(), 2, &lossfn_box_options { ciou_variant: variant, ..d }, l.as_mut_ptr(), g.as_mut_ptr()) };
        assert_eq!(st, LOSSFN_OK, "siou ignores ciou_variant");
    }
    // Fields a loss does not use are not validated by it.
    let odd = lossfn_box_options { iou_mode: 99, gamma: -1.0, lambda: f64::NAN, ..d };
    let mut l = [0f32];
    assert_eq!(unsafe { lossfn_ciou_loss_f32(p.as_ptr(), t.as_ptr(), null(), 2, &odd, l.as_mut_ptr(), null_mut()) }, LOSSFN_OK);
    // A misaligned options struct.
    let raw = [0u64; 16];
    let mis = unsafe { (raw.as_ptr() as *const u8).add(4) } as *const lossfn_box_options;
    assert_rejected(LOSSFN_ERROR_MISALIGNED, "options", |l, g| unsafe { f(p.as_ptr(), t.as_ptr(), null(), 2, mis, l.as_mut_ptr(), g.as_mut_ptr()) });
}

#[test]
fn bad_buffers_are_rejected_and_write_nothing() {
    let p = [1.0f32, 1.0, 3.0, 3.0, 0.0, 0.0, 2.0, 2.0];
    let t = [1.5f32, 1.5, 3.0, 3.0, 0.5, 0.5, 2.0, 3.0];
    let d = lossfn_box_options_default();
    let none = lossfn_box_options { reduction: LOSSFN_REDUCTION_NONE, ..d };
    let f = lossfn_ciou_loss_f32;
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "pred", |l, g| unsafe { f(null(), t.as_ptr(), null(), 2, &d, l.as_mut_ptr(), g.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "target", |l, g| unsafe { f(p.as_ptr(), null(), null(), 2, &d, l.as_mut_ptr(), g.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "loss", |_, g| unsafe { f(p.as_ptr(), t.as_ptr(), null(), 2, &d, null_mut(), g.as_mut_ptr()) });
    // n·4 overflowing size_t, and n·4 floats overflowing the address space.
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "`n`", |l, g| unsafe { f(p.as_ptr(), t.as_ptr(), null(), usize::MAX / 2, &d, l.as_mut_ptr(), g.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "pred", |l, g| unsafe { f(p.as_ptr(), t.as_ptr(), null(), usize::MAX / 8, &d, l.as_mut_ptr(), g.as_mut_ptr()) });
    // Overlaps: grad over loss, grad over pred, loss over weight, loss over target.
    assert_rejected(LOSSFN_ERROR_OVERLAP, "grad_pred", |l, _| unsafe { f(p.as_ptr(), t.as_ptr(), null(), 1, &d, l.as_mut_ptr(), l.as_mut_ptr()) });
    let mut buf = [1.0f32; 16];
    let q = buf.as_mut_ptr();
    let mut loss = [7.5f32; 2];
    let st = unsafe { f(q, t.as_ptr(), null(), 2, &d, loss.as_mut_ptr(), q.add(4)) };
    assert_eq!(st, LOSSFN_ERROR_OVERLAP);
    assert!(last_error().contains("grad_pred") && last_error().contains("pred"), "{}", last_error());
    let st = unsafe { f(p.as_ptr(), t.as_ptr(), q, 2, &none, q.add(1), null_mut()) };
    assert_eq!(st, LOSSFN_ERROR_OVERLAP);
    assert!(last_error().contains("weight"), "{}", last_error());
    let st = unsafe { f(p.as_ptr(), q, null(), 2, &none, q.add(7), null_mut()) };
    assert_eq!(st, LOSSFN_ERROR_OVERLAP);
    assert!(last_error().contains("target"), "{}", last_error());
    assert_eq!((buf, loss), ([1.0f32; 16], [7.5; 2]));
    // Misaligned pred.
    let bytes = [0u8; 64];
    let mis = unsafe { bytes.as_ptr().add(1) } as *const f32;
    assert_rejected(LOSSFN_ERROR_MISALIGNED, "aligned", |l, g| unsafe { f(mis, t.as_ptr(), null(), 2, &d, l.as_mut_ptr(), g.as_mut_ptr()) });
    // NULL is fine for empty buffers; success clears the message.
    let mut l = [3.0f32];
    assert_eq!(unsafe { f(null(), null(), null(), 0, null(), l.as_mut_ptr(), null_mut()) }, LOSSFN_OK);
    assert_eq!(l, [0.0]);
    assert_eq!(unsafe { f(null(), null(), null(), 0, &none, null_mut(), null_mut()) }, LOSSFN_OK);
    assert_eq!(last_error(), "");
}

#[test]
fn bad_matrix_input_is_rejected_and_writes_nothing() {
    let b = [1.0f32, 1.0, 3.0, 3.0, 0.0, 0.0, 2.0, 2.0];
    let m = lossfn_box_iou_matrix_f32;
    let xyxy = LOSSFN_BOX_XYXY;
    let iou = LOSSFN_IOU_KIND_IOU;
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "format", |o, _| unsafe { m(b.as_ptr(), 2, b.as_ptr(), 2, 9, iou, 1e-7, o.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "kind", |o, _| unsafe { m(b.as_ptr(), 2, b.as_ptr(), 2, xyxy, 4, 1e-7, o.as_mut_ptr()) });
    for eps in [0.0, -1.0, f64::NAN] {
        assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "eps", |o, _| unsafe { m(b.as_ptr(), 2, b.as_ptr(), 2, xyxy, iou, eps, o.as_mut_ptr()) });
    }
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "boxes1", |o, _| unsafe { m(null(), 2, b.as_ptr(), 2, xyxy, iou, 1e-7, o.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "boxes2", |o, _| unsafe { m(b.as_ptr(), 2, null(), 2, xyxy, iou, 1e-7, o.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "out", |_, _| unsafe { m(b.as_ptr(), 2, b.as_ptr(), 2, xyxy, iou, 1e-7, null_mut()) });
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "`m`", |o, _| unsafe { m(b.as_ptr(), 2, b.as_ptr(), usize::MAX / 2, xyxy, iou, 1e-7, o.as_mut_ptr()) });
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "n x m", |o, _| unsafe { m(b.as_ptr(), 1 << 40, b.as_ptr(), 1 << 40, xyxy, iou, 1e-7, o.as_mut_ptr()) });
    let mut buf = [1.0f32; 8];
    let q = buf.as_mut_ptr();
    assert_eq!(unsafe { m(q, 2, b.as_ptr(), 1, xyxy, iou, 1e-7, q.add(6)) }, LOSSFN_ERROR_OVERLAP);
    assert!(last_error().contains("out") && last_error().contains("boxes1"));
    assert_eq!(buf, [1.0f32; 8]);
    // Empty sides need no buffers.
    assert_eq!(unsafe { m(null(), 0, b.as_ptr(), 2, xyxy, iou, 1e-7, null_mut()) }, LOSSFN_OK);
    assert_eq!(unsafe { m(b.as_ptr(), 2, null(), 0, xyxy, iou, 1e-7, null_mut()) }, LOSSFN_OK);
}

#[test]
fn bitwise_identical_across_thread_counts() {
    let n = 100_003;
    let mut rng = Rng(31);
    let (ps, ts) = random_pairs(&mut rng, n, 0.0);
    let w: Vec<f32> = rng.vec(n, 0.0, 1.0).into_iter().map(|v| v as f32).collect();
    let format = LOSSFN_BOX_CXCYWH;
    let conv = |b: &[[f64; 4]]| flat(format, b).into_iter().map(|v| v as f32).collect::<Vec<f32>>();
    let (p, t) = (conv(&ps), conv(&ts));
    for (name, base) in variants() {
        for reduction in [LOSSFN_REDUCTION_MEAN, LOSSFN_REDUCTION_NONE] {
            let o = lossfn_box_options { format, reduction, ..base };
            let f = <f32 as Float>::loss_fn(name);
            let run = |threads: usize| {
                assert_eq!(lossfn_set_num_threads(threads), LOSSFN_OK);
                let mut loss = vec![0f32; if reduction == LOSSFN_REDUCTION_NONE { n } else { 1 }];
                let mut grad = vec![0f32; 4 * n];
                assert_eq!(unsafe { f(p.as_ptr(), t.as_ptr(), w.as_ptr(), n, &o, loss.as_mut_ptr(), grad.as_mut_ptr()) }, LOSSFN_OK);
                let mut loss2 = vec![0f32; loss.len()];
                assert_eq!(unsafe { f(p.as_ptr(), t.as_ptr(), w.as_ptr(), n, &o, loss2.as_mut_ptr(), null_mut()) }, LOSSFN_OK);
                assert!(loss.iter().zip(&loss2).all(|(a, b)| a.to_bits() == b.to_bits()), "{name}: loss without grad differs");
                (loss.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), grad.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
            };
            let one = run(1);
            for threads in [2, 3, 0] {
                assert!(run(threads) == one, "{name} {base:?}: {threads} threads differ from 1");
            }
        }
    }
    // The matrix, large enough to go parallel.
    let (b1, b2) = (&p[..4 * 300], &t[..4 * 500]);
    let run = |threads: usize| {
        assert_eq!(lossfn_set_num_threads(threads), LOSSFN_OK);
        let mut out = vec![0f32; 300 * 500];
        assert_eq!(unsafe { lossfn_box_iou_matrix_f32(b1.as_ptr(), 300, b2.as_ptr(), 500, format, LOSSFN_IOU_KIND_CIOU, 1e-7, out.as_mut_ptr()) }, LOSSFN_OK);
        out.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    };
    let one = run(1);
    for threads in [2, 3, 0] {
        assert!(run(threads) == one, "matrix: {threads} threads differ from 1");
    }
    lossfn_set_num_threads(0);
}

/// The AVX-512, AVX2 and baseline copies of the kernels (the widest the CPU has is used) give
/// bitwise identical results, so outputs do not depend on the machine's vector width. (On a CPU
/// without AVX2 / AVX-512 the capped levels fall back to the same copy.)
#[test]
fn simd_copies_agree_bitwise() {
    use lossfn::boxes::{self as b, CiouVariant, Format, IouKind, IouMode, Options};
    use lossfn::testing::set_simd_max;
    use lossfn::Reduction;
    type BoxFn<T> = fn(&[T], &[T], Option<&[T]>, &Options, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
    fn check<T: Float + lossfn::Float>(pred: &[f64], target: &[f64], weight: &[f64]) {
        let conv = |v: &[f64]| v.iter().map(|&x| <T as Float>::of(x)).collect::<Vec<T>>();
        let (p, t, w) = (conv(pred), conv(target), conv(weight));
        let n = p.len() / 4;
        let o = Options::default();
        let kinds: [(&str, BoxFn<T>, Options); 13] = [
            ("iou", b::iou_loss, Options { iou_mode: IouMode::Linear, ..o }),
            ("iou", b::iou_loss, Options { iou_mode: IouMode::Square, ..o }),
            ("iou", b::iou_loss, Options { iou_mode: IouMode::Log, ..o }),
            ("giou", b::giou_loss, o),
            ("diou", b::diou_loss, o),
            ("ciou", b::ciou_loss, Options { ciou_variant: CiouVariant::Torchvision, ..o }),
            ("ciou", b::ciou_loss, Options { ciou_variant: CiouVariant::Ultralytics, ..o }),
            ("ciou", b::ciou_loss, Options { ciou_variant: CiouVariant::Mmdet, ..o }),
            ("siou", b::siou_loss, o),
            ("eiou", b::eiou_loss, Options { gamma: 0.0, ..o }),
            ("eiou", b::eiou_loss, Options { gamma: 0.5, ..o }),
            ("eiou", b::eiou_loss, Options { gamma: 1.7, ..o }),
            ("cdiou", b::cdiou_loss, Options { lambda: 0.5, ..o }),
        ];
        let formats = [Format::Xyxy, Format::Xywh, Format::Cxcywh, Format::Ltrb];
        for (name, f, options) in kinds {
            for format in formats {
                for reduction in [Reduction::None, Reduction::Mean, Reduction::Sum] {
                    for weighted in [false, true] {
                        let options = Options { format, reduction, ..options };
                        let run = |level: u8| {
                            set_simd_max(level);
                            let mut loss = vec![T::default(); reduction.loss_len(n)];
                            let mut grad = vec![T::default(); 4 * n];
                            f(&p, &t, weighted.then_some(&w[..]), &options, &mut loss, Some(&mut grad)).unwrap();
                            let bits = |x: &[T]| x.iter().map(|&v| <T as Float>::f64(v).to_bits()).collect::<Vec<_>>();
                            (bits(&loss), bits(&grad))
                        };
                        let base = run(0);
                        for level in [1, 2] {
                            assert!(run(level) == base, "level {level}: {name} {options:?} {} weighted {weighted}", <T as Float>::NAME);
                        }
                    }
                }
            }
        }
        for kind in [IouKind::Iou, IouKind::Giou, IouKind::Diou, IouKind::Ciou] {
            for format in formats {
                let m = n.min(70);
                let run = |level: u8| {
                    set_simd_max(level);
                    let mut out = vec![T::default(); n * m];
                    b::box_iou_matrix(&p, &t[..4 * m], format, kind, 1e-7, &mut out).unwrap();
                    out.iter().map(|&v| <T as Float>::f64(v).to_bits()).collect::<Vec<_>>()
                };
                let base = run(0);
                for level in [1, 2] {
                    assert!(run(level) == base, "matrix, level {level}: {kind:?} {format:?}");
                }
            }
        }
    }
    let mut rng = Rng(41);
    let (ps, ts) = random_pairs(&mut rng, 1000, 0.0);
    let mut ps: Vec<[f64; 4]> = ps;
    let mut ts: Vec<[f64; 4]> = ts;
    for (p, t) in degenerate_pairs() {
        ps.push(p);
        ts.push(t);
    }
    let (pred, target) = (flat(LOSSFN_BOX_XYXY, &ps), flat(LOSSFN_BOX_XYXY, &ts));
    let weight = rng.vec(ps.len(), 0.0, 2.0);
    check::<f32>(&pred, &target, &weight);
    check::<f64>(&pred, &target, &weight);
    set_simd_max(2);
}
