//! Safe, pointer-free loss kernels, generic over `f32`/`f64`. One file per family.
//!
//! A kernel receives validated slices and options, and writes the unreduced loss (for
//! `NONE`) and the gradient of the *reduced* loss into the output slices it is handed.
//! It returns the reduced loss as `f64` (accumulated in `f64` for either precision).
use std::fmt::Debug;
use std::ops::{AddAssign, MulAssign, SubAssign};

pub mod regression;
pub mod boxes;
pub mod classification;
pub mod dfl;
pub mod keypoints;
pub mod lovasz;
pub mod math;
pub mod overlap;
pub mod rotated;
pub mod simd;
pub mod sort;

/// The floating-point element type of a buffer: `f32` or `f64`.
pub trait Real:
    num_traits::Float
    + num_traits::FloatConst
    + AddAssign
    + SubAssign
    + MulAssign
    + Default
    + Debug
    + Send
    + Sync
    + 'static
{
    /// Rounds an `f64` to this type.
    fn of(x: f64) -> Self;
    /// Widens to `f64` (exact).
    fn f64(self) -> f64;
}

impl Real for f32 {
    #[inline(always)]
    fn of(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn f64(self) -> f64 {
        self
    }
}
