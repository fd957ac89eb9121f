//! The safe Rust API (`lossfn::regression`, `lossfn::boxes`, …): every function, f32 and f64,
//! against the C entry point it backs (bitwise the same values), and with bad lengths and
//! options: the error the C API gives for the same call, and nothing written. No input panics.
use lossfn::boxes::{self, CiouVariant, Format, IouKind, IouMode, RotatedOptions};
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

type RegressionFn<T> = fn(&[T], &[T], Option<&[T]>, &regression::Options, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;

fn regression_suite<T: Float>(c: [unsafe extern "C" fn(*const T, *const T, *const T, usize, *const lossfn::capi::lossfn_regression_options, *mut T, *mut T) -> u32; 4]) {
    let f: [RegressionFn<T>; 4] = [regression::l1_loss, regression::mse_loss, regression::smooth_l1_loss, regression::huber_loss];
    let n = 1000;
    let (x, y, w) = (values::<T>(n, 1, -3.0, 3.0), values::<T>(n, 2, -3.0, 3.0), values::<T>(n, 3, 0.0, 2.0));
    for (i, (&f, &c)) in f.iter().zip(&c).enumerate() {
        for (red, c_red) in [(Reduction::None, 0), (Reduction::Mean, 1), (Reduction::Sum, 2)] {
            let o = regression::Options { reduction: red, beta: 0.7, delta: 1.3, loss_weight: 0.5, ..Default::default() };
            let mut co = lossfn::capi::lossfn_regression_options_default();
            (co.reduction, co.beta, co.delta, co.loss_weight) = (c_red, 0.7, 1.3, 0.5);
            let len = red.loss_len(n);
            let (loss, grad) = run::<T>(len, n, |l, g| f(&x, &y, Some(&w), &o, l, g)).unwrap();
            let (mut cl, mut cg) = (vec![T::zero(); len], vec![T::zero(); n]);
            let st = unsafe { c(x.as_ptr(), y.as_ptr(), w.as_ptr(), n, &co, cl.as_mut_ptr(), cg.as_mut_ptr()) };
            assert_eq!(st, 0);
            assert_eq!((loss, grad), (cl, cg), "regression #{i} {red:?}");
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
        for (bad, name) in [
            (regression::Options { loss_weight: f64::NAN, ..o }, "options.loss_weight"),
            (regression::Options { avg_factor: -1.0, ..o }, "options.avg_factor"),
            (regression::Options { avg_factor: 2.0, reduction: Reduction::Sum, ..o }, "options.avg_factor"),
            (regression::Options { reduction: Reduction::BatchMean, ..o }, "options.reduction"),
        ] {
            expect_err(run::<T>(1, n, |l, g| f(&x, &y, None, &bad, l, g)), is_option, name);
        }
        let md = regression::Options { reduction: Reduction::MeanDenominator, ..o };
        expect_err(run::<T>(1, n, |l, g| f(&x, &y, None, &md, l, g)), is_option, "grad_input");
        let mut den = [T::zero()];
        f(&x, &y, Some(&w), &md, &mut den, None).unwrap();
        let sum_w: f64 = w.iter().map(|v| v.f64()).sum();
        assert!((den[0].f64() - sum_w).abs() <= 1e-4 * sum_w);
    }
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

#[test]
fn regression_matches_the_c_api_and_refuses_bad_input() {
    use lossfn::capi::*;
    regression_suite::<f32>([lossfn_l1_loss_f32, lossfn_mse_loss_f32, lossfn_smooth_l1_loss_f32, lossfn_huber_loss_f32]);
    regression_suite::<f64>([lossfn_l1_loss_f64, lossfn_mse_loss_f64, lossfn_smooth_l1_loss_f64, lossfn_huber_loss_f64]);
}

type BoxFn<T> = fn(&[T], &[T], Option<&[T]>, &boxes::Options, &mut [T], Option<&mut [T]>) -> lossfn::Result<()>;
type BoxC<T> = unsafe extern "C" fn(*const T, *const T, *const T, usize, *const lossfn::capi::lossfn_box_options, *mut T, *mut T) -> u32;

fn boxes_suite<T: Float>(c: [BoxC<T>; 7], c_matrix: unsafe extern "C" fn(*const T, usize, *const T, usize, u32, u32, f64, *mut T) -> u32) {
    let f: [BoxFn<T>; 7] = [boxes::iou_loss, boxes::giou_loss, boxes::diou_loss, boxes::ciou_loss, boxes::siou_loss, boxes::eiou_loss, boxes::cdiou_loss];
    let n = 300;
    let (p, t, w) = (xyxy::<T>(n, 4), xyxy::<T>(n, 5), values::<T>(n, 6, 0.0, 2.0));
    let formats = [(Format::Xyxy, 0), (Format::Xywh, 1), (Format::Cxcywh, 2), (Format::Ltrb, 3)];
    for (i, (&f, &c)) in f.iter().zip(&c).enumerate() {
        for (red, c_red) in [(Reduction::None, 0), (Reduction::Mean, 1), (Reduction::Sum, 2)] {
            for &(format, c_format) in &formats {
                let o = boxes::Options {
                    reduction: red,
                    format,
                    iou_mode: IouMode::Square,
                    gamma: 0.5,
                    lambda: 0.3,
                    ciou_variant: CiouVariant::Ultralytics,
                    ..Default::default()
                };
                let mut co = lossfn::capi::lossfn_box_options_default();
                (co.reduction, co.format, co.iou_mode, co.gamma, co.lambda, co.ciou_variant) = (c_red, c_format, 1, 0.5, 0.3, 1);
                let len = red.loss_len(n);
                let (loss, grad) = run::<T>(len, 4 * n, |l, g| f(&p, &t, Some(&w), &o, l, g)).unwrap();
                let (mut cl, mut cg) = (vec![T::zero(); len], vec![T::zero(); 4 * n]);
                let st = unsafe { c(p.as_ptr(), t.as_ptr(), w.as_ptr(), n, &co, cl.as_mut_ptr(), cg.as_mut_ptr()) };
                assert_eq!(st, 0);
                assert_eq!((loss, grad), (cl, cg), "box loss #{i} {red:?} {format:?}");
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
    let o = boxes::Options::default();
    for gamma in [-0.5, f64::NAN, f64::INFINITY] {
        let bad = boxes::Options { gamma, lambda: gamma, ..o };
        expect_err(run::<T>(1, 4 * n, |l, g| boxes::eiou_loss(&p, &t, None, &bad, l, g)), is_option, "options.gamma");
        expect_err(run::<T>(1, 4 * n, |l, g| boxes::cdiou_loss(&p, &t, None, &bad, l, g)), is_option, "options.lambda");
        run::<T>(1, 4 * n, |l, g| boxes::giou_loss(&p, &t, None, &bad, l, g)).unwrap();
    }
    // The matrix.
    let (m1, m2) = (xyxy::<T>(7, 8), xyxy::<T>(5, 9));
    for (kind, c_kind) in [(IouKind::Iou, 0), (IouKind::Giou, 1), (IouKind::Diou, 2), (IouKind::Ciou, 3)] {
        let mut out = vec![T::zero(); 35];
        boxes::box_iou_matrix(&m1, &m2, Format::Xywh, kind, 1e-7, &mut out).unwrap();
        let mut cout = vec![T::zero(); 35];
        assert_eq!(unsafe { c_matrix(m1.as_ptr(), 7, m2.as_ptr(), 5, 1, c_kind, 1e-7, cout.as_mut_ptr()) }, 0);
        assert_eq!(out, cout);
    }
    let mut out = vec![T::of(SENTINEL); 35];
    expect_err(boxes::box_iou_matrix(&m1, &m2, Format::Xyxy, IouKind::Iou, 1e-7, &mut out[..34]), is_size, "`out`");
    expect_err(boxes::box_iou_matrix(&m1[..27], &m2, Format::Xyxy, IouKind::Iou, 1e-7, &mut out), is_size, "`boxes1`");
    expect_err(boxes::box_iou_matrix(&m1, &m2[..1], Format::Xyxy, IouKind::Iou, 1e-7, &mut out), is_size, "`boxes2`");
    expect_err(boxes::box_iou_matrix(&m1, &m2, Format::Xyxy, IouKind::Iou, f64::NAN, &mut out), is_option, "`eps`");
    assert!(out.iter().all(|&v| v == T::of(SENTINEL)));
}

#[test]
fn boxes_match_the_c_api_and_refuse_bad_input() {
    use lossfn::capi::*;
    boxes_suite::<f32>(
        [lossfn_iou_loss_f32, lossfn_giou_loss_f32, lossfn_diou_loss_f32, lossfn_ciou_loss_f32, lossfn_siou_loss_f32, lossfn_eiou_loss_f32, lossfn_cdiou_loss_f32],
        lossfn_box_iou_matrix_f32,
    );
    boxes_suite::<f64>(
        [lossfn_iou_loss_f64, lossfn_giou_loss_f64, lossfn_diou_loss_f64, lossfn_ciou_loss_f64, lossfn_siou_loss_f64, lossfn_eiou_loss_f64, lossfn_cdiou_loss_f64],
        lossfn_box_iou_matrix_f64,
    );
}

fn probiou_suite<T: Float>(
    c: unsafe extern "C" fn(*const T, *const T, *const T, usize, *const lossfn::capi::lossfn_rotated_box_options, *mut T, *mut T) -> u32,
    c_matrix: unsafe extern "C" fn(*const T, usize, *const T, usize, f64, *mut T) -> u32,
) {
    let n = 200;
    let rot = |seed| -> Vec<T> {
        let v = values::<f64>(5 * n, seed, 0.0, 1.0);
        v.chunks(5).flat_map(|b| [b[0] * 10.0, b[1] * 10.0, 1.0 + 4.0 * b[2], 1.0 + 4.0 * b[3], (b[4] - 0.5) * 3.0]).map(T::of).collect()
    };
    let (p, t, w) = (rot(11), rot(12), values::<T>(n, 13, 0.0, 2.0));
    for (red, c_red) in [(Reduction::None, 0), (Reduction::Mean, 1), (Reduction::Sum, 2)] {
        let o = RotatedOptions { reduction: red, floor: 0.01, ..Default::default() };
        let mut co = lossfn::capi::lossfn_rotated_box_options_default();
        (co.reduction, co.floor) = (c_red, 0.01);
        let len = red.loss_len(n);
        let (loss, grad) = run::<T>(len, 5 * n, |l, g| boxes::probiou_loss(&p, &t, Some(&w), &o, l, g)).unwrap();
        let (mut cl, mut cg) = (vec![T::zero(); len], vec![T::zero(); 5 * n]);
        assert_eq!(unsafe { c(p.as_ptr(), t.as_ptr(), w.as_ptr(), n, &co, cl.as_mut_ptr(), cg.as_mut_ptr()) }, 0);
        assert_eq!((loss, grad), (cl, cg), "probiou {red:?}");
    }
    let o = RotatedOptions::default();
    expect_err(run::<T>(1, 5 * n, |l, g| boxes::probiou_loss(&p[..4 * n], &t[..4 * n], None, &o, l, g)), is_size, "`grad_pred`");
    expect_err(run::<T>(1, 5 * n, |l, g| boxes::probiou_loss(&p[..5 * n - 1], &t, None, &o, l, g)), is_size, "`pred`");
    expect_err(run::<T>(1, 5 * n, |l, g| boxes::probiou_loss(&p, &t, None, &RotatedOptions { floor: -1.0, ..o }, l, g)), is_option, "options.floor");
    expect_err(run::<T>(1, 5 * n, |l, g| boxes::probiou_loss(&p, &t, None, &RotatedOptions { eps: f64::NAN, ..o }, l, g)), is_option, "options.eps");
    let mut out = vec![T::zero(); n * 3];
    boxes::probiou_matrix(&p, &t[..15], 1e-7, &mut out).unwrap();
    let mut cout = vec![T::zero(); n * 3];
    assert_eq!(unsafe { c_matrix(p.as_ptr(), n, t.as_ptr(), 3, 1e-7, cout.as_mut_ptr()) }, 0);
    assert_eq!(out, cout);
    expect_err(boxes::probiou_matrix(&p, &t[..14], 1e-7, &mut out), is_size, "`boxes2`");
    expect_err(boxes::probiou_matrix(&p, &t[..15], 0.0, &mut out), is_option, "`eps`");
}

#[test]
fn probiou_matches_the_c_api_and_refuses_bad_input() {
    use lossfn::capi::*;
    probiou_suite::<f32>(lossfn_probiou_loss_f32, lossfn_probiou_matrix_f32);
    probiou_suite::<f64>(lossfn_probiou_loss_f64, lossfn_probiou_matrix_f64);
}

fn keypoints_suite<T: Float>(
    c: unsafe extern "C" fn(*const T, *const T, *const T, *const T, *const T, usize, usize, *const lossfn::capi::lossfn_keypoint_options, *mut T, *mut T) -> u32,
) {
    use lossfn::keypoints::{keypoint_oks_loss, Options};
    let (n, k) = (40, 17);
    let (p, t) = (values::<T>(n * k * 2, 21, 0.0, 50.0), values::<T>(n * k * 2, 22, 0.0, 50.0));
    let visible: Vec<T> = values::<f64>(n * k, 23, 0.0, 1.0).into_iter().map(|v| T::of(if v < 0.7 { 1.0 } else { 0.0 })).collect();
    let (area, sigmas) = (values::<T>(n, 24, 10.0, 500.0), values::<T>(k, 25, 0.02, 0.1));
    for (red, c_red) in [(Reduction::None, 0), (Reduction::Mean, 1), (Reduction::Sum, 2)] {
        let o = Options { reduction: red, loss_weight: 2.0, ..Default::default() };
        let mut co = lossfn::capi::lossfn_keypoint_options_default();
        (co.reduction, co.loss_weight) = (c_red, 2.0);
        let len = red.loss_len(n * k);
        let (loss, grad) = run::<T>(len, 2 * n * k, |l, g| keypoint_oks_loss(&p, &t, &visible, &area, &sigmas, &o, l, g)).unwrap();
        let (mut cl, mut cg) = (vec![T::zero(); len], vec![T::zero(); 2 * n * k]);
        let st = unsafe { c(p.as_ptr(), t.as_ptr(), visible.as_ptr(), area.as_ptr(), sigmas.as_ptr(), n, k, &co, cl.as_mut_ptr(), cg.as_mut_ptr()) };
        assert_eq!(st, 0);
        assert_eq!((loss, grad), (cl, cg), "keypoints {red:?}");
    }
    let o = Options::default();
    let g = 2 * n * k;
    expect_err(run::<T>(1, g, |l, gr| keypoint_oks_loss(&p, &t, &visible, &area[..n - 1], &sigmas, &o, l, gr)), is_size, "`pred`");
    expect_err(run::<T>(1, g, |l, gr| keypoint_oks_loss(&p, &t, &visible, &area, &sigmas[..k - 1], &o, l, gr)), is_size, "`pred`");
    expect_err(run::<T>(1, g, |l, gr| keypoint_oks_loss(&p, &t[1..], &visible, &area, &sigmas, &o, l, gr)), is_size, "`target`");
    expect_err(run::<T>(1, g, |l, gr| keypoint_oks_loss(&p, &t, &visible[1..], &area, &sigmas, &o, l, gr)), is_size, "`visible`");
    expect_err(run::<T>(1, g - 2, |l, gr| keypoint_oks_loss(&p, &t, &visible, &area, &sigmas, &o, l, gr)), is_size, "`grad_pred`");
    expect_err(run::<T>(1, g, |l, gr| keypoint_oks_loss(&p, &t, &visible, &area, &sigmas, &Options { avg_factor: f64::NAN, ..o }, l, gr)), is_option, "options.avg_factor");
}

#[test]
fn keypoints_match_the_c_api_and_refuse_bad_input() {
    keypoints_suite::<f32>(lossfn::capi::lossfn_keypoint_oks_loss_f32);
    keypoints_suite::<f64>(lossfn::capi::lossfn_keypoint_oks_loss_f64);
}

type DflC<T> = unsafe extern "C" fn(*const T, *const T, *const T, usize, usize, usize, *const lossfn::capi::lossfn_dfl_options, *mut T, *mut T) -> u32;
type DflBoxC<T> = unsafe extern "C" fn(*const T, *const T, *const T, *const T, usize, usize, *const lossfn::capi::lossfn_dfl_box_options, *mut T, *mut T) -> u32;

fn dfl_suite<T: Float>(c: DflC<T>, c_box: DflBoxC<T>) {
    use lossfn::dfl::{dfl_box_loss, dfl_loss, BoxOptions, Options};
    let (n, sides, bins) = (100, 4, 16);
    let logits = values::<T>(n * sides * bins, 31, -4.0, 4.0);
    let target = values::<T>(n * sides, 32, 0.0, 15.5);
    let w = values::<T>(n, 33, 0.0, 1.0);
    let len = n * sides * bins;
    for (red, c_red) in [(Reduction::None, 0), (Reduction::Mean, 1), (Reduction::Sum, 2)] {
        let o = Options { reduction: red, ..Default::default() };
        let mut co = lossfn::capi::lossfn_dfl_options_default();
        co.reduction = c_red;
        let ll = red.loss_len(n);
        let (loss, grad) = run::<T>(ll, len, |l, g| dfl_loss(&logits, &target, Some(&w), sides, bins, &o, l, g)).unwrap();
        let (mut cl, mut cg) = (vec![T::zero(); ll], vec![T::zero(); len]);
        assert_eq!(unsafe { c(logits.as_ptr(), target.as_ptr(), w.as_ptr(), n, sides, bins, &co, cl.as_mut_ptr(), cg.as_mut_ptr()) }, 0);
        assert_eq!((loss, grad), (cl, cg), "dfl {red:?}");
    }
    let o = Options::default();
    expect_err(run::<T>(1, len, |l, g| dfl_loss(&logits, &target, None, sides, 1, &o, l, g)), is_size, "`bins`");
    expect_err(run::<T>(1, len, |l, g| dfl_loss(&logits, &target, None, 0, bins, &o, l, g)), is_size, "`sides`");
    expect_err(run::<T>(1, len, |l, g| dfl_loss(&logits, &target, None, 3, bins, &o, l, g)), is_size, "`target`");
    expect_err(run::<T>(1, len, |l, g| dfl_loss(&logits, &target, None, sides, bins + 1, &o, l, g)), is_size, "`logits`");
    expect_err(run::<T>(1, len, |l, g| dfl_loss(&logits, &target, Some(&w[1..]), sides, bins, &o, l, g)), is_size, "`weight`");
    expect_err(run::<T>(1, len + 1, |l, g| dfl_loss(&logits, &target, None, sides, bins, &o, l, g)), is_size, "`grad_logits`");
    // usize::MAX bins: the product overflows, an error and no panic.
    expect_err(run::<T>(1, len, |l, g| dfl_loss(&logits, &target, None, sides, usize::MAX, &o, l, g)), is_size, "overflows");
    // The box branch.
    let anchors: Vec<T> = values::<f64>(2 * n, 34, 0.0, 1.0).into_iter().map(|v| T::of(20.0 + 40.0 * v)).collect();
    let tb: Vec<T> = anchors.chunks(2).zip(values::<f64>(4 * n, 35, 1.0, 12.0).chunks(4)).flat_map(|(a, d)| {
        let (ax, ay) = (a[0].f64(), a[1].f64());
        [ax - d[0], ay - d[1], ax + d[2], ay + d[3]]
    }).map(T::of).collect();
    for (red, c_red) in [(Reduction::Mean, 1), (Reduction::Sum, 2)] {
        for (iou, c_iou) in [(IouKind::Giou, 1), (IouKind::Ciou, 3)] {
            let o = BoxOptions { reduction: red, iou, iou_weight: 7.5, dfl_weight: 1.5, avg_factor: if red == Reduction::Mean { 3.0 } else { 0.0 }, ..Default::default() };
            let mut co = lossfn::capi::lossfn_dfl_box_options_default();
            (co.reduction, co.iou, co.iou_weight, co.dfl_weight, co.avg_factor) = (c_red, c_iou, 7.5, 1.5, o.avg_factor);
            let (loss, grad) = run::<T>(2, len, |l, g| dfl_box_loss(&logits, &anchors, &tb, Some(&w), bins, &o, l, g)).unwrap();
            let (mut cl, mut cg) = (vec![T::zero(); 2], vec![T::zero(); len]);
            let st = unsafe { c_box(logits.as_ptr(), anchors.as_ptr(), tb.as_ptr(), w.as_ptr(), n, bins, &co, cl.as_mut_ptr(), cg.as_mut_ptr()) };
            assert_eq!(st, 0);
            assert_eq!((loss, grad), (cl, cg), "dfl_box {red:?} {iou:?}");
        }
    }
    let o = BoxOptions::default();
    expect_err(run::<T>(2, len, |l, g| dfl_box_loss(&logits, &anchors, &tb, None, bins, &BoxOptions { reduction: Reduction::None, ..o }, l, g)), is_option, "options.reduction");
    expect_err(run::<T>(2, len, |l, g| dfl_box_loss(&logits, &anchors, &tb, None, bins, &BoxOptions { dfl_weight: -1.0, ..o }, l, g)), is_option, "options.dfl_weight");
    expect_err(run::<T>(2, len, |l, g| dfl_box_loss(&logits, &anchors[1..], &tb, None, bins, &o, l, g)), is_size, "`anchors`");
    expect_err(run::<T>(2, len, |l, g| dfl_box_loss(&logits, &anchors, &tb[4..], None, bins, &o, l, g)), is_size, "`target`");
    expect_err(run::<T>(2, len, |l, g| dfl_box_loss(&logits[1..], &anchors, &tb, None, bins, &o, l, g)), is_size, "`logits`");
    expect_err(run::<T>(1, len, |l, g| dfl_box_loss(&logits, &anchors, &tb, None, bins, &o, l, g)), is_size, "`loss`");
    expect_err(run::<T>(2, len, |l, g| dfl_box_loss(&logits, &anchors, &tb, None, 1, &o, l, g)), is_size, "`bins`");
}

#[test]
fn dfl_matches_the_c_api_and_refuses_bad_input() {
    use lossfn::capi::*;
    dfl_suite::<f32>(lossfn_dfl_loss_f32, lossfn_dfl_box_loss_f32);
    dfl_suite::<f64>(lossfn_dfl_loss_f64, lossfn_dfl_box_loss_f64);
}

/// A class tensor's C shape from the safe one.
fn c_shape(s: lossfn::classification::Shape) -> lossfn::capi::lossfn_shape {
    use lossfn::classification::Layout;
    let layout = if s.layout == Layout::Ncs { lossfn::capi::LOSSFN_LAYOUT_NCS } else { lossfn::capi::LOSSFN_LAYOUT_NSC };
    lossfn::capi::lossfn_shape { batch: s.batch, classes: s.classes, spatial: s.spatial, layout }
}

fn classification_suite<T: Float>()
where
    T: ClassificationC,
{
    use lossfn::classification::*;
    use lossfn::capi as c;
    for shape in [Shape { batch: 5, classes: 7, spatial: 1, layout: Layout::Nsc }, Shape { batch: 3, classes: 4, spatial: 37, layout: Layout::Ncs }] {
        let (len, pos) = (shape.len(), shape.positions());
        let cs = c_shape(shape);
        let x = values::<T>(len, 41, -4.0, 4.0);
        let z = values::<T>(len, 42, -4.0, 4.0);
        let q = values::<T>(len, 43, 0.0, 1.0);
        let w = values::<T>(len, 44, 0.0, 2.0);
        let cw = values::<T>(shape.classes, 45, 0.5, 2.0);
        let labels: Vec<i64> = values::<f64>(pos, 46, 0.0, shape.classes as f64 + 1.0).into_iter().map(|v| if v as usize == shape.classes { -100 } else { v as i64 }).collect();
        // Probability targets: softmax of z along the class axis.
        let probs = softmax_targets(&z, shape);
        for (red, c_red) in [(Reduction::None, 0), (Reduction::Mean, 1), (Reduction::Sum, 2)] {
            // Each pair: the safe call, the C call with the same options, the loss length.
            let same = |what: &str, terms: usize, safe: &dyn Fn(&mut [T], Option<&mut [T]>) -> lossfn::Result<()>, cc: &dyn Fn(*mut T, *mut T) -> u32| {
                let ll = red.loss_len(terms);
                let (loss, grad) = run::<T>(ll, len, safe).unwrap_or_else(|e| panic!("{what}: {e}"));
                let (mut cl, mut cg) = (vec![T::zero(); ll], vec![T::zero(); len]);
                assert_eq!(cc(cl.as_mut_ptr(), cg.as_mut_ptr()), 0, "{what}");
                assert_eq!((loss, grad), (cl, cg), "{what} {red:?} {shape:?}");
            };
            let ce = CrossEntropyOptions { reduction: red, label_smoothing: 0.1, ..Default::default() };
            let mut cce = c::lossfn_cross_entropy_options_default();
            (cce.reduction, cce.label_smoothing) = (c_red, 0.1);
            same("cross_entropy", pos, &|l, g| cross_entropy(&x, &labels, Some(&cw), shape, &ce, l, g), &|l, g| unsafe { T::ce(x.as_ptr(), labels.as_ptr(), cw.as_ptr(), cs, &cce, l, g) });
            same("cross_entropy_soft", pos, &|l, g| cross_entropy_soft(&x, &probs, Some(&cw), shape, &ce, l, g), &|l, g| unsafe { T::ce_soft(x.as_ptr(), probs.as_ptr(), cw.as_ptr(), cs, &cce, l, g) });
            let bce = BceOptions { reduction: red, ..Default::default() };
            let mut cbce = c::lossfn_bce_options_default();
            cbce.reduction = c_red;
            same("bce", len, &|l, g| bce_with_logits(&x, &q, Some(&w), Some(&cw), shape, &bce, l, g), &|l, g| unsafe { T::bce(x.as_ptr(), q.as_ptr(), w.as_ptr(), cw.as_ptr(), cs, &cbce, l, g) });
            for (input, c_input, data) in [(EntropyInput::Logits, 0, &x), (EntropyInput::Probs, 1, &probs)] {
                let eo = EntropyOptions { reduction: red, input, ..Default::default() };
                let mut ceo = c::lossfn_entropy_options_default();
                (ceo.reduction, ceo.input) = (c_red, c_input);
                same("entropy", pos, &|l, g| entropy(data, shape, &eo, l, g), &|l, g| unsafe { T::entropy(data.as_ptr(), cs, &ceo, l, g) });
            }
            let logp: Vec<T> = probs.iter().map(|p| T::of(p.f64().ln())).collect();
            let kl = KlDivOptions { reduction: red, log_target: true, ..Default::default() };
            let mut ckl = c::lossfn_kl_div_options_default();
            (ckl.reduction, ckl.log_target) = (c_red, true);
            same("kl_div", len, &|l, g| kl_div(&logp, &logp, shape, &kl, l, g), &|l, g| unsafe { T::kl(logp.as_ptr(), logp.as_ptr(), cs, &ckl, l, g) });
            let d = DistillationOptions { reduction: red, temperature: 2.0, ..Default::default() };
            let mut cd = c::lossfn_distillation_options_default();
            (cd.reduction, cd.temperature) = (c_red, 2.0);
            same("kl_div_logits", pos, &|l, g| kl_div_logits(&x, &z, shape, &d, l, g), &|l, g| unsafe { T::distill(x.as_ptr(), z.as_ptr(), cs, &cd, l, g) });
            let f = FocalOptions { reduction: red, gamma: 1.5, ..Default::default() };
            let mut cf = c::lossfn_focal_options_default();
            (cf.reduction, cf.gamma) = (c_red, 1.5);
            same("sigmoid_focal", len, &|l, g| sigmoid_focal_loss(&x, &q, Some(&w), shape, &f, l, g), &|l, g| unsafe { T::sfocal(x.as_ptr(), q.as_ptr(), w.as_ptr(), cs, &cf, l, g) });
            same("softmax_focal", pos, &|l, g| softmax_focal_loss(&x, &labels, Some(&cw), shape, &f, l, g), &|l, g| unsafe { T::xfocal(x.as_ptr(), labels.as_ptr(), cw.as_ptr(), cs, &cf, l, g) });
            let qf = QualityFocalOptions { reduction: red, detach_weight: true, ..Default::default() };
            let mut cq = c::lossfn_quality_focal_options_default();
            (cq.reduction, cq.detach_weight) = (c_red, true);
            same("varifocal", len, &|l, g| varifocal_loss(&x, &q, Some(&w), shape, &qf, l, g), &|l, g| unsafe { T::vfl(x.as_ptr(), q.as_ptr(), w.as_ptr(), cs, &cq, l, g) });
            same("quality_focal", len, &|l, g| quality_focal_loss(&x, &q, None, shape, &qf, l, g), &|l, g| unsafe { T::qfl(x.as_ptr(), q.as_ptr(), std::ptr::null(), cs, &cq, l, g) });
        }
        // Bad input: every function refuses a short input, a short gradient, a bad shape.
        let ce = CrossEntropyOptions::default();
        let bad_shape = Shape { classes: 0, ..shape };
        expect_err(run::<T>(1, len, |l, g| cross_entropy(&x[1..], &labels, None, shape, &ce, l, g)), is_size, "`logits`");
        expect_err(run::<T>(1, len, |l, g| cross_entropy(&x, &labels[1..], None, shape, &ce, l, g)), is_size, "`target`");
        expect_err(run::<T>(1, len, |l, g| cross_entropy(&x, &labels, Some(&cw[1..]), shape, &ce, l, g)), is_size, "`class_weight`");
        expect_err(run::<T>(1, len, |l, g| cross_entropy(&x, &labels, None, bad_shape, &ce, l, g)), is_size, "`shape.classes`");
        let huge = Shape { batch: usize::MAX / 2, spatial: 3, ..shape };
        expect_err(run::<T>(1, len, |l, g| cross_entropy(&x, &labels, None, huge, &ce, l, g)), is_size, "overflows");
        let mut bad_labels = labels.clone();
        bad_labels[pos - 1] = shape.classes as i64;
        expect_err(run::<T>(1, len, |l, g| cross_entropy(&x, &bad_labels, None, shape, &ce, l, g)), |e| matches!(e, Error::InvalidTarget(_)), "`target` at");
        expect_err(run::<T>(1, len, |l, g| softmax_focal_loss(&x, &bad_labels, None, shape, &FocalOptions::default(), l, g)), |e| matches!(e, Error::InvalidTarget(_)), "`target` at");
        expect_err(run::<T>(1, len, |l, g| cross_entropy(&x, &labels, None, shape, &CrossEntropyOptions { label_smoothing: f64::NAN, ..ce }, l, g)), is_option, "options.label_smoothing");
        expect_err(run::<T>(1, len, |l, g| cross_entropy_soft(&x, &probs, None, shape, &CrossEntropyOptions { ignore_index: 3, ..ce }, l, g)), is_option, "options.ignore_index");
        expect_err(run::<T>(1, len, |l, g| cross_entropy_soft(&x, &probs[1..], None, shape, &ce, l, g)), is_size, "`target`");
        expect_err(run::<T>(1, len, |l, g| bce_with_logits(&x, &q, None, Some(&cw[1..]), shape, &BceOptions::default(), l, g)), is_size, "`pos_weight`");
        expect_err(run::<T>(1, len - 1, |l, g| entropy(&x, shape, &EntropyOptions::default(), l, g)), is_size, "`grad_input`");
        expect_err(run::<T>(1, len, |l, g| entropy(&x, shape, &EntropyOptions { reduction: Reduction::BatchMean, ..Default::default() }, l, g)), is_option, "options.reduction");
        expect_err(run::<T>(1, len, |l, g| kl_div(&x, &z[1..], shape, &KlDivOptions::default(), l, g)), is_size, "`target`");
        expect_err(run::<T>(1, len, |l, g| kl_div_logits(&x, &z, shape, &DistillationOptions { temperature: 0.0, ..Default::default() }, l, g)), is_option, "options.temperature");
        expect_err(run::<T>(1, len, |l, g| kl_div_logits(&x, &z[1..], shape, &DistillationOptions::default(), l, g)), is_size, "`teacher_logits`");
        expect_err(run::<T>(1, len, |l, g| sigmoid_focal_loss(&x, &q, None, shape, &FocalOptions { alpha: 1.5, ..Default::default() }, l, g)), is_option, "options.alpha");
        expect_err(run::<T>(1, len, |l, g| sigmoid_focal_loss(&x, &q, Some(&w[1..]), shape, &FocalOptions::default(), l, g)), is_size, "`weight`");
        expect_err(run::<T>(1, len, |l, g| varifocal_loss(&x, &q, None, shape, &QualityFocalOptions { alpha: -1.0, ..Default::default() }, l, g)), is_option, "options.alpha");
        expect_err(run::<T>(1, len, |l, g| quality_focal_loss(&x, &q, None, shape, &QualityFocalOptions { gamma: f64::NAN, ..Default::default() }, l, g)), is_option, "options.gamma");
        expect_err(run::<T>(pos, len, |l, g| softmax_focal_loss(&x, &labels, None, shape, &FocalOptions::default(), l, g)), is_size, "`loss`");
    }
}

/// The C entry points of the classification family, per precision.
#[allow(clippy::type_complexity)]
trait ClassificationC: Float {
    unsafe fn ce(l: *const Self, t: *const i64, w: *const Self, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_cross_entropy_options, loss: *mut Self, g: *mut Self) -> u32;
    unsafe fn ce_soft(l: *const Self, t: *const Self, w: *const Self, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_cross_entropy_options, loss: *mut Self, g: *mut Self) -> u32;
    unsafe fn bce(l: *const Self, t: *const Self, w: *const Self, pw: *const Self, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_bce_options, loss: *mut Self, g: *mut Self) -> u32;
    unsafe fn entropy(x: *const Self, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_entropy_options, loss: *mut Self, g: *mut Self) -> u32;
    unsafe fn kl(x: *const Self, t: *const Self, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_kl_div_options, loss: *mut Self, g: *mut Self) -> u32;
    unsafe fn distill(x: *const Self, t: *const Self, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_distillation_options, loss: *mut Self, g: *mut Self) -> u32;
    unsafe fn sfocal(l: *const Self, t: *const Self, w: *const Self, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_focal_options, loss: *mut Self, g: *mut Self) -> u32;
    unsafe fn xfocal(l: *const Self, t: *const i64, a: *const Self, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_focal_options, loss: *mut Self, g: *mut Self) -> u32;
    unsafe fn vfl(l: *const Self, t: *const Self, w: *const Self, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_quality_focal_options, loss: *mut Self, g: *mut Self) -> u32;
    unsafe fn qfl(l: *const Self, t: *const Self, w: *const Self, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_quality_focal_options, loss: *mut Self, g: *mut Self) -> u32;
}

macro_rules! classification_c {
    ($t:ident, $($m:ident = $f:ident),*) => {
        impl ClassificationC for $t {
            $(
                #[allow(clippy::too_many_arguments)]
                unsafe fn $m(a: *const $t, b: *const i64, c: *const $t, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_cross_entropy_options, l: *mut $t, g: *mut $t) -> u32 { unsafe { lossfn::capi::$f(a, b, c, s, o, l, g) } }
            )*
            unsafe fn ce_soft(a: *const $t, b: *const $t, c: *const $t, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_cross_entropy_options, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_cross_entropy_soft)(a, b, c, s, o, l, g) } }
            unsafe fn bce(a: *const $t, b: *const $t, c: *const $t, d: *const $t, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_bce_options, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_bce_with_logits)(a, b, c, d, s, o, l, g) } }
            unsafe fn entropy(a: *const $t, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_entropy_options, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_entropy)(a, s, o, l, g) } }
            unsafe fn kl(a: *const $t, b: *const $t, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_kl_div_options, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_kl_div)(a, b, s, o, l, g) } }
            unsafe fn distill(a: *const $t, b: *const $t, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_distillation_options, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_kl_div_logits)(a, b, s, o, l, g) } }
            unsafe fn sfocal(a: *const $t, b: *const $t, c: *const $t, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_focal_options, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_sigmoid_focal_loss)(a, b, c, s, o, l, g) } }
            unsafe fn xfocal(a: *const $t, b: *const i64, c: *const $t, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_focal_options, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_softmax_focal_loss)(a, b, c, s, o, l, g) } }
            unsafe fn vfl(a: *const $t, b: *const $t, c: *const $t, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_quality_focal_options, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_varifocal_loss)(a, b, c, s, o, l, g) } }
            unsafe fn qfl(a: *const $t, b: *const $t, c: *const $t, s: lossfn::capi::lossfn_shape, o: *const lossfn::capi::lossfn_quality_focal_options, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_quality_focal_loss)(a, b, c, s, o, l, g) } }
        }
    };
}

