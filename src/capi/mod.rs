//! The C ABI: the only `unsafe` in the crate.
//!
//! Every entry point is a few lines of glue: it runs inside `ffi_boundary!`, reads its options
//! struct (`read_options`: NULL = defaults, bool bytes checked) into the safe API's options
//! (`safe_options!`: raw enum values checked), lets the safe API's `prepare` validate them,
//! turns its raw arguments into slices with an `Io` (NULL / size / alignment / overlap checks),
//! calls the safe API's `compute`, and returns. Errors carry a status and a message
//! naming the argument; they are stored for the calling thread and nothing is written.
#![allow(non_camel_case_types)]

use std::cell::RefCell;
use std::mem::{align_of, size_of};

pub mod common;
pub mod regression;
pub mod boxes;
pub mod classification;
pub mod dfl;
pub mod keypoints;
pub mod lovasz;
pub mod overlap;
pub mod rotated;

#[allow(unused_imports)]
pub use boxes::*;
#[allow(unused_imports)]
pub use classification::*;
pub use common::*;
#[allow(unused_imports)]
pub use dfl::*;
#[allow(unused_imports)]
pub use keypoints::*;
#[allow(unused_imports)]
pub use lovasz::*;
#[allow(unused_imports)]
pub use overlap::*;
pub use regression::*;
#[allow(unused_imports)]
pub use rotated::*;

pub use crate::error::{Error, Result};

impl Error {
    /// The error of a C status (not LOSSFN_OK) with its message.
    pub(crate) fn new(status: lossfn_status, message: impl Into<String>) -> Self {
        let message = message.into();
        match status {
            LOSSFN_ERROR_NULL_POINTER => Error::NullPointer(message),
            LOSSFN_ERROR_INVALID_SIZE => Error::InvalidSize(message),
            LOSSFN_ERROR_INVALID_OPTION => Error::InvalidOption(message),
            LOSSFN_ERROR_INVALID_TARGET => Error::InvalidTarget(message),
            LOSSFN_ERROR_OVERLAP => Error::Overlap(message),
            LOSSFN_ERROR_MISALIGNED => Error::Misaligned(message),
            _ => Error::Internal(message),
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

pub(crate) fn set_last_error(message: &str) {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        e.clear();
        e.push_str(message);
    });
}

pub(crate) fn with_last_error<R>(f: impl FnOnce(&str) -> R) -> R {
    LAST_ERROR.with(|e| f(&e.borrow()))
}

/// Runs the body of an entry point: `Ok(())` → `LOSSFN_OK` (clearing the thread's last error),
/// `Err(e)` → `e.status` (storing its message), a panic → `LOSSFN_ERROR_INTERNAL`.
pub(crate) fn boundary(body: impl FnOnce() -> Result<()>) -> lossfn_status {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    let (status, message) = match outcome {
        Ok(Ok(())) => (LOSSFN_OK, String::new()),
        Ok(Err(e)) => (e.status(), e.message().to_string()),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            (LOSSFN_ERROR_INTERNAL, format!("internal error (please report): {what}"))
        }
    };
    // Storing the message touches a thread-local; keep even that inside the boundary.
    let _ = std::panic::catch_unwind(|| set_last_error(&message));
    status
}

/// Wraps the body of every `extern "C"` entry point (see [`boundary`]).
macro_rules! ffi_boundary {
    ($($body:tt)*) => {
        $crate::capi::boundary(move || -> $crate::capi::Result<()> { $($body)* })
    };
}
pub(crate) use ffi_boundary;

