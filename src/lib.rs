//! # lossfn
//!
//! Deep-learning loss functions that return their value **and** analytic gradient in one pass
//! over raw `f32`/`f64` buffers, behind a C ABI (`include/lossfn.h`).
//!
//! ## The safe API
//!
//! One module per family, one function per loss, generic over [`Float`] (`f32`, `f64`):
//! [`regression`], [`boxes`] (box losses, ProbIoU, the pairwise matrices), [`dfl`] (DFL and the
//! YOLOv8/11 box branch), [`keypoints`], [`classification`], [`overlap`] (Dice, Tversky,
//! generalized Dice, Dice + CE / focal, the two-phase batch statistics, Lovász). Buffers are slices; options are structs whose
//! `Default` is the C default; every function returns `Result<(), Error>`, where [`Error`] has
//! one variant per C status and the message `lossfn_last_error` gives for the same call. On
//! error nothing is written; no input panics.
//!
//! ```
//! use lossfn::regression::{smooth_l1_loss, Options};
//! use lossfn::Reduction;
//!
//! let (input, target) = ([0.5f64, -1.5, 3.0], [0.0f64, 0.0, 1.0]);
//! let options = Options { beta: 0.5, reduction: Reduction::Sum, ..Options::default() };
//! let (mut loss, mut grad) = ([0f64], [0f64; 3]);
//! smooth_l1_loss(&input, &target, None, &options, &mut loss, Some(&mut grad))?;
//! assert!((loss[0] - 3.25).abs() < 1e-12);
//! assert_eq!(grad, [1.0, -1.0, 1.0]);
//! # Ok::<(), lossfn::Error>(())
//! ```
//!
//! ## Layers
//!
//! Data flows one way:
//! * [`capi`] — the only `unsafe`: pointers into slices (NULL, alignment, overlap), raw enum
//!   values into Rust enums, the panic boundary; then the safe function.
//! * the safe API (`src/api/`) — lengths and option domains validated, one kernel called.
//! * `kernels` (crate-private) — the math: safe Rust, generic over `f32`/`f64`, one file per
//!   family, for validated input only.
//! * `reduce` (crate-private) — reductions and the deterministic chunked parallel driver on the
//!   library-owned thread pool (`pool`).
//!
//! The contract of every function (conventions, statuses, options and defaults, what each
//! loss computes after which project's code) is `docs/api.md`; the formulas and gradients are
//! in `docs/{regression,boxes,classification,overlap}.md`.
//!
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

mod api;
pub use api::*;
pub mod capi;
mod error;
pub use error::{Error, Result};
pub(crate) mod kernels;
pub(crate) mod pool;
pub(crate) mod reduce;

/// Hooks for the crate's own test suites; not part of the API (no semver guarantee).
#[doc(hidden)]
pub mod testing {
    /// Caps the SIMD level the kernels dispatch to (0 baseline, 1 AVX2, 2 AVX-512): the suites
    /// check that every level gives bitwise the same results.
    pub use crate::kernels::simd::{set_simd_enabled, set_simd_max};
}

/// The README's Rust example, run as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
