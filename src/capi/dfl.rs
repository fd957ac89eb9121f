//! C entry points of the Distribution Focal Loss and the YOLOv8/11 box branch built on it
//! (docs/api.md §5).
use super::*;
use crate::api::dfl::{compute, compute_box, prepare, prepare_box, BoxOptions, IouKind, Options};
use crate::api::Float;

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
unsafe fn entry<T: Float>(
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
        let options = safe_options!(o, Options {});
        let controls = prepare(&options, bins)?;
        // C passes n beside sides: with sides = 0 the target's length cannot say it.
        if sides == 0 && n > 0 {
            return Err(Error::size(format!("`sides` = 0 with `n` = {n} boxes")));
        }
        let rows = mul_size("`n` boxes x `sides`", n, sides)?;
        let len = mul_size("`n` x `sides` rows x `bins`", rows, bins)?;
        let mut io = Io::new();
        let logits = unsafe { io.input("logits", logits, len)? };
        let target = unsafe { io.input("target", target, rows)? };
        let weight = unsafe { io.optional_input("weight", weight, n)? };
        let loss = unsafe { io.output("loss", loss, options.reduction.loss_len(n))? };
        let grad = unsafe { io.optional_output("grad_logits", grad_logits, len)? };
        compute(&controls, logits, target, weight, sides, bins, loss, grad)
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

/// Options of lossfn_dfl_box_loss (NULL = lossfn_dfl_box_options_default()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct lossfn_dfl_box_options {
    /// LOSSFN_REDUCTION_MEAN (default) or _SUM (term weight `weight[i]` per anchor), or
    /// _MEAN_DENOMINATOR; NONE is not accepted (the loss is two reduced values).
    pub reduction: lossfn_reduction,
    /// The box loss on the decoded boxes: LOSSFN_IOU_KIND_IOU (1 - IoU), _GIOU, _DIOU or _CIOU
    /// (default), with the formulas of lossfn_iou_loss (LINEAR), lossfn_giou_loss,
    /// lossfn_diou_loss and lossfn_ciou_loss.
    pub iou: lossfn_iou_kind,
    /// CIoU's variant: LOSSFN_CIOU_ULTRALYTICS (default: BboxLoss's bbox_iou), _TORCHVISION or
    /// _MMDET. Validated whatever `iou` is.
    pub ciou_variant: lossfn_ciou_variant,
    /// 1e-7; finite, > 0. The box loss's eps.
    pub eps: f64,
    /// 1.0; finite, >= 0. Gain of the IoU part (ultralytics' hyp.box = 7.5 if applied here).
    pub iou_weight: f64,
    /// 1.0; finite, >= 0. Gain of the DFL part (ultralytics' hyp.dfl = 1.5 if applied here).
    pub dfl_weight: f64,
    /// 1.0; finite. Multiplies both loss values and the gradient (docs/api.md §3).
    pub loss_weight: f64,
    /// 0.0 = unused; > 0 (MEAN only): MEAN divides by it instead of its own denominator
    /// (ultralytics' target_scores_sum).
    pub avg_factor: f64,
    /// false: grad = dL; true: grad += dL.
    pub accumulate: bool,
}

/// The defaults: MEAN, CIOU, ULTRALYTICS, eps 1e-7, gains 1.
#[no_mangle]
pub extern "C" fn lossfn_dfl_box_options_default() -> lossfn_dfl_box_options {
    lossfn_dfl_box_options {
        reduction: LOSSFN_REDUCTION_MEAN,
        iou: LOSSFN_IOU_KIND_CIOU,
        ciou_variant: LOSSFN_CIOU_ULTRALYTICS,
        eps: 1e-7,
        iou_weight: 1.0,
        dfl_weight: 1.0,
        loss_weight: 1.0,
        avg_factor: 0.0,
        accumulate: false,
    }
}
c_options!(lossfn_dfl_box_options, lossfn_dfl_box_options_default, [accumulate]);