/// Validates the buffers of one call and converts them into slices. Inputs are registered
/// first; each output is checked against every buffer registered before it, so an output that
/// overlaps an input or another output is `LOSSFN_ERROR_OVERLAP` before anything is written.
/// Held in place (no allocation: a small call spent 3 % of its time in malloc and free for it).
#[derive(Default)]
pub(crate) struct Io {
    spans: [(&'static str, usize, usize); Io::MAX_BUFFERS],
    len: usize,
}

/// `len` elements of `T` in bytes, or INVALID_SIZE when that overflows the address space.
#[inline]
pub(crate) fn byte_len<T>(name: &str, len: usize) -> Result<usize> {
    len.checked_mul(size_of::<T>()).filter(|&b| b <= isize::MAX as usize).ok_or_else(|| byte_len_error(name, len))
}

#[cold]
#[inline(never)]
fn byte_len_error(name: &str, len: usize) -> Error {
    Error::size(format!("`{name}`: {len} elements overflow the address space"))
}

pub(crate) use crate::api::mul_size;

impl Io {
    /// The most buffers one entry point registers (keypoints: 7).
    const MAX_BUFFERS: usize = 8;

    pub fn new() -> Self {
        Self::default()
    }

    #[inline(always)]
    fn check<T>(&mut self, name: &'static str, p: *const T, len: usize, output: bool) -> Result<bool> {
        let bytes = byte_len::<T>(name, len)?;
        if p.is_null() {
            return Ok(false);
        }
        let addr = p as usize;
        if addr % align_of::<T>() != 0 {
            return Err(Error::new(
                LOSSFN_ERROR_MISALIGNED,
                format!("`{name}` is not aligned to {} bytes", align_of::<T>()),
            ));
        }
        if addr.checked_add(bytes).is_none() {
            return Err(Error::size(format!("`{name}`: buffer of {len} elements wraps the address space")));
        }
        if output && bytes > 0 {
            if let Some(&(other, ..)) =
                self.spans[..self.len].iter().find(|&&(_, a, b)| b > a && addr < b && a < addr + bytes)
            {
                return Err(Error::new(LOSSFN_ERROR_OVERLAP, format!("output `{name}` overlaps `{other}`")));
            }
        }
        // An entry point with more buffers than MAX_BUFFERS is a bug of lossfn (every one is
        // called by the suites): the index panics, which the boundary reports as INTERNAL.
        self.spans[self.len] = (name, addr, addr + bytes);
        self.len += 1;
        Ok(true)
    }

    /// A required input of `len` elements (NULL allowed only when `len` is 0).
    ///
    /// # Safety
    /// When non-NULL, `p` must point to `len` readable elements that stay unchanged during the call.
    pub unsafe fn input<'a, T>(&mut self, name: &'static str, p: *const T, len: usize) -> Result<&'a [T]> {
        match unsafe { self.optional_input(name, p, len)? } {
            Some(s) => Ok(s),
            None if len == 0 => Ok(&[]),
            None => Err(Error::null(name)),
        }
    }

    /// An optional input: NULL gives `None`.
    ///
    /// # Safety
    /// As [`Io::input`].
    pub unsafe fn optional_input<'a, T>(&mut self, name: &'static str, p: *const T, len: usize) -> Result<Option<&'a [T]>> {
        if !self.check(name, p, len, false)? {
            return Ok(None);
        }
        // SAFETY: non-NULL, aligned, size checked; the caller guarantees `len` readable elements.
        Ok(Some(unsafe { std::slice::from_raw_parts(p, len) }))
    }

    /// A required output of `len` elements (NULL allowed only when `len` is 0).
    ///
    /// # Safety
    /// When non-NULL, `p` must point to `len` writable elements not accessed elsewhere during the call.
    pub unsafe fn output<'a, T>(&mut self, name: &'static str, p: *mut T, len: usize) -> Result<&'a mut [T]> {
        match unsafe { self.optional_output(name, p, len)? } {
            Some(s) => Ok(s),
            None if len == 0 => Ok(&mut []),
            None => Err(Error::null(name)),
        }
    }

    /// An optional output: NULL gives `None`.
    ///
    /// # Safety
    /// As [`Io::output`].
    pub unsafe fn optional_output<'a, T>(&mut self, name: &'static str, p: *mut T, len: usize) -> Result<Option<&'a mut [T]>> {
        if !self.check(name, p as *const T, len, true)? {
            return Ok(None);
        }
        // SAFETY: as optional_input, and no overlap with any other buffer of this call.
        Ok(Some(unsafe { std::slice::from_raw_parts_mut(p, len) }))
    }
}

/// An options struct of the C API: its defaults and the byte offsets of its `bool` fields (the
/// safe API's options are built from it by the `safe_options!` macro).
pub(crate) trait COptions: Copy {
    /// The `lossfn_*_options_default()` value (what NULL means).
    fn defaults() -> Self;
    /// `(field, byte offset)` of every `bool` field.
    const BOOLS: &'static [(&'static str, usize)];
}

