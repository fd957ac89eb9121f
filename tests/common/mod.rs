//! Shared helpers of the integration tests: fixture loading, tolerance checks, finite
//! differences, and a tiny deterministic RNG (no external crates needed).
#![allow(dead_code)]
use serde_json::Value;
use std::path::PathBuf;

/// The fixture directory: `LOSSFN_FIXTURES` if set, else the repository's `tests/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("LOSSFN_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"))
}

/// `<fixtures_dir>/<family>.json`'s cases.
pub fn fixture_cases(family: &str) -> Vec<Value> {
    let path = fixtures_dir().join(format!("{family}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).expect("fixture JSON");
    v["cases"].as_array().expect("cases").clone()
}

/// A JSON array of numbers (or `null` → None).
pub fn floats(v: &Value) -> Option<Vec<f64>> {
    v.as_array().map(|a| a.iter().map(|x| x.as_f64().expect("number")).collect())
}

pub fn ints(v: &Value) -> Option<Vec<i64>> {
    v.as_array().map(|a| a.iter().map(|x| x.as_i64().expect("integer")).collect())
}

/// Whether a case applies to `dtype` ("f32"/"f64").
pub fn has_dtype(case: &Value, dtype: &str) -> bool {
    case["dtypes"].as_array().is_none_or(|a| a.iter().any(|d| d == dtype))
}

/// Tolerances of tests/fixtures/README.md.
pub fn tolerances(dtype: &str) -> (f64, f64) {
    if dtype == "f64" { (1e-8, 1e-10) } else { (2e-4, 2e-5) }
}

/// `|got − expected| ≤ rtol·|expected| + atol·max(max|expected|, 1e-3)` elementwise; panics with
/// `what` and the first offending index otherwise.
pub fn assert_close(what: &str, got: &[f64], expected: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    let scale = expected.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        let tol = rtol * e.abs() + atol * scale;
        assert!((g - e).abs() <= tol, "{what}[{i}]: got {g}, expected {e} (tol {tol:e})");
    }
}

pub fn assert_finite(what: &str, v: &[f64]) {
    for (i, x) in v.iter().enumerate() {
        assert!(x.is_finite(), "{what}[{i}] = {x} is not finite");
    }
}

/// splitmix64: a tiny deterministic generator for property tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn vec(&mut self, n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n).map(|_| self.uniform(lo, hi)).collect()
    }
}

/// Central finite difference of the scalar `f` at `x` along every coordinate (f64).
pub fn finite_diff(x: &[f64], h: f64, mut f: impl FnMut(&[f64]) -> f64) -> Vec<f64> {
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let x0 = x[i];
            x[i] = x0 + h;
            let up = f(&x);
            x[i] = x0 - h;
            let down = f(&x);
            x[i] = x0;
            (up - down) / (2.0 * h)
        })
        .collect()
}

/// The calling thread's last error message.
pub fn last_error() -> String {
    let n = unsafe { lossfn::capi::lossfn_last_error(std::ptr::null_mut(), 0) };
    let mut buf = vec![0u8; n + 1];
    unsafe { lossfn::capi::lossfn_last_error(buf.as_mut_ptr().cast(), buf.len()) };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Asserts that a call fails with `status`, a message containing `needle`, and wrote nothing
/// into the canary-filled `loss` (8 values) and `grad` (16 values) buffers it is handed.
pub fn assert_rejected(status: u32, needle: &str, f: impl FnOnce(&mut [f32], &mut [f32]) -> u32) {
    let mut loss = [7.5f32; 8];
    let mut grad = [7.5f32; 16];
    let st = f(&mut loss, &mut grad);
    let name = unsafe { std::ffi::CStr::from_ptr(lossfn::capi::lossfn_status_name(st)) };
    assert_eq!(st, status, "status {} ({})", name.to_string_lossy(), last_error());
    let msg = last_error();
    assert!(msg.contains(needle), "message {msg:?} does not name {needle:?}");
    assert!(loss.iter().chain(grad.iter()).all(|&v| v == 7.5), "something was written on error");
}
