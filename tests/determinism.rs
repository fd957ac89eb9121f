//! Bitwise determinism across thread counts and SIMD copies: every exported loss and the IoU
//! matrix, f32 and f64, a few option sets per family (`fuzz_driver::determinism_configs`), on
//! inputs large enough to take the parallel path, give bitwise the same loss and gradient with
//! lossfn_set_num_threads(1), (2), (3) and (0), and with the SIMD copies capped at the
//! baseline and at AVX2.
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

use fuzz_driver::{determinism_configs as configs, Dt, ALL, F};
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
            // The SIMD copies (baseline, AVX2, AVX-512 where the CPU has them) agree bit for bit
            // (after the pool probe above: a new thread count replaces the probed pool).
            for level in [0, 1] {
                lossfn::testing::set_simd_max(level);
                let got = run(2);
                lossfn::testing::set_simd_max(2);
                assert!(got.0 == reference.0, "{}_{dt:?} config {k}: loss differs with SIMD level {level}", f.name());
                assert!(got.1 == reference.1, "{}_{dt:?} config {k}: gradient differs with SIMD level {level}", f.name());
            }
            lossfn_set_num_threads(0);
            let finite = |v: &[u64]| v.iter().all(|&b| f64::from_bits(b).is_finite());
            assert!(finite(&reference.0) && reference.1.as_deref().is_none_or(finite), "{}_{dt:?} config {k}: non-finite output", f.name());
        }
    }
}

per_function_tests!("determinism");
