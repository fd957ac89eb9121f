//! Finite in, finite out: for every exported loss and the IoU matrix, f32 and f64, random
//! extreme-but-finite inputs with valid options give a finite loss and gradient.
//!
//! Inputs: logits of ±1e4 (in f32 too) and tiny ones, probabilities exactly 0 and 1, boxes that
//! are degenerate (zero or negative width/height, points, identical to their target) or huge
//! (coordinates up to 1e4: beyond that the true values may overflow f32), weights with zeros
//! (all zero too), empty masks, all-ignored targets; every valid reduction and option values
//! across their domain (moderate magnitudes: see `fuzz_driver::Role::moderate`).
mod common;
#[macro_use]
mod fuzz_driver;

use common::Rng;
use fuzz_driver::{chance, pick, Dt, Family, MatrixArgs, Role, Values, ALL, F};
use lossfn::capi::*;

/// Trials per function and dtype (fewer in debug, where calls are ~10x slower).
const TRIALS: usize = if cfg!(debug_assertions) { 500 } else { 3000 };

/// How the values of one trial are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// Mostly extremes of each role.
    Extreme,
    /// Ordinary values with extremes sprinkled in.
    Mixed,
    /// Every index target ignored / every weight 0 / empty masks.
    Empty,
}

fn value(rng: &mut Rng, role: Role, mode: Mode) -> f64 {
    let extreme = mode == Mode::Extreme || chance(rng, 0.2);
    match role {
        Role::Any => {
            if extreme {
                pick(rng, &[1e4, -1e4, 0.0, -0.0, 1e-30, -1e-30, 9999.5, -5000.0, 1e-45, 88.7, -87.3, 745.0, -745.0])
            } else {
                rng.uniform(-20.0, 20.0)
            }
        }
        Role::Prob | Role::ProbOverlap => {
            if mode == Mode::Empty {
                0.0
            } else if extreme {
                pick(rng, &[0.0, 1.0, 1.0, 0.0, 1e-6, 1.0 - 1e-7])
            } else {
                rng.uniform(0.0, 1.0)
            }
        }
        Role::LogProb => {
            if extreme {
                pick(rng, &[0.0, -1e4, -745.0, -88.0, -1e-30])
            } else {
                -rng.uniform(0.0, 30.0)
            }
        }
        Role::Weight => {
            if mode == Mode::Empty {
                0.0
            } else if extreme {
                // (1e-3 to 1e4: a MEAN over weights spanning much more can overflow f32 truly.)
                pick(rng, &[0.0, 1.0, 1e4, 1e-3, 0.0])
            } else {
                rng.uniform(0.0, 3.0)
            }
        }
        // (Empty: no foreground anywhere.)
        Role::Binary => {
            if mode == Mode::Empty {
                0.0
            } else {
                rng.below(2) as f64
            }
        }
        // Summed statistics (made consistent by the caller): counts, masses, empty classes.
        Role::Stats => {
            if mode == Mode::Empty {
                0.0
            } else if extreme {
                pick(rng, &[0.0, 1e-3, 1.0, 1e6])
            } else {
                rng.uniform(0.0, 1000.0)
            }
        }
        Role::Box | Role::Index => unreachable!(),
    }
}

/// n boxes (4 numbers each, read in any format): degenerate, huge, points, ties; with
/// `width` 5, rotated boxes: the same 4 numbers read as (cx, cy, w, h) and an angle (0, ±π/2,
/// multiples of π, large, or any).
fn boxes(rng: &mut Rng, n: usize, width: usize, like: Option<&[f64]>) -> Vec<f64> {
    let mut v = Vec::with_capacity(width * n);
    for i in 0..n {
        if let Some(src) = like {
            if chance(rng, 0.3) {
                v.extend_from_slice(&src[width * i..width * i + width]);
                continue;
            }
        }
        if width == 5 {
            let angle = match rng.below(4) {
                0 => pick(rng, &[0.0, std::f64::consts::FRAC_PI_2, -std::f64::consts::FRAC_PI_2, std::f64::consts::PI, 1e4, -1e-30]),
                _ => rng.uniform(-4.0, 4.0),
            };
            v.extend_from_slice(&boxes(rng, 1, 4, None));
            v.push(angle);
            continue;
        }
        let b: [f64; 4] = match rng.below(7) {
            0 => {
                let s = pick(rng, &[1.0, 100.0, 1e4]);
                [rng.uniform(-s, s), rng.uniform(-s, s), rng.uniform(-s, s), rng.uniform(-s, s)]
            }
            1 => {
                let (x, y) = (rng.uniform(-1e4, 1e4), rng.uniform(-1e4, 1e4));
                [x, y, x, y] // a point (xyxy), or zero width and height elsewhere
            }
            2 => [pick(rng, &[-1e4, 1e4, 0.0]), pick(rng, &[-1e4, 1e4, 0.0]), pick(rng, &[-1e4, 1e4, 0.0]), pick(rng, &[-1e4, 1e4, 0.0])],
            3 => {
                let x = rng.uniform(-10.0, 10.0);
                [x, x, x, x]
            }
            4 => [rng.uniform(0.0, 10.0), rng.uniform(0.0, 10.0), 0.0, rng.uniform(-5.0, 5.0)], // zero width (xywh, cxcywh)
            5 => [0.0, 0.0, 0.0, 0.0],
            _ => {
                let (x, y) = (rng.uniform(-50.0, 50.0), rng.uniform(-50.0, 50.0));
                [x, y, x + rng.uniform(0.0, 30.0), y + rng.uniform(0.0, 30.0)]
            }
        };
        v.extend_from_slice(&b);
    }
    v
}

