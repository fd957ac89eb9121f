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
/// values through lossfn_cross_entropy_soft (a separate kernel) on rows of `bins` classes. Bin
/// counts around the kernel's row chunks (16 lanes in f32, 8 in f64: whole chunks, a partial last
/// chunk read and written past the row's end, the call's last row), in both precisions.
#[test]
fn equals_soft_cross_entropy_on_two_hot_targets() {
    let mut rng = Rng(37);
    for bins in [2, 3, 7, 8, 9, 15, 16, 17, 24, 33] {
        let (n, sides) = (301, 4);
        let logits = rng.vec(n * sides * bins, -4.0, 4.0);
        let target: Vec<f64> = (0..n * sides).map(|_| rng.uniform(-1.0, bins as f64)).collect();
        let mut soft = vec![0.0; n * sides * bins];
        for (r, &t) in target.iter().enumerate() {
            let t = t.clamp(0.0, bins as f64 - 1.01);
            let tl = t.floor() as usize;
            soft[r * bins + tl] = (tl + 1) as f64 - t;
            soft[r * bins + tl + 1] = t - tl as f64;
        }
        let shape = lossfn_shape { batch: n * sides, classes: bins, spatial: 1, layout: LOSSFN_LAYOUT_NSC };
        let co = lossfn_cross_entropy_options { reduction: LOSSFN_REDUCTION_SUM, ..lossfn_cross_entropy_options_default() };
        let (mut lc, mut gc) = ([0.0], vec![0.0; n * sides * bins]);
        let st = unsafe { lossfn_cross_entropy_soft_f64(logits.as_ptr(), soft.as_ptr(), null(), shape, &co, lc.as_mut_ptr(), gc.as_mut_ptr()) };
        assert_eq!(st, LOSSFN_OK, "{}", last_error());
        let per_side = |v: &[f64]| v.iter().map(|x| x / sides as f64).collect::<Vec<f64>>();
        let (l, g) = run64(&logits, &target, None, (n, sides, bins), &opts(LOSSFN_REDUCTION_SUM));
        assert_close(&format!("loss, bins {bins}"), &l, &per_side(&lc), 1e-13, 1e-13);
        assert_close(&format!("grad, bins {bins}"), &g, &per_side(&gc), 1e-13, 1e-15);
        // f32: the same to f32 rounding (a sum over 1204 rows: relative 1e-5).
        let c = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let (l32, g32) = run(lossfn_dfl_loss_f32, &c(&logits), &c(&target), None, (n, sides, bins), &opts(LOSSFN_REDUCTION_SUM));
        let w = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        assert_close(&format!("f32 loss, bins {bins}"), &w(&l32), &l, 1e-5, 1e-5);
        assert_close(&format!("f32 grad, bins {bins}"), &w(&g32), &g, 1e-5, 1e-6);
    }
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
    use lossfn::testing::set_simd_max;
    let mut rng = Rng(53);
    for ((n, sides, bins), reduction) in [(3_001, 4, 16), (1_001, 4, 17), (1_001, 4, 7)].into_iter().flat_map(|d| [(d, LOSSFN_REDUCTION_NONE), (d, LOSSFN_REDUCTION_MEAN)]) {
        let logits = rng.vec(n * sides * bins, -5.0, 5.0);
        let target = rng.vec(n * sides, -1.0, bins as f64);
        let w = rng.vec(n, 0.0, 2.0);
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
            assert!(run_at(level) == base, "SIMD level {level} differs from the baseline (bins {bins}, reduction {reduction})");
        }
        set_simd_max(2);
    }
}

// ---------------------------------------------------------------------------------------------
// The YOLOv8/11 box branch (lossfn_dfl_box_loss): decode + IoU loss + DFL on the same logits.

type Branch<T> = unsafe extern "C" fn(*const T, *const T, *const T, *const T, usize, usize, *const lossfn_dfl_box_options, *mut T, *mut T) -> u32;

