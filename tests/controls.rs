//! The output controls of docs/api.md §3 on every loss, f32 and f64, through the C ABI: the
//! identities that define them, checked against the same loss without them.
//!
//! * `loss_weight` λ: every reduction's value and the gradient are λ times those of λ = 1
//!   (NONE: each value, bitwise: λ·(wᵢ·lᵢ) rounded once);
//! * MEAN_DENOMINATOR returns the `den` with MEAN·den = SUM (and ∂MEAN·den = ∂SUM);
//! * `avg_factor` A: MEAN·A = MEAN without it · den, gradients likewise;
//! * `accumulate`: the gradient buffer ends as its previous content plus the gradient, bitwise;
//! * out-of-domain controls are INVALID_OPTION naming the field, and write nothing;
//! * an empty call reduces to +0.0 (never −0.0) under MEAN, SUM and MEAN_DENOMINATOR.
//!
//! Each loss runs a small case and one large enough for the parallel path (sizes of
//! tests/determinism.rs), so the denominator query is exercised where the kernels split work.
mod common;
#[macro_use]
mod fuzz_driver;

use fuzz_driver::{Dt, MatrixArgs, Opts, Outputs, ALL, F};
use lossfn::capi::*;

const MX: MatrixArgs = MatrixArgs { format: 0, kind: 0, eps: 1e-7 };

/// `got` ≈ `want` elementwise: |d| ≤ rtol·(|want| + max|want|).
fn assert_close(what: &str, got: &[f64], want: &[f64], dt: Dt) {
    let rtol = match dt {
        Dt::F64 => 1e-12,
        Dt::F32 => 2e-6,
    };
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= rtol * (w.abs() + scale), "{what}: [{i}] got {g:e}, want {w:e} (max |want| {scale:e})");
    }
}

fn scaled(v: &[f64], s: f64) -> Vec<f64> {
    v.iter().map(|x| x * s).collect()
}

fn check(f: F) {
    for (k, d) in fuzz_driver::control_dims(f).into_iter().enumerate() {
        for dt in [Dt::F32, Dt::F64] {
            let base = Opts::new(f).unwrap();
            let inputs = fuzz_driver::clean_inputs(f, dt, &d, Some(&base.bytes), 7 + k as u64);
            let name = format!("{}_{dt:?} case {k}", f.name());
            let run = |o: &Opts, grad: bool| -> Outputs {
                fuzz_driver::call(f, dt, &d, &MX, Some(&o.bytes), &inputs, grad)
                    .unwrap_or_else(|st| panic!("{name}: status {st}: {}", common::last_error()))
            };
            let mean = run(&base.clone().reduction(LOSSFN_REDUCTION_MEAN), true);
            let sum = run(&base.clone().reduction(LOSSFN_REDUCTION_SUM), true);
            let none = f.accepts_none().then(|| run(&base.clone().reduction(LOSSFN_REDUCTION_NONE), true));
            // (Dice + cross entropy refuses the query: two parts, two denominators.)
            let den = if f.accepts_mean_denominator() {
                let den = run(&base.clone().reduction(LOSSFN_REDUCTION_MEAN_DENOMINATOR), false).loss;
                assert_eq!(den.len(), 1, "{name}: MEAN_DENOMINATOR writes one value");
                den[0]
            } else {
                0.0
            };
            assert!(den.is_finite() && den >= 0.0, "{name}: denominator {den}");
            let (gm, gs) = (mean.grad.as_ref().unwrap(), sum.grad.as_ref().unwrap());

            // MEAN · den = SUM: the denominator is the one MEAN divided by.
            if den > 0.0 {
                assert_close(&format!("{name}: MEAN·den vs SUM"), &scaled(&mean.loss, den), &sum.loss, dt);
                assert_close(&format!("{name}: ∂MEAN·den vs ∂SUM"), &scaled(gm, den), gs, dt);
            }

            // loss_weight on every reduction.
            let lw = -2.5;
            let reduced = [(LOSSFN_REDUCTION_MEAN, &mean), (LOSSFN_REDUCTION_SUM, &sum)];
            for (r, plain) in reduced.into_iter().chain(none.as_ref().map(|n| (LOSSFN_REDUCTION_NONE, n))) {
                let got = run(&base.clone().reduction(r).f64("loss_weight", lw), true);
                if r == LOSSFN_REDUCTION_NONE {
                    let want: Vec<f64> = plain.loss.iter().map(|v| dt.round(v * lw)).collect();
                    assert_eq!(got.loss, want, "{name}: NONE values with loss_weight");
                } else {
                    assert_close(&format!("{name}: reduction {r} loss × λ"), &got.loss, &scaled(&plain.loss, lw), dt);
                }
                assert_close(&format!("{name}: reduction {r} grad × λ"), got.grad.as_ref().unwrap(), &scaled(plain.grad.as_ref().unwrap(), lw), dt);
            }

            // avg_factor replaces MEAN's own denominator.
            let avg = 7.25;
            let got = run(&base.clone().reduction(LOSSFN_REDUCTION_MEAN).f64("avg_factor", avg).f64("loss_weight", 3.0), true);
            assert_close(&format!("{name}: avg_factor loss"), &scaled(&got.loss, avg), &scaled(&sum.loss, 3.0), dt);
            assert_close(&format!("{name}: avg_factor grad"), &scaled(got.grad.as_ref().unwrap(), avg), &scaled(gs, 3.0), dt);

            // accumulate adds to what the buffer holds, bitwise as one addition in the type.
            let init: Vec<f64> = (0..gm.len()).map(|i| dt.round(((i % 13) as f64 - 6.0) * 0.37)).collect();
            let o = base.clone().reduction(LOSSFN_REDUCTION_MEAN).bool("accumulate", true);
            let got = fuzz_driver::call_into(f, dt, &d, &MX, Some(&o.bytes), &inputs, true, Some(&init))
                .unwrap_or_else(|st| panic!("{name}: accumulate: status {st}: {}", common::last_error()));
            assert_eq!(got.loss, mean.loss, "{name}: accumulate changes the loss");
            let want: Vec<f64> = init.iter().zip(gm).map(|(a, g)| dt.round(a + g)).collect();
            assert_eq!(got.grad.unwrap(), want, "{name}: accumulated gradient");
            // Without a gradient buffer, accumulate changes nothing.
            assert_eq!(run(&o, false).loss, mean.loss, "{name}: accumulate without gradient");
        }
    }
    rejected(f);
}

