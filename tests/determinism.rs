//! Bitwise determinism across thread counts: every exported loss and the IoU matrix, f32 and
//! f64, a couple of option sets each, on inputs large enough to take the parallel path, give
//! bitwise the same loss and gradient with lossfn_set_num_threads(1), (2), (3) and (0).
//!
//! Sizes (see src/reduce.rs: parallel when the work estimate reaches PARALLEL_WORK = 65536 and
//! there is more than one chunk; chunk boundaries depend on the sizes only):
//! * regression: n = 100 003 values, chunks of 16 384 → 7 chunks;
//! * boxes: n = 5 003 boxes at 16 operations each, chunks of 1 024 boxes → 5 chunks;
//! * IoU matrix: 97 × 101 cells at 8 operations each, chunks of 2 048 cells → 5 chunks;
//! * classification: 40 × 7 classes × 150 positions = 42 000 elements at 8 operations each:
//!   NSC blocks of 2 340 positions (3 blocks), NCS blocks per sample (40), elementwise chunks of
//!   16 384 elements (3);
//! * overlap: NCS 3 × 4 × 20 000 (2 work items per sample: 6) and NSC 1 000 × 3 × 50 (runs of
//!   409 samples: 3 items), both at 8 operations per element.
mod common;
#[macro_use]
mod fuzz_driver;

use fuzz_driver::{Dims, Dt, MatrixArgs, Opts, ALL, F};
use lossfn::capi::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Tests of this binary run concurrently; the thread count is process-wide.
static THREADS: Mutex<()> = Mutex::new(());
/// Thread counts used once each, to prove a call went parallel (above 3 and the core count).
static NEXT_POOL: AtomicUsize = AtomicUsize::new(8);

/// Whether a pool of `threads` workers exists: the library builds its pool (threads named
/// lossfn-0 .. lossfn-{n-1}) only when a call takes the parallel path, so the worker
/// lossfn-{threads-1}, with a count no earlier call used, proves that the last call did.
#[cfg(target_os = "linux")]
fn went_parallel(threads: usize) -> bool {
    let name = format!("lossfn-{}", threads - 1);
    let exists = || {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.unwrap().path().join("comm")).ok())
            .any(|comm| comm.trim_end() == name)
    };
    // A new worker names itself once it starts running: give it a moment.
    (0..2000).any(|_| exists() || {
        std::thread::sleep(std::time::Duration::from_millis(1));
        false
    })
}

struct Config {
    dims: Dims,
    opts: Option<Opts>,
    matrix: MatrixArgs,
    /// Pass the optional weight buffers (else NULL).
    weights: bool,
}

fn cfg(dims: Dims, opts: Option<Opts>, weights: bool) -> Config {
    Config { dims, opts, matrix: MatrixArgs::default(), weights }
}

