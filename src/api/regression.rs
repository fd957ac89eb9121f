//! Regression losses: L1 (MAE), MSE (L2), Smooth L1, Huber, log-cosh, elementwise over `input`
//! and `target` of one length n, as `torch.nn.functional.{l1,mse,smooth_l1,huber}_loss` and
//! Keras' `log_cosh`.
//!
//! ```
//! use lossfn::regression::{smooth_l1_loss, Options};
//!
//! let input = [0.5f32, -1.5, 3.0];
//! let target = [0.0f32, 0.0, 1.0];
//! let options = Options { beta: 0.5, ..Options::default() };
//! let (mut loss, mut grad) = ([0f32], [0f32; 3]);
//! smooth_l1_loss(&input, &target, None, &options, &mut loss, Some(&mut grad))?;
//! // |d| = 0.5, 1.5, 2.0 are all >= beta: l = |d| - beta/2, the mean of 0.25, 1.25, 1.75.
//! assert!((loss[0] - 3.25 / 3.0).abs() < 1e-6);
//! assert_eq!(grad, [1.0 / 3.0, -1.0 / 3.0, 1.0 / 3.0]);
//!
//! // Lengths are checked: nothing is written on error.
//! let err = smooth_l1_loss(&input, &target[..2], None, &options, &mut loss, None).unwrap_err();
//! assert!(matches!(err, lossfn::Error::InvalidSize(_)));
//! # Ok::<(), lossfn::Error>(())
//! ```
use super::{check_len, check_opt_len, check_option, check_outputs, run_loss, Float, Reduction};
use crate::error::Result;
use crate::reduce::Controls;
use crate::kernels::regression::{regression, Args, Regression};

options! {
    /// Options of the regression losses (`lossfn_regression_options`); each loss reads the
    /// fields it uses.
    Options {
        /// Smooth L1 only: 1.0; finite, >= 0 (0 is exact L1, as is a beta whose reciprocal overflows).
        beta: f64 = 1.0,
        /// Huber only: 1.0; finite, > 0.
        delta: f64 = 1.0,
    } reduction = Reduction::Mean
}

/// Which regression loss.
#[derive(Clone, Copy)]
pub(crate) enum Which {
    L1,
    Mse,
    SmoothL1,
    Huber,
    LogCosh,
}

/// A call's validated options: the C API validates them before its buffers, then calls
/// [`compute`].
pub(crate) struct Prepared {
    controls: Controls,
    kind: Regression,
}

/// Validates the options `which` reads.
#[inline]
pub(crate) fn prepare(which: Which, options: &Options) -> Result<Prepared> {
    let o = options;
    let controls = o.controls(false)?;
    let kind = match which {
        Which::L1 => Regression::L1,
        Which::Mse => Regression::Mse,
        Which::SmoothL1 => {
            check_option("options.beta", o.beta, o.beta >= 0.0 && o.beta.is_finite(), "finite, >= 0")?;
            Regression::SmoothL1 { beta: o.beta }
        }
        Which::Huber => {
            check_option("options.delta", o.delta, o.delta > 0.0 && o.delta.is_finite(), "finite, > 0")?;
            Regression::Huber { delta: o.delta }
        }
        Which::LogCosh => Regression::LogCosh,
    };
    Ok(Prepared { controls, kind })
}

/// Checks the lengths and computes.
#[inline]
pub(crate) fn compute<T: Float>(p: &Prepared, input: &[T], target: &[T], weight: Option<&[T]>, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    let n = input.len();
    check_len("target", target.len(), n, "the input's length")?;
    check_opt_len("weight", weight, n, "the input's length")?;
    check_outputs(&p.controls, n, loss, "grad_input", grad_input.as_deref(), n)?;
    let args = Args { input, target, weight };
    run_loss(&p.controls, loss, grad_input, "grad_input", |r, none, grad| Ok(regression(p.kind, &args, r, none, grad)))
}

/// The shared body of the five losses.
fn call<T: Float>(which: Which, input: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    compute(&prepare(which, options)?, input, target, weight, loss, grad_input)
}

/// L1 loss (MAE): l = |input − target|; gradient sign(d), 0 at d = 0 (as torch).
///
/// `input`, `target`, `weight` (optional, term weights): n values; `loss`: 1 value, or n for
/// NONE; `grad_input`: n values or `None`.
pub fn l1_loss<T: Float>(input: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    call(Which::L1, input, target, weight, options, loss, grad_input)
}

/// MSE loss (L2): l = (input − target)²; gradient 2d. Buffers as [`l1_loss`].
pub fn mse_loss<T: Float>(input: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    call(Which::Mse, input, target, weight, options, loss, grad_input)
}

/// Smooth L1 loss: 0.5·d²/β where |d| < β, else |d| − 0.5·β (β = 0: L1), as
/// `torch.nn.functional.smooth_l1_loss`. Buffers as [`l1_loss`].
pub fn smooth_l1_loss<T: Float>(input: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    call(Which::SmoothL1, input, target, weight, options, loss, grad_input)
}

/// Huber loss: 0.5·d² where |d| < δ, else δ·(|d| − 0.5·δ), as `torch.nn.functional.huber_loss`.
/// Buffers as [`l1_loss`].
pub fn huber_loss<T: Float>(input: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    call(Which::Huber, input, target, weight, options, loss, grad_input)
}

/// Log-cosh loss: l = ln cosh(input − target), gradient tanh(d), as Keras'
/// `keras.losses.log_cosh` (`x + softplus(−2x) − ln 2`, computed here without its cancellation
/// near d = 0): ≈ d²/2 for small d, ≈ |d| − ln 2 for large. Reads no option field of its own.
/// Buffers as [`l1_loss`].
pub fn log_cosh_loss<T: Float>(input: &[T], target: &[T], weight: Option<&[T]>, options: &Options, loss: &mut [T], grad_input: Option<&mut [T]>) -> Result<()> {
    call(Which::LogCosh, input, target, weight, options, loss, grad_input)
}