#[allow(clippy::too_many_arguments)]
unsafe fn box_entry<T: Float>(
    logits: *const T,
    anchors: *const T,
    target: *const T,
    weight: *const T,
    n: usize,
    bins: usize,
    options: *const lossfn_dfl_box_options,
    loss: *mut T,
    grad_logits: *mut T,
) -> lossfn_status {
    ffi_boundary! {
        let o: lossfn_dfl_box_options = unsafe { read_options("options", options)? };
        let options = safe_options!(o, BoxOptions {
            iou: match o.iou {
                LOSSFN_IOU_KIND_IOU => IouKind::Iou,
                LOSSFN_IOU_KIND_GIOU => IouKind::Giou,
                LOSSFN_IOU_KIND_DIOU => IouKind::Diou,
                LOSSFN_IOU_KIND_CIOU => IouKind::Ciou,
                v => return Err(Error::option(format!("`options.iou` = {v} is not a lossfn_iou_kind"))),
            },
            ciou_variant: ciou_variant(o.ciou_variant)?,
            eps,
            iou_weight,
            dfl_weight,
        });
        let p = prepare_box(&options, bins)?;
        let rows = mul_size("`n` anchors x 4 sides", n, 4)?;
        let len = mul_size("`n` x 4 rows x `bins`", rows, bins)?;
        let mut io = Io::new();
        let logits = unsafe { io.input("logits", logits, len)? };
        let anchors = unsafe { io.input("anchors", anchors, mul_size("`n` anchors x 2", n, 2)?)? };
        let target = unsafe { io.input("target", target, rows)? };
        let weight = unsafe { io.optional_input("weight", weight, n)? };
        let loss = unsafe { io.output("loss", loss, p.loss_len())? };
        let grad = unsafe { io.optional_output("grad_logits", grad_logits, len)? };
        compute_box(&p, logits, anchors, target, weight, bins, loss, grad)
    }
}

/// The YOLOv8/11 box branch in one call (ultralytics utils/loss.py BboxLoss with DFL, on the
/// foreground anchors the caller selects): decode d_k = sum_j softmax(logits_k)_j * j for the
/// sides k = l, t, r, b; box = (ax - d_l, ay - d_t, ax + d_r, ay + d_b); L_iou = sum w_i
/// (1 - IoU_kind(box_i, target_i)) / den; L_dfl = sum w_i DFL_i / den with DFL's target
/// (ax - X1, ay - Y1, X2 - ax, Y2 - ay) clamped to [0, bins - 1.01]; den = sum w_i (n without
/// weights), or options.avg_factor (ultralytics' target_scores_sum); SUM: den = 1.
/// logits: n*4*bins values, row-major `[n][4][bins]`; anchors: n*2 (ax, ay); target: n*4 xyxy, in
/// the anchors' units (ultralytics: stride units); weight: n values or NULL (ultralytics:
/// target_scores.sum(-1)). loss: 2 values [iou_weight * L_iou, dfl_weight * L_dfl] (times
/// loss_weight), or 1 (the denominator) for MEAN_DENOMINATOR; grad_logits: n*4*bins values, the
/// gradient of their sum, or NULL. bins < 2: LOSSFN_ERROR_INVALID_SIZE; NONE:
/// LOSSFN_ERROR_INVALID_OPTION.
///
/// # Safety
/// Pointers must be valid for the stated sizes (see the header's conventions).
#[no_mangle]
pub unsafe extern "C" fn lossfn_dfl_box_loss_f32(logits: *const f32, anchors: *const f32, target: *const f32, weight: *const f32, n: usize, bins: usize, options: *const lossfn_dfl_box_options, loss: *mut f32, grad_logits: *mut f32) -> lossfn_status {
    unsafe { box_entry(logits, anchors, target, weight, n, bins, options, loss, grad_logits) }
}
/// The YOLOv8/11 box branch, double precision: see lossfn_dfl_box_loss_f32.
///
/// # Safety
/// Pointers must be valid for the stated sizes.
#[no_mangle]
pub unsafe extern "C" fn lossfn_dfl_box_loss_f64(logits: *const f64, anchors: *const f64, target: *const f64, weight: *const f64, n: usize, bins: usize, options: *const lossfn_dfl_box_options, loss: *mut f64, grad_logits: *mut f64) -> lossfn_status {
    unsafe { box_entry(logits, anchors, target, weight, n, bins, options, loss, grad_logits) }
}