/// `lossfn_<name>_f32` or `_f64` by the element type.
macro_rules! paste_f {
    (f32, $name:ident) => { paste::paste!(lossfn::capi::[<$name _f32>]) };
    (f64, $name:ident) => { paste::paste!(lossfn::capi::[<$name _f64>]) };
}

classification_c!(f32, ce = lossfn_cross_entropy_f32);
classification_c!(f64, ce = lossfn_cross_entropy_f64);

#[test]
fn classification_matches_the_c_api_and_refuses_bad_input() {
    classification_suite::<f32>();
    classification_suite::<f64>();
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

type Sh = lossfn::capi::lossfn_shape;
type Oo = lossfn::capi::lossfn_overlap_options;
type Lo = lossfn::capi::lossfn_lovasz_options;

/// The C entry points of the overlap family, per precision.
#[allow(clippy::too_many_arguments)]
trait OverlapC: Float {
    unsafe fn dice(x: *const Self, t: *const i64, w: *const Self, s: Sh, o: *const Oo, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn dice_soft(x: *const Self, t: *const Self, w: *const Self, s: Sh, o: *const Oo, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn jaccard(x: *const Self, t: *const i64, w: *const Self, s: Sh, o: *const Oo, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn jaccard_soft(x: *const Self, t: *const Self, w: *const Self, s: Sh, o: *const Oo, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn tversky(x: *const Self, t: *const i64, w: *const Self, s: Sh, o: *const Oo, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn tversky_soft(x: *const Self, t: *const Self, w: *const Self, s: Sh, o: *const Oo, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn gdice(x: *const Self, t: *const i64, s: Sh, o: *const Oo, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn gdice_soft(x: *const Self, t: *const Self, s: Sh, o: *const Oo, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn dice_ce(x: *const Self, t: *const i64, w: *const Self, s: Sh, d: *const Oo, c: *const lossfn::capi::lossfn_cross_entropy_options, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn dice_focal(x: *const Self, t: *const i64, w: *const Self, s: Sh, d: *const Oo, c: *const lossfn::capi::lossfn_focal_options, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn stats(k: u32, x: *const Self, t: *const i64, s: Sh, o: *const Oo, st: *mut f64, n: usize) -> u32;
    unsafe fn stats_soft(k: u32, x: *const Self, t: *const Self, s: Sh, o: *const Oo, st: *mut f64, n: usize) -> u32;
    unsafe fn from_stats(k: u32, x: *const Self, t: *const i64, w: *const Self, s: Sh, o: *const Oo, st: *const f64, n: usize, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn from_stats_soft(k: u32, x: *const Self, t: *const Self, w: *const Self, s: Sh, o: *const Oo, st: *const f64, n: usize, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn lovasz(x: *const Self, t: *const i64, s: Sh, o: *const Lo, l: *mut Self, g: *mut Self) -> u32;
    unsafe fn hinge(x: *const Self, t: *const Self, s: Sh, o: *const Lo, l: *mut Self, g: *mut Self) -> u32;
}

macro_rules! overlap_c {
    ($t:ident) => {
        #[allow(clippy::too_many_arguments)]
        impl OverlapC for $t {
            unsafe fn dice(x: *const $t, t: *const i64, w: *const $t, s: Sh, o: *const Oo, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_dice_loss)(x, t, w, s, o, l, g) } }
            unsafe fn dice_soft(x: *const $t, t: *const $t, w: *const $t, s: Sh, o: *const Oo, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_dice_loss_soft)(x, t, w, s, o, l, g) } }
            unsafe fn jaccard(x: *const $t, t: *const i64, w: *const $t, s: Sh, o: *const Oo, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_jaccard_loss)(x, t, w, s, o, l, g) } }
            unsafe fn jaccard_soft(x: *const $t, t: *const $t, w: *const $t, s: Sh, o: *const Oo, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_jaccard_loss_soft)(x, t, w, s, o, l, g) } }
            unsafe fn tversky(x: *const $t, t: *const i64, w: *const $t, s: Sh, o: *const Oo, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_tversky_loss)(x, t, w, s, o, l, g) } }
            unsafe fn tversky_soft(x: *const $t, t: *const $t, w: *const $t, s: Sh, o: *const Oo, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_tversky_loss_soft)(x, t, w, s, o, l, g) } }
            unsafe fn gdice(x: *const $t, t: *const i64, s: Sh, o: *const Oo, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_generalized_dice_loss)(x, t, s, o, l, g) } }
            unsafe fn gdice_soft(x: *const $t, t: *const $t, s: Sh, o: *const Oo, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_generalized_dice_loss_soft)(x, t, s, o, l, g) } }
            unsafe fn dice_ce(x: *const $t, t: *const i64, w: *const $t, s: Sh, d: *const Oo, c: *const lossfn::capi::lossfn_cross_entropy_options, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_dice_ce_loss)(x, t, w, s, d, c, l, g) } }
            unsafe fn dice_focal(x: *const $t, t: *const i64, w: *const $t, s: Sh, d: *const Oo, c: *const lossfn::capi::lossfn_focal_options, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_dice_focal_loss)(x, t, w, s, d, c, l, g) } }
            unsafe fn stats(k: u32, x: *const $t, t: *const i64, s: Sh, o: *const Oo, st: *mut f64, n: usize) -> u32 { unsafe { paste_f!($t, lossfn_overlap_stats)(k, x, t, s, o, st, n) } }
            unsafe fn stats_soft(k: u32, x: *const $t, t: *const $t, s: Sh, o: *const Oo, st: *mut f64, n: usize) -> u32 { unsafe { paste_f!($t, lossfn_overlap_stats_soft)(k, x, t, s, o, st, n) } }
            unsafe fn from_stats(k: u32, x: *const $t, t: *const i64, w: *const $t, s: Sh, o: *const Oo, st: *const f64, n: usize, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_overlap_loss_from_stats)(k, x, t, w, s, o, st, n, l, g) } }
            unsafe fn from_stats_soft(k: u32, x: *const $t, t: *const $t, w: *const $t, s: Sh, o: *const Oo, st: *const f64, n: usize, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_overlap_loss_from_stats_soft)(k, x, t, w, s, o, st, n, l, g) } }
            unsafe fn lovasz(x: *const $t, t: *const i64, s: Sh, o: *const Lo, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_lovasz_softmax_loss)(x, t, s, o, l, g) } }
            unsafe fn hinge(x: *const $t, t: *const $t, s: Sh, o: *const Lo, l: *mut $t, g: *mut $t) -> u32 { unsafe { paste_f!($t, lossfn_lovasz_hinge_loss)(x, t, s, o, l, g) } }
        }
    };
}
overlap_c!(f32);
overlap_c!(f64);

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

