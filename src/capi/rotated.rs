//! C entry points of the rotated-box functions: the ProbIoU loss and matrix (docs/api.md §5).
use super::boxes::{box_buffers, matrix_buffers};
use super::*;
use crate::api::boxes::{check_eps, compute_probiou, compute_probiou_matrix, prepare_probiou, RotatedOptions};
use crate::api::Float;

/// Options of lossfn_probiou_loss (NULL = lossfn_rotated_box_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_rotated_box_options {
    /// LOSSFN_REDUCTION_NONE, _MEAN (default) or _SUM.
    pub reduction: lossfn_reduction,
    /// 1e-7; finite, > 0: ultralytics' eps, at each of its places (an eps below the smallest
    /// normal float/double is raised to it).
    pub eps: f64,
    /// 0.0; finite, >= 0: added to w^2/12 and h^2/12 (ultralytics' `floor` of
    /// _get_covariance_matrix: probiou's default is 0, its RotatedBboxLoss passes 0.01).
    pub floor: f64,
    /// 1.0; finite. Multiplies every loss value and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator.
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN, eps 1e-7, floor 0 (ultralytics probiou's defaults).
#[no_mangle]
pub extern "C" fn lossfn_rotated_box_options_default() -> lossfn_rotated_box_options {
    lossfn_rotated_box_options { reduction: LOSSFN_REDUCTION_MEAN, eps: 1e-7, floor: 0.0, loss_weight: 1.0, avg_factor: 0.0, accumulate: false }
}
c_options!(lossfn_rotated_box_options, lossfn_rotated_box_options_default, [accumulate]);

unsafe fn entry<T: Float>(
    pred: *const T,
    target: *const T,
    weight: *const T,
    n: usize,
    options: *const lossfn_rotated_box_options,
    loss: *mut T,
    grad_pred: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_rotated_box_options = unsafe { read_options("options", options)? };
        let options = safe_options!(o, RotatedOptions { eps, floor });
        let p = prepare_probiou(&options)?;
        let b = unsafe { box_buffers(5, pred, target, weight, n, options.reduction.loss_len(n), loss, grad_pred)? };
        compute_probiou(&p, b.pred, b.target, b.weight, b.loss, b.grad)
    }
}

/// ProbIoU loss of rotated boxes, 1 - probiou(pred_i, target_i), exactly as ultralytics
/// utils/metrics.py probiou (CIoU=False; its covariance, the clamp of the Bhattacharyya distance
/// to [eps, 100], its eps placement), which RotatedBboxLoss trains OBB models with (with
/// options.floor = 0.01 there; 0 by default, as probiou). A box is
/// (cx, cy, w, h, angle in radians). pred, target: n*5 values; weight: n values or NULL (term
/// weight `weight[i]`; ultralytics' loss is MEAN with avg_factor = target_scores_sum); loss: 1
/// value, or n (w_i * l_i) for NONE; grad_pred: n*5 values or NULL, the gradient reaching all five
/// inputs through the covariance (0 where the distance is clamped; finite at w = 0 or h = 0,
/// where ultralytics' is NaN). Negative w or h give the box of sides |w|, |h|, as ultralytics.
///
/// # Safety
/// Pointers must be valid for the stated sizes (see the header's conventions).
#[no_mangle]
pub unsafe extern "C" fn lossfn_probiou_loss_f32(pred: *const f32, target: *const f32, weight: *const f32, n: usize, options: *const lossfn_rotated_box_options, loss: *mut f32, grad_pred: *mut f32) -> lossfn_status {
    unsafe { entry(pred, target, weight, n, options, loss, grad_pred) }
}
/// ProbIoU loss, double precision: see lossfn_probiou_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_probiou_loss_f64(pred: *const f64, target: *const f64, weight: *const f64, n: usize, options: *const lossfn_rotated_box_options, loss: *mut f64, grad_pred: *mut f64) -> lossfn_status {
    unsafe { entry(pred, target, weight, n, options, loss, grad_pred) }
}

unsafe fn matrix<T: Float>(boxes1: *const T, n: usize, boxes2: *const T, m: usize, eps: f64, out: *mut T) -> lossfn_status {
    ffi_boundary! {
        check_eps("eps", eps)?;
        let (boxes1, boxes2, out) = unsafe { matrix_buffers(5, boxes1, n, boxes2, m, out)? };
        compute_probiou_matrix(boxes1, boxes2, eps, out)
    }
}

/// Pairwise ProbIoU (no gradient): `out[i*m + j] = probiou(boxes1[i], boxes2[j])`, as
/// ultralytics batch_probiou (rotated-box NMS and matching). boxes1: n*5 values, boxes2: m*5
/// values, (cx, cy, w, h, angle in radians); eps: finite, > 0 (ultralytics: 1e-7); out: n*m.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_probiou_matrix_f32(boxes1: *const f32, n: usize, boxes2: *const f32, m: usize, eps: f64, out: *mut f32) -> lossfn_status {
    unsafe { matrix(boxes1, n, boxes2, m, eps, out) }
}
/// Pairwise ProbIoU, double precision: see lossfn_probiou_matrix_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_probiou_matrix_f64(boxes1: *const f64, n: usize, boxes2: *const f64, m: usize, eps: f64, out: *mut f64) -> lossfn_status {
    unsafe { matrix(boxes1, n, boxes2, m, eps, out) }
}
