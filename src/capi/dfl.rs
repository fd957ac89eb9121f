//! C entry points of the Distribution Focal Loss (docs/api.md §5).
use super::*;
use crate::kernels::dfl::{dfl, Args};
use crate::kernels::math::Math;

/// Options of lossfn_dfl_loss (NULL = lossfn_dfl_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_dfl_options {
    /// LOSSFN_REDUCTION_NONE, _MEAN (default) or _SUM (term weight `weight[i]` per box).
    pub reduction: lossfn_reduction,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator
    /// (ultralytics' target_scores_sum).
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN.
#[no_mangle]
pub extern "C" fn lossfn_dfl_options_default() -> lossfn_dfl_options {
    lossfn_dfl_options { reduction: LOSSFN_REDUCTION_MEAN, loss_weight: 1.0, avg_factor: 0.0, accumulate: false }
}
c_options!(lossfn_dfl_options, lossfn_dfl_options_default, [accumulate]);

#[allow(clippy::too_many_arguments)]
unsafe fn entry<T: Math>(
    logits: *const T,
    target: *const T,
    weight: *const T,
    n: usize,
    sides: usize,
    bins: usize,
    options: *const lossfn_dfl_options,
    loss: *mut T,
    grad_logits: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_dfl_options = unsafe { read_options("options", options)? };
        let controls = o.controls(false)?;
        if bins < 2 {
            return Err(Error::size(format!("`bins` = {bins}: a distribution needs at least 2 bins")));
        }
        if sides == 0 && n > 0 {
            return Err(Error::size(format!("`sides` = 0 with `n` = {n} boxes")));
        }
        let rows = mul_size("`n` boxes x `sides`", n, sides)?;
        let len = mul_size("`n` x `sides` rows x `bins`", rows, bins)?;
        let mut io = Io::new();
        let args = Args {
            logits: unsafe { io.input("logits", logits, len)? },
            target: unsafe { io.input("target", target, rows)? },
            weight: unsafe { io.optional_input("weight", weight, n)? },
            sides,
            bins,
        };
        let loss = unsafe { io.output("loss", loss, controls.loss_len(n))? };
        let grad = unsafe { io.optional_output("grad_logits", grad_logits, len)? };
        run_loss(&controls, loss, grad, "grad_logits", |r, none, grad| Ok(dfl(&args, r, none, grad)))
    }
}

/// Distribution Focal Loss (GFL, arXiv 2006.04388) as ultralytics DFLoss (utils/loss.py), equal
/// to mmdet distribution_focal_loss inside its domain. logits: n*sides*bins values, row-major
/// `[n][sides][bins]`; target: n*sides continuous positions in bin units, clamped to
/// [0, bins - 1 - 0.01] as ultralytics (a NaN target gives NaN for its box); weight: n values or
/// NULL (term weight per box). Per box: l = (1/sides) sum_k [(tr - t) CE(logits_k, tl) +
/// (t - tl) CE(logits_k, tr)], tl = floor(t), tr = tl + 1. loss: 1 value, or n (w_i l_i) for
/// NONE; grad_logits: n*sides*bins values or NULL. bins < 2, or sides = 0 with n > 0:
/// LOSSFN_ERROR_INVALID_SIZE.
///
/// # Safety
/// Pointers must be valid for the stated sizes (see the header's conventions).
#[no_mangle]
pub unsafe extern "C" fn lossfn_dfl_loss_f32(logits: *const f32, target: *const f32, weight: *const f32, n: usize, sides: usize, bins: usize, options: *const lossfn_dfl_options, loss: *mut f32, grad_logits: *mut f32) -> lossfn_status {
    unsafe { entry(logits, target, weight, n, sides, bins, options, loss, grad_logits) }
}
/// Distribution Focal Loss, double precision: see lossfn_dfl_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_dfl_loss_f64(logits: *const f64, target: *const f64, weight: *const f64, n: usize, sides: usize, bins: usize, options: *const lossfn_dfl_options, loss: *mut f64, grad_logits: *mut f64) -> lossfn_status {
    unsafe { entry(logits, target, weight, n, sides, bins, options, loss, grad_logits) }
}