/// A box-branch problem: n anchors, `bins` bins; targets around the anchors so that the
/// distances cover the bins, some beyond the last bin (clamped).
struct Problem {
    n: usize,
    bins: usize,
    logits: Vec<f64>,
    anchors: Vec<f64>,
    target: Vec<f64>,
    weight: Vec<f64>,
}

fn problem(rng: &mut Rng, n: usize, bins: usize) -> Problem {
    let logits = rng.vec(n * 4 * bins, -3.0, 3.0);
    let anchors = rng.vec(n * 2, 0.0, 40.0);
    let mut target = Vec::with_capacity(4 * n);
    for i in 0..n {
        let (ax, ay) = (anchors[2 * i], anchors[2 * i + 1]);
        // distances in (0, bins + 1): beyond bins − 1.01 they are clamped
        let d: Vec<f64> = (0..4).map(|_| rng.uniform(0.05, bins as f64 + 1.0)).collect();
        target.extend([ax - d[0], ay - d[1], ax + d[2], ay + d[3]]);
    }
    let weight = rng.vec(n, 0.05, 1.5);
    Problem { n, bins, logits, anchors, target, weight }
}

fn branch<T: Copy + Default>(f: Branch<T>, p: (&[T], &[T], &[T], Option<&[T]>), n: usize, bins: usize, o: &lossfn_dfl_box_options) -> (Vec<T>, Vec<T>) {
    let mut loss = vec![T::default(); 2];
    let mut grad = vec![T::default(); n * 4 * bins];
    let w = p.3.map_or(null(), |w| w.as_ptr());
    let st = unsafe { f(p.0.as_ptr(), p.1.as_ptr(), p.2.as_ptr(), w, n, bins, o, loss.as_mut_ptr(), grad.as_mut_ptr()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    (loss, grad)
}

fn branch64(p: &Problem, logits: &[f64], weighted: bool, o: &lossfn_dfl_box_options) -> (Vec<f64>, Vec<f64>) {
    let w = weighted.then_some(&p.weight[..]);
    branch(lossfn_dfl_box_loss_f64, (logits, &p.anchors, &p.target, w), p.n, p.bins, o)
}

/// The softmax of each row and its expectation over the bin indices (ultralytics' bbox_decode).
fn decode(logits: &[f64], bins: usize) -> (Vec<f64>, Vec<f64>) {
    let mut prob = vec![0.0; logits.len()];
    let mut dist = vec![0.0; logits.len() / bins];
    for (r, z) in logits.chunks(bins).enumerate() {
        let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = z.iter().map(|v| (v - m).exp()).sum();
        for j in 0..bins {
            prob[r * bins + j] = (z[j] - m).exp() / s;
            dist[r] += prob[r * bins + j] * j as f64;
        }
    }
    (prob, dist)
}

/// The box branch composed of two separate kernels and a hand-written decode: the box loss
/// (lossfn_iou/giou/diou/ciou_loss) on the decoded boxes and lossfn_dfl_loss on bbox2dist's
/// targets, the gradients chained through the decode by hand. The fused call must equal it.
#[test]
fn box_branch_equals_the_box_loss_and_dfl_composed() {
    type BoxFn = unsafe extern "C" fn(*const f64, *const f64, *const f64, usize, *const lossfn_box_options, *mut f64, *mut f64) -> u32;
    let mut rng = Rng(61);
    let kinds: [(u32, u32, BoxFn); 6] = [
        (LOSSFN_IOU_KIND_CIOU, LOSSFN_CIOU_ULTRALYTICS, lossfn_ciou_loss_f64),
        (LOSSFN_IOU_KIND_CIOU, LOSSFN_CIOU_TORCHVISION, lossfn_ciou_loss_f64),
        (LOSSFN_IOU_KIND_CIOU, LOSSFN_CIOU_MMDET, lossfn_ciou_loss_f64),
        (LOSSFN_IOU_KIND_IOU, LOSSFN_CIOU_ULTRALYTICS, lossfn_iou_loss_f64),
        (LOSSFN_IOU_KIND_GIOU, LOSSFN_CIOU_ULTRALYTICS, lossfn_giou_loss_f64),
        (LOSSFN_IOU_KIND_DIOU, LOSSFN_CIOU_ULTRALYTICS, lossfn_diou_loss_f64),
    ];
    for (n, bins) in [(1, 16), (37, 16), (101, 17), (300, 7), (5, 2)] {
        let p = problem(&mut rng, n, bins);
        let (prob, dist) = decode(&p.logits, bins);
        let mut boxes = vec![0.0; 4 * n];
        let mut t_dist = vec![0.0; 4 * n];
        for i in 0..n {
            let (ax, ay) = (p.anchors[2 * i], p.anchors[2 * i + 1]);
            let d = &dist[4 * i..4 * i + 4];
            boxes[4 * i..4 * i + 4].copy_from_slice(&[ax - d[0], ay - d[1], ax + d[2], ay + d[3]]);
            let t = &p.target[4 * i..4 * i + 4];
            t_dist[4 * i..4 * i + 4].copy_from_slice(&[ax - t[0], ay - t[1], t[2] - ax, t[3] - ay]);
        }
        for (kind, variant, box_fn) in kinds {
            for (reduction, weighted, avg) in
                [(LOSSFN_REDUCTION_MEAN, true, 0.0), (LOSSFN_REDUCTION_MEAN, false, 0.0), (LOSSFN_REDUCTION_SUM, true, 0.0), (LOSSFN_REDUCTION_MEAN, true, 3.5)]
            {
                let w = weighted.then_some(&p.weight[..]).map_or(null(), |w| w.as_ptr());
                let bo = lossfn_box_options { reduction, ciou_variant: variant, avg_factor: avg, ..lossfn_box_options_default() };
                let (mut l_iou, mut g_box) = ([0.0], vec![0.0; 4 * n]);
                assert_eq!(unsafe { box_fn(boxes.as_ptr(), p.target.as_ptr(), w, n, &bo, l_iou.as_mut_ptr(), g_box.as_mut_ptr()) }, LOSSFN_OK);
                let dlo = lossfn_dfl_options { reduction, avg_factor: avg, ..lossfn_dfl_options_default() };
                let (mut l_dfl, mut g_dfl) = ([0.0], vec![0.0; n * 4 * bins]);
                let st = unsafe { lossfn_dfl_loss_f64(p.logits.as_ptr(), t_dist.as_ptr(), w, n, 4, bins, &dlo, l_dfl.as_mut_ptr(), g_dfl.as_mut_ptr()) };
                assert_eq!(st, LOSSFN_OK, "{}", last_error());
                let (gain_iou, gain_dfl) = (7.5, 1.5);
                let mut want_grad = vec![0.0; n * 4 * bins];
                for r in 0..4 * n {
                    // box = (ax − d_l, ay − d_t, ax + d_r, ay + d_b); ∂d/∂z_j = p_j (j − d)
                    let g_d = if r % 4 < 2 { -g_box[r] } else { g_box[r] };
                    for j in 0..bins {
                        let k = r * bins + j;
                        want_grad[k] = gain_iou * g_d * prob[k] * (j as f64 - dist[r]) + gain_dfl * g_dfl[k];
                    }
                }
                let o = lossfn_dfl_box_options {
                    reduction,
                    iou: kind,
                    ciou_variant: variant,
                    iou_weight: gain_iou,
                    dfl_weight: gain_dfl,
                    avg_factor: avg,
                    ..lossfn_dfl_box_options_default()
                };
                let (loss, grad) = branch64(&p, &p.logits, weighted, &o);
                let what = format!("n {n} bins {bins} kind {kind} variant {variant} reduction {reduction} weighted {weighted} avg {avg}");
                assert_close(&format!("{what}: loss"), &loss, &[gain_iou * l_iou[0], gain_dfl * l_dfl[0]], 1e-13, 1e-15);
                assert_close(&format!("{what}: grad"), &grad, &want_grad, 1e-12, 1e-15);
            }
        }
    }
}

/// The analytic gradient equals central differences of the fused loss (IoU, GIoU, DIoU: their
/// loss has no constant-by-convention part; CIoU's alpha is a constant without gradient in every
/// framework, which the composition test above covers). Targets away from the DFL's kinks.
#[test]
fn box_branch_gradients_match_finite_differences() {
    let mut rng = Rng(67);
    for (n, bins) in [(3, 16), (4, 5)] {
        let mut p = problem(&mut rng, n, bins);
        // no clamping and no bin edge: the DFL is smooth there
        for i in 0..n {
            let (ax, ay) = (p.anchors[2 * i], p.anchors[2 * i + 1]);
            let d: Vec<f64> = (0..4).map(|_| rng.below(bins as u64 - 1) as f64 + rng.uniform(0.1, 0.9)).collect();
            p.target[4 * i..4 * i + 4].copy_from_slice(&[ax - d[0], ay - d[1], ax + d[2], ay + d[3]]);
        }
        for kind in [LOSSFN_IOU_KIND_IOU, LOSSFN_IOU_KIND_GIOU, LOSSFN_IOU_KIND_DIOU] {
            for (reduction, weighted) in [(LOSSFN_REDUCTION_MEAN, true), (LOSSFN_REDUCTION_SUM, false)] {
                let o = lossfn_dfl_box_options { reduction, iou: kind, iou_weight: 2.0, dfl_weight: 0.5, ..lossfn_dfl_box_options_default() };
                let (_, g) = branch64(&p, &p.logits, weighted, &o);
                let fd = finite_diff(&p.logits, 1e-6, |x| {
                    let (l, _) = branch64(&p, x, weighted, &o);
                    l[0] + l[1]
                });
                assert_close(&format!("n {n} bins {bins} kind {kind} reduction {reduction}"), &g, &fd, 1e-6, 1e-8);
            }
        }
    }
}

/// Zero weights give 0 under MEAN (not NaN); NaN logits give NaN for their anchor only (the
/// gradient of the others stays finite under SUM); no anchors give [+0, +0].
#[test]
fn box_branch_edges() {
    let mut rng = Rng(71);
    let p = problem(&mut rng, 4, 16);
    let o = lossfn_dfl_box_options_default();
    let zero = vec![0.0; 4];
    let (l, g) = branch(lossfn_dfl_box_loss_f64, (&p.logits, &p.anchors, &p.target, Some(&zero)), 4, 16, &o);
    assert!(l == [0.0, 0.0] && g.iter().all(|&v| v == 0.0), "{l:?}");
    let mut logits = p.logits.clone();
    logits[64 + 5] = f64::NAN;
    let sum = lossfn_dfl_box_options { reduction: LOSSFN_REDUCTION_SUM, ..o };
    let (l, g) = branch64(&p, &logits, false, &sum);
    assert!(l[0].is_nan() && l[1].is_nan(), "{l:?}");
    assert!(g[64..128].iter().all(|v| v.is_nan()) && g[..64].iter().chain(&g[128..]).all(|v| v.is_finite()));
    let mut loss = [1.0f64; 2];
    let st = unsafe { lossfn_dfl_box_loss_f64(null(), null(), null(), null(), 0, 16, &o, loss.as_mut_ptr(), null_mut()) };
    assert_eq!(st, LOSSFN_OK, "{}", last_error());
    assert_eq!(loss.map(f64::to_bits), [0f64.to_bits(); 2]);
}

#[test]
fn box_branch_bad_input_is_rejected_and_writes_nothing() {
    let logits = [0.0f32; 2 * 4 * 16];
    let anchors = [1.0f32; 4];
    let target = [0.5f32; 8];
    let call = |n: usize, bins: usize, o: &lossfn_dfl_box_options, l: &mut [f32], g: &mut [f32]| unsafe {
        lossfn_dfl_box_loss_f32(logits.as_ptr(), anchors.as_ptr(), target.as_ptr(), null(), n, bins, o, l.as_mut_ptr(), g.as_mut_ptr())
    };
    let d = lossfn_dfl_box_options_default();
    let o = |f: &dyn Fn(&mut lossfn_dfl_box_options)| {
        let mut o = d;
        f(&mut o);
        o
    };
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "bins", |l, g| call(2, 1, &d, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "bins", |l, g| call(0, 0, &d, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "overflow", |l, g| call(usize::MAX / 2, 16, &d, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_SIZE, "overflow", |l, g| call(usize::MAX / 64, 16, &d, l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "NONE", |l, g| call(2, 16, &o(&|o| o.reduction = LOSSFN_REDUCTION_NONE), l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "reduction", |l, g| call(2, 16, &o(&|o| o.reduction = LOSSFN_REDUCTION_BATCHMEAN), l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "options.iou", |l, g| call(2, 16, &o(&|o| o.iou = 4), l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "ciou_variant", |l, g| call(2, 16, &o(&|o| o.ciou_variant = 3), l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "ciou_variant", |l, g| call(2, 16, &o(&|o| (o.iou, o.ciou_variant) = (0, 7)), l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "eps", |l, g| call(2, 16, &o(&|o| o.eps = 0.0), l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "eps", |l, g| call(2, 16, &o(&|o| o.eps = f64::NAN), l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "iou_weight", |l, g| call(2, 16, &o(&|o| o.iou_weight = -1.0), l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "iou_weight", |l, g| call(2, 16, &o(&|o| o.iou_weight = f64::NAN), l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "dfl_weight", |l, g| call(2, 16, &o(&|o| o.dfl_weight = f64::INFINITY), l, g));
    assert_rejected(LOSSFN_ERROR_INVALID_OPTION, "loss_weight", |l, g| call(2, 16, &o(&|o| o.loss_weight = f64::NAN), l, g));
    assert_rejected(LOSSFN_ERROR_NULL_POINTER, "anchors", |l, g| unsafe {
        lossfn_dfl_box_loss_f32(logits.as_ptr(), null(), target.as_ptr(), null(), 2, 16, &d, l.as_mut_ptr(), g.as_mut_ptr())
    });
}

/// The baseline, AVX2 and AVX-512 copies give bitwise identical outputs, f32 and f64, and the
/// loss does not depend on whether the gradient is computed.
#[test]
fn box_branch_simd_copies_agree_bitwise() {
    use lossfn::testing::set_simd_max;
    let mut rng = Rng(73);
    let (n, bins) = (3_001, 16);
    let p = problem(&mut rng, n, bins);
    let o = lossfn_dfl_box_options { iou_weight: 7.5, dfl_weight: 1.5, ..lossfn_dfl_box_options_default() };
    let c = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
    let run_at = |level: u8| {
        set_simd_max(level);
        let (l, g) = branch64(&p, &p.logits, true, &o);
        let (l32, g32) = branch(lossfn_dfl_box_loss_f32, (&c(&p.logits), &c(&p.anchors), &c(&p.target), Some(&c(&p.weight))), n, bins, &o);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<u64>>();
        let bits32 = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        (bits(&l), bits(&g), bits32(&l32), bits32(&g32))
    };
    let base = run_at(0);
    for level in [1, 2] {
        assert!(run_at(level) == base, "SIMD level {level} differs from the baseline");
    }
    set_simd_max(2);
    let mut loss = [0.0; 2];
    let st = unsafe {
        lossfn_dfl_box_loss_f64(p.logits.as_ptr(), p.anchors.as_ptr(), p.target.as_ptr(), p.weight.as_ptr(), n, bins, &o, loss.as_mut_ptr(), null_mut())
    };
    assert_eq!(st, LOSSFN_OK);
    assert_eq!(loss.map(f64::to_bits).to_vec(), base.0);
}