fn overlap_suite<T: OverlapC>() {
    use lossfn::capi as c;
    use lossfn::classification::{CrossEntropyOptions, FocalOptions};
    use lossfn::overlap::*;
    for shape in [Shape { batch: 3, classes: 4, spatial: 37, layout: Layout::Ncs }, Shape { batch: 2, classes: 3, spatial: 50, layout: Layout::Nsc }] {
        let (len, pos) = (shape.len(), shape.positions());
        let cs = c_shape(shape);
        let x = values::<T>(len, 51, -4.0, 4.0);
        let probs = softmax_targets(&values::<T>(len, 52, -4.0, 4.0), shape);
        let cw = values::<T>(shape.classes, 53, 0.5, 2.0);
        let labels: Vec<i64> = values::<f64>(pos, 54, 0.0, shape.classes as f64 + 1.0).into_iter().map(|v| if v as usize == shape.classes { -100 } else { v as i64 }).collect();
        let same = |what: &str, ll: usize, safe: &dyn Fn(&mut [T], Option<&mut [T]>) -> lossfn::Result<()>, cc: &dyn Fn(*mut T, *mut T) -> u32| {
            let (loss, grad) = run::<T>(ll, len, safe).unwrap_or_else(|e| panic!("{what}: {e}"));
            let (mut cl, mut cg) = (vec![T::zero(); ll], vec![T::zero(); len]);
            assert_eq!(cc(cl.as_mut_ptr(), cg.as_mut_ptr()), 0, "{what}");
            assert!(cl.iter().chain(&cg).all(|v| v.f64().is_finite()), "{what}");
            assert_eq!((loss, grad), (cl, cg), "{what} {shape:?}");
        };
        for red in [Reduction::None, Reduction::Mean, Reduction::Sum] {
            for batch in [false, true] {
                let o = OverlapOptions { reduction: red, batch, include_background: !batch, squared_pred: batch, loss_weight: 0.5, ..Default::default() };
                let co = c_overlap(&o);
                let scores = if batch { shape.classes - 1 } else { shape.batch * shape.classes };
                let ll = red.loss_len(scores);
                same("dice", ll, &|l, g| dice_loss(&x, &labels, Some(&cw), shape, &o, l, g), &|l, g| unsafe { T::dice(x.as_ptr(), labels.as_ptr(), cw.as_ptr(), cs, &co, l, g) });
                same("dice_soft", ll, &|l, g| dice_loss_soft(&x, &probs, None, shape, &o, l, g), &|l, g| unsafe { T::dice_soft(x.as_ptr(), probs.as_ptr(), std::ptr::null(), cs, &co, l, g) });
                let j = OverlapOptions { gamma: 1.5, ..o };
                let cj = c_overlap(&j);
                same("jaccard", ll, &|l, g| jaccard_loss(&x, &labels, None, shape, &j, l, g), &|l, g| unsafe { T::jaccard(x.as_ptr(), labels.as_ptr(), std::ptr::null(), cs, &cj, l, g) });
                let js = OverlapOptions { soft_label: !batch, activation: Activation::Sigmoid, ..o };
                let cjs = c_overlap(&js);
                same("jaccard_soft", ll, &|l, g| jaccard_loss_soft(&x, &probs, Some(&cw), shape, &js, l, g), &|l, g| unsafe { T::jaccard_soft(x.as_ptr(), probs.as_ptr(), cw.as_ptr(), cs, &cjs, l, g) });
                let t = OverlapOptions { alpha: 0.4, beta: 0.6, gamma: 0.75, activation: Activation::Sigmoid, soft_label: false, ..o };
                let ct = c_overlap(&t);
                same("tversky", ll, &|l, g| tversky_loss(&x, &labels, None, shape, &t, l, g), &|l, g| unsafe { T::tversky(x.as_ptr(), labels.as_ptr(), std::ptr::null(), cs, &ct, l, g) });
                let ts = OverlapOptions { soft_label: true, ..t };
                let cts = c_overlap(&ts);
                same("tversky_soft", ll, &|l, g| tversky_loss_soft(&x, &probs, Some(&cw), shape, &ts, l, g), &|l, g| unsafe { T::tversky_soft(x.as_ptr(), probs.as_ptr(), cw.as_ptr(), cs, &cts, l, g) });
                let gd = OverlapOptions { squared_pred: false, w_type: GdiceWeight::Simple, ..o };
                let cgd = c_overlap(&gd);
                let gl = red.loss_len(if batch { 1 } else { shape.batch });
                same("generalized_dice", gl, &|l, g| generalized_dice_loss(&x, &labels, shape, &gd, l, g), &|l, g| unsafe { T::gdice(x.as_ptr(), labels.as_ptr(), cs, &cgd, l, g) });
                same("generalized_dice_soft", gl, &|l, g| generalized_dice_loss_soft(&x, &probs, shape, &gd, l, g), &|l, g| unsafe { T::gdice_soft(x.as_ptr(), probs.as_ptr(), cs, &cgd, l, g) });
                // Lovász-Softmax, per image or over the batch.
                let lo = LovaszOptions { reduction: red, per_image: batch, classes_present: !batch, ..Default::default() };
                let mut clo = c::lossfn_lovasz_options_default();
                (clo.reduction, clo.per_image, clo.classes_present) = (c_reduction(red), batch, !batch);
                let ll = red.loss_len(if batch { shape.batch } else { 1 });
                same("lovasz_softmax", ll, &|l, g| lovasz_softmax_loss(&x, &labels, shape, &lo, l, g), &|l, g| unsafe { T::lovasz(x.as_ptr(), labels.as_ptr(), cs, &clo, l, g) });
            }
        }
        // The fused losses: [total, Dice part, other part].
        let d = OverlapOptions { loss_weight: 0.7, ..Default::default() };
        let ce = CrossEntropyOptions { label_smoothing: 0.1, reduction: Reduction::Sum, ..Default::default() };
        let (cd, mut cce) = (c_overlap(&d), c::lossfn_cross_entropy_options_default());
        (cce.label_smoothing, cce.reduction) = (0.1, 2);
        same("dice_ce", 3, &|l, g| dice_ce_loss(&x, &labels, Some(&cw), shape, &d, &ce, l, g), &|l, g| unsafe { T::dice_ce(x.as_ptr(), labels.as_ptr(), cw.as_ptr(), cs, &cd, &cce, l, g) });
        let f = FocalOptions { gamma: 1.5, ..Default::default() };
        let mut cf = c::lossfn_focal_options_default();
        cf.gamma = 1.5;
        same("dice_focal", 3, &|l, g| dice_focal_loss(&x, &labels, None, shape, &d, &f, l, g), &|l, g| unsafe { T::dice_focal(x.as_ptr(), labels.as_ptr(), std::ptr::null(), cs, &cd, &cf, l, g) });
        // The two phases: the statistics equal the C API's, and phase 2 on them equals both the
        // C API's phase 2 and the one-call batch loss.
        let o = OverlapOptions { batch: true, ..Default::default() };
        let co = c_overlap(&o);
        for (kind, ck) in [(OverlapKind::Dice, 0), (OverlapKind::Tversky, 1), (OverlapKind::GeneralizedDice, 2), (OverlapKind::Jaccard, 3)] {
            let n = 3 * shape.classes;
            let (mut st, mut cst, mut st_soft, mut cst_soft) = (vec![0f64; n], vec![0f64; n], vec![0f64; n], vec![0f64; n]);
            overlap_stats(kind, &x, &labels, shape, &o, &mut st).unwrap();
            overlap_stats_soft(kind, &x, &probs, shape, &o, &mut st_soft).unwrap();
            assert_eq!(unsafe { T::stats(ck, x.as_ptr(), labels.as_ptr(), cs, &co, cst.as_mut_ptr(), n) }, 0);
            assert_eq!(unsafe { T::stats_soft(ck, x.as_ptr(), probs.as_ptr(), cs, &co, cst_soft.as_mut_ptr(), n) }, 0);
            assert_eq!((&st, &st_soft), (&cst, &cst_soft), "{kind:?}");
            let w = (kind != OverlapKind::GeneralizedDice).then_some(&cw[..]);
            let wp = w.map_or(std::ptr::null(), |w| w.as_ptr());
            same("overlap_loss_from_stats", 1, &|l, g| overlap_loss_from_stats(kind, &x, &labels, w, shape, &o, &st, l, g), &|l, g| unsafe { T::from_stats(ck, x.as_ptr(), labels.as_ptr(), wp, cs, &co, st.as_ptr(), n, l, g) });
            same("overlap_loss_from_stats_soft", 1, &|l, g| overlap_loss_from_stats_soft(kind, &x, &probs, w, shape, &o, &st_soft, l, g), &|l, g| unsafe { T::from_stats_soft(ck, x.as_ptr(), probs.as_ptr(), wp, cs, &co, st_soft.as_ptr(), n, l, g) });
            let one_call = |l: &mut [T], g: Option<&mut [T]>| match kind {
                OverlapKind::Dice => dice_loss(&x, &labels, w, shape, &o, l, g),
                OverlapKind::Tversky => tversky_loss(&x, &labels, w, shape, &o, l, g),
                OverlapKind::Jaccard => jaccard_loss(&x, &labels, w, shape, &o, l, g),
                OverlapKind::GeneralizedDice => generalized_dice_loss(&x, &labels, shape, &o, l, g),
            };
            assert_eq!(run::<T>(1, len, one_call).unwrap(), run::<T>(1, len, |l, g| overlap_loss_from_stats(kind, &x, &labels, w, shape, &o, &st, l, g)).unwrap(), "{kind:?}");
        }

        // Bad input: each refused with the C API's error, nothing written.
        let o = OverlapOptions::default();
        let is_target = |e: &Error| matches!(e, Error::InvalidTarget(_));
        expect_err(run::<T>(1, len, |l, g| dice_loss(&x[1..], &labels, None, shape, &o, l, g)), is_size, "`input`");
        expect_err(run::<T>(1, len, |l, g| dice_loss(&x, &labels[1..], None, shape, &o, l, g)), is_size, "`target`");
        expect_err(run::<T>(1, len, |l, g| dice_loss_soft(&x, &probs[1..], None, shape, &o, l, g)), is_size, "`target`");
        expect_err(run::<T>(1, len, |l, g| dice_loss(&x, &labels, Some(&cw[1..]), shape, &o, l, g)), is_size, "`class_weight`");
        expect_err(run::<T>(2, len, |l, g| dice_loss(&x, &labels, None, shape, &o, l, g)), is_size, "`loss`");
        expect_err(run::<T>(1, len + 1, |l, g| tversky_loss(&x, &labels, None, shape, &o, l, g)), is_size, "`grad_input`");
        expect_err(run::<T>(1, len, |l, g| dice_loss(&x, &labels, None, Shape { classes: 0, ..shape }, &o, l, g)), is_size, "`shape.classes`");
        let mut bad = labels.clone();
        bad[pos - 1] = shape.classes as i64;
        expect_err(run::<T>(1, len, |l, g| dice_loss(&x, &bad, None, shape, &o, l, g)), is_target, "`target`[");
        expect_err(run::<T>(1, len, |l, g| lovasz_softmax_loss(&x, &bad, shape, &LovaszOptions::default(), l, g)), is_target, "`target`[");
        expect_err(run::<T>(1, len, |l, g| dice_loss(&x, &labels, None, shape, &OverlapOptions { soft_label: true, ..o }, l, g)), is_option, "options.soft_label");
        expect_err(run::<T>(1, len, |l, g| dice_loss_soft(&x, &probs, None, shape, &OverlapOptions { ignore_index: 0, ..o }, l, g)), is_option, "options.ignore_index");
        expect_err(run::<T>(1, len, |l, g| dice_loss(&x, &labels, None, shape, &OverlapOptions { smooth_nr: f64::NAN, ..o }, l, g)), is_option, "options.smooth_nr");
        expect_err(run::<T>(1, len, |l, g| dice_loss(&x, &labels, None, shape, &OverlapOptions { gamma: 0.0, ..o }, l, g)), is_option, "options.gamma");
        expect_err(run::<T>(1, len, |l, g| tversky_loss(&x, &labels, None, shape, &OverlapOptions { beta: -1.0, ..o }, l, g)), is_option, "options.beta");
        expect_err(run::<T>(1, len, |l, g| generalized_dice_loss(&x, &labels, shape, &OverlapOptions { squared_pred: true, ..o }, l, g)), is_option, "options.squared_pred");
        expect_err(run::<T>(1, len, |l, g| dice_loss(&x, &labels, None, shape, &OverlapOptions { avg_factor: f64::INFINITY, ..o }, l, g)), is_option, "options.avg_factor");
        let one = Shape { classes: 1, ..shape };
        expect_err(run::<T>(1, len, |l, g| dice_loss(&x[..one.len()], &labels, None, one, &o, l, g)), is_option, "options.activation");
        // The fused losses name the struct.
        let ce = CrossEntropyOptions::default();
        expect_err(run::<T>(3, len, |l, g| dice_ce_loss(&x, &labels, None, shape, &o, &CrossEntropyOptions { ignore_index: 0, ..ce }, l, g)), is_option, "dice.ignore_index");
        expect_err(run::<T>(3, len, |l, g| dice_ce_loss(&x, &labels, None, shape, &o, &CrossEntropyOptions { label_smoothing: 2.0, ..ce }, l, g)), is_option, "ce.label_smoothing");
        expect_err(run::<T>(3, len, |l, g| dice_ce_loss(&x, &labels, None, shape, &o, &CrossEntropyOptions { loss_weight: f64::NAN, ..ce }, l, g)), is_option, "ce.loss_weight");
        expect_err(run::<T>(3, len, |l, g| dice_ce_loss(&x, &labels, None, shape, &OverlapOptions { reduction: Reduction::None, ..o }, &ce, l, g)), is_option, "dice.reduction");
        expect_err(run::<T>(3, len, |l, g| dice_ce_loss(&x, &labels, None, shape, &OverlapOptions { activation: Activation::Sigmoid, ..o }, &ce, l, g)), is_option, "dice.activation");
        expect_err(run::<T>(3, len, |l, g| dice_focal_loss(&x, &labels, None, shape, &o, &FocalOptions { gamma: -1.0, ..Default::default() }, l, g)), is_option, "focal.gamma");
        expect_err(run::<T>(1, len, |l, g| dice_ce_loss(&x, &labels, None, shape, &o, &ce, l, g)), is_size, "`loss`");
        expect_err(run::<T>(3, len, |l, g| dice_ce_loss(&x[1..], &labels, None, shape, &o, &ce, l, g)), is_size, "`logits`");
        // The two phases.
        let ob = OverlapOptions { batch: true, ..o };
        let n = 3 * shape.classes;
        let mut st = vec![SENTINEL; n];
        expect_err(overlap_stats(OverlapKind::Dice, &x, &labels, shape, &o, &mut st), is_option, "options.batch");
        expect_err(overlap_stats(OverlapKind::Dice, &x, &labels, shape, &ob, &mut st[1..]), is_option, "`stats_len`");
        expect_err(overlap_stats(OverlapKind::Dice, &x, &bad, shape, &ob, &mut st), is_target, "`target`[");
        expect_err(overlap_stats_soft(OverlapKind::Dice, &x, &probs[1..], shape, &ob, &mut st), is_size, "`target`");
        assert!(st.iter().all(|&v| v == SENTINEL), "stats written on error");
        let good = vec![1.0f64; n];
        expect_err(run::<T>(1, len, |l, g| overlap_loss_from_stats(OverlapKind::Dice, &x, &labels, None, shape, &ob, &good[1..], l, g)), is_size, "`stats_len`");
        let mut nan = good.clone();
        nan[4] = f64::NAN;
        expect_err(run::<T>(1, len, |l, g| overlap_loss_from_stats(OverlapKind::Tversky, &x, &labels, None, shape, &ob, &nan, l, g)), is_option, "`global_stats`[4]");
        expect_err(run::<T>(1, len, |l, g| overlap_loss_from_stats(OverlapKind::GeneralizedDice, &x, &labels, Some(&cw), shape, &ob, &good, l, g)), is_option, "`class_weight`");
        // Lovász.
        let lo = LovaszOptions::default();
        expect_err(run::<T>(1, len, |l, g| lovasz_softmax_loss(&x, &labels, shape, &LovaszOptions { activation: Activation::Sigmoid, ..lo }, l, g)), is_option, "options.activation");
        expect_err(run::<T>(1, len, |l, g| lovasz_softmax_loss(&x, &labels[1..], shape, &lo, l, g)), is_size, "`target`");
        expect_err(run::<T>(1, len, |l, g| lovasz_hinge_loss(&x, &probs[..pos], shape, &lo, l, g)), is_option, "shape.classes");
        expect_err(run::<T>(shape.batch, len, |l, g| lovasz_softmax_loss(&x, &labels, shape, &lo, l, g)), is_size, "`loss`");
    }
    // The Lovász hinge: one logit per position, targets 0/1 (or ignore_index).
    let shape = Shape { batch: 3, classes: 1, spatial: 41, layout: Layout::Ncs };
    let len = shape.len();
    let x = values::<T>(len, 61, -3.0, 3.0);
    let mut t: Vec<T> = values::<f64>(len, 62, 0.0, 2.0).into_iter().map(|v| T::of(v.floor())).collect();
    t[7] = T::of(-100.0);
    for (red, per_image) in [(Reduction::None, true), (Reduction::Mean, false), (Reduction::Sum, true)] {
        let lo = LovaszOptions { reduction: red, per_image, loss_weight: 2.0, ..Default::default() };
        let mut clo = lossfn::capi::lossfn_lovasz_options_default();
        (clo.reduction, clo.per_image, clo.loss_weight) = (c_reduction(red), per_image, 2.0);
        let ll = red.loss_len(if per_image { shape.batch } else { 1 });
        let (loss, grad) = run::<T>(ll, len, |l, g| lovasz_hinge_loss(&x, &t, shape, &lo, l, g)).unwrap();
        let (mut cl, mut cg) = (vec![T::zero(); ll], vec![T::zero(); len]);
        assert_eq!(unsafe { T::hinge(x.as_ptr(), t.as_ptr(), lossfn::capi::lossfn_shape { batch: 3, classes: 1, spatial: 41, layout: 0 }, &clo, cl.as_mut_ptr(), cg.as_mut_ptr()) }, 0);
        assert_eq!((loss, grad), (cl, cg), "hinge {red:?}");
    }
    let mut bad = t.clone();
    bad[3] = T::of(0.5);
    expect_err(run::<T>(1, len, |l, g| lovasz_hinge_loss(&x, &bad, shape, &LovaszOptions::default(), l, g)), |e| matches!(e, Error::InvalidTarget(_)), "`target`[3]");
    expect_err(run::<T>(1, len, |l, g| lovasz_hinge_loss(&x[1..], &t, shape, &LovaszOptions::default(), l, g)), is_size, "`logits`");
    expect_err(run::<T>(1, len - 1, |l, g| lovasz_hinge_loss(&x, &t, shape, &LovaszOptions::default(), l, g)), is_size, "`grad_logits`");
}

#[test]
fn overlap_matches_the_c_api_and_refuses_bad_input() {
    overlap_suite::<f32>();
    overlap_suite::<f64>();
}

/// Whether `text` holds `word` as a whole identifier (not inside a longer one such as
/// `lossfn_<word>_f32`).
fn has_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// Every loss of the C header has its safe function (`pub fn <name><T: Float>` in `src/api/`,
/// named as the C function without `lossfn_` and `_f32`), every safe function its C entry
/// point, and each is called by this suite: a loss added to one and not the other, or not
/// tested here, fails.
#[test]
fn every_c_function_has_a_tested_safe_counterpart() {
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
    assert!(c.len() >= 41, "{} C functions found in the header", c.len());
    assert_eq!(c, safe, "C functions (left) and safe functions (right) differ");
    let suite = std::fs::read_to_string(format!("{root}/tests/safe_api.rs")).unwrap();
    let untested: Vec<_> = safe.iter().filter(|name| !has_word(&suite, name)).collect();
    assert!(untested.is_empty(), "safe functions not called by tests/safe_api.rs: {untested:?}");
}
