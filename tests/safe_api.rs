//! The safe Rust API (`lossfn::regression`, `lossfn::boxes`, …): every function, f32 and f64,
//! against the C entry point it backs (bitwise the same values), and with bad lengths and
//! options: the error the C API gives for the same call, and nothing written. No input panics.
//!
//! The comparison is driven by the test catalogue (`tests/fuzz_driver`, generated from the
//! header): one test per function, which calls `lossfn::<module>::<name>` and
//! `lossfn_<name>_f32` / `_f64` through the check of its form (`check_form!`). A loss of an
//! existing form is compared without an edit here; a catalogue function without its safe
//! function does not compile.
mod common;
#[macro_use]
mod fuzz_driver;

use fuzz_driver::{ALL, F};
use lossfn::boxes::{self, CiouVariant, Format, IouKind, IouMode, RotatedOptions};
use lossfn::capi as c;
use lossfn::classification::{Layout, Shape};
use lossfn::regression;
use lossfn::{Error, Float, Reduction};

/// Deterministic values in [lo, hi).
fn values<T: Float>(n: usize, seed: u64, lo: f64, hi: f64) -> Vec<T> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            T::of(lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64))
        })
        .collect()
}

/// Random xyxy boxes with positive sides.
fn xyxy<T: Float>(n: usize, seed: u64) -> Vec<T> {
    let v = values::<f64>(4 * n, seed, 0.0, 1.0);
    v.chunks(4).flat_map(|b| [b[0] * 10.0, b[1] * 10.0, b[0] * 10.0 + 1.0 + 5.0 * b[2], b[1] * 10.0 + 1.0 + 5.0 * b[3]]).map(T::of).collect()
}

const SENTINEL: f64 = 12345.0;

/// Runs `f` on a loss buffer of `loss_len` and a gradient of `grad_len` filled with a sentinel;
/// on error checks that nothing was written.
fn run<T: Float>(loss_len: usize, grad_len: usize, f: impl FnOnce(&mut [T], Option<&mut [T]>) -> lossfn::Result<()>) -> Result<(Vec<T>, Vec<T>), Error> {
    let (mut loss, mut grad) = (vec![T::of(SENTINEL); loss_len], vec![T::of(SENTINEL); grad_len]);
    match f(&mut loss, Some(&mut grad)) {
        Ok(()) => Ok((loss, grad)),
        Err(e) => {
            assert!(loss.iter().chain(&grad).all(|&v| v == T::of(SENTINEL)), "written on error: {e}");
            Err(e)
        }
    }
}

fn expect_err<T>(r: Result<T, Error>, kind: fn(&Error) -> bool, names: &str) {
    match r {
        Ok(_) => panic!("accepted; expected an error naming {names}"),
        Err(e) => {
            assert!(kind(&e), "{e}: wrong kind (expected an error naming {names})");
            assert!(e.message().contains(names), "{e}: does not name {names}");
            assert_ne!(e.status(), 0);
            assert!(e.to_string().starts_with("LOSSFN_ERROR_"), "{e}");
        }
    }
}

fn is_size(e: &Error) -> bool {
    matches!(e, Error::InvalidSize(_))
}
fn is_option(e: &Error) -> bool {
    matches!(e, Error::InvalidOption(_))
}


/// Runs the same call through the safe API (`safe`, on sentinel-filled buffers) and the C API
/// (`c`, on zeroed ones): the C call succeeds, its values are finite, and both give bitwise the
/// same loss and gradient.
fn same<T: Float>(what: &str, loss_len: usize, grad_len: usize, safe: impl FnOnce(&mut [T], Option<&mut [T]>) -> lossfn::Result<()>, c: impl FnOnce(*mut T, *mut T) -> u32) {
    let (loss, grad) = run::<T>(loss_len, grad_len, safe).unwrap_or_else(|e| panic!("{what}: {e}"));
    let (mut cl, mut cg) = (vec![T::zero(); loss_len], vec![T::zero(); grad_len]);
    assert_eq!(c(cl.as_mut_ptr(), cg.as_mut_ptr()), 0, "{what}");
    assert!(cl.iter().chain(&cg).all(|v| v.f64().is_finite()), "{what}");
    assert_eq!((loss, grad), (cl, cg), "{what}");
}

const REDUCTIONS: [(Reduction, u32); 3] = [(Reduction::None, 0), (Reduction::Mean, 1), (Reduction::Sum, 2)];

// ---------------------------------------------------------------------------------------------
// One check per form: the safe function against its C entry point, and the bad input every
// function of the form refuses alike.