/// Implements [`COptions`] for an options struct ending with the §6.1 controls.
macro_rules! c_options {
    ($t:ident, $default:ident, [$($b:ident),*]) => {
        impl $crate::capi::COptions for $t {
            fn defaults() -> Self {
                $default()
            }
            const BOOLS: &'static [(&'static str, usize)] = &[$((stringify!($b), std::mem::offset_of!($t, $b))),*];
        }
    };
}
pub(crate) use c_options;

/// The safe API's options struct from a C one: `reduction` converted (its raw value checked),
/// the loss's own fields copied or converted (`field: expr` for a raw enum value), the output
/// controls copied. Validation of the values is the safe API's `prepare`.
macro_rules! safe_options {
    ($o:ident, $($t:ident)::+ { $($field:ident $(: $conv:expr)?),* $(,)? }) => {
        $($t)::+ {
            reduction: $crate::capi::reduction($o.reduction)?,
            $($field: $crate::capi::safe_options!(@field $o, $field $(, $conv)?),)*
            loss_weight: $o.loss_weight,
            avg_factor: $o.avg_factor,
            accumulate: $o.accumulate,
        }
    };
    (@field $o:ident, $field:ident) => { $o.$field };
    (@field $o:ident, $field:ident, $conv:expr) => { $conv };
}
pub(crate) use safe_options;

/// Reads an options struct, or its defaults when `p` is NULL. Each `bool` byte must be 0 or 1
/// (anything else from C would be UB as a Rust `bool`), else INVALID_OPTION; a misaligned
/// pointer is MISALIGNED.
///
/// # Safety
/// When non-NULL, `p` must point to a readable `O`.
pub(crate) unsafe fn read_options<O: COptions>(name: &str, p: *const O) -> Result<O> {
    if p.is_null() {
        return Ok(O::defaults());
    }
    if (p as usize) % align_of::<O>() != 0 {
        return Err(Error::new(LOSSFN_ERROR_MISALIGNED, format!("`{name}` is not aligned to {} bytes", align_of::<O>())));
    }
    for &(field, offset) in O::BOOLS {
        // SAFETY: `offset` is a field offset inside the readable struct.
        let byte = unsafe { (p as *const u8).add(offset).read() };
        if byte > 1 {
            return Err(Error::option(format!("`{name}.{field}` is {byte}, not a bool (0 or 1)")));
        }
    }
    // SAFETY: non-NULL, aligned, every bool field holds 0 or 1; the rest are plain numbers.
    Ok(unsafe { std::ptr::read(p) })
}


/// Converts a C reduction value into [`crate::api::Reduction`], rejecting unknown values.
pub(crate) fn reduction(value: lossfn_reduction) -> Result<crate::api::Reduction> {
    use crate::api::Reduction;
    match value {
        LOSSFN_REDUCTION_NONE => Ok(Reduction::None),
        LOSSFN_REDUCTION_MEAN => Ok(Reduction::Mean),
        LOSSFN_REDUCTION_SUM => Ok(Reduction::Sum),
        LOSSFN_REDUCTION_BATCHMEAN => Ok(Reduction::BatchMean),
        LOSSFN_REDUCTION_MEAN_DENOMINATOR => Ok(Reduction::MeanDenominator),
        v => Err(Error::option(format!("`options.reduction` = {v} is not a lossfn_reduction"))),
    }
}

/// Converts a `lossfn_shape` (its raw layout value checked here, the rest by
/// `crate::classification::check_shape`: classes > 0, no overflowing products).
pub(crate) fn shape_of(s: lossfn_shape) -> Result<crate::kernels::classification::Shape> {
    use crate::kernels::classification::{Layout, Shape};
    let layout = match s.layout {
        LOSSFN_LAYOUT_NCS => Layout::Ncs,
        LOSSFN_LAYOUT_NSC => Layout::Nsc,
        v => return Err(Error::option(format!("`shape.layout` = {v} is not a lossfn_layout (NCS = 0, NSC = 1)"))),
    };
    let shape = Shape { batch: s.batch, classes: s.classes, spatial: s.spatial, layout };
    crate::api::classification::check_shape(&shape)?;
    Ok(shape)
}
