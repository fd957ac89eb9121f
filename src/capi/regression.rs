//! C entry points of the regression family: L1 (MAE), MSE (L2), Smooth L1, Huber, log-cosh.
use super::*;
use crate::api::regression::{self as api, Options, Which};
use crate::api::Float;

/// Options of the regression losses (NULL = lossfn_regression_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_regression_options {
    /// LOSSFN_REDUCTION_NONE, _MEAN (default) or _SUM.
    pub reduction: lossfn_reduction,
    /// smooth_l1 only: 1.0; >= 0 (0 means exact L1, as does a beta whose reciprocal overflows the type).
    pub beta: f64,
    /// huber only: 1.0; > 0.
    pub delta: f64,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN, beta 1.0, delta 1.0.
#[no_mangle]
pub extern "C" fn lossfn_regression_options_default() -> lossfn_regression_options {
    lossfn_regression_options {
        reduction: LOSSFN_REDUCTION_MEAN,
        beta: 1.0,
        delta: 1.0,
        loss_weight: 1.0,
        avg_factor: 0.0,
        accumulate: false,
    }
}
c_options!(lossfn_regression_options, lossfn_regression_options_default, [accumulate]);

/// The shared body of the eight entry points: options (before the buffers, as every C entry
/// point), pointers → slices, then the safe API's computation.
#[allow(clippy::too_many_arguments)]
unsafe fn entry<T: Float>(
    which: Which,
    input: *const T,
    target: *const T,
    weight: *const T,
    n: usize,
    options: *const lossfn_regression_options,
    loss: *mut T,
    grad_input: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_regression_options = unsafe { read_options("options", options)? };
        let options = safe_options!(o, Options { beta, delta });
        let p = api::prepare(which, &options)?;
        let mut io = Io::new();
        let input = unsafe { io.input("input", input, n)? };
        let target = unsafe { io.input("target", target, n)? };
        let weight = unsafe { io.optional_input("weight", weight, n)? };
        let loss = unsafe { io.output("loss", loss, options.reduction.loss_len(n))? };
        let grad = unsafe { io.optional_output("grad_input", grad_input, n)? };
        api::compute(&p, input, target, weight, loss, grad)
    }
}

/// L1 loss (MAE): l = |input - target|; gradient sign(d), 0 at d = 0 (as torch).
/// input, target, weight: n values (weight may be NULL; term weight = `weight[i]`).
/// loss: 1 value, or n for NONE. grad_input: n values or NULL.
///
/// # Safety
/// Pointers must be valid for the stated sizes (see the header's conventions).
#[no_mangle]
pub unsafe extern "C" fn lossfn_l1_loss_f32(input: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_regression_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(Which::L1, input, target, weight, n, options, loss, grad_input) }
}
/// L1 loss (MAE), double precision: see lossfn_l1_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_l1_loss_f64(input: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_regression_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(Which::L1, input, target, weight, n, options, loss, grad_input) }
}
/// MSE loss (L2): l = (input - target)^2; gradient 2d. Sizes as lossfn_l1_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_mse_loss_f32(input: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_regression_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(Which::Mse, input, target, weight, n, options, loss, grad_input) }
}
/// MSE loss (L2), double precision: see lossfn_mse_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_mse_loss_f64(input: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_regression_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(Which::Mse, input, target, weight, n, options, loss, grad_input) }
}
/// Smooth L1 loss: 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0: L1), as
/// torch.nn.functional.smooth_l1_loss. Sizes as lossfn_l1_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_smooth_l1_loss_f32(input: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_regression_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(Which::SmoothL1, input, target, weight, n, options, loss, grad_input) }
}
/// Smooth L1 loss, double precision: see lossfn_smooth_l1_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_smooth_l1_loss_f64(input: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_regression_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(Which::SmoothL1, input, target, weight, n, options, loss, grad_input) }
}
/// Huber loss: 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), as
/// torch.nn.functional.huber_loss. Sizes as lossfn_l1_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_huber_loss_f32(input: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_regression_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(Which::Huber, input, target, weight, n, options, loss, grad_input) }
}
/// Huber loss, double precision: see lossfn_huber_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_huber_loss_f64(input: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_regression_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(Which::Huber, input, target, weight, n, options, loss, grad_input) }
}
/// Log-cosh loss: ln cosh(input - target); gradient tanh(d), as Keras' keras.losses.log_cosh
/// (x + softplus(-2x) - ln 2, here without its cancellation near d = 0). Reads neither beta nor
/// delta. Sizes as lossfn_l1_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_log_cosh_loss_f32(input: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_regression_options, loss: *mut f32, grad_input: *mut f32) -> lossfn_status {
    unsafe { entry(Which::LogCosh, input, target, weight, n, options, loss, grad_input) }
}
/// Log-cosh loss, double precision: see lossfn_log_cosh_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_log_cosh_loss_f64(input: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_regression_options, loss: *mut f64, grad_input: *mut f64) -> lossfn_status {
    unsafe { entry(Which::LogCosh, input, target, weight, n, options, loss, grad_input) }
}
