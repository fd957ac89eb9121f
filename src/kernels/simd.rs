//! Runtime SIMD dispatch: the one place in the kernels with `unsafe`.
//!
//! A kernel wraps a hot piece of work in a [`SimdTask`] and runs it through [`dispatch`], which
//! picks the widest copy the CPU has (AVX-512, AVX2, or the baseline SSE2 build). The copies give
//! bitwise identical results (see [`SimdTask`]); tests cap the copy in use with [`set_simd_max`]
//! and compare.
//!
//! Dispatch inside the parallel driver's per-chunk closure, not around the driver: a closure
//! handed to the thread pool is compiled on its own, without the copy's target features.

/// A unit of hot work whose [`SimdTask::run`] is `#[inline(always)]`: [`dispatch`] inlines it
/// into copies compiled for AVX-512 and AVX2, and runs the widest one the CPU has. Results are
/// bitwise identical on every copy: the code never asks for FMA (no `mul_add`; Rust does not
/// contract `a * b + c`), and every reduction order is fixed by the code, not by the vector width.
pub trait SimdTask {
    type Output;
    /// The widest copy worth running (0 baseline, 1 AVX2, 2 AVX-512): for some kernels the
    /// AVX-512 copy is slower than the AVX2 one on the CPUs measured.
    const WIDEST: u8 = 2;
    /// The work (implementations must be `#[inline(always)]`).
    fn run(self) -> Self::Output;
}

/// The widest SIMD copy calls may use: 2 = AVX-512, 1 = AVX2, 0 = baseline.
static SIMD_MAX: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(2);

/// Turns the AVX2 / AVX-512 copies off (tests compare every path bit for bit). Not C API.
#[doc(hidden)]
pub fn set_simd_enabled(enabled: bool) {
    set_simd_max(if enabled { 2 } else { 0 });
}

/// Caps the SIMD copy calls may use: 0 baseline, 1 AVX2, 2 AVX-512. Not C API.
#[doc(hidden)]
pub fn set_simd_max(level: u8) {
    SIMD_MAX.store(level, std::sync::atomic::Ordering::Relaxed);
}

/// Runs `task`, on the widest copy the CPU supports (AVX-512, AVX2, or the baseline build).
#[inline]
pub fn dispatch<K: SimdTask>(task: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        let max = SIMD_MAX.load(std::sync::atomic::Ordering::Relaxed).min(K::WIDEST);
        if max >= 2 && has!("avx512f") && has!("avx512vl") && has!("avx512dq") && has!("avx512bw") {
            // SAFETY: `run_avx512` only requires these AVX-512 subsets (and the AVX2 they
            // imply), whose presence on this CPU was checked just above.
            return unsafe { run_avx512(task) };
        }
        if max >= 1 && has!("avx2") {
            // SAFETY: `run_avx2` only requires the AVX2 instructions, whose presence on this CPU
            // was checked just above.
            return unsafe { run_avx2(task) };
        }
    }
    task.run()
}

/// `task.run()` compiled with AVX2 enabled (the task's body is inlined here).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2<K: SimdTask>(task: K) -> K::Output {
    task.run()
}

/// `task.run()` compiled for AVX-512 (F, VL, DQ, BW: x86-64-v4). FMA is implied but never
/// used: the code has no `mul_add` and Rust does not contract `a * b + c`, so the results equal
/// the other copies' bit for bit.
///
/// # Safety
/// The CPU must support AVX-512 F, VL, DQ and BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw")]
unsafe fn run_avx512<K: SimdTask>(task: K) -> K::Output {
    task.run()
}