fn configs(f: F) -> Vec<Config> {
    let o = || Opts::new(f).unwrap();
    let (nsc, ncs) = (Dims::shape(40, 7, 150, LOSSFN_LAYOUT_NSC), Dims::shape(40, 7, 150, LOSSFN_LAYOUT_NCS));
    let (seg_ncs, seg_nsc) = (Dims::shape(3, 4, 20_000, LOSSFN_LAYOUT_NCS), Dims::shape(1000, 3, 50, LOSSFN_LAYOUT_NSC));
    let boxes = Dims::n(5003);
    match f {
        F::L1 | F::Mse | F::SmoothL1 | F::Huber => vec![
            cfg(Dims::n(100_003), Some(o()), true),
            cfg(Dims::n(100_003), Some(o().reduction(LOSSFN_REDUCTION_NONE).f64("beta", 0.5).f64("delta", 0.5)), false),
        ],
        F::Iou => vec![
            cfg(boxes, Some(o()), true),
            cfg(boxes, Some(o().u32("iou_mode", LOSSFN_IOU_LOG).u32("format", LOSSFN_BOX_CXCYWH).reduction(LOSSFN_REDUCTION_SUM)), false),
        ],
        F::Eiou => vec![
            // Focal-EIoU's MEAN rescales the gradient after the pass (the "late" path).
            cfg(boxes, Some(o().f64("gamma", 0.5)), true),
            cfg(boxes, Some(o().u32("format", LOSSFN_BOX_XYWH).reduction(LOSSFN_REDUCTION_NONE)), false),
        ],
        F::Cdiou => vec![
            cfg(boxes, Some(o().f64("lambda", 0.3)), true),
            cfg(boxes, Some(o().u32("format", LOSSFN_BOX_LTRB).reduction(LOSSFN_REDUCTION_NONE)), false),
        ],
        F::Ciou => vec![
            cfg(boxes, Some(o().u32("ciou_variant", LOSSFN_CIOU_ULTRALYTICS)), true),
            cfg(boxes, Some(o().u32("ciou_variant", LOSSFN_CIOU_MMDET).u32("format", LOSSFN_BOX_CXCYWH).reduction(LOSSFN_REDUCTION_NONE)), false),
        ],
        F::Giou | F::Diou | F::Siou => vec![
            cfg(boxes, Some(o()), true),
            cfg(boxes, Some(o().u32("format", LOSSFN_BOX_XYWH).reduction(LOSSFN_REDUCTION_NONE)), false),
        ],
        F::KeypointOks => vec![
            cfg(Dims::nm(6_007, 17), Some(o()), true),
            cfg(Dims::nm(3_001, 5), Some(o().reduction(LOSSFN_REDUCTION_NONE)), false),
        ],
        F::Dfl => vec![
            cfg(Dims::dfl(5_003, 4, 16), Some(o()), true),
            cfg(Dims::dfl(3_001, 2, 7), Some(o().reduction(LOSSFN_REDUCTION_NONE)), false),
        ],
        F::Matrix => vec![
            Config { dims: Dims::nm(97, 101), opts: None, matrix: MatrixArgs { kind: LOSSFN_IOU_KIND_GIOU, ..MatrixArgs::default() }, weights: false },
            Config {
                dims: Dims::nm(97, 101),
                opts: None,
                matrix: MatrixArgs { format: LOSSFN_BOX_CXCYWH, kind: LOSSFN_IOU_KIND_CIOU, eps: 1e-7 },
                weights: false,
            },
        ],
        F::Ce => vec![
            cfg(nsc, Some(o()), true),
            cfg(ncs, Some(o().reduction(LOSSFN_REDUCTION_NONE).f64("label_smoothing", 0.1).i64("ignore_index", 2)), false),
        ],
        F::CeSoft => vec![cfg(nsc, Some(o()), true), cfg(ncs, Some(o().reduction(LOSSFN_REDUCTION_SUM).f64("label_smoothing", 0.2)), false)],
        F::Bce => vec![cfg(ncs, Some(o()), true), cfg(nsc, Some(o().reduction(LOSSFN_REDUCTION_NONE)), false)],
        F::Entropy => vec![
            cfg(nsc, Some(o()), false),
            cfg(ncs, Some(o().reduction(LOSSFN_REDUCTION_SUM).u32("input", LOSSFN_INPUT_PROBS)), false),
        ],
        F::KlDiv => vec![
            cfg(ncs, Some(o().reduction(LOSSFN_REDUCTION_BATCHMEAN)), false),
            cfg(nsc, Some(o().reduction(LOSSFN_REDUCTION_NONE).bool("log_target", true)), false),
        ],
        F::KlLogits => vec![
            cfg(nsc, Some(o().f64("temperature", 2.0)), false),
            cfg(ncs, Some(o().reduction(LOSSFN_REDUCTION_MEAN).f64("temperature", 0.5)), false),
        ],
        F::SigmoidFocal => vec![
            cfg(ncs, Some(o()), true),
            cfg(nsc, Some(o().reduction(LOSSFN_REDUCTION_SUM).f64("alpha", -1.0).f64("gamma", 0.0)), false),
        ],
        F::Varifocal | F::QualityFocal => vec![
            cfg(ncs, Some(o()), true),
            cfg(nsc, Some(o().reduction(LOSSFN_REDUCTION_NONE).f64("gamma", 1.5).bool("detach_weight", true)), false),
        ],
        F::SoftmaxFocal => vec![
            cfg(nsc, Some(o()), true),
            cfg(ncs, Some(o().reduction(LOSSFN_REDUCTION_NONE).f64("gamma", 0.5).i64("ignore_index", 1)), false),
        ],
        F::Dice | F::DiceSoft => vec![
            cfg(seg_ncs, Some(o()), true),
            cfg(
                seg_nsc,
                Some(o().reduction(LOSSFN_REDUCTION_NONE).u32("activation", LOSSFN_ACTIVATION_SIGMOID).bool("batch", true).bool("squared_pred", true)),
                false,
            ),
        ],
        F::Tversky | F::TverskySoft => vec![
            cfg(seg_nsc, Some(o()), true),
            cfg(
                seg_ncs,
                Some(
                    o().reduction(LOSSFN_REDUCTION_SUM)
                        .u32("activation", LOSSFN_ACTIVATION_SIGMOID)
                        .f64("gamma", 0.75)
                        .bool("include_background", false),
                ),
                false,
            ),
        ],
    }
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn check(f: F) {
    for (k, c) in configs(f).into_iter().enumerate() {
        for dt in [Dt::F32, Dt::F64] {
            let opts = c.opts.as_ref().map(|o| o.bytes.as_slice());
            let (ins, _) = fuzz_driver::buffers(f, dt, &c.dims, opts);
            let mut inputs = fuzz_driver::clean_inputs(f, dt, &c.dims, opts, 1000 + k as u64);
            for (v, s) in inputs.iter_mut().zip(&ins) {
                if s.optional && !c.weights {
                    *v = None;
                }
            }
            let run = |threads: usize| {
                assert_eq!(lossfn_set_num_threads(threads), LOSSFN_OK);
                let out = fuzz_driver::call(f, dt, &c.dims, &c.matrix, opts, &inputs, f.has_grad())
                    .unwrap_or_else(|st| panic!("{}_{dt:?} config {k}: status {st}: {}", f.name(), common::last_error()));
                (bits(&out.loss), out.grad.as_deref().map(bits))
            };
            let _guard = THREADS.lock().unwrap_or_else(|e| e.into_inner());
            let reference = run(1);
            // The last count is new to the process (see `went_parallel`).
            let probe = NEXT_POOL.fetch_add(1, Ordering::SeqCst);
            for threads in [2, 3, 0, probe] {
                let got = run(threads);
                assert!(got.0 == reference.0, "{}_{dt:?} config {k}: loss differs with {threads} threads", f.name());
                assert!(got.1 == reference.1, "{}_{dt:?} config {k}: gradient differs with {threads} threads", f.name());
            }
            #[cfg(target_os = "linux")]
            assert!(went_parallel(probe), "{}_{dt:?} config {k}: the call did not use the pool (input too small?)", f.name());
            lossfn_set_num_threads(0);
            let finite = |v: &[u64]| v.iter().all(|&b| f64::from_bits(b).is_finite());
            assert!(finite(&reference.0) && reference.1.as_deref().is_none_or(finite), "{}_{dt:?} config {k}: non-finite output", f.name());
        }
    }
}

per_function_tests!("determinism");
