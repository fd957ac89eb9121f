//! # lossfn
//!
//! Deep-learning loss functions that return their value **and** analytic gradient in one pass
//! over raw `f32`/`f64` buffers, behind a C ABI (`include/lossfn.h`).
//!
//! Data flows one way:
//! * [`capi`] — the only `unsafe`: validates pointers, sizes and options, converts them into
//!   slices, calls one kernel, writes outputs (only on success).
//! * [`kernels`] — safe Rust, generic over [`kernels::Real`] (`f32`/`f64`), one file per family.
//! * [`reduce`] — reductions and the deterministic chunked parallel driver on the library-owned
//!   thread pool ([`pool`]).
//!
//! The contract of every function (conventions, statuses, options and defaults, what each
//! loss computes after which project's code) is `docs/api.md`; the formulas and gradients are
//! in `docs/{regression,boxes,classification,overlap}.md`.
//!
//! Until the safe Rust API lands, Rust calls the C entry points of [`capi`] directly:
//!
//! ```
//! use lossfn::capi::*;
//! use std::ptr::null;
//!
//! let pred = [0.5f32, -1.5, 3.0];
//! let target = [0.0f32, 0.0, 1.0];
//! let (mut loss, mut grad) = (0f32, [0f32; 3]);
//! let mut options = lossfn_regression_options_default();
//! options.beta = 0.5;
//! // SAFETY: every pointer is valid for the length given (3), options for one struct.
//! let status = unsafe {
//!     lossfn_smooth_l1_loss_f32(pred.as_ptr(), target.as_ptr(), null(), pred.len(), &options,
//!                               &mut loss, grad.as_mut_ptr())
//! };
//! assert_eq!(status, LOSSFN_OK);
//! // |d| = 0.5, 1.5, 2.0 are all >= beta: l = |d| - beta/2, the mean of 0.25, 1.25, 1.75.
//! assert!((loss - 3.25 / 3.0).abs() < 1e-6);
//! assert_eq!(grad, [1.0 / 3.0, -1.0 / 3.0, 1.0 / 3.0]);
//! ```
#![deny(unsafe_op_in_unsafe_fn)]

pub mod capi;
pub mod kernels;
pub mod pool;
pub mod reduce;