fn trial(f: F, dt: Dt, seed: u64) {
    let mut rng = Rng(seed);
    let d = fuzz_driver::random_dims(&mut rng, f);
    let opts = fuzz_driver::random_options(&mut rng, f, d.shape.classes);
    let bytes = opts.as_ref().map(|o| o.bytes.clone());
    let mx = MatrixArgs { format: rng.below(4) as u32, kind: rng.below(4) as u32, eps: pick(&mut rng, &[1e-7, 1e-9, 1e-3, 1.0]) };
    let mode = pick(&mut rng, &[Mode::Extreme, Mode::Mixed, Mode::Empty]);
    let (ins, _) = fuzz_driver::buffers(f, dt, &d, bytes.as_deref());
    let ignore = opts.as_ref().filter(|_| f.family() == Family::Overlap || f.index_target());
    let ignore = ignore.map_or(-100, |o| o.get_i64("ignore_index"));
    let mut inputs: Vec<Option<Values>> = Vec::new();
    for s in &ins {
        let len = s.len.unwrap();
        if s.optional && chance(&mut rng, 0.3) {
            inputs.push(None);
            continue;
        }
        inputs.push(Some(match s.role {
            Role::Index => {
                let c = d.shape.classes as u64;
                let one = rng.below(c) as i64;
                Values::I(
                    (0..len)
                        .map(|_| match mode {
                            Mode::Empty => ignore,
                            // Empty masks: every position of one class (the others empty).
                            Mode::Extreme if chance(&mut rng, 0.5) => one,
                            _ if chance(&mut rng, 0.1) => ignore,
                            _ => rng.below(c) as i64,
                        })
                        .collect(),
                )
            }
            Role::Box => {
                let like = inputs.first().and_then(|v| match v {
                    Some(Values::F(p)) if p.len() == len => Some(p.clone()),
                    _ => None,
                });
                // (Anchor points, 2 per anchor, take their coordinates from boxes too.)
                let mut v = boxes(&mut rng, len.div_ceil(f.box_width()), f.box_width(), like.as_deref());
                v.truncate(len);
                Values::F(v)
            }
            Role::Stats => {
                let mut v: Vec<f64> = (0..len).map(|_| value(&mut rng, Role::Stats, mode)).collect();
                fuzz_driver::make_consistent(&mut v);
                Values::F(v)
            }
            role => Values::F((0..len).map(|_| value(&mut rng, role, mode)).collect()),
        }));
    }
    for v in inputs.iter_mut().flatten() {
        if let Values::F(x) = v {
            x.iter_mut().for_each(|x| *x = dt.round(*x));
        }
    }
    // The MEAN_DENOMINATOR query takes no gradient buffer.
    let query = opts.as_ref().is_some_and(|o| o.get_reduction() == LOSSFN_REDUCTION_MEAN_DENOMINATOR);
    let out = fuzz_driver::call(f, dt, &d, &mx, bytes.as_deref(), &inputs, f.has_grad() && !query).unwrap_or_else(|st| {
        panic!("{}_{dt:?} seed {seed}: status {st} ({}) for valid input; dims {d:?} opts {opts:?}", f.name(), common::last_error())
    });
    let bad = out.loss.iter().chain(out.grad.iter().flatten()).position(|v| !v.is_finite());
    if let Some(k) = bad {
        panic!("{}_{dt:?} seed {seed}: output {k} not finite: loss {:?}\ngrad {:?}\ndims {d:?} opts {opts:?} mode {mode:?}\ninputs {inputs:?}", f.name(), out.loss, out.grad);
    }
}

fn check(f: F) {
    // LOSSFN_FINITE_TRIALS / LOSSFN_FINITE_SEED explore further (the suite runs the fixed set).
    let env = |k: &str| std::env::var(k).ok().and_then(|s| s.parse::<u64>().ok());
    let trials = env("LOSSFN_FINITE_TRIALS").map_or(TRIALS, |n| n as usize);
    let base = 0xF1_0000 + (env("LOSSFN_FINITE_SEED").unwrap_or(0) << 40);
    for dt in [Dt::F32, Dt::F64] {
        for t in 0..trials {
            trial(f, dt, base + 977 * t as u64 + (f as u64) * 7_000_003 + dt as u64);
        }
    }
}

per_function_tests!("finite");
