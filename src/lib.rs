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
#![deny(unsafe_op_in_unsafe_fn)]

pub mod capi;
pub mod kernels;
pub mod pool;
pub mod reduce;