/// Out-of-domain controls: INVALID_OPTION naming the field; nothing written (the driver checks
/// the canaries and, for the accumulate case, that the gradient kept its content).
fn rejected(f: F) {
    let d = fuzz_driver::control_dims(f).swap_remove(0);
    let base = Opts::new(f).unwrap();
    let inputs = fuzz_driver::clean_inputs(f, Dt::F64, &d, Some(&base.bytes), 3);
    let bad: Vec<(Opts, bool, &str)> = vec![
        (base.clone().f64("loss_weight", f64::NAN), true, "loss_weight"),
        (base.clone().f64("loss_weight", f64::INFINITY), true, "loss_weight"),
        (base.clone().f64("avg_factor", -1.0), true, "avg_factor"),
        (base.clone().f64("avg_factor", f64::NAN), true, "avg_factor"),
        (base.clone().f64("avg_factor", f64::INFINITY), true, "avg_factor"),
        (base.clone().reduction(LOSSFN_REDUCTION_SUM).f64("avg_factor", 2.0), true, "avg_factor"),
        (base.clone().reduction(LOSSFN_REDUCTION_NONE).f64("avg_factor", 2.0), true, "avg_factor"),
        (base.clone().reduction(LOSSFN_REDUCTION_MEAN_DENOMINATOR).f64("avg_factor", 2.0), false, "avg_factor"),
        (base.clone().reduction(LOSSFN_REDUCTION_MEAN_DENOMINATOR), true, if f.accepts_mean_denominator() { "grad_" } else { "reduction" }),
        (base.clone().reduction(5), true, "reduction"),
    ];
    let grad_len = fuzz_driver::buffers(f, Dt::F64, &d, Some(&base.bytes)).1[1].len.unwrap();
    let init = vec![0.5; grad_len];
    for (o, grad, field) in bad {
        let st = fuzz_driver::call_into(f, Dt::F64, &d, &MX, Some(&o.bytes), &inputs, grad, grad.then_some(&init[..]));
        let msg = common::last_error();
        assert_eq!(st.err(), Some(LOSSFN_ERROR_INVALID_OPTION), "{}: {field}: {msg}", f.name());
        assert!(msg.contains(field), "{}: message `{msg}` does not name `{field}`", f.name());
    }
    // A bool byte other than 0/1 in `accumulate`.
    let mut o = base.clone();
    let off = o.field("accumulate");
    o.bytes[off] = 2;
    let st = fuzz_driver::call(f, Dt::F64, &d, &MX, Some(&o.bytes), &inputs, true);
    assert_eq!(st.err(), Some(LOSSFN_ERROR_INVALID_OPTION), "{}: accumulate = 2", f.name());
    assert!(common::last_error().contains("accumulate"), "{}: {}", f.name(), common::last_error());
}

/// An empty call (no terms: n = 0 boxes / elements / instances, batch = 0 samples): MEAN and
/// SUM give +0.0 (not Rust's −0.0 empty sum, not torch's NaN) and MEAN_DENOMINATOR gives +0.0.
fn empty(f: F) {
    let d = fuzz_driver::empty_dims(f);
    for dt in [Dt::F32, Dt::F64] {
        let base = Opts::new(f).unwrap();
        let inputs = fuzz_driver::clean_inputs(f, dt, &d, Some(&base.bytes), 1);
        for (r, grad) in [(LOSSFN_REDUCTION_MEAN, true), (LOSSFN_REDUCTION_SUM, true), (LOSSFN_REDUCTION_MEAN_DENOMINATOR, false)] {
            if r == LOSSFN_REDUCTION_MEAN_DENOMINATOR && !f.accepts_mean_denominator() {
                continue;
            }
            let out = fuzz_driver::call(f, dt, &d, &MX, Some(&base.clone().reduction(r).bytes), &inputs, grad)
                .unwrap_or_else(|st| panic!("{}_{dt:?} empty, reduction {r}: status {st}: {}", f.name(), common::last_error()));
            // One value, or the loss's parts (F::reduced_len), except the denominator.
            let len = if r == LOSSFN_REDUCTION_MEAN_DENOMINATOR { 1 } else { f.reduced_len() };
            assert_eq!(out.loss.len(), len, "{}_{dt:?} empty, reduction {r}", f.name());
            assert!(out.loss.iter().all(|v| v.to_bits() == 0f64.to_bits()), "{}_{dt:?} empty, reduction {r}: loss {:?}, not +0.0", f.name(), out.loss);
        }
    }
}

/// Every loss of the catalogue (the matrices and phase 1 of the two-phase batch score have no
/// controls; phase 2's value is the whole batch's, from the statistics of every rank: an empty
/// call of it need not be 0).
fn check_or_skip(f: F) {
    if f.has_grad() {
        check(f);
        if !f.two_phase() {
            empty(f);
        }
    }
}

mod every_loss {
    use super::*;
    fn check(f: F) {
        check_or_skip(f)
    }
    per_function_tests!("controls");
}