type RegressionFn<T> = fn(&[T], &[T], Option<&[T]>, &regression::Options, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type RegressionC<T> = unsafe extern "C" fn(*const T, *const T, *const T, usize, *const c::lossfn_regression_options, *mut T, *mut T) -> u32;

fn regression_check<T: Float>(name: &str, f: RegressionFn<T>, c: RegressionC<T>) {
    let n = 1000;
    let (x, y, w) = (values::<T>(n, 1, -3.0, 3.0), values::<T>(n, 2, -3.0, 3.0), values::<T>(n, 3, 0.0, 2.0));
    for (red, c_red) in REDUCTIONS {
        let o = regression::Options { reduction: red, beta: 0.7, delta: 1.3, loss_weight: 0.5, ..Default::default() };
        let mut co = c::lossfn_regression_options_default();
        (co.reduction, co.beta, co.delta, co.loss_weight) = (c_red, 0.7, 1.3, 0.5);
        let len = red.loss_len(n);
        same(&format!("{name} {red:?}"), len, n, |l, g| f(&x, &y, Some(&w), &o, l, g), |l, g| unsafe { c(x.as_ptr(), y.as_ptr(), w.as_ptr(), n, &co, l, g) });
    }
    let o = regression::Options::default();
    // Lengths.
    expect_err(run::<T>(1, n, |l, g| f(&x, &y[..n - 1], None, &o, l, g)), is_size, "`target`");
    expect_err(run::<T>(1, n, |l, g| f(&x, &y, Some(&w[..3]), &o, l, g)), is_size, "`weight`");
    expect_err(run::<T>(1, n - 1, |l, g| f(&x, &y, None, &o, l, g)), is_size, "`grad_input`");
    expect_err(run::<T>(2, n, |l, g| f(&x, &y, None, &o, l, g)), is_size, "`loss`");
    expect_err(run::<T>(0, n, |l, g| f(&x, &y, None, &o, l, g)), is_size, "`loss`");
    let none = regression::Options { reduction: Reduction::None, ..o };
    expect_err(run::<T>(1, n, |l, g| f(&x, &y, None, &none, l, g)), is_size, "`loss`");
    // Options.
    for (bad, field) in [
        (regression::Options { loss_weight: f64::NAN, ..o }, "options.loss_weight"),
        (regression::Options { avg_factor: -1.0, ..o }, "options.avg_factor"),
        (regression::Options { avg_factor: 2.0, reduction: Reduction::Sum, ..o }, "options.avg_factor"),
        (regression::Options { reduction: Reduction::BatchMean, ..o }, "options.reduction"),
    ] {
        expect_err(run::<T>(1, n, |l, g| f(&x, &y, None, &bad, l, g)), is_option, field);
    }
    let md = regression::Options { reduction: Reduction::MeanDenominator, ..o };
    expect_err(run::<T>(1, n, |l, g| f(&x, &y, None, &md, l, g)), is_option, "grad_input");
    let mut den = [T::zero()];
    f(&x, &y, Some(&w), &md, &mut den, None).unwrap();
    let sum_w: f64 = w.iter().map(|v| v.f64()).sum();
    assert!((den[0].f64() - sum_w).abs() <= 1e-4 * sum_w, "{name}");
}

type BoxFn<T> = fn(&[T], &[T], Option<&[T]>, &boxes::Options, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type BoxC<T> = unsafe extern "C" fn(*const T, *const T, *const T, usize, *const c::lossfn_box_options, *mut T, *mut T) -> u32;

fn box_check<T: Float>(name: &str, f: BoxFn<T>, c: BoxC<T>) {
    let n = 300;
    let (p, t, w) = (xyxy::<T>(n, 4), xyxy::<T>(n, 5), values::<T>(n, 6, 0.0, 2.0));
    for (red, c_red) in REDUCTIONS {
        for (format, c_format) in [(Format::Xyxy, 0), (Format::Xywh, 1), (Format::Cxcywh, 2), (Format::Ltrb, 3)] {
            let o = boxes::Options { reduction: red, format, iou_mode: IouMode::Square, gamma: 0.5, lambda: 0.3, ciou_variant: CiouVariant::Ultralytics, ..Default::default() };
            let mut co = c::lossfn_box_options_default();
            (co.reduction, co.format, co.iou_mode, co.gamma, co.lambda, co.ciou_variant) = (c_red, c_format, 1, 0.5, 0.3, 1);
            let len = red.loss_len(n);
            same(&format!("{name} {red:?} {format:?}"), len, 4 * n, |l, g| f(&p, &t, Some(&w), &o, l, g), |l, g| unsafe { c(p.as_ptr(), t.as_ptr(), w.as_ptr(), n, &co, l, g) });
        }
    }
    let o = boxes::Options::default();
    expect_err(run::<T>(1, 4 * n, |l, g| f(&p[..4 * n - 1], &t[..4 * n - 1], None, &o, l, g)), is_size, "`pred`");
    expect_err(run::<T>(1, 4 * n, |l, g| f(&p, &t[..4 * n - 4], None, &o, l, g)), is_size, "`target`");
    expect_err(run::<T>(1, 4 * n, |l, g| f(&p, &t, Some(&w[..n - 1]), &o, l, g)), is_size, "`weight`");
    expect_err(run::<T>(1, 4 * n + 4, |l, g| f(&p, &t, None, &o, l, g)), is_size, "`grad_pred`");
    expect_err(run::<T>(n, 4 * n, |l, g| f(&p, &t, None, &o, l, g)), is_size, "`loss`");
    for eps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let bad = boxes::Options { eps, ..o };
        expect_err(run::<T>(1, 4 * n, |l, g| f(&p, &t, None, &bad, l, g)), is_option, "options.eps");
    }
    expect_err(run::<T>(1, 4 * n, |l, g| f(&p, &t, None, &boxes::Options { loss_weight: f64::INFINITY, ..o }, l, g)), is_option, "options.loss_weight");
}

type MatrixFn<T> = fn(&[T], &[T], Format, IouKind, f64, &mut [T]) -> lossfn::Result<()>;
type MatrixC<T> = unsafe extern "C" fn(*const T, usize, *const T, usize, u32, u32, f64, *mut T) -> u32;

fn matrix_check<T: Float>(name: &str, f: MatrixFn<T>, c: MatrixC<T>) {
    let (m1, m2) = (xyxy::<T>(7, 8), xyxy::<T>(5, 9));
    for (kind, c_kind) in [(IouKind::Iou, 0), (IouKind::Giou, 1), (IouKind::Diou, 2), (IouKind::Ciou, 3)] {
        let mut out = vec![T::zero(); 35];
        f(&m1, &m2, Format::Xywh, kind, 1e-7, &mut out).unwrap();
        let mut cout = vec![T::zero(); 35];
        assert_eq!(unsafe { c(m1.as_ptr(), 7, m2.as_ptr(), 5, 1, c_kind, 1e-7, cout.as_mut_ptr()) }, 0);
        assert_eq!(out, cout, "{name} {kind:?}");
    }
    let mut out = vec![T::of(SENTINEL); 35];
    expect_err(f(&m1, &m2, Format::Xyxy, IouKind::Iou, 1e-7, &mut out[..34]), is_size, "`out`");
    expect_err(f(&m1[..27], &m2, Format::Xyxy, IouKind::Iou, 1e-7, &mut out), is_size, "`boxes1`");
    expect_err(f(&m1, &m2[..1], Format::Xyxy, IouKind::Iou, 1e-7, &mut out), is_size, "`boxes2`");
    expect_err(f(&m1, &m2, Format::Xyxy, IouKind::Iou, f64::NAN, &mut out), is_option, "`eps`");
    assert!(out.iter().all(|&v| v == T::of(SENTINEL)));
}

/// Random rotated boxes (cx, cy, w, h, angle) with positive sides.
fn rotated<T: Float>(n: usize, seed: u64) -> Vec<T> {
    let v = values::<f64>(5 * n, seed, 0.0, 1.0);
    v.chunks(5).flat_map(|b| [b[0] * 10.0, b[1] * 10.0, 1.0 + 4.0 * b[2], 1.0 + 4.0 * b[3], (b[4] - 0.5) * 3.0]).map(T::of).collect()
}

type RotatedFn<T> = fn(&[T], &[T], Option<&[T]>, &RotatedOptions, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type RotatedC<T> = unsafe extern "C" fn(*const T, *const T, *const T, usize, *const c::lossfn_rotated_box_options, *mut T, *mut T) -> u32;

fn rotated_check<T: Float>(name: &str, f: RotatedFn<T>, c: RotatedC<T>) {
    let n = 200;
    let (p, t, w) = (rotated::<T>(n, 11), rotated::<T>(n, 12), values::<T>(n, 13, 0.0, 2.0));
    for (red, c_red) in REDUCTIONS {
        let o = RotatedOptions { reduction: red, floor: 0.01, ..Default::default() };
        let mut co = c::lossfn_rotated_box_options_default();
        (co.reduction, co.floor) = (c_red, 0.01);
        same(&format!("{name} {red:?}"), red.loss_len(n), 5 * n, |l, g| f(&p, &t, Some(&w), &o, l, g), |l, g| unsafe { c(p.as_ptr(), t.as_ptr(), w.as_ptr(), n, &co, l, g) });
    }
    let o = RotatedOptions::default();
    expect_err(run::<T>(1, 5 * n, |l, g| f(&p[..4 * n], &t[..4 * n], None, &o, l, g)), is_size, "`grad_pred`");
    expect_err(run::<T>(1, 5 * n, |l, g| f(&p[..5 * n - 1], &t, None, &o, l, g)), is_size, "`pred`");
    expect_err(run::<T>(1, 5 * n, |l, g| f(&p, &t, None, &RotatedOptions { floor: -1.0, ..o }, l, g)), is_option, "options.floor");
    expect_err(run::<T>(1, 5 * n, |l, g| f(&p, &t, None, &RotatedOptions { eps: f64::NAN, ..o }, l, g)), is_option, "options.eps");
}

type RotatedMatrixFn<T> = fn(&[T], &[T], f64, &mut [T]) -> lossfn::Result<()>;
type RotatedMatrixC<T> = unsafe extern "C" fn(*const T, usize, *const T, usize, f64, *mut T) -> u32;

fn rotated_matrix_check<T: Float>(name: &str, f: RotatedMatrixFn<T>, c: RotatedMatrixC<T>) {
    let n = 200;
    let (p, t) = (rotated::<T>(n, 11), rotated::<T>(3, 12));
    let mut out = vec![T::zero(); n * 3];
    f(&p, &t, 1e-7, &mut out).unwrap();
    let mut cout = vec![T::zero(); n * 3];
    assert_eq!(unsafe { c(p.as_ptr(), n, t.as_ptr(), 3, 1e-7, cout.as_mut_ptr()) }, 0);
    assert_eq!(out, cout, "{name}");
    let mut out = vec![T::of(SENTINEL); n * 3];
    expect_err(f(&p, &t[..14], 1e-7, &mut out), is_size, "`boxes2`");
    expect_err(f(&p, &t, 0.0, &mut out), is_option, "`eps`");
    assert!(out.iter().all(|&v| v == T::of(SENTINEL)));
}

type KeypointFn<T> = fn(&[T], &[T], &[T], &[T], &[T], &lossfn::keypoints::Options, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type KeypointC<T> = unsafe extern "C" fn(*const T, *const T, *const T, *const T, *const T, usize, usize, *const c::lossfn_keypoint_options, *mut T, *mut T) -> u32;

fn keypoint_check<T: Float>(name: &str, f: KeypointFn<T>, c: KeypointC<T>) {
    use lossfn::keypoints::Options;
    let (n, k) = (40, 17);
    let (p, t) = (values::<T>(n * k * 2, 21, 0.0, 50.0), values::<T>(n * k * 2, 22, 0.0, 50.0));
    let visible: Vec<T> = values::<f64>(n * k, 23, 0.0, 1.0).into_iter().map(|v| T::of(if v < 0.7 { 1.0 } else { 0.0 })).collect();
    let (area, sigmas) = (values::<T>(n, 24, 10.0, 500.0), values::<T>(k, 25, 0.02, 0.1));
    for (red, c_red) in REDUCTIONS {
        let o = Options { reduction: red, loss_weight: 2.0, ..Default::default() };
        let mut co = c::lossfn_keypoint_options_default();
        (co.reduction, co.loss_weight) = (c_red, 2.0);
        same(&format!("{name} {red:?}"), red.loss_len(n * k), 2 * n * k, |l, g| f(&p, &t, &visible, &area, &sigmas, &o, l, g), |l, g| unsafe {
            c(p.as_ptr(), t.as_ptr(), visible.as_ptr(), area.as_ptr(), sigmas.as_ptr(), n, k, &co, l, g)
        });
    }
    let o = Options::default();
    let g = 2 * n * k;
    expect_err(run::<T>(1, g, |l, gr| f(&p, &t, &visible, &area[..n - 1], &sigmas, &o, l, gr)), is_size, "`pred`");
    expect_err(run::<T>(1, g, |l, gr| f(&p, &t, &visible, &area, &sigmas[..k - 1], &o, l, gr)), is_size, "`pred`");
    expect_err(run::<T>(1, g, |l, gr| f(&p, &t[1..], &visible, &area, &sigmas, &o, l, gr)), is_size, "`target`");
    expect_err(run::<T>(1, g, |l, gr| f(&p, &t, &visible[1..], &area, &sigmas, &o, l, gr)), is_size, "`visible`");
    expect_err(run::<T>(1, g - 2, |l, gr| f(&p, &t, &visible, &area, &sigmas, &o, l, gr)), is_size, "`grad_pred`");
    expect_err(run::<T>(1, g, |l, gr| f(&p, &t, &visible, &area, &sigmas, &Options { avg_factor: f64::NAN, ..o }, l, gr)), is_option, "options.avg_factor");
}

/// The DFL data: n × 4 × 16 logits, targets in bins, weights, anchors and xyxy target boxes
/// around them.
struct DflData<T> {
    n: usize,
    bins: usize,
    logits: Vec<T>,
    target: Vec<T>,
    w: Vec<T>,
    anchors: Vec<T>,
    boxes: Vec<T>,
}

fn dfl_data<T: Float>() -> DflData<T> {
    let (n, sides, bins) = (100, 4, 16);
    let anchors: Vec<T> = values::<f64>(2 * n, 34, 0.0, 1.0).into_iter().map(|v| T::of(20.0 + 40.0 * v)).collect();
    let boxes = anchors
        .chunks(2)
        .zip(values::<f64>(4 * n, 35, 1.0, 12.0).chunks(4))
        .flat_map(|(a, d)| {
            let (ax, ay) = (a[0].f64(), a[1].f64());
            [ax - d[0], ay - d[1], ax + d[2], ay + d[3]]
        })
        .map(T::of)
        .collect();
    DflData {
        n,
        bins,
        logits: values::<T>(n * sides * bins, 31, -4.0, 4.0),
        target: values::<T>(n * sides, 32, 0.0, 15.5),
        w: values::<T>(n, 33, 0.0, 1.0),
        anchors,
        boxes,
    }
}

type DflFn<T> = fn(&[T], &[T], Option<&[T]>, usize, usize, &lossfn::dfl::Options, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type DflC<T> = unsafe extern "C" fn(*const T, *const T, *const T, usize, usize, usize, *const c::lossfn_dfl_options, *mut T, *mut T) -> u32;

fn dfl_check<T: Float>(name: &str, f: DflFn<T>, c: DflC<T>) {
    use lossfn::dfl::Options;
    let DflData { n, bins, logits, target, w, .. } = dfl_data::<T>();
    let (sides, len) = (4, logits.len());
    for (red, c_red) in REDUCTIONS {
        let o = Options { reduction: red, ..Default::default() };
        let mut co = c::lossfn_dfl_options_default();
        co.reduction = c_red;
        same(&format!("{name} {red:?}"), red.loss_len(n), len, |l, g| f(&logits, &target, Some(&w), sides, bins, &o, l, g), |l, g| unsafe {
            c(logits.as_ptr(), target.as_ptr(), w.as_ptr(), n, sides, bins, &co, l, g)
        });
    }
    let o = Options::default();
    expect_err(run::<T>(1, len, |l, g| f(&logits, &target, None, sides, 1, &o, l, g)), is_size, "`bins`");
    expect_err(run::<T>(1, len, |l, g| f(&logits, &target, None, 0, bins, &o, l, g)), is_size, "`sides`");
    expect_err(run::<T>(1, len, |l, g| f(&logits, &target, None, 3, bins, &o, l, g)), is_size, "`target`");
    expect_err(run::<T>(1, len, |l, g| f(&logits, &target, None, sides, bins + 1, &o, l, g)), is_size, "`logits`");
    expect_err(run::<T>(1, len, |l, g| f(&logits, &target, Some(&w[1..]), sides, bins, &o, l, g)), is_size, "`weight`");
    expect_err(run::<T>(1, len + 1, |l, g| f(&logits, &target, None, sides, bins, &o, l, g)), is_size, "`grad_logits`");
    // usize::MAX bins: the product overflows, an error and no panic.
    expect_err(run::<T>(1, len, |l, g| f(&logits, &target, None, sides, usize::MAX, &o, l, g)), is_size, "overflows");
}

type DflBoxFn<T> = fn(&[T], &[T], &[T], Option<&[T]>, usize, &lossfn::dfl::BoxOptions, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type DflBoxC<T> = unsafe extern "C" fn(*const T, *const T, *const T, *const T, usize, usize, *const c::lossfn_dfl_box_options, *mut T, *mut T) -> u32;

fn dfl_box_check<T: Float>(name: &str, f: DflBoxFn<T>, c: DflBoxC<T>) {
    use lossfn::dfl::BoxOptions;
    let DflData { n, bins, logits, w, anchors, boxes: tb, .. } = dfl_data::<T>();
    let len = logits.len();
    for (red, c_red) in [(Reduction::Mean, 1), (Reduction::Sum, 2)] {
        for (iou, c_iou) in [(IouKind::Giou, 1), (IouKind::Ciou, 3)] {
            let o = BoxOptions { reduction: red, iou, iou_weight: 7.5, dfl_weight: 1.5, avg_factor: if red == Reduction::Mean { 3.0 } else { 0.0 }, ..Default::default() };
            let mut co = c::lossfn_dfl_box_options_default();
            (co.reduction, co.iou, co.iou_weight, co.dfl_weight, co.avg_factor) = (c_red, c_iou, 7.5, 1.5, o.avg_factor);
            same(&format!("{name} {red:?} {iou:?}"), 2, len, |l, g| f(&logits, &anchors, &tb, Some(&w), bins, &o, l, g), |l, g| unsafe {
                c(logits.as_ptr(), anchors.as_ptr(), tb.as_ptr(), w.as_ptr(), n, bins, &co, l, g)
            });
        }
    }
    let o = BoxOptions::default();
    expect_err(run::<T>(2, len, |l, g| f(&logits, &anchors, &tb, None, bins, &BoxOptions { reduction: Reduction::None, ..o }, l, g)), is_option, "options.reduction");
    expect_err(run::<T>(2, len, |l, g| f(&logits, &anchors, &tb, None, bins, &BoxOptions { dfl_weight: -1.0, ..o }, l, g)), is_option, "options.dfl_weight");
    expect_err(run::<T>(2, len, |l, g| f(&logits, &anchors[1..], &tb, None, bins, &o, l, g)), is_size, "`anchors`");
    expect_err(run::<T>(2, len, |l, g| f(&logits, &anchors, &tb[4..], None, bins, &o, l, g)), is_size, "`target`");
    expect_err(run::<T>(2, len, |l, g| f(&logits[1..], &anchors, &tb, None, bins, &o, l, g)), is_size, "`logits`");
    expect_err(run::<T>(1, len, |l, g| f(&logits, &anchors, &tb, None, bins, &o, l, g)), is_size, "`loss`");
    expect_err(run::<T>(2, len, |l, g| f(&logits, &anchors, &tb, None, 1, &o, l, g)), is_size, "`bins`");
}

/// A class-axis call's data: logits `x` and `z`, probabilities `q`, per-element weights `w`,
/// class weights `cw`, labels (some `-100`), and probability targets (softmax of `z`).
struct ClassData<T> {
    shape: Shape,
    cs: c::lossfn_shape,
    len: usize,
    pos: usize,
    x: Vec<T>,
    z: Vec<T>,
    q: Vec<T>,
    w: Vec<T>,
    cw: Vec<T>,
    labels: Vec<i64>,
    probs: Vec<T>,
}

impl<T: Float> ClassData<T> {
    fn new(shape: Shape, seed: u64) -> Self {
        let (len, pos) = (shape.len(), shape.positions());
        let z = values::<T>(len, seed + 1, -4.0, 4.0);
        ClassData {
            shape,
            cs: c_shape(shape),
            len,
            pos,
            x: values::<T>(len, seed, -4.0, 4.0),
            q: values::<T>(len, seed + 2, 0.0, 1.0),
            w: values::<T>(len, seed + 3, 0.0, 2.0),
            cw: values::<T>(shape.classes, seed + 4, 0.5, 2.0),
            labels: values::<f64>(pos, seed + 5, 0.0, shape.classes as f64 + 1.0).into_iter().map(|v| if v as usize == shape.classes { -100 } else { v as i64 }).collect(),
            probs: softmax_targets(&z, shape),
            z,
        }
    }
    /// Row-major (NSC) rows and a class-major (NCS) image batch.
    fn classification() -> Vec<Self> {
        vec![
            Self::new(Shape { batch: 5, classes: 7, spatial: 1, layout: Layout::Nsc }, 41),
            Self::new(Shape { batch: 3, classes: 4, spatial: 37, layout: Layout::Ncs }, 41),
        ]
    }
    /// Segmentation batches in both layouts.
    fn overlap() -> Vec<Self> {
        vec![
            Self::new(Shape { batch: 3, classes: 4, spatial: 37, layout: Layout::Ncs }, 51),
            Self::new(Shape { batch: 2, classes: 3, spatial: 50, layout: Layout::Nsc }, 51),
        ]
    }
    /// `w` where some, else NULL.
    fn ptr(w: Option<&[T]>) -> *const T {
        w.map_or(std::ptr::null(), <[T]>::as_ptr)
    }
}

/// A class tensor's C shape from the safe one.
fn c_shape(s: Shape) -> c::lossfn_shape {
    let layout = if s.layout == Layout::Ncs { c::LOSSFN_LAYOUT_NCS } else { c::LOSSFN_LAYOUT_NSC };
    c::lossfn_shape { batch: s.batch, classes: s.classes, spatial: s.spatial, layout }
}

/// input, target (`G`: class indices or values), per-term weights: most class-axis losses.
type ThreeFn<T, G, O> = fn(&[T], &[G], Option<&[T]>, Shape, &O, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type ThreeC<T, G, O> = unsafe extern "C" fn(*const T, *const G, *const T, c::lossfn_shape, *const O, *mut T, *mut T) -> u32;
/// input and a second tensor of its shape (KL divergence, distillation).
type TwoFn<T, G, O> = fn(&[T], &[G], Shape, &O, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type TwoC<T, G, O> = unsafe extern "C" fn(*const T, *const G, c::lossfn_shape, *const O, *mut T, *mut T) -> u32;

/// The same call of a [`ThreeFn`] through both APIs.
#[allow(clippy::too_many_arguments)]
fn three<T: Float, G, O, CO>(what: &str, f: ThreeFn<T, G, O>, c: ThreeC<T, G, CO>, d: &ClassData<T>, target: &[G], w: Option<&[T]>, o: &O, co: &CO, loss_len: usize) {
    let what = format!("{what} {:?}", d.shape);
    same(&what, loss_len, d.len, |l, g| f(&d.x, target, w, d.shape, o, l, g), |l, g| unsafe { c(d.x.as_ptr(), target.as_ptr(), ClassData::ptr(w), d.cs, co, l, g) });
}

/// The same call of a [`TwoFn`] through both APIs.
#[allow(clippy::too_many_arguments)]
fn two<T: Float, G, O, CO>(what: &str, f: TwoFn<T, G, O>, c: TwoC<T, G, CO>, d: &ClassData<T>, input: &[T], target: &[G], o: &O, co: &CO, loss_len: usize) {
    let what = format!("{what} {:?}", d.shape);
    same(&what, loss_len, d.len, |l, g| f(input, target, d.shape, o, l, g), |l, g| unsafe { c(input.as_ptr(), target.as_ptr(), d.cs, co, l, g) });
}

/// Which weights a call passes: none, the class weights `cw`, or the per-element `w`.
#[derive(Clone, Copy)]
enum Weights {
    None,
    Class,
    Element,
}

impl<T: Float> ClassData<T> {
    fn weights(&self, w: Weights) -> Option<&[T]> {
        match w {
            Weights::None => None,
            Weights::Class => Some(&self.cw),
            Weights::Element => Some(&self.w),
        }
    }
}

/// The check of a [`ThreeFn`] form on the classification data: per reduction the options
/// `opts(reduction, its C value)` gives, the target `target` picks, each of `weights`, and
/// `terms` values under NONE (positions, or elements).
#[allow(clippy::too_many_arguments)]
fn three_check<T: Float, G, O, CO>(
    name: &str,
    f: ThreeFn<T, G, O>,
    c: ThreeC<T, G, CO>,
    target: impl Fn(&ClassData<T>) -> &[G],
    weights: &[Weights],
    terms: fn(&ClassData<T>) -> usize,
    opts: impl Fn(Reduction, u32) -> (O, CO),
) {
    for d in ClassData::<T>::classification() {
        for (red, c_red) in REDUCTIONS {
            let (o, co) = opts(red, c_red);
            for &w in weights {
                three(name, f, c, &d, target(&d), d.weights(w), &o, &co, red.loss_len(terms(&d)));
            }
        }
    }
}

fn positions<T>(d: &ClassData<T>) -> usize {
    d.pos
}

fn elements<T>(d: &ClassData<T>) -> usize {
    d.len
}

/// Cross entropy with label smoothing 0.1.
fn ce_options(red: Reduction, c_red: u32) -> (lossfn::classification::CrossEntropyOptions, c::lossfn_cross_entropy_options) {
    let o = lossfn::classification::CrossEntropyOptions { reduction: red, label_smoothing: 0.1, ..Default::default() };
    let mut co = c::lossfn_cross_entropy_options_default();
    (co.reduction, co.label_smoothing) = (c_red, 0.1);
    (o, co)
}

/// Focal with γ = 1.5.
fn focal_options(red: Reduction, c_red: u32) -> (lossfn::classification::FocalOptions, c::lossfn_focal_options) {
    let o = lossfn::classification::FocalOptions { reduction: red, gamma: 1.5, ..Default::default() };
    let mut co = c::lossfn_focal_options_default();
    (co.reduction, co.gamma) = (c_red, 1.5);
    (o, co)
}

fn cross_entropy_check<T: Float>(name: &str, f: ThreeFn<T, i64, lossfn::classification::CrossEntropyOptions>, c: ThreeC<T, i64, c::lossfn_cross_entropy_options>) {
    three_check(name, f, c, |d| &d.labels[..], &[Weights::Class], positions, ce_options);
}

fn cross_entropy_soft_check<T: Float>(name: &str, f: ThreeFn<T, T, lossfn::classification::CrossEntropyOptions>, c: ThreeC<T, T, c::lossfn_cross_entropy_options>) {
    three_check(name, f, c, |d| &d.probs[..], &[Weights::Class], positions, ce_options);
}

type BceFn<T> = fn(&[T], &[T], Option<&[T]>, Option<&[T]>, Shape, &lossfn::classification::BceOptions, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type BceC<T> = unsafe extern "C" fn(*const T, *const T, *const T, *const T, c::lossfn_shape, *const c::lossfn_bce_options, *mut T, *mut T) -> u32;

fn bce_check<T: Float>(name: &str, f: BceFn<T>, c: BceC<T>) {
    for d in ClassData::<T>::classification() {
        for (red, c_red) in REDUCTIONS {
            let o = lossfn::classification::BceOptions { reduction: red, ..Default::default() };
            let mut co = c::lossfn_bce_options_default();
            co.reduction = c_red;
            same(&format!("{name} {red:?} {:?}", d.shape), red.loss_len(d.len), d.len, |l, g| f(&d.x, &d.q, Some(&d.w), Some(&d.cw), d.shape, &o, l, g), |l, g| unsafe {
                c(d.x.as_ptr(), d.q.as_ptr(), d.w.as_ptr(), d.cw.as_ptr(), d.cs, &co, l, g)
            });
        }
    }
}

type EntropyFn<T> = fn(&[T], Shape, &lossfn::classification::EntropyOptions, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type EntropyC<T> = unsafe extern "C" fn(*const T, c::lossfn_shape, *const c::lossfn_entropy_options, *mut T, *mut T) -> u32;

fn entropy_check<T: Float>(name: &str, f: EntropyFn<T>, c: EntropyC<T>) {
    use lossfn::classification::{EntropyInput, EntropyOptions};
    for d in ClassData::<T>::classification() {
        for (red, c_red) in REDUCTIONS {
            for (input, c_input, data) in [(EntropyInput::Logits, 0, &d.x), (EntropyInput::Probs, 1, &d.probs)] {
                let o = EntropyOptions { reduction: red, input, ..Default::default() };
                let mut co = c::lossfn_entropy_options_default();
                (co.reduction, co.input) = (c_red, c_input);
                same(&format!("{name} {red:?} {input:?} {:?}", d.shape), red.loss_len(d.pos), d.len, |l, g| f(data, d.shape, &o, l, g), |l, g| unsafe { c(data.as_ptr(), d.cs, &co, l, g) });
            }
        }
    }
}

fn kl_div_check<T: Float>(name: &str, f: TwoFn<T, T, lossfn::classification::KlDivOptions>, c: TwoC<T, T, c::lossfn_kl_div_options>) {
    for d in ClassData::<T>::classification() {
        let logp: Vec<T> = d.probs.iter().map(|p| T::of(p.f64().ln())).collect();
        for (red, c_red) in REDUCTIONS {
            let o = lossfn::classification::KlDivOptions { reduction: red, log_target: true, ..Default::default() };
            let mut co = c::lossfn_kl_div_options_default();
            (co.reduction, co.log_target) = (c_red, true);
            two(name, f, c, &d, &logp, &logp, &o, &co, red.loss_len(d.len));
        }
    }
}

fn distillation_check<T: Float>(name: &str, f: TwoFn<T, T, lossfn::classification::DistillationOptions>, c: TwoC<T, T, c::lossfn_distillation_options>) {
    for d in ClassData::<T>::classification() {
        for (red, c_red) in REDUCTIONS {
            let o = lossfn::classification::DistillationOptions { reduction: red, temperature: 2.0, ..Default::default() };
            let mut co = c::lossfn_distillation_options_default();
            (co.reduction, co.temperature) = (c_red, 2.0);
            two(name, f, c, &d, &d.x, &d.z, &o, &co, red.loss_len(d.pos));
        }
    }
}

fn focal_check<T: Float>(name: &str, f: ThreeFn<T, T, lossfn::classification::FocalOptions>, c: ThreeC<T, T, c::lossfn_focal_options>) {
    three_check(name, f, c, |d| &d.q[..], &[Weights::Element], elements, focal_options);
}

fn focal_index_check<T: Float>(name: &str, f: ThreeFn<T, i64, lossfn::classification::FocalOptions>, c: ThreeC<T, i64, c::lossfn_focal_options>) {
    three_check(name, f, c, |d| &d.labels[..], &[Weights::Class], positions, focal_options);
}

fn quality_focal_check<T: Float>(name: &str, f: ThreeFn<T, T, lossfn::classification::QualityFocalOptions>, c: ThreeC<T, T, c::lossfn_quality_focal_options>) {
    three_check(name, f, c, |d| &d.q[..], &[Weights::Element, Weights::None], elements, |red, c_red| {
        let o = lossfn::classification::QualityFocalOptions { reduction: red, detach_weight: true, ..Default::default() };
        let mut co = c::lossfn_quality_focal_options_default();
        (co.reduction, co.detach_weight) = (c_red, true);
        (o, co)
    });
}

/// Softmax of `z` along the class axis of `shape` (soft targets).
fn softmax_targets<T: Float>(z: &[T], shape: lossfn::overlap::Shape) -> Vec<T> {
    use lossfn::overlap::Layout;
    let mut probs = vec![T::zero(); z.len()];
    for n in 0..shape.batch {
        for s in 0..shape.spatial {
            let at = |k: usize| if shape.layout == Layout::Ncs { (n * shape.classes + k) * shape.spatial + s } else { (n * shape.spatial + s) * shape.classes + k };
            let sum: f64 = (0..shape.classes).map(|k| z[at(k)].f64().exp()).sum();
            for k in 0..shape.classes {
                probs[at(k)] = T::of(z[at(k)].f64().exp() / sum);
            }
        }
    }
    probs
}

/// The C options of a safe overlap options struct (every field mapped).
fn c_overlap(o: &lossfn::overlap::OverlapOptions) -> lossfn::capi::lossfn_overlap_options {
    use lossfn::overlap::{Activation, GdiceWeight};
    let mut c = lossfn::capi::lossfn_overlap_options_default();
    c.reduction = c_reduction(o.reduction);
    c.activation = match o.activation {
        Activation::None => 0,
        Activation::Sigmoid => 1,
        Activation::Softmax => 2,
    };
    c.w_type = match o.w_type {
        GdiceWeight::Square => 0,
        GdiceWeight::Simple => 1,
        GdiceWeight::Uniform => 2,
    };
    (c.smooth_nr, c.smooth_dr, c.include_background, c.batch, c.squared_pred) = (o.smooth_nr, o.smooth_dr, o.include_background, o.batch, o.squared_pred);
    (c.alpha, c.beta, c.gamma, c.ignore_index, c.soft_label) = (o.alpha, o.beta, o.gamma, o.ignore_index, o.soft_label);
    (c.loss_weight, c.avg_factor, c.accumulate) = (o.loss_weight, o.avg_factor, o.accumulate);
    c
}

fn c_reduction(r: Reduction) -> u32 {
    match r {
        Reduction::None => 0,
        Reduction::Mean => 1,
        Reduction::Sum => 2,
        Reduction::BatchMean => 3,
        Reduction::MeanDenominator => 4,
    }
}

type Oo = c::lossfn_overlap_options;

/// The option sets every overlap loss of a form runs: for each reduction and for per-sample and
/// batch scores, `(options, with class weights)`. The second and third are those the Jaccard
/// and Tversky tests were written with (a focal exponent; sigmoid with α, β and a Focal Tversky
/// γ, soft labels on soft targets): every loss of the form runs all three.
fn overlap_sets(soft: bool) -> Vec<(lossfn::overlap::OverlapOptions, bool)> {
    use lossfn::overlap::{Activation, OverlapOptions};
    let mut sets = Vec::new();
    for (red, _) in REDUCTIONS {
        for batch in [false, true] {
            let o = OverlapOptions { reduction: red, batch, include_background: !batch, squared_pred: batch, loss_weight: 0.5, ..Default::default() };
            if soft {
                sets.push((o, false));
                sets.push((OverlapOptions { soft_label: !batch, activation: Activation::Sigmoid, ..o }, true));
                sets.push((OverlapOptions { alpha: 0.4, beta: 0.6, gamma: 0.75, activation: Activation::Sigmoid, soft_label: true, ..o }, true));
            } else {
                sets.push((o, true));
                sets.push((OverlapOptions { gamma: 1.5, ..o }, false));
                sets.push((OverlapOptions { alpha: 0.4, beta: 0.6, gamma: 0.75, activation: Activation::Sigmoid, ..o }, false));
            }
        }
    }
    sets
}

/// The number of scores of an overlap call (per (sample, class), or per class over the batch).
fn overlap_scores(shape: Shape, o: &lossfn::overlap::OverlapOptions) -> usize {
    let classes = shape.classes - usize::from(!o.include_background);
    if o.batch {
        classes
    } else {
        shape.batch * classes
    }
}

fn overlap_index_check<T: Float>(name: &str, f: ThreeFn<T, i64, lossfn::overlap::OverlapOptions>, c: ThreeC<T, i64, Oo>) {
    for d in ClassData::<T>::overlap() {
        for (o, weighted) in overlap_sets(false) {
            let w = weighted.then_some(&d.cw[..]);
            three(name, f, c, &d, &d.labels, w, &o, &c_overlap(&o), o.reduction.loss_len(overlap_scores(d.shape, &o)));
        }
    }
}

fn overlap_soft_check<T: Float>(name: &str, f: ThreeFn<T, T, lossfn::overlap::OverlapOptions>, c: ThreeC<T, T, Oo>) {
    for d in ClassData::<T>::overlap() {
        for (o, weighted) in overlap_sets(true) {
            let w = weighted.then_some(&d.cw[..]);
            three(name, f, c, &d, &d.probs, w, &o, &c_overlap(&o), o.reduction.loss_len(overlap_scores(d.shape, &o)));
        }
    }
}

/// Generalized Dice: one score per sample (or one over the batch), no class weights.
fn generalized_dice_check<T: Float, G>(name: &str, f: TwoFn<T, G, lossfn::overlap::OverlapOptions>, c: TwoC<T, G, Oo>, target: impl Fn(&ClassData<T>) -> &[G]) {
    use lossfn::overlap::{GdiceWeight, OverlapOptions};
    for d in ClassData::<T>::overlap() {
        for (red, _) in REDUCTIONS {
            for batch in [false, true] {
                let o = OverlapOptions { reduction: red, batch, include_background: !batch, w_type: GdiceWeight::Simple, loss_weight: 0.5, ..Default::default() };
                two(name, f, c, &d, &d.x, target(&d), &o, &c_overlap(&o), red.loss_len(if batch { 1 } else { d.shape.batch }));
            }
        }
    }
}

fn lovasz_softmax_check<T: Float>(name: &str, f: TwoFn<T, i64, lossfn::overlap::LovaszOptions>, c: TwoC<T, i64, c::lossfn_lovasz_options>) {
    for d in ClassData::<T>::overlap() {
        for (red, c_red) in REDUCTIONS {
            for per_image in [false, true] {
                let o = lossfn::overlap::LovaszOptions { reduction: red, per_image, classes_present: !per_image, ..Default::default() };
                let mut co = c::lossfn_lovasz_options_default();
                (co.reduction, co.per_image, co.classes_present) = (c_red, per_image, !per_image);
                two(name, f, c, &d, &d.x, &d.labels, &o, &co, red.loss_len(if per_image { d.shape.batch } else { 1 }));
            }
        }
    }
}

fn lovasz_hinge_check<T: Float>(name: &str, f: TwoFn<T, T, lossfn::overlap::LovaszOptions>, c: TwoC<T, T, c::lossfn_lovasz_options>) {
    // One logit per position, targets 0/1 (or ignore_index).
    let mut d = ClassData::<T>::new(Shape { batch: 3, classes: 1, spatial: 41, layout: Layout::Ncs }, 61);
    let mut t: Vec<T> = values::<f64>(d.len, 62, 0.0, 2.0).into_iter().map(|v| T::of(v.floor())).collect();
    t[7] = T::of(-100.0);
    d.q = t;
    for (red, per_image) in [(Reduction::None, true), (Reduction::Mean, false), (Reduction::Sum, true)] {
        let o = lossfn::overlap::LovaszOptions { reduction: red, per_image, loss_weight: 2.0, ..Default::default() };
        let mut co = c::lossfn_lovasz_options_default();
        (co.reduction, co.per_image, co.loss_weight) = (c_reduction(red), per_image, 2.0);
        two(name, f, c, &d, &d.x, &d.q, &o, &co, red.loss_len(if per_image { d.shape.batch } else { 1 }));
    }
}

type FusedFn<T, O> = fn(&[T], &[i64], Option<&[T]>, Shape, &lossfn::overlap::OverlapOptions, &O, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type FusedC<T, O> = unsafe extern "C" fn(*const T, *const i64, *const T, c::lossfn_shape, *const Oo, *const O, *mut T, *mut T) -> u32;

/// Dice fused with a per-position loss: `[total, Dice part, other part]`, with and without class
/// weights, for each of the second loss's option sets `(safe, C)`.
fn fused_check<T: Float, O, CO>(name: &str, f: FusedFn<T, O>, c: FusedC<T, CO>, second: &[(O, CO)]) {
    use lossfn::overlap::OverlapOptions;
    for d in ClassData::<T>::overlap() {
        let o = OverlapOptions { loss_weight: 0.7, ..Default::default() };
        let co = c_overlap(&o);
        for (s, cs) in second {
            for w in [Some(&d.cw[..]), None] {
                same(&format!("{name} {:?}", d.shape), 3, d.len, |l, g| f(&d.x, &d.labels, w, d.shape, &o, s, l, g), |l, g| unsafe {
                    c(d.x.as_ptr(), d.labels.as_ptr(), ClassData::ptr(w), d.cs, &co, cs, l, g)
                });
            }
        }
    }
}

fn dice_ce_check<T: Float>(name: &str, f: FusedFn<T, lossfn::classification::CrossEntropyOptions>, c: FusedC<T, c::lossfn_cross_entropy_options>) {
    let ce = lossfn::classification::CrossEntropyOptions { label_smoothing: 0.1, reduction: Reduction::Sum, ..Default::default() };
    let mut cce = c::lossfn_cross_entropy_options_default();
    (cce.label_smoothing, cce.reduction) = (0.1, 2);
    fused_check(name, f, c, &[(ce, cce)]);
}

fn dice_focal_check<T: Float>(name: &str, f: FusedFn<T, lossfn::classification::FocalOptions>, c: FusedC<T, c::lossfn_focal_options>) {
    let focal = lossfn::classification::FocalOptions { gamma: 1.5, ..Default::default() };
    let mut cf = c::lossfn_focal_options_default();
    cf.gamma = 1.5;
    fused_check(name, f, c, &[(focal, cf)]);
}

/// The kinds of the two phases, safe and C.
const KINDS: [(lossfn::overlap::OverlapKind, u32); 4] = {
    use lossfn::overlap::OverlapKind::*;
    [(Dice, c::LOSSFN_OVERLAP_DICE), (Tversky, c::LOSSFN_OVERLAP_TVERSKY), (GeneralizedDice, c::LOSSFN_OVERLAP_GENERALIZED_DICE), (Jaccard, c::LOSSFN_OVERLAP_JACCARD)]
};

type StatsFn<T, G> = fn(lossfn::overlap::OverlapKind, &[T], &[G], Shape, &lossfn::overlap::OverlapOptions, &mut [f64]) -> lossfn::Result<()>;
type StatsC<T, G> = unsafe extern "C" fn(u32, *const T, *const G, c::lossfn_shape, *const Oo, *mut f64, usize) -> u32;

/// Phase 1: the statistics of each kind equal the C API's.
fn stats_check<T: Float, G>(name: &str, f: StatsFn<T, G>, c: StatsC<T, G>, target: impl Fn(&ClassData<T>) -> &[G]) {
    let o = lossfn::overlap::OverlapOptions { batch: true, ..Default::default() };
    let co = c_overlap(&o);
    for d in ClassData::<T>::overlap() {
        for (kind, ck) in KINDS {
            let n = 3 * d.shape.classes;
            let (mut st, mut cst) = (vec![SENTINEL; n], vec![0f64; n]);
            f(kind, &d.x, target(&d), d.shape, &o, &mut st).unwrap();
            assert_eq!(unsafe { c(ck, d.x.as_ptr(), target(&d).as_ptr(), d.cs, &co, cst.as_mut_ptr(), n) }, 0);
            assert_eq!(st, cst, "{name} {kind:?}");
        }
    }
}

type FromStatsFn<T, G> =
    fn(lossfn::overlap::OverlapKind, &[T], &[G], Option<&[T]>, Shape, &lossfn::overlap::OverlapOptions, &[f64], &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type FromStatsC<T, G> = unsafe extern "C" fn(u32, *const T, *const G, *const T, c::lossfn_shape, *const Oo, *const f64, usize, *mut T, *mut T) -> u32;

/// Phase 2 of each kind on the statistics of phase 1 (`stats`) equals the C API's.
fn from_stats_check<T: Float, G>(name: &str, f: FromStatsFn<T, G>, c: FromStatsC<T, G>, target: impl Fn(&ClassData<T>) -> &[G], stats: StatsFn<T, G>) {
    let o = lossfn::overlap::OverlapOptions { batch: true, ..Default::default() };
    let co = c_overlap(&o);
    for d in ClassData::<T>::overlap() {
        for (kind, ck) in KINDS {
            let n = 3 * d.shape.classes;
            let mut st = vec![0f64; n];
            stats(kind, &d.x, target(&d), d.shape, &o, &mut st).unwrap();
            // Generalized Dice takes no class weights.
            let w = (kind != lossfn::overlap::OverlapKind::GeneralizedDice).then_some(&d.cw[..]);
            same(&format!("{name} {kind:?} {:?}", d.shape), 1, d.len, |l, g| f(kind, &d.x, target(&d), w, d.shape, &o, &st, l, g), |l, g| unsafe {
                c(ck, d.x.as_ptr(), target(&d).as_ptr(), ClassData::ptr(w), d.cs, &co, st.as_ptr(), n, l, g)
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Every function of the catalogue through its form's check.

/// `$check` on `lossfn::$module::$name` and `lossfn_<name>_f32`, then on `_f64` (the C
/// function fixes the precision); further arguments follow.
macro_rules! both {
    ($check:ident, $module:ident, $name:ident $(, $arg:expr)*) => {
        paste::paste! {{
            $check(stringify!($name), lossfn::$module::$name, c::[<lossfn_ $name _f32>] $(, $arg)*);
            $check(stringify!($name), lossfn::$module::$name, c::[<lossfn_ $name _f64>] $(, $arg)*);
        }}
    };
}

/// The check of each form (every function of the header has one: the catalogue's `by_name!`
/// does not compile without its arm).
macro_rules! check_form {
    (REGRESSION, $name:ident) => { both!(regression_check, regression, $name) };
    (BOX, $name:ident) => { both!(box_check, boxes, $name) };
    (ROTATED_BOX, $name:ident) => { both!(rotated_check, boxes, $name) };
    (MATRIX, $name:ident) => { both!(matrix_check, boxes, $name) };
    (PROBIOU_MATRIX, $name:ident) => { both!(rotated_matrix_check, boxes, $name) };
    (KEYPOINT, $name:ident) => { both!(keypoint_check, keypoints, $name) };
    (DFL, $name:ident) => { both!(dfl_check, dfl, $name) };
    (DFL_BOX, $name:ident) => { both!(dfl_box_check, dfl, $name) };
    (CROSS_ENTROPY_INDEX, $name:ident) => { both!(cross_entropy_check, classification, $name) };
    (CROSS_ENTROPY, $name:ident) => { both!(cross_entropy_soft_check, classification, $name) };
    (BCE, $name:ident) => { both!(bce_check, classification, $name) };
    (ENTROPY, $name:ident) => { both!(entropy_check, classification, $name) };
    (KL_DIV, $name:ident) => { both!(kl_div_check, classification, $name) };
    (DISTILLATION, $name:ident) => { both!(distillation_check, classification, $name) };
    (FOCAL, $name:ident) => { both!(focal_check, classification, $name) };
    (FOCAL_INDEX, $name:ident) => { both!(focal_index_check, classification, $name) };
    (QUALITY_FOCAL, $name:ident) => { both!(quality_focal_check, classification, $name) };
    (OVERLAP_INDEX, $name:ident) => { both!(overlap_index_check, overlap, $name) };
    (OVERLAP, $name:ident) => { both!(overlap_soft_check, overlap, $name) };
    (GENERALIZED_DICE_INDEX, $name:ident) => { both!(generalized_dice_check, overlap, $name, |d| &d.labels[..]) };
    (GENERALIZED_DICE, $name:ident) => { both!(generalized_dice_check, overlap, $name, |d| &d.probs[..]) };
    (LOVASZ_INDEX, $name:ident) => { both!(lovasz_softmax_check, overlap, $name) };
    (LOVASZ, $name:ident) => { both!(lovasz_hinge_check, overlap, $name) };
    (DICE_CE, $name:ident) => { both!(dice_ce_check, overlap, $name) };
    (DICE_FOCAL, $name:ident) => { both!(dice_focal_check, overlap, $name) };
    (OVERLAP_STATS_INDEX, $name:ident) => { both!(stats_check, overlap, $name, |d| &d.labels[..]) };
    (OVERLAP_STATS, $name:ident) => { both!(stats_check, overlap, $name, |d| &d.probs[..]) };
    (OVERLAP_FROM_STATS_INDEX, $name:ident) => { both!(from_stats_check, overlap, $name, |d| &d.labels[..], lossfn::overlap::overlap_stats) };
    (OVERLAP_FROM_STATS, $name:ident) => { both!(from_stats_check, overlap, $name, |d| &d.probs[..], lossfn::overlap::overlap_stats_soft) };
}

/// One function of the catalogue: its safe function against its C entry point, and the bad
/// input of its form.
fn check(f: F) {
    by_name!(f, check_form)
}

per_function_tests!("safe-vs-C");

// ---------------------------------------------------------------------------------------------
// What one loss of a family reads or refuses alone.

#[test]
fn regression_losses_refuse_their_own_options() {
    fn suite<T: Float>() {
        let n = 1000;
        let (x, y) = (values::<T>(n, 1, -3.0, 3.0), values::<T>(n, 2, -3.0, 3.0));
        let o = regression::Options::default();
        for beta in [f64::NAN, -1.0, f64::INFINITY] {
            let bad = regression::Options { beta, ..o };
            expect_err(run::<T>(1, n, |l, g| regression::smooth_l1_loss(&x, &y, None, &bad, l, g)), is_option, "options.beta");
            // Huber does not read beta.
            run::<T>(1, n, |l, g| regression::huber_loss(&x, &y, None, &bad, l, g)).unwrap();
        }
        for delta in [f64::NAN, 0.0, f64::INFINITY] {
            let bad = regression::Options { delta, ..o };
            expect_err(run::<T>(1, n, |l, g| regression::huber_loss(&x, &y, None, &bad, l, g)), is_option, "options.delta");
        }
        // Empty input: a MEAN of nothing is 0.
        let (loss, _) = run::<T>(1, 0, |l, g| regression::mse_loss(&[], &[], None, &o, l, g)).unwrap();
        assert_eq!(loss[0], T::zero());
    }
    suite::<f32>();
    suite::<f64>();
}

#[test]
fn box_losses_refuse_their_own_options() {
    fn suite<T: Float>() {
        let n = 300;
        let (p, t) = (xyxy::<T>(n, 4), xyxy::<T>(n, 5));
        let o = boxes::Options::default();
        for gamma in [-0.5, f64::NAN, f64::INFINITY] {
            let bad = boxes::Options { gamma, lambda: gamma, ..o };
            expect_err(run::<T>(1, 4 * n, |l, g| boxes::eiou_loss(&p, &t, None, &bad, l, g)), is_option, "options.gamma");
            expect_err(run::<T>(1, 4 * n, |l, g| boxes::cdiou_loss(&p, &t, None, &bad, l, g)), is_option, "options.lambda");
            run::<T>(1, 4 * n, |l, g| boxes::giou_loss(&p, &t, None, &bad, l, g)).unwrap();
        }
    }
    suite::<f32>();
    suite::<f64>();
}

fn classification_bad_input<T: Float>() {
    use lossfn::classification::*;
    for d in ClassData::<T>::classification() {
        let ClassData { shape, len, pos, ref x, ref z, ref q, ref w, ref cw, ref labels, ref probs, .. } = d;
        // Every function refuses a short input, a short gradient, a bad shape.
        let ce = CrossEntropyOptions::default();
        let bad_shape = Shape { classes: 0, ..shape };
        expect_err(run::<T>(1, len, |l, g| cross_entropy(&x[1..], labels, None, shape, &ce, l, g)), is_size, "`logits`");
        expect_err(run::<T>(1, len, |l, g| cross_entropy(x, &labels[1..], None, shape, &ce, l, g)), is_size, "`target`");
        expect_err(run::<T>(1, len, |l, g| cross_entropy(x, labels, Some(&cw[1..]), shape, &ce, l, g)), is_size, "`class_weight`");
        expect_err(run::<T>(1, len, |l, g| cross_entropy(x, labels, None, bad_shape, &ce, l, g)), is_size, "`shape.classes`");
        let huge = Shape { batch: usize::MAX / 2, spatial: 3, ..shape };
        expect_err(run::<T>(1, len, |l, g| cross_entropy(x, labels, None, huge, &ce, l, g)), is_size, "overflows");
        let mut bad_labels = labels.clone();
        bad_labels[pos - 1] = shape.classes as i64;
        expect_err(run::<T>(1, len, |l, g| cross_entropy(x, &bad_labels, None, shape, &ce, l, g)), |e| matches!(e, Error::InvalidTarget(_)), "`target` at");
        expect_err(run::<T>(1, len, |l, g| softmax_focal_loss(x, &bad_labels, None, shape, &FocalOptions::default(), l, g)), |e| matches!(e, Error::InvalidTarget(_)), "`target` at");
        expect_err(run::<T>(1, len, |l, g| cross_entropy(x, labels, None, shape, &CrossEntropyOptions { label_smoothing: f64::NAN, ..ce }, l, g)), is_option, "options.label_smoothing");
        expect_err(run::<T>(1, len, |l, g| cross_entropy_soft(x, probs, None, shape, &CrossEntropyOptions { ignore_index: 3, ..ce }, l, g)), is_option, "options.ignore_index");
        expect_err(run::<T>(1, len, |l, g| cross_entropy_soft(x, &probs[1..], None, shape, &ce, l, g)), is_size, "`target`");
        expect_err(run::<T>(1, len, |l, g| bce_with_logits(x, q, None, Some(&cw[1..]), shape, &BceOptions::default(), l, g)), is_size, "`pos_weight`");
        expect_err(run::<T>(1, len - 1, |l, g| entropy(x, shape, &EntropyOptions::default(), l, g)), is_size, "`grad_input`");
        expect_err(run::<T>(1, len, |l, g| entropy(x, shape, &EntropyOptions { reduction: Reduction::BatchMean, ..Default::default() }, l, g)), is_option, "options.reduction");
        expect_err(run::<T>(1, len, |l, g| kl_div(x, &z[1..], shape, &KlDivOptions::default(), l, g)), is_size, "`target`");
        expect_err(run::<T>(1, len, |l, g| kl_div_logits(x, z, shape, &DistillationOptions { temperature: 0.0, ..Default::default() }, l, g)), is_option, "options.temperature");
        expect_err(run::<T>(1, len, |l, g| kl_div_logits(x, &z[1..], shape, &DistillationOptions::default(), l, g)), is_size, "`teacher_logits`");
        expect_err(run::<T>(1, len, |l, g| sigmoid_focal_loss(x, q, None, shape, &FocalOptions { alpha: 1.5, ..Default::default() }, l, g)), is_option, "options.alpha");
        expect_err(run::<T>(1, len, |l, g| sigmoid_focal_loss(x, q, Some(&w[1..]), shape, &FocalOptions::default(), l, g)), is_size, "`weight`");
        expect_err(run::<T>(1, len, |l, g| varifocal_loss(x, q, None, shape, &QualityFocalOptions { alpha: -1.0, ..Default::default() }, l, g)), is_option, "options.alpha");
        expect_err(run::<T>(1, len, |l, g| quality_focal_loss(x, q, None, shape, &QualityFocalOptions { gamma: f64::NAN, ..Default::default() }, l, g)), is_option, "options.gamma");
        expect_err(run::<T>(pos, len, |l, g| softmax_focal_loss(x, labels, None, shape, &FocalOptions::default(), l, g)), is_size, "`loss`");
    }
}

#[test]
fn classification_losses_refuse_bad_input() {
    classification_bad_input::<f32>();
    classification_bad_input::<f64>();
}

fn overlap_bad_input<T: Float>() {
    use lossfn::classification::{CrossEntropyOptions, FocalOptions};
    use lossfn::overlap::*;
    for d in ClassData::<T>::overlap() {
        let ClassData { shape, len, pos, ref x, ref cw, ref labels, ref probs, .. } = d;
        // The two phases on one rank equal the one-call batch loss of their kind.
        let o = OverlapOptions { batch: true, ..Default::default() };
        for (kind, _) in KINDS {
            let mut st = vec![0f64; 3 * shape.classes];
            overlap_stats(kind, x, labels, shape, &o, &mut st).unwrap();
            let w = (kind != OverlapKind::GeneralizedDice).then_some(&cw[..]);
            let one_call = |l: &mut [T], g: Option<&mut [T]>| match kind {
                OverlapKind::Dice => dice_loss(x, labels, w, shape, &o, l, g),
                OverlapKind::Tversky => tversky_loss(x, labels, w, shape, &o, l, g),
                OverlapKind::Jaccard => jaccard_loss(x, labels, w, shape, &o, l, g),
                OverlapKind::GeneralizedDice => generalized_dice_loss(x, labels, shape, &o, l, g),
            };
            assert_eq!(run::<T>(1, len, one_call).unwrap(), run::<T>(1, len, |l, g| overlap_loss_from_stats(kind, x, labels, w, shape, &o, &st, l, g)).unwrap(), "{kind:?}");
        }

        // Bad input: each refused with the C API's error, nothing written.
        let o = OverlapOptions::default();
        let is_target = |e: &Error| matches!(e, Error::InvalidTarget(_));
        expect_err(run::<T>(1, len, |l, g| dice_loss(&x[1..], labels, None, shape, &o, l, g)), is_size, "`input`");
        expect_err(run::<T>(1, len, |l, g| dice_loss(x, &labels[1..], None, shape, &o, l, g)), is_size, "`target`");
        expect_err(run::<T>(1, len, |l, g| dice_loss_soft(x, &probs[1..], None, shape, &o, l, g)), is_size, "`target`");
        expect_err(run::<T>(1, len, |l, g| dice_loss(x, labels, Some(&cw[1..]), shape, &o, l, g)), is_size, "`class_weight`");
        expect_err(run::<T>(2, len, |l, g| dice_loss(x, labels, None, shape, &o, l, g)), is_size, "`loss`");
        expect_err(run::<T>(1, len + 1, |l, g| tversky_loss(x, labels, None, shape, &o, l, g)), is_size, "`grad_input`");
        expect_err(run::<T>(1, len, |l, g| dice_loss(x, labels, None, Shape { classes: 0, ..shape }, &o, l, g)), is_size, "`shape.classes`");
        let mut bad = labels.clone();
        bad[pos - 1] = shape.classes as i64;
        expect_err(run::<T>(1, len, |l, g| dice_loss(x, &bad, None, shape, &o, l, g)), is_target, "`target`[");
        expect_err(run::<T>(1, len, |l, g| lovasz_softmax_loss(x, &bad, shape, &LovaszOptions::default(), l, g)), is_target, "`target`[");
        expect_err(run::<T>(1, len, |l, g| dice_loss(x, labels, None, shape, &OverlapOptions { soft_label: true, ..o }, l, g)), is_option, "options.soft_label");
        expect_err(run::<T>(1, len, |l, g| dice_loss_soft(x, probs, None, shape, &OverlapOptions { ignore_index: 0, ..o }, l, g)), is_option, "options.ignore_index");
        expect_err(run::<T>(1, len, |l, g| dice_loss(x, labels, None, shape, &OverlapOptions { smooth_nr: f64::NAN, ..o }, l, g)), is_option, "options.smooth_nr");
        expect_err(run::<T>(1, len, |l, g| dice_loss(x, labels, None, shape, &OverlapOptions { gamma: 0.0, ..o }, l, g)), is_option, "options.gamma");
        expect_err(run::<T>(1, len, |l, g| tversky_loss(x, labels, None, shape, &OverlapOptions { beta: -1.0, ..o }, l, g)), is_option, "options.beta");
        expect_err(run::<T>(1, len, |l, g| generalized_dice_loss(x, labels, shape, &OverlapOptions { squared_pred: true, ..o }, l, g)), is_option, "options.squared_pred");
        expect_err(run::<T>(1, len, |l, g| dice_loss(x, labels, None, shape, &OverlapOptions { avg_factor: f64::INFINITY, ..o }, l, g)), is_option, "options.avg_factor");
        let one = Shape { classes: 1, ..shape };
        expect_err(run::<T>(1, len, |l, g| dice_loss(&x[..one.len()], labels, None, one, &o, l, g)), is_option, "options.activation");
        // The fused losses name the struct.
        let ce = CrossEntropyOptions::default();
        expect_err(run::<T>(3, len, |l, g| dice_ce_loss(x, labels, None, shape, &o, &CrossEntropyOptions { ignore_index: 0, ..ce }, l, g)), is_option, "dice.ignore_index");
        expect_err(run::<T>(3, len, |l, g| dice_ce_loss(x, labels, None, shape, &o, &CrossEntropyOptions { label_smoothing: 2.0, ..ce }, l, g)), is_option, "ce.label_smoothing");
        expect_err(run::<T>(3, len, |l, g| dice_ce_loss(x, labels, None, shape, &o, &CrossEntropyOptions { loss_weight: f64::NAN, ..ce }, l, g)), is_option, "ce.loss_weight");
        expect_err(run::<T>(3, len, |l, g| dice_ce_loss(x, labels, None, shape, &OverlapOptions { reduction: Reduction::None, ..o }, &ce, l, g)), is_option, "dice.reduction");
        expect_err(run::<T>(3, len, |l, g| dice_ce_loss(x, labels, None, shape, &OverlapOptions { activation: Activation::Sigmoid, ..o }, &ce, l, g)), is_option, "dice.activation");
        expect_err(run::<T>(3, len, |l, g| dice_focal_loss(x, labels, None, shape, &o, &FocalOptions { gamma: -1.0, ..Default::default() }, l, g)), is_option, "focal.gamma");
        expect_err(run::<T>(1, len, |l, g| dice_ce_loss(x, labels, None, shape, &o, &ce, l, g)), is_size, "`loss`");
        expect_err(run::<T>(3, len, |l, g| dice_ce_loss(&x[1..], labels, None, shape, &o, &ce, l, g)), is_size, "`logits`");
        // The two phases.
        let ob = OverlapOptions { batch: true, ..o };
        let n = 3 * shape.classes;
        let mut st = vec![SENTINEL; n];
        expect_err(overlap_stats(OverlapKind::Dice, x, labels, shape, &o, &mut st), is_option, "options.batch");
        expect_err(overlap_stats(OverlapKind::Dice, x, labels, shape, &ob, &mut st[1..]), is_option, "`stats_len`");
        expect_err(overlap_stats(OverlapKind::Dice, x, &bad, shape, &ob, &mut st), is_target, "`target`[");
        expect_err(overlap_stats_soft(OverlapKind::Dice, x, &probs[1..], shape, &ob, &mut st), is_size, "`target`");
        assert!(st.iter().all(|&v| v == SENTINEL), "stats written on error");
        let good = vec![1.0f64; n];
        expect_err(run::<T>(1, len, |l, g| overlap_loss_from_stats(OverlapKind::Dice, x, labels, None, shape, &ob, &good[1..], l, g)), is_size, "`stats_len`");
        let mut nan = good.clone();
        nan[4] = f64::NAN;
        expect_err(run::<T>(1, len, |l, g| overlap_loss_from_stats(OverlapKind::Tversky, x, labels, None, shape, &ob, &nan, l, g)), is_option, "`global_stats`[4]");
        expect_err(run::<T>(1, len, |l, g| overlap_loss_from_stats(OverlapKind::GeneralizedDice, x, labels, Some(cw), shape, &ob, &good, l, g)), is_option, "`class_weight`");
        // Lovász.
        let lo = LovaszOptions::default();
        expect_err(run::<T>(1, len, |l, g| lovasz_softmax_loss(x, labels, shape, &LovaszOptions { activation: Activation::Sigmoid, ..lo }, l, g)), is_option, "options.activation");
        expect_err(run::<T>(1, len, |l, g| lovasz_softmax_loss(x, &labels[1..], shape, &lo, l, g)), is_size, "`target`");
        expect_err(run::<T>(1, len, |l, g| lovasz_hinge_loss(x, &probs[..pos], shape, &lo, l, g)), is_option, "shape.classes");
        expect_err(run::<T>(shape.batch, len, |l, g| lovasz_softmax_loss(x, labels, shape, &lo, l, g)), is_size, "`loss`");
    }
    // The Lovász hinge: targets other than 0, 1 and ignore_index; short buffers.
    let shape = Shape { batch: 3, classes: 1, spatial: 41, layout: Layout::Ncs };
    let len = shape.len();
    let x = values::<T>(len, 61, -3.0, 3.0);
    let mut t: Vec<T> = values::<f64>(len, 62, 0.0, 2.0).into_iter().map(|v| T::of(v.floor())).collect();
    t[7] = T::of(-100.0);
    let mut bad = t.clone();
    bad[3] = T::of(0.5);
    expect_err(run::<T>(1, len, |l, g| lovasz_hinge_loss(&x, &bad, shape, &LovaszOptions::default(), l, g)), |e| matches!(e, Error::InvalidTarget(_)), "`target`[3]");
    expect_err(run::<T>(1, len, |l, g| lovasz_hinge_loss(&x[1..], &t, shape, &LovaszOptions::default(), l, g)), is_size, "`logits`");
    expect_err(run::<T>(1, len - 1, |l, g| lovasz_hinge_loss(&x, &t, shape, &LovaszOptions::default(), l, g)), is_size, "`grad_logits`");
}

#[test]
fn overlap_losses_refuse_bad_input() {
    overlap_bad_input::<f32>();
    overlap_bad_input::<f64>();
}

/// Every loss of the C header has its safe function (`pub fn <name><T: Float>` in `src/api/`,
/// named as the C function without `lossfn_` and `_f32`) and every safe function its C entry
/// point. (That each is compared with the other is the catalogue's doing: the per-function
/// tests above name `lossfn::<module>::<name>` for every function of the header, and the
/// catalogue is the header's, `header::checked_in_catalogue_equals_generated`.)
#[test]
fn every_c_function_has_a_safe_counterpart() {
    let root = env!("CARGO_MANIFEST_DIR");
    let header = std::fs::read_to_string(format!("{root}/include/lossfn.h")).unwrap();
    let c: std::collections::BTreeSet<String> = header
        .split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
        .filter_map(|w| w.strip_prefix("lossfn_")?.strip_suffix("_f32"))
        .map(str::to_owned)
        .collect();
    let mut safe = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(format!("{root}/src/api")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("pub fn ") {
                if let Some((name, _)) = rest.split_once("<T: Float>") {
                    safe.insert(name.to_owned());
                }
            }
        }
    }
    assert!(c.len() >= 43, "{} C functions found in the header", c.len());
    assert_eq!(c, safe, "C functions (left) and safe functions (right) differ");
}
