//! Soak test (issue 32, docs/hardening.md): 16 threads call every function of the catalogue, f32
//! and f64, at once — well-formed calls whose outputs must equal, bit for bit, the same call made
//! alone on one thread before the soak, and fuzz-driver cases (valid and invalid arguments, every
//! status, the driver's oracles: the expected status, nothing written on error, outputs finite) —
//! while another thread keeps changing the pool's thread count. About 4 s under
//! `cargo test --release`; `LOSSFN_SOAK_SECONDS=600` runs longer (figures in docs/hardening.md).
mod common;
mod fuzz_driver;

use common::Rng;
use fuzz_driver::{call, clean_inputs, random_dims, random_options, Dims, Dt, Family, MatrixArgs, Outputs, Values, ALL, F};
use lossfn::capi::lossfn_set_num_threads;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One well-formed call and its outputs computed alone on one thread.
struct Case {
    f: F,
    dt: Dt,
    d: Dims,
    opts: Option<Vec<u8>>,
    inputs: Vec<Option<Values>>,
    grad: bool,
    expected: Outputs,
}

impl Case {
    fn run(&self) -> Result<Outputs, u32> {
        call(self.f, self.dt, &self.d, &MatrixArgs::default(), self.opts.as_deref(), &self.inputs, self.grad)
    }
}

/// Sizes large enough to be split over the pool's workers (the fuzz driver's are small).
fn big_dims(rng: &mut Rng, f: F) -> Dims {
    let layout = rng.below(2) as u32;
    match f.family() {
        Family::Regression => Dims::n(100_000 + rng.below(1000) as usize),
        Family::Boxes => Dims::n(20_000 + rng.below(1000) as usize),
        Family::Matrix => Dims::nm(200 + rng.below(50) as usize, 200 + rng.below(50) as usize),
        Family::Keypoints => Dims::nm(3_000 + rng.below(100) as usize, 17),
        Family::Dfl => Dims::dfl(5_000 + rng.below(100) as usize, 4, 16),
        _ if f.fused() => Dims::shape(2, 4, 20_000 + rng.below(100) as usize, layout),
        _ => f.fit(Dims::shape(2, 5, 20_000 + rng.below(100) as usize, layout)),
    }
}

/// The well-formed cases: for every function and dtype, two small and one large, each computed
/// once on one thread. A case whose random options the function refuses is drawn again (up to
/// 16 times: refusals depend on the draw, so a fixed count of draws could leave a function
/// without any case when the catalogue's order moves the random stream).
fn cases(seed: u64) -> Vec<Case> {
    lossfn_set_num_threads(1);
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for f in ALL {
        for dt in [Dt::F32, Dt::F64] {
            for big in [false, false, true] {
                for _ in 0..16 {
                    let d = if big { big_dims(&mut rng, f) } else { random_dims(&mut rng, f) };
                    let opts = random_options(&mut rng, f, d.shape.classes).map(|o| o.bytes);
                    let inputs = clean_inputs(f, dt, &d, opts.as_deref(), rng.next_u64());
                    let grad = rng.below(4) != 0;
                    let case = Case { f, dt, d, opts, inputs, grad, expected: Outputs { loss: vec![], grad: None } };
                    if let Ok(expected) = case.run() {
                        out.push(Case { expected, ..case });
                        break;
                    }
                }
            }
        }
    }
    out
}

#[test]
fn sixteen_threads_with_the_thread_count_changing() {
    let seconds: f64 = std::env::var("LOSSFN_SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(if cfg!(debug_assertions) { 1.0 } else { 4.0 });
    let cases = Arc::new(cases(0x50a1));
    // Every function, f32 and f64, has at least one well-formed case.
    for f in ALL {
        for dt in [Dt::F32, Dt::F64] {
            assert!(cases.iter().any(|c| c.f == f && c.dt == dt), "{} {dt:?}: no well-formed case", f.name());
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (compared, fuzzed, resized) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let resizer = {
        let (stop, resized) = (stop.clone(), resized.clone());
        std::thread::spawn(move || {
            let mut rng = Rng(0x7e5);
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(lossfn_set_num_threads(1 + rng.below(4) as usize), 0);
                resized.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(200 + rng.below(2000)));
            }
        })
    };
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let workers: Vec<_> = (0..16u64)
        .map(|t| {
            let (cases, compared, fuzzed) = (cases.clone(), compared.clone(), fuzzed.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(0x5001 + t);
                let mut data = Vec::new();
                while Instant::now() < end {
                    if rng.below(2) == 0 {
                        let case = &cases[rng.below(cases.len() as u64) as usize];
                        let got = case.run();
                        assert!(
                            got.as_ref() == Ok(&case.expected),
                            "thread {t}: {} {:?} {:?} differs from its one-thread result (status {:?})",
                            case.f.name(),
                            case.dt,
                            case.d,
                            got.as_ref().err()
                        );
                        compared.fetch_add(1, Ordering::Relaxed);
                    } else {
                        // A fuzz case: the driver checks the status against the arguments'
                        // defects, that nothing is written on error, and finite outputs.
                        let len = 64 + rng.below(2048) as usize;
                        data.clear();
                        while data.len() < len {
                            data.extend_from_slice(&rng.next_u64().to_le_bytes());
                        }
                        if let Err(e) = std::panic::catch_unwind(|| fuzz_driver::run(&data)) {
                            let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
                            eprintln!("thread {t}: fuzz case failed; reproduce with this input (hex):\n{hex}");
                            std::panic::resume_unwind(e);
                        }
                        fuzzed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let results: Vec<_> = workers.into_iter().map(|w| w.join()).collect();
    stop.store(true, Ordering::Relaxed);
    resizer.join().expect("the resizing thread");
    lossfn_set_num_threads(0);
    for r in results {
        if let Err(e) = r {
            std::panic::resume_unwind(e);
        }
    }
    let (c, z, n) = (compared.load(Ordering::Relaxed), fuzzed.load(Ordering::Relaxed), resized.load(Ordering::Relaxed));
    eprintln!("soak {seconds} s: {} well-formed cases; {c} calls compared with their one-thread result, {z} fuzz cases, {n} thread-count changes", cases.len());
    assert!(c > 0 && z > 0 && n > 1, "the soak made too few calls: {c} compared, {z} fuzz cases, {n} resizes");
}
