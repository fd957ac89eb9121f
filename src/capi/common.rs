//! Status codes, errors, version, threads, reductions and the class-tensor shape.
use super::{boundary, with_last_error, Error};
use std::ffi::c_char;

/// Result of every fallible function: LOSSFN_OK (0) or one of the LOSSFN_ERROR_* codes.
pub type lossfn_status = u32;
/// Success.
pub const LOSSFN_OK: lossfn_status = 0;
/// A required pointer is NULL.
pub const LOSSFN_ERROR_NULL_POINTER: lossfn_status = 1;
/// Zero sizes where not allowed, or sizes whose byte counts overflow.
pub const LOSSFN_ERROR_INVALID_SIZE: lossfn_status = 2;
/// An option out of its domain (NaN included), or an unknown enum value.
pub const LOSSFN_ERROR_INVALID_OPTION: lossfn_status = 3;
/// A class index outside [0, classes) that is not ignore_index.
pub const LOSSFN_ERROR_INVALID_TARGET: lossfn_status = 4;
/// An output buffer overlaps an input or another output.
pub const LOSSFN_ERROR_OVERLAP: lossfn_status = 5;
/// A bug in lossfn: a caught panic. Please report it with lossfn_last_error().
pub const LOSSFN_ERROR_INTERNAL: lossfn_status = 6;
/// A buffer or options pointer is not aligned for its type (0.1 reported NULL_POINTER /
/// INVALID_OPTION).
pub const LOSSFN_ERROR_MISALIGNED: lossfn_status = 7;

/// How per-term losses are reduced.
pub type lossfn_reduction = u32;
/// One value per term: w_i * l_i.
pub const LOSSFN_REDUCTION_NONE: lossfn_reduction = 0;
/// Weighted mean sum(w_i * l_i) / sum(w_i); 0 when the denominator is 0.
pub const LOSSFN_REDUCTION_MEAN: lossfn_reduction = 1;
/// sum(w_i * l_i).
pub const LOSSFN_REDUCTION_SUM: lossfn_reduction = 2;
/// SUM / shape.batch; accepted only by the KL functions.
pub const LOSSFN_REDUCTION_BATCHMEAN: lossfn_reduction = 3;
/// loss receives the denominator MEAN would use (the sum of the term weights over the terms
/// that count: non-ignored positions, class weights, IoU^gamma for Focal-EIoU, the number of
/// scores for Dice), nothing else; the gradient pointer must be NULL. Data-parallel training:
/// all-reduce it and pass the global value as avg_factor.
pub const LOSSFN_REDUCTION_MEAN_DENOMINATOR: lossfn_reduction = 4;

/// Memory layout of a class tensor.
pub type lossfn_layout = u32;
/// Element (n, c, s) at (n*classes + c)*spatial + s (NCHW).
pub const LOSSFN_LAYOUT_NCS: lossfn_layout = 0;
/// Element (n, c, s) at (n*spatial + s)*classes + c (NHWC; plain [N, C] rows).
pub const LOSSFN_LAYOUT_NSC: lossfn_layout = 1;

/// Shape of a class tensor: `spatial` is the product of the trailing dims (1 for [N, C]).
/// Index targets are int64_t, one per (n, s), at n*spatial + s; per-position outputs use the
/// same `[batch][spatial]` order.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct lossfn_shape {
    /// N, the number of samples.
    pub batch: usize,
    /// C, the number of classes (> 0).
    pub classes: usize,
    /// S, the positions per sample (H·W·…; 1 for [N, C] rows).
    pub spatial: usize,
    /// LOSSFN_LAYOUT_NCS or LOSSFN_LAYOUT_NSC.
    pub layout: lossfn_layout,
}

/// The static name of a status ("LOSSFN_OK", "LOSSFN_ERROR_...") or "LOSSFN_UNKNOWN_STATUS".
#[no_mangle]
pub extern "C" fn lossfn_status_name(status: lossfn_status) -> *const c_char {
    let name: &'static [u8] = match status {
        LOSSFN_OK => b"LOSSFN_OK\0",
        LOSSFN_ERROR_NULL_POINTER => b"LOSSFN_ERROR_NULL_POINTER\0",
        LOSSFN_ERROR_INVALID_SIZE => b"LOSSFN_ERROR_INVALID_SIZE\0",
        LOSSFN_ERROR_INVALID_OPTION => b"LOSSFN_ERROR_INVALID_OPTION\0",
        LOSSFN_ERROR_INVALID_TARGET => b"LOSSFN_ERROR_INVALID_TARGET\0",
        LOSSFN_ERROR_OVERLAP => b"LOSSFN_ERROR_OVERLAP\0",
        LOSSFN_ERROR_MISALIGNED => b"LOSSFN_ERROR_MISALIGNED\0",
        LOSSFN_ERROR_INTERNAL => b"LOSSFN_ERROR_INTERNAL\0",
        _ => b"LOSSFN_UNKNOWN_STATUS\0",
    };
    name.as_ptr().cast()
}

/// Copies the calling thread's last error message (NUL-terminated, truncated to `len` bytes
/// including the NUL) into `buf` and returns the full message length without the NUL; 0 when
/// the thread's last call succeeded. `buf` may be NULL when `len` is 0.
///
/// # Safety
/// `buf` must point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_last_error(buf: *mut c_char, len: usize) -> usize {
    std::panic::catch_unwind(|| {
        with_last_error(|message| {
            if !buf.is_null() && len > 0 {
                let n = message.len().min(len - 1);
                // SAFETY: the caller provides `len` writable bytes; n + 1 <= len.
                unsafe {
                    std::ptr::copy_nonoverlapping(message.as_ptr(), buf.cast::<u8>(), n);
                    *buf.add(n) = 0;
                }
            }
            message.len()
        })
    })
    .unwrap_or(0)
}

/// "MAJOR.MINOR.PATCH" of the loaded library (compare with the LOSSFN_VERSION_* macros).
#[no_mangle]
pub extern "C" fn lossfn_version_string() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// MAJOR*10000 + MINOR*100 + PATCH of the loaded library.
#[no_mangle]
pub extern "C" fn lossfn_version_number() -> u32 {
    let v = |s: &str| s.parse::<u32>().unwrap_or(0);
    v(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + v(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + v(env!("CARGO_PKG_VERSION_PATCH"))
}

/// Sets the number of threads later calls use: 0 = default (env LOSSFN_NUM_THREADS, else every
/// core), 1 = the caller's thread only. Results do not depend on it (bitwise).
#[no_mangle]
pub extern "C" fn lossfn_set_num_threads(n: usize) -> lossfn_status {
    boundary(|| {
        if n > 4096 {
            return Err(Error::option(format!("`n` = {n} threads is more than 4096")));
        }
        crate::pool::set_num_threads(n);
        Ok(())
    })
}

/// The number of threads calls use now.
#[no_mangle]
pub extern "C" fn lossfn_get_num_threads() -> usize {
    std::panic::catch_unwind(crate::pool::num_threads).unwrap_or(1)
}
