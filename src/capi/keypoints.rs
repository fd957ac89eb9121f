//! C entry points of the keypoint OKS loss (docs/api.md §5).
use super::*;
use crate::api::keypoints::{compute, prepare, Options};
use crate::api::Float;

/// Options of lossfn_keypoint_oks_loss (NULL = lossfn_keypoint_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_keypoint_options {
    /// LOSSFN_REDUCTION_NONE, _MEAN (default; over the n*k terms, as ultralytics' .mean()) or _SUM.
    pub reduction: lossfn_reduction,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of n*k.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN.
#[no_mangle]
pub extern "C" fn lossfn_keypoint_options_default() -> lossfn_keypoint_options {
    lossfn_keypoint_options { reduction: LOSSFN_REDUCTION_MEAN, loss_weight: 1.0, avg_factor: 0.0, accumulate: false }
}
c_options!(lossfn_keypoint_options, lossfn_keypoint_options_default, [accumulate]);

#[allow(clippy::too_many_arguments)]
unsafe fn entry<T: Float>(
    pred: *const T,
    target: *const T,
    visible: *const T,
    area: *const T,
    sigmas: *const T,
    n: usize,
    k: usize,
    options: *const lossfn_keypoint_options,
    loss: *mut T,
    grad_pred: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_keypoint_options = unsafe { read_options("options", options)? };
        let options = safe_options!(o, Options {});
        let controls = prepare(&options)?;
        let terms = mul_size("`n` instances x `k` keypoints", n, k)?;
        let len = mul_size("`n` x `k` keypoints x 2", terms, 2)?;
        let mut io = Io::new();
        let pred = unsafe { io.input("pred", pred, len)? };
        let target = unsafe { io.input("target", target, len)? };
        let visible = unsafe { io.input("visible", visible, terms)? };
        let area = unsafe { io.input("area", area, n)? };
        let sigmas = unsafe { io.input("sigmas", sigmas, k)? };
        let loss = unsafe { io.output("loss", loss, options.reduction.loss_len(terms))? };
        let grad = unsafe { io.optional_output("grad_pred", grad_pred, len)? };
        compute(&controls, pred, target, visible, area, sigmas, loss, grad)
    }
}

/// Keypoint OKS loss as ultralytics KeypointLoss (pose heads). pred, target: n*k*2 values
/// (x, y per keypoint); visible: n*k (nonzero = labelled); area: n (the instance's box area; a
/// negative one counts as 0); sigmas: k (COCO's 17 for people). l_ij = f_i (1 - exp(-d_ij /
/// ((2 sigma_j)^2 (area_i + 1e-9) 2))) `[visible_ij != 0]`, f_i = k / (count_j visible_ij + 1e-9), d_ij the
/// squared distance; every (i, j) is a term of weight 1 (MEAN is ultralytics' .mean()). loss: 1
/// value, or n*k for NONE; grad_pred: n*k*2 values or NULL.
///
/// # Safety
/// Pointers must be valid for the stated sizes (see the header's conventions).
#[no_mangle]
pub unsafe extern "C" fn lossfn_keypoint_oks_loss_f32(pred: *const f32, target: *const f32, visible: *const f32, area: *const f32, sigmas: *const f32, n: usize, k: usize, options: *const lossfn_keypoint_options, loss: *mut f32, grad_pred: *mut f32) -> lossfn_status {
    unsafe { entry(pred, target, visible, area, sigmas, n, k, options, loss, grad_pred) }
}
/// Keypoint OKS loss, double precision: see lossfn_keypoint_oks_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_keypoint_oks_loss_f64(pred: *const f64, target: *const f64, visible: *const f64, area: *const f64, sigmas: *const f64, n: usize, k: usize, options: *const lossfn_keypoint_options, loss: *mut f64, grad_pred: *mut f64) -> lossfn_status {
    unsafe { entry(pred, target, visible, area, sigmas, n, k, options, loss, grad_pred) }
}
